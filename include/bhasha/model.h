/* bhasha/model.h — transformer engine: encoders (BERT layout) and decoders
 * (GPT-2 layout) that train and run in fp32 on OpenBLAS.
 *
 * Memory: a bh_model owns one allocation for all parameters, one for all
 * gradients and one for the activations of the largest batch seen so far; a
 * model loaded with BH_MODEL_MMAP reads its parameters straight from the
 * mapped checkpoint (shared between processes, read-only, no training). A
 * bh_optim owns its moment buffers. bh_gen (a KV cache) owns its cache. All
 * arrays passed in are borrowed for the duration of the call.
 *
 * Threads: a handle may be used by one thread at a time; different handles
 * may be used concurrently. Matrix products run on OpenBLAS's own threads
 * (bh_blas_set_threads); the rest (LayerNorm, GELU, softmax, attention heads,
 * embeddings, cross-entropy rows) on the model's own pool
 * (bh_model_set_threads), whose workers sleep while OpenBLAS works, so the
 * two never compete for cores. Results are bit-identical for any thread
 * count. */
#ifndef BHASHA_MODEL_H
#define BHASHA_MODEL_H

#include <stdint.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- BLAS */

/* Name of the OpenBLAS kernel in use ("SkylakeX", "Haswell", "Prescott"...),
 * as openblas_get_corename() reports it. Never NULL. Thread-safe. */
const char *bh_blas_corename(void);

/* Sets the number of OpenBLAS threads (n >= 1). Not thread-safe. */
void bh_blas_set_threads(int n);

/* Checks the loaded kernel: a few sgemm products of awkward shapes against a
 * double-precision loop (relative error <= 1e-5). BH_ENUMERIC if wrong. */
bh_status bh_blas_selfcheck(void);

/* OpenBLAS chooses its kernel when it loads, before main(), from the CPU id
 * or from OPENBLAS_CORETYPE. Debian's 0.3.21 may not know newer CPUs and fall
 * back to a slow generic kernel (Prescott and the like). For programs: call
 * this first thing in main(). When OPENBLAS_CORETYPE is unset, the kernel is
 * a known slow one and the CPU has AVX-512 (-> SkylakeX kernel) or AVX2 (->
 * Haswell), it sets the variable and re-executes the program
 * (/proc/self/exe, same arguments from /proc/self/cmdline); the new process
 * verifies the kernel with bh_blas_selfcheck() and, if that fails,
 * re-executes once more with the kernel OpenBLAS had chosen. It also starts
 * OpenBLAS with one thread (OPENBLAS_NUM_THREADS=1, re-executing for it) unless
 * OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS is set: OpenBLAS's
 * idle workers otherwise spin for about 0.1 s of CPU at start-up in every
 * process; bh_blas_set_threads() raises the count when work asks for it.
 * Returns normally when nothing needs doing (also when the exec fails). Not
 * thread-safe: call before starting threads. BH_BLAS_KEEP=1 in the
 * environment disables it.
 * A library cannot change the kernel of a running process: programs that do
 * not call this get whatever OpenBLAS chose. */
void bh_blas_autotune(void);

/* --------------------------------------------------------------- config */

typedef enum bh_arch { BH_ARCH_ENCODER = 0, BH_ARCH_DECODER = 1 } bh_arch;

typedef struct bh_model_config {
    bh_arch arch;
    int vocab;      /* vocabulary size V */
    int max_len;    /* maximum sequence length T (learned positions) */
    int dim;        /* hidden size D */
    int layers;     /* number of blocks L */
    int heads;      /* attention heads H (D % H == 0) */
    int ffn;        /* feed-forward size F */
    int pre_ln;     /* encoder: 0 = post-LN (BERT), 1 = pre-LN; decoder: always 1 */
    float ln_eps;   /* LayerNorm epsilon (1e-5) */
    float dropout;  /* residual/embedding dropout in training (0 = off) */
    int pad_id;     /* padding token (encoder), -1 if none */
    int mask_id;    /* [MASK] token for MLM, -1 if none */
} bh_model_config;

/* Fills a config with defaults for the architecture (small model). */
void bh_model_config_default(bh_model_config *c, bh_arch arch);

