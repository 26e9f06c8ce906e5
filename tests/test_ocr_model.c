/* tests/test_ocr_model.c — every classifier (KNN, SVM, RF, GBDT) trained on the
 * tiny synthetic stroke set (tests/fixtures/ocr/strokes), model save/load
 * round trips, class scores, refusal of foreign or damaged model files,
 * metrics, and reading a line of digits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bhasha/ocr.h"
#include "tests/build_dir.h"

#define FX "tests/fixtures/ocr/"

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

static double accuracy_of(const bh_digits_model *m, uint8_t *pred, float *scores)
{
    float *X = NULL;
    int d = 0;
    assert_int_equal(bh_digits_featurize(&test, bh_digits_model_prep(m), bh_digits_model_feat(m),
                                         &X, &d, NULL, NULL),
                     BH_OK);
    assert_int_equal(bh_digits_predict_features(m, X, test.n, d, pred, scores), BH_OK);
    free(X);
    double acc, f1;
    int cm[10][10];
    bh_digits_score(test.labels, pred, test.n, &acc, &f1, cm);
    return acc;
}

/* Class scores: rows of 10 in [0,1] summing to 1, the same after a save/load;
 * the predicted class has the largest score (SVM: soft votes, so nearly always). */
static void check_proba(const bh_digits_model *m, const bh_digits_model *m2, const uint8_t *pred)
{
    float *X = NULL;
    int d = 0;
    assert_int_equal(bh_digits_featurize(&test, bh_digits_model_prep(m), bh_digits_model_feat(m),
                                         &X, &d, NULL, NULL),
                     BH_OK);
    float *P = malloc(sizeof(float) * (size_t)test.n * 10), *P2 = malloc(sizeof(float) * (size_t)test.n * 10);
    assert_non_null(P);
    assert_non_null(P2);
    assert_int_equal(bh_digits_predict_proba(m, X, test.n, d, P), BH_OK);
    assert_int_equal(bh_digits_predict_proba(m2, X, test.n, d, P2), BH_OK);
    int top = 0;
    for (int i = 0; i < test.n; i++) {
        const float *p = P + (size_t)i * 10;
        double sum = 0;
        int best = 0;
        for (int c = 0; c < 10; c++) {
            assert_true(p[c] >= 0 && p[c] <= 1);
            assert_true(fabsf(p[c] - P2[(size_t)i * 10 + c]) < 1e-4f);
            sum += p[c];
            best = p[c] > p[best] ? c : best;
        }
        assert_true(fabs(sum - 1) < 1e-4);
        top += p[pred[i]] >= p[best];
    }
    if (bh_digits_model_kind(m) == BH_CLF_SVM)
        assert_true(top >= test.n * 9 / 10);
    else
        assert_int_equal(top, test.n);
    assert_int_equal(bh_digits_predict_proba(m, X, test.n, d, NULL), BH_EINVAL);
    assert_int_equal(bh_digits_predict_proba(m, X, test.n, d + 1, P), BH_ESHAPE);
    free(P);
    free(P2);
    free(X);
}

