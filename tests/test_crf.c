/* tests/test_crf.c — the linear-chain CRF (models/crf.c) against PyTorch
 * autograd goldens (tests/ref/gen_crf.py → tests/fixtures/crf/golden.json),
 * finite differences, brute-force enumeration of every label sequence, the
 * BIO/IOBES constraint mask and bad input; then the feature CRF tagger
 * (models/ner_features.c): a tiny training run whose loss must fall, tagging,
 * save/load; word clusters (models/word_clusters.c): the table's text form and
 * its bad input, the cluster features, and a tagger that tags unseen words by
 * their cluster alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha.h"
#include "models/crf_tagger.h"
#include "tests/build_dir.h"
#include "tests/data_limit.h"

static void near(double got, double want, double tol, const char *what, size_t i)
{
    if (!(fabs(got - want) <= tol * (1 + fabs(want)))) {
        fprintf(stderr, "# %s[%zu]: got %.15g want %.15g\n", what, i, got, want);
        fail();
    }
}

/* Deterministic pseudo-random doubles in [-1, 1). */
static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0 * 2 - 1;
}

static double *jarr(json_t *o, const char *k, size_t *n)
{
    json_t *a = json_object_get(o, k);
    assert_true(json_is_array(a));
    *n = json_array_size(a);
    double *v = malloc((*n + 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static void test_golden(void **state)
{
    (void)state;
    json_error_t err;
    json_t *root = json_load_file("tests/fixtures/crf/golden.json", 0, &err);
    assert_non_null(root);
    json_t *cases = json_object_get(root, "cases");
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *k = json_array_get(cases, c);
        size_t L = (size_t)json_integer_value(json_object_get(k, "n_labels"));
        size_t nb, ne, np, nt, n;
        double *lensd = jarr(k, "lens", &nb);
        double *emis = jarr(k, "emissions", &ne);
        double *params = jarr(k, "params", &np);
        double *tagsd = jarr(k, "tags", &nt);
        double *logz_w = jarr(k, "logz", &n);
        double *de_w = jarr(k, "d_emissions", &n);
        double *dp_w = jarr(k, "d_params", &n);
        double *vit_w = jarr(k, "viterbi", &n);
        double *vs_w = jarr(k, "viterbi_score", &n);
        size_t lens[8];
        int32_t tags[64], path[64];
        for (size_t b = 0; b < nb; b++) lens[b] = (size_t)lensd[b];
        for (size_t i = 0; i < nt; i++) tags[i] = (int32_t)tagsd[i];
        bh_crf *crf;
        assert_int_equal(bh_crf_new(L, &crf), BH_OK);
        assert_int_equal(bh_crf_n_params(crf), np);
        memcpy(bh_crf_params(crf), params, np * sizeof *params);
        json_t *labels = json_object_get(k, "labels");
        if (json_is_array(labels)) {
            const char *names[16];
            for (size_t j = 0; j < L; j++) names[j] = json_string_value(json_array_get(labels, j));
            assert_int_equal(bh_crf_mask_tags(crf, names, L), BH_OK);
        }
        double nll, logz[8], score[8], de[256], dp[64] = {0};
        assert_int_equal(bh_crf_nll(crf, emis, nt, L, lens, nb, tags, &nll, de, dp), BH_OK);
        near(nll, json_number_value(json_object_get(k, "nll")), 1e-10, "nll", c);
        for (size_t i = 0; i < nt * L; i++) near(de[i], de_w[i], 1e-10, "d_emissions", i);
        for (size_t i = 0; i < np; i++) near(dp[i], dp_w[i], 1e-10, "d_params", i);
        assert_int_equal(bh_crf_log_partition(crf, emis, nt, L, lens, nb, logz), BH_OK);
        for (size_t b = 0; b < nb; b++) near(logz[b], logz_w[b], 1e-10, "logz", b);
        assert_int_equal(bh_crf_viterbi(crf, emis, nt, L, lens, nb, path, score), BH_OK);
        for (size_t i = 0; i < nt; i++) assert_int_equal(path[i], (int32_t)vit_w[i]);
        for (size_t b = 0; b < nb; b++) near(score[b], vs_w[b], 1e-10, "viterbi_score", b);
        bh_crf_free(crf);
        free(lensd), free(emis), free(params), free(tagsd), free(logz_w), free(de_w), free(dp_w), free(vit_w);
        free(vs_w);
    }
    json_decref(root);
}

static void fill_random(double *v, size_t n, double scale, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) v[i] = scale * rnd(s);
}

/* Central differences of the NLL against the analytic gradient, with a mask. */
static void test_finite_differences(void **state)
{
    (void)state;
    enum { L = 5, N = 9 };
    const char *names[L] = {"O", "B-A", "I-A", "B-B", "I-B"};
    size_t lens[3] = {4, 1, 4};
    int32_t tags[N] = {1, 2, 0, 3, 0, 3, 4, 4, 1};
    uint64_t s = 7;
    double emis[N * L], de[N * L], dp[L * L + 2 * L] = {0};
    fill_random(emis, N * L, 2, &s);
    bh_crf *crf;
    assert_int_equal(bh_crf_new(L, &crf), BH_OK);
    assert_int_equal(bh_crf_mask_tags(crf, names, L), BH_OK);
    double *p = bh_crf_params(crf);
    size_t np = bh_crf_n_params(crf);
    fill_random(p, np, 1, &s);
    double nll, a, b;
    assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &nll, de, dp), BH_OK);
    const double h = 1e-5;
    for (size_t i = 0; i < N * L; i++) {
        double keep = emis[i];
        emis[i] = keep + h;
        assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &a, NULL, NULL), BH_OK);
        emis[i] = keep - h;
        assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &b, NULL, NULL), BH_OK);
        emis[i] = keep;
        near(de[i], (a - b) / (2 * h), 1e-7, "fd d_emis", i);
    }
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + h;
        assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &a, NULL, NULL), BH_OK);
        p[i] = keep - h;
        assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &b, NULL, NULL), BH_OK);
        p[i] = keep;
        near(dp[i], (a - b) / (2 * h), 1e-7, "fd d_params", i);
    }
    /* d_params accumulates */
    assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &nll, NULL, dp), BH_OK);
    double dp1[L * L + 2 * L] = {0};
    assert_int_equal(bh_crf_nll(crf, emis, N, L, lens, 3, tags, &nll, NULL, dp1), BH_OK);
    for (size_t i = 0; i < np; i++) near(dp[i], 2 * dp1[i], 1e-12, "accumulate", i);
    bh_crf_free(crf);
}

