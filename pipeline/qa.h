/* pipeline/qa.h — extractive question answering: fine-tuning an encoder with
 * a span head (bhasha/heads.h, BH_HEAD_SPAN) on SQuAD-style data, and
 * answering questions with the result. Private to libbhasha; the CLI
 * (`bhasha finetune --task qa`, `bhasha qa`) is its face.
 *
 * Input: a SQuAD v1.1/v2.0 JSON file (through the corpus reader) or JSON
 * lines {"id", "context", "question", "answers": [{"text", "answer_start"}]}
 * (files named *.jsonl; what `bhasha corpus cloze` writes). answer_start is
 * a code point offset into the context, as in SQuAD.
 *
 * Sequences: [CLS] question [SEP] context-window [SEP] with the tokenizer's
 * special ids; the question is cut to max_query pieces. The context is split
 * at whitespace and each chunk normalized (when on) and encoded alone, so
 * every piece has byte offsets into the ORIGINAL context (a chunk whose
 * normalized form changed length maps its pieces proportionally; its first
 * piece starts and its last ends exactly at the chunk's edges). Contexts
 * longer than one window are cut into windows of max_len - question - 3
 * pieces, consecutive windows sharing `stride` pieces (at most half a window).
 *
 * Training targets: the answer's first and last pieces when the window holds
 * the whole answer, else position 0 ([CLS], "no answer here"). Decoding: the
 * best spans over all windows of a question (scored as bh_span_best does,
 * log p(start) + log p(end) within a window, less the answer priors),
 * widened to whole words and mapped back to code points of the original
 * context. The dev metric is SQuAD F1 (bh_squad_score, in
 * percent as `bhasha eval qa`).
 *
 * Nothing here prints. Memory: a bh__qa_model owns what it loaded; answers
 * point into the caller's context. */
#ifndef BH_PIPELINE_QA_H
#define BH_PIPELINE_QA_H

#include <stddef.h>

#include "bhasha/core.h"
#include "bhasha/corpus.h"
#include "pipeline/finetune.h"

/* Options: the common fine-tuning ones (ft: files, encoder, tokenizer,
 * epochs, batch, optimizer, seed, callbacks; ft.seq is the window length,
 * 0 = the encoder's max_len; ft.task, format, columns, crf, pooling and
 * class weights are not used) and the QA ones. */
typedef struct bh__qa_options {
    bh__ft_options ft;
    int stride;      /* pieces shared by consecutive context windows, at most half a window (default 32) */
    int max_query;   /* question pieces kept (64) */
    int max_answer;  /* longest answer decoded, in pieces (30) */
    int null_answer; /* decoding may answer "no answer", SQuAD 2.0 (0) */
    int sentence;    /* decoding answers only inside the context sentence sharing most with the
                      * question (bh__qa_set_sentence); saved in finetune.json (0) */
    double echo_penalty, type_penalty; /* answer priors when decoding (bh__qa_set_priors); saved (0, 0) */
} bh__qa_options;

/* bh__ft_options_default plus the QA defaults above. */
void bh__qa_options_default(bh__qa_options *o);

typedef struct bh__qa_result {
    bh__ft_result ft; /* metric "squad_f1": dev and test SQuAD F1 in percent */
    double test_em;   /* exact match on the test file (percent; -1 without one) */
    long windows;     /* training windows */
} bh__qa_result;

/* Trains a span head named "qa" and saves the best dev epoch to ft.out
 * (encoder + head, tokenizer, finetune.json with the QA settings). Errors
 * name the file and line or question id. */
bh_status bh__qa_finetune(const bh__qa_options *o, bh__qa_result *res);

typedef struct bh__qa_model bh__qa_model;

/* Opens a SQuAD v1.1/v2.0 JSON file as the QA readers read it: the corpus
 * reader, one record per question, stopping at the first bad one. */
bh_status bh__qa_open_squad(const char *path, bh_corpus **r);

/* Loads DIR as written by bh__qa_finetune (span head, tokenizer, settings). */
bh_status bh__qa_load(const char *dir, int threads, bh__qa_model **out);
void bh__qa_free(bh__qa_model *qm);
/* The encoder's inference precision (bh_model_set_precision). */
bh_status bh__qa_set_precision(bh__qa_model *qm, bh_precision p);
/* on: answers only inside the context sentence that shares the most (rare)
 * words with the question (bh_segment sentences and words, compared after
 * normalization as the model sees them; each shared word counts
 * log(1 + sentences / sentences containing it)); the whole context
 * when none shares a word. Also set by "sentence": true in finetune.json. */
bh_status bh__qa_set_sentence(bh__qa_model *qm, int on);
/* Answer priors, subtracted from a span's log p(start) + log p(end) when
 * decoding (0 = off; also "echo_penalty" and "type_penalty" in
 * finetune.json): echo_penalty from a span made only of question words and
 * punctuation (it repeats the question), type_penalty from a span without a
 * number when the question asks how many ("कितने", "কত") or without a number
 * or month when it asks when ("कब", "किस वर्ष", "কবে"). Words are compared
 * normalized; numbers are digits of any script or number words. A negative
 * penalty keeps the current one; above 1000 (or NaN) is BH_EINVAL. */
bh_status bh__qa_set_priors(bh__qa_model *qm, double echo_penalty, double type_penalty);

typedef struct bh__qa_answer {
    size_t start, end;   /* code point offsets into the context, [start, end); 0, 0 = no answer */
    size_t bstart, bend; /* byte offsets */
    float score;         /* p(start) p(end) within the best window */
    int null;            /* 1: the null answer won (only with null_answer) */
} bh__qa_answer;

/* Answers one question. Errors (BH_EINVAL, with a message): an empty
 * context or question, a context shorter than the question (in code points),
 * a question with no pieces. */
bh_status bh__qa_answer_one(bh__qa_model *qm, const char *context, size_t clen, const char *question, size_t qlen,
                            bh__qa_answer *ans);

/* The most answers bh__qa_answer_top gives. */
#define BH__QA_TOP_MAX 100

/* The k best distinct answers (1 <= k <= BH__QA_TOP_MAX) of one question,
 * best first, into ans[0..*n) (*n <= k: a short context has fewer
 * spans). Distinct: no two answers cover the same characters (spans that
 * widen to the same whole words count once, at the best score). With a
 * null-answer model the null answer takes its place by its score; with no
 * span at all it is the only answer. ans[0] is bh__qa_answer_one's answer.
 * Errors as bh__qa_answer_one's, and BH_EINVAL for k out of range. */
bh_status bh__qa_answer_top(bh__qa_model *qm, const char *context, size_t clen, const char *question, size_t qlen,
                            int k, bh__qa_answer *ans, int *n);

/* Widens or narrows the answer span [*bs, *be) (bytes of ctx[0, n)) to whole
 * grapheme clusters: a span whose first piece is the tail of the word before
 * it (a vowel sign such as the "े" of "इसे") starts after that tail and the
 * whitespace behind it, unless nothing else is left; a span that ends inside a
 * cluster (before the nukta of "खिलाड़ी") takes the rest of the cluster. */
void bh__qa_whole_clusters(const char *ctx, long n, long *bs, long *be);

/* bh__qa_whole_clusters, then widened to whole words: a span that starts or
 * ends inside a word (letters, marks, numbers and joiners with no space or
 * punctuation between them: the "19" of "1998", the "सुनी" of "सुनीता")
 * takes the rest of it, as extractive QA answers are whole words (all but 6
 * of XQuAD-hi's 1,190 answers). What answering uses. */
void bh__qa_whole_words(const char *ctx, long n, long *bs, long *be);
#endif
