/* tokenizer/wordpiece.c — BERT basic tokenizer + WordPiece (see wordpiece.h).
 * Character classes follow the BERT reference: "control" is any general
 * category C* except tab/newline/CR (so ZWJ/ZWNJ, Cf, are dropped, as BERT
 * does); "white space" is space, tab, newline, CR or Zs; "punctuation" is the
 * ASCII symbol ranges or any P* category. Categories and case come from ICU. */
#include "tokenizer/wordpiece.h"
#include "core/error.h"
#include "tokenizer/subword.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#define WP_MAX_FILE ((size_t)256 << 20)

struct bh_wordpiece {
    char *blob;          /* all tokens, each NUL-terminated */
    size_t *off;         /* [n] start of token i in blob */
    uint32_t *len;       /* [n] byte length of token i */
    int32_t n;
    int32_t *slots;      /* [nslots] token id or -1: open addressing on hash */
    size_t nslots;
    int32_t unk;
    char *prefix;
    size_t prefix_len;
    int lower, strip, split_cjk, max_chars;
};

static uint64_t wp_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static int32_t wp_find(const bh_wordpiece *w, const char *s, size_t n)
{
    size_t mask = w->nslots - 1;
    for (size_t i = wp_hash(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = w->slots[i];
        if (id < 0) return -1;
        if (w->len[id] == n && memcmp(w->blob + w->off[id], s, n) == 0) return id;
    }
}

void bh_wordpiece_options_default(bh_wordpiece_options *opt)
{
    if (!opt) return;
    opt->lower_case = 0;
    opt->strip_accents = 0;
    opt->split_cjk = 1;
    opt->max_chars_per_word = 100;
    opt->unk_token = "[UNK]";
    opt->prefix = "##";
}

void bh_wordpiece_free(bh_wordpiece *w)
{
    if (!w) return;
    free(w->blob);
    free(w->off);
    free(w->len);
    free(w->slots);
    free(w->prefix);
    free(w);
}

static int is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* 1 when s[0..n) is valid UTF-8; else *bad = offset of the first bad byte. */
static int utf8_valid(const char *s, size_t n, size_t *bad)
{
    int32_t i = 0, len = (int32_t)n;
    while (i < len) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT((const uint8_t *)s, i, len, c);
        if (c < 0) {
            *bad = (size_t)at;
            return 0;
        }
    }
    return 1;
}

