/* models/threads.h — a small pool of persistent worker threads and a
 * parallel-for over index ranges, for the engine's non-GEMM loops (LayerNorm,
 * GELU, softmax, attention heads, embeddings, cross-entropy rows).
 * Private to libbhasha.
 *
 * Determinism: bh__pool_for splits [0,n) into contiguous parts statically
 * (part i of k is [n*i/k, n*(i+1)/k)). Callers only hand it work whose units
 * are independent (rows, columns, heads), and never reduce across parts, so
 * a result does not depend on the number of threads, bit for bit.
 *
 * Cooperation with OpenBLAS: the pool's workers sleep on a condition
 * variable between parallel-fors, so matrix products (which run on
 * OpenBLAS's own threads) and pool work never run at the same time.
 * bh__pool_for_blas1 is for work that itself calls sgemm (attention heads):
 * it drops OpenBLAS to one thread for the duration, so n pool threads each
 * run single-threaded products instead of n x n threads.
 *
 * Memory: the pool owns its threads; ctx is borrowed for the call. A pool is
 * used by one thread at a time (its owner's); it is not reentrant. */
#ifndef BH_MODELS_THREADS_H
#define BH_MODELS_THREADS_H

#include "bhasha/core.h"

typedef struct bh__pool bh__pool;

/* Runs units [begin,end) of the work; tid in [0, bh__pool_size) identifies
 * the thread (for per-thread scratch). */
typedef void (*bh__pool_fn)(void *ctx, int begin, int end, int tid);

/* A pool of nthreads (>= 1) threads: the caller plus nthreads-1 workers. */
bh_status bh__pool_new(int nthreads, bh__pool **out);
/* Joins the workers. NULL is fine. */
void bh__pool_free(bh__pool *p);
/* Number of threads (1 for NULL). */
int bh__pool_size(const bh__pool *p);
/* fn over [0,n) split in at most size parts of at least `grain` units each;
 * runs inline when p is NULL or one part suffices. Returns when all parts
 * are done. */
void bh__pool_for(bh__pool *p, int n, int grain, bh__pool_fn fn, void *ctx);
/* Same, with OpenBLAS held to one thread while the parts run. */
void bh__pool_for_blas1(bh__pool *p, int n, int grain, bh__pool_fn fn, void *ctx);

#endif