/* Score of path y by the definition, -inf if the mask forbids it. */
static double brute_score(const double *P, const uint8_t *ok, size_t L, const double *e, const int32_t *y, size_t T)
{
    if (!ok[L * L + y[0]] || !ok[L * L + L + y[T - 1]]) return -INFINITY;
    double s = P[L * L + y[0]] + P[L * L + L + y[T - 1]];
    for (size_t t = 0; t < T; t++) {
        s += e[t * L + y[t]];
        if (t) {
            if (!ok[y[t - 1] * L + y[t]]) return -INFINITY;
            s += P[y[t - 1] * L + y[t]];
        }
    }
    return s;
}

/* Every label sequence of every sentence: log Z, marginals and the argmax. */
static void brute_check(bh_crf *crf, const uint8_t *ok, size_t L, const double *emis, const size_t *lens, size_t nb)
{
    size_t N = 0;
    for (size_t b = 0; b < nb; b++) N += lens[b];
    double logz[8], marg[512], score[8];
    int32_t path[64];
    assert_int_equal(bh_crf_log_partition(crf, emis, N, L, lens, nb, logz), BH_OK);
    assert_int_equal(bh_crf_marginals(crf, emis, N, L, lens, nb, marg, NULL), BH_OK);
    assert_int_equal(bh_crf_viterbi(crf, emis, N, L, lens, nb, path, score), BH_OK);
    const double *P = bh_crf_params(crf);
    size_t off = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t T = lens[b];
        int32_t y[8] = {0};
        double z = 0, best = -INFINITY, bm[64] = {0};
        int32_t arg[8] = {0};
        for (;;) {
            double s = brute_score(P, ok, L, emis + off * L, y, T);
            if (s > -INFINITY) {
                z += exp(s);
                for (size_t t = 0; t < T; t++) bm[t * L + y[t]] += exp(s);
                if (s > best) {
                    best = s;
                    memcpy(arg, y, sizeof arg);
                }
            }
            size_t t = 0;
            while (t < T && ++y[t] == (int32_t)L) y[t++] = 0;
            if (t == T) break;
        }
        near(logz[b], log(z), 1e-12, "brute logz", b);
        near(score[b], best, 1e-12, "brute viterbi score", b);
        for (size_t t = 0; t < T; t++) {
            assert_int_equal(path[off + t], arg[t]);
            for (size_t j = 0; j < L; j++) near(marg[(off + t) * L + j], bm[t * L + j] / z, 1e-12, "marginal", t);
        }
        off += T;
    }
}

static void test_brute_force(void **state)
{
    (void)state;
    uint64_t s = 11;
    size_t lens[4] = {1, 2, 3, 5};
    double emis[11 * 4];
    for (int rep = 0; rep < 3; rep++) {
        bh_crf *crf;
        assert_int_equal(bh_crf_new(4, &crf), BH_OK);
        fill_random(bh_crf_params(crf), bh_crf_n_params(crf), 2, &s);
        fill_random(emis, 11 * 4, 3, &s);
        uint8_t ok[24];
        memset(ok, 1, sizeof ok);
        if (rep == 1) { /* an arbitrary mask */
            ok[0 * 4 + 1] = ok[2 * 4 + 2] = ok[3 * 4 + 0] = 0;
            ok[16 + 3] = ok[20 + 1] = 0;
            assert_int_equal(bh_crf_set_mask(crf, ok, ok + 16, ok + 20), BH_OK);
        }
        if (rep == 2) {
            const char *names[4] = {"O", "TIM", "B-X", "I-X"};
            assert_int_equal(bh_crf_mask_tags(crf, names, 4), BH_OK);
            for (int a = 0; a < 4; a++) ok[a * 4 + 3] = a >= 2;
            ok[16 + 3] = 0;
        }
        brute_check(crf, ok, 4, emis, lens, 4);
        /* long sentence with large scores: no overflow */
        double big[200 * 4];
        size_t one = 200;
        fill_random(big, 800, 300, &s);
        double z;
        assert_int_equal(bh_crf_log_partition(crf, big, 200, 4, &one, 1, &z), BH_OK);
        assert_true(isfinite(z));
        bh_crf_free(crf);
    }
}

/* Is path y valid for these label names (written out, not using the mask)? */
static int valid_iobes(const char *const *names, const int32_t *y, size_t T)
{
    for (size_t t = 0; t < T; t++) {
        const char *c = names[y[t]], *p = t ? names[y[t - 1]] : "O";
        int cont = c[0] == 'I' || c[0] == 'E';
        int popen = p[0] == 'B' || p[0] == 'I';
        if (cont && !(popen && !strcmp(p + 2, c + 2))) return 0;
        if (popen && !(cont && !strcmp(p + 2, c + 2))) return 0;
    }
    const char *last = names[y[T - 1]];
    return !(last[0] == 'B' || last[0] == 'I');
}

