/* corpora/tags.c — NER tag schemes: parsing IO/BIO/IOB1/IOBES/BILOU tags into
 * entity spans and writing them back in any scheme, with a type label map. */
#include <stdlib.h>
#include <string.h>

#include "bhasha/corpus.h"
#include "core/error.h"

bh_status bh_tag_scheme_parse(const char *name, bh_tag_scheme *out)
{
    static const struct { const char *n; bh_tag_scheme s; } tab[] = {
        {"asis", BH_TAGS_ASIS}, {"io", BH_TAGS_IO}, {"bio", BH_TAGS_BIO}, {"iob2", BH_TAGS_BIO},
        {"iobes", BH_TAGS_IOBES}, {"bioes", BH_TAGS_IOBES}, {"bilou", BH_TAGS_BILOU},
    };
    if (!name || !out) return bh__fail(BH_EINVAL, "no tag scheme name");
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(name, tab[i].n) == 0) {
            *out = tab[i].s;
            return BH_OK;
        }
    return bh__fail(BH_EINVAL, "unknown tag scheme \"%s\" (asis, io, bio, iobes, bilou)", name);
}

/* Looks a type up in the map "A=B,C=D"; gives the mapped name (or the type itself) in to, tl. */
static void map_type(const char *map, const char *t, size_t tn, const char **to, size_t *tl)
{
    *to = t;
    *tl = tn;
    if (!map) return;
    const char *p = map;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq) return;
        const char *end = strchr(eq, ',');
        if (!end) end = eq + strlen(eq);
        if ((size_t)(eq - p) == tn && memcmp(p, t, tn) == 0) {
            *to = eq + 1;
            *tl = (size_t)(end - eq - 1);
            return;
        }
        p = *end ? end + 1 : end;
    }
}

typedef struct {
    char prefix;       /* 'O', 'B', 'I', 'E', 'S' (L→E, U→S) */
    const char *type;
    size_t tl;
} ptag;

bh_status bh_tags_convert(const char *const *tags, size_t n, bh_tag_scheme to, const char *label_map,
                          bh_buf *out, size_t *offs)
{
    if ((!tags && n) || !out || (!offs && n)) return bh__fail(BH_EINVAL, "bh_tags_convert: NULL argument");
    bh_buf_clear(out);
    if (n == 0) return BH_OK;
    ptag *pt = malloc(n * sizeof *pt);
    if (!pt) return bh__fail(BH_ENOMEM, "tags");
    char *orig = malloc(n); /* the letter as written, for BH_TAGS_ASIS */
    if (!orig) {
        free(pt);
        return bh__fail(BH_ENOMEM, "tags");
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = tags[i];
        if (!t) {
            free(pt);
            free(orig);
            return bh__fail(BH_EINVAL, "tag %zu is NULL", i);
        }
        size_t len = strlen(t);
        const char *dash = strchr(t, '-');
        if (strcmp(t, "O") == 0) {
            pt[i].prefix = 'O';
            pt[i].type = "";
            pt[i].tl = 0;
        } else if (!dash) {
            if (len == 0) goto bad;
            pt[i].prefix = 'I';
            pt[i].type = t;
            pt[i].tl = len;
        } else {
            if (dash != t + 1 || !strchr("BIESLU", t[0]) || dash[1] == 0) goto bad;
            char p = t[0];
            pt[i].prefix = p == 'L' ? 'E' : p == 'U' ? 'S' : p;
            pt[i].type = dash + 1;
            pt[i].tl = len - 2;
        }
        orig[i] = t[0];
        if (pt[i].prefix != 'O') {
            map_type(label_map, pt[i].type, pt[i].tl, &pt[i].type, &pt[i].tl);
            if (pt[i].tl == 1 && pt[i].type[0] == 'O') pt[i].prefix = 'O';
            if (pt[i].tl == 0) goto bad;
        }
        continue;
    bad:
        free(pt);
        free(orig);
        return bh__fail(BH_EFORMAT, "tag %zu \"%.40s\" is malformed", i, t);
    }
    bh_status st = BH_OK;
    for (size_t i = 0; i < n && !st; i++) {
        char p = pt[i].prefix;
        char letter = 0;
        if (p != 'O') {
            int same_prev = i > 0 && pt[i - 1].prefix != 'O' && pt[i - 1].tl == pt[i].tl &&
                            memcmp(pt[i - 1].type, pt[i].type, pt[i].tl) == 0;
            int start = p == 'B' || p == 'S' || !same_prev || pt[i - 1].prefix == 'E' || pt[i - 1].prefix == 'S';
            int same_next = i + 1 < n && pt[i + 1].prefix != 'O' && pt[i + 1].tl == pt[i].tl &&
                            memcmp(pt[i + 1].type, pt[i].type, pt[i].tl) == 0;
            int next_starts = !same_next || pt[i + 1].prefix == 'B' || pt[i + 1].prefix == 'S';
            int end = p == 'E' || p == 'S' || next_starts;
            switch (to) {
            case BH_TAGS_ASIS: letter = strchr(tags[i], '-') ? orig[i] : 0; break;
            case BH_TAGS_IO: letter = 'I'; break;
            case BH_TAGS_BIO: letter = start ? 'B' : 'I'; break;
            case BH_TAGS_IOBES: letter = start && end ? 'S' : start ? 'B' : end ? 'E' : 'I'; break;
            case BH_TAGS_BILOU: letter = start && end ? 'U' : start ? 'B' : end ? 'L' : 'I'; break;
            }
        }
        offs[i] = out->len;
        if (p == 'O') {
            st = bh_buf_append(out, "O", 2);
        } else {
            char pre[2] = {letter, '-'};
            if (letter) st = bh_buf_append(out, pre, 2);
            if (!st) st = bh_buf_append(out, pt[i].type, pt[i].tl);
            if (!st) st = bh_buf_append(out, "", 1);
        }
    }
    free(pt);
    free(orig);
    return st ? bh__fail(BH_ENOMEM, "tags") : BH_OK;
}
