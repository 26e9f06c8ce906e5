/* eval/kn_lm.c — interpolated Kneser-Ney n-gram language model over token
 * ids, the baseline that a neural decoder's perplexity is reported beside.
 *
 * Model (Chen & Goodman's interpolated Kneser-Ney, one discount per order):
 *   top order N:  P(w|h) = max(c(hw) - D_N, 0) / c(h.) + D_N N1+(h.) / c(h.) * P(w|h')
 *   order k < N:  the same with c replaced by continuation counts
 *                 N1+(.g) = number of distinct tokens seen before the k-gram g
 *   order 1:      P(w) = max(N1+(.w) - D_1, 0) / N1+(..) + D_1 U / N1+(..) / V
 *                 (U = number of tokens with N1+(.w) > 0; unseen ids get mass
 *                 from the uniform distribution, so no probability is zero)
 *   D_k = n1 / (n1 + 2 n2), n1/n2 = number of k-grams whose statistic is 1/2.
 *   An unseen context h (c(h.) = 0) leaves the lower-order estimate as is.
 * Every document is padded on the left with N-1 copies of a begin symbol, so
 * every token has a full context and every lower-order gram a left neighbour.
 *
 * Storage: a k-gram of ids < 65534 packs into 16 bits per id (order <= 4),
 * one open-addressing table per order for gram statistics and one for context
 * sums. Memory: about 32 bytes per distinct gram of each order. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/eval.h"
#include "core/error.h"

#define KN_BOS 65534u
#define KN_EMPTY UINT64_MAX

typedef struct {
    uint64_t *keys;
    uint32_t *a, *b; /* gram: a = statistic; context: a = sum, b = distinct followers */
    size_t cap, n;
} kn_table;

struct bh_kn_lm {
    int order, vocab, finished;
    kn_table grams[BH_KN_MAX_ORDER + 1]; /* [k]: k-grams; [N] raw counts, [k<N] continuation counts */
    kn_table ctx[BH_KN_MAX_ORDER + 1];   /* [k]: (k-1)-gram contexts of order k (k >= 2) */
    double disc[BH_KN_MAX_ORDER + 1];
    double uni_total, uni_types;
};

static uint64_t kn_hash(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void kn_table_free(kn_table *t)
{
    free(t->keys);
    free(t->a);
    free(t->b);
    memset(t, 0, sizeof *t);
}

/* t is overwritten, not freed; on failure it is left empty, holding nothing. */
static bh_status kn_table_init(kn_table *t, size_t cap)
{
    t->keys = malloc(cap * sizeof *t->keys);
    t->a = calloc(cap, sizeof *t->a);
    t->b = calloc(cap, sizeof *t->b);
    if (!t->keys || !t->a || !t->b) {
        kn_table_free(t);
        return bh__fail(BH_ENOMEM, "kn_lm: cannot allocate a table of %zu entries", cap);
    }
    memset(t->keys, 0xff, cap * sizeof *t->keys);
    t->cap = cap;
    t->n = 0;
    return BH_OK;
}

/* Slot of key, or the empty slot where it would go. cap is a power of 2. */
static size_t kn_slot(const kn_table *t, uint64_t key)
{
    size_t mask = t->cap - 1, i = (size_t)kn_hash(key) & mask;
    while (t->keys[i] != KN_EMPTY && t->keys[i] != key) i = (i + 1) & mask;
    return i;
}

static bh_status kn_grow(kn_table *t)
{
    kn_table nt;
    bh_status st = kn_table_init(&nt, t->cap ? t->cap * 2 : 1024);
    if (st) return st;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->keys[i] == KN_EMPTY) continue;
        size_t j = kn_slot(&nt, t->keys[i]);
        nt.keys[j] = t->keys[i];
        nt.a[j] = t->a[i];
        nt.b[j] = t->b[i];
    }
    nt.n = t->n;
    kn_table_free(t);
    *t = nt;
    return BH_OK;
}

/* Finds or inserts key; *slot is its index. */
static bh_status kn_upsert(kn_table *t, uint64_t key, size_t *slot)
{
    if ((t->n + 1) * 4 > t->cap * 3) {
        bh_status st = kn_grow(t);
        if (st) return st;
    }
    size_t i = kn_slot(t, key);
    if (t->keys[i] == KN_EMPTY) {
        t->keys[i] = key;
        t->n++;
    }
    *slot = i;
    return BH_OK;
}

