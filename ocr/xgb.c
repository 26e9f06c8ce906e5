/* ocr/xgb.c — random forest and gradient-boosted trees through xgboost's C
 * API (multi:softprob over 10 classes, histogram trees). The random forest is
 * xgboost's random-forest mode: one round of `trees` parallel trees with row
 * subsampling 0.632, sqrt(d) features per split and learning rate 1.
 * The payload is the booster in xgboost's UBJSON model format. */
#include <math.h>
#include <stdint.h>
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

/* xgboost's UBJSON reader trusts every length and count in the buffer (a
 * damaged payload makes it read past the end) and recurses without a limit,
 * so the structure is checked here first: every value lies inside the
 * buffer and nesting is at most UBJ_MAX_DEPTH deep. Grammar as xgboost
 * writes it: objects of 'L'-length keys, strings 'S' + key, typed arrays
 * '[$' type '#L' count, counted arrays '[#L' count, plain arrays to ']'. */
enum { UBJ_MAX_DEPTH = 64 };

static int ubj_skip(size_t n, size_t *off, uint64_t k)
{
    if (k > n - *off)
        return -1;
    *off += (size_t)k;
    return 0;
}

/* Big-endian reads of 4 and 8 bytes. */
static int64_t ubj_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return bytes == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

/* 'L' + big-endian int64 count, which must not exceed the bytes left
 * (every counted item takes at least one byte; negative counts are huge). */
static int ubj_count(const uint8_t *p, size_t n, size_t *off, uint64_t *len)
{
    if (n - *off < 9 || p[*off] != 'L')
        return -1;
    uint64_t v = (uint64_t)ubj_be(p + *off + 1, 8);
    *off += 9;
    *len = v;
    return v > n - *off ? -1 : 0;
}

static int ubj_value(const uint8_t *p, size_t n, size_t *off, int depth)
{
    if (depth > UBJ_MAX_DEPTH || *off >= n)
        return -1;
    uint64_t len;
    switch (p[(*off)++]) {
    case 'Z':
    case 'T':
    case 'F':
        return 0;
    case 'i':
    case 'U':
    case 'C':
        return ubj_skip(n, off, 1);
    case 'I':
        return ubj_skip(n, off, 2);
    case 'l':
    case 'd':
        return ubj_skip(n, off, 4);
    case 'L':
        return ubj_skip(n, off, 8);
    case 'S':
        return ubj_count(p, n, off, &len) || ubj_skip(n, off, len);
    case '{':
        while (*off < n && p[*off] != '}')
            if (ubj_count(p, n, off, &len) || ubj_skip(n, off, len) ||
                ubj_value(p, n, off, depth + 1))
                return -1;
        return ubj_skip(n, off, 1);
    case '[':
        if (*off < n && p[*off] == '$') {
            if (n - *off < 3 || p[*off + 2] != '#')
                return -1;
            char t = (char)p[*off + 1];
            uint64_t size = t == 'U' ? 1 : t == 'd' || t == 'l' ? 4 : t == 'L' ? 8 : 0;
            *off += 3;
            if (!size || ubj_count(p, n, off, &len))
                return -1;
            return len > (n - *off) / size ? -1 : ubj_skip(n, off, len * size);
        }
        if (*off < n && p[*off] == '#') {
            (*off)++;
            if (ubj_count(p, n, off, &len))
                return -1;
            for (uint64_t i = 0; i < len; i++)
                if (ubj_value(p, n, off, depth + 1))
                    return -1;
            return 0;
        }
        while (*off < n && p[*off] != ']')
            if (ubj_value(p, n, off, depth + 1))
                return -1;
        return ubj_skip(n, off, 1);
    }
    return -1;
}

/* Navigation in a payload ubj_value accepted. The offset of the value of
 * `key` in the object at `obj`, or UBJ_NONE when absent (or obj is). */
#define UBJ_NONE SIZE_MAX
static size_t ubj_get(const uint8_t *p, size_t n, size_t obj, const char *key)
{
    if (obj >= n || p[obj] != '{')
        return UBJ_NONE;
    size_t off = obj + 1, kl = strlen(key);
    uint64_t len;
    while (off < n && p[off] != '}') {
        if (ubj_count(p, n, &off, &len))
            return UBJ_NONE;
        int hit = len == kl && !memcmp(p + off, key, kl);
        off += (size_t)len;
        if (hit)
            return off;
        if (ubj_value(p, n, &off, 0))
            return UBJ_NONE;
    }
    return UBJ_NONE;
}

