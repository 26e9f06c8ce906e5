/* pipeline/cli_digits.c — `bhasha digits train|eval|predict|grid|read`:
 * Bangla handwritten digit recognition from the command line (see ocr.h). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/cli.h"

static const char *const bangla_digit[10] = {"০", "১", "২", "৩", "৪", "৫", "৬", "৭", "৮", "৯"};

typedef struct progress_ctx {
    double t0;
    size_t base;
    const char *stage;
} progress_ctx;

/* stderr progress: stage, count, rate, ETA, value (loss / CV accuracy). */
static void progress(void *vctx, const char *stage, size_t done, size_t total, double value)
{
    progress_ctx *c = vctx;
    if (!c->stage || strcmp(c->stage, stage)) {
        c->stage = stage;
        c->t0 = cli_now();
        c->base = done;
    }
    double el = cli_now() - c->t0, rate = el > 0 ? (done - c->base) / el : 0;
    fprintf(stderr, "digits: %s %zu", stage, done);
    if (total)
        fprintf(stderr, "/%zu", total);
    fprintf(stderr, " (%.1f/s", rate);
    if (total && rate > 0 && done < total)
        fprintf(stderr, ", ETA %.0fs", (total - done) / rate);
    fprintf(stderr, ")");
    if (!isnan(value))
        fprintf(stderr, " value %.4f", value);
    fprintf(stderr, "\n");
}

typedef struct opts {
    const char *data, *split, *test_split, *features, *classifier, *out, *model, *classifiers,
        *test_data;
    bh_prep_opts prep;
    bh_train_opts train;
    int limit, grid_search, quiet, hog_cell, hog_orient, hog_block, hog_norm, ensemble;
    int fold, folds; /* --holdout FOLD/FOLDS (folds 0 = none), --cv FOLDS (fold -1) */
} opts;

static int parse_int(const char *cmd, const char *name, const char *v, int lo, int hi, int *out)
{
    char *e;
    long x = strtol(v, &e, 10);
    if (*v == 0 || *e || x < lo || x > hi)
        return cli_usage_error(cmd, "%s must be an integer %d..%d, got '%s'", name, lo, hi, v);
    *out = (int)x;
    return 0;
}

/* A jitter range: a number >= 0 (the library checks the upper bound). */
static int parse_range(const char *cmd, const char *name, const char *v, double *out)
{
    char *e;
    double x = strtod(v, &e);
    if (*v == 0 || *e || !(x >= 0) || !isfinite(x))
        return cli_usage_error(cmd, "%s must be a number >= 0, got '%s'", name, v);
    *out = x;
    return 0;
}

/* "I/K": fold I (0-based) of K, 2 <= K <= 100. */
static int parse_holdout(const char *cmd, const char *v, int *fold, int *folds)
{
    char *e, *e2 = NULL;
    long i = strtol(v, &e, 10), k = *e == '/' ? strtol(e + 1, &e2, 10) : 0;
    if (*v < '0' || *v > '9' || *e != '/' || e[1] < '0' || e[1] > '9' || !e2 || *e2 || k < 2 ||
        k > 100 || i < 0 || i >= k)
        return cli_usage_error(cmd, "--holdout must be I/K with 2 <= K <= 100 and 0 <= I < K, got '%s'",
                               v);
    *fold = (int)i;
    *folds = (int)k;
    return 0;
}

static int parse_dbl(const char *cmd, const char *name, const char *v, double *out)
{
    char *e;
    double x = strtod(v, &e);
    if (*v == 0 || *e || !(x > 0) || !isfinite(x))
        return cli_usage_error(cmd, "%s must be a positive number, got '%s'", name, v);
    *out = x;
    return 0;
}

