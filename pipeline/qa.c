/* pipeline/qa.c — extractive QA over an encoder with a span head (see
 * pipeline/qa.h): SQuAD / JSON-lines reading, question + context-window
 * sequences with piece offsets into the original context, the fine-tuning
 * loop (AdamW with warm-up and linear decay, clipping, early stopping on dev
 * SQuAD F1, the best checkpoint), and answering one question. */
#include "pipeline/qa.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unicode/uchar.h>
#include <utf8proc.h>

#include "bhasha/corpus.h"
#include "bhasha/eval.h"
#include "bhasha/model.h"
#include "bhasha/normalize.h"
#include "bhasha/segment.h"
#include "bhasha/subword.h"
#include "core/error.h"
#include "models/safetensors.h"

/* ------------------------------------------------------------ tokenization */

typedef struct qtok {
    bh_segmenter *seg; /* sentences and words for the question-overlap sentence (made when first needed) */
    bh_spans sents, words;
    bh_tokenizer *tok;
    bh_special_ids sp;
    int32_t unk, pad;
    int normalize;
    bh_tokens tk;
    bh_buf nb;
    bh_buf lex;     /* the answer-type words (QA_LEX), normalized as the model sees them, one after the other */
    size_t *lexo;   /* entry k is lex.data[lexo[k], lexo[k + 1]) */
} qtok;

/* Pieces of a context: ids [n], bytes [b, e) of the original text. */
typedef struct pieces {
    int32_t *ids;
    size_t *b, *e;
    int n, cap;
} pieces;

static void pieces_free(pieces *p)
{
    free(p->ids);
    free(p->b);
    free(p->e);
    memset(p, 0, sizeof *p);
}

static bh_status pieces_push(pieces *p, int32_t id, size_t b, size_t e)
{
    if (p->n == p->cap) {
        if (p->cap > INT_MAX / 2) return bh__fail(BH_ELIMIT, "a context of more than %d pieces", p->cap);
        int nc = p->cap ? 2 * p->cap : 64;
        int32_t *ni = realloc(p->ids, sizeof(int32_t) * (size_t)nc);
        if (ni) p->ids = ni;
        size_t *nb = ni ? realloc(p->b, sizeof(size_t) * (size_t)nc) : NULL;
        if (nb) p->b = nb;
        size_t *ne = nb ? realloc(p->e, sizeof(size_t) * (size_t)nc) : NULL;
        if (ne) p->e = ne;
        if (!ne) return bh__fail(BH_ENOMEM, "out of memory");
        p->cap = nc;
    }
    p->ids[p->n] = id;
    p->b[p->n] = b;
    p->e[p->n++] = e;
    return BH_OK;
}

static bh_status qtok_open(qtok *q, const char *path, int normalize, const bh_model_config *c)
{
    memset(q, 0, sizeof *q);
    bh_tokenizer_options to;
    bh_tokenizer_options_default(&to);
    to.normalize = 0; /* done here, chunk by chunk, to keep offsets into the original */
    to.add_special = 0;
    bh_status st = bh_tokenizer_load(path, &to, &q->tok);
    if (st) return st;
    int32_t V = bh_tokenizer_vocab_size(q->tok);
    if (V > c->vocab)
        return bh__fail(BH_ESHAPE, "tokenizer %s has %d pieces, the encoder's vocabulary only %d (not its tokenizer?)",
                        path, (int)V, c->vocab);
    q->sp = bh_tokenizer_special_ids(q->tok);
    if (q->sp.cls < 0 || q->sp.sep < 0)
        return bh__fail(BH_EINVAL, "tokenizer %s has no [CLS]/[SEP] (<s>/</s>) ids: QA needs both", path);
    q->unk = q->sp.unk >= 0 ? q->sp.unk : 0;
    q->pad = c->pad_id >= 0 ? c->pad_id : q->sp.pad >= 0 ? q->sp.pad : 0;
    q->normalize = normalize;
    return BH_OK;
}

static void qtok_close(qtok *q)
{
    bh_segmenter_free(q->seg);
    bh_spans_free(&q->sents);
    bh_spans_free(&q->words);
    bh_tokenizer_free(q->tok);
    bh_tokens_free(&q->tk);
    bh_buf_free(&q->nb);
    bh_buf_free(&q->lex);
    free(q->lexo);
    memset(q, 0, sizeof *q);
}

/* text[0..len) normalized (when the tokenizer's settings say so) and encoded
 * into q->tk; *nlen is the length of the text that was encoded. */
static bh_status encode_normalized(qtok *q, const char *text, size_t len, size_t *nlen)
{
    bh_status st;
    if (q->normalize) {
        bh_buf_clear(&q->nb);
        if ((st = bh_normalize(text, len, NULL, &q->nb, NULL))) return st;
        text = q->nb.data ? q->nb.data : "";
        len = q->nb.len;
    }
    *nlen = len;
    return bh_tokenizer_encode(q->tok, text, len, &q->tk);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Encodes text[0..len) chunk by chunk (white space separates chunks) into p,
 * offsets into text. A chunk that yields no piece gets the unknown id. */
static bh_status encode_text(qtok *q, const char *text, size_t len, pieces *p)
{
    p->n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(text[i])) i++;
        size_t j = i;
        while (j < len && !is_space(text[j])) j++;
        if (j == i) break;
        size_t wl = j - i, nl;
        bh_status st = encode_normalized(q, text + i, wl, &nl);
        if (st) return st;
        if (!q->tk.n && (st = pieces_push(p, q->unk, i, j))) return st;
        for (size_t k = 0; k < q->tk.n; k++) {
            /* normalized offsets -> original ones, proportionally when the length changed */
            size_t b = q->tk.begin[k], e = q->tk.end[k];
            if (nl != wl && nl) {
                b = b * wl / nl;
                e = e * wl / nl;
            }
            if (k == 0) b = 0;
            if (k + 1 == q->tk.n) e = wl;
            if (e > wl) e = wl;
            if (b > e) b = e;
            if ((st = pieces_push(p, q->tk.ids[k], i + b, i + e))) return st;
        }
        i = j;
    }
    return BH_OK;
}

/* Code point count of s[0..n). */
static size_t cp_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte offset of code point cp in s[0..n) (n when past the end). */
static size_t cp_to_byte(const char *s, size_t n, long cp)
{
    long c = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        if (c++ == cp) return i;
    }
    return n;
}

/* ---------------------------------------------------------------- examples */

typedef struct qa_ex {
    char *id, *ctx;
    size_t clen;
    char **golds;
    int ngold;
    long ab, ae;     /* bytes of the first answer in ctx; -1 = none */
    long sb, se;     /* with qa_cfg.sentence: bytes of the sentence sharing most with the question */
    int32_t *q;      /* question pieces */
    int nq;
    pieces p;        /* context pieces */
    uint8_t *pf;     /* with answer priors: QA_ECHO / QA_NUM / QA_DATE of each context piece */
    int want;        /* with answer priors: the answer type the question asks for (QA_WANT_*) */
} qa_ex;

/* One window: pieces [w0, w1) of example ex; gold positions in the sequence. */
typedef struct qa_feat {
    int ex, w0, w1;
    int32_t start, end;
} qa_feat;

typedef struct qa_set {
    const char *path;
    qa_ex *ex;
    long n, cap;
    qa_feat *f;
    long nf, fcap;
    long tokens, unmapped; /* pieces over all features; answers no piece covers */
} qa_set;

static void ex_free(qa_ex *x)
{
    free(x->id);
    free(x->ctx);
    for (int i = 0; i < x->ngold; i++) free(x->golds[i]);
    free(x->golds);
    free(x->q);
    free(x->pf);
    pieces_free(&x->p);
}

static void set_free(qa_set *d)
{
    for (long i = 0; i < d->n; i++) ex_free(&d->ex[i]);
    free(d->ex);
    free(d->f);
    memset(d, 0, sizeof *d);
}

typedef struct qa_cfg {
    int L, stride, max_query, max_answer, null_answer;
    int sentence; /* answers only inside the context sentence that shares most words with the question */
    float echo_penalty; /* subtracted from a span that only repeats question words (0: off) */
    float type_penalty; /* subtracted from a span that does not start with a number when the question asks
                         * "how many", or with a number or month when it asks "when" (0: off) */
} qa_cfg;

/* Whether decoding applies an answer prior (and so needs read_question's flags). */
static int has_priors(const qa_cfg *c) { return c->echo_penalty > 0 || c->type_penalty > 0; }

/* The words v[0..n) of text, each normalized as the model sees it (when the
 * tokenizer's settings say so), one after the other in b: word k is
 * b->data[off[k], off[k + 1]). */
static bh_status norm_words(const qtok *q, const char *text, const bh_span *v, size_t n, bh_buf *b, size_t *off)
{
    bh_status st = BH_OK;
    for (size_t k = 0; !st && k < n; k++) {
        off[k] = b->len;
        const char *w = text + v[k].start;
        size_t len = v[k].end - v[k].start;
        st = q->normalize ? bh_normalize(w, len, NULL, b, NULL) : bh_buf_append(b, w, len);
    }
    off[n] = b->len;
    return st;
}

