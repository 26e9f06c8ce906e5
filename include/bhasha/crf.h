/* bhasha/crf.h — linear-chain conditional random field over per-token emission
 * scores (training by forward-backward, decoding by Viterbi, BIO/IOBES
 * constraints), and a feature-based CRF tagger for named entities built on it.
 *
 * The CRF layer (bh_crf) scores a label sequence y[0..T) of a sentence as
 *     start[y0] + sum_t emis[t][y_t] + sum_{t>0} trans[y_{t-1}][y_t] + end[y_{T-1}]
 * and normalises over every label sequence the constraint mask allows. All
 * computations run in double precision in log space (log-sum-exp with the
 * maximum subtracted), so long sentences never overflow.
 *
 * Batches are ragged ("packed"): the emissions of B sentences of lengths
 * lens[0..B) are stored one after the other, row-major, as a [N, L] matrix with
 * N = sum(lens) and L labels; tags and decoded paths are [N] int32 arrays in
 * the same order. Every sentence must have at least one token.
 *
 * Parameters are one contiguous double vector of bh_crf_n_params() = L*L + 2L
 * values: trans[from*L + to] (L*L), then start[L], then end[L]; gradients use
 * the same layout, so a generic optimiser can update them in place.
 *
 * Memory: bh_crf and bh_crf_tagger objects own their parameters; callers own
 * every array they pass in. Thread-safety: functions taking a const object are
 * reentrant (they allocate their own workspace), so one trained CRF or tagger
 * can serve many threads; mutating functions (params, mask, add, train) need
 * exclusive access. */
#ifndef BHASHA_CRF_H
#define BHASHA_CRF_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the CRF layer ---------------------------------------------------------- */

typedef struct bh_crf bh_crf;

/* A CRF over n_labels labels (1..4096) with all parameters zero and every
 * transition allowed. */
bh_status bh_crf_new(size_t n_labels, bh_crf **out);
void bh_crf_free(bh_crf *crf);

/* Number of labels L. */
size_t bh_crf_n_labels(const bh_crf *crf);
/* Number of parameters, L*L + 2L. */
size_t bh_crf_n_params(const bh_crf *crf);
/* The parameter vector (layout above), writable: set or update it in place. */
double *bh_crf_params(bh_crf *crf);

/* Constraint mask: trans_ok[from*L + to], start_ok[L], end_ok[L], nonzero =
 * allowed; any pointer may be NULL (= all allowed). Forbidden transitions get
 * probability zero in training and decoding alike, so bh_crf_viterbi never
 * returns a forbidden path. BH_EINVAL if no sequence of length 1 is allowed. */
bh_status bh_crf_set_mask(bh_crf *crf, const uint8_t *trans_ok, const uint8_t *start_ok,
                          const uint8_t *end_ok);

/* Sets the mask from label names (labels[L]): "O", "B-X", "I-X" and, in an
 * IOBES/BILOU label set, "E-X"/"L-X" and "S-X"/"U-X". I-X and E-X may only
 * follow B-X or I-X of the same type and never start a sentence; when the set
 * has E-/S- (or L-/U-) labels, B-X and I-X must be followed by I-X or E-X and
 * never end a sentence. Labels without a prefix (other than "O") are free.
 * BH_EFORMAT for a malformed name such as "B-" or "-X". */
bh_status bh_crf_mask_tags(bh_crf *crf, const char *const *labels, size_t n_labels);

/* Log-partition log Z of each sentence: logz[batch].
 * Shapes: emis [n_tokens, n_labels], lens [batch]. Errors (every function below
 * checks the same): BH_EINVAL for NULL arrays, batch 0 or a zero-length
 * sentence; BH_ESHAPE when n_labels differs from the CRF's or sum(lens) !=
 * n_tokens; BH_ENUMERIC for a NaN or infinite emission. */
bh_status bh_crf_log_partition(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                               const size_t *lens, size_t batch, double *logz);

