/* eval/baseline.h — private: the baselines `bhasha eval suite` trains itself so
 * that its report is never empty: majority class, a multinomial naive Bayes over
 * hashed bags of word 1-2-grams and character 3-grams, a most-frequent-tag NER
 * tagger, and a question/sentence word-overlap QA baseline. Each object owns its
 * memory; predictions return strings owned by the model. Not thread-safe per object. */
#ifndef BH_EVAL_BASELINE_H
#define BH_EVAL_BASELINE_H

#include "bhasha/core.h"
#include "bhasha/segment.h"

typedef struct bh__nb bh__nb;
bh_status bh__nb_new(bh__nb **out);
/* Adds one training document with its label. */
bh_status bh__nb_add(bh__nb *m, const char *text, size_t n, const char *label);
/* Most probable label (after at least one add). majority=1 ignores the text (prior only). */
const char *bh__nb_predict(bh__nb *m, const char *text, size_t n, int majority);
void bh__nb_free(bh__nb *m);

typedef struct bh__tagger bh__tagger;
bh_status bh__tagger_new(bh__tagger **out);
bh_status bh__tagger_add(bh__tagger *t, const char *const *tokens, const char *const *tags, size_t n);
/* Tag of each token: the most frequent training tag of that word, else "O". */
bh_status bh__tagger_predict(bh__tagger *t, const char *const *tokens, size_t n, const char **tags);
void bh__tagger_free(bh__tagger *t);

/* QA: the context sentence (as seg splits it) sharing most normalised words with
 * the question, the first on ties, appended to out; the whole context when it
 * has no sentence. */
bh_status bh__qa_overlap(const bh_segmenter *seg, const char *context, const char *question, bh_buf *out);

#endif