/* ----------------------------------------------------------- answer priors */

/* Words that say what kind of answer a question wants, and which context
 * words can be one. Hindi and Bangla; compared after normalization. */
enum { QA_HOWMANY = 1, QA_WHEN, QA_WHICH, QA_TIMEUNIT, QA_NUMWORD, QA_MONTH };
static const struct {
    const char *w;
    unsigned char cls;
} QA_LEX[] = {
    {"कितने", QA_HOWMANY}, {"कितनी", QA_HOWMANY}, {"कितना", QA_HOWMANY}, {"कितनों", QA_HOWMANY},
    {"কত", QA_HOWMANY}, {"কতজন", QA_HOWMANY}, {"কতটি", QA_HOWMANY}, {"কয়টি", QA_HOWMANY}, {"কতগুলো", QA_HOWMANY},
    {"कब", QA_WHEN}, {"কবে", QA_WHEN},
    {"किस", QA_WHICH}, {"किन", QA_WHICH}, {"कौन", QA_WHICH}, {"কোন", QA_WHICH},
    {"वर्ष", QA_TIMEUNIT}, {"वर्षों", QA_TIMEUNIT}, {"साल", QA_TIMEUNIT}, {"सन", QA_TIMEUNIT},
    {"तारीख", QA_TIMEUNIT}, {"तारीख़", QA_TIMEUNIT}, {"तिथि", QA_TIMEUNIT}, {"महीने", QA_TIMEUNIT},
    {"सदी", QA_TIMEUNIT}, {"शताब्दी", QA_TIMEUNIT}, {"दशक", QA_TIMEUNIT},
    {"সালে", QA_TIMEUNIT}, {"সাল", QA_TIMEUNIT}, {"বছর", QA_TIMEUNIT}, {"তারিখে", QA_TIMEUNIT},
    {"শতাব্দীতে", QA_TIMEUNIT}, {"মাসে", QA_TIMEUNIT},
    {"एक", QA_NUMWORD}, {"दो", QA_NUMWORD}, {"तीन", QA_NUMWORD}, {"चार", QA_NUMWORD}, {"पांच", QA_NUMWORD},
    {"पाँच", QA_NUMWORD}, {"छह", QA_NUMWORD}, {"छः", QA_NUMWORD}, {"सात", QA_NUMWORD}, {"आठ", QA_NUMWORD},
    {"नौ", QA_NUMWORD}, {"दस", QA_NUMWORD}, {"बीस", QA_NUMWORD}, {"सौ", QA_NUMWORD}, {"हजार", QA_NUMWORD},
    {"हज़ार", QA_NUMWORD}, {"लाख", QA_NUMWORD}, {"करोड़", QA_NUMWORD}, {"अरब", QA_NUMWORD},
    {"दर्जन", QA_NUMWORD}, {"दर्जनों", QA_NUMWORD}, {"सैकड़ों", QA_NUMWORD}, {"हजारों", QA_NUMWORD},
    {"हज़ारों", QA_NUMWORD}, {"लाखों", QA_NUMWORD}, {"करोड़ों", QA_NUMWORD}, {"आधा", QA_NUMWORD},
    {"डेढ़", QA_NUMWORD}, {"ढाई", QA_NUMWORD}, {"दोनों", QA_NUMWORD},
    {"ग्यारह", QA_NUMWORD}, {"बारह", QA_NUMWORD}, {"तेरह", QA_NUMWORD}, {"चौदह", QA_NUMWORD}, {"पंद्रह", QA_NUMWORD},
    {"सोलह", QA_NUMWORD}, {"सत्रह", QA_NUMWORD}, {"अठारह", QA_NUMWORD}, {"उन्नीस", QA_NUMWORD}, {"तीस", QA_NUMWORD},
    {"चालीस", QA_NUMWORD}, {"पचास", QA_NUMWORD}, {"साठ", QA_NUMWORD}, {"सत्तर", QA_NUMWORD}, {"अस्सी", QA_NUMWORD},
    {"नब्बे", QA_NUMWORD}, {"पच्चीस", QA_NUMWORD}, {"बाईस", QA_NUMWORD},
    {"এক", QA_NUMWORD}, {"দুই", QA_NUMWORD}, {"তিন", QA_NUMWORD}, {"চার", QA_NUMWORD}, {"পাঁচ", QA_NUMWORD},
    {"ছয়", QA_NUMWORD}, {"সাত", QA_NUMWORD}, {"আট", QA_NUMWORD}, {"নয়", QA_NUMWORD}, {"দশ", QA_NUMWORD},
    {"শত", QA_NUMWORD}, {"হাজার", QA_NUMWORD}, {"লাখ", QA_NUMWORD}, {"কোটি", QA_NUMWORD},
    {"বিশ", QA_NUMWORD}, {"ত্রিশ", QA_NUMWORD}, {"চল্লিশ", QA_NUMWORD}, {"পঞ্চাশ", QA_NUMWORD}, {"ষাট", QA_NUMWORD},
    {"সত্তর", QA_NUMWORD}, {"আশি", QA_NUMWORD}, {"নব্বই", QA_NUMWORD},
    {"जनवरी", QA_MONTH}, {"फरवरी", QA_MONTH}, {"फ़रवरी", QA_MONTH}, {"मार्च", QA_MONTH}, {"अप्रैल", QA_MONTH},
    {"मई", QA_MONTH}, {"जून", QA_MONTH}, {"जुलाई", QA_MONTH}, {"अगस्त", QA_MONTH}, {"सितंबर", QA_MONTH},
    {"सितम्बर", QA_MONTH}, {"अक्टूबर", QA_MONTH}, {"अक्तूबर", QA_MONTH}, {"नवंबर", QA_MONTH},
    {"नवम्बर", QA_MONTH}, {"दिसंबर", QA_MONTH}, {"दिसम्बर", QA_MONTH}, {"सदी", QA_MONTH},
    {"शताब्दी", QA_MONTH}, {"दशक", QA_MONTH}, {"ईस्वी", QA_MONTH},
    {"জানুয়ারি", QA_MONTH}, {"ফেব্রুয়ারি", QA_MONTH}, {"মার্চ", QA_MONTH}, {"এপ্রিল", QA_MONTH},
    {"মে", QA_MONTH}, {"জুন", QA_MONTH}, {"জুলাই", QA_MONTH}, {"আগস্ট", QA_MONTH},
    {"সেপ্টেম্বর", QA_MONTH}, {"অক্টোবর", QA_MONTH}, {"নভেম্বর", QA_MONTH}, {"ডিসেম্বর", QA_MONTH},
    {"শতাব্দী", QA_MONTH}, {"দশক", QA_MONTH},
};
#define QA_NLEX (sizeof QA_LEX / sizeof QA_LEX[0])

/* Piece flags and the answer types a question can want. */
enum { QA_ECHO = 1, QA_NUM = 2, QA_DATE = 4 };
enum { QA_WANT_ANY, QA_WANT_NUM, QA_WANT_DATE };

/* Normalizes QA_LEX into q->lex once, as the words it is compared with. */
static bh_status lex_ready(qtok *q)
{
    if (q->lexo) return BH_OK;
    size_t *o = malloc(sizeof *o * (QA_NLEX + 1));
    if (!o) return bh__fail(BH_ENOMEM, "out of memory");
    bh_status st = BH_OK;
    for (size_t k = 0; !st && k < QA_NLEX; k++) {
        o[k] = q->lex.len;
        const char *w = QA_LEX[k].w;
        st = q->normalize ? bh_normalize(w, strlen(w), NULL, &q->lex, NULL) : bh_buf_append(&q->lex, w, strlen(w));
    }
    o[QA_NLEX] = q->lex.len;
    if (st) {
        free(o);
        return st;
    }
    q->lexo = o;
    return BH_OK;
}

/* The classes of the normalized word w[0..n) in QA_LEX, as a bit set (1 << cls). */
static unsigned lex_classes(const qtok *q, const char *w, size_t n)
{
    unsigned m = 0;
    for (size_t k = 0; k < QA_NLEX; k++)
        if (q->lexo[k + 1] - q->lexo[k] == n && !memcmp(q->lex.data + q->lexo[k], w, n)) m |= 1u << QA_LEX[k].cls;
    return m;
}

static int has_digit(const char *w, size_t n)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)w + i, (utf8proc_ssize_t)(n - i), &c);
        if (k < 1) return 0;
        if (utf8proc_category(c) == UTF8PROC_CATEGORY_ND) return 1;
        i += (size_t)k;
    }
    return 0;
}

/* The answer type that question words qw (normalized, word k at
 * qb[qo[k], qo[k + 1])) ask for: a number ("कितने"), a date ("कब", "किस
 * वर्ष"), or anything. */
