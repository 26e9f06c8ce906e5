/* ocr/svm.c — C-SVC through libsvm (RBF or linear kernel, one-vs-one), with
 * optional C/gamma selection by 3-fold cross-validation on a subsample.
 * Training runs libsvm's binary solver pair of classes by pair on precomputed
 * kernel matrices and assembles libsvm's multi-class model (see train_pairs);
 * the support vectors are then copied into one block this module owns, so a
 * trained and a loaded model look the same. Prediction gives labels, vote
 * shares and soft-vote class scores. libsvm's console output is silenced (it
 * would print to stdout). */
#include <cblas.h>
#include <libsvm/svm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/f16.h"
#include "ocr/classifier.h"

typedef struct svm {
    struct svm_model model; /* points into the arrays below */
    struct svm_node *nodes;
    struct svm_node **sv;
    double *coef_block;
    double **coef;
    double *rho;
    int *label, *nsv;
    int d;
    float *dense; /* l*d support vectors, for BLAS kernel rows in prediction */
    float *sv_norm2;
    int *start;   /* first SV of each class */
} svm;

static void quiet(const char *s)
{
    (void)s;
}

static void svm_free_impl(void *p)
{
    svm *m = p;
    if (!m)
        return;
    free(m->nodes);
    free(m->sv);
    free(m->coef_block);
    free(m->coef);
    free(m->rho);
    free(m->label);
    free(m->nsv);
    free(m->dense);
    free(m->sv_norm2);
    free(m->start);
    free(m);
}

/* Sparse rows of X[idx[0..n-1]] (idx NULL: rows 0..n-1): zeros are skipped
 * (HOG has many), index is 1-based. */
static struct svm_node *pick_nodes(const float *X, const int *idx, int n, int d,
                                   struct svm_node **rows)
{
    size_t nz = 0;
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)(idx ? idx[i] : i) * d;
        for (int j = 0; j < d; j++)
            nz += x[j] != 0.0f;
    }
    struct svm_node *nodes = malloc(sizeof *nodes * (nz + (size_t)n));
    if (!nodes)
        return NULL;
    struct svm_node *p = nodes;
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)(idx ? idx[i] : i) * d;
        rows[i] = p;
        for (int j = 0; j < d; j++) {
            float v = x[j];
            if (v != 0.0f) {
                p->index = j + 1;
                p->value = v;
                p++;
            }
        }
        p->index = -1;
        p->value = 0;
        p++;
    }
    return nodes;
}

static struct svm_node *make_nodes(const float *X, int n, int d, struct svm_node **rows)
{
    return pick_nodes(X, NULL, n, d, rows);
}

/* Serialized form (dense SVs): kernel, gamma, nr_class, l, labels, nSV,
 * rho[k(k-1)/2], coef[(k-1)*l] as f64, SV[l*d] as IEEE half floats (the
 * relative rounding of 2^-11 leaves accuracy unchanged and halves the file;
 * a freshly trained model goes through the same rounding, so trained and
 * loaded models predict identically). */
static void put_f16(bh_buf *b, bh_status *st, float f)
{
    uint16_t u = bh__f32_to_f16(f);
    unsigned char c[2] = {(unsigned char)(u & 0xff), (unsigned char)(u >> 8)};
    bh__put(b, st, c, 2);
}

static float get_f16(bh__rd *r)
{
    unsigned char c[2] = {0, 0};
    bh__get(r, c, 2);
    return bh__f16_to_f32((uint16_t)(c[0] | (c[1] << 8)));
}

