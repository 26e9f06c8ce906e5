/* models/gemm_bf16.c — bf16 linear products with fp32 accumulation (see the
 * header). Blocking, for one thread's block of MC rows:
 *   round the block's rows to bf16 into scratch          [MC, Kp]  (L2)
 *     (a paired left operand is already bf16: read in place)
 *   for each k-chunk of KC pairs:
 *     for each panel of 32 outputs (KC*32*2 bf16 = 16 KB, stays in L1):
 *       for each micro-tile of MR rows: MR x 32 accumulators in registers,
 *         one broadcast pair of x and two panel vectors per k-pair.
 * The kernel reads x as k-pairs, so a product that sums over rows (the
 * weight gradient dout^T . x sums over tokens) needs no transpose: pairing
 * two rows puts each column's two values side by side, for the left operand
 * (bh__bf16_pair) and for the packed right one (bh__bf16w_pack_t) alike. */
#include "models/gemm_bf16.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the fused GELU loop vectorizes */
#endif

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/fastmath.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && \
    __GNUC__ >= 11
#define BH_HAVE_BF16 1
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

#define MR 12   /* rows per micro-tile: 24 accumulators + 2 panel vectors + 1 broadcast */
#define NR 32   /* outputs per panel: two 16-lane vectors */
#define MC 96   /* rows per block (a pool unit) */
#define KC 128  /* k-pairs per chunk: a 16 KB panel slice */

float bh__bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) { /* Inf stays, NaN stays NaN */
        if (u & 0x007fffffu) u |= 0x00400000u;
    } else if ((u & 0x7f800000u) == 0) { /* subnormal: signed zero, as VCVTNEPS2BF16 */
        u &= 0x80000000u;
    } else {
        u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    }
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint16_t to_bf16(float x)
{
    float r = bh__bf16_round(x);
    uint32_t u;
    memcpy(&u, &r, sizeof u);
    return (uint16_t)(u >> 16);
}

/* Gives w the shape [N,K] with a zeroed array, keeping the array it has when
 * that is large enough. */
static bh_status reshape(bh__bf16w *w, int N, int K)
{
    if (N < 1 || K < 1) return bh__fail(BH_EINVAL, "bf16: bad weight shape [%d,%d]", N, K);
    int Np = (N + NR - 1) / NR * NR, Kp = (K + 1) / 2 * 2;
    size_t n = (size_t)Np * Kp;
    if (n > w->cap) {
        free(w->p);
        w->cap = 0;
        if (!(w->p = malloc(n * sizeof *w->p))) {
            memset(w, 0, sizeof *w);
            return bh__fail(BH_ENOMEM, "bf16: cannot allocate %zu packed weights", n);
        }
        w->cap = n;
    }
    memset(w->p, 0, n * sizeof *w->p);
    w->N = N, w->K = K, w->Np = Np, w->Kp = Kp;
    return BH_OK;
}

bh_status bh__bf16w_pack(bh__bf16w *w, const float *W, int N, int K)
{
    memset(w, 0, sizeof *w);
    return bh__bf16w_repack(w, W, N, K);
}

#ifdef BH_HAVE_BF16
/* One row's k-pairs into its panel column (dst: the row's pair for kp = 0;
 * a panel's k-pairs are NR pairs apart), 16 pairs at a time: 32 values
 * converted by VCVTNEPS2BF16 are 16 pairs in order, scattered NR apart.
 * Returns the pairs done. */
BF16_TARGET static int pack_row16(uint16_t *dst, const float *row, int K)
{
    const __m512i at = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi32(NR));
    int kp = 0;
    for (; 2 * kp + 32 <= K; kp += 16) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 2 * kp + 16), _mm512_loadu_ps(row + 2 * kp));
        _mm512_i32scatter_epi32(dst + (size_t)kp * NR * 2, at, (__m512i)v, 4);
    }
    return kp;
}
#endif

bh_status bh__bf16w_repack(bh__bf16w *w, const float *W, int N, int K)
{
    bh_status st = reshape(w, N, K);
    if (st) return st;
#ifdef BH_HAVE_BF16
    int fast = bh__bf16_supported();
#endif
    for (int n0 = 0; n0 < N; n0++) {
        const float *row = W + (size_t)n0 * K;
        /* the row's pair for kp is at dst + kp * NR * 2 */
        uint16_t *dst = w->p + (size_t)(n0 / NR) * (w->Kp / 2) * NR * 2 + 2 * (n0 % NR);
        int kp = 0;
#ifdef BH_HAVE_BF16
        if (fast) kp = pack_row16(dst, row, K);
#endif
        for (; kp < w->Kp / 2; kp++) {
            dst[(size_t)kp * NR * 2] = to_bf16(row[2 * kp]);
            dst[(size_t)kp * NR * 2 + 1] = 2 * kp + 1 < K ? to_bf16(row[2 * kp + 1]) : 0;
        }
    }
    return BH_OK;
}

