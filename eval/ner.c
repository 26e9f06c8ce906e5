/* eval/ner.c — entity-level NER scores: conlleval.pl chunk semantics (the
 * CoNLL-2000/2003 scorer) or seqeval-style strict IOB2/IOBES matching. */
#include <stdlib.h>
#include <string.h>

#include "bhasha/eval.h"
#include "core/error.h"

typedef struct tcount {
    char *type;
    long gold, pred, correct;
} tcount;

struct bh_ner_eval {
    bh_ner_mode mode;
    tcount *t;
    size_t nt, cap;
    long tokens, correct_tags;
    long found_gold, found_pred, correct;
};

bh_status bh_ner_eval_new(bh_ner_mode mode, bh_ner_eval **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_ner_eval_new: out is NULL");
    if (mode != BH_NER_CONLLEVAL && mode != BH_NER_STRICT_IOB2 && mode != BH_NER_STRICT_IOBES)
        return bh__fail(BH_EINVAL, "bad NER mode");
    *out = calloc(1, sizeof **out);
    if (!*out) return bh__fail(BH_ENOMEM, "ner eval");
    (*out)->mode = mode;
    return BH_OK;
}

void bh_ner_eval_free(bh_ner_eval *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nt; i++) free(e->t[i].type);
    free(e->t);
    free(e);
}

static tcount *type_of(bh_ner_eval *e, const char *s, size_t n)
{
    for (size_t i = 0; i < e->nt; i++)
        if (strlen(e->t[i].type) == n && memcmp(e->t[i].type, s, n) == 0) return &e->t[i];
    if (e->nt == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        tcount *p = realloc(e->t, cap * sizeof *p);
        if (!p) return NULL;
        e->t = p;
        e->cap = cap;
    }
    tcount *t = &e->t[e->nt];
    memset(t, 0, sizeof *t);
    t->type = malloc(n + 1);
    if (!t->type) return NULL;
    memcpy(t->type, s, n);
    t->type[n] = 0;
    e->nt++;
    return t;
}

/* conlleval's split: "B-PER" → ("B", "PER"); a tag without '-' → (tag, ""). */
typedef struct ctag {
    const char *tag;
    size_t tl;
    const char *type;
    size_t yl;
} ctag;

static ctag split_tag(const char *s)
{
    ctag c;
    const char *d = strchr(s, '-');
    c.tag = s;
    if (d) {
        c.tl = (size_t)(d - s);
        c.type = d + 1;
        c.yl = strlen(d + 1);
    } else {
        c.tl = strlen(s);
        c.type = "";
        c.yl = 0;
    }
    return c;
}

static int tag_is(ctag c, const char *lit)
{
    return c.tl == strlen(lit) && memcmp(c.tag, lit, c.tl) == 0;
}

static int same_type(ctag a, ctag b)
{
    return a.yl == b.yl && memcmp(a.type, b.type, a.yl) == 0;
}

static int end_of_chunk(ctag prev, ctag cur)
{
    int e = 0;
    if (tag_is(prev, "B") && tag_is(cur, "B")) e = 1;
    if (tag_is(prev, "B") && tag_is(cur, "O")) e = 1;
    if (tag_is(prev, "I") && tag_is(cur, "B")) e = 1;
    if (tag_is(prev, "I") && tag_is(cur, "O")) e = 1;
    if (tag_is(prev, "E") && tag_is(cur, "E")) e = 1;
    if (tag_is(prev, "E") && tag_is(cur, "I")) e = 1;
    if (tag_is(prev, "E") && tag_is(cur, "O")) e = 1;
    if (!tag_is(prev, "O") && !tag_is(prev, ".") && !same_type(prev, cur)) e = 1;
    if (tag_is(prev, "]") || tag_is(prev, "[")) e = 1;
    return e;
}

static int start_of_chunk(ctag prev, ctag cur)
{
    int s = 0;
    if (tag_is(prev, "B") && tag_is(cur, "B")) s = 1;
    if (tag_is(prev, "I") && tag_is(cur, "B")) s = 1;
    if (tag_is(prev, "O") && tag_is(cur, "B")) s = 1;
    if (tag_is(prev, "O") && tag_is(cur, "I")) s = 1;
    if (tag_is(prev, "E") && tag_is(cur, "E")) s = 1;
    if (tag_is(prev, "E") && tag_is(cur, "I")) s = 1;
    if (tag_is(prev, "O") && tag_is(cur, "E")) s = 1;
    if (tag_is(prev, "O") && tag_is(cur, "I")) s = 1;
    if (!tag_is(cur, "O") && !tag_is(cur, ".") && !same_type(prev, cur)) s = 1;
    if (tag_is(cur, "[") || tag_is(cur, "]")) s = 1;
    return s;
}

