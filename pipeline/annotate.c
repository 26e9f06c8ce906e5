/* pipeline/annotate.c — normalize -> segment -> langid -> translit ->
 * sentiment + entities, as one JSON object (or CoNLL-U). */
#include "pipeline/annotate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/langid.h"
#include "bhasha/normalize.h"
#include "bhasha/segment.h"
#include "core/error.h"
#include "pipeline/finetune.h"

/* Inference contexts of the model stages: a bh__ft_model is not thread-safe
 * (activation buffers), so each concurrent bh_annotate takes one from the
 * pool and gives it back; the pool grows to the number of concurrent
 * callers. F32 weights are mapped and shared by the page cache; F16
 * weights (the shipped models) are widened into each context (29 MB each for
 * the shipped encoder). */
typedef struct ctx_pool {
    pthread_mutex_t mu;
    bh__ft_model **free;
    int nfree, cap;
} ctx_pool;

struct bh_annotator {
    bh_annotator_options o;
    bh_segmenter *seg;
    bh_langid *lid;      /* NULL when no model was given */
    bh_translit *tr;     /* NULL when no transliteration was asked for */
    char *model_dir;     /* NULL without model stages */
    ctx_pool *pool;
};

static bh_status load_model(const bh_annotator *a, const char *dir, bh__ft_model **fm)
{
    bh_status st = bh__ft_load(dir, 0, NULL, 1, fm);
    if (!st && a->o.precision != BH_PRECISION_F32 && (st = bh__ft_set_precision(*fm, a->o.precision))) {
        bh__ft_free(*fm);
        *fm = NULL;
    }
    return st;
}

static bh_status ctx_take(const bh_annotator *a, bh__ft_model **fm)
{
    ctx_pool *p = a->pool;
    *fm = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nfree) *fm = p->free[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return *fm ? BH_OK : load_model(a, a->model_dir, fm);
}

static void ctx_give(const bh_annotator *a, bh__ft_model *fm)
{
    ctx_pool *p = a->pool;
    pthread_mutex_lock(&p->mu);
    if (p->nfree == p->cap) {
        int nc = p->cap ? 2 * p->cap : 4;
        bh__ft_model **v = realloc(p->free, sizeof *v * (size_t)nc);
        if (v) p->free = v, p->cap = nc;
    }
    if (p->nfree < p->cap) {
        p->free[p->nfree++] = fm;
        fm = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    bh__ft_free(fm); /* no room to keep it: the next caller loads another */
}

void bh_annotator_options_default(bh_annotator_options *opt)
{
    if (!opt) return;
    opt->langid_model = NULL;
    opt->model_dir = NULL;
    opt->translit_to = BH_SCRIPT_LATN;
    opt->normalize = 1;
    opt->stages = BH_STAGES_ALL;
    opt->strict_utf8 = 0;
    opt->conllu = 0;
    opt->precision = BH_PRECISION_F32;
}

bh_status bh_annotator_stages_parse(const char *list, unsigned *stages)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        {"normalize", BH_STAGE_NORMALIZE}, {"sentences", BH_STAGE_SENTENCES},
        {"words", BH_STAGE_WORDS},         {"langid", BH_STAGE_LANGID},
        {"translit", BH_STAGE_TRANSLIT},   {"sentiment", BH_STAGE_SENTIMENT},
        {"ner", BH_STAGE_NER},             {"all", BH_STAGES_ALL},
    };
    if (!list || !stages) return bh__fail(BH_EINVAL, "bh_annotator_stages_parse: NULL argument");
    unsigned bits = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t i = 0;
        while (i < sizeof names / sizeof names[0] && (strlen(names[i].name) != n || memcmp(names[i].name, p, n)))
            i++;
        if (i == sizeof names / sizeof names[0])
            return bh__fail(BH_EINVAL, "unknown stage '%.*s' (stages: normalize, sentences, words, langid, translit, sentiment, "
                            "ner, all)",
                            (int)n, p);
        bits |= names[i].bit;
        p += n;
        if (*p == ',') p++;
    }
    if (!bits) return bh__fail(BH_EINVAL, "empty stage list");
    *stages = bits;
    return BH_OK;
}

