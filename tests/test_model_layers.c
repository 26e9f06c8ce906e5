/* tests/test_model_layers.c — finite-difference gradient checks for every
 * layer's backward pass (models/layers.c).
 *
 * For each layer, the test writes an independent double-precision forward
 * pass, forms the scalar L = sum(out * R) for a fixed random R, and takes
 * central differences (h = 1e-5) with respect to every input and parameter.
 * The float32 backward pass of the engine must match them with a normwise
 * relative error max|g - fd| / max|fd| <= 1e-3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/model.h"
#include "models/layers.h"

static uint64_t rng = 7;
static double urand(void) { return (double)(bh_rng_next(&rng) >> 11) / 9007199254740992.0 * 2.0 - 1.0; }

/* A layer under test: a double forward over the packed vector x[n] that
 * returns sum(out * R). */
typedef double (*ref_fn)(const double *x, void *ctx);

static double gradcheck(ref_fn f, void *ctx, const double *x0, int n, const float *g)
{
    double *x = malloc(sizeof(double) * n);
    memcpy(x, x0, sizeof(double) * n);
    double md = 0.0, mf = 0.0, h = 1e-5;
    for (int i = 0; i < n; i++) {
        double s = x[i];
        x[i] = s + h;
        double lp = f(x, ctx);
        x[i] = s - h;
        double lm = f(x, ctx);
        x[i] = s;
        double fd = (lp - lm) / (2 * h);
        md = fmax(md, fabs(fd - g[i]));
        mf = fmax(mf, fabs(fd));
    }
    free(x);
    return md / (mf > 0 ? mf : 1.0);
}

static void fill(double *d, float *f, int n, double scale)
{
    for (int i = 0; i < n; i++) {
        d[i] = scale * urand();
        f[i] = (float)d[i];
        d[i] = f[i];
    }
}

/* ---------------------------------------------------------------- linear */

typedef struct { int N, I, O; const double *R; } lin_ctx;

static double lin_ref(const double *x, void *vc)
{
    lin_ctx *c = vc;
    const double *in = x, *w = x + c->N * c->I, *b = w + c->O * c->I;
    double L = 0;
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->O; o++) {
            double s = b[o];
            for (int i = 0; i < c->I; i++) s += in[n * c->I + i] * w[o * c->I + i];
            L += s * c->R[n * c->O + o];
        }
    return L;
}

static void test_linear(void **st)
{
    (void)st;
    int N = 5, I = 7, O = 6, n = N * I + O * I + O;
    double *x = malloc(sizeof(double) * n), R[30];
    float *xf = malloc(sizeof(float) * n), Rf[30], out[30], g[200] = {0};
    fill(x, xf, n, 1.0);
    fill(R, Rf, N * O, 1.0);
    bh__linear_fwd(NULL, out, xf, xf + N * I, xf + N * I + O * I, N, I, O);
    /* check the forward too */
    lin_ctx c = {N, I, O, R};
    double L = 0;
    for (int i = 0; i < N * O; i++) L += out[i] * R[i];
    assert_true(fabs(L - lin_ref(x, &c)) < 1e-4);
    memset(g, 0, sizeof g);
    g[0] = 1.0f; /* dx is overwritten when not accumulating */
    bh__linear_bwd(NULL, g, g + N * I, g + N * I + O * I, Rf, xf, xf + N * I, N, I, O, 0);
    double e = gradcheck(lin_ref, &c, x, n, g);
    print_message("# linear rel err %.3g\n", e);
    assert_true(e <= 1e-3);
    free(x);
    free(xf);
}

/* ------------------------------------------------------------- layernorm */

typedef struct { int N, D; const double *R; } ln_ctx;

static double ln_ref(const double *x, void *vc)
{
    ln_ctx *c = vc;
    const double *in = x, *w = x + c->N * c->D, *b = w + c->D;
    double L = 0;
    for (int n = 0; n < c->N; n++) {
        double m = 0, v = 0;
        for (int d = 0; d < c->D; d++) m += in[n * c->D + d];
        m /= c->D;
        for (int d = 0; d < c->D; d++) v += (in[n * c->D + d] - m) * (in[n * c->D + d] - m);
        v /= c->D;
        for (int d = 0; d < c->D; d++)
            L += ((in[n * c->D + d] - m) / sqrt(v + 1e-5) * w[d] + b[d]) * c->R[n * c->D + d];
    }
    return L;
}