static bh_status add_conlleval(bh_ner_eval *e, const char *const *gold, const char *const *pred, size_t n)
{
    ctag O = {"O", 1, "", 0};
    ctag lg = O, lp = O; /* a sentence starts after a boundary, which conlleval reads as O O */
    int in_correct = 0;
    for (size_t i = 0; i <= n; i++) {
        int boundary = i == n;
        ctag g = boundary ? O : split_tag(gold[i]);
        ctag p = boundary ? O : split_tag(pred[i]);
        if (in_correct) {
            int eg = end_of_chunk(lg, g), ep = end_of_chunk(lp, p);
            if (eg && ep && same_type(lp, lg)) {
                in_correct = 0;
                e->correct++;
                tcount *t = type_of(e, lg.type, lg.yl);
                if (!t) return BH_ENOMEM;
                t->correct++;
            } else if (eg != ep || !same_type(p, g)) {
                in_correct = 0;
            }
        }
        int sg = start_of_chunk(lg, g), sp = start_of_chunk(lp, p);
        if (sg && sp && same_type(p, g)) in_correct = 1;
        if (sg) {
            e->found_gold++;
            tcount *t = type_of(e, g.type, g.yl);
            if (!t) return BH_ENOMEM;
            t->gold++;
        }
        if (sp) {
            e->found_pred++;
            tcount *t = type_of(e, p.type, p.yl);
            if (!t) return BH_ENOMEM;
            t->pred++;
        }
        if (!boundary) {
            if (g.tl == p.tl && memcmp(g.tag, p.tag, g.tl) == 0 && same_type(g, p)) e->correct_tags++;
            e->tokens++;
        }
        lg = g;
        lp = p;
    }
    return BH_OK;
}

typedef struct span {
    size_t a, b; /* [a, b) */
    const char *type;
    size_t yl;
} span;

/* Strict entity extraction (seqeval mode="strict"): only well-formed chunks count. */
static size_t strict_spans(const char *const *tags, size_t n, int iobes, span *out)
{
    size_t k = 0;
    size_t i = 0;
    while (i < n) {
        ctag c = split_tag(tags[i]);
        char p = c.tl == 1 ? c.tag[0] : 0;
        if (iobes && p == 'U') p = 'S';
        if (iobes && p == 'L') p = 'E';
        if (c.yl == 0 || !p) {
            i++;
            continue;
        }
        if (iobes && p == 'S') {
            out[k++] = (span){i, i + 1, c.type, c.yl};
            i++;
            continue;
        }
        if (p != 'B') {
            i++;
            continue;
        }
        size_t j = i + 1;
        for (;;) {
            if (j >= n) break;
            ctag d = split_tag(tags[j]);
            char q = d.tl == 1 ? d.tag[0] : 0;
            if (iobes && q == 'L') q = 'E';
            if (!same_type(c, d) || (q != 'I' && !(iobes && q == 'E'))) break;
            j++;
            if (iobes && q == 'E') break;
        }
        if (!iobes) {
            out[k++] = (span){i, j, c.type, c.yl};
            i = j;
            continue;
        }
        /* IOBES: valid only if it closed with E */
        ctag last = split_tag(tags[j - 1]);
        char lq = last.tl == 1 ? last.tag[0] : 0;
        if (j > i + 1 && (lq == 'E' || lq == 'L')) out[k++] = (span){i, j, c.type, c.yl};
        i = j > i + 1 ? j : i + 1;
    }
    return k;
}

/* seqeval rejects a tag whose prefix the scheme does not allow; so do we. */
static bh_status check_scheme(const char *const *tags, size_t n, int iobes, const char *side)
{
    const char *allowed = iobes ? "BIESLU" : "BI";
    for (size_t i = 0; i < n; i++) {
        const char *t = tags[i];
        if (strcmp(t, "O") == 0) continue;
        if (!t[0] || !strchr(allowed, t[0]) || t[1] != '-' || !t[2])
            return bh__fail(BH_EFORMAT, "%s tag %zu \"%.40s\" is not allowed in strict %s mode", side, i, t,
                            iobes ? "IOBES" : "IOB2");
    }
    return BH_OK;
}

