/* tests/test_heads.c — task heads (models/heads.c, include/bhasha/heads.h):
 * finite-difference gradient checks of both heads (sequence: mean/[CLS]
 * pooling, dense+tanh, class weights; token: softmax with ignored positions,
 * CRF; span: start/end softmax over the allowed positions) with respect to the hidden states and every head parameter; the same
 * check end to end through a tiny encoder (bh_model_forward_train +
 * bh_model_backward) with frozen layers; pooling under padding, the ignore
 * index, class weights, BIO-valid decoding, save/load of an encoder with two
 * heads in one checkpoint, AdamW on a head, and bad input. Token heads with
 * word features: the gradient check with the feature table, and a feature CRF
 * fused into a head (weight 0 = the head, a huge weight = the CRF's tags,
 * save/load of the table). The n-gram layer of sequence heads against its
 * formula, save/load, and what it refuses. bh_model_convert's F16-Q8 form
 * of the hashed tables, loaded back.
 *
 * Finite differences run on the float32 implementation itself with central
 * differences (h = 5e-3): the losses are computed in double from float
 * logits, so the normwise relative error max|g - fd| / max|fd| stays far
 * below the 2e-2 bound unless a gradient is wrong (a wrong term gives O(1)). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhasha.h"
#include "models/text_features.h"
#include "tests/int8_rows.h"

#define FD_H 5e-3f
#define FD_TOL 2e-2

static float urand(uint64_t *s) { return (float)((double)(bh_rng_next(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

static void fill(float *v, size_t n, float scale, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) v[i] = scale * urand(s);
}

/* Normwise relative error between analytic g and finite differences fd. */
static double relerr(const float *g, const double *fd, size_t n)
{
    double md = 0, mf = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs(fd[i] - g[i]));
        mf = fmax(mf, fabs(fd[i]));
    }
    return md / (mf > 0 ? mf : 1.0);
}

/* ------------------------------------------------------------ fixtures */

static const char *SENT[] = {"neg", "neu", "pos"};
static const char *TAGS[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};

static bh_head *seq_head(int D, bh_head_pool pool, int dense, const char *name)
{
    bh_head_config c = {BH_HEAD_SEQUENCE, name, D, 3, SENT, pool, dense, 0, 0};
    bh_head *h = NULL;
    assert_int_equal(bh_head_new(&c, 11, &h), BH_OK);
    /* larger weights than the N(0, 0.02) start, so every gradient is sizeable */
    uint64_t s = 5;
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++)
        fill(ti.data, (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1), 0.5f, &s);
    return h;
}

static bh_head *tok_head(int D, int crf, const char *name)
{
    bh_head_config c = {BH_HEAD_TOKEN, name, D, 5, TAGS, BH_POOL_MEAN, 0, crf, 0};
    bh_head *h = NULL;
    assert_int_equal(bh_head_new(&c, 12, &h), BH_OK);
    uint64_t s = 6;
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++)
        fill(ti.data, (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1), 0.5f, &s);
    return h;
}

/* One loss evaluation of either head kind with fixed inputs. */
typedef struct call {
    bh_head *h;
    float *hidden;
    const uint8_t *mask;
    int B, T, D;
    const int32_t *labels;
    const float *cw;
    const int32_t *ends; /* span heads: labels are the starts */
    const uint32_t *feats; /* token heads with word features */
} call;

static float loss_of(const call *c, float *dhidden)
{
    float l = 0;
    if (bh_head_get_kind(c->h) == BH_HEAD_SPAN)
        assert_int_equal(bh_head_span_loss(c->h, c->hidden, c->mask, c->B, c->T, c->D, c->labels, c->ends, 1.0f, &l, dhidden),
                         BH_OK);
    else if (bh_head_get_kind(c->h) == BH_HEAD_SEQUENCE)
        assert_int_equal(bh_head_seq_loss(c->h, c->hidden, c->mask, c->B, c->T, c->D, c->labels, c->cw, 1.0f, &l, dhidden),
                         BH_OK);
    else if (c->feats)
        assert_int_equal(
            bh_head_token_loss_feats(c->h, c->hidden, c->feats, c->B, c->T, c->D, c->labels, 1.0f, &l, NULL, dhidden),
            BH_OK);
    else
        assert_int_equal(bh_head_token_loss(c->h, c->hidden, c->B, c->T, c->D, c->labels, 1.0f, &l, NULL, dhidden), BH_OK);
    return l;
}

/* Checks d(loss)/d(hidden) and d(loss)/d(every head parameter). */
static void gradcheck(const call *c)
{
    size_t nh = (size_t)c->B * c->T * c->D;
    float *dh = malloc(sizeof(float) * nh), *scratch = malloc(sizeof(float) * nh);
    double *fd = malloc(sizeof(double) * nh);
    bh_head_zero_grad(c->h);
    loss_of(c, dh);
    for (size_t i = 0; i < nh; i++) {
        float s = c->hidden[i];
        c->hidden[i] = s + FD_H;
        double lp = loss_of(c, scratch);
        c->hidden[i] = s - FD_H;
        double lm = loss_of(c, scratch);
        c->hidden[i] = s;
        fd[i] = (lp - lm) / (2.0 * FD_H);
    }
    double e = relerr(dh, fd, nh);
    if (e > FD_TOL) fprintf(stderr, "# d hidden: relative error %g\n", e);
    assert_true(e <= FD_TOL);
    /* the head's gradients: a clean pass per tensor, copied before the
     * difference passes (which add to the buffer too) */
    bh_tensor_info ti;
    for (int t = 0; bh_head_tensor(c->h, t, &ti) == BH_OK; t++) {
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
        float *g = malloc(sizeof(float) * n);
        double *f = malloc(sizeof(double) * n);
        bh_head_zero_grad(c->h);
        loss_of(c, NULL);
        memcpy(g, ti.grad, sizeof(float) * n);
        for (size_t i = 0; i < n; i++) {
            float s = ti.data[i];
            ti.data[i] = s + FD_H;
            double lp = loss_of(c, NULL);
            ti.data[i] = s - FD_H;
            double lm = loss_of(c, NULL);
            ti.data[i] = s;
            f[i] = (lp - lm) / (2.0 * FD_H);
        }
        double et = relerr(g, f, n);
        if (et > FD_TOL) fprintf(stderr, "# d %s: relative error %g\n", ti.name, et);
        assert_true(et <= FD_TOL);
        free(g);
        free(f);
    }
    free(dh);
    free(scratch);
    free(fd);
}

/* -------------------------------------------------------- gradient checks */

static void test_seq_grad_mean_dense_weights(void **state)
{
    (void)state;
    int B = 3, T = 4, D = 6;
    uint64_t s = 1;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    const uint8_t mask[] = {1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1};
    const int32_t labels[] = {2, 0, 1};
    const float cw[] = {0.5f, 2.0f, 1.5f};
    bh_head *h = seq_head(D, BH_POOL_MEAN, 1, "s");
    call c = {h, hid, mask, B, T, D, labels, cw, NULL, NULL};
    gradcheck(&c);
    bh_head_free(h);
    free(hid);
}

