/* ocr/model.c — the digit recognizer: preprocessing options + feature spec +
 * optional standardization + one classifier (ocr/classifier.h), training,
 * prediction, metrics and the model file. The model owns every array it points
 * to; prediction only reads it, so one model serves several threads. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "ocr/classifier.h"

#define MAGIC "BHDIGIT1"
#define FILE_VERSION 1u

struct bh_digits_model {
    bh_prep_opts prep;
    bh_feat_spec feat;
    bh_clf_kind kind;
    int d;
    float *mean, *inv_sd; /* d each, or NULL without standardization */
    const bh__clf_ops *ops;
    void *impl;
    char info[160];
};

static const bh__clf_ops *ops_for(bh_clf_kind k)
{
    switch (k) {
    case BH_CLF_KNN:
        return &bh__knn_ops;
    case BH_CLF_SVM:
        return &bh__svm_ops;
    case BH_CLF_RF:
    case BH_CLF_GBDT:
        return &bh__xgb_ops;
    }
    return NULL;
}

void bh_train_defaults(bh_train_opts *o, bh_clf_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->knn_k = 3;
    o->svm_c = 10;
    o->svm_grid_n = 4000;
    o->trees = kind == BH_CLF_RF ? 200 : 150;
    o->eta = 0.3;
    o->scale = -1;
    o->nthread = 1;
    o->seed = 1;
    o->augment = 0;
    bh_augment_defaults(&o->aug);
}

static const char *const clf_names[] = {"knn", "svm", "rf", "gbdt"};

bh_status bh_clf_parse(const char *name, bh_clf_kind *out)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, clf_names[i])) {
            *out = (bh_clf_kind)i;
            return BH_OK;
        }
    return bh__fail(BH_EINVAL, "unknown classifier '%.40s' (use knn, svm, rf, gbdt)",
                    name ? name : "");
}

const char *bh_clf_name(bh_clf_kind kind)
{
    return (unsigned)kind < 4 ? clf_names[kind] : "?";
}

void bh_digits_model_free(bh_digits_model *m)
{
    if (!m)
        return;
    if (m->ops && m->impl)
        m->ops->free(m->impl);
    free(m->mean);
    free(m->inv_sd);
    free(m);
}

bh_clf_kind bh_digits_model_kind(const bh_digits_model *m)
{
    return m->kind;
}
const bh_prep_opts *bh_digits_model_prep(const bh_digits_model *m)
{
    return &m->prep;
}
const bh_feat_spec *bh_digits_model_feat(const bh_digits_model *m)
{
    return &m->feat;
}
const char *bh_digits_model_info(const bh_digits_model *m)
{
    return m->info;
}

static bh_status check_pipeline(const bh_prep_opts *prep, const bh_feat_spec *feat, int *d)
{
    if (!prep || !feat)
        return bh__fail(BH_EINVAL, "digits: NULL options");
    if (prep->size < 8 || prep->size > 128 || prep->box < 4 || prep->box > prep->size ||
        prep->polarity < -1 || prep->polarity > 1)
        return bh__fail(BH_EINVAL, "digits: bad preprocessing options (size %d, box %d)",
                        prep->size, prep->box);
    size_t n = bh_feat_size(feat, prep->size);
    if (n == 0 || n > 1000000)
        return bh__fail(BH_EINVAL, "digits: feature spec invalid for %dx%d inputs", prep->size,
                        prep->size);
    *d = (int)n;
    return BH_OK;
}

