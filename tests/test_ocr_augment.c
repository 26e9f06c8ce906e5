/* tests/test_ocr_augment.c — training-set augmentation (bh_digit_augment,
 * bh_digits_featurize_augmented, bh_train_opts.augment): determinism by seed,
 * shapes, value range, the identity and pure-shift cases, every refusal; and
 * the pair-by-pair SVM training against libsvm's own multi-class training on
 * the synthetic stroke set (tests/fixtures/ocr/strokes). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libsvm/svm.h>

#include "bhasha/ocr.h"

#define FX "tests/fixtures/ocr/"
#define S 28

static bh_digit_set train, test;

static int setup(void **state)
{
    (void)state;
    if (bh_digit_set_load_dir(FX "strokes", "train", &train) ||
        bh_digit_set_load_dir(FX "strokes", "test", &test))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_digit_set_free(&train);
    bh_digit_set_free(&test);
    return 0;
}

/* A preprocessed stroke image (the first training image). */
static void prepped(float *img)
{
    bh_prep_opts p;
    bh_prep_defaults(&p);
    assert_int_equal(bh_prep_digit(train.px, train.cols, train.rows, &p, img), BH_OK);
}

static double mass(const float *img, double *cx, double *cy)
{
    double m = 0, x = 0, y = 0;
    for (int i = 0; i < S * S; i++) {
        m += img[i];
        x += img[i] * (i % S);
        y += img[i] * (i / S);
    }
    *cx = x / m;
    *cy = y / m;
    return m;
}

static void test_defaults_and_seed(void **state)
{
    (void)state;
    bh_augment_opts o;
    bh_augment_defaults(&o);
    assert_true(o.shift == 2 && o.rotate == 8 && o.scale == 0.1 && o.shear == 0.15);
    bh_train_opts t;
    bh_train_defaults(&t, BH_CLF_SVM);
    assert_int_equal(t.augment, 0);
    assert_true(t.aug.shift == 2 && t.aug.rotate == 8);
    assert_true(bh_augment_seed(1, 0, 1) == bh_augment_seed(1, 0, 1));
    /* neighbouring triples give distinct generator seeds */
    uint64_t s[6] = {bh_augment_seed(1, 0, 1), bh_augment_seed(1, 0, 2), bh_augment_seed(1, 1, 1),
                     bh_augment_seed(2, 0, 1), bh_augment_seed(0, 0, 0), bh_augment_seed(0, 1, 0)};
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            assert_true(s[i] != s[j]);
}

static void test_deterministic_and_in_range(void **state)
{
    (void)state;
    float img[S * S], a[S * S], b[S * S], c[S * S];
    prepped(img);
    bh_augment_opts o;
    bh_augment_defaults(&o);
    assert_int_equal(bh_digit_augment(img, S, &o, 42, a), BH_OK);
    assert_int_equal(bh_digit_augment(img, S, &o, 42, b), BH_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(bh_digit_augment(img, S, &o, 43, c), BH_OK);
    assert_true(memcmp(a, c, sizeof a) != 0);
    assert_true(memcmp(a, img, sizeof a) != 0);
    double cx0, cy0, cx, cy, m0 = mass(img, &cx0, &cy0);
    for (uint64_t seed = 0; seed < 50; seed++) {
        assert_int_equal(bh_digit_augment(img, S, &o, seed, a), BH_OK);
        for (int i = 0; i < S * S; i++)
            assert_true(a[i] >= 0.0f && a[i] <= 1.0f);
        /* a small jitter: ink mass within the scale range (area ~ s^2), centroid
         * moved by at most the shift plus what rotation/shear about the centre add */
        double m = mass(a, &cx, &cy);
        assert_true(m > 0.7 * m0 && m < 1.3 * m0);
        assert_true(fabs(cx - cx0) < 4.5 && fabs(cy - cy0) < 4.5);
    }
}

static void test_identity_and_shift(void **state)
{
    (void)state;
    float img[S * S], a[S * S];
    prepped(img);
    bh_augment_opts o = {0, 0, 0, 0};
    assert_int_equal(bh_digit_augment(img, S, &o, 7, a), BH_OK);
    assert_memory_equal(a, img, sizeof a); /* zero ranges: an exact copy */
    /* shift only: the centroid moves by at most 1.5 px per axis and some copy moves */
    o.shift = 1.5;
    double cx0, cy0, cx, cy, m0 = mass(img, &cx0, &cy0), moved = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        assert_int_equal(bh_digit_augment(img, S, &o, seed, a), BH_OK);
        double m = mass(a, &cx, &cy);
        assert_true(fabs(m - m0) < 1e-3 * m0); /* the digit stays inside the canvas */
        assert_true(fabs(cx - cx0) <= 1.5 + 1e-6 && fabs(cy - cy0) <= 1.5 + 1e-6);
        moved = fmax(moved, fabs(cx - cx0) + fabs(cy - cy0));
    }
    assert_true(moved > 0.5);
}

