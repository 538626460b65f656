// Pixel kernels compiled for several instruction sets in one binary and chosen at run time.
//
// Every kernel has a baseline (x86-64 SSE2, or whatever the target's default is), an AVX2 and an AVX-512
// (F, BW, VL and VBMI) version; `ck_*` functions dispatch to the path in use. All paths give identical bytes:
// the kernels are integer arithmetic, or float arithmetic without contraction or reassociation.
#ifndef CURATE_KERNELS_H
#define CURATE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum { CK_BASELINE = 0, CK_AVX2 = 1, CK_AVX512 = 2 };

/// 1 when this CPU (and this build) can run `path`.
int ck_supported(int path);
/// The best path this CPU supports.
int ck_best(void);
/// The path in use: the thread's override if set, else the process-wide choice (the best, unless set).
int ck_path(void);
/// Sets the process-wide path; the caller has checked `ck_supported`.
void ck_set_path(int path);
/// Sets (path >= 0) or clears (-1) the calling thread's override, for tests comparing paths.
void ck_set_thread_path(int path);

/// dst[i] = table[src[i]].
void ck_lookup(uint8_t *dst, const uint8_t *src, const uint8_t *table, size_t count);
/// One 256-entry table per colour channel (`tables` holds 768 bytes); channels 3 or 4 (alpha copied).
void ck_lookup3(uint8_t *dst, const uint8_t *src, const uint8_t *tables, size_t pixels, int channels);
/// Rows reversed left to right (any channel count).
void ck_flip_h(uint8_t *dst, const uint8_t *src, int width, int height, int channels);
/// BT.601 luma in 16-bit fixed point, replicated into the colour channels; channels 3 or 4 (alpha copied).
void ck_gray(uint8_t *dst, const uint8_t *src, size_t pixels, int channels);
/// Bilinear resampling with 11-bit weights. Output row y blends source rows `row0[y]`, `row1[y]` (byte offsets
/// into src) with weight `wy[y]` on the second; output sample i of a row blends the blended row's samples
/// `col0[i]`, `col1[i]` (sample offsets from `first`) with weight `wx[i]` on the second. `span` samples starting at
/// `first` are blended per row (the columns any output reads); `srcBytes` is the size of src.
void ck_resize_bilinear(uint8_t *dst, size_t dstRow, int dstHeight, const uint8_t *src, size_t srcBytes,
                        const int64_t *row0, const int64_t *row1, const int16_t *wy,
                        const int32_t *col0, const int32_t *col1, const int16_t *wx,
                        size_t first, size_t span, int channels);
/// Separable filter with 8.8 fixed-point weights summing to 256 (as OpenCV's bit-exact Gaussian for 8-bit images),
/// BORDER_REFLECT_101; `taps` odd. Alpha (channels 4) is copied.
void ck_separable_fixed(uint8_t *dst, const uint8_t *src, int width, int height, int channels,
                        const uint16_t *weights, int taps);
/// Inverse-mapped bilinear warp in 16.16 fixed point with 11-bit weights (see PixelOps.warpAffine); border 0
/// constant (`value`), 1 reflect-101, 2 replicate.
void ck_warp_affine(uint8_t *dst, int width, int height, const uint8_t *src, int srcWidth, int srcHeight,
                    int channels, const double *inverse, int border, uint8_t value);
/// HSV adjustment through `table` (applied first); see Kernels.adjustHSV. Channels 3 or 4 (alpha copied).
void ck_adjust_hsv(uint8_t *dst, const uint8_t *src, size_t pixels, int channels, const uint8_t *table,
                   float shift, float satScale, float satShift, float valShift);
/// Interleaved samples to float through one 256-entry float table per channel (`tables`: channels × 256).
void ck_normalize(float *dst, const uint8_t *src, size_t pixels, int channels, const float *tables);

/// OpenCV's 8-bit RGB → CIELAB in fixed point (see Lab.fromRGB): `gamma` 256 entries, `cbrt` 3072, `coef` 9.
void ck_rgb_to_lab(uint8_t *l, uint8_t *a, uint8_t *b, const uint8_t *src, size_t pixels, int channels,
                   const int32_t *gamma, const int32_t *cbrt, const int32_t *coef);
/// 8-bit CIELAB → RGB in double precision through a 65,537-entry sRGB encoding table (see Lab.toRGB); alpha
/// (channels 4) copied from `src`.
void ck_lab_to_rgb(uint8_t *dst, const uint8_t *l, const uint8_t *a, const uint8_t *b, const uint8_t *src, size_t pixels,
                   int channels, const uint8_t *encode);
/// CLAHE's tile histograms (tilesX × tilesY × 256 counts) over the plane extended as clahe.cpp does.
void ck_clahe_histograms(int32_t *histograms, const uint8_t *plane, int width, int height, int tilesX, int tilesY,
                         int tileW, int tileH);
/// CLAHE's per-pixel blend of the four nearest tiles' tables (`luts`: tilesX × tilesY × 256).
void ck_clahe_interpolate(uint8_t *out, const uint8_t *plane, int width, int height, const uint8_t *luts, int tilesX,
                          int tilesY, int tileW, int tileH);

#endif
