/* bench/normalize_bench.c — bh_normalize() throughput in MB/s, 1 and 2 threads.
 *
 *   normalize_bench [--mb N] [--reps R] FILE...
 *
 * FILEs (plain or gzip) are read until N MB (default 24) and normalized line by
 * line into one reused buffer, as `bhasha normalize` does. Threads take blocks
 * of 256 KB of whole lines from a shared cursor (bench/benchutil.h). Each figure is the best of R runs (default 3). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bhasha.h"
#include "bench/benchutil.h"

typedef struct job {
    bench_blocks *blocks; /* shared by the threads */
    size_t out_bytes;
    int failed;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    bh_buf out = {0};
    j->out_bytes = 0;
    const char *p, *end;
    while (!j->failed && bench_blocks_next(j->blocks, &p, &end)) {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            bh_buf_clear(&out);
            if (bh_normalize(p, n, NULL, &out, NULL)) { j->failed = 1; break; }
            j->out_bytes += out.len;
            p += n + (nl ? 1 : 0);
        }
    }
    bh_buf_free(&out);
    return NULL;
}

/* Seconds to normalize text with `threads` threads (1 or 2) taking blocks of lines. */
static double timed(const char *text, size_t len, int threads)
{
    bench_blocks blocks;
    bench_blocks_init(&blocks, text, len, 256 << 10);
    job jobs[2] = {{&blocks, 0, 0}, {&blocks, 0, 0}};
    double t0 = bench_clock(CLOCK_MONOTONIC);
    pthread_t th;
    if (threads == 2 && pthread_create(&th, NULL, run_job, &jobs[1]) != 0) return -1;
    run_job(&jobs[0]);
    if (threads == 2) pthread_join(th, NULL);
    double t = bench_clock(CLOCK_MONOTONIC) - t0;
    return jobs[0].failed || jobs[1].failed ? -1 : t;
}

int main(int argc, char **argv)
{
    size_t limit = 24u << 20;
    int reps = 3;
    bh_buf text = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc) { limit = (size_t)atol(argv[++i]) << 20; continue; }
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) { reps = atoi(argv[++i]); continue; }
        if (text.len < limit && bench_load("normalize_bench", argv[i], &text, limit)) return 1;
    }
    if (!text.len) { fprintf(stderr, "usage: normalize_bench [--mb N] [--reps R] FILE...\n"); return 2; }
    double mb = (double)text.len / 1e6;
    for (int threads = 1; threads <= 2; threads++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t = timed(text.data, text.len, threads);
            if (t < 0) { fprintf(stderr, "normalize_bench: bh_normalize failed\n"); return 1; }
            if (t < best) best = t;
        }
        printf("normalize  %d thread%s  %7.1f MB  %8.1f MB/s\n", threads, threads > 1 ? "s" : " ", mb, mb / best);
    }
    bh_buf_free(&text);
    return 0;
}
