/* tokenizer/subword.c — bh_tokens, and the common tokenizer interface (see subword.h). */
#include "tokenizer/subword.h"
#include "bhasha/normalize.h"
#include "core/error.h"
#include "tokenizer/spm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bh_status bh__tokens_reserve(bh_tokens *t, size_t need)
{
    if (!t) return bh__fail(BH_EINVAL, "bh_tokens: NULL");
    if (need <= t->cap) return BH_OK;
    size_t cap = t->cap ? t->cap : 16;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(size_t)) return bh__fail(BH_ELIMIT, "bh_tokens: too many tokens");
        cap *= 2;
    }
    int32_t *ids = realloc(t->ids, cap * sizeof *ids);
    if (ids) t->ids = ids;
    size_t *b = ids ? realloc(t->begin, cap * sizeof *b) : NULL;
    if (b) t->begin = b;
    size_t *e = b ? realloc(t->end, cap * sizeof *e) : NULL;
    if (e) t->end = e;
    if (!e) return bh__fail(BH_ENOMEM, "bh_tokens: cannot grow to %zu tokens", cap);
    t->cap = cap;
    return BH_OK;
}

bh_status bh__tokens_push(bh_tokens *t, int32_t id, size_t begin, size_t end)
{
    if (t->n == t->cap) {
        bh_status st = bh__tokens_reserve(t, t->n + 1);
        if (st) return st;
    }
    t->ids[t->n] = id;
    t->begin[t->n] = begin;
    t->end[t->n] = end;
    t->n++;
    return BH_OK;
}

void bh_tokens_clear(bh_tokens *t)
{
    if (t) t->n = 0;
}

void bh_tokens_free(bh_tokens *t)
{
    if (!t) return;
    free(t->ids);
    free(t->begin);
    free(t->end);
    memset(t, 0, sizeof *t);
}

bh_status bh_tokens_to_char_offsets(const char *text, size_t len, bh_tokens *t)
{
    if (!t || (!text && len)) return bh__fail(BH_EINVAL, "bh_tokens_to_char_offsets: NULL argument");
    /* map[b] = code points before byte b (a byte inside a sequence maps like its start) */
    size_t *map = malloc((len + 1) * sizeof *map);
    if (!map) return bh__fail(BH_ENOMEM, "bh_tokens_to_char_offsets: out of memory");
    size_t i = 0, chars = 0;
    while (i < len) {
        size_t k = bh__utf8_seq(text + i, len - i);
        if (!k) k = 1; /* as everywhere in bhasha, an invalid byte is a code point of its own */
        for (size_t b = i; b < i + k; b++) map[b] = chars;
        i += k;
        chars++;
    }
    map[len] = chars;
    for (size_t k = 0; k < t->n; k++) {
        size_t b = t->begin[k] <= len ? t->begin[k] : len, e = t->end[k] <= len ? t->end[k] : len;
        /* an end inside a sequence still covers that whole code point */
        t->begin[k] = map[b];
        t->end[k] = (e > 0 && map[e] == map[e - 1] && e < len) ? map[e] + 1 : map[e];
    }
    free(map);
    return BH_OK;
}

/* ----------------------------------------------------- common interface */

struct bh_tokenizer {
    bh_tokenizer_kind kind;
    bh_spm *spm;
    bh_wordpiece *wp;
    bh_tokenizer_options opt;
    bh_special_ids sp;
};

void bh_tokenizer_options_default(bh_tokenizer_options *opt)
{
    if (!opt) return;
    opt->normalize = 0;
    opt->add_special = 1;
    bh_wordpiece_options_default(&opt->wordpiece);
}

void bh_tokenizer_free(bh_tokenizer *t)
{
    if (!t) return;
    bh_spm_free(t->spm);
    bh_wordpiece_free(t->wp);
    free(t);
}

static int32_t spm_special(const bh_spm *m, const char *piece, bh_spm_special fallback)
{
    if (bh__spm_has_piece(m, piece, strlen(piece))) return bh_spm_piece_to_id(m, piece, strlen(piece));
    return (int)fallback >= 0 ? bh_spm_special_id(m, fallback) : -1;
}

