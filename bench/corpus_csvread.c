/* bench/corpus_csvread.c — reads a CSV/TSV file through bh_corpus (RFC 4180,
 * text + label columns) and reports records, bytes of text and MB/s.
 * usage: corpus_csvread FILE.tsv */
#include <stdio.h>
#include <time.h>

#include "bhasha.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: corpus_csvread FILE.tsv\n");
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
    o.format = BH_CORPUS_CSV;
    o.delimiter = '\t';
    o.label_field = "label";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bh_corpus *r;
    bh_status st = bh_corpus_open(argv[1], &o, &r);
    if (st) {
        fprintf(stderr, "%s: %s\n", bh_errmsg(st), bh_last_error());
        return 1;
    }
    bh_corpus_record rec;
    long n = 0;
    long long bytes = 0;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        n++;
        bytes += (long long)rec.text_len;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bh_corpus_free(r);
    if (k < 0) {
        fprintf(stderr, "%s: %s\n", bh_errmsg(k), bh_last_error());
        return 1;
    }
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("bhasha: %.0f MB, %ld records, %lld bytes of text, %.2f s, %.1f MB/s\n", mb, n, bytes, s, mb / s);
    return 0;
}
