/* corpora/stats.c — corpus statistics: documents, sentences, tokens, characters
 * by Unicode script (ICU), label/tag distribution, SQuAD paragraph/answer counts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uscript.h>
#include <utf8proc.h>

#include "bhasha/corpus.h"
#include "core/error.h"

#define MAX_LABELS 4096
#define N_SCRIPTS 256

typedef struct lab {
    char *name;
    long long n;
} lab;

struct bh_corpus_stats {
    long long docs, sentences, tokens, chars, invalid_bytes;
    long long paragraphs, answers, unanswerable;
    long long by_script[N_SCRIPTS];
    lab labels[MAX_LABELS];
    int n_labels;
    long long other_labels;
    int has_labels, has_tags, is_qa;
    const char *last_ctx; /* context of the last SQuAD question, and that record's index */
    long last_index;
};

bh_status bh_corpus_stats_new(bh_corpus_stats **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_corpus_stats_new: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? BH_OK : bh__fail(BH_ENOMEM, "stats");
}

void bh_corpus_stats_free(bh_corpus_stats *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_labels; i++) free(s->labels[i].name);
    free(s);
}

static bh_status count_label(bh_corpus_stats *s, const char *l)
{
    for (int i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, l) == 0) {
            s->labels[i].n++;
            return BH_OK;
        }
    if (s->n_labels == MAX_LABELS) {
        s->other_labels++;
        return BH_OK;
    }
    s->labels[s->n_labels].name = strdup(l);
    if (!s->labels[s->n_labels].name) return bh__fail(BH_ENOMEM, "stats label");
    s->labels[s->n_labels++].n = 1;
    return BH_OK;
}

static int is_ws(int32_t cp)
{
    return cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F;
}

static int is_sent_end(int32_t cp)
{
    return cp == '.' || cp == '?' || cp == '!' || cp == 0x0964 || cp == 0x0965 || cp == '\n';
}

/* Characters by script, whitespace tokens, sentence segments. */
static void scan_text(bh_corpus_stats *s, const char *t, size_t n, int count_tokens, int count_sents)
{
    size_t i = 0;
    int in_tok = 0, sent_has = 0;
    while (i < n) {
        int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            s->invalid_bytes++;
            i++;
            continue;
        }
        i += (size_t)k;
        if (is_ws(cp)) {
            in_tok = 0;
        } else {
            if (!in_tok && count_tokens) s->tokens++;
            in_tok = 1;
            s->chars++;
            UErrorCode e = U_ZERO_ERROR;
            UScriptCode sc = uscript_getScript(cp, &e);
            if (U_FAILURE(e) || sc < 0 || sc >= N_SCRIPTS) sc = USCRIPT_UNKNOWN;
            s->by_script[sc]++;
        }
        if (count_sents) {
            if (is_sent_end(cp)) {
                if (sent_has) s->sentences++;
                sent_has = 0;
            } else if (!is_ws(cp)) {
                sent_has = 1;
            }
        }
    }
    if (count_sents && sent_has) s->sentences++;
}

bh_status bh_corpus_stats_add(bh_corpus_stats *s, const bh_corpus_record *rec)
{
    if (!s || !rec) return bh__fail(BH_EINVAL, "bh_corpus_stats_add: NULL argument");
    s->docs++;
    if (rec->question) {
        s->is_qa = 1;
        /* Questions of one paragraph share its context pointer, but once a reader is
         * freed another reader (the next file of a total) may put a different
         * context at the same address: its index then starts over, not rising. */
        if (!s->last_ctx || rec->text != s->last_ctx || rec->index <= s->last_index) {
            s->paragraphs++;
            s->last_ctx = rec->text;
            scan_text(s, rec->text, rec->text_len, 1, 0);
        }
        s->last_index = rec->index;
        scan_text(s, rec->question, strlen(rec->question), 1, 1);
        s->answers += (long long)rec->n_answers;
        if (rec->is_impossible || rec->n_answers == 0) s->unanswerable++;
        return BH_OK;
    }
    if (rec->tokens) {
        s->sentences++;
        s->tokens += (long long)rec->n_tokens;
        for (size_t i = 0; i < rec->n_tokens; i++) scan_text(s, rec->tokens[i], strlen(rec->tokens[i]), 0, 0);
        if (rec->tags) {
            s->has_tags = 1;
            for (size_t i = 0; i < rec->n_tokens; i++)
                if (count_label(s, rec->tags[i])) return BH_ENOMEM;
        }
    } else if (rec->text) {
        scan_text(s, rec->text, rec->text_len, 1, 1);
    }
    if (rec->label) {
        s->has_labels = 1;
        if (count_label(s, rec->label)) return BH_ENOMEM;
    }
    return BH_OK;
}

