/* eval/mt.c — sacreBLEU-compatible corpus BLEU (13a tokeniser, 'exp' smoothing)
 * and chrF (char 6-grams, beta 2), plus perplexity. N-grams are compared by
 * 64-bit hashes of their code points / tokens, sorted and merged per segment. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "bhasha/eval.h"
#include "core/error.h"
#include "core/hash.h"

bh_status bh_perplexity(const double *logprob, size_t n, double *out)
{
    if (!out || (!logprob && n)) return bh__fail(BH_EINVAL, "bh_perplexity: NULL argument");
    if (n == 0) return bh__fail(BH_EINVAL, "bh_perplexity: no tokens");
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(logprob[i]) || logprob[i] > 0) return bh__fail(BH_ENUMERIC, "log-probability %zu is %g", i, logprob[i]);
        s += logprob[i];
    }
    *out = exp(-s / (double)n);
    return isfinite(*out) ? BH_OK : bh__fail(BH_ENUMERIC, "perplexity overflows");
}

/* ---- code point strings --------------------------------------------------- */

typedef struct cps {
    int32_t *c;
    size_t n, cap;
} cps;

static int cps_push(cps *s, int32_t c)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        int32_t *p = realloc(s->c, cap * sizeof *p);
        if (!p) return -1;
        s->c = p;
        s->cap = cap;
    }
    s->c[s->n++] = c;
    return 0;
}

static int cps_decode(cps *s, const char *t, size_t n)
{
    s->n = 0;
    size_t i = 0;
    while (i < n) {
        int32_t c;
        utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(n - i), &c);
        if (m <= 0) {
            c = 0xFFFD;
            m = 1;
        }
        if (cps_push(s, c)) return -1;
        i += (size_t)m;
    }
    return 0;
}

