/* bench/translit_bench.c — bh_translit_run() throughput in MB/s, 1 and 2 threads,
 * against ICU's transliterator (Any-Latin, or Any-<Script>) in the same run.
 *
 *   translit_bench [--to SCRIPT] [--from SCRIPT] [--mb N] [--icu-mb M] [--reps R] FILE...
 *
 * FILEs (plain or gzip, e.g. the staged Bangla and Hindi raw text) are read
 * until N MB in all (default 24), an equal share from each file first, then
 * topped up from files that have more; every input thus contributes. Text is
 * converted line by line into one reused buffer, as `bhasha translit` does,
 * with one handle shared by the threads; threads take blocks of 256 KB of whole
 * lines from a shared cursor (bench/benchutil.h). Each figure is the best of R runs (default 3). ICU runs on a sample of
 * M MB (default 2; 0 skips it: 8 slices spread over the text), one thread, as
 * does bhasha on the same sample, and the ratio bhasha/ICU is printed. The
 * CPU-second figure (process CPU time) is less disturbed by other load on a
 * shared machine than the wall-clock MB/s. MB = 10^6 bytes of input. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/utrans.h>
#include <unicode/ustring.h>
#include <zlib.h>

#include "bhasha.h"
#include "bench/benchutil.h"

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

typedef struct job {
    const bh_translit *t;
    bench_blocks *blocks; /* shared by the threads */
    int failed;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    bh_buf out = {0};
    const char *p, *end;
    while (!j->failed && bench_blocks_next(j->blocks, &p, &end)) {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            bh_buf_clear(&out);
            if (bh_translit_run(j->t, p, n, &out, NULL)) { j->failed = 1; break; }
            p += n + (nl ? 1 : 0);
        }
    }
    bh_buf_free(&out);
    return NULL;
}

/* Wall seconds (and process CPU seconds in *cpu) with 1 or 2 threads taking
 * blocks of lines from a shared cursor. */
static double timed(const bh_translit *t, const char *text, size_t len, int threads, double *cpu)
{
    double c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
    bench_blocks blocks;
    bench_blocks_init(&blocks, text, len, 256 << 10);
    job jobs[2] = {{t, &blocks, 0}, {t, &blocks, 0}};
    double t0 = now();
    pthread_t th;
    if (threads == 2 && pthread_create(&th, NULL, run_job, &jobs[1]) != 0) return -1;
    run_job(&jobs[0]);
    if (threads == 2) pthread_join(th, NULL);
    double dt = now() - t0;
    *cpu = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return jobs[0].failed || jobs[1].failed ? -1 : dt;
}

/* Seconds for ICU to transliterate text line by line (UTF-8 in and out, as a
 * caller of ICU must); -1 if the transliterator is not available. */
static double timed_icu(const char *id, const char *text, size_t len)
{
    UErrorCode e = U_ZERO_ERROR;
    UChar uid[64];
    u_uastrcpy(uid, id);
    UTransliterator *tr = utrans_openU(uid, -1, UTRANS_FORWARD, NULL, 0, NULL, &e);
    if (U_FAILURE(e)) return -1;
    int32_t cap = 1 << 16;
    UChar *u = malloc(sizeof *u * (size_t)cap);
    char *o = malloc((size_t)cap * 4);
    double t0 = now();
    for (const char *p = text, *end = text + len; p < end && u && o;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p += n + 1;
        if (n > (size_t)cap / 4) continue;   /* very long lines: skipped for both sides' fairness is moot */
        int32_t ul = 0;
        e = U_ZERO_ERROR;
        u_strFromUTF8Lenient(u, cap, &ul, p - n - 1, (int32_t)n, &e);
        int32_t lim = ul;
        utrans_transUChars(tr, u, &ul, cap, 0, &lim, &e);
        if (U_FAILURE(e)) continue;
        u_strToUTF8(o, cap * 4, NULL, u, ul, &e);
    }
    double dt = now() - t0;
    free(u);
    free(o);
    utrans_close(tr);
    return dt;
}

static const char *icu_id(bh_script s)
{
    static const char *const ids[] = { NULL, "Any-Devanagari", "Any-Bengali", "Any-Gurmukhi",
                                        "Any-Gujarati", "Any-Oriya", "Any-Tamil", "Any-Telugu",
                                        "Any-Kannada", "Any-Malayalam", "Any-Latin" };
    return (unsigned)s <= BH_SCRIPT_LATN ? ids[s] : NULL;
}