#ifdef BH_HAVE_BF16
/* pair_rows 16 columns at a time: both rows converted by VCVTNEPS2BF16 (the
 * rounding bh__bf16_round reproduces), widened to 32 bits and merged, the
 * second row's value in the high half. Returns the columns done. */
BF16_TARGET static int pair_rows16(uint16_t *d, const float *a0, const float *a1, int nc)
{
    int j = 0;
    for (; j + 16 <= nc; j += 16) {
        __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a0 + j)));
        __m512i hi = a1 ? _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a1 + j)))
                        : _mm512_setzero_si512();
        _mm512_storeu_si512(d + 2 * j, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
    return j;
}
#endif

/* Rows 2kp and 2kp+1 of A (fp32, row stride lda; an odd R's last row pairs
 * with 0), columns [c0, c0 + nc), as bf16 pairs: dst[kp * kstride + 2j + t]
 * = A[2kp + t][c0 + j]. The layout of a packed panel (kstride 64) and of a
 * paired operand (kstride 2C). */
static void pair_rows(uint16_t *dst, size_t kstride, const float *A, size_t lda, int R, int c0, int nc)
{
#ifdef BH_HAVE_BF16
    int fast = bh__bf16_supported();
#endif
    for (int kp = 0; 2 * kp < R; kp++) {
        const float *a0 = A + (size_t)2 * kp * lda + c0, *a1 = 2 * kp + 1 < R ? a0 + lda : NULL;
        uint16_t *d = dst + (size_t)kp * kstride;
        int j = 0;
#ifdef BH_HAVE_BF16
        if (fast) j = pair_rows16(d, a0, a1, nc);
#endif
        for (; j < nc; j++) {
            d[2 * j] = to_bf16(a0[j]);
            d[2 * j + 1] = a1 ? to_bf16(a1[j]) : 0;
        }
    }
}

bh_status bh__bf16w_pack_t(bh__bf16w *w, const float *A, int R, int C)
{
    bh_status st = reshape(w, C, R);
    if (st) return st;
    for (int nb = 0; nb < w->Np / NR; nb++) {
        int c0 = nb * NR;
        pair_rows(w->p + (size_t)nb * (w->Kp / 2) * NR * 2, NR * 2, A, (size_t)C, R, c0, C - c0 < NR ? C - c0 : NR);
    }
    return BH_OK;
}

size_t bh__bf16_paired_size(int R, int C) { return (size_t)(R + 1) / 2 * 2 * (size_t)C; }

void bh__bf16_pair(uint16_t *dst, const float *A, int R, int C) { pair_rows(dst, (size_t)2 * C, A, (size_t)C, R, 0, C); }

size_t bh__bf16_scratch_size(int threads, int K)
{
    return (size_t)(threads < 1 ? 1 : threads) * MC * ((K + 1) / 2 * 2);
}

void bh__bf16w_free(bh__bf16w *w)
{
    if (!w) return;
    free(w->p);
    memset(w, 0, sizeof *w);
}

#ifdef BH_HAVE_BF16

int bh__bf16_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

/* rows [0,m) of x [.,K] (fp32, row stride K) -> dst [m,Kp] bf16 */
BF16_TARGET static void round_rows(uint16_t *dst, const float *x, int m, int K, int Kp)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * K;
        uint16_t *d = dst + (size_t)i * Kp;
        int k = 0;
        for (; k + 32 <= K; k += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xr + k + 16), _mm512_loadu_ps(xr + k));
            _mm512_storeu_si512(d + k, (__m512i)v);
        }
        for (; k < K; k++) d[k] = to_bf16(xr[k]);
        if (K < Kp) d[K] = 0;
    }
}

/* c[mr,ncols] (+)= xb[mr, kp0..kp0+nkp pairs] . panel; first: c = acc + bias
 * (bias may be NULL), otherwise the sums add onto c. Row i's k-pair kp is at
 * xb[i * ldx + kp * ldk] (rounded rows: ldk 2; a paired operand: ldx 2). mr
 * is a constant at every call site, so the accumulators stay in registers. */
BF16_TARGET static inline __attribute__((always_inline)) void
micro(const int mr, const uint16_t *xb, int ldx, const int ldk, const uint16_t *panel, int nkp, float *c, int ldc,
      int ncols, const float *bias, int first)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int kp = 0; kp < nkp; kp++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + (size_t)kp * 64);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + (size_t)kp * 64 + 32);