/* An integer scalar at *off (any width), advancing past it. */
static int ubj_int(const uint8_t *p, size_t n, size_t *off, int64_t *v)
{
    if (*off >= n)
        return -1;
    char t = (char)p[*off];
    int w = t == 'i' || t == 'U' ? 1 : t == 'I' ? 2 : t == 'l' ? 4 : t == 'L' ? 8 : 0;
    if (!w || n - *off - 1 < (size_t)w)
        return -1;
    const uint8_t *q = p + *off + 1;
    *v = t == 'i' ? (int8_t)q[0] : t == 'U' ? q[0] : t == 'I' ? (int16_t)(q[0] << 8 | q[1])
                                                          : ubj_be(q, w);
    *off += 1 + (size_t)w;
    return 0;
}

/* A string value equal to the decimal number it spells, or -1. */
static int64_t ubj_strnum(const uint8_t *p, size_t n, size_t off)
{
    uint64_t len;
    if (off >= n || p[off] != 'S')
        return -1;
    off++;
    if (ubj_count(p, n, &off, &len) || len == 0 || len > 9)
        return -1;
    int64_t v = 0;
    for (uint64_t i = 0; i < len; i++) {
        if (p[off + i] < '0' || p[off + i] > '9')
            return -1;
        v = v * 10 + (p[off + i] - '0');
    }
    return v;
}

/* A typed array '[$' t '#L' count at off: its elements and count. */
static const uint8_t *ubj_typed(const uint8_t *p, size_t n, size_t off, char t, uint64_t *count)
{
    if (off >= n || n - off < 4 || p[off] != '[' || p[off + 1] != '$' || p[off + 2] != (uint8_t)t)
        return NULL;
    off += 3;
    if (p[off] != '#')
        return NULL;
    off++;
    return ubj_count(p, n, &off, count) ? NULL : p + off;
}

/* xgboost's predictor follows child links and indexes features and class
 * groups without checks, so a damaged tree makes it read out of bounds or
 * loop. Checked here on the payload: 10 classes and d features; a gbtree
 * whose tree count and layers (num_parallel_tree x 10 trees) agree with its
 * trees, with scalar leaves; each tree's class group 0..9; inner nodes'
 * children at l and l+1 (the predictor steps to l or l+1) inside the tree;
 * each node but the root a child exactly once (so every path from the root
 * ends), its parent link naming that node; split features < d; every
 * per-node array as long as the tree; numerical splits only. Returns 0 when
 * valid. */