static bh_status svm_save(const void *impl, bh_buf *out)
{
    const svm *m = impl;
    const struct svm_model *md = &m->model;
    bh_status st = BH_OK;
    int k = md->nr_class, l = md->l, d = m->d;
    bh__put_u32(out, &st, (uint32_t)md->param.kernel_type);
    bh__put_f64(out, &st, md->param.gamma);
    bh__put_u32(out, &st, (uint32_t)k);
    bh__put_u32(out, &st, (uint32_t)l);
    for (int i = 0; i < k; i++)
        bh__put_u32(out, &st, (uint32_t)md->label[i]);
    for (int i = 0; i < k; i++)
        bh__put_u32(out, &st, (uint32_t)md->nSV[i]);
    for (int i = 0; i < k * (k - 1) / 2; i++)
        bh__put_f64(out, &st, md->rho[i]);
    for (int i = 0; i < k - 1; i++)
        for (int j = 0; j < l; j++)
            bh__put_f64(out, &st, md->sv_coef[i][j]);
    float *row = malloc(sizeof(float) * (size_t)(d > 0 ? d : 1));
    if (!row)
        return bh__fail(BH_ENOMEM, "svm: save");
    for (int j = 0; j < l && st == BH_OK; j++) {
        for (int c = 0; c < d; c++)
            row[c] = 0;
        for (const struct svm_node *p = md->SV[j]; p->index != -1; p++)
            if (p->index >= 1 && p->index <= d)
                row[p->index - 1] = (float)p->value;
        for (int c = 0; c < d; c++)
            put_f16(out, &st, row[c]);
    }
    free(row);
    return st;
}

static bh_status svm_load(const uint8_t *p, size_t len, int d, void **impl)
{
    bh__rd r = {p, len, 0};
    uint32_t kt, k, l;
    double gamma;
    if (bh__get_u32(&r, &kt) || bh__get_f64(&r, &gamma) || bh__get_u32(&r, &k) ||
        bh__get_u32(&r, &l))
        return bh__fail(BH_EFORMAT, "svm: truncated header");
    if ((kt != LINEAR && kt != RBF) || k < 2 || k > 10 || l < 1 || !isfinite(gamma))
        return bh__fail(BH_EFORMAT, "svm: bad header (kernel %u, %u classes, %u SVs)", kt, k, l);
    uint64_t need = (uint64_t)k * 8 + (uint64_t)k * (k - 1) / 2 * 8 + (uint64_t)(k - 1) * l * 8 +
                    (uint64_t)l * d * 2;
    if (need != len - r.off)
        return bh__fail(BH_EFORMAT, "svm: payload is %zu bytes, expected %llu", len - r.off,
                        (unsigned long long)need);
    svm *m = calloc(1, sizeof *m);
    if (!m)
        return bh__fail(BH_ENOMEM, "svm");
    m->d = d;
    m->label = malloc(sizeof(int) * k);
    m->nsv = malloc(sizeof(int) * k);
    m->rho = malloc(sizeof(double) * k * (k - 1) / 2);
    m->coef = malloc(sizeof(double *) * (k - 1));
    m->coef_block = malloc(sizeof(double) * (size_t)(k - 1) * l);
    m->sv = malloc(sizeof *m->sv * l);
    float *dense = malloc(sizeof(float) * (size_t)l * d);
    if (!m->label || !m->nsv || !m->rho || !m->coef || !m->coef_block || !m->sv || !dense) {
        free(dense);
        svm_free_impl(m);
        return bh__fail(BH_ENOMEM, "svm: %u SVs", l);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t v = 0;
        bh__get_u32(&r, &v);
        m->label[i] = (int)v;
    }
    for (uint32_t i = 0; i < k; i++) {
        uint32_t v = 0;
        bh__get_u32(&r, &v);
        m->nsv[i] = (int)v;
        total += v;
    }
    for (uint32_t i = 0; i < k * (k - 1) / 2; i++)
        bh__get_f64(&r, &m->rho[i]);
    for (uint32_t i = 0; i < k - 1; i++) {
        m->coef[i] = m->coef_block + (size_t)i * l;
        for (uint32_t j = 0; j < l; j++)
            bh__get_f64(&r, &m->coef[i][j]);
    }
    for (size_t i = 0; i < (size_t)l * d; i++) {
        dense[i] = get_f16(&r);
        if (!isfinite(dense[i]))
            dense[i] = 0; /* a damaged file must not poison every kernel value */
    }
    int bad = total != l;
    for (uint32_t i = 0; i < k; i++)
        bad |= m->label[i] < 0 || m->label[i] > 9;
    if (bad) {
        free(dense);
        svm_free_impl(m);
        return bh__fail(BH_EFORMAT, "svm: labels or SV counts inconsistent");
    }
    m->nodes = make_nodes(dense, (int)l, d, m->sv);
    m->dense = dense;
    m->sv_norm2 = malloc(sizeof(float) * l);
    m->start = malloc(sizeof(int) * k);
    if (!m->nodes || !m->sv_norm2 || !m->start) {
        svm_free_impl(m);
        return bh__fail(BH_ENOMEM, "svm: nodes");
    }
    for (uint32_t j = 0; j < l; j++) {
        double q = 0;
        for (int c = 0; c < d; c++)
            q += (double)dense[(size_t)j * d + c] * dense[(size_t)j * d + c];
        m->sv_norm2[j] = (float)q;
    }
    m->start[0] = 0;
    for (uint32_t i = 1; i < k; i++)
        m->start[i] = m->start[i - 1] + m->nsv[i - 1];
    struct svm_model *md = &m->model;
    md->param.svm_type = C_SVC;
    md->param.kernel_type = (int)kt;
    md->param.gamma = gamma;
    md->nr_class = (int)k;
    md->l = (int)l;
    md->SV = m->sv;
    md->sv_coef = m->coef;
    md->rho = m->rho;
    md->label = m->label;
    md->nSV = m->nsv;
    md->free_sv = 0;
    *impl = m;
    return BH_OK;
}