/* Checks the numbers (positive, D % H == 0, limits). BH_EINVAL with detail. */
bh_status bh_model_config_check(const bh_model_config *c);

/* Reads / writes the JSON config ({"arch":"decoder","vocab":...}). Unknown
 * keys are rejected so that typos do not pass silently. Thread-safe. */
bh_status bh_model_config_load(const char *path, bh_model_config *c);
bh_status bh_model_config_save(const char *path, const bh_model_config *c);

/* ---------------------------------------------------------------- model */

typedef struct bh_model bh_model;

/* A new model with weights drawn from N(0, 0.02) (LayerNorm 1/0, biases 0)
 * using `seed`. */
bh_status bh_model_new(const bh_model_config *c, uint64_t seed, bh_model **out);

enum { BH_MODEL_MMAP = 1 /* read-only weights mapped from the file */ };

/* Loads DIR/config.json and DIR/model.safetensors. Every tensor is checked
 * against the config (name, shape, a float dtype: F32, F16, BF16, or int8
 * or F16 rows as bh_model_convert writes them) and the file size; all but F32 are
 * widened to F32 in memory. A weight that is NaN or infinite is BH_EFORMAT
 * naming the tensor; an int8-row table with a row index larger than the
 * reader's cap (2^32 values) is BH_ELIMIT. */
bh_status bh_model_load(const char *dir, int flags, bh_model **out);

/* Writes DIR/config.json and DIR/model.safetensors atomically (temporary
 * file, fsync, rename). Creates DIR if needed. */
bh_status bh_model_save(const bh_model *m, const char *dir);

void bh_model_free(bh_model *m);

/* Rewrites the model directory in_dir (config.json, model.safetensors with
 * any task heads, tokenizer.model when present, finetune.json when present
 * with every file of in_dir it names: a fused head's word clusters, the
 * tokenizer) into out_dir with every float
 * tensor stored as dtype: "F16" (half the size) or "F32". Loading widens
 * F16/BF16 to F32, so a converted model runs as before up to F16 rounding
 * (relative error <= 2^-11 per weight); only BH_MODEL_MMAP's zero-copy path
 * needs F32. "F16-Q8" is F16 except for the task heads' hashed tables
 * (head.NAME.feat.w: feature CRF and n-gram weights), which keep only their
 * non-zero rows, each as int8 with an F16 scale (error <= half a step of
 * max|row|/127), or for a table of at most 3 columns (a 3-label n-gram
 * layer, where int8 would save a sixth) as F16 values (format in
 * models/safetensors.h); bh_heads_load expands them.
 * "Q8" stores every other matrix (the encoder's or decoder's and the heads')
 * as int8 rows too, all of them, a scale per row (the embedding table: per
 * piece; a linear layer: per output), and the vectors (biases, norms) as
 * F16: about half the size of F16; bh_model_load and bh_heads_load widen the
 * rows to F32. out_dir is created if needed, each file written atomically.
 * Matrices already stored as int8 or F16 rows are copied unchanged (int8
 * rows' scales as dtype), so an F16-Q8 model converts to Q8. BH_EINVAL for
 * another dtype, BH_EFORMAT for a tensor that is neither float nor part of
 * such a table (or a finetune.json that is not JSON), BH_ENUMERIC naming the tensor
 * for a NaN or infinite weight, BH_ELIMIT naming it for a value the dtype
 * cannot hold (F16 and F16 rows: an |x| that rounds past 65504; int8 rows: a row's max
 * |x| above 127 * 65504, its scale being F16). */
bh_status bh_model_convert(const char *in_dir, const char *out_dir, const char *dtype);

