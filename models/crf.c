/* models/crf.c — linear-chain CRF: forward-backward in log space for the
 * log-partition, marginals and the NLL gradient, Viterbi decoding, and the
 * transition constraint mask. See include/bhasha/crf.h for the model and the
 * packed batch layout. The CRF owns its parameter vector and mask; each call
 * allocates its own workspace, so const calls are reentrant. */
#include "bhasha/crf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct bh_crf {
    size_t L;
    double *params;  /* [L*L + 2L]: trans, start, end */
    uint8_t *ok;     /* [L*L + 2L]: same layout, 1 = allowed */
};

bh_status bh_crf_new(size_t n_labels, bh_crf **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_crf_new: NULL out");
    *out = NULL;
    if (n_labels < 1 || n_labels > 4096) return bh__fail(BH_EINVAL, "bh_crf_new: %zu labels (1..4096)", n_labels);
    bh_crf *c = calloc(1, sizeof *c);
    size_t np = n_labels * n_labels + 2 * n_labels;
    if (c) {
        c->L = n_labels;
        c->params = calloc(np, sizeof *c->params);
        c->ok = malloc(np);
    }
    if (!c || !c->params || !c->ok) {
        bh_crf_free(c);
        return bh__fail(BH_ENOMEM, "bh_crf_new");
    }
    memset(c->ok, 1, np);
    *out = c;
    return BH_OK;
}

void bh_crf_free(bh_crf *crf)
{
    if (!crf) return;
    free(crf->params);
    free(crf->ok);
    free(crf);
}

size_t bh_crf_n_labels(const bh_crf *crf) { return crf ? crf->L : 0; }
size_t bh_crf_n_params(const bh_crf *crf) { return crf ? crf->L * crf->L + 2 * crf->L : 0; }
double *bh_crf_params(bh_crf *crf) { return crf ? crf->params : NULL; }

/* True when at least one length-1 sequence is allowed. */
static int any_single(const bh_crf *c)
{
    const uint8_t *s = c->ok + c->L * c->L, *e = s + c->L;
    for (size_t j = 0; j < c->L; j++)
        if (s[j] && e[j]) return 1;
    return 0;
}

bh_status bh_crf_set_mask(bh_crf *crf, const uint8_t *trans_ok, const uint8_t *start_ok, const uint8_t *end_ok)
{
    if (!crf) return bh__fail(BH_EINVAL, "bh_crf_set_mask: NULL crf");
    size_t L = crf->L;
    uint8_t *ok = malloc(L * L + 2 * L);
    if (!ok) return bh__fail(BH_ENOMEM, "bh_crf_set_mask");
    for (size_t i = 0; i < L * L; i++) ok[i] = trans_ok ? trans_ok[i] != 0 : 1;
    for (size_t j = 0; j < L; j++) {
        ok[L * L + j] = start_ok ? start_ok[j] != 0 : 1;
        ok[L * L + L + j] = end_ok ? end_ok[j] != 0 : 1;
    }
    uint8_t *old = crf->ok;
    crf->ok = ok;
    if (!any_single(crf)) {
        crf->ok = old;
        free(ok);
        return bh__fail(BH_EINVAL, "bh_crf_set_mask: no label may both start and end a sentence");
    }
    free(old);
    return BH_OK;
}

/* Splits a label name into prefix letter ('O', 'B', 'I', 'E', 'S', or 0 for
 * no prefix) and type. L→E, U→S. Returns -1 when malformed. */
static int parse_label(const char *s, char *prefix, const char **type)
{
    if (!s || !*s) return -1;
    if (!strcmp(s, "O")) {
        *prefix = 'O';
        *type = "";
        return 0;
    }
    const char *dash = strchr(s, '-');
    if (!dash) {
        *prefix = 0;
        *type = s;
        return 0;
    }
    if (dash != s + 1 || !strchr("BIESLU", s[0]) || !dash[1]) return -1;
    *prefix = s[0] == 'L' ? 'E' : s[0] == 'U' ? 'S' : s[0];
    *type = dash + 1;
    return 0;
}

