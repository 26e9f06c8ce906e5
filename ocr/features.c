/* ocr/features.c — handcrafted image features: HOG and uniform LBP equal to
 * scikit-image's, a Gabor filter bank equal to skimage.filters.gabor, and their
 * concatenation for digit recognition. Outputs go to caller-owned arrays;
 * scratch memory is allocated per call and freed before return. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/ocr.h"
#include "core/error.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ------------------------------------------------------------------ HOG */

static int hog_valid(const bh_hog_params *p)
{
    return p && p->orientations >= 1 && p->orientations <= 64 && p->cell >= 1 && p->cell <= 64 &&
           p->block >= 1 && p->block <= 16 && p->norm >= BH_HOG_L1 && p->norm <= BH_HOG_L2_HYS;
}

size_t bh_hog_size(int h, int w, const bh_hog_params *p)
{
    if (!hog_valid(p) || h <= 0 || w <= 0)
        return 0;
    int cr = h / p->cell, cc = w / p->cell;
    int br = cr - p->block + 1, bc = cc - p->block + 1;
    if (br <= 0 || bc <= 0)
        return 0;
    return (size_t)br * bc * p->block * p->block * p->orientations;
}

/* Orientation bin of gradient (gc, gr) as skimage assigns it: the angle
 * deg(atan2(gr, gc)) mod 180 falls in [per*i, per*(i+1)). The bin is found
 * with cross products against the boundary directions (no atan2); when the
 * gradient lies within a rounding margin of a boundary, the exact atan2 path
 * decides, so ties resolve exactly as in skimage. Returns -1 for no bin. */
static int exact_bin(double gc, double gr, int nb, double per)
{
    double m = fmod(atan2(gr, gc) * (180.0 / M_PI), 180.0);
    if (m != 0.0) {
        if (m < 0)
            m += 180.0;
    } else {
        m = 0.0;
    }
    int b = (int)(m / per);
    if (b >= nb)
        b = nb - 1;
    while (b > 0 && m < per * b)
        b--;
    while (b < nb - 1 && m >= per * (b + 1))
        b++;
    if (m >= per * (b + 1) || m < per * b)
        return -1;
    return b;
}

static int fast_bin(double gc, double gr, int nb, double per, const double *bcos,
                    const double *bsin)
{
    if (gc == 0.0 && gr == 0.0)
        return 0; /* atan2(0, 0) = 0: bin 0, magnitude 0 */
    double x = gc, y = gr;
    if (y < 0 || (y == 0 && x < 0)) {
        x = -x;
        y = -y;
    }
    double tol = 1e-9 * (fabs(x) + fabs(y));
    /* boundaries 1..nb-1 are increasing angles in (0, 180): count those at or below */
    int b = 0;
    for (int i = 1; i < nb; i++) {
        double cr = bcos[i] * y - bsin[i] * x; /* >= 0 when angle >= boundary i */
        if (fabs(cr) <= tol)
            return exact_bin(gc, gr, nb, per);
        if (cr > 0)
            b = i;
        else
            break;
    }
    /* near 0 / 180 degrees the modulo rounding decides: use the exact path */
    if (fabs(y) <= tol)
        return exact_bin(gc, gr, nb, per);
    return b;
}