/* Writes the weighted average of n models of one layout into out_dir:
 * checkpoint averaging, or a "model soup" of fine-tuning runs that started
 * from the same pretrained weights, which can score above each run at the
 * cost of one model. Runs that share their heads' initialization (one
 * bhasha finetune --seed, other --data-seed, schedules or epochs) are the
 * ones that average well; runs of different seeds can end too far apart
 * for their mean to be a good model (measured in docs/models.md). weights[n]
 * (NULL: all equal) are finite, >= 0 and not all 0; they are normalized to
 * sum 1.
 * Every config.json must be equal as JSON (the same architecture and task
 * heads, labels in the same order) and every tensor present in every model
 * with the same shape, stored as F32, F16 or BF16; the result is F32 (model
 * convert makes it smaller). config.json, tokenizer.model and the files
 * finetune.json names come from in_dirs[0]; finetune.json is its settings
 * without its dev scores, plus "average": {"models", "weights"}. A fused
 * head's tables average like any weight, but its other settings (a CRF's
 * weight, the n-gram layer's mix) are in_dirs[0]'s: average the plain heads
 * and fuse after. BH_EINVAL for a bad weight or configs that differ,
 * BH_ESHAPE for a tensor missing or of another shape, BH_EFORMAT for int8
 * or F16 rows (model convert's sparse and Q8 forms: average before
 * converting) or a NaN or infinite weight, naming the model and tensor. */
bh_status bh_model_average(const char *const *in_dirs, const float *weights, int n, const char *out_dir);

/* Copies every parameter tensor of src into the tensor of the same name in
 * dst (warm start: continued pretraining, an encoder started from a decoder
 * of the same layout). Every tensor of dst must exist in src with the same
 * shape, else BH_ESHAPE naming the tensor and nothing is copied; tensors of
 * src that dst lacks are ignored. The architectures may differ: a pre-LN
 * encoder and a decoder of the same sizes share all their tensors. */
bh_status bh_model_copy_weights(bh_model *dst, const bh_model *src);

/* Runs this model's non-GEMM work on n threads (the caller plus n-1 workers
 * the model owns) and sets OpenBLAS to n threads (process-wide, as
 * bh_blas_set_threads). Default 1. While attention heads run in parallel
 * OpenBLAS is held to one thread, so the process never uses more than n
 * threads at once. The engine's own loops give the same bits for any n
 * (work is split by rows, columns or heads, never inside a sum); OpenBLAS's
 * sgemm splits M and N but not K, and gave identical bits at 1 and 2 threads
 * in our tests. Not thread-safe (also changes OpenBLAS's global setting). */
bh_status bh_model_set_threads(bh_model *m, int n);

/* Arithmetic of the blocks' linear products and the output layer's
 * (generation's logits; in training the MLM/LM loss's), in inference and in
 * training (attention scores, the task heads and everything else stay fp32).
 *   BH_PRECISION_F32  fp32 throughout (default; what the parity tests check)
 *   BH_PRECISION_BF16 weights and the linears' inputs rounded to bfloat16,
 *                     products accumulated in fp32: about twice the speed of
 *                     fp32 on CPUs with AVX512-BF16, hidden states within
 *                     about 1e-2 relative of fp32 (tests/test_gemm_bf16.c).
 *                     BH_EUNSUPPORTED on other CPUs.
 * BF16 keeps a bf16 copy of the linears (half the size of their fp32
 * weights). In training (bh_model_train_step*, bh_model_forward_train and
 * bh_model_backward) the forward products run in bf16 too, and so do both
 * backward products of each linear (dx = dout W, dW += dout^T x); the
 * weights, gradients and optimizer state stay fp32 (mixed precision: loss
 * within 1e-2 and gradient within 3e-2 of fp32 in the tests; about 1.5x the
 * training speed). Every training forward packs the current weights again
 * and the next inference forward does the same. After writing weights
 * through bh_model_tensor's pointers, set the precision again. Not
 * thread-safe. */
typedef enum bh_precision { BH_PRECISION_F32 = 0, BH_PRECISION_BF16 = 1 } bh_precision;
bh_status bh_model_set_precision(bh_model *m, bh_precision p);
bh_precision bh_model_get_precision(const bh_model *m);
/* 1 when this build and CPU run precision p (fp32 always; bf16 with
 * AVX512-BF16), else 0. */
int bh_precision_supported(bh_precision p);
/* Parses "f32"/"fp32" or "bf16". BH_EINVAL names the text. */
bh_status bh_precision_parse(const char *s, bh_precision *out);

const bh_model_config *bh_model_get_config(const bh_model *m);

/* Number of parameters (floats). */
size_t bh_model_num_params(const bh_model *m);