bh_status bh_digits_featurize_augmented(const bh_digit_set *set, const bh_prep_opts *prep,
                                        const bh_feat_spec *feat, int copies, unsigned seed,
                                        const bh_augment_opts *aug, float **X, uint8_t **y,
                                        int *d, bh_progress_fn progress, void *ctx)
{
    if (!set || !X || !d || set->n <= 0 || !set->px)
        return bh__fail(BH_EINVAL, "digits: empty set");
    if (copies < 0 || copies > 64)
        return bh__fail(BH_EINVAL, "digits: augmentation copies must be 0..64, got %d", copies);
    int dim;
    bh_status st = check_pipeline(prep, feat, &dim);
    if (st)
        return st;
    bh_augment_opts ao;
    if (aug)
        ao = *aug;
    else
        bh_augment_defaults(&ao);
    int per = copies + 1;
    if ((int64_t)set->n * per > INT_MAX)
        return bh__fail(BH_ELIMIT, "digits: %d images x %d rows is too many", set->n, per);
    int rows = set->n * per;
    size_t S2 = (size_t)prep->size * prep->size;
    float *out = malloc(sizeof(float) * (size_t)rows * dim);
    uint8_t *lab = y ? malloc((size_t)rows) : NULL;
    float *img = malloc(sizeof(float) * S2 * 2); /* preprocessed image, then its copy */
    if (!out || !img || (y && !lab)) {
        free(out);
        free(lab);
        free(img);
        return bh__fail(BH_ENOMEM, "digits: %d x %d features", rows, dim);
    }
    float *jit = img + S2;
    size_t stride = (size_t)set->rows * set->cols;
    for (int i = 0; i < set->n && !st; i++) {
        st = bh_prep_digit(set->px + stride * i, set->cols, set->rows, prep, img);
        for (int k = 0; k <= copies && !st; k++) {
            const float *src = img;
            if (k > 0) {
                st = bh_digit_augment(img, prep->size, &ao, bh_augment_seed(seed, (uint64_t)i, k),
                                      jit);
                if (prep->binarize)
                    for (size_t q = 0; q < S2; q++)
                        jit[q] = jit[q] >= 0.5f ? 1.0f : 0.0f;
                src = jit;
            }
            if (!st)
                st = bh_feat_extract(feat, src, prep->size, out + ((size_t)i * per + k) * dim);
            if (lab)
                lab[(size_t)i * per + k] = set->labels ? set->labels[i] : 0;
        }
        if (!st && progress && ((i + 1) % 2000 == 0 || i + 1 == set->n))
            progress(ctx, "features", (size_t)(i + 1) * per, (size_t)rows, NAN);
    }
    free(img);
    if (st) {
        free(out);
        free(lab);
        return st;
    }
    *X = out;
    if (y)
        *y = lab;
    *d = dim;
    return BH_OK;
}

bh_status bh_digits_featurize(const bh_digit_set *set, const bh_prep_opts *prep,
                              const bh_feat_spec *feat, float **X, int *d, bh_progress_fn progress,
                              void *ctx)
{
    return bh_digits_featurize_augmented(set, prep, feat, 0, 0, NULL, X, NULL, d, progress, ctx);
}

/* BH_EINVAL, naming the first one, when a value of X[n][d] is NaN or infinite. */
static bh_status check_finite(const float *X, int n, int d)
{
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(X[i]))
            return bh__fail(BH_EINVAL, "digits: feature %zu of row %zu is not finite", i % (size_t)d,
                            i / (size_t)d);
    return BH_OK;
}

static void standardize(const bh_digits_model *m, float *X, int n)
{
    if (!m->mean)
        return;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m->d; j++) {
            float *v = X + (size_t)i * m->d + j;
            *v = (*v - m->mean[j]) * m->inv_sd[j];
        }
}

