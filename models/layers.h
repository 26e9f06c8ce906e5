/* models/layers.h — the transformer's layers, each forward pass next to its
 * backward pass. Private to libbhasha.
 *
 * All tensors are contiguous row-major fp32; N = B*T rows. Backward functions
 * ACCUMULATE (+=) into parameter gradients and, where stated, into the input
 * gradient, so residual branches sum without extra copies. Nothing here
 * allocates: the caller passes every buffer.
 *
 * Threads: functions taking a bh__pool split their rows (or columns, heads,
 * elements) over it; pool may be NULL (one thread). Every unit of work is
 * computed by the same operations in the same order whatever the split, and
 * accumulations into shared gradients are split by column, never by row, so
 * results are bit-identical for any number of threads. */
#ifndef BH_MODELS_LAYERS_H
#define BH_MODELS_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"
#include "models/gemm_bf16.h"
#include "models/threads.h"

/* out[N,D] = wte[ids[i]] + wpe[i % T]. ids are checked by the caller. */
void bh__embed_fwd(bh__pool *pool, float *out, const int32_t *ids, const float *wte, const float *wpe,
                   int N, int T, int D);
/* dwte[ids[i]] += dout[i]; dwpe[i % T] += dout[i]. */
void bh__embed_bwd(bh__pool *pool, float *dwte, float *dwpe, const float *dout, const int32_t *ids,
                   int N, int T, int D);

/* out[N,D] = (x - mean) * rstd * w + b; keeps mean[N], rstd[N] for backward. */
void bh__layernorm_fwd(bh__pool *pool, float *out, float *mean, float *rstd, const float *x,
                       const float *w, const float *b, int N, int D, float eps);
/* dx += ..., dw += ..., db += ... */
void bh__layernorm_bwd(bh__pool *pool, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *mean, const float *rstd, const float *w, int N, int D);

/* y[N] = w[N,K] . x[K] (accumulate: y += ...), rows split over the pool;
 * each row's sum is computed alike for any thread count. */
void bh__gemv(bh__pool *pool, float *y, const float *w, const float *x, int N, int K, int accumulate);

/* out[N,O] = x[N,I] w[O,I]^T + b[O] (b may be NULL). */
void bh__linear_fwd(bh__pool *pool, float *out, const float *x, const float *w, const float *b,
                    int N, int nin, int nout);
/* dx[N,I] (+= when accumulate_dx, else =) dout w; dw += dout^T x; db += colsum(dout).
 * dx, dw and db may each be NULL (that part is skipped). */
void bh__linear_bwd(bh__pool *pool, float *dx, float *dw, float *db, const float *dout, const float *x,
                    const float *w, int N, int nin, int nout, int accumulate_dx);

/* GELU, tanh approximation (as torch's approximate='tanh' and GPT-2). */
void bh__gelu_fwd(bh__pool *pool, float *out, const float *x, size_t n);
/* dx = gelu'(x) * dout (overwrites dx). */
void bh__gelu_bwd(bh__pool *pool, float *dx, const float *x, const float *dout, size_t n);

/* Multi-head self-attention core (projections are separate linears).
 *   qkv  [B,T,3D]: q | k | v, each split in H heads of D/H
 *   att  [B,H,T,T]: softmax probabilities, kept for backward (masked = 0)
 *   out  [B,T,D]
 *   mask [B,T] 1 = real key (NULL = all); causal: key j <= query i only. */
void bh__attention_fwd(bh__pool *pool, float *out, float *att, const float *qkv, const uint8_t *mask,
                       int causal, int B, int T, int D, int H);
/* Softmax of row[0..nk) over the entries with mask[j] != 0 (mask may be
 * NULL); entries nk..T-1 and masked ones become 0; all masked gives zeros. */
void bh__softmax_row(float *row, int T, int nk, const uint8_t *mask);
/* dqkv[B,T,3D] = (overwritten); scratch [bh__pool_size(pool),T,T]. */
void bh__attention_bwd(bh__pool *pool, float *dqkv, float *scratch, const float *dout, const float *qkv,
                       const float *att, int B, int T, int D, int H);

/* Inverted dropout in place: keep[i] = 1 with probability 1-p, x *= keep/(1-p). */
void bh__dropout_fwd(float *x, uint8_t *keep, float p, size_t n, uint64_t *rng);
void bh__dropout_bwd(float *dx, const uint8_t *keep, float p, size_t n);

/* y[n] = a[n] + b[n] */
void bh__add(bh__pool *pool, float *y, const float *a, const float *b, size_t n);

/* Cross-entropy over the tied output embedding, fused with its backward.
 *   h      [M,D] hidden rows that have a target (gathered by the caller)
 *   wte    [V,D]; logits = h wte^T, computed `chunk` (at most 512) rows at a
 *   time into scratch [chunk,V] so memory stays small for large vocabularies;
 *   the rows of a chunk are split over the pool between the products
 *   targets[M] in [0,V)
 * Returns the SUM of -log p(target); adds scale * d(sum)/d(h) into dh[M,D]
 * and into dwte (either may be NULL to skip the backward). */
double bh__xent_fused(bh__pool *pool, const float *h, const float *wte, const int32_t *targets, int M, int D,
                      int V, float scale, float *dh, float *dwte, float *scratch, int chunk);

/* bh__xent_fused for training in bf16 (dh and dwte required): the three
 * products through the bf16 kernel. wp packs wte [V,D] (bh__bf16w_repack),
 * wtp its transpose (bh__bf16w_pack_t(wte, V, D)); xs holds
 * bh__bf16_scratch_size(threads, max(D, V)) elements, pairs
 * bh__bf16_paired_size(chunk, V); hp is repacked with each chunk's h^T.
 * The sum goes to *total; BH_ENOMEM when hp cannot grow (nothing added). */
bh_status bh__xent_fused_bf16(bh__pool *pool, const float *h, const bh__bf16w *wp, const bh__bf16w *wtp,
                              const int32_t *targets, int M, int D, int V, float scale, float *dh, float *dwte,
                              float *scratch, int chunk, uint16_t *xs, uint16_t *pairs, bh__bf16w *hp,
                              double *total);

#endif
