/* eval/squad.c — SQuAD v1.1 exact match and token F1. The official normalisation
 * (lower case, drop punctuation, drop a/an/the, collapse spaces) is applied per
 * Unicode code point, with every Unicode punctuation character (category P*,
 * e.g. the danda U+0964 and double danda U+0965) removed as well. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "bhasha/eval.h"
#include "core/error.h"

static int is_ascii_punct(int32_t c)
{
    return c < 128 && c > 32 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", (int)c) != NULL;
}

static int is_unicode_punct(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* Python's str.isspace() for the characters str.split() breaks on. */
static int is_py_space(int32_t c)
{
    if ((c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
        return 1;
    return 0;
}

/* Word characters for the regex \b: letters, numbers, underscore. */
static int is_word(int32_t c)
{
    if (c == '_') return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

static int32_t *decode(const char *s, size_t n, size_t *len)
{
    int32_t *cp = malloc((n + 1) * sizeof *cp);
    if (!cp) return NULL;
    size_t k = 0, i = 0;
    while (i < n) {
        int32_t c;
        utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (m <= 0) {
            c = 0xFFFD;
            m = 1;
        }
        cp[k++] = c;
        i += (size_t)m;
    }
    *len = k;
    return cp;
}

bh_status bh_squad_normalize(const char *s, size_t n, bh_buf *out)
{
    if ((!s && n) || !out) return bh__fail(BH_EINVAL, "bh_squad_normalize: NULL argument");
    bh_buf_clear(out);
    size_t len;
    int32_t *cp = decode(s ? s : "", n, &len);
    if (!cp) return bh__fail(BH_ENOMEM, "normalize");
    size_t k = 0;
    for (size_t i = 0; i < len; i++) { /* lower, then punctuation out */
        int32_t c = utf8proc_tolower(cp[i]);
        if (is_ascii_punct(c) || is_unicode_punct(c)) continue;
        cp[k++] = c;
    }
    len = k;
    static const char *const art[] = {"a", "an", "the"};
    for (size_t i = 0; i < len; i++) { /* \b(a|an|the)\b → ' ' */
        if (i > 0 && is_word(cp[i - 1])) continue;
        for (int a = 2; a >= 0; a--) {
            size_t al = strlen(art[a]);
            if (i + al > len) continue;
            size_t j = 0;
            while (j < al && cp[i + j] == art[a][j]) j++;
            if (j < al) continue;
            if (i + al < len && is_word(cp[i + al])) continue;
            cp[i] = ' ';
            memmove(cp + i + 1, cp + i + al, (len - i - al) * sizeof *cp);
            len -= al - 1;
            break;
        }
    }
    int need_space = 0;
    bh_status st = BH_OK;
    for (size_t i = 0; i < len && !st; i++) {
        if (is_py_space(cp[i])) {
            if (out->len) need_space = 1;
            continue;
        }
        if (need_space) st = bh_buf_append(out, " ", 1);
        need_space = 0;
        utf8proc_uint8_t b[4];
        utf8proc_ssize_t m = utf8proc_encode_char(cp[i], b);
        if (!st) st = bh_buf_append(out, b, (size_t)m);
    }
    free(cp);
    if (!st && !out->data) st = bh_buf_append(out, "", 0);
    return st ? bh__fail(BH_ENOMEM, "normalize") : BH_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits a normalised string (single spaces) into sorted tokens; s is modified. */
static size_t tokens(char *s, char ***out)
{
    size_t n = 0, cap = 16;
    char **t = malloc(cap * sizeof *t);
    if (!t) return (size_t)-1;
    char *p = s;
    while (*p) {
        if (n == cap) {
            cap *= 2;
            char **q = realloc(t, cap * sizeof *t);
            if (!q) {
                free(t);
                return (size_t)-1;
            }
            t = q;
        }
        t[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    qsort(t, n, sizeof *t, cmp_str);
    *out = t;
    return n;
}

static bh_status one(const char *np, const char *ng, double *em, double *f1)
{
    *em = strcmp(np, ng) == 0;
    char *a = strdup(np), *b = strdup(ng);
    char **ta = NULL, **tb = NULL;
    size_t na = a ? tokens(a, &ta) : (size_t)-1, nb = b ? tokens(b, &tb) : (size_t)-1;
    if (na == (size_t)-1 || nb == (size_t)-1) {
        free(a);
        free(b);
        free(ta);
        free(tb);
        return bh__fail(BH_ENOMEM, "squad f1");
    }
    size_t i = 0, j = 0, same = 0;
    while (i < na && j < nb) { /* multiset intersection of sorted lists */
        int c = strcmp(ta[i], tb[j]);
        if (c == 0) {
            same++;
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    *f1 = 0;
    if (same) {
        double p = (double)same / (double)na, r = (double)same / (double)nb;
        *f1 = 2 * p * r / (p + r);
    }
    free(a);
    free(b);
    free(ta);
    free(tb);
    return BH_OK;
}

bh_status bh_squad_score(const char *pred, const char *const *golds, size_t ng, double *em, double *f1)
{
    if (!pred || (!golds && ng) || !em || !f1) return bh__fail(BH_EINVAL, "bh_squad_score: NULL argument");
    *em = *f1 = 0;
    bh_buf np = {0}, g = {0};
    bh_status st = bh_squad_normalize(pred, strlen(pred), &np);
    for (size_t i = 0; i < ng && !st; i++) {
        if (!golds[i]) {
            st = bh__fail(BH_EINVAL, "gold answer %zu is NULL", i);
            break;
        }
        st = bh_squad_normalize(golds[i], strlen(golds[i]), &g);
        double e = 0, f = 0;
        if (!st) st = one(np.data, g.data, &e, &f);
        if (!st) {
            if (e > *em) *em = e;
            if (f > *f1) *f1 = f;
        }
    }
    bh_buf_free(&np);
    bh_buf_free(&g);
    return st;
}
