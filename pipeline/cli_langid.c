/* pipeline/cli_langid.c — `bhasha langid`: identify the language of each line,
 * train a model (`langid train`) and score one on labelled lines (`langid eval`). */
#include "pipeline/cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const lid_usage =
    "usage: bhasha langid [--model FILE] [--strict] [FILE]\n"
    "       bhasha langid train -o MODEL [--algo nb|lr|nb+lr] [--hash-bits N] [--max-n N]\n"
    "                           [--no-words] [--no-normalize] [--alpha X] [--temperature T]\n"
    "                           [--epochs N] [--crops N] [--lr X] [--l2 X] [--weighting 0|1|2]\n"
    "                           [--seed N]\n"
    "                           [--script LANG=Scrp] FILE...\n"
    "       bhasha langid eval [--model FILE] [--short N] FILE\n"
    "Prints LANG<TAB>SCORE per input line (und<TAB>0.0000 when no known script).\n"
    "Training and evaluation files hold LANG<TAB>TEXT lines.\n"
    "The model is --model, else $BHASHA_LANGID_MODEL, else the shipped one.\n";

/* Default script of each language code the trainer knows without --script. */
static const char *const default_scripts[][2] = {
    {"as", "Beng"}, {"bn", "Beng"}, {"hi", "Deva"}, {"mr", "Deva"}, {"ne", "Deva"},
    {"sa", "Deva"}, {"mai", "Deva"}, {"kok", "Deva"}, {"pa", "Guru"}, {"gu", "Gujr"},
    {"or", "Orya"}, {"ta", "Taml"}, {"te", "Telu"}, {"kn", "Knda"}, {"ml", "Mlym"},
    {"ur", "Arab"}, {"sd", "Arab"}, {"en", "Latn"},
};

/* The shipped model, unless $BHASHA_LANGID_MODEL names another. */
static const char *default_model(char *buf, size_t cap)
{
    const char *env = getenv("BHASHA_LANGID_MODEL");
    if (env && *env) return env;
    cli_asset("langid/langid.bin", buf, cap);
    return buf;
}

static int load_model(const char *cmd, const char *path, bh_langid **m)
{
    char buf[PATH_MAX + 64];
    if (!path) path = default_model(buf, sizeof buf);
    bh_status st = bh_langid_load(path, m);
    return st ? cli_fail(cmd, st) : 0;
}

/* Number of bytes of s[0..n) that are not part of valid UTF-8, and NULs. */
static size_t utf8_problems(const char *s, size_t n, size_t *nul)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t bad = 0, i = 0;
    *nul = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c >= 0xE0 && c <= 0xEF) ? 2
                                                              : (c >= 0xF0 && c <= 0xF4) ? 3 : 99;
        if (c == 0) (*nul)++;
        if (k == 99 || n - i - 1 < k) {
            bad++;
            i++;
            continue;
        }
        int ok = 1;
        for (size_t j = 1; j <= k; j++)
            if ((p[i + j] & 0xC0) != 0x80) ok = 0;
        if (ok && k == 2) {
            unsigned cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) ok = 0;
        }
        if (ok && k == 3) {
            unsigned cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12);
            if (cp < 0x10000 || cp > 0x10FFFF) ok = 0;
        }
        if (!ok) {
            bad++;
            i++;
            continue;
        }
        i += k + 1;
    }
    return bad;
}

static int lid_identify(int argc, char **argv)
{
    const char *cmd = "langid", *model = NULL, *path = NULL, *v;
    int strict = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &v)) model = v;
        else if (!strcmp(argv[i], "--strict")) strict = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(lid_usage, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (path) return cli_usage_error(cmd, "more than one input file");
        else path = argv[i];
    }
    bh_langid *m = NULL;
    if (load_model(cmd, model, &m)) return 1;
    cli_lines r;
    if (cli_lines_open(&r, cmd, path)) {
        bh_langid_free(m);
        return 1;
    }
    long problems = 0;
    int rc = 0;
    while (cli_lines_next(&r)) {
        size_t nul, bad = utf8_problems(r.line, r.len, &nul);
        if (bad || nul) {
            if (++problems <= 20)
                fprintf(stderr, "bhasha langid: line %ld: %zu invalid UTF-8 bytes, %zu NUL bytes (treated as separators)\n",
                        r.lineno, bad, nul);
        }
        bh_langid_result res;
        bh_status st = bh_langid_identify(m, r.line, r.len, &res);
        if (st) {
            fprintf(stderr, "bhasha langid: line %ld: %s: %s\n", r.lineno, bh_errmsg(st), bh_last_error());
            memcpy(res.lang, "und", 4);
            res.score = 0;
            rc = 1;
        }
        printf("%s\t%.4f%s", res.lang, (double)res.score, r.had_newline ? "\n" : "");
    }
    if (cli_lines_close(&r) && !rc) rc = 1;
    bh_langid_free(m);
    return cli_finish_lines("langid", rc, problems, 20, strict, "invalid UTF-8 or NUL bytes");
}