bh_status bh_crf_mask_tags(bh_crf *crf, const char *const *labels, size_t n_labels)
{
    if (!crf || !labels) return bh__fail(BH_EINVAL, "bh_crf_mask_tags: NULL argument");
    size_t L = crf->L;
    if (n_labels != L) return bh__fail(BH_ESHAPE, "bh_crf_mask_tags: %zu names for %zu labels", n_labels, L);
    char *pre = malloc(L);
    const char **type = malloc(L * sizeof *type);
    uint8_t *ok = malloc(L * L + 2 * L);
    bh_status st = BH_OK;
    if (!pre || !type || !ok) {
        st = bh__fail(BH_ENOMEM, "bh_crf_mask_tags");
        goto done;
    }
    int iobes = 0;
    for (size_t j = 0; j < L; j++) {
        if (parse_label(labels[j], &pre[j], &type[j])) {
            st = bh__fail(BH_EFORMAT, "bh_crf_mask_tags: label %zu \"%.40s\" is malformed", j,
                          labels[j] ? labels[j] : "(null)");
            goto done;
        }
        if (pre[j] == 'E' || pre[j] == 'S') iobes = 1;
    }
    for (size_t a = 0; a < L; a++) {
        int open = pre[a] == 'B' || pre[a] == 'I'; /* an entity that may continue */
        for (size_t b = 0; b < L; b++) {
            int cont = pre[b] == 'I' || pre[b] == 'E'; /* b continues an entity */
            int same = open && !strcmp(type[a], type[b]);
            int allowed = 1;
            if (cont && !same) allowed = 0;
            if (iobes && open && !(cont && same)) allowed = 0;
            ok[a * L + b] = (uint8_t)allowed;
        }
        ok[L * L + a] = !(pre[a] == 'I' || pre[a] == 'E');
        ok[L * L + L + a] = !(iobes && open);
    }
    st = bh_crf_set_mask(crf, ok, ok + L * L, ok + L * L + L);
done:
    free(pre);
    free(type);
    free(ok);
    return st;
}

/* ---- shared checks and numerics ------------------------------------------- */

static bh_status check(const bh_crf *c, const double *emis, size_t n_tokens, size_t n_labels, const size_t *lens,
                       size_t batch, const char *fn)
{
    if (!c || !lens || (!emis && n_tokens)) return bh__fail(BH_EINVAL, "%s: NULL argument", fn);
    if (batch == 0) return bh__fail(BH_EINVAL, "%s: empty batch", fn);
    if (n_labels != c->L) return bh__fail(BH_ESHAPE, "%s: emissions have %zu labels, the CRF %zu", fn, n_labels, c->L);
    size_t sum = 0;
    for (size_t b = 0; b < batch; b++) {
        if (lens[b] == 0) return bh__fail(BH_EINVAL, "%s: sentence %zu has no tokens", fn, b);
        if (lens[b] > n_tokens - sum) return bh__fail(BH_ESHAPE, "%s: lengths sum past %zu tokens", fn, n_tokens);
        sum += lens[b];
    }
    if (sum != n_tokens) return bh__fail(BH_ESHAPE, "%s: lengths sum to %zu, emissions have %zu rows", fn, sum, n_tokens);
    for (size_t i = 0; i < n_tokens * n_labels; i++)
        if (!isfinite(emis[i]))
            return bh__fail(BH_ENUMERIC, "%s: emission [%zu, %zu] is %s", fn, i / n_labels, i % n_labels,
                            isnan(emis[i]) ? "NaN" : "infinite");
    return BH_OK;
}

static bh_status no_path(size_t b, const char *fn)
{
    return bh__fail(BH_EINVAL, "%s: the constraint mask allows no label sequence for sentence %zu", fn, b);
}

