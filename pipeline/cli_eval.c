/* pipeline/cli_eval.c — `bhasha eval TASK --gold --pred` (score any system's
 * output) and `bhasha eval suite` (run the benchmark registry with the
 * self-trained baselines, write report.md and SVG charts). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "eval/baseline.h"
#include "eval/svg.h"
#include "pipeline/cli.h"

#define CMD "eval"

static void usage(void)
{
    fprintf(stderr,
            "usage: bhasha eval sentiment --gold FILE --pred FILE [--format tsv|csv|jsonl] [--label COL] [--text COL]\n"
            "       bhasha eval ner --gold FILE --pred FILE [--mode conlleval|strict-iob2|strict-iobes] [--scheme S]\n"
            "       bhasha eval ner --conlleval FILE [--mode ...]   (conlleval input: token ... gold pred)\n"
            "       bhasha eval qa --gold SQUAD.json --pred PRED.json\n"
            "       bhasha eval mt --hyp FILE --ref FILE\n"
            "       bhasha eval lm --logprobs FILE   (one natural-log token probability per line)\n"
            "       bhasha eval lm --model DIR --data FILE [--spm T.model] [--blocks] [--no-normalize]   (decoder perplexity)\n"
            "       bhasha eval lm --kn N --train FILE[,FILE...] --data FILE --spm T.model [--no-normalize]   (Kneser-Ney baseline, same tokens)\n"
            "       bhasha eval digits --data DIR [--split test] [--model assets/digits/default.bhd]\n"
            "       bhasha eval suite [--registry FILE] [--data-dir DIR] [--models DIR] --out DIR [--only NAME]\n"
            "common: --on-error skip|stop\n");
}

typedef struct eopts {
    bh_corpus_options o;
    const char *gold, *pred, *mode, *registry, *data_dir, *out, *only, *hyp, *ref, *logprobs, *models;
    const char *kn_train; /* lm --kn: comma-separated training text files */
    long kn_order;
    int no_normalize; /* lm: encode the raw text, without bh_normalize */
} eopts;

static int parse_opts(int argc, char **argv, eopts *e)
{
    memset(e, 0, sizeof *e);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char **dst = NULL;
        if (cli_opt(argc, argv, &i, "--gold", &v)) dst = &e->gold;
        else if (cli_opt(argc, argv, &i, "--pred", &v)) dst = &e->pred;
        else if (cli_opt(argc, argv, &i, "--mode", &v)) dst = &e->mode;
        else if (cli_opt(argc, argv, &i, "--registry", &v)) dst = &e->registry;
        else if (cli_opt(argc, argv, &i, "--data-dir", &v)) dst = &e->data_dir;
        else if (cli_opt(argc, argv, &i, "--out", &v)) dst = &e->out;
        else if (cli_opt(argc, argv, &i, "--only", &v)) dst = &e->only;
        else if (cli_opt(argc, argv, &i, "--hyp", &v)) dst = &e->hyp;
        else if (cli_opt(argc, argv, &i, "--ref", &v) || cli_opt(argc, argv, &i, "--spm", &v)) dst = &e->ref;
        else if (cli_opt(argc, argv, &i, "--logprobs", &v) || cli_opt(argc, argv, &i, "--conlleval", &v)) dst = &e->logprobs;
        else if (cli_opt(argc, argv, &i, "--train", &v)) dst = &e->kn_train;
        else if (cli_opt(argc, argv, &i, "--kn", &v)) {
            char *end;
            e->kn_order = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || e->kn_order < 1 || e->kn_order > BH_KN_MAX_ORDER)
                return cli_usage_error(CMD, "--kn needs an order from 1 to %d", BH_KN_MAX_ORDER);
            continue;
        } else if (cli_opt(argc, argv, &i, "--models", &v)) dst = &e->models;
        else if (cli_opt(argc, argv, &i, "--model", &v)) dst = &e->models;
        else if (cli_opt(argc, argv, &i, "--data", &v)) dst = &e->data_dir;
        else if (cli_opt(argc, argv, &i, "--split", &v)) dst = &e->only;
        else if (cli_opt(argc, argv, &i, "--text", &v) || cli_opt(argc, argv, &i, "--field", &v)) dst = &e->o.text_field;
        else if (cli_opt(argc, argv, &i, "--label", &v)) dst = &e->o.label_field;
        else if (cli_opt(argc, argv, &i, "--id", &v)) dst = &e->o.id_field;
        else if (cli_opt(argc, argv, &i, "--label-map", &v)) dst = &e->o.label_map;
        else if (cli_opt(argc, argv, &i, "--format", &v)) {
            char d = 0;
            if (!v || bh_corpus_format_parse(v, &e->o.format, &d)) return cli_fail(CMD, BH_EINVAL) + 1;
            if (d) e->o.delimiter = d;
            continue;
        } else if (cli_opt(argc, argv, &i, "--scheme", &v)) {
            if (!v || bh_tag_scheme_parse(v, &e->o.scheme)) return cli_fail(CMD, BH_EINVAL) + 1;
            continue;
        } else if (strcmp(argv[i], "--no-normalize") == 0) {
            e->no_normalize = 1;
            continue;
        } else if (strcmp(argv[i], "--blocks") == 0) {
            e->o.blocks = 1;
            continue;
        } else if (cli_opt(argc, argv, &i, "--on-error", &v)) {
            if (!v || (strcmp(v, "skip") && strcmp(v, "stop"))) return cli_usage_error(CMD, "--on-error skip|stop");
            e->o.on_error = strcmp(v, "skip") == 0 ? BH_ON_ERROR_SKIP : BH_ON_ERROR_STOP;
            continue;
        } else {
            return cli_usage_error(CMD, "unknown argument %s", argv[i]);
        }
        if (!v) return cli_usage_error(CMD, "%s needs a value", argv[i]);
        *dst = v;
    }
    return 0;
}

/* ---- growable string list ------------------------------------------------------ */

typedef struct slist {
    char **v;
    size_t n, cap;
} slist;

static int sl_push(slist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 256;
        char **p = realloc(l->v, c * sizeof *p);
        if (!p) return -1;
        l->v = p;
        l->cap = c;
    }
    if (!(l->v[l->n] = strdup(s ? s : ""))) return -1;
    l->n++;
    return 0;
}

static void sl_free(slist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads the label column of every record. */
static bh_status read_labels(const char *path, const bh_corpus_options *o, slist *out, long *skipped)
{
    bh_corpus *r;
    bh_status st = bh_corpus_open(path, o, &r);
    if (st) return st;
    bh_corpus_record rec;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1)
        if (sl_push(out, rec.label)) {
            k = BH_ENOMEM;
            break;
        }
    if (skipped) *skipped = bh_corpus_skipped(r);
    bh_corpus_free(r);
    return k < 0 ? k : BH_OK;
}

static void print_class_report(FILE *f, const bh_class_report *r)
{
    fprintf(f, "{\"n\":%ld,\"accuracy\":%.6f,\"micro_f1\":%.6f,\"macro_p\":%.6f,\"macro_r\":%.6f,\"macro_f1\":%.6f,"
               "\"weighted_p\":%.6f,\"weighted_r\":%.6f,\"weighted_f1\":%.6f,\"classes\":{",
            r->n, r->accuracy, r->micro_f1, r->macro_p, r->macro_r, r->macro_f1, r->weighted_p, r->weighted_r,
            r->weighted_f1);
    for (size_t c = 0; c < r->n_classes; c++) {
        if (c) fputc(',', f);
        cli_json_string(f, r->classes[c], strlen(r->classes[c]));
        fprintf(f, ":{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%ld}", r->precision[c], r->recall[c],
                r->f1[c], r->support[c]);
    }
    fprintf(f, "},\"confusion\":[");
    for (size_t i = 0; i < r->n_classes; i++) {
        fprintf(f, "%s[", i ? "," : "");
        for (size_t j = 0; j < r->n_classes; j++) fprintf(f, "%s%ld", j ? "," : "", r->confusion[i * r->n_classes + j]);
        fputc(']', f);
    }
    fprintf(f, "]}");
}

static int eval_sentiment(eopts *e)
{
    if (!e->gold || !e->pred) return cli_usage_error(CMD, "sentiment needs --gold and --pred");
    if (!e->o.label_field) e->o.label_field = "label";
    slist g = {0}, p = {0};
    bh_status st = read_labels(e->gold, &e->o, &g, NULL);
    if (!st) st = read_labels(e->pred, &e->o, &p, NULL);
    if (st) {
        sl_free(&g);
        sl_free(&p);
        return cli_fail(CMD, st);
    }
    if (g.n != p.n) {
        fprintf(stderr, "bhasha eval: %s has %zu records but %s has %zu\n", e->gold, g.n, e->pred, p.n);
        sl_free(&g);
        sl_free(&p);
        return 1;
    }
    bh_class_report *r;
    st = bh_eval_classification((const char *const *)g.v, (const char *const *)p.v, g.n, &r);
    sl_free(&g);
    sl_free(&p);
    if (st) return cli_fail(CMD, st);
    print_class_report(stdout, r);
    putchar('\n');
    bh_class_report_free(r);
    return 0;
}

