/* pipeline/finetune.c — fine-tuning loop and inference for task heads over an
 * encoder (see pipeline/finetune.h): dataset reading through the corpus
 * readers, word-by-word tokenization and chunking, padded batches, AdamW with
 * warm-up and linear decay, dev scoring with the eval metrics, early stopping,
 * the best checkpoint, and the sentiment / NER runners. */
#include "pipeline/finetune.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bhasha/corpus.h"
#include "bhasha/crf.h"
#include "bhasha/eval.h"
#include "bhasha/model.h"
#include "bhasha/segment.h"
#include "bhasha/subword.h"
#include "core/error.h"
#include "models/safetensors.h"
#include "models/word_clusters.h"

#define IGNORE BH_HEAD_IGNORE

double bh__ft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bh_status bh__ft_task_parse(const char *name, bh__ft_task *out)
{
    if (name && !strcmp(name, "sentiment")) *out = BH__FT_SENTIMENT;
    else if (name && !strcmp(name, "ner")) *out = BH__FT_NER;
    else return bh__fail(BH_EINVAL, "unknown task \"%.40s\" (sentiment, ner)", name ? name : "");
    return BH_OK;
}

void bh__ft_options_default(bh__ft_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 3;
    o->batch = 16;
    o->seq = 0;
    o->warmup = -1;
    o->patience = 2;
    o->dense = 1;
    o->pool = BH_POOL_MEAN;
    o->normalize = 1;
    o->threads = 1;
    o->lr = 1e-4f;
    o->weight_decay = 0.01f;
    o->clip = 1.0f;
    o->dropout = -1.0f;
    o->seed = 1;
    o->log_every = 20;
}

/* ------------------------------------------------------------- label sets */

typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static int sl_find(const strlist *s, const char *x)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x)) return i;
    return -1;
}

static bh_status sl_add(strlist *s, const char *x)
{
    if (sl_find(s, x) >= 0) return BH_OK;
    if (s->n == s->cap) {
        int nc = s->cap ? 2 * s->cap : 16;
        char **nv = realloc(s->v, sizeof(char *) * (size_t)nc);
        if (!nv) return bh__fail(BH_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(x))) return bh__fail(BH_ENOMEM, "out of memory");
    s->n++;
    return BH_OK;
}

static void sl_free(strlist *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ----------------------------------------------------------- tokenization */

typedef struct enc {
    bh_tokenizer *tok;
    bh_special_ids sp;
    int32_t unk, pad;
    int nspecial;  /* [CLS] and [SEP] present: 0..2 */
    bh_tokens tk;
    /* pieces of the words of one sentence: word w has cnt[w] pieces at off[w] */
    int32_t *pieces;
    size_t npieces, pcap;
    int *off, *cnt;
    int wcap;
} enc;

static bh_status enc_open(enc *e, const char *path, int normalize, const bh_model_config *c)
{
    memset(e, 0, sizeof *e);
    bh_tokenizer_options to;
    bh_tokenizer_options_default(&to);
    to.normalize = normalize;
    to.add_special = 0; /* added here, around word-by-word pieces */
    bh_status st = bh_tokenizer_load(path, &to, &e->tok);
    if (st) return st;
    int32_t V = bh_tokenizer_vocab_size(e->tok);
    if (V > c->vocab)
        return bh__fail(BH_ESHAPE, "tokenizer %s has %d pieces, the encoder's vocabulary only %d (not its tokenizer?)",
                        path, (int)V, c->vocab);
    e->sp = bh_tokenizer_special_ids(e->tok);
    e->unk = e->sp.unk >= 0 ? e->sp.unk : 0;
    e->pad = c->pad_id >= 0 ? c->pad_id : e->sp.pad >= 0 ? e->sp.pad : 0;
    e->nspecial = (e->sp.cls >= 0) + (e->sp.sep >= 0);
    return BH_OK;
}

static void enc_close(enc *e)
{
    bh_tokenizer_free(e->tok);
    bh_tokens_free(&e->tk);
    free(e->pieces);
    free(e->off);
    free(e->cnt);
    memset(e, 0, sizeof *e);
}

static bh_status push_piece(enc *e, int32_t id)
{
    if (e->npieces == e->pcap) {
        size_t nc = e->pcap ? 2 * e->pcap : 256;
        int32_t *np = realloc(e->pieces, sizeof(int32_t) * nc);
        if (!np) return bh__fail(BH_ENOMEM, "out of memory");
        e->pieces = np;
        e->pcap = nc;
    }
    e->pieces[e->npieces++] = id;
    return BH_OK;
}

/* Encodes nw words (w[i] of wl[i] bytes): pieces, off, cnt. A word that
 * yields no piece (only format characters, say) gets the unknown id, so that
 * every word has a first subword. */
static bh_status enc_words(enc *e, const char *const *w, const size_t *wl, int nw)
{
    if (nw > e->wcap) {
        int nc = nw + 64;
        int *no = realloc(e->off, sizeof(int) * (size_t)nc);
        if (no) e->off = no;
        int *nn = no ? realloc(e->cnt, sizeof(int) * (size_t)nc) : NULL;
        if (nn) e->cnt = nn;
        if (!no || !nn) return bh__fail(BH_ENOMEM, "out of memory");
        e->wcap = nc;
    }
    e->npieces = 0;
    for (int i = 0; i < nw; i++) {
        bh_status st = bh_tokenizer_encode(e->tok, w[i], wl[i], &e->tk);
        if (st) return st;
        e->off[i] = (int)e->npieces;
        for (size_t k = 0; k < e->tk.n; k++)
            if ((st = push_piece(e, e->tk.ids[k]))) return st;
        if (!e->tk.n && (st = push_piece(e, e->unk))) return st;
        e->cnt[i] = (int)e->npieces - e->off[i];
    }
    return BH_OK;
}

/* The words [w0, w1) that fit in one sequence from w0 on: at least one word,
 * whose pieces are cut to the budget when it alone is longer. */
static int chunk_end(const enc *e, int w0, int nw, int budget)
{
    int used = 0, w = w0;
    while (w < nw) {
        int k = e->cnt[w] < budget ? e->cnt[w] : budget;
        if (w > w0 && used + k > budget) break;
        used += k;
        w++;
    }
    return w;
}

/* The chunk of words that starts at w0: sets *w1 (its end) and *own1 (the end
 * of the words it tags, which start at own0) and returns the next chunk's
 * start. Without overlap, chunks meet end to end. With it, consecutive chunks
 * share half their words and a shared word belongs to the chunk where it
 * lies nearer the middle, so that no word is tagged at a cut without context
 * on both sides and an entity across a cut is seen whole (for tagging; a
 * training set is read end to end, every word once). */
static int chunk_step(const enc *e, int w0, int own0, int nw, int budget, int overlap, int *w1, int *own1)
{
    *w1 = chunk_end(e, w0, nw, budget);
    if (*w1 >= nw || !overlap) {
        *own1 = *w1;
        return *w1;
    }
    int next = w0 + (*w1 - w0 + 1) / 2, mid = (next + *w1) / 2;
    *own1 = mid > own0 ? mid : own0;
    return next;
}

/* Writes [CLS] pieces of words [w0, w1) [SEP] into ids; lab (may be NULL)
 * gets wlab[w] on each word's first piece and IGNORE elsewhere; first (may be
 * NULL) marks the first pieces. Returns the length. */
static int chunk_ids(const enc *e, int w0, int w1, int budget, const int32_t *wlab, int32_t *ids, int32_t *lab,
                     uint8_t *first)
{
    int n = 0, used = 0;
#define PUT(id, l, f)                        \
    do {                                     \
        ids[n] = (id);                       \
        if (lab) lab[n] = (l);               \
        if (first) first[n] = (uint8_t)(f);  \
        n++;                                 \
    } while (0)
    if (e->sp.cls >= 0) PUT(e->sp.cls, IGNORE, 0);
    for (int w = w0; w < w1; w++) {
        int k = e->cnt[w] < budget - used ? e->cnt[w] : budget - used;
        for (int j = 0; j < k; j++) PUT(e->pieces[e->off[w] + j], j ? IGNORE : (wlab ? wlab[w] : IGNORE), j == 0);
        used += k;
    }
    if (e->sp.sep >= 0) PUT(e->sp.sep, IGNORE, 0);
#undef PUT
    return n;
}

/* [CLS] pieces of text [SEP], pieces cut to seq - specials. */
static bh_status text_ids(enc *e, const char *text, size_t len, int seq, int32_t *ids, int *n)
{
    bh_status st = bh_tokenizer_encode(e->tok, text, len, &e->tk);
    if (st) return st;
    int budget = seq - e->nspecial, k = 0;
    if (e->sp.cls >= 0) ids[k++] = e->sp.cls;
    for (size_t i = 0; i < e->tk.n && (int)i < budget; i++) ids[k++] = e->tk.ids[i];
    if (e->sp.sep >= 0) ids[k++] = e->sp.sep;
    if (k == 0) ids[k++] = e->unk; /* no specials and an empty text */
    *n = k;
    return BH_OK;
}

/* --------------------------------------------------------------- datasets */

typedef struct example {
    int32_t *ids;  /* [n] specials included */
    int32_t *lab;  /* ner: [n] word labels on first pieces, IGNORE elsewhere */
    int n;
    int label;     /* sentiment */
    long sent;     /* ner: sentence index */
    int word0, nwords;
    int own0, own1;  /* ner: the words [own0, own1) this chunk tags (a chunk of dev or test text overlaps) */
    uint32_t *feats; /* ner with word features: [nwords, BH_CRF_NFEAT] */
} example;

typedef struct dataset {
    const char *path;
    example *ex;
    long n, cap;
    long records;       /* texts or sentences */
    int32_t **gold;     /* ner: word labels of each sentence */
    int *glen;
    long gcap;
    long tokens;        /* pieces over all examples */
} dataset;

static void ds_free(dataset *d)
{
    for (long i = 0; i < d->n; i++) {
        free(d->ex[i].ids);
        free(d->ex[i].lab);
        free(d->ex[i].feats);
    }
    free(d->ex);
    for (long i = 0; i < d->records && d->gold; i++) free(d->gold[i]);
    free(d->gold);
    free(d->glen);
    memset(d, 0, sizeof *d);
}

static bh_status ds_push(dataset *d, const int32_t *ids, const int32_t *lab, int n, example tmpl)
{
    if (d->n == d->cap) {
        long nc = d->cap ? 2 * d->cap : 256;
        example *ne = realloc(d->ex, sizeof(example) * (size_t)nc);
        if (!ne) return bh__fail(BH_ENOMEM, "out of memory");
        d->ex = ne;
        d->cap = nc;
    }
    example *x = &d->ex[d->n];
    *x = tmpl;
    x->n = n;
    x->feats = NULL;
    x->ids = malloc(sizeof(int32_t) * (size_t)n);
    x->lab = lab ? malloc(sizeof(int32_t) * (size_t)n) : NULL;
    if (!x->ids || (lab && !x->lab)) {
        free(x->ids);
        free(x->lab);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    memcpy(x->ids, ids, sizeof(int32_t) * (size_t)n);
    if (lab) memcpy(x->lab, lab, sizeof(int32_t) * (size_t)n);
    d->n++;
    d->tokens += n;
    return BH_OK;
}

/* How a task's files are opened. */
static bh_status reader_options(const bh__ft_options *o, const char *path, bh_corpus_options *co)
{
    memset(co, 0, sizeof *co);
    co->on_error = o->skip_bad ? BH_ON_ERROR_SKIP : BH_ON_ERROR_STOP;
    co->label_map = o->label_map;
    if (o->task == BH__FT_NER) {
        if (o->format && strcmp(o->format, "conll") && strcmp(o->format, "jsonl"))
            return bh__fail(BH_EINVAL, "ner reads CoNLL or JSON-lines files (--format conll|jsonl), not %s", o->format);
        co->format = BH_CORPUS_CONLL;
        if (o->format && !strcmp(o->format, "jsonl")) {
            /* a sentence and its tag array per line ({"text":..,"tags":[..]} or
             * banglakit's [text, tags]): the reader re-tokenizes the text to
             * the tags (punctuation split off) */
            co->format = BH_CORPUS_JSONL;
            co->text_field = o->text_col ? o->text_col : "text";
            co->tags_field = o->label_col ? o->label_col : "tags";
        }
        /* the reader renames types (--map) and then repairs the tags into
         * valid BIO, so a renamed B-X never leaves a dangling I-Y behind */
        co->scheme = BH_TAGS_BIO;
        return BH_OK;
    }
    if (o->format) {
        char delim = 0;
        bh_status st = bh_corpus_format_parse(o->format, &co->format, &delim);
        if (st || co->format != BH_CORPUS_CSV)
            return bh__fail(BH_EINVAL, "sentiment reads tsv or csv files, not %s", o->format);
        co->delimiter = delim;
    } else {
        co->format = BH_CORPUS_CSV; /* delimiter from the name: tab for *.tsv */
        (void)path;
    }
    co->text_field = o->text_col ? o->text_col : "text";
    co->label_field = o->label_col ? o->label_col : "label";
    return BH_OK;
}

/* Reads a sentiment file into d; with learn, adds its labels to the set,
 * else a label outside the set is an error. */
static bh_status read_sentiment(const bh__ft_options *o, const char *path, enc *e, strlist *labels, int learn,
                                dataset *d)
{
    bh_corpus_options co;
    bh_status st = reader_options(o, path, &co);
    bh_corpus *r = NULL;
    if (st || (st = bh_corpus_open(path, &co, &r))) return st;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(o->seq + 2));
    if (!ids) st = bh__fail(BH_ENOMEM, "out of memory");
    bh_corpus_record rec;
    int k = 0;
    d->path = path;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if (!rec.label || !rec.label[0]) {
            st = bh__fail(BH_EFORMAT, "%s line %ld: empty label", path, rec.line);
            break;
        }
        size_t i = 0;
        while (i < rec.text_len && (rec.text[i] == ' ' || rec.text[i] == '\t' || rec.text[i] == '\r')) i++;
        if (i == rec.text_len) {
            st = bh__fail(BH_EFORMAT, "%s line %ld: empty text", path, rec.line);
            break;
        }
        if (learn && (st = sl_add(labels, rec.label))) break;
        /* training: an index into the first-seen order, remapped once the set is sorted */
        example x = {0};
        x.label = sl_find(labels, rec.label);
        if (x.label < 0) {
            st = bh__fail(BH_EINVAL, "%s line %ld: label \"%.60s\" not seen in training", path, rec.line, rec.label);
            break;
        }
        int n;
        if ((st = text_ids(e, rec.text, rec.text_len, o->seq, ids, &n))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s line %ld: %s", path, rec.line, detail);
            break;
        }
        st = ds_push(d, ids, NULL, n, x);
        d->records++;
    }
    if (!st && k < 0) st = k;
    if (!st && d->records == 0) st = bh__fail(BH_EFORMAT, "%s: no records", path);
    free(ids);
    bh_corpus_free(r);
    return st;
}