static void test_layernorm(void **st)
{
    (void)st;
    int N = 4, D = 9, n = N * D + 2 * D;
    double x[64], R[36];
    float xf[64], Rf[36], out[36], mean[4], rstd[4], g[64] = {0};
    fill(x, xf, n, 1.0);
    fill(R, Rf, N * D, 1.0);
    bh__layernorm_fwd(NULL, out, mean, rstd, xf, xf + N * D, xf + N * D + D, N, D, 1e-5f);
    bh__layernorm_bwd(NULL, g, g + N * D, g + N * D + D, Rf, xf, mean, rstd, xf + N * D, N, D);
    ln_ctx c = {N, D, R};
    double e = gradcheck(ln_ref, &c, x, n, g);
    print_message("# layernorm rel err %.3g\n", e);
    assert_true(e <= 1e-3);
}

/* ------------------------------------------------------------------ GELU */

typedef struct { int n; const double *R; } gelu_ctx;

static double gelu_ref(const double *x, void *vc)
{
    gelu_ctx *c = vc;
    double L = 0;
    for (int i = 0; i < c->n; i++) {
        double v = x[i];
        L += 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))) * c->R[i];
    }
    return L;
}

static void test_gelu(void **st)
{
    (void)st;
    int n = 40;
    double x[40], R[40];
    float xf[40], Rf[40], out[40], g[40];
    fill(x, xf, n, 3.0);
    fill(R, Rf, n, 1.0);
    bh__gelu_fwd(NULL, out, xf, (size_t)n);
    gelu_ctx c = {n, R};
    double L = 0;
    for (int i = 0; i < n; i++) L += out[i] * R[i];
    assert_true(fabs(L - gelu_ref(x, &c)) < 1e-4);
    bh__gelu_bwd(NULL, g, xf, Rf, (size_t)n);
    double e = gradcheck(gelu_ref, &c, x, n, g);
    print_message("# gelu rel err %.3g\n", e);
    assert_true(e <= 1e-3);
}

/* ------------------------------------------------------------- attention */

typedef struct { int B, T, D, H, causal; const uint8_t *mask; const double *R; } att_ctx;

static double att_ref(const double *qkv, void *vc)
{
    att_ctx *c = vc;
    int B = c->B, T = c->T, D = c->D, H = c->H, hd = D / H;
    double L = 0, s[16];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < T; j++) {
                    int ok = (!c->causal || j <= i) && (!c->mask || c->mask[b * T + j]);
                    double d = 0;
                    for (int k = 0; k < hd; k++)
                        d += qkv[(b * T + i) * 3 * D + h * hd + k] * qkv[(b * T + j) * 3 * D + D + h * hd + k];
                    s[j] = ok ? d / sqrt((double)hd) : -INFINITY;
                    mx = fmax(mx, s[j]);
                }
                for (int j = 0; j < T; j++) sum += s[j] = exp(s[j] - mx);
                for (int k = 0; k < hd; k++) {
                    double o = 0;
                    for (int j = 0; j < T; j++) o += s[j] / sum * qkv[(b * T + j) * 3 * D + 2 * D + h * hd + k];
                    L += o * c->R[(b * T + i) * D + h * hd + k];
                }
            }
    return L;
}