bh_status bh_digits_train_features(const float *X, const uint8_t *y, int n, int d,
                                   const bh_prep_opts *prep, const bh_feat_spec *feat,
                                   const bh_train_opts *opts, bh_digits_model **out)
{
    if (!X || !y || !opts || !out || n < 2)
        return bh__fail(BH_EINVAL, "digits: need at least 2 training rows");
    *out = NULL;
    int dim;
    bh_status st = check_pipeline(prep, feat, &dim);
    if (st)
        return st;
    if (dim != d)
        return bh__fail(BH_ESHAPE, "digits: features have %d columns, spec gives %d", d, dim);
    const bh__clf_ops *ops = ops_for(opts->kind);
    if (!ops)
        return bh__fail(BH_EINVAL, "digits: unknown classifier %d", (int)opts->kind);
    int seen[10] = {0}, classes = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] > 9)
            return bh__fail(BH_EINVAL, "digits: label %u of row %d is not 0..9", y[i], i);
        classes += !seen[y[i]]++;
    }
    if (classes < 2)
        return bh__fail(BH_EINVAL, "digits: training data has only one class");
    /* One NaN or infinity would make its column's mean and scale NaN and so
     * poison every later prediction (or every KNN/SVM distance to its row). */
    bh_status fst = check_finite(X, n, d);
    if (fst)
        return fst;
    bh_digits_model *m = calloc(1, sizeof *m);
    if (!m)
        return bh__fail(BH_ENOMEM, "digits: model");
    m->prep = *prep;
    m->feat = *feat;
    m->kind = opts->kind;
    m->d = d;
    m->ops = ops;
    int scale = opts->scale;
    if (scale < 0)
        scale = (feat->kinds & BH_FEAT_GABOR) || (feat->kinds & (feat->kinds - 1));
    const float *Xt = X;
    float *Xs = NULL;
    if (scale && opts->kind != BH_CLF_RF && opts->kind != BH_CLF_GBDT) {
        m->mean = calloc((size_t)d, sizeof(float));
        m->inv_sd = calloc((size_t)d, sizeof(float));
        Xs = malloc(sizeof(float) * (size_t)n * d);
        if (!m->mean || !m->inv_sd || !Xs) {
            free(Xs);
            bh_digits_model_free(m);
            return bh__fail(BH_ENOMEM, "digits: scaler");
        }
        for (int j = 0; j < d; j++) {
            double s = 0, q = 0;
            for (int i = 0; i < n; i++) {
                double v = X[(size_t)i * d + j];
                s += v;
                q += v * v;
            }
            double mu = s / n, var = q / n - mu * mu;
            m->mean[j] = (float)mu;
            m->inv_sd[j] = (float)(var > 1e-12 ? 1 / sqrt(var) : 0.0);
        }
        memcpy(Xs, X, sizeof(float) * (size_t)n * d);
        standardize(m, Xs, n);
        Xt = Xs;
    }
    st = ops->train(Xt, y, n, d, opts, &m->impl, m->info, sizeof m->info);
    free(Xs);
    if (st) {
        bh_digits_model_free(m);
        return st;
    }
    *out = m;
    return BH_OK;
}

bh_status bh_digits_train(const bh_digit_set *set, const bh_prep_opts *prep,
                          const bh_feat_spec *feat, const bh_train_opts *opts,
                          bh_digits_model **out)
{
    if (!opts || !out)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    *out = NULL;
    if (!set || !set->labels)
        return bh__fail(BH_EINVAL, "digits: NULL set or labels");
    float *X = NULL;
    uint8_t *y = NULL;
    int d = 0;
    bh_status st = bh_digits_featurize_augmented(set, prep, feat, opts->augment, opts->seed,
                                                 &opts->aug, &X, &y, &d, opts->progress,
                                                 opts->progress_ctx);
    if (st)
        return st;
    st = bh_digits_train_features(X, y, set->n * (opts->augment + 1), d, prep, feat, opts, out);
    free(X);
    free(y);
    return st;
}

static bh_status predict_rows(const bh_digits_model *m, const float *X, int n, int d,
                              uint8_t *labels, float *scores, float *proba)
{
    if (!m || !X || !labels || n < 0)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    if (d != m->d)
        return bh__fail(BH_ESHAPE, "digits: features have %d columns, model expects %d", d, m->d);
    if (n == 0)
        return BH_OK;
    /* A NaN makes every KNN/SVM distance to its row NaN and sends it down an
     * arbitrary side of each tree split: a label that means nothing. */
    bh_status fst = check_finite(X, n, d);
    if (fst)
        return fst;
    if (!m->mean)
        return m->ops->predict(m->impl, X, n, d, labels, scores, proba);
    /* standardize in chunks to bound the copy */
    enum { CH = 1024 };
    float *buf = malloc(sizeof(float) * (size_t)(n < CH ? n : CH) * d);
    if (!buf)
        return bh__fail(BH_ENOMEM, "digits: predict");
    bh_status st = BH_OK;
    for (int i = 0; i < n && !st; i += CH) {
        int c = n - i < CH ? n - i : CH;
        memcpy(buf, X + (size_t)i * d, sizeof(float) * (size_t)c * d);
        standardize(m, buf, c);
        st = m->ops->predict(m->impl, buf, c, d, labels + i, scores ? scores + i : NULL,
                             proba ? proba + (size_t)i * 10 : NULL);
    }
    free(buf);
    return st;
}

