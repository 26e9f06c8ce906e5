/* bhasha/segment.h — sentence, word, akshara and grapheme segmentation of Indic text.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_SEGMENT_H
#define BHASHA_SEGMENT_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