static void test_refusals(void **state)
{
    (void)state;
    float img[S * S], a[S * S];
    prepped(img);
    bh_augment_opts o;
    bh_augment_defaults(&o);
    assert_int_equal(bh_digit_augment(NULL, S, &o, 1, a), BH_EINVAL);
    assert_int_equal(bh_digit_augment(img, S, NULL, 1, a), BH_EINVAL);
    assert_int_equal(bh_digit_augment(img, S, &o, 1, NULL), BH_EINVAL);
    assert_int_equal(bh_digit_augment(img, S, &o, 1, img), BH_EINVAL);
    assert_int_equal(bh_digit_augment(img, 1, &o, 1, a), BH_EINVAL);
    assert_int_equal(bh_digit_augment(img, 5000, &o, 1, a), BH_EINVAL);
    const bh_augment_opts bad[] = {{-1, 8, 0.1, 0.15},  {15, 8, 0.1, 0.15}, {2, 46, 0.1, 0.15},
                                   {2, NAN, 0.1, 0.15}, {2, 8, 0.6, 0.15},  {2, 8, -0.1, 0.15},
                                   {2, 8, 0.1, 1.5},    {2, 8, 0.1, -0.1},  {NAN, 8, 0.1, 0.15}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bh_digit_augment(img, S, &bad[i], 1, a), BH_EINVAL);
    assert_true(strstr(bh_last_error(), "augment") != NULL);
}

static void test_featurize_augmented(void **state)
{
    (void)state;
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    assert_int_equal(bh_feat_parse("hog", &f), BH_OK);
    float *X0 = NULL, *X = NULL, *X2 = NULL, *X3 = NULL;
    uint8_t *y = NULL, *y2 = NULL, *y3 = NULL;
    int d0 = 0, d = 0, K = 3, n = train.n;
    assert_int_equal(bh_digits_featurize(&train, &p, &f, &X0, &d0, NULL, NULL), BH_OK);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, K, 5, NULL, &X, &y, &d, NULL, NULL), BH_OK);
    assert_int_equal(d, d0);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, K, 5, NULL, &X2, &y2, &d, NULL, NULL), BH_OK);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, K, 6, NULL, &X3, &y3, &d, NULL, NULL), BH_OK);
    size_t row = sizeof(float) * (size_t)d;
    assert_memory_equal(X, X2, row * (size_t)n * (K + 1)); /* same seed, same rows */
    int differ = 0;
    for (int i = 0; i < n; i++) {
        /* the original comes first and equals plain featurization */
        assert_memory_equal(X + (size_t)i * (K + 1) * d, X0 + (size_t)i * d, row);
        assert_memory_equal(X3 + (size_t)i * (K + 1) * d, X0 + (size_t)i * d, row);
        for (int k = 0; k <= K; k++) {
            assert_int_equal(y[i * (K + 1) + k], train.labels[i]);
            assert_int_equal(y3[i * (K + 1) + k], train.labels[i]);
        }
        for (int k = 1; k <= K; k++)
            differ += memcmp(X + ((size_t)i * (K + 1) + k) * d, X3 + ((size_t)i * (K + 1) + k) * d,
                             row) != 0;
    }
    assert_true(differ > n * K / 2); /* another seed, other copies */
    free(X2);
    free(y2);
    free(X3);
    free(y3);
    /* copies 0 equals featurize; labels are optional */
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, 0, 5, NULL, &X2, NULL, &d, NULL, NULL), BH_OK);
    assert_memory_equal(X2, X0, row * (size_t)n);
    free(X2);
    /* binarized preprocessing: the copies are binary too */
    p.binarize = 1;
    assert_int_equal(bh_feat_parse("lbp", &f), BH_OK);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, 1, 5, NULL, &X2, NULL, &d, NULL, NULL), BH_OK);
    free(X2);
    p.binarize = 0;
    assert_int_equal(bh_feat_parse("hog", &f), BH_OK);
    /* refusals */
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, -1, 5, NULL, &X2, &y2, &d, NULL, NULL),
        BH_EINVAL);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, 65, 5, NULL, &X2, &y2, &d, NULL, NULL),
        BH_EINVAL);
    bh_augment_opts bad = {2, 90, 0.1, 0.15};
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, 1, 5, &bad, &X2, &y2, &d, NULL, NULL),
        BH_EINVAL);
    assert_int_equal(
        bh_digits_featurize_augmented(&train, &p, &f, 1, 5, NULL, NULL, &y2, &d, NULL, NULL),
        BH_EINVAL);
    free(X0);
    free(X);
    free(y);
}