bh_status bh_hog(const double *img, int h, int w, const bh_hog_params *p, double *out)
{
    size_t total = bh_hog_size(h, w, p);
    if (!img || !out || total == 0)
        return bh__fail(BH_EINVAL, "hog: invalid parameters or image smaller than one block");
    const int nb = p->orientations, cs = p->cell, bs = p->block;
    const int ncr = h / cs, ncc = w / cs;
    double *hist = calloc((size_t)ncr * ncc * nb, sizeof(double));
    float *acc = malloc(sizeof(float) * (size_t)nb);
    if (!hist || !acc) {
        free(hist);
        free(acc);
        return bh__fail(BH_ENOMEM, "hog: %dx%d", h, w);
    }
    /* Bin i holds orientations in [per*i, per*(i+1)), the thresholds computed
     * in double exactly as skimage's hog_histograms does. */
    const double per = 180.0 / nb;
    double bc[65], bs_[65];
    for (int i = 0; i < nb; i++) {
        bc[i] = cos(per * i * (M_PI / 180.0));
        bs_[i] = sin(per * i * (M_PI / 180.0));
    }
    for (int r = 0; r < ncr; r++) {
        for (int c = 0; c < ncc; c++) {
            for (int b = 0; b < nb; b++)
                acc[b] = 0.0f;
            for (int y = r * cs; y < (r + 1) * cs; y++) {
                for (int x = c * cs; x < (c + 1) * cs; x++) {
                    double gr = (y == 0 || y == h - 1) ? 0.0
                                                       : img[(size_t)(y + 1) * w + x] -
                                                             img[(size_t)(y - 1) * w + x];
                    double gc = (x == 0 || x == w - 1) ? 0.0
                                                       : img[(size_t)y * w + x + 1] -
                                                             img[(size_t)y * w + x - 1];
                    double mag = sqrt(gc * gc + gr * gr);
                    int b = fast_bin(gc, gr, nb, per, bc, bs_);
                    if (b < 0)
                        continue;
                    acc[b] += mag;
                }
            }
            double *hc = hist + ((size_t)r * ncc + c) * nb;
            for (int b = 0; b < nb; b++)
                hc[b] = (double)(acc[b] / (float)(cs * cs));
        }
    }
    const int nbr = ncr - bs + 1, nbc = ncc - bs + 1;
    const double eps = 1e-5;
    double *o = out;
    for (int r = 0; r < nbr; r++) {
        for (int c = 0; c < nbc; c++) {
            double *blk = o;
            for (int i = 0; i < bs; i++)
                for (int j = 0; j < bs; j++) {
                    memcpy(o, hist + ((size_t)(r + i) * ncc + c + j) * nb, sizeof(double) * nb);
                    o += nb;
                }
            size_t len = (size_t)bs * bs * nb;
            double s = 0;
            switch (p->norm) {
            case BH_HOG_L1:
            case BH_HOG_L1_SQRT:
                for (size_t k = 0; k < len; k++)
                    s += fabs(blk[k]);
                for (size_t k = 0; k < len; k++) {
                    blk[k] /= (s + eps);
                    if (p->norm == BH_HOG_L1_SQRT)
                        blk[k] = sqrt(blk[k]);
                }
                break;
            case BH_HOG_L2:
            case BH_HOG_L2_HYS:
                for (size_t k = 0; k < len; k++)
                    s += blk[k] * blk[k];
                s = sqrt(s + eps * eps);
                for (size_t k = 0; k < len; k++)
                    blk[k] /= s;
                if (p->norm == BH_HOG_L2_HYS) {
                    s = 0;
                    for (size_t k = 0; k < len; k++) {
                        if (blk[k] > 0.2)
                            blk[k] = 0.2;
                        s += blk[k] * blk[k];
                    }
                    s = sqrt(s + eps * eps);
                    for (size_t k = 0; k < len; k++)
                        blk[k] /= s;
                }
                break;
            }
        }
    }
    free(hist);
    free(acc);
    return BH_OK;
}

/* ------------------------------------------------------------------ LBP */

static double px_or0(const double *img, int h, int w, long r, long c)
{
    if (r < 0 || c < 0 || r >= h || c >= w)
        return 0.0;
    return img[(size_t)r * w + c];
}