/* log(sum(exp(v[0..n)))); -inf when every term is -inf. */
static double lse(const double *v, size_t n)
{
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (v[i] > m) m = v[i];
    if (m == -INFINITY) return m;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += exp(v[i] - m);
    return m + log(s);
}

/* Effective (masked) parameters: -inf where forbidden. Caller frees. */
static double *masked_params(const bh_crf *c)
{
    size_t np = c->L * c->L + 2 * c->L;
    double *p = malloc(np * sizeof *p);
    if (!p) return NULL;
    for (size_t i = 0; i < np; i++) p[i] = c->ok[i] ? c->params[i] : -INFINITY;
    return p;
}

/* Forward pass of one sentence: alpha [T, L]; returns log Z. tmp [L]. */
static double forward(const double *P, size_t L, const double *e, size_t T, double *alpha, double *tmp)
{
    const double *tr = P, *st = P + L * L, *en = st + L;
    for (size_t j = 0; j < L; j++) alpha[j] = st[j] + e[j];
    for (size_t t = 1; t < T; t++) {
        const double *ap = alpha + (t - 1) * L;
        for (size_t j = 0; j < L; j++) {
            for (size_t i = 0; i < L; i++) tmp[i] = ap[i] + tr[i * L + j];
            alpha[t * L + j] = lse(tmp, L) + e[t * L + j];
        }
    }
    for (size_t j = 0; j < L; j++) tmp[j] = alpha[(T - 1) * L + j] + en[j];
    return lse(tmp, L);
}

/* Backward pass: beta [T, L], beta[t][i] = log sum over continuations from label i at t. */
static void backward(const double *P, size_t L, const double *e, size_t T, double *beta, double *tmp)
{
    const double *tr = P, *en = P + L * L + L;
    for (size_t i = 0; i < L; i++) beta[(T - 1) * L + i] = en[i];
    for (size_t t = T - 1; t-- > 0;) {
        const double *bn = beta + (t + 1) * L, *en1 = e + (t + 1) * L;
        for (size_t i = 0; i < L; i++) {
            for (size_t j = 0; j < L; j++) tmp[j] = tr[i * L + j] + en1[j] + bn[j];
            beta[t * L + i] = lse(tmp, L);
        }
    }
}

/* Workspace for the longest sentence of a batch. */
typedef struct {
    double *P, *alpha, *beta, *tmp;
} work;

static void work_free(work *w)
{
    free(w->P);
    free(w->alpha);
    free(w->beta);
    free(w->tmp);
}

static bh_status work_new(const bh_crf *c, const size_t *lens, size_t batch, int need_beta, work *w)
{
    size_t T = 0, L = c->L;
    for (size_t b = 0; b < batch; b++)
        if (lens[b] > T) T = lens[b];
    memset(w, 0, sizeof *w);
    w->P = masked_params(c);
    w->alpha = malloc(T * L * sizeof(double));
    w->beta = need_beta ? malloc(T * L * sizeof(double)) : NULL;
    w->tmp = malloc(L * sizeof(double));
    if (!w->P || !w->alpha || (need_beta && !w->beta) || !w->tmp) {
        work_free(w);
        return bh__fail(BH_ENOMEM, "crf workspace for %zu tokens", T);
    }
    return BH_OK;
}

bh_status bh_crf_log_partition(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                               const size_t *lens, size_t batch, double *logz)
{
    bh_status st = check(crf, emis, n_tokens, n_labels, lens, batch, "bh_crf_log_partition");
    if (st) return st;
    if (!logz) return bh__fail(BH_EINVAL, "bh_crf_log_partition: NULL logz");
    work w;
    if ((st = work_new(crf, lens, batch, 0, &w))) return st;
    size_t off = 0;
    for (size_t b = 0; b < batch; b++) {
        logz[b] = forward(w.P, crf->L, emis + off * crf->L, lens[b], w.alpha, w.tmp);
        if (logz[b] == -INFINITY) {
            work_free(&w);
            return no_path(b, "bh_crf_log_partition");
        }
        off += lens[b];
    }
    work_free(&w);
    return BH_OK;
}

