/* ocr/xgb.c — random forest and gradient-boosted trees through xgboost's C
 * API (multi:softprob over 10 classes, histogram trees). The random forest is
 * xgboost's random-forest mode: one round of `trees` parallel trees with row
 * subsampling 0.632, sqrt(d) features per split and learning rate 1.
 * The payload is the booster in xgboost's UBJSON model format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <xgboost/c_api.h>

#include "core/error.h"
#include "ocr/classifier.h"

typedef struct xgb {
    BoosterHandle b;
} xgb;

static bh_status xfail(const char *what)
{
    const char *e = XGBGetLastError();
    return bh__fail(BH_EINTERNAL, "xgboost: %s: %s", what, e ? e : "?");
}

static void xgb_free(void *p)
{
    xgb *m = p;
    if (!m)
        return;
    if (m->b)
        XGBoosterFree(m->b);
    free(m);
}

static bh_status setp(BoosterHandle b, const char *k, const char *v)
{
    if (XGBoosterSetParam(b, k, v))
        return xfail(k);
    return BH_OK;
}

static bh_status xgb_train(const float *X, const uint8_t *y, int n, int d, const bh_train_opts *o,
                           void **impl, char *info, size_t infocap)
{
    int rf = o->kind == BH_CLF_RF;
    int trees = o->trees > 0 ? o->trees : (rf ? 200 : 150);
    int depth = o->max_depth > 0 ? o->max_depth : (rf ? 14 : 6);
    if (trees > 5000 || depth > 30)
        return bh__fail(BH_EINVAL, "xgboost: trees (%d) or depth (%d) too large", trees, depth);
    float *yf = malloc(sizeof(float) * (size_t)n);
    if (!yf)
        return bh__fail(BH_ENOMEM, "xgboost: labels");
    for (int i = 0; i < n; i++)
        yf[i] = y[i];
    DMatrixHandle dm = NULL;
    xgb *m = calloc(1, sizeof *m);
    bh_status st = BH_OK;
    if (!m) {
        free(yf);
        return bh__fail(BH_ENOMEM, "xgboost");
    }
    if (XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)d, NAN, &dm)) {
        st = xfail("DMatrix");
        goto out;
    }
    if (XGDMatrixSetFloatInfo(dm, "label", yf, (bst_ulong)n)) {
        st = xfail("labels");
        goto out;
    }
    if (XGBoosterCreate(&dm, 1, &m->b)) {
        st = xfail("create");
        goto out;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%d", o->nthread > 0 ? o->nthread : 1);
    if ((st = setp(m->b, "nthread", buf)) || (st = setp(m->b, "verbosity", "0")) ||
        (st = setp(m->b, "objective", "multi:softprob")) || (st = setp(m->b, "num_class", "10")) ||
        (st = setp(m->b, "tree_method", "hist")) || (st = setp(m->b, "eval_metric", "mlogloss")))
        goto out;
    snprintf(buf, sizeof buf, "%u", o->seed);
    if ((st = setp(m->b, "seed", buf)))
        goto out;
    snprintf(buf, sizeof buf, "%d", depth);
    if ((st = setp(m->b, "max_depth", buf)))
        goto out;
    int rounds = trees;
    if (rf) {
        snprintf(buf, sizeof buf, "%d", trees);
        if ((st = setp(m->b, "num_parallel_tree", buf)) || (st = setp(m->b, "subsample", "0.632")) ||
            (st = setp(m->b, "learning_rate", "1")))
            goto out;
        snprintf(buf, sizeof buf, "%.6f", sqrt((double)d) / d);
        if ((st = setp(m->b, "colsample_bynode", buf)))
            goto out;
        rounds = 1;
    } else {
        snprintf(buf, sizeof buf, "%g", o->eta > 0 ? o->eta : 0.3);
        if ((st = setp(m->b, "learning_rate", buf)) || (st = setp(m->b, "subsample", "0.8")) ||
            (st = setp(m->b, "colsample_bynode", "0.5")))
            goto out;
    }
    for (int it = 0; it < rounds; it++) {
        if (XGBoosterUpdateOneIter(m->b, it, dm)) {
            st = xfail("update");
            goto out;
        }
        if (o->progress) {
            double loss = NAN;
            const char *names[1] = {"train"};
            const char *ev = NULL;
            if (!XGBoosterEvalOneIter(m->b, it, &dm, names, 1, &ev) && ev) {
                const char *c = strchr(ev, ':');
                if (c)
                    loss = strtod(c + 1, NULL);
            }
            o->progress(o->progress_ctx, rf ? "rf" : "gbdt", (size_t)it + 1, (size_t)rounds, loss);
        }
    }
    if (rf)
        snprintf(info, infocap, "rf trees=%d depth=%d", trees, depth);
    else
        snprintf(info, infocap, "gbdt rounds=%d depth=%d eta=%g", trees, depth,
                 o->eta > 0 ? o->eta : 0.3);
out:
    if (dm)
        XGDMatrixFree(dm);
    free(yf);
    if (st != BH_OK) {
        xgb_free(m);
        return st;
    }
    *impl = m;
    return BH_OK;
}

static bh_status xgb_predict(const void *impl, const float *X, int n, int d, uint8_t *labels,
                             float *scores, float *proba)
{
    const xgb *m = impl;
    DMatrixHandle dm = NULL;
    if (XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)d, NAN, &dm))
        return xfail("DMatrix");
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    const char *cfg = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                      "\"iteration_end\": 0, \"strict_shape\": true}";
    if (XGBoosterPredictFromDMatrix(m->b, dm, cfg, &shape, &dim, &res)) {
        XGDMatrixFree(dm);
        return xfail("predict");
    }
    bh_status st = BH_OK;
    if (dim != 2 || shape[0] != (bst_ulong)n || shape[1] != 10) {
        st = bh__fail(BH_EFORMAT, "xgboost: model does not predict 10 classes");
    } else {
        for (int i = 0; i < n; i++) {
            const float *p = res + (size_t)i * 10;
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (p[c] > p[best])
                    best = c;
            labels[i] = (uint8_t)best;
            if (scores)
                scores[i] = p[best];
            if (proba)
                memcpy(proba + (size_t)i * 10, p, sizeof(float) * 10);
        }
    }
    XGDMatrixFree(dm);
    return st;
}

static bh_status xgb_save(const void *impl, bh_buf *out)
{
    const xgb *m = impl;
    bst_ulong len = 0;
    const char *raw = NULL;
    if (XGBoosterSaveModelToBuffer(m->b, "{\"format\": \"ubj\"}", &len, &raw))
        return xfail("save");
    return bh_buf_append(out, raw, (size_t)len);
}

static bh_status xgb_load(const uint8_t *p, size_t len, int d, void **impl)
{
    (void)d;
    /* The payload must look like UBJSON ('{') before xgboost parses it. */
    if (len < 16 || p[0] != '{')
        return bh__fail(BH_EFORMAT, "xgboost: payload is not a UBJSON model");
    xgb *m = calloc(1, sizeof *m);
    if (!m)
        return bh__fail(BH_ENOMEM, "xgboost");
    if (XGBoosterCreate(NULL, 0, &m->b)) {
        free(m);
        return xfail("create");
    }
    if (XGBoosterLoadModelFromBuffer(m->b, p, (bst_ulong)len)) {
        bh_status st = bh__fail(BH_EFORMAT, "xgboost: cannot load model: %s", XGBGetLastError());
        xgb_free(m);
        return st;
    }
    XGBoosterSetParam(m->b, "nthread", "1");
    *impl = m;
    return BH_OK;
}

const bh__clf_ops bh__xgb_ops = {xgb_train, xgb_predict, xgb_save, xgb_load, xgb_free};
