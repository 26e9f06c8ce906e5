/* models/heads.c — sequence- and token-classification heads over the encoder's
 * final hidden states: forward, loss and backward side by side, decoding, and
 * their place in the encoder's checkpoint (see include/bhasha/heads.h).
 *
 * A head keeps its tensors in one float array (layout in `tensors`, offsets in
 * floats) with a gradient array of the same shape, like bh_model, so the
 * AdamW of models/optim.c updates it unchanged. Tensors, by kind:
 *   sequence: [dense.w [D,D], dense.b [D]], out.w [C,D], out.b [C],
 *             [feat.w [2^bits, C], feat.b [C], feat.a [1]: the n-gram layer]
 *   token:    out.w [C,D], out.b [C], [crf.trans [C,C], crf.start [C], crf.end [C]],
 *             [feat.w [2^bits, C]: a weight per hashed word feature and label]
 *   span:     out.w [2,D], out.b [2] (row 0 start, row 1 end; labels "start", "end")
 * The three CRF tensors are contiguous in bh_crf's own parameter order
 * (trans, start, end), so they are copied to its double vector in one loop. */
#include "bhasha/heads.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/crf.h"
#include "core/error.h"
#include "models/crf_tagger.h"
#include "models/layers.h"
#include "models/text_features.h"
#include "models/transformer.h"

#define MAX_TENSORS 8
#define NFEAT BH_CRF_NFEAT

struct bh_head {
    bh_head_kind kind;
    char name[32];
    int D, C;
    char **labels;      /* [C] */
    bh_head_pool pool;
    int dense, crf;
    int fbits;          /* log2 rows of feat.w (token: word features; sequence: n-grams), 0 = none */
    int ntensors;
    bh__tensor tensors[MAX_TENSORS];
    size_t nparams;
    float *params, *grads;
    float *dense_w, *dense_b, *out_w, *out_b, *crf_p, *feat_w, *feat_b, *feat_a; /* into params (NULL when absent) */
    bh_crf *crfobj;     /* token heads with crf: mask from the label names */
    char *prefix;       /* [C] tag prefix letter ('B', 'I', 'O', 0 = none) for the BIO repair */
    int *begin_of;      /* [C] for an I-X label, the index of B-X (-1 if none) */
};

/* ------------------------------------------------------------------ helpers */