static void print_ner_report(FILE *f, const bh_ner_report *r)
{
    fprintf(f, "{\"tokens\":%ld,\"accuracy\":%.4f,\"gold\":%ld,\"pred\":%ld,\"correct\":%ld,\"precision\":%.4f,"
               "\"recall\":%.4f,\"f1\":%.4f,\"types\":{",
            r->tokens, r->accuracy, r->total_gold, r->total_pred, r->total_correct, r->precision, r->recall, r->f1);
    for (size_t t = 0; t < r->n_types; t++) {
        if (t) fputc(',', f);
        cli_json_string(f, r->types[t], strlen(r->types[t]));
        fprintf(f, ":{\"gold\":%ld,\"pred\":%ld,\"correct\":%ld,\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f}",
                r->gold[t], r->pred[t], r->correct[t], r->type_p[t], r->type_r[t], r->type_f1[t]);
    }
    fprintf(f, "}}");
}

static bh_status parse_mode(const char *m, bh_ner_mode *mode)
{
    if (!m || strcmp(m, "conlleval") == 0) *mode = BH_NER_CONLLEVAL;
    else if (strcmp(m, "strict-iob2") == 0) *mode = BH_NER_STRICT_IOB2;
    else if (strcmp(m, "strict-iobes") == 0) *mode = BH_NER_STRICT_IOBES;
    else return BH_EINVAL;
    return BH_OK;
}

/* conlleval's own input: one token per line, the last two fields gold and
 * predicted tag, sentences separated by empty lines (or a first field "-X-");
 * "-DOCSTART- -X- O O" lines count as O tokens, as in conlleval. */
static int eval_ner_file(eopts *e, bh_ner_mode mode)
{
    cli_lines l;
    if (cli_lines_open(&l, CMD, e->logprobs)) return 1;
    bh_ner_eval *ev;
    bh_status st = bh_ner_eval_new(mode, &ev);
    slist g = {0}, p = {0};
    int rc = 0;
    for (int more = 1; more && !st && !rc;) {
        more = cli_lines_next(&l);
        char *f[64];
        int nf = 0;
        if (more) {
            char *q = l.line ? l.line : "";
            if (l.len != strlen(q)) {
                fprintf(stderr, "bhasha eval: %s:%ld: NUL byte\n", e->logprobs, l.lineno);
                rc = 1;
                break;
            }
            while (*q && nf < 64) {
                while (*q == ' ' || *q == '\t' || *q == '\r') *q++ = 0;
                if (!*q) break;
                f[nf++] = q;
                while (*q && *q != ' ' && *q != '\t' && *q != '\r') q++;
            }
        }
        if (!more || nf == 0 || strcmp(f[0], "-X-") == 0) {
            if (g.n) st = bh_ner_eval_add(ev, (const char *const *)g.v, (const char *const *)p.v, g.n);
            sl_free(&g);
            sl_free(&p);
            continue;
        }
        if (nf < 2) {
            fprintf(stderr, "bhasha eval: %s:%ld: needs at least two fields (gold and predicted tag)\n", e->logprobs,
                    l.lineno);
            rc = 1;
            break;
        }
        if (sl_push(&g, f[nf - 2]) || sl_push(&p, f[nf - 1])) st = BH_ENOMEM;
    }
    if (cli_lines_close(&l) && !rc) rc = 1;
    sl_free(&g);
    sl_free(&p);
    if (!rc && st) rc = cli_fail(CMD, st);
    if (!rc) {
        bh_ner_report *r;
        if ((st = bh_ner_eval_report(ev, &r))) rc = cli_fail(CMD, st);
        else {
            print_ner_report(stdout, r);
            printf("\n");
            bh_ner_report_free(r);
        }
    }
    bh_ner_eval_free(ev);
    return rc;
}

static int eval_ner(eopts *e)
{
    if (e->logprobs) {
        bh_ner_mode mode;
        if (parse_mode(e->mode, &mode)) return cli_usage_error(CMD, "--mode conlleval|strict-iob2|strict-iobes");
        return eval_ner_file(e, mode);
    }
    if (!e->gold || !e->pred) return cli_usage_error(CMD, "ner needs --gold and --pred, or --conlleval FILE");
    bh_ner_mode mode;
    if (parse_mode(e->mode, &mode)) return cli_usage_error(CMD, "--mode conlleval|strict-iob2|strict-iobes");
    if (e->o.format == BH_CORPUS_AUTO) e->o.format = BH_CORPUS_CONLL;
    bh_corpus *rg, *rp;
    bh_status st = bh_corpus_open(e->gold, &e->o, &rg);
    if (st) return cli_fail(CMD, st);
    if ((st = bh_corpus_open(e->pred, &e->o, &rp))) {
        bh_corpus_free(rg);
        return cli_fail(CMD, st);
    }
    bh_ner_eval *ev;
    if ((st = bh_ner_eval_new(mode, &ev))) {
        bh_corpus_free(rg);
        bh_corpus_free(rp);
        return cli_fail(CMD, st);
    }
    bh_corpus_record a, b;
    int ka, kb, rc = 0;
    for (;;) {
        ka = bh_corpus_next(rg, &a);
        if (ka != 1) break;
        /* the gold record's strings die at the next call on rg only, so pred can be read now */
        kb = bh_corpus_next(rp, &b);
        if (kb != 1) {
            if (kb < 0) rc = cli_fail(CMD, kb);
            else {
                fprintf(stderr, "bhasha eval: %s ends before %s (sentence at line %ld)\n", e->pred, e->gold, a.line);
                rc = 1;
            }
            break;
        }
        if (a.n_tokens != b.n_tokens) {
            fprintf(stderr, "bhasha eval: %s:%ld has %zu tokens but %s:%ld has %zu\n", e->gold, a.line, a.n_tokens,
                    e->pred, b.line, b.n_tokens);
            rc = 1;
            break;
        }
        if ((st = bh_ner_eval_add(ev, a.tags, b.tags, a.n_tokens))) {
            rc = cli_fail(CMD, st);
            break;
        }
    }
    if (!rc && ka < 0) rc = cli_fail(CMD, ka);
    if (!rc && ka == 0 && bh_corpus_next(rp, &b) == 1) {
        fprintf(stderr, "bhasha eval: %s has more sentences than %s\n", e->pred, e->gold);
        rc = 1;
    }
    if (!rc) {
        bh_ner_report *r;
        if ((st = bh_ner_eval_report(ev, &r))) rc = cli_fail(CMD, st);
        else {
            print_ner_report(stdout, r);
            printf("\n");
            bh_ner_report_free(r);
        }
    }
    bh_ner_eval_free(ev);
    bh_corpus_free(rg);
    bh_corpus_free(rp);
    return rc;
}

static int eval_qa(eopts *e)
{
    if (!e->gold || !e->pred) return cli_usage_error(CMD, "qa needs --gold and --pred");
    json_error_t je;
    json_t *pred = json_load_file(e->pred, 0, &je);
    if (!pred || !json_is_object(pred)) {
        fprintf(stderr, "bhasha eval: %s:%d: not a SQuAD prediction object: %s\n", e->pred, je.line,
                pred ? "top level is not an object" : je.text);
        json_decref(pred);
        return 1;
    }
    e->o.format = BH_CORPUS_SQUAD;
    bh_corpus *r;
    bh_status st = bh_corpus_open(e->gold, &e->o, &r);
    if (st) {
        json_decref(pred);
        return cli_fail(CMD, st);
    }
    bh_corpus_record rec;
    int k;
    long total = 0, missing = 0;
    double em = 0, f1 = 0;
    const char **golds = NULL;
    size_t gcap = 0;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        total++;
        json_t *p = json_object_get(pred, rec.id);
        if (!json_is_string(p)) {
            missing++;
            continue;
        }
        if (rec.n_answers > gcap) {
            gcap = rec.n_answers;
            golds = realloc(golds, gcap * sizeof *golds);
        }
        for (size_t i = 0; i < rec.n_answers; i++) golds[i] = rec.answers[i].text;
        double a, b;
        if ((st = bh_squad_score(json_string_value(p), golds, rec.n_answers, &a, &b))) break;
        em += a;
        f1 += b;
    }
    free(golds);
    if (k < 0 || st) {
        int rc = cli_fail(CMD, k < 0 ? k : st);
        bh_corpus_free(r);
        json_decref(pred);
        return rc;
    }
    printf("{\"exact_match\":%.4f,\"f1\":%.4f,\"total\":%ld,\"unanswered\":%ld,\"skipped\":%ld}\n",
           total ? 100 * em / (double)total : 0.0, total ? 100 * f1 / (double)total : 0.0, total, missing,
           bh_corpus_skipped(r));
    bh_corpus_free(r);
    json_decref(pred);
    return 0;
}

