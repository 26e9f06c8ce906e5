/* eval/baseline.c — self-trained baselines for the evaluation suite (see baseline.h). */
#include "eval/baseline.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/eval.h"
#include "bhasha/segment.h"
#include "core/error.h"
#include "models/text_features.h"

#define NB_BITS 18
#define NB_SIZE (1u << NB_BITS)
#define MAX_CLASSES 64

struct bh__nb {
    int nc;
    char *names[MAX_CLASSES];
    long docs[MAX_CLASSES];
    double total[MAX_CLASSES];
    float *counts[MAX_CLASSES]; /* [NB_SIZE] feature counts per class */
    uint32_t *feat;
    size_t nfeat, fcap;
    double vocab; /* distinct feature buckets seen in training (0 = not counted yet) */
};

static uint64_t fnv(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Word, word-bigram and character 3-gram hashes of the text into m->feat,
 * folded to the table's bits. */
static int features(bh__nb *m, const char *s, size_t n)
{
    m->nfeat = 0;
    if (bh__text_features(s, n, 3, 3, &m->feat, &m->nfeat, &m->fcap)) return -1;
    for (size_t i = 0; i < m->nfeat; i++) m->feat[i] &= NB_SIZE - 1;
    return 0;
}

bh_status bh__nb_new(bh__nb **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? BH_OK : bh__fail(BH_ENOMEM, "nb");
}

void bh__nb_free(bh__nb *m)
{
    if (!m) return;
    for (int c = 0; c < m->nc; c++) {
        free(m->names[c]);
        free(m->counts[c]);
    }
    free(m->feat);
    free(m);
}

bh_status bh__nb_add(bh__nb *m, const char *text, size_t n, const char *label)
{
    int c;
    for (c = 0; c < m->nc && strcmp(m->names[c], label); c++) {}
    if (c == m->nc) {
        if (m->nc == MAX_CLASSES) return bh__fail(BH_ELIMIT, "more than %d classes", MAX_CLASSES);
        m->names[c] = strdup(label);
        m->counts[c] = calloc(NB_SIZE, sizeof(float));
        if (!m->names[c] || !m->counts[c]) {
            free(m->names[c]); /* the slot is not counted in nc, so nothing else frees them */
            free(m->counts[c]);
            m->names[c] = NULL;
            m->counts[c] = NULL;
            return bh__fail(BH_ENOMEM, "nb");
        }
        m->nc++;
    }
    if (features(m, text, n)) return bh__fail(BH_ENOMEM, "nb");
    m->docs[c]++;
    m->vocab = 0;
    for (size_t i = 0; i < m->nfeat; i++) m->counts[c][m->feat[i]] += 1.0f;
    m->total[c] += (double)m->nfeat;
    return BH_OK;
}

const char *bh__nb_predict(bh__nb *m, const char *text, size_t n, int majority)
{
    if (m->nc == 0) return NULL;
    long docs = 0;
    for (int c = 0; c < m->nc; c++) docs += m->docs[c];
    if (!majority && features(m, text, n)) return NULL;
    if (m->vocab == 0) {
        for (size_t f = 0; f < NB_SIZE; f++) {
            int any = 0;
            for (int c = 0; c < m->nc && !any; c++) any = m->counts[c][f] > 0;
            m->vocab += any;
        }
        if (m->vocab == 0) m->vocab = 1;
    }
    int best = 0;
    double bs = -INFINITY;
    const double alpha = 1.0; /* Laplace smoothing */
    for (int c = 0; c < m->nc; c++) {
        double s = log((double)m->docs[c] / (double)docs);
        if (!majority) {
            double den = log(m->total[c] + alpha * m->vocab);
            for (size_t i = 0; i < m->nfeat; i++) s += log(m->counts[c][m->feat[i]] + alpha) - den;
        }
        if (s > bs) {
            bs = s;
            best = c;
        }
    }
    return m->names[best];
}

/* ---- most-frequent-tag tagger ----------------------------------------------- */

#define TG_MAXTAGS 64

typedef struct tg_entry {
    char *word;
    int counts[TG_MAXTAGS];
} tg_entry;

struct bh__tagger {
    tg_entry *t;
    size_t cap, n;
    char *tags[TG_MAXTAGS];
    int ntags;
};

bh_status bh__tagger_new(bh__tagger **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? BH_OK : bh__fail(BH_ENOMEM, "tagger");
}

void bh__tagger_free(bh__tagger *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++) free(t->t[i].word);
    free(t->t);
    for (int i = 0; i < t->ntags; i++) free(t->tags[i]);
    free(t);
}