/* Parses the shared options; positional arguments are collected in pos. */
static int parse_opts(const char *cmd, int argc, char **argv, opts *o, const char **pos, int *npos,
                      int maxpos)
{
    memset(o, 0, sizeof *o);
    o->split = "train";
    o->test_split = "test";
    o->classifier = "svm";
    o->classifiers = "knn,svm,rf,gbdt";
    bh_prep_defaults(&o->prep);
    bh_train_defaults(&o->train, BH_CLF_SVM);
    o->train.trees = 0;
    *npos = 0;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (cli_opt(argc, argv, &i, "--data", &o->data) || cli_opt(argc, argv, &i, "--split", &o->split) ||
            cli_opt(argc, argv, &i, "--test-split", &o->test_split) ||
            cli_opt(argc, argv, &i, "--features", &o->features) ||
            cli_opt(argc, argv, &i, "--classifier", &o->classifier) ||
            cli_opt(argc, argv, &i, "--classifiers", &o->classifiers) ||
            cli_opt(argc, argv, &i, "--test-data", &o->test_data) ||
            cli_opt(argc, argv, &i, "--out", &o->out) || cli_opt(argc, argv, &i, "--model", &o->model))
            continue;
        if (cli_opt(argc, argv, &i, "--k", &v)) {
            if ((rc = parse_int(cmd, "--k", v, 1, 100, &o->train.knn_k)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--C", &v)) {
            if ((rc = parse_dbl(cmd, "--C", v, &o->train.svm_c)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--gamma", &v)) {
            if ((rc = parse_dbl(cmd, "--gamma", v, &o->train.svm_gamma)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--eta", &v)) {
            if ((rc = parse_dbl(cmd, "--eta", v, &o->train.eta)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--trees", &v)) {
            if ((rc = parse_int(cmd, "--trees", v, 1, 5000, &o->train.trees)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--depth", &v)) {
            if ((rc = parse_int(cmd, "--depth", v, 1, 30, &o->train.max_depth)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if ((rc = parse_int(cmd, "--threads", v, 1, 256, &o->train.nthread)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--limit", &v)) {
            if ((rc = parse_int(cmd, "--limit", v, 1, INT_MAX, &o->limit)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--augment", &v)) {
            if ((rc = parse_int(cmd, "--augment", v, 0, 64, &o->train.augment)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            int seed;
            if ((rc = parse_int(cmd, "--seed", v, 0, INT_MAX, &seed)))
                return rc;
            o->train.seed = (unsigned)seed;
        } else if (cli_opt(argc, argv, &i, "--aug-shift", &v)) {
            if ((rc = parse_range(cmd, "--aug-shift", v, &o->train.aug.shift)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--aug-rotate", &v)) {
            if ((rc = parse_range(cmd, "--aug-rotate", v, &o->train.aug.rotate)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--aug-scale", &v)) {
            if ((rc = parse_range(cmd, "--aug-scale", v, &o->train.aug.scale)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--aug-shear", &v)) {
            if ((rc = parse_range(cmd, "--aug-shear", v, &o->train.aug.shear)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--holdout", &v)) {
            if ((rc = parse_holdout(cmd, v, &o->fold, &o->folds)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--cv", &v)) {
            if ((rc = parse_int(cmd, "--cv", v, 2, 100, &o->folds)))
                return rc;
            o->fold = -1;
        } else if (cli_opt(argc, argv, &i, "--grid-n", &v)) {
            if ((rc = parse_int(cmd, "--grid-n", v, 30, INT_MAX, &o->train.svm_grid_n)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--size", &v)) {
            if ((rc = parse_int(cmd, "--size", v, 8, 128, &o->prep.size)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--box", &v)) {
            if ((rc = parse_int(cmd, "--box", v, 4, 128, &o->prep.box)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--cell", &v)) {
            if ((rc = parse_int(cmd, "--cell", v, 1, 64, &o->hog_cell)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--orientations", &v)) {
            if ((rc = parse_int(cmd, "--orientations", v, 1, 64, &o->hog_orient)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--block", &v)) {
            if ((rc = parse_int(cmd, "--block", v, 1, 16, &o->hog_block)))
                return rc;
        } else if (cli_opt(argc, argv, &i, "--hog-norm", &v)) {
            const char *names[4] = {"L1", "L1-sqrt", "L2", "L2-Hys"};
            o->hog_norm = 0;
            for (int k = 0; k < 4; k++)
                if (!strcmp(v, names[k]))
                    o->hog_norm = k + 1;
            if (!o->hog_norm)
                return cli_usage_error(cmd, "--hog-norm must be L1, L1-sqrt, L2 or L2-Hys");
        } else if (cli_opt(argc, argv, &i, "--cosine", NULL)) {
            o->train.knn_cosine = 1;
        } else if (cli_opt(argc, argv, &i, "--linear", NULL)) {
            o->train.svm_linear = 1;
        } else if (cli_opt(argc, argv, &i, "--grid-search", NULL)) {
            o->grid_search = 1;
        } else if (cli_opt(argc, argv, &i, "--raw", NULL)) {
            o->prep.normalize = 0;
        } else if (cli_opt(argc, argv, &i, "--binarize", NULL)) {
            o->prep.binarize = 1;
        } else if (cli_opt(argc, argv, &i, "--deskew", NULL)) {
            o->prep.deskew = 1;
        } else if (cli_opt(argc, argv, &i, "--scale", NULL)) {
            o->train.scale = 1;
        } else if (cli_opt(argc, argv, &i, "--no-scale", NULL)) {
            o->train.scale = 0;
        } else if (cli_opt(argc, argv, &i, "--ensemble", NULL)) {
            o->ensemble = 1;
        } else if (cli_opt(argc, argv, &i, "--quiet", NULL)) {
            o->quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_usage_error(cmd, "unknown option or missing value: %s", argv[i]);
        } else if (*npos < maxpos) {
            pos[(*npos)++] = argv[i];
        } else {
            return cli_usage_error(cmd, "too many arguments (at most %d)", maxpos);
        }
    }
    if (o->prep.box > o->prep.size)
        o->prep.box = o->prep.size;
    /* the library refuses these too, but the user should hear it before any work */
    bh_augment_opts *a = &o->train.aug;
    if (a->shift > o->prep.size / 2.0 || a->rotate > 45 || a->scale > 0.5 || a->shear > 1)
        return cli_usage_error(cmd, "augmentation ranges: --aug-shift 0..%g, --aug-rotate 0..45, "
                                    "--aug-scale 0..0.5, --aug-shear 0..1",
                               o->prep.size / 2.0);
    return 0;
}

static int make_spec(const char *cmd, const opts *o, const char *features, bh_feat_spec *s)
{
    bh_status st = bh_feat_parse(features, s);
    if (st)
        return cli_fail(cmd, st);
    if (o->hog_cell)
        s->hog.cell = o->hog_cell;
    if (o->hog_orient)
        s->hog.orientations = o->hog_orient;
    if (o->hog_block)
        s->hog.block = o->hog_block;
    if (o->hog_norm)
        s->hog.norm = (bh_hog_norm)(o->hog_norm - 1);
    if (bh_feat_size(s, o->prep.size) == 0)
        return cli_usage_error(cmd, "features '%s' do not fit a %dx%d image", features,
                               o->prep.size, o->prep.size);
    return 0;
}

/* Takes every step-th image so a limit keeps the class balance of the file. */
static void limit_set(bh_digit_set *s, int limit)
{
    if (limit <= 0 || limit >= s->n)
        return;
    size_t stride = (size_t)s->rows * s->cols;
    for (int i = 0; i < limit; i++) {
        size_t src = (size_t)i * s->n / limit;
        memmove(s->px + i * stride, s->px + src * stride, stride);
        s->labels[i] = s->labels[src];
    }
    s->n = limit;
}

/* Stratified folds: the j-th image of each class (in file order) is in fold
 * j mod K. keep_fold 1 keeps fold I only (validation), 0 drops it (training). */
static void fold_set(bh_digit_set *s, int fold, int folds, int keep_fold)
{
    if (folds < 2)
        return;
    size_t stride = (size_t)s->rows * s->cols;
    int seen[10] = {0}, m = 0;
    for (int i = 0; i < s->n; i++) {
        int in = seen[s->labels[i]]++ % folds == fold;
        if (in != keep_fold)
            continue;
        memmove(s->px + (size_t)m * stride, s->px + (size_t)i * stride, stride);
        s->labels[m++] = s->labels[i];
    }
    s->n = m;
}

static int load_set(const char *cmd, const char *dir, const char *split, int limit, bh_digit_set *s)
{
    bh_status st = bh_digit_set_load_dir(dir, split, s);
    if (st)
        return cli_fail(cmd, st);
    limit_set(s, limit);
    return 0;
}

static int do_train(int argc, char **argv)
{
    const char *cmd = "digits train";
    opts o;
    const char *pos[1];
    int np, rc;
    if ((rc = parse_opts(cmd, argc, argv, &o, pos, &np, 0)))
        return rc;
    if (!o.data || !o.out)
        return cli_usage_error(cmd, "usage: bhasha digits train --data DIR --out MODEL "
                                    "[--features hog[,lbp,gabor]] [--classifier svm|knn|rf|gbdt]");
    bh_feat_spec spec;
    if ((rc = make_spec(cmd, &o, o.features ? o.features : "hog", &spec)))
        return rc;
    bh_clf_kind kind;
    bh_status st = bh_clf_parse(o.classifier, &kind);
    if (st)
        return cli_fail(cmd, st);
    bh_train_opts t = o.train;
    t.kind = kind;
    if (t.trees == 0)
        t.trees = kind == BH_CLF_RF ? 200 : 150;
    t.svm_grid = o.grid_search;
    progress_ctx pc = {0};
    if (!o.quiet) {
        t.progress = progress;
        t.progress_ctx = &pc;
    }
    if (o.fold < 0)
        return cli_usage_error(cmd, "--cv is for grid; train takes --holdout I/K");
    bh_digit_set set;
    if ((rc = load_set(cmd, o.data, o.split, o.limit, &set)))
        return rc;
    fold_set(&set, o.fold, o.folds, 0);
    double t0 = cli_now();
    bh_digits_model *m = NULL;
    int ntrain = set.n;
    st = bh_digits_train(&set, &o.prep, &spec, &t, &m);
    bh_digit_set_free(&set);
    if (st)
        return cli_fail(cmd, st);
    st = bh_digits_save(m, o.out);
    if (!st && !o.quiet)
        fprintf(stderr, "digits: trained %s on %d images (+%d copies each) in %.1fs (%s), saved %s\n",
                bh_clf_name(kind), ntrain, t.augment, cli_now() - t0, bh_digits_model_info(m), o.out);
    bh_digits_model_free(m);
    return st ? cli_fail(cmd, st) : 0;
}

static void print_eval_json(const char *model, const char *data, int n, double acc, double f1,
                            int cm[10][10], double secs)
{
    printf("{\"model\": ");
    cli_json_string(stdout, model, strlen(model));
    printf(", \"data\": ");
    cli_json_string(stdout, data, strlen(data));
    printf(", \"n\": %d, \"accuracy\": %.6f, \"macro_f1\": %.6f, \"seconds\": %.3f, \"confusion\": [",
           n, acc, f1, secs);
    for (int i = 0; i < 10; i++) {
        printf("%s[", i ? ", " : "");
        for (int j = 0; j < 10; j++)
            printf("%s%d", j ? ", " : "", cm[i][j]);
        printf("]");
    }
    printf("]}\n");
}

/* eval --model A[,B...]: one model, or an ensemble that averages the models'
 * class scores (bh_digits_predict_proba), each model on its own features. */
static int do_eval(int argc, char **argv)
{
    const char *cmd = "digits eval";
    opts o;
    const char *pos[1];
    int np, rc;
    if ((rc = parse_opts(cmd, argc, argv, &o, pos, &np, 0)))
        return rc;
    if (!o.data || !o.model)
        return cli_usage_error(cmd, "usage: bhasha digits eval --model MODEL[,MODEL...] --data DIR "
                                    "[--split test] [--holdout I/K]");
    if (o.fold < 0 || o.train.augment)
        return cli_usage_error(cmd, "eval takes --holdout I/K, not --cv or --augment");
    char mbuf[4096];
    const char *ml[8];
    int nm = 0;
    snprintf(mbuf, sizeof mbuf, "%s", o.model);
    for (char *t = strtok(mbuf, ","); t; t = strtok(NULL, ","))
        if (nm == 8)
            return cli_usage_error(cmd, "at most 8 models in --model");
        else
            ml[nm++] = t;
    if (nm == 0)
        return cli_usage_error(cmd, "--model names no model");
    bh_digits_model *m[8] = {0};
    bh_status st = BH_OK;
    for (int k = 0; k < nm && !st; k++)
        st = bh_digits_load(ml[k], &m[k]);
    bh_digit_set set = {0};
    /* without --holdout the default split is test; with it, the held-out fold of train */
    const char *split = o.folds || strcmp(o.split, "train") ? o.split : "test";
    if (!st && (rc = load_set(cmd, o.data, split, o.limit, &set))) {
        for (int k = 0; k < nm; k++)
            bh_digits_model_free(m[k]);
        return rc;
    }
    if (!st)
        fold_set(&set, o.fold, o.folds, 1);
    double t0 = cli_now();
    progress_ctx pc = {0};
    uint8_t *pred = st ? NULL : malloc((size_t)set.n);
    float *sum = st || nm == 1 ? NULL : calloc((size_t)set.n * 10, sizeof(float));
    float *pr = st || nm == 1 ? NULL : malloc(sizeof(float) * (size_t)set.n * 10);
    if (!st && (!pred || (nm > 1 && (!sum || !pr))))
        st = BH_ENOMEM;
    for (int k = 0; k < nm && !st; k++) {
        float *X = NULL;
        int d = 0;
        st = bh_digits_featurize(&set, bh_digits_model_prep(m[k]), bh_digits_model_feat(m[k]), &X,
                                 &d, o.quiet ? NULL : progress, &pc);
        if (!st && nm == 1)
            st = bh_digits_predict_features(m[k], X, set.n, d, pred, NULL);
        else if (!st)
            st = bh_digits_predict_proba(m[k], X, set.n, d, pr);
        for (size_t i = 0; !st && nm > 1 && i < (size_t)set.n * 10; i++)
            sum[i] += pr[i];
        free(X);
    }
    for (int i = 0; !st && nm > 1 && i < set.n; i++) {
        int best = 0;
        for (int c = 1; c < 10; c++)
            best = sum[(size_t)i * 10 + c] > sum[(size_t)i * 10 + best] ? c : best;
        pred[i] = (uint8_t)best;
    }
    if (!st) {
        double acc, f1;
        int cm[10][10];
        bh_digits_score(set.labels, pred, set.n, &acc, &f1, cm);
        print_eval_json(o.model, o.data, set.n, acc, f1, cm, cli_now() - t0);
    }
    free(pred);
    free(sum);
    free(pr);
    bh_digit_set_free(&set);
    for (int k = 0; k < nm; k++)
        bh_digits_model_free(m[k]);
    return st ? cli_fail(cmd, st) : 0;
}

/* The shipped model: $BHASHA_DIGITS_MODEL, else next to the executable
 * (../share/bhasha/digits/ when installed, ../assets/digits/ in the build tree). */
/* The shipped model, unless $BHASHA_DIGITS_MODEL names another. */
static const char *default_model(char *buf, size_t cap)
{
    const char *env = getenv("BHASHA_DIGITS_MODEL");
    if (env && *env)
        return env;
    cli_asset("digits/default.bhd", buf, cap);
    return buf;
}

/* Loads --model, or the shipped model. Returns 0 or prints and returns 1. */
static int load_model(const char *cmd, const char *given, bh_digits_model **m)
{
    char buf[PATH_MAX + 64];
    bh_status st = bh_digits_load(given ? given : default_model(buf, sizeof buf), m);
    return st ? cli_fail(cmd, st) : 0;
}

static int do_predict(int argc, char **argv)
{
    const char *cmd = "digits predict";
    opts o;
    const char *pos[4096];
    int np, rc;
    if ((rc = parse_opts(cmd, argc, argv, &o, pos, &np, 4096)))
        return rc;
    if (np == 0)
        return cli_usage_error(cmd, "usage: bhasha digits predict [--model MODEL] IMAGE...");
    bh_digits_model *m = NULL;
    if ((rc = load_model(cmd, o.model, &m)))
        return rc;
    bh_status st;
    int failed = 0;
    for (int i = 0; i < np; i++) {
        bh_image img;
        st = bh_image_load(pos[i], &img);
        int label = 0;
        float score = 0;
        if (!st)
            st = bh_digits_predict(m, img.px, img.w, img.h, &label, &score);
        bh_image_free(&img);
        if (st) {
            cli_fail(cmd, st);
            failed = 1;
            continue;
        }
        printf("%s\t%d\t%s\t%.3f\n", pos[i], label, bangla_digit[label], score);
    }
    bh_digits_model_free(m);
    return failed;
}

static int do_read(int argc, char **argv)
{
    const char *cmd = "digits read";
    opts o;
    const char *pos[256];
    int np, rc;
    if ((rc = parse_opts(cmd, argc, argv, &o, pos, &np, 256)))
        return rc;
    if (np == 0)
        return cli_usage_error(cmd, "usage: bhasha digits read [--model MODEL] IMAGE...");
    bh_digits_model *m = NULL;
    if ((rc = load_model(cmd, o.model, &m)))
        return rc;
    bh_status st;
    int failed = 0;
    bh_digit_box boxes[256];
    for (int i = 0; i < np; i++) {
        bh_image img;
        int n = 0;
        st = bh_image_load(pos[i], &img);
        if (!st)
            st = bh_digits_read(m, img.px, img.w, img.h, boxes, 256, &n);
        bh_image_free(&img);
        if (st) {
            cli_fail(cmd, st);
            failed = 1;
            continue;
        }
        if (n > 256)
            n = 256;
        printf("%s\t", pos[i]);
        for (int k = 0; k < n; k++)
            printf("%s", bangla_digit[boxes[k].label]);
        printf("\t");
        for (int k = 0; k < n; k++)
            printf("%d", boxes[k].label);
        float minsc = 1;
        for (int k = 0; k < n; k++)
            minsc = boxes[k].score < minsc ? boxes[k].score : minsc;
        printf("\t%.3f\n", n ? minsc : 0.0f);
    }
    bh_digits_model_free(m);
    return failed;
}

/* A copy of s (pixels and labels), so folds can be cut from one loaded split. */
static bh_status set_copy(const bh_digit_set *s, bh_digit_set *out)
{
    size_t px = (size_t)s->n * s->rows * s->cols;
    *out = *s;
    out->px = malloc(px ? px : 1);
    out->labels = malloc(s->n ? (size_t)s->n : 1);
    if (!out->px || !out->labels) {
        bh_digit_set_free(out);
        return BH_ENOMEM;
    }
    memcpy(out->px, s->px, px);
    memcpy(out->labels, s->labels, (size_t)s->n);
    return BH_OK;
}

/* The paper's layout: one row per feature, one column per classifier, test
 * accuracy in percent; further test sets (cross-dataset) get rows of their own.
 * With --holdout I/K the first "test" set is fold I of the training split (the
 * model trains on the other folds); with --cv K every fold is held out in turn
 * and the table gives the pooled accuracy over the K held-out folds. */
static int do_grid(int argc, char **argv)
{
    const char *cmd = "digits grid";
    opts o;
    const char *pos[1];
    int np, rc;
    if ((rc = parse_opts(cmd, argc, argv, &o, pos, &np, 0)))
        return rc;
    if (!o.data)
        return cli_usage_error(cmd, "usage: bhasha digits grid --data DIR [--features hog,lbp,gabor] "
                                    "[--classifiers knn,svm,rf,gbdt] [--limit N] [--test-data DIR,...] "
                                    "[--holdout I/K | --cv K] [--augment K]");
    const char *feats = o.features ? o.features : "hog,lbp,gabor";
    char fbuf[64], cbuf[64], tbuf[1024];
    snprintf(fbuf, sizeof fbuf, "%s", feats);
    snprintf(cbuf, sizeof cbuf, "%s", o.classifiers);
    snprintf(tbuf, sizeof tbuf, "%s", o.test_data ? o.test_data : "");
    const char *fl[8], *cl[8], *tl[8];
    int nf = 0, nc = 0, nt = 0;
    for (char *t = strtok(fbuf, ","); t && nf < 8; t = strtok(NULL, ","))
        fl[nf++] = t;
    for (char *t = strtok(cbuf, ","); t && nc < 8; t = strtok(NULL, ","))
        cl[nc++] = t;
    tl[nt++] = o.data;
    for (char *t = strtok(tbuf, ","); t && nt < 8; t = strtok(NULL, ","))
        tl[nt++] = t;
    bh_clf_kind kinds[8];
    for (int c = 0; c < nc; c++) {
        bh_status st = bh_clf_parse(cl[c], &kinds[c]);
        if (st)
            return cli_fail(cmd, st);
    }
    bh_feat_spec specs[8];
    for (int f = 0; f < nf; f++)
        if ((rc = make_spec(cmd, &o, fl[f], &specs[f])))
            return rc;
    bh_digit_set all, test[8];
    memset(test, 0, sizeof test);
    if ((rc = load_set(cmd, o.data, o.split, o.limit, &all)))
        return rc;
    /* without folds, test[0] is the test split; with them it is cut per round */
    for (int t = o.folds ? 1 : 0; t < nt; t++)
        if ((rc = load_set(cmd, tl[t], o.test_split, 0, &test[t]))) {
            for (int k = 0; k < t; k++)
                bh_digit_set_free(&test[k]);
            bh_digit_set_free(&all);
            return rc;
        }
    int rounds = o.fold < 0 ? o.folds : 1, ntrain = 0;
    /* feature (row nf: the ensemble of all), test set, classifier */
    long ok[9][8][8] = {{{0}}}, tot[8] = {0};
    float *ens[8][8] = {{0}}; /* test set, classifier: summed class scores, n x 10 */
    progress_ctx pc = {0};
    bh_status st = BH_OK;
    for (int r = 0; r < rounds && !st; r++) {
        bh_digit_set train;
        st = set_copy(&all, &train);
        if (!st && o.folds) {
            int fold = o.fold < 0 ? r : o.fold;
            st = set_copy(&all, &test[0]);
            if (!st) {
                fold_set(&train, fold, o.folds, 0);
                fold_set(&test[0], fold, o.folds, 1);
            }
        }
        if (st)
            break;
        ntrain += train.n;
        for (int t = 0; t < nt; t++)
            tot[t] += test[t].n;
        for (int t = 0; o.ensemble && t < nt && !st; t++)
            for (int c = 0; c < nc && !st; c++)
                if (!(ens[t][c] = calloc((size_t)test[t].n * 10, sizeof(float))))
                    st = BH_ENOMEM;
        for (int f = 0; f < nf && !st; f++) {
            float *X = NULL, *XT[8] = {0};
            uint8_t *y = NULL;
            int d = 0, rows = train.n * (o.train.augment + 1);
            st = bh_digits_featurize_augmented(&train, &o.prep, &specs[f], o.train.augment,
                                               o.train.seed, &o.train.aug, &X, &y, &d, NULL, NULL);
            for (int t = 0; t < nt && !st; t++)
                st = bh_digits_featurize(&test[t], &o.prep, &specs[f], &XT[t], &d, NULL, NULL);
            for (int c = 0; c < nc && !st; c++) {
                bh_train_opts to = o.train;
                to.kind = kinds[c];
                if (to.trees == 0)
                    to.trees = kinds[c] == BH_CLF_RF ? 200 : 150;
                to.svm_grid = o.grid_search;
                if (!o.quiet) {
                    to.progress = progress;
                    to.progress_ctx = &pc;
                }
                double t0 = cli_now();
                bh_digits_model *m = NULL;
                st = bh_digits_train_features(X, y, rows, d, &o.prep, &specs[f], &to, &m);
                long ok0 = ok[f][0][c];
                for (int t = 0; t < nt && !st; t++) {
                    uint8_t *pred = malloc((size_t)test[t].n);
                    if (!pred) {
                        st = BH_ENOMEM;
                        break;
                    }
                    st = bh_digits_predict_features(m, XT[t], test[t].n, d, pred, NULL);
                    for (int i = 0; !st && i < test[t].n; i++)
                        ok[f][t][c] += pred[i] == test[t].labels[i];
                    free(pred);
                    float *pr = NULL;
                    if (!st && o.ensemble) {
                        pr = malloc(sizeof(float) * (size_t)test[t].n * 10);
                        st = pr ? bh_digits_predict_proba(m, XT[t], test[t].n, d, pr) : BH_ENOMEM;
                    }
                    for (size_t i = 0; !st && pr && i < (size_t)test[t].n * 10; i++)
                        ens[t][c][i] += pr[i];
                    free(pr);
                }
                if (!st) {
                    char where[32] = "";
                    if (o.folds)
                        snprintf(where, sizeof where, " fold %d/%d", o.fold < 0 ? r : o.fold,
                                 o.folds);
                    fprintf(stderr, "digits: grid%s %s + %s: %.2f%% (%s, %.1fs)\n", where, fl[f],
                            cl[c], 100.0 * (ok[f][0][c] - ok0) / test[0].n, bh_digits_model_info(m),
                            cli_now() - t0);
                }
                bh_digits_model_free(m);
            }
            free(X);
            free(y);
            for (int t = 0; t < nt; t++)
                free(XT[t]);
        }
        /* the ensemble: the class with the largest summed score */
        for (int t = 0; o.ensemble && t < nt; t++)
            for (int c = 0; c < nc; c++) {
                for (int i = 0; !st && i < test[t].n; i++) {
                    const float *p = ens[t][c] + (size_t)i * 10;
                    int best = 0;
                    for (int k = 1; k < 10; k++)
                        best = p[k] > p[best] ? k : best;
                    ok[nf][t][c] += best == test[t].labels[i];
                }
                free(ens[t][c]);
                ens[t][c] = NULL;
            }
        bh_digit_set_free(&train);
        if (o.folds)
            bh_digit_set_free(&test[0]);
    }
    if (!st) {
        char how[160];
        if (o.folds)
            snprintf(how, sizeof how, "%s on %d of %d folds of %s/%s", o.fold < 0 ? "CV" : "holdout",
                     rounds, o.folds, o.data, o.split);
        for (int t = 0; t < nt; t++) {
            if (t == 0 && o.folds)
                printf("\n%s (train %d images per round, +%d copies each; held out %ld images in "
                       "all), accuracy %%\n\n",
                       how, ntrain / rounds, o.train.augment, tot[0]);
            else
                printf("\n%s (train %s: %d images, +%d copies each; test %s: %ld images), test "
                       "accuracy %%\n\n",
                       t == 0 ? "Grid" : "Cross-dataset", o.data, ntrain / rounds, o.train.augment,
                       tl[t], tot[t] / rounds);
            printf("| Feature |");
            for (int c = 0; c < nc; c++)
                printf(" %s |", cl[c]);
            printf("\n|---|");
            for (int c = 0; c < nc; c++)
                printf("---|");
            printf("\n");
            for (int f = 0; f < nf + (o.ensemble != 0); f++) {
                printf("| %s |", f < nf ? fl[f] : "ensemble");
                for (int c = 0; c < nc; c++)
                    printf(" %.2f |", tot[t] ? 100.0 * ok[f][t][c] / tot[t] : 0.0);
                printf("\n");
            }
        }
    }
    bh_digit_set_free(&all);
    for (int t = 0; t < nt; t++) {
        bh_digit_set_free(&test[t]);
        for (int c = 0; c < nc; c++)
            free(ens[t][c]);
    }
    if (st)
        return cli_fail(cmd, st);
    return 0;
}

int cli_digits(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out,
                "usage: bhasha digits COMMAND [OPTIONS]\n"
                "  train   --data DIR --out MODEL [--features hog[,lbp,gabor]] [--classifier svm|knn|rf|gbdt]\n"
                "          [--C C] [--gamma G] [--grid-search] [--grid-n N] [--linear] [--k K] [--cosine]\n"
                "          [--trees N] [--depth D] [--eta E] [--threads N] [--limit N] [--split train]\n"
                "          [--augment K] [--seed S] [--holdout I/K]\n"
                "  eval    --model MODEL --data DIR [--split test]      (JSON: accuracy, macro-F1, confusion)\n"
                "          [--holdout I/K]                             (fold I of --split, default train)\n"
                "          --model A,B,...: ensemble, mean of the models' class scores\n"
                "  predict [--model MODEL] IMAGE...                    (file, label, Bangla digit, score)\n"
                "  grid    --data DIR [--features hog,lbp,gabor,hog+gabor] [--classifiers knn,svm,rf,gbdt]\n"
                "          [--limit N] [--test-data DIR2,DIR3]         (accuracy table, paper layout)\n"
                "          [--holdout I/K | --cv K] [--augment K] [--seed S]  (validate on train folds)\n"
                "          [--ensemble]                                (+ a row: mean class scores of the features)\n"
                "  read    [--model MODEL] IMAGE...                    (a line of digits: Bangla, ASCII)\n"
                "preprocessing: [--size 28] [--box 22] [--raw] [--binarize] [--deskew]\n"
                "augmentation (K jittered copies per training image, deterministic by --seed 1):\n"
                "  [--aug-shift 2] [--aug-rotate 8] [--aug-scale 0.1] [--aug-shear 0.15]\n"
                "folds: --holdout I/K trains without fold I of K (eval, grid: tests on it);\n"
                "  the j-th image of each class is in fold j mod K\n"
                "HOG: [--orientations 9] [--cell 4] [--block 2] [--hog-norm L1|L1-sqrt|L2|L2-Hys]\n");
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "train"))
        return do_train(argc - 1, argv + 1);
    if (!strcmp(sub, "eval"))
        return do_eval(argc - 1, argv + 1);
    if (!strcmp(sub, "predict"))
        return do_predict(argc - 1, argv + 1);
    if (!strcmp(sub, "grid"))
        return do_grid(argc - 1, argv + 1);
    if (!strcmp(sub, "read"))
        return do_read(argc - 1, argv + 1);
    return cli_usage_error("digits", "unknown subcommand '%s' (train, eval, predict, grid, read)", sub);
}