/* CoNLL sentence tags as BIO: "-" -> O, "-X" -> I-X (the IL-NER files), then
 * bh_tags_convert. tags[i] point into conv. */
static bh_status bio_tags(const bh_corpus_record *rec, bh_buf *fixed, bh_buf *conv, size_t **offs, size_t *ocap,
                          const char ***tags)
{
    size_t n = rec->n_tokens;
    if (n + 1 > *ocap) {
        size_t nc = 2 * n + 16;
        size_t *no = realloc(*offs, nc * sizeof *no);
        if (no) *offs = no;
        const char **nt = no ? realloc((void *)*tags, nc * sizeof *nt) : NULL;
        if (nt) *tags = nt;
        if (!no || !nt) return bh__fail(BH_ENOMEM, "out of memory");
        *ocap = nc;
    }
    bh_buf_clear(fixed);
    for (size_t i = 0; i < n; i++) {
        const char *g = rec->tags[i];
        (*offs)[i] = fixed->len;
        bh_status st;
        if (!strcmp(g, "-")) st = bh_buf_append(fixed, "O", 2);
        else if (g[0] == '-') st = bh_buf_append(fixed, "I", 1) ? BH_ENOMEM : bh_buf_append(fixed, g, strlen(g) + 1);
        else st = bh_buf_append(fixed, g, strlen(g) + 1);
        if (st) return bh__fail(BH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) (*tags)[i] = fixed->data + (*offs)[i];
    bh_status st = bh_tags_convert(*tags, n, BH_TAGS_BIO, NULL, conv, *offs);
    if (st) return st;
    for (size_t i = 0; i < n; i++) (*tags)[i] = conv->data + (*offs)[i];
    return BH_OK;
}

/* First pass over the training file: the tag set. */
static bh_status ner_labels(const bh__ft_options *o, const char *path, strlist *labels)
{
    bh_corpus_options co;
    bh_status st = reader_options(o, path, &co);
    bh_corpus *r = NULL;
    if (st || (st = bh_corpus_open(path, &co, &r))) return st;
    bh_buf fixed = {0}, conv = {0};
    size_t *offs = NULL, ocap = 0;
    const char **tags = NULL;
    bh_corpus_record rec;
    int k;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        if ((st = bio_tags(&rec, &fixed, &conv, &offs, &ocap, &tags))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s line %ld: %s", path, rec.line, detail);
            break;
        }
        for (size_t i = 0; !st && i < rec.n_tokens; i++) st = sl_add(labels, tags[i]);
    }
    if (!st && k < 0) st = k;
    /* every type gets both its tags: a type seen in training only as B-X
     * (single-word entities) may well have I-X in dev or test */
    for (int i = 0, n = labels->n; !st && i < n; i++) {
        const char *t = labels->v[i];
        if ((t[0] == 'B' || t[0] == 'I') && t[1] == '-') {
            char other[256];
            snprintf(other, sizeof other, "%c-%s", t[0] == 'B' ? 'I' : 'B', t + 2);
            st = sl_add(labels, other);
        }
    }
    bh_corpus_free(r);
    bh_buf_free(&fixed);
    bh_buf_free(&conv);
    free(offs);
    free((void *)tags);
    return st;
}

/* overlap: chunks of a long sentence overlap (dev and test; chunk_step) */
static bh_status read_ner(const bh__ft_options *o, const char *path, enc *e, const strlist *labels, int overlap,
                          dataset *d)
{
    bh_corpus_options co;
    bh_status st = reader_options(o, path, &co);
    bh_corpus *r = NULL;
    if (st || (st = bh_corpus_open(path, &co, &r))) return st;
    bh_buf fixed = {0}, conv = {0};
    size_t *offs = NULL, ocap = 0, *wl = NULL, wcap = 0;
    const char **tags = NULL;
    uint32_t *fb = NULL; /* the sentence's word features [n, K] (heads with word features) */
    size_t fcap = 0, K = BH_CRF_NFEAT;
    int feats = o->feat_bits || o->init_crf;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(o->seq + 2)), *lab = malloc(sizeof(int32_t) * (size_t)(o->seq + 2));
    if (!ids || !lab) st = bh__fail(BH_ENOMEM, "out of memory");
    bh_corpus_record rec;
    int k = 0, budget = o->seq - e->nspecial;
    d->path = path;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        size_t n = rec.n_tokens;
        if ((st = bio_tags(&rec, &fixed, &conv, &offs, &ocap, &tags))) break;
        if (n > wcap) {
            wcap = 2 * n;
            size_t *nw = realloc(wl, sizeof(size_t) * wcap);
            if (!nw) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
            wl = nw;
        }
        if (d->records == d->gcap) {
            long nc = d->gcap ? 2 * d->gcap : 256;
            int32_t **ng = realloc(d->gold, sizeof(int32_t *) * (size_t)nc);
            if (ng) d->gold = ng;
            int *nl = ng ? realloc(d->glen, sizeof(int) * (size_t)nc) : NULL;
            if (nl) d->glen = nl;
            if (!ng || !nl) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
            d->gcap = nc;
        }
        int32_t *g = malloc(sizeof(int32_t) * (n + 1));
        if (!g) {
            st = bh__fail(BH_ENOMEM, "out of memory");
            break;
        }
        d->gold[d->records] = g;
        d->glen[d->records] = (int)n;
        long sent = d->records++;
        for (size_t i = 0; i < n; i++) {
            g[i] = sl_find(labels, tags[i]);
            if (g[i] < 0) {
                st = bh__fail(BH_EINVAL, "%s line %ld: tag \"%.60s\" not seen in training", path, rec.line, tags[i]);
                break;
            }
            wl[i] = strlen(rec.tokens[i]);
        }
        if (st) break;
        if ((st = enc_words(e, rec.tokens, wl, (int)n))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s line %ld: %s", path, rec.line, detail);
            break;
        }
        if (feats && n > fcap) {
            fcap = 2 * n;
            uint32_t *nf = realloc(fb, sizeof *nf * fcap * K);
            if (!nf) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
            fb = nf;
        }
        if (feats && (st = bh_crf_word_features(rec.tokens, n, NULL, fb))) break;
        for (int w0 = 0, own0 = 0; !st && w0 < (int)n;) {
            int w1, own1, next = chunk_step(e, w0, own0, (int)n, budget, overlap, &w1, &own1);
            /* a chunk that starts inside an entity starts it: I-X -> B-X
             * (the CRF's constraint mask forbids I-X first); gold keeps I-X */
            int32_t keep = g[w0];
            const char *t0 = labels->v[keep];
            if (w0 > 0 && t0[0] == 'I' && t0[1] == '-') {
                char b[128];
                snprintf(b, sizeof b, "B-%s", t0 + 2);
                int bi = sl_find(labels, b);
                if (bi >= 0) g[w0] = bi;
            }
            int len = chunk_ids(e, w0, w1, budget, g, ids, lab, NULL);
            g[w0] = keep;
            example x = {0};
            x.sent = sent;
            x.word0 = w0;
            x.nwords = w1 - w0;
            x.own0 = own0;
            x.own1 = own1;
            st = ds_push(d, ids, lab, len, x);
            if (!st && feats) {
                example *px = &d->ex[d->n - 1];
                if (!(px->feats = malloc(sizeof(uint32_t) * K * (size_t)(w1 - w0))))
                    st = bh__fail(BH_ENOMEM, "out of memory");
                else memcpy(px->feats, fb + (size_t)w0 * K, sizeof(uint32_t) * K * (size_t)(w1 - w0));
            }
            w0 = next;
            own0 = own1;
        }
    }
    if (!st && k < 0) st = k;
    if (!st && d->records == 0) st = bh__fail(BH_EFORMAT, "%s: no sentences", path);
    bh_corpus_free(r);
    bh_buf_free(&fixed);
    bh_buf_free(&conv);
    free(offs);
    free(wl);
    free((void *)tags);
    free(fb);
    free(ids);
    free(lab);
    return st;
}

/* ---------------------------------------------------------------- batches */

typedef struct batch {
    int32_t *ids, *lab, *y;
    uint32_t *feats; /* [B*T, BH_CRF_NFEAT] word features at the first pieces (into fbuf); NULL without */
    uint32_t *fbuf;
    uint8_t *mask, *first;
    float *hid, *dhid;
    size_t cap_nt, cap_b, cap_f;
    int B, T;
} batch;

static void batch_free(batch *b)
{
    free(b->ids);
    free(b->lab);
    free(b->y);
    free(b->fbuf);
    free(b->mask);
    free(b->first);
    free(b->hid);
    free(b->dhid);
    memset(b, 0, sizeof *b);
}