void bh_annotator_free(bh_annotator *a)
{
    if (!a) return;
    bh_segmenter_free(a->seg);
    bh_langid_free(a->lid);
    bh_translit_free(a->tr);
    if (a->pool) {
        for (int i = 0; i < a->pool->nfree; i++) bh__ft_free(a->pool->free[i]);
        free(a->pool->free);
        pthread_mutex_destroy(&a->pool->mu);
        free(a->pool);
    }
    free(a->model_dir);
    free(a);
}

/* Loads the first inference context: checks the directory and its heads.
 * A stage without its head is dropped when every stage was asked for
 * (lenient), an error when it was named. */
static bh_status open_models(bh_annotator *a, const char *dir, int lenient)
{
    unsigned want = a->o.stages & (BH_STAGE_SENTIMENT | BH_STAGE_NER);
    if (!want) return BH_OK;
    if (!dir) {
        if (lenient) {
            a->o.stages &= ~want;
            return BH_OK;
        }
        return bh__fail(BH_EINVAL, "the sentiment and ner stages need a model directory");
    }
    if (!(a->model_dir = strdup(dir)) || !(a->pool = calloc(1, sizeof *a->pool)))
        return bh__fail(BH_ENOMEM, "out of memory");
    pthread_mutex_init(&a->pool->mu, NULL);
    bh__ft_model *fm;
    bh_status st = load_model(a, dir, &fm);
    if (st) return st;
    static const struct { unsigned bit; bh_head_kind kind; const char *name; } need[] = {
        {BH_STAGE_SENTIMENT, BH_HEAD_SEQUENCE, "sentiment"}, {BH_STAGE_NER, BH_HEAD_TOKEN, "ner"}};
    for (int i = 0; i < 2 && !st; i++) {
        if (!(want & need[i].bit) || bh__ft_find_head(fm, need[i].kind, NULL)) continue;
        if (lenient) a->o.stages &= ~need[i].bit;
        else st = bh__fail(BH_ENOTFOUND, "model %s has no %s head", dir, need[i].name);
    }
    ctx_give(a, fm);
    return st;
}

bh_status bh_annotator_new(const bh_annotator_options *opt, bh_annotator **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_annotator_new: NULL out");
    *out = NULL;
    bh_annotator *a = calloc(1, sizeof *a);
    if (!a) return bh__fail(BH_ENOMEM, "bh_annotator_new: out of memory");
    if (opt) a->o = *opt; else bh_annotator_options_default(&a->o);
    if (!a->o.stages) a->o.stages = BH_STAGES_ALL;
    /* decided before normalize = 0 takes its stage away: that option does
     * not turn the default "every stage" into a list of named stages */
    int lenient = (a->o.stages & BH_STAGES_ALL) == BH_STAGES_ALL;
    if (!a->o.normalize) a->o.stages &= ~(unsigned)BH_STAGE_NORMALIZE;
    bh_status st = bh_segmenter_new(&a->seg);
    if (!st && a->o.translit_to != BH_SCRIPT_AUTO && (a->o.stages & BH_STAGE_TRANSLIT)) {
        bh_translit_options to;
        bh_translit_options_default(&to);
        to.to = a->o.translit_to;
        st = bh_translit_new(&to, &a->tr);
    }
    if (!st) st = open_models(a, a->o.model_dir, lenient);
    /* the model stages choose their heads by the text's language even when
       the "lang" field is not asked for */
    if (!st && a->o.langid_model && (a->o.stages & (BH_STAGE_LANGID | BH_STAGE_SENTIMENT | BH_STAGE_NER)))
        st = bh_langid_load(a->o.langid_model, &a->lid);
    if (st) {
        bh_annotator_free(a);
        return st;
    }
    a->o.langid_model = NULL; /* the paths are not ours to keep */
    a->o.model_dir = NULL;
    *out = a;
    return BH_OK;
}

