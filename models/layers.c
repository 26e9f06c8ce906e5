/* models/layers.c — transformer layers, forward and backward side by side.
 * Matrix products go through cblas_sgemm; the rest are plain loops written so
 * the compiler can vectorize them (restrict-free, unit stride, no branches in
 * the inner loop). */
#include "models/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "bhasha/model.h"
#include "models/fastmath.h"

/* The element-wise loops below are written to vectorize; -O2 alone only
 * vectorizes loops whose trip count is a known multiple of the vector width,
 * so this file asks for the full vectorizer, and the hottest loops are cloned
 * for AVX-512 and AVX2 with the variant picked at load time (ifunc). */
/* ThreadSanitizer's instrumentation breaks ifunc resolvers, which run before
 * its runtime starts: TSan builds use the plain loops. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#pragma GCC optimize("O3")
#define BH_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BH_SIMD
#endif

/* Work is handed to the pool as a context struct (the arguments) and a
 * trampoline that runs one range of units. Grains keep each part at least
 * a few thousand floats, so small shapes (tests, generation) stay inline. */
#define ROW_GRAIN(D) ((D) >= 2048 ? 1 : 2048 / (D))
#define COL_UNIT 16    /* columns per unit for column-split accumulations */
#define COL_GRAIN(N, units) ((N) >= 64 ? 1 : (units))
#define ELEM_UNIT 1024 /* elements per unit for element-wise loops */
#define ELEM_GRAIN 4

static int col_units(int D) { return (D + COL_UNIT - 1) / COL_UNIT; }
static int col_begin(int u, int D) { return u * COL_UNIT < D ? u * COL_UNIT : D; }

/* ------------------------------------------------------------ embeddings */

typedef struct embed_ctx {
    float *out, *dwte, *dwpe;
    const float *wte, *wpe, *dout;
    const int32_t *ids;
    int N, T, D;
} embed_ctx;

static void embed_fwd_part(void *vc, int i0, int i1, int tid)
{
    (void)tid;
    const embed_ctx *c = vc;
    int D = c->D;
    for (int i = i0; i < i1; i++) {
        const float *e = c->wte + (size_t)c->ids[i] * D;
        const float *p = c->wpe + (size_t)(i % c->T) * D;
        float *o = c->out + (size_t)i * D;
        for (int d = 0; d < D; d++) o[d] = e[d] + p[d];
    }
}

void bh__embed_fwd(bh__pool *pool, float *out, const int32_t *ids, const float *wte, const float *wpe,
                   int N, int T, int D)
{
    embed_ctx c = {.out = out, .wte = wte, .wpe = wpe, .ids = ids, .N = N, .T = T, .D = D};
    bh__pool_for(pool, N, ROW_GRAIN(D), embed_fwd_part, &c);
}

/* Rows that share a token id add into the same dwte row, so the split is
 * by column: each thread walks all rows in order over its columns. */
static void embed_bwd_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    const embed_ctx *c = vc;
    int D = c->D, d0 = col_begin(u0, D), d1 = col_begin(u1, D);
    for (int i = 0; i < c->N; i++) {
        float *ge = c->dwte + (size_t)c->ids[i] * D;
        float *gp = c->dwpe + (size_t)(i % c->T) * D;
        const float *g = c->dout + (size_t)i * D;
        for (int d = d0; d < d1; d++) {
            ge[d] += g[d];
            gp[d] += g[d];
        }
    }
}

void bh__embed_bwd(bh__pool *pool, float *dwte, float *dwpe, const float *dout, const int32_t *ids,
                   int N, int T, int D)
{
    embed_ctx c = {.dwte = dwte, .dwpe = dwpe, .dout = dout, .ids = ids, .N = N, .T = T, .D = D};
    bh__pool_for(pool, col_units(D), COL_GRAIN(N, col_units(D)), embed_bwd_part, &c);
}

/* ------------------------------------------------------------- LayerNorm */