static bh_status add_strict(bh_ner_eval *e, const char *const *gold, const char *const *pred, size_t n)
{
    int strict_iobes = e->mode == BH_NER_STRICT_IOBES;
    bh_status chk = check_scheme(gold, n, strict_iobes, "gold");
    if (!chk) chk = check_scheme(pred, n, strict_iobes, "predicted");
    if (chk) return chk;
    span *g = malloc((n + 1) * sizeof *g), *p = malloc((n + 1) * sizeof *p);
    if (!g || !p) {
        free(g);
        free(p);
        return bh__fail(BH_ENOMEM, "spans");
    }
    int iobes = e->mode == BH_NER_STRICT_IOBES;
    size_t ng = strict_spans(gold, n, iobes, g), np = strict_spans(pred, n, iobes, p);
    bh_status st = BH_OK;
    for (size_t i = 0; i < ng && !st; i++) {
        tcount *t = type_of(e, g[i].type, g[i].yl);
        if (!t) st = BH_ENOMEM;
        else t->gold++;
    }
    for (size_t i = 0; i < np && !st; i++) {
        tcount *t = type_of(e, p[i].type, p[i].yl);
        if (!t) {
            st = BH_ENOMEM;
            break;
        }
        t->pred++;
        for (size_t j = 0; j < ng; j++)
            if (g[j].a == p[i].a && g[j].b == p[i].b && g[j].yl == p[i].yl &&
                memcmp(g[j].type, p[i].type, p[i].yl) == 0) {
                t->correct++;
                e->correct++;
                break;
            }
    }
    e->found_gold += (long)ng;
    e->found_pred += (long)np;
    for (size_t i = 0; i < n; i++) {
        e->tokens++;
        if (strcmp(gold[i], pred[i]) == 0) e->correct_tags++;
    }
    free(g);
    free(p);
    return st ? bh__fail(BH_ENOMEM, "ner eval") : BH_OK;
}

bh_status bh_ner_eval_add(bh_ner_eval *e, const char *const *gold, const char *const *pred, size_t n)
{
    if (!e || ((!gold || !pred) && n)) return bh__fail(BH_EINVAL, "bh_ner_eval_add: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!gold[i] || !pred[i]) return bh__fail(BH_EINVAL, "tag %zu is NULL", i);
    if (e->mode == BH_NER_CONLLEVAL) {
        bh_status st = add_conlleval(e, gold, pred, n);
        return st ? bh__fail(BH_ENOMEM, "ner eval") : BH_OK;
    }
    return add_strict(e, gold, pred, n);
}

static int cmp_tc(const void *a, const void *b)
{
    return strcmp(((const tcount *)a)->type, ((const tcount *)b)->type);
}

void bh_ner_report_free(bh_ner_report *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_types; i++) free(r->types[i]);
    free(r->types);
    free(r->gold);
    free(r->pred);
    free(r->correct);
    free(r->type_p);
    free(r->type_r);
    free(r->type_f1);
    free(r);
}

static void prf(long c, long p, long g, double *P, double *R, double *F)
{
    *P = p > 0 ? 100.0 * (double)c / (double)p : 0.0;
    *R = g > 0 ? 100.0 * (double)c / (double)g : 0.0;
    *F = *P + *R > 0 ? 2 * *P * *R / (*P + *R) : 0.0;
}

bh_status bh_ner_eval_report(const bh_ner_eval *e, bh_ner_report **out)
{
    if (!e || !out) return bh__fail(BH_EINVAL, "bh_ner_eval_report: NULL argument");
    *out = NULL;
    bh_ner_report *r = calloc(1, sizeof *r);
    if (!r) return bh__fail(BH_ENOMEM, "ner report");
    size_t n = e->nt;
    tcount *t = malloc((n ? n : 1) * sizeof *t);
    r->types = calloc(n ? n : 1, sizeof *r->types);
    r->gold = calloc(n ? n : 1, sizeof(long));
    r->pred = calloc(n ? n : 1, sizeof(long));
    r->correct = calloc(n ? n : 1, sizeof(long));
    r->type_p = calloc(n ? n : 1, sizeof(double));
    r->type_r = calloc(n ? n : 1, sizeof(double));
    r->type_f1 = calloc(n ? n : 1, sizeof(double));
    if (!t || !r->types || !r->gold || !r->pred || !r->correct || !r->type_p || !r->type_r || !r->type_f1) {
        free(t);
        bh_ner_report_free(r);
        return bh__fail(BH_ENOMEM, "ner report");
    }
    if (n) memcpy(t, e->t, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_tc);
    for (size_t i = 0; i < n; i++) {
        r->types[i] = strdup(t[i].type);
        if (!r->types[i]) {
            r->n_types = i;
            free(t);
            bh_ner_report_free(r);
            return bh__fail(BH_ENOMEM, "ner report");
        }
        r->gold[i] = t[i].gold;
        r->pred[i] = t[i].pred;
        r->correct[i] = t[i].correct;
        prf(t[i].correct, t[i].pred, t[i].gold, &r->type_p[i], &r->type_r[i], &r->type_f1[i]);
    }
    r->n_types = n;
    free(t);
    r->tokens = e->tokens;
    r->correct_tags = e->correct_tags;
    r->accuracy = e->tokens ? 100.0 * (double)e->correct_tags / (double)e->tokens : 0.0;
    r->total_gold = e->found_gold;
    r->total_pred = e->found_pred;
    r->total_correct = e->correct;
    prf(e->correct, e->found_pred, e->found_gold, &r->precision, &r->recall, &r->f1);
    *out = r;
    return BH_OK;
}
