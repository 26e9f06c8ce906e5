/* pipeline/annotate.c — normalize -> segment -> langid -> translit, as one JSON object. */
#include "pipeline/annotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/langid.h"
#include "bhasha/normalize.h"
#include "bhasha/segment.h"
#include "core/error.h"

struct bh_annotator {
    bh_annotator_options o;
    bh_segmenter *seg;
    bh_langid *lid;      /* NULL when no model was given */
    bh_translit *tr;     /* NULL when no transliteration was asked for */
};

void bh_annotator_options_default(bh_annotator_options *opt)
{
    if (!opt) return;
    opt->langid_model = NULL;
    opt->translit_to = BH_SCRIPT_LATN;
    opt->normalize = 1;
    opt->stages = BH_STAGES_ALL;
    opt->strict_utf8 = 0;
    opt->conllu = 0;
}

bh_status bh_annotator_stages_parse(const char *list, unsigned *stages)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        {"normalize", BH_STAGE_NORMALIZE}, {"sentences", BH_STAGE_SENTENCES},
        {"words", BH_STAGE_WORDS},         {"langid", BH_STAGE_LANGID},
        {"translit", BH_STAGE_TRANSLIT},   {"all", BH_STAGES_ALL},
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
            return bh__fail(BH_EINVAL, "unknown stage '%.*s' (stages: normalize, sentences, words, langid, translit, all)",
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
    free(a);
}

bh_status bh_annotator_new(const bh_annotator_options *opt, bh_annotator **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_annotator_new: NULL out");
    *out = NULL;
    bh_annotator *a = calloc(1, sizeof *a);
    if (!a) return bh__fail(BH_ENOMEM, "bh_annotator_new: out of memory");
    if (opt) a->o = *opt; else bh_annotator_options_default(&a->o);
    if (!a->o.stages) a->o.stages = BH_STAGES_ALL;
    if (!a->o.normalize) a->o.stages &= ~(unsigned)BH_STAGE_NORMALIZE;
    bh_status st = bh_segmenter_new(&a->seg);
    if (!st && a->o.langid_model && (a->o.stages & BH_STAGE_LANGID)) st = bh_langid_load(a->o.langid_model, &a->lid);
    if (!st && a->o.translit_to != BH_SCRIPT_AUTO && (a->o.stages & BH_STAGE_TRANSLIT)) {
        bh_translit_options to;
        bh_translit_options_default(&to);
        to.to = a->o.translit_to;
        st = bh_translit_new(&to, &a->tr);
    }
    if (st) {
        bh_annotator_free(a);
        return st;
    }
    a->o.langid_model = NULL; /* the path is not ours to keep */
    *out = a;
    return BH_OK;
}

/* ,"key":[{"start":..,"end":..,"text":..(,"kind":..)}...] */
static bh_status append_spans(bh_buf *out, const char *key, const bh_spans *sp, const char *text, int kinds)
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
        if (!st) st = bh_buf_append(out, "}", 1);
    }
    if (!st) st = bh_buf_append(out, "]", 1);
    return st;
}

/* Appends s[0..n) with tabs, CR and LF turned into spaces (CoNLL-U fields and comments are one line). */
static bh_status append_flat(bh_buf *out, const char *s, size_t n)
{
    bh_status st = bh_buf_reserve(out, n);
    for (size_t i = 0; i < n && !st; i++) {
        char c = s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
        st = bh_buf_append(out, &c, 1);
    }
    return st;
}

