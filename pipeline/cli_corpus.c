/* pipeline/cli_corpus.c — `bhasha corpus stats|clean|split|encode`: the corpus
 * readers (bhasha/corpus.h) on the command line. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/hash.h"
#include "pipeline/cli.h"

#define CMD "corpus"

static void usage(void)
{
    fprintf(stderr,
            "usage: bhasha corpus stats [OPTIONS] FILE...\n"
            "       bhasha corpus clean [OPTIONS] [--lang bn|hi [--min-script 0.5] [--no-langid]] [--min-chars N] [--report FILE] FILE\n"
            "       bhasha corpus split [OPTIONS] --seed N [--ratios 0.8,0.1,0.1] --out PREFIX FILE\n"
            "       bhasha corpus encode [OPTIONS] --spm MODEL --out PREFIX [--shard-tokens N] [--no-normalize] FILE...\n"
            "       bhasha corpus cloze [--seed N] [--max N] [--out FILE] FILE...   (QA questions; --help)\n"
            "       bhasha corpus squad-split --dev DEV.json --test TEST.json SQUAD.json\n"
            "reader options:\n"
            "  --format auto|text|jsonl|csv|tsv|conll|conllu|squad|wiki   --blocks (text: blank-line documents)\n"
            "  --text COL (or --field KEY)  --text2 COL  --label COL  --id COL   (CSV column name/index, JSONL key)\n"
            "  --no-header  --no-quotes  --tags KEY (JSONL NER)  --scheme asis|io|bio|iobes|bilou  --label-map A=B,C=D\n"
            "  --on-error skip|stop  --all-namespaces  --keep-redirects  --raw (wiki)\n");
}

typedef struct copts {
    bh_corpus_options o;
    char delim_from_fmt;
} copts;

/* Parses one reader option at argv[*i]; returns 1 if consumed, 0 if not a reader option, -1 on error. */
static int reader_opt(int argc, char **argv, int *i, copts *c)
{
    const char *v = NULL;
    if (cli_opt(argc, argv, i, "--format", &v)) {
        if (!v) return -1;
        char d = 0;
        if (bh_corpus_format_parse(v, &c->o.format, &d)) return -1;
        if (d) c->o.delimiter = d;
        return 1;
    }
    if (cli_opt(argc, argv, i, "--text", &v) || cli_opt(argc, argv, i, "--field", &v))
        return v ? (c->o.text_field = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--text2", &v)) return v ? (c->o.text_field2 = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--label", &v)) return v ? (c->o.label_field = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--id", &v)) return v ? (c->o.id_field = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--tags", &v)) return v ? (c->o.tags_field = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--label-map", &v)) return v ? (c->o.label_map = v, 1) : -1;
    if (cli_opt(argc, argv, i, "--scheme", &v)) return v && bh_tag_scheme_parse(v, &c->o.scheme) == 0 ? 1 : -1;
    if (cli_opt(argc, argv, i, "--on-error", &v)) {
        if (!v) return -1;
        if (strcmp(v, "skip") == 0) c->o.on_error = BH_ON_ERROR_SKIP;
        else if (strcmp(v, "stop") == 0) c->o.on_error = BH_ON_ERROR_STOP;
        else return -1;
        return 1;
    }
    if (strcmp(argv[*i], "--blocks") == 0) return c->o.blocks = 1, 1;
    if (strcmp(argv[*i], "--no-header") == 0) return c->o.no_header = 1, 1;
    if (strcmp(argv[*i], "--no-quotes") == 0) return c->o.no_quotes = 1, 1;
    if (strcmp(argv[*i], "--all-namespaces") == 0) return c->o.wiki_all_namespaces = 1, 1;
    if (strcmp(argv[*i], "--keep-redirects") == 0) return c->o.wiki_keep_redirects = 1, 1;
    if (strcmp(argv[*i], "--raw") == 0) return c->o.wiki_raw = 1, 1;
    return 0;
}

static void print_problems(FILE *f, bh_corpus *r)
{
    long n = bh_corpus_skipped(r);
    fprintf(f, ",\"skipped\":%ld", n);
    if (n) {
        fprintf(f, ",\"problems\":[");
        for (long i = 0; i < n && i < 5; i++) {
            const char *p = bh_corpus_problem(r, i);
            if (i) fputc(',', f);
            cli_json_string(f, p, strlen(p));
        }
        fputc(']', f);
    }
}