/* b->feats for the current B x T (reused across batches), or NULL when off. */
static bh_status batch_feats(batch *b, int on)
{
    size_t n = (size_t)b->B * b->T * BH_CRF_NFEAT;
    b->feats = NULL;
    if (!on) return BH_OK;
    if (n > b->cap_f) {
        uint32_t *f = realloc(b->fbuf, sizeof *f * n);
        if (!f) return bh__fail(BH_ENOMEM, "out of memory (word features %dx%d)", b->B, b->T);
        b->fbuf = f;
        b->cap_f = n;
    }
    b->feats = b->fbuf;
    return BH_OK;
}

static bh_status batch_reserve(batch *b, int B, int T, int D)
{
    size_t nt = (size_t)B * T;
    if (nt > b->cap_nt) {
        batch_free(b);
        b->ids = malloc(sizeof(int32_t) * nt);
        b->lab = malloc(sizeof(int32_t) * nt);
        b->mask = malloc(nt);
        b->first = malloc(nt);
        b->hid = malloc(sizeof(float) * nt * (size_t)D);
        b->dhid = malloc(sizeof(float) * nt * (size_t)D);
        b->y = malloc(sizeof(int32_t) * nt);
        if (!b->ids || !b->lab || !b->mask || !b->first || !b->hid || !b->dhid || !b->y) {
            batch_free(b);
            return bh__fail(BH_ENOMEM, "out of memory (batch %dx%d)", B, T);
        }
        b->cap_nt = nt;
    }
    b->B = B;
    b->T = T;
    return BH_OK;
}

/* Pads examples ex[0..B) to length T (>= the longest): ids (pad), mask,
 * labels (IGNORE), first-piece flags, sentence labels in y. */
static bh_status batch_fill_to(batch *b, example *const *ex, int B, int T, int D, int32_t pad)
{
    bh_status st = batch_reserve(b, B, T, D);
    if (st) return st;
    size_t K = BH_CRF_NFEAT;
    if ((st = batch_feats(b, B && ex[0]->feats))) return st;
    for (int i = 0; i < B; i++) {
        const example *x = ex[i];
        size_t o = (size_t)i * T;
        int w = 0;
        for (int t = 0; t < T; t++) {
            int real = t < x->n;
            b->ids[o + t] = real ? x->ids[t] : pad;
            b->mask[o + t] = (uint8_t)real;
            b->lab[o + t] = real && x->lab ? x->lab[t] : IGNORE;
            b->first[o + t] = real && x->lab && x->lab[t] != IGNORE;
            if (b->feats && b->first[o + t] && x->feats && w < x->nwords)
                memcpy(b->feats + (o + t) * K, x->feats + (size_t)w++ * K, sizeof(uint32_t) * K);
        }
        b->y[i] = x->label;
    }
    return BH_OK;
}

static int longest(example *const *ex, int B)
{
    int T = 1;
    for (int i = 0; i < B; i++) T = ex[i]->n > T ? ex[i]->n : T;
    return T;
}

/* Pads examples ex[0..B) to the longest. */
static bh_status batch_fill(batch *b, example *const *ex, int B, int D, int32_t pad)
{
    return batch_fill_to(b, ex, B, longest(ex, B), D, pad);
}

/* ------------------------------------------------------------- evaluation */

/* Predicts every example of d in batches and scores it: macro-F1 (0..1) for
 * sentiment, conlleval entity F1 (percent) for NER. */
static bh_status evaluate(bh_model *m, bh_head *h, const dataset *d, int bsz, int32_t pad, double *metric)
{
    int D = bh_model_get_config(m)->dim, C = bh_head_n_labels(h);
    int ner = bh_head_get_kind(h) == BH_HEAD_TOKEN;
    batch b = {0};
    example **ptr = malloc(sizeof(example *) * (size_t)bsz);
    float *probs = malloc(sizeof(float) * (size_t)bsz * C);
    const char **gold = NULL, **pred = NULL;
    int32_t **wp = NULL, *tags = NULL;
    bh_status st = BH_OK;
    if (!ptr || !probs) st = bh__fail(BH_ENOMEM, "out of memory");
    if (!st && !ner) {
        gold = malloc(sizeof(char *) * (size_t)d->n);
        pred = malloc(sizeof(char *) * (size_t)d->n);
        if (!gold || !pred) st = bh__fail(BH_ENOMEM, "out of memory");
    }
    if (!st && ner) {
        wp = calloc((size_t)d->records, sizeof *wp);
        if (!wp) st = bh__fail(BH_ENOMEM, "out of memory");
        int o_id = bh_head_label_index(h, "O");
        for (long s = 0; !st && s < d->records; s++) {
            if (!(wp[s] = malloc(sizeof(int32_t) * ((size_t)d->glen[s] + 1)))) st = bh__fail(BH_ENOMEM, "out of memory");
            for (int w = 0; !st && w < d->glen[s]; w++) wp[s][w] = o_id;
        }
    }
    for (long i0 = 0; !st && i0 < d->n; i0 += bsz) {
        int B = (int)(d->n - i0 < bsz ? d->n - i0 : bsz);
        for (int i = 0; i < B; i++) ptr[i] = &d->ex[i0 + i];
        if ((st = batch_fill(&b, ptr, B, D, pad))) break;
        if ((st = bh_model_forward(m, b.ids, b.mask, B, b.T, b.hid, NULL))) break;
        if (!ner) {
            if ((st = bh_head_seq_predict(h, b.hid, b.mask, B, b.T, D, probs))) break;
            for (int i = 0; i < B; i++) {
                int best = 0;
                for (int j = 1; j < C; j++)
                    if (probs[(size_t)i * C + j] > probs[(size_t)i * C + best]) best = j;
                gold[i0 + i] = bh_head_label(h, ptr[i]->label);
                pred[i0 + i] = bh_head_label(h, best);
            }
        } else {
            tags = b.y; /* [B*T] fits: y has B*T room */
            if ((st = bh_head_token_predict_feats(h, b.hid, b.first, b.feats, B, b.T, D, tags, NULL))) break;
            for (int i = 0; i < B; i++) {
                int w = ptr[i]->word0;
                for (int t = 0; t < b.T; t++)
                    if (b.first[(size_t)i * b.T + t]) {
                        if (w >= ptr[i]->own0 && w < ptr[i]->own1) wp[ptr[i]->sent][w] = tags[(size_t)i * b.T + t];
                        w++;
                    }
            }
        }
    }
    if (!st && !ner) {
        bh_class_report *r = NULL;
        if (!(st = bh_eval_classification(gold, pred, (size_t)d->n, &r))) *metric = r->macro_f1;
        bh_class_report_free(r);
    }
    if (!st && ner) {
        bh_ner_eval *ev = NULL;
        const char **gs = NULL, **ps = NULL;
        int maxw = 1;
        for (long s = 0; s < d->records; s++) maxw = d->glen[s] > maxw ? d->glen[s] : maxw;
        gs = malloc(sizeof(char *) * (size_t)maxw);
        ps = malloc(sizeof(char *) * (size_t)maxw);
        if (!gs || !ps) st = bh__fail(BH_ENOMEM, "out of memory");
        if (!st) st = bh_ner_eval_new(BH_NER_CONLLEVAL, &ev);
        for (long s = 0; !st && s < d->records; s++) {
            for (int w = 0; w < d->glen[s]; w++) {
                gs[w] = bh_head_label(h, d->gold[s][w]);
                ps[w] = wp[s][w] >= 0 ? bh_head_label(h, wp[s][w]) : "O";
            }
            st = bh_ner_eval_add(ev, gs, ps, (size_t)d->glen[s]);
        }
        bh_ner_report *r = NULL;
        if (!st && !(st = bh_ner_eval_report(ev, &r))) *metric = r->f1;
        bh_ner_report_free(r);
        bh_ner_eval_free(ev);
        free(gs);
        free(ps);
    }
    for (long s = 0; wp && s < d->records; s++) free(wp[s]);
    free(wp);
    free(gold);
    free(pred);
    free(ptr);
    free(probs);
    batch_free(&b);
    return st;
}

/* ------------------------------------------------------------ checkpoints */

const char *bh__ft_tok_file(const bh_tokenizer *t)
{
    return bh_tokenizer_get_kind(t) == BH_TOKENIZER_SPM ? "tokenizer.model" : "vocab.txt";
}

/* --base: a model directory, or a config JSON file for a fresh encoder; the
 * run's threads, precision, frozen layers and dropout applied. */
bh_status bh__ft_open_base(const bh__ft_options *o, bh_model **m)
{
    struct stat sb;
    if (stat(o->base, &sb) != 0) return bh__fail(BH_ENOTFOUND, "base %s: %s", o->base, strerror(errno));
    bh_status st;
    if (S_ISDIR(sb.st_mode)) {
        char cp[4096];
        snprintf(cp, sizeof cp, "%s/config.json", o->base);
        if (stat(cp, &sb) != 0) return bh__fail(BH_ENOTFOUND, "base %s: no config.json (not an encoder directory)", o->base);
        st = bh_model_load(o->base, 0, m);
    } else {
        bh_model_config c;
        if ((st = bh_model_config_load(o->base, &c))) return st;
        st = bh_model_new(&c, o->seed, m);
    }
    if (st) return st;
    const bh_model_config *mc = bh_model_get_config(*m);
    if (mc->arch != BH_ARCH_ENCODER)
        st = bh__fail(BH_EINVAL, "base %s is a decoder; fine-tuning needs an encoder", o->base);
    else if (o->freeze_layers > mc->layers)
        st = bh__fail(BH_EINVAL, "cannot freeze %d layers: the encoder has %d", o->freeze_layers, mc->layers);
    else if (!(st = bh_model_set_threads(*m, o->threads)) &&
             (o->precision == BH_PRECISION_F32 || !(st = bh_model_set_precision(*m, o->precision))) &&
             !(st = bh_model_freeze(*m, o->freeze_layers)) && o->dropout >= 0)
        st = bh_model_set_dropout(*m, o->dropout);
    if (st) {
        bh_model_free(*m);
        *m = NULL;
    }
    return st;
}

/* ---------------------------------------------------------------- training */

void bh__ft_log(const bh__ft_options *o, const char *fmt, ...)
{
    if (!o->on_log || o->rank) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->on_log(o->ctx, line);
}

void bh__ft_optim_config(const bh__ft_options *o, long total, bh_optim_config *oc)
{
    bh_optim_config_default(oc);
    oc->lr = o->lr;
    oc->weight_decay = o->weight_decay;
    oc->warmup = o->warmup >= 0 ? o->warmup : (int)(total / 10);
    oc->total_steps = (int)total;
    oc->sched = BH_SCHED_LINEAR;
}

bh_status bh__ft_update(const bh__ft_options *o, const bh_optim_config *oc, long step, bh_model *m, bh_optim *om,
                        bh_head *h, bh_optim *oh, float *lr, float *norm)
{
    *norm = bh_head_clip_grad(h, m, o->clip);
    if (!isfinite(*norm)) return bh__fail(BH_ENUMERIC, "step %ld: gradient norm is %f", step + 1, (double)*norm);
    *lr = bh_optim_lr(oc, step);
    bh_status st = bh_optim_step(om, m);
    /* the head at the run's step, not its own: in a multi-task run a task's
     * head steps on that task's batches only, and counting those alone kept
     * a small task's head in the warm-up for the whole run */
    return st ? st : bh_optim_step_head_at(oh, h, step);
}

