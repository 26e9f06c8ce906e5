/* models/ner_features.h — private: the sparse token features of the feature CRF
 * tagger. Each token gets BH__NER_NFEAT feature hashes (32 bits; the tagger
 * keeps the low hash_bits): bias, word, lower case, prefixes and suffixes of
 * 1-4 code points, word shape, digit class (digits of any script), Unicode
 * script, length, sentence position, the lower-cased words at -2..+2 and the
 * word bigrams around the token. Invalid UTF-8 is hashed byte by byte, never
 * rejected. Reentrant; the caller owns every array. */
#ifndef BH_MODELS_NER_FEATURES_H
#define BH_MODELS_NER_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

#define BH__NER_NFEAT 25

/* Writes n * BH__NER_NFEAT hashes for tokens[0..n) into out (row = token). */
bh_status bh__ner_features(const char *const *tokens, size_t n, uint32_t *out);

#endif
