/* models/generate.c — decoder inference with a KV cache, and token sampling
 * (greedy, temperature, top-k, top-p, repetition penalty).
 *
 * The cache keeps, per block, K and V of every position so far: [L, Tmax, D]
 * each. Feeding n new tokens runs the blocks on those n rows only; their
 * queries attend to the cached keys 0..pos+i (causal). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/layers.h"
#include "models/transformer.h"

struct bh_gen {
    bh_model *m;
    int pos;
    float *k, *v;          /* [L, Tmax, D] */
    float *x, *ln, *qkv, *atty, *tmp, *fch, *fchg, *mean, *rstd, *scores; /* scratch for n <= Tmax rows */
    float *buf;
};

bh_status bh_gen_new(bh_model *m, bh_gen **out)
{
    if (!m || !out) return bh__fail(BH_EINVAL, "bh_gen_new: NULL argument");
    if (m->c.arch != BH_ARCH_DECODER) return bh__fail(BH_EINVAL, "bh_gen_new: the model is not a decoder");
    bh_gen *g = calloc(1, sizeof *g);
    if (!g) return bh__fail(BH_ENOMEM, "out of memory");
    size_t T = (size_t)m->c.max_len, D = (size_t)m->c.dim, F = (size_t)m->c.ffn, L = (size_t)m->c.layers;
    size_t total = 2 * L * T * D + T * D * 5 + T * 3 * D + 2 * T * F + 2 * T + T * T;
    g->buf = malloc(total * sizeof(float));
    if (!g->buf) {
        free(g);
        return bh__fail(BH_ENOMEM, "generation: cannot allocate the KV cache");
    }
    float *p = g->buf;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(g->k, L * T * D);
    TAKE(g->v, L * T * D);
    TAKE(g->x, T * D);
    TAKE(g->ln, T * D);
    TAKE(g->atty, T * D);
    TAKE(g->tmp, T * D);
    TAKE(g->qkv, T * 3 * D);
    TAKE(g->fch, T * F);
    TAKE(g->fchg, T * F);
    TAKE(g->mean, T);
    TAKE(g->rstd, T);
    TAKE(g->scores, T * T);
    p += T * D;
#undef TAKE
    g->m = m;
    *out = g;
    return BH_OK;
}

void bh_gen_free(bh_gen *g)
{
    if (!g) return;
    free(g->buf);
    free(g);
}

void bh_gen_reset(bh_gen *g)
{
    if (g) g->pos = 0;
}

int bh_gen_pos(const bh_gen *g) { return g ? g->pos : 0; }

/* out[n,nout] = x . w^T + b through the bf16 kernel when the model's
 * precision says so (j: the block's linear, 4*layer + qkv/proj/fc/fc2) */
static void glinear(bh_model *m, int j, float *out, const float *x, const float *w, const float *b, int n, int nin,
                    int nout)
{
    if (m->bf16) bh__bf16_linear(m->pool, out, x, &m->bf16[j], b, n, 0, m->bfs);
    else bh__linear_fwd(m->pool, out, x, w, b, n, nin, nout);
}