/* Parameter tensors, in storage order: name, shape (ndim <= 2) and data.
 * Returns BH_ENOTFOUND when i is out of range. Pointers stay valid for the
 * model's lifetime. grad is NULL for mmap-loaded models. */
typedef struct bh_tensor_info {
    const char *name;
    int ndim;
    int shape[2];
    float *data;
    float *grad;
} bh_tensor_info;
bh_status bh_model_tensor(const bh_model *m, int i, bh_tensor_info *out);
int bh_model_num_tensors(const bh_model *m);

/* Forward pass in inference mode (no dropout).
 *   ids    [B, T] token ids (0 <= id < V), T <= max_len
 *   mask   [B, T] 1 = real token, 0 = padding (encoder only; NULL = all real).
 *          Padded keys are excluded from attention; each row needs >= 1 real.
 *   hidden [B, T, D] final hidden states (after the final LayerNorm), or NULL
 *   logits [B, T, V] output logits (tied embeddings), or NULL
 * The decoder is causal and ignores mask. */
bh_status bh_model_forward(bh_model *m, const int32_t *ids, const uint8_t *mask,
                           int B, int T, float *hidden, float *logits);

/* One forward + backward pass for training; ADDS the gradients of the mean
 * cross-entropy to the model's gradient buffer (so calls accumulate).
 *   targets [B, T]: the id to predict at each position, or -100 to ignore it.
 *     For a decoder the caller shifts (targets[t] = ids[t+1]).
 *   dropout_seed: seeds the dropout masks (used only when config.dropout > 0)
 *   loss: the mean loss over the non-ignored positions (NaN/Inf gives BH_ENUMERIC
 *         and leaves the gradients untouched only as far as the forward pass went)
 *   ntargets: number of non-ignored positions, or NULL
 * The loss is scaled by `scale` before backpropagation (1/accum_steps). */
bh_status bh_model_train_step(bh_model *m, const int32_t *ids, const uint8_t *mask,
                              const int32_t *targets, int B, int T, float scale,
                              uint64_t dropout_seed, float *loss, int *ntargets);

/* One part of a larger batch, for data-parallel training (each process
 * holds some rows of the global batch and the gradients are summed across
 * processes before clipping and the optimizer step):
 *   row0  global index of this part's first sequence. Dropout masks depend
 *         only on (dropout_seed, global sequence, position, site), so the parts
 *         draw exactly the masks the whole batch would in one call.
 *   norm  non-ignored targets in the whole batch (all parts): the gradient
 *         ADDED is that of scale * (this part's summed loss) / norm, so the
 *         parts' gradients sum to the whole batch's. 0 = this part's own count.
 *   loss  the mean over this part's own non-ignored targets (as above).
 * bh_model_train_step is this with row0 = 0 and norm = 0. */
bh_status bh_model_train_step_part(bh_model *m, const int32_t *ids, const uint8_t *mask,
                                   const int32_t *targets, int B, int T, float scale,
                                   uint64_t dropout_seed, long row0, long norm,
                                   float *loss, int *ntargets);

/* Mean cross-entropy over the non-ignored targets in inference mode (no
 * dropout, no gradients): validation loss; exp(loss) is the perplexity.
 * ntargets may be NULL. */
bh_status bh_model_loss(bh_model *m, const int32_t *ids, const uint8_t *mask,
                        const int32_t *targets, int B, int T, float *loss, int *ntargets);

/* Training with a task head (bhasha/heads.h) on top: a forward pass in
 * training mode (dropout on, seeded by dropout_seed) that writes the final
 * hidden states hidden [B, T, D] and keeps the activations; then
 * bh_model_backward takes d(loss)/d(hidden) [B, T, D] and ADDS the gradients
 * of every (non-frozen) parameter to the gradient buffer. Any other forward
 * pass on the model in between overwrites the kept activations: backward then
 * fails with BH_EINVAL. A non-finite gradient gives BH_ENUMERIC (nothing added). */
bh_status bh_model_forward_train(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                                 uint64_t dropout_seed, float *hidden);
bh_status bh_model_backward(bh_model *m, const float *dhidden);