bh_status bh_wordpiece_load_bytes(const void *data, size_t size, const bh_wordpiece_options *opt,
                                  bh_wordpiece **out)
{
    if (!out || (!data && size)) return bh__fail(BH_EINVAL, "bh_wordpiece_load: NULL argument");
    *out = NULL;
    if (size > WP_MAX_FILE) return bh__fail(BH_ELIMIT, "vocab: %zu bytes is over the 256 MB limit", size);
    if (size > INT32_MAX) return bh__fail(BH_ELIMIT, "vocab: too large");
    bh_wordpiece_options o;
    bh_wordpiece_options_default(&o);
    if (opt) o = *opt;
    if (!o.unk_token || !*o.unk_token || !o.prefix)
        return bh__fail(BH_EINVAL, "bh_wordpiece_load: empty unk token or NULL prefix");
    if (o.max_chars_per_word < 1) return bh__fail(BH_EINVAL, "bh_wordpiece_load: max_chars_per_word < 1");
    if (o.strip_accents < -1 || o.strip_accents > 1) return bh__fail(BH_EINVAL, "bh_wordpiece_load: strip_accents not -1, 0 or 1");

    const char *s = data;
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) lines += s[i] == '\n';
    if (size && s[size - 1] != '\n') lines++;
    if (!lines) return bh__fail(BH_EFORMAT, "vocab: empty file");
    if (lines > (size_t)INT32_MAX / 4) return bh__fail(BH_ELIMIT, "vocab: too many lines");

    bh_wordpiece *w = calloc(1, sizeof *w);
    if (!w) return bh__fail(BH_ENOMEM, "vocab: out of memory");
    w->blob = malloc(size + lines + 1);
    w->off = malloc(lines * sizeof *w->off);
    w->len = malloc(lines * sizeof *w->len);
    w->nslots = 16;
    while (w->nslots < lines * 2) w->nslots *= 2;
    w->slots = malloc(w->nslots * sizeof *w->slots);
    w->prefix = strdup(o.prefix);
    if (!w->blob || !w->off || !w->len || !w->slots || !w->prefix) {
        bh_wordpiece_free(w);
        return bh__fail(BH_ENOMEM, "vocab: out of memory");
    }
    w->prefix_len = strlen(w->prefix);
    memset(w->slots, 0xff, w->nslots * sizeof *w->slots);
    size_t pos = 0, bpos = 0;
    bh_status st = BH_OK;
    while (pos < size && !st) {
        const char *nl = memchr(s + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - s) : size;
        size_t b = pos, e = end;
        long lineno = (long)w->n + 1;
        while (b < e && is_ascii_space(s[b])) b++;
        while (e > b && is_ascii_space(s[e - 1])) e--;
        size_t bad;
        if (b == e) {
            st = bh__fail(BH_EFORMAT, "vocab line %ld: empty token", lineno);
        } else if (memchr(s + b, 0, e - b)) {
            st = bh__fail(BH_EFORMAT, "vocab line %ld: NUL byte in token", lineno);
        } else if (!utf8_valid(s + b, e - b, &bad)) {
            st = bh__fail(BH_EFORMAT, "vocab line %ld: invalid UTF-8 at byte %zu of the token", lineno, bad);
        } else {
            int32_t dup = wp_find(w, s + b, e - b);
            if (dup >= 0) {
                st = bh__fail(BH_EFORMAT, "vocab line %ld: duplicate token '%.*s' (first on line %ld)", lineno,
                              (int)(e - b > 64 ? 64 : e - b), s + b, (long)dup + 1);
            } else {
                int32_t id = w->n++;
                memcpy(w->blob + bpos, s + b, e - b);
                w->off[id] = bpos;
                w->len[id] = (uint32_t)(e - b);
                bpos += e - b;
                w->blob[bpos++] = 0;
                size_t mask = w->nslots - 1, i = wp_hash(s + b, e - b) & mask;
                while (w->slots[i] >= 0) i = (i + 1) & mask;
                w->slots[i] = id;
            }
        }
        pos = end + 1;
    }
    if (!st) {
        w->unk = wp_find(w, o.unk_token, strlen(o.unk_token));
        if (w->unk < 0) st = bh__fail(BH_EFORMAT, "vocab: no unknown token '%s'", o.unk_token);
    }
    if (st) {
        bh_wordpiece_free(w);
        return st;
    }
    w->lower = o.lower_case != 0;
    w->strip = o.strip_accents == 1 || (o.strip_accents == -1 && w->lower);
    w->split_cjk = o.split_cjk != 0;
    w->max_chars = o.max_chars_per_word;
    *out = w;
    return BH_OK;
}

bh_status bh_wordpiece_load(const char *path, const bh_wordpiece_options *opt, bh_wordpiece **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_wordpiece_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "%s: cannot open", path);
    bh_buf b = {0};
    char chunk[65536];
    size_t n;
    bh_status st = BH_OK;
    while (!st && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > WP_MAX_FILE) st = bh__fail(BH_ELIMIT, "%s: over the 256 MB vocab limit", path);
        else st = bh_buf_append(&b, chunk, n);
    }
    if (!st && ferror(f)) st = bh__fail(BH_EIO, "%s: read error", path);
    fclose(f);
    if (!st) {
        st = bh_wordpiece_load_bytes(b.data, b.len, opt, out);
        if (st) {
            char detail[400];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s: %s", path, detail);
        }
    }
    bh_buf_free(&b);
    return st;
}

int32_t bh_wordpiece_vocab_size(const bh_wordpiece *w) { return w ? w->n : 0; }

bh_status bh_wordpiece_id_to_token(const bh_wordpiece *w, int32_t id, const char **tok, size_t *len)
{
    if (!w || !tok || !len) return bh__fail(BH_EINVAL, "bh_wordpiece_id_to_token: NULL argument");
    if (id < 0 || id >= w->n) return bh__fail(BH_EINVAL, "bh_wordpiece_id_to_token: id %d outside [0, %d)", (int)id, (int)w->n);
    *tok = w->blob + w->off[id];
    *len = w->len[id];
    return BH_OK;
}

int32_t bh_wordpiece_token_to_id(const bh_wordpiece *w, const char *tok, size_t len)
{
    if (!w || (!tok && len)) return -1;
    return wp_find(w, tok ? tok : "", len);
}