static double rng_normal(uint64_t *s)
{
    double u1 = ((bh_rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (bh_rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void add_tensor(bh_head *h, const char *name, int d0, int d1)
{
    bh__tensor *t = &h->tensors[h->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->off = h->nparams;
    t->n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    h->nparams += t->n;
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 31) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Softmax of row[0..n) in place (max subtracted); returns log of the sum of
 * exp(row - max), so log p_j = row_j - max - lse. */
static void softmax(float *row, int n)
{
    float mx = row[0];
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    double s = 0;
    for (int j = 0; j < n; j++) s += exp((double)row[j] - mx);
    for (int j = 0; j < n; j++) row[j] = (float)(exp((double)row[j] - mx) / s);
}

/* -log softmax(row)[y] computed in double from the logits. */
static double xent(const float *row, int n, int y)
{
    float mx = row[0];
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    double s = 0;
    for (int j = 0; j < n; j++) s += exp((double)row[j] - mx);
    return log(s) - ((double)row[y] - mx);
}

/* --------------------------------------------------------------- lifecycle */

/* Prefix letter and B-X partner of every label, for the greedy BIO repair. */
static bh_status tag_tables(bh_head *h)
{
    h->prefix = calloc((size_t)h->C, 1);
    h->begin_of = malloc(sizeof(int) * (size_t)h->C);
    if (!h->prefix || !h->begin_of) return bh__fail(BH_ENOMEM, "head: out of memory");
    for (int j = 0; j < h->C; j++) {
        const char *s = h->labels[j];
        h->begin_of[j] = -1;
        if (!strcmp(s, "O")) h->prefix[j] = 'O';
        else if ((s[0] == 'B' || s[0] == 'I') && s[1] == '-' && s[2]) h->prefix[j] = s[0];
    }
    for (int j = 0; j < h->C; j++) {
        if (h->prefix[j] != 'I') continue;
        for (int k = 0; k < h->C; k++)
            if (h->prefix[k] == 'B' && !strcmp(h->labels[k] + 2, h->labels[j] + 2)) h->begin_of[j] = k;
    }
    return BH_OK;
}

bh_status bh_head_new(const bh_head_config *c, uint64_t seed, bh_head **out)
{
    if (!c || !out) return bh__fail(BH_EINVAL, "bh_head_new: NULL argument");
    *out = NULL;
    if (c->kind != BH_HEAD_SEQUENCE && c->kind != BH_HEAD_TOKEN && c->kind != BH_HEAD_SPAN)
        return bh__fail(BH_EINVAL, "bh_head_new: unknown kind %d", (int)c->kind);
    if (c->kind == BH_HEAD_SPAN) { /* fixed outputs: the config's labels do not matter */
        static const char *const span_labels[] = {"start", "end"};
        bh_head_config sc = *c;
        sc.kind = BH_HEAD_TOKEN; /* validated as a plain two-label token head, then retyped */
        sc.n_labels = 2;
        sc.labels = span_labels;
        sc.crf = 0;
        if (c->feat_bits) return bh__fail(BH_EINVAL, "bh_head_new: feat_bits: token and sequence heads only");
        bh_status st = bh_head_new(&sc, seed, out);
        if (!st) (*out)->kind = BH_HEAD_SPAN;
        return st;
    }
    if (!valid_name(c->name))
        return bh__fail(BH_EINVAL, "bh_head_new: name \"%.40s\" must be 1-31 of A-Z a-z 0-9 _ -",
                        c->name ? c->name : "(null)");
    if (c->dim < 1 || c->dim > 65536) return bh__fail(BH_EINVAL, "bh_head_new: dim %d out of range", c->dim);
    if (c->n_labels < 1 || c->n_labels > 4096)
        return bh__fail(BH_EINVAL, "bh_head_new: %d labels (1..4096)", c->n_labels);
    if (!c->labels) return bh__fail(BH_EINVAL, "bh_head_new: NULL labels");
    if (c->feat_bits && (c->feat_bits < 12 || c->feat_bits > 24))
        return bh__fail(BH_EINVAL, "bh_head_new: feat_bits %d (12..24)", c->feat_bits);
    if (c->kind == BH_HEAD_SEQUENCE && c->pool != BH_POOL_MEAN && c->pool != BH_POOL_CLS)
        return bh__fail(BH_EINVAL, "bh_head_new: unknown pooling %d", (int)c->pool);
    for (int i = 0; i < c->n_labels; i++) {
        if (!c->labels[i] || !c->labels[i][0] || strlen(c->labels[i]) > 255)
            return bh__fail(BH_EINVAL, "bh_head_new: label %d is empty or longer than 255 bytes", i);
        for (int j = 0; j < i; j++)
            if (!strcmp(c->labels[i], c->labels[j]))
                return bh__fail(BH_EINVAL, "bh_head_new: label \"%.60s\" appears twice", c->labels[i]);
    }
    bh_head *h = calloc(1, sizeof *h);
    if (!h) return bh__fail(BH_ENOMEM, "head: out of memory");
    h->kind = c->kind;
    snprintf(h->name, sizeof h->name, "%s", c->name);
    h->D = c->dim;
    h->C = c->n_labels;
    h->pool = c->kind == BH_HEAD_SEQUENCE ? c->pool : BH_POOL_MEAN;
    h->dense = c->kind == BH_HEAD_SEQUENCE && c->dense;
    h->crf = c->kind == BH_HEAD_TOKEN && c->crf;
    h->fbits = c->feat_bits;
    bh_status st = BH_OK;
    h->labels = calloc((size_t)h->C, sizeof *h->labels);
    if (!h->labels) {
        st = bh__fail(BH_ENOMEM, "head: out of memory");
        goto fail;
    }
    for (int i = 0; i < h->C; i++)
        if (!(h->labels[i] = strdup(c->labels[i]))) {
            st = bh__fail(BH_ENOMEM, "head: out of memory");
            goto fail;
        }
    int D = h->D, C = h->C;
    if (h->dense) {
        add_tensor(h, "dense.w", D, D);
        add_tensor(h, "dense.b", D, 0);
    }
    add_tensor(h, "out.w", C, D);
    add_tensor(h, "out.b", C, 0);
    if (h->crf) {
        add_tensor(h, "crf.trans", C, C);
        add_tensor(h, "crf.start", C, 0);
        add_tensor(h, "crf.end", C, 0);
    }
    if (h->fbits) add_tensor(h, "feat.w", 1 << h->fbits, C);
    if (h->fbits && h->kind == BH_HEAD_SEQUENCE) {
        add_tensor(h, "feat.b", C, 0);
        add_tensor(h, "feat.a", 1, 0);
    }
    h->params = calloc(h->nparams, sizeof(float));
    h->grads = calloc(h->nparams, sizeof(float));
    if (!h->params || !h->grads) {
        st = bh__fail(BH_ENOMEM, "head: cannot allocate %zu parameters", h->nparams);
        goto fail;
    }
    int k = 0;
    if (h->dense) {
        h->dense_w = h->params + h->tensors[k++].off;
        h->dense_b = h->params + h->tensors[k++].off;
    }
    h->out_w = h->params + h->tensors[k++].off;
    h->out_b = h->params + h->tensors[k++].off;
    if (h->crf) {
        h->crf_p = h->params + h->tensors[k].off;
        k += 3;
    }
    if (h->fbits) h->feat_w = h->params + h->tensors[k++].off;
    if (h->fbits && h->kind == BH_HEAD_SEQUENCE) {
        h->feat_b = h->params + h->tensors[k++].off;
        h->feat_a = h->params + h->tensors[k].off;
        h->feat_a[0] = 1.0f;
    }
    uint64_t rng = seed; /* linear layers random; CRF scores and feature weights start at 0 */
    for (int i = 0; i < h->ntensors; i++)
        if (h->tensors[i].ndim == 2 && strncmp(h->tensors[i].name, "crf.", 4) && strncmp(h->tensors[i].name, "feat.", 5))
            for (size_t j = 0; j < h->tensors[i].n; j++)
                h->params[h->tensors[i].off + j] = (float)(0.02 * rng_normal(&rng));
    if (h->kind == BH_HEAD_TOKEN && (st = tag_tables(h))) goto fail;
    if (h->crf) {
        if ((st = bh_crf_new((size_t)C, &h->crfobj))) goto fail;
        if ((st = bh_crf_mask_tags(h->crfobj, (const char *const *)h->labels, (size_t)C))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "head %s: the CRF needs tag names: %s", h->name, detail);
            goto fail;
        }
    }
    *out = h;
    return BH_OK;
fail:
    bh_head_free(h);
    return st;
}

void bh_head_free(bh_head *h)
{
    if (!h) return;
    for (int i = 0; h->labels && i < h->C; i++) free(h->labels[i]);
    free(h->labels);
    free(h->params);
    free(h->grads);
    free(h->prefix);
    free(h->begin_of);
    bh_crf_free(h->crfobj);
    free(h);
}

bh_head_kind bh_head_get_kind(const bh_head *h) { return h ? h->kind : (bh_head_kind)0; }
const char *bh_head_name(const bh_head *h) { return h ? h->name : NULL; }
int bh_head_dim(const bh_head *h) { return h ? h->D : 0; }
int bh_head_has_crf(const bh_head *h) { return h ? h->crf : 0; }
int bh_head_feat_bits(const bh_head *h) { return h ? h->fbits : 0; }
bh_head_pool bh_head_get_pool(const bh_head *h) { return h ? h->pool : BH_POOL_MEAN; }
int bh_head_n_labels(const bh_head *h) { return h ? h->C : 0; }

const char *bh_head_label(const bh_head *h, int i)
{
    return h && i >= 0 && i < h->C ? h->labels[i] : NULL;
}

int bh_head_label_index(const bh_head *h, const char *name)
{
    for (int i = 0; h && name && i < h->C; i++)
        if (!strcmp(h->labels[i], name)) return i;
    return -1;
}

int bh_head_num_tensors(const bh_head *h) { return h ? h->ntensors : 0; }

bh_status bh_head_tensor(const bh_head *h, int i, bh_tensor_info *out)
{
    if (!h || !out) return bh__fail(BH_EINVAL, "bh_head_tensor: NULL argument");
    if (i < 0 || i >= h->ntensors) return bh__fail(BH_ENOTFOUND, "bh_head_tensor: index %d out of range", i);
    const bh__tensor *t = &h->tensors[i];
    out->name = t->name;
    out->ndim = t->ndim;
    out->shape[0] = t->shape[0];
    out->shape[1] = t->ndim == 2 ? t->shape[1] : 0;
    out->data = h->params + t->off;
    out->grad = h->grads + t->off;
    return BH_OK;
}

void bh_head_zero_grad(bh_head *h)
{
    if (h) memset(h->grads, 0, h->nparams * sizeof(float));
}

float bh_head_clip_grad(bh_head *h, bh_model *m, float max_norm)
{
    double s = 0.0;
    if (h)
        for (size_t i = 0; i < h->nparams; i++) s += (double)h->grads[i] * h->grads[i];
    float mn = m ? bh_model_clip_grad(m, 0.0f) : 0.0f; /* norm only */
    s += (double)mn * mn;
    float norm = (float)sqrt(s);
    if (max_norm > 0.0f && norm > max_norm) {
        float k = max_norm / (norm + 1e-6f);
        if (h)
            for (size_t i = 0; i < h->nparams; i++) h->grads[i] *= k;
        if (m && m->grads)
            for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= k;
    }
    return norm;
}

static bh_status check_call(const bh_head *h, bh_head_kind kind, const float *hidden, int B, int T, int D,
                            const char *fn)
{
    if (!h || !hidden) return bh__fail(BH_EINVAL, "%s: NULL argument", fn);
    if (h->kind != kind)
        return bh__fail(BH_EINVAL, "%s: head %s is a %s head", fn, h->name,
                        h->kind == BH_HEAD_SEQUENCE ? "sequence" : h->kind == BH_HEAD_TOKEN ? "token" : "span");
    if (B < 1 || T < 1) return bh__fail(BH_EINVAL, "%s: bad batch (B=%d, T=%d)", fn, B, T);
    if ((size_t)B * T > (size_t)1 << 26) return bh__fail(BH_ELIMIT, "%s: batch too large", fn);
    if (D != h->D) return bh__fail(BH_ESHAPE, "%s: hidden size %d, head %s expects %d", fn, D, h->name, h->D);
    return BH_OK;
}

/* ------------------------------------------------------ sequence classifier */

/* Per-call buffers of a sequence head: pooled P [B,D], Z [B,D], logits [B,C],
 * counts [B]. */
typedef struct seq_work {
    float *P, *Z, *logits, *cnt;
} seq_work;

/* P = pool(hidden), Z = tanh(dense(P)) or P, logits = out(Z). */
static bh_status seq_forward(const bh_head *h, const float *hidden, const uint8_t *mask, int B, int T, seq_work *w)
{
    int D = h->D, C = h->C;
    size_t n = (size_t)B * D * 2 + (size_t)B * C + (size_t)B;
    float *buf = calloc(n, sizeof(float));
    if (!buf) return bh__fail(BH_ENOMEM, "head: out of memory");
    w->P = buf;
    w->Z = buf + (size_t)B * D;
    w->logits = w->Z + (size_t)B * D;
    w->cnt = w->logits + (size_t)B * C;
    for (int b = 0; b < B; b++) {
        float *p = w->P + (size_t)b * D;
        const float *hb = hidden + (size_t)b * T * D;
        if (h->pool == BH_POOL_CLS) {
            memcpy(p, hb, sizeof(float) * (size_t)D);
            w->cnt[b] = 1;
            continue;
        }
        int c = 0;
        for (int t = 0; t < T; t++) {
            if (mask && !mask[(size_t)b * T + t]) continue;
            const float *x = hb + (size_t)t * D;
            for (int d = 0; d < D; d++) p[d] += x[d];
            c++;
        }
        if (!c) {
            free(buf);
            return bh__fail(BH_EINVAL, "head %s: row %d of the batch is all padding (mean pooling)", h->name, b);
        }
        for (int d = 0; d < D; d++) p[d] /= (float)c;
        w->cnt[b] = (float)c;
    }
    if (h->dense) {
        bh__linear_fwd(NULL, w->Z, w->P, h->dense_w, h->dense_b, B, D, D);
        for (size_t i = 0; i < (size_t)B * D; i++) w->Z[i] = tanhf(w->Z[i]);
    } else {
        memcpy(w->Z, w->P, sizeof(float) * (size_t)B * D);
    }
    bh__linear_fwd(NULL, w->logits, w->Z, h->out_w, h->out_b, B, D, C);
    return BH_OK;
}

bh_status bh_head_seq_loss(bh_head *h, const float *hidden, const uint8_t *mask, int B, int T, int D,
                           const int32_t *labels, const float *class_weights, float scale, float *loss,
                           float *dhidden)
{
    bh_status st = check_call(h, BH_HEAD_SEQUENCE, hidden, B, T, D, "bh_head_seq_loss");
    if (!st && h->fbits)
        st = bh__fail(BH_EINVAL, "bh_head_seq_loss: head %s has an n-gram layer, which is fitted after training "
                                 "(bh_head_seq_set_ngrams), not trained with the encoder", h->name);
    if (st) return st;
    if (!labels || !loss) return bh__fail(BH_EINVAL, "bh_head_seq_loss: NULL labels or loss");
    int C = h->C;
    for (int b = 0; b < B; b++)
        if (labels[b] != BH_HEAD_IGNORE && (labels[b] < 0 || labels[b] >= C))
            return bh__fail(BH_EINVAL, "head %s: label %d of row %d out of range [0,%d)", h->name, (int)labels[b], b,
                            C);
    for (int j = 0; class_weights && j < C; j++)
        if (!(class_weights[j] > 0.0f) || !isfinite(class_weights[j]))
            return bh__fail(BH_EINVAL, "head %s: class weight %d is %g (must be positive)", h->name, j,
                            (double)class_weights[j]);
    seq_work w;
    if ((st = seq_forward(h, hidden, mask, B, T, &w))) return st;
    if (dhidden) memset(dhidden, 0, sizeof(float) * (size_t)B * T * D);
    double wsum = 0, lsum = 0;
    for (int b = 0; b < B; b++) {
        if (labels[b] == BH_HEAD_IGNORE) continue;
        double wy = class_weights ? class_weights[labels[b]] : 1.0;
        wsum += wy;
        lsum += wy * xent(w.logits + (size_t)b * C, C, labels[b]);
    }
    *loss = wsum > 0 ? (float)(lsum / wsum) : 0.0f;
    if (!isfinite(*loss)) {
        free(w.P);
        return bh__fail(BH_ENUMERIC, "head %s: loss is %f", h->name, (double)*loss);
    }
    if (wsum == 0) {
        free(w.P);
        return BH_OK;
    }
    /* dlogits[b] = scale * w_y / wsum * (softmax - onehot); ignored rows 0 */
    float *dl = malloc(sizeof(float) * ((size_t)B * C + 2 * (size_t)B * D));
    if (!dl) {
        free(w.P);
        return bh__fail(BH_ENOMEM, "head: out of memory");
    }
    float *dZ = dl + (size_t)B * C, *dP = dZ + (size_t)B * D;
    for (int b = 0; b < B; b++) {
        float *g = dl + (size_t)b * C;
        if (labels[b] == BH_HEAD_IGNORE) {
            memset(g, 0, sizeof(float) * (size_t)C);
            continue;
        }
        memcpy(g, w.logits + (size_t)b * C, sizeof(float) * (size_t)C);
        softmax(g, C);
        g[labels[b]] -= 1.0f;
        float k = (float)((class_weights ? class_weights[labels[b]] : 1.0) / wsum) * scale;
        for (int j = 0; j < C; j++) g[j] *= k;
    }
    float *gw = h->grads + (h->out_w - h->params), *gb = h->grads + (h->out_b - h->params);
    bh__linear_bwd(NULL, dZ, gw, gb, dl, w.Z, h->out_w, B, D, C, 0);
    const float *dPool = dZ;
    if (h->dense) { /* Z = tanh(A): dA = dZ (1 - Z^2) */
        for (size_t i = 0; i < (size_t)B * D; i++) dZ[i] *= 1.0f - w.Z[i] * w.Z[i];
        float *gdw = h->grads + (h->dense_w - h->params), *gdb = h->grads + (h->dense_b - h->params);
        bh__linear_bwd(NULL, dP, gdw, gdb, dZ, w.P, h->dense_w, B, D, D, 0);
        dPool = dP;
    }
    if (dhidden)
        for (int b = 0; b < B; b++) {
            const float *g = dPool + (size_t)b * D;
            float *dh = dhidden + (size_t)b * T * D;
            if (h->pool == BH_POOL_CLS) {
                memcpy(dh, g, sizeof(float) * (size_t)D);
                continue;
            }
            float inv = 1.0f / w.cnt[b];
            for (int t = 0; t < T; t++) {
                if (mask && !mask[(size_t)b * T + t]) continue;
                for (int d = 0; d < D; d++) dh[(size_t)t * D + d] = g[d] * inv;
            }
        }
    free(dl);
    free(w.P);
    return BH_OK;
}

bh_status bh_head_seq_predict(bh_head *h, const float *hidden, const uint8_t *mask, int B, int T, int D,
                              float *probs)
{
    bh_status st = check_call(h, BH_HEAD_SEQUENCE, hidden, B, T, D, "bh_head_seq_predict");
    if (st) return st;
    if (!probs) return bh__fail(BH_EINVAL, "bh_head_seq_predict: NULL probs");
    seq_work w;
    if ((st = seq_forward(h, hidden, mask, B, T, &w))) return st;
    for (int b = 0; b < B; b++) {
        float *p = probs + (size_t)b * h->C;
        memcpy(p, w.logits + (size_t)b * h->C, sizeof(float) * (size_t)h->C);
        softmax(p, h->C);
    }
    free(w.P);
    return BH_OK;
}

/* ------------------------------------------------------------ n-gram layer */

bh_status bh_head_seq_ngram_logits(const bh_head *h, const char *text, size_t len, float *out)
{
    if (!h || !out || (len && !text)) return bh__fail(BH_EINVAL, "bh_head_seq_ngram_logits: NULL argument");
    if (h->kind != BH_HEAD_SEQUENCE || !h->fbits)
        return bh__fail(BH_EINVAL, "bh_head_seq_ngram_logits: head %s has no n-gram layer", h->name);
    uint32_t *idx;
    float *val;
    size_t n;
    bh_status st = bh_ngram_features(text, len, h->fbits, &idx, &val, &n);
    if (st) return st;
    int C = h->C;
    double *acc = calloc((size_t)C, sizeof *acc);
    if (!acc) st = bh__fail(BH_ENOMEM, "head: out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        const float *r = h->feat_w + (size_t)idx[i] * C;
        for (int c = 0; c < C; c++) acc[c] += (double)val[i] * r[c];
    }
    for (int c = 0; !st && c < C; c++) out[c] = (float)acc[c] + h->feat_b[c];
    free(acc);
    free(idx);
    free(val);
    return st;
}

bh_status bh_head_seq_fuse_text(const bh_head *h, const char *text, size_t len, float *probs)
{
    if (!probs) return bh__fail(BH_EINVAL, "bh_head_seq_fuse_text: NULL probs");
    int C = h ? h->C : 0;
    float *t = malloc(sizeof(float) * (size_t)(C + 1));
    if (!t) return bh__fail(BH_ENOMEM, "head: out of memory");
    bh_status st = bh_head_seq_ngram_logits(h, text, len, t);
    if (!st) { /* softmax(a log p + t) */
        for (int c = 0; c < C; c++) t[c] += h->feat_a[0] * logf(probs[c] > 1e-30f ? probs[c] : 1e-30f);
        memcpy(probs, t, sizeof(float) * (size_t)C);
        softmax(probs, C);
    }
    free(t);
    return st;
}

bh_status bh_ngram_features(const char *text, size_t len, int bits, uint32_t **idx, float **val, size_t *n)
{
    if (!idx || !val || !n || (len && !text) || bits < 12 || bits > 24)
        return bh__fail(BH_EINVAL, "bh_ngram_features: bad argument");
    *idx = NULL, *val = NULL, *n = 0;
    uint32_t *f = NULL;
    size_t m = 0, cap = 0;
    bh_status st = bh__text_features(text, len, BH_NGRAM_CMIN, BH_NGRAM_CMAX, &f, &m, &cap);
    if (st) { /* out of memory part way: f holds what was pushed before */
        free(f);
        return st;
    }
    float *v = malloc(sizeof(float) * (m + 1));
    if (!v) {
        free(f);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    uint32_t mask = (1u << bits) - 1;
    for (size_t i = 0; i < m; i++) {
        f[i] &= mask;
        v[i] = (float)(1.0 / sqrt((double)m));
    }
    *idx = f, *val = v, *n = m;
    return BH_OK;
}

bh_status bh_head_seq_set_ngrams(const bh_head *h, int bits, const float *w, const float *b, float a, bh_head **out)
{
    if (!h || !w || !b || !out) return bh__fail(BH_EINVAL, "bh_head_seq_set_ngrams: NULL argument");
    *out = NULL;
    if (h->kind != BH_HEAD_SEQUENCE) return bh__fail(BH_EINVAL, "bh_head_seq_set_ngrams: head %s is not a sequence head", h->name);
    if (!(a >= 0 && a <= 1e3)) return bh__fail(BH_EINVAL, "bh_head_seq_set_ngrams: encoder weight %g", (double)a);
    bh_head_config c = {BH_HEAD_SEQUENCE, h->name, h->D, h->C, (const char *const *)h->labels, h->pool, h->dense, 0, bits};
    bh_head *n;
    bh_status st = bh_head_new(&c, 0, &n);
    if (st) return st;
    /* the encoder part as it was: same tensors first, in the same order */
    for (int i = 0; i < h->ntensors; i++)
        if (strncmp(h->tensors[i].name, "feat.", 5))
            memcpy(n->params + n->tensors[i].off, h->params + h->tensors[i].off, sizeof(float) * h->tensors[i].n);
    memcpy(n->feat_w, w, sizeof(float) * ((size_t)1 << bits) * (size_t)h->C);
    memcpy(n->feat_b, b, sizeof(float) * (size_t)h->C);
    n->feat_a[0] = a;
    *out = n;
    return BH_OK;
}

/* --------------------------------------------------------- token classifier */

/* Gathers the rows of hidden [B*T, D] where sel[i] is set: X [M,D], logits
 * [M,C], pos [M] (flat positions), lens [B] (count per batch row). */
typedef struct tok_work {
    float *X, *logits;
    int32_t *pos;
    size_t *lens;
    int M;
} tok_work;

static void tok_free(tok_work *w)
{
    free(w->X);
    free(w->pos);
    free(w->lens);
}

static bh_status tok_forward(const bh_head *h, const float *hidden, const uint32_t *feats, int B, int T,
                             const int32_t *labels, const uint8_t *first, tok_work *w)
{
    int D = h->D, C = h->C, M = 0;
    size_t N = (size_t)B * T;
    for (size_t i = 0; i < N; i++) M += labels ? labels[i] != BH_HEAD_IGNORE : first[i] != 0;
    w->M = M;
    w->X = malloc(sizeof(float) * ((size_t)M * D + (size_t)M * C + 1));
    w->pos = malloc(sizeof(int32_t) * ((size_t)M + 1));
    w->lens = calloc((size_t)B, sizeof(size_t));
    if (!w->X || !w->pos || !w->lens) {
        tok_free(w);
        return bh__fail(BH_ENOMEM, "head: out of memory");
    }
    w->logits = w->X + (size_t)M * D;
    int k = 0;
    for (size_t i = 0; i < N; i++) {
        if (labels ? labels[i] == BH_HEAD_IGNORE : !first[i]) continue;
        memcpy(w->X + (size_t)k * D, hidden + i * D, sizeof(float) * (size_t)D);
        w->pos[k++] = (int32_t)i;
        w->lens[i / (size_t)T]++;
    }
    if (M) bh__linear_fwd(NULL, w->logits, w->X, h->out_w, h->out_b, M, D, C);
    /* + the word features' weights: logits[k] += sum_f feat.w[hash_f & mask] */
    uint32_t hmask = h->fbits ? (1u << h->fbits) - 1 : 0;
    for (int j = 0; h->fbits && j < M; j++) {
        float *z = w->logits + (size_t)j * C;
        const uint32_t *f = feats + (size_t)w->pos[j] * NFEAT;
        for (int q = 0; q < NFEAT; q++) {
            if (f[q] == BH_CRF_NOFEAT) continue;
            const float *r = h->feat_w + (size_t)(f[q] & hmask) * C;
            for (int c = 0; c < C; c++) z[c] += r[c];
        }
    }
    return BH_OK;
}

/* A head with word features needs them; a head without ignores them. */
static bh_status check_feats(const bh_head *h, const uint32_t *feats, const char *fn)
{
    if (h->fbits && !feats)
        return bh__fail(BH_EINVAL, "%s: head %s has word features (feat.w): pass them (bh_crf_word_features)", fn,
                        h->name);
    return BH_OK;
}

/* The CRF's double parameters from the head's floats. */
static void crf_sync(bh_head *h)
{
    double *p = bh_crf_params(h->crfobj);
    size_t n = bh_crf_n_params(h->crfobj);
    for (size_t i = 0; i < n; i++) p[i] = h->crf_p[i];
}

/* The non-empty rows' lengths packed to the front (the CRF wants >= 1 token). */
static size_t packed_lens(const tok_work *w, int B, size_t *out)
{
    size_t nb = 0;
    for (int b = 0; b < B; b++)
        if (w->lens[b]) out[nb++] = w->lens[b];
    return nb;
}

bh_status bh_head_token_loss(bh_head *h, const float *hidden, int B, int T, int D, const int32_t *labels,
                             float scale, float *loss, int *nwords, float *dhidden)
{
    return bh_head_token_loss_feats(h, hidden, NULL, B, T, D, labels, scale, loss, nwords, dhidden);
}

bh_status bh_head_token_loss_feats(bh_head *h, const float *hidden, const uint32_t *feats, int B, int T, int D,
                                   const int32_t *labels, float scale, float *loss, int *nwords, float *dhidden)
{
    bh_status st = check_call(h, BH_HEAD_TOKEN, hidden, B, T, D, "bh_head_token_loss");
    if (!st) st = check_feats(h, feats, "bh_head_token_loss");
    if (st) return st;
    if (!labels || !loss) return bh__fail(BH_EINVAL, "bh_head_token_loss: NULL labels or loss");
    int C = h->C;
    for (size_t i = 0; i < (size_t)B * T; i++)
        if (labels[i] != BH_HEAD_IGNORE && (labels[i] < 0 || labels[i] >= C))
            return bh__fail(BH_EINVAL, "head %s: label %d at [%zu,%zu] out of range [0,%d)", h->name, (int)labels[i],
                            i / (size_t)T, i % (size_t)T, C);
    tok_work w;
    if ((st = tok_forward(h, hidden, feats, B, T, labels, NULL, &w))) return st;
    int M = w.M;
    if (nwords) *nwords = M;
    if (dhidden) memset(dhidden, 0, sizeof(float) * (size_t)B * T * D);
    *loss = 0.0f;
    if (!M) {
        tok_free(&w);
        return BH_OK;
    }
    float *dl = malloc(sizeof(float) * ((size_t)M * C + (size_t)M * D));
    int32_t *y = malloc(sizeof(int32_t) * (size_t)M);
    double *emis = NULL, *demis = NULL, *dpar = NULL;
    size_t *lens = NULL;
    if (!dl || !y) {
        st = bh__fail(BH_ENOMEM, "head: out of memory");
        goto done;
    }
    for (int k = 0; k < M; k++) y[k] = labels[w.pos[k]];
    float *dX = dl + (size_t)M * C;
    if (!h->crf) {
        double sum = 0;
        for (int k = 0; k < M; k++) {
            const float *z = w.logits + (size_t)k * C;
            float *g = dl + (size_t)k * C;
            sum += xent(z, C, y[k]);
            memcpy(g, z, sizeof(float) * (size_t)C);
            softmax(g, C);
            g[y[k]] -= 1.0f;
            for (int j = 0; j < C; j++) g[j] *= scale / (float)M;
        }
        *loss = (float)(sum / M);
    } else {
        size_t np = bh_crf_n_params(h->crfobj);
        emis = malloc(sizeof(double) * (size_t)M * C);
        demis = malloc(sizeof(double) * (size_t)M * C);
        dpar = calloc(np, sizeof(double));
        lens = malloc(sizeof(size_t) * (size_t)B);
        if (!emis || !demis || !dpar || !lens) {
            st = bh__fail(BH_ENOMEM, "head: out of memory");
            goto done;
        }
        for (size_t i = 0; i < (size_t)M * C; i++) emis[i] = w.logits[i];
        crf_sync(h);
        size_t nb = packed_lens(&w, B, lens);
        double nll;
        if ((st = bh_crf_nll(h->crfobj, emis, (size_t)M, (size_t)C, lens, nb, y, &nll, demis, dpar))) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            st = bh__fail(st, "head %s: %s", h->name, detail);
            goto done;
        }
        *loss = (float)(nll / M);
        double k = (double)scale / M;
        for (size_t i = 0; i < (size_t)M * C; i++) dl[i] = (float)(demis[i] * k);
        float *g = h->grads + (h->crf_p - h->params);
        for (size_t i = 0; i < np; i++) g[i] += (float)(dpar[i] * k);
    }
    if (!isfinite(*loss)) {
        st = bh__fail(BH_ENUMERIC, "head %s: loss is %f", h->name, (double)*loss);
        goto done;
    }
    float *gw = h->grads + (h->out_w - h->params), *gb = h->grads + (h->out_b - h->params);
    bh__linear_bwd(NULL, dX, gw, gb, dl, w.X, h->out_w, M, D, C, 0);
    if (h->fbits) { /* each word's emission gradient into the rows of its features */
        float *gf = h->grads + (h->feat_w - h->params);
        uint32_t hmask = (1u << h->fbits) - 1;
        for (int j = 0; j < M; j++) {
            const uint32_t *f = feats + (size_t)w.pos[j] * NFEAT;
            const float *d = dl + (size_t)j * C;
            for (int q = 0; q < NFEAT; q++) {
                if (f[q] == BH_CRF_NOFEAT) continue;
                float *r = gf + (size_t)(f[q] & hmask) * C;
                for (int c = 0; c < C; c++) r[c] += d[c];
            }
        }
    }
    if (dhidden)
        for (int k = 0; k < M; k++)
            memcpy(dhidden + (size_t)w.pos[k] * D, dX + (size_t)k * D, sizeof(float) * (size_t)D);
done:
    free(dl);
    free(y);
    free(emis);
    free(demis);
    free(dpar);
    free(lens);
    tok_free(&w);
    return st;
}

/* Greedy labels of one row's words made valid BIO: an I-X whose predecessor
 * is not B-X or I-X becomes B-X (when the label set has B-X). */
static void repair_bio(const bh_head *h, int32_t *y, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        int j = y[t];
        if (h->prefix[j] != 'I' || h->begin_of[j] < 0) continue;
        int p = t ? y[t - 1] : -1;
        int cont = p >= 0 && (h->prefix[p] == 'B' || h->prefix[p] == 'I') && !strcmp(h->labels[p] + 2, h->labels[j] + 2);
        if (!cont) y[t] = h->begin_of[j];
    }
}

bh_status bh_head_token_predict(bh_head *h, const float *hidden, const uint8_t *first, int B, int T, int D,
                                int32_t *tags, float *scores)
{
    return bh_head_token_predict_feats(h, hidden, first, NULL, B, T, D, tags, scores);
}

bh_status bh_head_token_predict_feats(bh_head *h, const float *hidden, const uint8_t *first, const uint32_t *feats,
                                      int B, int T, int D, int32_t *tags, float *scores)
{
    bh_status st = check_call(h, BH_HEAD_TOKEN, hidden, B, T, D, "bh_head_token_predict");
    if (!st) st = check_feats(h, feats, "bh_head_token_predict");
    if (st) return st;
    if (!first || !tags) return bh__fail(BH_EINVAL, "bh_head_token_predict: NULL first or tags");
    int C = h->C;
    size_t N = (size_t)B * T;
    for (size_t i = 0; i < N; i++) {
        tags[i] = -1;
        if (scores) scores[i] = 0.0f;
    }
    tok_work w;
    if ((st = tok_forward(h, hidden, feats, B, T, NULL, first, &w))) return st;
    int M = w.M;
    int32_t *y = malloc(sizeof(int32_t) * ((size_t)M + 1));
    float *sc = malloc(sizeof(float) * ((size_t)M + 1));
    double *emis = NULL, *marg = NULL;
    size_t *lens = NULL;
    if (!y || !sc) {
        st = bh__fail(BH_ENOMEM, "head: out of memory");
        goto done;
    }
    if (!M) goto done;
    if (h->crf) {
        emis = malloc(sizeof(double) * (size_t)M * C);
        marg = malloc(sizeof(double) * (size_t)M * C);
        lens = malloc(sizeof(size_t) * (size_t)B);
        if (!emis || !marg || !lens) {
            st = bh__fail(BH_ENOMEM, "head: out of memory");
            goto done;
        }
        for (size_t i = 0; i < (size_t)M * C; i++) emis[i] = w.logits[i];
        crf_sync(h);
        size_t nb = packed_lens(&w, B, lens);
        if ((st = bh_crf_viterbi(h->crfobj, emis, (size_t)M, (size_t)C, lens, nb, y, NULL)) ||
            (st = bh_crf_marginals(h->crfobj, emis, (size_t)M, (size_t)C, lens, nb, marg, NULL)))
            goto done;
        for (int k = 0; k < M; k++) sc[k] = (float)marg[(size_t)k * C + y[k]];
    } else {
        for (int k = 0; k < M; k++) {
            float *p = w.logits + (size_t)k * C;
            softmax(p, C);
            int best = 0;
            for (int j = 1; j < C; j++)
                if (p[j] > p[best]) best = j;
            y[k] = best;
            sc[k] = p[best];
        }
        size_t off = 0;
        for (int b = 0; b < B; b++) {
            repair_bio(h, y + off, w.lens[b]);
            off += w.lens[b];
        }
    }
    for (int k = 0; k < M; k++) {
        tags[w.pos[k]] = y[k];
        if (scores) scores[w.pos[k]] = sc[k];
    }
done:
    free(y);
    free(sc);
    free(emis);
    free(marg);
    free(lens);
    tok_free(&w);
    return st;
}

#define BH__UNSEEN_LABEL (-1e4f)

/* Label index j of the tagger for each of the head's labels (-1: none). */
static void tagger_map(const bh_head *h, const bh_crf_tagger *t, int *map)
{
    size_t L = bh_crf_tagger_n_labels(t);
    for (int c = 0; c < h->C; c++) {
        map[c] = -1;
        for (size_t j = 0; j < L; j++)
            if (!strcmp(h->labels[c], bh_crf_tagger_label(t, j))) map[c] = (int)j;
    }
}

bh_status bh_head_fuse_crf(const bh_head *h, const bh_crf_tagger *t, float weight, bh_head **out)
{
    if (!h || !t || !out) return bh__fail(BH_EINVAL, "bh_head_fuse_crf: NULL argument");
    *out = NULL;
    if (h->kind != BH_HEAD_TOKEN) return bh__fail(BH_EINVAL, "bh_head_fuse_crf: head %s is not a token head", h->name);
    if (h->fbits) return bh__fail(BH_EINVAL, "bh_head_fuse_crf: head %s already has word features", h->name);
    if (!(weight >= 0 && weight <= 1e6)) return bh__fail(BH_EINVAL, "bh_head_fuse_crf: weight %g", (double)weight);
    int bits;
    const float *tw;
    const double *tp;
    bh_status st = bh__crf_tagger_parts(t, &bits, &tw, &tp);
    if (st) return st;
    size_t L = bh_crf_tagger_n_labels(t);
    int C = h->C, *map = malloc(sizeof(int) * (size_t)C), shared = 0;
    if (!map) return bh__fail(BH_ENOMEM, "head: out of memory");
    tagger_map(h, t, map);
    for (int c = 0; c < C; c++) shared += map[c] >= 0;
    if (!shared) {
        free(map);
        return bh__fail(BH_EINVAL, "bh_head_fuse_crf: head %s and the tagger share no label (%s vs %s...)", h->name,
                        h->labels[0], bh_crf_tagger_label(t, 0));
    }
    bh_head_config c = {BH_HEAD_TOKEN, h->name, h->D, C, (const char *const *)h->labels, BH_POOL_MEAN, 0, 1, bits};
    bh_head *n;
    if ((st = bh_head_new(&c, 0, &n))) {
        free(map);
        return st;
    }
    memcpy(n->out_w, h->out_w, sizeof(float) * (size_t)C * h->D);
    memcpy(n->out_b, h->out_b, sizeof(float) * (size_t)C);
    size_t np = (size_t)C * C + 2 * (size_t)C; /* trans [C,C], start [C], end [C] */
    if (h->crf) memcpy(n->crf_p, h->crf_p, sizeof(float) * np);
    for (int a = 0; a < C; a++) {
        if (map[a] < 0) {
            /* A label t never saw has probability 0 under t, so the product of
             * the two never enters it: its start and incoming transition
             * scores get BH__UNSEEN_LABEL (finite, so that forward-backward
             * stays free of inf - inf; it fits F16 storage). Left at 0, such a
             * label would beat every label t scores below 0 once W is large. */
            if (weight > 0) {
                n->crf_p[(size_t)C * C + a] += BH__UNSEEN_LABEL;
                for (int b = 0; b < C; b++) n->crf_p[(size_t)b * C + a] += BH__UNSEEN_LABEL;
            }
            continue;
        }
        for (int b = 0; b < C; b++)
            if (map[b] >= 0) n->crf_p[(size_t)a * C + b] += weight * (float)tp[(size_t)map[a] * L + (size_t)map[b]];
        n->crf_p[(size_t)C * C + a] += weight * (float)tp[L * L + (size_t)map[a]];
        n->crf_p[(size_t)C * C + C + a] += weight * (float)tp[L * L + L + (size_t)map[a]];
    }
    for (size_t r = 0; r < (size_t)1 << bits; r++)
        for (int a = 0; a < C; a++)
            if (map[a] >= 0) n->feat_w[r * C + a] = weight * tw[r * L + (size_t)map[a]];
    free(map);
    *out = n;
    return BH_OK;
}

/* ------------------------------------------------------------ span extraction */

/* Start/end logits of every position: L [B*T, 2] = hidden [B*T, D] out.w^T + out.b. */
static bh_status span_logits(const bh_head *h, const float *hidden, int B, int T, float **L)
{
    *L = malloc(sizeof(float) * (size_t)B * T * 2);
    if (!*L) return bh__fail(BH_ENOMEM, "head: out of memory");
    bh__linear_fwd(NULL, *L, hidden, h->out_w, h->out_b, B * T, h->D, 2);
    return BH_OK;
}

/* log softmax of column j of one row's logits L [T, 2] over the allowed
 * positions into out [T] (-INFINITY elsewhere); returns 0 when none is allowed. */
static int span_logsoftmax(const float *L, const uint8_t *allowed, int T, int j, float *out)
{
    float mx = -INFINITY;
    for (int t = 0; t < T; t++)
        if (allowed[t] && L[2 * t + j] > mx) mx = L[2 * t + j];
    if (mx == -INFINITY) {
        for (int t = 0; t < T; t++) out[t] = -INFINITY;
        return 0;
    }
    double s = 0;
    for (int t = 0; t < T; t++)
        if (allowed[t]) s += exp((double)L[2 * t + j] - mx);
    double lse = mx + log(s);
    for (int t = 0; t < T; t++) out[t] = allowed[t] ? (float)((double)L[2 * t + j] - lse) : -INFINITY;
    return 1;
}

bh_status bh_head_span_loss(bh_head *h, const float *hidden, const uint8_t *allowed, int B, int T, int D,
                            const int32_t *starts, const int32_t *ends, float scale, float *loss, float *dhidden)
{
    bh_status st = check_call(h, BH_HEAD_SPAN, hidden, B, T, D, "bh_head_span_loss");
    if (st) return st;
    if (!allowed || !starts || !ends || !loss) return bh__fail(BH_EINVAL, "bh_head_span_loss: NULL argument");
    int rows = 0;
    for (int b = 0; b < B; b++) {
        int32_t g[2] = {starts[b], ends[b]};
        if (g[0] == BH_HEAD_IGNORE || g[1] == BH_HEAD_IGNORE) continue;
        for (int j = 0; j < 2; j++)
            if (g[j] < 0 || g[j] >= T || !allowed[(size_t)b * T + g[j]])
                return bh__fail(BH_EINVAL, "head %s: row %d: gold %s %d is not an allowed position", h->name, b,
                                j ? "end" : "start", (int)g[j]);
        rows++;
    }
    if (dhidden) memset(dhidden, 0, sizeof(float) * (size_t)B * T * D);
    *loss = 0.0f;
    if (!rows) return BH_OK;
    float *L, *lp = malloc(sizeof(float) * (size_t)T);
    if (!lp) return bh__fail(BH_ENOMEM, "head: out of memory");
    if ((st = span_logits(h, hidden, B, T, &L))) {
        free(lp);
        return st;
    }
    /* dL [B*T, 2] = scale / (2 rows) * (softmax - onehot) at allowed positions, 0 elsewhere (in place of L) */
    double sum = 0;
    float k = scale / (2.0f * (float)rows);
    for (int b = 0; b < B; b++) {
        float *Lb = L + (size_t)b * T * 2;
        const uint8_t *al = allowed + (size_t)b * T;
        int skip = starts[b] == BH_HEAD_IGNORE || ends[b] == BH_HEAD_IGNORE;
        for (int j = 0; j < 2 && !skip; j++) {
            int g = j ? ends[b] : starts[b];
            span_logsoftmax(Lb, al, T, j, lp);
            sum -= lp[g];
            for (int t = 0; t < T; t++) Lb[2 * t + j] = al[t] ? k * (expf(lp[t]) - (t == g)) : 0.0f;
        }
        if (skip)
            for (int t = 0; t < 2 * T; t++) Lb[t] = 0.0f;
    }
    *loss = (float)(sum / (2.0 * rows));
    if (!isfinite(*loss)) {
        free(L);
        free(lp);
        return bh__fail(BH_ENUMERIC, "head %s: loss is %f", h->name, (double)*loss);
    }
    float *gw = h->grads + (h->out_w - h->params), *gb = h->grads + (h->out_b - h->params);
    bh__linear_bwd(NULL, dhidden, gw, gb, L, hidden, h->out_w, B * T, D, 2, 0);
    free(L);
    free(lp);
    return BH_OK;
}

bh_status bh_head_span_logprobs(bh_head *h, const float *hidden, const uint8_t *allowed, int B, int T, int D,
                                float *lstart, float *lend)
{
    bh_status st = check_call(h, BH_HEAD_SPAN, hidden, B, T, D, "bh_head_span_logprobs");
    if (st) return st;
    if (!allowed || !lstart || !lend) return bh__fail(BH_EINVAL, "bh_head_span_logprobs: NULL argument");
    float *L;
    if ((st = span_logits(h, hidden, B, T, &L))) return st;
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)b * T;
        span_logsoftmax(L + 2 * o, allowed + o, T, 0, lstart + o);
        span_logsoftmax(L + 2 * o, allowed + o, T, 1, lend + o);
    }
    free(L);
    return BH_OK;
}

bh_status bh_span_best(const float *lstart, const float *lend, const uint8_t *ctx, int T, int max_len, int allow_null,
                       int *start, int *end, float *score, float *null_score)
{
    if (!lstart || !lend || !ctx || !start || !end || !score || T < 1)
        return bh__fail(BH_EINVAL, "bh_span_best: NULL argument or empty row");
    *start = *end = -1;
    *score = -INFINITY;
    if (null_score) *null_score = lstart[0] + lend[0];
    /* O(T * max_len): for each start, the best end within the cap */
    for (int s = 1; s < T; s++) {
        if (!ctx[s] || !isfinite(lstart[s])) continue;
        int lim = max_len > 0 && max_len < T - s ? s + max_len : T;
        for (int e = s; e < lim; e++) {
            if (!ctx[e]) continue;
            float v = lstart[s] + lend[e];
            if (v > *score) {
                *score = v;
                *start = s;
                *end = e;
            }
        }
    }
    float nul = lstart[0] + lend[0];
    if (allow_null && isfinite(nul) && (*start < 0 || nul > *score)) {
        *start = *end = 0;
        *score = nul;
    }
    return BH_OK;
}

/* -------------------------------------------------------------- checkpoints */

static json_t *head_json(const bh_head *h)
{
    json_t *o = json_object(), *labels = json_array();
    json_object_set_new(o, "kind",
                        json_string(h->kind == BH_HEAD_SEQUENCE ? "sequence" : h->kind == BH_HEAD_TOKEN ? "token" : "span"));
    json_object_set_new(o, "dim", json_integer(h->D));
    for (int i = 0; i < h->C; i++) json_array_append_new(labels, json_string(h->labels[i]));
    json_object_set_new(o, "labels", labels);
    if (h->kind == BH_HEAD_SEQUENCE) {
        json_object_set_new(o, "pool", json_string(h->pool == BH_POOL_CLS ? "cls" : "mean"));
        json_object_set_new(o, "dense", json_boolean(h->dense));
    } else if (h->kind == BH_HEAD_TOKEN) {
        json_object_set_new(o, "crf", json_boolean(h->crf));
    }
    if (h->fbits) json_object_set_new(o, "feat_bits", json_integer(h->fbits));
    return o;
}

bh_status bh_model_save_heads(const bh_model *m, bh_head *const *heads, int n, const char *dir)
{
    if (!m || !dir || n < 0 || (n && !heads)) return bh__fail(BH_EINVAL, "bh_model_save_heads: NULL argument");
    int ne = 0;
    for (int i = 0; i < n; i++) {
        if (!heads[i]) return bh__fail(BH_EINVAL, "bh_model_save_heads: head %d is NULL", i);
        if (heads[i]->D != m->c.dim)
            return bh__fail(BH_ESHAPE, "bh_model_save_heads: head %s has dim %d, the encoder %d", heads[i]->name,
                            heads[i]->D, m->c.dim);
        for (int j = 0; j < i; j++)
            if (!strcmp(heads[i]->name, heads[j]->name))
                return bh__fail(BH_EINVAL, "bh_model_save_heads: two heads named %s", heads[i]->name);
        ne += heads[i]->ntensors;
    }
    bh__st_entry *e = calloc((size_t)ne + 1, sizeof *e);
    char (*names)[80] = calloc((size_t)ne + 1, sizeof *names);
    json_t *root = json_object();
    char *js = NULL;
    bh_status st;
    if (!e || !names || !root) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        const bh_head *h = heads[i];
        for (int t = 0; t < h->ntensors; t++, k++) {
            snprintf(names[k], sizeof names[k], "head.%s.%s", h->name, h->tensors[t].name);
            e[k].name = names[k];
            e[k].ndim = h->tensors[t].ndim;
            e[k].shape[0] = h->tensors[t].shape[0];
            e[k].shape[1] = h->tensors[t].shape[1];
            e[k].data = h->params + h->tensors[t].off;
        }
        json_object_set_new(root, h->name, head_json(h));
    }
    js = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (!js) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    st = bh__model_save_ext(m, dir, e, ne, n ? js : NULL);
done:
    free(e);
    free(names);
    free(js);
    json_decref(root);
    return st;
}

