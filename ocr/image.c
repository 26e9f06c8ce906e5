/* ocr/image.c — image decoding (stb_image, memory only; binary PGM/PPM by hand) and IDX digit sets.
 * Decoded pixels are owned by the returned bh_image / bh_digit_set. Sizes are
 * checked from headers before any pixel allocation. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bhasha/ocr.h"
#include "core/error.h"

/* stb_image is compiled here, with static linkage so it cannot clash with
 * another copy; its own warnings are not ours to fix. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#define STBI_MAX_DIMENSIONS 65536
/* unused-function stays off for the whole file: GCC reports unused static
 * stb declarations at the end of the translation unit. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

/* stb_image 2.27 (the copy Debian 12 ships) trusts the code counts of a JPEG
 * Huffman table: a DHT segment declaring more than 256 codes in one table
 * writes past its 257-entry arrays. A valid table has at most 256 codes (one
 * per byte value), so the file is corrupt and is refused before stb reads it.
 * The walk starts at the start-of-image marker (after any 0xFF fill bytes, as
 * stb accepts), goes over the marker segments by their lengths, as stb does, and
 * through entropy-coded data to the next marker (0xFF followed by a byte other
 * than 0x00, 0xFF or a restart marker); stb reads DHT tables the same way,
 * continuing past a segment's end while its length says more tables follow
 * (bytes past the end of the file read as 0). Returns 0 for a bad table. */
static int jpeg_huffman_ok(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && d[i] == 0xFF) i++; /* stb takes any number of 0xFF before a marker code */
    if (i == 0 || i >= n || d[i] != 0xD8) return 1; /* no start-of-image marker: not a JPEG */
    i++;
    while (i + 1 < n) {
        if (d[i] != 0xFF || d[i + 1] == 0x00 || d[i + 1] == 0xFF || (d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7)) {
            i++; /* entropy-coded data, a stuffed zero, fill or a restart marker */
            continue;
        }
        unsigned m = d[i + 1];
        if (m == 0xD9) return 1; /* end of image */
        if (i + 4 > n) return 1;
        long len = (long)(d[i + 2] << 8 | d[i + 3]);
        if (m == 0xC4) {
            size_t p = i + 4;
            long left = len - 2;
            while (left > 0) {
                p++; /* table class and id */
                long codes = 0;
                for (int k = 0; k < 16; k++, p++) codes += p < n ? d[p] : 0;
                if (codes > 256) return 0;
                p += (size_t)codes;
                left -= 17 + codes;
            }
        }
        i += 2 + (size_t)len;
    }
    return 1;
}

/* stb_image grows its buffer for PNG image data to each IDAT chunk's declared
 * length before it reads the chunk, so a 100-byte file declaring a 2 GB chunk
 * makes it allocate 2 GB and then fail for lack of data. A chunk longer than
 * what is left of the file fails either way; it is refused here first.
 * Returns 0 for such a chunk. */
static int png_chunks_ok(const uint8_t *d, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 || memcmp(d, sig, 8) != 0) return 1; /* not a PNG: nothing to check */
    for (size_t p = 8; p + 8 <= n;) {
        uint32_t len = (uint32_t)d[p] << 24 | (uint32_t)d[p + 1] << 16 | (uint32_t)d[p + 2] << 8 | d[p + 3];
        if (!memcmp(d + p + 4, "IEND", 4)) return 1; /* stb reads no further */
        if ((uint64_t)len + 12 > n - p) return 0;
        p += (size_t)len + 12;
    }
    return 1;
}

/* ITU-R BT.601 luma of an 8-bit RGB pixel, rounded. */
static unsigned luma(unsigned r, unsigned g, unsigned b)
{
    return (299u * r + 587u * g + 114u * b + 500u) / 1000u;
}

/* White space as the PNM header defines it. */
static int pnm_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads one decimal header field of a PNM file at *p, after white space and
 * '#' comments. Returns -1 when there is none or it exceeds 65535 * 65536. */
