/* bhasha/text.h — normalization, segmentation, transliteration, language identification.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_TEXT_H
#define BHASHA_TEXT_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
