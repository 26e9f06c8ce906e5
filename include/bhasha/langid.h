/* bhasha/langid.h — language identification with a character n-gram model.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_LANGID_H
#define BHASHA_LANGID_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
