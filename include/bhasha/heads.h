/* bhasha/heads.h — task heads on top of a transformer encoder (bhasha/model.h),
 * each with its forward pass, loss and backward pass side by side:
 *
 *  - sequence classification: the encoder's final hidden states [B, T, D] are
 *    pooled per row ([CLS] = position 0, or the mean over the real tokens of
 *    the padding mask), optionally passed through a dense [D, D] layer + tanh,
 *    then a linear [D] -> [C] and softmax cross-entropy, optionally weighted
 *    per class (as torch's CrossEntropyLoss(weight=...): the weighted mean);
 *  - token classification: per-subword logits [B, T, C] = linear(hidden); the
 *    loss counts only positions that carry a label (the first subword of each
 *    word; the others, specials and padding carry -100). With a CRF, the
 *    labelled positions of each row, in order, are that row's word sequence
 *    and a linear-chain CRF (bhasha/crf.h) scores it; decoding is Viterbi
 *    under the BIO/IOBES constraint mask of the label names. Without a CRF,
 *    decoding is the per-word argmax with every I-X that continues nothing
 *    turned into B-X (valid BIO);
 *  - span extraction (extractive QA): start and end logits [B, T] =
 *    linear [D] -> 2 over every position; each is a softmax over the
 *    positions a row allows (its context tokens and position 0, the [CLS]
 *    "no answer" slot); the loss is the mean of the start and end
 *    cross-entropies. Decoding picks the best span with end >= start, a
 *    length cap and both ends in the context, optionally against the null
 *    answer (start = end = 0) as in SQuAD 2.0.
 *
 * Count models fused in: a token head may carry a sparse table of word
 * feature weights (feat.w, the feature CRF's: bh_head_fuse_crf, or trained
 * with the head: *_feats calls), a sequence head an n-gram layer fitted on
 * top of its probabilities (bh_head_seq_set_ngrams, bh_head_seq_fuse_text).
 *
 * The loss functions write d(loss)/d(hidden) so that bh_model_backward can
 * carry it through the encoder (end-to-end fine-tuning), and ADD the head's
 * own gradients to its gradient buffer (zero it with bh_head_zero_grad).
 *
 * Checkpoints: one directory holds an encoder and any number of heads
 * (multi-task): config.json gets a "task_heads" object (name -> kind, labels,
 * options) and model.safetensors the head tensors after the encoder's, named
 * "head.NAME.TENSOR" (e.g. "head.sentiment.out.w"). bh_model_load ignores
 * them; bh_heads_load reads them.
 *
 * Memory: a bh_head owns its parameters, gradients, label names and CRF;
 * arrays passed in are borrowed for the call. Threads: a head may be used by
 * one thread at a time; matrix products run on OpenBLAS's threads. */
#ifndef BHASHA_HEADS_H
#define BHASHA_HEADS_H

#include <stdint.h>

#include "bhasha/core.h"
#include "bhasha/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BH_HEAD_IGNORE (-100) /* label of positions / rows that do not count */

typedef enum bh_head_kind { BH_HEAD_SEQUENCE = 1, BH_HEAD_TOKEN = 2, BH_HEAD_SPAN = 3 } bh_head_kind;
typedef enum bh_head_pool { BH_POOL_MEAN = 0, BH_POOL_CLS = 1 } bh_head_pool;

typedef struct bh_head_config {
    bh_head_kind kind;
    const char *name;          /* 1..31 of [A-Za-z0-9_-]; tensors are "head.NAME.*" */
    int dim;                   /* the encoder's hidden size D */
    int n_labels;              /* C >= 1 (span heads: ignored, always "start", "end") */
    const char *const *labels; /* C distinct non-empty names (copied; span heads: may be NULL) */
    bh_head_pool pool;         /* sequence heads */
    int dense;                 /* sequence heads: 1 = dense [D, D] + tanh before the classifier */
    int crf;                   /* token heads: 1 = CRF over the word emissions (needs BIO/IOBES names) */
    int feat_bits;             /* 12..24 = a sparse weight table feat.w [2^feat_bits, C]; 0 = none.
                                  token heads: indexed by the words' feature hashes
                                  (bh_crf_word_features), added to the emissions;
                                  sequence heads: the n-gram layer (bh_head_seq_fuse_text) */
} bh_head_config;

typedef struct bh_head bh_head;

/* A new head: linear weights drawn from N(0, 0.02) with `seed`, biases and
 * CRF scores 0. BH_EINVAL for a bad config, BH_EFORMAT for CRF label names
 * that are not tags ("B-", "-X"). */
bh_status bh_head_new(const bh_head_config *c, uint64_t seed, bh_head **out);
void bh_head_free(bh_head *h);

bh_head_kind bh_head_get_kind(const bh_head *h);
const char *bh_head_name(const bh_head *h);
int bh_head_dim(const bh_head *h);
int bh_head_has_crf(const bh_head *h);
int bh_head_feat_bits(const bh_head *h); /* 0 = no word features */
bh_head_pool bh_head_get_pool(const bh_head *h);
int bh_head_n_labels(const bh_head *h);
/* Name of label i (NULL when out of range); index of a name (-1 if absent). */
const char *bh_head_label(const bh_head *h, int i);
int bh_head_label_index(const bh_head *h, const char *name);

