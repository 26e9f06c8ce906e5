/* tokenizer/wordpiece.h — BERT WordPiece: the BERT "basic tokenizer" (clean
 * control characters, split CJK ideographs, optional lowercasing and accent
 * stripping, split on white space and punctuation) followed by greedy
 * longest-match-first WordPiece over a vocab.txt, behaving like the published
 * BERT reference tokenizer, known damage to Indic text included when accent
 * stripping is on (which is why bhasha's default leaves it off).
 *
 * Public API: bh_wordpiece_* in include/bhasha/subword.h. A bh_wordpiece owns
 * one copy of the vocabulary (a string blob plus an open-addressing hash from
 * token to id); encoding allocates only scratch memory of its own call. */
#ifndef BH_TOKENIZER_WORDPIECE_H
#define BH_TOKENIZER_WORDPIECE_H

#include "bhasha/subword.h"

#endif