typedef struct progress_state {
    struct timespec t0;
    size_t n;
} progress_state;

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void on_progress(void *ctx, int epoch, int epochs, double done, double loss)
{
    progress_state *ps = ctx;
    double t = elapsed(&ps->t0), frac = ((double)(epoch - 1) + done) / (double)epochs;
    double rate = t > 0 ? frac * (double)epochs * (double)ps->n / t : 0;
    double eta = frac > 0 ? t * (1 - frac) / frac : 0;
    fprintf(stderr, "\rlangid train: epoch %d/%d %3.0f%%  loss %.4f  %.0f samples/s  ETA %.0fs   ", epoch,
            epochs, 100 * done, loss, rate, eta);
    if (done >= 1.0) fputc('\n', stderr);
}

static const char *script_for(const char *lang, char **argv, int argc)
{
    size_t ll = strlen(lang);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--script") && !strncmp(argv[i + 1], lang, ll) && argv[i + 1][ll] == '=')
            return argv[i + 1] + ll + 1;
    for (size_t i = 0; i < sizeof default_scripts / sizeof default_scripts[0]; i++)
        if (!strcmp(default_scripts[i][0], lang)) return default_scripts[i][1];
    return NULL;
}

static int parse_int(const char *cmd, const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < INT_MIN || v > INT_MAX) return cli_usage_error(cmd, "%s wants an integer, got '%s'", opt, s);
    *out = (int)v;
    return 0;
}

static int lid_train(int argc, char **argv)
{
    const char *cmd = "langid train", *outp = NULL, *v;
    bh_langid_train_options o;
    bh_langid_train_options_default(&o);
    int nfiles = 0, seed = 1;
    for (int i = 1; i < argc; i++) {
        int e = 0;
        if (cli_opt(argc, argv, &i, "-o", &v)) outp = v;
        else if (cli_opt(argc, argv, &i, "--hash-bits", &v)) e = parse_int(cmd, "--hash-bits", v, &o.hash_bits);
        else if (cli_opt(argc, argv, &i, "--epochs", &v)) e = parse_int(cmd, "--epochs", v, &o.epochs);
        else if (cli_opt(argc, argv, &i, "--crops", &v)) e = parse_int(cmd, "--crops", v, &o.crops);
        else if (cli_opt(argc, argv, &i, "--weighting", &v)) e = parse_int(cmd, "--weighting", v, &o.weighting);
        else if (cli_opt(argc, argv, &i, "--max-n", &v)) e = parse_int(cmd, "--max-n", v, &o.max_n);
        else if (cli_opt(argc, argv, &i, "--seed", &v)) e = parse_int(cmd, "--seed", v, &seed);
        else if (cli_opt(argc, argv, &i, "--lr", &v)) o.lr = strtof(v, NULL);
        else if (cli_opt(argc, argv, &i, "--l2", &v)) o.l2 = strtof(v, NULL);
        else if (cli_opt(argc, argv, &i, "--alpha", &v)) o.alpha = strtof(v, NULL);
        else if (cli_opt(argc, argv, &i, "--temperature", &v)) o.temperature = strtof(v, NULL);
        else if (cli_opt(argc, argv, &i, "--algo", &v)) {
            if (!strcmp(v, "nb")) o.naive_bayes = 1;
            else if (!strcmp(v, "lr")) o.naive_bayes = 0;
            else if (!strcmp(v, "nb+lr")) o.naive_bayes = 2;
            else return cli_usage_error(cmd, "--algo wants nb, lr or nb+lr, got '%s'", v);
        }
        else if (cli_opt(argc, argv, &i, "--script", &v)) continue;
        else if (!strcmp(argv[i], "--no-words")) o.word_features = 0;
        else if (!strcmp(argv[i], "--no-normalize")) o.normalize = 0;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else nfiles++;
        if (e) return e;
    }
    o.seed = (unsigned)seed;
    if (!outp) return cli_usage_error(cmd, "-o MODEL is required");
    if (!nfiles) return cli_usage_error(cmd, "no training file");
    bh_langid_trainer *t = NULL;
    bh_status st = bh_langid_trainer_new(&o, &t);
    if (st) return cli_fail(cmd, st);
    int rc = 0;
    size_t nsamples = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (strcmp(argv[i], "--no-words") && strcmp(argv[i], "--no-normalize")) i++;
            continue;
        }
        cli_lines r;
        if (cli_lines_open(&r, cmd, argv[i])) {
            rc = 1;
            break;
        }
        while (!rc && cli_lines_next(&r)) {
            char *tab = memchr(r.line, '\t', r.len);
            if (!tab || tab == r.line || tab - r.line > 8) {
                fprintf(stderr, "bhasha %s: %s line %ld: expected LANG<TAB>TEXT\n", cmd, argv[i], r.lineno);
                rc = 1;
                break;
            }
            *tab = 0;
            const char *script = script_for(r.line, argv, argc);
            if (!script) {
                fprintf(stderr, "bhasha %s: %s line %ld: no script known for '%s' (use --script %s=Scrp)\n", cmd,
                        argv[i], r.lineno, r.line, r.line);
                rc = 1;
                break;
            }
            st = bh_langid_trainer_add(t, r.line, script, tab + 1, r.len - (size_t)(tab + 1 - r.line));
            if (st) {
                fprintf(stderr, "bhasha %s: %s line %ld: %s: %s\n", cmd, argv[i], r.lineno, bh_errmsg(st),
                        bh_last_error());
                rc = 1;
            }
            nsamples++;
        }
        if (cli_lines_close(&r) && !rc) rc = 1;
    }
    bh_langid *m = NULL;
    if (!rc) {
        progress_state ps = {.n = nsamples};
        clock_gettime(CLOCK_MONOTONIC, &ps.t0);
        fprintf(stderr, "langid train: %zu samples\n", nsamples);
        st = bh_langid_trainer_fit(t, on_progress, &ps, &m);
        if (!st) st = bh_langid_save(m, outp);
        if (st) rc = cli_fail(cmd, st);
        else fprintf(stderr, "langid train: wrote %s in %.1fs\n", outp, elapsed(&ps.t0));
    }
    bh_langid_free(m);
    bh_langid_trainer_free(t);
    return rc;
}

