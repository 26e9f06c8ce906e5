/* pipeline/finetune.h — fine-tuning an encoder (bhasha/model.h) with a task
 * head (bhasha/heads.h) on labelled files, and running the result on text.
 * Private to libbhasha; the CLI (`bhasha finetune`, `bhasha sentiment`,
 * `bhasha ner`) is its face.
 *
 * Tasks: sentiment (one label per text: CSV/TSV through the corpus readers,
 * a sequence head) and ner (CoNLL sentences: tags repaired as the CRF
 * baseline does — "-" -> O, "-X" -> I-X — and converted to BIO; a token head,
 * optionally with a CRF). Words are encoded one at a time with the tokenizer
 * (so a word's first subword is known exactly) and sentences longer than the
 * sequence length are cut into consecutive chunks of whole words; every
 * sequence is [CLS] pieces [SEP] with the tokenizer's own special ids (<s>
 * and </s> for SentencePiece).
 *
 * Training: AdamW over encoder and head, linear warm-up then linear decay to
 * zero, global gradient clipping, optional frozen lower layers; after each
 * epoch the dev set is scored with the project's metrics (macro-F1 from
 * bh_eval_classification, conlleval entity F1 from bh_ner_eval) and the best
 * epoch's encoder + head are saved to the output directory (config.json,
 * model.safetensors, the tokenizer, finetune.json); training stops after
 * `patience` epochs without improvement.
 *
 * Nothing here prints: progress goes through the callbacks. Memory: the
 * caller owns the options; a bh__ft_model owns everything it loaded. */
#ifndef BH_PIPELINE_FINETUNE_H
#define BH_PIPELINE_FINETUNE_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"
#include "bhasha/crf.h"
#include "bhasha/heads.h"
#include "bhasha/subword.h"

typedef enum bh__ft_task { BH__FT_SENTIMENT = 1, BH__FT_NER = 2 } bh__ft_task;

/* "sentiment" / "ner" -> task; BH_EINVAL otherwise. */
bh_status bh__ft_task_parse(const char *name, bh__ft_task *out);

/* The most tasks (heads) one fine-tuning run trains together. */
#define BH__FT_MAXTASKS 8

typedef struct bh__ft_options {
    bh__ft_task task;
    const char *head_name;  /* NULL = "sentiment" / "ner"; names must differ within a run */
    const char *base;       /* encoder directory, or an encoder config JSON (random weights) */
    const char *train, *dev;
    const char *test;       /* NULL = none; scored with the best checkpoint at the end */
    const char *format;     /* "tsv", "csv", "conll", "jsonl" (ner); NULL = by task (sentiment: file name,
                               ner: conll) */
    const char *text_col;   /* sentiment: column name or 0-based index; ner jsonl: key or index; NULL = "text" */
    const char *label_col;  /* NULL = "label" (ner jsonl: the tag array's key or index, NULL = "tags") */
    const char *tokenizer;  /* SentencePiece .model or WordPiece vocab.txt */
    const char *out;        /* output directory */
    int epochs;             /* passes over the training set */
    int batch;              /* sequences per step */
    int seq;                /* longest sequence, specials included; 0 = the encoder's max_len, at most 128 */
    int warmup;             /* warm-up steps; < 0 = 10% of all steps */
    int patience;           /* epochs without dev improvement before stopping; 0 = never stop early */
    int freeze_layers;      /* bh_model_freeze(k) */
    int crf;                /* ner: CRF over the word emissions */
    int feat_bits;          /* ner: 12..24 = word features trained with the head (feat.w [2^bits, C]); 0 = none */
    const char *init_crf;   /* ner: a trained feature CRF (bhasha crf train) fused into the new head
                             * (bh_head_fuse_crf) before training: its table and transitions start
                             * from the CRF's, scaled by crf_weight; implies word features */
    float crf_weight;       /* 0 = 1 */
    int class_weights;      /* sentiment: weight class c by n / (C * count_c) */
    int dense;              /* sentiment: dense + tanh before the classifier */
    bh_head_pool pool;      /* sentiment pooling */
    int normalize;          /* bh_normalize each word/text before the tokenizer */
    int skip_bad;           /* 1: malformed records are skipped (counted), not fatal */
    const char *label_map;  /* "NEP=PER,NEL=LOC,NEN=O": rename entity types / labels (corpus readers) */
    int threads;
    bh_precision precision; /* BF16: the encoder's linear products in bf16, training and dev scoring */
    float lr, weight_decay, clip;
    float dropout;          /* < 0 = keep the encoder's */
    uint64_t seed;          /* the heads' initialization; also data_seed's when that is 0 */
    uint64_t data_seed;     /* the batch order and dropout masks (0: seed), so that runs can
                               share their initialization and differ in order alone */
    int log_every;          /* progress line every N steps */
    /* Callbacks (may be NULL): a progress line (no newline); the end of each
     * epoch (mean training loss, dev metric). */
    void (*on_log)(void *ctx, const char *line);
    void (*on_epoch)(void *ctx, int epoch, double loss, double dev_metric);
    void *ctx;
    /* Data-parallel training over nranks processes (0 or 1 = one process):
     * each runs bh__finetune with the same options and files, so all read,
     * shuffle and batch alike; process `rank` computes rows
     * [rank*B/nranks, (rank+1)*B/nranks) of every batch (dropout keyed by the
     * global row), losses are normalized by the whole batch's count, and
     * encoder + head gradients are summed with reduce before clipping and
     * AdamW, so the run follows the one-process run up to rounding. Rank 0
     * alone evaluates on dev, saves, scores the test file and calls on_log /
     * on_epoch; the dev metric is shared so early stopping agrees.
     * reduce sums buf[0..n) (doubles when dbl, else floats) in place across
     * all processes; nonzero = the collective failed. */
    int rank, nranks;
    int (*reduce)(void *rctx, void *buf, size_t n, int dbl);
    void *rctx;
    /* Multi-task: further tasks trained together with this one on the same
     * encoder, each with its own head (all saved in one checkpoint). Only
     * their task, head_name, train/dev/test, format, text_col, label_col,
     * label_map, crf, feat_bits, init_crf, crf_weight and class_weights are read; everything else is this
     * run's. Every epoch interleaves the batches of all tasks in a shuffled
     * order (one task per batch); the dev metric that picks the best epoch
     * is the mean of the tasks' metrics on a 0..1 scale. */
    const struct bh__ft_options *also;
    int nalso;
} bh__ft_options;