bh_status bh_tokenizer_load(const char *path, const bh_tokenizer_options *opt, bh_tokenizer **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_tokenizer_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "%s: cannot open", path);
    int first = fgetc(f);
    fclose(f);
    if (first == EOF) return bh__fail(BH_EFORMAT, "%s: empty file", path);
    bh_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return bh__fail(BH_ENOMEM, "bh_tokenizer_load: out of memory");
    if (opt) t->opt = *opt;
    else bh_tokenizer_options_default(&t->opt);
    bh_status st;
    /* A SentencePiece model is a protobuf whose first field (pieces) has tag 0x0A;
     * a vocab.txt starts with a printable token. */
    if (first == 0x0A) {
        t->kind = BH_TOKENIZER_SPM;
        st = bh_spm_load(path, &t->spm);
        if (!st) {
            t->sp.cls = spm_special(t->spm, "<s>", BH_SPM_BOS);
            t->sp.sep = spm_special(t->spm, "</s>", BH_SPM_EOS);
            t->sp.pad = spm_special(t->spm, "<pad>", BH_SPM_PAD);
            t->sp.mask = spm_special(t->spm, "<mask>", (bh_spm_special)-1);
            t->sp.unk = bh_spm_special_id(t->spm, BH_SPM_UNK);
        }
    } else {
        t->kind = BH_TOKENIZER_WORDPIECE;
        st = bh_wordpiece_load(path, &t->opt.wordpiece, &t->wp);
        if (!st) {
            t->sp.cls = bh_wordpiece_token_to_id(t->wp, "[CLS]", 5);
            t->sp.sep = bh_wordpiece_token_to_id(t->wp, "[SEP]", 5);
            t->sp.pad = bh_wordpiece_token_to_id(t->wp, "[PAD]", 5);
            t->sp.mask = bh_wordpiece_token_to_id(t->wp, "[MASK]", 6);
            const char *unk = t->opt.wordpiece.unk_token ? t->opt.wordpiece.unk_token : "[UNK]";
            t->sp.unk = bh_wordpiece_token_to_id(t->wp, unk, strlen(unk));
        }
    }
    /* the options struct may point at caller strings: keep only defaults */
    t->opt.wordpiece.unk_token = NULL;
    t->opt.wordpiece.prefix = NULL;
    if (st) {
        bh_tokenizer_free(t);
        return st;
    }
    *out = t;
    return BH_OK;
}

bh_tokenizer_kind bh_tokenizer_get_kind(const bh_tokenizer *t) { return t ? t->kind : (bh_tokenizer_kind)0; }

int32_t bh_tokenizer_vocab_size(const bh_tokenizer *t)
{
    if (!t) return 0;
    return t->kind == BH_TOKENIZER_SPM ? bh_spm_vocab_size(t->spm) : bh_wordpiece_vocab_size(t->wp);
}

bh_special_ids bh_tokenizer_special_ids(const bh_tokenizer *t)
{
    bh_special_ids none = {-1, -1, -1, -1, -1};
    return t ? t->sp : none;
}