/* What the model stages found in one text. */
typedef struct model_out {
    bh_head *sh, *nh;      /* the heads used (in the context), or NULL */
    int C;                 /* sentiment labels */
    float *sprobs;         /* [sentences, C] */
    float dprobs[64];      /* the text's (C <= 64) */
    bh__ft_entity *ents;   /* offsets into the whole normalized text */
    size_t n, cap;
} model_out;

static void model_out_free(model_out *mo)
{
    free(mo->sprobs);
    free(mo->ents);
}

static int best_label(const float *p, int C)
{
    int b = 0;
    for (int j = 1; j < C; j++)
        if (p[j] > p[b]) b = j;
    return b;
}

static size_t tl_len(const bh_spans *sents, size_t i) { return sents->v[i].end - sents->v[i].start; }

/* Runs the heads for lang over every sentence of nt. */
static bh_status run_models(const bh_annotator *a, bh__ft_model *fm, const char *nt, const bh_spans *sents,
                            const char *lang, model_out *mo)
{
    if (a->o.stages & BH_STAGE_SENTIMENT) mo->sh = bh__ft_find_head(fm, BH_HEAD_SEQUENCE, lang);
    if (a->o.stages & BH_STAGE_NER) mo->nh = bh__ft_find_head(fm, BH_HEAD_TOKEN, lang);
    if (!mo->sh && !mo->nh) return BH_OK;
    mo->C = mo->sh ? bh_head_n_labels(mo->sh) : 0;
    if (mo->C > 64) return bh__fail(BH_EUNSUPPORTED, "sentiment head with %d labels (at most 64)", mo->C);
    if (mo->sh && !(mo->sprobs = calloc(sents->n * (size_t)mo->C + 1, sizeof(float))))
        return bh__fail(BH_ENOMEM, "out of memory");
    /* every sentence of the text in one call: their chunks share padded
     * batches through the encoder */
    const char **tx = malloc(sizeof(char *) * (sents->n + 1));
    size_t *tl = malloc(sizeof(size_t) * (sents->n + 1));
    bh_status st = tx && tl ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < sents->n; i++) {
        tx[i] = nt + sents->v[i].start;
        tl[i] = sents->v[i].end - sents->v[i].start;
    }
    if (!st && sents->n)
        st = bh__ft_run_many(fm, mo->sh, mo->nh, tx, tl, (int)sents->n, mo->sprobs, &mo->ents, &mo->n, &mo->cap);
    free(tx);
    free(tl);
    if (st) return st;
    double wsum = 0;
    for (size_t i = 0; mo->sh && i < sents->n; i++) {
        double w = (double)tl_len(sents, i);
        for (int j = 0; j < mo->C; j++) mo->dprobs[j] += (float)(w * mo->sprobs[i * (size_t)mo->C + j]);
        wsum += w;
    }
    if (wsum > 0)
        for (int j = 0; j < mo->C; j++) mo->dprobs[j] = (float)(mo->dprobs[j] / wsum);
    /* entity offsets: from their sentence's to the whole text's */
    size_t cp = 0, cb = 0;
    for (size_t k = 0; k < mo->n; k++) {
        bh__ft_entity *e = &mo->ents[k];
        size_t s0 = sents->v[e->item].start;
        for (; cb < s0; cb++) cp += ((unsigned char)nt[cb] & 0xC0) != 0x80; /* code points before the sentence */
        e->bstart += s0, e->bend += s0, e->start += cp, e->end += cp;
    }
    return BH_OK;
}

static bh_status append_label(bh_buf *out, const bh_head *h, const float *p, int C)
{
    int b = best_label(p, C);
    const char *l = bh_head_label(h, b);
    char num[48];
    bh_status st = bh_buf_append(out, "{\"label\":", 9);
    if (!st) st = bh_buf_append_json(out, l, strlen(l));
    int k = snprintf(num, sizeof num, ",\"score\":%.4f}", (double)p[b]);
    if (!st) st = bh_buf_append(out, num, (size_t)k);
    return st;
}