static int cmp_lab(const void *a, const void *b)
{
    const lab *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* jansson refuses object keys that are not valid UTF-8 (json_object_set_new then
 * fails and the count would silently vanish), so such a label is written with each
 * invalid byte as the four characters \xHH: nothing is lost and the bytes can be found. */
static bh_status utf8_key(const char *l, bh_buf *out)
{
    bh_status st = BH_OK;
    size_t n = strlen(l);
    bh_buf_clear(out);
    for (size_t i = 0; i < n && !st;) {
        int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)l + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) {
            st = bh_buf_append(out, l + i, (size_t)k);
            i += (size_t)k;
            continue;
        }
        char hex[8];
        snprintf(hex, sizeof hex, "\\x%02X", (unsigned char)l[i]);
        st = bh_buf_append(out, hex, 4);
        i++;
    }
    if (!st && !out->data) st = bh_buf_append(out, "", 0);
    return st;
}

/* Adds n to counts[key]. Two labels may share a key once escaped (the bytes FF and the
 * text "\xFF"); their counts are then summed rather than one overwriting the other. */
static int add_count(json_t *counts, const char *key, long long n)
{
    json_t *old = json_object_get(counts, key);
    if (old) return json_integer_set(old, json_integer_value(old) + n);
    return json_object_set_new(counts, key, json_integer(n));
}

bh_status bh_corpus_stats_json(const bh_corpus_stats *s, bh_buf *out)
{
    if (!s || !out) return bh__fail(BH_EINVAL, "bh_corpus_stats_json: NULL argument");
    json_t *o = json_object();
    if (!o) return bh__fail(BH_ENOMEM, "stats json");
    int bad = 0; /* a failed set (no memory) would otherwise drop a field from the output */
    bad |= json_object_set_new(o, s->is_qa ? "questions" : "documents", json_integer(s->docs));
    if (s->is_qa) {
        bad |= json_object_set_new(o, "paragraphs", json_integer(s->paragraphs));
        bad |= json_object_set_new(o, "answers", json_integer(s->answers));
        bad |= json_object_set_new(o, "unanswerable", json_integer(s->unanswerable));
    }
    bad |= json_object_set_new(o, "sentences", json_integer(s->sentences));
    bad |= json_object_set_new(o, "tokens", json_integer(s->tokens));
    bad |= json_object_set_new(o, "characters", json_integer(s->chars));
    if (s->invalid_bytes) bad |= json_object_set_new(o, "invalid_utf8_bytes", json_integer(s->invalid_bytes));
    /* scripts, largest first */
    json_t *sc = json_object();
    int order[N_SCRIPTS], no = 0;
    for (int i = 0; i < N_SCRIPTS; i++)
        if (s->by_script[i]) order[no++] = i;
    for (int a = 1; a < no; a++)
        for (int b = a; b > 0 && s->by_script[order[b]] > s->by_script[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    for (int i = 0; i < no && sc; i++) {
        const char *nm = uscript_getName((UScriptCode)order[i]);
        bad |= json_object_set_new(sc, nm ? nm : "Unknown", json_integer(s->by_script[order[i]]));
    }
    bad |= json_object_set_new(o, "characters_by_script", sc);
    if (s->n_labels && !bad) {
        lab *tmp = malloc((size_t)s->n_labels * sizeof *tmp);
        if (!tmp) {
            json_decref(o);
            return bh__fail(BH_ENOMEM, "stats json");
        }
        memcpy(tmp, s->labels, (size_t)s->n_labels * sizeof *tmp);
        qsort(tmp, (size_t)s->n_labels, sizeof *tmp, cmp_lab);
        json_t *lj = json_object();
        bh_buf key = {0};
        for (int i = 0; i < s->n_labels && lj && !bad; i++) {
            if (utf8_key(tmp[i].name, &key)) bad = 1;
            else bad |= add_count(lj, key.data, tmp[i].n);
        }
        if (s->other_labels && !bad) bad |= add_count(lj, "(other)", s->other_labels);
        bh_buf_free(&key);
        free(tmp);
        bad |= json_object_set_new(o, s->has_tags ? "tags" : "labels", lj);
    }
    char *d = bad ? NULL : json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    if (!d) return bh__fail(BH_ENOMEM, "stats json");
    bh_status st = bh_buf_append(out, d, strlen(d));
    free(d);
    return st;
}
