/* models/gemm_bf16.h — the linear layer's products in bfloat16, for inference
 * and training: out[M,N] = x[M,K] . W[N,K]^T + b, with x and W rounded to
 * bf16 (round to nearest even) and every product accumulated in fp32; and
 * the two products of the backward pass, dx = dout . W (W^T packed) and
 * dW += dout^T . x (dout paired by rows, x^T packed). It runs on CPUs with
 * AVX512-BF16 (VDPBF16PS: 32 multiply-adds per instruction, twice the fp32
 * FMA rate), through our own kernel: Debian's OpenBLAS 0.3.21 is built
 * without its sbgemm.
 *
 * Why the error is small and bounded: a bf16 x bf16 product is exact in fp32,
 * so the only departures from an fp32 product are the two roundings of the
 * inputs (relative 2^-9 each) and the fp32 sums. tests/test_gemm_bf16.c
 * checks the kernel against a double-precision product of the rounded inputs.
 *
 * Weights are packed once (bh__bf16w_pack) into the kernel's layout: panels
 * of 32 output rows, k in pairs, [N/32][K/2][32][2] bf16, zero-padded, so a
 * panel's k-pair is one 64-byte vector per 16 outputs. Inputs are rounded
 * per block of rows into per-thread scratch inside bh__bf16_linear.
 *
 * Memory: a bh__bf16w owns its packed array (bh__bf16w_free). Private to
 * libbhasha. */
#ifndef BH_MODELS_GEMM_BF16_H
#define BH_MODELS_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"
#include "models/threads.h"

typedef struct bh__bf16w {
    uint16_t *p; /* [Np/32][Kp/2][32][2] */
    int N, K;    /* the fp32 weight's shape [N,K] */
    int Np, Kp;  /* N rounded up to 32, K to 2 */
    size_t cap;  /* elements p holds (a repack reuses them) */
} bh__bf16w;

/* 1 when this CPU runs the kernel (AVX512-BF16 and the OS saves the
 * AVX-512 state), 0 otherwise; the build may also lack the kernel. */
int bh__bf16_supported(void);

/* Packs W[N,K] (fp32, row-major as the model stores linears) into w, whose
 * earlier contents are ignored. BH_ENOMEM, BH_EINVAL for a shape < 1. */
bh_status bh__bf16w_pack(bh__bf16w *w, const float *W, int N, int K);
/* The same into a w that is zeroed or packed before: its array is reused when
 * large enough (training packs the weights again every step). On an error w
 * is left empty (freed). */
bh_status bh__bf16w_repack(bh__bf16w *w, const float *W, int N, int K);
/* Packs A^T for A[R,C] (fp32, row-major) without forming the transpose: the
 * weight [C,R] of a product that sums over A's rows (dx = dout . W packs W
 * this way; dW = dout^T . x packs x). w as for bh__bf16w_repack. */
bh_status bh__bf16w_pack_t(bh__bf16w *w, const float *A, int R, int C);

/* A[R,C] (fp32, row-major) as bf16 pairs of rows, [ceil(R/2)][C][2] (an odd
 * R's last row pairs with 0): the left operand A^T of
 * bh__bf16_linear_paired. dst holds bh__bf16_paired_size(R, C) elements. */
size_t bh__bf16_paired_size(int R, int C);
void bh__bf16_pair(uint16_t *dst, const float *A, int R, int C);
void bh__bf16w_free(bh__bf16w *w);

/* Scratch (uint16_t elements) that bh__bf16_linear needs for `threads`
 * threads and inputs of width up to K. */
size_t bh__bf16_scratch_size(int threads, int K);

/* out[M,N] = x[M,K] . W^T (+ bias[N] when not NULL), then GELU (tanh
 * form, bh__gelu) when gelu is 1, with scratch of
 * bh__bf16_scratch_size(bh__pool_size(pool), K) elements. Does nothing
 * unless bh__bf16_supported(). Rows are split between the pool's threads in
 * blocks; each row's result is the same for any thread count. */
void bh__bf16_linear(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, const float *bias, int M,
                     int gelu, uint16_t *scratch);

/* out[M,N] += x[M,K] . W^T (no bias), as bh__bf16_linear otherwise. */
void bh__bf16_linear_add(bh__pool *pool, float *out, const float *x, const bh__bf16w *w, int M, uint16_t *scratch);

/* out[M,N] (+= when add, else =) A^T . W^T, where ap is A[K,M] paired by
 * bh__bf16_pair(ap, A, K, M) and w packs W[N,K] (K = w->K): the weight
 * gradient dW[O,I] += dout[T,O]^T . x[T,I] is ap = pair(dout, T, O), w =
 * pack_t(x, T, I), M = O. Needs no scratch. Does nothing unless
 * bh__bf16_supported(). */
void bh__bf16_linear_paired(bh__pool *pool, float *out, const uint16_t *ap, const bh__bf16w *w, int M, int add);

/* x rounded to bf16 and back exactly as the hardware conversion does it
 * (round to nearest even; fp32 subnormals become signed zero): used to pack
 * the weights, and the reference for tests. */
float bh__bf16_round(float x);

#endif