static void fill_param(struct svm_parameter *pa, int linear, double c, double gamma)
{
    memset(pa, 0, sizeof *pa);
    pa->svm_type = C_SVC;
    pa->kernel_type = linear ? LINEAR : RBF;
    pa->gamma = gamma;
    pa->C = c;
    pa->cache_size = 400;
    pa->eps = 1e-3;
    pa->shrinking = 1;
}

/* Above a few thousand rows libsvm's own kernel (sparse dot products for
 * every value) dominates training. So training runs libsvm's one-vs-one
 * scheme here, pair of classes by pair: for classes a < b the m rows of a
 * and b (a's first, file order kept, as libsvm groups them) get a
 * precomputed kernel matrix from one SGEMM (libsvm's PRECOMPUTED mode: row i
 * = {0: i+1}, {j+1: K(i,j)}...) and a binary C-SVC; the binary models are
 * then assembled into libsvm's multi-class layout exactly as svm_train does
 * it. Same optimisation problems as libsvm's multi-class training, several
 * times faster, and memory grows with the largest pair, not with n: m*(m+2)*16
 * bytes of nodes plus m*m*4 of Gram matrix (1.6 GB + 0.4 GB at PAIR_MAX). A
 * pair above PAIR_MAX rows (or all pairs, when that memory is not there)
 * trains on the sparse rows with libsvm's own kernel instead. */
enum { PAIR_MAX = 10000 };

/* A trained one-vs-one model in libsvm's layout: classes label[k] with nsv[k]
 * SVs each (grouped by class), rho[k(k-1)/2], coef[(k-1)][l], and src[l], the
 * training row of each SV. */
typedef struct pairwise {
    int k, l;
    int label[10], nsv[10];
    double *rho, *coef;
    int *src;
} pairwise;

static void pairwise_free(pairwise *pw)
{
    free(pw->rho);
    free(pw->coef);
    free(pw->src);
    memset(pw, 0, sizeof *pw);
}

/* Kernel rows for m rows of Xp: nodes[m][m+2] as described above. */
static void fill_kernel(const float *Xp, int m, int d, int linear, double gamma, float *G,
                        struct svm_node *nodes, struct svm_node **rows)
{
    /* G[m][m] = Xp Xp^T: the upper triangle (half an SGEMM's work), mirrored */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m, d, 1.0f, Xp, d, 0.0f, G, m);
    for (int i = 0; i < m; i++)
        for (int j = i + 1; j < m; j++)
            G[(size_t)j * m + i] = G[(size_t)i * m + j];
    for (int i = 0; i < m; i++) {
        struct svm_node *p = nodes + (size_t)i * (m + 2);
        rows[i] = p;
        p[0].index = 0;
        p[0].value = i + 1;
        for (int j = 0; j < m; j++) {
            double v = G[(size_t)i * m + j];
            if (!linear) {
                double dist = (double)G[(size_t)i * m + i] + G[(size_t)j * m + j] - 2 * v;
                v = exp(-gamma * (dist > 0 ? dist : 0));
            }
            p[j + 1].index = j + 1;
            p[j + 1].value = v;
        }
        p[m + 1].index = -1;
        p[m + 1].value = 0;
    }
}