static int read_text_lines(const char *path, slist *out)
{
    cli_lines l;
    if (cli_lines_open(&l, CMD, path)) return 1;
    while (cli_lines_next(&l))
        if (sl_push(out, l.line ? l.line : "")) {
            cli_lines_close(&l);
            return cli_fail(CMD, BH_ENOMEM);
        }
    return cli_lines_close(&l);
}

static int eval_mt(eopts *e)
{
    const char *hyp = e->hyp ? e->hyp : e->pred, *ref = e->ref ? e->ref : e->gold;
    if (!hyp || !ref) return cli_usage_error(CMD, "mt needs --hyp and --ref");
    slist h = {0}, r = {0};
    if (read_text_lines(hyp, &h) || read_text_lines(ref, &r)) {
        sl_free(&h);
        sl_free(&r);
        return 1;
    }
    int rc = 0;
    if (h.n != r.n) {
        fprintf(stderr, "bhasha eval: %s has %zu lines but %s has %zu\n", hyp, h.n, ref, r.n);
        rc = 1;
    } else {
        bh_bleu b;
        double chrf;
        bh_status st = bh_bleu_corpus((const char *const *)h.v, (const char *const *)r.v, h.n, &b);
        if (!st) st = bh_chrf_corpus((const char *const *)h.v, (const char *const *)r.v, h.n, &chrf);
        if (st) rc = cli_fail(CMD, st);
        else
            printf("{\"bleu\":%.4f,\"precisions\":[%.4f,%.4f,%.4f,%.4f],\"bp\":%.4f,\"sys_len\":%ld,\"ref_len\":%ld,"
                   "\"chrf\":%.4f,\"segments\":%zu}\n",
                   b.score, b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.sys_len,
                   b.ref_len, chrf, h.n);
    }
    sl_free(&h);
    sl_free(&r);
    return rc;
}

static bh_status bh__cli_mismatch(const char *spm, const char *model)
{
    fprintf(stderr, "bhasha eval: tokenizer %s has more pieces than model %s has embeddings\n", spm, model);
    return BH_EINVAL;
}

/* Perplexity of a decoder model (bhasha pretrain output) on a text corpus:
 * every document is SentencePiece-encoded, cut into windows of max_len tokens
 * that overlap by one (so every token after the first is predicted once, with
 * up to max_len - 1 tokens of context), and the mean cross-entropy is turned
 * into a per-token and a per-character perplexity. */
/* Tokens of every record of path (normalized by bh_normalize unless
 * raw, as the shipped tokenizers expect; then its first BH_SPM_MAX_INPUT
 * bytes), one call of fn per document; *nchar counts the characters scored. */
typedef bh_status (*doc_fn)(void *ctx, const int32_t *ids, size_t n);

static bh_status each_doc(const char *path, const bh_corpus_options *o, const bh_spm *sp, int raw, doc_fn fn,
                          void *ctx, long long *nchar)
{
    bh_corpus *r = NULL;
    bh_tokens tok = {0};
    bh_buf norm = {0};
    bh_corpus_record rec;
    bh_status st = bh_corpus_open(path, o, &r);
    int k = 0;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        const char *text = rec.text;
        size_t len = rec.text_len;
        if (!raw) {
            bh_buf_clear(&norm);
            if ((st = bh_normalize(rec.text, rec.text_len, NULL, &norm, NULL))) break;
            text = norm.data ? norm.data : "";
            len = norm.len;
        }
        if (len > BH_SPM_MAX_INPUT) len = BH_SPM_MAX_INPUT;
        if ((st = bh_spm_encode_ids(sp, text, len, &tok))) break;
        if (nchar)
            for (size_t i = 0; i < len; i++) *nchar += ((unsigned char)text[i] & 0xC0) != 0x80;
        st = fn(ctx, tok.ids, tok.n);
    }
    if (!st && k < 0) st = k;
    bh_tokens_free(&tok);
    bh_buf_free(&norm);
    bh_corpus_free(r);
    return st;
}

typedef struct {
    bh_model *m;
    int32_t *ids, *tg; /* [T] */
    int T;
    double nll;
    long long ntok, docs;
} dec_score;

/* Scores tokens 1..n-1 of a document in windows of max_len tokens. */
static bh_status dec_score_doc(void *ctx, const int32_t *doc, size_t n)
{
    dec_score *d = ctx;
    bh_status st = BH_OK;
    d->docs++;
    for (size_t s0 = 0; s0 + 1 < n && !st; s0 += (size_t)d->T - 1) {
        int w = (int)(n - s0 < (size_t)d->T ? n - s0 : (size_t)d->T);
        for (int t = 0; t < w; t++) {
            d->ids[t] = doc[s0 + (size_t)t];
            d->tg[t] = t + 1 < w ? doc[s0 + (size_t)t + 1] : -100;
        }
        float loss = 0;
        int nt = 0;
        st = bh_model_loss(d->m, d->ids, NULL, d->tg, 1, w, &loss, &nt);
        d->nll += (double)loss * nt;
        d->ntok += nt;
    }
    return st;
}

static int eval_lm_model(eopts *e)
{
    if (!e->data_dir) return cli_usage_error(CMD, "lm --model DIR needs --data FILE");
    char spm_path[4096];
    snprintf(spm_path, sizeof spm_path, "%s/tokenizer.model", e->models);
    const char *spm_file = e->ref ? e->ref : spm_path;
    bh_model *m = NULL;
    bh_spm *sp = NULL;
    bh_status st = bh_model_load(e->models, BH_MODEL_MMAP, &m);
    int printed = 0; /* a message of ours is already on stderr */
    if (!st && bh_model_get_config(m)->arch != BH_ARCH_DECODER) {
        fprintf(stderr, "bhasha eval: %s is not a decoder model (perplexity needs one)\n", e->models);
        st = BH_EINVAL;
        printed = 1;
    }
    if (!st) st = bh_spm_load(spm_file, &sp);
    if (!st && bh_spm_vocab_size(sp) > bh_model_get_config(m)->vocab) {
        st = bh__cli_mismatch(spm_file, e->models);
        printed = 1;
    }
    dec_score d = {.m = m, .T = st ? 0 : bh_model_get_config(m)->max_len};
    d.ids = d.T ? malloc((size_t)d.T * sizeof *d.ids) : NULL;
    d.tg = d.T ? malloc((size_t)d.T * sizeof *d.tg) : NULL;
    if (!st && (!d.ids || !d.tg)) st = BH_ENOMEM;
    long long nchar = 0;
    if (!st) st = each_doc(e->data_dir, &e->o, sp, e->no_normalize, dec_score_doc, &d, &nchar);
    int rc = 0;
    if (st) rc = printed ? 1 : cli_fail(CMD, st);
    else if (d.ntok == 0) rc = cli_usage_error(CMD, "no tokens to score in %s", e->data_dir);
    else
        printf("{\"perplexity\":%.4f,\"tokens\":%lld,\"char_perplexity\":%.4f,\"characters\":%lld,\"documents\":%lld,"
               "\"context\":%d}\n",
               exp(d.nll / (double)d.ntok), d.ntok, exp(d.nll / (double)(nchar ? nchar : 1)), nchar, d.docs, d.T);
    free(d.ids);
    free(d.tg);
    bh_spm_free(sp);
    bh_model_free(m);
    return rc;
}

static bh_status kn_add_doc(void *ctx, const int32_t *ids, size_t n) { return bh_kn_lm_add(ctx, ids, n); }

typedef struct {
    const bh_kn_lm *lm;
    double nll;
    long long ntok, docs;
} kn_score;

/* Scores tokens 1..n-1 of each document, as eval_lm_model does for a decoder
 * (the first token has no context there), so both perplexities are over the
 * same tokens. */
static bh_status kn_score_doc(void *ctx, const int32_t *ids, size_t n)
{
    kn_score *k = ctx;
    k->docs++;
    for (size_t i = 1; i < n; i++) {
        double lp;
        bh_status st = bh_kn_lm_logprob(k->lm, ids, i, ids[i], &lp);
        if (st) return st;
        k->nll -= lp;
        k->ntok++;
    }
    return BH_OK;
}

