/* pipeline/cli_crf.c — `bhasha crf train|tag|eval`: the feature CRF NER tagger
 * (include/bhasha/crf.h) over CoNLL files, scored with conlleval. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bhasha/heads.h"
#include "core/error.h"
#include "eval/crf_baseline.h"
#include "pipeline/cli.h"
#include "pipeline/finetune.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bhasha crf train --train FILE --out MODEL [--dev FILE] [--scheme bio|iobes] [--map MAP]\n"
            "                        [--text KEY --tags KEY (*.jsonl)]\n"
            "                        [--epochs N] [--bits B] [--lr X] [--l2 X] [--seed N] [--runs K]\n"
            "                        [--clusters FILE]\n"
            "       bhasha crf tag --model MODEL [FILE]\n"
            "       bhasha crf eval --model MODEL --test FILE [--scheme bio|iobes] [--map MAP] [--pred OUT]\n"
            "       bhasha crf fuse --model DIR [--head NAME] --crf MODEL --dev FILE [--test FILE] [--map MAP]\n"
            "                       [--weight W] [--threads N] --out DIR\n"
            "Feature-based linear-chain CRF for named entities. FILE for train/eval is CoNLL (token ... tag,\n"
            "blank line between sentences), or JSON lines when named *.jsonl (a sentence per line: --text\n"
            "KEY|INDEX, default text; --tags KEY|INDEX, default tags; the text is re-tokenized to the\n"
            "tags). Tags are repaired (\"-\" -> O, \"-X\" -> I-X),\n"
            "converted to --scheme (default bio) and renamed by --map (e.g. NEP=PER,NEL=LOC,NEO=ORG,NEN=O).\n"
            "train: progress per epoch on stderr, a JSON summary on stdout; --clusters: a word cluster table\n"
            "(word<TAB>id<TAB>... lines, scripts/word_clusters.py) adds the clusters of each word and of its\n"
            "neighbours to the features and is saved in MODEL; --runs K trains K times from the same start\n"
            "in K shuffled orders (seeds N..N+K-1) and saves the mean of their weights (K times the time).\n"
            "tag: one sentence per line,\n"
            "whitespace-separated tokens in; token<TAB>tag lines out, a blank line after each sentence.\n"
            "eval: conlleval entity scores as one JSON object; --pred writes token gold predicted lines.\n"
            "eval and fuse convert and rename the predicted tags as the gold ones, so a model of finer types\n"
            "(e.g. IL-NER's own) is scored in the --map view.\n"
            "fuse: the CRF MODEL fused into the NER head of a fine-tuned model DIR (bhasha finetune --task ner;\n"
            "default: its first token head): the product of the two, emissions and transition scores added,\n"
            "the CRF's scaled by W; a head label the CRF lacks is never entered. Without --weight, W is\n"
            "the best of 0.25 0.5 0.75 1 1.5 2 3 4 6 by entity F1 on --dev (each tried W on stderr). Writes\n"
            "DIR's copy with the fused head to --out (bhasha ner, annotate, eval use it) and one JSON line:\n"
            "dev (and --test) F1 of the head alone, the CRF alone and the fusion.\n");
}

typedef struct {
    const bh_crf_tagger *t;
    const char *dev;
    const bh__crf_data *d;
    int failed;
    int runs, epochs; /* with runs > 1 each line names its run and the epoch in it */
} progress_ctx;