void bh_heads_free(bh_head **heads, int n)
{
    for (int i = 0; heads && i < n; i++) bh_head_free(heads[i]);
    free(heads);
}

/* One "task_heads" entry -> a new head (weights still zero / random). Every
 * key must be one the kind has (as head_json writes them: a misspelt
 * option would drop what it stands for), booleans JSON booleans, integers
 * in range; dim must be the encoder's D, and a feature table stored as
 * int8 rows in f fit the reader's cap, both before the head is allocated. */
static bh_status head_from_json(const char *path, const char *name, json_t *o, int D, const bh__st_file *f,
                                bh_head **out)
{
    json_t *kind = json_object_get(o, "kind"), *dim = json_object_get(o, "dim"), *labels = json_object_get(o, "labels");
    if (!json_is_object(o) || !json_is_string(kind) || !json_is_integer(dim) || !json_is_array(labels) ||
        json_array_size(labels) < 1 || json_array_size(labels) > 4096)
        return bh__fail(BH_EFORMAT, "%s: task head %s needs \"kind\", \"dim\" and \"labels\"", path, name);
    bh_head_config c = {0};
    const char *k = json_string_value(kind);
    if (!strcmp(k, "sequence")) c.kind = BH_HEAD_SEQUENCE;
    else if (!strcmp(k, "token")) c.kind = BH_HEAD_TOKEN;
    else if (!strcmp(k, "span")) c.kind = BH_HEAD_SPAN;
    else return bh__fail(BH_EFORMAT, "%s: task head %s: unknown kind \"%.40s\"", path, name, k);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int known = !strcmp(key, "kind") || !strcmp(key, "dim") || !strcmp(key, "labels") ||
                    (c.kind == BH_HEAD_SEQUENCE && (!strcmp(key, "pool") || !strcmp(key, "dense"))) ||
                    (c.kind == BH_HEAD_TOKEN && !strcmp(key, "crf")) ||
                    (c.kind != BH_HEAD_SPAN && !strcmp(key, "feat_bits"));
        if (!known)
            return bh__fail(BH_EFORMAT, "%s: task head %s: unknown key \"%.40s\" for a %s head", path, name, key, k);
        if ((!strcmp(key, "dense") || !strcmp(key, "crf")) && !json_is_boolean(v))
            return bh__fail(BH_EFORMAT, "%s: task head %s: \"%s\" must be true or false", path, name, key);
    }
    if (json_integer_value(dim) < 1 || json_integer_value(dim) > 65536)
        return bh__fail(BH_EFORMAT, "%s: task head %s: \"dim\" must be 1..65536", path, name);
    c.name = name;
    c.dim = (int)json_integer_value(dim);
    if (c.dim != D) return bh__fail(BH_ESHAPE, "%s: task head %s has dim %d, the encoder %d", path, name, c.dim, D);
    c.n_labels = (int)json_array_size(labels);
    json_t *pool = json_object_get(o, "pool");
    if (pool && !(json_is_string(pool) && (!strcmp(json_string_value(pool), "mean") ||
                                           !strcmp(json_string_value(pool), "cls"))))
        return bh__fail(BH_EFORMAT, "%s: task head %s: \"pool\" must be \"mean\" or \"cls\"", path, name);
    c.pool = pool && !strcmp(json_string_value(pool), "cls") ? BH_POOL_CLS : BH_POOL_MEAN;
    c.dense = json_is_true(json_object_get(o, "dense"));
    c.crf = json_is_true(json_object_get(o, "crf"));
    json_t *fb = json_object_get(o, "feat_bits");
    if (fb && (!json_is_integer(fb) || (json_integer_value(fb) != 0 &&
                                        (json_integer_value(fb) < 12 || json_integer_value(fb) > 24))))
        return bh__fail(BH_EFORMAT, "%s: task head %s: \"feat_bits\" must be 0 or 12..24", path, name);
    c.feat_bits = fb ? (int)json_integer_value(fb) : 0;
    if (c.feat_bits) {
        char tn[80];
        snprintf(tn, sizeof tn, "head.%s.feat.w", name);
        bh_status st = bh__st_find(f, tn) || !bh__st_sparse_find(f, tn)
                           ? BH_OK
                           : bh__st_sparse_check(f, tn, (int64_t)1 << c.feat_bits, c.n_labels);
        if (st) return st;
    }
    const char **lv = calloc((size_t)c.n_labels, sizeof *lv);
    if (!lv) return bh__fail(BH_ENOMEM, "out of memory");
    for (int i = 0; i < c.n_labels; i++) {
        json_t *s = json_array_get(labels, (size_t)i);
        if (!json_is_string(s)) {
            free(lv);
            return bh__fail(BH_EFORMAT, "%s: task head %s: label %d is not a string", path, name, i);
        }
        lv[i] = json_string_value(s);
    }
    c.labels = lv;
    bh_status st = bh_head_new(&c, 0, out);
    free(lv);
    if (st) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", bh_last_error());
        st = bh__fail(BH_EFORMAT, "%s: task head %s: %s", path, name, detail);
    }
    return st;
}