/* lm --kn N --train FILES --data FILE --spm T.model: an interpolated
 * Kneser-Ney baseline over the tokenizer's ids. */
static int eval_lm_kn(eopts *e)
{
    if (!e->kn_train || !e->data_dir || !e->ref)
        return cli_usage_error(CMD, "lm --kn N needs --train FILE[,FILE...] --data FILE --spm T.model");
    bh_spm *sp = NULL;
    bh_kn_lm *lm = NULL;
    bh_status st = bh_spm_load(e->ref, &sp);
    if (!st) st = bh_kn_lm_new((int)e->kn_order, (int)bh_spm_vocab_size(sp), &lm);
    char *files = st ? NULL : strdup(e->kn_train);
    if (!st && !files) st = BH_ENOMEM;
    long long train_files = 0;
    for (char *save = NULL, *f = files ? strtok_r(files, ",", &save) : NULL; f && !st; f = strtok_r(NULL, ",", &save)) {
        st = each_doc(f, &e->o, sp, e->no_normalize, kn_add_doc, lm, NULL);
        train_files++;
    }
    if (!st) st = bh_kn_lm_finish(lm);
    kn_score k = {.lm = lm};
    long long nchar = 0;
    if (!st) st = each_doc(e->data_dir, &e->o, sp, e->no_normalize, kn_score_doc, &k, &nchar);
    int rc = 0;
    if (st) rc = cli_fail(CMD, st);
    else if (!k.ntok) rc = cli_usage_error(CMD, "no tokens to score in %s", e->data_dir);
    else {
        printf("{\"perplexity\":%.4f,\"tokens\":%lld,\"char_perplexity\":%.4f,\"characters\":%lld,\"documents\":%lld,"
               "\"model\":\"kneser-ney\",\"order\":%ld,\"train_files\":%lld",
               exp(k.nll / (double)k.ntok), k.ntok, exp(k.nll / (double)(nchar ? nchar : 1)), nchar, k.docs,
               e->kn_order, train_files);
        for (int o = 1; o <= e->kn_order; o++) printf(",\"grams_%d\":%zu", o, bh_kn_lm_num_grams(lm, o));
        printf("}\n");
    }
    free(files);
    bh_kn_lm_free(lm);
    bh_spm_free(sp);
    return rc;
}

static int eval_lm(eopts *e)
{
    if (e->kn_order) return eval_lm_kn(e);
    if (e->models) return eval_lm_model(e);
    if (!e->logprobs) return cli_usage_error(CMD, "lm needs --logprobs FILE, or --model DIR --data FILE");
    slist l = {0};
    if (read_text_lines(e->logprobs, &l)) return 1;
    double *v = malloc((l.n + 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; v && i < l.n; i++) {
        char *end;
        if (!l.v[i][0]) continue;
        v[n++] = strtod(l.v[i], &end);
        if (*end) {
            fprintf(stderr, "bhasha eval: %s:%zu: not a number\n", e->logprobs, i + 1);
            free(v);
            sl_free(&l);
            return 1;
        }
    }
    double ppl;
    bh_status st = v ? bh_perplexity(v, n, &ppl) : BH_ENOMEM;
    free(v);
    sl_free(&l);
    if (st) return cli_fail(CMD, st);
    printf("{\"perplexity\":%.6f,\"tokens\":%zu}\n", ppl, n);
    return 0;
}

/* Scores a digit model on DIR/<split>-{images,labels}-*.gz: the class report
 * (labels "0".."9" = Bangla digits ০..৯). *major gets the majority-class report
 * of the train split when that split exists and major != NULL. */
static bh_status digits_reports(const char *model, const char *dir, const char *split, bh_class_report **out,
                                bh_class_report **major)
{
    bh_digits_model *m = NULL;
    bh_digit_set set = {0}, train = {0};
    bh_status st = bh_digits_load(model, &m);
    if (!st) st = bh_digit_set_load_dir(dir, split, &set);
    char **g = NULL, **p = NULL;
    static const char *const names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    if (!st) {
        g = malloc((size_t)(set.n ? set.n : 1) * sizeof *g);
        p = malloc((size_t)(set.n ? set.n : 1) * sizeof *p);
        if (!g || !p) st = BH_ENOMEM;
    }
    size_t sz = (size_t)set.rows * (size_t)set.cols;
    for (int i = 0; !st && i < set.n; i++) {
        int label = 0;
        float score = 0;
        st = bh_digits_predict(m, set.px + (size_t)i * sz, set.cols, set.rows, &label, &score);
        g[i] = (char *)names[set.labels[i] % 10];
        p[i] = (char *)names[(label >= 0 ? label : 0) % 10];
    }
    if (!st) st = bh_eval_classification((const char *const *)g, (const char *const *)p, (size_t)set.n, out);
    if (!st && major && bh_digit_set_load_dir(dir, "train", &train) == BH_OK) {
        long cnt[10] = {0};
        for (int i = 0; i < train.n; i++) cnt[train.labels[i] % 10]++;
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (cnt[k] > cnt[best]) best = k;
        for (int i = 0; i < set.n; i++) p[i] = (char *)names[best];
        st = bh_eval_classification((const char *const *)g, (const char *const *)p, (size_t)set.n, major);
    }
    free(g);
    free(p);
    bh_digit_set_free(&set);
    bh_digit_set_free(&train);
    bh_digits_model_free(m);
    return st;
}

static int eval_digits(eopts *e)
{
    const char *dir = e->gold ? e->gold : e->data_dir;
    if (!dir) return cli_usage_error(CMD, "digits needs --data DIR (with <split>-images-idx3-ubyte.gz)");
    const char *model = e->models ? e->models : "assets/digits/default.bhd";
    bh_class_report *r;
    bh_status st = digits_reports(model, dir, e->only ? e->only : "test", &r, NULL);
    if (st) return cli_fail(CMD, st);
    print_class_report(stdout, r);
    putchar('\n');
    bh_class_report_free(r);
    return 0;
}

/* ====================================================================================
 * The suite
 * ==================================================================================== */

typedef struct result {
    const char *name, *task, *lang, *metric;
    int skipped;
    char why[512];
    double base[2];          /* headline metric of the two baselines (majority / trained), -1 = none */
    const char *base_name[2];
    double published;        /* best published score for the metric, -1 = none */
    char published_src[256];
} result;

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *data_path(const char *dir, const char *rel)
{
    if (!rel) return NULL;
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static int exists(const char *p)
{
    return p && access(p, R_OK) == 0;
}

static void entry_opts(json_t *b, bh_corpus_options *o)
{
    memset(o, 0, sizeof *o);
    o->on_error = BH_ON_ERROR_SKIP;
    const char *f = jstr(b, "format");
    char d = 0;
    if (f && bh_corpus_format_parse(f, &o->format, &d) == 0 && d) o->delimiter = d;
    o->text_field = jstr(b, "text");
    o->text_field2 = jstr(b, "text2");
    o->label_field = jstr(b, "label");
    o->tags_field = jstr(b, "tags");
    o->label_map = jstr(b, "label_map");
    o->blocks = json_is_true(json_object_get(b, "blocks"));
    o->no_quotes = json_is_false(json_object_get(b, "quoting"));
    const char *sc = jstr(b, "scheme");
    if (sc) bh_tag_scheme_parse(sc, &o->scheme);
}

static void safe_name(char *dst, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) dst[k++] = ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-') ? *s : '_';
    dst[k] = 0;
}

/* What every benchmark runner needs: the report being written, where charts go,
 * where models are. Passed explicitly (no global state). */
typedef struct suite_ctx {
    FILE *rep;
    const char *outdir;
    const char *models_dir;
} suite_ctx;

static void svg_path(const suite_ctx *cx, char *dst, size_t n, const char *kind, const char *name)
{
    char s[128];
    safe_name(s, sizeof s, name);
    snprintf(dst, n, "%s/%s_%s.svg", cx->outdir, kind, s);
}

static int suite_sentiment(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    bh_corpus_options o;
    entry_opts(b, &o);
    if (!o.label_field) o.label_field = "label";
    char *train = data_path(dir, jstr(b, "train")), *test = data_path(dir, jstr(b, "test"));
    bh__nb *nb = NULL;
    bh_corpus *r = NULL;
    bh_status st = bh__nb_new(&nb);
    long skipped_train = 0, skipped_test = 0, ntrain = 0;
    if (!st) st = bh_corpus_open(train, &o, &r);
    bh_corpus_record rec;
    int k = 0;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        st = bh__nb_add(nb, rec.text, rec.text_len, rec.label ? rec.label : "");
        ntrain++;
    }
    if (r) skipped_train = bh_corpus_skipped(r);
    bh_corpus_free(r);
    r = NULL;
    if (!st && k < 0) st = k;
    slist gold = {0}, p_major = {0}, p_nb = {0};
    if (!st) st = bh_corpus_open(test, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        const char *m = bh__nb_predict(nb, rec.text, rec.text_len, 1);
        const char *c = bh__nb_predict(nb, rec.text, rec.text_len, 0);
        if (!m || !c || sl_push(&gold, rec.label) || sl_push(&p_major, m) || sl_push(&p_nb, c)) st = BH_ENOMEM;
    }
    if (r) skipped_test = bh_corpus_skipped(r);
    bh_corpus_free(r);
    if (!st && k < 0) st = k;
    free(train);
    free(test);
    bh__nb_free(nb);
    if (st) {
        snprintf(res->why, sizeof res->why, "failed: %s: %s", bh_errmsg(st), bh_last_error());
        res->skipped = 1;
        sl_free(&gold);
        sl_free(&p_major);
        sl_free(&p_nb);
        return 0;
    }
    bh_class_report *rm = NULL, *rn = NULL;
    st = bh_eval_classification((const char *const *)gold.v, (const char *const *)p_major.v, gold.n, &rm);
    if (!st) st = bh_eval_classification((const char *const *)gold.v, (const char *const *)p_nb.v, gold.n, &rn);
    sl_free(&gold);
    sl_free(&p_major);
    sl_free(&p_nb);
    if (st) {
        snprintf(res->why, sizeof res->why, "failed: %s", bh_last_error());
        res->skipped = 1;
        return 0;
    }
    res->base[0] = 100 * rm->weighted_f1;
    res->base[1] = 100 * rn->weighted_f1;
    res->base_name[0] = "majority class";
    res->base_name[1] = "bag of n-grams (NB)";
    fprintf(cx->rep, "train %ld records (%ld skipped), test %ld records (%ld skipped) — skipped records are reported by the readers with file:line.\n\n",
            ntrain, skipped_train, rn->n, skipped_test);
    fprintf(cx->rep, "| system | accuracy | macro F1 | weighted F1 |\n|---|---|---|---|\n");
    fprintf(cx->rep, "| majority class | %.2f | %.2f | %.2f |\n", 100 * rm->accuracy, 100 * rm->macro_f1, 100 * rm->weighted_f1);
    fprintf(cx->rep, "| bag of n-grams (NB) | %.2f | %.2f | %.2f |\n\n", 100 * rn->accuracy, 100 * rn->macro_f1, 100 * rn->weighted_f1);
    fprintf(cx->rep, "| class | support | P (NB) | R (NB) | F1 (NB) | F1 (majority) |\n|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < rn->n_classes; c++) {
        double fm = 0;
        for (size_t j = 0; j < rm->n_classes; j++)
            if (strcmp(rm->classes[j], rn->classes[c]) == 0) fm = rm->f1[j];
        fprintf(cx->rep, "| %s | %ld | %.2f | %.2f | %.2f | %.2f |\n", rn->classes[c], rn->support[c], 100 * rn->precision[c],
                100 * rn->recall[c], 100 * rn->f1[c], 100 * fm);
    }
    char p1[1024], p2[1024];
    svg_path(cx, p1, sizeof p1, "confusion", res->name);
    svg_path(cx, p2, sizeof p2, "f1", res->name);
    char title[256];
    snprintf(title, sizeof title, "%s: confusion matrix (bag of n-grams)", res->name);
    bh__svg_confusion(p1, title, (const char *const *)rn->classes, rn->n_classes, rn->confusion);
    double *vals = malloc(2 * rn->n_classes * sizeof *vals);
    for (size_t c = 0; vals && c < rn->n_classes; c++) {
        vals[c] = 0;
        for (size_t j = 0; j < rm->n_classes; j++)
            if (strcmp(rm->classes[j], rn->classes[c]) == 0) vals[c] = 100 * rm->f1[j];
        vals[rn->n_classes + c] = 100 * rn->f1[c];
    }
    const char *series[2] = {"majority class", "bag of n-grams (NB)"};
    snprintf(title, sizeof title, "%s: per-class F1", res->name);
    if (vals) bh__svg_bars(p2, title, (const char *const *)rn->classes, rn->n_classes, series, 2, vals, 100);
    free(vals);
    fprintf(cx->rep, "\n![confusion](%s) ![per-class F1](%s)\n\n", strrchr(p1, '/') + 1, strrchr(p2, '/') + 1);
    bh_class_report_free(rm);
    bh_class_report_free(rn);
    return 0;
}