bh_status bh_lbp_uniform(const double *img, int h, int w, int P, double R, double *out)
{
    if (!img || !out || h <= 0 || w <= 0 || P < 1 || P > 32 || !(R > 0) || R > 1000)
        return bh__fail(BH_EINVAL, "lbp: invalid arguments (P=%d R=%g)", P, R);
    double rp[32], cp[32];
    for (int i = 0; i < P; i++) {
        double a = 2 * M_PI * i / P;
        rp[i] = nearbyint(-R * sin(a) * 1e5) / 1e5;
        cp[i] = nearbyint(R * cos(a) * 1e5) / 1e5;
    }
    for (int r = 0; r < h; r++) {
        for (int c = 0; c < w; c++) {
            double centre = img[(size_t)r * w + c];
            int bits[32], ones = 0, changes = 0;
            for (int i = 0; i < P; i++) {
                double rr = r + rp[i], cc = c + cp[i];
                long minr = (long)floor(rr), minc = (long)floor(cc);
                long maxr = (long)ceil(rr), maxc = (long)ceil(cc);
                double dr = rr - minr, dc = cc - minc;
                double top = (1 - dc) * px_or0(img, h, w, minr, minc) +
                             dc * px_or0(img, h, w, minr, maxc);
                double bot = (1 - dc) * px_or0(img, h, w, maxr, minc) +
                             dc * px_or0(img, h, w, maxr, maxc);
                double v = (1 - dr) * top + dr * bot;
                bits[i] = v - centre >= 0;
                ones += bits[i];
            }
            for (int i = 0; i + 1 < P; i++)
                changes += bits[i] != bits[i + 1];
            out[(size_t)r * w + c] = changes <= 2 ? ones : P + 1;
        }
    }
    return BH_OK;
}

/* ---------------------------------------------------------------- Gabor */

bh_status bh_gabor_kernel(double frequency, double theta, double bandwidth, int *ky, int *kx,
                          double *re, double *im)
{
    if (!ky || !kx || !(frequency > 0) || !(bandwidth > 0) || !isfinite(theta))
        return bh__fail(BH_EINVAL, "gabor: frequency and bandwidth must be > 0");
    double b2 = pow(2.0, bandwidth);
    double pre = 1.0 / M_PI * sqrt(log(2.0) / 2.0) * (b2 + 1) / (b2 - 1);
    double sx = pre / frequency, sy = sx;
    /* an infinite frequency or a bandwidth above ~1024 (2^b overflows) gives
     * a sigma of 0 or NaN, which fmax below would not catch */
    if (!(sx > 0) || !isfinite(sx))
        return bh__fail(BH_EINVAL, "gabor: frequency %g / bandwidth %g give no kernel", frequency,
                        bandwidth);
    double ct = cos(theta), st = sin(theta);
    double ax = fmax(fmax(fabs(3 * sx * ct), fabs(3 * sy * st)), 1);
    double ay = fmax(fmax(fabs(3 * sy * ct), fabs(3 * sx * st)), 1);
    if (ax > 127 || ay > 127)
        return bh__fail(BH_EINVAL, "gabor: kernel for frequency %g is wider than 255", frequency);
    int x0 = (int)ceil(ax), y0 = (int)ceil(ay);
    *kx = x0;
    *ky = y0;
    if (!re || !im)
        return BH_OK;
    double norm = 1 / (2 * M_PI * sx * sy);
    for (int y = -y0; y <= y0; y++)
        for (int x = -x0; x <= x0; x++) {
            double rx = x * ct + y * st, ry = -x * st + y * ct;
            double g = exp(-0.5 * (rx * rx / (sx * sx) + ry * ry / (sy * sy)));
            double ph = 2 * M_PI * frequency * rx;
            size_t k = (size_t)(y + y0) * (2 * x0 + 1) + (x + x0);
            re[k] = g * cos(ph) * norm;
            im[k] = g * sin(ph) * norm;
        }
    return BH_OK;
}

/* scipy.ndimage 'reflect': (d c b a | a b c d | d c b a), period 2n. */
static int reflect(int i, int n)
{
    int p = 2 * n;
    i %= p;
    if (i < 0)
        i += p;
    return i < n ? i : p - 1 - i;
}

