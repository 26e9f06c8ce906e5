/* bhasha/eval.h — metrics and the benchmark suite.
 * (Filled in by the work on this area; see include/bhasha.h for conventions.) */
#ifndef BHASHA_EVAL_H
#define BHASHA_EVAL_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