static int question_wants(const qtok *q, const char *qb, const size_t *qo, size_t nq)
{
    for (size_t k = 0; k < nq; k++) {
        unsigned m = lex_classes(q, qb + qo[k], qo[k + 1] - qo[k]);
        if (m & (1u << QA_HOWMANY)) return QA_WANT_NUM;
        if (m & (1u << QA_WHEN)) return QA_WANT_DATE;
        if ((m & (1u << QA_WHICH)) && k + 1 < nq && (lex_classes(q, qb + qo[k + 1], qo[k + 2] - qo[k + 1]) & (1u << QA_TIMEUNIT)))
            return QA_WANT_DATE;
    }
    return QA_WANT_ANY;
}

/* Reads the question against x's context, in two uses that share the
 * segmentation and the normalized words:
 *
 * with c->sentence, x->sb, x->se: the sentence of the context with the
 * highest sum, over the question's distinct words it contains, of log(1 +
 * sentences / sentences containing the word) (rare words count more;
 * punctuation is not a word); the first such sentence on ties, the whole
 * context when none shares a word;
 *
 * with answer priors (c->echo_penalty or c->type_penalty), x->want and
 * x->pf: each context piece is QA_ECHO when every word it overlaps is
 * punctuation or a word of the question (a span of such pieces only repeats
 * the question), QA_NUM when a word it overlaps holds a digit of any script
 * or is a number word, QA_DATE when it is QA_NUM or a month or era word.
 *
 * Words are compared normalized, so that canonically equal spellings (a
 * precomposed or a decomposed nukta letter, a dropped joiner) match, as they
 * do for the model. O(question words x (context words + sentences)), so a
 * long context stays cheap. */
static bh_status read_question(qtok *q, const qa_cfg *c, const char *question, qa_ex *x)
{
    int priors = has_priors(c);
    bh_status st = q->seg ? BH_OK : bh_segmenter_new(&q->seg);
    bh_spans qw = {0};
    bh_buf qb = {0}, cb = {0}; /* normalized question and context words */
    if (!st && priors) st = lex_ready(q);
    if (!st) st = bh_segment_sentences_words(q->seg, x->ctx, x->clen, &q->sents, &q->words);
    if (!st) st = bh_segment(q->seg, BH_SEG_WORD, question, strlen(question), &qw);
    size_t ns = q->sents.n, nw = q->words.n;
    double *score = st ? NULL : calloc(ns + 1, sizeof *score);
    size_t *sid = st ? NULL : malloc(sizeof *sid * (nw + 1)); /* the sentence of each context word */
    unsigned char *hit = st ? NULL : malloc(ns + 1);
    unsigned char *wf = st ? NULL : calloc(nw + 1, 1); /* QA_* flags of each context word */
    size_t *qo = st ? NULL : malloc(sizeof *qo * (qw.n + 1)), *co = st ? NULL : malloc(sizeof *co * (nw + 1));
    if (!st && (!score || !sid || !hit || !wf || !qo || !co)) st = bh__fail(BH_ENOMEM, "out of memory");
    if (!st && !(st = norm_words(q, question, qw.v, qw.n, &qb, qo))) st = norm_words(q, x->ctx, q->words.v, nw, &cb, co);
    for (size_t k = 0, i = 0; !st && k < nw; k++) {
        while (i + 1 < ns && q->sents.v[i].end <= q->words.v[k].start) i++;
        sid[k] = i;
        const bh_span *w = &q->words.v[k];
        if (w->kind == BH_TOK_PUNCT || w->kind == BH_TOK_OTHER) wf[k] |= QA_ECHO;
        if (priors) {
            const char *cw = cb.data + co[k];
            size_t n = co[k + 1] - co[k];
            unsigned m = lex_classes(q, cw, n);
            if (has_digit(cw, n) || (m & (1u << QA_NUMWORD))) wf[k] |= QA_NUM | QA_DATE;
            if (m & (1u << QA_MONTH)) wf[k] |= QA_DATE;
        }
    }
    for (size_t k = 0; !st && k < qw.n; k++) {
        const bh_span *w = &qw.v[k];
        if (w->kind == BH_TOK_PUNCT || w->kind == BH_TOK_OTHER) continue;
        size_t n = qo[k + 1] - qo[k], df = 0;
        if (!n) continue; /* nothing left after normalization (a lone joiner) */
        const char *ws = qb.data + qo[k];
        int dup = 0; /* each distinct question word once */
        for (size_t j = 0; j < k && !dup; j++)
            dup = qo[j + 1] - qo[j] == n && !memcmp(qb.data + qo[j], ws, n);
        if (dup) continue;
        memset(hit, 0, ns);
        for (size_t i = 0; i < nw; i++)
            if (co[i + 1] - co[i] == n && !memcmp(cb.data + co[i], ws, n)) {
                wf[i] |= QA_ECHO;
                if (!hit[sid[i]]) hit[sid[i]] = 1, df++;
            }
        if (!df) continue;
        double idf = log(1.0 + (double)ns / (double)df);
        for (size_t i = 0; i < ns; i++)
            if (hit[i]) score[i] += idf;
    }
    if (!st && c->sentence) {
        size_t best = ns;
        for (size_t i = 0; i < ns; i++)
            if (score[i] > 0 && (best == ns || score[i] > score[best])) best = i;
        x->sb = 0, x->se = (long)x->clen;
        if (best < ns) x->sb = (long)q->sents.v[best].start, x->se = (long)q->sents.v[best].end;
    }
    if (!st && priors) {
        x->want = question_wants(q, qb.data, qo, qw.n);
        /* pieces and words are both in text order: a piece takes QA_ECHO
         * when all the words it overlaps have it (none: it repeats nothing
         * but is no word either, so echo), the others when any has them */
        if (!(x->pf = malloc((size_t)x->p.n + 1))) st = bh__fail(BH_ENOMEM, "out of memory");
        for (int k = 0, i = 0; !st && k < x->p.n; k++) {
            size_t b = x->p.b[k], e = x->p.e[k];
            while ((size_t)i < nw && q->words.v[i].end <= b) i++;
            unsigned char f = QA_ECHO;
            int any = 0;
            for (size_t j = (size_t)i; j < nw && q->words.v[j].start < e; j++) {
                if (!(wf[j] & QA_ECHO)) f &= (unsigned char)~QA_ECHO;
                f |= wf[j] & (QA_NUM | QA_DATE);
                any = 1;
            }
            x->pf[k] = any ? f : QA_ECHO;
        }
    }
    free(score);
    free(sid);
    free(hit);
    free(wf);
    free(qo);
    free(co);
    bh_buf_free(&qb);
    bh_buf_free(&cb);
    bh_spans_free(&qw);
    return st;
}

/* Question pieces of x (normalized as a whole), cut to the caps. */
static bh_status encode_question(qtok *q, const qa_cfg *c, const char *question, size_t qlen, qa_ex *x)
{
    size_t n;
    bh_status st = encode_normalized(q, question, qlen, &n);
    if (st) return st;
    int cap = c->max_query < c->L - 4 ? c->max_query : c->L - 4; /* leaves one context piece */
    x->nq = q->tk.n < (size_t)cap ? (int)q->tk.n : cap;
    if (x->nq < 1) return bh__fail(BH_EINVAL, "the question has no pieces");
    free(x->q);
    if (!(x->q = malloc(sizeof(int32_t) * (size_t)x->nq))) return bh__fail(BH_ENOMEM, "out of memory");
    memcpy(x->q, q->tk.ids, sizeof(int32_t) * (size_t)x->nq);
    return BH_OK;
}

static bh_status feat_push(qa_set *d, qa_feat f)
{
    if (d->nf == d->fcap) {
        long nc = d->fcap ? 2 * d->fcap : 256;
        qa_feat *nf = realloc(d->f, sizeof(qa_feat) * (size_t)nc);
        if (!nf) return bh__fail(BH_ENOMEM, "out of memory");
        d->f = nf;
        d->fcap = nc;
    }
    d->f[d->nf++] = f;
    return BH_OK;
}

/* Windows of example xi: budget pieces each, consecutive ones sharing
 * c->stride pieces but at most half a window (a long question leaves a short
 * window, and a stride near its length would make about one window per
 * piece); gold start/end where the window holds the whole answer. */
static bh_status make_windows(qa_set *d, long xi, const qa_cfg *c)
{
    qa_ex *x = &d->ex[xi];
    int n = x->p.n, budget = c->L - x->nq - 3;
    int step = budget - (c->stride < budget / 2 ? c->stride : budget / 2);
    /* answer pieces: the first that ends after its start, the last that begins before its end */
    int as = -1, ae = -1;
    if (x->ab >= 0) {
        for (int k = 0; k < n; k++) {
            if (x->p.e[k] > (size_t)x->ab && x->p.b[k] < (size_t)x->ae) {
                if (as < 0) as = k;
                ae = k;
            }
        }
        if (as < 0) d->unmapped++;
    }
    int base = x->nq + 2; /* sequence position of window piece 0 */
    for (int w0 = 0;; w0 += step) {
        int w1 = w0 + budget < n ? w0 + budget : n;
        qa_feat f = {(int)xi, w0, w1, 0, 0};
        if (as >= 0 && as >= w0 && ae < w1) {
            f.start = base + as - w0;
            f.end = base + ae - w0;
        }
        bh_status st = feat_push(d, f);
        if (st) return st;
        d->tokens += (w1 - w0) + x->nq + 3;
        if (w1 >= n) break;
    }
    return BH_OK;
}