static int trees_check(const uint8_t *p, size_t n, int d)
{
    size_t lr = ubj_get(p, n, 0, "learner");
    size_t mp = ubj_get(p, n, lr, "learner_model_param");
    size_t gb = ubj_get(p, n, lr, "gradient_booster");
    size_t md = ubj_get(p, n, gb, "model");
    size_t name = ubj_get(p, n, gb, "name");
    size_t info = ubj_get(p, n, md, "tree_info"), trees = ubj_get(p, n, md, "trees");
    if (ubj_strnum(p, n, ubj_get(p, n, mp, "num_class")) != 10 ||
        ubj_strnum(p, n, ubj_get(p, n, mp, "num_feature")) != d || name >= n || n - name < 16 ||
        memcmp(p + name, "SL\0\0\0\0\0\0\0\6gbtree", 16) || info >= n || trees >= n ||
        n - info < 2 || n - trees < 2 || memcmp(p + info, "[#", 2) || memcmp(p + trees, "[#", 2))
        return -1;
    uint64_t ntree, ninfo;
    size_t io = info + 2, to = trees + 2;
    if (ubj_count(p, n, &io, &ninfo) || ubj_count(p, n, &to, &ntree) || ninfo != ntree)
        return -1;
    /* the predictor takes the tree count and layer size from these */
    size_t gp = ubj_get(p, n, md, "gbtree_model_param");
    int64_t npar = ubj_strnum(p, n, ubj_get(p, n, gp, "num_parallel_tree"));
    if (ubj_strnum(p, n, ubj_get(p, n, gp, "num_trees")) != (int64_t)ntree || npar < 1 ||
        ntree % ((uint64_t)npar * 10) != 0 ||
        ubj_strnum(p, n, ubj_get(p, n, gp, "size_leaf_vector")) != 0)
        return -1;
    for (uint64_t t = 0; t < ntree; t++) {
        int64_t g;
        if (ubj_int(p, n, &io, &g) || g < 0 || g > 9)
            return -1;
        size_t tree = to;
        if (ubj_value(p, n, &to, 0))
            return -1;
        uint64_t nl, nr, ns, nt, nparents;
        size_t tp = ubj_get(p, n, tree, "tree_param");
        int64_t nodes = ubj_strnum(p, n, ubj_get(p, n, tp, "num_nodes"));
        const uint8_t *L = ubj_typed(p, n, ubj_get(p, n, tree, "left_children"), 'l', &nl);
        const uint8_t *R = ubj_typed(p, n, ubj_get(p, n, tree, "right_children"), 'l', &nr);
        const uint8_t *S = ubj_typed(p, n, ubj_get(p, n, tree, "split_indices"), 'l', &ns);
        const uint8_t *T = ubj_typed(p, n, ubj_get(p, n, tree, "split_type"), 'U', &nt);
        if (nodes < 1 || !L || !R || !S || !T || nl != (uint64_t)nodes || nr != nl || ns != nl ||
            nt != nl)
            return -1;
        /* xgboost indexes the other per-node arrays by node without checking
         * their length; categorical splits (never trained here) must be absent */
        static const struct {
            const char *key;
            char type;
            int per_node;
        } arrays[] = {{"base_weights", 'd', 1},      {"default_left", 'U', 1},
                      {"loss_changes", 'd', 1},      {"parents", 'l', 1},
                      {"split_conditions", 'd', 1},  {"sum_hessian", 'd', 1},
                      {"categories", 'l', 0},        {"categories_nodes", 'l', 0},
                      {"categories_segments", 'L', 0}, {"categories_sizes", 'L', 0}};
        for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
            uint64_t na;
            if (!ubj_typed(p, n, ubj_get(p, n, tree, arrays[a].key), arrays[a].type, &na) ||
                na != (arrays[a].per_node ? nl : 0))
                return -1;
        }
        /* trees are placed by id: a repeated id would leave a slot empty */
        size_t io2 = ubj_get(p, n, tree, "id");
        int64_t id;
        if (io2 >= n || ubj_int(p, n, &io2, &id) || id != (int64_t)t ||
            ubj_strnum(p, n, ubj_get(p, n, tp, "num_deleted")) != 0 ||
            ubj_strnum(p, n, ubj_get(p, n, tp, "size_leaf_vector")) != 0)
            return -1;
        /* par[c]: the node whose child c is, -1 for none yet */
        int64_t *par = malloc(sizeof(int64_t) * (size_t)nodes);
        if (!par)
            return -1;
        for (int64_t i = 0; i < nodes; i++)
            par[i] = -1;
        int bad = 0;
        for (int64_t i = 0; i < nodes && !bad; i++) {
            int64_t l = ubj_be(L + 4 * i, 4), r = ubj_be(R + 4 * i, 4), f = ubj_be(S + 4 * i, 4);
            if (T[i] != 0)
                bad = 1;
            else if (l == -1)
                bad = r != -1;
            else if (l < 1 || r != l + 1 || r >= nodes || par[l] >= 0 || par[r] >= 0 || f < 0 ||
                     f >= d)
                bad = 1;
            else
                par[l] = par[r] = i;
        }
        /* xgboost also follows the parent links: every node but the root is
         * a child, and its parent entry names that node (the root's is 2^31-1) */
        const uint8_t *P = ubj_typed(p, n, ubj_get(p, n, tree, "parents"), 'l', &nparents);
        for (int64_t i = 0; i < nodes && !bad; i++)
            bad = ubj_be(P + 4 * i, 4) != (i ? par[i] : INT32_MAX) || (i && par[i] < 0);
        free(par);
        if (bad)
            return -1;
    }
    return 0;
}

static bh_status xgb_load(const uint8_t *p, size_t len, int d, void **impl)
{
    /* The payload must be one well-formed UBJSON object before xgboost parses it. */
    size_t off = 0;
    if (len < 16 || p[0] != '{' || ubj_value(p, len, &off, 0) || off != len)
        return bh__fail(BH_EFORMAT, "xgboost: payload is not a well-formed UBJSON model");
    if (trees_check(p, len, d))
        return bh__fail(BH_EFORMAT, "xgboost: inconsistent trees in the model");
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
