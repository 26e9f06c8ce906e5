/* pipeline/qa_data.c — cloze questions from raw text and the paragraph-
 * disjoint split of SQuAD files (see pipeline/qa_data.h). */
#include "pipeline/qa_data.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/corpus.h"
#include "bhasha/model.h" /* bh_rng_next */
#include "core/error.h"

void bh__cloze_options_default(bh__cloze_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->per_paragraph = 1;
    o->context_chars = 1000;
    o->stopwords = 300;
    o->min_sentences = 3;
    o->sample = 1.0;
    o->blank = "_____";
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV0 0xcbf29ce484222325ull

/* ------------------------------------------------------------- word counts */

typedef struct wtab {
    char **key;
    long *cnt;
    size_t cap, n;
} wtab;

static void wt_free(wtab *t)
{
    for (size_t i = 0; i < t->cap; i++) free(t->key ? t->key[i] : NULL);
    free(t->key);
    free(t->cnt);
    memset(t, 0, sizeof *t);
}

static size_t wt_slot(const wtab *t, const char *w, size_t n)
{
    size_t i = (size_t)fnv1a(w, n, FNV0) & (t->cap - 1);
    while (t->key[i] && (strlen(t->key[i]) != n || memcmp(t->key[i], w, n))) i = (i + 1) & (t->cap - 1);
    return i;
}

static bh_status wt_add(wtab *t, const char *w, size_t n)
{
    if (2 * (t->n + 1) > t->cap) {
        wtab g = {0};
        g.cap = t->cap ? 2 * t->cap : 1 << 16;
        g.key = calloc(g.cap, sizeof(char *));
        g.cnt = calloc(g.cap, sizeof(long));
        if (!g.key || !g.cnt) {
            free(g.key);
            free(g.cnt);
            return bh__fail(BH_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->key[i]) {
                size_t j = wt_slot(&g, t->key[i], strlen(t->key[i]));
                g.key[j] = t->key[i];
                g.cnt[j] = t->cnt[i];
            }
        g.n = t->n;
        free(t->key);
        free(t->cnt);
        *t = g;
    }
    size_t i = wt_slot(t, w, n);
    if (!t->key[i]) {
        if (!(t->key[i] = malloc(n + 1))) return bh__fail(BH_ENOMEM, "out of memory");
        memcpy(t->key[i], w, n);
        t->key[i][n] = 0;
        t->n++;
    }
    t->cnt[i]++;
    return BH_OK;
}

static long wt_get(const wtab *t, const char *w, size_t n)
{
    if (!t->cap) return 0;
    size_t i = wt_slot(t, w, n);
    return t->key[i] ? t->cnt[i] : 0;
}

/* A word and its count, for ranking: the most frequent first, ties by the
 * word's bytes, so that the `stopwords` most frequent words are exactly that
 * many whatever the hash table's order. */
typedef struct wcount {
    const char *w;
    long c;
} wcount;

static int cmp_wcount(const void *a, const void *b)
{
    const wcount *x = a, *y = b;
    return x->c < y->c ? 1 : x->c > y->c ? -1 : strcmp(x->w, y->w);
}

/* ----------------------------------------------------- sentences and words */

/* Length of a separator at s[0..n): white space, ASCII punctuation, or one
 * of । ॥ ‘ ’ “ ” – — … (UTF-8); 0 for a word byte. */
static int sep_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return (c <= ' ' || strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c)) ? 1 : 0;
    if (n >= 3 && c == 0xE0 && s[1] == 0xA5 && (s[2] == 0xA4 || s[2] == 0xA5)) return 3;
    if (n >= 3 && c == 0xE2 && s[1] == 0x80 && (s[2] == 0x98 || s[2] == 0x99 || s[2] == 0x9C || s[2] == 0x9D ||
                                               s[2] == 0x93 || s[2] == 0x94 || s[2] == 0xA6))
        return 3;
    if (n >= 2 && c == 0xC2 && s[1] == 0xA0) return 2; /* no-break space */
    return 0;
}