bh_status bh_digits_predict_features(const bh_digits_model *m, const float *X, int n, int d,
                                     uint8_t *labels, float *scores)
{
    return predict_rows(m, X, n, d, labels, scores, NULL);
}

bh_status bh_digits_predict_proba(const bh_digits_model *m, const float *X, int n, int d,
                                  float *proba)
{
    if (!proba)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    uint8_t *lab = malloc(n > 0 ? (size_t)n : 1);
    if (!lab)
        return bh__fail(BH_ENOMEM, "digits: predict");
    bh_status st = predict_rows(m, X, n, d, lab, NULL, proba);
    free(lab);
    return st;
}

bh_status bh_digits_predict(const bh_digits_model *m, const uint8_t *px, int w, int h, int *label,
                            float *score)
{
    if (!m || !px || !label)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    int S = m->prep.size;
    float *img = malloc(sizeof(float) * (size_t)S * S);
    float *f = malloc(sizeof(float) * (size_t)m->d);
    if (!img || !f) {
        free(img);
        free(f);
        return bh__fail(BH_ENOMEM, "digits: predict");
    }
    bh_status st = bh_prep_digit(px, w, h, &m->prep, img);
    int empty = 1;
    for (int i = 0; !st && i < S * S; i++)
        if (img[i] > 0) {
            empty = 0;
            break;
        }
    if (!st)
        st = bh_feat_extract(&m->feat, img, S, f);
    uint8_t lab = 0;
    float sc = 0;
    if (!st)
        st = bh_digits_predict_features(m, f, 1, m->d, &lab, &sc);
    free(img);
    free(f);
    if (st)
        return st;
    *label = lab;
    if (score)
        *score = empty ? 0.0f : sc;
    return BH_OK;
}

void bh_digits_score(const uint8_t *truth, const uint8_t *pred, int n, double *accuracy,
                     double *macro_f1, int confusion[10][10])
{
    int cm[10][10] = {{0}};
    int ok = 0;
    for (int i = 0; i < n; i++) {
        if (truth[i] < 10 && pred[i] < 10)
            cm[truth[i]][pred[i]]++;
        ok += truth[i] == pred[i];
    }
    if (accuracy)
        *accuracy = n > 0 ? (double)ok / n : 0;
    if (macro_f1) {
        double f1 = 0;
        int classes = 0;
        for (int c = 0; c < 10; c++) {
            int tp = cm[c][c], fp = 0, fn = 0;
            for (int k = 0; k < 10; k++)
                if (k != c) {
                    fp += cm[k][c];
                    fn += cm[c][k];
                }
            if (tp + fn == 0 && fp == 0)
                continue; /* class absent from truth and predictions */
            classes++;
            f1 += tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0;
        }
        *macro_f1 = classes ? f1 / classes : 0;
    }
    if (confusion)
        memcpy(confusion, cm, sizeof cm);
}

/* ------------------------------------------------------------ model file */