/* X[n][d] with labels y[n]; base holds C, gamma and the kernel. */
static bh_status train_pairs(const float *X, const uint8_t *y, int n, int d,
                             const struct svm_parameter *base, const bh_train_opts *o,
                             pairwise *pw)
{
    memset(pw, 0, sizeof *pw);
    int cnt[10] = {0}, start[10], cls[10], k = 0, mmax = 0;
    for (int i = 0; i < n; i++)
        if (cnt[y[i]]++ == 0)
            cls[k++] = y[i]; /* classes in order of first appearance, as libsvm */
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++)
            if (cnt[cls[a]] + cnt[cls[b]] > mmax)
                mmax = cnt[cls[a]] + cnt[cls[b]];
    int npairs = k * (k - 1) / 2, mpre = mmax < PAIR_MAX ? mmax : PAIR_MAX;
    int *order = malloc(sizeof(int) * (size_t)n), *pos = malloc(sizeof(int) * (size_t)n);
    int *pick = malloc(sizeof(int) * (size_t)mmax); /* the pair's rows */
    char *nonzero = calloc((size_t)n, 1);
    double *al = calloc((size_t)(k - 1) * n, sizeof(double)); /* pair p's alpha*y at poff */
    struct svm_node **rows = malloc(sizeof *rows * (size_t)mmax);
    double *yp = malloc(sizeof(double) * (size_t)mmax);
    pw->rho = malloc(sizeof(double) * (size_t)npairs);
    bh_status st = BH_OK;
    if (!order || !pos || !pick || !nonzero || !al || !rows || !yp || !pw->rho) {
        st = bh__fail(BH_ENOMEM, "svm: %d rows", n);
        goto out;
    }
    /* the precomputed-kernel buffers, for pairs of up to mpre rows */
    float *Xp = malloc(sizeof(float) * (size_t)mpre * d), *G = malloc(sizeof(float) * (size_t)mpre * mpre);
    struct svm_node *nodes = malloc(sizeof *nodes * (size_t)mpre * ((size_t)mpre + 2));
    if (!Xp || !G || !nodes) {
        mpre = 0; /* not enough memory: every pair on sparse rows */
        free(Xp);
        free(G);
        free(nodes);
        Xp = G = NULL;
        nodes = NULL;
    }
    /* order: row indices grouped by class, file order within a class */
    for (int a = 0, s = 0; a < k; a++) {
        start[a] = s;
        for (int i = 0; i < n; i++)
            if (y[i] == cls[a])
                order[s++] = i;
    }
    size_t poff = 0;
    for (int a = 0, p = 0; a < k && !st; a++)
        for (int b = a + 1; b < k && !st; b++, p++) {
            int ca = cnt[cls[a]], cb = cnt[cls[b]], m = ca + cb, pre = m <= mpre;
            for (int j = 0; j < m; j++) {
                pick[j] = j < ca ? order[start[a] + j] : order[start[b] + j - ca];
                if (pre)
                    memcpy(Xp + (size_t)j * d, X + (size_t)pick[j] * d, sizeof(float) * (size_t)d);
                yp[j] = j < ca ? 1 : -1;
            }
            struct svm_parameter pa = *base;
            struct svm_node *snodes = NULL;
            if (pre) {
                fill_kernel(Xp, m, d, base->kernel_type == LINEAR, base->gamma, G, nodes, rows);
                pa.kernel_type = PRECOMPUTED;
            } else if (!(snodes = pick_nodes(X, pick, m, d, rows))) {
                st = bh__fail(BH_ENOMEM, "svm: %d sparse rows", m);
                break;
            }
            struct svm_problem prob = {m, yp, rows};
            const char *err = svm_check_parameter(&prob, &pa);
            struct svm_model *md = err ? NULL : svm_train(&prob, &pa);
            if (!md || md->nr_class != 2 || !md->sv_indices) {
                st = err ? bh__fail(BH_EINVAL, "svm: %s", err)
                         : bh__fail(BH_EINTERNAL, "svm: training classes %d/%d failed", cls[a],
                                    cls[b]);
                svm_free_and_destroy_model(&md);
                free(snodes);
                break;
            }
            /* the first row is +1, so libsvm's label[0] is +1: positive votes for a */
            double sign = md->label[0] == 1 ? 1 : -1;
            for (int s = 0; s < md->l && !st; s++) {
                int j = md->sv_indices[s] - 1;
                if (j < 0 || j >= m) {
                    st = bh__fail(BH_EINTERNAL, "svm: SV index %d of %d", j, m);
                    break;
                }
                al[poff + j] = sign * md->sv_coef[0][s];
                nonzero[pick[j]] |= al[poff + j] != 0;
            }
            pw->rho[p] = sign * md->rho[0];
            svm_free_and_destroy_model(&md);
            free(snodes);
            poff += (size_t)m;
            if (o->progress)
                o->progress(o->progress_ctx, "svm-pairs", (size_t)p + 1, (size_t)npairs, NAN);
        }
    free(Xp);
    free(G);
    free(nodes);
    if (st)
        goto out;
    /* SVs: the rows that are support vectors of any pair, grouped by class */
    int l = 0;
    for (int a = 0; a < k; a++) {
        pw->label[a] = cls[a];
        pw->nsv[a] = 0;
        for (int j = 0; j < cnt[cls[a]]; j++) {
            int r = order[start[a] + j];
            if (nonzero[r]) {
                pos[r] = l++;
                pw->nsv[a]++;
            }
        }
    }
    pw->k = k;
    pw->l = l;
    pw->src = malloc(sizeof(int) * (size_t)(l ? l : 1));
    pw->coef = calloc((size_t)(k - 1) * (l ? l : 1), sizeof(double));
    if (!pw->src || !pw->coef) {
        st = bh__fail(BH_ENOMEM, "svm: %d SVs", l);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (nonzero[i])
            pw->src[pos[i]] = i;
    /* classifier (a,b): a's coefficients in coef[b-1], b's in coef[a] (libsvm's layout) */
    poff = 0;
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++) {
            int ca = cnt[cls[a]], cb = cnt[cls[b]];
            for (int j = 0; j < ca; j++) {
                int r = order[start[a] + j];
                if (nonzero[r])
                    pw->coef[(size_t)(b - 1) * l + pos[r]] = al[poff + j];
            }
            for (int j = 0; j < cb; j++) {
                int r = order[start[b] + j];
                if (nonzero[r])
                    pw->coef[(size_t)a * l + pos[r]] = al[poff + ca + j];
            }
            poff += (size_t)(ca + cb);
        }
