/* models/layers.c — transformer layers, forward and backward side by side.
 * Matrix products go through cblas_sgemm; the rest are plain loops written so
 * the compiler can vectorize them (restrict-free, unit stride, no branches in
 * the inner loop). */
#include "models/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "bhasha/model.h"

/* The element-wise loops below are written to vectorize; -O2 alone only
 * vectorizes loops whose trip count is a known multiple of the vector width,
 * so this file asks for the full vectorizer, and the hottest loops are cloned
 * for AVX-512 and AVX2 with the variant picked at load time (ifunc). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#define BH_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BH_SIMD
#endif

/* exp(x) for x in [-87, 88], relative error ~2e-7: 2^n * e^r with
 * r = x - n ln2 in [-ln2/2, ln2/2] and a degree-6 polynomial. Branch-free
 * integer/float arithmetic only, so loops that call it vectorize (libm's
 * expf and tanhf do not). */
static inline float fast_expf(float x0)
{
    float x = x0 != x0 ? 0.0f : x0; /* NaN: computed on 0, returned as NaN below */
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504f + 12582912.0f; /* round to nearest via the 1.5*2^23 trick */
    float n = t - 12582912.0f;
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
              r * (0.00833345205f + r * 0.00138888889f)))));
    uint32_t e = (uint32_t)((int32_t)n + 127) << 23;
    float sc;
    memcpy(&sc, &e, sizeof sc);
    return x0 != x0 ? x0 : p * sc;
}

/* tanh(u) = 1 - 2 / (exp(2u) + 1); saturates correctly at both ends. */
static inline float fast_tanhf(float u)
{
    return 1.0f - 2.0f / (fast_expf(2.0f * u) + 1.0f);
}

/* ------------------------------------------------------------ embeddings */

void bh__embed_fwd(float *out, const int32_t *ids, const float *wte, const float *wpe,
                   int N, int T, int D)
{
    for (int i = 0; i < N; i++) {
        const float *e = wte + (size_t)ids[i] * D;
        const float *p = wpe + (size_t)(i % T) * D;
        float *o = out + (size_t)i * D;
        for (int d = 0; d < D; d++) o[d] = e[d] + p[d];
    }
}

void bh__embed_bwd(float *dwte, float *dwpe, const float *dout, const int32_t *ids,
                   int N, int T, int D)
{
    for (int i = 0; i < N; i++) {
        float *ge = dwte + (size_t)ids[i] * D;
        float *gp = dwpe + (size_t)(i % T) * D;
        const float *g = dout + (size_t)i * D;
        for (int d = 0; d < D; d++) {
            ge[d] += g[d];
            gp[d] += g[d];
        }
    }
}

/* ------------------------------------------------------------- LayerNorm */

BH_SIMD void bh__layernorm_fwd(float *out, float *mean, float *rstd, const float *x,
                       const float *w, const float *b, int N, int D, float eps)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D;
        float *oi = out + (size_t)i * D;
        float m = 0.0f;
        for (int d = 0; d < D; d++) m += xi[d];
        m /= (float)D;
        float v = 0.0f;
        for (int d = 0; d < D; d++) {
            float c = xi[d] - m;
            v += c * c;
        }
        v /= (float)D; /* biased variance, as torch */
        float r = 1.0f / sqrtf(v + eps);
        for (int d = 0; d < D; d++) oi[d] = (xi[d] - m) * r * w[d] + b[d];
        mean[i] = m;
        rstd[i] = r;
    }
}

BH_SIMD void bh__layernorm_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *mean, const float *rstd, const float *w, int N, int D)
{
    /* With xhat = (x-m)*r and g = dout*w:
     * dx = r * (g - mean(g) - xhat * mean(g*xhat)) */
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D;
        const float *gi = dout + (size_t)i * D;
        float *dxi = dx + (size_t)i * D;
        float m = mean[i], r = rstd[i];
        float sg = 0.0f, sgx = 0.0f;
        for (int d = 0; d < D; d++) {
            float xh = (xi[d] - m) * r;
            float g = gi[d] * w[d];
            sg += g;
            sgx += g * xh;
            dw[d] += gi[d] * xh;
            db[d] += gi[d];
        }
        sg /= (float)D;
        sgx /= (float)D;
        for (int d = 0; d < D; d++) {
            float xh = (xi[d] - m) * r;
            dxi[d] += r * (gi[d] * w[d] - sg - xh * sgx);
        }
    }
}

/* ---------------------------------------------------------------- linear */

void bh__linear_fwd(float *out, const float *x, const float *w, const float *b,
                    int N, int nin, int nout)
{
    float beta = 0.0f;
    if (b) {
        for (int i = 0; i < N; i++) memcpy(out + (size_t)i * nout, b, (size_t)nout * sizeof(float));
        beta = 1.0f;
    }
    /* out[N,O] = x[N,I] . w[O,I]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, nout, nin, 1.0f, x, nin, w, nin, beta, out, nout);
}

void bh__linear_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                    const float *w, int N, int nin, int nout, int accumulate_dx)
{
    /* dx[N,I] = dout[N,O] . w[O,I] */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nin, nout, 1.0f, dout, nout, w, nin,
                    accumulate_dx ? 1.0f : 0.0f, dx, nin);
    /* dw[O,I] += dout^T[O,N] . x[N,I] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, N, 1.0f, dout, nout, x, nin, 1.0f, dw, nin);
    if (db)
        for (int i = 0; i < N; i++) {
            const float *g = dout + (size_t)i * nout;
            for (int o = 0; o < nout; o++) db[o] += g[o];
        }
}

/* ------------------------------------------------------------------ GELU */

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

