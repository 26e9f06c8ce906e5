/* bhasha/core.h — status codes, error messages, byte buffers, version.
 *
 * Every fallible bhasha function returns a bh_status: 0 (BH_OK) on success, a
 * negative code on failure. bh_errmsg() names the code; bh_last_error() gives
 * the detail of the most recent failure on the calling thread (file, line,
 * tensor, ...), like errno: it is thread-local, so handles used on different
 * threads never see each other's messages.
 *
 * Memory: output text goes into a caller-owned bh_buf, which bhasha grows with
 * realloc and the caller frees with bh_buf_free(). Reusing one bh_buf across
 * calls avoids an allocation per call. */
#ifndef BHASHA_CORE_H
#define BHASHA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int bh_status;

enum {
    BH_OK = 0,
    BH_ENOMEM = -1,      /* an allocation failed */
    BH_EINVAL = -2,      /* an argument is invalid (NULL, out of range, unknown name) */
    BH_EIO = -3,         /* reading or writing a file failed */
    BH_EFORMAT = -4,     /* input data is malformed (file format, JSON, CSV, model file) */
    BH_EUTF8 = -5,       /* text is not valid UTF-8 (only where repair was not asked for) */
    BH_ELIMIT = -6,      /* a size limit was exceeded */
    BH_ENOTFOUND = -7,   /* a file, key, column or label does not exist */
    BH_ESHAPE = -8,      /* tensor or matrix shapes do not agree */
    BH_EUNSUPPORTED = -9,/* a valid request that this build cannot serve */
    BH_ENUMERIC = -10,   /* a computation produced NaN or Inf */
    BH_EINTERNAL = -11   /* a bug in bhasha: please report it */
};

/* Short static description of a status code. Never NULL. Thread-safe. */
const char *bh_errmsg(bh_status status);

/* Detail of the last failure on the calling thread ("" if none). The string
 * stays valid until the next failing bhasha call on the same thread. */
const char *bh_last_error(void);

/* Library version string, e.g. "0.1.0". */
const char *bh_version(void);

/* A growable byte buffer. Zero-initialize it (bh_buf b = {0};) before first use.
 * data is NUL-terminated whenever len > 0 or data != NULL. */
typedef struct bh_buf {
    char *data;
    size_t len;
    size_t cap;
} bh_buf;

/* Makes room for at least `extra` more bytes (plus a NUL). */
bh_status bh_buf_reserve(bh_buf *b, size_t extra);
/* Appends n bytes. */
bh_status bh_buf_append(bh_buf *b, const void *bytes, size_t n);
/* Sets len to 0, keeps the memory. */
void bh_buf_clear(bh_buf *b);
/* Frees the memory and zeroes the struct. */
void bh_buf_free(bh_buf *b);

/* Appends s[0..n) as a JSON string literal, quotes included: " \ and control
 * characters escaped, well-formed UTF-8 copied, and each byte that starts no
 * well-formed UTF-8 sequence replaced by U+FFFD, so the result is always
 * valid JSON whatever the bytes. */
bh_status bh_buf_append_json(bh_buf *b, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
