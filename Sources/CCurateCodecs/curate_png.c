#include "curate_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Every libpng error longjmps back to the setjmp in the calling function of
   this file; nothing here calls back into Swift, so no jump crosses a Swift frame. */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *errbuf;
    size_t errlen;
} reader_state;

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
    char *errbuf;
    size_t errlen;
} writer_state;

static void set_message(char *errbuf, size_t errlen, const char *message) {
    if (errbuf == NULL || errlen == 0) return;
    strncpy(errbuf, message, errlen - 1);
    errbuf[errlen - 1] = '\0';
}

static void on_error(png_structp png, png_const_charp message) {
    reader_state *state = (reader_state *)png_get_error_ptr(png);
    if (state != NULL) set_message(state->errbuf, state->errlen, message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message; /* ancillary-chunk warnings do not change pixels */
}

static void read_bytes(png_structp png, png_bytep out, png_size_t length) {
    reader_state *state = (reader_state *)png_get_io_ptr(png);
    if (state->size - state->offset < length) {
        png_error(png, "unexpected end of data: the file is truncated");
    }
    memcpy(out, state->data + state->offset, length);
    state->offset += length;
}

static int check_signature(const uint8_t *data, size_t size, char *errbuf, size_t errlen) {
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        set_message(errbuf, errlen, "not a PNG file (bad signature)");
        return CURATE_PNG_ERROR;
    }
    return CURATE_PNG_OK;
}

/* Checks the signature and creates the read and info structs; the caller sets the jump point. */
static int open_reader(reader_state *state, png_structp *png, png_infop *info) {
    int status = check_signature(state->data, state->size, state->errbuf, state->errlen);
    if (status != CURATE_PNG_OK) return status;
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
    if (*png == NULL) return CURATE_PNG_NO_MEMORY;
    *info = png_create_info_struct(*png);
    if (*info == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        return CURATE_PNG_NO_MEMORY;
    }
    return CURATE_PNG_OK;
}

static void configure(png_structp png) {
    /* Bound what libpng will allocate for ancillary chunks and image size. */
    png_set_chunk_malloc_max(png, 8u * 1024u * 1024u);
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);
}

int curate_png_read_info(const uint8_t *data, size_t size, curate_png_info *info,
                         char *errbuf, size_t errlen) {
    reader_state state = {data, size, 0, errbuf, errlen};
    png_structp png = NULL;
    png_infop pinfo = NULL;
    int status = open_reader(&state, &png, &pinfo);
    if (status != CURATE_PNG_OK) return status;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return CURATE_PNG_ERROR;
    }
    configure(png);
    png_set_read_fn(png, &state, read_bytes);
    png_read_info(png, pinfo);
    info->width = png_get_image_width(png, pinfo);
    info->height = png_get_image_height(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    info->color_type = png_get_color_type(png, pinfo);
    info->interlaced = png_get_interlace_type(png, pinfo) == PNG_INTERLACE_ADAM7;
    info->has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;
    png_destroy_read_struct(&png, &pinfo, NULL);
    return CURATE_PNG_OK;
}

int curate_png_decode(const uint8_t *data, size_t size, int channels, uint64_t max_pixels,
                      uint8_t *out, size_t out_size, char *errbuf, size_t errlen) {
    if (channels != 3 && channels != 4) {
        set_message(errbuf, errlen, "channels must be 3 or 4");
        return CURATE_PNG_BAD_ARGUMENT;
    }
    reader_state state = {data, size, 0, errbuf, errlen};
    png_structp png = NULL;
    png_infop pinfo = NULL;
    int status = open_reader(&state, &png, &pinfo);
    if (status != CURATE_PNG_OK) return status;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free((void *)rows);
        png_destroy_read_struct(&png, &pinfo, NULL);
        return CURATE_PNG_ERROR;
    }
    configure(png);
    png_set_read_fn(png, &state, read_bytes);
    png_read_info(png, pinfo);

    png_uint_32 width = png_get_image_width(png, pinfo);
    png_uint_32 height = png_get_image_height(png, pinfo);
    if ((uint64_t)width * (uint64_t)height > max_pixels) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return CURATE_PNG_TOO_LARGE;
    }
    if ((uint64_t)width * height * (uint64_t)channels > out_size) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        set_message(errbuf, errlen, "output buffer too small");
        return CURATE_PNG_BAD_ARGUMENT;
    }

    int color_type = png_get_color_type(png, pinfo);
    int bit_depth = png_get_bit_depth(png, pinfo);
    int has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) {
        if (channels == 4) png_set_tRNS_to_alpha(png);
    }
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || (has_trns && channels == 4);
    if (channels == 4 && !has_alpha) png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    if (channels == 3 && (color_type & PNG_COLOR_MASK_ALPHA) != 0) png_set_strip_alpha(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);

    size_t rowbytes = png_get_rowbytes(png, pinfo);
    if (rowbytes != (size_t)width * (size_t)channels) {
        png_error(png, "unexpected row layout after transforms");
    }
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height == 0 ? 1 : height));
    if (rows == NULL) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free((void *)rows);
    rows = NULL;
    png_destroy_read_struct(&png, &pinfo, NULL);
    return CURATE_PNG_OK;
}

static void write_bytes(png_structp png, png_bytep bytes, png_size_t length) {
    writer_state *state = (writer_state *)png_get_io_ptr(png);
    if (state->capacity - state->size < length) {
        size_t capacity = state->capacity == 0 ? 4096 : state->capacity;
        while (capacity - state->size < length) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(state->data, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        state->data = grown;
        state->capacity = capacity;
    }
    memcpy(state->data + state->size, bytes, length);
    state->size += length;
}

static void flush_bytes(png_structp png) { (void)png; }

static void on_write_error(png_structp png, png_const_charp message) {
    writer_state *state = (writer_state *)png_get_error_ptr(png);
    if (state != NULL) set_message(state->errbuf, state->errlen, message);
    png_longjmp(png, 1);
}

int curate_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      int compression_level, uint8_t **out_data, size_t *out_size,
                      char *errbuf, size_t errlen) {
    int color_type;
    switch (channels) {
    case 1: color_type = PNG_COLOR_TYPE_GRAY; break;
    case 2: color_type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
    case 3: color_type = PNG_COLOR_TYPE_RGB; break;
    case 4: color_type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default:
        set_message(errbuf, errlen, "channels must be 1, 2, 3 or 4");
        return CURATE_PNG_BAD_ARGUMENT;
    }
    if (width == 0 || height == 0) {
        set_message(errbuf, errlen, "a PNG must be at least 1x1 pixels");
        return CURATE_PNG_BAD_ARGUMENT;
    }
    writer_state state = {NULL, 0, 0, 0, errbuf, errlen};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_write_error, on_warning);
    if (png == NULL) return CURATE_PNG_NO_MEMORY;
    png_infop pinfo = png_create_info_struct(png);
    if (pinfo == NULL) {
        png_destroy_write_struct(&png, NULL);
        return CURATE_PNG_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pinfo);
        free(state.data);
        return CURATE_PNG_ERROR;
    }
    png_set_write_fn(png, &state, write_bytes, flush_bytes);
    if (compression_level < 0) compression_level = 0;
    if (compression_level > 9) compression_level = 9;
    png_set_compression_level(png, compression_level);
    png_set_IHDR(png, pinfo, width, height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pinfo);
    size_t stride = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    }
    png_write_end(png, pinfo);
    png_destroy_write_struct(&png, &pinfo);
    *out_data = state.data;
    *out_size = state.size;
    return CURATE_PNG_OK;
}

void curate_free(void *pointer) { free(pointer); }