bh_status bh_gabor_filter(const double *img, int h, int w, double frequency, double theta,
                          double bandwidth, double *re, double *im)
{
    if (!img || !re || !im || h <= 0 || w <= 0)
        return bh__fail(BH_EINVAL, "gabor: invalid arguments");
    int ky, kx;
    bh_status st = bh_gabor_kernel(frequency, theta, bandwidth, &ky, &kx, NULL, NULL);
    if (st)
        return st;
    int kw = 2 * kx + 1, kh = 2 * ky + 1;
    double *kr = malloc(sizeof(double) * (size_t)kw * kh);
    double *ki = malloc(sizeof(double) * (size_t)kw * kh);
    int *xi = malloc(sizeof(int) * (size_t)(w + kw));
    if (!kr || !ki || !xi) {
        free(kr);
        free(ki);
        free(xi);
        return bh__fail(BH_ENOMEM, "gabor: kernel");
    }
    bh_gabor_kernel(frequency, theta, bandwidth, &ky, &kx, kr, ki);
    /* convolution: out[r][c] = sum_k K[k] * in[r + ky - i][c + kx - j] */
    for (int c = -kx; c < w + kx; c++)
        xi[c + kx] = reflect(c, w);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double sr = 0, si = 0;
            for (int i = 0; i < kh; i++) {
                const double *row = img + (size_t)reflect(r + ky - i, h) * w;
                const double *kri = kr + (size_t)i * kw, *kii = ki + (size_t)i * kw;
                for (int j = 0; j < kw; j++) {
                    double v = row[xi[c + kx - j + kx]];
                    sr += kri[j] * v;
                    si += kii[j] * v;
                }
            }
            re[(size_t)r * w + c] = sr;
            im[(size_t)r * w + c] = si;
        }
    free(kr);
    free(ki);
    free(xi);
    return BH_OK;
}

/* ----------------------------------------------------------- the vector */

void bh_feat_defaults(bh_feat_spec *s, unsigned kinds)
{
    memset(s, 0, sizeof *s);
    s->kinds = kinds;
    s->hog.orientations = 9;
    s->hog.cell = 4;
    s->hog.block = 2;
    s->hog.norm = BH_HOG_L2_HYS;
    s->lbp_points = 8;
    s->lbp_radius = 1;
    s->lbp_cell = 7;
    s->gabor_thetas = 4;
    s->gabor_nfreq = 2;
    s->gabor_freqs[0] = 0.25;
    s->gabor_freqs[1] = 0.4;
    s->gabor_cell = 7;
}

bh_status bh_feat_parse(const char *list, bh_feat_spec *s)
{
    if (!list || !s)
        return bh__fail(BH_EINVAL, "features: NULL argument");
    unsigned k = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",+");
        if (n == 3 && !strncmp(p, "hog", 3))
            k |= BH_FEAT_HOG;
        else if (n == 3 && !strncmp(p, "lbp", 3))
            k |= BH_FEAT_LBP;
        else if (n == 5 && !strncmp(p, "gabor", 5))
            k |= BH_FEAT_GABOR;
        else
            return bh__fail(BH_EINVAL, "features: unknown kind '%.*s' (use hog, lbp, gabor)",
                            (int)(n > 40 ? 40 : n), p);
        p += n;
        if (*p == ',' || *p == '+')
            p++;
    }
    if (!k)
        return bh__fail(BH_EINVAL, "features: empty list");
    bh_feat_defaults(s, k);
    return BH_OK;
}

void bh_feat_name(const bh_feat_spec *s, char *buf, size_t cap)
{
    if (!cap)
        return;
    buf[0] = 0;
    size_t len = 0;
    const char *names[3] = {"hog", "lbp", "gabor"};
    for (int i = 0; i < 3; i++)
        if (s->kinds & (1u << i))
            len += (size_t)snprintf(buf + (len < cap ? len : cap - 1), len < cap ? cap - len : 1,
                                    "%s%s", len ? "," : "", names[i]);
}

static int spec_valid(const bh_feat_spec *s, int side)
{
    if (!s || !s->kinds || (s->kinds & ~7u) || side < 8 || side > 128)
        return 0;
    if ((s->kinds & BH_FEAT_HOG) && bh_hog_size(side, side, &s->hog) == 0)
        return 0;
    if ((s->kinds & BH_FEAT_LBP) && (s->lbp_points < 1 || s->lbp_points > 32 ||
                                     !(s->lbp_radius > 0) || s->lbp_radius > 8 ||
                                     s->lbp_cell < 1 || s->lbp_cell > side))
        return 0;
    if (s->kinds & BH_FEAT_GABOR) {
        if (s->gabor_thetas < 1 || s->gabor_thetas > 16 || s->gabor_nfreq < 1 ||
            s->gabor_nfreq > 4 || s->gabor_cell < 1 || s->gabor_cell > side)
            return 0;
        for (int i = 0; i < s->gabor_nfreq; i++)
            if (!(s->gabor_freqs[i] >= 0.02 && s->gabor_freqs[i] <= 1))
                return 0;
    }
    return 1;
}