/* bh_model_forward_train on rows of a larger batch (data-parallel
 * fine-tuning): row0 is the global index of the first of these B sequences,
 * and dropout draws depend on (dropout_seed, row0 * T + position, site) as in
 * bh_model_train_step_part, so the parts of a batch split across processes
 * (all padded to the same T) draw the masks the whole batch draws in one call.
 * bh_model_forward_train is this with row0 = 0. */
bh_status bh_model_forward_train_part(bh_model *m, const int32_t *ids, const uint8_t *mask, int B, int T,
                                      uint64_t dropout_seed, long row0, float *hidden);

/* Sets the dropout rate used in training from now on (0 <= p < 1; stored in
 * the config, so bh_model_save keeps it). Fine-tuning often wants another
 * rate than pretraining. */
bh_status bh_model_set_dropout(bh_model *m, float p);

/* Freezes the embeddings (wte, wpe, ln_e) and blocks 0..k-1 (0 <= k <=
 * layers): backward stops above them (saving their share of the work) and
 * bh_optim_step leaves them untouched (no update, no weight decay). k = 0
 * trains everything again. Applies to bh_model_train_step too. */
bh_status bh_model_freeze(bh_model *m, int k);

/* Zeroes the gradient buffer. */
void bh_model_zero_grad(bh_model *m);

/* The gradient buffer: *n floats, the tensors' gradients in storage order
 * (allocated, zeroed, on first use; owned by the model, valid for its
 * lifetime). For data-parallel training: the caller sums it across processes
 * in place between the last train step and bh_model_clip_grad.
 * BH_EUNSUPPORTED for mmap-loaded models. */
bh_status bh_model_grads(bh_model *m, float **grads, size_t *n);

/* Global L2 norm of the gradients; if max_norm > 0 and the norm exceeds it,
 * scales them by max_norm / (norm + 1e-6) (as torch.nn.utils.clip_grad_norm_). */
float bh_model_clip_grad(bh_model *m, float max_norm);

/* ------------------------------------------------------------ optimizer */

typedef enum bh_sched { BH_SCHED_CONSTANT = 0, BH_SCHED_LINEAR = 1, BH_SCHED_COSINE = 2 } bh_sched;

typedef struct bh_optim_config {
    float lr;            /* peak learning rate */
    float beta1, beta2, eps;
    float weight_decay;  /* decoupled, applied to 2-D tensors only */
    int warmup;          /* linear warm-up steps from 0 to lr */
    int total_steps;     /* end of the decay (linear/cosine reach 0 there) */
    bh_sched sched;
} bh_optim_config;

void bh_optim_config_default(bh_optim_config *c);

/* Learning rate for 0-based step s: lr*(s+1)/warmup during warm-up, then
 * constant, linear to 0 or cosine to 0 at total_steps. Thread-safe. */
float bh_optim_lr(const bh_optim_config *c, long s);

typedef struct bh_optim bh_optim;

bh_status bh_optim_new(const bh_model *m, const bh_optim_config *c, bh_optim **out);
void bh_optim_free(bh_optim *o);

/* One AdamW step over all parameters with the model's gradients (as
 * torch.optim.AdamW, with weight decay only on 2-D tensors). */
bh_status bh_optim_step(bh_optim *o, bh_model *m);

/* Steps taken so far. */
long bh_optim_steps(const bh_optim *o);

/* Saves / restores the moments and step count (safetensors, atomic write).
 * `extra` is a string stored in the file's metadata (training state), may be
 * NULL; on load, *extra receives a malloc'ed copy (caller frees) if non-NULL. */
bh_status bh_optim_save(const bh_optim *o, const char *path, const char *extra);
bh_status bh_optim_load(bh_optim *o, const char *path, char **extra);

/* ----------------------------------------------------------- generation */

typedef struct bh_gen bh_gen;

/* A KV cache for one sequence of a decoder model (batch 1), up to max_len
 * positions. The model must outlive it. */
bh_status bh_gen_new(bh_model *m, bh_gen **out);
void bh_gen_free(bh_gen *g);

/* Empties the cache. */
void bh_gen_reset(bh_gen *g);

/* Feeds n tokens at the next positions and writes the logits [V] that predict
 * the token after the last one. BH_ELIMIT when the context would exceed max_len. */
bh_status bh_gen_feed(bh_gen *g, const int32_t *ids, int n, float *logits);

