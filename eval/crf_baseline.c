/* eval/crf_baseline.c — the feature CRF NER baseline over CoNLL files: the
 * corpus reader, tag repair and conversion, training and conlleval scoring
 * (see eval/crf_baseline.h). */
#include "eval/crf_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef bh_status (*sentence_fn)(void *ctx, const char *const *tokens, const char *const *tags, size_t n);

/* st again, its detail prefixed with the file and line. */
static bh_status line_fail(bh_status st, const char *path, long line)
{
    char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
    snprintf(detail, sizeof detail, "%s", bh_last_error());
    return bh__fail(st, "%s line %ld: %s", path, line, detail);
}

/* Reads `path` sentence by sentence; calls fn with repaired, converted tags. */
static bh_status each_sentence(const char *path, const bh__crf_data *d, sentence_fn fn, void *ctx, long *sentences,
                               long *skipped)
{
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CONLL;
    size_t len = strlen(path);
    if (len > 6 && !strcmp(path + len - 6, ".jsonl")) {
        o.format = BH_CORPUS_JSONL;
        o.text_field = d->text_field ? d->text_field : "text";
        o.tags_field = d->tags_field ? d->tags_field : "tags";
    }
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r;
    bh_status st = bh_corpus_open(path, &o, &r);
    if (st) return st;
    bh_corpus_record rec;
    bh_buf conv = {0}, fixed = {0};
    size_t *offs = NULL, cap = 0;
    const char **tags = NULL;
    long count = 0;
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        size_t n = rec.n_tokens;
        if (n + 1 > cap) {
            cap = 2 * n + 16;
            size_t *no = realloc(offs, cap * sizeof *no);
            if (no) offs = no;
            const char **nt = no ? realloc(tags, cap * sizeof *nt) : NULL;
            if (nt) tags = nt;
            if (!no || !nt) {
                st = bh__fail(BH_ENOMEM, "crf baseline: sentence of %zu tokens", n);
                break;
            }
        }
        /* repair: "-" (no tag) → O, "-X" (no position letter) → I-X */
        bh_buf_clear(&fixed);
        int bad = 0;
        for (size_t i = 0; i < n && !bad; i++) {
            const char *g = rec.tags[i];
            offs[i] = fixed.len;
            if (!strcmp(g, "-")) bad = bh_buf_append(&fixed, "O", 2) != BH_OK;
            else if (g[0] == '-') bad = bh_buf_append(&fixed, "I", 1) || bh_buf_append(&fixed, g, strlen(g) + 1);
            else bad = bh_buf_append(&fixed, g, strlen(g) + 1) != BH_OK;
        }
        if (bad) {
            st = bh__fail(BH_ENOMEM, "crf baseline: tags");
            break;
        }
        for (size_t i = 0; i < n; i++) tags[i] = fixed.data + offs[i];
        if (d->scheme != BH_TAGS_ASIS || d->label_map) {
            if ((st = bh_tags_convert(tags, n, d->scheme, d->label_map, &conv, offs))) {
                st = line_fail(st, path, rec.line);
                break;
            }
            for (size_t i = 0; i < n; i++) tags[i] = conv.data + offs[i];
        }
        if ((st = fn(ctx, rec.tokens, tags, n))) {
            st = line_fail(st, path, rec.line);
            break;
        }
        count++;
    }
    if (!st && k < 0) st = k;
    if (sentences) *sentences = count;
    if (skipped) *skipped = bh_corpus_skipped(r);
    bh_corpus_free(r);
    bh_buf_free(&conv);
    bh_buf_free(&fixed);
    free(offs);
    free(tags);
    return st;
}

static bh_status add_one(void *ctx, const char *const *tokens, const char *const *tags, size_t n)
{
    return bh_crf_tagger_add(ctx, tokens, tags, n);
}