/* Parameter tensors (names without the "head.NAME." prefix), as
 * bh_model_tensor; BH_ENOTFOUND past the end. */
int bh_head_num_tensors(const bh_head *h);
bh_status bh_head_tensor(const bh_head *h, int i, bh_tensor_info *out);
void bh_head_zero_grad(bh_head *h);

/* Global L2 norm of the gradients of the encoder m (may be NULL) and head h
 * together; if max_norm > 0 and the norm exceeds it, scales both by
 * max_norm / (norm + 1e-6), as bh_model_clip_grad. */
float bh_head_clip_grad(bh_head *h, bh_model *m, float max_norm);

/* ---- sequence classification -------------------------------------------- */

/* hidden [B, T, D] final encoder states; mask [B, T] 1 = real token (NULL =
 * all real; mean pooling needs >= 1 real token per row); labels [B] in
 * [0, C) or BH_HEAD_IGNORE; class_weights [C] > 0 (NULL = all 1).
 * loss = sum_b w[y_b] CE_b / sum_b w[y_b] over the counted rows (0 when none).
 * dhidden [B, T, D] (NULL = not needed) is OVERWRITTEN with scale * dloss/dhidden;
 * the head's gradients get scale * dloss/dparams ADDED. D must equal the head's
 * dim (BH_ESHAPE); a label out of range is BH_EINVAL naming the row. */
bh_status bh_head_seq_loss(bh_head *h, const float *hidden, const uint8_t *mask, int B, int T, int D,
                           const int32_t *labels, const float *class_weights, float scale, float *loss,
                           float *dhidden);

/* Class probabilities probs [B, C] (softmax of the logits). */
bh_status bh_head_seq_predict(bh_head *h, const float *hidden, const uint8_t *mask, int B, int T, int D,
                              float *probs);

/* ---- the n-gram layer of a sequence head ---------------------------------
 * A linear model over the text's hashed bag of n-grams (words, word bigrams,
 * character 2-4-grams of each word; bh_ngram_features), fitted after the
 * encoder is trained, on top of the head's probabilities p:
 *   fused = softmax(a * log p + feat.w^T x + feat.b)
 * x: the text's feature counts / sqrt(number of features). a = 0 is the
 * n-gram model alone. bh_head_seq_predict stays the encoder's part;
 * bh_head_seq_loss refuses a head with the layer (BH_EINVAL). */

#define BH_NGRAM_CMIN 2
#define BH_NGRAM_CMAX 4

/* The text's features for a table of 2^bits rows: *idx (rows, repeated
 * rows repeat) and *val [*n] (each 1 / sqrt(n)), malloc'ed: free() both. */
bh_status bh_ngram_features(const char *text, size_t len, int bits, uint32_t **idx, float **val, size_t *n);

/* feat.w^T x + feat.b of text: out [C]. BH_EINVAL without the layer. */
bh_status bh_head_seq_ngram_logits(const bh_head *h, const char *text, size_t len, float *out);

/* probs [C] (the head's, for this text) <- the fused probabilities. */
bh_status bh_head_seq_fuse_text(const bh_head *h, const char *text, size_t len, float *probs);

/* A new sequence head: h with the n-gram layer w [2^bits, C], b [C] and the
 * encoder's weight a >= 0 (h's own layer, if any, replaced). */
bh_status bh_head_seq_set_ngrams(const bh_head *h, int bits, const float *w, const float *b, float a, bh_head **out);

/* ---- token classification ------------------------------------------------ */

/* labels [B, T]: the word's label in [0, C) on the first subword of each
 * word, BH_HEAD_IGNORE elsewhere. loss = mean over the labelled positions of
 * the cross-entropy, or with a CRF the sum of the rows' negative
 * log-likelihoods divided by the number of labelled positions (so both scale
 * alike). nwords (may be NULL) gets that number. dhidden and gradients as in
 * bh_head_seq_loss. With a CRF, gold tags that break the BIO constraints
 * (I-X after O) are BH_EINVAL. */
bh_status bh_head_token_loss(bh_head *h, const float *hidden, int B, int T, int D, const int32_t *labels,
                             float scale, float *loss, int *nwords, float *dhidden);

/* first [B, T]: nonzero on the first subword of each word. tags [B, T] gets
 * the decoded label at those positions and -1 elsewhere; scores [B, T] (may
 * be NULL) the probability of each decoded label: the CRF's posterior
 * marginal, or the softmax probability (for a repaired I-X -> B-X, that of
 * the I-X the argmax chose). */
bh_status bh_head_token_predict(bh_head *h, const float *hidden, const uint8_t *first, int B, int T, int D,
                                int32_t *tags, float *scores);

/* The same two for a head with word features (bh_head_feat_bits > 0; the
 * plain calls refuse such a head with BH_EINVAL): feats [B, T,
 * BH_CRF_NFEAT] holds, at each labelled / first position, the feature
 * hashes of that word (bh_crf_word_features over the sentence's words);
 * other positions are not read. The word's emissions get the sum of the
 * feat.w rows of its hashes; the loss's gradients reach those rows too. */