static void test_constraints(void **state)
{
    (void)state;
    enum { L = 9 };
    const char *names[L] = {"O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"};
    bh_crf *crf;
    assert_int_equal(bh_crf_new(L, &crf), BH_OK);
    assert_int_equal(bh_crf_mask_tags(crf, names, L), BH_OK);
    uint64_t s = 3;
    size_t lens[6] = {1, 2, 3, 7, 12, 20};
    double emis[45 * L];
    int32_t path[45];
    for (int rep = 0; rep < 50; rep++) {
        fill_random(emis, 45 * L, 5, &s);
        /* push toward invalid choices: I-/E- labels everywhere */
        for (size_t t = 0; t < 45; t++) emis[t * L + 2] += 4, emis[t * L + 7] += 4;
        assert_int_equal(bh_crf_viterbi(crf, emis, 45, L, lens, 6, path, NULL), BH_OK);
        size_t off = 0;
        for (size_t b = 0; b < 6; b++) {
            assert_true(valid_iobes(names, path + off, lens[b]));
            off += lens[b];
        }
    }
    /* a gold sequence breaking the mask is refused */
    int32_t bad[3] = {0, 2, 3};
    size_t three = 3;
    double nll;
    assert_int_equal(bh_crf_nll(crf, emis, 3, L, &three, 1, bad, &nll, NULL, NULL), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "constraint"));
    int32_t good[3] = {1, 2, 3};
    assert_int_equal(bh_crf_nll(crf, emis, 3, L, &three, 1, good, &nll, NULL, NULL), BH_OK);
    const char *malformed[L] = {"O", "B-", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"};
    assert_int_equal(bh_crf_mask_tags(crf, malformed, L), BH_EFORMAT);
    assert_int_equal(bh_crf_mask_tags(crf, names, L - 1), BH_ESHAPE);
    /* a mask with no sequence of length 1 */
    uint8_t none[L] = {0};
    assert_int_equal(bh_crf_set_mask(crf, NULL, none, NULL), BH_EINVAL);
    bh_crf_free(crf);
}

static void test_bad_input(void **state)
{
    (void)state;
    bh_crf *crf = NULL;
    assert_int_equal(bh_crf_new(0, &crf), BH_EINVAL);
    assert_null(crf);
    assert_int_equal(bh_crf_new(3, &crf), BH_OK);
    double e[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, z[2], nll, m[6];
    int32_t y[2] = {0, 1}, p[2];
    size_t lens[2] = {1, 1}, zero[2] = {2, 0}, over[2] = {2, 5};
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, lens, 2, z), BH_OK);
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 2, lens, 2, z), BH_ESHAPE); /* wrong label count */
    assert_int_equal(bh_crf_log_partition(crf, e, 3, 3, lens, 2, z), BH_ESHAPE); /* lens sum != rows */
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, over, 2, z), BH_ESHAPE);
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, zero, 2, z), BH_EINVAL); /* zero-length sentence */
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, lens, 0, z), BH_EINVAL); /* empty batch */
    assert_int_equal(bh_crf_log_partition(NULL, e, 2, 3, lens, 2, z), BH_EINVAL);
    assert_int_equal(bh_crf_log_partition(crf, NULL, 2, 3, lens, 2, z), BH_EINVAL);
    assert_int_equal(bh_crf_viterbi(crf, e, 2, 3, lens, 2, NULL, NULL), BH_EINVAL);
    int32_t out_of_range[2] = {0, 3};
    assert_int_equal(bh_crf_nll(crf, e, 2, 3, lens, 2, out_of_range, &nll, NULL, NULL), BH_EINVAL);
    e[4] = NAN;
    assert_int_equal(bh_crf_nll(crf, e, 2, 3, lens, 2, y, &nll, NULL, NULL), BH_ENUMERIC);
    assert_int_equal(bh_crf_viterbi(crf, e, 2, 3, lens, 2, p, NULL), BH_ENUMERIC);
    assert_int_equal(bh_crf_marginals(crf, e, 2, 3, lens, 2, m, NULL), BH_ENUMERIC);
    e[4] = INFINITY;
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, lens, 2, z), BH_ENUMERIC);
    /* a mask that allows no sequence of length 2 */
    uint8_t tr[9] = {0};
    assert_int_equal(bh_crf_set_mask(crf, tr, NULL, NULL), BH_OK);
    e[4] = 0;
    size_t two = 2;
    assert_int_equal(bh_crf_viterbi(crf, e, 2, 3, &two, 1, p, NULL), BH_EINVAL);
    assert_int_equal(bh_crf_log_partition(crf, e, 2, 3, &two, 1, z), BH_EINVAL);
    bh_crf_free(crf);
    bh_crf_free(NULL);
}

/* ---- the feature tagger ------------------------------------------------------ */

typedef struct {
    double first, last;
    int calls;
} loss_log;

static int on_epoch(void *ctx, int epoch, int epochs, double loss, double seconds)
{
    (void)epochs, (void)seconds;
    loss_log *l = ctx;
    if (epoch == 1) l->first = loss;
    l->last = loss;
    l->calls++;
    return 0;
}

static const char *S1[] = {"রহিম", "ঢাকা", "গেছেন", "।"};
static const char *T1[] = {"B-PER", "B-LOC", "O", "O"};
static const char *S2[] = {"করিম", "সাহেব", "চট্টগ্রাম", "থেকে", "এসেছেন"};
static const char *T2[] = {"B-PER", "I-PER", "B-LOC", "O", "O"};
static const char *S3[] = {"राम", "दिल्ली", "में", "है", "2024"};
static const char *T3[] = {"B-PER", "B-LOC", "O", "O", "O"};