/* Encodes one text with the tokenizer's options; scratch holds normalized text. */
static bh_status tok_encode(const bh_tokenizer *t, const char *text, size_t len, bh_buf *scratch, bh_tokens *out)
{
    if (!t || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_tokenizer_encode: NULL argument");
    if (t->opt.normalize) {
        bh_buf_clear(scratch);
        bh_status st = bh_normalize(text, len, NULL, scratch, NULL);
        if (st) return st;
        text = scratch->data ? scratch->data : "";
        len = scratch->len;
    }
    bh_status st = t->kind == BH_TOKENIZER_SPM ? bh_spm_encode(t->spm, text, len, out)
                                               : bh_wordpiece_encode(t->wp, text, len, out);
    if (st || !t->opt.add_special) return st;
    size_t extra = (t->sp.cls >= 0) + (t->sp.sep >= 0);
    st = bh__tokens_reserve(out, out->n + extra);
    if (st) return st;
    if (t->sp.cls >= 0) {
        memmove(out->ids + 1, out->ids, out->n * sizeof *out->ids);
        memmove(out->begin + 1, out->begin, out->n * sizeof *out->begin);
        memmove(out->end + 1, out->end, out->n * sizeof *out->end);
        out->ids[0] = t->sp.cls;
        out->begin[0] = out->end[0] = 0;
        out->n++;
    }
    if (t->sp.sep >= 0) st = bh__tokens_push(out, t->sp.sep, 0, 0);
    return st;
}

bh_status bh_tokenizer_encode(const bh_tokenizer *t, const char *text, size_t len, bh_tokens *out)
{
    bh_buf scratch = {0};
    bh_status st = tok_encode(t, text, len, &scratch, out);
    bh_buf_free(&scratch);
    return st;
}

void bh_batch_free(bh_batch *b)
{
    if (!b) return;
    free(b->ids);
    free(b->mask);
    free(b->offsets);
    free(b->lengths);
    memset(b, 0, sizeof *b);
}

typedef struct {
    const bh_tokenizer *t;
    const char *const *texts;
    const size_t *lens;
    size_t n, stride, first;
    bh_tokens *rows;
    bh_status st;
    size_t failed_at;
    char msg[512];
} batch_job;

static void *batch_worker(void *arg)
{
    batch_job *j = arg;
    bh_buf scratch = {0};
    for (size_t i = j->first; i < j->n; i += j->stride) {
        bh_status st = tok_encode(j->t, j->texts[i], j->lens[i], &scratch, &j->rows[i]);
        if (st) {
            j->st = st;
            j->failed_at = i;
            snprintf(j->msg, sizeof j->msg, "%s", bh_last_error());
            break;
        }
    }
    bh_buf_free(&scratch);
    return NULL;
}

bh_status bh_tokenizer_encode_batch(const bh_tokenizer *t, const char *const *texts, const size_t *lens, size_t n,
                                    size_t max_len, int nthreads, bh_batch *out)
{
    if (!t || !out || (n && (!texts || !lens))) return bh__fail(BH_EINVAL, "bh_tokenizer_encode_batch: NULL argument");
    bh_batch_free(out);
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if ((size_t)nthreads > n) nthreads = n ? (int)n : 1;
    bh_tokens *rows = calloc(n ? n : 1, sizeof *rows);
    batch_job jobs[64];
    pthread_t tids[64];
    if (!rows) return bh__fail(BH_ENOMEM, "bh_tokenizer_encode_batch: out of memory");
    int started = 1;
    for (int k = 0; k < nthreads; k++)
        jobs[k] = (batch_job){t, texts, lens, n, (size_t)nthreads, (size_t)k, rows, BH_OK, 0, {0}};
    for (int k = 1; k < nthreads; k++) {
        if (pthread_create(&tids[k], NULL, batch_worker, &jobs[k]) != 0) break;
        started++;
    }
    /* threads that could not start: the calling thread does their share */
    for (int k = started; k < nthreads; k++) batch_worker(&jobs[k]);
    batch_worker(&jobs[0]);
    for (int k = 1; k < started; k++) pthread_join(tids[k], NULL);
    bh_status st = BH_OK;
    for (int k = 0; k < nthreads; k++)
        if (jobs[k].st && !st) st = bh__fail(jobs[k].st, "text %zu: %s", jobs[k].failed_at, jobs[k].msg);
    size_t cols = 0;
    int keep_last = t->opt.add_special && t->sp.sep >= 0;
    for (size_t i = 0; i < n && !st; i++) {
        size_t len = rows[i].n;
        if (max_len && len > max_len) {
            if (keep_last) {
                rows[i].ids[max_len - 1] = rows[i].ids[len - 1];
                rows[i].begin[max_len - 1] = rows[i].end[max_len - 1] = 0;
            }
            rows[i].n = len = max_len;
        }
        if (len > cols) cols = len;
    }
    if (!st && n && cols > SIZE_MAX / 16 / n) st = bh__fail(BH_ELIMIT, "bh_tokenizer_encode_batch: batch too large");
    if (!st) {
        size_t cells = (n && cols) ? n * cols : 1;
        out->ids = malloc(cells * sizeof *out->ids);
        out->mask = calloc(cells, 1);
        out->offsets = calloc(cells * 2, sizeof *out->offsets);
        out->lengths = calloc(n ? n : 1, sizeof *out->lengths);
        if (!out->ids || !out->mask || !out->offsets || !out->lengths) {
            bh_batch_free(out);
            st = bh__fail(BH_ENOMEM, "bh_tokenizer_encode_batch: out of memory");
        }
    }
    if (!st) {
        int32_t pad = t->sp.pad >= 0 ? t->sp.pad : 0;
        out->rows = n;
        out->cols = cols;
        for (size_t i = 0; i < n; i++) {
            out->lengths[i] = rows[i].n;
            for (size_t c = 0; c < cols; c++) {
                size_t cell = i * cols + c;
                if (c < rows[i].n) {
                    out->ids[cell] = rows[i].ids[c];
                    out->mask[cell] = 1;
                    out->offsets[2 * cell] = (int64_t)rows[i].begin[c];
                    out->offsets[2 * cell + 1] = (int64_t)rows[i].end[c];
                } else {
                    out->ids[cell] = pad;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) bh_tokens_free(&rows[i]);
    free(rows);
    return st;
}