typedef struct ln_ctx {
    float *out, *mean, *rstd, *dx, *dw, *db;
    const float *x, *w, *b, *dout, *cmean, *crstd;
    int N, D;
    float eps;
} ln_ctx;

/* Sum of x[0..n) in LANES independent partial sums: a plain `s += x[d]` is
 * one serial chain of dependent adds that the compiler may not reorder, so
 * it neither vectorizes nor pipelines; lane-wise sums do both. The order of
 * additions is fixed, so results do not depend on the machine's vector width. */
#define LANES 16
static inline float lane_sum(const float *x, int n)
{
    float acc[LANES] = {0};
    int d = 0;
    for (; d + LANES <= n; d += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[d + j];
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += acc[j];
    for (; d < n; d++) s += x[d];
    return s;
}

static inline float lane_sqdev(const float *x, int n, float m)
{
    float acc[LANES] = {0};
    int d = 0;
    for (; d + LANES <= n; d += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (x[d + j] - m) * (x[d + j] - m);
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += acc[j];
    for (; d < n; d++) s += (x[d] - m) * (x[d] - m);
    return s;
}

BH_SIMD static void ln_fwd_rows(const ln_ctx *c, int i0, int i1)
{
    int D = c->D;
    const float *w = c->w, *b = c->b;
    for (int i = i0; i < i1; i++) {
        const float *xi = c->x + (size_t)i * D;
        float *oi = c->out + (size_t)i * D;
        float m = lane_sum(xi, D) / (float)D;
        float v = lane_sqdev(xi, D, m) / (float)D; /* biased variance, as torch */
        float r = 1.0f / sqrtf(v + c->eps);
        for (int d = 0; d < D; d++) oi[d] = (xi[d] - m) * r * w[d] + b[d];
        c->mean[i] = m;
        c->rstd[i] = r;
    }
}

static void ln_fwd_part(void *vc, int i0, int i1, int tid)
{
    (void)tid;
    ln_fwd_rows(vc, i0, i1);
}

void bh__layernorm_fwd(bh__pool *pool, float *out, float *mean, float *rstd, const float *x,
                       const float *w, const float *b, int N, int D, float eps)
{
    ln_ctx c = {.out = out, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .N = N, .D = D, .eps = eps};
    bh__pool_for(pool, N, ROW_GRAIN(D), ln_fwd_part, &c);
}

/* With xhat = (x-m)*r and g = dout*w:
 * dx = r * (g - mean(g) - xhat * mean(g*xhat)); rows are independent. */
BH_SIMD static void ln_bwd_rows(const ln_ctx *c, int i0, int i1)
{
    int D = c->D;
    const float *w = c->w;
    for (int i = i0; i < i1; i++) {
        const float *xi = c->x + (size_t)i * D;
        const float *gi = c->dout + (size_t)i * D;
        float *dxi = c->dx + (size_t)i * D;
        float m = c->cmean[i], r = c->crstd[i];
        float ag[LANES] = {0}, agx[LANES] = {0}; /* lane-wise, as lane_sum */
        int d = 0;
        for (; d + LANES <= D; d += LANES)
            for (int j = 0; j < LANES; j++) {
                float g = gi[d + j] * w[d + j];
                ag[j] += g;
                agx[j] += g * (xi[d + j] - m) * r;
            }
        float sg = 0.0f, sgx = 0.0f;
        for (int j = 0; j < LANES; j++) sg += ag[j], sgx += agx[j];
        for (; d < D; d++) {
            float g = gi[d] * w[d];
            sg += g;
            sgx += g * (xi[d] - m) * r;
        }
        sg /= (float)D;
        sgx /= (float)D;
        for (int d = 0; d < D; d++) {
            float xh = (xi[d] - m) * r;
            dxi[d] += r * (gi[d] * w[d] - sg - xh * sgx);
        }
    }
}

/* dw += sum_i dout*xhat, db += sum_i dout: split by column, rows in order. */
BH_SIMD static void ln_bwd_cols(const ln_ctx *c, int d0, int d1)
{
    int D = c->D;
    float *dw = c->dw, *db = c->db;
    for (int i = 0; i < c->N; i++) {
        const float *xi = c->x + (size_t)i * D;
        const float *gi = c->dout + (size_t)i * D;
        float m = c->cmean[i], r = c->crstd[i];
        for (int d = d0; d < d1; d++) {
            float xh = (xi[d] - m) * r;
            dw[d] += gi[d] * xh;
            db[d] += gi[d];
        }
    }
}

static void ln_bwd_row_part(void *vc, int i0, int i1, int tid)
{
    (void)tid;
    ln_bwd_rows(vc, i0, i1);
}

static void ln_bwd_col_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    const ln_ctx *c = vc;
    ln_bwd_cols(c, col_begin(u0, c->D), col_begin(u1, c->D));
}

void bh__layernorm_bwd(bh__pool *pool, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *mean, const float *rstd, const float *w, int N, int D)
{
    ln_ctx c = {.dx = dx, .dw = dw, .db = db, .dout = dout, .x = x, .cmean = mean, .crstd = rstd,
                .w = w, .N = N, .D = D};
    bh__pool_for(pool, N, ROW_GRAIN(D), ln_bwd_row_part, &c);
    bh__pool_for(pool, col_units(D), COL_GRAIN(N, col_units(D)), ln_bwd_col_part, &c);
}

/* ---------------------------------------------------------------- linear */

typedef struct bias_ctx {
    float *out;
    const float *b;
    int O;
} bias_ctx;

static void bias_part(void *vc, int i0, int i1, int tid)
{
    (void)tid;
    const bias_ctx *c = vc;
    for (int i = i0; i < i1; i++) memcpy(c->out + (size_t)i * c->O, c->b, (size_t)c->O * sizeof(float));
}

/* Matrix-vector product y[n] (+)= w[n,:] . x for rows [n0, n1). At batch 1
 * (a generated token) every weight is read once per product, so this is a
 * pure memory stream: one row at a time in address order with 32 partial
 * sums (each lane its own accumulator, so it vectorizes without
 * reassociation). It streams at about twice the rate of OpenBLAS 0.3.21's
 * sgemv for the transformer's row lengths (24-29 against 12-13 GB/s on one
 * core of the development machine); `bhasha bench model --config dec-mini
 * --generate N` reports the weight bandwidth generation reaches. */
BH_SIMD static void gemv_rows(float *y, const float *w, const float *x, int n0, int n1, int K, int accumulate)
{
    for (int n = n0; n < n1; n++) {
        const float *r = w + (size_t)n * K;
        float acc[32] = {0};
        int k = 0;
        for (; k + 32 <= K; k += 32)
            for (int j = 0; j < 32; j++) acc[j] += r[k + j] * x[k + j];
        float s = 0;
        for (int j = 0; j < 32; j++) s += acc[j];
        for (; k < K; k++) s += r[k] * x[k];
        y[n] = accumulate ? y[n] + s : s;
    }
}

typedef struct gemv_ctx {
    float *y;
    const float *w, *x;
    int K, accumulate;
} gemv_ctx;

static void gemv_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    const gemv_ctx *c = vc;
    gemv_rows(c->y, c->w, c->x, u0, u1, c->K, c->accumulate);
}