/* The whole file at path (malloc'ed), its size in *size. */
static char *read_all(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)*size);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)*size, f), (size_t)*size);
    fclose(f);
    return bytes;
}

static void test_tagger(void **state)
{
    (void)state;
    bh_crf_tagger *t;
    const char *out[8];
    assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
    assert_int_equal(bh_crf_tagger_tag(t, S1, 4, out), BH_EINVAL); /* untrained */
    assert_int_equal(bh_crf_tagger_train(t, NULL), BH_EINVAL);     /* no data */
    assert_int_equal(bh_crf_tagger_add(t, S1, T1, 0), BH_EINVAL);
    const char *bad[] = {"B-PER", "-", "O", "O"};
    assert_int_equal(bh_crf_tagger_add(t, S1, bad, 4), BH_EFORMAT);
    const char *broken[] = {"O", "I-PER", "O", "O"}; /* I- after O breaks BIO */
    assert_int_equal(bh_crf_tagger_add(t, S1, broken, 4), BH_EINVAL);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(bh_crf_tagger_add(t, S1, T1, 4), BH_OK);
        assert_int_equal(bh_crf_tagger_add(t, S2, T2, 5), BH_OK);
        assert_int_equal(bh_crf_tagger_add(t, S3, T3, 5), BH_OK);
    }
    loss_log log = {0, 0, 0};
    bh_crf_tagger_options o = {0};
    o.hash_bits = 14;
    o.epochs = 8;
    o.seed = 1;
    o.progress = on_epoch;
    o.ctx = &log;
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
    assert_int_equal(log.calls, 8);
    assert_true(log.last < 0.5 * log.first);
    assert_int_equal(bh_crf_tagger_n_labels(t), 4);
    assert_int_equal(bh_crf_tagger_tag(t, S2, 5, out), BH_OK);
    for (int i = 0; i < 5; i++) assert_string_equal(out[i], T2[i]);
    assert_int_equal(bh_crf_tagger_tag(t, S1, 0, out), BH_OK);
    char path[256];
    test_build_path(path, sizeof path, "tests/crf_tagger.bin");
    assert_int_equal(bh_crf_tagger_save(t, path), BH_OK);
    bh_crf_tagger *u;
    assert_int_equal(bh_crf_tagger_load(path, &u), BH_OK);
    const char *out2[8];
    assert_int_equal(bh_crf_tagger_tag(t, S3, 5, out), BH_OK);
    assert_int_equal(bh_crf_tagger_tag(u, S3, 5, out2), BH_OK);
    for (int i = 0; i < 5; i++) assert_string_equal(out[i], out2[i]);
    bh_crf_tagger_free(u);
    /* truncated and garbage files */
    long size;
    char *bytes = read_all(path, &size);
    FILE *f;
    long cuts[] = {0, 3, 20, size / 2, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        f = fopen(path, "wb");
        fwrite(bytes, 1, (size_t)cuts[k], f);
        fclose(f);
        u = NULL;
        assert_int_equal(bh_crf_tagger_load(path, &u), BH_EFORMAT);
        assert_null(u);
    }
    bytes[9] ^= 0x7f; /* damage the header */
    f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)size, f);
    fclose(f);
    assert_int_equal(bh_crf_tagger_load(path, &u), BH_EFORMAT);
    free(bytes);
    remove(path);
    assert_int_equal(bh_crf_tagger_load("build/tests/no-such-file", &u), BH_EIO);
    bh_crf_tagger_free(t);
    bh_crf_tagger_free(NULL);
}