static long pnm_field(const uint8_t *d, size_t n, size_t *p)
{
    for (;;) {
        while (*p < n && pnm_space(d[*p])) (*p)++;
        if (*p < n && d[*p] == '#') {
            while (*p < n && d[*p] != '\n') (*p)++;
            continue;
        }
        break;
    }
    long v = -1;
    while (*p < n && d[*p] >= '0' && d[*p] <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (d[*p] - '0');
        if (v > 65535L * 65536L) return -1;
        (*p)++;
    }
    return v;
}

/* Binary PGM and PPM (P5, P6) are decoded here, not by stb_image 2.27: it
 * ignores maxval (a PGM with maxval 15 came out almost black), reads 16-bit
 * samples in the wrong byte order and then converts them past the end of its
 * buffer. Samples (1 byte, or 2 big-endian bytes when maxval > 255) are scaled
 * to 0..255 by maxval; colour becomes luma. */
static bh_status pnm_decode(const uint8_t *d, size_t n, bh_image *out)
{
    int ch = d[1] == '5' ? 1 : 3;
    size_t p = 2;
    long w = pnm_field(d, n, &p), h = pnm_field(d, n, &p), maxval = pnm_field(d, n, &p);
    if (w < 0 || h < 0 || maxval < 0 || p >= n || !pnm_space(d[p]))
        return bh__fail(BH_EFORMAT, "image: corrupt PNM header");
    p++; /* the one white-space byte before the samples */
    if (w == 0 || h == 0) return bh__fail(BH_EFORMAT, "image: zero-sized image (%ldx%ld)", w, h);
    if (maxval < 1 || maxval > 65535) return bh__fail(BH_EFORMAT, "image: PNM maxval %ld is not 1..65535", maxval);
    if ((uint64_t)w * (uint64_t)h > BH_IMAGE_MAX_PIXELS)
        return bh__fail(BH_ELIMIT, "image: %ldx%ld exceeds the limit of %u pixels", w, h, BH_IMAGE_MAX_PIXELS);
    size_t np = (size_t)w * (size_t)h, bps = maxval > 255 ? 2 : 1;
    if (n - p < np * (size_t)ch * bps)
        return bh__fail(BH_EFORMAT, "image: truncated PNM (%zu bytes of samples, %zu needed)", n - p,
                        np * (size_t)ch * bps);
    uint8_t *px = malloc(np);
    if (!px) return bh__fail(BH_ENOMEM, "image: %zu bytes", np);
    const uint8_t *s = d + p;
    for (size_t i = 0; i < np; i++) {
        unsigned v[3];
        for (int c = 0; c < ch; c++, s += bps) {
            unsigned x = bps == 2 ? (unsigned)(s[0] << 8 | s[1]) : s[0];
            if (x > (unsigned)maxval) x = (unsigned)maxval; /* out of range: white */
            v[c] = (unsigned)((x * 255u * 2u + (unsigned)maxval) / (2u * (unsigned)maxval));
        }
        px[i] = (uint8_t)(ch == 1 ? v[0] : luma(v[0], v[1], v[2]));
    }
    out->w = (int)w;
    out->h = (int)h;
    out->px = px;
    return BH_OK;
}