#pragma GCC unroll 12
        for (int i = 0; i < mr; i++) {
            int32_t pair;
            memcpy(&pair, xb + (size_t)i * ldx + (size_t)kp * ldk, sizeof pair);
            __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
    __mmask16 m1 = ncols >= 32 ? 0xffff : ncols > 16 ? (__mmask16)((1u << (ncols - 16)) - 1) : 0;
    __m512 s0, s1;
    if (first) {
        s0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
        s1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    }
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 v0 = first ? s0 : _mm512_maskz_loadu_ps(m0, ci);
        __m512 v1 = first ? s1 : _mm512_maskz_loadu_ps(m1, ci + 16);
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(v0, acc[i][0]));
        _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(v1, acc[i][1]));
    }
}

/* One row (a generated token): the weights stream from memory once, so the
 * limit is how many loads are in flight; four independent accumulator pairs
 * (k-pairs taken round-robin) keep the chain of dependent multiply-adds from
 * throttling the stream. Panels [p0, p1) of the whole K. */
BF16_TARGET static void row1(const uint16_t *xb, const bh__bf16w *w, const float *bias, float *out, int p0, int p1)
{
    int npairs = w->Kp / 2;
    for (int nb = p0; nb < p1; nb++) {
        const uint16_t *panel = w->p + (size_t)nb * npairs * NR * 2;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        int kp = 0;
        for (; kp + 4 <= npairs; kp += 4) {
            const uint16_t *q = panel + (size_t)kp * 64;
            int32_t x0, x1, x2, x3;
            memcpy(&x0, xb + 2 * kp, 4), memcpy(&x1, xb + 2 * kp + 2, 4);
            memcpy(&x2, xb + 2 * kp + 4, 4), memcpy(&x3, xb + 2 * kp + 6, 4);
            __m512bh v0 = (__m512bh)_mm512_set1_epi32(x0), v1 = (__m512bh)_mm512_set1_epi32(x1);
            __m512bh v2 = (__m512bh)_mm512_set1_epi32(x2), v3 = (__m512bh)_mm512_set1_epi32(x3);
            a0 = _mm512_dpbf16_ps(a0, v0, (__m512bh)_mm512_loadu_si512(q));
            a1 = _mm512_dpbf16_ps(a1, v0, (__m512bh)_mm512_loadu_si512(q + 32));
            b0 = _mm512_dpbf16_ps(b0, v1, (__m512bh)_mm512_loadu_si512(q + 64));
            b1 = _mm512_dpbf16_ps(b1, v1, (__m512bh)_mm512_loadu_si512(q + 96));
            c0 = _mm512_dpbf16_ps(c0, v2, (__m512bh)_mm512_loadu_si512(q + 128));
            c1 = _mm512_dpbf16_ps(c1, v2, (__m512bh)_mm512_loadu_si512(q + 160));
            d0 = _mm512_dpbf16_ps(d0, v3, (__m512bh)_mm512_loadu_si512(q + 192));
            d1 = _mm512_dpbf16_ps(d1, v3, (__m512bh)_mm512_loadu_si512(q + 224));
        }
        for (; kp < npairs; kp++) {
            const uint16_t *q = panel + (size_t)kp * 64;
            int32_t x0;
            memcpy(&x0, xb + 2 * kp, 4);
            __m512bh v0 = (__m512bh)_mm512_set1_epi32(x0);
            a0 = _mm512_dpbf16_ps(a0, v0, (__m512bh)_mm512_loadu_si512(q));
            a1 = _mm512_dpbf16_ps(a1, v0, (__m512bh)_mm512_loadu_si512(q + 32));
        }
        a0 = _mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(c0, d0));
        a1 = _mm512_add_ps(_mm512_add_ps(a1, b1), _mm512_add_ps(c1, d1));
        int ncols = w->N - nb * NR < NR ? w->N - nb * NR : NR;
        __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
        __mmask16 m1 = ncols >= 32 ? 0xffff : ncols > 16 ? (__mmask16)((1u << (ncols - 16)) - 1) : 0;
        if (bias) {
            a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m0, bias + nb * NR));
            a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m1, bias + nb * NR + 16));
        }
        _mm512_mask_storeu_ps(out + nb * NR, m0, a0);
        _mm512_mask_storeu_ps(out + nb * NR + 16, m1, a1);
    }
}

typedef struct bf16_ctx {
    float *out;
    const float *x, *bias;
    const uint16_t *xp; /* a paired left operand (bh__bf16_pair) instead of x */
    const bh__bf16w *w;
    uint16_t *scratch; /* [threads][MC*Kp] */
    int M, gelu, add;  /* add: the product adds onto out */
} bf16_ctx;

/* GELU over a block's panel of outputs, while it is still in cache */
BF16_TARGET static void gelu_tile(float *c, int ldc, int m, int ncols)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < ncols; j++) ci[j] = bh__gelu(ci[j]);
    }
}

/* Rows [r0, r0+m) of the product; ldk is a constant at both call sites:
 * 2 for rows rounded into xb, 2M for a paired operand. */
