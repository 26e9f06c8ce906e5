/* models/safetensors.c — mmap reader with full header validation, atomic writer. */
#include "models/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/f16.h"

#define ST_MAX_HEADER (64u << 20) /* a header larger than this is not a model */

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void bh__st_close(bh__st_file *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->size);
    for (int i = 0; i < f->ntensors; i++) free(f->t[i].name);
    free(f->t);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* by offset, then size: the order does not depend on qsort's for ties */
static int cmp_off(const void *a, const void *b)
{
    const bh__st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static bh_status parse_meta(bh__st_file *f, json_t *meta)
{
    if (!json_is_object(meta))
        return bh__fail(BH_EFORMAT, "%s: __metadata__ is not an object", f->path);
    size_t n = json_object_size(meta);
    f->meta_keys = calloc(n ? n : 1, sizeof(char *));
    f->meta_vals = calloc(n ? n : 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_vals) return bh__fail(BH_ENOMEM, "%s: out of memory", f->path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return bh__fail(BH_EFORMAT, "%s: metadata %s is not a string", f->path, k);
        f->meta_keys[f->nmeta] = dupstr(k);
        f->meta_vals[f->nmeta] = dupstr(json_string_value(v));
        f->nmeta++;
        if (!f->meta_keys[f->nmeta - 1] || !f->meta_vals[f->nmeta - 1])
            return bh__fail(BH_ENOMEM, "%s: out of memory", f->path);
    }
    return BH_OK;
}

static bh_status parse_tensor(bh__st_file *f, const char *name, json_t *o, size_t data_len,
                              bh__st_tensor *t)
{
    t->name = dupstr(name);
    if (!t->name) return bh__fail(BH_ENOMEM, "%s: out of memory", f->path);
    json_t *dt = json_object_get(o, "dtype"), *sh = json_object_get(o, "shape"),
           *off = json_object_get(o, "data_offsets");
    if (!json_is_object(o) || !json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) ||
        json_array_size(off) != 2)
        return bh__fail(BH_EFORMAT, "%s: tensor %s: needs dtype, shape, data_offsets", f->path, name);
    const char *dts = json_string_value(dt);
    if (strlen(dts) >= sizeof t->dtype)
        return bh__fail(BH_EFORMAT, "%s: tensor %s: bad dtype", f->path, name);
    strcpy(t->dtype, dts);
    size_t esize = !strcmp(dts, "F32") || !strcmp(dts, "I32") || !strcmp(dts, "U32") ? 4
                   : !strcmp(dts, "F64") || !strcmp(dts, "I64")                      ? 8
                   : !strcmp(dts, "F16") || !strcmp(dts, "BF16")                     ? 2
                   : !strcmp(dts, "U8") || !strcmp(dts, "I8") || !strcmp(dts, "BOOL") ? 1
                                                                                      : 0;
    if (!esize) return bh__fail(BH_EFORMAT, "%s: tensor %s: unknown dtype %s", f->path, name, dts);
    size_t nd = json_array_size(sh);
    if (nd > BH__ST_MAXDIM)
        return bh__fail(BH_EFORMAT, "%s: tensor %s: %zu dimensions", f->path, name, nd);
    t->ndim = (int)nd;
    uint64_t count = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(sh, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) > (json_int_t)(1LL << 40))
            return bh__fail(BH_EFORMAT, "%s: tensor %s: bad shape", f->path, name);
        t->shape[i] = json_integer_value(d);
        if (t->shape[i] && count > (UINT64_MAX >> 4) / (uint64_t)t->shape[i])
            return bh__fail(BH_EFORMAT, "%s: tensor %s: shape overflows", f->path, name);
        count *= (uint64_t)t->shape[i];
    }
    json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b) ||
        (uint64_t)json_integer_value(e) > data_len)
        return bh__fail(BH_EFORMAT, "%s: tensor %s: data_offsets outside the file (data is %zu bytes)",
                        f->path, name, data_len);
    size_t begin = (size_t)json_integer_value(b), end = (size_t)json_integer_value(e);
    if (end - begin != count * esize)
        return bh__fail(BH_EFORMAT, "%s: tensor %s: offsets span %zu bytes, shape needs %llu",
                        f->path, name, end - begin, (unsigned long long)(count * esize));
    t->offset = begin;
    t->nbytes = end - begin;
    t->data = (const unsigned char *)f->map + f->data_start + begin;
    return BH_OK;
}