/* Writes text to the scratch file name; returns its path in buf. */
static const char *scratch(char *buf, size_t cap, const char *name, const char *text)
{
    test_build_path(buf, cap, name);
    FILE *f = fopen(buf, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return buf;
}

static void test_clusters_file(void **state)
{
    (void)state;
    char path[256];
    bh_word_clusters *wc = NULL;
    /* CRLF, an empty line, a word twice (the first line wins), upper case */
    scratch(path, sizeof path, "tests/wc_ok.tsv", "Dhaka\t1\t10\r\n\nকলকাতা\t1\t11\nডালিম\t2\t20\ndhaka\t3\t30\n");
    assert_int_equal(bh_word_clusters_load(path, &wc), BH_OK);
    assert_int_equal(bh_word_clusters_size(wc), 3);
    bh_word_clusters_free(wc);
    static const struct { const char *text; bh_status want; } bad[] = {
        {"", BH_EFORMAT},                     /* no words */
        {"\n\n", BH_EFORMAT},                 /* no words */
        {"word\n", BH_EFORMAT},               /* no ids */
        {"\t1\n", BH_EFORMAT},                /* no word */
        {"a\t1\t2\t3\t4\t5\n", BH_EFORMAT},   /* five ids */
        {"a\t65535\n", BH_EFORMAT},           /* the unknown-word id */
        {"a\t70000\n", BH_EFORMAT},           /* too large */
        {"a\tx\n", BH_EFORMAT},               /* not a number */
        {"a\t-1\n", BH_EFORMAT},              /* negative */
        {"a\t1\t\n", BH_EFORMAT},             /* an empty id */
        {"a\t1\t2\nb\t1\n", BH_EFORMAT},      /* columns disagree */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scratch(path, sizeof path, "tests/wc_bad.tsv", bad[i].text);
        wc = (bh_word_clusters *)1;
        assert_int_equal(bh_word_clusters_load(path, &wc), bad[i].want);
        assert_null(wc);
        assert_non_null(strstr(bh_last_error(), "wc_bad.tsv"));
    }
    FILE *f = fopen(path, "wb"); /* a NUL byte */
    fwrite("a\t1\nb\0\t2\n", 1, 9, f);
    fclose(f);
    assert_int_equal(bh_word_clusters_load(path, &wc), BH_EFORMAT);
    remove(path);
    test_build_path(path, sizeof path, "tests/wc_ok.tsv");
    remove(path);
    assert_int_equal(bh_word_clusters_load("build/tests/no-such-file", &wc), BH_EIO);
    assert_int_equal(bh_word_clusters_load(NULL, &wc), BH_EINVAL);
    assert_int_equal(bh_word_clusters_size(NULL), 0);
    bh_word_clusters_free(NULL);
}

static void test_cluster_features(void **state)
{
    (void)state;
    char path[256];
    bh_word_clusters *wc;
    assert_int_equal(bh_word_clusters_load(scratch(path, sizeof path, "tests/wc_f.tsv", "rahim\t0\t5\nkarim\t0\t5\n"
                                                                                         "went\t1\t6\nsome\t1\t7\n"),
                                           &wc),
                     BH_OK);
    remove(path);
    const char *a[] = {"Rahim", "went", "home"}, *b[] = {"karim", "went", "home"}, *c[] = {"dhaka", "went", "home"};
    uint32_t fa[3 * BH_CRF_NFEAT], fb[3 * BH_CRF_NFEAT], fc[3 * BH_CRF_NFEAT], fn[3 * BH_CRF_NFEAT];
    assert_int_equal(bh_crf_word_features(a, 3, wc, fa), BH_OK);
    assert_int_equal(bh_crf_word_features(b, 3, wc, fb), BH_OK);
    assert_int_equal(bh_crf_word_features(c, 3, wc, fc), BH_OK);
    assert_int_equal(bh_crf_word_features(a, 3, NULL, fn), BH_OK);
    const int base = 25; /* the features before the clusters' */
    for (int k = 0; k < base; k++) assert_int_equal(fa[k], fn[k]); /* the table adds, changes nothing */
    for (int k = base; k < BH_CRF_NFEAT; k++) assert_int_equal(fn[k], BH_CRF_NOFEAT);
    /* "Rahim" (lower-cased) and "karim" share both clusters, "dhaka" is unknown */
    assert_int_equal(fa[base], fb[base]);
    assert_int_equal(fa[base + 1], fb[base + 1]);
    assert_int_not_equal(fa[base], fc[base]);
    assert_int_equal(fa[base + 2], BH_CRF_NOFEAT); /* two granularities only */
    assert_int_equal(fa[base + 3], BH_CRF_NOFEAT);
    assert_int_equal(fa[base + 4], fb[base + 4]); /* the previous word: sentence start for both */
    assert_int_equal(fa[base + 5], fc[base + 5]); /* the next word: "went" for all */
    /* "home" follows "went" in all three: same previous-word cluster */
    assert_int_equal(fa[2 * BH_CRF_NFEAT + base + 4], fc[2 * BH_CRF_NFEAT + base + 4]);
    bh_word_clusters_free(wc);
}

/* Unseen names in a context shared with ordinary words: only their cluster
 * says which is which. */
static void test_cluster_tagger(void **state)
{
    (void)state;
    char path[256], model[256];
    /* four letters each, and the unseen two share no prefix or suffix with
       the training words: without the clusters nothing tells them apart */
    const char *table = "amal\t1\nrina\t1\ntofa\t1\nbabu\t1\nmitu\t1\nsara\t1\nzoey\t1\n"
                        "rice\t2\nfish\t2\nbean\t2\ncorn\t2\ndahl\t2\nmilk\t2\nquip\t2\n";
    const char *names[] = {"amal", "rina", "tofa", "babu", "mitu", "sara"},
               *things[] = {"rice", "fish", "bean", "corn", "dahl", "milk"};
    const char *tags_n[] = {"O", "B-PER", "O"}, *tags_t[] = {"O", "O", "O"};
    for (int with = 0; with < 2; with++) {
        bh_crf_tagger *t;
        assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
        if (with) {
            bh_word_clusters *wc;
            assert_int_equal(bh_word_clusters_load(scratch(path, sizeof path, "tests/wc_t.tsv", table), &wc), BH_OK);
            assert_int_equal(bh_crf_tagger_set_clusters(t, wc), BH_OK);
            assert_ptr_equal(bh_crf_tagger_clusters(t), wc);
        } else {
            assert_null(bh_crf_tagger_clusters(t));
        }
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 6; i++) {
                const char *s1[] = {"saw", names[i], "today"}, *s2[] = {"saw", things[i], "today"};
                assert_int_equal(bh_crf_tagger_add(t, s1, tags_n, 3), BH_OK);
                assert_int_equal(bh_crf_tagger_add(t, s2, tags_t, 3), BH_OK);
            }
        if (with) { /* a table only before the sentences */
            bh_word_clusters *late;
            assert_int_equal(bh_word_clusters_load(path, &late), BH_OK);
            assert_int_equal(bh_crf_tagger_set_clusters(t, late), BH_EINVAL);
            bh_word_clusters_free(late);
            remove(path);
        }
        bh_crf_tagger_options o = {0};
        o.hash_bits = 14;
        o.epochs = 10;
        o.seed = 3;
        assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
        const char *u1[] = {"saw", "zoey", "today"}, *u2[] = {"saw", "quip", "today"}, *out1[3], *out2[3];
        assert_int_equal(bh_crf_tagger_tag(t, u1, 3, out1), BH_OK);
        assert_int_equal(bh_crf_tagger_tag(t, u2, 3, out2), BH_OK);
        /* with the clusters the unseen name is a name and the unseen thing is not;
           without, the two unseen words look alike */
        if (with) {
            assert_string_equal(out1[1], "B-PER");
            assert_string_equal(out2[1], "O");
        } else {
            assert_string_equal(out1[1], out2[1]);
        }
        if (with) { /* save (version 2) and load: the table travels with the tagger */
            test_build_path(model, sizeof model, "tests/crf_wc.bin");
            assert_int_equal(bh_crf_tagger_save(t, model), BH_OK);
            bh_crf_tagger *v;
            assert_int_equal(bh_crf_tagger_load(model, &v), BH_OK);
            assert_int_equal(bh_word_clusters_size(bh_crf_tagger_clusters(v)), 14);
            const char *again[3];
            assert_int_equal(bh_crf_tagger_tag(v, u1, 3, again), BH_OK);
            assert_string_equal(again[1], "B-PER");
            bh_crf_tagger_free(v);
            /* a damaged table inside a whole file: the tagger's checksum no
               longer matches, or the table does not parse */
            long size;
            char *bytes = read_all(model, &size);
            FILE *f;
            long tail[] = {4 + 5, 4 + 30}; /* two bytes inside the table */
            for (int k = 0; k < 2; k++) {
                char *d = malloc((size_t)size);
                memcpy(d, bytes, (size_t)size);
                d[size - tail[k]] ^= 0x55;
                f = fopen(model, "wb");
                fwrite(d, 1, (size_t)size, f);
                fclose(f);
                v = NULL;
                assert_int_equal(bh_crf_tagger_load(model, &v), BH_EFORMAT);
                assert_null(v);
                free(d);
            }
            f = fopen(model, "wb"); /* cut inside the table */
            fwrite(bytes, 1, (size_t)size - 20, f);
            fclose(f);
            assert_int_equal(bh_crf_tagger_load(model, &v), BH_EFORMAT);
            free(bytes);
            remove(model);
        }
        bh_crf_tagger_free(t);
    }
    assert_int_equal(bh_crf_tagger_set_clusters(NULL, NULL), BH_EINVAL);
}