/* The state of the random stream for the batch order and dropout masks of a
 * run (data_seed, or seed when that is 0), the same for every task kind. */
static inline uint64_t bh__ft_data_rng(const bh__ft_options *o)
{
    return (o->data_seed ? o->data_seed : o->seed) * 0x9E3779B97F4A7C15ull + 7;
}

/* Defaults: 3 epochs, batch 16, seq 0, warm-up 10%, patience 2, lr 1e-4,
 * weight decay 0.01, clip 1.0, mean pooling with dense, normalize on,
 * 1 thread, seed 1, log every 20 steps. */
void bh__ft_options_default(bh__ft_options *o);

typedef struct bh__ft_result {
    const char *metric;     /* "macro_f1" (0..1) or "entity_f1" (percent) */
    long n_train, n_dev, n_test; /* texts / sentences read */
    int n_labels;
    long steps;
    int epochs_run, best_epoch;
    double first_loss, last_loss; /* mean training loss of the first and last epoch */
    double best_dev;
    double test;            /* -1 without a test file */
    double seconds;
    int ntasks;             /* 1 + nalso; the per-task figures below, in option order */
    double task_dev[BH__FT_MAXTASKS], task_test[BH__FT_MAXTASKS]; /* -1 = none */
    char task_head[BH__FT_MAXTASKS][32];
    int peer_error;         /* data-parallel: the error was another process's (rank 0's, or
                             * reported by the process that failed), not this one's */
} bh__ft_result;

/* Trains and saves to o->out. Errors name the file and line (a label the
 * training set never had, an empty text or label, a missing file). */
bh_status bh__finetune(const bh__ft_options *o, bh__ft_result *res);

/* ---- running a fine-tuned model ---------------------------------------- */

typedef struct bh__ft_model bh__ft_model;

/* Loads DIR (as written by bh__finetune): the encoder (mapped), the first
 * head of the task's kind (or the one named `head`; task 0: of either kind),
 * every other head, the tokenizer and the settings in finetune.json. */
bh_status bh__ft_load(const char *dir, bh__ft_task task, const char *head, int threads, bh__ft_model **out);
void bh__ft_free(bh__ft_model *fm);
const bh_head *bh__ft_head(const bh__ft_model *fm);
/* The encoder's inference precision (bh_model_set_precision). */
bh_status bh__ft_set_precision(bh__ft_model *fm, bh_precision p);

typedef struct bh__ft_entity {
    const char *type;       /* points into the head's labels */
    size_t start, end;      /* code point offsets into the text, [start, end) */
    size_t bstart, bend;    /* byte offsets */
    float score;            /* mean probability of the entity's word labels */
    int item;               /* bh__ft_run_many: the text it is in */
} bh__ft_entity;

/* The head of a kind for a language: "sentiment_LANG" / "ner_LANG", else
 * the head of a language in the same script (Assamese -> bn; Sanskrit,
 * Marathi, Nepali, ... -> hi), else "sentiment" / "ner", else the first
 * head of that kind; NULL if none. */
