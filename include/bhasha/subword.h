/* bhasha/subword.h — subword tokenizers: SentencePiece, WordPiece, one common interface.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_SUBWORD_H
#define BHASHA_SUBWORD_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