bh_status bh_heads_load(const char *dir, bh_head ***heads, int *n)
{
    if (!dir || !heads || !n) return bh__fail(BH_EINVAL, "bh_heads_load: NULL argument");
    *heads = NULL;
    *n = 0;
    char cp[4096], wp[4096];
    snprintf(cp, sizeof cp, "%s/config.json", dir);
    snprintf(wp, sizeof wp, "%s/model.safetensors", dir);
    bh_model_config mc;
    bh_status st = bh_model_config_load(cp, &mc); /* also validates the rest of the file */
    if (st) return st;
    json_t *root = json_load_file(cp, JSON_REJECT_DUPLICATES, NULL);
    json_t *th = json_object_get(root, "task_heads");
    bh_head **v = NULL;
    char *used = NULL; /* [f.ntensors]: 1 for the file tensors a head reads */
    int cnt = 0;
    bh__st_file f = {0};
    size_t nh = json_object_size(th); /* 0: an encoder without heads (*heads stays NULL) */
    if (nh && !(v = calloc(nh, sizeof *v))) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = bh__st_open(wp, &f))) goto done;
    if (!(used = calloc((size_t)f.ntensors + 1, 1))) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    const char *name;
    json_t *o;
    json_object_foreach(th, name, o) {
        if ((st = head_from_json(cp, name, o, mc.dim, &f, &v[cnt]))) goto done;
        bh_head *h = v[cnt++];
        for (int t = 0; t < h->ntensors; t++) {
            const bh__tensor *ht = &h->tensors[t];
            char tn[80];
            snprintf(tn, sizeof tn, "head.%s.%s", h->name, ht->name);
            const bh__st_tensor *s = bh__st_find(&f, tn);
            if (!s && ht->ndim == 2 && bh__st_sparse_find(&f, tn)) { /* bh_model_convert's F16-Q8 tables */
                if ((st = bh__st_sparse_read(&f, tn, ht->shape[0], ht->shape[1], h->params + ht->off))) goto done;
                /* the parts of the form read (int8 rows when .q8 is there) */
                char pn[96];
                snprintf(pn, sizeof pn, "%s.q8", tn);
                int q8 = bh__st_find(&f, pn) != NULL;
                static const char *const part[2][3] = {{"rows", "f16", NULL}, {"rows", "q8", "scale"}};
                for (int i = 0; i < 3 && part[q8][i]; i++) {
                    snprintf(pn, sizeof pn, "%s.%s", tn, part[q8][i]);
                    const bh__st_tensor *p = bh__st_find(&f, pn);
                    if (p) used[p - f.t] = 1;
                }
                continue;
            }
            if (!s) {
                st = bh__fail(BH_EFORMAT, "%s: tensor %s is missing", wp, tn);
                goto done;
            }
            if (!bh__st_is_float(s) || s->ndim != ht->ndim || s->shape[0] != ht->shape[0] ||
                (ht->ndim == 2 && s->shape[1] != ht->shape[1])) {
                st = bh__fail(BH_ESHAPE, "%s: tensor %s: file has %s [%lld%s%lld], the head needs a float tensor [%d,%d]", wp,
                              tn, s->dtype, (long long)s->shape[0], s->ndim > 1 ? "," : "",
                              s->ndim > 1 ? (long long)s->shape[1] : 0LL, ht->shape[0],
                              ht->ndim > 1 ? ht->shape[1] : 0);
                goto done;
            }
            bh__st_to_f32(s, h->params + ht->off);
            if ((st = bh__st_check_finite(BH_EFORMAT, wp, tn, h->params + ht->off, ht->n))) goto done;
            used[s - f.t] = 1;
        }
    }
    /* a head tensor no head reads: a config edited or written for other
       weights (a misspelt key would have been refused above) */
    for (int i = 0; i < f.ntensors; i++)
        if (!used[i] && !strncmp(f.t[i].name, "head.", 5)) {
            st = bh__fail(BH_EFORMAT, "%s: tensor %s belongs to no task head of %s", wp, f.t[i].name, cp);
            goto done;
        }