/* Negative log-likelihood of the gold tags [n_tokens] (values 0..L-1), summed
 * over the batch, in *nll. d_emis (NULL or [n_tokens, n_labels]) receives
 * dNLL/demis (overwritten); d_params (NULL or [n_params]) gets dNLL/dparams
 * ADDED to it, so several batches can accumulate. BH_EINVAL if a tag is out of
 * range or the gold sequence breaks the constraint mask (detail names the
 * sentence and position). */
bh_status bh_crf_nll(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                     const size_t *lens, size_t batch, const int32_t *tags, double *nll, double *d_emis,
                     double *d_params);

/* Posterior marginals p(y_t = j | x): marg [n_tokens, n_labels]; logz (NULL or
 * [batch]) gets the log-partitions. */
bh_status bh_crf_marginals(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                           const size_t *lens, size_t batch, double *marg, double *logz);

/* Best allowed label sequence of each sentence: path [n_tokens]; score (NULL or
 * [batch]) gets its unnormalised log score. Ties go to the lowest label index. */
bh_status bh_crf_viterbi(const bh_crf *crf, const double *emis, size_t n_tokens, size_t n_labels,
                         const size_t *lens, size_t batch, int32_t *path, double *score);

/* ---- feature-based CRF tagger (NER baseline) --------------------------------- */

/* Sparse features of each token (word, lower case, prefixes and suffixes of
 * 1-4 characters, word shape, digits of any script, Unicode script, the words
 * at distance 1 and 2; with a bh_word_clusters table, the clusters of the word
 * and of its neighbours) hashed into 2^hash_bits buckets, a weight per bucket and
 * label, and a bh_crf on top. Labels are learned from the training tags and
 * constrained like bh_crf_mask_tags. */
typedef struct bh_crf_tagger bh_crf_tagger;

typedef struct bh_crf_tagger_options {
    int hash_bits;      /* log2 of feature buckets, 12..24; 0 = 18 */
    int epochs;         /* passes over the training data; 0 = 5 */
    double lr;          /* AdaGrad learning rate; 0 = 0.1 */
    double l2;          /* L2 penalty per token update on touched weights; 0 = 1e-6, < 0 = none */
    uint64_t seed;      /* shuffling seed (training is deterministic for a seed) */
    int no_average;     /* 1 = keep the last weights; 0 = average the weights over
                           all steps so far (more robust on unseen text) */
    int runs;           /* 0 or 1 = one run; K > 1 (up to 1000) = K runs from the same
                           start, shuffled by seed, seed + 1, ..., whose final weights
                           are averaged: the same size of model, less dependent on
                           the order of the updates; K times the training time */
    /* Called after each epoch (may be NULL): mean NLL per sentence, seconds so far;
     * with runs, epochs count on across runs (run r's epoch e is
     * r * epochs + e of runs * epochs). Returning nonzero stops training early:
     * the model keeps its weights (the mean of the runs so far). */
    int (*progress)(void *ctx, int epoch, int epochs, double loss, double seconds);
    void *ctx;
} bh_crf_tagger_options;

/* An empty, untrained tagger. */
bh_status bh_crf_tagger_new(bh_crf_tagger **out);
void bh_crf_tagger_free(bh_crf_tagger *t);

/* Adds one training sentence of n >= 1 tokens with its tags (copied). Tags are
 * used as given (convert the scheme first, e.g. with bh_tags_convert): a
 * malformed tag is BH_EFORMAT, an I-X that continues no entity BH_EINVAL; a
 * tag over 256 bytes, or a 257th label, BH_ELIMIT. A refused sentence adds
 * nothing, not even its new labels. Refused (BH_EINVAL) once the tagger is
 * trained or loaded: its label set is fixed. */
bh_status bh_crf_tagger_add(bh_crf_tagger *t, const char *const *tokens, const char *const *tags, size_t n);

