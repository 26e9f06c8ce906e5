/* ocr/svm.c — C-SVC through libsvm (RBF or linear kernel, one-vs-one), with
 * optional C/gamma selection by 3-fold cross-validation on a subsample.
 * After training the support vectors are copied out of libsvm's problem into
 * one block this module owns, so a trained and a loaded model look the same.
 * libsvm's console output is silenced (it would print to stdout). */
#include <cblas.h>
#include <libsvm/svm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
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

/* Sparse rows: zeros are skipped (HOG has many), index is 1-based. */
static struct svm_node *make_nodes(const float *X, int n, int d, struct svm_node **rows)
{
    size_t nz = 0;
    for (size_t i = 0; i < (size_t)n * d; i++)
        nz += X[i] != 0.0f;
    struct svm_node *nodes = malloc(sizeof *nodes * (nz + (size_t)n));
    if (!nodes)
        return NULL;
    struct svm_node *p = nodes;
    for (int i = 0; i < n; i++) {
        rows[i] = p;
        for (int j = 0; j < d; j++) {
            float v = X[(size_t)i * d + j];
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

/* Serialized form (dense SVs): kernel, gamma, nr_class, l, labels, nSV,
 * rho[k(k-1)/2], coef[(k-1)*l] as f64, SV[l*d] as IEEE half floats (the
 * relative rounding of 2^-11 leaves accuracy unchanged and halves the file;
 * a freshly trained model goes through the same rounding, so trained and
 * loaded models predict identically). */
static void put_f16(bh_buf *b, bh_status *st, float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    unsigned char c[2] = {(unsigned char)(u & 0xff), (unsigned char)(u >> 8)};
    bh__put(b, st, c, 2);
}

static float get_f16(bh__rd *r)
{
    unsigned char c[2] = {0, 0};
    bh__get(r, c, 2);
    uint16_t u = (uint16_t)(c[0] | (c[1] << 8));
    _Float16 h;
    memcpy(&h, &u, 2);
    return (float)h;
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

/* Up to this many rows the final training hands libsvm a precomputed kernel
 * matrix (libsvm's PRECOMPUTED mode: row i = {0: i+1}, {j+1: K(i,j)}...), made
 * with one SGEMM, instead of letting it take sparse dot products for every
 * kernel value: the same optimisation problem, several times faster. Memory:
 * n*(n+2)*16 bytes of nodes (400 MB at 5,000 rows, 1.6 GB at 10,000). */
enum { PRE_MAX = 10000 };

static struct svm_node *precomputed_rows(const float *X, int n, int d, int linear, double gamma,
                                         struct svm_node **rows)
{
    float *G = malloc(sizeof(float) * (size_t)n * n);
    struct svm_node *nodes = malloc(sizeof *nodes * (size_t)n * ((size_t)n + 2));
    if (!G || !nodes) {
        free(G);
        free(nodes);
        return NULL;
    }
    /* G[n][n] = X X^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, X, d, X, d, 0.0f, G, n);
    for (int i = 0; i < n; i++) {
        struct svm_node *p = nodes + (size_t)i * (n + 2);
        rows[i] = p;
        p[0].index = 0;
        p[0].value = i + 1;
        for (int j = 0; j < n; j++) {
            double v = G[(size_t)i * n + j];
            if (!linear) {
                double dist = (double)G[(size_t)i * n + i] + G[(size_t)j * n + j] - 2 * v;
                v = exp(-gamma * (dist > 0 ? dist : 0));
            }
            p[j + 1].index = j + 1;
            p[j + 1].value = v;
        }
        p[n + 1].index = -1;
        p[n + 1].value = 0;
    }
    free(G);
    return nodes;
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

    struct svm_node **rows = malloc(sizeof *rows * (size_t)n);
    double *yd = malloc(sizeof(double) * (size_t)n);
    if (!rows || !yd) {
        free(rows);
        free(yd);
        return bh__fail(BH_ENOMEM, "svm: %d rows", n);
    }
    struct svm_node *nodes = make_nodes(X, n, d, rows);
    if (!nodes) {
        free(rows);
        free(yd);
        return bh__fail(BH_ENOMEM, "svm: %d x %d nodes", n, d);
    }
    for (int i = 0; i < n; i++)
        yd[i] = y[i];
    struct svm_parameter pa;
    double cv_best = -1;
    if (o->svm_grid) {
        /* Deterministic subsample: every step-th row. */
        int m = o->svm_grid_n > 0 && o->svm_grid_n < n ? o->svm_grid_n : n;
        struct svm_node **sr = malloc(sizeof *sr * (size_t)m);
        double *sy = malloc(sizeof(double) * (size_t)m), *pred = malloc(sizeof(double) * (size_t)m);
        if (!sr || !sy || !pred) {
            free(sr);
            free(sy);
            free(pred);
            free(nodes);
            free(rows);
            free(yd);
            return bh__fail(BH_ENOMEM, "svm: grid");
        }
        for (int i = 0; i < m; i++) {
            size_t src = (size_t)i * n / m;
            sr[i] = rows[src];
            sy[i] = yd[src];
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
        free(sy);
        free(pred);
    }
    fill_param(&pa, o->svm_linear, C, gamma);
    struct svm_node **prows = NULL, *pnodes = NULL;
    if (n <= PRE_MAX) {
        prows = malloc(sizeof *prows * (size_t)n);
        pnodes = prows ? precomputed_rows(X, n, d, o->svm_linear, gamma, prows) : NULL;
        if (pnodes)
            pa.kernel_type = PRECOMPUTED;
        else {
            free(prows); /* not enough memory: fall back to libsvm's own kernel */
            prows = NULL;
        }
    }
    struct svm_problem prob = {n, yd, pnodes ? prows : rows};
    const char *err = svm_check_parameter(&prob, &pa);
    struct svm_model *md = NULL;
    if (!err) {
        if (o->progress)
            o->progress(o->progress_ctx, "svm-train", 0, 1, NAN);
        md = svm_train(&prob, &pa);
    }
    free(pnodes);
    free(prows);
    if (err || !md) {
        free(nodes);
        free(rows);
        free(yd);
        return err ? bh__fail(BH_EINVAL, "svm: %s", err)
                   : bh__fail(BH_EINTERNAL, "svm: training failed");
    }
    /* Copy out through the serialized form so the model owns its SVs; with a
     * precomputed kernel the SVs are the training rows named by sv_indices. */
    svm tmp = {0};
    tmp.model = *md;
    tmp.model.param.kernel_type = o->svm_linear ? LINEAR : RBF;
    tmp.model.param.gamma = gamma;
    tmp.d = d;
    struct svm_node **svr = NULL, *svn = NULL;
    bh_status st = BH_OK;
    if (pa.kernel_type == PRECOMPUTED) {
        float *svd = malloc(sizeof(float) * (size_t)md->l * d);
        svr = malloc(sizeof *svr * (size_t)md->l);
        int okidx = svd && svr && md->sv_indices;
        for (int k = 0; okidx && k < md->l; k++) {
            int src = md->sv_indices[k] - 1;
            if (src < 0 || src >= n)
                okidx = 0;
            else
                memcpy(svd + (size_t)k * d, X + (size_t)src * d, sizeof(float) * (size_t)d);
        }
        svn = okidx ? make_nodes(svd, md->l, d, svr) : NULL;
        free(svd);
        if (!svn)
            st = bh__fail(BH_ENOMEM, "svm: support vectors");
        tmp.model.SV = svr;
    }
    bh_buf b = {0};
    if (st == BH_OK)
        st = svm_save(&tmp, &b);
    int nsv = md->l;
    svm_free_and_destroy_model(&md);
    free(svn);
    free(svr);
    free(nodes);
    free(rows);
    free(yd);
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
 * coef[a] over class b's, minus rho; positive votes for a. */
enum { PB = 64 };

static bh_status svm_predict_impl(const void *impl, const float *X, int n, int d, uint8_t *labels,
                                  float *scores)
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