static void test_seq_grad_cls(void **state)
{
    (void)state;
    int B = 2, T = 3, D = 5;
    uint64_t s = 2;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    const int32_t labels[] = {1, BH_HEAD_IGNORE};
    bh_head *h = seq_head(D, BH_POOL_CLS, 0, "s");
    call c = {h, hid, NULL, B, T, D, labels, NULL, NULL, NULL};
    gradcheck(&c);
    /* [CLS] pooling: only position 0 of counted rows gets a gradient */
    float *dh = calloc((size_t)B * T * D, sizeof(float));
    loss_of(&c, dh);
    for (int i = 0; i < B * T * D; i++) {
        int t = (i / D) % T, b = i / (T * D);
        if (t != 0 || b == 1) assert_true(dh[i] == 0.0f);
    }
    free(dh);
    bh_head_free(h);
    free(hid);
}

static void test_token_grad_softmax(void **state)
{
    (void)state;
    int B = 2, T = 5, D = 4;
    uint64_t s = 3;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    const int I = BH_HEAD_IGNORE;
    const int32_t labels[] = {I, 1, I, 2, 0, I, 3, 4, I, I};
    bh_head *h = tok_head(D, 0, "t");
    call c = {h, hid, NULL, B, T, D, labels, NULL, NULL, NULL};
    gradcheck(&c);
    /* ignored positions get no gradient */
    float *dh = malloc(sizeof(float) * B * T * D);
    loss_of(&c, dh);
    for (int i = 0; i < B * T; i++)
        for (int d = 0; labels[i] == I && d < D; d++) assert_true(dh[i * D + d] == 0.0f);
    free(dh);
    bh_head_free(h);
    free(hid);
}

static void test_token_grad_crf(void **state)
{
    (void)state;
    int B = 3, T = 5, D = 4;
    uint64_t s = 4;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    const int I = BH_HEAD_IGNORE;
    /* row 2 has no word at all: the CRF skips it */
    const int32_t labels[] = {I, 1, 2, I, 0, I, 3, I, 4, 0, I, I, I, I, I};
    bh_head *h = tok_head(D, 1, "t");
    /* transitions must stay finite where allowed; random is fine */
    call c = {h, hid, NULL, B, T, D, labels, NULL, NULL, NULL};
    gradcheck(&c);
    int nw = 0;
    float l;
    assert_int_equal(bh_head_token_loss(h, hid, B, T, D, labels, 1.0f, &l, &nw, NULL), BH_OK);
    assert_int_equal(nw, 6);
    assert_true(l > 0);
    bh_head_free(h);
    free(hid);
}

/* A one-block encoder of width D to carry heads into a checkpoint. */
static bh_model *tiny_encoder(int D)
{
    bh_model_config mc;
    bh_model_config_default(&mc, BH_ARCH_ENCODER);
    mc.vocab = 20, mc.max_len = 8, mc.dim = D, mc.layers = 1, mc.heads = 1, mc.ffn = 8, mc.dropout = 0;
    bh_model *m;
    assert_int_equal(bh_model_new(&mc, 1, &m), BH_OK);
    return m;
}

/* Saves head h with a tiny encoder of width D, loads it back: the same
 * feature bits and tensors; then removes the files. */
static void roundtrip(bh_head *h, int D)
{
    char dir[] = "/tmp/bh_heads_rt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    bh_model *m = tiny_encoder(D);
    assert_int_equal(bh_model_save_heads(m, &h, 1, dir), BH_OK);
    bh_head **got;
    int n;
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bh_head_feat_bits(got[0]), bh_head_feat_bits(h));
    assert_int_equal(bh_head_num_tensors(got[0]), bh_head_num_tensors(h));
    for (int i = 0; i < bh_head_num_tensors(h); i++) {
        bh_tensor_info a, b;
        bh_head_tensor(h, i, &a);
        bh_head_tensor(got[0], i, &b);
        assert_string_equal(a.name, b.name);
        assert_memory_equal(a.data, b.data, sizeof(float) * (size_t)a.shape[0] * (a.ndim == 2 ? a.shape[1] : 1));
    }
    bh_heads_free(got, n);
    char p[256];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    unlink(p);
    rmdir(dir);
    bh_model_free(m);
}

/* Word features: feat.w [2^12, C] rows summed into the emissions, under the
 * CRF; hashes collide on purpose (two words share a row) and ignored
 * positions carry garbage hashes that must not be read. */
static void test_token_grad_features(void **state)
{
    (void)state;
    int B = 2, T = 5, D = 4, K = BH_CRF_NFEAT;
    uint64_t s = 14;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    const int I = BH_HEAD_IGNORE;
    const int32_t labels[] = {I, 1, 2, I, 0, I, 3, 4, 0, I};
    uint32_t *feats = malloc(sizeof(uint32_t) * B * T * K);
    for (int i = 0; i < B * T * K; i++) feats[i] = labels[i / K] == I ? 0xdeadbeefu : (uint32_t)(bh_rng_next(&s) % 60);
    bh_head_config c = {BH_HEAD_TOKEN, "t", D, 5, TAGS, BH_POOL_MEAN, 0, 1, 12};
    bh_head *h = NULL;
    assert_int_equal(bh_head_new(&c, 12, &h), BH_OK);
    assert_int_equal(bh_head_feat_bits(h), 12);
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++) { /* the table starts at 0, then sizeable weights */
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
        if (!strcmp(ti.name, "feat.w")) {
            assert_int_equal(ti.shape[0], 4096);
            for (size_t j = 0; j < n; j++) assert_true(ti.data[j] == 0.0f);
            fill(ti.data, 64 * 5, 0.5f, &s); /* the rows the hashes use */
        } else {
            fill(ti.data, n, 0.5f, &s);
        }
    }
    call cl = {h, hid, NULL, B, T, D, labels, NULL, NULL, feats};
    gradcheck(&cl);
    /* the plain calls refuse a head with features; predict with them is BIO-valid */
    float l;
    int32_t tags[10];
    uint8_t first[10];
    for (int i = 0; i < B * T; i++) first[i] = labels[i] != I;
    assert_int_equal(bh_head_token_loss(h, hid, B, T, D, labels, 1.0f, &l, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_head_token_predict(h, hid, first, B, T, D, tags, NULL), BH_EINVAL);
    assert_int_equal(bh_head_token_predict_feats(h, hid, first, feats, B, T, D, tags, NULL), BH_OK);
    /* feature bits only on token heads, 12..24 */
    bh_head *bad = NULL;
    c.feat_bits = 11;
    assert_int_equal(bh_head_new(&c, 1, &bad), BH_EINVAL);
    bh_head_config sc = {BH_HEAD_SEQUENCE, "s", D, 3, SENT, BH_POOL_MEAN, 0, 0, 25};
    assert_int_equal(bh_head_new(&sc, 1, &bad), BH_EINVAL);
    bh_head_config qc = {BH_HEAD_SPAN, "q", D, 0, NULL, BH_POOL_MEAN, 0, 0, 12};
    assert_int_equal(bh_head_new(&qc, 1, &bad), BH_EINVAL);
    assert_null(bad);
    bh_head_free(h);
    free(feats);
    free(hid);
}

/* A feature CRF tagger trained on a few sentences, fused into a token head:
 * weight 0 decodes as the head, a huge weight as the tagger; the fused head
 * saves and loads with its table. */
