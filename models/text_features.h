/* models/text_features.h — private: the hashed bag-of-n-grams of a text, the
 * input of the n-gram naive Bayes baseline (eval/baseline.c) and of the
 * n-gram layer fused into sentiment heads (bh_head_seq_fuse_text). Words are
 * maximal runs of letters, marks and digits (anything else separates them);
 * the features of each word are its hash, the hash of it and the previous
 * word (a bigram), and the hashes of its character n-grams for n in
 * [cmin, cmax] (only the first 255 characters of a word). Hashes are 32-bit
 * FNV-1a folds: consumers keep the low bits. Invalid UTF-8 bytes separate
 * words like punctuation. Reentrant; the caller owns the output array. */
#ifndef BH_MODELS_TEXT_FEATURES_H
#define BH_MODELS_TEXT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

/* Appends the features of s[0..n) to *out (grown with realloc; *len and
 * *cap as for any growable array: start with NULL, 0, 0). 1 <= cmin <= cmax <= 8. */
bh_status bh__text_features(const char *s, size_t n, int cmin, int cmax, uint32_t **out, size_t *len, size_t *cap);

#endif
