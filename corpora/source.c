/* corpora/source.c — buffered reading through zlib with line numbers (see source.h). */
#include "corpora/source.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

#define SRC_BUF (1u << 16)

bh_status bh__src_open(bh__src *s, const char *path, size_t max_line)
{
    memset(s, 0, sizeof *s);
    if (!path) return bh__fail(BH_EINVAL, "no input path");
    int is_stdin = strcmp(path, "-") == 0;
    s->path = strdup(is_stdin ? "<stdin>" : path);
    s->buf = malloc(SRC_BUF);
    if (!s->path || !s->buf) {
        free(s->path);
        free(s->buf);
        return bh__fail(BH_ENOMEM, "reader buffer");
    }
    s->gz = is_stdin ? gzdopen(dup(0), "rb") : gzopen(path, "rb");
    if (!s->gz) {
        bh_status st = bh__fail(BH_EIO, "cannot open %s", path);
        free(s->path);
        free(s->buf);
        s->path = NULL;
        s->buf = NULL;
        return st;
    }
    gzbuffer(s->gz, 1u << 17);
    s->max_line = max_line ? max_line : ((size_t)64 << 20);
    return BH_OK;
}

/* The zlib message without the path it starts with. */
static const char *zmsg(bh__src *s, const char *m)
{
    size_t k = strlen(s->path);
    if (!m) return "read error";
    if (strncmp(m, s->path, k) == 0 && m[k] == ':' && m[k + 1] == ' ') return m + k + 2;
    return m;
}

static int src_error(bh__src *s, const char *m)
{
    if (s->lineno > 0)
        return bh__fail(BH_EIO, "%s: after line %ld: %s (truncated or corrupt gzip?)", s->path, s->lineno, zmsg(s, m));
    return bh__fail(BH_EIO, "%s: after %lld bytes: %s (truncated or corrupt gzip?)", s->path, s->bytes, zmsg(s, m));
}

static int fill(bh__src *s)
{
    if (s->eof) return 0;
    int n = gzread(s->gz, s->buf, SRC_BUF);
    int errnum = 0;
    if (n < 0) return src_error(s, gzerror(s->gz, &errnum));
    if (n == 0) {
        const char *m = gzerror(s->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END) return src_error(s, m);
        s->eof = 1;
        return 0;
    }
    s->pos = 0;
    s->end = (size_t)n;
    if (!s->started) {
        s->started = 1;
        /* gzread keeps reading until the buffer is full, the input ends or it fails,
         * so a BOM is never split across two reads */
        if (n >= 3 && s->buf[0] == 0xEF && s->buf[1] == 0xBB && s->buf[2] == 0xBF) s->pos = 3;
    }
    s->bytes += n;
    return 1;
}

int bh__src_line(bh__src *s, bh_buf *line)
{
    bh_buf_clear(line);
    int got = 0;
    for (;;) {
        if (s->pos >= s->end) {
            int f = fill(s);
            if (f < 0) return f;
            if (f == 0) break;
            /* a first buffer holding only the BOM has nothing to take: taking zero bytes
             * from it would make an input of just a BOM one empty line */
            if (s->pos >= s->end) continue;
        }
        unsigned char *p = s->buf + s->pos;
        size_t avail = s->end - s->pos;
        unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (line->len + take > s->max_line)
            return bh__fail(BH_ELIMIT, "%s:%ld: line longer than %zu bytes", s->path, s->lineno + 1,
                            s->max_line);
        if (take && bh_buf_append(line, p, take)) return BH_ENOMEM;
        got = 1;
        s->pos += take;
        if (nl) {
            s->pos++;
            break;
        }
    }
    if (!got) return 0;
    if (!line->data && bh_buf_append(line, "", 0)) return BH_ENOMEM;
    if (line->len && line->data[line->len - 1] == '\r') line->data[--line->len] = 0;
    s->lineno++;
    return 1;
}

long bh__src_read(bh__src *s, void *dst, size_t n)
{
    size_t done = 0;
    while (done < n) {
        if (s->pos >= s->end) {
            int f = fill(s);
            if (f < 0) return f;
            if (f == 0) break;
        }
        size_t k = s->end - s->pos;
        if (k > n - done) k = n - done;
        memcpy((char *)dst + done, s->buf + s->pos, k);
        s->pos += k;
        done += k;
    }
    return (long)done;
}

void bh__src_close(bh__src *s)
{
    if (s->gz) gzclose(s->gz);
    free(s->buf);
    free(s->path);
    memset(s, 0, sizeof *s);
}