int main(int argc, char **argv)
{
    size_t limit = 24u << 20, icu_limit = 2u << 20;
    int reps = 3, nfiles = 0;
    bh_translit_options o;
    bh_translit_options_default(&o);
    const char *files[argc];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc) limit = (size_t)atol(argv[++i]) << 20;
        else if (!strcmp(argv[i], "--icu-mb") && i + 1 < argc) icu_limit = (size_t)atol(argv[++i]) << 20;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            if (bh_script_from_name(argv[++i], &o.from)) {
                fprintf(stderr, "translit_bench: unknown script %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
            if (bh_script_from_name(argv[++i], &o.to) || o.to == BH_SCRIPT_AUTO) {
                fprintf(stderr, "translit_bench: unknown script %s\n", argv[i]);
                return 2;
            }
        } else files[nfiles++] = argv[i];
    }
    if (!nfiles) {
        fprintf(stderr, "usage: translit_bench [--to SCRIPT] [--from SCRIPT] [--mb N] [--icu-mb M] [--reps R] FILE...\n");
        return 2;
    }
    /* whole files in memory, then a share of each (cut at a line end) */
    bh_buf *all = calloc((size_t)nfiles, sizeof *all);
    size_t *used = calloc((size_t)nfiles, sizeof *used);
    if (!all || !used) return 1;
    for (int f = 0; f < nfiles; f++) {
        gzFile g = gzopen(files[f], "rb");
        if (!g) { fprintf(stderr, "translit_bench: cannot open %s\n", files[f]); return 1; }
        char buf[1 << 16];
        int n;
        while (all[f].len < limit && (n = gzread(g, buf, sizeof buf)) > 0) bh_buf_append(&all[f], buf, (size_t)n);
        gzclose(g);
    }
    bh_buf text = {0};
    for (int round = 0; round < 2 && text.len < limit; round++)
        for (int f = 0; f < nfiles && text.len < limit; f++) {
            size_t want = round ? limit - text.len : limit / (size_t)nfiles;
            size_t left = all[f].len - used[f];
            if (want > left) want = left;
            const char *start = all[f].data + used[f];
            const char *nl = want < left ? memchr(start + want, '\n', left - want) : NULL;
            size_t take = nl ? (size_t)(nl - start) + 1 : left;
            bh_buf_append(&text, start, take);
            if (take && start[take - 1] != '\n') bh_buf_append(&text, "\n", 1);
            used[f] += take;
        }
    for (int f = 0; f < nfiles; f++) bh_buf_free(&all[f]);
    free(all);
    free(used);
    if (!text.len) { fprintf(stderr, "translit_bench: no text read\n"); return 1; }

    bh_translit *t;
    if (bh_translit_new(&o, &t)) { fprintf(stderr, "translit_bench: %s\n", bh_last_error()); return 1; }
    double mb = (double)text.len / 1e6, one = 0;
    for (int threads = 1; threads <= 2; threads++) {
        double best = 1e30, best_cpu = 1e30;
        for (int r = 0; r < reps; r++) {
            double cpu;
            double dt = timed(t, text.data, text.len, threads, &cpu);
            if (dt < 0) { fprintf(stderr, "translit_bench: bh_translit_run failed\n"); return 1; }
            if (dt < best) best = dt;
            if (cpu < best_cpu) best_cpu = cpu;
        }
        if (threads == 1) one = mb / best;
        /* CPU-time rate: per core busy, less sensitive to other load on the machine */
        printf("translit   %d thread%s  %7.1f MB  %8.1f MB/s  (%s to %s; %.1f MB per CPU-second)", threads,
               threads > 1 ? "s" : " ", mb, mb / best, bh_script_name(o.from), bh_script_name(o.to), mb / best_cpu);
        if (threads == 2) printf("  scaling %.2fx", mb / best / one);
        printf("\n");
    }
    if (icu_limit) {
        /* ICU is slow: both run on the same sample, 8 slices spread evenly over
           the text so that every input file is in it */
        bh_buf sample = {0};
        for (int k = 0; k < 8; k++) {
            size_t at = text.len / 8 * (size_t)k, want = icu_limit / 8;
            if (k) {
                const char *nl = memchr(text.data + at, '\n', text.len - at);
                at = nl ? (size_t)(nl - text.data) + 1 : text.len;
            }
            if (want > text.len - at) want = text.len - at;
            const char *nl = memchr(text.data + at + want, '\n', text.len - at - want);
            size_t take = nl ? (size_t)(nl - text.data) + 1 - at : text.len - at;
            bh_buf_append(&sample, text.data + at, take);
        }
        const char *id = o.from == BH_SCRIPT_LATN && o.to != BH_SCRIPT_LATN ? NULL : icu_id(o.to);
        char lid[64];
        if (!id) {   /* ICU reads ISO-style Latin with Latin-<Script> */
            snprintf(lid, sizeof lid, "Latin-%s", icu_id(o.to) + 4);
            id = lid;
        }
        double smb = (double)sample.len / 1e6, best = 1e30, cpu;
        for (int r = 0; r < reps; r++) {
            double dt = timed(t, sample.data, sample.len, 1, &cpu);
            if (dt >= 0 && dt < best) best = dt;
        }
        double dt = timed_icu(id, sample.data, sample.len);
        if (dt < 0) {
            printf("icu        ICU transliterator %s not available\n", id);
        } else {
            printf("icu        1 thread   %7.1f MB  %8.1f MB/s  (%s; bhasha on the same sample %.1f MB/s)  bhasha/ICU %.1fx\n",
                   smb, smb / dt, id, smb / best, dt / best);
        }
        bh_buf_free(&sample);
    }
    bh_translit_free(t);
    bh_buf_free(&text);
    return 0;
}
