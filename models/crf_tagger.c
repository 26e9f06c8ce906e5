/* models/crf_tagger.c — the feature-based CRF tagger of include/bhasha/crf.h:
 * hashed sparse token features (models/ner_features.c) → per-label weights →
 * emissions [T, L] → bh_crf. Trained by AdaGrad on the CRF NLL, one sentence
 * per step, with L2 on the weights each step touches (lazy L2), in a seeded
 * shuffled order; decoded by constrained Viterbi.
 *
 * The tagger owns its training sentences (feature hashes and label ids), its
 * label names, the weights [2^bits, L], the CRF and its word cluster table
 * (optional). File format (little-endian as written by this machine):
 * "BHCRFTG1", u32 version (1, or 2 with word clusters), u32 hash_bits, u32 L,
 * L x (u32 length, bytes), L*L+2L float64 CRF parameters, 2^bits*L float32
 * weights, [version 2: u32 length, the clusters' text form (bhasha/crf.h)],
 * u32 CRC-32 of everything before it. */
#include "bhasha/crf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "core/error.h"
#include "models/crf_tagger.h"
#include "models/ner_features.h"
#include "models/word_clusters.h"

_Static_assert(BH_CRF_NFEAT == BH__NER_NFEAT, "crf.h and ner_features.h disagree on the feature count");

#define K BH__NER_NFEAT
#define MAX_LABELS 256
#define MAX_LABEL_LEN 256 /* bytes of a label name; the file format's bound */

struct bh_crf_tagger {
    size_t L;
    char *labels[MAX_LABELS];
    int bits;          /* 0 until trained or loaded */
    float *w;          /* [2^bits, L] */
    bh_crf *crf;
    bh_word_clusters *wc; /* NULL: no cluster features */
    /* training sentences */
    uint32_t *feats;   /* [ntok, K] */
    int32_t *tags;     /* [ntok] */
    size_t *lens;      /* [nsent] */
    size_t ntok, nsent, tokcap, sentcap;
};

bh_status bh_crf_tagger_new(bh_crf_tagger **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_crf_tagger_new: NULL out");
    *out = calloc(1, sizeof **out);
    return *out ? BH_OK : bh__fail(BH_ENOMEM, "bh_crf_tagger_new");
}

void bh_crf_tagger_free(bh_crf_tagger *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->L; i++) free(t->labels[i]);
    free(t->w);
    bh_crf_free(t->crf);
    bh_word_clusters_free(t->wc);
    free(t->feats);
    free(t->tags);
    free(t->lens);
    free(t);
}

size_t bh_crf_tagger_n_labels(const bh_crf_tagger *t) { return t ? t->L : 0; }

bh_status bh__crf_tagger_parts(const bh_crf_tagger *t, int *bits, const float **w, const double **crf)
{
    if (!t || !bits || !w || !crf) return bh__fail(BH_EINVAL, "bh__crf_tagger_parts: NULL argument");
    if (!t->bits || !t->crf) return bh__fail(BH_EINVAL, "the CRF tagger is not trained");
    *bits = t->bits;
    *w = t->w;
    *crf = bh_crf_params(t->crf);
    return BH_OK;
}

bh_status bh_crf_tagger_set_clusters(bh_crf_tagger *t, bh_word_clusters *wc)
{
    if (!t || !wc) return bh__fail(BH_EINVAL, "bh_crf_tagger_set_clusters: NULL argument");
    if (t->wc || t->nsent || t->bits)
        return bh__fail(BH_EINVAL, "bh_crf_tagger_set_clusters: the tagger has clusters, sentences or weights already");
    t->wc = wc;
    return BH_OK;
}

const bh_word_clusters *bh_crf_tagger_clusters(const bh_crf_tagger *t) { return t ? t->wc : NULL; }