bh_status bh_head_token_loss_feats(bh_head *h, const float *hidden, const uint32_t *feats, int B, int T, int D,
                                   const int32_t *labels, float scale, float *loss, int *nwords, float *dhidden);
bh_status bh_head_token_predict_feats(bh_head *h, const float *hidden, const uint8_t *first, const uint32_t *feats,
                                      int B, int T, int D, int32_t *tags, float *scores);

/* A new token head: h with the trained feature CRF tagger t fused in, the
 * product of the two models. Emissions = h's + weight * t's (t's weight
 * table becomes feat.w with feat_bits = t's hash bits), CRF scores = h's +
 * weight * t's (a head without a CRF gets one). Labels are matched by name;
 * t's labels that h lacks are dropped; h's that t lacks have probability 0
 * under t, so for weight > 0 the fused head never enters them (start and
 * incoming transition scores -1e4; e.g. a rare I-X tag the tagger's
 * training split never held). weight >= 0 (0 = h unchanged, with a zero
 * table). BH_EINVAL for a non-token head, one that already has word
 * features, an untrained tagger, or no label in common. h is not changed. */
typedef struct bh_crf_tagger bh_crf_tagger;
bh_status bh_head_fuse_crf(const bh_head *h, const bh_crf_tagger *t, float weight, bh_head **out);

/* ---- span extraction ------------------------------------------------------ */

/* allowed [B, T]: nonzero where a row's answer may start or end (its context
 * tokens and position 0). starts/ends [B]: gold positions (allowed ones; 0 =
 * no answer in this row) or BH_HEAD_IGNORE for rows that do not count.
 * loss = mean over the counted rows of (CE_start + CE_end) / 2, each a
 * softmax over the allowed positions only. dhidden and gradients as in
 * bh_head_seq_loss. A gold position out of range or not allowed is
 * BH_EINVAL naming the row. */
bh_status bh_head_span_loss(bh_head *h, const float *hidden, const uint8_t *allowed, int B, int T, int D,
                            const int32_t *starts, const int32_t *ends, float scale, float *loss, float *dhidden);

/* Log-probabilities of start and end over the allowed positions: lstart,
 * lend [B, T] (-INFINITY where not allowed). */
bh_status bh_head_span_logprobs(bh_head *h, const float *hidden, const uint8_t *allowed, int B, int T, int D,
                                float *lstart, float *lend);

/* Best span of one row from its log-probabilities [T]: ctx [T] nonzero on
 * the context positions (position 0 is never one), spans of at most max_len
 * tokens (<= 0: no cap) with start <= end. *score = lstart[s] + lend[e];
 * *null_score = lstart[0] + lend[0]. With allow_null, the null answer wins
 * when its score is higher: *start = *end = 0. Without any context position
 * *start = *end = -1 and *score = -INFINITY (BH_OK). */
bh_status bh_span_best(const float *lstart, const float *lend, const uint8_t *ctx, int T, int max_len, int allow_null,
                       int *start, int *end, float *score, float *null_score);

/* ---- checkpoints ---------------------------------------------------------- */

/* Writes DIR/config.json (the encoder's config plus "task_heads") and
 * DIR/model.safetensors (encoder tensors, then every head's), each file
 * atomically; creates DIR. Head names must be distinct (BH_EINVAL); every
 * head's dim must equal the encoder's (BH_ESHAPE). */
bh_status bh_model_save_heads(const bh_model *m, bh_head *const *heads, int n, const char *dir);

/* Loads every head stored in DIR (in the order of "task_heads"); *heads is
 * a malloc'ed array (NULL when n is 0) freed with bh_heads_free. Each head's
 * config is checked (only the keys its kind has, "dense" and "crf" JSON
 * booleans, dim the encoder's, feat_bits 0 or 12..24: BH_EFORMAT naming the
 * head) and each tensor (present, a float or int8-row tensor of its shape,
 * every value finite); BH_EFORMAT names the file and tensor, also for a
 * "head.*" tensor of the file that no head reads. */
bh_status bh_heads_load(const char *dir, bh_head ***heads, int *n);
void bh_heads_free(bh_head **heads, int n);

/* ---- optimizer -------------------------------------------------------------- */

/* AdamW over a head's parameters (bhasha/model.h's bh_optim, same schedule
 * and semantics: weight decay on 2-D tensors only). */
bh_status bh_optim_new_head(const bh_head *h, const bh_optim_config *c, bh_optim **out);
bh_status bh_optim_step_head(bh_optim *o, bh_head *h);

/* As bh_optim_step_head, at the learning rate of schedule step s (0-based)
 * instead of the head's own step count; Adam's bias correction still counts
 * the head's own updates. For a head that is updated on some steps only (one
 * task of a multi-task run): its learning rate then follows the schedule of
 * the shared encoder, whose optimizer steps on every batch. BH_EINVAL if s < 0. */
bh_status bh_optim_step_head_at(bh_optim *o, bh_head *h, long s);

#ifdef __cplusplus
}
#endif
#endif
