/* pipeline/ngram_fuse.c — fitting a sentiment head's n-gram layer (see
 * ngram_fuse.h). */
#include "pipeline/ngram_fuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/corpus.h"
#include "bhasha/eval.h"
#include "core/error.h"

/* One split: per text, the head's log-probabilities [C], its features
 * (CSR: off [n+1] into idx/val) and the gold label index. */
typedef struct split {
    long n;
    float *logp;
    int32_t *y;
    size_t *off;
    uint32_t *idx;
    float *val;
    size_t nf, fcap;
} split;

static void split_free(split *s)
{
    free(s->logp), free(s->y), free(s->off), free(s->idx), free(s->val);
    memset(s, 0, sizeof *s);
}

static bh_status read_split(bh__ft_model *fm, bh_head *sh, const bh__ngram_fuse_options *o, int bits, const char *path,
                            split *s, double t0)
{
    bh_corpus_options co = {0};
    co.format = BH_CORPUS_CSV; /* delimiter from the name: tab for *.tsv */
    co.on_error = BH_ON_ERROR_STOP;
    co.text_field = o->text_col ? o->text_col : "text";
    co.text_field2 = o->text_col2;
    co.label_field = o->label_col ? o->label_col : "label";
    co.label_map = o->label_map;
    bh_corpus *r;
    bh_status st = bh_corpus_open(path, &co, &r);
    if (st) return st;
    int C = bh_head_n_labels(sh);
    long cap = 0;
    float *p = malloc(sizeof(float) * (size_t)C);
    if (!p) st = bh__fail(BH_ENOMEM, "out of memory");
    bh_corpus_record rec;
    int k = 0;
    while (!st && (k = bh_corpus_next(r, &rec)) == 1) {
        int y = rec.label ? bh_head_label_index(sh, rec.label) : -1;
        if (y < 0) {
            st = bh__fail(BH_EINVAL, "%s line %ld: label \"%.60s\" is not one of head %s's", path, rec.line,
                          rec.label ? rec.label : "", bh_head_name(sh));
            break;
        }
        if (s->n == cap) {
            cap = cap ? 2 * cap : 1024;
            float *lp = realloc(s->logp, sizeof(float) * (size_t)cap * C);
            if (lp) s->logp = lp;
            int32_t *yy = lp ? realloc(s->y, sizeof(int32_t) * (size_t)cap) : NULL;
            if (yy) s->y = yy;
            size_t *of = yy ? realloc(s->off, sizeof(size_t) * ((size_t)cap + 1)) : NULL;
            if (of) s->off = of;
            if (!of) {
                st = bh__fail(BH_ENOMEM, "out of memory");
                break;
            }
        }
        if ((st = bh__ft_run(fm, sh, NULL, rec.text, rec.text_len, p, NULL, NULL, NULL))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "%s line %ld: %s", path, rec.line, detail);
            break;
        }
        for (int c = 0; c < C; c++) s->logp[(size_t)s->n * C + c] = logf(p[c] > 1e-30f ? p[c] : 1e-30f);
        uint32_t *fi;
        float *fv;
        size_t m;
        if ((st = bh_ngram_features(rec.text, rec.text_len, bits, &fi, &fv, &m))) break;
        if (s->nf + m > s->fcap) {
            size_t nc = 2 * (s->nf + m) + 1024;
            uint32_t *ni = realloc(s->idx, sizeof *ni * nc);
            if (ni) s->idx = ni;
            float *nv = ni ? realloc(s->val, sizeof *nv * nc) : NULL;
            if (nv) s->val = nv;
            if (!nv) st = bh__fail(BH_ENOMEM, "out of memory");
            else s->fcap = nc;
        }
        if (!st) {
            s->off[s->n] = s->nf;
            if (m) { /* a text without words has none, and fi (and s->idx) may be NULL: memcpy's UB */
                memcpy(s->idx + s->nf, fi, sizeof *fi * m);
                memcpy(s->val + s->nf, fv, sizeof *fv * m);
            }
            s->nf += m;
            s->y[s->n++] = y;
            s->off[s->n] = s->nf;
        }
        free(fi);
        free(fv);
        if (!o->quiet && s->n % 2000 == 0)
            fprintf(stderr, "bhasha fuse-ngrams: %s: %ld texts encoded, %.0f texts/s\n", path, s->n,
                    s->n / (bh__ft_now() - t0 + 1e-9));
    }
    if (!st && k < 0) st = k;
    if (!st && !s->n) st = bh__fail(BH_EFORMAT, "%s: no records", path);
    free(p);
    bh_corpus_free(r);
    return st;
}

