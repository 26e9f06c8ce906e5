/* pipeline/cli_segment.c — `bhasha segment`: sentences, words, aksharas or
 * grapheme clusters of each input line.
 *
 *   bhasha segment [--unit sentence|word|akshara|grapheme] [--json] [--strict] [FILE...]
 *
 * Plain output: for sentence, one sentence per line and a blank line after
 * each input line; for the other units one output line per input line, units
 * separated by single spaces. --json: one object per input line,
 *   {"line":N,"units":[{"text":"..","kind":"word","start":B,"end":B,"cstart":C,"cend":C},...]}
 * with byte (start/end) and character (cstart/cend) offsets into the whole
 * input (a file's first byte is offset 0; every invalid UTF-8 byte counts as
 * one character). Invalid bytes are written as U+FFFD. Problems (invalid
 * UTF-8, NUL bytes) are reported on stderr with the line number; the exit
 * status is non-zero for them only with --strict. */
#include "pipeline/cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REPORTS 20

/* Length of the valid UTF-8 sequence at s[i], or 0 for an invalid byte
 * (same rules as the library: no overlongs, surrogates or > U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char b = s[i];
    size_t r = n - i;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b < 0xE0) return r >= 2 && (s[i + 1] & 0xC0) == 0x80 ? 2 : 0;
    if (b >= 0xE0 && b < 0xF0) {
        if (r < 3 || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && s[i + 1] < 0xA0) return 0;
        if (b == 0xED && s[i + 1] >= 0xA0) return 0;
        return 3;
    }
    if (b >= 0xF0 && b < 0xF5) {
        if (r < 4 || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if (b == 0xF0 && s[i + 1] < 0x90) return 0;
        if (b == 0xF4 && s[i + 1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

/* Writes s[a..b) with invalid bytes replaced by U+FFFD; JSON-escaped if json. */
static void put_text(FILE *out, const unsigned char *s, size_t a, size_t b, int json)
{
    if (json) fputc('"', out);
    size_t run = a;
    for (size_t i = a; i < b;) {
        unsigned char c = s[i];
        size_t l = utf8_len(s, b, i);
        int plain = l > 0 && !(json && (c < 0x20 || c == '"' || c == '\\' || c == 0x7f));
        if (plain) {
            i += l;
            continue;
        }
        fwrite(s + run, 1, i - run, out);
        if (l == 0) fputs(json ? "\\ufffd" : "\xEF\xBF\xBD", out);
        else if (c == '"') fputs("\\\"", out);
        else if (c == '\\') fputs("\\\\", out);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\r') fputs("\\r", out);
        else if (c == '\t') fputs("\\t", out);
        else fprintf(out, "\\u%04x", c);
        i += l ? l : 1;
        run = i;
    }
    fwrite(s + run, 1, b - run, out);
    if (json) fputc('"', out);
}

typedef struct seg_run {
    const char *cmd;
    const bh_segmenter *seg;
    bh_seg_unit unit;
    int json;
    bh_spans spans;
    size_t reports;      /* problem lines reported so far */
    size_t problems;     /* problem lines in all */
} seg_run;

static void report(seg_run *r, const char *path, long lineno, const char *what, size_t count)
{
    r->problems++;
    if (r->reports++ >= MAX_REPORTS) return;
    fprintf(stderr, "bhasha %s: %s%sline %ld: %zu %s\n", r->cmd, path ? path : "", path ? ": " : "",
            lineno, count, what);
}

