/* ocr/augment.c — training-set augmentation for digits: a random small affine
 * jitter (shift, rotation, scale, shear about the image centre) of an already
 * preprocessed side x side image, drawn from a counter-based generator so that
 * a (seed, image, copy) triple always gives the same copy, on any thread and in
 * any order. Writes into caller-owned arrays; no allocation. */
#include <math.h>
#include <stdint.h>

#include "bhasha/ocr.h"
#include "core/error.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void bh_augment_defaults(bh_augment_opts *o)
{
    o->shift = 2.0;
    o->rotate = 8.0;
    o->scale = 0.1;
    o->shear = 0.15;
}

/* splitmix64: a well-mixed 64-bit stream from a 64-bit state. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1] (53-bit resolution). */
static double unit(uint64_t *s)
{
    return (double)(mix(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

uint64_t bh_augment_seed(unsigned seed, uint64_t image, int copy)
{
    uint64_t s = (uint64_t)seed * 0xd1b54a32d192ed03ull;
    uint64_t a = mix(&s) ^ image;
    a = mix(&a) ^ (uint64_t)(unsigned)copy;
    return mix(&a);
}

bh_status bh_digit_augment(const float *img, int side, const bh_augment_opts *o, uint64_t seed,
                           float *out)
{
    if (!img || !o || !out)
        return bh__fail(BH_EINVAL, "augment: NULL argument");
    if (img == out)
        return bh__fail(BH_EINVAL, "augment: input and output must not overlap");
    if (side < 2 || side > 4096)
        return bh__fail(BH_EINVAL, "augment: side %d out of range 2..4096", side);
    if (!(o->shift >= 0 && o->shift <= side / 2.0) || !(o->rotate >= 0 && o->rotate <= 45) ||
        !(o->scale >= 0 && o->scale <= 0.5) || !(o->shear >= 0 && o->shear <= 1))
        return bh__fail(BH_EINVAL,
                        "augment: ranges out of bounds (shift %g of 0..%g px, rotate %g of "
                        "0..45 deg, scale %g of 0..0.5, shear %g of 0..1)",
                        o->shift, side / 2.0, o->rotate, o->scale, o->shear);
    uint64_t s = seed;
    double dx = o->shift * unit(&s), dy = o->shift * unit(&s);
    double th = o->rotate * (M_PI / 180.0) * unit(&s);
    double sc = 1.0 + o->scale * unit(&s), sh = o->shear * unit(&s);
    /* Forward map about the centre c: p' = c + t + sc * R(th) * [[1, sh], [0, 1]] (p - c).
     * Each output pixel samples the input at the inverse image of its centre. */
    double ct = cos(th), st = sin(th);
    double a = sc * ct, b = sc * (ct * sh - st), c = sc * st, d = sc * (st * sh + ct);
    double det = a * d - b * c; /* = sc^2 > 0 */
    double ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
    double cen = (side - 1) / 2.0;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            double u = x - cen - dx, v = y - cen - dy;
            double sx = cen + ia * u + ib * v, sy = cen + ic * u + id * v;
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double fx = sx - x0, fy = sy - y0, acc = 0;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < 2; i++) {
                    int xx = x0 + i, yy = y0 + j;
                    if (xx < 0 || yy < 0 || xx >= side || yy >= side)
                        continue; /* outside the image is background (0) */
                    acc += (i ? fx : 1 - fx) * (j ? fy : 1 - fy) * img[(size_t)yy * side + xx];
                }
            out[(size_t)y * side + x] = (float)(acc < 0 ? 0 : acc > 1 ? 1 : acc);
        }
    return BH_OK;
}
