/* bench/corpus_wikiread.c — streams a MediaWiki dump through bh_corpus (clean
 * text) and reports pages, output characters, MB/s of input and the resident
 * memory seen every 64 MB of input (flat memory = the streaming works).
 * usage: corpus_wikiread DUMP.xml[.gz] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bhasha.h"

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) sscanf(line + 6, "%ld", &v);
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: corpus_wikiread DUMP.xml[.gz]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    double mb = (double)ftell(f) / 1048576.0;
    fclose(f);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_WIKI;
    o.wiki_raw = getenv("BH_WIKI_RAW") != NULL; /* to time the XML reader without the cleaner */
    bh_corpus *r;
    bh_status st = bh_corpus_open(argv[1], &o, &r);
    if (st) {
        fprintf(stderr, "%s: %s\n", bh_errmsg(st), bh_last_error());
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bh_corpus_record rec;
    long pages = 0, next_mark = 0, rmin = -1, rmax = 0;
    long long chars = 0;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        pages++;
        chars += (long long)rec.text_len;
        if (pages >= next_mark) {
            long v = rss_kb();
            if (pages > 1000 && (rmin < 0 || v < rmin)) rmin = v;
            if (v > rmax) rmax = v;
            next_mark = pages + 20000;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (k < 0) {
        fprintf(stderr, "%s: %s\n", bh_errmsg(k), bh_last_error());
        return 1;
    }
    bh_corpus_free(r);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bhasha: %.0f MB input, %ld main-namespace pages, %lld bytes of clean text, %.2f s, %.1f MB/s, "
           "RSS sampled %ld..%ld kB, peak %ld kB\n",
           mb, pages, chars, s, mb / s, rmin, rmax, ru.ru_maxrss);
    return 0;
}