static void test_fuse_crf(void **state)
{
    (void)state;
    static const char *sents[][5] = {{"Rahim", "went", "to", "Dhaka", "."},
                                     {"Karim", "Khan", "lives", "in", "Delhi"},
                                     {"Dhaka", "is", "big", ".", "Rahim"}};
    static const char *gold[][5] = {{"B-PER", "O", "O", "B-LOC", "O"},
                                    {"B-PER", "I-PER", "O", "O", "B-LOC"},
                                    {"B-LOC", "O", "O", "O", "B-PER"}};
    bh_crf_tagger *tg;
    assert_int_equal(bh_crf_tagger_new(&tg), BH_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(bh_crf_tagger_add(tg, sents[i], gold[i], 5), BH_OK);
    bh_crf_tagger_options o = {0};
    o.hash_bits = 12;
    o.epochs = 20;
    int D = 5, T = 5;
    bh_head *h = tok_head(D, 1, "ner"), *f0, *fbig, *again;
    bh_head *seq = seq_head(D, BH_POOL_MEAN, 0, "s");
    assert_int_equal(bh_head_fuse_crf(h, tg, 1.0f, &f0), BH_EINVAL); /* untrained */
    assert_int_equal(bh_crf_tagger_train(tg, &o), BH_OK);
    assert_int_equal(bh_head_fuse_crf(seq, tg, 1.0f, &f0), BH_EINVAL);
    assert_int_equal(bh_head_fuse_crf(h, tg, -1.0f, &f0), BH_EINVAL);
    assert_int_equal(bh_head_fuse_crf(h, tg, 0.0f, &f0), BH_OK);
    assert_int_equal(bh_head_fuse_crf(h, tg, 1e4f, &fbig), BH_OK);
    assert_int_equal(bh_head_feat_bits(fbig), 12);
    assert_int_equal(bh_head_fuse_crf(fbig, tg, 1.0f, &again), BH_EINVAL); /* already fused */
    uint64_t s = 21;
    float hid[25];
    fill(hid, 25, 1.0f, &s);
    uint8_t first[5] = {1, 1, 1, 1, 1};
    uint32_t feats[5 * BH_CRF_NFEAT];
    for (int i = 0; i < 3; i++) {
        int32_t a[5], b[5], c[5];
        const char *want[5];
        assert_int_equal(bh_crf_word_features(sents[i], 5, NULL, feats), BH_OK);
        assert_int_equal(bh_head_token_predict(h, hid, first, 1, T, D, a, NULL), BH_OK);
        assert_int_equal(bh_head_token_predict_feats(f0, hid, first, feats, 1, T, D, b, NULL), BH_OK);
        assert_int_equal(bh_head_token_predict_feats(fbig, hid, first, feats, 1, T, D, c, NULL), BH_OK);
        assert_int_equal(bh_crf_tagger_tag(tg, sents[i], 5, want), BH_OK);
        for (int t = 0; t < T; t++) {
            assert_int_equal(a[t], b[t]);
            assert_string_equal(bh_head_label(fbig, c[t]), want[t]);
        }
    }
    roundtrip(fbig, D); /* the table and the fused CRF come back */
    /* Labels the tagger never saw (ORG: not in its sentences) have probability
     * 0 under it: a head biased to B-ORG keeps it at weight 0 and never
     * emits it fused, even at a small weight. */
    static const char *ORG[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"};
    bh_head_config oc = {BH_HEAD_TOKEN, "org", D, 7, ORG, BH_POOL_MEAN, 0, 1, 0};
    bh_head *oh, *o0, *o1;
    assert_int_equal(bh_head_new(&oc, 12, &oh), BH_OK);
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(oh, i, &ti) == BH_OK; i++)
        if (!strcmp(ti.name, "out.b")) ((float *)ti.data)[5] = 50.0f;
    assert_int_equal(bh_head_fuse_crf(oh, tg, 0.0f, &o0), BH_OK);
    assert_int_equal(bh_head_fuse_crf(oh, tg, 0.25f, &o1), BH_OK);
    for (int i = 0; i < 3; i++) {
        int32_t a[5], b[5];
        assert_int_equal(bh_crf_word_features(sents[i], 5, NULL, feats), BH_OK);
        assert_int_equal(bh_head_token_predict_feats(o0, hid, first, feats, 1, T, D, a, NULL), BH_OK);
        assert_int_equal(bh_head_token_predict_feats(o1, hid, first, feats, 1, T, D, b, NULL), BH_OK);
        for (int t = 0; t < T; t++) {
            assert_string_equal(bh_head_label(o0, a[t]), "B-ORG");
            assert_null(strstr(bh_head_label(o1, b[t]), "ORG"));
        }
    }
    bh_head_free(o0);
    bh_head_free(o1);
    bh_head_free(oh);
    bh_head_free(f0);
    bh_head_free(fbig);
    bh_head_free(h);
    bh_head_free(seq);
    bh_crf_tagger_free(tg);
}

/* The n-gram layer of a sequence head: fused probabilities against
 * softmax(a log p + W^T x + b) computed here from bh_ngram_features; a = 1
 * with a zero layer changes nothing; save/load; what is refused. */
static void test_seq_ngrams(void **state)
{
    (void)state;
    int D = 4, C = 3, bits = 12;
    size_t H = (size_t)1 << bits;
    bh_head *h = seq_head(D, BH_POOL_MEAN, 1, "sentiment"), *f, *z, *bad;
    float *W = malloc(sizeof(float) * H * C), b[3] = {0.3f, -0.2f, 0.1f};
    uint64_t s = 31;
    fill(W, H * C, 1.0f, &s);
    assert_int_equal(bh_head_seq_set_ngrams(h, bits, W, b, 0.5f, &f), BH_OK);
    assert_int_equal(bh_head_feat_bits(f), 12);
    const char *text = "রহিম বলল বইটা খুব ভালো, really good!";
    uint32_t *idx;
    float *val;
    size_t n;
    assert_int_equal(bh_ngram_features(text, strlen(text), bits, &idx, &val, &n), BH_OK);
    assert_true(n > 20); /* 7 words, 6 bigrams, character 2-4-grams */
    float p[3] = {0.2f, 0.5f, 0.3f}, q[3];
    memcpy(q, p, sizeof q);
    assert_int_equal(bh_head_seq_fuse_text(f, text, strlen(text), q), BH_OK);
    double zz[3], mx = -1e30, sum = 0;
    for (int c = 0; c < C; c++) {
        zz[c] = 0.5 * log(p[c]) + b[c];
        for (size_t i = 0; i < n; i++) zz[c] += val[i] * W[(size_t)idx[i] * C + c];
        mx = zz[c] > mx ? zz[c] : mx;
    }
    for (int c = 0; c < C; c++) sum += exp(zz[c] - mx);
    for (int c = 0; c < C; c++) assert_true(fabs(q[c] - exp(zz[c] - mx) / sum) < 1e-5);
    free(idx);
    free(val);
    /* a zero layer with a = 1 is the head itself */
    memset(W, 0, sizeof(float) * H * C);
    float b0[3] = {0, 0, 0};
    assert_int_equal(bh_head_seq_set_ngrams(h, bits, W, b0, 1.0f, &z), BH_OK);
    memcpy(q, p, sizeof q);
    assert_int_equal(bh_head_seq_fuse_text(z, text, strlen(text), q), BH_OK);
    for (int c = 0; c < C; c++) assert_true(fabs(q[c] - p[c]) < 1e-6);
    memcpy(q, p, sizeof q);
    assert_int_equal(bh_head_seq_fuse_text(z, "", 0, q), BH_OK); /* no features at all */
    for (int c = 0; c < C; c++) assert_true(fabs(q[c] - p[c]) < 1e-6);
    /* the encoder part is copied: same probabilities from seq_predict */
    float hid[2 * 4], pa[3], pb[3];
    fill(hid, 8, 1.0f, &s);
    assert_int_equal(bh_head_seq_predict(h, hid, NULL, 1, 2, D, pa), BH_OK);
    assert_int_equal(bh_head_seq_predict(f, hid, NULL, 1, 2, D, pb), BH_OK);
    assert_memory_equal(pa, pb, sizeof pa);
    /* refused: training a head with the layer, the layer on other kinds, a plain head's n-grams */
    float l;
    int32_t y = 1;
    assert_int_equal(bh_head_seq_loss(f, hid, NULL, 1, 2, D, &y, NULL, 1.0f, &l, NULL), BH_EINVAL);
    bh_head *t = tok_head(D, 0, "ner");
    assert_int_equal(bh_head_seq_set_ngrams(t, bits, W, b, 1.0f, &bad), BH_EINVAL);
    assert_int_equal(bh_head_seq_set_ngrams(h, bits, W, b, -1.0f, &bad), BH_EINVAL);
    assert_int_equal(bh_head_seq_ngram_logits(h, text, strlen(text), q), BH_EINVAL);
    assert_int_equal(bh_ngram_features(text, strlen(text), 30, &idx, &val, &n), BH_EINVAL);
    roundtrip(f, D); /* save and load keep the layer */
    bh_head_free(t);
    bh_head_free(z);
    bh_head_free(f);
    bh_head_free(h);
    free(W);
}

/* bh_model_convert's F16-Q8: a head's 3-label n-gram table (a few non-zero
 * rows) comes back from the sparse F16-row form within F16 rounding, as the
 * rest of the head does; the file is smaller than F16's; converted on to
 * Q8, the table is copied unchanged and the head's other matrices become
 * int8 rows. (Tables of more labels keep int8 rows: test_model.c.) */
static void test_convert_q8(void **state)
{
    (void)state;
    int D = 4, C = 3, bits = 12;
    size_t H = (size_t)1 << bits;
    bh_head *h = seq_head(D, BH_POOL_MEAN, 1, "sentiment"), *f;
    float *W = calloc(H * C, sizeof(float)), b[3] = {0.3f, -0.2f, 0.1f};
    uint64_t s = 41;
    for (size_t r = 7; r < H; r += 97) fill(W + r * C, C, 1.0f, &s);
    assert_int_equal(bh_head_seq_set_ngrams(h, bits, W, b, 0.5f, &f), BH_OK);
    char dir[] = "/tmp/bh_heads_q8_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char src[300], d16[300], dq[300], again[300], p[400];
    snprintf(src, sizeof src, "%s/f32", dir);
    snprintf(d16, sizeof d16, "%s/f16", dir);
    snprintf(dq, sizeof dq, "%s/q8", dir);
    snprintf(again, sizeof again, "%s/again", dir);
    bh_model *m = tiny_encoder(D);
    assert_int_equal(bh_model_save_heads(m, &f, 1, src), BH_OK);
    assert_int_equal(bh_model_convert(src, d16, "f16"), BH_OK);
    assert_int_equal(bh_model_convert(src, dq, "F16-Q8"), BH_OK);
    bh_head **got;
    int n;
    assert_int_equal(bh_heads_load(dq, &got, &n), BH_OK);
    assert_int_equal(n, 1);
    for (int i = 0; i < bh_head_num_tensors(f); i++) {
        bh_tensor_info a, g;
        bh_head_tensor(f, i, &a);
        bh_head_tensor(got[0], i, &g);
        size_t rows = (size_t)a.shape[0], cols = a.ndim == 2 ? (size_t)a.shape[1] : 1;
        assert_true(test_f16_close(a.data, g.data, rows * cols));
    }
    struct stat s16, sq;
    snprintf(p, sizeof p, "%s/model.safetensors", d16);
    assert_int_equal(stat(p, &s16), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", dq);
    assert_int_equal(stat(p, &sq), 0);
    assert_true(sq.st_size * 4 < s16.st_size); /* 43 of 4096 rows kept */
    /* converting on to Q8: the table's F16 rows copied as they are, the
     * head's other matrices as int8 rows too (half a step), vectors F16 */
    assert_int_equal(bh_model_convert(dq, again, "q8"), BH_OK);
    bh_head **g8;
    assert_int_equal(bh_heads_load(again, &g8, &n), BH_OK);
    for (int i = 0; i < bh_head_num_tensors(f); i++) {
        bh_tensor_info a, g, q;
        bh_head_tensor(f, i, &a);
        bh_head_tensor(got[0], i, &g);
        bh_head_tensor(g8[0], i, &q);
        size_t rows = (size_t)a.shape[0], cols = a.ndim == 2 ? (size_t)a.shape[1] : 1;
        if (!strcmp(a.name, "feat.w")) {
            assert_memory_equal(g.data, q.data, rows * cols * sizeof(float));
            continue;
        }
        if (a.ndim == 2) assert_true(test_int8_rows_close(a.data, q.data, rows, cols, 1.01f));
        else assert_true(test_f16_close(a.data, q.data, rows));
    }
    bh_heads_free(g8, n);
    bh_heads_free(got, n);
    const char *sub[] = {src, d16, dq, again};
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.model"};
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "%s/%s", sub[i], files[k]);
            unlink(p);
        }
        rmdir(sub[i]);
    }
    rmdir(dir);
    bh_model_free(m);
    bh_head_free(f);
    bh_head_free(h);
    free(W);
}