/* Adds one example (context, question, answers) to d, with its windows. */
static bh_status add_example(qa_set *d, qtok *q, const qa_cfg *c, const char *id, const char *ctx, size_t clen,
                             const char *question, const char *const *atext, const long *astart, int na)
{
    size_t i = 0;
    while (i < clen && is_space(ctx[i])) i++;
    if (i == clen) return bh__fail(BH_EFORMAT, "empty context");
    for (i = 0; question[i] && is_space(question[i]); i++) {
    }
    if (!question[i]) return bh__fail(BH_EFORMAT, "empty question");
    if (d->n == d->cap) {
        long nc = d->cap ? 2 * d->cap : 256;
        qa_ex *ne = realloc(d->ex, sizeof(qa_ex) * (size_t)nc);
        if (!ne) return bh__fail(BH_ENOMEM, "out of memory");
        d->ex = ne;
        d->cap = nc;
    }
    qa_ex *x = &d->ex[d->n++];
    memset(x, 0, sizeof *x);
    x->ab = x->ae = -1;
    x->id = strdup(id ? id : "");
    x->ctx = malloc(clen + 1);
    x->golds = calloc((size_t)na + 1, sizeof(char *));
    if (!x->id || !x->ctx || !x->golds) return bh__fail(BH_ENOMEM, "out of memory");
    memcpy(x->ctx, ctx, clen);
    x->ctx[clen] = 0;
    x->clen = clen;
    for (int a = 0; a < na; a++) {
        if (!(x->golds[a] = strdup(atext[a]))) return bh__fail(BH_ENOMEM, "out of memory");
        x->ngold++;
        size_t al = strlen(atext[a]);
        size_t b = cp_to_byte(ctx, clen, astart[a]);
        if (astart[a] < 0 || b + al > clen || memcmp(ctx + b, atext[a], al))
            return bh__fail(BH_EFORMAT, "answer \"%.60s\" is not at code point %ld of its context", atext[a], astart[a]);
        if (a == 0 && al) {
            x->ab = (long)b;
            x->ae = (long)(b + al);
        }
    }
    bh_status st;
    if ((st = encode_question(q, c, question, strlen(question), x)) || (st = encode_text(q, ctx, clen, &x->p))) return st;
    x->sb = -1, x->se = -1;
    if ((c->sentence || has_priors(c)) && (st = read_question(q, c, question, x))) return st;
    if (!x->p.n) return bh__fail(BH_EFORMAT, "the context has no pieces");
    /* a chosen sentence that holds no whole piece (a sentence break inside
     * a word) cannot hold an answer: the whole context then */
    int whole = 0;
    for (int k = 0; x->sb >= 0 && k < x->p.n && !whole; k++)
        whole = x->p.e[k] > x->p.b[k] && (long)x->p.b[k] >= x->sb && (long)x->p.e[k] <= x->se;
    if (x->sb >= 0 && !whole) x->sb = x->se = -1;
    return make_windows(d, d->n - 1, c);
}

static int is_jsonl(const char *path)
{
    size_t n = strlen(path);
    return n >= 6 && !strcmp(path + n - 6, ".jsonl");
}

static bh_status read_jsonl(const char *path, qtok *q, const qa_cfg *c, qa_set *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    bh_status st = BH_OK;
    const char **at = NULL;
    long *as = NULL;
    size_t acap = 0;
    while (!st && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t k = 0;
        while (k < (size_t)len && is_space(line[k])) k++;
        if (k == (size_t)len) continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        json_t *ctx = json_object_get(o, "context"), *qu = json_object_get(o, "question"),
               *ans = json_object_get(o, "answers"), *id = json_object_get(o, "id");
        if (!json_is_object(o) || !json_is_string(ctx) || !json_is_string(qu) || (ans && !json_is_array(ans))) {
            st = bh__fail(BH_EFORMAT, "%s line %ld: expected {\"context\", \"question\", \"answers\"}%s%s", path, lineno,
                          o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            break;
        }
        size_t na = ans ? json_array_size(ans) : 0;
        if (na + 1 > acap) {
            acap = 2 * na + 4;
            const char **nt = realloc((void *)at, sizeof(char *) * acap);
            if (nt) at = nt;
            long *ns = nt ? realloc(as, sizeof(long) * acap) : NULL;
            if (ns) as = ns;
            if (!ns) st = bh__fail(BH_ENOMEM, "out of memory");
        }
        for (size_t a = 0; !st && a < na; a++) {
            json_t *e = json_array_get(ans, a), *t = json_object_get(e, "text"), *s = json_object_get(e, "answer_start");
            if (!json_is_string(t) || !json_is_integer(s)) {
                st = bh__fail(BH_EFORMAT, "%s line %ld: answer %zu needs \"text\" and an integer \"answer_start\"", path,
                              lineno, a);
                break;
            }
            at[a] = json_string_value(t);
            as[a] = (long)json_integer_value(s);
        }
        char idb[32];
        snprintf(idb, sizeof idb, "%ld", lineno);
        if (!st)
            st = add_example(d, q, c, json_is_string(id) ? json_string_value(id) : idb, json_string_value(ctx),
                             json_string_length(ctx), json_string_value(qu), at, as, (int)na);
        if (st) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s line %ld: %s", path, lineno, detail);
        }
        json_decref(o);
    }
    if (!st && ferror(f)) st = bh__fail(BH_EIO, "%s: read error", path);
    fclose(f);
    free(line);
    free((void *)at);
    free(as);
    return st;
}

bh_status bh__qa_open_squad(const char *path, bh_corpus **r)
{
    bh_corpus_options co;
    memset(&co, 0, sizeof co);
    co.format = BH_CORPUS_SQUAD;
    co.on_error = BH_ON_ERROR_STOP;
    *r = NULL;
    return bh_corpus_open(path, &co, r);
}

static bh_status read_squad(const char *path, qtok *q, const qa_cfg *c, qa_set *d)
{
    bh_corpus *r;
    bh_status st = bh__qa_open_squad(path, &r);
    if (st) return st;
    bh_corpus_record rec;
    int k;
    const char **at = NULL;
    long *as = NULL;
    size_t acap = 0;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        size_t na = rec.is_impossible ? 0 : rec.n_answers;
        if (na + 1 > acap) {
            acap = 2 * na + 4;
            const char **nt = realloc((void *)at, sizeof(char *) * acap);
            if (nt) at = nt;
            long *ns = nt ? realloc(as, sizeof(long) * acap) : NULL;
            if (ns) as = ns;
            if (!ns) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
        }
        for (size_t a = 0; a < na; a++) {
            at[a] = rec.answers[a].text;
            as[a] = rec.answers[a].start;
        }
        st = add_example(d, q, c, rec.id, rec.text, rec.text_len, rec.question ? rec.question : "", at, as, (int)na);
        if (st) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s question %s: %s", path, rec.id ? rec.id : "?", detail);
        }
    }
    if (!st && k < 0) st = k;
    bh_corpus_free(r);
    free((void *)at);
    free(as);
    return st;
}

static bh_status read_set(const char *path, qtok *q, const qa_cfg *c, qa_set *d)
{
    d->path = path;
    bh_status st = is_jsonl(path) ? read_jsonl(path, q, c, d) : read_squad(path, q, c, d);
    if (!st && !d->n) st = bh__fail(BH_EFORMAT, "%s: no questions", path);
    return st;
}

/* ------------------------------------------------------------------ batches */

typedef struct qbatch {
    int32_t *ids, *st, *en;
    uint8_t *mask, *allowed;
    float *hid, *dhid, *ls, *le;
    size_t cap_nt;
    int cap_b, B, T;
} qbatch;

static void qbatch_free(qbatch *b)
{
    free(b->ids);
    free(b->st);
    free(b->en);
    free(b->mask);
    free(b->allowed);
    free(b->hid);
    free(b->dhid);
    free(b->ls);
    free(b->le);
    memset(b, 0, sizeof *b);
}

/* Pads features f[0..B) of d: [CLS] q [SEP] window [SEP]; allowed = 0 and
 * the window's positions. */