/* Longest prefix of whole space-separated words with at most maxc code
 * points; when the first word alone is longer, its first maxc code points. */
static size_t short_prefix(const char *s, size_t n, size_t maxc)
{
    size_t chars = 0, best = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ' ') {
            if (chars <= maxc) best = i;
            else break;
        }
        if (i < n && ((unsigned char)s[i] & 0xC0) != 0x80) {
            chars++;
            if (chars > maxc && !best) return i;
        }
    }
    return best;
}

#define EVAL_MAX_LANGS 64

static int lid_eval(int argc, char **argv)
{
    const char *cmd = "langid eval", *model = NULL, *path = NULL, *v;
    int shortn = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &v)) model = v;
        else if (cli_opt(argc, argv, &i, "--short", &v)) {
            if (parse_int(cmd, "--short", v, &shortn)) return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else path = argv[i];
    }
    if (!path) return cli_usage_error(cmd, "no evaluation file");
    bh_langid *m = NULL;
    if (load_model(cmd, model, &m)) return 1;
    cli_lines r;
    if (cli_lines_open(&r, cmd, path)) {
        bh_langid_free(m);
        return 1;
    }
    char codes[EVAL_MAX_LANGS][9];
    size_t nl = 0, conf[EVAL_MAX_LANGS][EVAL_MAX_LANGS + 1];
    memset(conf, 0, sizeof conf);
    int rc = 0;
    while (cli_lines_next(&r)) {
        char *tab = memchr(r.line, '\t', r.len);
        if (!tab || tab == r.line || tab - r.line > 8) {
            fprintf(stderr, "bhasha %s: %s line %ld: expected LANG<TAB>TEXT\n", cmd, path, r.lineno);
            rc = 1;
            break;
        }
        *tab = 0;
        const char *text = tab + 1;
        size_t len = r.len - (size_t)(text - r.line);
        if (shortn > 0) len = short_prefix(text, len, (size_t)shortn);
        bh_langid_result res;
        bh_status st = bh_langid_identify(m, text, len, &res);
        if (st) {
            rc = cli_fail(cmd, st);
            break;
        }
        size_t g = 0, p = 0;
        while (g < nl && strcmp(codes[g], r.line)) g++;
        if (g == nl && nl < EVAL_MAX_LANGS) memcpy(codes[nl++], r.line, strlen(r.line) + 1);
        while (p < nl && strcmp(codes[p], res.lang)) p++;
        if (p == nl && nl < EVAL_MAX_LANGS) memcpy(codes[nl++], res.lang, strlen(res.lang) + 1);
        if (g < EVAL_MAX_LANGS) conf[g][p < EVAL_MAX_LANGS ? p : EVAL_MAX_LANGS]++;
    }
    if (cli_lines_close(&r) && !rc) rc = 1;
    bh_langid_free(m);
    if (rc) return rc;
    size_t all = 0, right = 0;
    printf("| lang | lines | accuracy | most confused with |\n|---|---:|---:|---|\n");
    for (size_t g = 0; g < nl; g++) {
        size_t n = 0, worst = g;
        for (size_t p = 0; p <= EVAL_MAX_LANGS; p++) n += conf[g][p];
        if (!n) continue;
        for (size_t p = 0; p < nl; p++)
            if (p != g && conf[g][p] > (worst == g ? 0 : conf[g][worst])) worst = p;
        all += n;
        right += conf[g][g];
        printf("| %s | %zu | %.2f%% |", codes[g], n, 100.0 * (double)conf[g][g] / (double)n);
        if (worst != g) printf(" %s (%zu)", codes[worst], conf[g][worst]);
        printf(" |\n");
    }
    printf("| all | %zu | %.2f%% | |\n", all, all ? 100.0 * (double)right / (double)all : 0.0);
    return 0;
}

int cli_langid(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "train")) return lid_train(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "eval")) return lid_eval(argc - 1, argv + 1);
    return lid_identify(argc, argv);
}