/* End to end: head loss over a tiny post-LN encoder; the encoder gradients
 * from bh_model_forward_train + bh_model_backward against differences of
 * bh_model_forward + the head loss, for a sample of parameters of each tensor. */
/* Span head: rows with different allowed positions, a no-answer row (gold 0)
 * and an ignored row; then decoding and save/load of the kind. */
static void test_span_grad_decode(void **state)
{
    (void)state;
    enum { B = 4, T = 7, D = 5 };
    bh_head_config c = {BH_HEAD_SPAN, "qa", D, 0, NULL, BH_POOL_MEAN, 0, 0, 0};
    bh_head *h = NULL;
    assert_int_equal(bh_head_new(&c, 13, &h), BH_OK);
    assert_int_equal(bh_head_get_kind(h), BH_HEAD_SPAN);
    assert_int_equal(bh_head_n_labels(h), 2);
    uint64_t s = 8;
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++)
        fill(ti.data, (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1), 0.5f, &s);
    float hid[B * T * D];
    fill(hid, B * T * D, 1.0f, &s);
    /* [CLS] q q [SEP] c c [SEP] style rows: 0 and the context positions allowed */
    uint8_t al[B * T] = {1, 0, 0, 1, 1, 1, 0, /**/ 1, 0, 1, 1, 1, 1, 0, /**/ 1, 0, 0, 0, 1, 1, 1, /**/ 1, 1, 1, 1, 1, 1, 1};
    int32_t st[B] = {3, 0, 4, BH_HEAD_IGNORE}, en[B] = {5, 0, 6, BH_HEAD_IGNORE};
    call k = {h, hid, al, B, T, D, st, NULL, en, NULL};
    gradcheck(&k);
    /* a gold position that is not allowed */
    float l;
    int32_t bad[B] = {1, 0, 4, BH_HEAD_IGNORE};
    assert_int_equal(bh_head_span_loss(h, hid, al, B, T, D, bad, en, 1.0f, &l, NULL), BH_EINVAL);
    /* decoding: hand-made log-probabilities */
    float ls[T] = {-1.0f, -INFINITY, -INFINITY, -INFINITY, -0.5f, -2.0f, -0.1f};
    float le[T] = {-1.0f, -INFINITY, -INFINITY, -INFINITY, -3.0f, -0.2f, -4.0f};
    uint8_t ctx[T] = {0, 0, 0, 0, 1, 1, 1};
    int a, e;
    float sc, ns;
    assert_int_equal(bh_span_best(ls, le, ctx, T, 0, 0, &a, &e, &sc, &ns), BH_OK);
    assert_int_equal(a, 4); /* -0.5 + -0.2; the later start 6 only ends at 6 (-4.1) */
    assert_int_equal(e, 5);
    assert_true(fabsf(sc + 0.7f) < 1e-6f && fabsf(ns + 2.0f) < 1e-6f);
    assert_int_equal(bh_span_best(ls, le, ctx, T, 1, 0, &a, &e, &sc, &ns), BH_OK); /* length cap 1: (5,5) -2.2 */
    assert_int_equal(a, 5);
    assert_int_equal(e, 5);
    ls[0] = le[0] = -0.2f; /* null (-0.4) beats the best span (-0.7) only when allowed */
    assert_int_equal(bh_span_best(ls, le, ctx, T, 0, 1, &a, &e, &sc, &ns), BH_OK);
    assert_int_equal(a, 0);
    assert_int_equal(e, 0);
    assert_int_equal(bh_span_best(ls, le, ctx, T, 0, 0, &a, &e, &sc, &ns), BH_OK);
    assert_int_equal(a, 4);
    /* a cap far beyond the row (INT_MAX: no cap in practice) decodes as none */
    assert_int_equal(bh_span_best(ls, le, ctx, T, INT_MAX, 0, &a, &e, &sc, &ns), BH_OK);
    assert_int_equal(a, 4);
    assert_int_equal(e, 5);
    /* log-probabilities: -inf outside the allowed positions, sum to 1 inside */
    float lp0[B * T], lp1[B * T];
    assert_int_equal(bh_head_span_logprobs(h, hid, al, B, T, D, lp0, lp1), BH_OK);
    double z = 0;
    for (int t = 0; t < T; t++) z += al[t] ? exp(lp0[t]) : 0.0;
    assert_true(fabs(z - 1.0) < 1e-5 && isinf(lp0[1]) && isinf(lp1[2]));
    /* the kind survives a checkpoint */
    bh_model *m = tiny_encoder(D);
    char dir[] = "/tmp/bh_span_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(bh_model_save_heads(m, &h, 1, dir), BH_OK);
    bh_head **hs = NULL;
    int nh = 0;
    assert_int_equal(bh_heads_load(dir, &hs, &nh), BH_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(bh_head_get_kind(hs[0]), BH_HEAD_SPAN);
    assert_int_equal(bh_head_tensor(hs[0], 0, &ti), BH_OK);
    bh_tensor_info t0;
    assert_int_equal(bh_head_tensor(h, 0, &t0), BH_OK);
    assert_memory_equal(ti.data, t0.data, sizeof(float) * 2 * D);
    bh_heads_free(hs, nh);
    char p[256];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    unlink(p);
    rmdir(dir);
    bh_model_free(m);
    bh_head_free(h);
}

