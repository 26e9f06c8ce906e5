/* bench/segment_bench.c — throughput of bhasha's sentence + word segmentation
 * against ICU's bare word-break iterator over the same text, with 1 and 2
 * threads, and the machine's own two-core scaling of a plain compute loop.
 *
 *   segment_bench [--mb N] [--reps R] [--normalize] FILE...
 *
 * FILEs (plain or gzip) are read in order until N MB (default 24). The text is
 * processed line by line, as `bhasha segment` does: for each line
 * bh_segment_sentences_words() gives its sentences and word tokens (with
 * --normalize, bh_normalize first and segmentation of its output); threads
 * take blocks of 256 KB of whole lines from a shared cursor (bench/benchutil.h). ICU gets
 * the whole text as one UTF-8 UText (its fastest use). Each figure is the
 * best of R runs (default 3); single-thread rates are also given per CPU
 * second of the thread, which stays meaningful on a loaded machine.
 * Token agreement with ICU is measured by tests/test_segment.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/ubrk.h>
#include <unicode/utext.h>
#include <zlib.h>

#include "bhasha.h"
#include "bench/benchutil.h"

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }
static double cpu_now(void) { return bench_clock(CLOCK_THREAD_CPUTIME_ID); }

typedef struct job {
    const bh_segmenter *seg;
    bench_blocks *blocks; /* shared by the threads */
    int normalize;
    size_t sentences, tokens;
    int failed;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    bh_spans sp = {0}, wp = {0};
    bh_buf nb = {0};
    j->sentences = j->tokens = 0;
    const char *p, *end;
    while (!j->failed && bench_blocks_next(j->blocks, &p, &end)) {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *t = p;
            size_t tn = n;
            if (j->normalize) {
                bh_buf_clear(&nb);
                if (bh_normalize(p, n, NULL, &nb, NULL)) { j->failed = 1; break; }
                t = nb.data ? nb.data : "";
                tn = nb.len;
            }
            if (bh_segment_sentences_words(j->seg, t, tn, &sp, &wp)) { j->failed = 1; break; }
            j->sentences += sp.n;
            j->tokens += wp.n;
            p += n + (nl ? 1 : 0);
        }
    }
    bh_spans_free(&sp);
    bh_spans_free(&wp);
    bh_buf_free(&nb);
    return NULL;
}

/* Wall time of the sentence+word pass with 1 or 2 threads. */
static double time_ours(const bh_segmenter *seg, const char *text, size_t len, int threads,
                        int normalize, size_t *sentences, size_t *tokens, int *failed, double *cpu)
{
    job jobs[2];
    bench_blocks blocks;
    bench_blocks_init(&blocks, text, len, 256 << 10);
    jobs[0] = (job){seg, &blocks, normalize, 0, 0, 0};
    jobs[1] = jobs[0];
    double t0 = now(), c0 = cpu_now();
    if (threads == 2) {
        pthread_t th;
        if (pthread_create(&th, NULL, run_job, &jobs[1]) != 0) { *failed = 1; return 0; }
        run_job(&jobs[0]);
        pthread_join(th, NULL);
    } else {
        run_job(&jobs[0]);
    }
    double t = now() - t0;
    *cpu = cpu_now() - c0;
    *sentences = jobs[0].sentences + jobs[1].sentences;
    *tokens = jobs[0].tokens + jobs[1].tokens;
    *failed = jobs[0].failed || jobs[1].failed;
    return t;
}

/* A plain compute loop (integer hashing, no memory traffic). */
typedef struct loop_job { unsigned long iters; unsigned long result; } loop_job;

static void *run_loop(void *arg)
{
    loop_job *l = arg;
    unsigned long x = 88172645463325252UL, acc = 0;
    for (unsigned long i = 0; i < l->iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x >> 61;
    }
    l->result = acc;
    return NULL;
}

static double time_loop(int threads, unsigned long iters)
{
    loop_job a = {iters, 0}, b = {iters, 0};
    double t0 = now();
    if (threads == 2) {
        pthread_t th;
        if (pthread_create(&th, NULL, run_loop, &b) != 0) return 0;
        run_loop(&a);
        pthread_join(th, NULL);
    } else {
        run_loop(&a);
    }
    double t = now() - t0;
    if (a.result == 42 && b.result == 42) fprintf(stderr, " ");   /* keep the loops */
    return t;
}

