/* tests/test_ocr_features.c — HOG, uniform LBP and Gabor against scikit-image
 * golden vectors (tests/fixtures/ocr/features_golden.txt, made by
 * tests/ref/gen_ocr_features.py), plus the digit feature vector. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bhasha/ocr.h"

#define GOLDEN "tests/fixtures/ocr/features_golden.txt"
#define MAXV 200000

typedef struct rec {
    char header[256];
    double *v;
    size_t n;
} rec;

static rec recs[64];
static int nrec;

static int load_golden(void **state)
{
    (void)state;
    FILE *f = fopen(GOLDEN, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (nrec < 64 && (len = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = 0;
        snprintf(recs[nrec].header, sizeof recs[nrec].header, "%s", line);
        if ((len = getline(&line, &cap, f)) <= 0)
            break;
        recs[nrec].v = malloc(sizeof(double) * MAXV);
        size_t n = 0;
        char *p = line, *e;
        while (n < MAXV) {
            double d = strtod(p, &e);
            if (e == p)
                break;
            recs[nrec].v[n++] = d;
            p = e;
        }
        recs[nrec].n = n;
        nrec++;
    }
    free(line);
    fclose(f);
    return nrec > 0 ? 0 : -1;
}

static int free_golden(void **state)
{
    (void)state;
    for (int i = 0; i < nrec; i++)
        free(recs[i].v);
    return 0;
}

static const rec *find_image(const char *name, int *h, int *w)
{
    char want[64];
    snprintf(want, sizeof want, "image %s ", name);
    for (int i = 0; i < nrec; i++)
        if (!strncmp(recs[i].header, want, strlen(want))) {
            sscanf(recs[i].header + strlen(want), "%d %d", h, w);
            return &recs[i];
        }
    return NULL;
}

static void test_hog_golden(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < nrec; i++) {
        char name[64], norm[16];
        int o, c, b;
        size_t n;
        if (sscanf(recs[i].header, "hog %63s %d %d %d %15s %zu", name, &o, &c, &b, norm, &n) != 6)
            continue;
        int h, w;
        const rec *im = find_image(name, &h, &w);
        assert_non_null(im);
        bh_hog_params p = {o, c, b, BH_HOG_L2_HYS};
        if (!strcmp(norm, "L1"))
            p.norm = BH_HOG_L1;
        else if (!strcmp(norm, "L1-sqrt"))
            p.norm = BH_HOG_L1_SQRT;
        else if (!strcmp(norm, "L2"))
            p.norm = BH_HOG_L2;
        assert_int_equal(bh_hog_size(h, w, &p), n);
        assert_int_equal(recs[i].n, n);
        double *out = malloc(sizeof(double) * n);
        assert_int_equal(bh_hog(im->v, h, w, &p, out), BH_OK);
        double worst = 0;
        for (size_t k = 0; k < n; k++)
            worst = fmax(worst, fabs(out[k] - recs[i].v[k]));
        if (worst > 1e-9)
            fprintf(stderr, "# %s: max abs diff %g\n", recs[i].header, worst);
        assert_true(worst <= 1e-9);
        free(out);
        checked++;
    }
    assert_true(checked >= 10);
}

static void test_lbp_golden(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < nrec; i++) {
        char name[64];
        int P;
        double R;
        size_t n;
        if (sscanf(recs[i].header, "lbp %63s %d %lf %zu", name, &P, &R, &n) != 4)
            continue;
        int h, w;
        const rec *im = find_image(name, &h, &w);
        assert_non_null(im);
        double *out = malloc(sizeof(double) * n);
        assert_int_equal(bh_lbp_uniform(im->v, h, w, P, R, out), BH_OK);
        size_t bad = 0;
        for (size_t k = 0; k < n; k++)
            bad += out[k] != recs[i].v[k];
        if (bad)
            fprintf(stderr, "# %s: %zu codes differ\n", recs[i].header, bad);
        assert_int_equal(bad, 0);
        free(out);
        checked++;
    }
    assert_true(checked >= 9);
}

static void test_gabor_golden(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < nrec; i++) {
        char name[64];
        double fr, th;
        size_t n;
        int kh, kw;
        if (sscanf(recs[i].header, "kernel %lf %lf %d %d", &fr, &th, &kh, &kw) == 4) {
            int ky, kx;
            assert_int_equal(bh_gabor_kernel(fr, th, 1.0, &ky, &kx, NULL, NULL), BH_OK);
            assert_int_equal(2 * ky + 1, kh);
            assert_int_equal(2 * kx + 1, kw);
            double *re = malloc(sizeof(double) * kh * kw), *im = malloc(sizeof(double) * kh * kw);
            bh_gabor_kernel(fr, th, 1.0, &ky, &kx, re, im);
            for (int k = 0; k < kh * kw; k++) {
                assert_true(fabs(re[k] - recs[i].v[k]) < 1e-12);
                assert_true(fabs(im[k] - recs[i].v[kh * kw + k]) < 1e-12);
            }
            free(re);
            free(im);
            checked++;
            continue;
        }
        if (sscanf(recs[i].header, "gabor %63s %lf %lf %zu", name, &fr, &th, &n) != 4)
            continue;
        int h, w;
        const rec *im = find_image(name, &h, &w);
        assert_non_null(im);
        double *re = malloc(sizeof(double) * n), *ii = malloc(sizeof(double) * n);
        assert_int_equal(bh_gabor_filter(im->v, h, w, fr, th, 1.0, re, ii), BH_OK);
        double worst = 0;
        for (size_t k = 0; k < n; k++) {
            worst = fmax(worst, fabs(re[k] - recs[i].v[k]));
            worst = fmax(worst, fabs(ii[k] - recs[i].v[n + k]));
        }
        if (worst > 1e-8)
            fprintf(stderr, "# %s: max abs diff %g\n", recs[i].header, worst);
        assert_true(worst <= 1e-8);
        free(re);
        free(ii);
        checked++;
    }
    assert_true(checked >= 8);
}

static void test_bad_params(void **state)
{
    (void)state;
    double img[16] = {0}, out[64];
    bh_hog_params p = {9, 4, 2, BH_HOG_L2};
    assert_int_equal(bh_hog_size(4, 4, &p), 0); /* smaller than a block */
    assert_int_equal(bh_hog(img, 4, 4, &p, out), BH_EINVAL);
    p.orientations = 0;
    assert_int_equal(bh_hog_size(32, 32, &p), 0);
    assert_int_equal(bh_lbp_uniform(img, 4, 4, 0, 1, out), BH_EINVAL);
    assert_int_equal(bh_lbp_uniform(img, 4, 4, 8, -1, out), BH_EINVAL);
    int ky, kx;
    assert_int_equal(bh_gabor_kernel(0, 0, 1, &ky, &kx, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_gabor_kernel(0.001, 0, 1, &ky, &kx, NULL, NULL), BH_EINVAL);
    /* sigma 0 or NaN: a kernel of NaNs, not an error, before */
    assert_int_equal(bh_gabor_kernel(INFINITY, 0, 1, &ky, &kx, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_gabor_kernel(0.25, 0, 2000, &ky, &kx, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_gabor_filter(img, 4, 4, 0.25, 0, 2000, out, out + 16), BH_EINVAL);
}

static void test_feature_vector(void **state)
{
    (void)state;
    bh_feat_spec s;
    assert_int_equal(bh_feat_parse("hog,lbp,gabor", &s), BH_OK);
    assert_int_equal(s.kinds, 7);
    char name[32];
    bh_feat_name(&s, name, sizeof name);
    assert_string_equal(name, "hog,lbp,gabor");
    assert_int_equal(bh_feat_parse("hog,sift", &s), BH_EINVAL);
    assert_int_equal(bh_feat_parse("", &s), BH_EINVAL);
    assert_int_equal(bh_feat_parse("lbp", &s), BH_OK);
    size_t n = bh_feat_size(&s, 28);
    assert_int_equal(n, 16 * 10);
    float img[28 * 28], *out = malloc(sizeof(float) * n);
    for (int i = 0; i < 28 * 28; i++)
        img[i] = (float)((i * 37) % 11) / 10.0f;
    assert_int_equal(bh_feat_extract(&s, img, 28, out), BH_OK);
    for (int c = 0; c < 16; c++) { /* each cell histogram sums to 1 */
        double sum = 0;
        for (int b = 0; b < 10; b++)
            sum += out[c * 10 + b];
        assert_true(fabs(sum - 1) < 1e-5);
    }
    free(out);
    bh_feat_defaults(&s, BH_FEAT_HOG | BH_FEAT_GABOR);
    n = bh_feat_size(&s, 28);
    assert_int_equal(n, 1296 + 2 * 4 * 16 * 2);
    out = malloc(sizeof(float) * n);
    assert_int_equal(bh_feat_extract(&s, img, 28, out), BH_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(out[i]));
    free(out);
    assert_int_equal(bh_feat_size(&s, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hog_golden),   cmocka_unit_test(test_lbp_golden),
        cmocka_unit_test(test_gabor_golden), cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_feature_vector),
    };
    return cmocka_run_group_tests(tests, load_golden, free_golden);
}