static void check_end_to_end(int pre_ln, int freeze)
{
    bh_model_config mc;
    bh_model_config_default(&mc, BH_ARCH_ENCODER);
    mc.vocab = 12, mc.max_len = 6, mc.dim = 8, mc.layers = 2, mc.heads = 2, mc.ffn = 16, mc.dropout = 0.0f;
    mc.pre_ln = pre_ln;
    bh_model *m;
    assert_int_equal(bh_model_new(&mc, 3, &m), BH_OK);
    /* bigger weights than N(0,0.02) so every path carries gradient */
    uint64_t s = 9;
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        bh_model_tensor(m, i, &ti);
        if (ti.ndim == 2) fill(ti.data, (size_t)ti.shape[0] * ti.shape[1], 0.3f, &s);
    }
    if (freeze) assert_int_equal(bh_model_freeze(m, freeze), BH_OK);
    int B = 2, T = 5, D = 8;
    const int32_t ids[] = {1, 5, 7, 2, 0, 3, 3, 9, 0, 0};
    const uint8_t mask[] = {1, 1, 1, 1, 0, 1, 1, 1, 0, 0};
    const int32_t labels[] = {2, 0};
    bh_head *h = seq_head(D, BH_POOL_MEAN, 1, "s");
    float *hid = malloc(sizeof(float) * B * T * D), *dh = malloc(sizeof(float) * B * T * D);
    float l;
    bh_model_zero_grad(m);
    assert_int_equal(bh_model_forward_train(m, ids, mask, B, T, 1, hid), BH_OK);
    assert_int_equal(bh_head_seq_loss(h, hid, mask, B, T, D, labels, NULL, 1.0f, &l, dh), BH_OK);
    assert_int_equal(bh_model_backward(m, dh), BH_OK);
    /* a second backward without a forward is refused */
    assert_int_equal(bh_model_backward(m, dh), BH_EINVAL);
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        bh_model_tensor(m, i, &ti);
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
        int emb = !strcmp(ti.name, "wte") || !strcmp(ti.name, "wpe") || !strncmp(ti.name, "ln_e", 4);
        int frozen = freeze && (emb || (!strncmp(ti.name, "h.", 2) && atoi(ti.name + 2) < freeze));
        int k = 0;
        double md = 0, mf = 0;
        for (size_t j = 0; j < n; j += 1 + n / 7, k++) {
            float sv = ti.data[j];
            ti.data[j] = sv + FD_H;
            assert_int_equal(bh_model_forward(m, ids, mask, B, T, hid, NULL), BH_OK);
            float lp, lm;
            assert_int_equal(bh_head_seq_loss(h, hid, mask, B, T, D, labels, NULL, 1.0f, &lp, NULL), BH_OK);
            ti.data[j] = sv - FD_H;
            assert_int_equal(bh_model_forward(m, ids, mask, B, T, hid, NULL), BH_OK);
            assert_int_equal(bh_head_seq_loss(h, hid, mask, B, T, D, labels, NULL, 1.0f, &lm, NULL), BH_OK);
            ti.data[j] = sv;
            double fd = ((double)lp - lm) / (2.0 * FD_H);
            if (frozen) {
                assert_true(ti.grad[j] == 0.0f);
                continue;
            }
            md = fmax(md, fabs(fd - ti.grad[j]));
            mf = fmax(mf, fabs(fd));
        }
        if (frozen) continue;
        /* wte rows of unused ids have zero gradient: mf can be 0 there */
        double e = md / (mf > 1e-4 ? mf : 1.0);
        if (e > 5e-2) fprintf(stderr, "# pre_ln %d freeze %d: d %s: relative error %g\n", pre_ln, freeze, ti.name, e);
        assert_true(e <= 5e-2);
    }
    if (freeze) { /* AdamW leaves frozen tensors exactly as they were */
        bh_optim_config oc;
        bh_optim_config_default(&oc);
        bh_optim *o;
        assert_int_equal(bh_optim_new(m, &oc, &o), BH_OK);
        bh_tensor_info wte, last;
        bh_model_tensor(m, 0, &wte);
        bh_model_tensor(m, bh_model_num_tensors(m) - 1, &last);
        float w0 = wte.data[0], l0 = last.data[0];
        /* a gradient in the frozen tensor must not move it either */
        wte.grad[0] = 1.0f;
        last.grad[0] = 1.0f;
        assert_int_equal(bh_optim_step(o, m), BH_OK);
        assert_true(wte.data[0] == w0);
        assert_true(last.data[0] != l0);
        bh_optim_free(o);
    }
    free(hid);
    free(dh);
    bh_head_free(h);
    bh_model_free(m);
}