bh_head *bh__ft_find_head(const bh__ft_model *fm, bh_head_kind kind, const char *lang);

/* Several heads of fm (a multi-task directory) on one text: the sequence
 * head sh (or NULL) writes probs [its labels], the token head nh (or NULL)
 * the entities (words from bh_segment BH_SEG_WORD; *ents grows with realloc,
 * *cap its capacity: start with NULL/0 and free() it). With both, each chunk of whole words goes
 * through the encoder once and feeds both heads (the sentiment is the
 * chunks' probabilities averaged by their lengths); sentiment alone encodes
 * the text as in training. An empty text gives the sentiment of an empty
 * sequence and no entities. Not thread-safe: one bh__ft_model per thread. */
bh_status bh__ft_run(bh__ft_model *fm, bh_head *sh, bh_head *nh, const char *text, size_t len,
                     float *probs, bh__ft_entity **ents, size_t *n, size_t *cap);

/* The same over ntexts texts at once (a document's sentences): their chunks
 * go through the encoder in small padded batches of similar lengths, which
 * is faster than one text at a time. probs is [ntexts, C];
 * each entity's `item` names its text, offsets are into that text, and the
 * entities come text after text. */
bh_status bh__ft_run_many(bh__ft_model *fm, bh_head *sh, bh_head *nh, const char *const *texts, const size_t *lens,
                          int ntexts, float *probs, bh__ft_entity **ents, size_t *n, size_t *cap);

/* The token head nh's label index for each of n given words (no segmenting):
 * tags [n]. An empty word gets "O" (-1 if the head has no such label). For
 * scoring on tokenized test sets. */
bh_status bh__ft_tag_words(bh__ft_model *fm, bh_head *nh, const char *const *words, int n, int32_t *tags);

/* Word clusters: the fused token head named `head` computes its word
 * features with the cluster table wc (the fused CRF's, borrowed: it must
 * outlive fm). A model has one table: BH_EUNSUPPORTED if its other fused
 * heads read another. */
#define BH__FT_MAX_CL_HEADS 16
#define BH__FT_CLUSTERS_FILE "word_clusters.tsv"
bh_status bh__ft_set_clusters(bh__ft_model *fm, const char *head, const bh_word_clusters *wc);

/* Writes fm to out as a directory bh__ft_load reads: the encoder and every
 * head, `old` (one of fm's heads) replaced by `fused`; the tokenizer and
 * finetune.json of src (the directory fm came from), the latter with
 * "fused_crf" (token heads: W = the CRF's weight) or "fused_ngrams"
 * (sequence heads: W = the encoder's weight) {HEAD: {"weight": W,
 * "feat_bits": B}} added; heads whose word features read word clusters have
 * "word_clusters": "word_clusters.tsv" there, and the table is written to
 * that file of out. */
bh_status bh__ft_save_fused(const bh__ft_model *fm, const char *src, const bh_head *old, bh_head *fused,
                            double weight, const char *out);

/* Shared with the QA trainer (pipeline/qa.c). */
/* Monotonic seconds. */
double bh__ft_now(void);

/* File name a tokenizer is saved under: tokenizer.model or vocab.txt. */
const char *bh__ft_tok_file(const bh_tokenizer *t);
/* --base: an encoder directory, or a config JSON file for random weights;
 * with the run's settings applied (threads, frozen lower layers, dropout). */
bh_status bh__ft_open_base(const bh__ft_options *o, bh_model **m);
/* One update after backward: encoder + head gradients clipped together to
 * o->clip (a non-finite norm is BH_ENUMERIC naming the step), then AdamW on
 * both; *lr and *norm are for the progress line. */
bh_status bh__ft_update(const bh__ft_options *o, const bh_optim_config *oc, long step, bh_model *m, bh_optim *om,
                        bh_head *h, bh_optim *oh, float *lr, float *norm);
/* A progress line through o->on_log (rank 0 only). */
void bh__ft_log(const bh__ft_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* AdamW settings of a fine-tuning run of `total` steps: o's lr and weight
 * decay, warm-up o->warmup (default 10% of the steps), then linear decay. */
void bh__ft_optim_config(const bh__ft_options *o, long total, bh_optim_config *oc);
/* Shuffles order[0..n) in place (Fisher-Yates, draws from *rng). */
void bh__ft_shuffle(long *order, long n, uint64_t *rng);
/* The step progress line: loss, learning rate, gradient norm, tokens/s, ETA
 * (elapsed = training seconds so far, step 0-based). */
void bh__ft_progress(const bh__ft_options *o, int ep, long step, long total, double loss, float lr, float norm,
                     double ntok, double elapsed);

#endif
