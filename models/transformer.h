/* models/transformer.h — the bh_model structure shared by the engine's modules
 * (transformer.c: layout, forward, backward; checkpoint.c; optim.c; generate.c).
 * Private to libbhasha.
 *
 * Parameters live in ONE float array in a fixed tensor order (see
 * bh__model_layout); gradients in a second array with the same offsets.
 * Tensor names and shapes follow PyTorch's [out, in] convention for linears:
 *   wte [V,D]  wpe [T,D]  (ln_e.w/.b [D] post-LN encoder only)
 *   h.{l}.ln1.w/.b [D]  h.{l}.attn.qkv.w [3D,D] .b [3D]  h.{l}.attn.proj.w [D,D] .b [D]
 *   h.{l}.ln2.w/.b [D]  h.{l}.mlp.fc.w [F,D] .b [F]  h.{l}.mlp.proj.w [D,F] .b [D]
 *   (ln_f.w/.b [D] pre-LN models only)
 * The output layer is tied to wte: logits = h wte^T. */
#ifndef BH_MODELS_TRANSFORMER_H
#define BH_MODELS_TRANSFORMER_H

#include "bhasha/model.h"
#include "models/gemm_bf16.h"
#include "models/safetensors.h"
#include "models/threads.h"

typedef struct bh__tensor {
    char name[40];
    int ndim;
    int shape[2];
    size_t off; /* in floats from the start of the parameter array */
    size_t n;
} bh__tensor;

/* Pointers into a parameter (or gradient) array. */
typedef struct bh__layer_w {
    float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *ln2_w, *ln2_b, *fc_w, *fc_b, *fc2_w, *fc2_b;
} bh__layer_w;

typedef struct bh__weights {
    float *wte, *wpe, *lne_w, *lne_b, *lnf_w, *lnf_b;
    bh__layer_w *l; /* [layers] */
} bh__weights;

/* Activations of one block (kept for backward). */
typedef struct bh__layer_acts {
    float *ln1, *ln1_m, *ln1_r; /* [N,D] [N] [N] */
    float *qkv;                 /* [N,3D] */
    float *att;                 /* [B,H,T,T] */
    float *atty;                /* [N,D] attention output before projection */
    float *r1;                  /* [N,D] first residual sum */
    float *ln2, *ln2_m, *ln2_r; /* [N,D] [N] [N] */
    float *fch, *fchg;          /* [N,F] before / after GELU */
    float *r2;                  /* [N,D] second residual sum */
    uint8_t *m1, *m2;           /* [N,D] dropout keep masks (training) */
} bh__layer_acts;

struct bh_model {
    bh_model_config c;
    int ntensors;
    bh__tensor *tensors;
    size_t nparams;
    float *params;   /* owned, or points into st's mapping (mmap load) */
    float *grads;    /* NULL until the first training step; NULL for mmap */
    int mapped;
    bh__st_file st;
    bh__weights w, g;

    /* activations for the current batch shape */
    float *acts;
    size_t acts_cap; /* floats */
    uint8_t *bytes;  /* dropout masks */
    size_t bytes_cap;
    int32_t *ibuf;   /* gathered targets / row indices [2N] */
    size_t ibuf_cap;
    bh__layer_acts *la; /* [layers] */
    float *emb, *lne, *lne_m, *lne_r, *lnf, *lnf_m, *lnf_r;
    uint8_t *me;
    float *dres, *tmp, *tmp2, *dqkv, *dfch, *datt, *hg, *dhg, *logits;
    int chunk;
    bh__pool *pool; /* NULL = one thread; see bh_model_set_threads */

    /* bh_model_forward_train -> bh_model_backward: the batch whose
     * activations are kept (ids copied, since backward needs them) */
    int32_t *bw_ids;
    size_t bw_cap;
    int bw_B, bw_T, bw_ready;
    /* bh_model_freeze: embeddings and blocks below frozen_layers get no
     * gradient; frozen[i] = 1 for those tensors (NULL = none frozen) */
    int frozen_layers;
    uint8_t *frozen;
    /* bh_model_set_precision(BF16): the blocks' linears packed for the bf16
     * kernel, [layers][4] = qkv, proj, fc, fc2 (NULL in fp32), and the
     * kernel's scratch. A training step makes the packs stale (bf16_stale):
     * the next inference forward packs again. */
    bh_precision precision;
    bh__bf16w *bf16;
    bh__bf16w bf16_wte; /* the tied output layer [V,D], packed for generation's logits */
    int bf16_stale;
    uint16_t *bfs;
    size_t bfs_cap;
    /* Training in bf16 (the same setting): every training forward packs the
     * linears again, and their transposes into bf16t ([layers][4], for
     * dx = dout . W); each weight gradient pairs dout's rows into bfp and
     * packs the linear's input transposed into bfx (dW += dout^T . x). The
     * output layer likewise: bf16_wte and its transpose bf16_wteT, the
     * gathered hidden rows transposed into bfh. */
    bh__bf16w *bf16t;
    bh__bf16w bfx, bf16_wteT, bfh;
    uint16_t *bfp;
    size_t bfp_cap;
};

/* With bf16 precision set: makes the kernel's scratch and fresh packs ready
 * for an inference forward (logits = 1: also the packed output layer). */
bh_status bh__model_bf16_ready(bh_model *m, int logits);

/* Fills m->tensors / ntensors / nparams from m->c. */
bh_status bh__model_layout(bh_model *m);
/* Points w at the tensors of base. */
void bh__model_bind(const bh_model *m, float *base, bh__weights *w);
/* Allocates an empty model shell (config checked, layout computed). */
bh_status bh__model_shell(const bh_model_config *c, bh_model **out);

/* Writes DIR/config.json and DIR/model.safetensors with `extra` tensors
 * stored after the model's own (task heads) and `heads_json` (a JSON object
 * text, or NULL) as the config's "task_heads" member. models/checkpoint.c. */
bh_status bh__model_save_ext(const bh_model *m, const char *dir, const bh__st_entry *extra, int nextra,
                             const char *heads_json);

/* AdamW over any parameter array laid out by `tensors` (models/optim.c):
 * bh_optim_new / bh_optim_step for the model, the bh_head variants for task
 * heads. frozen (per tensor, may be NULL) skips tensors entirely. The
 * learning rate is the schedule's at sched_step, or at the optimizer's own
 * step count when sched_step < 0. */
bh_status bh__optim_new_tensors(const bh__tensor *tensors, int nt, size_t nparams, const bh_optim_config *c,
                                bh_optim **out);
bh_status bh__optim_update(bh_optim *o, const bh__tensor *tensors, int nt, size_t nparams, float *params,
                           const float *grads, const uint8_t *frozen, long sched_step);

#endif