static void attention_case(int causal, int masked)
{
    enum { B = 2, T = 5, D = 6, H = 2 };
    int n = B * T * 3 * D;
    double x[B * T * 3 * D], R[B * T * D];
    float xf[B * T * 3 * D], Rf[B * T * D], out[B * T * D], att[B * H * T * T], g[B * T * 3 * D], scratch[T * T];
    uint8_t mask[B * T];
    for (int i = 0; i < B * T; i++) mask[i] = 1;
    mask[T - 1] = mask[T - 2] = 0; /* padding at the end of the first sequence */
    mask[T] = 0;                   /* and at the start of the second */
    fill(x, xf, n, 1.0);
    fill(R, Rf, B * T * D, 1.0);
    bh__attention_fwd(NULL, out, att, xf, masked ? mask : NULL, causal, B, T, D, H);
    att_ctx c = {B, T, D, H, causal, masked ? mask : NULL, R};
    double L = 0;
    for (int i = 0; i < B * T * D; i++) L += out[i] * R[i];
    assert_true(fabs(L - att_ref(x, &c)) < 1e-4);
    bh__attention_bwd(NULL, g, scratch, Rf, xf, att, B, T, D, H);
    double e = gradcheck(att_ref, &c, x, n, g);
    print_message("# attention causal=%d masked=%d rel err %.3g\n", causal, masked, e);
    assert_true(e <= 1e-3);
}

static void test_attention(void **st)
{
    (void)st;
    attention_case(0, 0);
    attention_case(0, 1);
    attention_case(1, 0);
}

/* ------------------------------------------------------------- embedding */

typedef struct { int N, T, D, V; const int32_t *ids; const double *R; } emb_ctx;

static double emb_ref(const double *x, void *vc)
{
    emb_ctx *c = vc;
    const double *wte = x, *wpe = x + c->V * c->D;
    double L = 0;
    for (int i = 0; i < c->N; i++)
        for (int d = 0; d < c->D; d++)
            L += (wte[c->ids[i] * c->D + d] + wpe[(i % c->T) * c->D + d]) * c->R[i * c->D + d];
    return L;
}

static void test_embedding(void **st)
{
    (void)st;
    enum { V = 5, T = 3, D = 4, N = 6 };
    int32_t ids[N] = {1, 4, 1, 0, 2, 4};
    int n = V * D + T * D;
    double x[V * D + T * D], R[N * D];
    float xf[V * D + T * D], Rf[N * D], out[N * D], g[V * D + T * D] = {0};
    fill(x, xf, n, 1.0);
    fill(R, Rf, N * D, 1.0);
    bh__embed_fwd(NULL, out, ids, xf, xf + V * D, N, T, D);
    bh__embed_bwd(NULL, g, g + V * D, Rf, ids, N, T, D);
    emb_ctx c = {N, T, D, V, ids, R};
    double e = gradcheck(emb_ref, &c, x, n, g);
    print_message("# embedding rel err %.3g\n", e);
    assert_true(e <= 1e-3);
}

/* --------------------------------------------------------- cross-entropy */

typedef struct { int M, D, V; const int32_t *t; } xe_ctx;

static double xe_ref(const double *x, void *vc)
{
    xe_ctx *c = vc;
    const double *h = x, *w = x + c->M * c->D;
    double L = 0, lg[16];
    for (int m = 0; m < c->M; m++) {
        double mx = -1e300, s = 0;
        for (int v = 0; v < c->V; v++) {
            lg[v] = 0;
            for (int d = 0; d < c->D; d++) lg[v] += h[m * c->D + d] * w[v * c->D + d];
            mx = fmax(mx, lg[v]);
        }
        for (int v = 0; v < c->V; v++) s += exp(lg[v] - mx);
        L += -(lg[c->t[m]] - mx - log(s));
    }
    return L / c->M; /* mean, as the engine scales by 1/M */
}

static void test_xent(void **st)
{
    (void)st;
    enum { M = 5, D = 4, V = 7 };
    int32_t t[M] = {0, 6, 3, 3, 1};
    int n = M * D + V * D;
    double x[M * D + V * D];
    float xf[M * D + V * D], g[M * D + V * D] = {0}, scratch[2 * V];
    fill(x, xf, n, 1.5);
    /* chunk of 2 rows: exercises the chunked path with a ragged end */
    double sum = bh__xent_fused(NULL, xf, xf + M * D, t, M, D, V, 1.0f / M, g, g + M * D, scratch, 2);
    xe_ctx c = {M, D, V, t};
    assert_true(fabs(sum / M - xe_ref(x, &c)) < 1e-5);
    double e = gradcheck(xe_ref, &c, x, n, g);
    print_message("# cross-entropy rel err %.3g\n", e);
    assert_true(e <= 1e-3);
}