static void roundtrip(bh_clf_kind kind, const char *features, double min_acc)
{
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    assert_int_equal(bh_feat_parse(features, &f), BH_OK);
    bh_train_opts o;
    bh_train_defaults(&o, kind);
    o.trees = 30;
    bh_digits_model *m = NULL;
    bh_status st = bh_digits_train(&train, &p, &f, &o, &m);
    if (st)
        fprintf(stderr, "# train: %s\n", bh_last_error());
    assert_int_equal(st, BH_OK);
    assert_int_equal(bh_digits_model_kind(m), kind);
    uint8_t pred[60], pred2[60];
    float sc[60], sc2[60];
    double acc = accuracy_of(m, pred, sc);
    fprintf(stderr, "# %s %s: accuracy %.3f (%s)\n", bh_clf_name(kind), features, acc,
            bh_digits_model_info(m));
    assert_true(acc >= min_acc);
    for (int i = 0; i < test.n; i++)
        assert_true(sc[i] >= 0 && sc[i] <= 1);
    /* scratch file in the build folder (tests run from the repo root) */
    char path[512];
    test_build_path(path, sizeof path, "ocr_modelXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(bh_digits_save(m, path), BH_OK);
    bh_digits_model *m2 = NULL;
    st = bh_digits_load(path, &m2);
    if (st)
        fprintf(stderr, "# load: %s\n", bh_last_error());
    assert_int_equal(st, BH_OK);
    accuracy_of(m2, pred2, sc2);
    assert_memory_equal(pred, pred2, (size_t)test.n);
    check_proba(m, m2, pred);
    for (int i = 0; i < test.n; i++)
        assert_true(sc[i] - sc2[i] < 1e-5f && sc2[i] - sc[i] < 1e-5f);
    /* an image through the whole pipeline */
    int label = -1;
    float score = -1;
    assert_int_equal(bh_digits_predict(m2, test.px, 28, 28, &label, &score), BH_OK);
    assert_true(label >= 0 && label <= 9 && score >= 0 && score <= 1);
    /* an all-white image: an answer with score 0 */
    uint8_t white[30 * 30];
    memset(white, 255, sizeof white);
    assert_int_equal(bh_digits_predict(m2, white, 30, 30, &label, &score), BH_OK);
    assert_true(score == 0.0f);
    /* a truncated copy of the file must be refused */
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc((size_t)sz);
    assert_int_equal(fread(buf, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    long cuts[4] = {12, 60, sz / 2, sz - 1};
    for (int c = 0; c < 4; c++) {
        fp = fopen(path, "wb");
        fwrite(buf, 1, (size_t)cuts[c], fp);
        fclose(fp);
        bh_digits_model *bad = NULL;
        assert_int_equal(bh_digits_load(path, &bad), BH_EFORMAT);
        assert_null(bad);
    }
    /* the same payload labelled as another classifier */
    for (uint32_t k = 0; k < 4; k++) {
        if (k == (uint32_t)kind || (k >= 2 && kind >= 2))
            continue;
        buf[12] = (unsigned char)k;
        fp = fopen(path, "wb");
        fwrite(buf, 1, (size_t)sz, fp);
        fclose(fp);
        bh_digits_model *bad = NULL;
        st = bh_digits_load(path, &bad);
        assert_int_equal(st, BH_EFORMAT);
        assert_null(bad);
    }
    free(buf);
    unlink(path);
    bh_digits_model_free(m);
    bh_digits_model_free(m2);
}

static void test_knn(void **state)
{
    (void)state;
    roundtrip(BH_CLF_KNN, "hog", 0.9);
}
static void test_svm(void **state)
{
    (void)state;
    roundtrip(BH_CLF_SVM, "hog", 0.9);
}
static void test_rf(void **state)
{
    (void)state;
    roundtrip(BH_CLF_RF, "hog", 0.8);
}
static void test_gbdt(void **state)
{
    (void)state;
    roundtrip(BH_CLF_GBDT, "hog", 0.8);
}
static void test_svm_combined(void **state)
{
    (void)state;
    roundtrip(BH_CLF_SVM, "hog,lbp,gabor", 0.9);
}
static void test_knn_lbp(void **state)
{
    (void)state;
    roundtrip(BH_CLF_KNN, "lbp", 0.5);
}

/* A model of the given options on HOG features of the fixture training set. */
static bh_digits_model *train_hog(const bh_train_opts *o)
{
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    bh_feat_defaults(&f, BH_FEAT_HOG);
    bh_digits_model *m = NULL;
    assert_int_equal(bh_digits_train(&train, &p, &f, o, &m), BH_OK);
    return m;
}

static void test_svm_grid_and_linear(void **state)
{
    (void)state;
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_SVM);
    o.svm_grid = 1;
    o.svm_linear = 1;
    bh_digits_model *m = train_hog(&o);
    uint8_t pred[60];
    assert_true(accuracy_of(m, pred, NULL) >= 0.9);
    assert_non_null(strstr(bh_digits_model_info(m), "cv3="));
    bh_digits_model_free(m);
}

static void test_foreign_files(void **state)
{
    (void)state;
    bh_digits_model *m = NULL;
    assert_int_equal(bh_digits_load(FX "libsvm.model", &m), BH_EFORMAT);
    assert_int_equal(bh_digits_load(FX "d3.png", &m), BH_EFORMAT);
    assert_int_equal(bh_digits_load(FX "empty.png", &m), BH_EFORMAT);
    assert_int_equal(bh_digits_load(FX "no-such-model", &m), BH_EIO);
    assert_null(m);
    bh_digits_model_free(NULL);
}

static void test_bad_training(void **state)
{
    (void)state;
    bh_prep_opts p;
    bh_prep_defaults(&p);
    bh_feat_spec f;
    bh_feat_defaults(&f, BH_FEAT_HOG);
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_KNN);
    bh_digits_model *m = NULL;
    float X[4 * 1296] = {0};
    uint8_t y[4] = {1, 1, 1, 1};
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
    y[0] = 12;
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
    y[0] = 0;
    assert_int_equal(bh_digits_train_features(X, y, 4, 100, &p, &f, &o, &m), BH_ESHAPE);
    o.knn_k = 10;
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
    assert_null(m);
    /* a NaN or an infinity would poison the scaler of a model trained on it */
    o.knn_k = 3;
    y[0] = 0;
    X[7] = NAN;
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
    X[7] = INFINITY;
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
    assert_null(m);
    X[7] = 0;
    /* SVM grid search on fewer than 3 rows: libsvm would train on an empty fold */
    bh_train_defaults(&o, BH_CLF_SVM);
    o.svm_grid = 1;
    for (int g = 1; g <= 2; g++) {
        o.svm_grid_n = g;
        assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_EINVAL);
        assert_null(m);
    }
    /* the same at prediction: a NaN row gets no label that means nothing */
    bh_train_defaults(&o, BH_CLF_KNN);
    o.knn_k = 3;
    assert_int_equal(bh_digits_train_features(X, y, 4, 1296, &p, &f, &o, &m), BH_OK);
    uint8_t lab[2];
    float proba[10];
    assert_int_equal(bh_digits_predict_features(m, X, 1, 1296, lab, NULL), BH_OK);
    X[1296 + 5] = NAN;
    assert_int_equal(bh_digits_predict_features(m, X, 2, 1296, lab, NULL), BH_EINVAL);
    assert_int_equal(bh_digits_predict_proba(m, X + 1296, 1, 1296, proba), BH_EINVAL);
    X[1296 + 5] = 0;
    bh_digits_model_free(m);
    m = NULL;
    bh_clf_kind k;
    assert_int_equal(bh_clf_parse("cnn", &k), BH_EINVAL);
    assert_int_equal(bh_clf_parse("gbdt", &k), BH_OK);
    assert_int_equal(k, BH_CLF_GBDT);
}