/* A tagger file as bh_crf_tagger_save lays it out: magic, {version, hash
 * bits, labels}, each label (length, bytes), then body[0..nbody) as given
 * (no checksum: these files fail before it is read). */
static void write_tagger(const char *path, uint32_t version, uint32_t bits, const char *const *labels, uint32_t n,
                         const void *body, size_t nbody)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t hdr[3] = {version, bits, n};
    fwrite("BHCRFTG1", 1, 8, f);
    fwrite(hdr, 4, 3, f);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(labels[i]);
        fwrite(&len, 4, 1, f);
        fwrite(labels[i], 1, len, f);
    }
    if (nbody) fwrite(body, 1, nbody, f);
    fclose(f);
}

/* Hostile tagger files: a label set the CRF refuses (the message keeps the
 * CRF's detail whole: it was once formatted into the buffer it was read
 * from); a header that asks for 2^24 x 256 weights (16 GiB) the file does
 * not hold, refused before they are allocated; a word cluster text longer
 * than what is left of the file. */
static void test_tagger_hostile(void **state)
{
    (void)state;
    char path[256], want[600];
    test_build_path(path, sizeof path, "tests/crf_hostile.bin");
    const char *bad[] = {"B-"};
    bh_crf *crf;
    assert_int_equal(bh_crf_new(1, &crf), BH_OK);
    assert_int_equal(bh_crf_mask_tags(crf, bad, 1), BH_EFORMAT);
    snprintf(want, sizeof want, "%s: bad label set (%s)", path, bh_last_error());
    bh_crf_free(crf);
    write_tagger(path, 1, 12, bad, 1, NULL, 0);
    bh_crf_tagger *t = (bh_crf_tagger *)1;
    assert_int_equal(bh_crf_tagger_load(path, &t), BH_EFORMAT);
    assert_string_equal(bh_last_error(), want);
    assert_null(t);
    /* O, B-T0, I-T0, ..., B-T127: 256 labels, the most a tagger has */
    char names[256][16];
    const char *labels[256];
    labels[0] = "O";
    for (int i = 1; i < 256; i++) {
        snprintf(names[i], sizeof names[i], "%c-T%d", i % 2 ? 'B' : 'I', (i - 1) / 2);
        labels[i] = names[i];
    }
    double params[256 * 256 + 2 * 256] = {0};
    write_tagger(path, 1, 24, labels, 256, params, sizeof params);
    assert_int_equal(bh_crf_tagger_load(path, &t), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "crf_hostile.bin: truncated (256 labels and 2^24 hash rows need 17180397572 more bytes)"));
    assert_null(t);
    /* version 2, one label, 2^12 rows of weights, then a cluster text of
       2^28 - 1 bytes that is not there */
    size_t nbody = 3 * sizeof(double) + 4096 * sizeof(float) + 4;
    unsigned char *body = calloc(1, nbody);
    uint32_t len = (1u << 28) - 1;
    memcpy(body + nbody - 4, &len, 4);
    write_tagger(path, 2, 12, labels, 1, body, nbody);
    assert_int_equal(bh_crf_tagger_load(path, &t), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "truncated or oversized word clusters"));
    free(body);
    remove(path);
}

/* Options for a quick training: one epoch over a small table. */
static bh_crf_tagger_options one_epoch(void)
{
    bh_crf_tagger_options o = {0};
    o.hash_bits = 12;
    o.epochs = 1;
    return o;
}

