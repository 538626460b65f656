#ifndef CURATE_CODECS_H
#define CURATE_CODECS_H

#include <stddef.h>
#include <stdint.h>

/// Header facts of a PNG stream, read without decoding pixels.
typedef struct {
    uint32_t width;
    uint32_t height;
    int bit_depth;
    int color_type;   /* PNG_COLOR_TYPE_* */
    int interlaced;   /* 1 for Adam7 */
    int has_trns;     /* a tRNS chunk is present */
} curate_png_info;

enum {
    CURATE_PNG_OK = 0,
    CURATE_PNG_ERROR = 1,        /* libpng reported an error; message in errbuf */
    CURATE_PNG_TOO_LARGE = 2,    /* width*height exceeds max_pixels */
    CURATE_PNG_BAD_ARGUMENT = 3, /* output buffer too small, bad channel count */
    CURATE_PNG_NO_MEMORY = 4
};

/// Reads the PNG signature and every chunk up to the first IDAT.
int curate_png_read_info(const uint8_t *data, size_t size, curate_png_info *info,
                         char *errbuf, size_t errlen);

/// Decodes a whole PNG into 8-bit RGB (channels = 3) or RGBA (channels = 4).
/// Grey, palette, tRNS, 1/2/4/16-bit and Adam7 input are all expanded; 16-bit
/// samples are scaled to 8 bits with rounding. `out` must hold width*height*channels bytes.
/// The image is refused before any pixel allocation if width*height > max_pixels.
int curate_png_decode(const uint8_t *data, size_t size, int channels, uint64_t max_pixels,
                      uint8_t *out, size_t out_size, char *errbuf, size_t errlen);

/// Encodes 8-bit grey (1), grey+alpha (2), RGB (3) or RGBA (4) pixels as PNG.
/// On success *out_data is a malloc'ed buffer the caller frees with curate_free.
int curate_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      int compression_level, uint8_t **out_data, size_t *out_size,
                      char *errbuf, size_t errlen);

void curate_free(void *pointer);

#endif