static bh_status qbatch_fill(qbatch *b, const qa_set *d, const qa_feat *const *f, int B, int D, int32_t pad,
                             const qtok *q)
{
    int T = 1;
    for (int i = 0; i < B; i++) {
        const qa_ex *x = &d->ex[f[i]->ex];
        int n = x->nq + 3 + f[i]->w1 - f[i]->w0;
        T = n > T ? n : T;
    }
    size_t nt = (size_t)B * T;
    if (nt > b->cap_nt || B > b->cap_b) {
        qbatch_free(b);
        b->ids = malloc(sizeof(int32_t) * nt);
        b->mask = malloc(nt);
        b->allowed = malloc(nt);
        b->hid = malloc(sizeof(float) * nt * (size_t)D);
        b->dhid = malloc(sizeof(float) * nt * (size_t)D);
        b->ls = malloc(sizeof(float) * nt);
        b->le = malloc(sizeof(float) * nt);
        b->st = malloc(sizeof(int32_t) * (size_t)B);
        b->en = malloc(sizeof(int32_t) * (size_t)B);
        if (!b->ids || !b->mask || !b->allowed || !b->hid || !b->dhid || !b->ls || !b->le || !b->st || !b->en) {
            qbatch_free(b);
            return bh__fail(BH_ENOMEM, "out of memory (batch %dx%d)", B, T);
        }
        b->cap_nt = nt;
        b->cap_b = B;
    }
    b->B = B;
    b->T = T;
    for (int i = 0; i < B; i++) {
        const qa_ex *x = &d->ex[f[i]->ex];
        int32_t *ids = b->ids + (size_t)i * T;
        uint8_t *m = b->mask + (size_t)i * T, *al = b->allowed + (size_t)i * T;
        int n = 0;
        ids[n++] = q->sp.cls;
        for (int k = 0; k < x->nq; k++) ids[n++] = x->q[k];
        ids[n++] = q->sp.sep;
        int base = n;
        for (int k = f[i]->w0; k < f[i]->w1; k++) ids[n++] = x->p.ids[k];
        ids[n++] = q->sp.sep;
        for (int t = 0; t < T; t++) {
            m[t] = t < n;
            al[t] = t == 0 || (t >= base && t < n - 1);
            if (t >= n) ids[t] = pad;
        }
        b->st[i] = f[i]->start;
        b->en[i] = f[i]->end;
    }
    return BH_OK;
}

/* ---------------------------------------------------------------- decoding */

/* A decoded span: its score (answer priors applied), its log p(start) +
 * log p(end), and where it is: positions [bs, be] of a row while a row is
 * searched (span_top), bytes [bs, be) of the context once it is an answer. */
typedef struct cand {
    float score, raw;
    long bs, be;
} cand;

/* Inserts a into v[0..*n), best first, at most k entries: one that is not
 * better than the k-th is dropped; ties keep the entry found first. */
static void top_insert(cand *v, int *n, int k, cand a)
{
    if (*n == k && !(a.score > v[k - 1].score)) return;
    int last = *n < k ? *n : k - 1; /* where a goes if nothing is worse */
    int at = last;
    while (at > 0 && a.score > v[at - 1].score) at--;
    memmove(v + at + 1, v + at, sizeof(cand) * (size_t)(last - at));
    v[at] = a;
    if (*n < k) (*n)++;
}

/* The k best distinct answers of one question so far, best first (v[k],
 * owned by the caller), and the lowest null score over its windows. */
typedef struct best {
    cand *v;
    int k, n;
    float null_min;
} best;

/* Adds an answer to bx: the same bytes again keep the higher score; ties keep
 * the answer found first (the earlier window, the earlier span). */
static void best_add(best *bx, cand a)
{
    int i = 0;
    while (i < bx->n && (bx->v[i].bs != a.bs || bx->v[i].be != a.be)) i++;
    if (i < bx->n) { /* seen: drop the old entry when the new one is better */
        if (!(a.score > bx->v[i].score)) return;
        memmove(bx->v + i, bx->v + i + 1, sizeof(cand) * (size_t)(bx->n - i - 1));
        bx->n--;
    }
    top_insert(bx->v, &bx->n, bx->k, a);
}

/* Whether window f can hold an answer: with the sentence restriction, only
 * windows that overlap the chosen sentence (the others are not run at all). */
static int window_used(const qa_ex *x, const qa_feat *f)
{
    return x->sb < 0 || (f->w1 > f->w0 && (long)x->p.e[f->w1 - 1] > x->sb && (long)x->p.b[f->w0] < x->se);
}

/* The start of the code point that ends at byte i of ctx (i > 0): at most 3
 * continuation bytes back. */
static long cp_before(const char *ctx, long i)
{
    long p = i - 1;
    while (p > 0 && i - p < 4 && ((unsigned char)ctx[p] & 0xC0) == 0x80) p--;
    return p;
}

/* The code point that ends at byte i of ctx (i > 0) in *cp, its start in *p;
 * 0 for a bad sequence. */
static int decode_before(const char *ctx, long i, long *p, utf8proc_int32_t *cp)
{
    *p = cp_before(ctx, i);
    return utf8proc_iterate((const utf8proc_uint8_t *)ctx + *p, i - *p, cp) == i - *p;
}

/* Whether consonant b joins the virama before it into a conjunct (Unicode
 * 15.1's GB9c, which utf8proc 2.8 and ICU 72 predate): b is a consonant
 * and a is a virama (combining class 9) of the same Indic block (the blocks
 * from Devanagari to Malayalam are each 128 code points, aligned). Tamil is
 * left out: its virama (pulli) is visible and forms no conjunct but for
 * க்ஷ, so there a virama ends the cluster as before. */
static int joins_conjunct(utf8proc_int32_t a, utf8proc_int32_t b)
{
    return b >= 0x0900 && b <= 0x0D7F && !(b >= 0x0B80 && b <= 0x0BFF) && (a >> 7) == (b >> 7) &&
           u_getCombiningClass(a) == 9 && u_getIntPropertyValue(b, UCHAR_INDIC_SYLLABIC_CATEGORY) == U_INSC_CONSONANT;
}

/* Whether ctx[i] (i < n) continues the grapheme cluster of the code point
 * before it: by utf8proc's grapheme break rule (the one bh_segment's
 * grapheme units follow) a vowel sign, virama, nukta or joiner does, and a
 * consonant after a virama (a ZWJ or ZWNJ may sit between them) does as
 * well, so that a conjunct such as the "क्ष" of "अक्षर" is one cluster.
 * *len gets the length of the code point at i in bytes (1 for a bad byte). */
static int continues_cluster(const char *ctx, long i, long n, long *len)
{
    utf8proc_int32_t a, b;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)ctx + i, n - i, &b);
    *len = k > 0 ? (long)k : 1;
    long p;
    if (k <= 0 || i <= 0 || !decode_before(ctx, i, &p, &a)) return 0;
    if (!utf8proc_grapheme_break(a, b)) return 1;
    if (a == 0x200D || a == 0x200C) { /* the virama is the code point before the joiner */
        if (p <= 0 || !decode_before(ctx, p, &p, &a)) return 0;
    }
    return joins_conjunct(a, b);
}

/* Whether ctx[i] (i < n) is white space (White_Space: ASCII white space, the
 * no-break, thin and other space separators, line and paragraph separators);
 * *len as for continues_cluster. */
static int space_at(const char *ctx, long i, long n, long *len)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)ctx + i, n - i, &c);
    *len = k > 0 ? (long)k : 1;
    return k > 0 && u_isUWhiteSpace(c);
}

/* Whether the code point c belongs inside a word: a letter, mark or number,
 * or a joiner (ZWJ, ZWNJ). */
static int word_cp(utf8proc_int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO) || c == 0x200C || c == 0x200D;
}

void bh__qa_whole_words(const char *ctx, long n, long *bs, long *be)
{
    bh__qa_whole_clusters(ctx, n, bs, be);
    utf8proc_int32_t a, b;
    long p;
    while (*bs > 0 && *bs < n && decode_before(ctx, *bs, &p, &a) && word_cp(a) &&
           utf8proc_iterate((const utf8proc_uint8_t *)ctx + *bs, n - *bs, &b) > 0 && word_cp(b))
        *bs = p;
    utf8proc_ssize_t k;
    while (*be > *bs && *be < n && decode_before(ctx, *be, &p, &a) && word_cp(a) &&
           (k = utf8proc_iterate((const utf8proc_uint8_t *)ctx + *be, n - *be, &b)) > 0 && word_cp(b))
        *be += (long)k;
}

void bh__qa_whole_clusters(const char *ctx, long n, long *bs, long *be)
{
    long s = *bs, len, p;
    while (s < *be && (continues_cluster(ctx, s, n, &len) || space_at(ctx, s, n, &len))) s += len;
    if (s < *be) *bs = s;
    /* white space at the end: pieces never hold ASCII white space (chunks
     * are cut at it), but a chunk's pieces can cover a no-break or thin
     * space inside it; one code point is always kept */
    while (*be > *bs && (p = cp_before(ctx, *be)) > *bs && space_at(ctx, p, n, &len)) *be = p;
    while (*be < n && continues_cluster(ctx, *be, n, &len)) *be += len;
}

/* The k best spans of one row as bh_span_best finds the best (log p(start)
 * + log p(end), end >= start, at most max_len positions, positions with
 * ctx[t] only), less the answer priors: pf[t] holds the QA_* flags of
 * position t, want the answer type the question asks for. out[0..k) gets
 * them best first (ties: the earlier span first); returns their count.
 * O(T x max_len x k). */