/* Positions filled so far. */
int bh_gen_pos(const bh_gen *g);

typedef struct bh_sample_config {
    float temperature;  /* 0 = greedy (argmax) */
    int top_k;          /* keep the k most likely (0 = off) */
    float top_p;        /* nucleus: smallest set with mass >= p (1 = off) */
    float repetition_penalty; /* > 1 discourages tokens in `history` (1 = off) */
} bh_sample_config;

void bh_sample_config_default(bh_sample_config *c);

/* Picks the next token from logits [V] (modified in place). history [nh] are
 * the tokens seen so far (for the repetition penalty). *rng is a 64-bit state,
 * advanced. Thread-safe. Non-finite logits: NaN is treated as -inf (and
 * overwritten with it), so never picked while any logit is above -inf; if the
 * largest logit is +inf, the first +inf token is picked, at any temperature;
 * if every logit is -inf or NaN, token 0. */
int bh_sample(float *logits, int V, const bh_sample_config *c,
              const int32_t *history, int nh, uint64_t *rng);

/* -------------------------------------------------------- token shards */

/* Token-id shard format (little-endian), one file per shard:
 *   bytes 0..7   magic "BHTOKS1\0"
 *   bytes 8..11  u32 vocabulary size (every id must be below it)
 *   bytes 12..15 u32 reserved, 0
 *   then records, one per document: u32 n, then n u32 token ids.
 * A file that ends inside a record, or holds an id >= vocab, is rejected with
 * the file name and byte offset. */
typedef struct bh_shard_writer bh_shard_writer;
bh_status bh_shard_writer_open(const char *path, uint32_t vocab, bh_shard_writer **out);
bh_status bh_shard_writer_add(bh_shard_writer *w, const int32_t *ids, uint32_t n);
/* Flushes, fsyncs and closes; frees w even on error. */
bh_status bh_shard_writer_close(bh_shard_writer *w);

/* Streams fixed-length windows of tokens from a list of shards, documents
 * joined by `sep_id` (when >= 0), cycling through the list forever, in
 * constant memory. */
typedef struct bh_shard_reader bh_shard_reader;
bh_status bh_shard_reader_open(const char *const *paths, int npaths, int sep_id,
                               bh_shard_reader **out);
/* Fills out[0..n) with the next n tokens. */
bh_status bh_shard_reader_next(bh_shard_reader *r, int32_t *out, int n);
/* Position (shard, byte offset of the record, index inside it, epoch) as a
 * string for checkpoints, and back. */
bh_status bh_shard_reader_tell(const bh_shard_reader *r, char *buf, size_t cap);
bh_status bh_shard_reader_seek(bh_shard_reader *r, const char *pos);
void bh_shard_reader_free(bh_shard_reader *r);

/* ------------------------------------------------------------- MLM data */

/* BERT masking on ids [n] in place: each position whose id is not in
 * special[0..nspecial) is chosen with probability `rate` (0.15); targets[i]
 * gets its original id (others -100); of the chosen, 80% become mask_id, 10%
 * a random id in [first_normal, vocab), 10% stay. At least one position is
 * chosen when any is eligible. Returns the number chosen. Thread-safe. */
int bh_mlm_mask(int32_t *ids, int32_t *targets, int n, float rate, int mask_id,
                int vocab, int first_normal, const int32_t *special, int nspecial,
                uint64_t *rng);

/* Whole-word masking: as bh_mlm_mask, but the unit chosen with probability
 * `rate` is a word: a token with word_start[id] != 0 (e.g. a SentencePiece
 * piece beginning with U+2581) starts one, the tokens after it up to the next
 * start (or special token) belong to it; all of a chosen word's tokens become
 * targets (80/10/10 decided per token). word_start has `vocab` entries.
 * Returns the number of target tokens. Thread-safe. */
int bh_mlm_mask_words(int32_t *ids, int32_t *targets, int n, float rate, int mask_id,
                      int vocab, int first_normal, const int32_t *special, int nspecial,
                      const uint8_t *word_start, uint64_t *rng);

/* Uniform 64-bit random numbers (splitmix64) used everywhere in the engine. */
uint64_t bh_rng_next(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