bh_status bh_digits_save(const bh_digits_model *m, const char *path)
{
    if (!m || !path)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    bh_buf b = {0}, payload = {0};
    bh_status st = BH_OK;
    bh__put(&b, &st, MAGIC, 8);
    bh__put_u32(&b, &st, FILE_VERSION);
    bh__put_u32(&b, &st, (uint32_t)m->kind);
    const bh_prep_opts *p = &m->prep;
    int32_t pv[6] = {p->size, p->box, p->polarity, p->normalize, p->binarize, p->deskew};
    for (int i = 0; i < 6; i++)
        bh__put_u32(&b, &st, (uint32_t)pv[i]);
    const bh_feat_spec *f = &m->feat;
    bh__put_u32(&b, &st, f->kinds);
    bh__put_u32(&b, &st, (uint32_t)f->hog.orientations);
    bh__put_u32(&b, &st, (uint32_t)f->hog.cell);
    bh__put_u32(&b, &st, (uint32_t)f->hog.block);
    bh__put_u32(&b, &st, (uint32_t)f->hog.norm);
    bh__put_u32(&b, &st, (uint32_t)f->lbp_points);
    bh__put_f64(&b, &st, f->lbp_radius);
    bh__put_u32(&b, &st, (uint32_t)f->lbp_cell);
    bh__put_u32(&b, &st, (uint32_t)f->gabor_thetas);
    bh__put_u32(&b, &st, (uint32_t)f->gabor_nfreq);
    for (int i = 0; i < 4; i++)
        bh__put_f64(&b, &st, f->gabor_freqs[i]);
    bh__put_u32(&b, &st, (uint32_t)f->gabor_cell);
    bh__put_u32(&b, &st, (uint32_t)m->d);
    bh__put_u32(&b, &st, m->mean ? 1u : 0u);
    for (int j = 0; m->mean && j < m->d; j++) {
        bh__put_f32(&b, &st, m->mean[j]);
        bh__put_f32(&b, &st, m->inv_sd[j]);
    }
    size_t il = strlen(m->info);
    bh__put_u32(&b, &st, (uint32_t)il);
    bh__put(&b, &st, m->info, il);
    if (st == BH_OK)
        st = m->ops->save(m->impl, &payload);
    bh__put_u64(&b, &st, payload.len);
    bh__put(&b, &st, payload.data, payload.len);
    bh_buf_free(&payload);
    if (st) {
        bh_buf_free(&b);
        return st;
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        bh_buf_free(&b);
        return bh__fail(BH_EIO, "%s: cannot create", path);
    }
    size_t wr = fwrite(b.data, 1, b.len, fp);
    int cl = fclose(fp);
    size_t len = b.len;
    bh_buf_free(&b);
    if (wr != len || cl != 0)
        return bh__fail(BH_EIO, "%s: write failed", path);
    return BH_OK;
}

#define MAX_MODEL_BYTES (1024u * 1024u * 1024u)