static void test_train_augmented(void **state)
{
    (void)state;
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    assert_int_equal(bh_feat_parse("hog", &f), BH_OK);
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_SVM);
    o.augment = 2;
    bh_digits_model *m = NULL, *m2 = NULL;
    assert_int_equal(bh_digits_train(&train, &p, &f, &o, &m), BH_OK);
    assert_int_equal(bh_digits_train(&train, &p, &f, &o, &m2), BH_OK);
    /* same seed, same model (its summary names C, gamma and the SV count) */
    assert_string_equal(bh_digits_model_info(m), bh_digits_model_info(m2));
    float *X = NULL;
    int d = 0;
    assert_int_equal(bh_digits_featurize(&test, &p, &f, &X, &d, NULL, NULL), BH_OK);
    uint8_t pred[256];
    assert_true(test.n <= 256);
    assert_int_equal(bh_digits_predict_features(m, X, test.n, d, pred, NULL), BH_OK);
    double acc;
    bh_digits_score(test.labels, pred, test.n, &acc, NULL, NULL);
    fprintf(stderr, "# svm hog, 2 copies: accuracy %.3f (%s)\n", acc, bh_digits_model_info(m));
    assert_true(acc >= 0.9);
    free(X);
    bh_digits_model_free(m);
    bh_digits_model_free(m2);
    o.augment = 65;
    assert_int_equal(bh_digits_train(&train, &p, &f, &o, &m), BH_EINVAL);
    assert_null(m);
    o.augment = 1;
    o.aug.rotate = -1;
    assert_int_equal(bh_digits_train(&train, &p, &f, &o, &m), BH_EINVAL);
    assert_null(m);
}

static void quiet(const char *s)
{
    (void)s;
}

/* bhasha trains one-vs-one pair by pair on precomputed kernels and assembles
 * libsvm's multi-class layout itself: its decisions must be libsvm's. */
static void test_svm_pairs_match_libsvm(void **state)
{
    (void)state;
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    assert_int_equal(bh_feat_parse("hog", &f), BH_OK);
    float *X = NULL, *XT = NULL;
    int d = 0;
    assert_int_equal(bh_digits_featurize(&train, &p, &f, &X, &d, NULL, NULL), BH_OK);
    assert_int_equal(bh_digits_featurize(&test, &p, &f, &XT, &d, NULL, NULL), BH_OK);
    const double C = 3, gamma = 0.05;
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_SVM);
    o.svm_c = C;
    o.svm_gamma = gamma;
    o.scale = 0;
    bh_digits_model *m = NULL;
    assert_int_equal(bh_digits_train_features(X, train.labels, train.n, d, &p, &f, &o, &m), BH_OK);
    uint8_t pred[256];
    assert_true(test.n <= 256);
    assert_int_equal(bh_digits_predict_features(m, XT, test.n, d, pred, NULL), BH_OK);

    svm_set_print_string_function(quiet);
    struct svm_node *nodes = malloc(sizeof *nodes * (size_t)(train.n + test.n) * (d + 1));
    struct svm_node **rows = malloc(sizeof *rows * (size_t)train.n);
    double *y = malloc(sizeof(double) * (size_t)train.n);
    assert_non_null(nodes);
    assert_non_null(rows);
    assert_non_null(y);
    struct svm_node *q = nodes;
    for (int i = 0; i < train.n + test.n; i++) {
        const float *x = i < train.n ? X + (size_t)i * d : XT + (size_t)(i - train.n) * d;
        if (i < train.n) {
            rows[i] = q;
            y[i] = train.labels[i];
        }
        for (int j = 0; j < d; j++)
            if (x[j] != 0) {
                q->index = j + 1;
                q->value = x[j];
                q++;
            }
        q->index = -1;
        q++;
    }
    struct svm_parameter pa;
    memset(&pa, 0, sizeof pa);
    pa.svm_type = C_SVC;
    pa.kernel_type = RBF;
    pa.gamma = gamma;
    pa.C = C;
    pa.cache_size = 100;
    pa.eps = 1e-3;
    pa.shrinking = 1;
    struct svm_problem prob = {train.n, y, rows};
    struct svm_model *md = svm_train(&prob, &pa);
    assert_non_null(md);
    /* test rows follow the training rows in nodes */
    struct svm_node *t = rows[train.n - 1];
    while (t->index != -1)
        t++;
    t++;
    int same = 0;
    for (int i = 0; i < test.n; i++) {
        same += (int)svm_predict(md, t) == pred[i];
        while (t->index != -1)
            t++;
        t++;
    }
    fprintf(stderr, "# pairwise vs libsvm: %d of %d test predictions equal, nSV %d (%s)\n", same,
            test.n, svm_get_nr_sv(md), bh_digits_model_info(m));
    assert_int_equal(same, test.n);
    const char *at = strstr(bh_digits_model_info(m), "nSV=");
    assert_non_null(at);
    assert_int_equal(atoi(at + 4), svm_get_nr_sv(md));
    svm_free_and_destroy_model(&md);
    free(nodes);
    free(rows);
    free(y);
    free(X);
    free(XT);
    bh_digits_model_free(m);
}