out:
    free(order);
    free(pos);
    free(pick);
    free(nonzero);
    free(al);
    free(rows);
    free(yp);
    if (st)
        pairwise_free(pw);
    return st;
}

static bh_status svm_train_impl(const float *X, const uint8_t *y, int n, int d,
                                const bh_train_opts *o, void **impl, char *info, size_t infocap)
{
    svm_set_print_string_function(quiet);
    /* gamma "scale" = 1 / (d * var(X)) as scikit-learn */
    double mean = 0, sq = 0;
    for (size_t i = 0; i < (size_t)n * d; i++) {
        mean += X[i];
        sq += (double)X[i] * X[i];
    }
    double cnt = (double)n * d, var = sq / cnt - (mean / cnt) * (mean / cnt);
    double gscale = var > 0 ? 1.0 / (d * var) : 1.0 / d;
    double C = o->svm_c > 0 ? o->svm_c : 10, gamma = o->svm_gamma > 0 ? o->svm_gamma : gscale;

    struct svm_parameter pa;
    double cv_best = -1;
    if (o->svm_grid) {
        /* Deterministic subsample: every step-th row. With augmentation the
         * rows come as bh_digits_featurize_augmented lays them out (each image,
         * then its copies); the search then uses the original rows only, since
         * a copy in a training fold would leak its image into the other fold. */
        int per = o->augment > 0 && n % (o->augment + 1) == 0 ? o->augment + 1 : 1;
        int n0 = n / per;
        int m = o->svm_grid_n > 0 && o->svm_grid_n < n0 ? o->svm_grid_n : n0;
        /* libsvm's 3-fold CV on fewer than 3 rows drops to fewer folds with a
         * warning on stderr, and on 1 row trains on an empty fold, which
         * writes past a zero-size allocation */
        if (m < 3)
            return bh__fail(BH_EINVAL, "svm: grid search needs at least 3 rows, got %d", m);
        struct svm_node **sr = malloc(sizeof *sr * (size_t)m), *sn = NULL;
        double *sy = malloc(sizeof(double) * (size_t)m), *pred = malloc(sizeof(double) * (size_t)m);
        int *idx = malloc(sizeof(int) * (size_t)m);
        for (int i = 0; idx && sy && i < m; i++) {
            idx[i] = (int)((size_t)i * n0 / m * per);
            sy[i] = y[idx[i]];
        }
        if (!sr || !sy || !pred || !idx || !(sn = pick_nodes(X, idx, m, d, sr))) {
            free(sr);
            free(sy);
            free(pred);
            free(idx);
            return bh__fail(BH_ENOMEM, "svm: grid");
        }
        struct svm_problem sp = {m, sy, sr};
        static const double cs[] = {1, 3, 10, 30, 100};
        static const double gs[] = {0.5, 1, 2, 4};
        int ng = o->svm_linear ? 1 : 4, step = 0, nsteps = 5 * ng;
        for (int ci = 0; ci < 5; ci++)
            for (int gi = 0; gi < ng; gi++) {
                fill_param(&pa, o->svm_linear, cs[ci], gscale * gs[gi]);
                svm_cross_validation(&sp, &pa, 3, pred);
                int ok = 0;
                for (int i = 0; i < m; i++)
                    ok += pred[i] == sy[i];
                double acc = (double)ok / m;
                if (acc > cv_best) {
                    cv_best = acc;
                    C = cs[ci];
                    gamma = gscale * gs[gi];
                }
                if (o->progress)
                    o->progress(o->progress_ctx, "svm-grid", (size_t)++step, (size_t)nsteps, acc);
            }
        free(sr);
        free(sn);
        free(sy);
        free(pred);
        free(idx);
    }
    fill_param(&pa, o->svm_linear, C, gamma);
    if (o->progress)
        o->progress(o->progress_ctx, "svm-train", 0, 1, NAN);
    pairwise pw;
    bh_status st = train_pairs(X, y, n, d, &pa, o, &pw);
    if (st)
        return st;
    /* Copy out through the serialized form so the model owns its SVs: the
     * training rows src[] names. */
    svm tmp = {0};
    tmp.d = d;
    float *svd = malloc(sizeof(float) * (size_t)(pw.l ? pw.l : 1) * d);
    struct svm_node **svr = malloc(sizeof *svr * (size_t)(pw.l ? pw.l : 1)), *svn = NULL;
    for (int j = 0; svd && svr && j < pw.l; j++)
        memcpy(svd + (size_t)j * d, X + (size_t)pw.src[j] * d, sizeof(float) * (size_t)d);
    svn = svd && svr ? make_nodes(svd, pw.l, d, svr) : NULL;
    free(svd);
    if (!svn)
        st = bh__fail(BH_ENOMEM, "svm: support vectors");
    double *coefp[9];
    for (int i = 0; i < pw.k - 1; i++)
        coefp[i] = pw.coef + (size_t)i * pw.l;
    tmp.model.nr_class = pw.k;
    tmp.model.l = pw.l;
    tmp.model.SV = svr;
    tmp.model.sv_coef = coefp;
    tmp.model.rho = pw.rho;
    tmp.model.label = pw.label;
    tmp.model.nSV = pw.nsv;
    tmp.model.param.kernel_type = o->svm_linear ? LINEAR : RBF;
    tmp.model.param.gamma = gamma;
    bh_buf b = {0};
    if (st == BH_OK)
        st = svm_save(&tmp, &b);
    int nsv = tmp.model.l;
    pairwise_free(&pw);
    free(svn);
    free(svr);
    if (st == BH_OK)
        st = svm_load((const uint8_t *)b.data, b.len, d, impl);
    bh_buf_free(&b);
    if (st == BH_OK) {
        if (cv_best >= 0)
            snprintf(info, infocap, "kernel=%s C=%g gamma=%.5g nSV=%d cv3=%.4f",
                     o->svm_linear ? "linear" : "rbf", C, gamma, nsv, cv_best);
        else
            snprintf(info, infocap, "kernel=%s C=%g gamma=%.5g nSV=%d",
                     o->svm_linear ? "linear" : "rbf", C, gamma, nsv);
    }
    return st;
}

