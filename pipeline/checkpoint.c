/* pipeline/checkpoint.c — atomic JSON checkpoints (see checkpoint.h). */
#include "pipeline/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

void bh__ckpt_clear(bh__ckpt *c)
{
    if (!c) return;
    free(c->config);
    for (int i = 0; i < c->n_inputs; i++) free(c->paths ? c->paths[i] : NULL);
    free(c->paths);
    free(c->sizes);
    memset(c, 0, sizeof *c);
}

/* A JSON value for the bytes of s: a string when they are UTF-8, else
 * {"hex": "..."}, since a JSON string cannot hold them and file names and
 * options are bytes (json_string() would return NULL and the key would be
 * missing from the file). NULL only when out of memory. */
static json_t *bytes_value(const char *s)
{
    json_t *v = json_string(s);
    if (v) return v;
    static const char digits[] = "0123456789abcdef";
    size_t n = strlen(s);
    char *h = malloc(2 * n + 1);
    if (!h) return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = digits[(unsigned char)s[i] >> 4];
        h[2 * i + 1] = digits[(unsigned char)s[i] & 15];
    }
    h[2 * n] = 0;
    json_t *o = json_object();
    if (o && json_object_set_new(o, "hex", json_string(h))) {
        json_decref(o);
        o = NULL;
    }
    free(h);
    return o;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The bytes of a value written by bytes_value(), as a malloc'ed string; NULL
 * with *bad set when v is neither form, with *bad clear when out of memory. */
static char *bytes_of(json_t *v, int *bad)
{
    *bad = 0;
    if (json_is_string(v)) return strdup(json_string_value(v));
    json_t *hx = json_object_get(v, "hex");
    const char *h = json_is_string(hx) ? json_string_value(hx) : NULL;
    size_t n = h ? strlen(h) : 1;
    if (n % 2) {
        *bad = 1;
        return NULL;
    }
    char *s = malloc(n / 2 + 1);
    if (!s) return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int a = hex_digit(h[2 * i]), b = hex_digit(h[2 * i + 1]);
        if (a < 0 || b < 0 || (a | b) == 0) { /* not hex, or a NUL byte that no C string holds */
            free(s);
            *bad = 1;
            return NULL;
        }
        s[i] = (char)(a << 4 | b);
    }
    s[n / 2] = 0;
    return s;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

bh_status bh__ckpt_write(const char *path, const bh__ckpt *c)
{
    if (!path || !c) return bh__fail(BH_EINVAL, "bh__ckpt_write: NULL argument");
    /* Every jansson call can fail only for memory; a field left out would make
     * a file that bh__ckpt_read() refuses, so any failure fails the write. */
    json_t *o = json_object(), *in = json_array();
    int bad = !o || !in;
    bad |= json_object_set_new(o, "config", bytes_value(c->config ? c->config : "")) != 0;
    for (int i = 0; i < c->n_inputs; i++) {
        json_t *e = json_object();
        bad |= !e;
        bad |= json_object_set_new(e, "path", bytes_value(c->paths[i])) != 0;
        bad |= json_object_set_new(e, "size", json_integer((json_int_t)c->sizes[i])) != 0;
        bad |= json_array_append_new(in, e) != 0;
    }
    bad |= json_object_set_new(o, "inputs", in) != 0;
    bad |= json_object_set_new(o, "segment", json_integer(c->seg)) != 0;
    bad |= json_object_set_new(o, "offset", json_integer((json_int_t)c->offset)) != 0;
    bad |= json_object_set_new(o, "segment_records", json_integer(c->seg_records)) != 0;
    bad |= json_object_set_new(o, "input_crc32", json_integer(c->in_crc)) != 0;
    bad |= json_object_set_new(o, "read", json_integer(c->read)) != 0;
    bad |= json_object_set_new(o, "written", json_integer(c->written)) != 0;
    bad |= json_object_set_new(o, "failed", json_integer(c->failed)) != 0;
    bad |= json_object_set_new(o, "skipped", json_integer(c->skipped)) != 0;
    bad |= json_object_set_new(o, "output_size", json_integer((json_int_t)c->out_size)) != 0;
    bad |= json_object_set_new(o, "output_crc32", json_integer(c->out_crc)) != 0;
    bad |= json_object_set_new(o, "done", json_boolean(c->done)) != 0;
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text) return bh__fail(BH_ENOMEM, "checkpoint: out of memory");

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(text);
        return bh__fail(BH_ENOMEM, "checkpoint: out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    bh_status st = BH_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = bh__fail(BH_EIO, "cannot create %s: %s", tmp, strerror(errno));
    } else {
        int bad = write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd);
        int e = errno;
        if (close(fd) && !bad) {
            bad = 1;
            e = errno;
        }
        if (bad) {
            st = bh__fail(BH_EIO, "cannot write %s: %s", tmp, strerror(e));
            unlink(tmp);
        } else if (rename(tmp, path)) {
            st = bh__fail(BH_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
            unlink(tmp);
        } else {
            /* Make the rename itself durable. */
            char *dir = strdup(path);
            char *slash = dir ? strrchr(dir, '/') : NULL;
            const char *d = slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".";
            int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(tmp);
    free(text);
    return st;
}

static int get_int(json_t *o, const char *k, json_int_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x)) return -1;
    *v = json_integer_value(x);
    return *v < 0 ? -1 : 0;
}