/* A pair above 10,000 rows trains on sparse rows with libsvm's own kernel:
 * two overlapping 3-D blobs of 5,001 points each (features: one 3-bin LBP
 * histogram cell of an 8x8 input, so the spec's width is 3). */
static void test_svm_large_pair_matches_libsvm(void **state)
{
    (void)state;
    enum { N = 10002, T = 400 };
    bh_prep_opts p;
    bh_prep_defaults(&p);
    p.size = 8;
    p.box = 6;
    bh_feat_spec f;
    memset(&f, 0, sizeof f);
    f.kinds = BH_FEAT_LBP;
    f.lbp_points = 1;
    f.lbp_radius = 1;
    f.lbp_cell = 8;
    assert_int_equal((int)bh_feat_size(&f, 8), 3);
    float *X = malloc(sizeof(float) * (N + T) * 3);
    uint8_t *y = malloc(N);
    assert_non_null(X);
    assert_non_null(y);
    uint64_t r = 12345;
    for (int i = 0; i < N + T; i++) {
        for (int j = 0; j < 3; j++) {
            double u = 0; /* sum of 4 uniforms: a rough Gaussian */
            for (int k = 0; k < 4; k++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                u += (double)(r >> 11) / 9007199254740992.0 - 0.5;
            }
            X[i * 3 + j] = (float)(u + (i % 2 ? 0.6 : 0.0));
        }
        if (i < N)
            y[i] = (uint8_t)(i % 2 ? 7 : 2);
    }
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_SVM);
    o.svm_c = 1;
    o.svm_gamma = 0.5;
    o.scale = 0;
    bh_digits_model *m = NULL;
    assert_int_equal(bh_digits_train_features(X, y, N, 3, &p, &f, &o, &m), BH_OK);
    uint8_t pred[T];
    assert_int_equal(bh_digits_predict_features(m, X + N * 3, T, 3, pred, NULL), BH_OK);

    svm_set_print_string_function(quiet);
    struct svm_node *nodes = malloc(sizeof *nodes * (N + T) * 4);
    struct svm_node **rows = malloc(sizeof *rows * (N + T));
    double *yd = malloc(sizeof(double) * N);
    assert_non_null(nodes);
    assert_non_null(rows);
    assert_non_null(yd);
    for (int i = 0; i < N + T; i++) {
        struct svm_node *q = nodes + i * 4;
        rows[i] = q;
        for (int j = 0; j < 3; j++) {
            q[j].index = j + 1;
            q[j].value = X[i * 3 + j];
        }
        q[3].index = -1;
        if (i < N)
            yd[i] = y[i];
    }
    struct svm_parameter pa;
    memset(&pa, 0, sizeof pa);
    pa.svm_type = C_SVC;
    pa.kernel_type = RBF;
    pa.gamma = 0.5;
    pa.C = 1;
    pa.cache_size = 400;
    pa.eps = 1e-3;
    pa.shrinking = 1;
    struct svm_problem prob = {N, yd, rows};
    struct svm_model *md = svm_train(&prob, &pa);
    assert_non_null(md);
    int same = 0, diverse = 0;
    for (int i = 0; i < T; i++) {
        same += (int)svm_predict(md, rows[N + i]) == pred[i];
        diverse += pred[i] == 7;
    }
    fprintf(stderr, "# large pair vs libsvm: %d of %d equal (%s)\n", same, T,
            bh_digits_model_info(m));
    assert_int_equal(same, T);
    assert_true(diverse > T / 4 && diverse < 3 * T / 4);
    const char *at = strstr(bh_digits_model_info(m), "nSV=");
    assert_non_null(at);
    assert_int_equal(atoi(at + 4), svm_get_nr_sv(md));
    svm_free_and_destroy_model(&md);
    free(nodes);
    free(rows);
    free(yd);
    free(X);
    free(y);
    bh_digits_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_seed),
        cmocka_unit_test(test_deterministic_and_in_range),
        cmocka_unit_test(test_identity_and_shift),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_featurize_augmented),
        cmocka_unit_test(test_train_augmented),
        cmocka_unit_test(test_svm_pairs_match_libsvm),
        cmocka_unit_test(test_svm_large_pair_matches_libsvm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