static int cmd_stats(int argc, char **argv)
{
    copts c;
    memset(&c, 0, sizeof c);
    const char *files[256];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        int k = reader_opt(argc, argv, &i, &c);
        if (k < 0) return cli_usage_error(CMD, "bad value for %s", argv[i]);
        if (k) continue;
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(CMD, "unknown option %s", argv[i]);
        if (nf == 256) return cli_usage_error(CMD, "too many files");
        files[nf++] = argv[i];
    }
    if (!nf) return usage(), 2;
    bh_corpus_stats *all = NULL; /* with several files, a last line sums them */
    long all_skipped = 0;
    if (nf > 1 && bh_corpus_stats_new(&all)) return cli_fail(CMD, BH_ENOMEM);
    for (int f = 0; f < nf; f++) {
        bh_corpus *r;
        bh_status st = bh_corpus_open(files[f], &c.o, &r);
        if (st) {
            bh_corpus_stats_free(all);
            return cli_fail(CMD, st);
        }
        bh_corpus_stats *s;
        if ((st = bh_corpus_stats_new(&s))) {
            bh_corpus_free(r);
            return cli_fail(CMD, st);
        }
        bh_corpus_record rec;
        int k;
        while ((k = bh_corpus_next(r, &rec)) == 1) {
            if ((st = bh_corpus_stats_add(s, &rec))) break;
            if (all && (st = bh_corpus_stats_add(all, &rec))) break;
        }
        if (k < 0 || st) {
            int rc = cli_fail(CMD, k < 0 ? k : st);
            bh_corpus_stats_free(s);
            bh_corpus_stats_free(all);
            bh_corpus_free(r);
            return rc;
        }
        all_skipped += bh_corpus_skipped(r);
        bh_buf js = {0};
        if ((st = bh_corpus_stats_json(s, &js)) || js.len < 2) {
            bh_corpus_stats_free(s);
            bh_corpus_stats_free(all);
            bh_corpus_free(r);
            bh_buf_free(&js);
            return cli_fail(CMD, st ? st : BH_EINTERNAL);
        }
        printf("{\"file\":");
        cli_json_string(stdout, files[f], strlen(files[f]));
        printf(",%.*s", (int)(js.len - 2), js.data + 1);
        print_problems(stdout, r);
        printf("}\n");
        bh_buf_free(&js);
        bh_corpus_stats_free(s);
        fflush(stdout);
        bh_corpus_free(r);
    }
    if (all) {
        bh_buf js = {0};
        bh_status st = bh_corpus_stats_json(all, &js);
        bh_corpus_stats_free(all);
        if (st || js.len < 2) {
            bh_buf_free(&js);
            return cli_fail(CMD, st ? st : BH_EINTERNAL);
        }
        printf("{\"file\":\"(total of %d files)\",%.*s,\"skipped\":%ld}\n", nf, (int)(js.len - 2), js.data + 1, all_skipped);
        bh_buf_free(&js);
    }
    return 0;
}

/* ---- clean ---------------------------------------------------------------- */

static uint64_t hash64(const char *s, size_t n)
{
    uint64_t h = bh__fnv1a64(1469598103934665603ULL, s, n);
    return h ? h : 1;
}

typedef struct hset {
    uint64_t *t;
    size_t cap, n;
} hset;

/* Inserts h; returns 1 if new, 0 if present, -1 on no memory. */
static int hset_add(hset *s, uint64_t h)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->t[i]) {
                size_t j = s->t[i] & (cap - 1);
                while (t[j]) j = (j + 1) & (cap - 1);
                t[j] = s->t[i];
            }
        free(s->t);
        s->t = t;
        s->cap = cap;
    }
    size_t j = h & (s->cap - 1);
    while (s->t[j]) {
        if (s->t[j] == h) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->t[j] = h;
    s->n++;
    return 1;
}

/* bhasha's normalisation (bh_normalize: NFC with the Indic rules, format characters
 * dropped, whitespace folded), then characters (code points, what --min-chars
 * counts) and letters in / out of the target script counted.
 * Returns -1 when the input was not valid UTF-8 (it is repaired, but dropped here). */