void bh__ft_shuffle(long *order, long n, uint64_t *rng)
{
    for (long i = n - 1; i > 0; i--) { /* Fisher-Yates */
        long j = (long)(bh_rng_next(rng) % (uint64_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

void bh__ft_progress(const bh__ft_options *o, int ep, long step, long total, double loss, float lr, float norm,
                     double ntok, double elapsed)
{
    double eta = (double)(total - step - 1) * elapsed / (double)(step + 1);
    bh__ft_log(o, "epoch %d/%d step %ld/%ld loss %.4f lr %.3g |g| %.3g %.0f tok/s ETA %02d:%02d:%02d", ep, o->epochs,
               step + 1, total, loss, (double)lr, (double)norm, ntok / (elapsed > 0 ? elapsed : 1e-9),
               (int)(eta / 3600), (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
}

/* ------------------------------------------------------ data parallelism */

/* In place sum over the processes (nothing to do in one). */
static bh_status dp_reduce(const bh__ft_options *o, void *buf, size_t n, int dbl)
{
    if (o->nranks <= 1) return BH_OK;
    return o->reduce(o->rctx, buf, n, dbl) ? bh__fail(BH_EIO, "data-parallel reduction failed") : BH_OK;
}

/* Every process brings its status st (one collective); returns st, or for a
 * process that did not fail while another did, an error of its own. Sets
 * res->peer_error where the error is reported elsewhere: on the processes
 * that did not fail, and on every rank but 0 when rank 0 failed too (the
 * same files fail alike everywhere; rank 0 says why once). */
static bh_status dp_agree(const bh__ft_options *o, bh_status st, bh__ft_result *res)
{
    if (o->nranks <= 1) return st;
    double f[2] = {st && o->rank == 0, st != 0};
    bh_status rs = dp_reduce(o, f, 2, 1);
    if (st) {
        res->peer_error = o->rank != 0 && f[0] > 0;
        return st;
    }
    if (rs) return rs;
    if (f[1] > 0) {
        res->peer_error = 1;
        return bh__fail(BH_EIO, "another process of the data-parallel run failed");
    }
    return BH_OK;
}

/* The gradients of encoder and head summed over the processes: the encoder's
 * buffer in place, the head's tensors through hg [its parameter count]. */
static bh_status dp_grads(const bh__ft_options *o, bh_model *m, bh_head *h, float *hg)
{
    float *g;
    size_t ng, k = 0;
    bh_status st = bh_model_grads(m, &g, &ng);
    if (st || (st = dp_reduce(o, g, ng, 0))) return st;
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++) {
        size_t n = (size_t)ti.shape[0] * (size_t)(ti.ndim == 2 ? ti.shape[1] : 1);
        memcpy(hg + k, ti.grad, n * sizeof(float));
        k += n;
    }
    if ((st = dp_reduce(o, hg, k, 0))) return st;
    k = 0;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++) {
        size_t n = (size_t)ti.shape[0] * (size_t)(ti.ndim == 2 ? ti.shape[1] : 1);
        memcpy(ti.grad, hg + k, n * sizeof(float));
        k += n;
    }
    return BH_OK;
}

static size_t head_params(const bh_head *h)
{
    size_t k = 0;
    bh_tensor_info ti;
    for (int i = 0; bh_head_tensor(h, i, &ti) == BH_OK; i++)
        k += (size_t)ti.shape[0] * (size_t)(ti.ndim == 2 ? ti.shape[1] : 1);
    return k;
}

static bh_status check_options(const bh__ft_options *o)
{
    if (!o->base || !o->train || !o->dev || !o->tokenizer || !o->out)
        return bh__fail(BH_EINVAL, "finetune needs a base, train and dev files, a tokenizer and an output directory");
    if (o->task != BH__FT_SENTIMENT && o->task != BH__FT_NER) return bh__fail(BH_EINVAL, "finetune: unknown task");
    if (o->epochs < 1 || o->batch < 1 || (o->seq && o->seq < 3) || o->patience < 0 || o->freeze_layers < 0 || o->threads < 1 ||
        o->log_every < 1 || !(o->lr > 0) || !(o->weight_decay >= 0) || !(o->clip >= 0) || !(o->dropout < 1))
        return bh__fail(BH_EINVAL, "finetune: a numeric option is out of range");
    if (o->nalso < 0 || o->nalso > BH__FT_MAXTASKS - 1 || (o->nalso && !o->also))
        return bh__fail(BH_EINVAL, "finetune: at most %d tasks in one run", BH__FT_MAXTASKS);
    for (int k = 0; k < o->nalso; k++) {
        const bh__ft_options *a = &o->also[k];
        if (!a->train || !a->dev) return bh__fail(BH_EINVAL, "finetune: task %d needs train and dev files", k + 2);
        if (a->task != BH__FT_SENTIMENT && a->task != BH__FT_NER)
            return bh__fail(BH_EINVAL, "finetune: task %d: sentiment or ner", k + 2);
    }
    if (o->nranks > 1 && (!o->reduce || o->rank < 0 || o->rank >= o->nranks))
        return bh__fail(BH_EINVAL, "finetune: data-parallel run without a reduction or with rank %d of %d", o->rank,
                        o->nranks);
    return BH_OK;
}

/* bh_head_fuse_crf never enters a head label the CRF lacks; as the start of
 * fine-tuning that would leave a label of the training data unlearnable, so
 * such a CRF is refused (one trained on another file or with another map). */
static bh_status crf_covers_gold(const bh_crf_tagger *tg, const strlist *labels, const dataset *tr, const char *path)
{
    size_t L = bh_crf_tagger_n_labels(tg);
    for (int j = 0; j < labels->n; j++) {
        size_t k = 0;
        while (k < L && strcmp(labels->v[j], bh_crf_tagger_label(tg, k))) k++;
        if (k < L) continue;
        for (long s = 0; s < tr->records; s++)
            for (int w = 0; w < tr->glen[s]; w++)
                if (tr->gold[s][w] == j)
                    return bh__fail(BH_EINVAL, "--init-crf %s has no label %s, which %s uses: train the CRF on the same "
                                    "file with the same --map", path, labels->v[j], tr->path);
    }
    return BH_OK;
}

/* One task of a (possibly multi-task) run: its options (the main options
 * with the task's own fields), label set, data, head and head optimizer. */
typedef struct ftask {
    bh__ft_options o;
    int ner;
    strlist labels;
    dataset tr, dv, ts;
    bh_head *h;
    bh_optim *oh;
    float *cw;     /* sentiment class weights, or NULL */
    long *order;   /* [tr.n] this epoch's order of the training sequences */
    long nb;       /* batches per epoch */
} ftask;

static void ftask_free(ftask *t)
{
    free(t->cw);
    free(t->order);
    ds_free(&t->tr);
    ds_free(&t->dv);
    ds_free(&t->ts);
    sl_free(&t->labels);
    bh_optim_free(t->oh);
    bh_head_free(t->h);
}

/* Reads the task's files (the label set from the training file alone, in
 * byte order) and makes its head. */
static bh_status ftask_open(ftask *t, enc *e, const bh_model_config *mc)
{
    const bh__ft_options *o = &t->o;
    bh_status st;
    if (!t->ner) {
        if ((st = read_sentiment(o, o->train, e, &t->labels, 1, &t->tr))) return st;
        /* remap the provisional (first-seen) indices to the sorted order */
        int *map = malloc(sizeof(int) * (size_t)t->labels.n);
        char **orig = malloc(sizeof(char *) * (size_t)t->labels.n);
        if (!map || !orig) {
            free(map);
            free(orig);
            return bh__fail(BH_ENOMEM, "out of memory");
        }
        memcpy(orig, t->labels.v, sizeof(char *) * (size_t)t->labels.n);
        qsort(t->labels.v, (size_t)t->labels.n, sizeof(char *), cmp_str);
        for (int i = 0; i < t->labels.n; i++) map[i] = sl_find(&t->labels, orig[i]);
        for (long i = 0; i < t->tr.n; i++) t->tr.ex[i].label = map[t->tr.ex[i].label];
        free(map);
        free(orig);
        if (t->labels.n < 2)
            return bh__fail(BH_EFORMAT, "%s: only one label (\"%.60s\"); classification needs two or more", o->train,
                            t->labels.v[0]);
        if ((st = read_sentiment(o, o->dev, e, &t->labels, 0, &t->dv))) return st;
        if (o->test && (st = read_sentiment(o, o->test, e, &t->labels, 0, &t->ts))) return st;
    } else {
        if ((st = ner_labels(o, o->train, &t->labels))) return st;
        if (!t->labels.n) return bh__fail(BH_EFORMAT, "%s: no sentences", o->train);
        qsort(t->labels.v, (size_t)t->labels.n, sizeof(char *), cmp_str);
        if ((st = read_ner(o, o->train, e, &t->labels, 0, &t->tr)) || (st = read_ner(o, o->dev, e, &t->labels, 1, &t->dv)))
            return st;
        if (o->test && (st = read_ner(o, o->test, e, &t->labels, 1, &t->ts))) return st;
    }
    const char *name = o->head_name ? o->head_name : t->ner ? "ner" : "sentiment";
    bh_head_config hc = {t->ner ? BH_HEAD_TOKEN : BH_HEAD_SEQUENCE, name, mc->dim, t->labels.n,
                         (const char *const *)t->labels.v, o->pool, o->dense, o->crf,
                         t->ner && !o->init_crf ? o->feat_bits : 0};
    if ((st = bh_head_new(&hc, o->seed + 1, &t->h))) return st;
    if (t->ner && o->init_crf) { /* the CRF's table and transitions as the start */
        bh_crf_tagger *tg = NULL;
        bh_head *fused = NULL;
        if (!(st = bh_crf_tagger_load(o->init_crf, &tg)) && bh_crf_tagger_clusters(tg))
            st = bh__fail(BH_EUNSUPPORTED, "%s has word clusters: start from it with bhasha crf fuse after fine-tuning",
                          o->init_crf);
        if (!st) st = crf_covers_gold(tg, &t->labels, &t->tr, o->init_crf);
        if (st || (st = bh_head_fuse_crf(t->h, tg, o->crf_weight > 0 ? o->crf_weight : 1.0f, &fused))) {
            bh_crf_tagger_free(tg);
            return st;
        }
        bh_crf_tagger_free(tg);
        bh_head_free(t->h);
        t->h = fused;
    }
    if (!t->ner && o->class_weights) { /* n / (C * count_c), as scikit-learn's "balanced" */
        if (!(t->cw = calloc((size_t)t->labels.n, sizeof(float)))) return bh__fail(BH_ENOMEM, "out of memory");
        for (long i = 0; i < t->tr.n; i++) t->cw[t->tr.ex[i].label] += 1.0f;
        for (int j = 0; j < t->labels.n; j++) t->cw[j] = (float)t->tr.n / ((float)t->labels.n * t->cw[j]);
    }
    if (!(t->order = malloc(sizeof(long) * (size_t)t->tr.n))) return bh__fail(BH_ENOMEM, "out of memory");
    for (long i = 0; i < t->tr.n; i++) t->order[i] = i;
    t->nb = (t->tr.n + o->batch - 1) / o->batch;
    return BH_OK;
}

/* The run's dev metric: the task's own for one task; for several, the mean
 * of each task's metric on a 0..1 scale (entity F1 / 100). */
static double combined(const ftask *t, int K, const double *dev)
{
    if (K == 1) return dev[0];
    double s = 0;
    for (int k = 0; k < K; k++) s += t[k].ner ? dev[k] / 100.0 : dev[k];
    return s / K;
}

static bh_status save_best(const bh__ft_options *o, bh_model *m, const ftask *t, int K, const enc *e, int epoch,
                           double dev, const double *devs, const char *metric)
{
    bh_head *hs[BH__FT_MAXTASKS];
    for (int k = 0; k < K; k++) hs[k] = t[k].h;
    bh_status st = bh_model_save_heads(m, hs, K, o->out);
    if (st) return st;
    json_t *j = json_object();
    json_object_set_new(j, "task", json_string(o->task == BH__FT_SENTIMENT ? "sentiment" : "ner"));
    json_object_set_new(j, "head", json_string(bh_head_name(t[0].h)));
    json_object_set_new(j, "tokenizer", json_string(bh__ft_tok_file(e->tok)));
    json_object_set_new(j, "normalize", json_boolean(o->normalize));
    json_object_set_new(j, "seq", json_integer(o->seq));
    json_object_set_new(j, "metric", json_string(metric));
    json_object_set_new(j, "best_epoch", json_integer(epoch));
    json_object_set_new(j, "dev", json_real(dev));
    json_t *tasks = json_array();
    for (int k = 0; k < K; k++)
        json_array_append_new(tasks, json_pack("{s:s, s:s, s:s, s:f}", "task", t[k].ner ? "ner" : "sentiment", "head",
                                               bh_head_name(t[k].h), "metric", t[k].ner ? "entity_f1" : "macro_f1",
                                               "dev", devs[k]));
    json_object_set_new(j, "tasks", tasks);
    char path[4096];
    snprintf(path, sizeof path, "%s/finetune.json", o->out);
    st = bh__atomic_write_json(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return st;
}

bh_status bh__finetune(const bh__ft_options *o, bh__ft_result *res)
{
    if (!o || !res) return bh__fail(BH_EINVAL, "bh__finetune: NULL argument");
    bh_status st = check_options(o);
    if (st) return st;
    memset(res, 0, sizeof *res);
    res->test = -1;
    int K = 1 + o->nalso;
    res->ntasks = K;
    res->metric = K > 1 ? "mean_dev" : o->task == BH__FT_NER ? "entity_f1" : "macro_f1";
    double t0 = bh__ft_now();
    bh_model *m = NULL;
    bh_optim *om = NULL;
    enc e = {0};
    ftask *tk = calloc((size_t)K, sizeof *tk);
    batch b = {0};
    long (*sched)[2] = NULL; /* an epoch's batches: (task, first row in its order) */
    example **ptr = NULL;
    bh_head **best = NULL;
    bh_model *bm = NULL;
    int nbest = 0, synced = 0; /* synced: the processes have met (data-parallel) */
    float *hg = NULL;
    if (!tk) return bh__fail(BH_ENOMEM, "out of memory");

    if ((st = bh__ft_open_base(o, &m))) goto done;
    const bh_model_config *mc = bh_model_get_config(m);
    if (o->seq > mc->max_len) {
        st = bh__fail(BH_EINVAL, "sequence length %d exceeds the encoder's max_len %d", o->seq, mc->max_len);
        goto done;
    }
    bh__ft_options oo = *o; /* with the sequence length resolved */
    if (!oo.seq) oo.seq = mc->max_len < 128 ? mc->max_len : 128;
    if (oo.seq < 3) {
        st = bh__fail(BH_EINVAL, "the encoder's max_len %d leaves no room for [CLS] x [SEP]", mc->max_len);
        goto done;
    }
    o = &oo;
    if ((st = enc_open(&e, o->tokenizer, o->normalize, mc))) goto done;

    long spe = 0, maxhp = 0;
    for (int k = 0; k < K; k++) {
        ftask *t = &tk[k];
        t->o = *o;
        if (k > 0) { /* the task's own fields over the run's */
            const bh__ft_options *a = &o->also[k - 1];
            t->o.task = a->task;
            t->o.head_name = a->head_name;
            t->o.train = a->train, t->o.dev = a->dev, t->o.test = a->test;
            t->o.format = a->format, t->o.text_col = a->text_col, t->o.label_col = a->label_col;
            t->o.label_map = a->label_map;
            t->o.crf = a->crf, t->o.class_weights = a->class_weights;
            t->o.feat_bits = a->feat_bits, t->o.init_crf = a->init_crf, t->o.crf_weight = a->crf_weight;
        }
        t->ner = t->o.task == BH__FT_NER;
        if ((st = ftask_open(t, &e, mc))) goto done;
        for (int j = 0; j < k; j++)
            if (!strcmp(bh_head_name(tk[j].h), bh_head_name(t->h))) {
                st = bh__fail(BH_EINVAL, "two tasks with the head name %s: name them (head=NAME)", bh_head_name(t->h));
                goto done;
            }
        spe += t->nb;
        if ((long)head_params(t->h) > maxhp) maxhp = (long)head_params(t->h);
        res->task_dev[k] = res->task_test[k] = -1;
        snprintf(res->task_head[k], sizeof res->task_head[k], "%s", bh_head_name(t->h));
    }
    res->n_train = tk[0].tr.records;
    res->n_dev = tk[0].dv.records;
    res->n_test = tk[0].ts.records;
    res->n_labels = tk[0].labels.n;
    long total = spe * o->epochs;
    bh_optim_config oc;
    bh__ft_optim_config(o, total, &oc);
    if ((st = bh_optim_new(m, &oc, &om))) goto done;
    for (int k = 0; k < K; k++)
        if ((st = bh_optim_new_head(tk[k].h, &oc, &tk[k].oh))) goto done;
    sched = malloc(sizeof *sched * (size_t)spe);
    ptr = malloc(sizeof(example *) * (size_t)o->batch);
    if (o->nranks > 1 && !(hg = malloc(sizeof(float) * ((size_t)maxhp + 1)))) st = BH_ENOMEM;
    if (!sched || !ptr || st) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < K; k++) {
        ftask *t = &tk[k];
        bh__ft_log(o, "finetune %s (head %s): %ld train / %ld dev %s, %d labels, %ld sequences (%ld tokens)",
                   t->ner ? "ner" : "sentiment", bh_head_name(t->h), t->tr.records, t->dv.records,
                   t->ner ? "sentences" : "texts", t->labels.n, t->tr.n, t->tr.tokens);
    }
    bh__ft_log(o, "finetune: %zu encoder parameters, %d task(s), %ld steps (%ld per epoch), warm-up %d",
               bh_model_num_params(m), K, total, spe, oc.warmup);
    if (o->nranks > 1)
        bh__ft_log(o, "finetune: %d processes, each %d%s of the %d rows of every batch", o->nranks, o->batch / o->nranks,
              o->batch % o->nranks ? " or +1" : "", o->batch);
    /* every process has read the same files: all go on, or all stop */
    synced = 1;
    if ((st = dp_agree(o, BH_OK, res))) goto done;

    int D = mc->dim, bad_epochs = 0, nr = o->nranks > 1 ? o->nranks : 1;
    uint64_t rng = bh__ft_data_rng(o);
    double best_dev = -1, ttrain = 0, ntok = 0, devs[BH__FT_MAXTASKS];
    long step = 0;
    for (int ep = 1; ep <= o->epochs; ep++) {
        /* each task's rows shuffled, then the batches of all tasks
         * interleaved in a shuffled order (one task per batch) */
        long ns = 0;
        for (int k = 0; k < K; k++) {
            bh__ft_shuffle(tk[k].order, tk[k].tr.n, &rng);
            for (long i0 = 0; i0 < tk[k].tr.n; i0 += o->batch) sched[ns][0] = k, sched[ns++][1] = i0;
        }
        if (K > 1)
            for (long i = ns - 1; i > 0; i--) {
                long j = (long)(bh_rng_next(&rng) % (uint64_t)(i + 1)), a = sched[i][0], c = sched[i][1];
                sched[i][0] = sched[j][0], sched[i][1] = sched[j][1];
                sched[j][0] = a, sched[j][1] = c;
            }
        double lsum = 0, te = bh__ft_now();
        long nb = 0;
        for (long si = 0; si < ns; si++, step++, nb++) {
            ftask *t = &tk[sched[si][0]];
            long i0 = sched[si][1];
            int ner = t->ner;
            int B = (int)(t->tr.n - i0 < o->batch ? t->tr.n - i0 : o->batch);
            for (int i = 0; i < B; i++) ptr[i] = &t->tr.ex[t->order[i0 + i]];
            /* this process's rows [lo, hi) of the batch, padded to the whole
             * batch's length so that dropout keys (global row * T + position)
             * match one process's */
            int lo = (int)((long)B * o->rank / nr), hi = (int)((long)B * (o->rank + 1) / nr), nbr = hi - lo;
            /* w: this part's share of the loss normalizer (labelled words, or
             * the rows' class weights); summed over the processes */
            double w[2] = {0, 0};
            if ((st = batch_fill_to(&b, ptr + lo, nbr, longest(ptr, B), D, e.pad))) w[1] = 1;
            for (int i = 0; !st && i < nbr; i++) {
                if (!ner) w[0] += t->cw ? t->cw[b.y[i]] : 1.0;
                else
                    for (int q = 0; q < b.T; q++) w[0] += b.lab[(size_t)i * b.T + q] != IGNORE;
            }
            double wpart = w[0];
            bh_status rs = dp_reduce(o, w, 2, 1);
            if (st || (st = rs)) goto done;
            if (w[1] > 0) {
                st = bh__fail(BH_EIO, "another process of the data-parallel run failed");
                res->peer_error = 1;
                goto done;
            }
            bh_model_zero_grad(m);
            bh_head_zero_grad(t->h);
            /* the gradient of (this part's loss) * wpart / w = its share of the batch's loss */
            float loss = 0, scale = w[0] > 0 ? (float)(wpart / w[0]) : 0.0f;
            if (nbr > 0) {
                st = bh_model_forward_train_part(m, b.ids, b.mask, nbr, b.T, rng ^ ((uint64_t)step << 17), lo, b.hid);
                if (!st && ner)
                    st = bh_head_token_loss_feats(t->h, b.hid, b.feats, nbr, b.T, D, b.lab, scale, &loss, NULL, b.dhid);
                else if (!st) st = bh_head_seq_loss(t->h, b.hid, b.mask, nbr, b.T, D, b.y, t->cw, scale, &loss, b.dhid);
                if (!st && isfinite(loss)) st = bh_model_backward(m, b.dhid);
            }
            /* sc: the batch's loss, a non-finite one, another error */
            double sc[3] = {(double)loss * scale, !st && !isfinite(loss), st != 0};
            if (nr == 1) sc[0] = loss;
            rs = dp_reduce(o, sc, 3, 1);
            if (st || (st = rs)) goto done;
            if (sc[2] > 0) {
                st = bh__fail(BH_EIO, "another process of the data-parallel run failed");
                res->peer_error = 1;
                goto done;
            }
            loss = (float)sc[0];
            if (sc[1] > 0 || !isfinite(loss)) {
                st = bh__fail(BH_ENUMERIC, "step %ld: loss is %f", step + 1, fabs((double)loss));
                res->peer_error = o->rank != 0;
                goto done;
            }
            if (nr > 1 && (st = dp_grads(o, m, t->h, hg))) goto done;
            float lr, norm;
            if ((st = bh__ft_update(o, &oc, step, m, om, t->h, t->oh, &lr, &norm))) goto done;
            lsum += loss;
            for (int i = 0; i < B; i++) ntok += ptr[i]->n;
            if ((step + 1) % o->log_every == 0 || step + 1 == total)
                bh__ft_progress(o, ep, step, total, lsum / (double)(nb + 1), lr, norm, ntok,
                                ttrain + (bh__ft_now() - te));
        }
        ttrain += bh__ft_now() - te;
        double mean = lsum / (double)(nb ? nb : 1), dev = 0;
        if (ep == 1) res->first_loss = mean;
        res->last_loss = mean;
        res->epochs_run = ep;
        /* rank 0 scores dev and saves; the others take its metric, so that
         * all make the same early-stopping decision */
        int improved = 0;
        if (o->rank == 0) {
            for (int k = 0; !st && k < K; k++) st = evaluate(m, tk[k].h, &tk[k].dv, o->batch, e.pad, &devs[k]);
            if (!st) dev = combined(tk, K, devs);
            if (!st && (improved = dev > best_dev)) st = save_best(o, m, tk, K, &e, ep, dev, devs, res->metric);
        }
        double dvs[2] = {st ? 0 : dev, st != 0};
        bh_status rs = dp_reduce(o, dvs, 2, 1);
        if (st || (st = rs)) goto done;
        if (dvs[1] > 0) {
            st = bh__fail(BH_EIO, "another process of the data-parallel run failed");
            res->peer_error = 1;
            goto done;
        }
        dev = dvs[0];
        improved = dev > best_dev;
        if (improved) {
            best_dev = dev;
            res->best_epoch = ep;
            bad_epochs = 0;
            if (o->rank == 0)
                for (int k = 0; k < K; k++) res->task_dev[k] = devs[k];
        } else {
            bad_epochs++;
        }
        if (K > 1 && o->rank == 0)
            for (int k = 0; k < K; k++)
                bh__ft_log(o, "epoch %d %s dev %s %.4f", ep, bh_head_name(tk[k].h), tk[k].ner ? "entity-F1" : "macro-F1",
                           devs[k]);
        bh__ft_log(o, "epoch %d/%d train loss %.4f dev %s %.4f%s (%.1f s)", ep, o->epochs, mean,
                   K > 1 ? "mean" : tk[0].ner ? "entity-F1" : "macro-F1", dev, improved ? " best, saved" : "",
                   bh__ft_now() - t0);
        if (o->on_epoch && o->rank == 0) o->on_epoch(o->ctx, ep, mean, dev);
        if (o->patience && bad_epochs >= o->patience) {
            bh__ft_log(o, "no dev improvement in %d epochs: stopping", bad_epochs);
            break;
        }
    }
    res->steps = step;
    res->best_dev = best_dev;
    if (o->rank != 0) goto finish; /* rank 0 alone writes and tests */
    /* tokenizer next to the weights, so the directory runs on its own */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, bh__ft_tok_file(e.tok));
    if ((st = bh__atomic_copy(o->tokenizer, path))) goto done;
    int any_test = 0;
    for (int k = 0; k < K; k++) any_test |= tk[k].o.test != NULL;
    if (any_test) { /* the best epoch's checkpoint, as saved */
        if ((st = bh_model_load(o->out, 0, &bm)) || (st = bh_heads_load(o->out, &best, &nbest))) goto done;
        if (nbest != K) {
            st = bh__fail(BH_EINTERNAL, "%s: %d heads after saving %d", o->out, nbest, K);
            goto done;
        }
        if ((st = bh_model_set_threads(bm, o->threads))) goto done;
        for (int k = 0; k < K; k++) {
            if (!tk[k].o.test) continue;
            if ((st = evaluate(bm, best[k], &tk[k].ts, o->batch, e.pad, &res->task_test[k]))) goto done;
            bh__ft_log(o, "test %s %s %.4f (best epoch %d)", bh_head_name(best[k]),
                       tk[k].ner ? "entity-F1" : "macro-F1", res->task_test[k], res->best_epoch);
        }
        res->test = res->task_test[0];
    }
finish:
    res->seconds = bh__ft_now() - t0;
done:
    if (st && !synced) st = dp_agree(o, st, res); /* meet the others before the training loop */
    free(hg);
    bh_heads_free(best, nbest);
    bh_model_free(bm);
    batch_free(&b);
    free(sched);
    free(ptr);
    for (int k = 0; k < K; k++) ftask_free(&tk[k]);
    free(tk);
    enc_close(&e);
    bh_optim_free(om);
    bh_model_free(m);
    return st;
}

/* -------------------------------------------------------------- inference */

/* DIR/finetune.json (the settings of the run that wrote DIR) into *j; an
 * empty object when the file is absent. *tok: the tokenizer's file name in
 * DIR (a bare name from the settings, else tokenizer.model). */
static bh_status read_settings(const char *dir, json_t **j, const char **tok)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/finetune.json", dir);
    *j = NULL;
    *tok = "tokenizer.model";
    FILE *f = fopen(path, "rb");
    if (!f) return (*j = json_object()) ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    fclose(f);
    json_error_t je;
    if (!(*j = json_load_file(path, 0, &je)) || !json_is_object(*j))
        return bh__fail(BH_EFORMAT, "%s line %d: %s", path, je.line, *j ? "not an object" : je.text);
    json_t *v = json_object_get(*j, "tokenizer");
    if (json_is_string(v) && !strchr(json_string_value(v), '/')) *tok = json_string_value(v);
    return BH_OK;
}

struct bh__ft_model {
    bh__ft_task task;
    bh_model *m;
    bh_head **heads;
    int nheads;
    bh_head *h;
    enc e;
    int seq;
    bh_segmenter *seg;
    bh_spans words;
    const bh_span *given; /* bh__ft_tag_words: the words, instead of segmenting */
    int ngiven;
    batch b;
    int32_t *ids, *wtag;
    float *wscore, *probs;
    int wcap;
    /* word clusters of the fused token heads whose CRF had them: the table
       (owned when read from the directory, else the tagger's) and the heads'
       names */
    bh_word_clusters *wc;
    int wc_owned;
    char *wc_heads[BH__FT_MAX_CL_HEADS];
    int nwc_heads;
};

/* The cluster table the features of head h take, or NULL. */
static const bh_word_clusters *head_clusters(const bh__ft_model *fm, const bh_head *h)
{
    for (int i = 0; h && i < fm->nwc_heads; i++)
        if (!strcmp(fm->wc_heads[i], bh_head_name(h))) return fm->wc;
    return NULL;
}

static bh_status add_cluster_head(bh__ft_model *fm, const char *name)
{
    for (int i = 0; i < fm->nwc_heads; i++)
        if (!strcmp(fm->wc_heads[i], name)) return BH_OK;
    if (fm->nwc_heads == BH__FT_MAX_CL_HEADS) return bh__fail(BH_ELIMIT, "more than %d heads with word clusters", BH__FT_MAX_CL_HEADS);
    if (!(fm->wc_heads[fm->nwc_heads] = strdup(name))) return bh__fail(BH_ENOMEM, "out of memory");
    fm->nwc_heads++;
    return BH_OK;
}

bh_status bh__ft_set_clusters(bh__ft_model *fm, const char *head, const bh_word_clusters *wc)
{
    if (!fm || !head || !wc) return bh__fail(BH_EINVAL, "bh__ft_set_clusters: NULL argument");
    if (fm->wc && fm->wc != wc) { /* the directory's table: the same text, or the heads disagree */
        size_t a, b;
        const char *ta = bh__wc_text(fm->wc, &a), *tb = bh__wc_text(wc, &b);
        if (a != b || memcmp(ta, tb, a))
            return bh__fail(BH_EUNSUPPORTED, "the model's fused heads use other word clusters than this CRF (one table a model)");
    } else {
        fm->wc = (bh_word_clusters *)wc;
        fm->wc_owned = 0;
    }
    return add_cluster_head(fm, head);
}

/* The "word_clusters" files named by DIR/finetune.json's fused CRF heads:
   one table, read once. */
static bh_status load_clusters(bh__ft_model *fm, const char *dir, json_t *settings)
{
    json_t *fz = json_object_get(settings, "fused_crf"), *v;
    const char *name, *file = NULL;
    json_object_foreach(fz, name, v) {
        json_t *f = json_object_get(v, "word_clusters");
        if (!f) continue;
        const char *fn = json_string_value(f);
        if (!fn || !*fn || strchr(fn, '/') || (file && strcmp(file, fn)))
            return bh__fail(BH_EFORMAT, "%s/finetune.json: head %s: \"word_clusters\" must name one file of the directory",
                            dir, name);
        file = fn;
        bh_status st = add_cluster_head(fm, name);
        if (st) return st;
    }
    if (!file) return BH_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fm->wc_owned = 1;
    return bh_word_clusters_load(path, &fm->wc);
}

void bh__ft_free(bh__ft_model *fm)
{
    if (!fm) return;
    bh_model_free(fm->m);
    bh_heads_free(fm->heads, fm->nheads);
    enc_close(&fm->e);
    bh_segmenter_free(fm->seg);
    bh_spans_free(&fm->words);
    batch_free(&fm->b);
    free(fm->ids);
    free(fm->wtag);
    free(fm->wscore);
    free(fm->probs);
    if (fm->wc_owned) bh_word_clusters_free(fm->wc);
    for (int i = 0; i < fm->nwc_heads; i++) free(fm->wc_heads[i]);
    free(fm);
}

const bh_head *bh__ft_head(const bh__ft_model *fm) { return fm ? fm->h : NULL; }

bh_status bh__ft_set_precision(bh__ft_model *fm, bh_precision p)
{
    return fm ? bh_model_set_precision(fm->m, p) : bh__fail(BH_EINVAL, "bh__ft_set_precision: NULL model");
}

bh_status bh__ft_load(const char *dir, bh__ft_task task, const char *head, int threads, bh__ft_model **out)
{
    if (!dir || !out) return bh__fail(BH_EINVAL, "bh__ft_load: NULL argument");
    *out = NULL;
    bh__ft_model *fm = calloc(1, sizeof *fm);
    if (!fm) return bh__fail(BH_ENOMEM, "out of memory");
    fm->task = task;
    char path[4096];
    json_t *j = NULL;
    bh_status st;
    if ((st = bh_model_load(dir, BH_MODEL_MMAP, &fm->m)) || (st = bh_model_set_threads(fm->m, threads > 0 ? threads : 1)) ||
        (st = bh_heads_load(dir, &fm->heads, &fm->nheads)))
        goto fail;
    bh_head_kind want = task == BH__FT_NER ? BH_HEAD_TOKEN : BH_HEAD_SEQUENCE;
    int tokens = 0; /* a token head needs the word segmenter */
    for (int i = 0; i < fm->nheads; i++) {
        bh_head_kind k = bh_head_get_kind(fm->heads[i]);
        tokens |= k == BH_HEAD_TOKEN;
        if (!fm->h && (!task ? k != BH_HEAD_SPAN : k == want) && (!head || !strcmp(bh_head_name(fm->heads[i]), head)))
            fm->h = fm->heads[i];
    }
    if (!fm->h && !task) {
        st = bh__fail(BH_ENOTFOUND, "%s has no sentiment or NER head%s%s", dir, head ? " named " : "", head ? head : "");
        goto fail;
    }
    if (!fm->h) {
        st = bh__fail(BH_ENOTFOUND, "%s has no %s head%s%s", dir, task == BH__FT_NER ? "token (ner)" : "sequence (sentiment)",
                      head ? " named " : "", head ? head : "");
        goto fail;
    }
    /* settings of the run that wrote the directory; defaults without the file */
    int normalize = 1;
    const char *tokname;
    fm->seq = bh_model_get_config(fm->m)->max_len;
    if ((st = read_settings(dir, &j, &tokname)) || (st = load_clusters(fm, dir, j))) goto fail;
    json_t *v;
    if ((v = json_object_get(j, "normalize"))) normalize = json_is_true(v);
    if ((v = json_object_get(j, "seq")) && json_is_integer(v) && json_integer_value(v) >= 3 &&
        json_integer_value(v) <= fm->seq)
        fm->seq = (int)json_integer_value(v);
    snprintf(path, sizeof path, "%s/%s", dir, tokname);
    if ((st = enc_open(&fm->e, path, normalize, bh_model_get_config(fm->m)))) goto fail;
    if (tokens && (st = bh_segmenter_new(&fm->seg))) goto fail;
    fm->ids = malloc(sizeof(int32_t) * (size_t)(fm->seq + 2));
    int maxc = 1;
    for (int i = 0; i < fm->nheads; i++) maxc = bh_head_n_labels(fm->heads[i]) > maxc ? bh_head_n_labels(fm->heads[i]) : maxc;
    fm->probs = malloc(sizeof(float) * (size_t)maxc);
    if (!fm->ids || !fm->probs) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto fail;
    }
    json_decref(j);
    *out = fm;
    return BH_OK;
fail:
    json_decref(j);
    bh__ft_free(fm);
    return st;
}

/* Code point offset of byte offset b in s (UTF-8 continuation bytes do not count). */
static size_t cp_offset(const char *s, size_t b, size_t *from_b, size_t *from_cp)
{
    size_t cp = *from_cp;
    for (size_t i = *from_b; i < b; i++) cp += ((unsigned char)s[i] & 0xC0) != 0x80;
    *from_b = b;
    *from_cp = cp;
    return cp;
}

/* A language with a head of its own, for one written in the same script
 * without one: Assamese -> Bangla; Sanskrit, Marathi, Nepali, Maithili,
 * Bhojpuri, Konkani -> Hindi (the heads read the script's pieces). */
static const char *script_kin(const char *lang)
{
    static const char *const kin[][2] = {{"as", "bn"}, {"sa", "hi"}, {"mr", "hi"}, {"ne", "hi"},
                                         {"mai", "hi"}, {"bho", "hi"}, {"kok", "hi"}};
    for (size_t i = 0; lang && i < sizeof kin / sizeof kin[0]; i++)
        if (!strcmp(lang, kin[i][0])) return kin[i][1];
    return NULL;
}

/* The base of a kind's head names: "ner", "sentiment", "qa". */
static const char *kind_base(bh_head_kind kind)
{
    return kind == BH_HEAD_TOKEN ? "ner" : kind == BH_HEAD_SEQUENCE ? "sentiment" : "qa";
}

/* The head of a kind named exactly BASE_LANG, or NULL. */
static bh_head *head_for(const bh__ft_model *fm, bh_head_kind kind, const char *lang)
{
    char want[40];
    snprintf(want, sizeof want, "%s_%s", kind_base(kind), lang);
    for (int i = 0; i < fm->nheads; i++)
        if (bh_head_get_kind(fm->heads[i]) == kind && !strcmp(bh_head_name(fm->heads[i]), want)) return fm->heads[i];
    return NULL;
}

bh_head *bh__ft_find_head(const bh__ft_model *fm, bh_head_kind kind, const char *lang)
{
    if (!fm) return NULL;
    bh_head *h = lang ? head_for(fm, kind, lang) : NULL;
    if (!h && script_kin(lang)) h = head_for(fm, kind, script_kin(lang));
    if (h) return h;
    const char *base = kind_base(kind);
    bh_head *first = NULL;
    for (int i = 0; i < fm->nheads; i++) {
        bh_head *x = fm->heads[i];
        if (bh_head_get_kind(x) != kind) continue;
        if (!strcmp(bh_head_name(x), base)) return x;
        if (!first) first = x;
    }
    return first;
}

/* The words of text and their pieces (fm->words, fm->e). *nw = 0 for a text
 * without words. */
static bh_status run_words(bh__ft_model *fm, const char *text, size_t len, int *nw)
{
    *nw = 0;
    bh_status st = BH_OK;
    if (fm->given) {
        if ((size_t)fm->ngiven > fm->words.cap) {
            bh_span *v = realloc(fm->words.v, sizeof *v * (size_t)fm->ngiven);
            if (!v) return bh__fail(BH_ENOMEM, "out of memory");
            fm->words.v = v;
            fm->words.cap = (size_t)fm->ngiven;
        }
        memcpy(fm->words.v, fm->given, sizeof *fm->words.v * (size_t)fm->ngiven);
        fm->words.n = (size_t)fm->ngiven;
    } else {
        st = fm->seg ? BH_OK : bh_segmenter_new(&fm->seg);
        if (!st) st = bh_segment(fm->seg, BH_SEG_WORD, text, len, &fm->words);
    }
    if (st) return st;
    int n = (int)fm->words.n;
    if (!n) return BH_OK;
    const char **wp = calloc((size_t)n, sizeof(char *));
    size_t *wl = calloc((size_t)n, sizeof(size_t));
    if (!wp || !wl) {
        free(wp);
        free(wl);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        wp[i] = text + fm->words.v[i].start;
        wl[i] = fm->words.v[i].end - fm->words.v[i].start;
    }
    st = enc_words(&fm->e, wp, wl, n);
    free(wp);
    free(wl);
    if (!st) *nw = n;
    return st;
}

/* One encoder input of a bh__ft_run_many call: a chunk of whole words of
 * text `item` (words [w0, w1) of the call's word list), or the whole text
 * encoded as in training (sentiment alone; w0 = w1 = -1). */
typedef struct run_row {
    int item, w0, w1, T;
    int own0, own1; /* the words [own0, own1) whose tags this row gives (overlapping chunks) */
} run_row;

/* Rows, their ids and first-piece flags [R, stride], the words of all texts. */
typedef struct run_plan {
    run_row *rows;
    int32_t *ids;
    uint8_t *first;
    int n, cap, stride;
    bh_span *words;   /* every text's words, text after text */
    int *wfirst;      /* [items + 1]: the words of item i are [wfirst[i], wfirst[i + 1]) */
    int nw, wcap;
    uint32_t *feats;  /* [nw, BH_CRF_NFEAT] the words' feature hashes (token heads with word features) */
} run_plan;

static void plan_free(run_plan *p)
{
    free(p->rows), free(p->ids), free(p->first), free(p->words), free(p->wfirst), free(p->feats);
}

/* The feature hashes of every word of every text (p->feats). */
static bh_status plan_feats(run_plan *p, const char *const *texts, int ntexts, const bh_word_clusters *wc)
{
    size_t K = BH_CRF_NFEAT;
    p->feats = malloc(sizeof(uint32_t) * K * ((size_t)p->nw + 1));
    const char **wv = malloc(sizeof(char *) * ((size_t)p->nw + 1));
    bh_buf buf = {0};
    bh_status st = p->feats && wv ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    for (int i = 0; !st && i < ntexts; i++) {
        int a = p->wfirst[i], n = p->wfirst[i + 1] - a;
        bh_buf_clear(&buf);
        for (int w = a; !st && w < a + n; w++) /* NUL-terminated copies */
            if (bh_buf_append(&buf, texts[i] + p->words[w].start, p->words[w].end - p->words[w].start) ||
                bh_buf_append(&buf, "", 1))
                st = bh__fail(BH_ENOMEM, "out of memory");
        for (size_t w = 0, off = 0; !st && w < (size_t)n; w++) {
            wv[w] = buf.data + off;
            off += strlen(buf.data + off) + 1;
        }
        if (!st && n) st = bh_crf_word_features(wv, (size_t)n, wc, p->feats + (size_t)a * K);
    }
    free(wv);
    bh_buf_free(&buf);
    return st;
}

static bh_status plan_row(run_plan *p, int item, int w0, int w1)
{
    if (p->n == p->cap) {
        int nc = p->cap ? 2 * p->cap : 16;
        run_row *r = realloc(p->rows, sizeof *r * (size_t)nc);
        if (r) p->rows = r;
        int32_t *ids = realloc(p->ids, sizeof *ids * (size_t)nc * p->stride);
        if (ids) p->ids = ids;
        uint8_t *f = realloc(p->first, (size_t)nc * p->stride);
        if (f) p->first = f;
        if (!r || !ids || !f) return bh__fail(BH_ENOMEM, "out of memory");
        p->cap = nc;
    }
    p->rows[p->n] = (run_row){item, w0, w1, 0, w0, w1};
    return BH_OK;
}

/* The group of rows [r0, r1) as one padded batch through the encoder and the
 * heads: tags/scores of every word of the group's chunks, sentiment of each
 * row accumulated into its text's probs (weighted by the row's length). */
static bh_status run_group(bh__ft_model *fm, bh_head *sh, bh_head *nh, const run_plan *p, const int *ix, int G,
                           float *probs, float *wsum)
{
    int T = 1, D = bh_model_get_config(fm->m)->dim, C = sh ? bh_head_n_labels(sh) : 0;
    for (int g = 0; g < G; g++) T = p->rows[ix[g]].T > T ? p->rows[ix[g]].T : T;
    bh_status st = batch_reserve(&fm->b, G, T, D);
    if (st) return st;
    for (int g = 0; g < G; g++) {
        const run_row *rw = &p->rows[ix[g]];
        const int32_t *src = p->ids + (size_t)ix[g] * p->stride;
        const uint8_t *fs = p->first + (size_t)ix[g] * p->stride;
        for (int t = 0; t < T; t++) {
            int real = t < rw->T;
            fm->b.ids[(size_t)g * T + t] = real ? src[t] : fm->e.pad;
            fm->b.mask[(size_t)g * T + t] = (uint8_t)real;
            fm->b.first[(size_t)g * T + t] = real && fs[t];
        }
    }
    /* one padded row alone needs no mask: the unpadded path of training */
    const uint8_t *mask = G == 1 ? NULL : fm->b.mask;
    if ((st = bh_model_forward(fm->m, fm->b.ids, mask, G, T, fm->b.hid, NULL))) return st;
    if (sh) {
        float *pr = malloc(sizeof(float) * (size_t)G * C);
        if (!pr) return bh__fail(BH_ENOMEM, "out of memory");
        st = bh_head_seq_predict(sh, fm->b.hid, mask, G, T, D, pr);
        for (int g = 0; !st && g < G; g++) {
            /* a chunk counts by its length, scaled to the share of its words it owns */
            const run_row *rw = &p->rows[ix[g]];
            float wt = (float)rw->T;
            if (rw->w1 > rw->w0) wt *= (float)(rw->own1 - rw->own0) / (float)(rw->w1 - rw->w0);
            for (int j = 0; j < C; j++) probs[(size_t)rw->item * C + j] += pr[(size_t)g * C + j] * wt;
            wsum[rw->item] += wt;
        }
        free(pr);
        if (st) return st;
    }
    if (nh) {
        float *sc = (float *)fm->b.dhid; /* scratch [G*T] */
        if ((st = batch_feats(&fm->b, p->feats != NULL))) return st;
        uint32_t *fb = fm->b.feats; /* [G*T, BH_CRF_NFEAT] word features at the first pieces */
        if (fb) {
            size_t K = BH_CRF_NFEAT;
            for (int g = 0; g < G; g++) {
                const run_row *rw = &p->rows[ix[g]];
                int w = p->wfirst[rw->item] + rw->w0;
                for (int t = 0; t < T && rw->w0 >= 0; t++)
                    if (fm->b.first[(size_t)g * T + t])
                        memcpy(fb + ((size_t)g * T + t) * K, p->feats + (size_t)w++ * K, sizeof(uint32_t) * K);
            }
        }
        if ((st = bh_head_token_predict_feats(nh, fm->b.hid, fm->b.first, fb, G, T, D, fm->b.y, sc))) return st;
        for (int g = 0; g < G; g++) {
            const run_row *rw = &p->rows[ix[g]];
            int w = rw->w0, base = p->wfirst[rw->item];
            for (int t = 0; t < T && rw->w0 >= 0; t++)
                if (fm->b.first[(size_t)g * T + t]) {
                    if (w >= rw->own0 && w < rw->own1) {
                        fm->wtag[base + w] = fm->b.y[(size_t)g * T + t];
                        fm->wscore[base + w] = sc[(size_t)g * T + t];
                    }
                    w++;
                }
        }
    }
    return BH_OK;
}

/* BIO word tags of item `it` -> entities (offsets into its text). */
static bh_status decode_entities(bh__ft_model *fm, bh_head *nh, const run_plan *p, int it, const char *text,
                                 bh__ft_entity **ents, size_t *n, size_t *cap)
{
    size_t pb = 0, pc = 0;
    int wa = p->wfirst[it], wb = p->wfirst[it + 1];
    for (int w = wa; w < wb;) {
        const char *l = bh_head_label(nh, fm->wtag[w]);
        if (!l || !((l[0] == 'B' || l[0] == 'I') && l[1] == '-')) {
            w++;
            continue;
        }
        const char *type = l + 2;
        int w1 = w + 1;
        double s = fm->wscore[w];
        while (w1 < wb) {
            const char *k = bh_head_label(nh, fm->wtag[w1]);
            if (!k || k[0] != 'I' || k[1] != '-' || strcmp(k + 2, type)) break;
            s += fm->wscore[w1++];
        }
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 8;
            bh__ft_entity *ne = realloc(*ents, sizeof(bh__ft_entity) * nc);
            if (!ne) return bh__fail(BH_ENOMEM, "out of memory");
            *ents = ne;
            *cap = nc;
        }
        bh__ft_entity *en = &(*ents)[(*n)++];
        en->type = type;
        en->item = it;
        en->bstart = p->words[w].start;
        en->bend = p->words[w1 - 1].end;
        en->start = cp_offset(text, en->bstart, &pb, &pc);
        en->end = cp_offset(text, en->bend, &pb, &pc);
        en->score = (float)(s / (w1 - w));
        w = w1;
    }
    return BH_OK;
}