/* A first training whose label set the CRF refuses ({B-X, E-X}: no label may
 * both start and end a sentence) leaves the tagger untrained and whole: it
 * once kept the half-built CRF without weights, and training again read the
 * missing weights. */
static void test_tagger_refused_labels(void **state)
{
    (void)state;
    static const char *toks[] = {"a", "b"}, *tags[] = {"B-X", "E-X"};
    const char *out[2];
    for (int avg = 0; avg < 2; avg++) {
        bh_crf_tagger *t;
        assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
        assert_int_equal(bh_crf_tagger_add(t, toks, tags, 2), BH_OK);
        bh_crf_tagger_options o = one_epoch();
        o.no_average = !avg;
        assert_int_equal(bh_crf_tagger_train(t, &o), BH_EINVAL);
        assert_int_equal(bh_crf_tagger_train(t, &o), BH_EINVAL);
        assert_int_equal(bh_crf_tagger_tag(t, toks, 2, out), BH_EINVAL);
        assert_int_equal(bh_crf_tagger_add(t, toks, tags, 2), BH_OK); /* still untrained */
        bh_crf_tagger_free(t);
    }
    /* BIO and IOBES mixed: the mask (IOBES, for S-Y) breaks the first
       sentence's gold tags during training; no zero weights pass for a model */
    static const char *bio[] = {"B-X", "O"}, *single[] = {"S-Y"};
    bh_crf_tagger *t;
    assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
    assert_int_equal(bh_crf_tagger_add(t, toks, bio, 2), BH_OK);
    assert_int_equal(bh_crf_tagger_add(t, toks, single, 1), BH_OK);
    bh_crf_tagger_options o = one_epoch();
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_EINVAL);
    assert_int_equal(bh_crf_tagger_tag(t, toks, 2, out), BH_EINVAL);
    char path[256];
    test_build_path(path, sizeof path, "tests/crf_refused.bin");
    assert_int_equal(bh_crf_tagger_save(t, path), BH_EINVAL);
    bh_crf_tagger_free(t);
}

/* A sentence refused for the label limit adds none of its labels: the
 * labels it brought before the limit once stayed, with no sentence. */
static void test_tagger_label_limit(void **state)
{
    (void)state;
    char names[255][16];
    const char *toks[255], *tags[255];
    for (int i = 0; i < 255; i++) {
        snprintf(names[i], sizeof names[i], "B-T%d", i);
        tags[i] = names[i];
        toks[i] = "w";
    }
    bh_crf_tagger *t;
    assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
    assert_int_equal(bh_crf_tagger_add(t, toks, tags, 255), BH_OK);
    assert_int_equal(bh_crf_tagger_n_labels(t), 255);
    const char *more[] = {"B-NEW1", "B-NEW2"};
    assert_int_equal(bh_crf_tagger_add(t, toks, more, 2), BH_ELIMIT);
    assert_int_equal(bh_crf_tagger_n_labels(t), 255);
    assert_null(bh_crf_tagger_label(t, 255));
    const char *one[] = {"B-NEW1", "O"};
    assert_int_equal(bh_crf_tagger_add(t, toks, one, 2), BH_ELIMIT);
    assert_int_equal(bh_crf_tagger_n_labels(t), 255);
    bh_crf_tagger_free(t);
}

/* A tag longer than a tagger file can hold is refused when it is added: it
 * was once trained and saved into a file that bh_crf_tagger_load rejects. */
static void test_tagger_long_label(void **state)
{
    (void)state;
    char longtag[300];
    memset(longtag, 'A', sizeof longtag - 1);
    longtag[0] = 'B', longtag[1] = '-', longtag[sizeof longtag - 1] = 0;
    const char *toks[] = {"a", "b"}, *tags[] = {longtag, "O"}, *fits[] = {"B-X", "O"};
    bh_crf_tagger *t;
    assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
    assert_int_equal(bh_crf_tagger_add(t, toks, tags, 2), BH_ELIMIT);
    assert_int_equal(bh_crf_tagger_n_labels(t), 0);
    longtag[256] = 0; /* 256 bytes: the longest a file holds */
    assert_int_equal(bh_crf_tagger_add(t, toks, tags, 2), BH_OK);
    assert_int_equal(bh_crf_tagger_add(t, toks, fits, 2), BH_OK);
    bh_crf_tagger_options o = one_epoch();
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
    char path[256];
    test_build_path(path, sizeof path, "tests/crf_long_label.bin");
    assert_int_equal(bh_crf_tagger_save(t, path), BH_OK);
    bh_crf_tagger *u = NULL;
    assert_int_equal(bh_crf_tagger_load(path, &u), BH_OK);
    assert_string_equal(bh_crf_tagger_label(u, 0), longtag);
    bh_crf_tagger_free(u);
    bh_crf_tagger_free(t);
    remove(path);
}
/* A tagger on the three fixture sentences, three times over. */
static bh_crf_tagger *fixture_tagger(void)
{
    bh_crf_tagger *t;
    assert_int_equal(bh_crf_tagger_new(&t), BH_OK);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(bh_crf_tagger_add(t, S1, T1, 4), BH_OK);
        assert_int_equal(bh_crf_tagger_add(t, S2, T2, 5), BH_OK);
        assert_int_equal(bh_crf_tagger_add(t, S3, T3, 5), BH_OK);
    }
    return t;
}

