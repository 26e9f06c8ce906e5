/* ocr/knn.c — exact k-nearest-neighbour classifier. Distances to all training
 * rows are computed in blocks with one SGEMM per block of queries
 * (|q|^2 + |t|^2 - 2 q.t), so the search is exact and BLAS-fast. Cosine
 * distance normalizes rows to unit length first. Owns a copy of the rows. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "ocr/classifier.h"

typedef struct knn {
    int n, d, k, cosine;
    float *X;     /* n*d */
    float *norm2; /* n squared norms */
    uint8_t *y;
} knn;

static void knn_free(void *p)
{
    knn *m = p;
    if (!m)
        return;
    free(m->X);
    free(m->norm2);
    free(m->y);
    free(m);
}

static void unit_rows(float *X, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)X[(size_t)i * d + j] * X[(size_t)i * d + j];
        if (s > 0) {
            float inv = (float)(1 / sqrt(s));
            for (int j = 0; j < d; j++)
                X[(size_t)i * d + j] *= inv;
        }
    }
}

static knn *knn_alloc(int n, int d)
{
    knn *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n = n;
    m->d = d;
    m->X = malloc(sizeof(float) * (size_t)n * d);
    m->norm2 = malloc(sizeof(float) * (size_t)n);
    m->y = malloc((size_t)n);
    if (!m->X || !m->norm2 || !m->y) {
        knn_free(m);
        return NULL;
    }
    return m;
}

static void knn_norms(knn *m)
{
    if (m->cosine)
        unit_rows(m->X, m->n, m->d);
    for (int i = 0; i < m->n; i++) {
        double s = 0;
        for (int j = 0; j < m->d; j++)
            s += (double)m->X[(size_t)i * m->d + j] * m->X[(size_t)i * m->d + j];
        m->norm2[i] = (float)s;
    }
}

static bh_status knn_train(const float *X, const uint8_t *y, int n, int d, const bh_train_opts *o,
                           void **impl, char *info, size_t infocap)
{
    if (o->knn_k < 1 || o->knn_k > 100 || o->knn_k > n)
        return bh__fail(BH_EINVAL, "knn: k=%d must be 1..min(100, n)", o->knn_k);
    knn *m = knn_alloc(n, d);
    if (!m)
        return bh__fail(BH_ENOMEM, "knn: %d x %d", n, d);
    m->k = o->knn_k;
    m->cosine = o->knn_cosine ? 1 : 0;
    memcpy(m->X, X, sizeof(float) * (size_t)n * d);
    memcpy(m->y, y, (size_t)n);
    knn_norms(m);
    snprintf(info, infocap, "k=%d metric=%s n=%d", m->k, m->cosine ? "cosine" : "euclidean", n);
    *impl = m;
    return BH_OK;
}

enum { QB = 128, TB = 4096 };