/* a followed by b, as one split (for the refit on train + dev). */
static bh_status split_concat(const split *a, const split *b, int C, split *out)
{
    memset(out, 0, sizeof *out);
    long n = a->n + b->n;
    size_t nf = a->nf + b->nf;
    out->logp = malloc(sizeof(float) * (size_t)n * C);
    out->y = malloc(sizeof(int32_t) * (size_t)n);
    out->off = malloc(sizeof(size_t) * ((size_t)n + 1));
    out->idx = malloc(sizeof(uint32_t) * (nf + 1));
    out->val = malloc(sizeof(float) * (nf + 1));
    if (!out->logp || !out->y || !out->off || !out->idx || !out->val) {
        split_free(out);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    memcpy(out->logp, a->logp, sizeof(float) * (size_t)a->n * C);
    memcpy(out->logp + (size_t)a->n * C, b->logp, sizeof(float) * (size_t)b->n * C);
    memcpy(out->y, a->y, sizeof(int32_t) * (size_t)a->n);
    memcpy(out->y + a->n, b->y, sizeof(int32_t) * (size_t)b->n);
    memcpy(out->idx, a->idx, sizeof(uint32_t) * a->nf);
    memcpy(out->idx + a->nf, b->idx, sizeof(uint32_t) * b->nf);
    memcpy(out->val, a->val, sizeof(float) * a->nf);
    memcpy(out->val + a->nf, b->val, sizeof(float) * b->nf);
    for (long i = 0; i <= a->n; i++) out->off[i] = a->off[i];
    for (long i = 1; i <= b->n; i++) out->off[a->n + i] = a->nf + b->off[i];
    out->n = n;
    out->nf = out->fcap = nf;
    return BH_OK;
}

/* z [C] = a logp + W^T x + b for text i. */
static void scores(const split *s, long i, int C, const float *W, const float *b, double a, double *z)
{
    for (int c = 0; c < C; c++) z[c] = a * s->logp[(size_t)i * C + c] + b[c];
    for (size_t f = s->off[i]; f < s->off[i + 1]; f++) {
        const float *r = W + (size_t)s->idx[f] * C;
        for (int c = 0; c < C; c++) z[c] += s->val[f] * r[c];
    }
}

/* AdaGrad epochs over train in a seeded order. W [2^bits, C], b [C] start at 0. */
static bh_status fit(const split *tr, int C, int bits, double a, double l2, const bh__ngram_fuse_options *o, float *W,
                     float *b)
{
    size_t H = (size_t)1 << bits;
    float *G = calloc(H * C, sizeof *G), *Gb = calloc((size_t)C, sizeof *Gb);
    double *z = malloc(sizeof(double) * (size_t)C);
    long *order = malloc(sizeof(long) * (size_t)tr->n);
    if (!G || !Gb || !z || !order) {
        free(G), free(Gb), free(z), free(order);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    memset(W, 0, sizeof(float) * H * C);
    memset(b, 0, sizeof(float) * (size_t)C);
    for (long i = 0; i < tr->n; i++) order[i] = i;
    uint64_t rs = 7;
    int epochs = o->epochs > 0 ? o->epochs : 10;
    double lr = o->lr > 0 ? o->lr : 0.2;
    for (int ep = 0; ep < epochs; ep++) {
        bh__ft_shuffle(order, tr->n, &rs);
        for (long q = 0; q < tr->n; q++) {
            long i = order[q];
            scores(tr, i, C, W, b, a, z);
            double mx = z[0], sum = 0;
            for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
            for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
            for (int c = 0; c < C; c++) z[c] = exp(z[c] - mx) / sum - (c == tr->y[i]); /* dloss/dz */
            for (int c = 0; c < C; c++) {
                Gb[c] += (float)(z[c] * z[c]);
                b[c] -= (float)(lr * z[c] / (sqrt((double)Gb[c]) + 1e-8));
            }
            for (size_t f = tr->off[i]; f < tr->off[i + 1]; f++) {
                float *r = W + (size_t)tr->idx[f] * C, *g = G + (size_t)tr->idx[f] * C;
                for (int c = 0; c < C; c++) {
                    double gc = z[c] * tr->val[f] + l2 * r[c];
                    g[c] += (float)(gc * gc);
                    r[c] -= (float)(lr * gc / (sqrt((double)g[c]) + 1e-8));
                }
            }
        }
    }
    free(G), free(Gb), free(z), free(order);
    return BH_OK;
}

/* Per-class document counts of every table row: n[f * C + c] = the texts of
 * class c in s whose features touch row f (once per text however often). */
static bh_status nb_counts(const split *s, int C, int bits, double **n)
{
    size_t H = (size_t)1 << bits;
    double *cnt = calloc(H * C, sizeof *cnt);
    long *last = malloc(sizeof(long) * H);
    if (!cnt || !last) {
        free(cnt), free(last);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    for (size_t f = 0; f < H; f++) last[f] = -1;
    for (long i = 0; i < s->n; i++)
        for (size_t k = s->off[i]; k < s->off[i + 1]; k++) {
            uint32_t f = s->idx[k];
            if (last[f] == i) continue;
            last[f] = i;
            cnt[(size_t)f * C + s->y[i]] += 1;
        }
    free(last);
    *n = cnt;
    return BH_OK;
}

/* Naive Bayes as the layer's weights: for the rows seen in s, theta[c][f] =
 * (n_fc + alpha) / (sum over seen rows f' of n_f'c + alpha F) and W[f][c] =
 * B (log theta[c][f] - its mean over the classes), other rows 0; b[c] = B
 * log prior(c). The layer's inputs are the features' 1/sqrt(count) values,
 * so a text's evidence is NB's divided by the square root of its length: B
 * (chosen on dev) sets the scale. */
static void fit_nb(const split *s, const double *n, int C, int bits, double alpha, double B, float *W, float *b)
{
    size_t H = (size_t)1 << bits;
    double tot[BH__NGRAM_MAXC] = {0}, seen = 0, prior[BH__NGRAM_MAXC] = {0};
    for (size_t f = 0; f < H; f++) {
        double r = 0;
        for (int c = 0; c < C; c++) tot[c] += n[f * C + c], r += n[f * C + c];
        seen += r > 0;
    }
    for (long i = 0; i < s->n; i++) prior[s->y[i]] += 1;
    for (size_t f = 0; f < H; f++) {
        double r = 0, lt[BH__NGRAM_MAXC], mean = 0;
        for (int c = 0; c < C; c++) r += n[f * C + c];
        if (r == 0) {
            for (int c = 0; c < C; c++) W[f * C + c] = 0;
            continue;
        }
        for (int c = 0; c < C; c++) {
            lt[c] = log((n[f * C + c] + alpha) / (tot[c] + alpha * seen));
            mean += lt[c] / C;
        }
        for (int c = 0; c < C; c++) W[f * C + c] = (float)(B * (lt[c] - mean));
    }
    for (int c = 0; c < C; c++) b[c] = (float)(B * log((prior[c] + 1) / ((double)s->n + C)));
}

/* Macro-F1 (%) of the fused scores on s (a = encoder weight; W NULL = the head alone). */
static bh_status macro_f1(const split *s, const bh_head *sh, const float *W, const float *b, double a, double *out)
{
    int C = bh_head_n_labels(sh);
    const char **gold = malloc(sizeof(char *) * (size_t)s->n), **pred = malloc(sizeof(char *) * (size_t)s->n);
    double *z = malloc(sizeof(double) * (size_t)C);
    bh_status st = gold && pred && z ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    for (long i = 0; !st && i < s->n; i++) {
        if (W) scores(s, i, C, W, b, a, z);
        else
            for (int c = 0; c < C; c++) z[c] = s->logp[(size_t)i * C + c];
        int best = 0;
        for (int c = 1; c < C; c++) best = z[c] > z[best] ? c : best;
        gold[i] = bh_head_label(sh, s->y[i]);
        pred[i] = bh_head_label(sh, best);
    }
    bh_class_report *r = NULL;
    if (!st) st = bh_eval_classification(gold, pred, (size_t)s->n, &r);
    if (!st) *out = 100.0 * r->macro_f1; /* the report is in 0..1 */
    bh_class_report_free(r);
    free(gold), free(pred), free(z);
    return st;
}

bh_status bh__ngram_fuse(bh__ft_model *fm, bh_head *sh, const bh__ngram_fuse_options *o, bh_head **out,
                         bh__ngram_fuse_result *res)
{
    if (!fm || !sh || !o || !o->train || !o->dev || !out || !res) return bh__fail(BH_EINVAL, "bh__ngram_fuse: NULL argument");
    if (bh_head_get_kind(sh) != BH_HEAD_SEQUENCE) return bh__fail(BH_EINVAL, "head %s is not a sentiment head", bh_head_name(sh));
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->test_head = res->test_ngrams = res->test_fused = -1;
    int bits = o->bits ? o->bits : 18, C = bh_head_n_labels(sh);
    if (bits < 12 || bits > 24) return bh__fail(BH_EINVAL, "--bits %d (12..24)", bits);
    if (C > BH__NGRAM_MAXC) return bh__fail(BH_EINVAL, "head %s has %d labels (at most %d)", bh_head_name(sh), C, BH__NGRAM_MAXC);
    double t0 = bh__ft_now();
    split tr = {0}, dv = {0}, ts = {0};
    size_t H = (size_t)1 << bits;
    float *W = malloc(sizeof(float) * H * C), *b = malloc(sizeof(float) * (size_t)C);
    float *bw = malloc(sizeof(float) * H * C), *bb = malloc(sizeof(float) * (size_t)C);
    double *cnt = NULL;
    bh_head *plain = NULL; /* a head that has a layer already: read without it (the layer is replaced) */
    bh_status st = W && b && bw && bb ? BH_OK : bh__fail(BH_ENOMEM, "out of memory");
    int hb = bh_head_feat_bits(sh);
    if (!st && hb) {
        float *z = calloc(((size_t)1 << hb) * C + C, sizeof *z);
        st = z ? bh_head_seq_set_ngrams(sh, hb, z, z, 1, &plain) : bh__fail(BH_ENOMEM, "out of memory");
        free(z);
    }
    bh_head *base = plain ? plain : sh;
    if (!st) st = read_split(fm, base, o, bits, o->train, &tr, t0);
    if (!st) st = read_split(fm, base, o, bits, o->dev, &dv, t0);
    if (!st && o->test) st = read_split(fm, base, o, bits, o->test, &ts, t0);
    /* the grid: (a, l2) for the AdaGrad layer; (a, alpha, B) for naive Bayes */
    static const double as[] = {0, 0.5, 1}, l2s[] = {1e-4, 1e-3, 1e-2}, alphas[] = {0.1, 1}, Bs[] = {0.5, 1, 2, 3, 5, 8};
    int na = o->fixed_a >= 0 ? 1 : 3, nl = o->nb ? 2 : o->fixed_l2 >= 0 ? 1 : 3, nB = o->nb ? 6 : 1;
    double best = -1, best_ng = -1, ng_l2 = 0, f; /* ng_l2: the n-gram layer alone's l2 (NB: alpha) */
    if (!st) st = macro_f1(&dv, sh, NULL, NULL, 1, &res->dev_head);
    if (!st && o->nb) st = nb_counts(&tr, C, bits, &cnt);
    for (int i = 0; !st && i < na; i++)
        for (int j = 0; !st && j < nl; j++)
            for (int k = 0; !st && k < nB; k++) {
                double a = o->fixed_a >= 0 ? o->fixed_a : as[i];
                double l2 = o->nb ? 0 : o->fixed_l2 >= 0 ? o->fixed_l2 : l2s[j], alpha = o->nb ? alphas[j] : 0;
                double B = o->nb ? Bs[k] : 0;
                if (o->nb) fit_nb(&tr, cnt, C, bits, alpha, B, W, b);
                else if ((st = fit(&tr, C, bits, a, l2, o, W, b))) break;
                if ((st = macro_f1(&dv, sh, W, b, a, &f))) break;
                if (!o->quiet && o->nb)
                    fprintf(stderr, "bhasha fuse-ngrams: a %g alpha %g B %g: dev macro-F1 %.2f (%.0f s)\n", a, alpha, B, f,
                            bh__ft_now() - t0);
                else if (!o->quiet)
                    fprintf(stderr, "bhasha fuse-ngrams: a %g l2 %g: dev macro-F1 %.2f (%.0f s)\n", a, l2, f, bh__ft_now() - t0);
                if (a == 0 && f > best_ng) best_ng = f, ng_l2 = o->nb ? alpha : l2;
                if (f > best) {
                    best = f, res->a = a, res->l2 = l2, res->nb_alpha = alpha, res->nb_b = B;
                    memcpy(bw, W, sizeof(float) * H * C);
                    memcpy(bb, b, sizeof(float) * (size_t)C);
                }
            }
    res->dev_fused = best;
    res->dev_ngrams = best_ng;
    /* the kept layer: the chosen setting again on train + dev (as the baselines
     * are trained), unless no_refit; the n-gram layer alone likewise for its test score */
    split all = {0};
    const split *fin = &tr;
    if (!st && !o->no_refit && !(st = split_concat(&tr, &dv, C, &all))) fin = &all;
    if (!st && fin != &tr && !o->nb) st = fit(fin, C, bits, res->a, res->l2, o, bw, bb);
    if (!st && fin != &tr && o->nb) { /* the counts again, over train + dev */
        free(cnt);
        cnt = NULL;
        if (!(st = nb_counts(fin, C, bits, &cnt))) fit_nb(fin, cnt, C, bits, res->nb_alpha, res->nb_b, bw, bb);
    }
    if (!st && ts.n) {
        if (!(st = macro_f1(&ts, sh, NULL, NULL, 1, &res->test_head))) st = macro_f1(&ts, sh, bw, bb, res->a, &res->test_fused);
        if (!st && best_ng >= 0) {
            if (o->nb) fit_nb(fin, cnt, C, bits, ng_l2, 1, W, b);
            else st = fit(fin, C, bits, 0, ng_l2, o, W, b);
            if (!st) st = macro_f1(&ts, sh, W, b, 0, &res->test_ngrams);
        }
    }
    split_free(&all);
    free(cnt);
    bh_head_free(plain);
    if (!st) st = bh_head_seq_set_ngrams(sh, bits, bw, bb, (float)res->a, out);
    res->n_train = tr.n, res->n_dev = dv.n, res->n_test = ts.n;
    res->seconds = bh__ft_now() - t0;
    split_free(&tr), split_free(&dv), split_free(&ts);
    free(W), free(b), free(bw), free(bb);
    return st;
}