static int on_epoch(void *ctx, int epoch, int epochs, double loss, double seconds)
{
    progress_ctx *p = ctx;
    if (p->runs > 1)
        fprintf(stderr, "bhasha crf: run %d/%d epoch %d/%d", (epoch - 1) / p->epochs + 1, p->runs,
                (epoch - 1) % p->epochs + 1, p->epochs);
    else
        fprintf(stderr, "bhasha crf: epoch %d/%d", epoch, epochs);
    fprintf(stderr, " loss %.4f %.1f s (%.1f s/epoch, ETA %.0f s)", loss, seconds, seconds / epoch,
            seconds / epoch * (epochs - epoch));
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
    const char *cmd = "crf train", *train = NULL, *dev = NULL, *out = NULL, *scheme = NULL, *clusters = NULL, *v;
    bh__crf_data d = {BH_TAGS_BIO, NULL, NULL, NULL};
    bh_crf_tagger_options o = {0};
    double x;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--train", &train) || cli_opt(argc, argv, &i, "--dev", &dev) ||
            cli_opt(argc, argv, &i, "--out", &out) || cli_opt(argc, argv, &i, "--scheme", &scheme) ||
            cli_opt(argc, argv, &i, "--map", &d.label_map) || cli_opt(argc, argv, &i, "--clusters", &clusters) ||
            cli_opt(argc, argv, &i, "--text", &d.text_field) || cli_opt(argc, argv, &i, "--tags", &d.tags_field)) {
        } else if (cli_opt(argc, argv, &i, "--epochs", &v)) {
            if (cli_integer(cmd, "--epochs", v, 1, 1e6, &x)) return 2;
            o.epochs = (int)x;
        } else if (cli_opt(argc, argv, &i, "--bits", &v)) {
            if (cli_integer(cmd, "--bits", v, 12, 24, &x)) return 2;
            o.hash_bits = (int)x;
        } else if (cli_opt(argc, argv, &i, "--lr", &v)) {
            if (cli_number(cmd, "--lr", v, 1e-12, 1e6, &o.lr)) return 2;
        } else if (cli_opt(argc, argv, &i, "--l2", &v)) {
            if (cli_number(cmd, "--l2", v, 0, 1e6, &o.l2)) return 2;
            if (o.l2 == 0) o.l2 = -1;
        } else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(cmd, "--seed", v, &o.seed)) return 2;
        } else if (cli_opt(argc, argv, &i, "--runs", &v)) {
            if (cli_integer(cmd, "--runs", v, 1, 1000, &x)) return 2;
            o.runs = (int)x;
        } else {
            return cli_usage_error(cmd, "unknown or incomplete option %s (bhasha crf --help)", argv[i]);
        }
    }
    if (!train || !out) return cli_usage_error(cmd, "--train and --out are required");
    if (parse_common(cmd, scheme, &d)) return 2;
    bh_crf_tagger *t;
    bh_word_clusters *wc = NULL;
    bh_status st = clusters ? bh_word_clusters_load(clusters, &wc) : BH_OK;
    if (!st && (st = bh_crf_tagger_new(&t))) bh_word_clusters_free(wc);
    if (st) return cli_fail(cmd, st);
    if (wc && (st = bh_crf_tagger_set_clusters(t, wc))) { /* cannot fail on a new tagger */
        bh_word_clusters_free(wc);
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    long n = 0, skipped = 0;
    double t0 = cli_now();
    if ((st = bh__crf_add_conll(t, train, &d, &n, &skipped))) {
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    fprintf(stderr, "bhasha crf: %ld training sentences (%ld skipped by the reader), %zu labels\n", n, skipped,
            bh_crf_tagger_n_labels(t));
    progress_ctx p = {t, dev, &d, 0, o.runs, o.epochs > 0 ? o.epochs : 5};
    o.progress = on_epoch;
    o.ctx = &p;
    st = bh_crf_tagger_train(t, &o);
    double secs = cli_now() - t0;
    if (!st && p.failed) {
        bh_ner_report *r = NULL;
        st = bh__crf_eval_conll(t, dev, &d, NULL, &r, NULL, NULL);
        bh_ner_report_free(r);
    }
    if (!st && dev && o.runs > 1) { /* the lines above scored each run alone */
        bh_ner_report *r = NULL;
        if (!(st = bh__crf_eval_conll(t, dev, &d, NULL, &r, NULL, NULL)))
            fprintf(stderr, "bhasha crf: the mean of the %d runs: dev F1 %.2f\n", o.runs, r->f1);
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
    if (cli_lines_close(&r) && !rc) rc = 1;
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

/* A fine-tuned model's token head as a bh__tag_fn. */
typedef struct {
    bh__ft_model *fm;
    bh_head *h;
    int32_t *y;
    size_t cap;
} model_tagger;

static bh_status model_tag(void *ctx, const char *const *tokens, size_t n, const char **tags)
{
    model_tagger *m = ctx;
    if (n > m->cap) {
        int32_t *y = realloc(m->y, sizeof *y * n);
        if (!y) return bh__fail(BH_ENOMEM, "out of memory");
        m->y = y;
        m->cap = n;
    }
    bh_status st = bh__ft_tag_words(m->fm, m->h, tokens, (int)n, m->y);
    for (size_t i = 0; !st && i < n; i++) tags[i] = m->y[i] >= 0 ? bh_head_label(m->h, m->y[i]) : "O";
    return st;
}

/* Entity F1 on FILE of the model's head (mt) or, with mt NULL, of the CRF
 * alone (-1 and the error on failure). */
static double f1_on(model_tagger *mt, const bh_crf_tagger *t, const char *path, const bh__crf_data *d, bh_status *st)
{
    bh_ner_report *r = NULL;
    *st = mt ? bh__ner_eval_conll(model_tag, mt, path, d, NULL, &r, NULL, NULL)
             : bh__crf_eval_conll(t, path, d, NULL, &r, NULL, NULL);
    double f = *st ? -1 : r->f1;
    bh_ner_report_free(r);
    return f;
}

static int crf_fuse(int argc, char **argv)
{
    const char *cmd = "crf fuse", *model = NULL, *head = NULL, *crfp = NULL, *dev = NULL, *test = NULL, *out = NULL,
               *scheme = NULL, *v;
    double fixed = -1;
    int threads = 1;
    bh__crf_data d = {BH_TAGS_BIO, NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--head", &head) ||
            cli_opt(argc, argv, &i, "--crf", &crfp) || cli_opt(argc, argv, &i, "--dev", &dev) ||
            cli_opt(argc, argv, &i, "--test", &test) || cli_opt(argc, argv, &i, "--out", &out) ||
            cli_opt(argc, argv, &i, "--scheme", &scheme) || cli_opt(argc, argv, &i, "--map", &d.label_map) ||
            cli_opt(argc, argv, &i, "--text", &d.text_field) || cli_opt(argc, argv, &i, "--tags", &d.tags_field))
            continue;
        if (cli_opt(argc, argv, &i, "--weight", &v)) {
            char *e;
            fixed = strtod(v, &e);
            if (*e || !(fixed >= 0 && fixed <= 1e6)) return cli_usage_error(cmd, "--weight must be a number >= 0");
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            char *e;
            long t = strtol(v, &e, 10);
            if (*e || t < 1 || t > 1024) return cli_usage_error(cmd, "--threads must be 1..1024");
            threads = (int)t;
        } else {
            return cli_usage_error(cmd, "unknown or incomplete option %s (bhasha crf --help)", argv[i]);
        }
    }
    if (!model || !crfp || !dev || !out) return cli_usage_error(cmd, "--model, --crf, --dev and --out are required");
    if (parse_common(cmd, scheme, &d)) return 2;
    bh_crf_tagger *t = NULL;
    bh__ft_model *fm = NULL;
    bh_status st = bh_crf_tagger_load(crfp, &t);
    if (!st) st = bh__ft_load(model, BH__FT_NER, head, threads, &fm);
    if (st) {
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    bh_head *h = (bh_head *)bh__ft_head(fm), *best = NULL;
    if (bh_head_feat_bits(h)) {
        fprintf(stderr, "bhasha %s: head %s of %s already has a fused CRF (word features)\n", cmd, bh_head_name(h), model);
        bh__ft_free(fm);
        bh_crf_tagger_free(t);
        return 1;
    }
    const bh_word_clusters *wc = bh_crf_tagger_clusters(t);
    if (wc && (st = bh__ft_set_clusters(fm, bh_head_name(h), wc))) {
        bh__ft_free(fm);
        bh_crf_tagger_free(t);
        return cli_fail(cmd, st);
    }
    model_tagger mt = {fm, h, NULL, 0};
    static const double grid[] = {0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6};
    int ng = fixed >= 0 ? 1 : (int)(sizeof grid / sizeof grid[0]);
    double t0 = cli_now(), head_dev = f1_on(&mt, NULL, dev, &d, &st), crf_dev = -1, best_dev = -1, best_w = 0;
    if (!st) crf_dev = f1_on(NULL, t, dev, &d, &st);
    if (!st) fprintf(stderr, "bhasha %s: dev F1: head %s alone %.2f, CRF alone %.2f\n", cmd, bh_head_name(h), head_dev,
                     crf_dev);
    for (int g = 0; !st && g < ng; g++) {
        double w = fixed >= 0 ? fixed : grid[g];
        bh_head *f = NULL;
        if ((st = bh_head_fuse_crf(h, t, (float)w, &f))) break;
        mt.h = f;
        double f1 = f1_on(&mt, NULL, dev, &d, &st);
        if (!st) fprintf(stderr, "bhasha %s: weight %g: dev F1 %.2f (%.0f s)\n", cmd, w, f1, cli_now() - t0);
        if (!st && f1 > best_dev) {
            bh_head_free(best);
            best = f, best_dev = f1, best_w = w;
        } else {
            bh_head_free(f);
        }
    }
    double head_test = -1, crf_test = -1, fused_test = -1;
    if (!st && test) {
        mt.h = h;
        head_test = f1_on(&mt, NULL, test, &d, &st);
        if (!st) crf_test = f1_on(NULL, t, test, &d, &st);
        mt.h = best;
        if (!st) fused_test = f1_on(&mt, NULL, test, &d, &st);
    }
    if (!st) st = bh__ft_save_fused(fm, model, h, best, best_w, out);
    if (!st) {
        printf("{\"head\":");
        cli_json_string(stdout, bh_head_name(h), strlen(bh_head_name(h)));
        printf(",\"weight\":%g,\"dev\":{\"head\":%.2f,\"crf\":%.2f,\"fused\":%.2f}", best_w, head_dev, crf_dev,
               best_dev);
        if (test) printf(",\"test\":{\"head\":%.2f,\"crf\":%.2f,\"fused\":%.2f}", head_test, crf_test, fused_test);
        printf(",\"seconds\":%.1f,\"out\":", cli_now() - t0);
        cli_json_string(stdout, out, strlen(out));
        printf("}\n");
    }
    free(mt.y);
    bh_head_free(best);
    bh__ft_free(fm);
    bh_crf_tagger_free(t);
    return st ? cli_fail(cmd, st) : 0;
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
    if (!strcmp(argv[1], "fuse")) return crf_fuse(argc - 1, argv + 1);
    return cli_usage_error("crf", "unknown subcommand %s (train, tag, eval, fuse)", argv[1]);
}