bh_status bh__st_open(const char *path, bh__st_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = dupstr(path);
    if (!f->path) return bh__fail(BH_ENOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bh_status st = bh__fail(errno == ENOENT ? BH_ENOTFOUND : BH_EIO, "%s: %s", path,
                                strerror(errno));
        bh__st_close(f);
        return st;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        bh__st_close(f);
        return bh__fail(BH_EIO, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        bh__st_close(f);
        return bh__fail(BH_EFORMAT, "%s: truncated (%lld bytes, no header)", path,
                        (long long)sb.st_size);
    }
    f->size = (size_t)sb.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        bh_status st = bh__fail(BH_EIO, "%s: mmap: %s", path, strerror(errno));
        bh__st_close(f);
        return st;
    }
    const unsigned char *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    bh_status st = BH_OK;
    json_t *root = NULL;
    if (hlen > f->size - 8 || hlen > ST_MAX_HEADER) {
        st = bh__fail(BH_EFORMAT, "%s: header length %llu exceeds the file size %zu", path,
                      (unsigned long long)hlen, f->size);
        goto done;
    }
    f->data_start = 8 + (size_t)hlen;
    json_error_t jerr;
    root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        st = bh__fail(BH_EFORMAT, "%s: header is not a JSON object: %s", path,
                      root ? "wrong type" : jerr.text);
        goto done;
    }
    size_t n = json_object_size(root);
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!f->t) {
        st = bh__fail(BH_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t data_len = f->size - f->data_start;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "__metadata__")) {
            st = parse_meta(f, v);
        } else {
            st = parse_tensor(f, k, v, data_len, &f->t[f->ntensors]);
            f->ntensors++;
        }
        if (st) goto done;
    }
    /* Tensors must not overlap (a lying header could alias two parameters).
     * A tensor of zero bytes aliases nothing wherever its offset points, so
     * it takes no part: each tensor is checked against the last non-empty
     * one before it (in offset order an overlap with any earlier tensor is
     * one with that tensor, or was found at an earlier step). */
    bh__st_tensor *sorted = malloc((size_t)(f->ntensors ? f->ntensors : 1) * sizeof *sorted);
    if (!sorted) {
        st = bh__fail(BH_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(sorted, f->t, (size_t)f->ntensors * sizeof *sorted);
    qsort(sorted, (size_t)f->ntensors, sizeof *sorted, cmp_off);
    const bh__st_tensor *last = NULL;
    for (int i = 0; i < f->ntensors; i++) {
        if (!sorted[i].nbytes) continue;
        if (last && sorted[i].offset < last->offset + last->nbytes) {
            st = bh__fail(BH_EFORMAT, "%s: tensors %s and %s overlap", path, last->name, sorted[i].name);
            break;
        }
        last = &sorted[i];
    }
    free(sorted);
done:
    json_decref(root);
    if (st) bh__st_close(f);
    return st;
}

const bh__st_tensor *bh__st_find(const bh__st_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *bh__st_meta(const bh__st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
    return NULL;
}

/* ------------------------------------------------------------- writing */

bh_status bh__atomic_open(bh__atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = dupstr(path);
    a->tmp = malloc(n + 32);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    snprintf(a->tmp, n + 32, "%s.tmp%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        bh_status st = bh__fail(BH_EIO, "%s: %s", a->tmp, strerror(errno));
        free(a->path);
        free(a->tmp);
        return st;
    }
    return BH_OK;
}

void bh__atomic_abort(bh__atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

bh_status bh__atomic_commit(bh__atomic *a)
{
    bh_status st = BH_OK;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0 || ferror(a->f))
        st = bh__fail(BH_EIO, "%s: write failed: %s", a->tmp, strerror(errno));
    if (fclose(a->f) != 0 && !st) st = bh__fail(BH_EIO, "%s: close failed: %s", a->tmp, strerror(errno));
    a->f = NULL;
    if (!st && rename(a->tmp, a->path) != 0)
        st = bh__fail(BH_EIO, "%s: rename: %s", a->path, strerror(errno));
    if (!st) {
        char *d = dupstr(a->path);
        if (d) {
            int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(d);
        }
        free(a->tmp);
        free(a->path);
        memset(a, 0, sizeof *a);
        return BH_OK;
    }
    bh__atomic_abort(a);
    return st;
}

bh_status bh__atomic_copy(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb");
    if (!f) return bh__fail(errno == ENOENT ? BH_ENOTFOUND : BH_EIO, "%s: %s", from, strerror(errno));
    bh__atomic a;
    bh_status st = bh__atomic_open(&a, to);
    if (st) {
        fclose(f);
        return st;
    }
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, k, a.f) != k) break;
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        bh__atomic_abort(&a);
        return bh__fail(BH_EIO, "%s: read error", from);
    }
    return bh__atomic_commit(&a);
}

