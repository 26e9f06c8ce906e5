/* eval/crf_baseline.h — private: the feature CRF NER baseline over CoNLL files.
 * Reads sentences through the corpus API (include/bhasha/corpus.h), repairs
 * malformed tags the way the IL-NER files need ("-" → O, "-X" → I-X), converts
 * to a tag scheme with an optional type map ("NEP=PER,NEN=O"), trains a
 * bh_crf_tagger and scores it with conlleval (include/bhasha/eval.h).
 * Sentences the reader rejects (e.g. a line with an empty tag) are skipped and
 * counted. The scoring also takes any other tagger (bh__ner_eval_conll), e.g. a
 * fine-tuned model with a fused CRF. Nothing here prints; the caller owns every
 * object it passes. */
#ifndef BH_EVAL_CRF_BASELINE_H
#define BH_EVAL_CRF_BASELINE_H

#include "bhasha/core.h"
#include "bhasha/corpus.h"
#include "bhasha/crf.h"
#include "bhasha/eval.h"

/* How files are read: tag scheme (BH_TAGS_ASIS = keep the repaired tags) and
 * type map (NULL = none). A path ending in ".jsonl" is JSON lines, one
 * sentence per line with its text under text_field and its tag array under
 * tags_field (NULL: "text", "tags"; keys or array indexes), re-tokenized to
 * the tags by the corpus reader; any other path is CoNLL. */
typedef struct bh__crf_data {
    bh_tag_scheme scheme;
    const char *label_map;
    const char *text_field, *tags_field;
} bh__crf_data;

/* Adds every sentence of the CoNLL file `path` to the tagger; *sentences and
 * *skipped (may be NULL) get the counts. */
bh_status bh__crf_add_conll(bh_crf_tagger *t, const char *path, const bh__crf_data *d, long *sentences,
                            long *skipped);

/* Tags every sentence of the CoNLL file `path` and scores the tags against the
 * file's (repaired, converted) tags with conlleval into *out (free with
 * bh_ner_report_free). The predicted tags go through the same scheme and type
 * map first, so a tagger of finer types is scored in the mapped view. pred
 * (may be NULL) gets "token\tgold\tpredicted" lines (the predicted tags as
 * scored), a blank line after each sentence (the conlleval input format). */
bh_status bh__crf_eval_conll(const bh_crf_tagger *t, const char *path, const bh__crf_data *d, bh_buf *pred,
                             bh_ner_report **out, long *sentences, long *skipped);

/* The same scoring for any tagger: tag(ctx, tokens, n, tags) writes n label
 * strings (owned by the tagger) for a sentence of n >= 1 tokens. */
typedef bh_status (*bh__tag_fn)(void *ctx, const char *const *tokens, size_t n, const char **tags);
bh_status bh__ner_eval_conll(bh__tag_fn tag, void *ctx, const char *path, const bh__crf_data *d, bh_buf *pred,
                             bh_ner_report **out, long *sentences, long *skipped);

#endif
