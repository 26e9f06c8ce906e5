/* models/ner_features.h — private: the sparse token features of the feature CRF
 * tagger. Each token gets BH__NER_NFEAT feature hashes (32 bits; the tagger
 * keeps the low hash_bits): bias, word, lower case, prefixes and suffixes of
 * 1-4 code points, word shape, digit class (digits of any script), Unicode
 * script, length, sentence position, the lower-cased words at -2..+2 and the
 * word bigrams around the token; with a word cluster table, the word's
 * cluster at each of its granularities and the clusters of the words at -1
 * and +1 (at the third granularity, or the finest of fewer). Slots a token
 * does not use (no table, fewer granularities) hold BH_CRF_NOFEAT, which the
 * consumers skip. Invalid UTF-8 is hashed byte by byte, never rejected.
 * Reentrant; the caller owns every array. */
#ifndef BH_MODELS_NER_FEATURES_H
#define BH_MODELS_NER_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/crf.h"

#define BH__NER_NFEAT 31

/* Writes n * BH__NER_NFEAT hashes for tokens[0..n) into out (row = token);
 * wc may be NULL (no cluster features). */
bh_status bh__ner_features(const char *const *tokens, size_t n, const bh_word_clusters *wc, uint32_t *out);

/* s[0..n) lower-cased (utf8proc, code point by code point; invalid bytes
 * copied) into a new NUL-terminated string, or NULL without memory. */
char *bh__ner_lower(const char *s, size_t n);

#endif
