/* models/ner_features.c — hashed sparse features of tokens for the feature CRF
 * tagger (see models/ner_features.h for the list). Features are 32-bit hashes
 * of (template number, text), so no vocabulary is stored: the tagger maps them
 * to weight buckets. */
#include "models/ner_features.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "core/hash.h"
#include "models/word_clusters.h"

/* Final mix so that the low bits are well spread (splitmix64 finaliser). */
static uint32_t finish(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (uint32_t)h;
}

static uint64_t start(unsigned tmpl)
{
    unsigned char b = (unsigned char)tmpl;
    return bh__fnv1a64(14695981039346656037ULL, &b, 1);
}

static uint32_t feat(unsigned tmpl, const char *s, size_t n) { return finish(bh__fnv1a64(start(tmpl), s, n)); }

/* Two strings joined by a separator byte that UTF-8 text never holds. */
static uint32_t feat2(unsigned tmpl, const char *a, size_t an, const char *b, size_t bn)
{
    unsigned char sep = 0xff;
    return finish(bh__fnv1a64(bh__fnv1a64(bh__fnv1a64(start(tmpl), a, an), &sep, 1), b, bn));
}

/* Next code point of s[i..n) and its byte length (1 for an invalid byte, cp -1). */
static size_t next_cp(const char *s, size_t n, size_t i, int32_t *cp)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
    if (k <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (size_t)k;
}

enum { SC_OTHER, SC_LATIN, SC_BENG, SC_DEVA, SC_DIGIT, SC_PUNCT };

static int script_of(int32_t c)
{
    if (c < 0) return SC_OTHER;
    if (utf8proc_category(c) == UTF8PROC_CATEGORY_ND) return SC_DIGIT;
    if (c >= 0x0980 && c <= 0x09FF) return SC_BENG;
    if (c >= 0x0900 && c <= 0x097F) return SC_DEVA;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0x24F)) return SC_LATIN;
    utf8proc_category_t k = utf8proc_category(c);
    if (k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_SO) return SC_PUNCT;
    return SC_OTHER;
}

/* Shape letter of a code point: X/x Latin case, d digit (any script), a other
 * letters and marks, p punctuation and symbols, o the rest. */
static char shape_of(int32_t c)
{
    if (c < 0) return 'o';
    utf8proc_category_t k = utf8proc_category(c);
    if (k == UTF8PROC_CATEGORY_ND) return 'd';
    if (k == UTF8PROC_CATEGORY_LU) return 'X';
    if (k == UTF8PROC_CATEGORY_LL) return 'x';
    if (k >= UTF8PROC_CATEGORY_LT && k <= UTF8PROC_CATEGORY_ME) return 'a';
    if (k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_SO) return 'p';
    return 'o';
}

char *bh__ner_lower(const char *s, size_t n)
{
    char *o = malloc(4 * n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t l = next_cp(s, n, i, &c);
        if (c < 0) {
            o[k++] = s[i];
        } else {
            k += (size_t)utf8proc_encode_char(utf8proc_tolower(c), (utf8proc_uint8_t *)o + k);
        }
        i += l;
    }
    o[k] = 0;
    return o;
}

/* Byte offset after the first m code points of s (or n). */
static size_t cp_prefix(const char *s, size_t n, size_t m)
{
    size_t i = 0;
    int32_t c;
    while (i < n && m--) i += next_cp(s, n, i, &c);
    return i;
}

/* Byte offset where the last m code points start (a UTF-8 continuation byte
 * never starts one). */
static size_t cp_suffix(const char *s, size_t n, size_t m)
{
    size_t i = n;
    while (i > 0 && m) {
        i--;
        if (((unsigned char)s[i] & 0xC0) != 0x80) m--;
    }
    return i;
}