static int suite_ner(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    bh_corpus_options o;
    entry_opts(b, &o);
    char *train = data_path(dir, jstr(b, "train")), *test = data_path(dir, jstr(b, "test"));
    long every = (long)json_integer_value(json_object_get(b, "split_every"));
    if (!test) test = strdup(train);
    bh__tagger *tg = NULL;
    bh_ner_eval *ev = NULL;
    bh_status st = bh__tagger_new(&tg);
    if (!st) st = bh_ner_eval_new(BH_NER_CONLLEVAL, &ev);
    bh_corpus *r = NULL;
    bh_corpus_record rec;
    int k = 0;
    long skipped[2] = {0, 0}, nsent[2] = {0, 0};
    if (!st) st = bh_corpus_open(train, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if (every > 0 && rec.index % every == 0) continue;
        st = bh__tagger_add(tg, rec.tokens, rec.tags, rec.n_tokens);
        nsent[0]++;
    }
    if (r) skipped[0] = bh_corpus_skipped(r);
    bh_corpus_free(r);
    r = NULL;
    if (!st && k < 0) st = k;
    const char **pred = NULL;
    if (!st) st = bh_corpus_open(test, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if (every > 0 && rec.index % every != 0) continue;
        const char **p = realloc(pred, (rec.n_tokens + 1) * sizeof *p);
        if (!p) {
            st = BH_ENOMEM;
            break;
        }
        pred = p;
        st = bh__tagger_predict(tg, rec.tokens, rec.n_tokens, pred);
        /* the baseline's guesses are re-read as BIO chunks, as a tagger's output would be */
        if (!st) st = bh_ner_eval_add(ev, rec.tags, pred, rec.n_tokens);
        nsent[1]++;
    }
    if (r) skipped[1] = bh_corpus_skipped(r);
    bh_corpus_free(r);
    if (!st && k < 0) st = k;
    free(pred);
    free(train);
    free(test);
    bh_ner_report *rr = NULL;
    if (!st) st = bh_ner_eval_report(ev, &rr);
    bh__tagger_free(tg);
    bh_ner_eval_free(ev);
    if (st) {
        snprintf(res->why, sizeof res->why, "failed: %s: %s", bh_errmsg(st), bh_last_error());
        res->skipped = 1;
        return 0;
    }
    res->base[1] = rr->f1;
    res->base_name[1] = "most frequent tag per word";
    fprintf(cx->rep, "train %ld sentences (%ld skipped), test %ld sentences (%ld skipped)%s; tags converted to %s.\n\n",
            nsent[0], skipped[0], nsent[1], skipped[1], every ? " — no official split: every 10th sentence is test" : "",
            jstr(b, "scheme") ? jstr(b, "scheme") : "as is");
    fprintf(cx->rep, "| system | token accuracy | P | R | F1 (conlleval) |\n|---|---|---|---|---|\n");
    fprintf(cx->rep, "| most frequent tag per word | %.2f | %.2f | %.2f | %.2f |\n\n", rr->accuracy, rr->precision,
            rr->recall, rr->f1);
    fprintf(cx->rep, "| type | gold | predicted | correct | F1 |\n|---|---|---|---|---|\n");
    for (size_t t = 0; t < rr->n_types; t++)
        fprintf(cx->rep, "| %s | %ld | %ld | %ld | %.2f |\n", rr->types[t][0] ? rr->types[t] : "(no type)", rr->gold[t],
                rr->pred[t], rr->correct[t], rr->type_f1[t]);
    char p2[1024], title[256];
    svg_path(cx, p2, sizeof p2, "f1", res->name);
    snprintf(title, sizeof title, "%s: per-type F1 (conlleval)", res->name);
    const char *series[1] = {"most frequent tag per word"};
    bh__svg_bars(p2, title, (const char *const *)rr->types, rr->n_types, series, 1, rr->type_f1, 100);
    fprintf(cx->rep, "\n![per-type F1](%s)\n\n", strrchr(p2, '/') + 1);
    bh_ner_report_free(rr);
    return 0;
}

