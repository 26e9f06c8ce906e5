/* ocr/read.c — reading a line of handwritten digits: Otsu binarization with
 * polarity detection, 8-connected components, speck removal, merging of
 * broken strokes, splitting of touching digits by width, then one
 * classification per piece, left to right. Scratch memory is freed on return. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "bhasha/ocr.h"

#define MAX_COMP 4096
#define MAX_DIGITS 256

typedef struct comp {
    int x0, y0, x1, y1; /* inclusive box */
    long area;
} comp;

static int cmp_x(const void *a, const void *b)
{
    const comp *p = a, *q = b;
    return (p->x0 > q->x0) - (p->x0 < q->x0);
}

static int cmp_int(const void *a, const void *b)
{
    int p = *(const int *)a, q = *(const int *)b;
    return (p > q) - (p < q);
}

bh_status bh_digits_read(const bh_digits_model *m, const uint8_t *px, int w, int h,
                         bh_digit_box *boxes, int cap, int *n)
{
    if (!m || !px || !n || (cap > 0 && !boxes) || w <= 0 || h <= 0)
        return bh__fail(BH_EINVAL, "read: invalid arguments");
    if ((uint64_t)w * h > BH_IMAGE_MAX_PIXELS)
        return bh__fail(BH_ELIMIT, "read: image %dx%d too large", w, h);
    *n = 0;
    size_t np = (size_t)w * h;
    int lo = 255, hi = 0;
    for (size_t i = 0; i < np; i++) {
        lo = px[i] < lo ? px[i] : lo;
        hi = px[i] > hi ? px[i] : hi;
    }
    if (hi - lo < 16)
        return BH_OK;
    int t = bh_otsu_threshold(px, np);
    size_t bright = 0;
    for (size_t i = 0; i < np; i++)
        bright += px[i] > t;
    int ink_bright = bright * 2 < np; /* ink is the minority class */
    uint8_t *ink = malloc(np);
    int *lab = malloc(sizeof(int) * np);
    int *stack = malloc(sizeof(int) * np);
    comp *cs = malloc(sizeof(comp) * MAX_COMP);
    uint8_t *crop = NULL;
    bh_status st = BH_OK;
    if (!ink || !lab || !stack || !cs) {
        st = bh__fail(BH_ENOMEM, "read: %dx%d", w, h);
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        ink[i] = ink_bright ? px[i] > t : px[i] <= t;
        lab[i] = -1;
    }
    int nc = 0;
    long total_ink = 0;
    for (size_t s = 0; s < np && nc < MAX_COMP; s++) {
        if (!ink[s] || lab[s] >= 0)
            continue;
        comp c = {w, h, -1, -1, 0};
        size_t sp = 0;
        stack[sp++] = (int)s;
        lab[s] = nc;
        while (sp) {
            int p = stack[--sp];
            int x = p % w, y = p / w;
            c.area++;
            c.x0 = x < c.x0 ? x : c.x0;
            c.x1 = x > c.x1 ? x : c.x1;
            c.y0 = y < c.y0 ? y : c.y0;
            c.y1 = y > c.y1 ? y : c.y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    size_t q = (size_t)yy * w + xx;
                    if (ink[q] && lab[q] < 0) {
                        lab[q] = nc;
                        stack[sp++] = (int)q;
                    }
                }
        }
        total_ink += c.area;
        cs[nc++] = c;
    }
    /* drop specks */
    int k = 0;
    for (int i = 0; i < nc; i++)
        if (cs[i].area >= 4 && cs[i].area * 100 >= total_ink)
            cs[k++] = cs[i];
    nc = k;
    if (nc == 0)
        goto out;
    qsort(cs, (size_t)nc, sizeof(comp), cmp_x);
    /* merge pieces overlapping horizontally by more than half the narrower */
    k = 0;
    for (int i = 0; i < nc; i++) {
        if (k > 0) {
            comp *a = &cs[k - 1], *b = &cs[i];
            int ov = (a->x1 < b->x1 ? a->x1 : b->x1) - b->x0 + 1;
            int wa = a->x1 - a->x0 + 1, wb = b->x1 - b->x0 + 1;
            int narrow = wa < wb ? wa : wb;
            if (ov * 2 > narrow) {
                a->x0 = a->x0 < b->x0 ? a->x0 : b->x0;
                a->x1 = a->x1 > b->x1 ? a->x1 : b->x1;
                a->y0 = a->y0 < b->y0 ? a->y0 : b->y0;
                a->y1 = a->y1 > b->y1 ? a->y1 : b->y1;
                a->area += b->area;
                continue;
            }
        }
        cs[k++] = cs[i];
    }
    nc = k;
    int heights[MAX_COMP];
    for (int i = 0; i < nc; i++)
        heights[i] = cs[i].y1 - cs[i].y0 + 1;
    qsort(heights, (size_t)nc, sizeof(int), cmp_int);
    int medh = heights[nc / 2];
    /* the largest piece: the whole image plus its margin (mg <= h / 8 + 1) on every side */
    size_t mgmax = (size_t)h / 8 + 1;
    crop = malloc(((size_t)w + 2 * mgmax) * ((size_t)h + 2 * mgmax));
    if (!crop) {
        st = bh__fail(BH_ENOMEM, "read: crop");
        goto out;
    }
    int found = 0;
    for (int i = 0; i < nc && found < MAX_DIGITS; i++) {
        int cw = cs[i].x1 - cs[i].x0 + 1;
        /* touching digits: split wide pieces into equal parts */
        int parts = 1;
        if (cw * 10 > medh * 16)
            parts = (cw * 10 + medh * 5) / (medh * 9);
        if (parts < 1)
            parts = 1;
        if (parts > 8)
            parts = 8;
        if (parts > cw) /* a piece at least one column wide */
            parts = cw;
        for (int p = 0; p < parts && found < MAX_DIGITS; p++) {
            int x0 = cs[i].x0 + cw * p / parts, x1 = cs[i].x0 + cw * (p + 1) / parts - 1;
            int y0 = cs[i].y0, y1 = cs[i].y1;
            int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
            /* crop with a margin, painted as background outside the piece */
            int mg = bh / 8 + 1;
            int X0 = x0 - mg, Y0 = y0 - mg, CW = bw + 2 * mg, CH = bh + 2 * mg;
            uint8_t bg = ink_bright ? 0 : 255, fg = ink_bright ? 255 : 0;
            for (int y = 0; y < CH; y++)
                for (int x = 0; x < CW; x++) {
                    int sx = X0 + x, sy = Y0 + y;
                    int on = sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1 &&
                             ink[(size_t)sy * w + sx];
                    crop[(size_t)y * CW + x] = on ? fg : bg;
                }
            int label = 0;
            float score = 0;
            st = bh_digits_predict(m, crop, CW, CH, &label, &score);
            if (st)
                goto out;
            if (found < cap)
                boxes[found] = (bh_digit_box){x0, y0, bw, bh, label, score};
            found++;
        }
    }
    *n = found;
out:
    free(ink);
    free(lab);
    free(stack);
    free(cs);
    free(crop);
    return st;
}
