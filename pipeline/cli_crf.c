/* pipeline/cli_crf.c — `bhasha crf train|tag|eval`: the feature CRF NER tagger
 * (include/bhasha/crf.h) over CoNLL files, scored with conlleval. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/crf_baseline.h"
#include "pipeline/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bhasha crf train --train FILE --out MODEL [--dev FILE] [--scheme bio|iobes] [--map MAP]\n"
            "                        [--text KEY --tags KEY (*.jsonl)]\n"
            "                        [--epochs N] [--bits B] [--lr X] [--l2 X] [--seed N]\n"
            "       bhasha crf tag --model MODEL [FILE]\n"
            "       bhasha crf eval --model MODEL --test FILE [--scheme bio|iobes] [--map MAP] [--pred OUT]\n"
            "Feature-based linear-chain CRF for named entities. FILE for train/eval is CoNLL (token ... tag,\n"
            "blank line between sentences), or JSON lines when named *.jsonl (a sentence per line: --text\n"
            "KEY|INDEX, default text; --tags KEY|INDEX, default tags; the text is re-tokenized to the\n"
            "tags). Tags are repaired (\"-\" -> O, \"-X\" -> I-X),\n"
            "converted to --scheme (default bio) and renamed by --map (e.g. NEP=PER,NEL=LOC,NEO=ORG,NEN=O).\n"
            "train: progress per epoch on stderr, a JSON summary on stdout. tag: one sentence per line,\n"
            "whitespace-separated tokens in; token<TAB>tag lines out, a blank line after each sentence.\n"
            "eval: conlleval entity scores as one JSON object; --pred writes token gold predicted lines.\n");
}

typedef struct {
    const bh_crf_tagger *t;
    const char *dev;
    const bh__crf_data *d;
    int failed;
} progress_ctx;

static int on_epoch(void *ctx, int epoch, int epochs, double loss, double seconds)
{
    progress_ctx *p = ctx;
    fprintf(stderr, "bhasha crf: epoch %d/%d loss %.4f %.1f s (%.1f s/epoch, ETA %.0f s)", epoch, epochs, loss, seconds,
            seconds / epoch, seconds / epoch * (epochs - epoch));
    if (p->dev) {
        bh_ner_report *r = NULL;
        if (bh__crf_eval_conll(p->t, p->dev, p->d, NULL, &r, NULL, NULL) == BH_OK)
            fprintf(stderr, " dev F1 %.2f", r->f1);
        else
            p->failed = 1;
        bh_ner_report_free(r);
    }
    fputc('\n', stderr);
    return p->failed;
}

static int parse_common(const char *cmd, const char *scheme, bh__crf_data *d)
{
    if (scheme && bh_tag_scheme_parse(scheme, &d->scheme)) return cli_usage_error(cmd, "unknown --scheme %s", scheme);
    return 0;
}

static int crf_train(int argc, char **argv)
{
    const char *cmd = "crf train", *train = NULL, *dev = NULL, *out = NULL, *scheme = NULL, *v;
    bh__crf_data d = {BH_TAGS_BIO, NULL, NULL, NULL};
    bh_crf_tagger_options o = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--train", &train) || cli_opt(argc, argv, &i, "--dev", &dev) ||
            cli_opt(argc, argv, &i, "--out", &out) || cli_opt(argc, argv, &i, "--scheme", &scheme) ||
            cli_opt(argc, argv, &i, "--map", &d.label_map) ||
            cli_opt(argc, argv, &i, "--text", &d.text_field) || cli_opt(argc, argv, &i, "--tags", &d.tags_field)) {
        } else if (cli_opt(argc, argv, &i, "--epochs", &v)) {
            if ((o.epochs = atoi(v)) <= 0) return cli_usage_error(cmd, "--epochs must be positive");
        } else if (cli_opt(argc, argv, &i, "--bits", &v)) {
            o.hash_bits = atoi(v);
            if (o.hash_bits < 12 || o.hash_bits > 24) return cli_usage_error(cmd, "--bits must be 12..24");
        } else if (cli_opt(argc, argv, &i, "--lr", &v)) {
            if (!((o.lr = atof(v)) > 0)) return cli_usage_error(cmd, "--lr must be positive");
        } else if (cli_opt(argc, argv, &i, "--l2", &v)) {
            o.l2 = atof(v);
            if (o.l2 == 0) o.l2 = -1;
        } else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            o.seed = strtoull(v, NULL, 10);
        } else {
            return cli_usage_error(cmd, "unknown or incomplete option %s (bhasha crf --help)", argv[i]);
        }
    }
    if (!train || !out) return cli_usage_error(cmd, "--train and --out are required");
    if (parse_common(cmd, scheme, &d)) return 2;
    bh_crf_tagger *t;
    bh_status st = bh_crf_tagger_new(&t);
    if (st) return cli_fail(cmd, st);
    long n = 0, skipped = 0;
    double t0 = cli_now();
    if ((st = bh__crf_add_conll(t, train, &d, &n, &skipped))) {
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    fprintf(stderr, "bhasha crf: %ld training sentences (%ld skipped by the reader), %zu labels\n", n, skipped,
            bh_crf_tagger_n_labels(t));
    progress_ctx p = {t, dev, &d, 0};
    o.progress = on_epoch;
    o.ctx = &p;
    st = bh_crf_tagger_train(t, &o);
    double secs = cli_now() - t0;
    if (!st && p.failed) {
        bh_ner_report *r = NULL;
        st = bh__crf_eval_conll(t, dev, &d, NULL, &r, NULL, NULL);
        bh_ner_report_free(r);
    }
    if (!st) st = bh_crf_tagger_save(t, out);
    if (st) {
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    printf("{\"train\":");
    cli_json_string(stdout, train, strlen(train));
    printf(",\"sentences\":%ld,\"skipped\":%ld,\"labels\":%zu,\"seconds\":%.2f,\"model\":", n, skipped,
           bh_crf_tagger_n_labels(t), secs);
    cli_json_string(stdout, out, strlen(out));
    printf("}\n");
    bh_crf_tagger_free(t);
    return 0;
}

static int crf_tag(int argc, char **argv)
{
    const char *cmd = "crf tag", *model = NULL, *in = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &model)) continue;
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown or incomplete option %s", argv[i]);
        if (in) return cli_usage_error(cmd, "one input file at most");
        in = argv[i];
    }
    if (!model) return cli_usage_error(cmd, "--model is required");
    bh_crf_tagger *t;
    bh_status st = bh_crf_tagger_load(model, &t);
    if (st) return cli_fail(cmd, st);
    cli_lines r;
    if (cli_lines_open(&r, cmd, in)) {
        bh_crf_tagger_free(t);
        return 1;
    }
    const char **tok = NULL, **tags = NULL;
    size_t cap = 0;
    int rc = 0;
    while (cli_lines_next(&r)) {
        size_t n = 0;
        char *s = r.line, *end = r.line + r.len;
        while (s < end) {
            while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == 0)) *s++ = 0;
            if (s == end) break;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                const char **a = realloc(tok, cap * sizeof *a);
                if (a) tok = a;
                const char **b = a ? realloc(tags, cap * sizeof *b) : NULL;
                if (b) tags = b;
                if (!a || !b) {
                    fprintf(stderr, "bhasha %s: out of memory at line %ld\n", cmd, r.lineno);
                    rc = 1;
                    goto done;
                }
            }
            tok[n++] = s;
            while (s < end && !(*s == ' ' || *s == '\t' || *s == '\r' || *s == 0)) s++;
        }
        if ((st = bh_crf_tagger_tag(t, tok, n, tags))) {
            fprintf(stderr, "bhasha %s: line %ld: %s: %s\n", cmd, r.lineno, bh_errmsg(st), bh_last_error());
            rc = 1;
            goto done;
        }
        for (size_t i = 0; i < n; i++) printf("%s\t%s\n", tok[i], tags[i]);
        putchar('\n');
    }
done:
    cli_lines_close(&r);
    free(tok);
    free(tags);
    bh_crf_tagger_free(t);
    return rc;
}

static int crf_eval(int argc, char **argv)
{
    const char *cmd = "crf eval", *model = NULL, *test = NULL, *scheme = NULL, *pred = NULL;
    bh__crf_data d = {BH_TAGS_BIO, NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--test", &test) ||
            cli_opt(argc, argv, &i, "--scheme", &scheme) || cli_opt(argc, argv, &i, "--map", &d.label_map) ||
            cli_opt(argc, argv, &i, "--text", &d.text_field) || cli_opt(argc, argv, &i, "--tags", &d.tags_field) ||
            cli_opt(argc, argv, &i, "--pred", &pred))
            continue;
        return cli_usage_error(cmd, "unknown or incomplete option %s (bhasha crf --help)", argv[i]);
    }
    if (!model || !test) return cli_usage_error(cmd, "--model and --test are required");
    if (parse_common(cmd, scheme, &d)) return 2;
    bh_crf_tagger *t;
    bh_status st = bh_crf_tagger_load(model, &t);
    if (st) return cli_fail(cmd, st);
    bh_ner_report *r = NULL;
    bh_buf pb = {0};
    long n = 0, skipped = 0;
    double t0 = cli_now();
    st = bh__crf_eval_conll(t, test, &d, pred ? &pb : NULL, &r, &n, &skipped);
    double secs = cli_now() - t0;
    bh_crf_tagger_free(t);
    if (!st && pred) {
        FILE *f = fopen(pred, "wb");
        int bad = !f || (pb.len && fwrite(pb.data, 1, pb.len, f) != pb.len);
        if (f && fclose(f)) bad = 1;
        if (bad) {
            bh_buf_free(&pb);
            bh_ner_report_free(r);
            fprintf(stderr, "bhasha %s: cannot write %s\n", cmd, pred);
            return 1;
        }
    }
    bh_buf_free(&pb);
    if (st) return cli_fail(cmd, st);
    printf("{\"test\":");
    cli_json_string(stdout, test, strlen(test));
    printf(",\"sentences\":%ld,\"skipped\":%ld,\"tokens\":%ld,\"seconds\":%.2f,\"accuracy\":%.2f,"
           "\"precision\":%.2f,\"recall\":%.2f,\"f1\":%.2f,\"types\":{",
           n, skipped, r->tokens, secs, r->accuracy, r->precision, r->recall, r->f1);
    for (size_t i = 0; i < r->n_types; i++) {
        printf("%s", i ? "," : "");
        cli_json_string(stdout, r->types[i], strlen(r->types[i]));
        printf(":{\"gold\":%ld,\"pred\":%ld,\"precision\":%.2f,\"recall\":%.2f,\"f1\":%.2f}", r->gold[i], r->pred[i],
               r->type_p[i], r->type_r[i], r->type_f1[i]);
    }
    printf("}}\n");
    bh_ner_report_free(r);
    return 0;
}

int cli_crf(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return crf_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tag")) return crf_tag(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return crf_eval(argc - 1, argv + 1);
    return cli_usage_error("crf", "unknown subcommand %s (train, tag, eval)", argv[1]);
}
