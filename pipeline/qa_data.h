/* pipeline/qa_data.h — data for extractive QA (pipeline/qa.h): self-supervised
 * cloze questions from raw text, and a deterministic paragraph-disjoint
 * dev/test split of a SQuAD file. Private to libbhasha; the CLI faces are
 * `bhasha corpus cloze` and `bhasha corpus squad-split`.
 *
 * Cloze questions. Input: text files, one paragraph (document) per line. A
 * paragraph is cut into sentences (after . ? ! । ॥ followed by white space
 * or the end) and sentences into words (runs between white space and
 * punctuation). A question picks a sentence S and a span of 1-3 consecutive
 * words of S that also occurs, word for word, in another sentence of the
 * paragraph; no word of the span is one of the `stopwords` most frequent
 * words of all the input (a first pass counts them). Spans with a digit are
 * preferred 3:2:1 over multi-word spans over single words. The question is S
 * with the span replaced by `blank`; the context is the paragraph WITHOUT S,
 * cut to about `context_chars` code points of whole sentences around the
 * sentence of the other occurrence, which is the answer. Everything random
 * draws from an RNG keyed by (seed, file index, line number), so the output
 * depends only on the files, their order and the options.
 *
 * Split: paragraph p of article a (0-based, file order) goes to dev when the
 * 64-bit FNV-1a hash of the text "a/p" (decimal) is even, else to test; both
 * outputs are SQuAD JSON with the input's articles (titles kept, articles
 * left without paragraphs dropped).
 *
 * Nothing here prints; records go to a callback. Memory: strings passed to
 * the callback live until it returns. */
#ifndef BH_PIPELINE_QA_DATA_H
#define BH_PIPELINE_QA_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

typedef struct bh__cloze_options {
    uint64_t seed;
    long max_questions;   /* stop after this many; 0 = no cap */
    int per_paragraph;    /* questions per paragraph at most (default 1), from distinct sentences */
    int context_chars;    /* context length cap in code points (default 1000; at least the answer's sentence) */
    int stopwords;        /* most frequent words never in an answer (default 300) */
    int min_sentences;    /* paragraphs with fewer sentences are skipped (default 3) */
    double sample;        /* keep a paragraph with this probability (default 1) */
    const char *blank;    /* default "_____" */
} bh__cloze_options;

void bh__cloze_options_default(bh__cloze_options *o);

typedef struct bh__cloze_record {
    const char *id;       /* "FILE:LINE:K" (FILE: the base name) */
    const char *context, *question, *answer;
    size_t context_len, question_len, answer_len;
    long answer_start;    /* code point offset of the answer in the context */
} bh__cloze_record;

typedef struct bh__cloze_stats {
    long paragraphs, questions, words, numeric, multiword;
} bh__cloze_stats;

/* Generates questions from files[0..n); emit returns nonzero to stop with
 * BH_EIO (a write error). */
bh_status bh__cloze_generate(const char *const *files, int n, const bh__cloze_options *o,
                             int (*emit)(void *ctx, const bh__cloze_record *r), void *ctx, bh__cloze_stats *stats);

/* Splits SQuAD JSON `in` into dev_out and test_out (see above); counts of
 * paragraphs and questions per half (may be NULL). */
bh_status bh__squad_split(const char *in, const char *dev_out, const char *test_out, long counts[4]);

#endif