/* ,"schema":1,"heads":{..},"sentiment":{..},"entities":[..] */
static bh_status append_models(bh_buf *out, const model_out *mo, const char *nt, size_t nsents)
{
    bh_status st = bh_buf_append(out, ",\"schema\":1,\"heads\":{", 21);
    if (!st && mo->sh) {
        st = bh_buf_append(out, "\"sentiment\":", 12);
        if (!st) st = bh_buf_append_json(out, bh_head_name(mo->sh), strlen(bh_head_name(mo->sh)));
    }
    if (!st && mo->nh) {
        st = bh_buf_append(out, mo->sh ? ",\"ner\":" : "\"ner\":", mo->sh ? 7 : 6);
        if (!st) st = bh_buf_append_json(out, bh_head_name(mo->nh), strlen(bh_head_name(mo->nh)));
    }
    if (!st) st = bh_buf_append(out, "}", 1);
    if (!st && mo->sh) {
        st = bh_buf_append(out, ",\"sentiment\":", 13);
        if (!st) st = nsents ? append_label(out, mo->sh, mo->dprobs, mo->C) : bh_buf_append(out, "null", 4);
    }
    if (!st && mo->nh) {
        char num[128];
        st = bh_buf_append(out, ",\"entities\":[", 13);
        for (size_t i = 0; i < mo->n && !st; i++) {
            const bh__ft_entity *e = &mo->ents[i];
            st = bh_buf_append(out, i ? ",{\"type\":" : "{\"type\":", i ? 9 : 8);
            if (!st) st = bh_buf_append_json(out, e->type, strlen(e->type));
            int k = snprintf(num, sizeof num, ",\"start\":%zu,\"end\":%zu,\"char_start\":%zu,\"char_end\":%zu,\"text\":",
                             e->bstart, e->bend, e->start, e->end);
            if (!st) st = bh_buf_append(out, num, (size_t)k);
            if (!st) st = bh_buf_append_json(out, nt + e->bstart, e->bend - e->bstart);
            k = snprintf(num, sizeof num, ",\"score\":%.4f}", (double)e->score);
            if (!st) st = bh_buf_append(out, num, (size_t)k);
        }
        if (!st) st = bh_buf_append(out, "]", 1);
    }
    return st;
}

/* ,"key":[{"start":..,"end":..,"text":..(,"kind":..)}...] */
static bh_status append_spans(bh_buf *out, const char *key, const bh_spans *sp, const char *text, int kinds,
                              const model_out *mo)
{
    char num[64];
    bh_status st = bh_buf_append(out, ",\"", 2);
    if (!st) st = bh_buf_append(out, key, strlen(key));
    if (!st) st = bh_buf_append(out, "\":[", 3);
    for (size_t i = 0; i < sp->n && !st; i++) {
        const bh_span *s = &sp->v[i];
        int k = snprintf(num, sizeof num, "%s{\"start\":%zu,\"end\":%zu,\"text\":", i ? "," : "", s->start, s->end);
        st = bh_buf_append(out, num, (size_t)k);
        if (!st) st = bh_buf_append_json(out, text + s->start, s->end - s->start);
        if (!st && kinds) {
            const char *kn = bh_token_kind_name(s->kind);
            st = bh_buf_append(out, ",\"kind\":", 8);
            if (!st) st = bh_buf_append_json(out, kn, strlen(kn));
        }
        if (!st && mo && mo->sh) { /* sentences: each one's sentiment */
            st = bh_buf_append(out, ",\"sentiment\":", 13);
            if (!st) st = append_label(out, mo->sh, mo->sprobs + i * (size_t)mo->C, mo->C);
        }
        if (!st) st = bh_buf_append(out, "}", 1);
    }
    if (!st) st = bh_buf_append(out, "]", 1);
    return st;
}

/* Appends a MISC value with the escapes UD defines for MISC values (those of
 * SpacesAfter): \p for "|", which would split the attribute, \\ for "\", and
 * \s for a space, which may not start or end the column. The value is made
 * one line of valid UTF-8 first (core/error.h), so no other escape is needed. */