static tg_entry *tg_find(bh__tagger *t, const char *w, int insert)
{
    if (insert && 2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        tg_entry *nt = calloc(cap, sizeof *nt);
        if (!nt) return NULL;
        for (size_t i = 0; i < t->cap; i++)
            if (t->t[i].word) {
                size_t j = fnv(t->t[i].word, strlen(t->t[i].word), 1469598103934665603ULL) & (cap - 1);
                while (nt[j].word) j = (j + 1) & (cap - 1);
                nt[j] = t->t[i];
            }
        free(t->t);
        t->t = nt;
        t->cap = cap;
    }
    if (!t->cap) return NULL;
    size_t j = fnv(w, strlen(w), 1469598103934665603ULL) & (t->cap - 1);
    while (t->t[j].word) {
        if (strcmp(t->t[j].word, w) == 0) return &t->t[j];
        j = (j + 1) & (t->cap - 1);
    }
    if (!insert) return NULL;
    t->t[j].word = strdup(w);
    if (!t->t[j].word) return NULL;
    t->n++;
    return &t->t[j];
}

bh_status bh__tagger_add(bh__tagger *t, const char *const *tokens, const char *const *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k;
        for (k = 0; k < t->ntags && strcmp(t->tags[k], tags[i]); k++) {}
        if (k == t->ntags) {
            if (k == TG_MAXTAGS) continue;
            if (!(t->tags[k] = strdup(tags[i]))) return bh__fail(BH_ENOMEM, "tagger");
            t->ntags++;
        }
        tg_entry *e = tg_find(t, tokens[i], 1);
        if (!e) return bh__fail(BH_ENOMEM, "tagger");
        e->counts[k]++;
    }
    return BH_OK;
}

bh_status bh__tagger_predict(bh__tagger *t, const char *const *tokens, size_t n, const char **tags)
{
    for (size_t i = 0; i < n; i++) {
        tg_entry *e = tg_find(t, tokens[i], 0);
        tags[i] = "O";
        if (!e) continue;
        int best = -1;
        for (int k = 0; k < t->ntags; k++)
            if (best < 0 || e->counts[k] > e->counts[best]) best = k;
        if (best >= 0) tags[i] = t->tags[best];
    }
    return BH_OK;
}

/* ---- QA overlap ------------------------------------------------------------------- */

static int has_word(const char *set, const char *w, size_t wl)
{
    const char *p = set;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        if (l == wl && memcmp(p, w, l) == 0) return 1;
        if (!sp) break;
        p = sp + 1;
    }
    return 0;
}

bh_status bh__qa_overlap(const bh_segmenter *seg, const char *context, const char *question, bh_buf *out)
{
    bh_buf q = {0}, s = {0};
    bh_spans sents = {0};
    size_t n = strlen(context), best_a = 0, best_b = n;
    int best = -1;
    /* the segmenter's sentences, so that "3.14" or "ড." do not end one */
    bh_status st = bh_squad_normalize(question, strlen(question), &q);
    if (!st) st = bh_segment(seg, BH_SEG_SENTENCE, context, n, &sents);
    for (size_t i = 0; !st && i < sents.n; i++) {
        size_t a = sents.v[i].start, b = sents.v[i].end;
        st = bh_squad_normalize(context + a, b - a, &s);
        int score = 0;
        const char *p = s.data;
        while (!st && p && *p) {
            const char *sp = strchr(p, ' ');
            size_t l = sp ? (size_t)(sp - p) : strlen(p);
            score += has_word(q.data ? q.data : "", p, l);
            if (!sp) break;
            p = sp + 1;
        }
        if (score > best) {
            best = score;
            best_a = a;
            best_b = b;
        }
    }
    bh_buf_free(&q);
    bh_buf_free(&s);
    bh_spans_free(&sents);
    if (st) return st;
    return bh_buf_append(out, context + best_a, best_b - best_a);
}