done:
    free(used);
    bh__st_close(&f);
    json_decref(root);
    if (st) {
        bh_heads_free(v, cnt);
        return st;
    }
    *heads = v;
    *n = cnt;
    return BH_OK;
}

/* ---------------------------------------------------------------- optimizer */

bh_status bh_optim_new_head(const bh_head *h, const bh_optim_config *c, bh_optim **out)
{
    if (!h) return bh__fail(BH_EINVAL, "bh_optim_new_head: NULL head");
    return bh__optim_new_tensors(h->tensors, h->ntensors, h->nparams, c, out);
}

bh_status bh_optim_step_head(bh_optim *o, bh_head *h)
{
    if (!o || !h) return bh__fail(BH_EINVAL, "bh_optim_step_head: NULL argument");
    return bh__optim_update(o, h->tensors, h->ntensors, h->nparams, h->params, h->grads, NULL, -1);
}

bh_status bh_optim_step_head_at(bh_optim *o, bh_head *h, long s)
{
    if (!o || !h) return bh__fail(BH_EINVAL, "bh_optim_step_head_at: NULL argument");
    if (s < 0) return bh__fail(BH_EINVAL, "bh_optim_step_head_at: negative step %ld", s);
    return bh__optim_update(o, h->tensors, h->ntensors, h->nparams, h->params, h->grads, NULL, s);
}
