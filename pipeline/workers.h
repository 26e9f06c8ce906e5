/* pipeline/workers.h — an ordered worker pool: items go in from one thread,
 * are processed by N worker threads in any order, and come back out in the
 * order they went in.
 *
 * At most `depth` items are in flight (submitted and not yet taken back), so
 * memory is bounded by depth times the size of an item, whatever the input
 * size. The caller owns the items; the pool only holds pointers to them
 * between bh__wpool_submit() and bh__wpool_next().
 *
 * Thread-safety: submit/next/try_next/pending must be called from one thread
 * (the producer-consumer); the work function runs on the worker threads and
 * must only touch its item (and read-only shared state in ctx). */
#ifndef BH_PIPELINE_WORKERS_H
#define BH_PIPELINE_WORKERS_H

#include "bhasha/core.h"

typedef void (*bh__wpool_fn)(void *ctx, void *item);
typedef struct bh__wpool bh__wpool;

/* Starts `threads` workers (>= 1) with room for `depth` (>= threads) items in flight. */
bh_status bh__wpool_new(int threads, int depth, bh__wpool_fn fn, void *ctx, bh__wpool **out);
/* Stops the workers (after the items in flight are processed) and frees the pool. NULL is accepted. */
void bh__wpool_free(bh__wpool *p);
/* 1 when depth items are in flight (submit would need a slot freed by next first). */
int bh__wpool_full(const bh__wpool *p);
/* Number of items in flight. */
int bh__wpool_pending(const bh__wpool *p);
/* Hands an item to the workers. Must not be called when full. */
void bh__wpool_submit(bh__wpool *p, void *item);
/* Waits for the oldest item in flight to be processed and returns it; NULL when none is in flight. */
void *bh__wpool_next(bh__wpool *p);
/* Like bh__wpool_next() but returns NULL at once when the oldest item is not done yet. */
void *bh__wpool_try_next(bh__wpool *p);

#endif
