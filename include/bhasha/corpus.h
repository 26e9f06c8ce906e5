/* bhasha/corpus.h — streaming dataset readers (text, JSONL, CSV/TSV, CoNLL, CoNLL-U, SQuAD, MediaWiki XML).
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_CORPUS_H
#define BHASHA_CORPUS_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