int bh_wordpiece_strips_marks(const bh_wordpiece *w) { return w ? w->strip : 0; }

/* ---------------------------------------------------------------- encode */

/* A code point of the working text with the input bytes it came from. */
typedef struct {
    UChar32 c;
    uint32_t b, e;
} wp_char;

typedef struct {
    wp_char *v;
    size_t n, cap;
} wp_chars;

static bh_status wc_push(wp_chars *a, UChar32 c, size_t b, size_t e)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        wp_char *p = realloc(a->v, cap * sizeof *p);
        if (!p) return bh__fail(BH_ENOMEM, "wordpiece: out of memory");
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = (wp_char){c, (uint32_t)b, (uint32_t)e};
    return BH_OK;
}

static int is_c_category(UChar32 c)
{
    int8_t t = u_charType(c);
    return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_PRIVATE_USE_CHAR || t == U_SURROGATE ||
           t == U_UNASSIGNED;
}

static int is_control(UChar32 c)
{
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    return is_c_category(c);
}

static int is_whitespace(UChar32 c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return 1;
    return u_charType(c) == U_SPACE_SEPARATOR;
}

static int is_punct(UChar32 c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return 1;
    int8_t t = u_charType(c);
    return t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION ||
           t == U_END_PUNCTUATION || t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
           t == U_OTHER_PUNCTUATION;
}

static int is_cjk(UChar32 c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* White space for splitting tokens (Python's str.split on cleaned text: only
 * space and the line/paragraph separators survive cleaning). */
static int is_split_space(UChar32 c) { return c == ' ' || c == 0x2028 || c == 0x2029; }

/* Final_Sigma context of the capital sigma at token[i] (Unicode SpecialCasing). */
static int final_sigma(const wp_char *t, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && u_hasBinaryProperty(t[j - 1].c, UCHAR_CASE_IGNORABLE)) j--;
    if (j == 0 || !u_hasBinaryProperty(t[j - 1].c, UCHAR_CASED)) return 0;
    j = i + 1;
    while (j < n && u_hasBinaryProperty(t[j].c, UCHAR_CASE_IGNORABLE)) j++;
    return j == n || !u_hasBinaryProperty(t[j].c, UCHAR_CASED);
}