static bh_status append_conllu(const bh_annotator *a, bh_buf *out, const char *nt, const bh_spans *sents,
                               const bh_spans *words, const char *lang)
{
    bh_status st = BH_OK;
    bh_buf tr = {0};
    char num[64];
    size_t w = 0;
    for (size_t i = 0; i < sents->n && !st; i++) {
        const bh_span *s = &sents->v[i];
        st = bh_buf_append(out, "# text = ", 9);
        if (!st) st = append_flat(out, nt + s->start, s->end - s->start);
        if (!st && lang) {
            st = bh_buf_append(out, "\n# lang = ", 10);
            if (!st) st = bh_buf_append(out, lang, strlen(lang));
        }
        if (!st) st = bh_buf_append(out, "\n", 1);
        while (w < words->n && words->v[w].start < s->start) w++;
        for (size_t id = 1; w < words->n && words->v[w].start < s->end && !st; w++, id++) {
            const bh_span *t = &words->v[w];
            const char *upos = t->kind == BH_TOK_PUNCT ? "PUNCT" : t->kind == BH_TOK_NUMBER ? "NUM" : "_";
            int k = snprintf(num, sizeof num, "%zu\t", id);
            st = bh_buf_append(out, num, (size_t)k);
            if (!st) st = append_flat(out, nt + t->start, t->end - t->start);
            k = snprintf(num, sizeof num, "\t_\t%s\t_\t_\t_\t_\t_\t", upos);
            if (!st) st = bh_buf_append(out, num, (size_t)k);
            int misc = 0;
            if (!st && w + 1 < words->n && words->v[w + 1].start == t->end && words->v[w + 1].start < s->end) {
                st = bh_buf_append(out, "SpaceAfter=No", 13);
                misc = 1;
            }
            if (!st && a->tr) {
                bh_buf_clear(&tr);
                st = bh_translit_run(a->tr, nt + t->start, t->end - t->start, &tr, NULL);
                if (!st) st = bh_buf_append(out, misc ? "|Translit=" : "Translit=", misc ? 10 : 9);
                if (!st) st = append_flat(out, tr.data ? tr.data : "", tr.len);
                misc = 1;
            }
            if (!st && !misc) st = bh_buf_append(out, "_", 1);
            if (!st) st = bh_buf_append(out, "\n", 1);
        }
        if (!st) st = bh_buf_append(out, "\n", 1);
    }
    bh_buf_free(&tr);
    return st;
}

bh_status bh_annotate(const bh_annotator *a, const char *text, size_t len, bh_buf *out)
{
    if (!a || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_annotate: NULL argument");
    size_t mark = out->len;
    bh_buf norm = {0}, raw = {0}, tr = {0};
    bh_spans sents = {0}, words = {0};
    bh_norm_options no;
    bh_norm_options_default(&no);
    if (!(a->o.stages & BH_STAGE_NORMALIZE)) {
        /* Only repair the encoding, so that the JSON stays valid UTF-8. */
        no.strip_format = 0;
        no.lookalikes = 0;
    }
    /* "text" is the input with invalid UTF-8 repaired and nothing else changed. */
    bh_norm_options ro = no;
    ro.strip_format = 0;
    ro.lookalikes = 0;
    bh_norm_stats ns = {0};
    bh_status st = bh_normalize(text, len, &no, &norm, &ns);
    if (!st && a->o.strict_utf8 && ns.utf8_repairs)
        st = bh__fail(BH_EUTF8, "%zu invalid UTF-8 sequence%s", ns.utf8_repairs, ns.utf8_repairs == 1 ? "" : "s");
    if (!st) st = bh_normalize(text, len, &ro, &raw, NULL);
    const char *nt = norm.data ? norm.data : "";
    if (!st && (a->o.conllu || (a->o.stages & (BH_STAGE_SENTENCES | BH_STAGE_WORDS))))
        st = bh_segment_sentences_words(a->seg, nt, norm.len, &sents, &words);
    if (a->o.conllu) {
        bh_langid_result r;
        if (!st && a->lid) st = bh_langid_identify(a->lid, nt, norm.len, &r);
        if (!st) st = append_conllu(a, out, nt, &sents, &words, a->lid ? r.lang : NULL);
        goto done;
    }

    if (!st) st = bh_buf_append(out, "{\"text\":", 8);
    if (!st) st = bh_buf_append_json(out, raw.data ? raw.data : "", raw.len);
    if (!st) st = bh_buf_append(out, ",\"normalized\":", 14);
    if (!st) st = bh_buf_append_json(out, nt, norm.len);
    if (!st && a->lid) {
        bh_langid_result r;
        st = bh_langid_identify(a->lid, nt, norm.len, &r);
        char num[64];
        if (!st) st = bh_buf_append(out, ",\"lang\":", 8);
        if (!st) st = bh_buf_append_json(out, r.lang, strlen(r.lang));
        int k = snprintf(num, sizeof num, ",\"lang_score\":%.4f", (double)r.score);
        if (!st) st = bh_buf_append(out, num, (size_t)k);
    }
    if (!st && (a->o.stages & BH_STAGE_SENTENCES)) st = append_spans(out, "sentences", &sents, nt, 0);
    if (!st && (a->o.stages & BH_STAGE_WORDS)) st = append_spans(out, "words", &words, nt, 1);
    if (!st && a->tr) {
        st = bh_translit_run(a->tr, nt, norm.len, &tr, NULL);
        if (!st) st = bh_buf_append(out, ",\"translit\":", 12);
        if (!st) st = bh_buf_append_json(out, tr.data ? tr.data : "", tr.len);
    }
    if (!st) st = bh_buf_append(out, "}", 1);
done:
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
