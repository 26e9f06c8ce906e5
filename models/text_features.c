/* models/text_features.c — hashed word, word-bigram and character n-gram
 * features of a text (see text_features.h). */
#include "models/text_features.h"

#include <stdlib.h>
#include <utf8proc.h>

#include "core/error.h"

static uint64_t fnv(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int push(uint32_t **out, size_t *len, size_t *cap, uint64_t h)
{
    if (*len == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        uint32_t *p = realloc(*out, c * sizeof *p);
        if (!p) return -1;
        *out = p;
        *cap = c;
    }
    (*out)[(*len)++] = (uint32_t)(h ^ (h >> 32));
    return 0;
}

/* Length in bytes of the code point at s[0..n) when it is a letter, mark or digit; 0 otherwise. */
static size_t word_char(const char *s, size_t n, size_t *step)
{
    int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);
    *step = k > 0 ? (size_t)k : 1;
    if (k <= 0) return 0;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO ? (size_t)k : 0;
}

bh_status bh__text_features(const char *s, size_t n, int cmin, int cmax, uint32_t **out, size_t *len, size_t *cap)
{
    if ((n && !s) || !out || !len || !cap || cmin < 1 || cmax < cmin || cmax > 8)
        return bh__fail(BH_EINVAL, "bh__text_features: bad argument");
    size_t i = 0, step;
    uint64_t prev = 0;
    while (i < n) {
        if (!word_char(s + i, n - i, &step)) {
            i += step;
            continue;
        }
        size_t st = i, ncp = 0, offs[256];
        /* offs[ncp] ends the last character kept, not the word: the n-grams
         * that end there must not take in the rest of a longer word */
        while (i < n && word_char(s + i, n - i, &step)) {
            if (ncp < 255) {
                offs[ncp++] = i;
                offs[ncp] = i + step;
            }
            i += step;
        }
        uint64_t w = fnv(s + st, i - st, 1469598103934665603ULL);
        if (push(out, len, cap, w)) return bh__fail(BH_ENOMEM, "out of memory");
        if (prev && push(out, len, cap, w * 31 + prev * 7 + 1)) return bh__fail(BH_ENOMEM, "out of memory");
        prev = w;
        for (int g = cmin; g <= cmax; g++)
            for (size_t a = 0; a + (size_t)g <= ncp; a++)
                if (push(out, len, cap, fnv(s + offs[a], offs[a + g] - offs[a], 0x9E3779B97F4A7C15ULL)))
                    return bh__fail(BH_ENOMEM, "out of memory");
    }
    return BH_OK;
}
