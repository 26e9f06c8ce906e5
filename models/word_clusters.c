/* models/word_clusters.c — the word cluster table: parsed from its text form
 * (word, TAB, ids; see include/bhasha/crf.h) into an open-addressing hash
 * table keyed by a 64-bit FNV-1a hash of the lower-cased word. Two words whose
 * hashes collide share the first one's ids (about one pair in 10^9 for a table
 * of 10^5 words). */
#include "models/word_clusters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "models/ner_features.h"

#define MAX_TEXT ((size_t)1 << 28) /* 256 MB of text at most */

struct bh_word_clusters {
    int levels;
    size_t n, cap;  /* words, slots (a power of two, at least 2n) */
    uint64_t *keys; /* [cap], 0 = empty */
    uint16_t *ids;  /* [cap, levels] */
    char *text;     /* the parsed text, NUL-terminated */
    size_t len;
};

static uint64_t key_of(const char *s, size_t n)
{
    uint64_t h = bh__fnv1a64(14695981039346656037ULL, s, n);
    return h ? h : 1;
}

void bh_word_clusters_free(bh_word_clusters *wc)
{
    if (!wc) return;
    free(wc->keys);
    free(wc->ids);
    free(wc->text);
    free(wc);
}

int bh__wc_levels(const bh_word_clusters *wc) { return wc ? wc->levels : 0; }

size_t bh_word_clusters_size(const bh_word_clusters *wc) { return wc ? wc->n : 0; }

const char *bh__wc_text(const bh_word_clusters *wc, size_t *len)
{
    *len = wc ? wc->len : 0;
    return wc ? wc->text : NULL;
}

int bh__wc_lookup(const bh_word_clusters *wc, const char *w, size_t n, uint16_t *ids)
{
    uint64_t k = key_of(w, n);
    for (size_t i = k & (wc->cap - 1);; i = (i + 1) & (wc->cap - 1)) {
        if (wc->keys[i] == k) {
            memcpy(ids, wc->ids + i * (size_t)wc->levels, sizeof *ids * (size_t)wc->levels);
            return 1;
        }
        if (!wc->keys[i]) break;
    }
    for (int g = 0; g < wc->levels; g++) ids[g] = BH__WC_UNKNOWN;
    return 0;
}

/* Doubles the table (a power of two, at least twice the words). It grows
 * with the words it holds, not with the lines of the text: a text of empty
 * lines or of one word repeated stays small. */
static bh_status grow(bh_word_clusters *wc)
{
    size_t cap = wc->cap ? 2 * wc->cap : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint16_t *ids = malloc(cap * BH__WC_MAX * sizeof *ids);
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return bh__fail(BH_ENOMEM, "word clusters: a table of %zu words", wc->n);
    }
    for (size_t j = 0; j < wc->cap; j++) {
        if (!wc->keys[j]) continue;
        size_t i = wc->keys[j] & (cap - 1);
        while (keys[i]) i = (i + 1) & (cap - 1);
        keys[i] = wc->keys[j];
        memcpy(ids + i * (size_t)wc->levels, wc->ids + j * (size_t)wc->levels, sizeof *ids * (size_t)wc->levels);
    }
    free(wc->keys);
    free(wc->ids);
    wc->keys = keys;
    wc->ids = ids;
    wc->cap = cap;
    return BH_OK;
}

/* One id column: decimal 0..65534. */
static int parse_id(const char *s, size_t n, uint16_t *id)
{
    if (n == 0 || n > 5) return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v >= BH__WC_UNKNOWN) return -1;
    *id = (uint16_t)v;
    return 0;
}

