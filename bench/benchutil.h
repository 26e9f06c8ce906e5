/* bench/benchutil.h — what the text benchmarks share: clocks, loading text
 * (plain or gzip) up to a size, and handing the text out in blocks of whole
 * lines to the threads. Threads that finish a block take the next one, so a
 * thread that drew cheaper text (Bangla and Hindi cost differently per byte)
 * does not sit idle while the other finishes: the split a real work queue
 * would make. Header-only; benchmarks are single files. */
#ifndef BH_BENCH_BENCHUTIL_H
#define BH_BENCH_BENCHUTIL_H

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bhasha/core.h"

/* Seconds on a clock: CLOCK_MONOTONIC (wall), CLOCK_THREAD_CPUTIME_ID,
 * CLOCK_PROCESS_CPUTIME_ID. */
static inline double bench_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends FILE (plain or gzip) to out until out holds limit bytes, cut at the
 * last line break before the limit; the text then ends with a newline.
 * Returns 0, or prints "PROG: cannot open FILE" and returns 1. */
static inline int bench_load(const char *prog, const char *path, bh_buf *out, size_t limit)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", prog, path);
        return 1;
    }
    char tmp[1 << 16];
    int n;
    while (out->len < limit && (n = gzread(f, tmp, sizeof tmp)) > 0)
        if (bh_buf_append(out, tmp, (size_t)n)) {
            gzclose(f);
            return 1;
        }
    gzclose(f);
    if (out->len > limit) {
        size_t k = limit;
        while (k > 0 && out->data[k - 1] != '\n') k--;
        out->len = k ? k : limit;
        out->data[out->len] = 0;
    }
    if (out->len && out->data[out->len - 1] != '\n') return bh_buf_append(out, "\n", 1) != BH_OK;
    return 0;
}

typedef struct bench_blocks {
    const char *text;
    size_t len, block;
    atomic_size_t next;
} bench_blocks;

static inline void bench_blocks_init(bench_blocks *b, const char *text, size_t len, size_t block)
{
    b->text = text;
    b->len = len;
    b->block = block;
    atomic_init(&b->next, 0);
}

/* First line start at or after byte k. */
static inline size_t bench_line_start(const bench_blocks *b, size_t k)
{
    if (k == 0) return 0;
    if (k >= b->len) return b->len;
    const char *nl = memchr(b->text + k - 1, '\n', b->len - k + 1);
    return nl ? (size_t)(nl - b->text) + 1 : b->len;
}

/* Claims the next block, [*s, *e): the lines whose first byte falls in it, so
 * every line is processed exactly once. Returns 0 when the text is used up. */
static inline int bench_blocks_next(bench_blocks *b, const char **s, const char **e)
{
    for (;;) {
        size_t k = atomic_fetch_add(&b->next, b->block);
        if (k >= b->len) return 0;
        size_t lo = bench_line_start(b, k), hi = bench_line_start(b, k + b->block);
        if (lo < hi) {
            *s = b->text + lo;
            *e = b->text + hi;
            return 1;
        }
    }
}

#endif