static int clean_text(const char *s, size_t n, bh_buf *out, int want_script, long *chars, long *in_script,
                      long *letters)
{
    bh_norm_options no;
    bh_norm_options_default(&no);
    no.fold_whitespace = 1;
    no.strip_format = 1;
    bh_norm_stats ns = {0};
    bh_buf_clear(out);
    *chars = *in_script = *letters = 0;
    if (bh_normalize(s, n, &no, out, &ns) || ns.utf8_repairs) return -1;
    if (!out->data) bh_buf_append(out, "", 0);
    for (size_t i = 0; i < out->len;) {
        int32_t cp;
        utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)out->data + i, (utf8proc_ssize_t)(out->len - i), &cp);
        if (m <= 0) return -1;
        i += (size_t)m;
        (*chars)++;
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) {
            (*letters)++;
            if (want_script == 'b' && cp >= 0x0980 && cp <= 0x09FF) (*in_script)++;
            if (want_script == 'h' && ((cp >= 0x0900 && cp <= 0x097F) || (cp >= 0xA8E0 && cp <= 0xA8FF)))
                (*in_script)++;
        }
    }
    return 0;
}

static int cmd_clean(int argc, char **argv)
{
    copts c;
    memset(&c, 0, sizeof c);
    c.o.on_error = BH_ON_ERROR_SKIP;
    const char *file = NULL, *lang = NULL, *report = NULL, *v;
    long min_chars = 1;
    double min_frac = 0.5;
    int no_langid = 0;
    for (int i = 1; i < argc; i++) {
        int k = reader_opt(argc, argv, &i, &c);
        if (k < 0) return cli_usage_error(CMD, "bad value for %s", argv[i]);
        if (k) continue;
        if (cli_opt(argc, argv, &i, "--lang", &v)) lang = v;
        else if (cli_opt(argc, argv, &i, "--report", &v)) report = v;
        else if (cli_opt(argc, argv, &i, "--min-chars", &v)) {
            double x;
            if (cli_integer(CMD, "--min-chars", v, 0, 1e15, &x)) return 2;
            min_chars = (long)x;
        } else if (cli_opt(argc, argv, &i, "--min-script", &v)) {
            if (cli_number(CMD, "--min-script", v, 0, 1, &min_frac)) return 2;
        }
        else if (strcmp(argv[i], "--no-langid") == 0) no_langid = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(CMD, "unknown option %s", argv[i]);
        else file = argv[i];
    }
    if (!file) return usage(), 2;
    int want = 0;
    if (lang) {
        if (strcmp(lang, "bn") == 0) want = 'b';
        else if (strcmp(lang, "hi") == 0) want = 'h';
        else return cli_usage_error(CMD, "--lang: bn or hi");
    }
    /* language: the shipped language identifier when present (it tells Bangla from Assamese
     * or Hindi from Marathi, same script), else the script share alone */
    bh_langid *lid = NULL;
    char lid_path[4096];
    if (lang && !no_langid && cli_asset("langid/langid.bin", lid_path, sizeof lid_path) == 0 &&
        bh_langid_load(lid_path, &lid) != BH_OK)
        lid = NULL;
    bh_corpus *r;
    bh_status st = bh_corpus_open(file, &c.o, &r);
    if (st) {
        bh_langid_free(lid);
        return cli_fail(CMD, st);
    }
    hset seen = {0};
    bh_buf out = {0};
    long kept = 0, d_empty = 0, d_dup = 0, d_lang = 0, d_utf8 = 0, d_short = 0;
    long ex_dup = 0, ex_lang = 0, ex_utf8 = 0;
    bh_corpus_record rec;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        long nch, ins, let;
        if (clean_text(rec.text, rec.text_len, &out, want, &nch, &ins, &let) < 0) {
            if (!ex_utf8) ex_utf8 = rec.line;
            d_utf8++;
            continue;
        }
        if (out.len == 0) {
            d_empty++;
            continue;
        }
        if (nch < min_chars) {
            d_short++;
            continue;
        }
        int other = want && (let == 0 || (double)ins / (double)let < min_frac);
        if (!other && lid) {
            bh_langid_result lr;
            other = bh_langid_identify(lid, out.data, out.len, &lr) == BH_OK && strcmp(lr.lang, lang) != 0 &&
                    lr.prob >= 0.5f;
        }
        if (other) {
            if (!ex_lang) ex_lang = rec.line;
            d_lang++;
            continue;
        }
        int a = hset_add(&seen, hash64(out.data, out.len));
        if (a < 0) {
            st = BH_ENOMEM;
            break;
        }
        if (a == 0) {
            if (!ex_dup) ex_dup = rec.line;
            d_dup++;
            continue;
        }
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
        kept++;
    }
    free(seen.t);
    bh_buf_free(&out);
    bh_langid_free(lid);
    if (k < 0 || st) {
        bh_corpus_free(r);
        return cli_fail(CMD, k < 0 ? k : st);
    }
    /* a full disk must not pass for a clean corpus that happens to be short */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        bh_corpus_free(r);
        fprintf(stderr, "bhasha %s: write error\n", CMD);
        return 1;
    }
    FILE *rf = report ? fopen(report, "w") : stderr;
    if (!rf) {
        bh_corpus_free(r);
        return cli_usage_error(CMD, "cannot write %s", report);
    }
    fprintf(rf, "{\"file\":");
    cli_json_string(rf, file, strlen(file));
    fprintf(rf,
            ",\"kept\":%ld,\"dropped\":{\"empty\":%ld,\"too_short\":%ld,\"invalid_utf8\":%ld,"
            "\"duplicate\":%ld,\"other_language\":%ld},\"language_check\":\"%s\",\"first_line\":{\"invalid_utf8\":%ld,\"duplicate\":%ld,"
            "\"other_language\":%ld}",
            kept, d_empty, d_short, d_utf8, d_dup, d_lang,
            !lang ? "none" : lid ? "script share + langid model" : "script share", ex_utf8, ex_dup, ex_lang);
    print_problems(rf, r);
    fprintf(rf, "}\n");
    bh_corpus_free(r);
    if (report && (ferror(rf) | fclose(rf))) {
        fprintf(stderr, "bhasha %s: write error on %s\n", CMD, report);
        return 1;
    }
    return 0;
}