/* Appends the lowercased and/or accent-stripped form of token t[0..n) to out. */
static bh_status transform_token(const bh_wordpiece *w, const wp_char *t, size_t n, wp_chars *out)
{
    const UNormalizer2 *nfd = NULL;
    if (w->strip) {
        UErrorCode err = U_ZERO_ERROR;
        nfd = unorm2_getNFDInstance(&err);
        if (U_FAILURE(err)) return bh__fail(BH_EINTERNAL, "wordpiece: ICU NFD unavailable: %s", u_errorName(err));
    }
    for (size_t i = 0; i < n; i++) {
        UChar32 lowered[8];
        int nl = 0;
        UChar32 c = t[i].c;
        if (!w->lower) {
            lowered[nl++] = c;
        } else if (c < 0x80) {
            lowered[nl++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        } else if (c == 0x3A3) {
            lowered[nl++] = final_sigma(t, n, i) ? 0x3C2 : 0x3C3;
        } else {
            UChar src[2], dst[16];
            int32_t sl = 0;
            UBool e = 0;
            U16_APPEND(src, sl, 2, c, e);
            (void)e;
            UErrorCode err = U_ZERO_ERROR;
            int32_t dl = u_strToLower(dst, 16, src, sl, "", &err);
            if (U_FAILURE(err) || dl > 16) {
                lowered[nl++] = c;
            } else {
                for (int32_t q = 0; q < dl && nl < 8;) {
                    UChar32 d;
                    U16_NEXT(dst, q, dl, d);
                    lowered[nl++] = d;
                }
            }
        }
        for (int k = 0; k < nl; k++) {
            UChar32 d = lowered[k];
            if (!nfd) {
                bh_status st = wc_push(out, d, t[i].b, t[i].e);
                if (st) return st;
                continue;
            }
            UChar dec[32];
            UErrorCode err = U_ZERO_ERROR;
            int32_t dl = unorm2_getDecomposition(nfd, d, dec, 32, &err);
            if (U_FAILURE(err) || dl < 0) {
                /* no decomposition: the character itself */
                dl = 0;
                UBool e = 0;
                U16_APPEND(dec, dl, 32, d, e);
                (void)e;
            }
            for (int32_t q = 0; q < dl;) {
                UChar32 x;
                U16_NEXT(dec, q, dl, x);
                if (u_charType(x) == U_NON_SPACING_MARK) continue;
                bh_status st = wc_push(out, x, t[i].b, t[i].e);
                if (st) return st;
            }
        }
    }
    return BH_OK;
}

/* Greedy longest-match-first WordPiece of one basic token. */
static bh_status wordpiece_word(const bh_wordpiece *w, const wp_char *t, size_t n, bh_buf *scratch, bh_tokens *out)
{
    if (n == 0) return BH_OK;
    if (n > (size_t)w->max_chars) return bh__tokens_push(out, w->unk, t[0].b, t[n - 1].e);
    size_t mark = out->n;
    size_t start = 0;
    while (start < n) {
        size_t end = n;
        int32_t found = -1;
        while (start < end) {
            bh_buf_clear(scratch);
            bh_status st = BH_OK;
            if (start > 0) st = bh_buf_append(scratch, w->prefix, w->prefix_len);
            for (size_t k = start; k < end && !st; k++) {
                char u[4];
                int32_t ul = 0;
                UBool e = 0;
                U8_APPEND((uint8_t *)u, ul, 4, t[k].c, e);
                (void)e;
                st = bh_buf_append(scratch, u, (size_t)ul);
            }
            if (st) return st;
            found = wp_find(w, scratch->data ? scratch->data : "", scratch->len);
            if (found >= 0) break;
            end--;
        }
        if (found < 0) {
            out->n = mark;
            return bh__tokens_push(out, w->unk, t[0].b, t[n - 1].e);
        }
        bh_status st = bh__tokens_push(out, found, t[start].b, t[end - 1].e);
        if (st) return st;
        start = end;
    }
    return BH_OK;
}

bh_status bh_wordpiece_encode(const bh_wordpiece *w, const char *text, size_t len, bh_tokens *out)
{
    if (!w || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_wordpiece_encode: NULL argument");
    if (len > (size_t)INT32_MAX) return bh__fail(BH_ELIMIT, "bh_wordpiece_encode: text over 2 GB");
    out->n = 0;
    wp_chars clean = {0}, tok = {0};
    bh_buf scratch = {0};
    bh_status st = BH_OK;
    /* 1. decode, drop NUL/U+FFFD/control, map white space to ' ', space out CJK */
    int32_t i = 0, n = (int32_t)len;
    while (i < n && !st) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT((const uint8_t *)text, i, n, c);
        if (c < 0) {
            st = bh__fail(BH_EUTF8, "bh_wordpiece_encode: invalid UTF-8 at byte %d", (int)at);
            break;
        }
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_whitespace(c)) c = ' ';
        if (w->split_cjk && is_cjk(c)) {
            st = wc_push(&clean, ' ', (size_t)at, (size_t)at);
            if (!st) st = wc_push(&clean, c, (size_t)at, (size_t)i);
            if (!st) st = wc_push(&clean, ' ', (size_t)i, (size_t)i);
        } else {
            st = wc_push(&clean, c, (size_t)at, (size_t)i);
        }
    }
    /* 2. per white-space token: transform, split punctuation, WordPiece */
    size_t k = 0;
    while (!st && k < clean.n) {
        while (k < clean.n && is_split_space(clean.v[k].c)) k++;
        size_t b = k;
        while (k < clean.n && !is_split_space(clean.v[k].c)) k++;
        if (b == k) break;
        const wp_char *word = clean.v + b;
        size_t wn = k - b;
        if (w->lower || w->strip) {
            tok.n = 0;
            st = transform_token(w, clean.v + b, k - b, &tok);
            if (st) break;
            word = tok.v;
            wn = tok.n;
        }
        size_t p = 0;
        while (!st && p < wn) {
            if (is_split_space(word[p].c)) {
                p++;
                continue;
            }
            if (is_punct(word[p].c)) {
                st = wordpiece_word(w, word + p, 1, &scratch, out);
                p++;
                continue;
            }
            size_t q = p;
            while (q < wn && !is_punct(word[q].c) && !is_split_space(word[q].c)) q++;
            st = wordpiece_word(w, word + p, q - p, &scratch, out);
            p = q;
        }
    }
    free(clean.v);
    free(tok.v);
    bh_buf_free(&scratch);
    if (st) out->n = 0;
    return st;
}