void bh__gemv(bh__pool *pool, float *y, const float *w, const float *x, int N, int K, int accumulate)
{
    gemv_ctx c = {y, w, x, K, accumulate};
    bh__pool_for(pool, N, ROW_GRAIN(K), gemv_part, &c);
}

void bh__linear_fwd(bh__pool *pool, float *out, const float *x, const float *w, const float *b,
                    int N, int nin, int nout)
{
    float beta = 0.0f;
    if (b) { /* out starts as the bias in every row; the product adds onto it */
        bias_ctx c = {.out = out, .b = b, .O = nout};
        bh__pool_for(pool, N, ROW_GRAIN(nout), bias_part, &c);
        beta = 1.0f;
    }
    /* out[N,O] = x[N,I] . w[O,I]^T; one row (a generated token) as a
     * matrix-vector product: sgemm would first pack all of w, which for
     * M = 1 costs more than the product itself */
    if (N == 1) bh__gemv(pool, out, w, x, nout, nin, beta != 0.0f);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, nout, nin, 1.0f, x, nin, w, nin, beta, out, nout);
}

typedef struct colsum_ctx {
    float *db;
    const float *dout;
    int N, O;
} colsum_ctx;

BH_SIMD static void colsum_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    const colsum_ctx *c = vc;
    int o0 = col_begin(u0, c->O), o1 = col_begin(u1, c->O);
    for (int i = 0; i < c->N; i++) {
        const float *g = c->dout + (size_t)i * c->O;
        for (int o = o0; o < o1; o++) c->db[o] += g[o];
    }
}

