/* bench/blocks.h — hands a text out in blocks of whole lines to the threads of
 * a benchmark. Threads that finish a block take the next one, so a thread that
 * drew cheaper text (Bangla and Hindi cost differently per byte) does not sit
 * idle while the other finishes: the split a real work queue would make. */
#ifndef BH_BENCH_BLOCKS_H
#define BH_BENCH_BLOCKS_H

#include <stdatomic.h>
#include <string.h>

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