bh_status bh__ner_features(const char *const *tokens, size_t n, const bh_word_clusters *wc, uint32_t *out)
{
    if (!n) return BH_OK;
    if (!tokens || !out) return bh__fail(BH_EINVAL, "ner features: NULL argument");
    char **lw = calloc(n, sizeof *lw);
    size_t *ll = malloc(n * sizeof *ll);
    int G = wc ? bh__wc_levels(wc) : 0, gc = G >= 3 ? 2 : G - 1; /* gc: the neighbours' granularity */
    uint16_t *cid = G ? malloc(n * BH__WC_MAX * sizeof *cid) : NULL; /* [n, BH__WC_MAX] each word's clusters */
    bh_status st = BH_OK;
    if (!lw || !ll || (G && !cid)) {
        st = bh__fail(BH_ENOMEM, "ner features");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!tokens[i]) {
            st = bh__fail(BH_EINVAL, "ner features: token %zu is NULL", i);
            goto done;
        }
        lw[i] = bh__ner_lower(tokens[i], strlen(tokens[i]));
        if (!lw[i]) {
            st = bh__fail(BH_ENOMEM, "ner features");
            goto done;
        }
        ll[i] = strlen(lw[i]);
        if (G) bh__wc_lookup(wc, lw[i], ll[i], cid + i * BH__WC_MAX);
    }
    static const char BOS[] = "<s>", EOS[] = "</s>";
    for (size_t i = 0; i < n; i++) {
        uint32_t *f = out + i * BH__NER_NFEAT;
        const char *w = tokens[i], *l = lw[i];
        size_t wn = strlen(w), ln = ll[i];
        unsigned k = 0;
        f[k] = feat(k, "", 0), k++;
        f[k] = feat(k, w, wn), k++;
        f[k] = feat(k, l, ln), k++;
        for (size_t m = 1; m <= 4; m++, k++) f[k] = feat(k, l, cp_prefix(l, ln, m));
        for (size_t m = 1; m <= 4; m++, k++) {
            size_t s = cp_suffix(l, ln, m);
            f[k] = feat(k, l + s, ln - s);
        }
        /* shape (runs collapsed, at most 12 letters), scripts seen, digit class */
        char shape[16];
        size_t sn = 0, cps = 0, digits = 0;
        unsigned scripts = 0;
        for (size_t p = 0; p < wn;) {
            int32_t c;
            p += next_cp(w, wn, p, &c);
            char s = shape_of(c);
            if ((!sn || shape[sn - 1] != s) && sn < 12) shape[sn++] = s;
            scripts |= 1u << script_of(c);
            digits += s == 'd';
            cps++;
        }
        f[k] = feat(k, shape, sn), k++;
        char dc = digits == 0 ? 'n' : digits == cps ? (cps == 4 ? 'y' : 'a') : 's';
        f[k] = feat(k, &dc, 1), k++;
        char sc[2] = {(char)('A' + (scripts & 63)), 0};
        f[k] = feat(k, sc, 1), k++;
        char len = (char)('0' + (cps < 6 ? cps : 6));
        f[k] = feat(k, &len, 1), k++;
        char pos = i == 0 ? 'f' : i + 1 == n ? 'l' : 'm';
        f[k] = feat(k, &pos, 1), k++;
        /* context words -2..+2 (lower case), then bigrams */
        const char *ctx[5];
        size_t cn[5];
        for (int d = -2; d <= 2; d++) {
            long j = (long)i + d;
            if (j < 0) ctx[d + 2] = BOS, cn[d + 2] = 3;
            else if (j >= (long)n) ctx[d + 2] = EOS, cn[d + 2] = 4;
            else ctx[d + 2] = lw[j], cn[d + 2] = ll[j];
        }
        f[k] = feat(k, ctx[0], cn[0]), k++;
        f[k] = feat(k, ctx[1], cn[1]), k++;
        f[k] = feat(k, ctx[3], cn[3]), k++;
        f[k] = feat(k, ctx[4], cn[4]), k++;
        f[k] = feat2(k, ctx[1], cn[1], l, ln), k++;
        f[k] = feat2(k, l, ln, ctx[3], cn[3]), k++;
        /* suffix of the previous and the next word (case endings, postpositions) */
        size_t ps = cp_suffix(ctx[1], cn[1], 2), ns = cp_suffix(ctx[3], cn[3], 2);
        f[k] = feat(k, ctx[1] + ps, cn[1] - ps), k++;
        f[k] = feat(k, ctx[3] + ns, cn[3] - ns), k++;
        f[k] = feat2(k, ctx[1], cn[1], ctx[3], cn[3]), k++;
        /* word clusters: the word's at every granularity, its neighbours' at one */
        char b[2]; /* an id as two little-endian bytes: the same hashes on every machine */
        for (int g = 0; g < BH__WC_MAX; g++, k++) {
            uint16_t id = g < G ? cid[i * BH__WC_MAX + (size_t)g] : 0;
            b[0] = (char)(id & 0xff), b[1] = (char)(id >> 8);
            f[k] = g < G ? feat(k, b, 2) : BH_CRF_NOFEAT;
        }
        for (int d = 1; d <= 3; d += 2, k++) {
            if (!G) {
                f[k] = BH_CRF_NOFEAT;
            } else if (ctx[d] == BOS || ctx[d] == EOS) {
                f[k] = feat(k, ctx[d], cn[d]);
            } else {
                uint16_t id = cid[(i + (size_t)d - 2) * BH__WC_MAX + (size_t)gc];
                b[0] = (char)(id & 0xff), b[1] = (char)(id >> 8);
                f[k] = feat(k, b, 2);
            }
        }
    }
done:
    if (lw)
        for (size_t i = 0; i < n; i++) free(lw[i]);
    free(lw);
    free(ll);
    free(cid);
    return st;
}