static void test_end_to_end(void **state)
{
    (void)state;
    check_end_to_end(0, 0);
    check_end_to_end(1, 0);
    check_end_to_end(0, 1);
    check_end_to_end(1, 2);
}

/* ------------------------------------------------------------ semantics */

static void test_pooling_padding(void **state)
{
    (void)state;
    int B = 2, T = 4, D = 5;
    uint64_t s = 7;
    float *a = malloc(sizeof(float) * B * T * D), *b = malloc(sizeof(float) * B * T * D);
    fill(a, (size_t)B * T * D, 1.0f, &s);
    memcpy(b, a, sizeof(float) * B * T * D);
    const uint8_t mask[] = {1, 1, 0, 0, 1, 1, 1, 0};
    /* garbage at padded positions must not change anything */
    for (int i = 0; i < B * T; i++)
        if (!mask[i])
            for (int d = 0; d < D; d++) b[i * D + d] = 100.0f * (d + 1);
    bh_head *h = seq_head(D, BH_POOL_MEAN, 1, "s");
    float pa[6], pb[6], pc[3];
    assert_int_equal(bh_head_seq_predict(h, a, mask, B, T, D, pa), BH_OK);
    assert_int_equal(bh_head_seq_predict(h, b, mask, B, T, D, pb), BH_OK);
    for (int i = 0; i < 6; i++) assert_float_equal(pa[i], pb[i], 1e-6);
    /* row 0 alone, cut to its two real tokens, unmasked: the same mean */
    assert_int_equal(bh_head_seq_predict(h, a, NULL, 1, 2, D, pc), BH_OK);
    for (int i = 0; i < 3; i++) assert_float_equal(pa[i], pc[i], 1e-6);
    /* probabilities sum to 1 */
    assert_float_equal(pa[3] + pa[4] + pa[5], 1.0f, 1e-5);
    /* and the mean spreads the gradient over the real tokens only, equally */
    const int32_t labels[] = {0, 2};
    float *dh = malloc(sizeof(float) * B * T * D), l;
    assert_int_equal(bh_head_seq_loss(h, b, mask, B, T, D, labels, NULL, 1.0f, &l, dh), BH_OK);
    for (int d = 0; d < D; d++) {
        assert_float_equal(dh[0 * D + d], dh[1 * D + d], 1e-7);
        assert_true(dh[2 * D + d] == 0.0f && dh[3 * D + d] == 0.0f && dh[7 * D + d] == 0.0f);
    }
    free(dh);
    bh_head_free(h);
    free(a);
    free(b);
}

static void test_ignore_and_weights(void **state)
{
    (void)state;
    int B = 3, T = 2, D = 4;
    uint64_t s = 8;
    float *hid = malloc(sizeof(float) * B * T * D);
    fill(hid, (size_t)B * T * D, 1.0f, &s);
    bh_head *h = seq_head(D, BH_POOL_CLS, 0, "s");
    const int32_t all[] = {0, 2, 1}, some[] = {0, BH_HEAD_IGNORE, 1}, none[] = {-100, -100, -100};
    float l_all, l_some, l_sub, l_none, l_w, l_w2;
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, all, NULL, 1.0f, &l_all, NULL), BH_OK);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, some, NULL, 1.0f, &l_some, NULL), BH_OK);
    /* the ignored row counts for nothing: loss over rows 0 and 2 alone */
    float p[9];
    assert_int_equal(bh_head_seq_predict(h, hid, NULL, B, T, D, p), BH_OK);
    l_sub = (float)(-(log(p[0]) + log(p[6 + 1])) / 2);
    assert_float_equal(l_some, l_sub, 1e-5);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, none, NULL, 1.0f, &l_none, NULL), BH_OK);
    assert_true(l_none == 0.0f);
    /* uniform weights change nothing; others give the weighted mean */
    const float w1[] = {2, 2, 2}, w2[] = {1, 3, 0.5f};
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, all, w1, 1.0f, &l_w, NULL), BH_OK);
    assert_float_equal(l_w, l_all, 1e-6);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, all, w2, 1.0f, &l_w2, NULL), BH_OK);
    double want = -(1 * log(p[0]) + 0.5 * log(p[3 + 2]) + 3 * log(p[6 + 1])) / (1 + 0.5 + 3);
    assert_float_equal(l_w2, (float)want, 1e-5);
    /* token head: the ignore index */
    bh_head *t = tok_head(D, 0, "t");
    const int32_t tl[] = {1, -100, -100, 0, -100, -100};
    float lt;
    int nw;
    assert_int_equal(bh_head_token_loss(t, hid, B, T, D, tl, 1.0f, &lt, &nw, NULL), BH_OK);
    assert_int_equal(nw, 2);
    const uint8_t first[] = {1, 0, 0, 1, 0, 0};
    int32_t tags[6];
    float sc[6];
    assert_int_equal(bh_head_token_predict(t, hid, first, B, T, D, tags, sc), BH_OK);
    assert_true(tags[1] == -1 && tags[2] == -1 && tags[0] >= 0 && tags[3] >= 0);
    assert_true(sc[0] > 0 && sc[0] <= 1);
    bh_head_free(t);
    bh_head_free(h);
    free(hid);
}

static int bio_valid(const int32_t *y, int n)
{
    /* TAGS: 0 O, 1 B-PER, 2 I-PER, 3 B-LOC, 4 I-LOC */
    for (int t = 0; t < n; t++) {
        if (y[t] == 2 && !(t && (y[t - 1] == 1 || y[t - 1] == 2))) return 0;
        if (y[t] == 4 && !(t && (y[t - 1] == 3 || y[t - 1] == 4))) return 0;
    }
    return 1;
}