void bh_image_free(bh_image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

bh_status bh_image_decode(const uint8_t *data, size_t n, bh_image *out)
{
    if (!out)
        return bh__fail(BH_EINVAL, "image: NULL output");
    memset(out, 0, sizeof *out);
    if (!data || n == 0)
        return bh__fail(BH_EFORMAT, "image: empty file");
    if (n > INT_MAX)
        return bh__fail(BH_ELIMIT, "image: file of %zu bytes is too large", n);
    if (n >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
        return pnm_decode(data, n, out);
    if (!jpeg_huffman_ok(data, n))
        return bh__fail(BH_EFORMAT, "image: corrupt JPEG (a Huffman table with more than 256 codes)");
    if (!png_chunks_ok(data, n))
        return bh__fail(BH_EFORMAT, "image: corrupt PNG (a chunk runs past the end of the file)");
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)n, &w, &h, &comp))
        return bh__fail(BH_EFORMAT, "image: not a readable PNG/JPEG/BMP/PNM/TGA/GIF (%s)",
                        stbi_failure_reason() ? stbi_failure_reason() : "unknown");
    if (w <= 0 || h <= 0)
        return bh__fail(BH_EFORMAT, "image: zero-sized image (%dx%d)", w, h);
    if ((uint64_t)w * (uint64_t)h > BH_IMAGE_MAX_PIXELS)
        return bh__fail(BH_ELIMIT, "image: %dx%d exceeds the limit of %u pixels", w, h,
                        BH_IMAGE_MAX_PIXELS);
    /* Decode as gray+alpha or RGBA so that transparency can be flattened. */
    int want = (comp == 1 || comp == 2) ? 2 : 4;
    int w2 = 0, h2 = 0, c2 = 0;
    stbi_uc *raw = stbi_load_from_memory(data, (int)n, &w2, &h2, &c2, want);
    if (!raw)
        return bh__fail(BH_EFORMAT, "image: decoding failed (%s)",
                        stbi_failure_reason() ? stbi_failure_reason() : "unknown");
    if (w2 != w || h2 != h) {
        stbi_image_free(raw);
        return bh__fail(BH_EFORMAT, "image: header says %dx%d, data %dx%d", w, h, w2, h2);
    }
    size_t np = (size_t)w * (size_t)h;
    uint8_t *px = malloc(np);
    if (!px) {
        stbi_image_free(raw);
        return bh__fail(BH_ENOMEM, "image: %zu bytes", np);
    }
    for (size_t i = 0; i < np; i++) {
        const stbi_uc *p = raw + i * (size_t)want;
        unsigned g, a;
        if (want == 2) {
            g = p[0];
            a = p[1];
        } else {
            g = luma(p[0], p[1], p[2]);
            a = p[3];
        }
        /* over white: g*a + 255*(255-a), rounded */
        px[i] = (uint8_t)((g * a + 255u * (255u - a) + 127u) / 255u);
    }
    stbi_image_free(raw);
    out->w = w;
    out->h = h;
    out->px = px;
    return BH_OK;
}

bh_status bh_image_load(const char *path, bh_image *out)
{
    if (!out || !path)
        return bh__fail(BH_EINVAL, "image: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return bh__fail(BH_EIO, "%s: cannot open", path);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= BH_IMAGE_MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                return bh__fail(BH_ELIMIT, "%s: file larger than %u bytes", path,
                                BH_IMAGE_MAX_FILE_BYTES);
            }
            size_t nc = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                return bh__fail(BH_ENOMEM, "%s: reading", path);
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                fclose(f);
                return bh__fail(BH_EIO, "%s: read error", path);
            }
            break;
        }
    }
    fclose(f);
    bh_status st = bh_image_decode(buf, len, out);
    free(buf);
    if (st != BH_OK) {
        char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
        snprintf(detail, sizeof detail, "%s", bh_last_error());
        return bh__fail(st, "%s: %s", path, detail);
    }
    return BH_OK;
}

void bh_digit_set_free(bh_digit_set *set)
{
    if (!set)
        return;
    free(set->px);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

static uint32_t be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Reads exactly n bytes; gzread transparently handles uncompressed files. */
static bh_status gz_exact(gzFile g, const char *path, void *dst, size_t n)
{
    unsigned char *p = dst;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(g, p, chunk);
        if (got < 0) {
            int e = 0;
            const char *msg = gzerror(g, &e);
            return bh__fail(BH_EFORMAT, "%s: corrupt gzip (%s)", path, msg ? msg : "?");
        }
        if (got == 0)
            return bh__fail(BH_EFORMAT, "%s: truncated (%zu bytes missing)", path, n);
        p += got;
        n -= (size_t)got;
    }
    return BH_OK;
}