/* A sentence ends after . ? ! । ॥ followed by white space or the end. */
static size_t sent_end(const char *s, size_t i, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    while (i < n) {
        size_t k = 0;
        if (u[i] == '.' || u[i] == '?' || u[i] == '!') k = 1;
        else if (i + 2 < n && u[i] == 0xE0 && u[i + 1] == 0xA5 && (u[i + 2] == 0xA4 || u[i + 2] == 0xA5)) k = 3;
        if (k && (i + k == n || u[i + k] == ' ' || u[i + k] == '\t')) return i + k;
        i += k ? k : 1;
    }
    return n;
}

typedef struct span2 {
    size_t b, e;
} span2;

typedef struct para {
    span2 *sent;   /* [ns] bytes of each sentence, trimmed */
    int ns, scap;
    span2 *word;   /* [nw] */
    int *wsent;    /* [nw] sentence of each word */
    int *first;    /* [ns + 1] first word of each sentence */
    int nw, wcap;
} para;

static void para_free(para *p)
{
    free(p->sent);
    free(p->word);
    free(p->wsent);
    free(p->first);
    memset(p, 0, sizeof *p);
}

static bh_status para_cut(para *p, const char *s, size_t n)
{
    p->ns = p->nw = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
        if (i >= n) break;
        size_t e = sent_end(s, i, n), t = e;
        while (t > i && (s[t - 1] == ' ' || s[t - 1] == '\t' || s[t - 1] == '\r')) t--;
        if (p->ns == p->scap) {
            int nc = p->scap ? 2 * p->scap : 32;
            span2 *ns = realloc(p->sent, sizeof(span2) * (size_t)nc);
            if (!ns) return bh__fail(BH_ENOMEM, "out of memory");
            p->sent = ns;
            p->scap = nc;
        }
        p->sent[p->ns++] = (span2){i, t};
        i = e;
    }
    free(p->first);
    if (!(p->first = malloc(sizeof(int) * ((size_t)p->ns + 1)))) return bh__fail(BH_ENOMEM, "out of memory");
    const unsigned char *u = (const unsigned char *)s;
    for (int k = 0; k < p->ns; k++) {
        p->first[k] = p->nw;
        size_t j = p->sent[k].b, end = p->sent[k].e;
        while (j < end) {
            int l = sep_len(u + j, end - j);
            if (l) {
                j += (size_t)l;
                continue;
            }
            size_t w0 = j;
            while (j < end && !sep_len(u + j, end - j)) j++;
            if (p->nw == p->wcap) {
                int nc = p->wcap ? 2 * p->wcap : 256;
                span2 *nw = realloc(p->word, sizeof(span2) * (size_t)nc);
                if (nw) p->word = nw;
                int *nsn = nw ? realloc(p->wsent, sizeof(int) * (size_t)nc) : NULL;
                if (nsn) p->wsent = nsn;
                if (!nsn) return bh__fail(BH_ENOMEM, "out of memory");
                p->wcap = nc;
            }
            p->word[p->nw] = (span2){w0, j};
            p->wsent[p->nw++] = k;
        }
    }
    p->first[p->ns] = p->nw;
    return BH_OK;
}

static int has_digit(const char *s, size_t b, size_t e)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = b; i < e; i++) {
        if (u[i] >= '0' && u[i] <= '9') return 1;
        if (i + 2 < e && u[i] == 0xE0 && ((u[i + 1] == 0xA5 && u[i + 2] >= 0xA6 && u[i + 2] <= 0xAF) || /* ०-९ */
                                           (u[i + 1] == 0xA7 && u[i + 2] >= 0xA6 && u[i + 2] <= 0xAF)))  /* ০-৯ */
            return 1;
    }
    return 0;
}