bh_status bh__ft_run_many(bh__ft_model *fm, bh_head *sh, bh_head *nh, const char *const *texts, const size_t *lens,
                          int ntexts, float *probs, bh__ft_entity **ents, size_t *n, size_t *cap)
{
    if (!fm || ntexts < 0 || (ntexts && (!texts || !lens)) || (!sh && !nh) || (sh && !probs) ||
        (nh && (!ents || !n || !cap)))
        return bh__fail(BH_EINVAL, "bh__ft_run: NULL argument");
    if ((sh && bh_head_get_kind(sh) != BH_HEAD_SEQUENCE) || (nh && bh_head_get_kind(nh) != BH_HEAD_TOKEN))
        return bh__fail(BH_EINVAL, "bh__ft_run: wrong kind of head");
    for (int i = 0; i < ntexts; i++)
        if (!texts[i] && lens[i]) return bh__fail(BH_EINVAL, "bh__ft_run: NULL text");
    if (n) *n = 0;
    int C = sh ? bh_head_n_labels(sh) : 0;
    run_plan p = {0};
    p.stride = fm->seq + 2;
    float *wsum = calloc((size_t)ntexts + 1, sizeof(float));
    p.wfirst = calloc((size_t)ntexts + 1, sizeof(int));
    bh_status st = wsum && p.wfirst ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    if (sh)
        for (size_t j = 0; j < (size_t)ntexts * C; j++) probs[j] = 0;
    /* 1. every text's rows: chunks of whole words (NER, or NER + sentiment),
     * or the text as in training (sentiment alone, or a text without words) */
    int budget = fm->seq - fm->e.nspecial;
    for (int i = 0; !st && i < ntexts; i++) {
        int nw = 0;
        p.wfirst[i] = p.nw;
        if (nh && lens[i] && (st = run_words(fm, texts[i], lens[i], &nw))) break;
        if (nw) {
            if (p.nw + nw > p.wcap) {
                int nc = 2 * (p.nw + nw);
                bh_span *v = realloc(p.words, sizeof *v * (size_t)nc);
                if (!v) {
                    st = bh__fail(BH_ENOMEM, "out of memory");
                    break;
                }
                p.words = v, p.wcap = nc;
            }
            memcpy(p.words + p.nw, fm->words.v, sizeof *p.words * (size_t)nw);
            /* a text longer than one chunk: chunks that overlap (chunk_step) */
            for (int w0 = 0, own0 = 0; !st && w0 < nw;) {
                int w1, own1, next = chunk_step(&fm->e, w0, own0, nw, budget, 1, &w1, &own1);
                if ((st = plan_row(&p, i, w0, w1))) break;
                p.rows[p.n].own0 = own0, p.rows[p.n].own1 = own1;
                p.rows[p.n].T = chunk_ids(&fm->e, w0, w1, budget, NULL, p.ids + (size_t)p.n * p.stride, NULL,
                                          p.first + (size_t)p.n * p.stride);
                p.n++;
                w0 = next, own0 = own1;
            }
            p.nw += nw;
        } else if (sh) {
            int T;
            if ((st = plan_row(&p, i, -1, -1))) break;
            const char *t = nh ? "" : texts[i]; /* with NER on, a text without words is empty */
            if ((st = text_ids(&fm->e, t ? t : "", nh ? 0 : lens[i], fm->seq, p.ids + (size_t)p.n * p.stride, &T)))
                break;
            memset(p.first + (size_t)p.n * p.stride, 0, (size_t)p.stride);
            p.rows[p.n++].T = T;
        }
    }
    if (!st) p.wfirst[ntexts] = p.nw;
    if (!st && nh && bh_head_feat_bits(nh)) st = plan_feats(&p, texts, ntexts, head_clusters(fm, nh));
    if (!st && p.nw > fm->wcap) {
        free(fm->wtag);
        free(fm->wscore);
        fm->wtag = malloc(sizeof(int32_t) * (size_t)p.nw);
        fm->wscore = malloc(sizeof(float) * (size_t)p.nw);
        fm->wcap = fm->wtag && fm->wscore ? p.nw : 0;
        if (!fm->wcap) st = bh__fail(BH_ENOMEM, "out of memory");
    }
    /* 2. rows by length (little padding), in groups of at most 8 rows or 256
     * padded positions: small enough that a group's activations stay in the
     * core's cache (on news text, groups of 4,096 positions were 1.3-1.6x
     * slower than these, and one row at a time 1.1-1.3x slower) */
    int *ix = st ? NULL : malloc(sizeof(int) * ((size_t)p.n + 1));
    if (!st && !ix) st = bh__fail(BH_ENOMEM, "out of memory");
    for (int r = 0; !st && r < p.n; r++) { /* insertion sort on T, stable */
        int j = r;
        while (j > 0 && p.rows[ix[j - 1]].T > p.rows[r].T) ix[j] = ix[j - 1], j--;
        ix[j] = r;
    }
    for (int r0 = 0; !st && r0 < p.n;) {
        int r1 = r0;
        while (r1 < p.n && r1 - r0 < 8 && (r1 == r0 || p.rows[ix[r1]].T * (r1 - r0 + 1) <= 256)) r1++;
        st = run_group(fm, sh, nh, &p, ix + r0, r1 - r0, probs, wsum);
        r0 = r1;
    }
    free(ix);
    if (!st && sh)
        for (int i = 0; i < ntexts; i++)
            for (int j = 0; j < C && wsum[i] > 0; j++) probs[(size_t)i * C + j] /= wsum[i];
    /* a head with an n-gram layer: the whole text's n-grams on top of the chunks' probabilities */
    for (int i = 0; !st && sh && bh_head_feat_bits(sh) && i < ntexts; i++)
        st = bh_head_seq_fuse_text(sh, texts[i] ? texts[i] : "", lens[i], probs + (size_t)i * C);
    for (int i = 0; !st && nh && i < ntexts; i++) st = decode_entities(fm, nh, &p, i, texts[i], ents, n, cap);
    plan_free(&p);
    free(wsum);
    return st;
}