static int is_py_space(int32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static int match_lit(const cps *s, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    if (i + k > s->n) return 0;
    for (size_t j = 0; j < k; j++)
        if (s->c[i + j] != (unsigned char)lit[j]) return 0;
    return 1;
}

/* Python str.replace(a, b) on code points (ASCII a, b). */
static int replace(cps *s, cps *tmp, const char *a, const char *b)
{
    tmp->n = 0;
    size_t al = strlen(a), bl = strlen(b);
    for (size_t i = 0; i < s->n;) {
        if (match_lit(s, i, a)) {
            for (size_t j = 0; j < bl; j++)
                if (cps_push(tmp, (unsigned char)b[j])) return -1;
            i += al;
        } else {
            if (cps_push(tmp, s->c[i])) return -1;
            i++;
        }
    }
    cps t = *s;
    *s = *tmp;
    *tmp = t;
    return 0;
}

static int is_digit(int32_t c)
{
    return c >= '0' && c <= '9';
}

static int in_class1(int32_t c)
{
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
           (c >= ':' && c <= '@') || c == '/';
}

static int push3(cps *o, int32_t a, int32_t b, int32_t c)
{
    return cps_push(o, a) || cps_push(o, b) || cps_push(o, c);
}

bh_status bh_tokenize_13a(const char *s, size_t n, bh_buf *out)
{
    if ((!s && n) || !out) return bh__fail(BH_EINVAL, "bh_tokenize_13a: NULL argument");
    bh_buf_clear(out);
    cps a = {0}, b = {0};
    int err = cps_decode(&a, s ? s : "", n);
    err = err || replace(&a, &b, "<skipped>", "") || replace(&a, &b, "-\n", "") || replace(&a, &b, "\n", " ");
    int amp = 0;
    for (size_t i = 0; i < a.n; i++) amp |= a.c[i] == '&';
    if (!err && amp)
        err = replace(&a, &b, "&quot;", "\"") || replace(&a, &b, "&amp;", "&") || replace(&a, &b, "&lt;", "<") ||
              replace(&a, &b, "&gt;", ">");
    /* " " + line + " ", then the four regular expressions of mteval-v13a */
    b.n = 0;
    err = err || cps_push(&b, ' ');
    for (size_t i = 0; i < a.n && !err; i++) {
        if (in_class1(a.c[i])) err = push3(&b, ' ', a.c[i], ' ');
        else err = cps_push(&b, a.c[i]);
    }
    err = err || cps_push(&b, ' ') || cps_push(&b, ' ');
    /* the appended space of the wrapper went through rule 1 as " " → "   ": harmless, spaces collapse */
    for (int rule = 2; rule <= 4 && !err; rule++) {
        a.n = 0;
        for (size_t i = 0; i < b.n && !err;) {
            int32_t x = b.c[i], y = i + 1 < b.n ? b.c[i + 1] : -1;
            int hit = 0;
            if (y >= 0) {
                if (rule == 2) hit = !is_digit(x) && (y == '.' || y == ',');
                if (rule == 3) hit = (x == '.' || x == ',') && !is_digit(y);
                if (rule == 4) hit = is_digit(x) && y == '-';
            }
            if (!hit) {
                err = cps_push(&a, x);
                i++;
                continue;
            }
            if (rule == 3) err = push3(&a, ' ', x, ' ') || cps_push(&a, y);
            else err = push3(&a, x, ' ', y) || cps_push(&a, ' ');
            i += 2;
        }
        cps t = a;
        a = b;
        b = t;
    }
    /* split on whitespace, join with one space */
    int sp = 0;
    for (size_t i = 0; i < b.n && !err; i++) {
        if (is_py_space(b.c[i])) {
            if (out->len) sp = 1;
            continue;
        }
        utf8proc_uint8_t u[4];
        utf8proc_ssize_t m = utf8proc_encode_char(b.c[i], u);
        if (sp) err = bh_buf_append(out, " ", 1) != 0;
        sp = 0;
        err = err || bh_buf_append(out, u, (size_t)m) != 0;
    }
    free(a.c);
    free(b.c);
    if (!err && !out->data) err = bh_buf_append(out, "", 0) != 0;
    return err ? bh__fail(BH_ENOMEM, "13a tokenizer") : BH_OK;
}

/* ---- n-gram hashing ----------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 33);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Clipped matches between two sorted hash lists (multiset intersection size). */
static long clipped(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0;
    long m = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            m++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return m;
}

/* n-gram hashes of a sequence of unit hashes u[0..len), sorted into out (len-n+1 entries). */
static size_t ngrams(const uint64_t *u, size_t len, int n, uint64_t *out)
{
    if (len < (size_t)n) return 0;
    size_t k = len - (size_t)n + 1;
    for (size_t i = 0; i < k; i++) {
        uint64_t h = (uint64_t)n;
        for (int j = 0; j < n; j++) h = mix(h, u[i + (size_t)j]);
        out[i] = h;
    }
    qsort(out, k, sizeof *out, cmp_u64);
    return k;
}

static uint64_t hash_bytes(const char *s, size_t n) { return bh__fnv1a64(1469598103934665603ULL, s, n); }

/* Length of s without its trailing white space (Python's str.rstrip). */
static size_t rstrip_len(const char *s, size_t n)
{
    while (n > 0) {
        size_t k = n - 1; /* the last code point starts at k */
        while (k > 0 && n - k < 4 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        utf8proc_int32_t c;
        if (utf8proc_iterate((const utf8proc_uint8_t *)s + k, (utf8proc_ssize_t)(n - k), &c) != (utf8proc_ssize_t)(n - k) ||
            !is_py_space(c))
            break;
        n = k;
    }
    return n;
}

/* Tokenises with 13a into unit hashes; the segment is rstripped first, as
 * sacreBLEU's BLEU does before its tokenizer (so "foo-\n" keeps its "-"). */
static int token_units(const char *s, bh_buf *tok, uint64_t **u, size_t *cap, size_t *len)
{
    if (bh_tokenize_13a(s, rstrip_len(s, strlen(s)), tok)) return -1;
    *len = 0;
    const char *p = tok->data;
    while (p && *p) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        if (*len == *cap) {
            size_t c = *cap ? *cap * 2 : 256;
            uint64_t *q = realloc(*u, c * sizeof *q);
            if (!q) return -1;
            *u = q;
            *cap = c;
        }
        (*u)[(*len)++] = hash_bytes(p, l);
        p = sp ? sp + 1 : p + l;
    }
    return 0;
}

bh_status bh_bleu_corpus(const char *const *hyp, const char *const *ref, size_t n, bh_bleu *out)
{
    if (!out || ((!hyp || !ref) && n)) return bh__fail(BH_EINVAL, "bh_bleu_corpus: NULL argument");
    memset(out, 0, sizeof *out);
    bh_buf tok = {0};
    uint64_t *hu = NULL, *ru = NULL, *hg = NULL, *rg = NULL;
    size_t hc = 0, rc = 0, gcap = 0;
    bh_status st = BH_OK;
    for (size_t s = 0; s < n && !st; s++) {
        if (!hyp[s] || !ref[s]) {
            st = bh__fail(BH_EINVAL, "segment %zu is NULL", s);
            break;
        }
        size_t hl, rl;
        if (token_units(hyp[s], &tok, &hu, &hc, &hl) || token_units(ref[s], &tok, &ru, &rc, &rl)) {
            st = bh__fail(BH_ENOMEM, "bleu");
            break;
        }
        size_t need = hl > rl ? hl : rl;
        if (need > gcap) {
            uint64_t *a = realloc(hg, need * sizeof *a), *b = a ? realloc(rg, need * sizeof *b) : NULL;
            if (a) hg = a;
            if (b) rg = b;
            if (!a || !b) {
                st = bh__fail(BH_ENOMEM, "bleu");
                break;
            }
            gcap = need;
        }
        out->sys_len += (long)hl;
        out->ref_len += (long)rl;
        for (int k = 1; k <= 4; k++) {
            size_t a = ngrams(hu, hl, k, hg), b = ngrams(ru, rl, k, rg);
            out->total[k - 1] += (long)a;
            out->correct[k - 1] += clipped(hg, a, rg, b);
        }
    }
    free(hu);
    free(ru);
    free(hg);
    free(rg);
    bh_buf_free(&tok);
    if (st) return st;
    /* sacreBLEU compute_bleu, smooth_method='exp' */
    double smooth = 1.0, logsum = 0;
    int zero = 0;
    for (int k = 0; k < 4; k++) {
        if (out->total[k] == 0) {
            zero = 1;
            break;
        }
        if (out->correct[k] == 0) {
            smooth *= 2;
            out->precisions[k] = 100.0 / (smooth * (double)out->total[k]);
        } else {
            out->precisions[k] = 100.0 * (double)out->correct[k] / (double)out->total[k];
        }
    }
    if (out->sys_len < out->ref_len)
        out->bp = out->sys_len > 0 ? exp(1.0 - (double)out->ref_len / (double)out->sys_len) : 0.0;
    else
        out->bp = 1.0;
    if (zero) {
        out->score = 0;
        return BH_OK;
    }
    for (int k = 0; k < 4; k++) logsum += log(out->precisions[k]);
    out->score = out->bp * exp(logsum / 4);
    return BH_OK;
}

bh_status bh_chrf_corpus(const char *const *hyp, const char *const *ref, size_t n, double *out)
{
    if (!out || ((!hyp || !ref) && n)) return bh__fail(BH_EINVAL, "bh_chrf_corpus: NULL argument");
    enum { ORDER = 6 };
    double st_h[ORDER] = {0}, st_r[ORDER] = {0}, st_m[ORDER] = {0};
    cps a = {0};
    uint64_t *hu = NULL, *ru = NULL, *hg = NULL, *rg = NULL;
    size_t hl = 0, rl = 0;
    bh_status st = BH_OK;
    for (size_t s = 0; s < n && !st; s++) {
        if (!hyp[s] || !ref[s]) {
            st = bh__fail(BH_EINVAL, "segment %zu is NULL", s);
            break;
        }
        for (int side = 0; side < 2 && !st; side++) {
            const char *t = side ? ref[s] : hyp[s];
            if (cps_decode(&a, t, strlen(t))) {
                st = bh__fail(BH_ENOMEM, "chrf");
                break;
            }
            uint64_t *u = malloc((a.n + 1) * sizeof *u);
            if (!u) {
                st = bh__fail(BH_ENOMEM, "chrf");
                break;
            }
            size_t k = 0;
            for (size_t i = 0; i < a.n; i++)
                if (!is_py_space(a.c[i])) u[k++] = (uint64_t)a.c[i] + 1;
            if (side) {
                free(ru);
                ru = u;
                rl = k;
            } else {
                free(hu);
                hu = u;
                hl = k;
            }
        }
        if (st) break;
        free(hg);
        free(rg);
        hg = malloc((hl + 1) * sizeof *hg);
        rg = malloc((rl + 1) * sizeof *rg);
        if (!hg || !rg) {
            st = bh__fail(BH_ENOMEM, "chrf");
            break;
        }
        for (int k = 1; k <= ORDER; k++) {
            size_t x = ngrams(hu, hl, k, hg), y = ngrams(ru, rl, k, rg);
            st_h[k - 1] += (double)x;
            st_r[k - 1] += (double)y;
            st_m[k - 1] += (double)clipped(hg, x, rg, y);
        }
    }
    free(a.c);
    free(hu);
    free(ru);
    free(hg);
    free(rg);
    if (st) return st;
    /* sacreBLEU CHRF._compute_f_score with eps_smoothing=False (its default) */
    const double eps = 1e-16, factor = 4.0;
    double ap = 0, ar = 0;
    int eff = 0;
    for (int k = 0; k < ORDER; k++) {
        double p = st_h[k] > 0 ? st_m[k] / st_h[k] : eps;
        double r = st_r[k] > 0 ? st_m[k] / st_r[k] : eps;
        if (st_h[k] > 0 && st_r[k] > 0) {
            ap += p;
            ar += r;
            eff++;
        }
    }
    if (eff) {
        ap /= eff;
        ar /= eff;
    } else {
        ap = ar = 0;
    }
    *out = ap + ar > 0 ? 100.0 * (1 + factor) * ap * ar / (factor * ap + ar) : 0.0;
    return BH_OK;
}