size_t bh_feat_size(const bh_feat_spec *s, int side)
{
    if (!spec_valid(s, side))
        return 0;
    size_t n = 0;
    if (s->kinds & BH_FEAT_HOG)
        n += bh_hog_size(side, side, &s->hog);
    if (s->kinds & BH_FEAT_LBP) {
        size_t c = (size_t)(side / s->lbp_cell);
        n += c * c * (size_t)(s->lbp_points + 2);
    }
    if (s->kinds & BH_FEAT_GABOR) {
        size_t c = (size_t)(side / s->gabor_cell);
        n += (size_t)s->gabor_nfreq * s->gabor_thetas * c * c * 2;
    }
    return n;
}

bh_status bh_feat_extract(const bh_feat_spec *s, const float *img, int side, float *out)
{
    size_t total = bh_feat_size(s, side);
    if (!img || !out || total == 0)
        return bh__fail(BH_EINVAL, "features: invalid spec or size %d", side);
    size_t np = (size_t)side * side;
    size_t hn = (s->kinds & BH_FEAT_HOG) ? bh_hog_size(side, side, &s->hog) : 0;
    double *d = malloc(sizeof(double) * np * 3);
    double *hv = malloc(sizeof(double) * (hn ? hn : 1));
    if (!d || !hv) {
        free(d);
        free(hv);
        return bh__fail(BH_ENOMEM, "features");
    }
    double *t1 = d + np, *t2 = d + 2 * np;
    for (size_t i = 0; i < np; i++)
        d[i] = img[i];
    float *o = out;
    if (s->kinds & BH_FEAT_HOG) {
        bh_hog(d, side, side, &s->hog, hv);
        for (size_t i = 0; i < hn; i++)
            *o++ = (float)hv[i];
    }
    if (s->kinds & BH_FEAT_LBP) {
        /* LBP on 0..255 values quantized like an 8-bit image, so that flat
         * background compares equal and is coded uniformly. */
        for (size_t i = 0; i < np; i++)
            t2[i] = nearbyint(d[i] * 255.0);
        bh_lbp_uniform(t2, side, side, s->lbp_points, s->lbp_radius, t1);
        int nc = side / s->lbp_cell, nbin = s->lbp_points + 2, cs = s->lbp_cell;
        for (int r = 0; r < nc; r++)
            for (int c = 0; c < nc; c++) {
                for (int b = 0; b < nbin; b++)
                    o[b] = 0;
                for (int y = r * cs; y < (r + 1) * cs; y++)
                    for (int x = c * cs; x < (c + 1) * cs; x++)
                        o[(int)t1[y * side + x]] += 1.0f / (float)(cs * cs);
                o += nbin;
            }
    }
    if (s->kinds & BH_FEAT_GABOR) {
        int nc = side / s->gabor_cell, cs = s->gabor_cell;
        for (int f = 0; f < s->gabor_nfreq; f++)
            for (int k = 0; k < s->gabor_thetas; k++) {
                bh_status st = bh_gabor_filter(d, side, side, s->gabor_freqs[f],
                                               M_PI * k / s->gabor_thetas, 1.0, t1, t2);
                if (st) {
                    free(d);
                    free(hv);
                    return st;
                }
                for (size_t i = 0; i < np; i++)
                    t1[i] = hypot(t1[i], t2[i]);
                for (int r = 0; r < nc; r++)
                    for (int c = 0; c < nc; c++) {
                        double m = 0, v = 0;
                        for (int y = r * cs; y < (r + 1) * cs; y++)
                            for (int x = c * cs; x < (c + 1) * cs; x++)
                                m += t1[y * side + x];
                        m /= cs * cs;
                        for (int y = r * cs; y < (r + 1) * cs; y++)
                            for (int x = c * cs; x < (c + 1) * cs; x++)
                                v += (t1[y * side + x] - m) * (t1[y * side + x] - m);
                        *o++ = (float)m;
                        *o++ = (float)(v / (cs * cs));
                    }
            }
    }
    free(d);
    free(hv);
    return BH_OK;
}
