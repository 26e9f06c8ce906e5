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

/* Length (1-4) of the well-formed UTF-8 sequence that starts s[0..n) (n > 0),
 * or 0 when s[0] starts none: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut short. */
size_t bh__utf8_seq(const char *s, size_t n);

/* Appends s[0..n) as one line of valid UTF-8 text (a CoNLL-U comment value or
 * field): control characters and the line/paragraph separators U+0085,
 * U+2028 and U+2029 become spaces, each byte that starts no well-formed
 * sequence becomes U+FFFD. */
bh_status bh__buf_append_line(bh_buf *b, const char *s, size_t n);

#endif