/* ---- split ---------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void write_field(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) fputc(s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], f);
}

static int cmd_split(int argc, char **argv)
{
    copts c;
    memset(&c, 0, sizeof c);
    const char *file = NULL, *prefix = NULL, *v, *ratios = "0.8,0.1,0.1";
    long long seed = -1;
    for (int i = 1; i < argc; i++) {
        int k = reader_opt(argc, argv, &i, &c);
        if (k < 0) return cli_usage_error(CMD, "bad value for %s", argv[i]);
        if (k) continue;
        if (cli_opt(argc, argv, &i, "--seed", &v)) seed = v ? atoll(v) : -1;
        else if (cli_opt(argc, argv, &i, "--out", &v)) prefix = v;
        else if (cli_opt(argc, argv, &i, "--ratios", &v)) ratios = v ? v : ratios;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(CMD, "unknown option %s", argv[i]);
        else file = argv[i];
    }
    if (!file || !prefix) return usage(), 2;
    if (seed < 0) return cli_usage_error(CMD, "split needs --seed N (N >= 0) so that it is reproducible");
    if (strcmp(file, "-") == 0) return cli_usage_error(CMD, "split reads its input twice: give a file, not stdin");
    double rat[3] = {0, 0, 0};
    /* !(x >= 0): a NaN fails it too, and inf is refused by the sum's check */
    if (sscanf(ratios, "%lf,%lf,%lf", &rat[0], &rat[1], &rat[2]) < 2 || !(rat[0] >= 0) || !(rat[1] >= 0) ||
        !(rat[2] >= 0))
        return cli_usage_error(CMD, "--ratios: like 0.8,0.1,0.1");
    double tot = rat[0] + rat[1] + rat[2];
    if (tot <= 0 || !isfinite(tot)) return cli_usage_error(CMD, "--ratios must sum to a positive finite number");
    /* pass 1: labels per record (strata) */
    bh_corpus *r;
    bh_status st = bh_corpus_open(file, &c.o, &r);
    if (st) return cli_fail(CMD, st);
    char **names = NULL;
    int nlab = 0;
    int *lab = NULL;
    long n = 0, cap = 0;
    bh_corpus_record rec;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            int *p = realloc(lab, (size_t)cap * sizeof *p);
            if (!p) return cli_fail(CMD, BH_ENOMEM);
            lab = p;
        }
        int li = 0;
        if (rec.label) {
            for (li = 0; li < nlab && strcmp(names[li], rec.label); li++) {}
            if (li == nlab) {
                char **p = realloc(names, (size_t)(nlab + 1) * sizeof *p);
                if (!p) return cli_fail(CMD, BH_ENOMEM);
                names = p;
                names[nlab++] = strdup(rec.label);
            }
        }
        lab[n++] = li;
    }
    bh_corpus_free(r);
    if (k < 0) return cli_fail(CMD, k);
    /* per stratum: shuffle its members, cut by the ratios */
    unsigned char *part = malloc((size_t)(n ? n : 1));
    long *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!part || !idx) return cli_fail(CMD, BH_ENOMEM);
    uint64_t rng = (uint64_t)seed;
    for (int L = 0; L < (nlab ? nlab : 1); L++) {
        long m = 0;
        for (long i = 0; i < n; i++)
            if (lab[i] == L) idx[m++] = i;
        for (long i = m - 1; i > 0; i--) {
            long j = (long)(splitmix(&rng) % (uint64_t)(i + 1));
            long t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        long c0 = (long)(m * rat[0] / tot + 0.5), c1 = (long)(m * (rat[0] + rat[1]) / tot + 0.5);
        for (long i = 0; i < m; i++) part[idx[i]] = i < c0 ? 0 : i < c1 ? 1 : 2;
    }
    /* pass 2: write */
    static const char *const pn[3] = {"train", "dev", "test"};
    const char *ext = nlab ? "tsv" : (c.o.format == BH_CORPUS_CONLL ? "conll" : "txt");
    FILE *out[3];
    long cnt[3] = {0, 0, 0};
    for (int p = 0; p < 3; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%s.%s", prefix, pn[p], ext);
        out[p] = fopen(path, "w");
        if (!out[p]) return cli_usage_error(CMD, "cannot write %s", path);
        if (nlab) fprintf(out[p], "text\tlabel\n");
    }
    if ((st = bh_corpus_open(file, &c.o, &r))) return cli_fail(CMD, st);
    long i = 0;
    while ((k = bh_corpus_next(r, &rec)) == 1 && i < n) {
        FILE *f = out[part[i]];
        cnt[part[i]]++;
        i++;
        if (rec.tokens && rec.tags && !nlab) {
            for (size_t t = 0; t < rec.n_tokens; t++) fprintf(f, "%s\t%s\n", rec.tokens[t], rec.tags[t]);
            fputc('\n', f);
        } else {
            write_field(f, rec.text, rec.text_len);
            if (nlab) {
                fputc('\t', f);
                write_field(f, rec.label ? rec.label : "", rec.label ? strlen(rec.label) : 0);
            }
            fputc('\n', f);
        }
    }
    bh_corpus_free(r);
    /* a full disk shows up at the flush in fclose at the latest: the split is then
     * incomplete, and must not pass for done */
    int bad = -1;
    for (int p = 0; p < 3; p++)
        if ((ferror(out[p]) | fclose(out[p])) && bad < 0) bad = p;
    for (int L = 0; L < nlab; L++) free(names[L]);
    free(names);
    free(lab);
    free(part);
    free(idx);
    if (k < 0) return cli_fail(CMD, k);
    if (bad >= 0) {
        fprintf(stderr, "bhasha %s: write error on %s.%s.%s\n", CMD, prefix, pn[bad], ext);
        return 1;
    }
    printf("{\"records\":%ld,\"strata\":%d,\"train\":%ld,\"dev\":%ld,\"test\":%ld,\"seed\":%lld}\n", n, nlab,
           cnt[0], cnt[1], cnt[2], seed);
    return 0;
}