BF16_TARGET static inline __attribute__((always_inline)) void
block_rows(const bf16_ctx *c, int r0, int m, const uint16_t *xb, int ldx, const int ldk)
{
    const bh__bf16w *w = c->w;
    int N = w->N, npairs = w->Kp / 2;
    for (int k0 = 0; k0 < npairs; k0 += KC) {
        int nkp = npairs - k0 < KC ? npairs - k0 : KC, first = k0 == 0 && !c->add;
        for (int nb = 0; nb < w->Np / NR; nb++) {
            const uint16_t *panel = w->p + ((size_t)nb * npairs + k0) * NR * 2;
            int ncols = N - nb * NR < NR ? N - nb * NR : NR;
            const float *bias = c->bias ? c->bias + nb * NR : NULL;
            float *cb = c->out + (size_t)r0 * N + nb * NR;
            const uint16_t *xk = xb + (size_t)k0 * ldk;
            int i = 0;
            for (; i + MR <= m; i += MR)
                micro(MR, xk + (size_t)i * ldx, ldx, ldk, panel, nkp, cb + (size_t)i * N, N, ncols, bias, first);
            /* the block's last rows: one constant-size call per remainder */
            switch (m - i) {
#define REM(R) \
    case R: micro(R, xk + (size_t)i * ldx, ldx, ldk, panel, nkp, cb + (size_t)i * N, N, ncols, bias, first); break;
                REM(1) REM(2) REM(3) REM(4) REM(5) REM(6) REM(7) REM(8) REM(9) REM(10) REM(11)
#undef REM
            default: break;
            }
            if (c->gelu && k0 + KC >= npairs) gelu_tile(cb, N, m, ncols);
        }
    }
}

BF16_TARGET static void block(const bf16_ctx *c, int u, uint16_t *xb)
{
    int r0 = u * MC, m = c->M - r0 < MC ? c->M - r0 : MC;
    if (c->xp) {
        block_rows(c, r0, m, c->xp + (size_t)2 * r0, 2, 2 * c->M);
    } else {
        round_rows(xb, c->x + (size_t)r0 * c->w->K, m, c->w->K, c->w->Kp);
        block_rows(c, r0, m, xb, c->w->Kp, 2);
    }
}

static void row1_part(void *vc, int u0, int u1, int tid)
{
    const bf16_ctx *c = vc;
    row1(c->scratch, c->w, c->bias, c->out, u0, u1);
    (void)tid;
    if (c->gelu) gelu_tile(c->out + u0 * NR, 0, 1, (u1 * NR < c->w->N ? u1 * NR : c->w->N) - u0 * NR);
}

static void bf16_part(void *vc, int u0, int u1, int tid)
{
    const bf16_ctx *c = vc;
    uint16_t *xb = c->scratch ? c->scratch + (size_t)tid * MC * c->w->Kp : NULL; /* a paired operand needs none */
    for (int u = u0; u < u1; u++) block(c, u, xb);
}

void bh__bf16_linear_add(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, int M, uint16_t *scratch)
{
    bf16_ctx c = {.out = out, .x = x, .w = w, .scratch = scratch, .M = M, .add = 1};
    bh__pool_for(pool, (M + MC - 1) / MC, 1, bf16_part, &c);
}

void bh__bf16_linear_paired(bh__pool *pool, float *out, const uint16_t *ap, const bh__bf16w *w, int M, int add)
{
    bf16_ctx c = {.out = out, .xp = ap, .w = w, .M = M, .add = add};
    bh__pool_for(pool, (M + MC - 1) / MC, 1, bf16_part, &c);
}

void bh__bf16_linear(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, const float *bias, int M,
                     int gelu, uint16_t *scratch)
{
    bf16_ctx c = {.out = out, .x = x, .bias = bias, .w = w, .scratch = scratch, .M = M, .gelu = gelu};
    if (M == 1) { /* one row: split the panels between the threads instead */
        round_rows(scratch, x, 1, w->K, w->Kp);
        bh__pool_for(pool, w->Np / NR, 8, row1_part, &c);
        return;
    }
    bh__pool_for(pool, (M + MC - 1) / MC, 1, bf16_part, &c);
}

#else

int bh__bf16_supported(void) { return 0; }

void bh__bf16_linear(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, const float *bias, int M,
                     int gelu, uint16_t *scratch)
{
    (void)pool, (void)out, (void)x, (void)w, (void)bias, (void)M, (void)gelu, (void)scratch;
}

void bh__bf16_linear_add(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, int M, uint16_t *scratch)
{
    (void)pool, (void)out, (void)x, (void)w, (void)M, (void)scratch;
}

void bh__bf16_linear_paired(bh__pool *pool, float *out, const uint16_t *ap, const bh__bf16w *w, int M, int add)
{
    (void)pool, (void)out, (void)ap, (void)w, (void)M, (void)add;
}

#endif
