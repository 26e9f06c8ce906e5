/* core/error.c — status messages, the thread-local error detail, bh_buf (with
 * JSON string output and one-line text output, both valid UTF-8 whatever the input). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BH_VERSION
#define BH_VERSION "0.1.0"
#endif

/* One slot per thread: the only mutable state outside handles, scoped like errno. */
static _Thread_local char bh__detail[512];

const char *bh_errmsg(bh_status status)
{
    switch (status) {
    case BH_OK: return "success";
    case BH_ENOMEM: return "out of memory";
    case BH_EINVAL: return "invalid argument";
    case BH_EIO: return "input/output error";
    case BH_EFORMAT: return "malformed input";
    case BH_EUTF8: return "invalid UTF-8";
    case BH_ELIMIT: return "size limit exceeded";
    case BH_ENOTFOUND: return "not found";
    case BH_ESHAPE: return "shape mismatch";
    case BH_EUNSUPPORTED: return "unsupported";
    case BH_ENUMERIC: return "NaN or Inf in a computation";
    case BH_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

const char *bh_last_error(void) { return bh__detail; }

const char *bh_version(void) { return BH_VERSION; }

bh_status bh__fail(bh_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bh__detail, sizeof bh__detail, fmt, ap);
    va_end(ap);
    return code;
}

bh_status bh_buf_reserve(bh_buf *b, size_t extra)
{
    if (!b) return bh__fail(BH_EINVAL, "bh_buf_reserve: NULL buffer");
    if (extra > SIZE_MAX - b->len - 1) return bh__fail(BH_ELIMIT, "bh_buf: size overflow");
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return BH_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return bh__fail(BH_ENOMEM, "bh_buf: cannot grow to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    b->data[b->len] = 0; /* the terminator the header promises, even before any append */
    return BH_OK;
}

bh_status bh_buf_append(bh_buf *b, const void *bytes, size_t n)
{
    bh_status st = bh_buf_reserve(b, n);
    if (st) return st;
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = 0;
    return BH_OK;
}

void bh_buf_clear(bh_buf *b)
{
    if (!b) return;
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void bh_buf_free(bh_buf *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t bh__utf8_seq(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    if (c < 0x80) return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!k || n < k) return 0;
    for (size_t i = 1; i < k; i++)
        if ((u[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && u[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && u[1] >= 0xA0) return 0; /* surrogate */
    if (c == 0xF0 && u[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && u[1] >= 0x90) return 0; /* above U+10FFFF */
    return k;
}

static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD}; /* U+FFFD */

bh_status bh_buf_append_json(bh_buf *b, const char *s, size_t n)
{
    /* Worst case: every byte becomes \u00XX (6 bytes), plus the quotes; a
     * repaired byte takes 3. */
    if (n > (SIZE_MAX - 2) / 6) return bh__fail(BH_ELIMIT, "bh_buf_append_json: string too long");
    bh_status st = bh_buf_reserve(b, 6 * n + 2);
    if (st) return st;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* JSON text is UTF-8: a byte that starts no well-formed sequence
             * becomes U+FFFD, one per byte, like bh_normalize's repair. */
            size_t k = bh__utf8_seq(s + i, n - i);
            if (k) {
                memcpy(o, s + i, k);
                o += k;
                i += k;
            } else {
                memcpy(o, replacement, 3);
                o += 3;
                i++;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\'; *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\'; *o++ = 't';
        } else if (c == '\r') {
            *o++ = '\\'; *o++ = 'r';
        } else if (c < 0x20 || c == 0x7F) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return BH_OK;
}

bh_status bh__buf_append_line(bh_buf *b, const char *s, size_t n)
{
    if (n > (SIZE_MAX - 1) / 3) return bh__fail(BH_ELIMIT, "bh__buf_append_line: string too long");
    bh_status st = bh_buf_reserve(b, 3 * n);
    if (st) return st;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : bh__utf8_seq(s + i, n - i);
        if (!k) {
            memcpy(o, replacement, 3);
            o += 3;
            i++;
            continue;
        }
        /* Control characters, and the Unicode line and paragraph separators
         * (U+0085, U+2028, U+2029) that readers splitting on Unicode line
         * boundaries would also break at. */
        int sep = c < 0x20 || c == 0x7F || (k == 2 && c == 0xC2 && (unsigned char)s[i + 1] == 0x85) ||
                  (k == 3 && c == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9));
        if (sep) {
            *o++ = ' ';
        } else {
            memcpy(o, s + i, k);
            o += k;
        }
        i += k;
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return BH_OK;
}