bh_status bh__ft_save_fused(const bh__ft_model *fm, const char *src, const bh_head *old, bh_head *fused,
                            double weight, const char *out)
{
    if (!fm || !src || !old || !fused || !out) return bh__fail(BH_EINVAL, "bh__ft_save_fused: NULL argument");
    bh_head **hs = malloc(sizeof *hs * ((size_t)fm->nheads + 1));
    if (!hs) return bh__fail(BH_ENOMEM, "out of memory");
    int found = 0;
    for (int i = 0; i < fm->nheads; i++) {
        found |= fm->heads[i] == old;
        hs[i] = fm->heads[i] == old ? fused : fm->heads[i];
    }
    bh_status st = found ? bh_model_save_heads(fm->m, hs, fm->nheads, out)
                         : bh__fail(BH_EINVAL, "bh__ft_save_fused: head %s is not the model's", bh_head_name(old));
    free(hs);
    char from[4096], to[4096];
    json_t *j = NULL;
    const char *tn;
    if (!st && !(st = read_settings(src, &j, &tn))) { /* the tokenizer and the settings next to the weights */
        snprintf(from, sizeof from, "%s/%s", src, tn);
        snprintf(to, sizeof to, "%s/%s", out, tn);
        st = bh__atomic_copy(from, to);
    }
    if (!st && fm->wc && fm->nwc_heads) { /* the cluster table the fused token heads read */
        size_t n;
        const char *text = bh__wc_text(fm->wc, &n);
        snprintf(to, sizeof to, "%s/" BH__FT_CLUSTERS_FILE, out);
        bh__atomic a;
        if (!(st = bh__atomic_open(&a, to))) {
            if (fwrite(text, 1, n, a.f) == n) st = bh__atomic_commit(&a);
            else bh__atomic_abort(&a), st = bh__fail(BH_EIO, "cannot write %s", to);
        }
    }
    if (!st) {
        const char *key = bh_head_get_kind(fused) == BH_HEAD_TOKEN ? "fused_crf" : "fused_ngrams";
        json_t *fz = json_object_get(j, key);
        if (!json_is_object(fz)) json_object_set_new(j, key, fz = json_object());
        json_t *e = json_pack("{s:f, s:i}", "weight", weight, "feat_bits", bh_head_feat_bits(fused));
        json_object_set_new(fz, bh_head_name(fused), e);
        json_t *crf = json_object_get(j, "fused_crf"); /* every head with clusters reads the table just written */
        for (int i = 0; i < fm->nwc_heads; i++) {
            json_t *h = json_object_get(crf, fm->wc_heads[i]);
            if (json_is_object(h)) json_object_set_new(h, "word_clusters", json_string(BH__FT_CLUSTERS_FILE));
        }
        snprintf(to, sizeof to, "%s/finetune.json", out);
        st = bh__atomic_write_json(j, to, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    }
    json_decref(j);
    return st;
}

bh_status bh__ft_tag_words(bh__ft_model *fm, bh_head *nh, const char *const *words, int n, int32_t *tags)
{
    if (!fm || !nh || n < 0 || (n && (!words || !tags))) return bh__fail(BH_EINVAL, "bh__ft_tag_words: NULL argument");
    if (!n) return BH_OK;
    bh_buf text = {0};
    bh_span *sp = malloc(sizeof *sp * (size_t)n);
    int *at = malloc(sizeof *at * (size_t)n), m = 0; /* at[i]: word i's place among the non-empty words */
    bh_status st = sp && at ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    for (int i = 0; !st && i < n; i++) { /* the non-empty words joined by spaces, each a span of the text */
        size_t l = words[i] ? strlen(words[i]) : 0;
        at[i] = l ? m : -1;
        if (!l) continue;
        if ((m && bh_buf_append(&text, " ", 1)) || bh_buf_append(&text, words[i], l))
            st = bh__fail(BH_ENOMEM, "out of memory");
        else sp[m++] = (bh_span){.start = text.len - l, .end = text.len};
    }
    bh__ft_entity *ents = NULL;
    size_t ne = 0, cap = 0;
    if (!st && m) {
        fm->given = sp;
        fm->ngiven = m;
        const char *t = text.data;
        st = bh__ft_run_many(fm, NULL, nh, &t, &text.len, 1, NULL, &ents, &ne, &cap);
        fm->given = NULL;
        fm->ngiven = 0;
    }
    int o = bh_head_label_index(nh, "O");
    for (int i = 0; !st && i < n; i++) tags[i] = at[i] >= 0 ? fm->wtag[at[i]] : o;
    free(ents);
    free(sp);
    free(at);
    bh_buf_free(&text);
    return st;
}

bh_status bh__ft_run(bh__ft_model *fm, bh_head *sh, bh_head *nh, const char *text, size_t len,
                     float *probs, bh__ft_entity **ents, size_t *n, size_t *cap)
{
    const char *t = text ? text : "";
    return bh__ft_run_many(fm, sh, nh, &t, &len, 1, probs, ents, n, cap);
}
