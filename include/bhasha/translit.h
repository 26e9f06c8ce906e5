/* bhasha/translit.h — conversion between Indic scripts and ISO 15919 romanization.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_TRANSLIT_H
#define BHASHA_TRANSLIT_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
