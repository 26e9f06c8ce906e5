/* models/safetensors.h — the safetensors file format: an 8-byte little-endian
 * header length N, N bytes of JSON header ({"name": {"dtype": "F32", "shape":
 * [...], "data_offsets": [begin, end]}, "__metadata__": {"k": "v"}}), then the
 * raw little-endian tensor bytes. Private to libbhasha.
 *
 * Reading maps the file (mmap) and validates the whole header against the file
 * size before any tensor is touched: a hostile or truncated file gives
 * BH_EFORMAT naming the file and the tensor, never an out-of-bounds read. The
 * bh__st_file owns the mapping; tensor data pointers point into it.
 * Writing goes to a temporary file that is fsync'ed and renamed over the
 * target, so a crash leaves either the old or the new file. */
#ifndef BH_MODELS_SAFETENSORS_H
#define BH_MODELS_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bhasha/core.h"

#define BH__ST_MAXDIM 8

typedef struct bh__st_tensor {
    char *name;
    char dtype[8];
    int ndim;
    int64_t shape[BH__ST_MAXDIM];
    const unsigned char *data; /* into the mapping; 4-byte aligned not guaranteed */
    size_t nbytes;
    size_t offset;             /* from the start of the data section */
} bh__st_tensor;

typedef struct bh__st_file {
    char *path;
    void *map;
    size_t size;
    size_t data_start;         /* 8 + N */
    int ntensors;
    bh__st_tensor *t;
    int nmeta;
    char **meta_keys, **meta_vals;
} bh__st_file;

/* Maps and validates path. On failure f is left empty (safe to close). */
bh_status bh__st_open(const char *path, bh__st_file *f);
void bh__st_close(bh__st_file *f);
const bh__st_tensor *bh__st_find(const bh__st_file *f, const char *name);
/* Metadata value for key, or NULL. */
const char *bh__st_meta(const bh__st_file *f, const char *key);

typedef struct bh__st_entry {
    const char *name;
    int ndim;
    int64_t shape[2];
    const float *data;
    int f16;                   /* 1: stored as F16 (IEEE half, rounded to nearest even) */
    const char *raw_dtype;     /* non-NULL: data is raw little-endian bytes of this */
    const void *raw;           /*   dtype ("I8" or "I32"), written as they are */
} bh__st_entry;

/* 1 when t holds floats bh__st_to_f32 can read: F32, F16 or BF16. */
int bh__st_is_float(const bh__st_tensor *t);
/* Converts t's elements (F32, F16 or BF16) to dst[count] floats. */
void bh__st_to_f32(const bh__st_tensor *t, float *dst);

#define BH__ST_F16_MAX 65504 /* the largest finite F16 */
/* code (BH_EFORMAT reading a model, BH_ENUMERIC converting one) naming path,
 * tensor name and the element when x[0..n) holds a NaN or an infinity. */
bh_status bh__st_check_finite(bh_status code, const char *path, const char *name, const float *x, size_t n);
/* BH_ELIMIT naming path, tensor name and the element when a value of
 * x[0..n) would be written as an F16 infinity (|x| past 65504 rounded). */
bh_status bh__st_check_f16(const char *path, const char *name, const float *x, size_t n);

/* Int8 rows. A weight matrix NAME [R, C] may be stored as
 *   NAME.rows   I32 [N]      the rows stored, strictly increasing, < R;
 *                            absent: every row, in order (N = R)
 *   NAME.q8     I8  [N, C]   row values / scale, rounded, in [-127, 127]
 *   NAME.scale  F16 [N]      the row's scale (max |value| / 127, F16-rounded up)
 * instead of NAME itself; a row not listed is zero. F16 rows: NAME.rows
 * (required) and
 *   NAME.f16    F16 [N, C]   the rows' values
 * in place of .q8 and .scale. bh_model_convert's F16-Q8 stores the task
 * heads' hashed tables (feature CRF, n-gram layer: mostly zero rows) with a
 * row index and only their non-zero rows, as F16 rows when C <=
 * BH__ST_HALF_COLS and int8 rows otherwise; its Q8 stores every other
 * matrix as int8 rows without a row index. bh__st_sparse_find returns how
 * many of the parts f holds when it has NAME.q8 and NAME.scale (3 with a
 * row index, 2 without) or NAME.rows and NAME.f16 (2), else 0;
 * bh__st_sparse_check checks the parts against
 * [R, C] (dtypes, shapes: BH_EFORMAT naming the file and tensor; a table
 * with a row index larger than BH__ST_SPARSE_MAX values: BH_ELIMIT), so a
 * caller can check before it allocates the table; bh__st_sparse_read checks
 * the same, the row order and range, and that every value is finite
 * (BH_EFORMAT), and expands them into dst[R*C]. */
