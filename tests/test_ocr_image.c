/* tests/test_ocr_image.c — image decoding, IDX loading, preprocessing and the
 * bad inputs the loaders must refuse cleanly (fixtures from
 * tests/ref/gen_ocr_fixtures.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bhasha/ocr.h"

#define FX "tests/fixtures/ocr/"

static void expect_image(const char *path, int w, int h)
{
    bh_image img;
    bh_status st = bh_image_load(path, &img);
    if (st)
        fprintf(stderr, "# %s: %s\n", path, bh_last_error());
    assert_int_equal(st, BH_OK);
    assert_int_equal(img.w, w);
    assert_int_equal(img.h, h);
    /* dark ink on white: corner white, some dark pixels */
    assert_true(img.px[0] > 200);
    int dark = 0;
    for (int i = 0; i < w * h; i++)
        dark += img.px[i] < 60;
    assert_true(dark > 20);
    bh_image_free(&img);
    assert_null(img.px);
}

static void test_formats(void **state)
{
    (void)state;
    expect_image(FX "d3.png", 40, 40);
    expect_image(FX "d3.bmp", 40, 40);
    expect_image(FX "d3.pgm", 40, 40);
    expect_image(FX "d3.jpg", 40, 40);
    expect_image(FX "d3_16bit.png", 40, 40);
    expect_image(FX "d3_alpha.png", 40, 40); /* transparent -> white */
}

static void test_same_pixels(void **state)
{
    (void)state;
    bh_image a, b, c;
    assert_int_equal(bh_image_load(FX "d3.png", &a), BH_OK);
    assert_int_equal(bh_image_load(FX "d3.bmp", &b), BH_OK);
    assert_int_equal(bh_image_load(FX "d3_16bit.png", &c), BH_OK);
    assert_memory_equal(a.px, b.px, 1600);
    assert_memory_equal(a.px, c.px, 1600);
    bh_image_free(&a);
    bh_image_free(&b);
    bh_image_free(&c);
    bh_image_free(NULL);
}

static void expect_fail(const char *path, bh_status want)
{
    bh_image img;
    bh_status st = bh_image_load(path, &img);
    if (st != want)
        fprintf(stderr, "# %s: got %d (%s)\n", path, st, bh_last_error());
    assert_int_equal(st, want);
    assert_null(img.px);
    assert_true(strlen(bh_last_error()) > 0);
}

static void test_bad_images(void **state)
{
    (void)state;
    expect_fail(FX "empty.png", BH_EFORMAT);
    expect_fail(FX "truncated.png", BH_EFORMAT);
    expect_fail(FX "garbage.jpg", BH_EFORMAT);
    expect_fail(FX "zero_width.png", BH_EFORMAT);
    expect_fail(FX "huge_20000.png", BH_ELIMIT);
    expect_fail(FX "does-not-exist.png", BH_EIO);
    bh_image img;
    assert_int_equal(bh_image_decode(NULL, 0, &img), BH_EFORMAT);
    const uint8_t junk[4] = {1, 2, 3, 4};
    assert_int_equal(bh_image_decode(junk, 4, &img), BH_EFORMAT);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *d = malloc(*n);
    assert_non_null(d);
    memcpy(d, buf, *n);
    return d;
}

/* Files that make stb_image overrun a table or allocate gigabytes are refused
 * before stb reads them; PGM/PPM, whose 16-bit form stb 2.27 reads in the
 * wrong byte order and converts past its buffer, are decoded by bhasha (all
 * three found by make fuzz). */