static int span_top(const float *ls, const float *le, const uint8_t *ctx, const uint8_t *pf, int T, int max_len, int want,
                    const qa_cfg *c, int k, cand *out)
{
    uint8_t need = want == QA_WANT_NUM ? QA_NUM : want == QA_WANT_DATE ? QA_DATE : 0;
    int n = 0;
    for (int s = 1; s < T; s++) {
        if (!ctx[s] || !isfinite(ls[s])) continue;
        int lim = max_len > 0 && max_len < T - s ? s + max_len : T;
        /* the answer to "how many" or "when" starts with its number or
         * month ("11", "छह बार", "अप्रैल 1991", "1990 के दशक") */
        float typed = need && !(pf[s] & need) ? c->type_penalty : 0;
        uint8_t all = QA_ECHO; /* every position of [s, e] echoes the question */
        for (int e = s; e < lim; e++) {
            all &= pf[e];
            if (!ctx[e]) continue;
            float v = ls[s] + le[e] - typed;
            if (all & QA_ECHO) v -= c->echo_penalty;
            /* as bh_span_best: a span scored -inf or NaN is never an answer */
            if (v > -INFINITY) top_insert(out, &n, k, (cand){v, ls[s] + le[e], s, e});
        }
    }
    return n;
}

/* Folds row i of the batch (feature f) into the example's best answers. The
 * row gives up to 4k spans, as several can widen to the same whole words. */
static bh_status fold_row(const qbatch *b, int i, const qa_set *d, const qa_feat *f, const qa_cfg *c, best *bx)
{
    const qa_ex *x = &d->ex[f->ex];
    int T = b->T, base = x->nq + 2, k = bx->k == 1 ? 1 : 4 * bx->k;
    const float *ls = b->ls + (size_t)i * T, *le = b->le + (size_t)i * T;
    const uint8_t *allowed = b->allowed + (size_t)i * T;
    /* allowed minus position 0, pieces of no bytes (they would give an
     * empty answer) and pieces outside the chosen sentence; pf: the
     * positions' answer-prior flags */
    uint8_t *ctx = malloc((size_t)T * 2), *pf = ctx + T;
    cand top[4 * BH__QA_TOP_MAX]; /* k <= 4 * BH__QA_TOP_MAX: 6.4 KB */
    if (!ctx) return bh__fail(BH_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++) {
        int p = f->w0 + t - base; /* the context piece at position t */
        ctx[t] = t > 0 && allowed[t] && p >= 0 && p < x->p.n && x->p.e[p] > x->p.b[p] &&
                 (x->sb < 0 || ((long)x->p.b[p] >= x->sb && (long)x->p.e[p] <= x->se));
        pf[t] = x->pf && p >= 0 && p < x->p.n ? x->pf[p] : 0;
    }
    int n = span_top(ls, le, ctx, pf, T, c->max_answer, x->want, c, k, top);
    float ns = ls[0] + le[0];
    if (ns < bx->null_min) bx->null_min = ns;
    for (int j = 0; j < n; j++) {
        long bs = (long)x->p.b[f->w0 + top[j].bs - base], be = (long)x->p.e[f->w0 + top[j].be - base];
        /* a piece of a character that normalization split: the whole character */
        while (bs > 0 && ((unsigned char)x->ctx[bs] & 0xC0) == 0x80) bs--;
        while (be < (long)x->clen && ((unsigned char)x->ctx[be] & 0xC0) == 0x80) be++;
        bh__qa_whole_words(x->ctx, (long)x->clen, &bs, &be);
        best_add(bx, (cand){top[j].score, top[j].raw, bs, be});
    }
    free(ctx);
    return BH_OK;
}

/* Predicts every example of d; EM and F1 in percent. preds (may be NULL)
 * gets [d->n] best answers. */
static bh_status evaluate(bh_model *m, bh_head *h, const qa_set *d, const qtok *q, const qa_cfg *c, int bsz,
                          double *em, double *f1)
{
    int D = bh_model_get_config(m)->dim;
    qbatch b = {0};
    const qa_feat **ptr = malloc(sizeof(qa_feat *) * (size_t)bsz);
    best *bx = malloc(sizeof(best) * (size_t)d->n);
    cand *one = malloc(sizeof(cand) * (size_t)d->n);
    char *ans = NULL;
    bh_status st = BH_OK;
    if (!ptr || !bx || !one) st = bh__fail(BH_ENOMEM, "out of memory");
    for (long i = 0; !st && i < d->n; i++) bx[i] = (best){one + i, 1, 0, INFINITY};
    /* only the windows bhasha qa runs (window_used), so that the dev score
     * and its null-answer threshold are those of answering */
    for (long j = 0; !st && j < d->nf;) {
        int B = 0;
        for (; j < d->nf && B < bsz; j++)
            if (window_used(&d->ex[d->f[j].ex], &d->f[j])) ptr[B++] = &d->f[j];
        if (!B) break;
        if ((st = qbatch_fill(&b, d, ptr, B, D, q->pad, q)) ||
            (st = bh_model_forward(m, b.ids, b.mask, B, b.T, b.hid, NULL)) ||
            (st = bh_head_span_logprobs(h, b.hid, b.allowed, B, b.T, D, b.ls, b.le)))
            break;
        for (int i = 0; !st && i < B; i++) st = fold_row(&b, i, d, ptr[i], c, &bx[ptr[i]->ex]);
    }
    double se = 0, sf = 0;
    for (long i = 0; !st && i < d->n; i++) {
        const qa_ex *x = &d->ex[i];
        int null = !bx[i].n || (c->null_answer && bx[i].null_min > bx[i].v[0].score);
        size_t n = null ? 0 : (size_t)(bx[i].v[0].be - bx[i].v[0].bs);
        char *na = realloc(ans, n + 1);
        if (!na) {
            st = bh__fail(BH_ENOMEM, "out of memory");
            break;
        }
        ans = na;
        if (n) memcpy(ans, x->ctx + bx[i].v[0].bs, n);
        ans[n] = 0;
        double a = 0, f = 0;
        if (x->ngold) {
            if ((st = bh_squad_score(ans, (const char *const *)x->golds, (size_t)x->ngold, &a, &f))) break;
        } else { /* unanswerable: right only when unanswered */
            a = f = n == 0;
        }
        se += a;
        sf += f;
    }
    if (!st) {
        *em = 100.0 * se / (double)d->n;
        *f1 = 100.0 * sf / (double)d->n;
    }
    free(ans);
    free(ptr);
    free(bx);
    free(one);
    qbatch_free(&b);
    return st;
}

/* ---------------------------------------------------------------- training */

void bh__qa_options_default(bh__qa_options *o)
{
    memset(o, 0, sizeof *o);
    bh__ft_options_default(&o->ft);
    o->stride = 32;
    o->max_query = 64;
    o->max_answer = 30;
}