static int segment_stream(seg_run *r, FILE *f, const char *path)
{
    char *line = NULL;
    size_t cap = 0, off = 0, coff = 0;
    long lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        if (len > 0 && line[len - 1] == '\n') len--;
        const unsigned char *s = (const unsigned char *)line;
        bh_status st = bh_segment(r->seg, r->unit, line, len, &r->spans);
        if (st) {
            rc = cli_fail(r->cmd, st);
            break;
        }
        if (r->spans.bad_utf8)
            report(r, path, lineno, "invalid UTF-8 byte(s), written as U+FFFD", r->spans.bad_utf8);
        size_t nul = 0;
        for (const char *p = memchr(line, 0, len); p; p = memchr(p + 1, 0, len - (size_t)(p + 1 - line)))
            nul++;
        if (nul) report(r, path, lineno, "NUL byte(s), treated as white space", nul);

        if (r->json) printf("{\"line\":%ld,\"units\":[", lineno);
        size_t pos = 0, cpos = coff;   /* character offset of byte `pos` of this line */
        for (size_t k = 0; k < r->spans.n; k++) {
            const bh_span *sp = &r->spans.v[k];
            if (r->json) {
                while (pos < sp->start) { size_t l = utf8_len(s, len, pos); pos += l ? l : 1; cpos++; }
                size_t cstart = cpos;
                while (pos < sp->end) { size_t l = utf8_len(s, len, pos); pos += l ? l : 1; cpos++; }
                printf("%s{\"text\":", k ? "," : "");
                put_text(stdout, s, sp->start, sp->end, 1);
                printf(",\"kind\":\"%s\",\"start\":%zu,\"end\":%zu,\"cstart\":%zu,\"cend\":%zu}",
                       bh_token_kind_name(sp->kind), off + sp->start, off + sp->end, cstart, cpos);
            } else {
                if (k && r->unit != BH_SEG_SENTENCE) fputc(' ', stdout);
                put_text(stdout, s, sp->start, sp->end, 0);
                if (r->unit == BH_SEG_SENTENCE) fputc('\n', stdout);
            }
        }
        if (r->json) {
            fputs("]}\n", stdout);
            while (pos < len) { size_t l = utf8_len(s, len, pos); pos += l ? l : 1; cpos++; }
        } else {
            fputc('\n', stdout);
        }
        off += (size_t)got;
        if (r->json) coff = cpos + ((size_t)got > len ? 1 : 0);
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "bhasha %s: read error on %s\n", r->cmd, path ? path : "standard input");
        rc = 1;
    }
    free(line);
    return rc;
}

int cli_segment(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *unit_name = "word";
    int json = 0, strict = 0, nfiles = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) return cli_fail(cmd, BH_ENOMEM);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt(argc, argv, &i, "--unit", &v)) unit_name = v;
        else if (cli_opt(argc, argv, &i, "--json", NULL)) json = 1;
        else if (cli_opt(argc, argv, &i, "--strict", NULL)) strict = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            free(files);
            printf("usage: bhasha segment [--unit sentence|word|akshara|grapheme] [--json] [--strict] [FILE...]\n");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(files);
            return cli_usage_error(cmd, "unknown option %s (try --help)", argv[i]);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    seg_run r = {0};
    r.cmd = cmd;
    r.json = json;
    if (bh_seg_unit_parse(unit_name, &r.unit)) {
        free(files);
        return cli_usage_error(cmd, "unknown --unit '%s' (sentence, word, akshara, grapheme)", unit_name);
    }
    bh_segmenter *seg = NULL;
    bh_status st = bh_segmenter_new(&seg);
    if (st) {
        free(files);
        return cli_fail(cmd, st);
    }
    r.seg = seg;
    int rc = 0;
    if (nfiles == 0) {
        rc = segment_stream(&r, stdin, NULL);
    } else {
        for (int k = 0; k < nfiles && !rc; k++) {
            if (strcmp(files[k], "-") == 0) {
                rc = segment_stream(&r, stdin, NULL);
                continue;
            }
            FILE *f = fopen(files[k], "rb");
            if (!f) {
                fprintf(stderr, "bhasha %s: cannot open %s\n", cmd, files[k]);
                rc = 1;
                break;
            }
            rc = segment_stream(&r, f, files[k]);
            fclose(f);
        }
    }
    if (r.reports > MAX_REPORTS)
        fprintf(stderr, "bhasha %s: %zu lines with problems in all\n", cmd, r.problems);
    if (fflush(stdout) != 0 && !rc) {
        fprintf(stderr, "bhasha %s: write error\n", cmd);
        rc = 1;
    }
    bh_spans_free(&r.spans);
    bh_segmenter_free(seg);
    free(files);
    if (!rc && strict && r.problems) rc = 1;
    return rc;
}