/* Marginals of one sentence from alpha, beta and log Z into m [T, L]. */
static void node_marginals(size_t L, size_t T, const double *alpha, const double *beta, double logz, double *m)
{
    for (size_t k = 0; k < T * L; k++) m[k] = exp(alpha[k] + beta[k] - logz);
}

bh_status bh_crf_marginals(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                           const size_t *lens, size_t batch, double *marg, double *logz)
{
    bh_status st = check(crf, emis, n_tokens, n_labels, lens, batch, "bh_crf_marginals");
    if (st) return st;
    if (!marg) return bh__fail(BH_EINVAL, "bh_crf_marginals: NULL marg");
    work w;
    if ((st = work_new(crf, lens, batch, 1, &w))) return st;
    size_t L = crf->L, off = 0;
    for (size_t b = 0; b < batch; b++) {
        const double *e = emis + off * L;
        double z = forward(w.P, L, e, lens[b], w.alpha, w.tmp);
        if (z == -INFINITY) {
            work_free(&w);
            return no_path(b, "bh_crf_marginals");
        }
        backward(w.P, L, e, lens[b], w.beta, w.tmp);
        node_marginals(L, lens[b], w.alpha, w.beta, z, marg + off * L);
        if (logz) logz[b] = z;
        off += lens[b];
    }
    work_free(&w);
    return BH_OK;
}

bh_status bh_crf_nll(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels, const size_t *lens,
                     size_t batch, const int32_t *tags, double *nll, double *d_emis, double *d_params)
{
    bh_status st = check(crf, emis, n_tokens, n_labels, lens, batch, "bh_crf_nll");
    if (st) return st;
    if (!tags || !nll) return bh__fail(BH_EINVAL, "bh_crf_nll: NULL tags or nll");
    size_t L = crf->L;
    for (size_t i = 0; i < n_tokens; i++)
        if (tags[i] < 0 || (size_t)tags[i] >= L)
            return bh__fail(BH_EINVAL, "bh_crf_nll: tag %zu is %d (labels 0..%zu)", i, (int)tags[i], L - 1);
    /* gold path must be allowed, else its probability is zero and the NLL infinite */
    size_t off = 0;
    for (size_t b = 0; b < batch; b++) {
        const int32_t *y = tags + off;
        size_t T = lens[b];
        size_t bad = (size_t)-1;
        if (!crf->ok[L * L + y[0]]) bad = 0;
        for (size_t t = 1; t < T && bad == (size_t)-1; t++)
            if (!crf->ok[y[t - 1] * L + y[t]]) bad = t;
        if (bad == (size_t)-1 && !crf->ok[L * L + L + y[T - 1]]) bad = T - 1;
        if (bad != (size_t)-1)
            return bh__fail(BH_EINVAL, "bh_crf_nll: gold tags of sentence %zu break the constraint mask at token %zu", b,
                            bad);
        off += T;
    }
    int grads = d_emis || d_params;
    work w;
    if ((st = work_new(crf, lens, batch, grads, &w))) return st;
    double total = 0;
    const double *tr = crf->params, *sp = tr + L * L, *ep = sp + L;
    double *gtr = d_params, *gsp = d_params ? d_params + L * L : NULL, *gep = gsp ? gsp + L : NULL;
    off = 0;
    for (size_t b = 0; b < batch; b++) {
        const double *e = emis + off * L;
        const int32_t *y = tags + off;
        size_t T = lens[b];
        double z = forward(w.P, L, e, T, w.alpha, w.tmp);
        double gold = sp[y[0]] + ep[y[T - 1]];
        for (size_t t = 0; t < T; t++) gold += e[t * L + y[t]];
        for (size_t t = 1; t < T; t++) gold += tr[y[t - 1] * L + y[t]];
        total += z - gold;
        if (grads) {
            backward(w.P, L, e, T, w.beta, w.tmp);
            if (d_emis) {
                /* dNLL/de[t][j] = p(y_t = j) - [gold_t = j] */
                double *g = d_emis + off * L;
                node_marginals(L, T, w.alpha, w.beta, z, g);
                for (size_t t = 0; t < T; t++) g[t * L + y[t]] -= 1;
            }
            if (d_params) {
                for (size_t j = 0; j < L; j++) {
                    gsp[j] += exp(w.alpha[j] + w.beta[j] - z);
                    gep[j] += exp(w.alpha[(T - 1) * L + j] + w.beta[(T - 1) * L + j] - z);
                }
                gsp[y[0]] -= 1;
                gep[y[T - 1]] -= 1;
                /* pair marginals p(y_{t-1} = i, y_t = j) */
                for (size_t t = 1; t < T; t++) {
                    const double *a = w.alpha + (t - 1) * L, *bt = w.beta + t * L, *et = e + t * L;
                    for (size_t i = 0; i < L; i++) {
                        if (a[i] == -INFINITY) continue;
                        for (size_t j = 0; j < L; j++) {
                            double v = a[i] + w.P[i * L + j] + et[j] + bt[j] - z;
                            if (v > -INFINITY) gtr[i * L + j] += exp(v);
                        }
                    }
                    gtr[y[t - 1] * L + y[t]] -= 1;
                }
            }
        }
        off += T;
    }
    work_free(&w);
    if (!isfinite(total)) return bh__fail(BH_ENUMERIC, "bh_crf_nll: the loss is %g", total);
    *nll = total;
    return BH_OK;
}