bh_status bh__ckpt_read(const char *path, bh__ckpt *c)
{
    if (!path || !c) return bh__fail(BH_EINVAL, "bh__ckpt_read: NULL argument");
    memset(c, 0, sizeof *c);
    if (access(path, F_OK)) return bh__fail(BH_ENOTFOUND, "no checkpoint %s", path);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) return bh__fail(BH_EFORMAT, "checkpoint %s: line %d: %s", path, err.line, err.text);
    bh_status st = BH_OK;
    json_int_t v[11];
    static const char *const keys[] = {"segment", "offset", "segment_records", "input_crc32", "read", "written",
                                       "failed", "skipped", "output_size", "output_crc32", NULL};
    json_t *cfg = json_object_get(o, "config"), *in = json_object_get(o, "inputs");
    if (!cfg || !json_is_array(in)) st = BH_EFORMAT;
    for (int i = 0; !st && keys[i]; i++)
        if (get_int(o, keys[i], &v[i])) st = BH_EFORMAT;
    if (!st) {
        int bad;
        c->config = bytes_of(cfg, &bad);
        if (bad) st = BH_EFORMAT;
        size_t n = json_array_size(in);
        c->paths = calloc(n + 1, sizeof *c->paths);
        c->sizes = calloc(n + 1, sizeof *c->sizes);
        if (!st && (!c->config || !c->paths || !c->sizes)) st = BH_ENOMEM;
        for (size_t i = 0; !st && i < n; i++) {
            json_t *e = json_array_get(in, i), *p = json_object_get(e, "path");
            json_int_t sz;
            if (!p || get_int(e, "size", &sz)) {
                st = BH_EFORMAT;
                break;
            }
            c->paths[i] = bytes_of(p, &bad);
            c->sizes[i] = (uint64_t)sz;
            c->n_inputs = (int)i + 1;
            if (!c->paths[i]) st = bad ? BH_EFORMAT : BH_ENOMEM;
        }
    }
    if (!st) {
        c->seg = (int)v[0];
        c->offset = (uint64_t)v[1];
        c->seg_records = (long)v[2];
        c->in_crc = (uint32_t)v[3];
        c->read = (long)v[4];
        c->written = (long)v[5];
        c->failed = (long)v[6];
        c->skipped = (long)v[7];
        c->out_size = (uint64_t)v[8];
        c->out_crc = (uint32_t)v[9];
        c->done = json_is_true(json_object_get(o, "done"));
        if (c->seg > c->n_inputs) st = BH_EFORMAT;
    }
    json_decref(o);
    if (st) {
        bh__ckpt_clear(c);
        return st == BH_ENOMEM ? bh__fail(st, "checkpoint: out of memory")
                               : bh__fail(st, "%s is not a bhasha checkpoint (missing or bad fields)", path);
    }
    return BH_OK;
}