bh_status bh_digit_set_load_idx(const char *images_path, const char *labels_path,
                                bh_digit_set *out)
{
    if (!out || !images_path || !labels_path)
        return bh__fail(BH_EINVAL, "idx: NULL argument");
    memset(out, 0, sizeof *out);
    bh_status st = BH_OK;
    gzFile gi = gzopen(images_path, "rb");
    if (!gi)
        return bh__fail(BH_EIO, "%s: cannot open", images_path);
    gzFile gl = gzopen(labels_path, "rb");
    if (!gl) {
        gzclose(gi);
        return bh__fail(BH_EIO, "%s: cannot open", labels_path);
    }
    unsigned char hi[16], hl[8];
    if ((st = gz_exact(gi, images_path, hi, 16)) != BH_OK)
        goto done;
    if ((st = gz_exact(gl, labels_path, hl, 8)) != BH_OK)
        goto done;
    if (be32(hi) != 0x803) {
        st = bh__fail(BH_EFORMAT, "%s: not an IDX3 uint8 image file (magic 0x%08x)", images_path,
                      be32(hi));
        goto done;
    }
    if (be32(hl) != 0x801) {
        st = bh__fail(BH_EFORMAT, "%s: not an IDX1 uint8 label file (magic 0x%08x)", labels_path,
                      be32(hl));
        goto done;
    }
    uint32_t n = be32(hi + 4), rows = be32(hi + 8), cols = be32(hi + 12), nl = be32(hl + 4);
    if (n != nl) {
        st = bh__fail(BH_EFORMAT, "%s: %u images but %s has %u labels", images_path, n,
                      labels_path, nl);
        goto done;
    }
    if (rows < 1 || rows > 4096 || cols < 1 || cols > 4096) {
        st = bh__fail(BH_EFORMAT, "%s: image size %ux%u out of range 1..4096", images_path, rows,
                      cols);
        goto done;
    }
    if (n == 0 || n > INT_MAX) {
        st = bh__fail(BH_EFORMAT, "%s: bad image count %u", images_path, n);
        goto done;
    }
    uint64_t bytes = (uint64_t)n * rows * cols;
    if (bytes > (1ull << 31)) {
        st = bh__fail(BH_ELIMIT, "%s: %llu pixel bytes exceed 2 GiB", images_path,
                      (unsigned long long)bytes);
        goto done;
    }
    out->px = malloc((size_t)bytes);
    out->labels = malloc(n);
    if (!out->px || !out->labels) {
        st = bh__fail(BH_ENOMEM, "%s: %llu bytes", images_path, (unsigned long long)bytes);
        goto done;
    }
    if ((st = gz_exact(gi, images_path, out->px, (size_t)bytes)) != BH_OK)
        goto done;
    if ((st = gz_exact(gl, labels_path, out->labels, n)) != BH_OK)
        goto done;
    for (uint32_t i = 0; i < n; i++) {
        if (out->labels[i] > 9) {
            st = bh__fail(BH_EFORMAT, "%s: label %u of item %u is not a digit 0..9", labels_path,
                          out->labels[i], i);
            goto done;
        }
    }
    out->n = (int)n;
    out->rows = (int)rows;
    out->cols = (int)cols;
done:
    gzclose(gi);
    gzclose(gl);
    if (st != BH_OK)
        bh_digit_set_free(out);
    return st;
}

bh_status bh_digit_set_load_dir(const char *dir, const char *split, bh_digit_set *out)
{
    if (!dir || !split || !out)
        return bh__fail(BH_EINVAL, "idx: NULL argument");
    size_t n = strlen(dir) + strlen(split) + 40;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a);
        free(b);
        return bh__fail(BH_ENOMEM, "idx: path");
    }
    snprintf(a, n, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(b, n, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    bh_status st = bh_digit_set_load_idx(a, b, out);
    free(a);
    free(b);
    return st;
}