static int suite_qa(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    bh_corpus_options o;
    entry_opts(b, &o);
    char *test = data_path(dir, jstr(b, "test"));
    bh_corpus *r = NULL;
    bh_segmenter *seg = NULL;
    bh_status st = bh_corpus_open(test, &o, &r);
    free(test);
    if (!st) st = bh_segmenter_new(&seg);
    bh_corpus_record rec;
    int k = 0;
    double em = 0, f1 = 0;
    long n = 0;
    bh_buf ans = {0};
    const char *golds[64];
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        bh_buf_clear(&ans);
        st = bh__qa_overlap(seg, rec.text, rec.question, &ans);
        size_t ng = rec.n_answers < 64 ? rec.n_answers : 64;
        for (size_t i = 0; i < ng; i++) golds[i] = rec.answers[i].text;
        double a = 0, c = 0;
        if (!st) st = bh_squad_score(ans.data ? ans.data : "", golds, ng, &a, &c);
        em += a;
        f1 += c;
        n++;
    }
    long skipped = r ? bh_corpus_skipped(r) : 0;
    bh_corpus_free(r);
    bh_segmenter_free(seg);
    bh_buf_free(&ans);
    if (!st && k < 0) st = k;
    if (st || n == 0) {
        snprintf(res->why, sizeof res->why, "failed: %s", st ? bh_last_error() : "no questions");
        res->skipped = 1;
        return 0;
    }
    res->base[1] = 100 * f1 / (double)n;
    res->base_name[1] = "best-overlap sentence";
    fprintf(cx->rep, "%ld questions (%ld skipped). Baseline: answer with the whole context sentence that shares most words with the question.\n\n",
            n, skipped);
    fprintf(cx->rep, "| system | EM | F1 |\n|---|---|---|\n| best-overlap sentence | %.2f | %.2f |\n\n", 100 * em / (double)n,
            100 * f1 / (double)n);
    return 0;
}

/* Character bigram LM with add-one smoothing over the training code points. */
typedef struct bigram {
    uint64_t *key;
    uint32_t *cnt;
    size_t cap, n;
} bigram;

static uint32_t *bg_slot(bigram *t, uint64_t key, int insert)
{
    if (insert && 2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : (1u << 16);
        uint64_t *nk = calloc(cap, sizeof *nk);
        uint32_t *nc = calloc(cap, sizeof *nc);
        if (!nk || !nc) {
            free(nk);
            free(nc);
            return NULL;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->key[i]) {
                size_t j = (t->key[i] * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
                while (nk[j]) j = (j + 1) & (cap - 1);
                nk[j] = t->key[i];
                nc[j] = t->cnt[i];
            }
        free(t->key);
        free(t->cnt);
        t->key = nk;
        t->cnt = nc;
        t->cap = cap;
    }
    if (!t->cap) return NULL;
    size_t j = (key * 0x9E3779B97F4A7C15ULL >> 20) & (t->cap - 1);
    while (t->key[j]) {
        if (t->key[j] == key) return &t->cnt[j];
        j = (j + 1) & (t->cap - 1);
    }
    if (!insert) return NULL;
    t->key[j] = key;
    t->n++;
    return &t->cnt[j];
}

static int lm_walk(const char *s, size_t n, bigram *bg, bigram *ug, int train, double *logp, long *count, double V)
{
    uint32_t prev = 1; /* start of document */
    size_t i = 0;
    for (;;) {
        uint32_t c;
        if (i >= n) c = 2; /* end of document */
        else {
            unsigned char b = (unsigned char)s[i];
            size_t k = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
            c = 3;
            for (size_t j = 0; j < k && i + j < n; j++) c = c * 257 + (unsigned char)s[i + j];
            i += k;
        }
        uint64_t key = ((uint64_t)prev << 32) | c;
        if (train) {
            uint32_t *a = bg_slot(bg, key, 1), *u = bg_slot(ug, (uint64_t)prev + 1, 1), *v = bg_slot(ug, ((uint64_t)c << 32) | 7, 1);
            if (!a || !u || !v) return -1;
            (*a)++;
            (*u)++;
            (*v) = 1; /* vocabulary marker */
        } else {
            uint32_t *a = bg_slot(bg, key, 0), *u = bg_slot(ug, (uint64_t)prev + 1, 0);
            double num = (a ? *a : 0) + 1.0, den = (u ? *u : 0) + V;
            *logp += log(num / den);
            (*count)++;
        }
        if (c == 2) break;
        prev = c;
    }
    return 0;
}

static int suite_lm(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    bh_corpus_options o;
    entry_opts(b, &o);
    char *train = data_path(dir, jstr(b, "train")), *test = data_path(dir, jstr(b, "test"));
    bigram bg = {0}, ug = {0};
    bh_corpus *r = NULL;
    bh_status st = bh_corpus_open(train, &o, &r);
    bh_corpus_record rec;
    int k = 0;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1)
        if (lm_walk(rec.text, rec.text_len, &bg, &ug, 1, NULL, NULL, 0)) st = BH_ENOMEM;
    bh_corpus_free(r);
    r = NULL;
    if (!st && k < 0) st = k;
    double V = 1;
    for (size_t i = 0; i < ug.cap; i++)
        if (ug.key[i] && (ug.key[i] & 0xFFFFFFFFu) == 7 && (ug.key[i] >> 32)) V++;
    double logp = 0;
    long cnt = 0, docs = 0;
    if (!st) st = bh_corpus_open(test, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        lm_walk(rec.text, rec.text_len, &bg, &ug, 0, &logp, &cnt, V);
        docs++;
    }
    bh_corpus_free(r);
    if (!st && k < 0) st = k;
    free(bg.key);
    free(bg.cnt);
    free(ug.key);
    free(ug.cnt);
    free(train);
    free(test);
    if (st || cnt == 0) {
        snprintf(res->why, sizeof res->why, "failed: %s", st ? bh_last_error() : "empty test set");
        res->skipped = 1;
        return 0;
    }
    double ppl = exp(-logp / (double)cnt);
    res->base[1] = ppl;
    res->base_name[1] = "character bigram, add-one";
    fprintf(cx->rep, "Baseline: character bigram model with add-one smoothing (vocabulary %.0f characters) trained on the train file; "
                 "%ld test documents, %ld characters (+ end markers). Per-character perplexity: **%.3f** (lower is better; not comparable to subword perplexities).\n\n",
            V, docs, cnt, ppl);
    return 0;
}

/* POS tagging (CoNLL-U UPOS): most frequent tag per word, unknown words get the
 * most frequent tag overall; scored per token (accuracy, per-tag F1). With only a
 * test split, split_every k keeps every k-th sentence for testing. */
static int suite_pos(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    bh_corpus_options o;
    entry_opts(b, &o);
    char *train = data_path(dir, jstr(b, "train") ? jstr(b, "train") : jstr(b, "test"));
    char *test = data_path(dir, jstr(b, "test"));
    long every = (long)json_integer_value(json_object_get(b, "split_every"));
    bh__tagger *tg = NULL;
    bh_status st = bh__tagger_new(&tg);
    bh_corpus *r = NULL;
    bh_corpus_record rec;
    int k = 0;
    long ntrain = 0, ntest = 0;
    slist tags_seen = {0};
    long counts[64] = {0};
    if (!st) st = bh_corpus_open(train, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if (every > 0 && rec.index % every == 0) continue;
        st = bh__tagger_add(tg, rec.tokens, rec.tags, rec.n_tokens);
        for (size_t i = 0; !st && i < rec.n_tokens; i++) {
            size_t t;
            for (t = 0; t < tags_seen.n && strcmp(tags_seen.v[t], rec.tags[i]); t++) {}
            if (t == tags_seen.n && t < 64 && sl_push(&tags_seen, rec.tags[i])) st = BH_ENOMEM;
            if (t < 64) counts[t]++;
        }
        ntrain++;
    }
    bh_corpus_free(r);
    r = NULL;
    if (!st && k < 0) st = k;
    size_t best = 0;
    for (size_t t = 1; t < tags_seen.n; t++)
        if (counts[t] > counts[best]) best = t;
    slist gold = {0}, pred = {0};
    const char **p = NULL;
    if (!st) st = bh_corpus_open(test, &o, &r);
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if (every > 0 && rec.index % every != 0) continue;
        const char **q = realloc(p, (rec.n_tokens + 1) * sizeof *q);
        if (!q) {
            st = BH_ENOMEM;
            break;
        }
        p = q;
        st = bh__tagger_predict(tg, rec.tokens, rec.n_tokens, p);
        for (size_t i = 0; !st && i < rec.n_tokens; i++) {
            const char *guess = strcmp(p[i], "O") == 0 && tags_seen.n ? tags_seen.v[best] : p[i];
            if (sl_push(&gold, rec.tags[i]) || sl_push(&pred, guess)) st = BH_ENOMEM;
        }
        ntest++;
    }
    bh_corpus_free(r);
    if (!st && k < 0) st = k;
    free(p);
    free(train);
    free(test);
    bh__tagger_free(tg);
    bh_class_report *cr = NULL;
    if (!st && gold.n) st = bh_eval_classification((const char *const *)gold.v, (const char *const *)pred.v, gold.n, &cr);
    sl_free(&gold);
    sl_free(&pred);
    sl_free(&tags_seen);
    if (st || !cr) {
        snprintf(res->why, sizeof res->why, "failed: %s", st ? bh_last_error() : "no test tokens");
        res->skipped = 1;
        return 0;
    }
    res->base[1] = 100 * cr->accuracy;
    res->base_name[1] = "most frequent tag per word";
    fprintf(cx->rep, "%ld training sentences, %ld test sentences%s; %ld test tokens. Token accuracy **%.2f**, macro F1 %.2f "
                 "(tiny data: an indication, not a benchmark).\n\n",
            ntrain, ntest, every ? " (no train split: every k-th sentence is test, the rest train)" : "", cr->n,
            100 * cr->accuracy, 100 * cr->macro_f1);
    char p2[1024], title[256];
    svg_path(cx, p2, sizeof p2, "f1", res->name);
    snprintf(title, sizeof title, "%s: per-tag F1", res->name);
    const char *series[1] = {"most frequent tag per word"};
    double *vals = malloc(cr->n_classes * sizeof *vals);
    for (size_t c = 0; vals && c < cr->n_classes; c++) vals[c] = 100 * cr->f1[c];
    if (vals) bh__svg_bars(p2, title, (const char *const *)cr->classes, cr->n_classes, series, 1, vals, 100);
    free(vals);
    fprintf(cx->rep, "![per-tag F1](%s)\n\n", strrchr(p2, '/') + 1);
    bh_class_report_free(cr);
    return 0;
}