static void test_decoding_bio(void **state)
{
    (void)state;
    /* D = 5 with out.w = identity, out.b = 0: the hidden state IS the emission,
     * so the argmax is chosen directly; rows favour I- after O on purpose */
    int B = 1, T = 6, D = 5;
    float hid[30] = {0};
    int want_argmax[] = {2, 0, 4, 4, 1, 4};
    for (int t = 0; t < T; t++) hid[t * D + want_argmax[t]] = 5.0f;
    uint8_t first[6] = {1, 1, 1, 1, 1, 1};
    for (int crf = 0; crf < 2; crf++) {
        bh_head_config c = {BH_HEAD_TOKEN, "ner", D, 5, TAGS, BH_POOL_MEAN, 0, crf, 0};
        bh_head *h;
        assert_int_equal(bh_head_new(&c, 1, &h), BH_OK);
        bh_tensor_info w, b;
        bh_head_tensor(h, 0, &w);
        bh_head_tensor(h, 1, &b);
        memset(w.data, 0, sizeof(float) * 25);
        for (int i = 0; i < 5; i++) w.data[i * 5 + i] = 1.0f;
        int32_t tags[6];
        float sc[6];
        assert_int_equal(bh_head_token_predict(h, hid, first, B, T, D, tags, sc), BH_OK);
        assert_true(bio_valid(tags, T));
        if (!crf) { /* repaired greedy: I-PER at 0 -> B-PER, I-LOC after O -> B-LOC, I-LOC after B-PER -> B-LOC */
            int want[] = {1, 0, 3, 4, 1, 3};
            for (int t = 0; t < T; t++) assert_int_equal(tags[t], want[t]);
        }
        for (int t = 0; t < T; t++) assert_true(sc[t] > 0 && sc[t] <= 1.0001f);
        bh_head_free(h);
    }
}

/* --------------------------------------------------------- checkpoints */

static void test_save_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh_heads_XXXXXX";
    assert_non_null(mkdtemp(dir));
    bh_model_config mc;
    bh_model_config_default(&mc, BH_ARCH_ENCODER);
    mc.vocab = 20, mc.max_len = 8, mc.dim = 6, mc.layers = 1, mc.heads = 2, mc.ffn = 12, mc.dropout = 0;
    bh_model *m;
    assert_int_equal(bh_model_new(&mc, 1, &m), BH_OK);
    bh_head *hs[2] = {seq_head(6, BH_POOL_CLS, 1, "sentiment"), tok_head(6, 1, "ner")};
    assert_int_equal(bh_model_save_heads(m, hs, 2, dir), BH_OK);
    /* the encoder alone loads (the head tensors are ignored), also mapped */
    bh_model *m2, *m3;
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_OK);
    assert_int_equal(bh_model_load(dir, BH_MODEL_MMAP, &m3), BH_OK);
    bh_head **got;
    int n;
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_OK);
    assert_int_equal(n, 2);
    assert_string_equal(bh_head_name(got[0]), "sentiment");
    assert_int_equal(bh_head_get_kind(got[0]), BH_HEAD_SEQUENCE);
    assert_int_equal(bh_head_get_pool(got[0]), BH_POOL_CLS);
    assert_string_equal(bh_head_name(got[1]), "ner");
    assert_int_equal(bh_head_has_crf(got[1]), 1);
    assert_string_equal(bh_head_label(got[1], 3), "B-LOC");
    assert_int_equal(bh_head_label_index(got[0], "pos"), 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(bh_head_num_tensors(got[k]), bh_head_num_tensors(hs[k]));
        for (int i = 0; i < bh_head_num_tensors(hs[k]); i++) {
            bh_tensor_info a, b;
            bh_head_tensor(hs[k], i, &a);
            bh_head_tensor(got[k], i, &b);
            assert_string_equal(a.name, b.name);
            size_t cnt = (size_t)a.shape[0] * (a.ndim == 2 ? a.shape[1] : 1);
            assert_memory_equal(a.data, b.data, cnt * sizeof(float));
        }
    }
    /* saving the encoder alone drops the heads again */
    assert_int_equal(bh_model_save(m2, dir), BH_OK);
    bh_heads_free(got, n);
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_OK);
    assert_int_equal(n, 0);
    /* duplicate names and dim mismatches are refused */
    bh_head *dup[2] = {hs[0], hs[0]};
    assert_int_equal(bh_model_save_heads(m, dup, 2, dir), BH_EINVAL);
    bh_head *wrong = seq_head(4, BH_POOL_MEAN, 0, "w");
    assert_int_equal(bh_model_save_heads(m, &wrong, 1, dir), BH_ESHAPE);
    bh_head_free(wrong);
    char p[256];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    unlink(p);
    rmdir(dir);
    bh_head_free(hs[0]);
    bh_head_free(hs[1]);
    bh_model_free(m);
    bh_model_free(m2);
    bh_model_free(m3);
}

static void test_optim_learns(void **state)
{
    (void)state;
    /* fixed features, labels from the sign of feature 0: AdamW on the head alone */
    int B = 16, T = 1, D = 4;
    uint64_t s = 10;
    float hid[64];
    int32_t y[16];
    fill(hid, 64, 1.0f, &s);
    for (int b = 0; b < B; b++) y[b] = hid[b * D] > 0 ? 2 : 0;
    bh_head_config c = {BH_HEAD_SEQUENCE, "s", D, 3, SENT, BH_POOL_CLS, 1, 0, 0};
    bh_head *h;
    assert_int_equal(bh_head_new(&c, 2, &h), BH_OK);
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    oc.lr = 0.05f;
    bh_optim *o;
    assert_int_equal(bh_optim_new_head(h, &oc, &o), BH_OK);
    float first = 0, l = 0;
    for (int step = 0; step < 60; step++) {
        bh_head_zero_grad(h);
        assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, y, NULL, 1.0f, &l, NULL), BH_OK);
        if (!step) first = l;
        bh_head_clip_grad(h, NULL, 1.0f);
        assert_int_equal(bh_optim_step_head(o, h), BH_OK);
    }
    assert_true(l < 0.25f * first);
    bh_optim_free(o);
    bh_head_free(h);
}

/* one AdamW step of a fresh head (seed 2) on fixed features; returns the loss after it */
static float loss_after_step(const bh_optim_config *oc, long at)
{
    int B = 16, T = 1, D = 4;
    uint64_t s = 10;
    float hid[64], l = 0;
    int32_t y[16];
    fill(hid, 64, 1.0f, &s);
    for (int b = 0; b < B; b++) y[b] = hid[b * D] > 0 ? 2 : 0;
    bh_head_config c = {BH_HEAD_SEQUENCE, "s", D, 3, SENT, BH_POOL_CLS, 1, 0, 0};
    bh_head *h;
    bh_optim *o;
    assert_int_equal(bh_head_new(&c, 2, &h), BH_OK);
    assert_int_equal(bh_optim_new_head(h, oc, &o), BH_OK);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, y, NULL, 1.0f, &l, NULL), BH_OK);
    assert_int_equal(at < 0 ? bh_optim_step_head(o, h) : bh_optim_step_head_at(o, h, at), BH_OK);
    bh_head_zero_grad(h);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, y, NULL, 1.0f, &l, NULL), BH_OK);
    assert_int_equal(bh_optim_steps(o), 1);
    bh_optim_free(o);
    bh_head_free(h);
    return l;
}

