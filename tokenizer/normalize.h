/* tokenizer/normalize.h — internals of the normalizer shared with its tests.
 * The public API is include/bhasha/normalize.h. */
#ifndef BH_TOKENIZER_NORMALIZE_H
#define BH_TOKENIZER_NORMALIZE_H

#include "bhasha/normalize.h"

/* bh_normalize(), with force_slow = 1 sending every chunk through the full
 * decompose/rules/compose path: the tests check that the fast path (copying
 * chunks it judges unchanged) gives the same output. */
bh_status bh__normalize_ex(const char *text, size_t len, const bh_norm_options *opt, bh_buf *out,
                           bh_norm_stats *stats, int force_slow);

#endif