static void test_hostile_images(void **state)
{
    (void)state;
    size_t n;
    bh_image img;
    /* JPEG: a Huffman table declaring 16 x 200 codes (at most 256 are valid) */
    uint8_t *d = slurp(FX "d3.jpg", &n);
    assert_int_equal(bh_image_decode(d, n, &img), BH_OK);
    bh_image_free(&img);
    size_t i = 2;
    while (i + 4 < n && !(d[i] == 0xFF && d[i + 1] == 0xC4)) i += 2 + (size_t)(d[i + 2] << 8 | d[i + 3]);
    assert_true(i + 21 < n);
    for (int k = 0; k < 16; k++) d[i + 5 + k] = 200;
    assert_int_equal(bh_image_decode(d, n, &img), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "Huffman"));
    assert_null(img.px);
    /* the same behind 0xFF fill bytes, which stb skips before the start-of-image marker */
    uint8_t *f = malloc(n + 3);
    assert_non_null(f);
    memset(f, 0xFF, 3);
    memcpy(f + 3, d, n);
    assert_int_equal(bh_image_decode(f, n + 3, &img), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "Huffman"));
    free(f);
    free(d);
    /* PNG: the first IDAT chunk says 2 GB in a file of a few hundred bytes */
    d = slurp(FX "d3.png", &n);
    i = 8;
    while (i + 8 < n && memcmp(d + i + 4, "IDAT", 4))
        i += 12 + (size_t)((uint32_t)d[i] << 24 | (uint32_t)d[i + 1] << 16 | (uint32_t)d[i + 2] << 8 | d[i + 3]);
    assert_true(i + 8 < n);
    d[i] = 0x7f;
    assert_int_equal(bh_image_decode(d, n, &img), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "chunk"));
    /* 16-bit PGM and PPM (maxval over 255): the top byte of each sample, luma for colour */
    static const uint8_t pgm16[] = "P5\n2 2\n65535\n\xff\xff\x00\x00\x80\x00\x12\x34";
    assert_int_equal(bh_image_decode(pgm16, sizeof pgm16 - 1, &img), BH_OK);
    assert_int_equal(img.w * img.h, 4);
    assert_int_equal(img.px[0], 255);
    assert_int_equal(img.px[1], 0);
    assert_int_equal(img.px[2], 128);
    assert_int_equal(img.px[3], 0x12);
    bh_image_free(&img);
    static const uint8_t ppm16[] = "P6 # comment\n1 1\n1000\n\x01\xf4\x01\xf4\x01\xf4";
    assert_int_equal(bh_image_decode(ppm16, sizeof ppm16 - 1, &img), BH_OK);
    assert_int_equal(img.px[0], 128);
    bh_image_free(&img);
    /* maxval 15: samples scaled to 0..255, not taken as they are */
    static const uint8_t pgm4[] = "P5\n2 1\n15\n\x0f\x07";
    assert_int_equal(bh_image_decode(pgm4, sizeof pgm4 - 1, &img), BH_OK);
    assert_int_equal(img.px[0], 255);
    assert_int_equal(img.px[1], 119);
    bh_image_free(&img);
    static const uint8_t short16[] = "P5\n2 2\n65535\n\xff\xff\x00\x00\x80";
    assert_int_equal(bh_image_decode(short16, sizeof short16 - 1, &img), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "truncated PNM"));
    static const uint8_t badmax[] = "P5\n1 1\n0\n\x00";
    assert_int_equal(bh_image_decode(badmax, sizeof badmax - 1, &img), BH_EFORMAT);
    /* the same file cut inside its last chunk (IEND) still decodes, as stb reads no CRC there */
    d[i] = 0;
    assert_int_equal(bh_image_decode(d, n - 4, &img), BH_OK);
    bh_image_free(&img);
    free(d);
}

static void test_idx(void **state)
{
    (void)state;
    bh_digit_set s;
    assert_int_equal(bh_digit_set_load_dir(FX "strokes", "train", &s), BH_OK);
    assert_int_equal(s.n, 120);
    assert_int_equal(s.rows, 28);
    assert_int_equal(s.cols, 28);
    assert_int_equal(s.labels[0], 0);
    assert_int_equal(s.labels[119], 9);
    bh_digit_set_free(&s);
    assert_int_equal(bh_digit_set_load_dir(FX, "trunc", &s), BH_EFORMAT);
    assert_null(s.px);
    assert_int_equal(bh_digit_set_load_dir(FX, "badmagic", &s), BH_EFORMAT);
    assert_int_equal(bh_digit_set_load_dir(FX, "nothing", &s), BH_EIO);
    /* labels of another set: counts disagree */
    assert_int_equal(bh_digit_set_load_idx(FX "strokes/train-images-idx3-ubyte.gz",
                                           FX "strokes/test-labels-idx1-ubyte.gz", &s),
                     BH_EFORMAT);
    /* an image file is not an IDX file */
    assert_int_equal(bh_digit_set_load_idx(FX "d3.png", FX "d3.png", &s), BH_EFORMAT);
    bh_digit_set_free(NULL);
}

