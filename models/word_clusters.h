/* models/word_clusters.h — private: the word cluster table behind the public
 * bh_word_clusters (include/bhasha/crf.h): lower-cased word -> up to
 * BH__WC_MAX cluster ids, for the cluster features of models/ner_features.c.
 * The table keeps the text it was parsed from, so that a tagger or a model
 * directory can write it back unchanged. Read-only after parsing, so one table
 * may serve many threads. */
#ifndef BH_MODELS_WORD_CLUSTERS_H
#define BH_MODELS_WORD_CLUSTERS_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/crf.h"

#define BH__WC_MAX 4          /* granularities (id columns) at most */
#define BH__WC_UNKNOWN 0xFFFF /* the id of a word the table does not hold */

/* Parses the text form (see bh_word_clusters_load) from text[0..len); the
 * table copies it. `what` names the source in error messages. */
bh_status bh__wc_parse(const char *text, size_t len, const char *what, bh_word_clusters **out);

/* Granularities of the table (1..BH__WC_MAX). */
int bh__wc_levels(const bh_word_clusters *wc);

/* The ids of the lower-cased word w[0..n) into ids[0..levels): 1 if the
 * table holds it, else 0 and every id BH__WC_UNKNOWN. */
int bh__wc_lookup(const bh_word_clusters *wc, const char *w, size_t n, uint16_t *ids);

/* The text the table was parsed from. */
const char *bh__wc_text(const bh_word_clusters *wc, size_t *len);

#endif