void bh__linear_bwd(bh__pool *pool, float *dx, float *dw, float *db, const float *dout, const float *x,
                    const float *w, int N, int nin, int nout, int accumulate_dx)
{
    /* dx[N,I] = dout[N,O] . w[O,I] */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nin, nout, 1.0f, dout, nout, w, nin,
                    accumulate_dx ? 1.0f : 0.0f, dx, nin);
    /* dw[O,I] += dout^T[O,N] . x[N,I] */
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, N, 1.0f, dout, nout, x, nin, 1.0f, dw, nin);
    if (db) { /* db[O] += column sums of dout, split by column */
        colsum_ctx c = {.db = db, .dout = dout, .N = N, .O = nout};
        bh__pool_for(pool, col_units(nout), COL_GRAIN(N, col_units(nout)), colsum_part, &c);
    }
}

/* ------------------------------------------------------------------ GELU */

typedef struct ew_ctx {
    float *y;
    const float *a, *b;
    size_t n;
} ew_ctx;

static void ew_range(const ew_ctx *c, int u0, int u1, size_t *i0, size_t *i1)
{
    *i0 = (size_t)u0 * ELEM_UNIT;
    *i1 = (size_t)u1 * ELEM_UNIT;
    if (*i1 > c->n) *i1 = c->n;
}

static int ew_units(size_t n) { return (int)((n + ELEM_UNIT - 1) / ELEM_UNIT); }

BH_SIMD static void gelu_fwd_loop(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = bh__gelu(x[i]);
}

static void gelu_fwd_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    size_t i0, i1;
    ew_range(vc, u0, u1, &i0, &i1);
    const ew_ctx *c = vc;
    gelu_fwd_loop(c->y + i0, c->a + i0, i1 - i0);
}

void bh__gelu_fwd(bh__pool *pool, float *out, const float *x, size_t n)
{
    ew_ctx c = {.y = out, .a = x, .n = n};
    bh__pool_for(pool, ew_units(n), ELEM_GRAIN, gelu_fwd_part, &c);
}

BH_SIMD static void gelu_bwd_loop(float *dx, const float *x, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = BH__GELU_C * (v + 0.044715f * v * v * v);
        float t = bh__tanhf(u);
        float du = BH__GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        float g = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        dx[i] = g * dout[i];
    }
}

static void gelu_bwd_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    size_t i0, i1;
    ew_range(vc, u0, u1, &i0, &i1);
    const ew_ctx *c = vc;
    gelu_bwd_loop(c->y + i0, c->a + i0, c->b + i0, i1 - i0);
}

void bh__gelu_bwd(bh__pool *pool, float *dx, const float *x, const float *dout, size_t n)
{
    ew_ctx c = {.y = dx, .a = x, .b = dout, .n = n};
    bh__pool_for(pool, ew_units(n), ELEM_GRAIN, gelu_bwd_part, &c);
}

/* ------------------------------------------------------------- attention */