int bh__st_sparse_find(const bh__st_file *f, const char *name);
bh_status bh__st_sparse_check(const bh__st_file *f, const char *name, int64_t R, int64_t C);
bh_status bh__st_sparse_read(const bh__st_file *f, const char *name, int64_t R, int64_t C, float *dst);
/* The most values R * C a table with a row index may hold. Such a file
 * stores only the rows it lists, so its size says nothing of [R, C]; the cap
 * keeps a small file from making a reader fill tens of GiB. The largest
 * table written this way: 2^24 rows (feat_bits <= 24) of 256 labels (a CRF
 * tagger's most), 16 GiB as F32. Tables without a row index store every
 * row, so the file itself bounds them. */
#define BH__ST_SPARSE_MAX ((int64_t)1 << 32)
/* The widest table bh__st_sparse_make stores as F16 rows: an int8 row takes
 * C + 2 bytes (values and an F16 scale) against 2C, so at C = 3 it saves a
 * sixth of the bytes while it rounds every value by up to 1/254 of its
 * row's largest (docs/models.md, "Storage"). */
#define BH__ST_HALF_COLS 3
/* The entries that store table[R, C] in that form: fills e[0..*ne) (2 with
 * every_row: every row kept, no row index, int8 rows; otherwise the
 * non-zero rows and their index: 3 as int8 rows, 2 as F16 rows when C <=
 * BH__ST_HALF_COLS), named NAME.rows/.q8/.scale or NAME.rows/.f16 (the names
 * written into the caller's names[0..2]) and pointing at *rows, *q8 (NULL
 * for F16 rows) and *scale (for F16 rows the values [N, C]), which are
 * allocated here and freed by the caller (free()). BH_ENUMERIC naming the
 * tensor, row and column for a value that is not finite; BH_ELIMIT for a
 * value F16 rows cannot hold (|x| past 65504), a row whose max |value| an
 * F16 scale cannot cover (above 127 * 65504) and for a table with a row
 * index larger than BH__ST_SPARSE_MAX. */
bh_status bh__st_sparse_make(const char *name, const float *table, int64_t R, int64_t C, int every_row,
                             bh__st_entry e[3], int *ne, char (*names)[96], int32_t **rows, int8_t **q8,
                             float **scale);

/* Writes the tensors (F32, or F16 where e.f16) in the given order, contiguous,
 * data section 8-byte aligned, plus metadata pairs, atomically. */
bh_status bh__st_write(const char *path, const bh__st_entry *e, int n,
                       const char *const *meta_keys, const char *const *meta_vals, int nmeta);

/* Atomic file writing: open a temporary next to path, then commit (flush,
 * fsync, rename, fsync directory) or abort (close, unlink). */
typedef struct bh__atomic {
    FILE *f;
    char *tmp;
    char *path;
} bh__atomic;
bh_status bh__atomic_open(bh__atomic *a, const char *path);
bh_status bh__atomic_commit(bh__atomic *a);
void bh__atomic_abort(bh__atomic *a);
/* Copies the file from to the file to atomically (tokenizers, configs next to
 * weights). BH_ENOTFOUND when from does not exist, BH_EIO on other errors. */
bh_status bh__atomic_copy(const char *from, const char *to);
/* Writes the JSON value j (json_dumpf's flags) and a newline to path
 * atomically, so that a crash leaves the old file or the new one, never a
 * part (finetune.json beside the weights it describes). */
bh_status bh__atomic_write_json(const json_t *j, const char *path, size_t flags);

#endif