BH_SIMD void bh__gelu_fwd(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = GELU_C * (v + 0.044715f * v * v * v);
        out[i] = 0.5f * v * (1.0f + fast_tanhf(u));
    }
}

BH_SIMD void bh__gelu_bwd(float *dx, const float *x, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = GELU_C * (v + 0.044715f * v * v * v);
        float t = fast_tanhf(u);
        float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        float g = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        dx[i] = g * dout[i];
    }
}

/* ------------------------------------------------------------- attention */

BH_SIMD static void exp_shift(float *row, int n, float mx)
{
    for (int j = 0; j < n; j++) row[j] = fast_expf(row[j] - mx);
}

void bh__softmax_row(float *row, int T, int nk, const uint8_t *mask)
{
    float mx = -INFINITY;
    for (int j = 0; j < nk; j++)
        if ((!mask || mask[j]) && row[j] > mx) mx = row[j];
    if (mx == -INFINITY) { /* every key masked: no attention at all */
        memset(row, 0, (size_t)T * sizeof(float));
        return;
    }
    exp_shift(row, nk, mx);
    if (mask)
        for (int j = 0; j < nk; j++) row[j] = mask[j] ? row[j] : 0.0f;
    float sum = 0.0f;
    for (int j = 0; j < nk; j++) sum += row[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < nk; j++) row[j] *= inv;
    for (int j = nk; j < T; j++) row[j] = 0.0f;
}

void bh__attention_fwd(float *out, float *att, const float *qkv, const uint8_t *mask,
                       int causal, int B, int T, int D, int H)
{
    int hd = D / H, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        const uint8_t *mb = mask ? mask + (size_t)b * T : NULL;
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * ld + (size_t)h * hd;
            const float *k = q + D, *v = q + 2 * D;
            float *p = att + ((size_t)b * H + h) * T * T;
            /* p[T,T] = scale * q[T,hd] . k[T,hd]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q, ld, k, ld,
                        0.0f, p, T);
            for (int i = 0; i < T; i++) bh__softmax_row(p + (size_t)i * T, T, causal ? i + 1 : T, mb);
            /* out[T,hd] = p[T,T] . v[T,hd] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, v, ld,
                        0.0f, out + (size_t)b * T * D + (size_t)h * hd, D);
        }
    }
}

void bh__attention_bwd(float *dqkv, float *scratch, const float *dout, const float *qkv,
                       const float *att, int B, int T, int D, int H)
{
    int hd = D / H, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * ld + (size_t)h * hd;
            const float *k = q + D, *v = q + 2 * D;
            float *dq = dqkv + (size_t)b * T * ld + (size_t)h * hd;
            float *dk = dq + D, *dv = dq + 2 * D;
            const float *p = att + ((size_t)b * H + h) * T * T;
            const float *go = dout + (size_t)b * T * D + (size_t)h * hd;
            float *dp = scratch;
            /* dp[T,T] = dout[T,hd] . v^T;  dv[T,hd] = p^T . dout */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, go, D, v, ld,
                        0.0f, dp, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, go, D,
                        0.0f, dv, ld);
            /* softmax backward: ds = p * (dp - sum_j p*dp) */
            for (int i = 0; i < T; i++) {
                const float *pr = p + (size_t)i * T;
                float *r = dp + (size_t)i * T;
                float s = 0.0f;
                for (int j = 0; j < T; j++) s += pr[j] * r[j];
                for (int j = 0; j < T; j++) r[j] = pr[j] * (r[j] - s);
            }
            /* dq = scale * ds . k;  dk = scale * ds^T . q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dp, T, k, ld,
                        0.0f, dq, ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dp, T, q, ld,
                        0.0f, dk, ld);
        }
    }
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

BH_SIMD void bh__add(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/* --------------------------------------------------------- cross-entropy */

double bh__xent_fused(const float *h, const float *wte, const int32_t *targets, int M, int D,
                      int V, float scale, float *dh, float *dwte, float *scratch, int chunk)
{
    double total = 0.0;
    for (int r0 = 0; r0 < M; r0 += chunk) {
        int c = M - r0 < chunk ? M - r0 : chunk;
        const float *hc = h + (size_t)r0 * D;
        /* logits[c,V] = h[c,D] . wte[V,D]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, V, D, 1.0f, hc, D, wte, D, 0.0f,
                    scratch, V);
        for (int i = 0; i < c; i++) {
            float *row = scratch + (size_t)i * V;
            float mx = row[0];
            for (int j = 1; j < V; j++) mx = row[j] > mx ? row[j] : mx;
            exp_shift(row, V, mx);
            float sum = 0.0f;
            for (int j = 0; j < V; j++) sum += row[j];
            int t = targets[r0 + i];
            total += -(double)logf(row[t] / sum);
            /* dlogits = scale * (softmax - onehot) */
            float inv = scale / sum;
            for (int j = 0; j < V; j++) row[j] *= inv;
            row[t] -= scale;
        }
        if (dh) /* dh[c,D] += dlogits[c,V] . wte[V,D] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, D, V, 1.0f, scratch, V, wte,
                        D, 1.0f, dh + (size_t)r0 * D, D);
        if (dwte) /* dwte[V,D] += dlogits^T[V,c] . h[c,D] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, D, c, 1.0f, scratch, V, hc, D,
                        1.0f, dwte, D);
    }
    return total;
}
