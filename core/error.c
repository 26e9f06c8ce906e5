/* core/error.c — status messages, the thread-local error detail, bh_buf (with JSON string output). */
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

bh_status bh_buf_append_json(bh_buf *b, const char *s, size_t n)
{
    /* Worst case: every byte becomes \u00XX (6 bytes), plus the quotes. */
    if (n > (SIZE_MAX - 2) / 6) return bh__fail(BH_ELIMIT, "bh_buf_append_json: string too long");
    bh_status st = bh_buf_reserve(b, 6 * n + 2);
    if (st) return st;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
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
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return BH_OK;
}