bh_status bh__atomic_write_json(const json_t *j, const char *path, size_t flags)
{
    bh__atomic a;
    bh_status st = bh__atomic_open(&a, path);
    if (st) return st;
    if (json_dumpf(j, a.f, flags) != 0 || fputc('\n', a.f) == EOF) {
        bh__atomic_abort(&a);
        return bh__fail(BH_EIO, "cannot write %s", path);
    }
    return bh__atomic_commit(&a);
}

int bh__st_is_float(const bh__st_tensor *t)
{
    return !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F16") || !strcmp(t->dtype, "BF16");
}

void bh__st_to_f32(const bh__st_tensor *t, float *dst)
{
    const unsigned char *p = t->data;
    if (!strcmp(t->dtype, "F32")) {
        memcpy(dst, p, t->nbytes);
        return;
    }
    size_t n = t->nbytes / 2;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        if (t->dtype[0] == 'B') {
            uint32_t x = (uint32_t)h << 16;
            memcpy(&dst[i], &x, 4);
        } else {
            dst[i] = bh__f16_to_f32(h);
        }
    }
}

bh_status bh__st_check_finite(bh_status code, const char *path, const char *name, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return bh__fail(code, "%s: tensor %s: element %zu is %s", path, name, i, isnan(x[i]) ? "NaN" : "infinite");
    return BH_OK;
}

bh_status bh__st_check_f16(const char *path, const char *name, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((bh__f32_to_f16(x[i]) & 0x7c00u) == 0x7c00u) /* rounds to an infinity (or is one) */
            return bh__fail(BH_ELIMIT, "%s: tensor %s: element %zu is %g, beyond F16's range (|x| <= %d); keep it F32",
                            path, name, i, (double)x[i], BH__ST_F16_MAX);
    return BH_OK;
}

static size_t entry_size(const bh__st_entry *e)
{
    if (!e->raw) return e->f16 ? 2 : 4;
    if (!strcmp(e->raw_dtype, "I8")) return 1;
    return !strcmp(e->raw_dtype, "F16") || !strcmp(e->raw_dtype, "BF16") ? 2 : 4;
}

/* ------------------------------------------------------ sparse tables */

/* The parts' names: rows, q8, scale (int8 rows), f16 (F16 rows). */
static void sparse_names(const char *name, char (*names)[96])
{
    snprintf(names[0], 96, "%s.rows", name);
    snprintf(names[1], 96, "%s.q8", name);
    snprintf(names[2], 96, "%s.scale", name);
    snprintf(names[3], 96, "%s.f16", name);
}

int bh__st_sparse_find(const bh__st_file *f, const char *name)
{
    char names[4][96];
    sparse_names(name, names);
    int rows = bh__st_find(f, names[0]) != NULL;
    if (bh__st_find(f, names[1]) && bh__st_find(f, names[2])) return 2 + rows;
    return rows && bh__st_find(f, names[3]) ? 2 : 0;
}

/* The parts of table name (NULL where absent) checked against [R, C]: the
 * row count N in *N; *half is the F16 rows' values, or NULL for int8 rows
 * (*q8 and *scale). */