static void test_optim_step_at(void **state)
{
    (void)state;
    /* a head updated on some steps only follows the run's schedule: its
     * first update at run step 9 of a 10-step warm-up is at the full rate
     * (a constant-rate head's), not at the first warm-up step's tenth */
    bh_optim_config warm, full, tenth;
    bh_optim_config_default(&warm);
    warm.lr = 0.5f;
    warm.warmup = 10;
    full = warm;
    full.warmup = 0;
    tenth = full;
    tenth.lr = 0.05f;
    float at9 = loss_after_step(&warm, 9), own = loss_after_step(&warm, -1);
    assert_float_equal(at9, loss_after_step(&full, -1), 1e-6);
    assert_float_equal(own, loss_after_step(&tenth, -1), 1e-6);
    assert_float_equal(loss_after_step(&warm, 0), own, 1e-6);
    assert_true(fabsf(at9 - own) > 1e-3f);
    bh_optim *o;
    bh_head *h = seq_head(4, BH_POOL_CLS, 0, "s");
    assert_int_equal(bh_optim_new_head(h, &warm, &o), BH_OK);
    assert_int_equal(bh_optim_step_head_at(o, h, -1), BH_EINVAL);
    assert_int_equal(bh_optim_step_head_at(NULL, h, 0), BH_EINVAL);
    bh_optim_free(o);
    bh_head_free(h);
}

/* ------------------------------------------------------------ bad input */

static void test_errors(void **state)
{
    (void)state;
    int B = 2, T = 3, D = 4;
    float hid[24] = {0}, l;
    bh_head *h = seq_head(D, BH_POOL_MEAN, 0, "s"), *t = tok_head(D, 1, "t"), *x = NULL;
    const int32_t ok[] = {0, 1}, bad[] = {0, 3}, neg[] = {-1, 0};
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D + 1, ok, NULL, 1, &l, NULL), BH_ESHAPE);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, bad, NULL, 1, &l, NULL), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "row 1"));
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, neg, NULL, 1, &l, NULL), BH_EINVAL);
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, 0, T, D, ok, NULL, 1, &l, NULL), BH_EINVAL);
    assert_int_equal(bh_head_seq_loss(h, NULL, NULL, B, T, D, ok, NULL, 1, &l, NULL), BH_EINVAL);
    const float zw[] = {1, 0, 1};
    assert_int_equal(bh_head_seq_loss(h, hid, NULL, B, T, D, ok, zw, 1, &l, NULL), BH_EINVAL);
    const uint8_t pad[] = {1, 1, 1, 0, 0, 0};
    float p[6];
    assert_int_equal(bh_head_seq_predict(h, hid, pad, B, T, D, p), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "padding"));
    /* a token call on a sequence head and the reverse */
    int32_t tl[6] = {0, -100, -100, 1, 2, -100}, tags[6];
    uint8_t first[6] = {1};
    assert_int_equal(bh_head_token_loss(h, hid, B, T, D, tl, 1, &l, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_head_seq_predict(t, hid, NULL, B, T, D, p), BH_EINVAL);
    assert_int_equal(bh_head_token_predict(t, hid, first, B, T, D + 2, tags, NULL), BH_ESHAPE);
    /* labels out of range; gold breaking BIO under the CRF (I-PER after O) */
    int32_t tbad[6] = {5, -100, -100, -100, -100, -100};
    assert_int_equal(bh_head_token_loss(t, hid, B, T, D, tbad, 1, &l, NULL, NULL), BH_EINVAL);
    int32_t tbio[6] = {0, 2, -100, -100, -100, -100};
    assert_int_equal(bh_head_token_loss(t, hid, B, T, D, tbio, 1, &l, NULL, NULL), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "constraint"));
    /* bad configs */
    const char *dupl[] = {"a", "a"}, *badtag[] = {"O", "B-"}, *empty[] = {"a", ""};
    bh_head_config c = {BH_HEAD_SEQUENCE, "s", 4, 2, dupl, BH_POOL_MEAN, 0, 0, 0};
    assert_int_equal(bh_head_new(&c, 0, &x), BH_EINVAL);
    c.labels = empty;
    assert_int_equal(bh_head_new(&c, 0, &x), BH_EINVAL);
    c.labels = SENT;
    c.name = "has space";
    assert_int_equal(bh_head_new(&c, 0, &x), BH_EINVAL);
    c.name = "s";
    c.dim = 0;
    assert_int_equal(bh_head_new(&c, 0, &x), BH_EINVAL);
    bh_head_config ct = {BH_HEAD_TOKEN, "t", 4, 2, badtag, BH_POOL_MEAN, 0, 1, 0};
    assert_int_equal(bh_head_new(&ct, 0, &x), BH_EFORMAT);
    ct.crf = 0; /* without a CRF any names do */
    assert_int_equal(bh_head_new(&ct, 0, &x), BH_OK);
    bh_head_free(x);
    /* loading from a directory that is not there */
    bh_head **hs;
    int n;
    assert_int_equal(bh_heads_load("/nonexistent/bh", &hs, &n), BH_ENOTFOUND);
    /* a backward with no forward */
    bh_model_config mc;
    bh_model_config_default(&mc, BH_ARCH_ENCODER);
    mc.vocab = 10, mc.max_len = 4, mc.dim = 4, mc.layers = 1, mc.heads = 1, mc.ffn = 8;
    bh_model *m;
    assert_int_equal(bh_model_new(&mc, 1, &m), BH_OK);
    assert_int_equal(bh_model_backward(m, hid), BH_EINVAL);
    assert_int_equal(bh_model_freeze(m, 2), BH_EINVAL);
    assert_int_equal(bh_model_freeze(m, -1), BH_EINVAL);
    bh_model_free(m);
    bh_head_free(h);
    bh_head_free(t);
}

/* The n-gram layer's input (models/text_features.c) counts the first 255
 * characters of a word: a word longer than that has the character n-grams of
 * its first 255 (only its word hash sees the rest). */
static void test_text_features_long_word(void **state)
{
    (void)state;
    char a[301], b[301];
    memset(a, 'a', 300);
    memset(b, 'a', 300);
    memset(b + 255, 'b', 45);
    a[300] = b[300] = 0;
    uint32_t *fa = NULL, *fb = NULL, *f1 = NULL;
    size_t na = 0, ca = 0, nb = 0, cb = 0, n1 = 0, c1 = 0;
    assert_int_equal(bh__text_features(a, 300, 1, 3, &fa, &na, &ca), BH_OK);
    assert_int_equal(bh__text_features(b, 300, 1, 3, &fb, &nb, &cb), BH_OK);
    assert_int_equal(bh__text_features("a", 1, 1, 1, &f1, &n1, &c1), BH_OK);
    /* the word, then 255 + 254 + 253 character n-grams */
    assert_int_equal(na, 1 + 255 + 254 + 253);
    assert_int_equal(nb, na);
    assert_int_not_equal(fa[0], fb[0]);
    assert_memory_equal(fa + 1, fb + 1, (na - 1) * sizeof *fa);
    /* the 255th unigram is "a", like the first */
    assert_int_equal(n1, 2);
    assert_int_equal(fa[1], f1[1]);
    assert_int_equal(fa[255], f1[1]);
    free(fa);
    free(fb);
    free(f1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_grad_mean_dense_weights),
        cmocka_unit_test(test_seq_grad_cls),
        cmocka_unit_test(test_token_grad_softmax),
        cmocka_unit_test(test_token_grad_crf),
        cmocka_unit_test(test_token_grad_features),
        cmocka_unit_test(test_fuse_crf),
        cmocka_unit_test(test_seq_ngrams),
        cmocka_unit_test(test_text_features_long_word),
        cmocka_unit_test(test_span_grad_decode),
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_pooling_padding),
        cmocka_unit_test(test_ignore_and_weights),
        cmocka_unit_test(test_decoding_bio),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_convert_q8),
        cmocka_unit_test(test_optim_learns),
        cmocka_unit_test(test_optim_step_at),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