/* A target far below the best logit: its probability underflows to 0 in
 * float, but the loss (the logit gap) is finite. */
static void test_xent_far_target(void **st)
{
    (void)st;
    float h[1] = {1.0f}, wte[2] = {0.0f, 200.0f}, scratch[2];
    int32_t t[1] = {0};
    double sum = bh__xent_fused(NULL, h, wte, t, 1, 1, 2, 1.0f, NULL, NULL, scratch, 1);
    assert_true(isfinite(sum) && fabs(sum - 200.0) < 1e-3);
}

/* --------------------------------------------------------------- dropout */

static void test_dropout(void **st)
{
    (void)st;
    enum { n = 10000 };
    float *x = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    uint8_t *keep = malloc(n);
    for (int i = 0; i < n; i++) x[i] = g[i] = 1.0f;
    uint64_t r = 3;
    bh__dropout_fwd(x, keep, 0.25f, n, &r);
    bh__dropout_bwd(g, keep, 0.25f, n);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        kept += keep[i];
        /* linear in x with a fixed mask: the gradient is the same map */
        assert_true(fabsf(x[i] - g[i]) < 1e-6f);
        assert_true(keep[i] ? fabsf(x[i] - 1.0f / 0.75f) < 1e-6f : x[i] == 0.0f);
    }
    assert_true(kept > 7200 && kept < 7800);
    free(x);
    free(g);
    free(keep);
}

/* A whole model: the gradient of the loss with respect to a few parameters
 * by finite differences of the float forward (float loss, so h is larger and
 * the tolerance looser: 2e-2), for both encoder layouts with dropout off. */
static void model_case(bh_arch arch, int pre_ln)
{
    bh_model_config c;
    bh_model_config_default(&c, arch);
    c.vocab = 11;
    c.max_len = 6;
    c.dim = 8;
    c.layers = 2;
    c.heads = 2;
    c.ffn = 12;
    c.pre_ln = pre_ln;
    c.dropout = 0.0f;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 5, &m), BH_OK);
    int32_t ids[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1}, tg[12];
    for (int i = 0; i < 12; i++) tg[i] = i % 3 ? (ids[i] + 1) % 11 : -100;
    /* bigger weights than the 0.02 init so every path matters */
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        bh_model_tensor(m, i, &ti);
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
        for (size_t k = 0; k < n; k++) ti.data[k] += (float)(0.3 * urand());
    }
    float loss;
    bh_model_zero_grad(m);
    assert_int_equal(bh_model_train_step(m, ids, NULL, tg, 2, 6, 1.0f, 0, &loss, NULL), BH_OK);
    double worst = 0;
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        bh_model_tensor(m, i, &ti);
        for (int k = 0; k < 3; k++) {
            int j = (k * 7 + i) % ti.shape[0];
            float s = ti.data[j], h = 1e-2f, lp, lm;
            ti.data[j] = s + h;
            bh_model_train_step(m, ids, NULL, tg, 2, 6, 0.0f, 0, &lp, NULL);
            ti.data[j] = s - h;
            bh_model_train_step(m, ids, NULL, tg, 2, 6, 0.0f, 0, &lm, NULL);
            ti.data[j] = s;
            double fd = ((double)lp - lm) / (2 * h);
            double err = fabs(fd - ti.grad[j]) / fmax(1e-2, fabs(fd));
            worst = fmax(worst, err);
        }
    }
    print_message("# model arch=%d pre_ln=%d worst rel err %.3g\n", (int)arch, pre_ln, worst);
    assert_true(worst <= 2e-2);
    bh_model_free(m);
}

static void test_model_grad(void **st)
{
    (void)st;
    model_case(BH_ARCH_ENCODER, 0);
    model_case(BH_ARCH_ENCODER, 1);
    model_case(BH_ARCH_DECODER, 1);
}

int main(void)
{
    bh_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),    cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_gelu),      cmocka_unit_test(test_attention),
        cmocka_unit_test(test_embedding), cmocka_unit_test(test_xent), cmocka_unit_test(test_xent_far_target),
        cmocka_unit_test(test_dropout),   cmocka_unit_test(test_model_grad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
