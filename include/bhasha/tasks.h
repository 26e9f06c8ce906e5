/* bhasha/tasks.h — running fine-tuned task models from C: sentiment, named
 * entities and extractive question answering, the calls behind `bhasha
 * sentiment`, `bhasha ner` and `bhasha qa` (`bh_annotate` runs sentiment and
 * NER over whole documents; `bh_gen_*` in bhasha/model.h generates text).
 *
 * A bh_task_model is a directory written by `bhasha finetune` (an encoder with
 * one or more heads: the shipped assets/models/bhasha-bnhi has sentiment_bn,
 * sentiment_hi, ner_bn and ner_hi; assets/models/bhasha-qa-hi has a QA head).
 * Handles are not thread-safe (they keep activation buffers): use one per
 * thread (F32 weights are mapped and shared by the page cache, F16 weights are
 * widened into each handle). Results point
 * into the handle (label and type names) or into caller-owned arrays. */
#ifndef BHASHA_TASKS_H
#define BHASHA_TASKS_H

#include <stddef.h>

#include "bhasha/core.h"
#include "bhasha/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bh_task_model bh_task_model;

/* Loads DIR; threads >= 1 for the encoder. BH_ENOTFOUND when DIR has neither
 * a sentiment/NER head nor a QA head. */
bh_status bh_task_model_load(const char *dir, int threads, bh_task_model **out);
void bh_task_model_free(bh_task_model *m);
/* The encoder's inference precision: BH_PRECISION_BF16 about doubles the
 * speed on CPUs with AVX512-BF16, scores move by about 1e-2 (see
 * bh_model_set_precision; BH_EUNSUPPORTED elsewhere). Default fp32. */
bh_status bh_task_model_set_precision(bh_task_model *m, bh_precision p);

typedef struct bh_sentiment_result {
    const char *label; /* the most probable label (owned by the model) */
    float score;       /* its probability */
    const char *head;  /* the head that answered */
} bh_sentiment_result;

/* Sentiment of text[0..len). lang ("bn", "hi", ... or NULL) picks the head
 * "sentiment_LANG", else "sentiment", else the first sequence head.
 * BH_ENOTFOUND without a sequence head. */
bh_status bh_task_sentiment(bh_task_model *m, const char *lang, const char *text, size_t len,
                            bh_sentiment_result *out);

typedef struct bh_entity {
    const char *type;       /* "PER", "LOC", ... (owned by the model) */
    size_t start, end;      /* code point offsets into the text, [start, end) */
    size_t byte_start, byte_end;
    float score;            /* mean probability of the entity's word labels */
} bh_entity;

/* Named entities of text[0..len) (head chosen by lang as above). *ents grows
 * with realloc: start with *ents = NULL, *cap = 0 and free() it at the end;
 * *n is the count. BH_ENOTFOUND without a token head. */
bh_status bh_task_ner(bh_task_model *m, const char *lang, const char *text, size_t len, bh_entity **ents,
                      size_t *n, size_t *cap);

typedef struct bh_answer {
    size_t start, end;           /* code point offsets into the context; 0, 0 = no answer */
    size_t byte_start, byte_end;
    float score;                 /* p(start) p(end) within the best window */
} bh_answer;

/* The answer span of question in context (a model with a QA head).
 * BH_EINVAL for an empty context or question or a context shorter than the
 * question; BH_ENOTFOUND without a QA head. */
bh_status bh_task_qa(bh_task_model *m, const char *context, size_t clen, const char *question, size_t qlen,
                     bh_answer *out);

/* The k best distinct answers (1 <= k <= 100) of question in context, best
 * first by the decoding's score (answer priors applied; .score is p(start)
 * p(end)), into out[0..*n): *n < k when the context has fewer distinct
 * spans. No two answers cover the same characters; out[0] is bh_task_qa's
 * answer. Errors as bh_task_qa's, and BH_EINVAL for k out of range. */
bh_status bh_task_qa_top(bh_task_model *m, const char *context, size_t clen, const char *question, size_t qlen,
                         size_t k, bh_answer *out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