bh_status bh_crf_viterbi(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                         const size_t *lens, size_t batch, int32_t *path, double *score)
{
    bh_status st = check(crf, emis, n_tokens, n_labels, lens, batch, "bh_crf_viterbi");
    if (st) return st;
    if (!path) return bh__fail(BH_EINVAL, "bh_crf_viterbi: NULL path");
    size_t L = crf->L, T = 0;
    for (size_t b = 0; b < batch; b++)
        if (lens[b] > T) T = lens[b];
    double *P = masked_params(crf);
    double *d = malloc(2 * L * sizeof *d);
    int32_t *bp = malloc(T * L * sizeof *bp);
    if (!P || !d || !bp) {
        free(P);
        free(d);
        free(bp);
        return bh__fail(BH_ENOMEM, "bh_crf_viterbi: %zu tokens", T);
    }
    const double *tr = P, *sp = P + L * L, *ep = sp + L;
    size_t off = 0;
    for (size_t b = 0; b < batch; b++) {
        const double *e = emis + off * L;
        size_t n = lens[b];
        double *cur = d, *nxt = d + L;
        for (size_t j = 0; j < L; j++) cur[j] = sp[j] + e[j];
        for (size_t t = 1; t < n; t++) {
            for (size_t j = 0; j < L; j++) {
                double best = -INFINITY;
                int32_t arg = 0;
                for (size_t i = 0; i < L; i++) {
                    double v = cur[i] + tr[i * L + j];
                    if (v > best) {
                        best = v;
                        arg = (int32_t)i;
                    }
                }
                nxt[j] = best + e[t * L + j];
                bp[t * L + j] = arg;
            }
            double *sw = cur;
            cur = nxt;
            nxt = sw;
        }
        double best = -INFINITY;
        int32_t arg = 0;
        for (size_t j = 0; j < L; j++) {
            double v = cur[j] + ep[j];
            if (v > best) {
                best = v;
                arg = (int32_t)j;
            }
        }
        if (best == -INFINITY) {
            free(P);
            free(d);
            free(bp);
            return no_path(b, "bh_crf_viterbi");
        }
        int32_t *y = path + off;
        y[n - 1] = arg;
        for (size_t t = n - 1; t > 0; t--) y[t - 1] = bp[t * L + y[t]];
        if (score) score[b] = best;
        off += n;
    }
    free(P);
    free(d);
    free(bp);
    return BH_OK;
}