static bh_status append_misc(bh_buf *out, const char *s, size_t n, bh_buf *tmp)
{
    bh_buf_clear(tmp);
    bh_status st = bh__buf_append_line(tmp, s, n);
    size_t run = 0;
    for (size_t i = 0; i < tmp->len && !st; i++) {
        char c = tmp->data[i];
        const char *e = c == '|' ? "\\p" : c == '\\' ? "\\\\" : c == ' ' ? "\\s" : NULL;
        if (!e) continue;
        st = bh_buf_append(out, tmp->data + run, i - run);
        if (!st) st = bh_buf_append(out, e, 2);
        run = i + 1;
    }
    if (!st) st = bh_buf_append(out, tmp->data + run, tmp->len - run);
    return st;
}

static bh_status append_conllu(const bh_annotator *a, bh_buf *out, const char *nt, const bh_spans *sents,
                               const bh_spans *words, const char *lang, const model_out *mo)
{
    bh_status st = BH_OK;
    bh_buf tr = {0}, esc = {0};
    char num[64];
    size_t w = 0, en = 0; /* en: the next entity that may hold a word */
    for (size_t i = 0; i < sents->n && !st; i++) {
        const bh_span *s = &sents->v[i];
        st = bh_buf_append(out, "# text = ", 9);
        if (!st) st = bh__buf_append_line(out, nt + s->start, s->end - s->start);
        if (!st && lang) {
            st = bh_buf_append(out, "\n# lang = ", 10);
            if (!st) st = bh_buf_append(out, lang, strlen(lang));
        }
        if (!st && mo->sh) {
            const float *p = mo->sprobs + i * (size_t)mo->C;
            int b = best_label(p, mo->C);
            const char *l = bh_head_label(mo->sh, b);
            st = bh_buf_append(out, "\n# sentiment = ", 15);
            if (!st) st = bh__buf_append_line(out, l, strlen(l));
            int k = snprintf(num, sizeof num, " %.4f", (double)p[b]);
            if (!st) st = bh_buf_append(out, num, (size_t)k);
        }
        if (!st) st = bh_buf_append(out, "\n", 1);
        while (w < words->n && words->v[w].start < s->start) w++;
        for (size_t id = 1; w < words->n && words->v[w].start < s->end && !st; w++, id++) {
            const bh_span *t = &words->v[w];
            const char *upos = t->kind == BH_TOK_PUNCT ? "PUNCT" : t->kind == BH_TOK_NUMBER ? "NUM" : "_";
            int k = snprintf(num, sizeof num, "%zu\t", id);
            st = bh_buf_append(out, num, (size_t)k);
            if (!st) st = bh__buf_append_line(out, nt + t->start, t->end - t->start);
            k = snprintf(num, sizeof num, "\t_\t%s\t_\t_\t_\t_\t_\t", upos);
            if (!st) st = bh_buf_append(out, num, (size_t)k);
            int misc = 0;
            if (!st && w + 1 < words->n && words->v[w + 1].start == t->end && words->v[w + 1].start < s->end) {
                st = bh_buf_append(out, "SpaceAfter=No", 13);
                misc = 1;
            }
            while (en < mo->n && mo->ents[en].bend <= t->start) en++;
            if (!st && en < mo->n && mo->ents[en].bstart <= t->start && t->end <= mo->ents[en].bend) {
                const bh__ft_entity *e = &mo->ents[en];
                st = bh_buf_append(out, misc ? "|NE=" : "NE=", misc ? 4 : 3);
                if (!st) st = bh_buf_append(out, t->start == e->bstart ? "B-" : "I-", 2);
                if (!st) st = append_misc(out, e->type, strlen(e->type), &esc);
                misc = 1;
            }
            if (!st && a->tr) {
                bh_buf_clear(&tr);
                st = bh_translit_run(a->tr, nt + t->start, t->end - t->start, &tr, NULL);
                if (!st) st = bh_buf_append(out, misc ? "|Translit=" : "Translit=", misc ? 10 : 9);
                if (!st) st = append_misc(out, tr.data ? tr.data : "", tr.len, &esc);
                misc = 1;
            }
            if (!st && !misc) st = bh_buf_append(out, "_", 1);
            if (!st) st = bh_buf_append(out, "\n", 1);
        }
        if (!st) st = bh_buf_append(out, "\n", 1);
    }
    bh_buf_free(&tr);
    bh_buf_free(&esc);
    return st;
}

