/* bhasha/model.h — transformer engine: tensors, layers, training, checkpoints, inference.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_MODEL_H
#define BHASHA_MODEL_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