static bh_status save_best(const bh__ft_options *o, const qa_cfg *c, bh_model *m, bh_head *h, const qtok *q, int epoch,
                           double dev)
{
    bh_status st = bh_model_save_heads(m, &h, 1, o->out);
    if (st) return st;
    json_t *j = json_object();
    json_object_set_new(j, "task", json_string("qa"));
    json_object_set_new(j, "head", json_string(bh_head_name(h)));
    json_object_set_new(j, "tokenizer", json_string(bh__ft_tok_file(q->tok)));
    json_object_set_new(j, "normalize", json_boolean(q->normalize));
    json_object_set_new(j, "seq", json_integer(c->L));
    json_object_set_new(j, "stride", json_integer(c->stride));
    json_object_set_new(j, "max_query", json_integer(c->max_query));
    json_object_set_new(j, "max_answer", json_integer(c->max_answer));
    json_object_set_new(j, "null_answer", json_boolean(c->null_answer));
    json_object_set_new(j, "sentence", json_boolean(c->sentence));
    json_object_set_new(j, "echo_penalty", json_real(c->echo_penalty));
    json_object_set_new(j, "type_penalty", json_real(c->type_penalty));
    json_object_set_new(j, "metric", json_string("squad_f1"));
    json_object_set_new(j, "best_epoch", json_integer(epoch));
    json_object_set_new(j, "dev", json_real(dev));
    char path[4096];
    snprintf(path, sizeof path, "%s/finetune.json", o->out);
    st = bh__atomic_write_json(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return st;
}

bh_status bh__qa_finetune(const bh__qa_options *qo, bh__qa_result *qres)
{
    if (!qo || !qres) return bh__fail(BH_EINVAL, "bh__qa_finetune: NULL argument");
    const bh__ft_options *o = &qo->ft;
    bh__ft_result *res = &qres->ft;
    if (!o->base || !o->train || !o->dev || !o->tokenizer || !o->out)
        return bh__fail(BH_EINVAL, "finetune needs a base, train and dev files, a tokenizer and an output directory");
    if (o->epochs < 1 || o->batch < 1 || (o->seq && o->seq < 8) || o->patience < 0 || o->freeze_layers < 0 ||
        o->threads < 1 || o->log_every < 1 || !(o->lr > 0) || !(o->weight_decay >= 0) || !(o->clip >= 0) ||
        !(o->dropout < 1) || qo->stride < 0 || qo->max_query < 1 || qo->max_answer < 1 ||
        !(qo->echo_penalty >= 0 && qo->echo_penalty <= 1000) || !(qo->type_penalty >= 0 && qo->type_penalty <= 1000))
        return bh__fail(BH_EINVAL, "finetune: a numeric option is out of range");
    memset(qres, 0, sizeof *qres);
    res->test = qres->test_em = -1;
    res->metric = "squad_f1";
    res->n_labels = 2;
    double t0 = bh__ft_now();
    bh_model *m = NULL, *bm = NULL;
    bh_head *h = NULL, **bestv = NULL;
    int nbest = 0;
    bh_optim *om = NULL, *oh = NULL;
    qtok q = {0};
    qa_set tr = {0}, dv = {0}, ts = {0};
    qbatch b = {0};
    long *order = NULL;
    const qa_feat **ptr = NULL;
    bh_status st;
    if ((st = bh__ft_open_base(o, &m))) goto done;
    const bh_model_config *mc = bh_model_get_config(m);
    qa_cfg c = {o->seq ? o->seq : mc->max_len, qo->stride, qo->max_query, qo->max_answer, qo->null_answer,
                qo->sentence, (float)qo->echo_penalty, (float)qo->type_penalty};
    if (c.L > mc->max_len) {
        st = bh__fail(BH_EINVAL, "sequence length %d exceeds the encoder's max_len %d", c.L, mc->max_len);
        goto done;
    }
    if (c.L < 8) {
        st = bh__fail(BH_EINVAL, "sequence length %d is too short for question + context", c.L);
        goto done;
    }
    if ((st = qtok_open(&q, o->tokenizer, o->normalize, mc))) goto done;
    if ((st = read_set(o->train, &q, &c, &tr)) || (st = read_set(o->dev, &q, &c, &dv))) goto done;
    if (o->test && (st = read_set(o->test, &q, &c, &ts))) goto done;
    res->n_train = tr.n;
    res->n_dev = dv.n;
    res->n_test = ts.n;

    bh_head_config hc = {BH_HEAD_SPAN, "qa", mc->dim, 2, NULL, BH_POOL_MEAN, 0, 0, 0};
    if ((st = bh_head_new(&hc, o->seed + 1, &h))) goto done;
    long spe = (tr.nf + o->batch - 1) / o->batch, total = spe * o->epochs;
    bh_optim_config oc;
    bh__ft_optim_config(o, total, &oc);
    if ((st = bh_optim_new(m, &oc, &om)) || (st = bh_optim_new_head(h, &oc, &oh))) goto done;
    order = malloc(sizeof(long) * (size_t)tr.nf);
    ptr = malloc(sizeof(qa_feat *) * (size_t)o->batch);
    if (!order || !ptr) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    for (long i = 0; i < tr.nf; i++) order[i] = i;
    long with_ans = 0;
    for (long i = 0; i < tr.nf; i++) with_ans += tr.f[i].start > 0;
    qres->windows = tr.nf;
    bh__ft_log(o, "finetune qa: %ld train / %ld dev questions, %ld windows (%ld with the answer, %ld tokens), "
             "%ld answers no piece covers, window %d stride %d, %zu encoder parameters, %ld steps (%ld per epoch), "
             "warm-up %d",
          tr.n, dv.n, tr.nf, with_ans, tr.tokens, tr.unmapped, c.L, c.stride, bh_model_num_params(m), total, spe,
          oc.warmup);

    int D = mc->dim, bad_epochs = 0;
    uint64_t rng = bh__ft_data_rng(o);
    double best_dev = -1, ttrain = 0, ntok = 0;
    long step = 0;
    for (int ep = 1; ep <= o->epochs; ep++) {
        bh__ft_shuffle(order, tr.nf, &rng);
        double lsum = 0, te = bh__ft_now();
        long nb = 0;
        for (long i0 = 0; i0 < tr.nf; i0 += o->batch, step++, nb++) {
            int B = (int)(tr.nf - i0 < o->batch ? tr.nf - i0 : o->batch);
            for (int i = 0; i < B; i++) ptr[i] = &tr.f[order[i0 + i]];
            if ((st = qbatch_fill(&b, &tr, ptr, B, D, q.pad, &q))) goto done;
            bh_model_zero_grad(m);
            bh_head_zero_grad(h);
            float loss;
            if ((st = bh_model_forward_train(m, b.ids, b.mask, B, b.T, rng ^ ((uint64_t)step << 17), b.hid)) ||
                (st = bh_head_span_loss(h, b.hid, b.allowed, B, b.T, D, b.st, b.en, 1.0f, &loss, b.dhid)))
                goto done;
            if (!isfinite(loss)) {
                st = bh__fail(BH_ENUMERIC, "step %ld: loss is %f", step + 1, (double)loss);
                goto done;
            }
            if ((st = bh_model_backward(m, b.dhid))) goto done;
            float lr, norm;
            if ((st = bh__ft_update(o, &oc, step, m, om, h, oh, &lr, &norm))) goto done;
            lsum += loss;
            for (int i = 0; i < B; i++) ntok += b.T;
            if ((step + 1) % o->log_every == 0 || step + 1 == total)
                bh__ft_progress(o, ep, step, total, lsum / (double)(nb + 1), lr, norm, ntok,
                                ttrain + (bh__ft_now() - te));
        }
        ttrain += bh__ft_now() - te;
        double mean = lsum / (double)(nb ? nb : 1), dev = 0, dem = 0;
        if (ep == 1) res->first_loss = mean;
        res->last_loss = mean;
        res->epochs_run = ep;
        if ((st = evaluate(m, h, &dv, &q, &c, o->batch, &dem, &dev))) goto done;
        int improved = dev > best_dev;
        if (improved) {
            best_dev = dev;
            res->best_epoch = ep;
            bad_epochs = 0;
            if ((st = save_best(o, &c, m, h, &q, ep, dev))) goto done;
        } else {
            bad_epochs++;
        }
        bh__ft_log(o, "epoch %d/%d train loss %.4f dev SQuAD EM %.2f F1 %.2f%s (%.1f s)", ep, o->epochs, mean, dem, dev,
              improved ? " best, saved" : "", bh__ft_now() - t0);
        if (o->on_epoch) o->on_epoch(o->ctx, ep, mean, dev);
        if (o->patience && bad_epochs >= o->patience) {
            bh__ft_log(o, "no dev improvement in %d epochs: stopping", bad_epochs);
            break;
        }
    }
    res->steps = step;
    res->best_dev = best_dev;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, bh__ft_tok_file(q.tok));
    if ((st = bh__atomic_copy(o->tokenizer, path))) goto done;
    if (o->test) { /* the best epoch's checkpoint, as saved */
        if ((st = bh_model_load(o->out, 0, &bm)) || (st = bh_heads_load(o->out, &bestv, &nbest))) goto done;
        if (nbest != 1) {
            st = bh__fail(BH_EINTERNAL, "%s: %d heads after saving one", o->out, nbest);
            goto done;
        }
        if ((st = bh_model_set_threads(bm, o->threads)) ||
            (st = evaluate(bm, bestv[0], &ts, &q, &c, o->batch, &qres->test_em, &res->test)))
            goto done;
        bh__ft_log(o, "test SQuAD EM %.2f F1 %.2f (best epoch %d)", qres->test_em, res->test, res->best_epoch);
    }
    res->seconds = bh__ft_now() - t0;
done:
    bh_heads_free(bestv, nbest);
    bh_model_free(bm);
    qbatch_free(&b);
    free(order);
    free((void *)ptr);
    set_free(&tr);
    set_free(&dv);
    set_free(&ts);
    qtok_close(&q);
    bh_optim_free(om);
    bh_optim_free(oh);
    bh_head_free(h);
    bh_model_free(m);
    return st;
}

/* ---------------------------------------------------------------- answering */

struct bh__qa_model {
    bh_model *m;
    bh_head **heads;
    int nheads;
    bh_head *h;
    qtok q;
    qa_cfg c;
    qa_set one; /* the question being answered */
    qbatch b;
    const qa_feat **ptr;
    int pcap;
};

void bh__qa_free(bh__qa_model *qm)
{
    if (!qm) return;
    bh_model_free(qm->m);
    bh_heads_free(qm->heads, qm->nheads);
    qtok_close(&qm->q);
    set_free(&qm->one);
    qbatch_free(&qm->b);
    free((void *)qm->ptr);
    free(qm);
}

static int json_int(json_t *j, const char *key, int lo, int hi, int dflt)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) return dflt;
    return (int)json_integer_value(v);
}

/* A penalty of finetune.json: a number from 0 to 1000, else 0 (off). */
static double json_penalty(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    double x = json_is_number(v) ? json_number_value(v) : 0;
    return x >= 0 && x <= 1000 ? x : 0;
}