bh_status bh_crf_word_features(const char *const *words, size_t n, const bh_word_clusters *wc, uint32_t *out)
{
    if (n && (!words || !out)) return bh__fail(BH_EINVAL, "bh_crf_word_features: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!words[i]) return bh__fail(BH_EINVAL, "bh_crf_word_features: word %zu is NULL", i);
    return n ? bh__ner_features(words, n, wc, out) : BH_OK;
}

const char *bh_crf_tagger_label(const bh_crf_tagger *t, size_t i) { return t && i < t->L ? t->labels[i] : NULL; }

static int label_id(const bh_crf_tagger *t, const char *s)
{
    for (size_t i = 0; i < t->L; i++)
        if (!strcmp(t->labels[i], s)) return (int)i;
    return -1;
}

/* "B-X" → 'B' and "X"; returns 0 for "O" or an unprefixed type, -1 malformed. */
static int split_tag(const char *s, char *p, const char **type)
{
    const char *dash = strchr(s, '-');
    *p = 0;
    *type = s;
    if (!*s) return -1;
    if (!dash) return 0;
    if (dash != s + 1 || !strchr("BIESLU", s[0]) || !dash[1]) return -1;
    *p = s[0] == 'L' ? 'E' : s[0];
    *type = dash + 1;
    return 0;
}

bh_status bh_crf_tagger_add(bh_crf_tagger *t, const char *const *tokens, const char *const *tags, size_t n)
{
    if (!t || !tokens || !tags) return bh__fail(BH_EINVAL, "bh_crf_tagger_add: NULL argument");
    if (n == 0) return bh__fail(BH_EINVAL, "bh_crf_tagger_add: empty sentence");
    if (t->bits) return bh__fail(BH_EINVAL, "bh_crf_tagger_add: the tagger is already trained");
    /* check the tags: well-formed, and continuation tags only after their entity */
    for (size_t i = 0; i < n; i++) {
        char p, q;
        const char *ty, *pty;
        if (!tags[i] || !tokens[i]) return bh__fail(BH_EINVAL, "bh_crf_tagger_add: NULL token or tag %zu", i);
        if (strlen(tags[i]) > MAX_LABEL_LEN)
            return bh__fail(BH_ELIMIT, "bh_crf_tagger_add: tag %zu \"%.40s...\" is longer than %d bytes", i, tags[i],
                            MAX_LABEL_LEN);
        if (split_tag(tags[i], &p, &ty)) return bh__fail(BH_EFORMAT, "bh_crf_tagger_add: tag %zu \"%.40s\" is malformed", i, tags[i]);
        if (p == 'I' || p == 'E') {
            int ok = i > 0 && !split_tag(tags[i - 1], &q, &pty) && (q == 'B' || q == 'I') && !strcmp(ty, pty);
            if (!ok)
                return bh__fail(BH_EINVAL, "bh_crf_tagger_add: tag %zu \"%.40s\" continues no entity (convert to BIO first)", i,
                                tags[i]);
        }
    }
    /* labels this sentence brings are dropped again if it is refused: a label
     * without a sentence would still shape the CRF's mask and take a slot */
    size_t L0 = t->L;
    bh_status st = BH_OK;
    int32_t *ids = malloc(n * sizeof *ids);
    if (!ids) return bh__fail(BH_ENOMEM, "bh_crf_tagger_add");
    for (size_t i = 0; i < n; i++) {
        int id = label_id(t, tags[i]);
        if (id < 0) {
            if (t->L == MAX_LABELS) {
                st = bh__fail(BH_ELIMIT, "bh_crf_tagger_add: more than %d labels", MAX_LABELS);
                goto done;
            }
            if (!(t->labels[t->L] = strdup(tags[i]))) {
                st = bh__fail(BH_ENOMEM, "bh_crf_tagger_add");
                goto done;
            }
            id = (int)t->L++;
        }
        ids[i] = id;
    }
    if (t->ntok + n > t->tokcap) {
        size_t cap = t->tokcap ? t->tokcap : 4096;
        while (cap < t->ntok + n) cap *= 2;
        uint32_t *f = realloc(t->feats, cap * K * sizeof *f);
        if (f) t->feats = f;
        int32_t *g = f ? realloc(t->tags, cap * sizeof *g) : NULL;
        if (g) t->tags = g;
        if (!f || !g) {
            st = bh__fail(BH_ENOMEM, "bh_crf_tagger_add: %zu tokens", cap);
            goto done;
        }
        t->tokcap = cap;
    }
    if (t->nsent == t->sentcap) {
        size_t cap = t->sentcap ? 2 * t->sentcap : 256;
        size_t *l = realloc(t->lens, cap * sizeof *l);
        if (!l) {
            st = bh__fail(BH_ENOMEM, "bh_crf_tagger_add");
            goto done;
        }
        t->lens = l;
        t->sentcap = cap;
    }
    if ((st = bh__ner_features(tokens, n, t->wc, t->feats + t->ntok * K))) goto done;
    memcpy(t->tags + t->ntok, ids, n * sizeof *ids);
    t->ntok += n;
    t->lens[t->nsent++] = n;
done:
    free(ids);
    while (st && t->L > L0) free(t->labels[--t->L]);
    return st;
}

/* Emissions e[T, L] = sum over the token's features of the bucket's weights. */
static void emissions(const float *w, uint32_t mask, size_t L, const uint32_t *f, size_t T, double *e)
{
    for (size_t t = 0; t < T; t++) {
        double *row = e + t * L;
        for (size_t j = 0; j < L; j++) row[j] = 0;
        for (size_t k = 0; k < K; k++) {
            if (f[t * K + k] == BH_CRF_NOFEAT) continue;
            const float *wr = w + (size_t)(f[t * K + k] & mask) * L;
            for (size_t j = 0; j < L; j++) row[j] += wr[j];
        }
    }
}

static uint64_t next_rand(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One training run of o->epochs passes from the tagger's current weights (t->w
 * and the CRF's parameters), shuffled by seed. Epochs are reported to the
 * progress callback as run * epochs + epoch of runs * epochs, with the seconds
 * since t0; *stopped is set when it asks to stop. */
static bh_status train_run(bh_crf_tagger *t, const bh_crf_tagger_options *opt, uint64_t seed, int run, int runs,
                           double t0, int *stopped)
{
    bh_crf_tagger_options o = *opt;
    int epochs = o.epochs > 0 ? o.epochs : 5;
    double lr = o.lr > 0 ? o.lr : 0.1, l2 = o.l2 == 0 ? 1e-6 : o.l2 < 0 ? 0 : o.l2;
    size_t L = t->L, H = (size_t)1 << t->bits, np = L * L + 2 * L, T = 0;
    uint32_t hmask = (uint32_t)(H - 1);
    bh_status st = BH_OK;
    int avg = !o.no_average;
    float *raw = NULL, *G = NULL;
    double *U = NULL, *Praw = NULL, *Up = NULL, *Gp = NULL, *dp = NULL, *e = NULL, *de = NULL;
    size_t *order = NULL, *start = NULL;
    for (size_t s = 0; s < t->nsent; s++)
        if (t->lens[s] > T) T = t->lens[s];
    /* Training runs on raw weights (the tagger's w holds their running average,
     * refreshed after each epoch). Averaging uses the lazy form
     * avg = raw - U / c with U += c * update at step c, so a step costs only
     * the weights it touches. */
    raw = avg ? malloc(H * L * sizeof *raw) : t->w;
    U = avg ? calloc(H * L, sizeof *U) : NULL;
    Praw = avg ? malloc(np * sizeof *Praw) : NULL, Up = avg ? calloc(np, sizeof *Up) : NULL;
    G = calloc(H * L, sizeof *G);   /* AdaGrad accumulators of w */
    Gp = calloc(np, sizeof *Gp);    /* ... of the CRF parameters */
    dp = malloc(np * sizeof *dp);
    e = malloc(T * L * sizeof *e), de = malloc(T * L * sizeof *de);
    order = malloc(t->nsent * sizeof *order), start = malloc(t->nsent * sizeof *start);
    if (!G || !Gp || !dp || !e || !de || !order || !start || !raw || (avg && (!U || !Praw || !Up))) {
        st = bh__fail(BH_ENOMEM, "bh_crf_tagger_train");
        goto done;
    }
    for (size_t s = 0, off = 0; s < t->nsent; s++) {
        order[s] = s;
        start[s] = off;
        off += t->lens[s];
    }
    uint64_t rs = seed;
    double c = 0; /* steps taken so far */
    double *P = avg ? Praw : bh_crf_params(t->crf);
    if (avg) {
        memcpy(raw, t->w, H * L * sizeof *raw);
        memcpy(Praw, bh_crf_params(t->crf), np * sizeof *Praw);
    }
    for (int ep = 1; ep <= epochs; ep++) {
        for (size_t s = t->nsent; s > 1; s--) {
            size_t j = (size_t)(next_rand(&rs) % s);
            size_t x = order[s - 1];
            order[s - 1] = order[j];
            order[j] = x;
        }
        double total = 0;
        for (size_t q = 0; q < t->nsent; q++) {
            size_t s = order[q], n = t->lens[s];
            const uint32_t *f = t->feats + start[s] * K;
            const int32_t *y = t->tags + start[s];
            emissions(raw, hmask, L, f, n, e);
            memset(dp, 0, np * sizeof *dp);
            double nll;
            if ((st = bh_crf_nll(t->crf, e, n, L, &n, 1, y, &nll, de, dp))) goto done;
            total += nll;
            for (size_t i = 0; i < n; i++) {
                const double *g = de + i * L;
                for (size_t k = 0; k < K; k++) {
                    if (f[i * K + k] == BH_CRF_NOFEAT) continue;
                    size_t row = (size_t)(f[i * K + k] & hmask) * L;
                    float *wr = raw + row, *gr = G + row;
                    for (size_t j = 0; j < L; j++) {
                        double gj = g[j] + l2 * wr[j];
                        gr[j] += (float)(gj * gj);
                        double step = lr * gj / (sqrt((double)gr[j]) + 1e-8);
                        wr[j] -= (float)step;
                        if (U) U[row + j] -= c * step;
                    }
                }
            }
            for (size_t i = 0; i < np; i++) {
                if (dp[i] == 0) continue;
                Gp[i] += dp[i] * dp[i];
                double step = lr * dp[i] / (sqrt(Gp[i]) + 1e-8);
                P[i] -= step;
                if (Up) Up[i] -= c * step;
            }
            c++;
        }
        if (avg) {
            double *Pt = bh_crf_params(t->crf);
            for (size_t i = 0; i < H * L; i++) t->w[i] = (float)(raw[i] - U[i] / c);
            for (size_t i = 0; i < np; i++) Pt[i] = Praw[i] - Up[i] / c;
        }
        double loss = total / (double)t->nsent;
        if (!isfinite(loss)) {
            st = bh__fail(BH_ENUMERIC, "bh_crf_tagger_train: loss is %g in epoch %d", loss, ep);
            goto done;
        }
        if (o.progress && o.progress(o.ctx, run * epochs + ep, runs * epochs, loss, now() - t0)) {
            *stopped = 1;
            break;
        }
    }
done:
    if (avg) free(raw);
    free(U);
    free(Praw);
    free(Up);
    free(G);
    free(Gp);
    free(dp);
    free(e);
    free(de);
    free(order);
    free(start);
    return st;
}

bh_status bh_crf_tagger_train(bh_crf_tagger *t, const bh_crf_tagger_options *opt)
{
    if (!t) return bh__fail(BH_EINVAL, "bh_crf_tagger_train: NULL tagger");
    if (!t->nsent) return bh__fail(BH_EINVAL, "bh_crf_tagger_train: no training sentences");
    bh_crf_tagger_options o = {0};
    if (opt) o = *opt;
    int bits = o.hash_bits ? o.hash_bits : 18;
    if (bits < 12 || bits > 24) return bh__fail(BH_EINVAL, "bh_crf_tagger_train: hash_bits %d (12..24)", bits);
    if (t->bits && t->bits != bits)
        return bh__fail(BH_EINVAL, "bh_crf_tagger_train: trained with hash_bits %d, asked %d", t->bits, bits);
    if (o.runs < 0 || o.runs > 1000) return bh__fail(BH_EINVAL, "bh_crf_tagger_train: runs %d (0..1000)", o.runs);
    int runs = o.runs > 1 ? o.runs : 1, stopped = 0;
    size_t L = t->L, H = (size_t)1 << bits, np = L * L + 2 * L;
    bh_status st = BH_OK;
    float *w0 = NULL, *wm = NULL;
    double *P = NULL, *P0 = NULL, *Pm = NULL;
    /* A first training that fails makes the tagger untrained again (see done):
     * a CRF without weights, or weights no step has made, must not pass for a
     * trained model. */
    int fresh = !t->crf;
    if (fresh) {
        if ((st = bh_crf_new(L, &t->crf)) || (st = bh_crf_mask_tags(t->crf, (const char *const *)t->labels, L)))
            goto done;
        if (!(t->w = calloc(H * L, sizeof *t->w))) {
            st = bh__fail(BH_ENOMEM, "bh_crf_tagger_train: %zu weights", H * L);
            goto done;
        }
        t->bits = bits;
    }
    if (runs == 1) {
        st = train_run(t, &o, o.seed, 0, 1, now(), &stopped);
        goto done;
    }
    /* Several runs from the same start in different orders, their final
     * weights averaged: one model of the same size, with less of the noise
     * that the order of the updates leaves in a single run. w0/P0: the start;
     * wm/Pm: the running mean. */
    P = bh_crf_params(t->crf);
    w0 = malloc(H * L * sizeof *w0), wm = malloc(H * L * sizeof *wm);
    P0 = malloc(np * sizeof *P0), Pm = malloc(np * sizeof *Pm);
    if (!w0 || !wm || !P0 || !Pm) {
        st = bh__fail(BH_ENOMEM, "bh_crf_tagger_train: %d runs of %zu weights", runs, H * L);
        goto done;
    }
    memcpy(w0, t->w, H * L * sizeof *w0);
    memcpy(P0, P, np * sizeof *P0);
    int done_runs = 0;
    double t0 = now();
    for (int r = 0; r < runs && !stopped; r++) {
        memcpy(t->w, w0, H * L * sizeof *w0);
        memcpy(P, P0, np * sizeof *P0);
        if ((st = train_run(t, &o, o.seed + (uint64_t)r, r, runs, t0, &stopped))) break;
        done_runs++;
        for (size_t i = 0; i < H * L; i++) wm[i] = r ? wm[i] + (t->w[i] - wm[i]) / (float)done_runs : t->w[i];
        for (size_t i = 0; i < np; i++) Pm[i] = r ? Pm[i] + (P[i] - Pm[i]) / done_runs : P[i];
    }
    /* a failed run leaves the weights as they were before this call */
    memcpy(t->w, st ? w0 : wm, H * L * sizeof *w0);
    memcpy(P, st ? P0 : Pm, np * sizeof *P0);
done:
    if (st && fresh) {
        bh_crf_free(t->crf);
        t->crf = NULL;
        free(t->w);
        t->w = NULL;
        t->bits = 0;
    }
    free(w0);
    free(wm);
    free(P0);
    free(Pm);
    return st;
}

bh_status bh_crf_tagger_tag(const bh_crf_tagger *t, const char *const *tokens, size_t n, const char **tags)
{
    if (!t) return bh__fail(BH_EINVAL, "bh_crf_tagger_tag: NULL tagger");
    if (!t->bits || !t->crf) return bh__fail(BH_EINVAL, "bh_crf_tagger_tag: the tagger is not trained");
    if (n == 0) return BH_OK;
    if (!tokens || !tags) return bh__fail(BH_EINVAL, "bh_crf_tagger_tag: NULL argument");
    size_t L = t->L;
    uint32_t *f = malloc(n * K * sizeof *f);
    double *e = malloc(n * L * sizeof *e);
    int32_t *path = malloc(n * sizeof *path);
    bh_status st = BH_OK;
    if (!f || !e || !path) {
        st = bh__fail(BH_ENOMEM, "bh_crf_tagger_tag: %zu tokens", n);
        goto done;
    }
    if ((st = bh__ner_features(tokens, n, t->wc, f))) goto done;
    emissions(t->w, (uint32_t)(((size_t)1 << t->bits) - 1), L, f, n, e);
    if ((st = bh_crf_viterbi(t->crf, e, n, L, &n, 1, path, NULL))) goto done;
    for (size_t i = 0; i < n; i++) tags[i] = t->labels[path[i]];
done:
    free(f);
    free(e);
    free(path);
    return st;
}

/* ---- save / load ---------------------------------------------------------- */

static const char MAGIC[8] = {'B', 'H', 'C', 'R', 'F', 'T', 'G', '1'};

typedef struct {
    FILE *f;
    uLong crc;
    int err;
} wr;

static void put(wr *w, const void *p, size_t n)
{
    if (w->err) return;
    if (fwrite(p, 1, n, w->f) != n) w->err = 1;
    w->crc = crc32(w->crc, p, (uInt)n);
}

static void put_big(wr *w, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        size_t k = n < (1u << 30) ? n : (1u << 30);
        put(w, c, k);
        c += k;
        n -= k;
    }
}

bh_status bh_crf_tagger_save(const bh_crf_tagger *t, const char *path)
{
    if (!t || !path) return bh__fail(BH_EINVAL, "bh_crf_tagger_save: NULL argument");
    if (!t->bits || !t->crf) return bh__fail(BH_EINVAL, "bh_crf_tagger_save: the tagger is not trained");
    wr w = {fopen(path, "wb"), crc32(0, NULL, 0), 0};
    if (!w.f) return bh__fail(BH_EIO, "cannot write %s", path);
    uint32_t hdr[3] = {t->wc ? 2 : 1, (uint32_t)t->bits, (uint32_t)t->L};
    put(&w, MAGIC, 8);
    put(&w, hdr, sizeof hdr);
    for (size_t i = 0; i < t->L; i++) {
        uint32_t n = (uint32_t)strlen(t->labels[i]);
        put(&w, &n, 4);
        put(&w, t->labels[i], n);
    }
    put_big(&w, bh_crf_params(t->crf), bh_crf_n_params(t->crf) * sizeof(double));
    put_big(&w, t->w, ((size_t)1 << t->bits) * t->L * sizeof(float));
    if (t->wc) {
        size_t n;
        const char *text = bh__wc_text(t->wc, &n);
        uint32_t n32 = (uint32_t)n;
        put(&w, &n32, 4);
        put_big(&w, text, n);
    }
    uint32_t crc = (uint32_t)w.crc;
    put(&w, &crc, 4);
    if (fclose(w.f) != 0) w.err = 1;
    return w.err ? bh__fail(BH_EIO, "writing %s failed", path) : BH_OK;
}

typedef struct {
    FILE *f;
    uLong crc;
} rd;

/* Bytes of r's file after the read position, or UINT64_MAX when it is not a
 * regular file (its size unknown): what a length read from the file may
 * claim before anything is allocated for it. */
static uint64_t left(rd *r)
{
    struct stat sb;
    long pos = ftell(r->f);
    if (pos < 0 || fstat(fileno(r->f), &sb) != 0 || !S_ISREG(sb.st_mode)) return UINT64_MAX;
    return (uint64_t)sb.st_size > (uint64_t)pos ? (uint64_t)sb.st_size - (uint64_t)pos : 0;
}

static int get(rd *r, void *p, size_t n)
{
    char *c = p;
    size_t left = n;
    while (left) {
        size_t k = left < (1u << 30) ? left : (1u << 30);
        if (fread(c, 1, k, r->f) != k) return -1;
        r->crc = crc32(r->crc, (const Bytef *)c, (uInt)k);
        c += k;
        left -= k;
    }
    return 0;
}

bh_status bh_crf_tagger_load(const char *path, bh_crf_tagger **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_crf_tagger_load: NULL argument");
    *out = NULL;
    rd r = {fopen(path, "rb"), crc32(0, NULL, 0)};
    if (!r.f) return bh__fail(BH_EIO, "cannot open %s", path);
    bh_crf_tagger *t = NULL;
    bh_status st = BH_OK;
    char magic[8];
    uint32_t hdr[3], crc;
    if (get(&r, magic, 8) || memcmp(magic, MAGIC, 8) || get(&r, hdr, sizeof hdr)) {
        st = bh__fail(BH_EFORMAT, "%s: not a bhasha CRF tagger file", path);
        goto done;
    }
    if ((hdr[0] != 1 && hdr[0] != 2) || hdr[1] < 12 || hdr[1] > 24 || hdr[2] < 1 || hdr[2] > MAX_LABELS) {
        st = bh__fail(BH_EFORMAT, "%s: bad header (version %u, hash bits %u, %u labels)", path, hdr[0], hdr[1], hdr[2]);
        goto done;
    }
    if ((st = bh_crf_tagger_new(&t))) goto done;
    for (uint32_t i = 0; i < hdr[2]; i++) {
        uint32_t n;
        if (get(&r, &n, 4) || n == 0 || n > MAX_LABEL_LEN) {
            st = bh__fail(BH_EFORMAT, "%s: bad label %u", path, i);
            goto done;
        }
        char *s = malloc(n + 1);
        if (!s) {
            st = bh__fail(BH_ENOMEM, "bh_crf_tagger_load");
            goto done;
        }
        t->labels[t->L++] = s;
        if (get(&r, s, n) || memchr(s, 0, n)) {
            st = bh__fail(BH_EFORMAT, "%s: bad label %u", path, i);
            goto done;
        }
        s[n] = 0;
    }
    size_t L = t->L, H = (size_t)1 << hdr[1];
    if ((st = bh_crf_new(L, &t->crf))) goto done;
    if ((st = bh_crf_mask_tags(t->crf, (const char *const *)t->labels, L))) {
        char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
        snprintf(detail, sizeof detail, "%s", bh_last_error());
        st = bh__fail(BH_EFORMAT, "%s: bad label set (%s)", path, detail);
        goto done;
    }
    /* the weights (up to 2^24 x 256: 16 GiB) must be in the file, with the
       checksum after them, before they are allocated */
    uint64_t need = (uint64_t)bh_crf_n_params(t->crf) * sizeof(double) + (uint64_t)H * L * sizeof *t->w + 4;
    if (left(&r) < need) {
        st = bh__fail(BH_EFORMAT, "%s: truncated (%zu labels and 2^%u hash rows need %llu more bytes)", path, L,
                      hdr[1], (unsigned long long)need);
        goto done;
    }
    t->w = malloc(H * L * sizeof *t->w);
    if (!t->w) {
        st = bh__fail(BH_ENOMEM, "bh_crf_tagger_load: %zu weights", H * L);
        goto done;
    }
    if (get(&r, bh_crf_params(t->crf), bh_crf_n_params(t->crf) * sizeof(double)) ||
        get(&r, t->w, H * L * sizeof *t->w)) {
        st = bh__fail(BH_EFORMAT, "%s: truncated", path);
        goto done;
    }
    if (hdr[0] == 2) { /* the word clusters' text */
        uint32_t n;
        char *text = NULL;
        if (get(&r, &n, 4) || n > (1u << 28) || left(&r) < (uint64_t)n + 4 || !(text = malloc((size_t)n + 1)) ||
            get(&r, text, n)) {
            free(text);
            st = bh__fail(BH_EFORMAT, "%s: truncated or oversized word clusters", path);
            goto done;
        }
        st = bh__wc_parse(text, n, path, &t->wc);
        free(text);
        if (st) goto done;
    }
    uLong want = r.crc;
    if (fread(&crc, 1, 4, r.f) != 4 || crc != (uint32_t)want || fgetc(r.f) != EOF) {
        st = bh__fail(BH_EFORMAT, "%s: checksum mismatch or trailing bytes (damaged file)", path);
        goto done;
    }
    const double *P = bh_crf_params(t->crf);
    for (size_t i = 0; i < bh_crf_n_params(t->crf); i++)
        if (!isfinite(P[i])) {
            st = bh__fail(BH_EFORMAT, "%s: CRF parameter %zu is not finite", path, i);
            goto done;
        }
    for (size_t i = 0; i < H * L; i++)
        if (!isfinite(t->w[i])) {
            st = bh__fail(BH_EFORMAT, "%s: weight %zu is not finite", path, i);
            goto done;
        }
    t->bits = (int)hdr[1];
done:
    fclose(r.f);
    if (st) {
        bh_crf_tagger_free(t);
        return st;
    }
    *out = t;
    return BH_OK;
}
