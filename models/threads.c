/* models/threads.c — persistent worker threads and a static parallel-for.
 * One generation counter under a mutex: the caller publishes the job and
 * bumps the generation, each worker runs its part and counts down `pending`,
 * the caller runs part 0 itself and waits for the count to reach 0. Jobs are
 * coarse (a whole layer's rows), so a condition variable's wake-up latency
 * (microseconds) is noise and idle workers cost no CPU. */
#include "models/threads.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"

int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

typedef struct worker {
    bh__pool *pool;
    int tid;
    pthread_t th;
} worker;

struct bh__pool {
    int size;
    worker *w; /* [size-1] */
    int started;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;
    int quit;
    /* the current job */
    bh__pool_fn fn;
    void *ctx;
    int n, parts, pending;
};

static void run_part(bh__pool *p, int i)
{
    int b = (int)((long long)p->n * i / p->parts);
    int e = (int)((long long)p->n * (i + 1) / p->parts);
    if (b < e) p->fn(p->ctx, b, e, i);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bh__pool *p = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        if (w->tid >= p->parts) continue;
        pthread_mutex_unlock(&p->mu);
        run_part(p, w->tid);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bh_status bh__pool_new(int nthreads, bh__pool **out)
{
    *out = NULL;
    if (nthreads < 1 || nthreads > 1024) return bh__fail(BH_EINVAL, "thread pool: %d threads out of [1,1024]", nthreads);
    bh__pool *p = calloc(1, sizeof *p);
    if (!p) return bh__fail(BH_ENOMEM, "thread pool: out of memory");
    p->size = nthreads;
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return bh__fail(BH_EIO, "thread pool: cannot create a mutex");
    }
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->w = calloc((size_t)nthreads, sizeof *p->w);
    if (!p->w) {
        bh__pool_free(p);
        return bh__fail(BH_ENOMEM, "thread pool: out of memory");
    }
    for (int i = 1; i < nthreads; i++) {
        p->w[i - 1].pool = p;
        p->w[i - 1].tid = i;
        if (pthread_create(&p->w[i - 1].th, NULL, worker_main, &p->w[i - 1])) {
            bh__pool_free(p);
            return bh__fail(BH_EIO, "thread pool: cannot start thread %d of %d", i + 1, nthreads);
        }
        p->started++;
    }
    *out = p;
    return BH_OK;
}

void bh__pool_free(bh__pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->w[i].th, NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->w);
    free(p);
}

int bh__pool_size(const bh__pool *p) { return p ? p->size : 1; }

void bh__pool_for(bh__pool *p, int n, int grain, bh__pool_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int parts = p ? p->size : 1;
    if (parts > n / grain) parts = n / grain;
    if (parts <= 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->parts = parts;
    p->pending = parts - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_part(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void bh__pool_for_blas1(bh__pool *p, int n, int grain, bh__pool_fn fn, void *ctx)
{
    if (bh__pool_size(p) < 2) {
        bh__pool_for(p, n, grain, fn, ctx);
        return;
    }
    int bt = openblas_get_num_threads();
    if (bt > 1) openblas_set_num_threads(1);
    bh__pool_for(p, n, grain, fn, ctx);
    if (bt > 1) openblas_set_num_threads(bt);
}