static int suite_digits(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    char *d = data_path(dir, jstr(b, "dir"));
    char *model = data_path(cx->models_dir, jstr(b, "model"));
    bh_class_report *r = NULL, *maj = NULL;
    bh_status st = exists(model) ? digits_reports(model, d, "test", &r, &maj) : BH_ENOTFOUND;
    if (st) {
        snprintf(res->why, sizeof res->why, "%s", st == BH_ENOTFOUND ? "no digit model in the models directory" : bh_last_error());
        res->skipped = 1;
        free(d);
        free(model);
        return 0;
    }
    res->base[0] = maj ? 100 * maj->accuracy : -1;
    res->base[1] = 100 * r->accuracy;
    res->base_name[0] = "majority class";
    res->base_name[1] = "shipped digit model";
    fprintf(cx->rep, "Model `%s` on the test split: %ld images, accuracy **%.2f**, macro F1 %.2f (majority class: %.2f).\n\n",
            jstr(b, "model"), r->n, 100 * r->accuracy, 100 * r->macro_f1, maj ? 100 * maj->accuracy : 0.0);
    char p1[1024], title[256];
    svg_path(cx, p1, sizeof p1, "confusion", res->name);
    snprintf(title, sizeof title, "%s: confusion matrix (shipped digit model)", res->name);
    bh__svg_confusion(p1, title, (const char *const *)r->classes, r->n_classes, r->confusion);
    fprintf(cx->rep, "![confusion](%s)\n\n", strrchr(p1, '/') + 1);
    bh_class_report_free(r);
    bh_class_report_free(maj);
    free(d);
    free(model);
    return 0;
}

/* Language identification with the shipped model on the held-out lines of
 * DIR/<lang>.txt (from line first_line on; earlier lines trained the model). */
static int suite_langid(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    char *model = data_path(cx->models_dir, jstr(b, "model"));
    long first = (long)json_integer_value(json_object_get(b, "first_line"));
    bh_langid *m = NULL;
    bh_status st = exists(model) ? bh_langid_load(model, &m) : BH_ENOTFOUND;
    slist gold = {0}, pred = {0};
    size_t li;
    json_t *lv;
    json_array_foreach(json_object_get(b, "langs"), li, lv)
    {
        if (st || !json_is_string(lv)) break;
        char rel[256];
        snprintf(rel, sizeof rel, "%s/%s.txt", jstr(b, "dir") ? jstr(b, "dir") : ".", json_string_value(lv));
        char *path = data_path(dir, rel);
        cli_lines l;
        if (!exists(path) || cli_lines_open(&l, CMD, path)) {
            free(path);
            st = BH_ENOTFOUND;
            break;
        }
        free(path);
        while (!st && cli_lines_next(&l)) {
            if (l.lineno < first) continue;
            bh_langid_result lr;
            st = bh_langid_identify(m, l.line ? l.line : "", l.len, &lr);
            if (!st && (sl_push(&gold, json_string_value(lv)) || sl_push(&pred, lr.lang))) st = BH_ENOMEM;
        }
        if (cli_lines_close(&l) && !st) st = bh__fail(BH_EIO, "read error in the %s file", json_string_value(lv));
    }
    bh_class_report *r = NULL;
    if (!st && gold.n) st = bh_eval_classification((const char *const *)gold.v, (const char *const *)pred.v, gold.n, &r);
    sl_free(&gold);
    sl_free(&pred);
    bh_langid_free(m);
    free(model);
    if (st || !r) {
        snprintf(res->why, sizeof res->why, "%s", st == BH_ENOTFOUND ? "no language-ID model or data" : bh_last_error());
        res->skipped = 1;
        return 0;
    }
    res->base[1] = 100 * r->accuracy;
    res->base_name[1] = "shipped langid model";
    fprintf(cx->rep, "Model `%s` on lines %ld.. of each language file (held out from its training): %ld lines, "
                 "accuracy **%.2f**, macro F1 %.2f.\n\n",
            jstr(b, "model"), first, r->n, 100 * r->accuracy, 100 * r->macro_f1);
    fprintf(cx->rep, "| language | lines | P | R | F1 |\n|---|---|---|---|---|\n");
    for (size_t c = 0; c < r->n_classes; c++)
        fprintf(cx->rep, "| %s | %ld | %.2f | %.2f | %.2f |\n", r->classes[c], r->support[c], 100 * r->precision[c],
                100 * r->recall[c], 100 * r->f1[c]);
    char p1[1024], title[256];
    svg_path(cx, p1, sizeof p1, "confusion", res->name);
    snprintf(title, sizeof title, "%s: confusion matrix (shipped langid model)", res->name);
    bh__svg_confusion(p1, title, (const char *const *)r->classes, r->n_classes, r->confusion);
    fprintf(cx->rep, "\n![confusion](%s)\n\n", strrchr(p1, '/') + 1);
    bh_class_report_free(r);
    return 0;
}

static int suite_mt(const suite_ctx *cx, json_t *b, const char *dir, result *res)
{
    char *src = data_path(dir, jstr(b, "source")), *ref = data_path(dir, jstr(b, "test"));
    slist s = {0}, t = {0};
    int bad = read_text_lines(src, &s) || read_text_lines(ref, &t);
    free(src);
    free(ref);
    if (bad || s.n != t.n) {
        snprintf(res->why, sizeof res->why, "failed: cannot read or line counts differ");
        res->skipped = 1;
        sl_free(&s);
        sl_free(&t);
        return 0;
    }
    bh_bleu bl;
    double chrf = 0;
    bh_status st = bh_bleu_corpus((const char *const *)s.v, (const char *const *)t.v, s.n, &bl);
    if (!st) st = bh_chrf_corpus((const char *const *)s.v, (const char *const *)t.v, s.n, &chrf);
    size_t n = s.n;
    sl_free(&s);
    sl_free(&t);
    if (st) {
        snprintf(res->why, sizeof res->why, "failed: %s", bh_last_error());
        res->skipped = 1;
        return 0;
    }
    res->base[1] = bl.score;
    res->base_name[1] = "copy the source";
    fprintf(cx->rep, "%zu segments. No translation model yet; floor baseline = copy the Bangla source unchanged "
                 "(names, digits and punctuation overlap): BLEU %.2f, chrF %.2f (sacreBLEU defaults).\n\n",
            n, bl.score, chrf);
    return 0;
}