BH_SIMD static void exp_shift(float *row, int n, float mx)
{
    for (int j = 0; j < n; j++) row[j] = bh__expf(row[j] - mx);
}

/* max of row[0..n) over the keys the mask lets through (-INFINITY if none),
 * lane-wise like lane_sum */
static inline float masked_max(const float *row, int n, const uint8_t *mask)
{
    float acc[LANES];
    for (int j = 0; j < LANES; j++) acc[j] = -INFINITY;
    int d = 0;
    for (; d + LANES <= n; d += LANES)
        for (int j = 0; j < LANES; j++) {
            float v = !mask || mask[d + j] ? row[d + j] : -INFINITY;
            acc[j] = v > acc[j] ? v : acc[j];
        }
    float mx = -INFINITY;
    for (int j = 0; j < LANES; j++) mx = acc[j] > mx ? acc[j] : mx;
    for (; d < n; d++)
        if ((!mask || mask[d]) && row[d] > mx) mx = row[d];
    return mx;
}

BH_SIMD static void softmax_tail(float *row, int T, int nk, const uint8_t *mask, float mx)
{
    for (int j = 0; j < nk; j++) row[j] = bh__expf(row[j] - mx);
    if (mask)
        for (int j = 0; j < nk; j++) row[j] = mask[j] ? row[j] : 0.0f;
    float inv = 1.0f / lane_sum(row, nk);
    for (int j = 0; j < nk; j++) row[j] *= inv;
    for (int j = nk; j < T; j++) row[j] = 0.0f;
}

BH_SIMD void bh__softmax_row(float *row, int T, int nk, const uint8_t *mask)
{
    float mx = masked_max(row, nk, mask);
    if (mx == -INFINITY) { /* every key masked: no attention at all */
        memset(row, 0, (size_t)T * sizeof(float));
        return;
    }
    softmax_tail(row, T, nk, mask, mx);
}

typedef struct att_ctx {
    float *out, *att, *dqkv, *scratch;
    const float *qkv, *dout, *catt;
    const uint8_t *mask;
    int causal, B, T, D, H;
} att_ctx;

/* units are (batch, head) pairs u = b*H + h; each owns its slices of att,
 * out and dqkv, and its products run single-threaded (bh__pool_for_blas1) */
static void att_fwd_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    const att_ctx *c = vc;
    int T = c->T, D = c->D, H = c->H, hd = D / H, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    for (int u = u0; u < u1; u++) {
        int b = u / H, h = u % H;
        const uint8_t *mb = c->mask ? c->mask + (size_t)b * T : NULL;
        const float *q = c->qkv + (size_t)b * T * ld + (size_t)h * hd;
        const float *k = q + D, *v = q + 2 * D;
        float *p = c->att + (size_t)u * T * T;
        /* p[T,T] = scale * q[T,hd] . k[T,hd]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q, ld, k, ld, 0.0f, p, T);
        for (int i = 0; i < T; i++) bh__softmax_row(p + (size_t)i * T, T, c->causal ? i + 1 : T, mb);
        /* out[T,hd] = p[T,T] . v[T,hd] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, v, ld, 0.0f,
                    c->out + (size_t)b * T * D + (size_t)h * hd, D);
    }
}

void bh__attention_fwd(bh__pool *pool, float *out, float *att, const float *qkv, const uint8_t *mask,
                       int causal, int B, int T, int D, int H)
{
    att_ctx c = {.out = out, .att = att, .qkv = qkv, .mask = mask, .causal = causal, .B = B, .T = T, .D = D, .H = H};
    bh__pool_for_blas1(pool, B * H, 1, att_fwd_part, &c);
}

/* r = p * (r - sum_j p*r): the softmax's backward on one row (the dot lane-wise) */
BH_SIMD static void softmax_bwd_row(float *r, const float *p, int T)
{
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= T; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += p[j + k] * r[j + k];
    float s = 0.0f;
    for (int k = 0; k < LANES; k++) s += acc[k];
    for (; j < T; j++) s += p[j] * r[j];
    for (j = 0; j < T; j++) r[j] = p[j] * (r[j] - s);
}

static void att_bwd_part(void *vc, int u0, int u1, int tid)
{
    const att_ctx *c = vc;
    int T = c->T, D = c->D, H = c->H, hd = D / H, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    float *dp = c->scratch + (size_t)tid * T * T; /* [T,T] per thread */
    for (int u = u0; u < u1; u++) {
        int b = u / H, h = u % H;
        const float *q = c->qkv + (size_t)b * T * ld + (size_t)h * hd;
        const float *k = q + D, *v = q + 2 * D;
        float *dq = c->dqkv + (size_t)b * T * ld + (size_t)h * hd;
        float *dk = dq + D, *dv = dq + 2 * D;
        const float *p = c->catt + (size_t)u * T * T;
        const float *go = c->dout + (size_t)b * T * D + (size_t)h * hd;
        /* dp[T,T] = dout[T,hd] . v^T;  dv[T,hd] = p^T . dout */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, go, D, v, ld, 0.0f, dp, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, go, D, 0.0f, dv, ld);
        /* softmax backward: ds = p * (dp - sum_j p*dp) */
        for (int i = 0; i < T; i++) softmax_bwd_row(dp + (size_t)i * T, p + (size_t)i * T, T);
        /* dq = scale * ds . k;  dk = scale * ds^T . q */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dp, T, k, ld, 0.0f, dq, ld);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dp, T, q, ld, 0.0f, dk, ld);
    }
}