static bh_status sparse_parts(const bh__st_file *f, const char *name, int64_t R, int64_t C, char (*names)[96],
                              const bh__st_tensor **rows, const bh__st_tensor **q8, const bh__st_tensor **scale,
                              const bh__st_tensor **half, int64_t *N)
{
    sparse_names(name, names);
    *rows = bh__st_find(f, names[0]), *q8 = bh__st_find(f, names[1]), *scale = bh__st_find(f, names[2]);
    *half = *q8 || *scale || !*rows ? NULL : bh__st_find(f, names[3]);
    if (!*half && (!*q8 || !*scale)) return bh__fail(BH_EFORMAT, "%s: tensor %s is missing", f->path, name);
    /* without a row index every row is stored, in order */
    int64_t n = !*rows ? R : (*rows)->ndim == 1 ? (*rows)->shape[0] : -1;
    if (*rows && (strcmp((*rows)->dtype, "I32") || n < 0 || n > R))
        return bh__fail(BH_EFORMAT, "%s: tensor %s: %s [%d dims] is not I32 [N <= %lld]", f->path, names[0],
                        (*rows)->dtype, (*rows)->ndim, (long long)R);
    if (*half && (!bh__st_is_float(*half) || (*half)->ndim != 2 || (*half)->shape[0] != n || (*half)->shape[1] != C))
        return bh__fail(BH_EFORMAT, "%s: tensor %s: needs a float tensor [%lld,%lld]", f->path, names[3],
                        (long long)n, (long long)C);
    if (!*half && (strcmp((*q8)->dtype, "I8") || (*q8)->ndim != 2 || (*q8)->shape[0] != n || (*q8)->shape[1] != C))
        return bh__fail(BH_EFORMAT, "%s: tensor %s: needs I8 [%lld,%lld]", f->path, names[1], (long long)n,
                        (long long)C);
    if (!*half && (!bh__st_is_float(*scale) || (*scale)->ndim != 1 || (*scale)->shape[0] != n))
        return bh__fail(BH_EFORMAT, "%s: tensor %s: needs a float tensor [%lld]", f->path, names[2], (long long)n);
    /* with a row index the file holds only the rows listed: the table's
       size is bounded by the cap, not by the file */
    if (*rows && R * C > BH__ST_SPARSE_MAX)
        return bh__fail(BH_ELIMIT, "%s: tensor %s: [%lld,%lld] with a row index is more than %lld values", f->path, name,
                        (long long)R, (long long)C, (long long)BH__ST_SPARSE_MAX);
    *N = n;
    return BH_OK;
}

bh_status bh__st_sparse_check(const bh__st_file *f, const char *name, int64_t R, int64_t C)
{
    char names[4][96];
    const bh__st_tensor *rows, *q8, *scale, *half;
    int64_t N;
    return sparse_parts(f, name, R, C, names, &rows, &q8, &scale, &half, &N);
}

