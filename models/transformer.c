/* models/transformer.c — encoder (BERT layout, post- or pre-LN) and decoder
 * (GPT-2 layout, pre-LN): parameter layout, forward, backward.
 *
 * N = B*T rows throughout. In inference every block reuses the activation
 * buffers of block 0, so memory is one block's activations, not L of them. */
#include "models/transformer.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/layers.h"

#define IGNORE_ID (-100)

uint64_t bh_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_normal(uint64_t *s)
{
    double u1 = ((bh_rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (bh_rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---------------------------------------------------------------- config */

void bh_model_config_default(bh_model_config *c, bh_arch arch)
{
    memset(c, 0, sizeof *c);
    c->arch = arch;
    c->vocab = 8000;
    c->max_len = 128;
    c->dim = 256;
    c->layers = 4;
    c->heads = 4;
    c->ffn = 1024;
    c->pre_ln = arch == BH_ARCH_DECODER;
    c->ln_eps = 1e-5f;
    c->dropout = 0.1f;
    c->pad_id = -1;
    c->mask_id = -1;
}

bh_status bh_model_config_check(const bh_model_config *c)
{
    if (!c) return bh__fail(BH_EINVAL, "model config: NULL");
    if (c->arch != BH_ARCH_ENCODER && c->arch != BH_ARCH_DECODER)
        return bh__fail(BH_EINVAL, "model config: unknown arch %d", (int)c->arch);
    if (c->vocab < 2 || c->vocab > (1 << 24)) return bh__fail(BH_EINVAL, "model config: vocab %d out of range", c->vocab);
    if (c->max_len < 1 || c->max_len > 65536) return bh__fail(BH_EINVAL, "model config: max_len %d out of range", c->max_len);
    if (c->dim < 1 || c->dim > 65536) return bh__fail(BH_EINVAL, "model config: dim %d out of range", c->dim);
    if (c->layers < 1 || c->layers > 1024) return bh__fail(BH_EINVAL, "model config: layers %d out of range", c->layers);
    if (c->heads < 1 || c->dim % c->heads) return bh__fail(BH_EINVAL, "model config: dim %d not divisible by heads %d", c->dim, c->heads);
    if (c->ffn < 1 || c->ffn > 262144) return bh__fail(BH_EINVAL, "model config: ffn %d out of range", c->ffn);
    if (c->arch == BH_ARCH_DECODER && !c->pre_ln) return bh__fail(BH_EINVAL, "model config: the decoder is pre-LN only");
    if (!(c->ln_eps > 0.0f && c->ln_eps < 1.0f)) return bh__fail(BH_EINVAL, "model config: ln_eps out of range");
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) return bh__fail(BH_EINVAL, "model config: dropout out of [0,1)");
    if (c->pad_id >= c->vocab || c->mask_id >= c->vocab) return bh__fail(BH_EINVAL, "model config: pad_id/mask_id >= vocab");
    return BH_OK;
}

/* ---------------------------------------------------------------- layout */

static void add_tensor(bh_model *m, const char *name, int d0, int d1)
{
    bh__tensor *t = &m->tensors[m->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->off = m->nparams;
    t->n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    m->nparams += t->n;
}

bh_status bh__model_layout(bh_model *m)
{
    const bh_model_config *c = &m->c;
    int D = c->dim, F = c->ffn;
    m->tensors = calloc((size_t)c->layers * 12 + 6, sizeof *m->tensors);
    if (!m->tensors) return bh__fail(BH_ENOMEM, "model: out of memory");
    m->ntensors = 0;
    m->nparams = 0;
    add_tensor(m, "wte", c->vocab, D);
    add_tensor(m, "wpe", c->max_len, D);
    if (!c->pre_ln) {
        add_tensor(m, "ln_e.w", D, 0);
        add_tensor(m, "ln_e.b", D, 0);
    }
    char nm[40];
    for (int l = 0; l < c->layers; l++) {
#define T_(suffix, a, b)                                  \
    snprintf(nm, sizeof nm, "h.%d." suffix, l);          \
    add_tensor(m, nm, a, b)
        T_("ln1.w", D, 0);
        T_("ln1.b", D, 0);
        T_("attn.qkv.w", 3 * D, D);
        T_("attn.qkv.b", 3 * D, 0);
        T_("attn.proj.w", D, D);
        T_("attn.proj.b", D, 0);
        T_("ln2.w", D, 0);
        T_("ln2.b", D, 0);
        T_("mlp.fc.w", F, D);
        T_("mlp.fc.b", F, 0);
        T_("mlp.proj.w", D, F);
        T_("mlp.proj.b", D, 0);
#undef T_
    }
    if (c->pre_ln) {
        add_tensor(m, "ln_f.w", D, 0);
        add_tensor(m, "ln_f.b", D, 0);
    }
    return BH_OK;
}

void bh__model_bind(const bh_model *m, float *base, bh__weights *w)
{
    int i = 0;
    w->wte = base + m->tensors[i++].off;
    w->wpe = base + m->tensors[i++].off;
    w->lne_w = w->lne_b = w->lnf_w = w->lnf_b = NULL;
    if (!m->c.pre_ln) {
        w->lne_w = base + m->tensors[i++].off;
        w->lne_b = base + m->tensors[i++].off;
    }
    for (int l = 0; l < m->c.layers; l++) {
        bh__layer_w *p = &w->l[l];
        float **slots[12] = {&p->ln1_w, &p->ln1_b, &p->qkv_w, &p->qkv_b, &p->proj_w, &p->proj_b,
                             &p->ln2_w, &p->ln2_b, &p->fc_w,  &p->fc_b,  &p->fc2_w,  &p->fc2_b};
        for (int k = 0; k < 12; k++) *slots[k] = base + m->tensors[i++].off;
    }
    if (m->c.pre_ln) {
        w->lnf_w = base + m->tensors[i++].off;
        w->lnf_b = base + m->tensors[i++].off;
    }
}

bh_status bh__model_shell(const bh_model_config *c, bh_model **out)
{
    *out = NULL;
    bh_status st = bh_model_config_check(c);
    if (st) return st;
    bh_model *m = calloc(1, sizeof *m);
    if (!m) return bh__fail(BH_ENOMEM, "model: out of memory");
    m->c = *c;
    m->w.l = calloc((size_t)c->layers, sizeof(bh__layer_w));
    m->g.l = calloc((size_t)c->layers, sizeof(bh__layer_w));
    m->la = calloc((size_t)c->layers, sizeof(bh__layer_acts));
    if (!m->w.l || !m->g.l || !m->la) {
        bh_model_free(m);
        return bh__fail(BH_ENOMEM, "model: out of memory");
    }
    if ((st = bh__model_layout(m))) {
        bh_model_free(m);
        return st;
    }
    *out = m;
    return BH_OK;
}

bh_status bh_model_new(const bh_model_config *c, uint64_t seed, bh_model **out)
{
    bh_model *m;
    bh_status st = bh__model_shell(c, &m);
    if (st) return st;
    m->params = malloc(m->nparams * sizeof(float));
    if (!m->params) {
        bh_model_free(m);
        return bh__fail(BH_ENOMEM, "model: cannot allocate %zu parameters", m->nparams);
    }
    bh__model_bind(m, m->params, &m->w);
    uint64_t rng = seed;
    for (int i = 0; i < m->ntensors; i++) {
        bh__tensor *t = &m->tensors[i];
        float *p = m->params + t->off;
        size_t nl = strlen(t->name);
        int is_ln_w = nl >= 4 && !strcmp(t->name + nl - 2, ".w") && strstr(t->name, "ln");
        if (t->ndim == 2)
            for (size_t k = 0; k < t->n; k++) p[k] = (float)(0.02 * rng_normal(&rng));
        else
            for (size_t k = 0; k < t->n; k++) p[k] = is_ln_w ? 1.0f : 0.0f;
    }
    *out = m;
    return BH_OK;
}

/* Frees the bf16 copies (bh_model_set_precision). */
static void bf16_drop(bh_model *m)
{
    for (int i = 0; i < 4 * m->c.layers; i++) {
        if (m->bf16) bh__bf16w_free(&m->bf16[i]);
        if (m->bf16t) bh__bf16w_free(&m->bf16t[i]);
    }
    bh__bf16w_free(&m->bf16_wte);
    bh__bf16w_free(&m->bfx);
    bh__bf16w_free(&m->bf16_wteT);
    bh__bf16w_free(&m->bfh);
    free(m->bf16);
    free(m->bf16t);
    free(m->bfp);
    m->bf16 = m->bf16t = NULL;
    m->bfp = NULL;
    m->bfp_cap = 0;
}

void bh_model_free(bh_model *m)
{
    if (!m) return;
    if (!m->mapped) free(m->params);
    bh__st_close(&m->st);
    free(m->grads);
    free(m->tensors);
    free(m->w.l);
    free(m->g.l);
    free(m->la);
    free(m->acts);
    free(m->bytes);
    free(m->ibuf);
    free(m->bw_ids);
    free(m->frozen);
    bf16_drop(m);
    free(m->bfs);
    bh__pool_free(m->pool);
    free(m);
}

/* (Re)packs the blocks' linears for the bf16 kernel; with transposed = 1
 * also their transposes, for training's dx = dout . W. */
static bh_status bf16_pack(bh_model *m, int transposed)
{
    int L = m->c.layers, D = m->c.dim, F = m->c.ffn;
    if (!m->bf16 && !(m->bf16 = calloc((size_t)4 * L, sizeof *m->bf16)))
        return bh__fail(BH_ENOMEM, "model: out of memory for bf16 weights");
    if (transposed && !m->bf16t && !(m->bf16t = calloc((size_t)4 * L, sizeof *m->bf16t)))
        return bh__fail(BH_ENOMEM, "model: out of memory for bf16 weights");
    for (int l = 0; l < L; l++) {
        const bh__layer_w *p = &m->w.l[l];
        const float *W[4] = {p->qkv_w, p->proj_w, p->fc_w, p->fc2_w};
        int N[4] = {3 * D, D, F, D}, K[4] = {D, D, D, F};
        for (int j = 0; j < 4; j++) {
            bh_status st = bh__bf16w_repack(&m->bf16[4 * l + j], W[j], N[j], K[j]);
            if (!st && transposed) st = bh__bf16w_pack_t(&m->bf16t[4 * l + j], W[j], N[j], K[j]);
            if (st) {
                m->bf16_stale = 1; /* some packs are empty: the next forward tries again */
                return st;
            }
        }
    }
    if (!transposed) bh__bf16w_free(&m->bf16_wte); /* packed again when generation asks */
    m->bf16_stale = 0;
    return BH_OK;
}

/* Grows a bf16 buffer to at least `need` elements (contents not kept). */
static bh_status grow_u16(uint16_t **buf, size_t *cap, size_t need, const char *what)
{
    if (need > *cap) {
        free(*buf);
        *buf = malloc(need * sizeof **buf);
        *cap = *buf ? need : 0;
        if (!*buf) return bh__fail(BH_ENOMEM, "model: out of memory for %s", what);
    }
    return BH_OK;
}

/* The kernel's scratch for rows of width up to K. */
static bh_status bf16_scratch(bh_model *m, int K)
{
    return grow_u16(&m->bfs, &m->bfs_cap, bh__bf16_scratch_size(bh__pool_size(m->pool), K), "bf16 scratch");
}

/* Room for `need` paired elements in bfp (the backward products' left
 * operands). */
static bh_status bf16_pairs(bh_model *m, size_t need) { return grow_u16(&m->bfp, &m->bfp_cap, need, "bf16 gradients"); }

/* Before a bf16 training forward of N rows: the blocks' current weights
 * packed both ways, scratch for dx's rows (width up to 3D or F) and room to
 * pair dout. */
static bh_status bf16_train_ready(bh_model *m, int N)
{
    int D = m->c.dim, wide = 3 * D > m->c.ffn ? 3 * D : m->c.ffn;
    bh_status st = bf16_scratch(m, wide);
    if (st || (st = bf16_pack(m, 1)) || (st = bf16_pairs(m, bh__bf16_paired_size(N, wide)))) return st;
    m->bf16_stale = 1; /* the optimizer step that follows changes the weights */
    return BH_OK;
}

/* Before the MLM/LM loss of a bf16 training step (not needed by the task
 * heads' bh_model_forward_train): the output layer packed both ways,
 * scratch for dh's rows (width V) and room to pair a chunk of dlogits. */
static bh_status bf16_output_ready(bh_model *m)
{
    int D = m->c.dim, V = m->c.vocab;
    bh_status st = bf16_scratch(m, V > D ? V : D);
    if (st || (st = bh__bf16w_repack(&m->bf16_wte, m->w.wte, V, D)) ||
        (st = bh__bf16w_pack_t(&m->bf16_wteT, m->w.wte, V, D)))
        return st;
    return bf16_pairs(m, bh__bf16_paired_size(m->chunk, V));
}

bh_status bh__model_bf16_ready(bh_model *m, int logits)
{
    const bh_model_config *c = &m->c;
    bh_status st = bf16_scratch(m, c->ffn > c->dim ? c->ffn : c->dim);
    if (!st && m->bf16_stale) st = bf16_pack(m, 0);
    if (!st && logits && !m->bf16_wte.p) st = bh__bf16w_pack(&m->bf16_wte, m->w.wte, c->vocab, c->dim);
    return st;
}

bh_status bh_model_set_precision(bh_model *m, bh_precision p)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_model_set_precision: NULL model");
    if (p == BH_PRECISION_F32) {
        bf16_drop(m);
        m->precision = p;
        return BH_OK;
    }
    if (p != BH_PRECISION_BF16) return bh__fail(BH_EINVAL, "bh_model_set_precision: unknown precision %d", (int)p);
    if (!bh_precision_supported(p))
        return bh__fail(BH_EUNSUPPORTED, "model: bf16 needs a CPU with AVX512-BF16 (this one has none)");
    bh_status st = bf16_pack(m, 0);
    if (st) {
        bh_model_set_precision(m, BH_PRECISION_F32);
        return st;
    }
    m->precision = p;
    return BH_OK;
}

bh_precision bh_model_get_precision(const bh_model *m) { return m ? m->precision : BH_PRECISION_F32; }

int bh_precision_supported(bh_precision p)
{
    return p == BH_PRECISION_F32 || (p == BH_PRECISION_BF16 && bh__bf16_supported());
}

bh_status bh_precision_parse(const char *s, bh_precision *out)
{
    if (!s || !out) return bh__fail(BH_EINVAL, "bh_precision_parse: NULL argument");
    if (!strcmp(s, "f32") || !strcmp(s, "fp32")) *out = BH_PRECISION_F32;
    else if (!strcmp(s, "bf16")) *out = BH_PRECISION_BF16;
    else return bh__fail(BH_EINVAL, "unknown precision '%s' (f32 or bf16)", s);
    return BH_OK;
}

bh_status bh_model_set_threads(bh_model *m, int n)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_model_set_threads: NULL model");
    if (n < 1 || n > 1024) return bh__fail(BH_EINVAL, "bh_model_set_threads: %d threads out of [1,1024]", n);
    bh_blas_set_threads(n);
    if (bh__pool_size(m->pool) == n) return BH_OK;
    bh__pool_free(m->pool);
    m->pool = NULL;
    /* the attention scratch grows with the thread count */
    free(m->acts);
    m->acts = NULL;
    m->acts_cap = 0;
    if (n == 1) return BH_OK;
    return bh__pool_new(n, &m->pool);
}

const bh_model_config *bh_model_get_config(const bh_model *m) { return &m->c; }
size_t bh_model_num_params(const bh_model *m) { return m->nparams; }
int bh_model_num_tensors(const bh_model *m) { return m->ntensors; }

bh_status bh_model_tensor(const bh_model *m, int i, bh_tensor_info *out)
{
    if (!m || !out) return bh__fail(BH_EINVAL, "bh_model_tensor: NULL argument");
    if (i < 0 || i >= m->ntensors) return bh__fail(BH_ENOTFOUND, "bh_model_tensor: index %d out of range", i);
    const bh__tensor *t = &m->tensors[i];
    out->name = t->name;
    out->ndim = t->ndim;
    out->shape[0] = t->shape[0];
    out->shape[1] = t->ndim == 2 ? t->shape[1] : 0;
    out->data = m->params + t->off;
    out->grad = m->grads ? m->grads + t->off : NULL;
    return BH_OK;
}

static const bh__tensor *find_tensor(const bh_model *m, const char *name)
{
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

bh_status bh_model_copy_weights(bh_model *dst, const bh_model *src)
{
    if (!dst || !src) return bh__fail(BH_EINVAL, "bh_model_copy_weights: NULL argument");
    if (dst->mapped) return bh__fail(BH_EUNSUPPORTED, "bh_model_copy_weights: the target's weights are mapped read-only");
    /* check every tensor first, so a mismatch leaves dst untouched */
    for (int i = 0; i < dst->ntensors; i++) {
        const bh__tensor *t = &dst->tensors[i], *s = find_tensor(src, t->name);
        if (!s) return bh__fail(BH_ESHAPE, "warm start: tensor %s is missing from the source model", t->name);
        if (s->ndim != t->ndim || s->shape[0] != t->shape[0] || (t->ndim == 2 && s->shape[1] != t->shape[1]))
            return bh__fail(BH_ESHAPE, "warm start: tensor %s is [%d,%d] in the source, [%d,%d] here", t->name,
                            s->shape[0], s->ndim == 2 ? s->shape[1] : 0, t->shape[0], t->ndim == 2 ? t->shape[1] : 0);
    }
    for (int i = 0; i < dst->ntensors; i++) {
        const bh__tensor *t = &dst->tensors[i], *s = find_tensor(src, t->name);
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        memcpy(dst->params + t->off, src->params + s->off, n * sizeof(float));
    }
    dst->bf16_stale = dst->bf16 != NULL;
    return BH_OK;
}

static bh_status ensure_grads(bh_model *m)
{
    if (m->mapped) return bh__fail(BH_EUNSUPPORTED, "model: weights are mapped read-only; load without BH_MODEL_MMAP to train");
    if (m->grads) return BH_OK;
    m->grads = calloc(m->nparams, sizeof(float));
    if (!m->grads) return bh__fail(BH_ENOMEM, "model: cannot allocate gradients");
    bh__model_bind(m, m->grads, &m->g);
    return BH_OK;
}

bh_status bh_model_grads(bh_model *m, float **grads, size_t *n)
{
    if (!m || !grads || !n) return bh__fail(BH_EINVAL, "bh_model_grads: NULL argument");
    bh_status st = ensure_grads(m);
    if (st) return st;
    *grads = m->grads;
    *n = m->nparams;
    return BH_OK;
}

void bh_model_zero_grad(bh_model *m)
{
    if (m && m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

float bh_model_clip_grad(bh_model *m, float max_norm)
{
    if (!m || !m->grads) return 0.0f;
    double s = 0.0;
    for (size_t i = 0; i < m->nparams; i++) s += (double)m->grads[i] * m->grads[i];
    float norm = (float)sqrt(s);
    if (max_norm > 0.0f && norm > max_norm) {
        float k = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= k;
    }
    return norm;
}

/* ----------------------------------------------------------- activations */

static bh_status ensure_acts(bh_model *m, int B, int T, int train)
{
    m->bw_ready = 0; /* every caller is about to overwrite the kept activations */
    const bh_model_config *c = &m->c;
    size_t N = (size_t)B * T, D = (size_t)c->dim, F = (size_t)c->ffn, H = (size_t)c->heads;
    size_t per_layer = N * (D * 6 + 3 * D + 2 * F) + 4 * N + (size_t)B * H * T * T;
    int nl = train ? c->layers : 1;
    int chunk = (int)(4194304 / (size_t)c->vocab);
    chunk = chunk < 16 ? 16 : chunk > 512 ? 512 : chunk;
    size_t total = per_layer * (size_t)nl + N * 3 * D + 6 * N + N * D;
    if (train) total += N * D * 4 + N * 3 * D + N * F + (size_t)bh__pool_size(m->pool) * T * T + 2 * N * D + (size_t)chunk * c->vocab;
    if (total > m->acts_cap) {
        free(m->acts);
        m->acts = malloc(total * sizeof(float));
        m->acts_cap = m->acts ? total : 0;
        if (!m->acts) return bh__fail(BH_ENOMEM, "model: cannot allocate activations for batch %dx%d", B, T);
    }
    size_t nbytes = train && c->dropout > 0.0f ? N * D * (2 * (size_t)c->layers + 1) : 0;
    if (nbytes > m->bytes_cap) {
        free(m->bytes);
        m->bytes = malloc(nbytes);
        m->bytes_cap = m->bytes ? nbytes : 0;
        if (!m->bytes) return bh__fail(BH_ENOMEM, "model: cannot allocate dropout masks");
    }
    if (2 * N > m->ibuf_cap) {
        free(m->ibuf);
        m->ibuf = malloc(2 * N * sizeof(int32_t));
        m->ibuf_cap = m->ibuf ? 2 * N : 0;
        if (!m->ibuf) return bh__fail(BH_ENOMEM, "model: out of memory");
    }
    if (!train && m->bf16) {
        bh_status st = bh__model_bf16_ready(m, 0);
        if (st) return st;
    }
    if (train && m->bf16) {
        bh_status st = bf16_train_ready(m, B * T);
        if (st) return st;
    }
    float *p = m->acts;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(m->emb, N * D);
    TAKE(m->lne, N * D);
    TAKE(m->lne_m, N);
    TAKE(m->lne_r, N);
    TAKE(m->lnf, N * D);
    TAKE(m->lnf_m, N);
    TAKE(m->lnf_r, N);
    uint8_t *q = m->bytes;
    m->me = nbytes ? q : NULL;
    if (nbytes) q += N * D;
    for (int l = 0; l < c->layers; l++) {
        bh__layer_acts *a = &m->la[l];
        if (l >= nl) {
            *a = m->la[0];
            continue;
        }
        TAKE(a->ln1, N * D);
        TAKE(a->ln1_m, N);
        TAKE(a->ln1_r, N);
        TAKE(a->qkv, N * 3 * D);
        TAKE(a->att, (size_t)B * H * T * T);
        TAKE(a->atty, N * D);
        TAKE(a->r1, N * D);
        TAKE(a->ln2, N * D);
        TAKE(a->ln2_m, N);
        TAKE(a->ln2_r, N);
        TAKE(a->fch, N * F);
        TAKE(a->fchg, N * F);
        TAKE(a->r2, N * D);
        a->m1 = a->m2 = NULL;
        if (nbytes) {
            a->m1 = q;
            a->m2 = q + N * D;
            q += 2 * N * D;
        }
    }
    if (train) {
        TAKE(m->dres, N * D);
        TAKE(m->tmp, N * D);
        TAKE(m->tmp2, N * D);
        TAKE(m->dqkv, N * 3 * D);
        TAKE(m->dfch, N * F);
        TAKE(m->datt, (size_t)bh__pool_size(m->pool) * T * T); /* [threads,T,T] */
        TAKE(m->hg, N * D);
        TAKE(m->dhg, N * D);
        TAKE(m->logits, (size_t)chunk * c->vocab);
        m->chunk = chunk;
    }
#undef TAKE
    return BH_OK;
}

/* ---------------------------------------------------------------- forward */

static bh_status check_inputs(const bh_model *m, const int32_t *ids, const int32_t *targets,
                              const uint8_t *mask, int B, int T)
{
    if (!ids || B < 1 || T < 1) return bh__fail(BH_EINVAL, "model: bad batch (B=%d, T=%d)", B, T);
    if (T > m->c.max_len) return bh__fail(BH_ESHAPE, "model: sequence length %d exceeds max_len %d", T, m->c.max_len);
    if ((size_t)B * T > (size_t)1 << 26) return bh__fail(BH_ELIMIT, "model: batch too large");
    for (int i = 0; i < B * T; i++) {
        if (ids[i] < 0 || ids[i] >= m->c.vocab)
            return bh__fail(BH_EINVAL, "model: token id %d at [%d,%d] out of range [0,%d)", ids[i],
                            i / T, i % T, m->c.vocab);
        if (targets && targets[i] != IGNORE_ID && (targets[i] < 0 || targets[i] >= m->c.vocab))
            return bh__fail(BH_EINVAL, "model: target id %d at [%d,%d] out of range [0,%d)",
                            targets[i], i / T, i % T, m->c.vocab);
    }
    if (mask && m->c.arch == BH_ARCH_ENCODER)
        for (int b = 0; b < B; b++) {
            int any = 0;
            for (int t = 0; t < T; t++) any |= mask[(size_t)b * T + t] != 0;
            if (!any) return bh__fail(BH_EINVAL, "model: sequence %d of the batch is all padding", b);
        }
    return BH_OK;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Where the dropout masks of a training batch come from: each row of a
 * dropout site (the embedding, then two per layer) draws its own D bits from
 * (seed, site, global row), global row = row0 * T + n, so a batch split across
 * processes (each part with the row0 of its first sequence) draws exactly the
 * masks the whole batch would draw in one process. */
typedef struct drop_src {
    uint64_t seed;
    long row0;
} drop_src;

/* x[N,D] and keep[N,D] of dropout site `site`. */
static void dropout_rows(const drop_src *ds, int site, float *x, uint8_t *keep, float p, int N, int T, int D)
{
    for (int n = 0; n < N; n++) {
        uint64_t row = (uint64_t)ds->row0 * (uint64_t)T + (uint64_t)n;
        uint64_t rng = ds->seed ^ mix64(((uint64_t)site << 48) ^ row);
        bh__dropout_fwd(x + (size_t)n * D, keep + (size_t)n * D, p, (size_t)D, &rng);
    }
}

/* One of the blocks' linears (j = 4*layer + qkv/proj/fc/fc2): the bf16
 * kernel when the precision says so (inference and training), fp32
 * otherwise. */
static void linear(bh_model *m, int j, float *out, const float *x, const float *w, const float *b, int N,
                   int nin, int nout)
{
    if (m->bf16) bh__bf16_linear(m->pool, out, x, &m->bf16[j], b, N, 0, m->bfs);
    else bh__linear_fwd(m->pool, out, x, w, b, N, nin, nout);
}

/* Runs the blocks; returns the final hidden states [N,D] (inside m->acts).
 * ds is NULL in inference (no dropout). */
static const float *forward_part(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                                 const drop_src *ds)
{
    const bh_model_config *c = &m->c;
    int N = B * T, D = c->dim, F = c->ffn, H = c->heads;
    size_t ND = (size_t)N * D;
    int drop = ds && c->dropout > 0.0f;
    int causal = c->arch == BH_ARCH_DECODER;
    if (causal) mask = NULL;
    const bh__weights *w = &m->w;

    bh__embed_fwd(m->pool, m->emb, ids, w->wte, w->wpe, N, T, D);
    float *x = m->emb;
    if (!c->pre_ln) {
        bh__layernorm_fwd(m->pool, m->lne, m->lne_m, m->lne_r, m->emb, w->lne_w, w->lne_b, N, D, c->ln_eps);
        x = m->lne;
    }
    if (drop) dropout_rows(ds, 0, x, m->me, c->dropout, N, T, D);
    for (int l = 0; l < c->layers; l++) {
        const bh__layer_w *p = &w->l[l];
        bh__layer_acts *a = &m->la[l];
        const float *ain = x;
        if (c->pre_ln) {
            bh__layernorm_fwd(m->pool, a->ln1, a->ln1_m, a->ln1_r, x, p->ln1_w, p->ln1_b, N, D, c->ln_eps);
            ain = a->ln1;
        }
        linear(m, 4 * l, a->qkv, ain, p->qkv_w, p->qkv_b, N, D, 3 * D);
        bh__attention_fwd(m->pool, a->atty, a->att, a->qkv, mask, causal, B, T, D, H);
        linear(m, 4 * l + 1, a->r1, a->atty, p->proj_w, p->proj_b, N, D, D);
        if (drop) dropout_rows(ds, 1 + 2 * l, a->r1, a->m1, c->dropout, N, T, D);
        bh__add(m->pool, a->r1, a->r1, x, ND);
        const float *fin;
        if (c->pre_ln) {
            bh__layernorm_fwd(m->pool, a->ln2, a->ln2_m, a->ln2_r, a->r1, p->ln2_w, p->ln2_b, N, D, c->ln_eps);
            fin = a->ln2;
        } else {
            bh__layernorm_fwd(m->pool, a->ln1, a->ln1_m, a->ln1_r, a->r1, p->ln1_w, p->ln1_b, N, D, c->ln_eps);
            fin = a->ln1;
        }
        if (!ds && m->bf16) { /* inference: GELU fused into the product; fch (for backward) is not kept */
            bh__bf16_linear(m->pool, a->fchg, fin, &m->bf16[4 * l + 2], p->fc_b, N, 1, m->bfs);
        } else {
            linear(m, 4 * l + 2, a->fch, fin, p->fc_w, p->fc_b, N, D, F);
            bh__gelu_fwd(m->pool, a->fchg, a->fch, (size_t)N * F);
        }
        linear(m, 4 * l + 3, a->r2, a->fchg, p->fc2_w, p->fc2_b, N, F, D);
        if (drop) dropout_rows(ds, 2 + 2 * l, a->r2, a->m2, c->dropout, N, T, D);
        bh__add(m->pool, a->r2, a->r2, c->pre_ln ? a->r1 : a->ln1, ND);
        if (c->pre_ln) {
            x = a->r2;
        } else {
            bh__layernorm_fwd(m->pool, a->ln2, a->ln2_m, a->ln2_r, a->r2, p->ln2_w, p->ln2_b, N, D, c->ln_eps);
            x = a->ln2;
        }
    }
    if (c->pre_ln) {
        bh__layernorm_fwd(m->pool, m->lnf, m->lnf_m, m->lnf_r, x, w->lnf_w, w->lnf_b, N, D, c->ln_eps);
        x = m->lnf;
    }
    return x;
}

/* forward_part on a whole batch (row0 = 0): training (dropout keyed by *rng) or inference. */
static const float *forward(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T, int train,
                            uint64_t *rng)
{
    drop_src ds = {rng ? *rng : 0, 0};
    return forward_part(m, ids, mask, B, T, train ? &ds : NULL);
}

bh_status bh_model_forward(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                           float *hidden, float *logits)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_model_forward: NULL model");
    bh_status st = check_inputs(m, ids, NULL, mask, B, T);
    if (st) return st;
    if ((st = ensure_acts(m, B, T, 0))) return st;
    const float *h = forward(m, ids, mask, B, T, 0, NULL);
    int N = B * T, D = m->c.dim;
    if (hidden) memcpy(hidden, h, (size_t)N * D * sizeof(float));
    if (logits) /* logits[N,V] = h[N,D] . wte[V,D]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, m->c.vocab, D, 1.0f, h, D,
                    m->w.wte, D, 0.0f, logits, m->c.vocab);
    return BH_OK;
}

/* ---------------------------------------------------------------- backward */

/* Gradient through a dropout site: src itself when there is no dropout,
 * otherwise a masked copy in dst. */
static const float *drop_grad(float *dst, const float *src, const uint8_t *keep, float p, size_t n)
{
    if (!keep) return src;
    memcpy(dst, src, n * sizeof(float));
    bh__dropout_bwd(dst, keep, p, n);
    return dst;
}

/* The backward of linear(m, j, ...): dx (+= when acc) = dout . w, dw +=
 * dout^T . x, db += colsum(dout). In bf16 the two products go through the
 * bf16 kernel (w^T packed by bf16_train_ready; dout paired, x^T packed
 * here); the bias sum stays fp32. */
static void linear_bwd(bh_model *m, int j, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, int N, int nin, int nout, int acc)
{
    if (!m->bf16) {
        bh__linear_bwd(m->pool, dx, dw, db, dout, x, w, N, nin, nout, acc);
        return;
    }
    if (acc) bh__bf16_linear_add(m->pool, dx, dout, &m->bf16t[j], N, m->bfs);
    else bh__bf16_linear(m->pool, dx, dout, &m->bf16t[j], NULL, N, 0, m->bfs);
    bh__bf16_pair(m->bfp, dout, N, nout);
    if (bh__bf16w_pack_t(&m->bfx, x, N, nin)) /* out of memory: this product in fp32 */
        bh__linear_bwd(m->pool, NULL, dw, NULL, dout, x, w, N, nin, nout, 0);
    else
        bh__bf16_linear_paired(m->pool, dw, m->bfp, &m->bfx, nout, 1);
    bh__linear_bwd(m->pool, NULL, NULL, db, dout, NULL, NULL, N, nin, nout, 0);
}

/* dres holds d(loss)/d(final hidden) on entry. */
static void backward(bh_model *m, const int32_t *ids, int B, int T)
{
    const bh_model_config *c = &m->c;
    int N = B * T, D = c->dim, F = c->ffn, H = c->heads;
    size_t ND = (size_t)N * D;
    const bh__weights *w = &m->w;
    bh__weights *g = &m->g;
    float *dres = m->dres, *tmp = m->tmp, *tmp2 = m->tmp2;
    float p = c->dropout;

    if (c->pre_ln) {
        const float *xL = m->la[c->layers - 1].r2;
        memset(tmp, 0, ND * sizeof(float));
        bh__layernorm_bwd(m->pool, tmp, g->lnf_w, g->lnf_b, dres, xL, m->lnf_m, m->lnf_r, w->lnf_w, N, D);
        memcpy(dres, tmp, ND * sizeof(float));
    }
    int lo = m->frozen_layers; /* blocks below lo (and the embeddings) are frozen */
    for (int l = c->layers - 1; l >= lo; l--) {
        const bh__layer_w *pw = &w->l[l];
        bh__layer_w *pg = &g->l[l];
        bh__layer_acts *a = &m->la[l];
        const float *xin = l == 0 ? (c->pre_ln ? m->emb : m->lne)
                                  : (c->pre_ln ? m->la[l - 1].r2 : m->la[l - 1].ln2);
        if (c->pre_ln) {
            /* r2 = r1 + drop(fc2(gelu(fc(ln2(r1))))); dres = d(r2) */
            const float *d2 = drop_grad(tmp, dres, a->m2, p, ND);
            linear_bwd(m, 4 * l + 3, m->dfch, pg->fc2_w, pg->fc2_b, d2, a->fchg, pw->fc2_w, N, F, D, 0);
            bh__gelu_bwd(m->pool, m->dfch, a->fch, m->dfch, (size_t)N * F);
            linear_bwd(m, 4 * l + 2, tmp2, pg->fc_w, pg->fc_b, m->dfch, a->ln2, pw->fc_w, N, D, F, 0);
            bh__layernorm_bwd(m->pool, dres, pg->ln2_w, pg->ln2_b, tmp2, a->r1, a->ln2_m, a->ln2_r, pw->ln2_w, N, D);
            /* dres = d(r1); r1 = x + drop(proj(attn(qkv(ln1(x))))) */
            const float *d1 = drop_grad(tmp, dres, a->m1, p, ND);
            linear_bwd(m, 4 * l + 1, tmp2, pg->proj_w, pg->proj_b, d1, a->atty, pw->proj_w, N, D, D, 0);
            bh__attention_bwd(m->pool, m->dqkv, m->datt, tmp2, a->qkv, a->att, B, T, D, H);
            linear_bwd(m, 4 * l, tmp2, pg->qkv_w, pg->qkv_b, m->dqkv, a->ln1, pw->qkv_w, N, D, 3 * D, 0);
            bh__layernorm_bwd(m->pool, dres, pg->ln1_w, pg->ln1_b, tmp2, xin, a->ln1_m, a->ln1_r, pw->ln1_w, N, D);
        } else {
            /* out = ln2(r2), r2 = ln1 + drop(fc2(gelu(fc(ln1)))), ln1 = ln1(r1),
             * r1 = x + drop(proj(attn(qkv(x)))); dres = d(out) */
            memset(tmp, 0, ND * sizeof(float));
            bh__layernorm_bwd(m->pool, tmp, pg->ln2_w, pg->ln2_b, dres, a->r2, a->ln2_m, a->ln2_r, pw->ln2_w, N, D);
            memcpy(dres, tmp, ND * sizeof(float));
            const float *d2 = drop_grad(tmp, dres, a->m2, p, ND);
            linear_bwd(m, 4 * l + 3, m->dfch, pg->fc2_w, pg->fc2_b, d2, a->fchg, pw->fc2_w, N, F, D, 0);
            bh__gelu_bwd(m->pool, m->dfch, a->fch, m->dfch, (size_t)N * F);
            linear_bwd(m, 4 * l + 2, dres, pg->fc_w, pg->fc_b, m->dfch, a->ln1, pw->fc_w, N, D, F, 1);
            memset(tmp, 0, ND * sizeof(float));
            bh__layernorm_bwd(m->pool, tmp, pg->ln1_w, pg->ln1_b, dres, a->r1, a->ln1_m, a->ln1_r, pw->ln1_w, N, D);
            memcpy(dres, tmp, ND * sizeof(float));
            const float *d1 = drop_grad(tmp, dres, a->m1, p, ND);
            linear_bwd(m, 4 * l + 1, tmp2, pg->proj_w, pg->proj_b, d1, a->atty, pw->proj_w, N, D, D, 0);
            bh__attention_bwd(m->pool, m->dqkv, m->datt, tmp2, a->qkv, a->att, B, T, D, H);
            linear_bwd(m, 4 * l, dres, pg->qkv_w, pg->qkv_b, m->dqkv, xin, pw->qkv_w, N, D, 3 * D, 1);
        }
    }
    if (lo > 0) return;
    /* dres = d(x0); x0 = drop(emb) (pre-LN) or drop(ln_e(emb)) (post-LN) */
    const float *d0 = drop_grad(tmp, dres, m->me, p, ND);
    if (!c->pre_ln) {
        memset(tmp2, 0, ND * sizeof(float));
        bh__layernorm_bwd(m->pool, tmp2, g->lne_w, g->lne_b, d0, m->emb, m->lne_m, m->lne_r, w->lne_w, N, D);
        d0 = tmp2;
    }
    bh__embed_bwd(m->pool, g->wte, g->wpe, d0, ids, N, T, D);
}

bh_status bh_model_train_step(bh_model *m, const int32_t *ids, const uint8_t *mask,
                              const int32_t *targets, int B, int T, float scale,
                              uint64_t dropout_seed, float *loss, int *ntargets)
{
    return bh_model_train_step_part(m, ids, mask, targets, B, T, scale, dropout_seed, 0, 0, loss, ntargets);
}

bh_status bh_model_train_step_part(bh_model *m, const int32_t *ids, const uint8_t *mask,
                                   const int32_t *targets, int B, int T, float scale,
                                   uint64_t dropout_seed, long row0, long norm, float *loss, int *ntargets)
{
    if (!m || !targets) return bh__fail(BH_EINVAL, "bh_model_train_step: NULL argument");
    if (row0 < 0 || norm < 0) return bh__fail(BH_EINVAL, "bh_model_train_step: negative row0 or norm");
    bh_status st = check_inputs(m, ids, targets, mask, B, T);
    if (st) return st;
    if ((st = ensure_grads(m)) || (st = ensure_acts(m, B, T, 1))) return st;
    drop_src ds = {dropout_seed, row0};
    const float *h = forward_part(m, ids, mask, B, T, &ds);
    int N = B * T, D = m->c.dim;
    /* gather the rows that have a target (MLM: ~15%) */
    int32_t *tg = m->ibuf, *rows = m->ibuf + N;
    int M = 0;
    for (int i = 0; i < N; i++)
        if (targets[i] != IGNORE_ID) {
            rows[M] = i;
            tg[M] = targets[i];
            memcpy(m->hg + (size_t)M * D, h + (size_t)i * D, (size_t)D * sizeof(float));
            M++;
        }
    if (ntargets) *ntargets = M;
    if (M == 0) {
        if (loss) *loss = 0.0f;
        return BH_OK;
    }
    memset(m->dhg, 0, (size_t)M * D * sizeof(float));
    /* the gradient of scale * (summed loss) / norm: the whole batch's target count */
    float denom = norm > 0 ? (float)norm : (float)M;
    double sum;
    if (m->bf16) {
        if ((st = bf16_output_ready(m))) return st;
        st = bh__xent_fused_bf16(m->pool, m->hg, &m->bf16_wte, &m->bf16_wteT, tg, M, D, m->c.vocab, scale / denom,
                                 m->dhg, m->g.wte, m->logits, m->chunk, m->bfs, m->bfp, &m->bfh, &sum);
        if (st) return st;
    } else {
        sum = bh__xent_fused(m->pool, m->hg, m->w.wte, tg, M, D, m->c.vocab, scale / denom, m->dhg, m->g.wte,
                             m->logits, m->chunk);
    }
    float l = (float)(sum / M);
    if (loss) *loss = l;
    if (!isfinite(l)) return bh__fail(BH_ENUMERIC, "model: loss is %f", isnan(l) ? fabs((double)l) : (double)l);
    memset(m->dres, 0, (size_t)N * D * sizeof(float));
    for (int k = 0; k < M; k++)
        memcpy(m->dres + (size_t)rows[k] * D, m->dhg + (size_t)k * D, (size_t)D * sizeof(float));
    backward(m, ids, B, T);
    return BH_OK;
}

bh_status bh_model_loss(bh_model *m, const int32_t *ids, const uint8_t *mask,
                        const int32_t *targets, int B, int T, float *loss, int *ntargets)
{
    if (!m || !targets || !loss) return bh__fail(BH_EINVAL, "bh_model_loss: NULL argument");
    bh_status st = check_inputs(m, ids, targets, mask, B, T);
    if (st) return st;
    if ((st = ensure_acts(m, B, T, 0))) return st;
    const float *h = forward(m, ids, mask, B, T, 0, NULL);
    int N = B * T, D = m->c.dim, V = m->c.vocab, chunk = 64;
    float *hg = malloc(sizeof(float) * ((size_t)N * D + (size_t)chunk * V));
    int32_t *tg = malloc(sizeof(int32_t) * (size_t)N);
    if (!hg || !tg) {
        free(hg);
        free(tg);
        return bh__fail(BH_ENOMEM, "bh_model_loss: out of memory");
    }
    int M = 0;
    for (int i = 0; i < N; i++)
        if (targets[i] != IGNORE_ID) {
            tg[M] = targets[i];
            memcpy(hg + (size_t)M * D, h + (size_t)i * D, (size_t)D * sizeof(float));
            M++;
        }
    double sum = M ? bh__xent_fused(m->pool, hg, m->w.wte, tg, M, D, V, 0.0f, NULL, NULL, hg + (size_t)N * D, chunk) : 0.0;
    free(hg);
    free(tg);
    if (ntargets) *ntargets = M;
    *loss = M ? (float)(sum / M) : 0.0f;
    if (!isfinite(*loss)) return bh__fail(BH_ENUMERIC, "model: loss is %f", isnan(*loss) ? fabs((double)*loss) : (double)*loss);
    return BH_OK;
}

/* ------------------------------------------------- task-head training */

bh_status bh_model_forward_train(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                                 uint64_t dropout_seed, float *hidden)
{
    return bh_model_forward_train_part(m, ids, mask, B, T, dropout_seed, 0, hidden);
}

bh_status bh_model_forward_train_part(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                                      uint64_t dropout_seed, long row0, float *hidden)
{
    if (!m || !hidden) return bh__fail(BH_EINVAL, "bh_model_forward_train: NULL argument");
    if (row0 < 0) return bh__fail(BH_EINVAL, "bh_model_forward_train: negative row0");
    bh_status st = check_inputs(m, ids, NULL, mask, B, T);
    if (st) return st;
    m->bw_ready = 0;
    if ((st = ensure_grads(m)) || (st = ensure_acts(m, B, T, 1))) return st;
    size_t N = (size_t)B * T;
    if (N > m->bw_cap) {
        free(m->bw_ids);
        m->bw_ids = malloc(N * sizeof(int32_t));
        m->bw_cap = m->bw_ids ? N : 0;
        if (!m->bw_ids) return bh__fail(BH_ENOMEM, "model: out of memory");
    }
    memcpy(m->bw_ids, ids, N * sizeof(int32_t));
    drop_src ds = {dropout_seed, row0};
    const float *h = forward_part(m, ids, mask, B, T, &ds);
    memcpy(hidden, h, N * (size_t)m->c.dim * sizeof(float));
    m->bw_B = B;
    m->bw_T = T;
    m->bw_ready = 1;
    return BH_OK;
}

bh_status bh_model_backward(bh_model *m, const float *dhidden)
{
    if (!m || !dhidden) return bh__fail(BH_EINVAL, "bh_model_backward: NULL argument");
    if (!m->bw_ready)
        return bh__fail(BH_EINVAL, "bh_model_backward: no bh_model_forward_train pass to go back through "
                                   "(another forward pass overwrote its activations)");
    size_t ND = (size_t)m->bw_B * m->bw_T * (size_t)m->c.dim;
    for (size_t i = 0; i < ND; i++)
        if (!isfinite(dhidden[i])) return bh__fail(BH_ENUMERIC, "bh_model_backward: gradient %zu is not finite", i);
    memcpy(m->dres, dhidden, ND * sizeof(float));
    backward(m, m->bw_ids, m->bw_B, m->bw_T);
    m->bw_ready = 0;
    return BH_OK;
}

bh_status bh_model_freeze(bh_model *m, int k)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_model_freeze: NULL model");
    if (k < 0 || k > m->c.layers)
        return bh__fail(BH_EINVAL, "bh_model_freeze: %d layers (the model has %d)", k, m->c.layers);
    if (!m->frozen) {
        m->frozen = calloc((size_t)m->ntensors, 1);
        if (!m->frozen) return bh__fail(BH_ENOMEM, "model: out of memory");
    }
    /* storage order: embeddings (wte, wpe, ln_e of post-LN), then 12 tensors per block */
    int emb = m->c.pre_ln ? 2 : 4, upto = k > 0 ? emb + 12 * k : 0;
    for (int i = 0; i < m->ntensors; i++) m->frozen[i] = i < upto;
    m->frozen_layers = k;
    return BH_OK;
}

bh_status bh_model_set_dropout(bh_model *m, float p)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_model_set_dropout: NULL model");
    if (!(p >= 0.0f && p < 1.0f)) return bh__fail(BH_EINVAL, "bh_model_set_dropout: %g out of [0,1)", (double)p);
    m->c.dropout = p;
    return BH_OK;
}