/* Writes head[0..hlen) (a model file up to its payload) then payload[0..plen)
 * with the payload length fixed, and loads it. */
static bh_status load_with_payload(const char *path, const unsigned char *head, size_t hlen,
                                   const unsigned char *payload, size_t plen)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(head, 1, hlen - 8, fp);
    for (int i = 0; i < 8; i++)
        fputc((int)((uint64_t)plen >> (8 * i)) & 0xff, fp);
    fwrite(payload, 1, plen, fp);
    fclose(fp);
    bh_digits_model *m = NULL;
    bh_status st = bh_digits_load(path, &m);
    if (st == BH_OK) { /* what crashed before: prediction through the damaged trees */
        float *X = calloc(1296, sizeof(float));
        uint8_t lab;
        bh_digits_predict_features(m, X, 1, 1296, &lab, NULL);
        free(X);
    }
    bh_digits_model_free(m);
    return st;
}

static unsigned char *find_bytes(unsigned char *buf, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(buf + i, s, k))
            return buf + i;
    return NULL;
}

/* xgboost's UBJSON reader and predictor trust the payload: damaged counts,
 * nesting, child links, split features or tree parameters made the process
 * read out of bounds or overflow its stack. Each must fail with BH_EFORMAT. */
static void test_damaged_xgb_payload(void **state)
{
    (void)state;
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_GBDT);
    o.trees = 2;
    bh_digits_model *m = train_hog(&o);
    char path[512];
    test_build_path(path, sizeof path, "ocr_xgbXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(bh_digits_save(m, path), BH_OK);
    bh_digits_model_free(m);
    FILE *fp = fopen(path, "rb");
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    unsigned char *pl = find_bytes(buf, n, "{L\0\0\0\0\0\0\0\7learner");
    assert_non_null(pl);
    size_t hlen = (size_t)(pl - buf), plen = n - hlen;
    unsigned char *cp = malloc(plen);
    assert_int_equal(load_with_payload(path, buf, hlen, pl, plen), BH_OK);
    /* 1: a renamed num_trees key; 2: the root's left child far outside the
     * tree; 3: a split on feature 2^31-1; 4: a string length past the end */
    const char *at[4] = {"num_trees", "left_children[$l#L", "split_indices[$l#L", "SL"};
    for (int c = 0; c < 4; c++) {
        memcpy(cp, pl, plen);
        unsigned char *q = find_bytes(cp, plen, at[c]);
        assert_non_null(q);
        if (c == 0)
            q[5] = 'u';
        else if (c < 3)
            memcpy(q + strlen(at[c]) + 8, c == 1 ? "\0\0\x10\0" : "\x7f\xff\xff\xff", 4);
        else
            q[3] = 1; /* 2^48 bytes */
        assert_int_equal(load_with_payload(path, buf, hlen, cp, plen), BH_EFORMAT);
    }
    /* 5: arrays nested a million deep under a key */
    size_t deep = 1000000;
    unsigned char *nest = malloc(deep + 16);
    memcpy(nest, "{L\0\0\0\0\0\0\0\1x", 11);
    memset(nest + 11, '[', deep);
    nest[11 + deep] = '}';
    assert_int_equal(load_with_payload(path, buf, hlen, nest, deep + 12), BH_EFORMAT);
    free(nest);
    free(cp);
    unlink(path);
}