/* Trains on the sentences added (opt may be NULL = defaults). Training again
 * continues from the current weights. BH_EINVAL with no sentences, or when
 * the label set allows no one-token sentence (e.g. only B-X and E-X),
 * BH_ENUMERIC if the loss becomes NaN. A first training that fails leaves
 * the tagger untrained. */
bh_status bh_crf_tagger_train(bh_crf_tagger *t, const bh_crf_tagger_options *opt);

/* Tags n tokens: tags[i] points to a label string owned by the tagger (valid
 * until it is freed). n == 0 is allowed. BH_EINVAL if the tagger is untrained.
 * Reentrant. */
bh_status bh_crf_tagger_tag(const bh_crf_tagger *t, const char *const *tokens, size_t n, const char **tags);

/* Number of labels and the i-th label name (NULL if out of range). */
size_t bh_crf_tagger_n_labels(const bh_crf_tagger *t);
const char *bh_crf_tagger_label(const bh_crf_tagger *t, size_t i);

/* ---- word clusters ------------------------------------------------------------ */

/* Word clusters: classes of words that occur in similar contexts, learned from
 * raw text (scripts/word_clusters.py: fastText skip-gram vectors, k-means at a
 * few sizes). They let the tagger generalise from a training word to the
 * unseen words of its cluster. Text form, UTF-8, one word per line:
 *   word<TAB>id[<TAB>id ...]
 * 1 to 4 ids per line (the same number on every line), each 0..65534: the
 * word's cluster at each granularity, coarse to fine. Words are matched after
 * lower-casing; a repeated word keeps its first line; empty lines are skipped.
 * A table is read-only once loaded: threads may share it. */
typedef struct bh_word_clusters bh_word_clusters;

/* Loads the text form from path (at most 256 MB). BH_EIO if it cannot be
 * read, BH_EFORMAT (with the line number) for a malformed line or a file
 * without words. */
bh_status bh_word_clusters_load(const char *path, bh_word_clusters **out);
void bh_word_clusters_free(bh_word_clusters *wc);
/* Number of distinct words. */
size_t bh_word_clusters_size(const bh_word_clusters *wc);

/* Gives the tagger a cluster table, which it then owns (frees, and saves
 * with itself): its features include the clusters of each word and of its
 * neighbours. Only before the first bh_crf_tagger_add (BH_EINVAL after, or if
 * the tagger has a table already; on an error the caller keeps the table). */
bh_status bh_crf_tagger_set_clusters(bh_crf_tagger *t, bh_word_clusters *wc);
/* The tagger's cluster table (owned by the tagger), or NULL. */
const bh_word_clusters *bh_crf_tagger_clusters(const bh_crf_tagger *t);

/* The tagger's sparse features of each word, as 32-bit hashes: out [n,
 * BH_CRF_NFEAT] (row = word; the tagger keeps the low hash_bits of each).
 * wc: the tagger's cluster table (bh_crf_tagger_clusters), or NULL for a
 * tagger without one; slots a word does not use hold BH_CRF_NOFEAT, which
 * consumers skip (a feature hashing to that value is dropped). The same words
 * in the same order give the same hashes on every machine. Token heads with
 * word features (bhasha/heads.h, bh_head_fuse_crf) take them. Invalid UTF-8
 * is hashed byte by byte, never rejected. */
#define BH_CRF_NFEAT 31
#define BH_CRF_NOFEAT 0xFFFFFFFFu
bh_status bh_crf_word_features(const char *const *words, size_t n, const bh_word_clusters *wc, uint32_t *out);

/* Saves a trained tagger to a binary file (weights as float32; format in
 * models/crf_tagger.c; a tagger with word clusters writes version 2). */
bh_status bh_crf_tagger_save(const bh_crf_tagger *t, const char *path);
/* Loads a tagger saved by bh_crf_tagger_save; BH_EFORMAT for a damaged or
 * truncated file. */
bh_status bh_crf_tagger_load(const char *path, bh_crf_tagger **out);

#ifdef __cplusplus
}
#endif
#endif