bh_status bh__qa_set_priors(bh__qa_model *qm, double echo_penalty, double type_penalty)
{
    if (!qm) return bh__fail(BH_EINVAL, "bh__qa_set_priors: NULL model");
    if (!(echo_penalty <= 1000) || !(type_penalty <= 1000))
        return bh__fail(BH_EINVAL, "bh__qa_set_priors: penalties must be at most 1000");
    if (echo_penalty >= 0) qm->c.echo_penalty = (float)echo_penalty;
    if (type_penalty >= 0) qm->c.type_penalty = (float)type_penalty;
    return BH_OK;
}

bh_status bh__qa_set_sentence(bh__qa_model *qm, int on)
{
    if (!qm) return bh__fail(BH_EINVAL, "bh__qa_set_sentence: NULL model");
    qm->c.sentence = on != 0;
    return BH_OK;
}

bh_status bh__qa_set_precision(bh__qa_model *qm, bh_precision p)
{
    return qm ? bh_model_set_precision(qm->m, p) : bh__fail(BH_EINVAL, "bh__qa_set_precision: NULL model");
}

bh_status bh__qa_load(const char *dir, int threads, bh__qa_model **out)
{
    if (!dir || !out) return bh__fail(BH_EINVAL, "bh__qa_load: NULL argument");
    *out = NULL;
    bh__qa_model *qm = calloc(1, sizeof *qm);
    if (!qm) return bh__fail(BH_ENOMEM, "out of memory");
    char path[4096];
    json_t *j = NULL;
    bh_status st;
    if ((st = bh_model_load(dir, BH_MODEL_MMAP, &qm->m)) || (st = bh_model_set_threads(qm->m, threads > 0 ? threads : 1)) ||
        (st = bh_heads_load(dir, &qm->heads, &qm->nheads)))
        goto fail;
    for (int i = 0; i < qm->nheads && !qm->h; i++)
        if (bh_head_get_kind(qm->heads[i]) == BH_HEAD_SPAN) qm->h = qm->heads[i];
    if (!qm->h) {
        st = bh__fail(BH_ENOTFOUND, "%s has no span (qa) head", dir);
        goto fail;
    }
    int L = bh_model_get_config(qm->m)->max_len;
    /* a window needs [CLS], a question piece, [SEP], a context piece and
     * [SEP]; with less, no question fits (the cap L - 4 is below one, and
     * below zero it turns huge as a size_t, so the whole question is kept,
     * the window's budget is negative and make_windows never ends) */
    if (L < 5) {
        st = bh__fail(BH_EFORMAT, "%s: max_len %d leaves no room for a question and a context piece (at least 5)", dir,
                      L);
        goto fail;
    }
    qm->c = (qa_cfg){L, 32, 64, 30, 0, 0, 0, 0};
    int normalize = 1;
    const char *tokname = "tokenizer.model";
    snprintf(path, sizeof path, "%s/finetune.json", dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        json_error_t je;
        if (!(j = json_load_file(path, 0, &je)) || !json_is_object(j)) {
            st = bh__fail(BH_EFORMAT, "%s line %d: %s", path, je.line, j ? "not an object" : je.text);
            goto fail;
        }
        json_t *v;
        if ((v = json_object_get(j, "normalize"))) normalize = json_is_true(v);
        qm->c.L = json_int(j, "seq", 8, L, L);
        qm->c.stride = json_int(j, "stride", 0, L, qm->c.stride);
        qm->c.max_query = json_int(j, "max_query", 1, L, qm->c.max_query);
        qm->c.max_answer = json_int(j, "max_answer", 1, 1 << 20, qm->c.max_answer);
        qm->c.null_answer = json_is_true(json_object_get(j, "null_answer"));
        qm->c.sentence = json_is_true(json_object_get(j, "sentence"));
        qm->c.echo_penalty = (float)json_penalty(j, "echo_penalty");
        qm->c.type_penalty = (float)json_penalty(j, "type_penalty");
        if ((v = json_object_get(j, "tokenizer")) && json_is_string(v) && !strchr(json_string_value(v), '/'))
            tokname = json_string_value(v);
    }
    snprintf(path, sizeof path, "%s/%s", dir, tokname);
    if ((st = qtok_open(&qm->q, path, normalize, bh_model_get_config(qm->m)))) goto fail;
    json_decref(j);
    *out = qm;
    return BH_OK;
fail:
    json_decref(j);
    bh__qa_free(qm);
    return st;
}

bh_status bh__qa_answer_one(bh__qa_model *qm, const char *context, size_t clen, const char *question, size_t qlen,
                            bh__qa_answer *ans)
{
    int n;
    return bh__qa_answer_top(qm, context, clen, question, qlen, 1, ans, &n);
}

bh_status bh__qa_answer_top(bh__qa_model *qm, const char *context, size_t clen, const char *question, size_t qlen,
                            int k, bh__qa_answer *ans, int *nans)
{
    if (!qm || !ans || !nans || (!context && clen) || (!question && qlen))
        return bh__fail(BH_EINVAL, "bh__qa_answer_top: NULL argument");
    if (k < 1 || k > BH__QA_TOP_MAX) return bh__fail(BH_EINVAL, "bh__qa_answer_top: k = %d, not in [1, %d]", k, BH__QA_TOP_MAX);
    *nans = 0;
    memset(ans, 0, sizeof *ans);
    size_t i = 0;
    while (i < clen && is_space(context[i])) i++;
    if (i == clen) return bh__fail(BH_EINVAL, "empty context");
    for (i = 0; i < qlen && is_space(question[i]); i++) {
    }
    if (i == qlen) return bh__fail(BH_EINVAL, "empty question");
    if (memchr(question, 0, qlen)) return bh__fail(BH_EINVAL, "the question contains a NUL byte");
    size_t cc = cp_len(context, clen), qc = cp_len(question, qlen);
    if (cc < qc)
        return bh__fail(BH_EINVAL, "the context (%zu characters) is shorter than the question (%zu)", cc, qc);
    qa_set *d = &qm->one;
    for (long e = 0; e < d->n; e++) ex_free(&d->ex[e]);
    d->n = d->nf = 0;
    d->tokens = d->unmapped = 0;
    char *qz = malloc(qlen + 1);
    if (!qz) return bh__fail(BH_ENOMEM, "out of memory");
    memcpy(qz, question, qlen);
    qz[qlen] = 0;
    bh_status st = add_example(d, &qm->q, &qm->c, "", context, clen, qz, NULL, NULL, 0);
    free(qz);
    if (st) return st;
    int D = bh_model_get_config(qm->m)->dim, nf = (int)d->nf;
    if (nf > qm->pcap) {
        free((void *)qm->ptr);
        qm->ptr = malloc(sizeof(qa_feat *) * (size_t)nf);
        qm->pcap = qm->ptr ? nf : 0;
        if (!qm->ptr) return bh__fail(BH_ENOMEM, "out of memory");
    }
    cand v[BH__QA_TOP_MAX];
    best bx = {v, k, 0, INFINITY};
    const int chunk = 16; /* windows per forward pass */
    int nu = 0;           /* the windows that can hold the answer, to the front */
    for (int w = 0; w < nf; w++)
        if (window_used(&d->ex[0], &d->f[w])) d->f[nu++] = d->f[w];
    nf = nu;
    for (int i0 = 0; i0 < nf; i0 += chunk) {
        int B = nf - i0 < chunk ? nf - i0 : chunk;
        for (int r = 0; r < B; r++) qm->ptr[r] = &d->f[i0 + r];
        if ((st = qbatch_fill(&qm->b, d, qm->ptr, B, D, qm->q.pad, &qm->q)) ||
            (st = bh_model_forward(qm->m, qm->b.ids, qm->b.mask, B, qm->b.T, qm->b.hid, NULL)) ||
            (st = bh_head_span_logprobs(qm->h, qm->b.hid, qm->b.allowed, B, qm->b.T, D, qm->b.ls, qm->b.le)))
            return st;
        for (int r = 0; r < B; r++)
            if ((st = fold_row(&qm->b, r, d, qm->ptr[r], &qm->c, &bx))) return st;
    }
    /* the null answer: the only one when no span was found, else (a
     * null-answer model) ranked among the spans by its score */
    int nulls = !bx.n || qm->c.null_answer, j = 0;
    while (*nans < k && (j < bx.n || nulls)) {
        bh__qa_answer *a = &ans[(*nans)++];
        memset(a, 0, sizeof *a);
        if (nulls && (j == bx.n || bx.null_min > bx.v[j].score)) {
            a->null = 1;
            a->score = bx.null_min < INFINITY ? expf(bx.null_min) : 0.0f;
            nulls = 0;
            continue;
        }
        a->bstart = (size_t)bx.v[j].bs;
        a->bend = (size_t)bx.v[j].be;
        a->start = cp_len(context, a->bstart);
        a->end = a->start + cp_len(context + a->bstart, a->bend - a->bstart);
        a->score = expf(bx.v[j].raw);
        j++;
    }
    return BH_OK;
}