static void test_otsu(void **state)
{
    (void)state;
    uint8_t px[100];
    for (int i = 0; i < 100; i++)
        px[i] = i < 70 ? 20 : 200;
    int t = bh_otsu_threshold(px, 100);
    assert_true(t >= 20 && t < 200);
    memset(px, 7, sizeof px);
    assert_int_equal(bh_otsu_threshold(px, 100), 0);
}

static double ink_sum(const float *o, int n)
{
    double s = 0;
    for (int i = 0; i < n * n; i++)
        s += o[i];
    return s;
}

static void test_prep(void **state)
{
    (void)state;
    bh_prep_opts o;
    bh_prep_defaults(&o);
    assert_int_equal(o.size, 28);
    float a[28 * 28], b[28 * 28];
    /* dark ink on white and bright ink on black give the same result */
    uint8_t img[40 * 40], inv[40 * 40];
    memset(img, 255, sizeof img);
    for (int y = 10; y < 30; y++)
        for (int x = 18; x < 22; x++)
            img[y * 40 + x] = 0;
    for (int i = 0; i < 1600; i++)
        inv[i] = (uint8_t)(255 - img[i]);
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_OK);
    assert_int_equal(bh_prep_digit(inv, 40, 40, &o, b), BH_OK);
    assert_memory_equal(a, b, sizeof a);
    /* the 4x20 bar is fitted to the 22-pixel box: 22 rows of ink, centred */
    int rows = 0;
    for (int y = 0; y < 28; y++) {
        double s = 0;
        for (int x = 0; x < 28; x++)
            s += a[y * 28 + x];
        rows += s > 0.5;
    }
    assert_int_equal(rows, 22);
    assert_true(a[0] == 0.0f && a[14 * 28 + 14] > 0.9f);
    /* all-white and all-black images: empty output, no failure */
    memset(img, 255, sizeof img);
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_OK);
    assert_true(ink_sum(a, 28) == 0);
    memset(img, 0, sizeof img);
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_OK);
    assert_true(ink_sum(a, 28) == 0);
    /* a single pixel of ink, a 1xN image */
    img[5] = 255;
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_OK);
    assert_int_equal(bh_prep_digit(img, 1, 40, &o, a), BH_OK);
    assert_int_equal(bh_prep_digit(img, 40, 1, &o, a), BH_OK);
    /* deskew and binarize keep values in range */
    o.deskew = 1;
    o.binarize = 1;
    memset(img, 0, sizeof img);
    for (int y = 5; y < 35; y++)
        for (int k = 0; k < 3; k++)
            img[y * 40 + 5 + y / 2 + k] = 255;
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_OK);
    for (int i = 0; i < 28 * 28; i++)
        assert_true(a[i] == 0.0f || a[i] == 1.0f);
    assert_true(ink_sum(a, 28) > 10);
    /* bad options */
    o.size = 4;
    assert_int_equal(bh_prep_digit(img, 40, 40, &o, a), BH_EINVAL);
    bh_prep_defaults(&o);
    assert_int_equal(bh_prep_digit(img, 0, 40, &o, a), BH_EINVAL);
    assert_int_equal(bh_prep_digit(NULL, 40, 40, &o, a), BH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats), cmocka_unit_test(test_same_pixels),
        cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_hostile_images), cmocka_unit_test(test_idx),
        cmocka_unit_test(test_otsu),    cmocka_unit_test(test_prep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