/* Trains a fixture tagger with o, at seed and epochs, in one run. */
static bh_crf_tagger *trained(bh_crf_tagger_options o, uint64_t seed, int epochs)
{
    bh_crf_tagger *t = fixture_tagger();
    o.seed = seed;
    o.epochs = epochs;
    o.runs = 1;
    o.progress = NULL;
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
    return t;
}

/* Checks that t's weights and CRF parameters are the mean of those of m[0..k). */
static void assert_mean(const bh_crf_tagger *t, bh_crf_tagger *const *m, int k)
{
    int bits;
    const float *w, *wr;
    const double *p, *pr;
    assert_int_equal(bh__crf_tagger_parts(t, &bits, &w, &p), BH_OK);
    size_t L = bh_crf_tagger_n_labels(t), nw = ((size_t)1 << bits) * L, np = L * L + 2 * L;
    for (size_t i = 0; i < nw + np; i++) {
        double mean = 0;
        for (int r = 0; r < k; r++) {
            assert_int_equal(bh__crf_tagger_parts(m[r], &bits, &wr, &pr), BH_OK);
            mean += (i < nw ? wr[i] : pr[i - nw]) / k;
        }
        near(i < nw ? w[i] : p[i - nw], mean, 1e-5, "mean of the runs", i);
    }
}

static int stop_at_3(void *ctx, int epoch, int epochs, double loss, double seconds)
{
    on_epoch(ctx, epoch, epochs, loss, seconds);
    return ((loss_log *)ctx)->calls == 3;
}

/* runs = K: the mean of the K single runs with seeds seed..seed+K-1, epochs
 * counted on across the runs; stopping early keeps the mean of the runs so
 * far; a bad K is refused before anything is trained. */
static void test_tagger_runs(void **state)
{
    (void)state;
    bh_crf_tagger_options o = one_epoch();
    bh_crf_tagger *one[3];
    for (int r = 0; r < 3; r++) one[r] = trained(o, 7 + (uint64_t)r, 2);
    loss_log log = {0, 0, 0};
    bh_crf_tagger *t = fixture_tagger();
    o.seed = 7;
    o.epochs = 2;
    o.runs = 3;
    o.progress = on_epoch;
    o.ctx = &log;
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
    assert_int_equal(log.calls, 6);
    assert_mean(t, one, 3);
    const char *a[5], *b[5];
    assert_int_equal(bh_crf_tagger_tag(t, S2, 5, a), BH_OK);
    for (int i = 0; i < 5; i++) assert_string_equal(a[i], T2[i]);
    bh_crf_tagger_free(t);
    /* the seeds make different runs, so the mean is no single one of them */
    assert_int_equal(bh_crf_tagger_tag(one[0], S3, 5, a), BH_OK);
    assert_int_equal(bh_crf_tagger_tag(one[1], S3, 5, b), BH_OK);
    int bits;
    const float *w0, *w1;
    const double *p;
    assert_int_equal(bh__crf_tagger_parts(one[0], &bits, &w0, &p), BH_OK);
    assert_int_equal(bh__crf_tagger_parts(one[1], &bits, &w1, &p), BH_OK);
    assert_memory_not_equal(w0, w1, ((size_t)1 << bits) * sizeof *w0);
    for (int r = 0; r < 3; r++) bh_crf_tagger_free(one[r]);

    /* stopped after the second run's first epoch: the mean of run 1 (2 epochs)
     * and that epoch (the weights are averaged after every epoch) */
    bh_crf_tagger *part[2] = {trained(o, 7, 2), trained(o, 8, 1)};
    log = (loss_log){0, 0, 0};
    o.progress = stop_at_3;
    t = fixture_tagger();
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_OK);
    assert_int_equal(log.calls, 3);
    assert_mean(t, part, 2);
    bh_crf_tagger_free(part[0]);
    bh_crf_tagger_free(part[1]);
    bh_crf_tagger_free(t);

    t = fixture_tagger();
    o.runs = -1;
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_EINVAL);
    o.runs = 1001;
    assert_int_equal(bh_crf_tagger_train(t, &o), BH_EINVAL);
    assert_int_equal(bh_crf_tagger_tag(t, S1, 4, a), BH_EINVAL); /* still untrained */
    bh_crf_tagger_free(t);
}


/* 2^24 empty lines and one word: the table is sized by its words, not its
 * lines (once 2^25 slots, 512 MB), so it loads within 200 MB more than the
 * process holds. */
static void test_clusters_lines(void **state)
{
    (void)state;
    char path[256];
    test_build_path(path, sizeof path, "tests/wc_lines.tsv");
    size_t n = (size_t)1 << 24;
    char *text = malloc(n + 8);
    assert_non_null(text);
    memset(text, '\n', n);
    memcpy(text + n, "Ami\t7\n", 6);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n + 6, f), n + 6);
    fclose(f);
    free(text);
    bh_word_clusters *wc = NULL;
    struct rlimit old = test_limit_data((size_t)200 << 20);
    bh_status st = bh_word_clusters_load(path, &wc);
    test_restore_data(&old);
    remove(path);
    assert_int_equal(st, BH_OK);
    assert_int_equal(bh_word_clusters_size(wc), 1);
    bh_word_clusters_free(wc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),      cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_brute_force), cmocka_unit_test(test_constraints),
        cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_tagger),
        cmocka_unit_test(test_clusters_file), cmocka_unit_test(test_cluster_features),
        cmocka_unit_test(test_cluster_tagger), cmocka_unit_test(test_tagger_hostile),
        cmocka_unit_test(test_clusters_lines), cmocka_unit_test(test_tagger_refused_labels),
        cmocka_unit_test(test_tagger_label_limit), cmocka_unit_test(test_tagger_long_label),
        cmocka_unit_test(test_tagger_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
