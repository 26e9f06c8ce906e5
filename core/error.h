/* core/error.h — private helpers for reporting failures.
 * bh__fail() records a printf-style detail in the calling thread's error slot
 * and returns the code, so error paths read `return bh__fail(BH_EIO, "...")`. */
#ifndef BH_CORE_ERROR_H
#define BH_CORE_ERROR_H

#include "bhasha/core.h"

#if defined(__GNUC__)
#define BH__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BH__PRINTF(a, b)
#endif

bh_status bh__fail(bh_status code, const char *fmt, ...) BH__PRINTF(2, 3);

#endif