static int kn_find(const kn_table *t, uint64_t key, size_t *slot)
{
    if (!t->cap) return 0;
    size_t i = kn_slot(t, key);
    if (t->keys[i] == KN_EMPTY) return 0;
    *slot = i;
    return 1;
}

/* Packs ids g[0..k) (oldest first) into one key. */
static uint64_t kn_pack(const uint32_t *g, int k)
{
    uint64_t key = 0;
    for (int i = 0; i < k; i++) key = (key << 16) | g[i];
    return key;
}

bh_status bh_kn_lm_new(int order, int vocab, bh_kn_lm **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_kn_lm_new: NULL argument");
    *out = NULL;
    if (order < 1 || order > BH_KN_MAX_ORDER)
        return bh__fail(BH_EINVAL, "bh_kn_lm_new: order %d outside [1, %d]", order, BH_KN_MAX_ORDER);
    if (vocab < 1 || vocab >= (int)KN_BOS)
        return bh__fail(BH_EINVAL, "bh_kn_lm_new: vocabulary size %d outside [1, %u)", vocab, KN_BOS);
    bh_kn_lm *lm = calloc(1, sizeof *lm);
    if (!lm) return bh__fail(BH_ENOMEM, "out of memory");
    lm->order = order;
    lm->vocab = vocab;
    *out = lm;
    return BH_OK;
}

void bh_kn_lm_free(bh_kn_lm *lm)
{
    if (!lm) return;
    for (int k = 0; k <= BH_KN_MAX_ORDER; k++) {
        kn_table_free(&lm->grams[k]);
        kn_table_free(&lm->ctx[k]);
    }
    free(lm);
}

bh_status bh_kn_lm_add(bh_kn_lm *lm, const int32_t *ids, size_t n)
{
    if (!lm || (n && !ids)) return bh__fail(BH_EINVAL, "bh_kn_lm_add: NULL argument");
    if (lm->finished) return bh__fail(BH_EINVAL, "bh_kn_lm_add: the model is already finished");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= lm->vocab)
            return bh__fail(BH_EINVAL, "bh_kn_lm_add: token id %d outside [0, %d)", ids[i], lm->vocab);
    int N = lm->order;
    uint32_t g[BH_KN_MAX_ORDER];
    for (size_t i = 0; i < n; i++) {
        /* the N-gram ending at i, begin symbols before the document */
        for (int j = 0; j < N; j++) {
            long p = (long)i - (N - 1) + j;
            g[j] = p < 0 ? KN_BOS : (uint32_t)ids[p];
        }
        size_t s;
        bh_status st = kn_upsert(&lm->grams[N], kn_pack(g, N), &s);
        if (st) return st;
        if (lm->grams[N].a[s] == UINT32_MAX) return bh__fail(BH_ELIMIT, "bh_kn_lm_add: count overflow");
        lm->grams[N].a[s]++;
    }
    return BH_OK;
}

/* Adds every entry of grams[k] (k-gram key, statistic a) to its context
 * table ctx[k] and counts n1/n2 for the discount. */
static bh_status kn_contexts(bh_kn_lm *lm, int k)
{
    kn_table *gt = &lm->grams[k];
    double n1 = 0, n2 = 0;
    if (k >= 2) {
        bh_status st = kn_table_init(&lm->ctx[k], 1024);
        if (st) return st;
    }
    for (size_t i = 0; i < gt->cap; i++) {
        if (gt->keys[i] == KN_EMPTY) continue;
        uint32_t c = gt->a[i];
        n1 += c == 1;
        n2 += c == 2;
        if (k >= 2) {
            size_t s;
            bh_status st = kn_upsert(&lm->ctx[k], gt->keys[i] >> 16, &s);
            if (st) return st;
            /* 32-bit sums keep the table small; only a corpus with over 4G
             * tokens after one context reaches the limit */
            if (c > UINT32_MAX - lm->ctx[k].a[s])
                return bh__fail(BH_ELIMIT, "bh_kn_lm_finish: more than %u counts follow one context of order %d",
                                UINT32_MAX, k);
            lm->ctx[k].a[s] += c;
            lm->ctx[k].b[s]++;
        } else {
            lm->uni_total += c;
            lm->uni_types++;
        }
    }
    /* no gram seen once or twice (tiny data): a middle-of-the-road discount */
    lm->disc[k] = n1 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
    return BH_OK;
}