bh_status bh__wc_parse(const char *text, size_t len, const char *what, bh_word_clusters **out)
{
    if (!text || !what || !out) return bh__fail(BH_EINVAL, "word clusters: NULL argument");
    *out = NULL;
    if (len > MAX_TEXT) return bh__fail(BH_ELIMIT, "%s: %zu bytes of word clusters (at most %zu)", what, len, MAX_TEXT);
    if (memchr(text, 0, len)) return bh__fail(BH_EFORMAT, "%s: a NUL byte in the word clusters", what);
    bh_word_clusters *wc = calloc(1, sizeof *wc);
    if (!wc) return bh__fail(BH_ENOMEM, "word clusters");
    wc->text = malloc(len + 1);
    bh_status st = wc->text ? grow(wc) : bh__fail(BH_ENOMEM, "word clusters: %zu bytes", len);
    if (!st) {
        memcpy(wc->text, text, len);
        wc->text[len] = 0;
        wc->len = len;
    }
    size_t lineno = 0;
    for (size_t p = 0; !st && p < len;) {
        const char *s = text + p, *nl = memchr(s, '\n', len - p);
        size_t n = nl ? (size_t)(nl - s) : len - p;
        p += n + (nl != NULL);
        lineno++;
        if (n && s[n - 1] == '\r') n--;
        if (!n) continue;
        const char *tab = memchr(s, '\t', n);
        if (!tab || tab == s) {
            st = bh__fail(BH_EFORMAT, "%s:%zu: not \"word<TAB>id<TAB>...\"", what, lineno);
            break;
        }
        uint16_t ids[BH__WC_MAX];
        int g = 0;
        for (const char *c = tab + 1, *end = s + n;; g++) {
            const char *e = memchr(c, '\t', (size_t)(end - c));
            size_t k = e ? (size_t)(e - c) : (size_t)(end - c);
            if (g == BH__WC_MAX || parse_id(c, k, &ids[g])) {
                st = bh__fail(BH_EFORMAT, "%s:%zu: cluster ids must be 1 to %d numbers 0..%d", what, lineno, BH__WC_MAX,
                              BH__WC_UNKNOWN - 1);
                break;
            }
            if (!e) break;
            c = e + 1;
        }
        if (st) break;
        if (!wc->levels) wc->levels = g + 1;
        if (g + 1 != wc->levels) {
            st = bh__fail(BH_EFORMAT, "%s:%zu: %d cluster ids, the first line has %d", what, lineno, g + 1, wc->levels);
            break;
        }
        char *lw = bh__ner_lower(s, (size_t)(tab - s));
        if (!lw) {
            st = bh__fail(BH_ENOMEM, "word clusters");
            break;
        }
        uint64_t k = key_of(lw, strlen(lw));
        free(lw);
        if (2 * (wc->n + 1) > wc->cap && (st = grow(wc))) break;
        size_t i = k & (wc->cap - 1);
        while (wc->keys[i] && wc->keys[i] != k) i = (i + 1) & (wc->cap - 1);
        if (wc->keys[i]) continue; /* the word again (or its lower-case twin): the first line wins */
        wc->keys[i] = k;
        memcpy(wc->ids + i * (size_t)wc->levels, ids, sizeof ids[0] * (size_t)wc->levels);
        wc->n++;
    }
    if (!st && !wc->n) st = bh__fail(BH_EFORMAT, "%s: no word clusters", what);
    if (st) {
        bh_word_clusters_free(wc);
        return st;
    }
    *out = wc;
    return BH_OK;
}

bh_status bh_word_clusters_load(const char *path, bh_word_clusters **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_word_clusters_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bh_status st = BH_OK;
    for (;;) {
        if (len == cap) {
            if (cap > MAX_TEXT) {
                st = bh__fail(BH_ELIMIT, "%s: more than %zu bytes of word clusters", path, MAX_TEXT);
                break;
            }
            cap = cap ? 2 * cap : 1 << 16;
            char *nb = realloc(buf, cap);
            if (!nb) {
                st = bh__fail(BH_ENOMEM, "reading %s", path);
                break;
            }
            buf = nb;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0) {
            if (ferror(f)) st = bh__fail(BH_EIO, "reading %s failed", path);
            break;
        }
    }
    fclose(f);
    if (!st) st = bh__wc_parse(buf ? buf : "", len, path, out);
    free(buf);
    return st;
}