void bh__attention_bwd(bh__pool *pool, float *dqkv, float *scratch, const float *dout, const float *qkv,
                       const float *att, int B, int T, int D, int H)
{
    att_ctx c = {.dqkv = dqkv, .scratch = scratch, .dout = dout, .qkv = qkv, .catt = att,
                 .B = B, .T = T, .D = D, .H = H};
    bh__pool_for_blas1(pool, B * H, 1, att_bwd_part, &c);
}

/* --------------------------------------------------------------- dropout */

void bh__dropout_fwd(float *x, uint8_t *keep, float p, size_t n, uint64_t *rng)
{
    float s = 1.0f / (1.0f - p);
    /* threshold on 24 random bits */
    uint32_t thr = (uint32_t)(p * 16777216.0f);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(bh_rng_next(rng) >> 40);
        keep[i] = r >= thr;
        x[i] = keep[i] ? x[i] * s : 0.0f;
    }
}

void bh__dropout_bwd(float *dx, const uint8_t *keep, float p, size_t n)
{
    float s = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) dx[i] = keep[i] ? dx[i] * s : 0.0f;
}

BH_SIMD static void add_loop(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void add_part(void *vc, int u0, int u1, int tid)
{
    (void)tid;
    size_t i0, i1;
    ew_range(vc, u0, u1, &i0, &i1);
    const ew_ctx *c = vc;
    add_loop(c->y + i0, c->a + i0, c->b + i0, i1 - i0);
}

void bh__add(bh__pool *pool, float *y, const float *a, const float *b, size_t n)
{
    ew_ctx c = {.y = y, .a = a, .b = b, .n = n};
    bh__pool_for(pool, ew_units(n), ELEM_GRAIN, add_part, &c);
}

/* --------------------------------------------------------- cross-entropy */

typedef struct xent_ctx {
    float *logits;
    const int32_t *targets;
    double *nll;
    int V;
    float scale;
} xent_ctx;

/* rows of one chunk: logits -> scale * (softmax - onehot), nll[i] kept per
 * row so the caller sums them in row order */
static void xent_part(void *vc, int i0, int i1, int tid)
{
    (void)tid;
    const xent_ctx *c = vc;
    int V = c->V;
    for (int i = i0; i < i1; i++) {
        float *row = c->logits + (size_t)i * V;
        float mx = row[0];
        for (int j = 1; j < V; j++) mx = row[j] > mx ? row[j] : mx;
        int t = c->targets[i];
        float lt = row[t] - mx; /* the target's logit, shifted: log(softmax) = lt - log(sum) */
        exp_shift(row, V, mx);
        float sum = 0.0f;
        for (int j = 0; j < V; j++) sum += row[j];
        /* not -log(exp(lt) / sum), which is inf once exp(lt) underflows (a
         * target about 90 below the best logit) though the loss is finite */
        c->nll[i] = (double)logf(sum) - (double)lt;
        /* dlogits = scale * (softmax - onehot) */
        float inv = c->scale / sum;
        for (int j = 0; j < V; j++) row[j] *= inv;
        row[t] -= c->scale;
    }
}

bh_status bh__xent_fused_bf16(bh__pool *pool, const float *h, const bh__bf16w *wp, const bh__bf16w *wtp,
                              const int32_t *targets, int M, int D, int V, float scale, float *dh, float *dwte,
                              float *scratch, int chunk, uint16_t *xs, uint16_t *pairs, bh__bf16w *hp,
                              double *total)
{
    double nll[512];
    if (chunk > 512) chunk = 512;
    *total = 0.0;
    for (int r0 = 0; r0 < M; r0 += chunk) {
        int c = M - r0 < chunk ? M - r0 : chunk;
        const float *hc = h + (size_t)r0 * D;
        /* h^T packed first: the first chunk is the largest, so only it can
         * fail to allocate, before anything is added */
        bh_status st = bh__bf16w_pack_t(hp, hc, c, D);
        if (st) return st;
        /* logits[c,V] = h[c,D] . wte[V,D]^T */
        bh__bf16_linear(pool, scratch, hc, wp, NULL, c, 0, xs);
        xent_ctx xc = {.logits = scratch, .targets = targets + r0, .nll = nll, .V = V, .scale = scale};
        bh__pool_for(pool, c, V >= 2048 ? 1 : 2048 / V, xent_part, &xc);
        for (int i = 0; i < c; i++) *total += nll[i];
        /* dh[c,D] += dlogits[c,V] . wte[V,D] */
        bh__bf16_linear_add(pool, dh + (size_t)r0 * D, scratch, wtp, c, xs);
        /* dwte[V,D] += dlogits^T[V,c] . h[c,D]: dlogits paired by rows */
        bh__bf16_pair(pairs, scratch, c, V);
        bh__bf16_linear_paired(pool, dwte, pairs, hp, V, 1);
    }
    return BH_OK;
}

double bh__xent_fused(bh__pool *pool, const float *h, const float *wte, const int32_t *targets, int M, int D,
                      int V, float scale, float *dh, float *dwte, float *scratch, int chunk)
{
    double total = 0.0;
    double nll[512];
    if (chunk > 512) chunk = 512;
    for (int r0 = 0; r0 < M; r0 += chunk) {
        int c = M - r0 < chunk ? M - r0 : chunk;
        const float *hc = h + (size_t)r0 * D;
        /* logits[c,V] = h[c,D] . wte[V,D]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, V, D, 1.0f, hc, D, wte, D, 0.0f,
                    scratch, V);
        xent_ctx xc = {.logits = scratch, .targets = targets + r0, .nll = nll, .V = V, .scale = scale};
        bh__pool_for(pool, c, V >= 2048 ? 1 : 2048 / V, xent_part, &xc);
        for (int i = 0; i < c; i++) total += nll[i];
        if (dh) /* dh[c,D] += dlogits[c,V] . wte[V,D] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, D, V, 1.0f, scratch, V, wte,
                        D, 1.0f, dh + (size_t)r0 * D, D);
        if (dwte) /* dwte[V,D] += dlogits^T[V,c] . h[c,D] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, D, c, 1.0f, scratch, V, hc, D,
                        1.0f, dwte, D);
    }
    return total;
}