/* Drops everything finish derives from the raw top-order counts. */
static void kn_clear_derived(bh_kn_lm *lm)
{
    for (int k = 0; k <= BH_KN_MAX_ORDER; k++) {
        if (k != lm->order) kn_table_free(&lm->grams[k]);
        kn_table_free(&lm->ctx[k]);
        lm->disc[k] = 0;
    }
    lm->uni_total = lm->uni_types = 0;
}

static bh_status kn_derive(bh_kn_lm *lm)
{
    int N = lm->order;
    /* continuation counts, top down: each distinct (k+1)-gram x.g adds one
     * left neighbour to its suffix k-gram g */
    for (int k = N - 1; k >= 1; k--) {
        kn_table *hi = &lm->grams[k + 1];
        bh_status st = kn_table_init(&lm->grams[k], 1024);
        if (st) return st;
        uint64_t mask = k == 4 ? UINT64_MAX : (((uint64_t)1 << (16 * k)) - 1);
        for (size_t i = 0; i < hi->cap; i++) {
            if (hi->keys[i] == KN_EMPTY) continue;
            size_t s;
            if ((st = kn_upsert(&lm->grams[k], hi->keys[i] & mask, &s))) return st;
            lm->grams[k].a[s]++;
        }
    }
    for (int k = 1; k <= N; k++) {
        bh_status st = kn_contexts(lm, k);
        if (st) return st;
    }
    return BH_OK;
}

bh_status bh_kn_lm_finish(bh_kn_lm *lm)
{
    if (!lm) return bh__fail(BH_EINVAL, "bh_kn_lm_finish: NULL argument");
    if (lm->finished) return BH_OK;
    if (!lm->grams[lm->order].n) return bh__fail(BH_EINVAL, "bh_kn_lm_finish: no training tokens");
    /* the derived tables and sums accumulate, so a call after a failed one
     * (out of memory part-way) must not build on what that one left */
    kn_clear_derived(lm);
    bh_status st = kn_derive(lm);
    /* and a failure gives its memory back at once, not at bh_kn_lm_free */
    if (st) kn_clear_derived(lm);
    else lm->finished = 1;
    return st;
}

bh_status bh_kn_lm_logprob(const bh_kn_lm *lm, const int32_t *ctx, size_t nctx, int32_t w, double *out)
{
    if (!lm || !out || (nctx && !ctx)) return bh__fail(BH_EINVAL, "bh_kn_lm_logprob: NULL argument");
    if (!lm->finished) return bh__fail(BH_EINVAL, "bh_kn_lm_logprob: call bh_kn_lm_finish first");
    if (w < 0 || w >= lm->vocab)
        return bh__fail(BH_EINVAL, "bh_kn_lm_logprob: token id %d outside [0, %d)", w, lm->vocab);
    int N = lm->order;
    /* g = the last N-1 context ids (begin symbols where the context is
     * shorter), then w */
    uint32_t g[BH_KN_MAX_ORDER];
    for (int j = 0; j < N - 1; j++) {
        long p = (long)nctx - (N - 1) + j;
        if (p >= 0 && (ctx[p] < 0 || ctx[p] >= lm->vocab))
            return bh__fail(BH_EINVAL, "bh_kn_lm_logprob: context id %d outside [0, %d)", ctx[p], lm->vocab);
        g[j] = p < 0 ? KN_BOS : (uint32_t)ctx[p];
    }
    g[N - 1] = (uint32_t)w;
    size_t s;
    double d = lm->disc[1], c = kn_find(&lm->grams[1], (uint64_t)(uint32_t)w, &s) ? lm->grams[1].a[s] : 0;
    double p = (c > d ? c - d : 0) / lm->uni_total + d * lm->uni_types / lm->uni_total / lm->vocab;
    for (int k = 2; k <= N; k++) {
        const uint32_t *gk = g + (N - k); /* the k-gram ending in w */
        if (!kn_find(&lm->ctx[k], kn_pack(gk, k - 1), &s)) continue;
        double sum = lm->ctx[k].a[s], types = lm->ctx[k].b[s];
        d = lm->disc[k];
        c = kn_find(&lm->grams[k], kn_pack(gk, k), &s) ? lm->grams[k].a[s] : 0;
        p = (c > d ? c - d : 0) / sum + d * types / sum * p;
    }
    *out = log(p);
    return BH_OK;
}

size_t bh_kn_lm_num_grams(const bh_kn_lm *lm, int k)
{
    return lm && k >= 1 && k <= lm->order ? lm->grams[k].n : 0;
}