/* ---- encode ---------------------------------------------------------------- */

/* Token-id shards for pretraining: every record's text → bh_normalize (the
 * shipped tokenizers were trained on normalized text; --no-normalize skips it)
 * → SentencePiece ids → shard files PREFIX-00000.bin, ... (format in
 * bhasha/model.h), a new shard every --shard-tokens ids. Documents longer than
 * the encoder's input limit are encoded paragraph by paragraph. */
static int cmd_encode(int argc, char **argv)
{
    copts c;
    memset(&c, 0, sizeof c);
    const char *model = NULL, *prefix = NULL, *v;
    const char *files[256];
    int nf = 0;
    long long shard_tokens = 50000000;
    int normalize = 1;
    for (int i = 1; i < argc; i++) {
        int k = reader_opt(argc, argv, &i, &c);
        if (k < 0) return cli_usage_error(CMD, "bad value for %s", argv[i]);
        if (k) continue;
        if (cli_opt(argc, argv, &i, "--spm", &v)) model = v;
        else if (cli_opt(argc, argv, &i, "--out", &v)) prefix = v;
        else if (cli_opt(argc, argv, &i, "--shard-tokens", &v)) shard_tokens = v ? atoll(v) : 0;
        else if (cli_opt(argc, argv, &i, "--no-normalize", NULL)) normalize = 0;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(CMD, "unknown option %s", argv[i]);
        else if (nf == 256) return cli_usage_error(CMD, "too many files");
        else files[nf++] = argv[i];
    }
    if (!model || !prefix || !nf) return cli_usage_error(CMD, "encode needs --spm MODEL --out PREFIX FILE...");
    if (shard_tokens <= 0) return cli_usage_error(CMD, "--shard-tokens must be positive");
    bh_spm *m;
    bh_status st = bh_spm_load(model, &m);
    if (st) return cli_fail(CMD, st);
    bh_tokens tok = {0};
    bh_buf norm = {0};
    bh_shard_writer *w = NULL;
    int shard = 0;
    long long in_shard = 0, total = 0, docs = 0;
    char path[4096];
    for (int f = 0; f < nf && !st; f++) {
        bh_corpus *r;
        if ((st = bh_corpus_open(files[f], &c.o, &r))) break;
        bh_corpus_record rec;
        int k;
        while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
            if (!w) {
                snprintf(path, sizeof path, "%s-%05d.bin", prefix, shard++);
                if ((st = bh_shard_writer_open(path, (uint32_t)bh_spm_vocab_size(m), &w))) break;
                in_shard = 0;
            }
            const char *text = rec.text;
            size_t text_len = rec.text_len;
            if (normalize) {
                bh_buf_clear(&norm);
                if ((st = bh_normalize(rec.text, rec.text_len, NULL, &norm, NULL))) break;
                text = norm.data ? norm.data : "";
                text_len = norm.len;
            }
            size_t off = 0;
            while (off < text_len && !st) {
                size_t len = text_len - off;
                if (len > BH_SPM_MAX_INPUT) { /* cut at a newline (or hard) below the limit */
                    len = BH_SPM_MAX_INPUT;
                    const char *nl = memrchr(text + off, '\n', len);
                    if (nl && nl > text + off) len = (size_t)(nl - (text + off));
                }
                st = bh_spm_encode_ids(m, text + off, len, &tok);
                if (!st && tok.n) st = bh_shard_writer_add(w, tok.ids, (uint32_t)tok.n);
                in_shard += (long long)tok.n;
                total += (long long)tok.n;
                off += len;
            }
            docs++;
            if (!st && in_shard >= shard_tokens) {
                st = bh_shard_writer_close(w);
                w = NULL;
            }
        }
        if (!st && k < 0) st = k;
        bh_corpus_free(r);
    }
    if (w) {
        bh_status s2 = bh_shard_writer_close(w);
        if (!st) st = s2;
    }
    bh_tokens_free(&tok);
    bh_buf_free(&norm);
    bh_spm_free(m);
    if (st) return cli_fail(CMD, st);
    printf("{\"documents\":%lld,\"tokens\":%lld,\"shards\":%d,\"prefix\":", docs, total, shard);
    cli_json_string(stdout, prefix, strlen(prefix));
    printf("}\n");
    return 0;
}

int cli_corpus(int argc, char **argv)
{
    if (argc < 2) return usage(), 2;
    const char *sub = argv[1];
    if (strcmp(sub, "stats") == 0) return cmd_stats(argc - 1, argv + 1);
    if (strcmp(sub, "clean") == 0) return cmd_clean(argc - 1, argv + 1);
    if (strcmp(sub, "split") == 0) return cmd_split(argc - 1, argv + 1);
    if (strcmp(sub, "encode") == 0) return cmd_encode(argc - 1, argv + 1);
    if (strcmp(sub, "cloze") == 0) return cli_corpus_cloze(argc - 1, argv + 1);
    if (strcmp(sub, "squad-split") == 0) return cli_corpus_squad_split(argc - 1, argv + 1);
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) return usage(), 0;
    return cli_usage_error(CMD, "unknown subcommand \"%s\" (stats, clean, split, encode, cloze, squad-split)", sub);
}