static bh_status knn_predict(const void *impl, const float *X, int n, int d, uint8_t *labels,
                             float *scores, float *proba)
{
    const knn *m = impl;
    int k = m->k;
    float *q = malloc(sizeof(float) * (size_t)QB * d);
    float *dot = malloc(sizeof(float) * (size_t)QB * TB);
    float *bestd = malloc(sizeof(float) * (size_t)QB * k);
    int *besti = malloc(sizeof(int) * (size_t)QB * k);
    if (!q || !dot || !bestd || !besti) {
        free(q);
        free(dot);
        free(bestd);
        free(besti);
        return bh__fail(BH_ENOMEM, "knn: predict buffers");
    }
    for (int q0 = 0; q0 < n; q0 += QB) {
        int nq = n - q0 < QB ? n - q0 : QB;
        memcpy(q, X + (size_t)q0 * d, sizeof(float) * (size_t)nq * d);
        if (m->cosine)
            unit_rows(q, nq, d);
        for (int i = 0; i < nq * k; i++) {
            bestd[i] = FLT_MAX;
            besti[i] = -1;
        }
        for (int t0 = 0; t0 < m->n; t0 += TB) {
            int nt = m->n - t0 < TB ? m->n - t0 : TB;
            /* dot[nq][nt] = q[nq][d] . X[t0..t0+nt][d]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nt, d, 1.0f, q, d,
                        m->X + (size_t)t0 * d, d, 0.0f, dot, nt);
            for (int i = 0; i < nq; i++) {
                float *bd = bestd + (size_t)i * k;
                int *bi = besti + (size_t)i * k;
                const float *dr = dot + (size_t)i * nt;
                for (int j = 0; j < nt; j++) {
                    /* |q|^2 is the same for all candidates: rank by |t|^2 - 2 q.t */
                    float dist = m->norm2[t0 + j] - 2 * dr[j];
                    if (dist >= bd[k - 1])
                        continue;
                    int p = k - 1;
                    while (p > 0 && bd[p - 1] > dist) {
                        bd[p] = bd[p - 1];
                        bi[p] = bi[p - 1];
                        p--;
                    }
                    bd[p] = dist;
                    bi[p] = t0 + j;
                }
            }
        }
        for (int i = 0; i < nq; i++) {
            int votes[10] = {0}, first[10];
            for (int c = 0; c < 10; c++)
                first[c] = k;
            for (int j = 0; j < k; j++) {
                int idx = besti[(size_t)i * k + j];
                if (idx < 0)
                    continue;
                int c = m->y[idx];
                votes[c]++;
                if (first[c] == k)
                    first[c] = j;
            }
            /* majority; ties go to the class whose nearest member is closest */
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (votes[c] > votes[best] || (votes[c] == votes[best] && first[c] < first[best]))
                    best = c;
            labels[q0 + i] = (uint8_t)best;
            if (scores)
                scores[q0 + i] = (float)votes[best] / k;
            for (int c = 0; proba && c < 10; c++)
                proba[(size_t)(q0 + i) * 10 + c] = (float)votes[c] / k;
        }
    }
    free(q);
    free(dot);
    free(bestd);
    free(besti);
    return BH_OK;
}

static bh_status knn_save(const void *impl, bh_buf *out)
{
    const knn *m = impl;
    bh_status st = BH_OK;
    bh__put_u32(out, &st, (uint32_t)m->n);
    bh__put_u32(out, &st, (uint32_t)m->k);
    bh__put_u32(out, &st, (uint32_t)m->cosine);
    for (size_t i = 0; i < (size_t)m->n * m->d && st == BH_OK; i++)
        bh__put_f32(out, &st, m->X[i]);
    bh__put(out, &st, m->y, (size_t)m->n);
    return st;
}

static bh_status knn_load(const uint8_t *p, size_t len, int d, void **impl)
{
    bh__rd r = {p, len, 0};
    uint32_t n, k, cos;
    if (bh__get_u32(&r, &n) || bh__get_u32(&r, &k) || bh__get_u32(&r, &cos))
        return bh__fail(BH_EFORMAT, "knn: truncated header");
    if (n < 1 || k < 1 || k > 100 || k > n || cos > 1 ||
        (uint64_t)n * ((uint64_t)d * 4 + 1) != len - r.off)
        return bh__fail(BH_EFORMAT, "knn: inconsistent payload (n=%u k=%u)", n, k);
    knn *m = knn_alloc((int)n, d);
    if (!m)
        return bh__fail(BH_ENOMEM, "knn: %u rows", n);
    m->k = (int)k;
    m->cosine = (int)cos;
    for (size_t i = 0; i < (size_t)n * d; i++)
        bh__get_f32(&r, &m->X[i]);
    bh__get(&r, m->y, n);
    for (uint32_t i = 0; i < n; i++)
        if (m->y[i] > 9) {
            knn_free(m);
            return bh__fail(BH_EFORMAT, "knn: label out of range");
        }
    knn_norms(m);
    *impl = m;
    return BH_OK;
}

const bh__clf_ops bh__knn_ops = {knn_train, knn_predict, knn_save, knn_load, knn_free};