bh_status bh_digits_load(const char *path, bh_digits_model **out)
{
    if (!path || !out)
        return bh__fail(BH_EINVAL, "digits: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bh__fail(BH_EIO, "%s: cannot open", path);
    char magic[8];
    if (fread(magic, 1, 8, fp) != 8 || memcmp(magic, MAGIC, 8)) {
        fclose(fp);
        return bh__fail(BH_EFORMAT, "%s: not a bhasha digit model (bad magic)", path);
    }
    if (fseek(fp, 0, SEEK_END)) {
        fclose(fp);
        return bh__fail(BH_EIO, "%s: cannot seek", path);
    }
    long sz = ftell(fp);
    if (sz < 0 || (unsigned long)sz > MAX_MODEL_BYTES) {
        fclose(fp);
        return bh__fail(BH_ELIMIT, "%s: model file too large", path);
    }
    uint8_t *data = malloc((size_t)sz);
    if (!data) {
        fclose(fp);
        return bh__fail(BH_ENOMEM, "%s: %ld bytes", path, sz);
    }
    rewind(fp);
    size_t got = fread(data, 1, (size_t)sz, fp);
    fclose(fp);
    if (got != (size_t)sz) {
        free(data);
        return bh__fail(BH_EIO, "%s: read failed", path);
    }
    bh__rd r = {data, (size_t)sz, 8};
    uint32_t ver = 0, kind = 0, pv[6] = {0}, u[10] = {0}, d = 0, has_scale = 0, il = 0;
    double rad = 0, fr[4] = {0};
    bh_status st = BH_OK;
    bh_digits_model *m = NULL;
    if (bh__get_u32(&r, &ver) || bh__get_u32(&r, &kind)) {
        st = bh__fail(BH_EFORMAT, "%s: truncated header", path);
        goto fail;
    }
    if (ver != FILE_VERSION || kind > BH_CLF_GBDT) {
        st = bh__fail(BH_EFORMAT, "%s: unsupported version %u / classifier %u", path, ver, kind);
        goto fail;
    }
    int bad = 0;
    for (int i = 0; i < 6; i++)
        bad |= bh__get_u32(&r, &pv[i]);
    for (int i = 0; i < 6; i++)
        bad |= bh__get_u32(&r, &u[i]);
    bad |= bh__get_f64(&r, &rad);
    bad |= bh__get_u32(&r, &u[6]) | bh__get_u32(&r, &u[7]) | bh__get_u32(&r, &u[8]);
    for (int i = 0; i < 4; i++)
        bad |= bh__get_f64(&r, &fr[i]);
    bad |= bh__get_u32(&r, &u[9]) | bh__get_u32(&r, &d) | bh__get_u32(&r, &has_scale);
    if (bad) {
        st = bh__fail(BH_EFORMAT, "%s: truncated header", path);
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        st = bh__fail(BH_ENOMEM, "%s", path);
        goto fail;
    }
    m->kind = (bh_clf_kind)kind;
    m->ops = ops_for(m->kind);
    m->prep = (bh_prep_opts){(int)pv[0], (int)pv[1], (int)pv[2], (int)pv[3], (int)pv[4],
                             (int)pv[5]};
    m->feat.kinds = u[0];
    m->feat.hog = (bh_hog_params){(int)u[1], (int)u[2], (int)u[3], (bh_hog_norm)u[4]};
    m->feat.lbp_points = (int)u[5];
    m->feat.lbp_radius = rad;
    m->feat.lbp_cell = (int)u[6];
    m->feat.gabor_thetas = (int)u[7];
    m->feat.gabor_nfreq = (int)u[8];
    memcpy(m->feat.gabor_freqs, fr, sizeof fr);
    m->feat.gabor_cell = (int)u[9];
    int dim;
    if (u[4] > BH_HOG_L2_HYS || check_pipeline(&m->prep, &m->feat, &dim) || (uint32_t)dim != d ||
        has_scale > 1) {
        st = bh__fail(BH_EFORMAT, "%s: invalid pipeline settings in model", path);
        goto fail;
    }
    m->d = dim;
    if (has_scale) {
        if ((uint64_t)d * 8 > r.n - r.off) {
            st = bh__fail(BH_EFORMAT, "%s: truncated scaler", path);
            goto fail;
        }
        m->mean = malloc(sizeof(float) * d);
        m->inv_sd = malloc(sizeof(float) * d);
        if (!m->mean || !m->inv_sd) {
            st = bh__fail(BH_ENOMEM, "%s", path);
            goto fail;
        }
        for (uint32_t j = 0; j < d; j++) {
            bh__get_f32(&r, &m->mean[j]);
            bh__get_f32(&r, &m->inv_sd[j]);
        }
    }
    uint64_t plen;
    if (bh__get_u32(&r, &il) || il >= sizeof m->info || bh__get(&r, m->info, il) ||
        bh__get_u64(&r, &plen) || plen != r.n - r.off) {
        st = bh__fail(BH_EFORMAT, "%s: truncated or inconsistent classifier section", path);
        goto fail;
    }
    m->info[il] = 0;
    st = m->ops->load(data + r.off, (size_t)plen, m->d, &m->impl);
    if (st) {
        char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
        snprintf(detail, sizeof detail, "%s", bh_last_error());
        st = bh__fail(st, "%s: %s", path, detail);
        goto fail;
    }
    free(data);
    *out = m;
    return BH_OK;
fail:
    free(data);
    bh_digits_model_free(m);
    return st;
}
