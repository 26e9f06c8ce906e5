/* pipeline/workers.c — ordered worker pool (see workers.h).
 * A ring of `depth` slots indexed by sequence number: the producer fills slot
 * head, workers claim slots in sequence order (next_work) and mark them done,
 * the consumer takes slot tail once it is done. One mutex guards the ring;
 * items are coarse (a batch of records), so contention is negligible. */
#include "pipeline/workers.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"

struct bh__wpool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* a slot became claimable, or stop */
    pthread_cond_t done_cv; /* a slot finished */
    void **item;
    unsigned char *done;
    int depth, nthreads, started;
    long head, tail, next_work; /* sequence numbers: submitted, taken back, claimed */
    int stop;
    bh__wpool_fn fn;
    void *ctx;
    pthread_t *th;
};

static void *worker_main(void *arg)
{
    bh__wpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next_work == p->head) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->next_work == p->head) break; /* stop, and nothing left to do */
        long seq = p->next_work++;
        int s = (int)(seq % p->depth);
        void *it = p->item[s];
        pthread_mutex_unlock(&p->mu);
        p->fn(p->ctx, it);
        pthread_mutex_lock(&p->mu);
        p->done[s] = 1;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void bh__wpool_free(bh__wpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->item);
    free(p->done);
    free(p->th);
    free(p);
}

bh_status bh__wpool_new(int threads, int depth, bh__wpool_fn fn, void *ctx, bh__wpool **out)
{
    if (!out || !fn || threads < 1 || depth < threads)
        return bh__fail(BH_EINVAL, "bh__wpool_new: bad arguments (threads %d, depth %d)", threads, depth);
    *out = NULL;
    bh__wpool *p = calloc(1, sizeof *p);
    if (!p) return bh__fail(BH_ENOMEM, "worker pool: out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->depth = depth;
    p->nthreads = threads;
    p->fn = fn;
    p->ctx = ctx;
    p->item = calloc((size_t)depth, sizeof *p->item);
    p->done = calloc((size_t)depth, 1);
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->item || !p->done || !p->th) {
        bh__wpool_free(p);
        return bh__fail(BH_ENOMEM, "worker pool: out of memory");
    }
    for (; p->started < threads; p->started++)
        if (pthread_create(&p->th[p->started], NULL, worker_main, p)) {
            bh__wpool_free(p);
            return bh__fail(BH_ENOMEM, "worker pool: cannot start thread %d", p->started + 1);
        }
    *out = p;
    return BH_OK;
}

int bh__wpool_pending(const bh__wpool *p)
{
    return (int)(p->head - p->tail); /* head/tail change only on the calling thread */
}

int bh__wpool_full(const bh__wpool *p)
{
    return bh__wpool_pending(p) >= p->depth;
}

void bh__wpool_submit(bh__wpool *p, void *item)
{
    pthread_mutex_lock(&p->mu);
    int s = (int)(p->head % p->depth);
    p->item[s] = item;
    p->done[s] = 0;
    p->head++;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

static void *take(bh__wpool *p, int wait)
{
    void *it = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail < p->head) {
        int s = (int)(p->tail % p->depth);
        while (wait && !p->done[s]) pthread_cond_wait(&p->done_cv, &p->mu);
        if (p->done[s]) {
            it = p->item[s];
            p->item[s] = NULL;
            p->tail++;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return it;
}

void *bh__wpool_next(bh__wpool *p) { return take(p, 1); }
void *bh__wpool_try_next(bh__wpool *p) { return take(p, 0); }