static int cmd_suite(eopts *e)
{
    const char *regpath = e->registry ? e->registry : "assets/eval/benchmarks.json";
    const char *dir = e->data_dir;
    char defdir[4096];
    if (!dir) {
        const char *sh = getenv("BH_SHARED");
        snprintf(defdir, sizeof defdir, "%s/data", sh ? sh : "../shared");
        dir = defdir;
    }
    if (!e->out) return cli_usage_error(CMD, "suite needs --out DIR");
    json_error_t je;
    json_t *reg = json_load_file(regpath, 0, &je);
    if (!reg) {
        fprintf(stderr, "bhasha eval: %s:%d: %s\n", regpath, je.line, je.text);
        return 1;
    }
    json_t *list = json_object_get(reg, "benchmarks");
    if (!json_is_array(list)) {
        json_decref(reg);
        fprintf(stderr, "bhasha eval: %s: no \"benchmarks\" array\n", regpath);
        return 1;
    }
    if (mkdir(e->out, 0777) && errno != EEXIST) {
        json_decref(reg);
        return cli_usage_error(CMD, "cannot create %s", e->out);
    }
    suite_ctx cx = {NULL, e->out, e->models ? e->models : "assets"};
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", e->out);
    FILE *final = fopen(path, "w");
    char *details = NULL;
    size_t details_len = 0;
    cx.rep = final ? open_memstream(&details, &details_len) : NULL; /* details go after the summary */
    if (!cx.rep) {
        if (final) fclose(final);
        json_decref(reg);
        return cli_usage_error(CMD, "cannot write %s", path);
    }
    size_t nb = json_array_size(list);
    result *res = calloc(nb ? nb : 1, sizeof *res);
    fprintf(final, "# bhasha evaluation report\n\nRegistry: `%s` (%zu benchmarks), data directory: `%s`.\n"
                 "Baselines are trained by the suite itself on each benchmark's train split. Models directory: `%s` "
                 "(digit and language-ID models; other model kinds are not wired into the suite yet).\n\n",
            regpath, nb, dir, cx.models_dir);
    fprintf(cx.rep, "## Details\n\n");
    for (size_t i = 0; i < nb; i++) {
        json_t *b = json_array_get(list, i);
        result *r = &res[i];
        r->name = jstr(b, "name");
        r->task = jstr(b, "task");
        r->lang = jstr(b, "lang");
        r->metric = jstr(b, "metric");
        r->base[0] = r->base[1] = r->published = -1;
        if (!r->name || !r->task) {
            r->skipped = 1;
            snprintf(r->why, sizeof r->why, "entry %zu lacks name or task", i);
            continue;
        }
        if (e->only && strcmp(e->only, r->name)) {
            r->skipped = 1;
            snprintf(r->why, sizeof r->why, "not selected (--only)");
            continue;
        }
        const char *files[4] = {jstr(b, "train"), jstr(b, "test"), jstr(b, "source"), jstr(b, "dir")};
        int missing = 0;
        for (int f = 0; f < 4; f++) {
            char *p = data_path(dir, files[f]);
            if (p && !exists(p)) missing = 1;
            free(p);
        }
        json_t *pub;
        size_t pi;
        json_array_foreach(json_object_get(b, "published"), pi, pub)
        {
            const char *m = jstr(pub, "metric");
            double sc = json_number_value(json_object_get(pub, "score"));
            if (m && r->metric && strcmp(m, r->metric) == 0 && sc > r->published) {
                r->published = sc;
                snprintf(r->published_src, sizeof r->published_src, "%s — %s", jstr(pub, "system") ? jstr(pub, "system") : "?",
                         jstr(pub, "source") ? jstr(pub, "source") : "?");
            }
        }
        if (missing) {
            r->skipped = 1;
            snprintf(r->why, sizeof r->why, "data not present; get it from %s", jstr(b, "get") ? jstr(b, "get") : "(no source given)");
            continue;
        }
        fprintf(stderr, "eval suite: %s (%s)\n", r->name, r->task);
        fprintf(cx.rep, "### %s (%s, %s)\n\n", r->name, r->task, r->lang ? r->lang : "?");
        if (strcmp(r->task, "sentiment") == 0) suite_sentiment(&cx, b, dir, r);
        else if (strcmp(r->task, "ner") == 0) suite_ner(&cx, b, dir, r);
        else if (strcmp(r->task, "qa") == 0) suite_qa(&cx, b, dir, r);
        else if (strcmp(r->task, "lm") == 0) suite_lm(&cx, b, dir, r);
        else if (strcmp(r->task, "mt") == 0) suite_mt(&cx, b, dir, r);
        else if (strcmp(r->task, "digits") == 0) suite_digits(&cx, b, dir, r);
        else if (strcmp(r->task, "langid") == 0) suite_langid(&cx, b, dir, r);
        else if (strcmp(r->task, "pos") == 0) suite_pos(&cx, b, dir, r);
        else {
            r->skipped = 1;
            snprintf(r->why, sizeof r->why, "task %s: no self-trained baseline; needs a model", r->task);
        }
        if (r->skipped) fprintf(cx.rep, "Not scored: %s\n\n", r->why);
        if (r->published >= 0)
            fprintf(cx.rep, "Published %s: **%.1f** (%s)\n\n", r->metric, r->published, r->published_src);
    }
    /* summary table and the our-vs-published chart */
    fclose(cx.rep);
    cx.rep = final;
    fprintf(cx.rep, "## Summary\n\n| benchmark | task | lang | metric | majority | trained baseline / shipped model | published |\n|---|---|---|---|---|---|---|\n");
    const char **labels = calloc(nb ? nb : 1, sizeof *labels);
    double *vals = calloc(3 * (nb ? nb : 1), sizeof *vals);
    size_t ng = 0;
    for (size_t i = 0; i < nb; i++) {
        result *r = &res[i];
        if (r->skipped) continue;
        char a[32] = "–", b2[96] = "–", c[32] = "–";
        if (r->base[0] >= 0) snprintf(a, sizeof a, "%.2f", r->base[0]);
        if (r->base[1] >= 0) snprintf(b2, sizeof b2, "%.2f (%s)", r->base[1], r->base_name[1]);
        if (r->published >= 0) snprintf(c, sizeof c, "%.1f", r->published);
        fprintf(cx.rep, "| %s | %s | %s | %s | %s | %s | %s |\n", r->name, r->task, r->lang ? r->lang : "", r->metric ? r->metric : "",
                a, b2, c);
        if (r->metric && strcmp(r->metric, "perplexity") == 0) continue;
        labels[ng] = r->name;
        vals[ng] = r->base[0];
        vals[nb + ng] = r->base[1];
        vals[2 * nb + ng] = r->published;
        ng++;
    }
    /* pack the three series contiguously for ng groups */
    double *packed = malloc(3 * (ng ? ng : 1) * sizeof *packed);
    for (size_t s = 0; packed && s < 3; s++)
        for (size_t g = 0; g < ng; g++) packed[s * ng + g] = vals[s * nb + g];
    const char *series[3] = {"majority class", "trained baseline / shipped model", "published"};
    snprintf(path, sizeof path, "%s/scores.svg", e->out);
    if (packed && ng) bh__svg_bars(path, "Headline metric per benchmark, ours beside published", labels, ng, series, 3, packed, 100);
    free(packed);
    free(labels);
    free(vals);
    fprintf(cx.rep, "\nHeadline metrics: sentiment weighted F1, NER entity F1 (conlleval), QA F1, MT BLEU, digits accuracy "
                 "(all in %%); LM rows are per-character perplexity and are left out of the chart.\n\n![scores](scores.svg)\n\n## Not scored\n\n");
    for (size_t i = 0; i < nb; i++)
        if (res[i].skipped) fprintf(cx.rep, "- %s (%s): %s\n", res[i].name ? res[i].name : "?", res[i].task ? res[i].task : "?", res[i].why);
    fprintf(cx.rep, "\n");
    if (details) fwrite(details, 1, details_len, cx.rep);
    free(details);
    fclose(cx.rep);
    long done = 0;
    for (size_t i = 0; i < nb; i++) done += !res[i].skipped;
    printf("{\"report\":\"%s/report.md\",\"benchmarks\":%zu,\"scored\":%ld,\"skipped\":%ld}\n", e->out, nb, done, (long)nb - done);
    free(res);
    json_decref(reg);
    return 0;
}

int cli_eval(int argc, char **argv)
{
    if (argc < 2) return usage(), 2;
    const char *task = argv[1];
    if (strcmp(task, "-h") == 0 || strcmp(task, "--help") == 0) return usage(), 0;
    eopts e;
    int rc = parse_opts(argc - 1, argv + 1, &e);
    if (rc) return rc;
    if (strcmp(task, "sentiment") == 0 || strcmp(task, "classify") == 0) return eval_sentiment(&e);
    if (strcmp(task, "ner") == 0) return eval_ner(&e);
    if (strcmp(task, "qa") == 0) return eval_qa(&e);
    if (strcmp(task, "mt") == 0) return eval_mt(&e);
    if (strcmp(task, "lm") == 0) return eval_lm(&e);
    if (strcmp(task, "suite") == 0) return cmd_suite(&e);
    if (strcmp(task, "digits") == 0) return eval_digits(&e);
    return cli_usage_error(CMD, "unknown task \"%s\" (sentiment, ner, qa, mt, lm, suite)", task);
}