/* Decision values as libsvm computes them, with the kernel rows of a block
 * of queries from one SGEMM: K[q][j] = exp(-gamma |x_q - s_j|^2) (RBF) or
 * x_q . s_j (linear); pair (a,b) sums coef[b-1] over class a's SVs and
 * coef[a] over class b's, minus rho; positive votes for a. Class scores are
 * soft votes: pair (a,b) with decision value f gives a logistic(f) and b
 * 1 - logistic(f); divided by the k(k-1)/2 pairs they sum to 1. */
enum { PB = 64 };

static bh_status svm_predict_impl(const void *impl, const float *X, int n, int d, uint8_t *labels,
                                  float *scores, float *proba)
{
    const svm *m = impl;
    const struct svm_model *md = &m->model;
    int k = md->nr_class, l = md->l;
    float *K = malloc(sizeof(float) * (size_t)PB * l);
    if (!K)
        return bh__fail(BH_ENOMEM, "svm: predict");
    int rbf = md->param.kernel_type == RBF;
    float g = (float)md->param.gamma;
    for (int q0 = 0; q0 < n; q0 += PB) {
        int nq = n - q0 < PB ? n - q0 : PB;
        const float *Xq = X + (size_t)q0 * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, l, d, 1.0f, Xq, d, m->dense, d,
                    0.0f, K, l);
        for (int i = 0; i < nq; i++) {
            float *Ki = K + (size_t)i * l;
            if (rbf) {
                double xn = 0;
                for (int c = 0; c < d; c++)
                    xn += (double)Xq[(size_t)i * d + c] * Xq[(size_t)i * d + c];
                for (int j = 0; j < l; j++) {
                    float dist = (float)xn + m->sv_norm2[j] - 2 * Ki[j];
                    Ki[j] = expf(-g * (dist > 0 ? dist : 0));
                }
            }
            int votes[10] = {0}, p = 0;
            float *pr = proba ? proba + (size_t)(q0 + i) * 10 : NULL;
            if (pr)
                memset(pr, 0, sizeof(float) * 10);
            for (int a = 0; a < k; a++)
                for (int b = a + 1; b < k; b++) {
                    double sum = 0;
                    const double *ca = md->sv_coef[b - 1], *cb = md->sv_coef[a];
                    for (int j = m->start[a]; j < m->start[a] + m->nsv[a]; j++)
                        sum += ca[j] * Ki[j];
                    for (int j = m->start[b]; j < m->start[b] + m->nsv[b]; j++)
                        sum += cb[j] * Ki[j];
                    sum -= md->rho[p++];
                    votes[sum > 0 ? a : b]++;
                    if (pr) {
                        double s = 1 / (1 + exp(-sum)), np = k * (k - 1) / 2.0;
                        pr[md->label[a]] += (float)(s / np);
                        pr[md->label[b]] += (float)((1 - s) / np);
                    }
                }
            int best = 0;
            for (int a = 1; a < k; a++)
                if (votes[a] > votes[best])
                    best = a;
            int li = md->label[best];
            labels[q0 + i] = (uint8_t)(li >= 0 && li <= 9 ? li : 0);
            if (scores)
                scores[q0 + i] = (float)votes[best] / (float)(k - 1);
        }
    }
    free(K);
    return BH_OK;
}

const bh__clf_ops bh__svm_ops = {svm_train_impl, svm_predict_impl, svm_save, svm_load,
                                 svm_free_impl};