bh_status bh_gen_feed(bh_gen *g, const int32_t *ids, int n, float *logits)
{
    if (!g || !ids || n < 1) return bh__fail(BH_EINVAL, "bh_gen_feed: bad arguments");
    bh_model *m = g->m;
    const bh_model_config *c = &m->c;
    int D = c->dim, F = c->ffn, H = c->heads, hd = D / H, T = c->max_len, V = c->vocab;
    /* n > T - pos, not pos + n > T: a huge n must not wrap the sum around */
    if (n > T - g->pos)
        return bh__fail(BH_ELIMIT, "generation: context of %lld tokens exceeds max_len %d", (long long)g->pos + n, T);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return bh__fail(BH_EINVAL, "generation: token id %d out of range [0,%d)", ids[i], V);
    if (m->bf16) {
        bh_status st = bh__model_bf16_ready(m, logits != NULL);
        if (st) return st;
    }
    const bh__weights *w = &m->w;
    int p0 = g->pos, nk = p0 + n;
    float scale = 1.0f / sqrtf((float)hd);
    size_t ND = (size_t)n * D;
    for (int i = 0; i < n; i++) {
        const float *e = w->wte + (size_t)ids[i] * D, *pe = w->wpe + (size_t)(p0 + i) * D;
        for (int d = 0; d < D; d++) g->x[(size_t)i * D + d] = e[d] + pe[d];
    }
    for (int l = 0; l < c->layers; l++) {
        const bh__layer_w *p = &w->l[l];
        float *K = g->k + (size_t)l * T * D, *Vc = g->v + (size_t)l * T * D;
        bh__layernorm_fwd(m->pool, g->ln, g->mean, g->rstd, g->x, p->ln1_w, p->ln1_b, n, D, c->ln_eps);
        glinear(m, 4 * l, g->qkv, g->ln, p->qkv_w, p->qkv_b, n, D, 3 * D);
        for (int i = 0; i < n; i++) {
            memcpy(K + (size_t)(p0 + i) * D, g->qkv + (size_t)i * 3 * D + D, (size_t)D * sizeof(float));
            memcpy(Vc + (size_t)(p0 + i) * D, g->qkv + (size_t)i * 3 * D + 2 * D, (size_t)D * sizeof(float));
        }
        for (int h = 0; h < H; h++) {
            const float *q = g->qkv + (size_t)h * hd;
            /* scores[n,nk] = scale * q[n,hd] . K[nk,hd]^T (one new token: K . q) */
            if (n == 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, nk, hd, scale, K + (size_t)h * hd, D, q, 1, 0.0f,
                            g->scores, 1);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nk, hd, scale, q, 3 * D,
                            K + (size_t)h * hd, D, 0.0f, g->scores, nk);
            for (int i = 0; i < n; i++) {
                float *row = g->scores + (size_t)i * nk;
                int lim = p0 + i + 1; /* causal */
                float mx = row[0];
                for (int j = 1; j < lim; j++) mx = row[j] > mx ? row[j] : mx;
                float s = 0.0f;
                for (int j = 0; j < lim; j++) {
                    row[j] = expf(row[j] - mx);
                    s += row[j];
                }
                for (int j = 0; j < lim; j++) row[j] /= s;
                for (int j = lim; j < nk; j++) row[j] = 0.0f;
            }
            /* atty[n,hd] = scores[n,nk] . V[nk,hd] (one new token: V^T . scores) */
            if (n == 1)
                cblas_sgemv(CblasRowMajor, CblasTrans, nk, hd, 1.0f, Vc + (size_t)h * hd, D, g->scores, 1,
                            0.0f, g->atty + (size_t)h * hd, 1);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, nk, 1.0f, g->scores, nk,
                            Vc + (size_t)h * hd, D, 0.0f, g->atty + (size_t)h * hd, D);
        }
        glinear(m, 4 * l + 1, g->tmp, g->atty, p->proj_w, p->proj_b, n, D, D);
        bh__add(m->pool, g->x, g->x, g->tmp, ND);
        bh__layernorm_fwd(m->pool, g->ln, g->mean, g->rstd, g->x, p->ln2_w, p->ln2_b, n, D, c->ln_eps);
        if (m->bf16) { /* GELU fused into the product */
            bh__bf16_linear(m->pool, g->fchg, g->ln, &m->bf16[4 * l + 2], p->fc_b, n, 1, m->bfs);
        } else {
            bh__linear_fwd(m->pool, g->fch, g->ln, p->fc_w, p->fc_b, n, D, F);
            bh__gelu_fwd(m->pool, g->fchg, g->fch, (size_t)n * F);
        }
        glinear(m, 4 * l + 3, g->tmp, g->fchg, p->fc2_w, p->fc2_b, n, F, D);
        bh__add(m->pool, g->x, g->x, g->tmp, ND);
    }
    g->pos = nk;
    if (logits) {
        const float *last = g->x + (size_t)(n - 1) * D;
        bh__layernorm_fwd(m->pool, g->ln, g->mean, g->rstd, last, w->lnf_w, w->lnf_b, 1, D, c->ln_eps);
        /* logits[V] = wte[V,D] . ln[D] */
        if (m->bf16) bh__bf16_linear(m->pool, logits, g->ln, &m->bf16_wte, NULL, 1, 0, m->bfs);
        else bh__gemv(m->pool, logits, w->wte, g->ln, V, D, 0);
    }
    return BH_OK;
}

/* ---------------------------------------------------------------- sampling */

void bh_sample_config_default(bh_sample_config *c)
{
    c->temperature = 0.0f;
    c->top_k = 0;
    c->top_p = 1.0f;
    c->repetition_penalty = 1.0f;
}

typedef struct {
    float p;
    int id;
} cand;

/* A total order only without NaN, which bh_sample ensures: qsort with an
 * inconsistent comparator is undefined. */
static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id - y->id;
}

int bh_sample(float *logits, int V, const bh_sample_config *c, const int32_t *history, int nh,
              uint64_t *rng)
{
    /* CTRL-style penalty, once per distinct token seen: positive logits are
     * divided by it, negative ones multiplied. */
    if (c->repetition_penalty > 0.0f && c->repetition_penalty != 1.0f)
        for (int i = 0; i < nh; i++) {
            int t = history[i], seen = 0;
            if (t < 0 || t >= V) continue;
            for (int j = 0; j < i && !seen; j++) seen = history[j] == t;
            if (seen) continue;
            if (logits[t] > 0.0f) logits[t] /= c->repetition_penalty;
            else logits[t] *= c->repetition_penalty;
        }
    /* NaN (a diverged model) counts as -inf: never above any other logit,
     * so the first maximum is well defined and no NaN reaches the weights */
    int best = 0;
    for (int i = 0; i < V; i++) {
        if (isnan(logits[i])) logits[i] = -INFINITY;
        if (logits[i] > logits[best]) best = i;
    }
    if (!(c->temperature > 0.0f)) return best;
    /* +inf outweighs every finite logit at any temperature (and +inf - +inf
     * would be NaN); all -inf leaves nothing to weigh, so token 0 */
    if (isinf(logits[best])) return best;
    cand *cs = malloc((size_t)V * sizeof *cs);
    if (!cs) return best;
    float mx = logits[best];
    for (int i = 0; i < V; i++) {
        /* -inf weighs 0 even at an infinite temperature (-inf / inf is NaN) */
        cs[i].p = logits[i] == -INFINITY ? 0.0f : expf((logits[i] - mx) / c->temperature);
        cs[i].id = i;
    }
    qsort(cs, (size_t)V, sizeof *cs, cmp_cand);
    int n = V;
    if (c->top_k > 0 && c->top_k < n) n = c->top_k;
    double total = 0.0;
    for (int i = 0; i < n; i++) total += cs[i].p;
    if (c->top_p > 0.0f && c->top_p < 1.0f) {
        double acc = 0.0;
        for (int i = 0; i < n; i++) {
            acc += cs[i].p / total;
            if (acc >= c->top_p) {
                n = i + 1;
                break;
            }
        }
        total = 0.0;
        for (int i = 0; i < n; i++) total += cs[i].p;
    }
    double r = (double)(bh_rng_next(rng) >> 11) / 9007199254740992.0 * total;
    int pick = cs[n - 1].id;
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += cs[i].p;
        if (r < acc) {
            pick = cs[i].id;
            break;
        }
    }
    free(cs);
    return pick;
}