static size_t cps(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* ---------------------------------------------------------------- cloze */

typedef struct cand {
    int w0, k;     /* words [w0, w0 + k) of the question sentence */
    int occ;       /* first word of the other occurrence */
    int weight;
} cand;

static int same_words(const char *s, const para *p, int a, int b, int k)
{
    for (int j = 0; j < k; j++) {
        const span2 *x = &p->word[a + j], *y = &p->word[b + j];
        if (x->e - x->b != y->e - y->b || memcmp(s + x->b, s + y->b, x->e - x->b)) return 0;
    }
    return 1;
}

static double unif(uint64_t *r) { return (double)(bh_rng_next(r) >> 11) / 9007199254740992.0; }

typedef struct gen {
    const bh__cloze_options *o;
    const wtab *stop; /* count 1: a stopword (one of the most frequent words) */
    cand *c;
    int ccap;
    bh_buf ctx, q, id;
    int (*emit)(void *, const bh__cloze_record *);
    void *ectx;
    bh__cloze_stats *st;
} gen;

static int is_stop(const gen *g, const char *s, const span2 *w)
{
    return wt_get(g->stop, s + w->b, w->e - w->b) > 0;
}

/* Questions of one paragraph s[0..n). */
static bh_status para_questions(gen *g, const char *s, size_t n, para *p, const char *fname, long line, uint64_t rng)
{
    const bh__cloze_options *o = g->o;
    bh_status st = para_cut(p, s, n);
    if (st || p->ns < o->min_sentences || p->ns < 2) return st;
    g->st->paragraphs++;
    /* sentences in random order */
    int *ord = malloc(sizeof(int) * (size_t)p->ns);
    if (!ord) return bh__fail(BH_ENOMEM, "out of memory");
    for (int i = 0; i < p->ns; i++) ord[i] = i;
    for (int i = p->ns - 1; i > 0; i--) {
        int j = (int)(bh_rng_next(&rng) % (uint64_t)(i + 1)), t = ord[i];
        ord[i] = ord[j];
        ord[j] = t;
    }
    int made = 0;
    for (int oi = 0; oi < p->ns && made < o->per_paragraph; oi++) {
        if (o->max_questions && g->st->questions >= o->max_questions) break;
        int si = ord[oi], nc = 0;
        long wsum = 0;
        for (int w0 = p->first[si]; w0 < p->first[si + 1]; w0++) {
            for (int k = 1; k <= 3 && w0 + k <= p->first[si + 1]; k++) {
                const span2 *last = &p->word[w0 + k - 1];
                int ok = 1;
                for (int j = 0; j < k && ok; j++) ok = !is_stop(g, s, &p->word[w0 + j]);
                /* words of a multi-word span are separated by one space */
                for (int j = 1; j < k && ok; j++) ok = p->word[w0 + j].b == p->word[w0 + j - 1].e + 1 && s[p->word[w0 + j].b - 1] == ' ';
                if (!ok) break; /* longer spans contain this one */
                int occ = -1;
                for (int x = 0; x + k <= p->nw && occ < 0; x++) {
                    if (p->wsent[x] == si || p->wsent[x + k - 1] != p->wsent[x]) continue;
                    if (same_words(s, p, w0, x, k)) occ = x;
                }
                if (occ < 0) continue;
                int wt = has_digit(s, p->word[w0].b, last->e) ? 3 : k > 1 ? 2 : 1;
                if (nc == g->ccap) {
                    int ncap = g->ccap ? 2 * g->ccap : 64;
                    cand *ncn = realloc(g->c, sizeof(cand) * (size_t)ncap);
                    if (!ncn) {
                        free(ord);
                        return bh__fail(BH_ENOMEM, "out of memory");
                    }
                    g->c = ncn;
                    g->ccap = ncap;
                }
                g->c[nc++] = (cand){w0, k, occ, wt};
                wsum += wt;
            }
        }
        if (!nc) continue;
        long r = (long)(bh_rng_next(&rng) % (uint64_t)wsum);
        int ci = 0;
        while (r >= g->c[ci].weight) r -= g->c[ci++].weight;
        cand c = g->c[ci];
        size_t ab = p->word[c.w0].b, ae = p->word[c.w0 + c.k - 1].e;
        size_t ob = p->word[c.occ].b, oe = p->word[c.occ + c.k - 1].e;
        int sj = p->wsent[c.occ];
        /* context: sentences around sj (without si) within the cap */
        int lo = sj, hi = sj;
        size_t len = cps(s + p->sent[sj].b, p->sent[sj].e - p->sent[sj].b);
        for (int grow = 1; grow;) {
            grow = 0;
            for (int side = 0; side < 2; side++) {
                int k = side ? hi + 1 : lo - 1;
                if (k == si) k += side ? 1 : -1;
                if (k < 0 || k >= p->ns) continue;
                size_t l = cps(s + p->sent[k].b, p->sent[k].e - p->sent[k].b) + 1;
                if (len + l > (size_t)o->context_chars) continue;
                len += l;
                if (side) hi = k;
                else lo = k;
                grow = 1;
            }
        }
        bh_buf_clear(&g->ctx);
        long astart = -1;
        for (int k = lo; k <= hi; k++) {
            if (k == si) continue;
            if (g->ctx.len && bh_buf_append(&g->ctx, " ", 1)) goto oom;
            if (k == sj) astart = (long)cps(g->ctx.data ? g->ctx.data : "", g->ctx.len) + (long)cps(s + p->sent[k].b, ob - p->sent[k].b);
            if (bh_buf_append(&g->ctx, s + p->sent[k].b, p->sent[k].e - p->sent[k].b)) goto oom;
        }
        bh_buf_clear(&g->q);
        const span2 *qs = &p->sent[si];
        if (bh_buf_append(&g->q, s + qs->b, ab - qs->b) || bh_buf_append(&g->q, o->blank, strlen(o->blank)) ||
            bh_buf_append(&g->q, s + ae, qs->e - ae))
            goto oom;
        char idb[64];
        int il = snprintf(idb, sizeof idb, ":%ld:%d", line, made);
        bh_buf_clear(&g->id);
        if (bh_buf_append(&g->id, fname, strlen(fname)) || bh_buf_append(&g->id, idb, (size_t)il) ||
            bh_buf_append(&g->id, "", 1))
            goto oom;
        /* answer text: the occurrence in the context (identical words, same bytes) */
        bh__cloze_record rec = {g->id.data, g->ctx.data, g->q.data, s + ob, g->ctx.len, g->q.len, oe - ob, astart};
        if (g->emit(g->ectx, &rec)) {
            free(ord);
            return bh__fail(BH_EIO, "cannot write the questions");
        }
        g->st->questions++;
        g->st->words += c.k;
        g->st->numeric += c.weight == 3;
        g->st->multiword += c.k > 1;
        made++;
    }
    free(ord);
    return BH_OK;
oom:
    free(ord);
    return bh__fail(BH_ENOMEM, "out of memory");
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bh_status open_text(const char *path, bh_corpus **r)
{
    bh_corpus_options co;
    memset(&co, 0, sizeof co);
    co.format = BH_CORPUS_TEXT;
    return bh_corpus_open(path, &co, r);
}

bh_status bh__cloze_generate(const char *const *files, int n, const bh__cloze_options *o,
                             int (*emit)(void *ctx, const bh__cloze_record *r), void *ctx, bh__cloze_stats *stats)
{
    if (!files || n < 1 || !o || !emit) return bh__fail(BH_EINVAL, "bh__cloze_generate: NULL argument");
    if (o->per_paragraph < 1 || o->context_chars < 1 || o->stopwords < 0 || o->max_questions < 0 ||
        !(o->sample > 0 && o->sample <= 1) || !o->blank || !o->blank[0])
        return bh__fail(BH_EINVAL, "cloze: an option is out of range");
    bh__cloze_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    wtab freq = {0};
    para p = {0};
    gen g = {0};
    bh_status st = BH_OK;
    bh_corpus_record rec;
    int k = 0;
    /* pass 1: word counts, for the stopwords */
    for (int f = 0; !st && f < n && o->stopwords; f++) {
        bh_corpus *r;
        if ((st = open_text(files[f], &r))) break;
        while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
            if ((st = para_cut(&p, rec.text, rec.text_len))) break;
            for (int w = 0; !st && w < p.nw; w++) st = wt_add(&freq, rec.text + p.word[w].b, p.word[w].e - p.word[w].b);
        }
        if (!st && k < 0) st = k;
        bh_corpus_free(r);
    }
    if (!st && o->stopwords && freq.n) {
        /* the counts become flags: 1 for the `stopwords` most frequent words, 0 for the rest */
        wcount *c = malloc(sizeof(wcount) * freq.n);
        if (!c) st = bh__fail(BH_ENOMEM, "out of memory");
        size_t m = 0;
        for (size_t i = 0; c && i < freq.cap; i++)
            if (freq.key[i]) c[m++] = (wcount){freq.key[i], freq.cnt[i]};
        if (c) qsort(c, m, sizeof(wcount), cmp_wcount);
        for (size_t i = 0; c && i < freq.cap; i++) freq.cnt[i] = 0;
        for (size_t i = 0; c && i < m && i < (size_t)o->stopwords; i++)
            freq.cnt[wt_slot(&freq, c[i].w, strlen(c[i].w))] = 1;
        free(c);
    }
    g.o = o;
    g.stop = &freq;
    g.emit = emit;
    g.ectx = ctx;
    g.st = stats;
    /* pass 2: questions */
    for (int f = 0; !st && f < n; f++) {
        if (o->max_questions && stats->questions >= o->max_questions) break;
        bh_corpus *r;
        if ((st = open_text(files[f], &r))) break;
        while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
            if (o->max_questions && stats->questions >= o->max_questions) break;
            uint64_t rng = (o->seed + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)f << 48) ^ (uint64_t)rec.line * 0xD1B54A32D192ED03ull;
            bh_rng_next(&rng);
            if (o->sample < 1 && unif(&rng) >= o->sample) continue;
            st = para_questions(&g, rec.text, rec.text_len, &p, base_name(files[f]), rec.line, rng);
        }
        if (!st && k < 0) st = k;
        bh_corpus_free(r);
    }
    wt_free(&freq);
    para_free(&p);
    free(g.c);
    bh_buf_free(&g.ctx);
    bh_buf_free(&g.q);
    bh_buf_free(&g.id);
    return st;
}

