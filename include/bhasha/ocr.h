/* bhasha/ocr.h — Bangla handwritten digit recognition: images, features, classifiers.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_OCR_H
#define BHASHA_OCR_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