static void test_score(void **state)
{
    (void)state;
    uint8_t t[6] = {0, 0, 1, 1, 2, 2}, p[6] = {0, 1, 1, 1, 2, 0};
    double acc, f1;
    int cm[10][10];
    bh_digits_score(t, p, 6, &acc, &f1, cm);
    assert_true(acc > 0.666 && acc < 0.667);
    /* F1: class0 = 2*1/(2+1+1)=0.5, class1 = 2*2/(4+1+0)=0.8, class2 = 2*1/(2+0+1)=0.667 */
    assert_true(f1 > 0.6555 && f1 < 0.6557);
    assert_int_equal(cm[0][1], 1);
    assert_int_equal(cm[2][0], 1);
}

static void test_read_line(void **state)
{
    (void)state;
    bh_train_opts o;
    bh_train_defaults(&o, BH_CLF_SVM);
    bh_digits_model *m = train_hog(&o);
    bh_image img;
    assert_int_equal(bh_image_load(FX "line_456.png", &img), BH_OK);
    bh_digit_box boxes[8];
    int n = 0;
    assert_int_equal(bh_digits_read(m, img.px, img.w, img.h, boxes, 8, &n), BH_OK);
    assert_int_equal(n, 3);
    assert_int_equal(boxes[0].label, 4);
    assert_int_equal(boxes[1].label, 5);
    assert_int_equal(boxes[2].label, 6);
    assert_true(boxes[0].x < boxes[1].x && boxes[1].x < boxes[2].x);
    /* a blank line reads as nothing */
    memset(img.px, 255, (size_t)img.w * img.h);
    assert_int_equal(bh_digits_read(m, img.px, img.w, img.h, boxes, 8, &n), BH_OK);
    assert_int_equal(n, 0);
    /* a piece as large as the image (a tight crop): its crop with margins is
     * larger than the image (ASan caught the write past it) */
    uint8_t tight[16];
    memset(tight, 255, sizeof tight);
    for (int y = 0; y < 4; y++) tight[y * 4] = 0;
    assert_int_equal(bh_digits_read(m, tight, 4, 4, boxes, 8, &n), BH_OK);
    assert_int_equal(n, 1);
    assert_int_equal(boxes[0].h, 4);
    /* a dash one pixel tall: split into pieces, none narrower than a column */
    uint8_t dash[5 * 12];
    memset(dash, 255, sizeof dash);
    for (int x = 4; x < 8; x++) dash[2 * 12 + x] = 0;
    assert_int_equal(bh_digits_read(m, dash, 12, 5, boxes, 8, &n), BH_OK);
    for (int i = 0; i < n && i < 8; i++) assert_true(boxes[i].w >= 1);
    bh_image_free(&img);
    bh_digits_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knn),          cmocka_unit_test(test_svm),
        cmocka_unit_test(test_rf),           cmocka_unit_test(test_gbdt),
        cmocka_unit_test(test_svm_combined), cmocka_unit_test(test_knn_lbp),
        cmocka_unit_test(test_svm_grid_and_linear), cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_bad_training), cmocka_unit_test(test_score),
        cmocka_unit_test(test_read_line),    cmocka_unit_test(test_damaged_xgb_payload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