bh_status bh__crf_add_conll(bh_crf_tagger *t, const char *path, const bh__crf_data *d, long *sentences,
                            long *skipped)
{
    if (!t || !path || !d) return bh__fail(BH_EINVAL, "crf baseline: NULL argument");
    return each_sentence(path, d, add_one, t, sentences, skipped);
}

typedef struct {
    bh__tag_fn tag;
    void *tctx;
    const bh__crf_data *d;
    bh_ner_eval *ev;
    bh_buf *pred;
    const char **out;
    size_t *offs, cap;
    bh_buf conv;
} eval_ctx;

static bh_status eval_one(void *ctx, const char *const *tokens, const char *const *tags, size_t n)
{
    eval_ctx *c = ctx;
    if (n > c->cap) {
        const char **o = realloc(c->out, n * sizeof *o);
        if (o) c->out = o;
        size_t *f = o ? realloc(c->offs, n * sizeof *f) : NULL;
        if (f) c->offs = f;
        if (!o || !f) return bh__fail(BH_ENOMEM, "crf baseline: %zu tokens", n);
        c->cap = n;
    }
    bh_status st = c->tag(c->tctx, tokens, n, c->out);
    /* The predictions go through the gold tags' scheme and type map too: a
     * model trained on finer types (IL-NER's NEP, NETI, ...) is then scored in
     * the mapped view, and one trained on the mapped types is unchanged, since
     * conversion reads chunks as conlleval does and the map renames only its
     * own keys. */
    if (!st && (c->d->scheme != BH_TAGS_ASIS || c->d->label_map)) {
        st = bh_tags_convert(c->out, n, c->d->scheme, c->d->label_map, &c->conv, c->offs);
        for (size_t i = 0; i < n && !st; i++) c->out[i] = c->conv.data + c->offs[i];
    }
    if (!st) st = bh_ner_eval_add(c->ev, tags, c->out, n);
    for (size_t i = 0; i < n && !st && c->pred; i++) {
        int bad = bh_buf_append(c->pred, tokens[i], strlen(tokens[i])) || bh_buf_append(c->pred, "\t", 1) ||
             bh_buf_append(c->pred, tags[i], strlen(tags[i])) || bh_buf_append(c->pred, "\t", 1) ||
             bh_buf_append(c->pred, c->out[i], strlen(c->out[i])) || bh_buf_append(c->pred, "\n", 1);
        if (bad) st = bh__fail(BH_ENOMEM, "crf baseline: predictions");
    }
    if (!st && c->pred && bh_buf_append(c->pred, "\n", 1)) st = bh__fail(BH_ENOMEM, "crf baseline: predictions");
    return st;
}

bh_status bh__ner_eval_conll(bh__tag_fn tag, void *ctx, const char *path, const bh__crf_data *d, bh_buf *pred,
                             bh_ner_report **out, long *sentences, long *skipped)
{
    if (!tag || !path || !d || !out) return bh__fail(BH_EINVAL, "ner eval: NULL argument");
    *out = NULL;
    eval_ctx c = {tag, ctx, d, NULL, pred, NULL, NULL, 0, {0}};
    bh_status st = bh_ner_eval_new(BH_NER_CONLLEVAL, &c.ev);
    if (st) return st;
    st = each_sentence(path, d, eval_one, &c, sentences, skipped);
    if (!st) st = bh_ner_eval_report(c.ev, out);
    bh_ner_eval_free(c.ev);
    free(c.out);
    free(c.offs);
    bh_buf_free(&c.conv);
    return st;
}

static bh_status tagger_tag(void *ctx, const char *const *tokens, size_t n, const char **tags)
{
    return bh_crf_tagger_tag(ctx, tokens, n, tags);
}

bh_status bh__crf_eval_conll(const bh_crf_tagger *t, const char *path, const bh__crf_data *d, bh_buf *pred,
                             bh_ner_report **out, long *sentences, long *skipped)
{
    if (!t) return bh__fail(BH_EINVAL, "crf baseline: NULL argument");
    return bh__ner_eval_conll(tagger_tag, (void *)t, path, d, pred, out, sentences, skipped);
}