bh_status bh_annotate(const bh_annotator *a, const char *text, size_t len, bh_buf *out)
{
    if (!a || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_annotate: NULL argument");
    size_t mark = out->len;
    bh_buf norm = {0}, raw = {0}, tr = {0};
    bh_spans sents = {0}, words = {0};
    bh__ft_model *fm = NULL;
    model_out mo = {0};
    bh_norm_options no;
    bh_norm_options_default(&no);
    /* without the stage the text is read as given, invalid UTF-8 repaired,
     * so that offsets index the input (pipeline.h) */
    if (!(a->o.stages & BH_STAGE_NORMALIZE)) no.canonical = 0;
    /* "text": the canonical form with the stage, the repaired input without */
    bh_norm_options ro = no;
    ro.strip_format = 0;
    ro.lookalikes = 0;
    bh_norm_stats ns = {0};
    bh_status st = bh_normalize(text, len, &no, &norm, &ns);
    if (!st && a->o.strict_utf8 && ns.utf8_repairs)
        st = bh__fail(BH_EUTF8, "%zu invalid UTF-8 sequence%s", ns.utf8_repairs, ns.utf8_repairs == 1 ? "" : "s");
    if (!st) st = bh_normalize(text, len, &ro, &raw, NULL);
    const char *nt = norm.data ? norm.data : "";
    int models = a->pool && (a->o.stages & (BH_STAGE_SENTIMENT | BH_STAGE_NER));
    if (!st && (a->o.conllu || models || (a->o.stages & (BH_STAGE_SENTENCES | BH_STAGE_WORDS))))
        st = bh_segment_sentences_words(a->seg, nt, norm.len, &sents, &words);
    bh_langid_result r;
    int lang_out = a->lid && (a->o.stages & BH_STAGE_LANGID); /* the "lang" field */
    if (!st && a->lid && (lang_out || models)) st = bh_langid_identify(a->lid, nt, norm.len, &r);
    if (!st && models && !(st = ctx_take(a, &fm))) st = run_models(a, fm, nt, &sents, a->lid ? r.lang : NULL, &mo);
    if (a->o.conllu) {
        if (!st) st = append_conllu(a, out, nt, &sents, &words, lang_out ? r.lang : NULL, &mo);
        goto done;
    }

    if (!st) st = bh_buf_append(out, "{\"text\":", 8);
    if (!st) st = bh_buf_append_json(out, raw.data ? raw.data : "", raw.len);
    if (!st) st = bh_buf_append(out, ",\"normalized\":", 14);
    if (!st) st = bh_buf_append_json(out, nt, norm.len);
    if (!st && lang_out) {
        char num[64];
        st = bh_buf_append(out, ",\"lang\":", 8);
        if (!st) st = bh_buf_append_json(out, r.lang, strlen(r.lang));
        int k = snprintf(num, sizeof num, ",\"lang_score\":%.4f", (double)r.score);
        if (!st) st = bh_buf_append(out, num, (size_t)k);
    }
    if (!st && (a->o.stages & BH_STAGE_SENTENCES)) st = append_spans(out, "sentences", &sents, nt, 0, &mo);
    if (!st && (a->o.stages & BH_STAGE_WORDS)) st = append_spans(out, "words", &words, nt, 1, NULL);
    if (!st && a->tr) {
        st = bh_translit_run(a->tr, nt, norm.len, &tr, NULL);
        if (!st) st = bh_buf_append(out, ",\"translit\":", 12);
        if (!st) st = bh_buf_append_json(out, tr.data ? tr.data : "", tr.len);
    }
    if (!st && (mo.sh || mo.nh)) st = append_models(out, &mo, nt, sents.n);
    if (!st) st = bh_buf_append(out, "}", 1);
done:
    if (fm) ctx_give(a, fm); /* after the output: entity types point into its heads */
    model_out_free(&mo);
    bh_buf_free(&norm);
    bh_buf_free(&raw);
    bh_buf_free(&tr);
    bh_spans_free(&sents);
    bh_spans_free(&words);
    if (st) {
        out->len = mark;
        if (out->data) out->data[mark] = 0;
    }
    return st;
}