bh_status bh__st_sparse_read(const bh__st_file *f, const char *name, int64_t R, int64_t C, float *dst)
{
    char names[4][96];
    const bh__st_tensor *rows, *q8, *scale, *half;
    int64_t N;
    bh_status st = sparse_parts(f, name, R, C, names, &rows, &q8, &scale, &half, &N);
    if (st) return st;
    /* the scales, or the F16 rows' values (both sized by the file) */
    float *sc = malloc(((size_t)N * (size_t)(half ? C : 1) + 1) * sizeof *sc);
    if (!sc) return bh__fail(BH_ENOMEM, "%s: out of memory", f->path);
    bh__st_to_f32(half ? half : scale, sc);
    memset(dst, 0, (size_t)R * (size_t)C * sizeof *dst);
    int64_t prev = -1;
    for (int64_t i = 0; i < N && !st; i++) {
        const unsigned char *p = rows ? rows->data + 4 * i : NULL;
        int64_t r = !p ? i : (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        if (r <= prev || r >= R) {
            st = bh__fail(BH_EFORMAT, "%s: tensor %s: entry %lld is row %lld (rows must increase, below %lld)",
                          f->path, names[0], (long long)i, (long long)r, (long long)R);
            break;
        }
        prev = r;
        if (half) {
            const float *v = sc + i * C;
            for (int64_t c = 0; c < C && !st; c++) {
                if (!isfinite(v[c]))
                    st = bh__fail(BH_EFORMAT, "%s: tensor %s: element %lld is %s", f->path, names[3],
                                  (long long)(i * C + c), isnan(v[c]) ? "NaN" : "infinite");
                dst[r * C + c] = v[c];
            }
            continue;
        }
        /* an F32 scale (a converted copy) can be finite and still too large
           for 127 times it: the products are what must be finite */
        if (!isfinite(sc[i])) {
            st = bh__fail(BH_EFORMAT, "%s: tensor %s: element %lld is %s", f->path, names[2], (long long)i,
                          isnan(sc[i]) ? "NaN" : "infinite");
            break;
        }
        const signed char *q = (const signed char *)q8->data + i * C;
        for (int64_t c = 0; c < C; c++) {
            float v = (float)q[c] * sc[i];
            if (!isfinite(v)) {
                st = bh__fail(BH_EFORMAT, "%s: tensor %s: element %lld (%g) times %d is infinite", f->path, names[2],
                              (long long)i, (double)sc[i], (int)q[c]);
                break;
            }
            dst[r * C + c] = v;
        }
    }
    free(sc);
    return st;
}

/* max |x[0..C)| of row r of table name, into *m: BH_ENUMERIC for a value that
 * is not finite, BH_ELIMIT for a max the F16 scale cannot cover (the scale
 * is max / 127 rounded up, at most F16's 65504). Both passes of
 * bh__st_sparse_make use it, so they keep the same rows. */
static bh_status row_max(const char *name, const float *x, int64_t r, int64_t C, float *m)
{
    float v = 0;
    for (int64_t c = 0; c < C; c++) {
        if (!isfinite(x[c]))
            return bh__fail(BH_ENUMERIC, "tensor %s: row %lld column %lld is %s", name, (long long)r, (long long)c,
                            isnan(x[c]) ? "NaN" : "infinite");
        v = fabsf(x[c]) > v ? fabsf(x[c]) : v;
    }
    if (v > (float)BH__ST_F16_MAX * 127.0f)
        return bh__fail(BH_ELIMIT, "tensor %s: row %lld: max |value| %g is beyond int8 rows' range (127 * %d); "
                        "keep it F32", name, (long long)r, (double)v, BH__ST_F16_MAX);
    *m = v;
    return BH_OK;
}

bh_status bh__st_sparse_make(const char *name, const float *table, int64_t R, int64_t C, int every_row,
                             bh__st_entry e[3], int *ne, char (*names)[96], int32_t **rows, int8_t **q8,
                             float **scale)
{
    *rows = NULL, *q8 = NULL, *scale = NULL;
    if (!every_row && R * C > BH__ST_SPARSE_MAX) /* what bh__st_sparse_read would refuse */
        return bh__fail(BH_ELIMIT, "tensor %s: [%lld,%lld] with a row index is more than %lld values", name, (long long)R,
                        (long long)C, (long long)BH__ST_SPARSE_MAX);
    int half = !every_row && C <= BH__ST_HALF_COLS;
    int64_t N = 0;
    float m;
    for (int64_t r = 0; r < R; r++) {
        for (int64_t c = 0; half && c < C; c++) {
            float x = table[r * C + c];
            if (isfinite(x) && (bh__f32_to_f16(x) & 0x7c00u) == 0x7c00u)
                return bh__fail(BH_ELIMIT, "tensor %s: row %lld column %lld is %g, beyond F16's range (|x| <= %d)",
                                name, (long long)r, (long long)c, (double)x, BH__ST_F16_MAX);
        }
        bh_status st = row_max(name, table + r * C, r, C, &m);
        if (st) return st;
        N += every_row || m > 0;
    }
    *rows = malloc(((size_t)N + 1) * sizeof **rows);
    *q8 = half ? NULL : malloc((size_t)N * (size_t)C + 1);
    /* the scales, or with F16 rows the rows' values */
    *scale = malloc(((size_t)N * (size_t)(half ? C : 1) + 1) * sizeof **scale);
    if (!*rows || (!half && !*q8) || !*scale) {
        free(*rows), free(*q8), free(*scale);
        *rows = NULL, *q8 = NULL, *scale = NULL;
        return bh__fail(BH_ENOMEM, "%s: out of memory", name);
    }
    int64_t n = 0;
    for (int64_t r = 0; r < R; r++) {
        const float *x = table + r * C;
        row_max(name, x, r, C, &m); /* succeeded in the first pass */
        if (m == 0 && !every_row) continue;
        (*rows)[n] = (int32_t)r;
        if (half) {
            memcpy(*scale + n * C, x, (size_t)C * sizeof *x);
            n++;
            continue;
        }
        if (m == 0) { /* a zero row kept in place: scale 0 */
            (*scale)[n] = 0;
            memset(*q8 + n * C, 0, (size_t)C);
            n++;
            continue;
        }
        /* the scale as F16 will store it, rounded up if rounding made it
         * smaller (so that |x / scale| <= 127): q * scale is then within
         * half a step of x; row_max keeps it finite */
        uint16_t hs = bh__f32_to_f16(m / 127.0f);
        if (bh__f16_to_f32(hs) * 127.0f < m) hs++;
        float s = bh__f16_to_f32(hs);
        (*scale)[n] = s;
        for (int64_t c = 0; c < C; c++) {
            float q = roundf(x[c] / s);
            (*q8)[n * C + c] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        n++;
    }
    char all[4][96];
    sparse_names(name, all);
    memset(e, 0, 3 * sizeof *e);
    int k = 0;
    memcpy(names[k], all[0], 96);
    if (!every_row) e[k].name = names[k], e[k].ndim = 1, e[k].shape[0] = N, e[k].raw_dtype = "I32", e[k++].raw = *rows;
    if (half) {
        memcpy(names[k], all[3], 96);
        e[k].name = names[k], e[k].ndim = 2, e[k].shape[0] = N, e[k].shape[1] = C, e[k].data = *scale, e[k++].f16 = 1;
    } else {
        memcpy(names[k], all[1], 96);
        e[k].name = names[k], e[k].ndim = 2, e[k].shape[0] = N, e[k].shape[1] = C;
        e[k].raw_dtype = "I8", e[k++].raw = *q8;
        memcpy(names[k], all[2], 96);
        e[k].name = names[k], e[k].ndim = 1, e[k].shape[0] = N, e[k].data = *scale, e[k++].f16 = 1;
    }
    *ne = k;
    return BH_OK;
}

bh_status bh__st_write(const char *path, const bh__st_entry *e, int n,
                       const char *const *meta_keys, const char *const *meta_vals, int nmeta)
{
    json_t *root = json_object();
    if (!root) return bh__fail(BH_ENOMEM, "out of memory");
    size_t off = 0;
    if (nmeta > 0) {
        json_t *m = json_object();
        for (int i = 0; i < nmeta; i++) json_object_set_new(m, meta_keys[i], json_string(meta_vals[i]));
        json_object_set_new(root, "__metadata__", m);
    }
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        json_t *shape = json_array();
        for (int d = 0; d < e[i].ndim; d++) {
            count *= (size_t)e[i].shape[d];
            json_array_append_new(shape, json_integer(e[i].shape[d]));
        }
        json_t *t = json_object();
        size_t es = entry_size(&e[i]);
        json_object_set_new(t, "dtype", json_string(e[i].raw ? e[i].raw_dtype : e[i].f16 ? "F16" : "F32"));
        json_object_set_new(t, "shape", shape);
        json_object_set_new(t, "data_offsets",
                            json_pack("[II]", (json_int_t)off, (json_int_t)(off + count * es)));
        json_object_set_new(root, e[i].name, t);
        off += count * es;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) return bh__fail(BH_ENOMEM, "out of memory");
    size_t hl = strlen(hdr), padded = (hl + 7) & ~(size_t)7; /* data section 8-byte aligned */
    bh__atomic a;
    bh_status st = bh__atomic_open(&a, path);
    if (st) {
        free(hdr);
        return st;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    fwrite(len8, 1, 8, a.f);
    fwrite(hdr, 1, hl, a.f);
    for (size_t i = hl; i < padded; i++) fputc(' ', a.f);
    free(hdr);
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < e[i].ndim; d++) count *= (size_t)e[i].shape[d];
        if (e[i].raw) {
            if (fwrite(e[i].raw, entry_size(&e[i]), count, a.f) != count) break;
        } else if (e[i].f16) {
            for (size_t k = 0; k < count; k++) {
                uint16_t h = bh__f32_to_f16(e[i].data[k]);
                unsigned char b[2] = {(unsigned char)h, (unsigned char)(h >> 8)};
                fwrite(b, 1, 2, a.f);
            }
        } else if (fwrite(e[i].data, 4, count, a.f) != count) {
            break; /* little-endian host assumed; the commit reports the stream error */
        }
    }
    return bh__atomic_commit(&a);
}