/* ---------------------------------------------------------------- split */

bh_status bh__squad_split(const char *in, const char *dev_out, const char *test_out, long counts[4])
{
    if (!in || !dev_out || !test_out) return bh__fail(BH_EINVAL, "bh__squad_split: NULL argument");
    json_error_t je;
    json_t *root = json_load_file(in, 0, &je);
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_decref(root);
        return bh__fail(BH_EFORMAT, "%s line %d: not SQuAD JSON (no \"data\" array)%s%s", in, je.line,
                        root ? "" : ": ", root ? "" : je.text);
    }
    json_t *out[2] = {json_object(), json_object()}, *arr[2] = {json_array(), json_array()};
    long cnt[4] = {0, 0, 0, 0};
    json_t *ver = json_object_get(root, "version");
    bh_status st = BH_OK;
    for (int h = 0; h < 2; h++)
        if (!out[h] || !arr[h] || (ver && json_object_set(out[h], "version", ver)) ||
            json_object_set(out[h], "data", arr[h]))
            st = bh__fail(BH_ENOMEM, "out of memory");
    size_t ai;
    json_t *art;
    json_array_foreach(data, ai, art) {
        if (st) break;
        json_t *paras = json_object_get(art, "paragraphs");
        if (!json_is_array(paras)) {
            st = bh__fail(BH_EFORMAT, "%s: article %zu has no \"paragraphs\" array", in, ai);
            break;
        }
        json_t *part[2] = {NULL, NULL};
        size_t pi;
        json_t *para;
        json_array_foreach(paras, pi, para) {
            char key[64];
            int kl = snprintf(key, sizeof key, "%zu/%zu", ai, pi);
            int h = (int)(fnv1a(key, (size_t)kl, FNV0) & 1); /* 0 = dev, 1 = test */
            if (!part[h] && (!(part[h] = json_deep_copy(art)) ||
                             json_object_set_new(part[h], "paragraphs", json_array()))) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
            if (json_array_append(json_object_get(part[h], "paragraphs"), para)) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
            cnt[2 * h]++;
            cnt[2 * h + 1] += (long)json_array_size(json_object_get(para, "qas"));
        }
        for (int h = 0; h < 2; h++)
            if (part[h] && !st && json_array_append(arr[h], part[h])) st = bh__fail(BH_ENOMEM, "out of memory");
        for (int h = 0; h < 2; h++) json_decref(part[h]);
    }
    const char *paths[2] = {dev_out, test_out};
    for (int h = 0; !st && h < 2; h++)
        if (json_dump_file(out[h], paths[h], JSON_PRESERVE_ORDER) != 0)
            st = bh__fail(BH_EIO, "cannot write %s", paths[h]);
    if (!st && counts) memcpy(counts, cnt, sizeof cnt);
    for (int h = 0; h < 2; h++) {
        json_decref(arr[h]);
        json_decref(out[h]);
    }
    json_decref(root);
    return st;
}