static double time_icu(const char *text, size_t len, size_t *boundaries, double *cpu)
{
    UErrorCode e = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
    UText *ut = utext_openUTF8(NULL, text, (int64_t)len, &e);
    if (U_FAILURE(e)) { fprintf(stderr, "segment_bench: ICU: %s\n", u_errorName(e)); exit(1); }
    double t0 = now(), c0 = cpu_now();
    ubrk_setUText(bi, ut, &e);
    size_t nb = 0;
    for (int32_t p = ubrk_first(bi); p != UBRK_DONE; p = ubrk_next(bi)) nb++;
    double t = now() - t0;
    *cpu = cpu_now() - c0;
    utext_close(ut);
    ubrk_close(bi);
    *boundaries = nb;
    return t;
}

int main(int argc, char **argv)
{
    double mb = 24;
    int reps = 3, normalize = 0;
    bh_buf text = {0};
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) mb = atof(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--normalize") == 0) normalize = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: segment_bench [--mb N] [--reps R] [--normalize] FILE...\n");
            return 2;
        } else {
            size_t limit = (size_t)(mb * 1e6);
            if (text.len < limit && bench_load("segment_bench", argv[i], &text, limit)) return 1;
            nfiles++;
        }
    }
    if (!nfiles || text.len == 0) {
        fprintf(stderr, "usage: segment_bench [--mb N] [--reps R] [--normalize] FILE...\n");
        return 2;
    }
    if (reps < 1) reps = 1;
    bh_segmenter *seg = NULL;
    if (bh_segmenter_new(&seg)) { fprintf(stderr, "segment_bench: %s\n", bh_last_error()); return 1; }
    double mbytes = (double)text.len / 1e6;
    printf("text: %.1f MB from %d file(s)\n", mbytes, nfiles);

    unsigned long iters = 300000000UL;
    double l1 = 1e9, l2 = 1e9;
    for (int r = 0; r < reps; r++) {
        double t = time_loop(1, iters);
        if (t < l1) l1 = t;
        t = time_loop(2, iters);
        if (t < l2) l2 = t;
    }
    double loop_scale = 2 * l1 / l2;
    printf("compute loop: 1 thread %.3f s, 2 threads (2x the work) %.3f s: machine two-core scaling %.2fx\n",
           l1, l2, loop_scale);

    double ti = 1e9, ci = 1e9, c;
    size_t nb = 0;
    for (int r = 0; r < reps; r++) {
        double t = time_icu(text.data, text.len, &nb, &c);
        if (t < ti) ti = t;
        if (c < ci) ci = c;
    }
    double mi = mbytes / ti, mci = mbytes / ci;
    printf("ICU word break (root, UTF-8 UText), 1 thread: %.1f MB/s wall, %.1f MB/s per CPU second (%zu boundaries)\n",
           mi, mci, nb);

    for (int norm = 0; norm <= normalize; norm++) {
        const char *what = norm ? "normalize+sentence+word" : "sentence+word";
        double t1 = 1e9, t2 = 1e9, c1 = 1e9;
        size_t ns = 0, nt = 0;
        int failed = 0;
        for (int r = 0; r < reps && !failed; r++) {
            double t = time_ours(seg, text.data, text.len, 1, norm, &ns, &nt, &failed, &c);
            if (t < t1) t1 = t;
            if (c < c1) c1 = c;
        }
        for (int r = 0; r < reps && !failed; r++) {
            double t = time_ours(seg, text.data, text.len, 2, norm, &ns, &nt, &failed, &c);
            if (t < t2) t2 = t;
        }
        if (failed) {
            printf("bhasha %s: failed: %s\n", what, bh_last_error());
            continue;
        }
        double m1 = mbytes / t1, m2 = mbytes / t2;
        printf("bhasha %s, 1 thread: %.1f MB/s wall, %.1f MB/s per CPU second (%zu sentences, %zu tokens)\n",
               what, m1, mbytes / c1, ns, nt);
        printf("bhasha %s, 2 threads: %.1f MB/s (%.2fx of 1 thread = %.0f%% of the machine's %.2fx)\n",
               what, m2, m2 / m1, 100.0 * (m2 / m1) / loop_scale, loop_scale);
        printf("ratio bhasha %s / ICU word break, 1 thread: %.2fx wall, %.2fx CPU\n", what, m1 / mi,
               (mbytes / c1) / mci);
    }
    bh_segmenter_free(seg);
    bh_buf_free(&text);
    return 0;
}
