/* tests/test_model.c — checkpoints (safetensors + config, hostile files),
 * optimizer state, token shards, MLM masking, sampling, determinism, a batch
 * trained in parts (data parallel). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhasha/heads.h"
#include "bhasha/model.h"
#include "models/safetensors.h"
#include "tests/build_dir.h"
#include "tests/data_limit.h"
#include "tests/int8_rows.h"

static char tmpdir[64];

static void path(char *out, const char *name) { snprintf(out, 256, "%s/%s", tmpdir, name); }

static void write_bytes(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

/* a safetensors file from a header string and n data bytes */
static void write_st(const char *p, const char *hdr, size_t ndata)
{
    size_t hl = strlen(hdr);
    unsigned char *b = calloc(1, 8 + hl + ndata);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    write_bytes(p, b, 8 + hl + ndata);
    free(b);
}

static bh_model_config tiny(bh_arch arch)
{
    bh_model_config c;
    bh_model_config_default(&c, arch);
    c.vocab = 20;
    c.max_len = 8;
    c.dim = 8;
    c.layers = 1;
    c.heads = 2;
    c.ffn = 16;
    return c;
}

static void test_safetensors_hostile(void **st)
{
    (void)st;
    char p[256];
    path(p, "h.safetensors");
    bh__st_file f;
    static const char *bad[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,32]}}",     /* past the end */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}",     /* shape lies */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",     /* negative */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,0]}}",      /* reversed */
        "{\"a\":{\"dtype\":\"Q9\",\"shape\":[4],\"data_offsets\":[0,16]}}",      /* dtype */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,16]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",     /* overlap */
        "[1,2]", "{\"a\":", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_st(p, bad[i], 16);
        assert_int_equal(bh__st_open(p, &f), BH_EFORMAT);
        assert_non_null(strstr(bh_last_error(), "h.safetensors"));
        bh__st_close(&f);
    }
    /* a tensor of zero bytes aliases nothing: at the start of another (in
       either order of the header), inside another, two at one offset */
    static const char *empty[] = {
        "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
        "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
        "\"z\":{\"dtype\":\"I8\",\"shape\":[0,3],\"data_offsets\":[8,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
        "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
    };
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        write_st(p, empty[i], 16);
        assert_int_equal(bh__st_open(p, &f), BH_OK);
        bh__st_close(&f);
    }
    /* ... and takes no part: the overlap after it is still found */
    write_st(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             16);
    assert_int_equal(bh__st_open(p, &f), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensors a and b overlap"));
    /* header length larger than the file, and a file shorter than 8 bytes */
    unsigned char lie[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    write_bytes(p, lie, 10);
    assert_int_equal(bh__st_open(p, &f), BH_EFORMAT);
    write_bytes(p, lie, 5);
    assert_int_equal(bh__st_open(p, &f), BH_EFORMAT);
    /* a good one */
    write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"__metadata__\":{\"k\":\"v\"}}", 16);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(f.ntensors, 1);
    assert_string_equal(bh__st_meta(&f, "k"), "v");
    bh__st_close(&f);
    path(p, "missing.safetensors");
    assert_int_equal(bh__st_open(p, &f), BH_ENOTFOUND);
}

static void test_checkpoint_roundtrip(void **st)
{
    (void)st;
    char dir[256], p[256];
    path(dir, "ck");
    bh_model_config c = tiny(BH_ARCH_DECODER);
    bh_model *m, *m2, *m3;
    assert_int_equal(bh_model_new(&c, 1, &m), BH_OK);
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_OK);
    assert_int_equal(bh_model_load(dir, BH_MODEL_MMAP, &m3), BH_OK);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tg[8];
    float a[8 * 20], b[8 * 20], d[8 * 20];
    assert_int_equal(bh_model_forward(m, ids, NULL, 1, 8, NULL, a), BH_OK);
    assert_int_equal(bh_model_forward(m2, ids, NULL, 1, 8, NULL, b), BH_OK);
    assert_int_equal(bh_model_forward(m3, ids, NULL, 1, 8, NULL, d), BH_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, d, sizeof a);
    /* a mapped model cannot train */
    for (int i = 0; i < 8; i++) tg[i] = 1;
    assert_int_equal(bh_model_train_step(m3, ids, NULL, tg, 1, 8, 1.0f, 0, NULL, NULL), BH_EUNSUPPORTED);
    /* bad ids and lengths */
    ids[3] = 20;
    assert_int_equal(bh_model_forward(m, ids, NULL, 1, 8, NULL, a), BH_EINVAL);
    ids[3] = 4;
    assert_int_equal(bh_model_forward(m, ids, NULL, 1, 9, NULL, a), BH_ESHAPE);
    bh_model_free(m2);
    bh_model_free(m3);

    /* a config that does not match the tensors */
    path(p, "ck/config.json");
    FILE *f = fopen(p, "w");
    fputs("{\"arch\":\"decoder\",\"vocab\":20,\"max_len\":8,\"dim\":8,\"layers\":1,\"heads\":2,\"ffn\":32}", f);
    fclose(f);
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_ESHAPE);
    assert_non_null(strstr(bh_last_error(), "mlp.fc.w"));
    f = fopen(p, "w");
    fputs("{\"arch\":\"decoder\",\"vocab\":20,\"max_len\":8,\"dim\":8,\"layers\":2,\"heads\":2,\"ffn\":16}", f);
    fclose(f);
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "h.1."));
    f = fopen(p, "w");
    fputs("{\"arch\":\"decoder\",\"vocab\":20,\"max_len\":8,\"dimm\":8}", f);
    fclose(f);
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "dimm"));
    /* truncated weights */
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    path(p, "ck/model.safetensors");
    assert_int_equal(truncate(p, 600), 0);
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_EFORMAT);
    bh_model_free(m);
}

/* Sparse int8 tables (bh__st_sparse_make / _read; four columns, above
 * BH__ST_HALF_COLS): a table with zero rows, a tiny row and rows of
 * different scales comes back within half a step of its row's scale (the
 * scale is F16: up to 1% above max/127 in F16's subnormal range); zero rows
 * stay exactly zero; every malformed part of the stored form is
 * BH_EFORMAT. */
static void test_sparse_tables(void **st)
{
    (void)st;
    enum { R = 64, C = 4 };
    float t[R * C] = {0}, got[R * C];
    t[2 * C + 0] = 1.0f, t[2 * C + 2] = -0.5f;           /* row 2 */
    t[10 * C + 1] = 1e-3f;                               /* row 10: a small scale */
    t[40 * C + 0] = 300.0f, t[40 * C + 1] = 1.0f;        /* row 40: 1 is below half a step */
    t[63 * C + 2] = -7.25f;                              /* the last row */
    bh__st_entry e[3];
    char names[3][96];
    int32_t *rows;
    int8_t *q8;
    float *scale;
    int ne;
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 0, e, &ne, names, &rows, &q8, &scale), BH_OK);
    assert_int_equal(ne, 3);
    assert_int_equal(e[0].shape[0], 4);
    char p[256];
    path(p, "sparse.safetensors");
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_true(bh__st_sparse_find(&f, "tab"));
    assert_false(bh__st_sparse_find(&f, "other"));
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_OK);
    assert_true(test_int8_rows_close(t, got, R, C, 1.01f));
    assert_true(got[0] == 0 && got[40 * C + 2] == 0);
    assert_int_equal(bh__st_sparse_read(&f, "tab", 32, C, got), BH_EFORMAT); /* row 40, 63 >= R */
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, 3, got), BH_EFORMAT);  /* q8 is [N, 4] */
    bh__st_close(&f);
    /* rows out of order, rows of the wrong dtype, a scale of the wrong length */
    int32_t swapped[4] = {2, 40, 10, 63};
    e[0].raw = swapped;
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    bh__st_close(&f);
    e[0].raw = rows;
    e[0].raw_dtype = "I8";
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    bh__st_close(&f);
    e[0].raw_dtype = "I32";
    e[2].shape[0] = 3;
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    assert_int_equal(bh__st_sparse_read(&f, "missing", R, C, got), BH_EFORMAT);
    bh__st_close(&f);
    free(rows), free(q8), free(scale);
    /* every row kept (Q8's dense matrices): no row index, zero rows exact,
     * and the row count must be the reader's */
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 1, e, &ne, names, &rows, &q8, &scale), BH_OK);
    assert_int_equal(ne, 2);
    assert_int_equal(e[0].shape[0], R);
    assert_int_equal(bh__st_write(p, e, ne, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_true(bh__st_sparse_find(&f, "tab"));
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_OK);
    assert_true(test_int8_rows_close(t, got, R, C, 1.01f));
    assert_true(got[0] == 0 && got[40 * C + 2] == 0);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R - 1, C, got), BH_EFORMAT);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R + 1, C, got), BH_EFORMAT);
    bh__st_close(&f);
    free(rows), free(q8), free(scale);
    unlink(p);
}

/* What int8 rows cannot hold: a NaN or an infinity (BH_ENUMERIC naming the
 * tensor, row and column; a NaN in a row of zeros once counted the row and
 * then skipped it, leaving a row of the output unwritten), a row whose max
 * needs an F16 scale past 65504 (BH_ELIMIT); a max just inside the range
 * keeps every row, in place. */
static void test_sparse_values(void **st)
{
    (void)st;
    enum { R = 4, C = 4 };
    float t[R * C] = {0};
    bh__st_entry e[3];
    char names[3][96];
    int32_t *rows;
    int8_t *q8;
    float *scale;
    int ne;
    for (int every = 0; every < 2; every++) {
        t[1 * C + 1] = NAN; /* row 1: zero but for the NaN */
        assert_int_equal(bh__st_sparse_make("tab", t, R, C, every, e, &ne, names, &rows, &q8, &scale), BH_ENUMERIC);
        assert_non_null(strstr(bh_last_error(), "tensor tab: row 1 column 1 is NaN"));
        assert_null(rows);
        t[1 * C + 1] = -INFINITY;
        assert_int_equal(bh__st_sparse_make("tab", t, R, C, every, e, &ne, names, &rows, &q8, &scale), BH_ENUMERIC);
        assert_non_null(strstr(bh_last_error(), "row 1 column 1 is infinite"));
        t[1 * C + 1] = 0;
        t[2 * C] = 65504.0f * 127.0f * 1.001f; /* its F16 scale would be infinite */
        assert_int_equal(bh__st_sparse_make("tab", t, R, C, every, e, &ne, names, &rows, &q8, &scale), BH_ELIMIT);
        assert_non_null(strstr(bh_last_error(), "tensor tab: row 2"));
        t[2 * C] = 65504.0f * 127.0f; /* the largest: scale 65504 */
        t[3 * C + 1] = -1e-30f;       /* a row far below F16's smallest step */
        assert_int_equal(bh__st_sparse_make("tab", t, R, C, every, e, &ne, names, &rows, &q8, &scale), BH_OK);
        assert_int_equal(e[0].shape[0], every ? R : 2);
        assert_true(scale[every ? 2 : 0] == 65504.0f && q8[(every ? 2 : 0) * C] == 127);
        assert_true(scale[every ? 3 : 1] > 0 && isfinite(scale[every ? 3 : 1]));
        if (!every) assert_true(rows[0] == 2 && rows[1] == 3);
        free(rows), free(q8), free(scale);
        memset(t, 0, sizeof t);
    }
}

/* F16 rows (bh__st_sparse_make's form for C <= BH__ST_HALF_COLS): the
 * non-zero rows and their index, each value F16-rounded, zero rows exactly
 * zero; a value F16 cannot hold is BH_ELIMIT and a NaN BH_ENUMERIC when
 * made; when read, values that are not finite (an F32 copy), a values part
 * of the wrong shape or dtype, or one without its row index are
 * BH_EFORMAT. */
static void test_sparse_half_rows(void **st)
{
    (void)st;
    enum { R = 32, C = 3 };
    float t[R * C] = {0}, got[R * C];
    t[1 * C + 0] = 0.1f, t[1 * C + 2] = -1234.0f; /* row 1: int8 rows would make 0.1 zero (step 9.7) */
    t[30 * C + 1] = 3e-6f;                        /* row 30: F16 subnormal */
    bh__st_entry e[3];
    char names[3][96];
    int32_t *rows;
    int8_t *q8;
    float *vals;
    int ne;
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 0, e, &ne, names, &rows, &q8, &vals), BH_OK);
    assert_int_equal(ne, 2);
    assert_null(q8);
    assert_string_equal(e[0].name, "tab.rows");
    assert_string_equal(e[1].name, "tab.f16");
    assert_true(e[1].shape[0] == 2 && e[1].shape[1] == C && rows[0] == 1 && rows[1] == 30);
    char p[256];
    path(p, "half.safetensors");
    assert_int_equal(bh__st_write(p, e, ne, NULL, NULL, 0), BH_OK);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_find(&f, "tab"), 2);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_OK);
    assert_true(test_f16_close(t, got, (size_t)R * C));
    assert_true(got[1 * C + 2] == -1234.0f && got[1 * C] > 0.0999f && got[0] == 0 && got[31 * C + 2] == 0);
    assert_int_equal(bh__st_sparse_read(&f, "tab", 16, C, got), BH_EFORMAT);    /* row 30 >= R */
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C + 1, got), BH_EFORMAT); /* f16 is [2, 3] */
    bh__st_close(&f);
    /* the values without their row index: not a table */
    assert_int_equal(bh__st_write(p, e + 1, 1, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_find(&f, "tab"), 0);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    bh__st_close(&f);
    /* F32 values (a copy made by hand) are read; a NaN among them is refused */
    e[1].f16 = 0;
    vals[4] = NAN;
    assert_int_equal(bh__st_write(p, e, ne, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor tab.f16: element 4 is NaN"));
    bh__st_close(&f);
    /* values of an integer dtype */
    e[1].raw_dtype = "I32", e[1].raw = vals, e[1].data = NULL;
    assert_int_equal(bh__st_write(p, e, ne, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", R, C, got), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tab.f16: needs a float tensor [2,3]"));
    bh__st_close(&f);
    free(rows), free(q8), free(vals);
    unlink(p);
    t[5 * C + 1] = 70000.0f; /* past F16's 65504 */
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 0, e, &ne, names, &rows, &q8, &vals), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor tab: row 5 column 1 is 70000, beyond F16's range"));
    t[5 * C + 1] = NAN;
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 0, e, &ne, names, &rows, &q8, &vals), BH_ENUMERIC);
    /* every row kept (Q8's dense matrices) stays int8 rows at any width */
    t[5 * C + 1] = 0;
    assert_int_equal(bh__st_sparse_make("tab", t, R, C, 1, e, &ne, names, &rows, &q8, &vals), BH_OK);
    assert_int_equal(ne, 2);
    assert_string_equal(e[0].name, "tab.q8");
    free(rows), free(q8), free(vals);
}

/* The stored form as a reader sees it: a table with a row index holds only
 * the rows it lists, so [R, C] is capped (BH_ELIMIT before dst is
 * touched); a scale that is not finite, or an F32 one whose products are
 * not (a converted copy), is BH_EFORMAT naming the scales. */
static void test_sparse_read_limits(void **st)
{
    (void)st;
    char p[256];
    path(p, "sparse_lim.safetensors");
    int32_t rows[1] = {0};
    int8_t q8[257] = {0};
    float scale[1] = {1};
    bh__st_entry e[3] = {
        {.name = "tab.rows", .ndim = 1, .shape = {0, 0}, .raw_dtype = "I32", .raw = rows},
        {.name = "tab.q8", .ndim = 2, .shape = {0, 257}, .raw_dtype = "I8", .raw = q8},
        {.name = "tab.scale", .ndim = 1, .shape = {0, 0}, .data = scale, .f16 = 1},
    };
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_check(&f, "tab", (int64_t)1 << 24, 257), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor tab: [16777216,257] with a row index is more than 4294967296"));
    float dummy[1];
    assert_int_equal(bh__st_sparse_read(&f, "tab", (int64_t)1 << 24, 257, dummy), BH_ELIMIT);
    assert_int_equal(bh__st_sparse_check(&f, "tab", (int64_t)1 << 24, 256), BH_EFORMAT); /* q8 is [0, 257] */
    bh__st_close(&f);
    e[1].shape[1] = 256;
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_check(&f, "tab", (int64_t)1 << 24, 256), BH_OK); /* the cap itself */
    bh__st_close(&f);
    /* one row, its scale NaN (F16), then 1e38 (F32): 127 times it overflows */
    enum { C = 3 };
    int8_t v[C] = {1, -127, 0};
    float got[2 * C];
    e[0].shape[0] = 1, e[1].shape[0] = 1, e[1].shape[1] = C, e[2].shape[0] = 1;
    e[1].raw = v;
    scale[0] = NAN;
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", 2, C, got), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor tab.scale: element 0 is NaN"));
    bh__st_close(&f);
    scale[0] = 1e38f;
    e[2].f16 = 0;
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", 2, C, got), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor tab.scale: element 0"));
    assert_non_null(strstr(bh_last_error(), "is infinite"));
    bh__st_close(&f);
    scale[0] = 0.5f; /* and a good one */
    assert_int_equal(bh__st_write(p, e, 3, NULL, NULL, 0), BH_OK);
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_int_equal(bh__st_sparse_read(&f, "tab", 2, C, got), BH_OK);
    assert_true(got[0] == 0.5f && got[1] == -63.5f && got[2] == 0 && got[3] == 0);
    bh__st_close(&f);
    unlink(p);
}

/* F16 storage (bh_model_convert) and warm starts (bh_model_copy_weights). */
static void test_convert_and_warm_start(void **st)
{
    (void)st;
    char dir[256], d16[256], d32[256];
    path(dir, "cv");
    path(d16, "cv16");
    path(d32, "cv32");
    bh_model_config c = tiny(BH_ARCH_DECODER);
    bh_model *m, *h, *back, *mm;
    assert_int_equal(bh_model_new(&c, 3, &m), BH_OK);
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, d16, "f16"), BH_OK);
    assert_int_equal(bh_model_load(d16, 0, &h), BH_OK);
    /* every weight within F16's rounding (2^-11 relative; weights here are
     * normal numbers far above F16's subnormal range or exactly 0/1) */
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info a, b;
        assert_int_equal(bh_model_tensor(m, i, &a), BH_OK);
        assert_int_equal(bh_model_tensor(h, i, &b), BH_OK);
        int n = a.shape[0] * (a.ndim == 2 ? a.shape[1] : 1);
        for (int k = 0; k < n; k++)
            assert_true(fabsf(a.data[k] - b.data[k]) <= fabsf(a.data[k]) * (1.0f / 2048) + 1e-7f);
    }
    /* F16 -> F32 is exact, and the F32 file maps in place again */
    assert_int_equal(bh_model_convert(d16, d32, "f32"), BH_OK);
    assert_int_equal(bh_model_load(d32, BH_MODEL_MMAP, &back), BH_OK);
    assert_int_equal(bh_model_load(d16, BH_MODEL_MMAP, &mm), BH_OK); /* F16: widened into memory */
    int32_t ids[4] = {1, 2, 3, 4};
    float a[4 * 20], b[4 * 20];
    assert_int_equal(bh_model_forward(h, ids, NULL, 1, 4, NULL, a), BH_OK);
    assert_int_equal(bh_model_forward(back, ids, NULL, 1, 4, NULL, b), BH_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(bh_model_forward(mm, ids, NULL, 1, 4, NULL, b), BH_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(bh_model_convert(dir, d16, "q4"), BH_EINVAL);
    char nowhere[256];
    path(nowhere, "no-such-model");
    assert_int_equal(bh_model_convert(nowhere, d16, "f16"), BH_ENOTFOUND);

    /* a pre-LN encoder starts from the decoder: same tensors, same weights */
    bh_model_config ce = tiny(BH_ARCH_ENCODER);
    ce.pre_ln = 1;
    ce.mask_id = 4;
    bh_model *e;
    assert_int_equal(bh_model_new(&ce, 9, &e), BH_OK);
    assert_int_equal(bh_model_copy_weights(e, m), BH_OK);
    for (int i = 0; i < bh_model_num_tensors(e); i++) {
        bh_tensor_info x, y;
        assert_int_equal(bh_model_tensor(e, i, &x), BH_OK);
        assert_int_equal(bh_model_tensor(m, i, &y), BH_OK);
        assert_string_equal(x.name, y.name);
        assert_memory_equal(x.data, y.data, sizeof(float) * (size_t)x.shape[0] * (x.ndim == 2 ? x.shape[1] : 1));
    }
    /* a different width: refused, target untouched */
    bh_model_config cw = tiny(BH_ARCH_DECODER);
    cw.ffn = 32;
    bh_model *w;
    assert_int_equal(bh_model_new(&cw, 5, &w), BH_OK);
    bh_tensor_info before;
    assert_int_equal(bh_model_tensor(w, 0, &before), BH_OK);
    float first = before.data[0];
    assert_int_equal(bh_model_copy_weights(w, m), BH_ESHAPE);
    assert_non_null(strstr(bh_last_error(), "mlp.fc.w"));
    assert_true(before.data[0] == first);
    assert_int_equal(bh_model_copy_weights(w, mm), BH_ESHAPE);
    assert_int_equal(bh_model_copy_weights(back, m), BH_EUNSUPPORTED); /* mapped in place: read-only */
    bh_model_free(w);
    bh_model_free(e);
    bh_model_free(m);
    bh_model_free(h);
    bh_model_free(back);
    bh_model_free(mm);
}

/* dir's model.safetensors written again without the tensor named drop, and
 * with the int8 tensor named as_i32 stored as I32 (4 times its bytes) */
static void rewrite_weights(const char *dir, const char *drop, const char *as_i32)
{
    char p[300];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    bh__st_entry *e = calloc((size_t)f.ntensors, sizeof *e);
    void **bufs = calloc((size_t)f.ntensors, sizeof *bufs);
    int n = 0;
    for (int i = 0; i < f.ntensors; i++) {
        const bh__st_tensor *t = &f.t[i];
        if (!strcmp(t->name, drop)) continue;
        size_t cnt = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        e[n].name = t->name, e[n].ndim = t->ndim, e[n].shape[0] = t->shape[0];
        e[n].shape[1] = t->ndim == 2 ? t->shape[1] : 0;
        if (bh__st_is_float(t)) {
            float *x = bufs[n] = malloc(cnt * sizeof *x);
            bh__st_to_f32(t, x);
            e[n].data = x;
        } else if (!strcmp(t->name, as_i32)) {
            bufs[n] = calloc(cnt, 4); /* the same count of elements, 4 bytes each */
            e[n].raw_dtype = "I32", e[n].raw = bufs[n];
        } else {
            bufs[n] = malloc(t->nbytes + 1);
            memcpy(bufs[n], t->data, t->nbytes);
            e[n].raw_dtype = t->dtype, e[n].raw = bufs[n];
        }
        n++;
    }
    assert_int_equal(bh__st_write(p, e, n, NULL, NULL, 0), BH_OK); /* the names are f's */
    bh__st_close(&f);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs), free(e);
}

/* Q8 storage (bh_model_convert "Q8"): every matrix as int8 rows with an F16
 * scale, within half a step (max|row| / 254, the scale itself F16-rounded
 * up) of each weight; vectors within F16 rounding; the file at most 60% of
 * F16's; Q8 converts on (to F16, to Q8) with the int8 rows copied as they
 * are; bh_model_load refuses a row table of another shape, one without its
 * scales and one whose values are not I8. */
static void test_convert_q8(void **st)
{
    (void)st;
    char dir[256], dq[256], dq2[256], d16[256], p[300];
    path(dir, "q8src");
    path(dq, "q8");
    path(dq2, "q8again");
    path(d16, "q8f16");
    bh_model_config c = tiny(BH_ARCH_DECODER);
    c.dim = 32, c.ffn = 64, c.vocab = 64;
    bh_model *m, *q, *q2, *h;
    assert_int_equal(bh_model_new(&c, 5, &m), BH_OK);
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, dq, "Q8"), BH_OK);
    assert_int_equal(bh_model_load(dq, BH_MODEL_MMAP, &q), BH_OK); /* int8 rows: widened into memory */
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info a, b;
        assert_int_equal(bh_model_tensor(m, i, &a), BH_OK);
        assert_int_equal(bh_model_tensor(q, i, &b), BH_OK);
        if (a.ndim == 2) assert_true(test_int8_rows_close(a.data, b.data, (size_t)a.shape[0], (size_t)a.shape[1], 1.001f));
        else assert_true(test_f16_close(a.data, b.data, (size_t)a.shape[0]));
    }
    struct stat s16, sq;
    assert_int_equal(bh_model_convert(dir, d16, "f16"), BH_OK);
    snprintf(p, sizeof p, "%s/model.safetensors", d16);
    assert_int_equal(stat(p, &s16), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", dq);
    assert_int_equal(stat(p, &sq), 0);
    assert_true(sq.st_size * 10 <= s16.st_size * 6);
    /* converting a Q8 model keeps its rows: the same weights, bit for bit */
    assert_int_equal(bh_model_convert(dq, dq2, "f16"), BH_OK);
    assert_int_equal(bh_model_load(dq2, 0, &q2), BH_OK);
    for (int i = 0; i < bh_model_num_tensors(q); i++) {
        bh_tensor_info a, b;
        assert_int_equal(bh_model_tensor(q, i, &a), BH_OK);
        assert_int_equal(bh_model_tensor(q2, i, &b), BH_OK);
        assert_memory_equal(a.data, b.data, sizeof(float) * (size_t)a.shape[0] * (a.ndim == 2 ? a.shape[1] : 1));
    }
    int32_t ids[4] = {1, 2, 3, 4};
    float la[4 * 64], lb[4 * 64];
    assert_int_equal(bh_model_forward(q, ids, NULL, 1, 4, NULL, la), BH_OK);
    assert_int_equal(bh_model_forward(q2, ids, NULL, 1, 4, NULL, lb), BH_OK);
    assert_memory_equal(la, lb, sizeof la);
    /* a row table whose values do not match the config's shape */
    bh_model_config c2 = c;
    c2.vocab = 65;
    snprintf(p, sizeof p, "%s/config.json", dq);
    assert_int_equal(bh_model_config_save(p, &c2), BH_OK);
    assert_int_equal(bh_model_load(dq, 0, &h), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "wte"));
    /* a matrix's scales missing; its values stored as I32 */
    assert_int_equal(bh_model_config_save(p, &c), BH_OK);
    rewrite_weights(dq, "wpe.scale", "");
    assert_int_equal(bh_model_load(dq, 0, &h), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "wpe"));
    assert_int_equal(bh_model_convert(dir, dq, "Q8"), BH_OK);
    rewrite_weights(dq, "", "h.0.mlp.fc.w.q8");
    assert_int_equal(bh_model_load(dq, 0, &h), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "h.0.mlp.fc.w"));
    bh_model_free(m);
    bh_model_free(q);
    bh_model_free(q2);
    const char *sub[] = {dir, dq, dq2, d16};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/config.json", sub[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/model.safetensors", sub[i]);
        unlink(p);
        rmdir(sub[i]);
    }
}

/* dir's model.safetensors written again with every tensor as F16 and
 * element k of the tensor named name set to v (what convert would refuse) */
static void rewrite_f16(const char *dir, const char *name, int k, float v)
{
    char p[300];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    bh__st_entry *e = calloc((size_t)f.ntensors, sizeof *e);
    float **bufs = calloc((size_t)f.ntensors, sizeof *bufs);
    for (int i = 0; i < f.ntensors; i++) {
        const bh__st_tensor *t = &f.t[i];
        size_t cnt = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        bufs[i] = malloc(cnt * sizeof **bufs);
        bh__st_to_f32(t, bufs[i]);
        if (!strcmp(t->name, name)) bufs[i][k] = v;
        e[i].name = t->name, e[i].ndim = t->ndim, e[i].shape[0] = t->shape[0];
        e[i].shape[1] = t->ndim == 2 ? t->shape[1] : 0;
        e[i].data = bufs[i], e[i].f16 = 1;
    }
    assert_int_equal(bh__st_write(p, e, f.ntensors, NULL, NULL, 0), BH_OK);
    for (int i = 0; i < f.ntensors; i++) free(bufs[i]);
    free(bufs), free(e);
    bh__st_close(&f);
}

/* Weights that are not finite, and values a dtype cannot hold: convert
 * refuses them naming the tensor (BH_ENUMERIC: NaN, infinity; BH_ELIMIT:
 * past F16's 65504, a row past 127 * 65504 for int8 rows) and writes
 * nothing; loading refuses a NaN or infinite weight (BH_EFORMAT), mapped
 * or widened from F16. */
static void test_convert_values(void **st)
{
    (void)st;
    char dir[256], out[256], p[300];
    path(dir, "cvv");
    path(out, "cvv_out");
    bh_model_config c = tiny(BH_ARCH_DECODER);
    bh_model *m, *x = NULL;
    bh_tensor_info wpe, ln;
    assert_int_equal(bh_model_new(&c, 7, &m), BH_OK);
    assert_int_equal(bh_model_tensor(m, 1, &wpe), BH_OK);
    assert_string_equal(wpe.name, "wpe");
    assert_int_equal(bh_model_tensor(m, 2, &ln), BH_OK);
    assert_int_equal(ln.ndim, 1);
    float keep = wpe.data[3];
    static const char *const all[] = {"f16", "f32", "f16-q8", "q8"};
    wpe.data[3] = NAN;
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bh_model_convert(dir, out, all[i]), BH_ENUMERIC);
        assert_non_null(strstr(bh_last_error(), "tensor wpe: element 3 is NaN"));
    }
    snprintf(p, sizeof p, "%s/model.safetensors", out);
    assert_int_not_equal(access(p, F_OK), 0);
    assert_int_equal(bh_model_load(dir, 0, &x), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "cvv/model.safetensors: tensor wpe: element 3 is NaN"));
    assert_int_equal(bh_model_load(dir, BH_MODEL_MMAP, &x), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor wpe: element 3 is NaN"));
    assert_null(x);
    wpe.data[3] = keep;
    ln.data[5] = -INFINITY;
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "q8"), BH_ENUMERIC);
    assert_non_null(strstr(bh_last_error(), "tensor h.0.ln1.w: element 5 is infinite"));
    assert_int_equal(bh_model_load(dir, BH_MODEL_MMAP, &x), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor h.0.ln1.w: element 5 is infinite"));
    ln.data[5] = 1;
    /* 70000: beyond F16, within int8 rows (the vectors are F16 there too) */
    wpe.data[3] = 70000;
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "f16"), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor wpe: element 3 is 70000, beyond F16's range"));
    assert_int_equal(bh_model_convert(dir, out, "f16-q8"), BH_ELIMIT);
    assert_int_equal(bh_model_convert(dir, out, "f32"), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "q8"), BH_OK);
    assert_int_equal(bh_model_load(out, 0, &x), BH_OK);
    bh_tensor_info got;
    assert_int_equal(bh_model_tensor(x, 1, &got), BH_OK);
    assert_true(fabsf(got.data[3] - 70000) <= 70000.0f / 254 * 1.01f);
    bh_model_free(x);
    x = NULL;
    wpe.data[3] = 65519; /* rounds to F16's 65504, not to infinity */
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "f16"), BH_OK);
    wpe.data[3] = 1e7f; /* an F16 scale of 1e7 / 127 is infinite */
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "q8"), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "cvv/model.safetensors: tensor wpe: row 0: max |value| 1e+07"));
    ln.data[0] = 70000;
    wpe.data[3] = keep;
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    assert_int_equal(bh_model_convert(dir, out, "q8"), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor h.0.ln1.w: element 0 is 70000"));
    ln.data[0] = 1;
    /* an F16 infinity written by another tool: refused when widened */
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    rewrite_f16(dir, "h.0.ln1.w", 4, INFINITY);
    assert_int_equal(bh_model_load(dir, BH_MODEL_MMAP, &x), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor h.0.ln1.w: element 4 is infinite"));
    rewrite_f16(dir, "h.0.ln1.w", 4, 1);
    assert_int_equal(bh_model_load(dir, 0, &x), BH_OK);
    bh_model_free(x);
    bh_model_free(m);
}

static void write_text(const char *p, const char *text) { write_bytes(p, text, strlen(text)); }

/* 1 when the files a and b hold the same bytes */
static int same_file(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int x = fgetc(f), y = fgetc(g);
        same = x == y;
        if (x == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* convert keeps the fine-tuning settings: finetune.json and each file of
 * the directory it names (a fused head's word clusters, named twice; the
 * tokenizer it names), never a path (a name with '/'), never a file convert
 * writes itself, nothing for a name that is no file there; a finetune.json
 * that is not JSON fails naming it. */
static void test_convert_settings(void **st)
{
    (void)st;
    char dir[256], out[256], p[300], q[300];
    path(dir, "cvs");
    path(out, "cvs_out");
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.mask_id = 4;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 2, &m), BH_OK);
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    bh_model_free(m);
    const char *settings =
        "{\"task\": \"ner\", \"tokenizer\": \"tok.model\",\n"
        " \"fused_crf\": {\"a\": {\"weight\": 1.5, \"word_clusters\": \"wc.tsv\"}, \"b\": {\"word_clusters\": \"wc.tsv\"}},\n"
        " \"other\": [\"sub/x.tsv\", \"model.safetensors\", \"config.json\", \"missing.tsv\", \"sub\", \"..\"]}\n";
    snprintf(p, sizeof p, "%s/finetune.json", dir);
    write_text(p, settings);
    snprintf(p, sizeof p, "%s/wc.tsv", dir);
    write_text(p, "ami\t1\t2\ntumi\t1\t3\n");
    snprintf(p, sizeof p, "%s/tok.model", dir);
    write_text(p, "a tokenizer");
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/x.tsv", dir);
    write_text(p, "x");
    assert_int_equal(bh_model_convert(dir, out, "f16"), BH_OK);
    static const char *const copied[] = {"finetune.json", "wc.tsv", "tok.model", "config.json"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, copied[i]);
        snprintf(q, sizeof q, "%s/%s", out, copied[i]);
        assert_true(same_file(p, q));
    }
    snprintf(q, sizeof q, "%s/sub", out);
    assert_int_not_equal(access(q, F_OK), 0);
    snprintf(q, sizeof q, "%s/missing.tsv", out);
    assert_int_not_equal(access(q, F_OK), 0);
    snprintf(q, sizeof q, "%s/model.safetensors", out); /* the converted weights, not the F32 original */
    bh__st_file f;
    assert_int_equal(bh__st_open(q, &f), BH_OK);
    assert_string_equal(f.t[0].dtype, "F16");
    bh__st_close(&f);
    /* settings that are not JSON */
    snprintf(p, sizeof p, "%s/finetune.json", dir);
    write_text(p, "{\"task\": ");
    assert_int_equal(bh_model_convert(dir, out, "f16"), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "cvs/finetune.json line"));
    unlink(p);
    assert_int_equal(bh_model_convert(dir, out, "f32"), BH_OK); /* none: nothing more to copy */
}

/* dir's model.safetensors written again without the tensor named drop and
 * with the tensors extra[0..n) after the others */
static void add_tensors(const char *dir, const char *drop, const bh__st_entry *extra, int n)
{
    char p[300];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    bh__st_entry *e = calloc((size_t)f.ntensors + (size_t)n, sizeof *e);
    void **bufs = calloc((size_t)f.ntensors + 1, sizeof *bufs);
    int k = 0;
    for (int i = 0; i < f.ntensors; i++) {
        const bh__st_tensor *t = &f.t[i];
        if (!strcmp(t->name, drop)) continue;
        e[k].name = t->name, e[k].ndim = t->ndim, e[k].shape[0] = t->shape[0];
        e[k].shape[1] = t->ndim == 2 ? t->shape[1] : 0;
        bufs[k] = malloc(t->nbytes + 4);
        if (bh__st_is_float(t)) {
            bh__st_to_f32(t, bufs[k]);
            e[k].data = bufs[k];
        } else {
            memcpy(bufs[k], t->data, t->nbytes);
            e[k].raw_dtype = t->dtype, e[k].raw = bufs[k];
        }
        k++;
    }
    for (int i = 0; i < n; i++) e[k + i] = extra[i];
    assert_int_equal(bh__st_write(p, e, k + n, NULL, NULL, 0), BH_OK);
    for (int i = 0; i < k; i++) free(bufs[i]);
    free(bufs), free(e);
    bh__st_close(&f);
}

/* bh_model_average: the weighted mean of every weight (F32 and F16 files
 * alike), the first model's files and settings without its dev scores, and
 * each way the models can fail to match. */
static void test_model_average(void **st)
{
    (void)st;
    char d[3][256], out[256], p[300], q[300];
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.mask_id = 4;
    bh_model *m[3], *a;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "av%d", i);
        path(d[i], name);
        assert_int_equal(bh_model_new(&c, (uint64_t)i + 1, &m[i]), BH_OK);
        assert_int_equal(bh_model_save(m[i], d[i]), BH_OK);
    }
    path(out, "av_out");
    /* the second model as F16: averaged from its F16 values */
    char d16[256];
    path(d16, "av1_16");
    bh_model *h;
    assert_int_equal(bh_model_convert(d[1], d16, "f16"), BH_OK);
    assert_int_equal(bh_model_load(d16, 0, &h), BH_OK);
    snprintf(p, sizeof p, "%s/finetune.json", d[0]);
    write_text(p, "{\"task\": \"ner\", \"tokenizer\": \"tok.model\", \"best_epoch\": 2, \"dev\": 0.5,\n"
                  " \"tasks\": [{\"head\": \"x\", \"dev\": 0.25}]}\n");
    snprintf(p, sizeof p, "%s/tok.model", d[0]);
    write_text(p, "a tokenizer");
    const char *in[3] = {d[0], d16, d[2]};
    const float w[3] = {1, 0, 3};
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(bh_model_average(in, pass ? w : NULL, 3, out), BH_OK);
        assert_int_equal(bh_model_load(out, BH_MODEL_MMAP, &a), BH_OK); /* F32, in the first model's layout */
        const bh_model *src[3] = {m[0], h, m[2]};
        for (int t = 0; t < bh_model_num_tensors(a); t++) {
            bh_tensor_info x[3], y;
            for (int k = 0; k < 3; k++) assert_int_equal(bh_model_tensor(src[k], t, &x[k]), BH_OK);
            assert_int_equal(bh_model_tensor(a, t, &y), BH_OK);
            assert_string_equal(x[0].name, y.name);
            int n = y.shape[0] * (y.ndim == 2 ? y.shape[1] : 1);
            for (int e = 0; e < n; e++) {
                float want = pass ? (x[0].data[e] + 3 * x[2].data[e]) / 4
                                  : (x[0].data[e] + x[1].data[e] + x[2].data[e]) / 3;
                assert_true(fabsf(y.data[e] - want) <= 1e-6f * (1 + fabsf(want)));
            }
        }
        bh_model_free(a);
    }
    snprintf(p, sizeof p, "%s/tok.model", out);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/finetune.json", out);
    json_t *j = json_load_file(p, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "task")), "ner");
    assert_null(json_object_get(j, "dev"));
    assert_null(json_object_get(j, "best_epoch"));
    assert_null(json_object_get(json_array_get(json_object_get(j, "tasks"), 0), "dev"));
    json_t *avg = json_object_get(j, "average");
    assert_int_equal(json_integer_value(json_object_get(avg, "models")), 3);
    assert_true(fabs(json_real_value(json_array_get(json_object_get(avg, "weights"), 2)) - 0.75) < 1e-6);
    json_decref(j);

    /* bad arguments */
    const float neg[2] = {1, -1}, zero[2] = {0, 0}, nan2[2] = {1, NAN};
    assert_int_equal(bh_model_average(in, NULL, 0, out), BH_EINVAL);
    assert_int_equal(bh_model_average(NULL, NULL, 2, out), BH_EINVAL);
    assert_int_equal(bh_model_average(in, NULL, 2, NULL), BH_EINVAL);
    assert_int_equal(bh_model_average(in, neg, 2, out), BH_EINVAL);
    assert_int_equal(bh_model_average(in, zero, 2, out), BH_EINVAL);
    assert_int_equal(bh_model_average(in, nan2, 2, out), BH_EINVAL);
    char nowhere[256];
    path(nowhere, "no-such-model");
    const char *gone[2] = {d[0], nowhere};
    assert_int_equal(bh_model_average(gone, NULL, 2, out), BH_ENOTFOUND);
    /* another architecture */
    char other[256];
    path(other, "av_other");
    bh_model_config c2 = c;
    c2.ffn = 32;
    bh_model *o;
    assert_int_equal(bh_model_new(&c2, 9, &o), BH_OK);
    assert_int_equal(bh_model_save(o, other), BH_OK);
    bh_model_free(o);
    const char *two[2] = {d[0], other};
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "av_other/config.json differs"));
    /* int8 rows (Q8) hold no full matrix */
    char dq[256];
    path(dq, "av_q8");
    assert_int_equal(bh_model_convert(d[2], dq, "q8"), BH_OK);
    two[1] = dq;
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_EFORMAT);
    /* a tensor of another shape, a missing one, an extra one, a NaN */
    bh_tensor_info t0;
    assert_int_equal(bh_model_tensor(m[2], 0, &t0), BH_OK);
    float *vals = calloc((size_t)t0.shape[0] * (size_t)t0.shape[1] + 1, sizeof *vals);
    bh__st_entry e = {.name = t0.name, .ndim = 2, .shape = {t0.shape[0] - 1, t0.shape[1]}, .data = vals};
    two[1] = d[2];
    add_tensors(d[2], t0.name, &e, 1);
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_ESHAPE);
    assert_non_null(strstr(bh_last_error(), "has another shape"));
    add_tensors(d[2], t0.name, NULL, 0);
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_ESHAPE);
    assert_non_null(strstr(bh_last_error(), "is missing"));
    e.shape[0] = t0.shape[0];
    vals[5] = NAN;
    add_tensors(d[2], "", &e, 1);
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), t0.name));
    vals[5] = 0;
    bh__st_entry extra = {.name = "head.x.w", .ndim = 1, .shape = {1}, .data = vals};
    add_tensors(d[2], t0.name, &e, 1);
    add_tensors(d[2], "", &extra, 1);
    assert_int_equal(bh_model_average(two, NULL, 2, out), BH_ESHAPE);
    /* a finetune.json that is not JSON */
    snprintf(p, sizeof p, "%s/finetune.json", d[0]);
    write_text(p, "{\"task\": ");
    const char *same[2] = {d[0], d[0]};
    assert_int_equal(bh_model_average(same, NULL, 2, out), BH_EFORMAT);
    unlink(p);
    snprintf(q, sizeof q, "%s/model.safetensors", out);
    assert_int_equal(access(q, F_OK), 0);
    free(vals);
    bh_model_free(h);
    for (int i = 0; i < 3; i++) bh_model_free(m[i]);
}

/* The three parts of an int8-row table NAME with a row index and no rows:
 * valid for any [R, C] with C = cols. */
static void empty_rows(bh__st_entry e[3], char (*names)[96], const char *name, int cols)
{
    static int32_t rows[1];
    static int8_t q8[1];
    static float scale[1];
    snprintf(names[0], 96, "%s.rows", name);
    snprintf(names[1], 96, "%s.q8", name);
    snprintf(names[2], 96, "%s.scale", name);
    memset(e, 0, 3 * sizeof *e);
    e[0].name = names[0], e[0].ndim = 1, e[0].raw_dtype = "I32", e[0].raw = rows;
    e[1].name = names[1], e[1].ndim = 2, e[1].shape[1] = cols, e[1].raw_dtype = "I8", e[1].raw = q8;
    e[2].name = names[2], e[2].ndim = 1, e[2].data = scale, e[2].f16 = 1;
}

/* A small file that asks for a huge table: a 20-row config made 2^24 rows
 * whose int8 rows list none, 17 GiB as floats; refused (BH_ELIMIT naming the
 * tensor) before the parameters are allocated. */
static void test_sparse_huge(void **st)
{
    (void)st;
    char dir[256], p[300], names[3][96];
    path(dir, "huge");
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.dim = 264, c.heads = 1, c.ffn = 8, c.mask_id = 4;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 1, &m), BH_OK);
    assert_int_equal(bh_model_save(m, dir), BH_OK);
    bh_model_free(m);
    m = NULL;
    bh__st_entry e[3];
    empty_rows(e, names, "wte", c.dim);
    add_tensors(dir, "wte", e, 3);
    c.vocab = 1 << 24;
    snprintf(p, sizeof p, "%s/config.json", dir);
    assert_int_equal(bh_model_config_save(p, &c), BH_OK);
    struct rlimit old = test_limit_data((size_t)1 << 30);
    bh_status s1 = bh_model_load(dir, 0, &m), s2 = bh_model_load(dir, BH_MODEL_MMAP, &m);
    test_restore_data(&old);
    assert_int_equal(s1, BH_ELIMIT);
    assert_int_equal(s2, BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor wte: [16777216,264] with a row index is more than 4294967296 values"));
    assert_null(m);
}

/* dir/config.json's task head name: key set to the JSON text value (NULL:
 * the key removed; key NULL: the head removed; name NULL: every head) */
static void edit_head(const char *dir, const char *name, const char *key, const char *value)
{
    char p[300];
    snprintf(p, sizeof p, "%s/config.json", dir);
    json_t *root = json_load_file(p, 0, NULL), *th = json_object_get(root, "task_heads");
    assert_non_null(th);
    if (!name) json_object_del(root, "task_heads");
    else if (!key) json_object_del(th, name);
    else if (!value) json_object_del(json_object_get(th, name), key);
    else json_object_set_new(json_object_get(th, name), key, json_loads(value, JSON_DECODE_ANY, NULL));
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
    json_decref(root);
}

/* The task heads' config: only the keys of the head's kind, booleans that
 * are JSON booleans, integers in range (not cast: 2^32 + 8 is not 8), the
 * encoder's dim; every head.* tensor of the file read by a head; weights
 * finite; a feature table stored as int8 rows within the cap before the
 * head is allocated. */
static void test_heads_config(void **st)
{
    (void)st;
    char dir[256], names[3][96];
    path(dir, "hc");
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.mask_id = 4;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 1, &m), BH_OK);
    static const char *const sent[] = {"neg", "neu", "pos"}, *const tags[] = {"O", "B-X", "I-X"};
    bh_head_config cs = {BH_HEAD_SEQUENCE, "s", c.dim, 3, sent, BH_POOL_MEAN, 1, 0, 0};
    bh_head_config ct = {BH_HEAD_TOKEN, "t", c.dim, 3, tags, BH_POOL_MEAN, 0, 1, 0};
    bh_head *hs[2];
    assert_int_equal(bh_head_new(&cs, 1, &hs[0]), BH_OK);
    assert_int_equal(bh_head_new(&ct, 2, &hs[1]), BH_OK);
    assert_int_equal(bh_model_save_heads(m, hs, 2, dir), BH_OK);
    bh_head **got = NULL;
    int n;
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_OK);
    assert_int_equal(n, 2);
    bh_heads_free(got, n);
    static const struct {
        const char *head, *key, *value;
        bh_status want;
        const char *msg;
    } bad[] = {
        {"t", "crf", "1", BH_EFORMAT, "task head t: \"crf\" must be true or false"},
        {"s", "dense", "\"true\"", BH_EFORMAT, "task head s: \"dense\" must be true or false"},
        {"t", "featbits", "12", BH_EFORMAT, "task head t: unknown key \"featbits\" for a token head"},
        {"s", "crf", "false", BH_EFORMAT, "task head s: unknown key \"crf\" for a sequence head"},
        {"t", "pool", "\"cls\"", BH_EFORMAT, "unknown key \"pool\" for a token head"},
        {"s", "dim", "4294967304", BH_EFORMAT, "task head s: \"dim\" must be 1..65536"},
        {"t", "feat_bits", "4294967308", BH_EFORMAT, "task head t: \"feat_bits\" must be 0 or 12..24"},
        {"t", "feat_bits", "11", BH_EFORMAT, "\"feat_bits\" must be 0 or 12..24"},
        {"s", "dim", "16", BH_ESHAPE, "task head s has dim 16, the encoder 8"},
        {"t", NULL, NULL, BH_EFORMAT, "hc/model.safetensors: tensor head.t.out.w belongs to no task head of"},
        {NULL, NULL, NULL, BH_EFORMAT, "tensor head.s.dense.w belongs to no task head"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(bh_model_save_heads(m, hs, 2, dir), BH_OK);
        edit_head(dir, bad[i].head, bad[i].key, bad[i].value);
        got = (bh_head **)1;
        assert_int_equal(bh_heads_load(dir, &got, &n), bad[i].want);
        assert_non_null(strstr(bh_last_error(), bad[i].msg));
        assert_null(got);
    }
    /* what head_json writes, and a 0 for no feature table, still load */
    assert_int_equal(bh_model_save_heads(m, hs, 2, dir), BH_OK);
    edit_head(dir, "t", "feat_bits", "0");
    edit_head(dir, "s", "dense", "true");
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_OK);
    assert_int_equal(n, 2);
    bh_heads_free(got, n);
    /* a NaN weight */
    bh_tensor_info ti;
    assert_int_equal(bh_head_tensor(hs[1], 2, &ti), BH_OK);
    assert_string_equal(ti.name, "crf.trans");
    ti.data[1] = NAN;
    assert_int_equal(bh_model_save_heads(m, hs, 2, dir), BH_OK);
    assert_int_equal(bh_heads_load(dir, &got, &n), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tensor head.t.crf.trans: element 1 is NaN"));
    ti.data[1] = 0;
    bh_head_free(hs[0]);
    bh_head_free(hs[1]);
    /* a 257-label head given a 2^24-row feature table as int8 rows that
       list no row: 17 GiB asked for by a few bytes */
    const char *many[257];
    char lab[257][16];
    for (int i = 0; i < 257; i++) snprintf(lab[i], sizeof lab[i], "L%d", i), many[i] = lab[i];
    bh_head_config cb = {BH_HEAD_TOKEN, "big", c.dim, 257, many, BH_POOL_MEAN, 0, 0, 0};
    bh_head *big;
    assert_int_equal(bh_head_new(&cb, 3, &big), BH_OK);
    assert_int_equal(bh_model_save_heads(m, &big, 1, dir), BH_OK);
    bh_head_free(big);
    edit_head(dir, "big", "feat_bits", "24");
    bh__st_entry e[3];
    empty_rows(e, names, "head.big.feat.w", 257);
    add_tensors(dir, "", e, 3);
    struct rlimit old = test_limit_data((size_t)1 << 30);
    bh_status s = bh_heads_load(dir, &got, &n);
    test_restore_data(&old);
    assert_int_equal(s, BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), "tensor head.big.feat.w: [16777216,257] with a row index"));
    bh_model_free(m);
}

/* half-float encoding at its edges: round to nearest even, subnormals,
 * overflow to infinity, NaN stays NaN */
static void test_f16_edges(void **st)
{
    (void)st;
    char p[256];
    path(p, "edge.safetensors");
    const float v[] = {0.0f, -0.0f, 1.0f, 65504.0f, 65520.0f, 1e-8f, 5.9604645e-8f, 6.1035156e-5f,
                       1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, INFINITY, -INFINITY, NAN, 3.14159265f};
    const int n = (int)(sizeof v / sizeof *v);
    bh__st_entry e = {.name = "x", .ndim = 1, .shape = {n, 0}, .data = v, .f16 = 1};
    assert_int_equal(bh__st_write(p, &e, 1, NULL, NULL, 0), BH_OK);
    bh__st_file f;
    assert_int_equal(bh__st_open(p, &f), BH_OK);
    assert_string_equal(f.t[0].dtype, "F16");
    float r[14];
    bh__st_to_f32(&f.t[0], r);
    assert_true(r[0] == 0.0f && !signbit(r[0]) && r[1] == 0.0f && signbit(r[1]));
    assert_true(r[2] == 1.0f && r[3] == 65504.0f && isinf(r[4]) && r[5] == 0.0f);
    assert_true(r[6] == 5.9604645e-8f && r[7] == 6.1035156e-5f);
    assert_true(r[8] == 1.0f);                     /* a tie rounds to even (down) */
    assert_true(r[9] == 1.0f + 4.0f / 2048);       /* a tie rounds to even (up) */
    assert_true(isinf(r[10]) && r[10] > 0 && isinf(r[11]) && r[11] < 0 && isnan(r[12]));
    assert_true(fabsf(r[13] - 3.140625f) < 1e-6f);
    bh__st_close(&f);
}

static void test_optim_state(void **st)
{
    (void)st;
    char p[256];
    path(p, "optim.safetensors");
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.dropout = 0.1f;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 3, &m), BH_OK);
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    oc.warmup = 2;
    oc.total_steps = 10;
    oc.sched = BH_SCHED_COSINE;
    assert_true(fabsf(bh_optim_lr(&oc, 0) - oc.lr / 2) < 1e-9f);
    assert_true(fabsf(bh_optim_lr(&oc, 6) - oc.lr * 0.5f) < 1e-7f);
    assert_true(bh_optim_lr(&oc, 10) < 1e-9f);
    bh_optim *o;
    assert_int_equal(bh_optim_new(m, &oc, &o), BH_OK);
    int32_t ids[16], tg[16];
    for (int i = 0; i < 16; i++) {
        ids[i] = (i * 7) % 20;
        tg[i] = i % 4 ? -100 : (i * 3) % 20;
    }
    float l1[4], l2[4];
    /* run 4 steps; save after 2; resume a copy and compare the last 2 */
    char dir[256];
    path(dir, "opt_ck");
    for (int s = 0; s < 4; s++) {
        bh_model_zero_grad(m);
        assert_int_equal(bh_model_train_step(m, ids, NULL, tg, 2, 8, 1.0f, 100 + s, &l1[s], NULL), BH_OK);
        bh_optim_step(o, m);
        if (s == 1) {
            assert_int_equal(bh_model_save(m, dir), BH_OK);
            assert_int_equal(bh_optim_save(o, p, "hello"), BH_OK);
        }
    }
    bh_model *m2;
    bh_optim *o2;
    char *extra = NULL;
    assert_int_equal(bh_model_load(dir, 0, &m2), BH_OK);
    assert_int_equal(bh_optim_new(m2, &oc, &o2), BH_OK);
    assert_int_equal(bh_optim_load(o2, p, &extra), BH_OK);
    assert_string_equal(extra, "hello");
    free(extra);
    assert_int_equal(bh_optim_steps(o2), 2);
    for (int s = 2; s < 4; s++) {
        bh_model_zero_grad(m2);
        assert_int_equal(bh_model_train_step(m2, ids, NULL, tg, 2, 8, 1.0f, 100 + s, &l2[s], NULL), BH_OK);
        bh_optim_step(o2, m2);
        assert_true(l1[s] == l2[s]); /* bit-identical */
    }
    /* wrong-size optimizer state */
    bh_model_config c2 = c;
    c2.ffn = 24;
    bh_model *m3;
    bh_optim *o3;
    assert_int_equal(bh_model_new(&c2, 3, &m3), BH_OK);
    assert_int_equal(bh_optim_new(m3, &oc, &o3), BH_OK);
    assert_int_equal(bh_optim_load(o3, p, NULL), BH_ESHAPE);
    /* NaN in the loss is reported */
    bh_tensor_info ti;
    bh_model_tensor(m3, 0, &ti);
    ti.data[ids[0] * 8] = NAN;
    assert_int_equal(bh_model_train_step(m3, ids, NULL, tg, 2, 8, 1.0f, 0, NULL, NULL), BH_ENUMERIC);
    bh_optim_free(o);
    bh_optim_free(o2);
    bh_optim_free(o3);
    bh_model_free(m);
    bh_model_free(m2);
    bh_model_free(m3);
}

static void test_shards(void **st)
{
    (void)st;
    char p1[256], p2[256];
    path(p1, "a.tok");
    path(p2, "b.tok");
    bh_shard_writer *w;
    assert_int_equal(bh_shard_writer_open(p1, 100, &w), BH_OK);
    int32_t d1[] = {1, 2, 3}, d2[] = {4, 5}, d3[] = {6, 7, 8, 9};
    assert_int_equal(bh_shard_writer_add(w, d1, 3), BH_OK);
    assert_int_equal(bh_shard_writer_add(w, d2, 0), BH_OK); /* empty document */
    assert_int_equal(bh_shard_writer_add(w, d2, 2), BH_OK);
    int32_t badid = 100;
    assert_int_equal(bh_shard_writer_add(w, &badid, 1), BH_EINVAL);
    assert_int_equal(bh_shard_writer_close(w), BH_OK);
    assert_int_equal(bh_shard_writer_open(p2, 100, &w), BH_OK);
    assert_int_equal(bh_shard_writer_add(w, d3, 4), BH_OK);
    assert_int_equal(bh_shard_writer_close(w), BH_OK);
    const char *paths[] = {p1, p2};
    bh_shard_reader *r;
    assert_int_equal(bh_shard_reader_open(paths, 2, 0, &r), BH_OK);
    int32_t out[32];
    assert_int_equal(bh_shard_reader_next(r, out, 5), BH_OK);
    int32_t want1[] = {1, 2, 3, 0, 0};
    assert_memory_equal(out, want1, sizeof want1);
    char pos[128];
    assert_int_equal(bh_shard_reader_tell(r, pos, sizeof pos), BH_OK);
    assert_int_equal(bh_shard_reader_next(r, out, 12), BH_OK);
    int32_t want2[] = {4, 5, 0, 6, 7, 8, 9, 0, 1, 2, 3, 0};
    assert_memory_equal(out, want2, sizeof want2);
    assert_int_equal(bh_shard_reader_seek(r, pos), BH_OK);
    assert_int_equal(bh_shard_reader_next(r, out, 12), BH_OK);
    assert_memory_equal(out, want2, sizeof want2);
    bh_shard_reader_free(r);
    /* truncated inside a record; an id beyond the vocabulary */
    assert_int_equal(truncate(p2, 16 + 4 + 8), 0);
    assert_int_equal(bh_shard_reader_open(paths + 1, 1, -1, &r), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "b.tok"));
    unsigned char raw[24] = {'B', 'H', 'T', 'O', 'K', 'S', '1', 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0};
    write_bytes(p2, raw, sizeof raw);
    assert_int_equal(bh_shard_reader_open(paths + 1, 1, -1, &r), BH_OK);
    assert_int_equal(bh_shard_reader_next(r, out, 1), BH_EFORMAT);
    bh_shard_reader_free(r);
    write_bytes(p2, "garbage garbage garbage", 20);
    assert_int_equal(bh_shard_reader_open(paths + 1, 1, -1, &r), BH_EFORMAT);
}

/* A failed seek leaves the reader where it was, and a shard that cannot be
 * opened is an error on every call, never a reader without a file. */
static void test_shard_errors(void **st)
{
    (void)st;
    char p1[256], p2[256];
    path(p1, "c.tok");
    path(p2, "d.tok");
    bh_shard_writer *w;
    int32_t d1[] = {1, 2, 3}, d2[] = {4, 5}, d3[] = {6, 7};
    assert_int_equal(bh_shard_writer_open(p1, 10, &w), BH_OK);
    assert_int_equal(bh_shard_writer_add(w, d1, 3), BH_OK);
    assert_int_equal(bh_shard_writer_add(w, d2, 2), BH_OK);
    assert_int_equal(bh_shard_writer_close(w), BH_OK);
    assert_int_equal(bh_shard_writer_open(p2, 10, &w), BH_OK);
    assert_int_equal(bh_shard_writer_add(w, d3, 2), BH_OK);
    assert_int_equal(bh_shard_writer_close(w), BH_OK);
    const char *paths[] = {p1, p2};
    bh_shard_reader *r;
    assert_int_equal(bh_shard_reader_open(paths, 2, 0, &r), BH_OK);
    int32_t out[8];
    assert_int_equal(bh_shard_reader_next(r, out, 2), BH_OK);
    /* the second record (byte 32) holds 2 tokens, not 9 */
    assert_int_equal(bh_shard_reader_seek(r, "0 32 9 1 0"), BH_EFORMAT);
    assert_int_equal(bh_shard_reader_next(r, out, 1), BH_OK);
    assert_int_equal(out[0], 3);
    assert_int_equal(unlink(p2), 0);
    assert_int_equal(bh_shard_reader_seek(r, "1 16 0 1 0"), BH_ENOTFOUND);
    assert_int_equal(bh_shard_reader_next(r, out, 4), BH_OK);
    int32_t want[] = {0, 4, 5, 0};
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(bh_shard_reader_next(r, out, 1), BH_ENOTFOUND);
    assert_int_equal(bh_shard_reader_next(r, out, 1), BH_ENOTFOUND);
    bh_shard_reader_free(r);
    unlink(p1);
}

/* A told position resumes exactly wherever the reader stands: before the first read
 * with an empty first shard (the reader then stands at that shard's end), at the end
 * of a record before an empty middle shard, inside a record; with and without a
 * separator, and the epoch count comes back too. */
static void test_shard_tell_empty(void **st)
{
    (void)st;
    static const char *const names[4] = {"e1.tok", "f.tok", "e2.tok", "g.tok"};
    char p[4][256];
    const char *paths[4];
    int32_t a[] = {1, 2, 3}, b[] = {4, 5};
    for (int i = 0; i < 4; i++) {
        path(p[i], names[i]);
        paths[i] = p[i];
        bh_shard_writer *w;
        assert_int_equal(bh_shard_writer_open(p[i], 10, &w), BH_OK);
        if (i == 1) assert_int_equal(bh_shard_writer_add(w, a, 3), BH_OK);
        if (i == 3) assert_int_equal(bh_shard_writer_add(w, b, 2), BH_OK);
        assert_int_equal(bh_shard_writer_close(w), BH_OK);
    }
    for (int sep = -1; sep <= 0; sep++) {
        int32_t want[14];
        int nw = 0;
        for (int e = 0; e < 2; e++) {
            for (int i = 0; i < 3; i++) want[nw++] = a[i];
            if (sep == 0) want[nw++] = 0;
            for (int i = 0; i < 2; i++) want[nw++] = b[i];
            if (sep == 0) want[nw++] = 0;
        }
        int epoch = nw / 2;
        for (int k = 0; k <= epoch; k++) {
            bh_shard_reader *r;
            int32_t out[14], again[14];
            char pos[128], end1[128], end2[128];
            assert_int_equal(bh_shard_reader_open(paths, 4, sep, &r), BH_OK);
            if (k) assert_int_equal(bh_shard_reader_next(r, out, k), BH_OK);
            assert_int_equal(bh_shard_reader_tell(r, pos, sizeof pos), BH_OK);
            assert_int_equal(bh_shard_reader_next(r, out, epoch), BH_OK);
            assert_memory_equal(out, want + k, epoch * sizeof *out);
            assert_int_equal(bh_shard_reader_tell(r, end1, sizeof end1), BH_OK);
            assert_int_equal(bh_shard_reader_seek(r, pos), BH_OK);
            assert_int_equal(bh_shard_reader_next(r, again, epoch), BH_OK);
            assert_memory_equal(again, want + k, epoch * sizeof *again);
            assert_int_equal(bh_shard_reader_tell(r, end2, sizeof end2), BH_OK);
            assert_string_equal(end1, end2);
            bh_shard_reader_free(r);
        }
    }
    for (int i = 0; i < 4; i++) unlink(p[i]);
}

static void test_mlm_mask(void **st)
{
    (void)st;
    enum { n = 20000 };
    int32_t *ids = malloc(sizeof(int32_t) * n), *orig = malloc(sizeof(int32_t) * n), *tg = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < n; i++) orig[i] = ids[i] = i % 50 == 0 ? 1 : 5 + i % 90;
    int32_t special[] = {0, 1, 2, 3, 4};
    uint64_t rng = 9;
    int k = bh_mlm_mask(ids, tg, n, 0.15f, 4, 100, 5, special, 5, &rng);
    int masked = 0, same = 0, rnd = 0;
    for (int i = 0; i < n; i++) {
        if (orig[i] == 1) assert_int_equal(tg[i], -100);
        if (tg[i] == -100) {
            assert_int_equal(ids[i], orig[i]);
            continue;
        }
        assert_int_equal(tg[i], orig[i]);
        if (ids[i] == 4) masked++;
        else if (ids[i] == orig[i]) same++;
        else rnd++;
    }
    assert_int_equal(masked + same + rnd, k);
    assert_true(k > 0.13 * n && k < 0.17 * n);
    assert_true(masked > 0.76 * k && masked < 0.84 * k);
    assert_true(rnd > 0.07 * k && rnd < 0.13 * k);
    free(ids);
    free(orig);
    free(tg);
}

static void test_mlm_words(void **st)
{
    (void)st;
    /* vocabulary of 20: ids 10..19 start words, 5..9 continue them */
    uint8_t ws[20] = {0};
    for (int i = 10; i < 20; i++) ws[i] = 1;
    enum { n = 3000 };
    int32_t ids[n], orig[n], tg[n], special[] = {0, 1, 2, 3, 4};
    uint64_t rng = 4;
    for (int i = 0; i < n; i++) orig[i] = ids[i] = i % 4 == 0 ? 10 + i % 7 : 5 + i % 5;
    orig[100] = ids[100] = 2; /* a separator inside a word */
    int k = bh_mlm_mask_words(ids, tg, n, 0.15f, 4, 20, 5, special, 5, ws, &rng);
    int words = 0;
    for (int i = 0; i < n; i++) {
        if (orig[i] == 2) assert_int_equal(tg[i], -100);
        if (tg[i] != -100) assert_int_equal(tg[i], orig[i]);
        /* inside a word (not at its start), chosen-ness equals the previous token's */
        if (!ws[orig[i]] && i > 0 && orig[i - 1] != 2 && orig[i] != 2)
            assert_int_equal(tg[i] != -100, tg[i - 1] != -100);
        words += ws[orig[i]] && tg[i] != -100;
    }
    assert_true(k > 0.12 * n && k < 0.18 * n);
    assert_true(words > 0.12 * (n / 4) && words < 0.18 * (n / 4));
}

static void test_sample(void **st)
{
    (void)st;
    float lg[5];
    bh_sample_config c;
    bh_sample_config_default(&c);
    uint64_t rng = 1;
    float base[5] = {1.0f, 3.0f, 2.9f, -1.0f, 0.5f};
    memcpy(lg, base, sizeof lg);
    assert_int_equal(bh_sample(lg, 5, &c, NULL, 0, &rng), 1);
    /* repetition penalty 2 on token 1: 3/2 = 1.5 < 2.9 */
    int32_t hist[] = {1, 1};
    c.repetition_penalty = 2.0f;
    memcpy(lg, base, sizeof lg);
    assert_int_equal(bh_sample(lg, 5, &c, hist, 2, &rng), 2);
    assert_true(fabsf(lg[1] - 1.5f) < 1e-6f); /* applied once, not per occurrence */
    c.repetition_penalty = 1.0f;
    /* top-k 2 only ever yields tokens 1 or 2; top-p 0.5 only token 1 */
    c.temperature = 1.0f;
    c.top_k = 2;
    int counts[5] = {0};
    for (int i = 0; i < 2000; i++) {
        memcpy(lg, base, sizeof lg);
        counts[bh_sample(lg, 5, &c, NULL, 0, &rng)]++;
    }
    assert_int_equal(counts[0] + counts[3] + counts[4], 0);
    assert_true(counts[1] > 800 && counts[2] > 800);
    c.top_k = 0;
    c.top_p = 0.4f;
    for (int i = 0; i < 200; i++) {
        memcpy(lg, base, sizeof lg);
        assert_int_equal(bh_sample(lg, 5, &c, NULL, 0, &rng), 1);
    }
}

/* Non-finite logits: NaN counts as -inf, whatever its position (the first
 * one included, which the argmax starts from); +inf wins at any temperature;
 * all -inf or NaN gives token 0. With NaN among finite logits, sampling draws
 * exactly what it draws with -inf in their place. */
static void test_sample_nonfinite(void **st)
{
    (void)st;
    bh_sample_config c;
    bh_sample_config_default(&c);
    uint64_t rng = 3;
    const float nan = NAN, inf = INFINITY;
    float lg[6];
    const float with_nan[6] = {nan, 3.0f, nan, 2.9f, -inf, 1.0f};
    const float with_ninf[6] = {-inf, 3.0f, -inf, 2.9f, -inf, 1.0f};
    const float with_inf[6] = {1.0f, nan, inf, 3.0f, inf, -inf};
    const float all_nan[3] = {nan, nan, nan}, mixed[3] = {-inf, nan, -inf};
    const float nan_top[3] = {nan, -1.0f, nan};
    for (int t = 0; t < 2; t++) {
        c.temperature = t ? 1.0f : 0.0f;
        c.top_k = t ? 2 : 0;
        c.top_p = t ? 0.9f : 1.0f;
        memcpy(lg, with_inf, sizeof with_inf);
        assert_int_equal(bh_sample(lg, 6, &c, NULL, 0, &rng), 2);
        memcpy(lg, all_nan, sizeof all_nan);
        assert_int_equal(bh_sample(lg, 3, &c, NULL, 0, &rng), 0);
        memcpy(lg, mixed, sizeof mixed);
        assert_int_equal(bh_sample(lg, 3, &c, NULL, 0, &rng), 0);
        memcpy(lg, nan_top, sizeof nan_top);
        assert_int_equal(bh_sample(lg, 3, &c, NULL, 0, &rng), 1);
    }
    c.temperature = 0.0f;
    c.top_k = 0;
    c.top_p = 1.0f;
    memcpy(lg, with_nan, sizeof lg);
    assert_int_equal(bh_sample(lg, 6, &c, NULL, 0, &rng), 1);
    assert_true(isinf(lg[0]) && lg[0] < 0 && isinf(lg[2]) && lg[2] < 0);
    /* the repetition penalty leaves NaN and infinities as they are */
    int32_t hist[] = {0, 2, 4};
    c.repetition_penalty = 2.0f;
    memcpy(lg, with_inf, sizeof lg);
    assert_int_equal(bh_sample(lg, 6, &c, hist, 3, &rng), 2);
    memcpy(lg, with_nan, sizeof lg);
    assert_int_equal(bh_sample(lg, 6, &c, hist, 3, &rng), 1);
    c.repetition_penalty = 1.0f;
    c.temperature = 0.7f;
    const int ks[] = {0, 2, 0}, ps[] = {100, 100, 95};
    for (int v = 0; v < 3; v++) {
        c.top_k = ks[v];
        c.top_p = ps[v] / 100.0f;
        uint64_t r1 = 9, r2 = 9;
        int counts[6] = {0};
        for (int i = 0; i < 500; i++) {
            float a[6], b[6];
            memcpy(a, with_nan, sizeof a);
            memcpy(b, with_ninf, sizeof b);
            int pa = bh_sample(a, 6, &c, NULL, 0, &r1);
            assert_int_equal(pa, bh_sample(b, 6, &c, NULL, 0, &r2));
            counts[pa]++;
        }
        assert_int_equal(counts[0] + counts[2] + counts[4], 0);
        assert_true(counts[1] > 0 && counts[3] > 0);
    }
}

/* The KV cache refuses a feed past max_len, however large n is (pos + n
 * must not wrap around and let n tokens be read). */
static void test_gen_limits(void **st)
{
    (void)st;
    bh_model_config c = tiny(BH_ARCH_DECODER);
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 2, &m), BH_OK);
    bh_gen *g;
    assert_int_equal(bh_gen_new(m, &g), BH_OK);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float lg[20];
    assert_int_equal(bh_gen_feed(g, ids, 1, lg), BH_OK);
    assert_int_equal(bh_gen_feed(g, ids, INT_MAX, lg), BH_ELIMIT);
    assert_int_equal(bh_gen_feed(g, ids, INT_MAX - 1, NULL), BH_ELIMIT);
    assert_int_equal(bh_gen_pos(g), 1);
    assert_int_equal(bh_gen_feed(g, ids, 8, lg), BH_ELIMIT);
    assert_int_equal(bh_gen_feed(g, ids, 7, lg), BH_OK);
    assert_int_equal(bh_gen_pos(g), 8);
    bh_gen_free(g);
    bh_model_free(m);
}

static void test_determinism(void **st)
{
    (void)st;
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.dropout = 0.2f;
    c.pre_ln = 1;
    bh_model *a, *b;
    assert_int_equal(bh_model_new(&c, 11, &a), BH_OK);
    assert_int_equal(bh_model_new(&c, 11, &b), BH_OK);
    int32_t ids[16], tg[16];
    uint8_t mask[16];
    for (int i = 0; i < 16; i++) {
        ids[i] = (i * 5 + 1) % 20;
        tg[i] = i % 3 ? -100 : (i + 2) % 20;
        mask[i] = i % 8 < 6;
        if (!mask[i]) tg[i] = -100;
    }
    float la, lb, lc;
    assert_int_equal(bh_model_train_step(a, ids, mask, tg, 2, 8, 1.0f, 77, &la, NULL), BH_OK);
    assert_int_equal(bh_model_train_step(b, ids, mask, tg, 2, 8, 1.0f, 77, &lb, NULL), BH_OK);
    assert_true(la == lb);
    assert_int_equal(bh_model_train_step(b, ids, mask, tg, 2, 8, 1.0f, 78, &lc, NULL), BH_OK);
    assert_true(la != lc); /* dropout seed matters */
    /* padding: changing a padded token does not change real outputs */
    float h1[16 * 8], h2[16 * 8];
    assert_int_equal(bh_model_forward(a, ids, mask, 2, 8, h1, NULL), BH_OK);
    ids[7] = 3;
    assert_int_equal(bh_model_forward(a, ids, mask, 2, 8, h2, NULL), BH_OK);
    assert_memory_equal(h1, h2, sizeof(float) * 6 * 8);
    uint8_t none[16] = {0};
    assert_int_equal(bh_model_forward(a, ids, none, 2, 8, h2, NULL), BH_EINVAL);
    bh_model_free(a);
    bh_model_free(b);
}

/* Data-parallel training: a batch split in parts (each with its global row0
 * and the whole batch's target count) adds the same gradients, draws the same
 * dropout masks and gives the same summed loss as the whole batch at once. */
static void test_train_parts(void **st)
{
    (void)st;
    for (int arch = 0; arch < 2; arch++) {
        bh_model_config c = tiny(arch ? BH_ARCH_DECODER : BH_ARCH_ENCODER);
        c.dropout = 0.2f;
        bh_model *m;
        assert_int_equal(bh_model_new(&c, 5, &m), BH_OK);
        enum { B = 4, T = 8, N = B * T };
        int32_t ids[N], tg[N];
        for (int i = 0; i < N; i++) {
            ids[i] = (i * 7 + 3) % 20;
            tg[i] = arch || i % 3 == 0 ? (i * 5 + 1) % 20 : -100;
        }
        float *g, l, lp[2];
        size_t ng;
        int n, np[2];
        assert_int_equal(bh_model_grads(m, &g, &ng), BH_OK);
        assert_int_equal(ng, bh_model_num_params(m));
        float *whole = malloc(sizeof(float) * ng);
        bh_model_zero_grad(m);
        assert_int_equal(bh_model_train_step(m, ids, NULL, tg, B, T, 0.5f, 42, &l, &n), BH_OK);
        memcpy(whole, g, sizeof(float) * ng);
        /* rows [0,1) and [1,4): the parts' gradients add up in the buffer */
        bh_model_zero_grad(m);
        assert_int_equal(bh_model_train_step_part(m, ids, NULL, tg, 1, T, 0.5f, 42, 0, n, &lp[0], &np[0]), BH_OK);
        assert_int_equal(bh_model_train_step_part(m, ids + T, NULL, tg + T, B - 1, T, 0.5f, 42, 1, n, &lp[1], &np[1]),
                         BH_OK);
        assert_int_equal(np[0] + np[1], n);
        assert_true(fabs(((double)lp[0] * np[0] + (double)lp[1] * np[1]) / n - l) < 1e-5 * fabs(l));
        double err = 0, ref = 0;
        for (size_t i = 0; i < ng; i++) {
            err = fmax(err, fabs((double)g[i] - whole[i]));
            ref = fmax(ref, fabs((double)whole[i]));
        }
        assert_true(ref > 0 && err <= 1e-5 * ref);
        /* a different row0 draws different dropout masks */
        bh_model_zero_grad(m);
        assert_int_equal(bh_model_train_step_part(m, ids, NULL, tg, 1, T, 0.5f, 42, 2, n, &l, NULL), BH_OK);
        assert_true(l != lp[0]);
        assert_int_equal(bh_model_train_step_part(m, ids, NULL, tg, 1, T, 0.5f, 42, -1, n, &l, NULL), BH_EINVAL);
        free(whole);
        bh_model_free(m);
    }
}

/* bh_model_forward_train_part: the hidden states [B, T, D] of a batch split
 * into parts (dropout on) equal those of the whole batch, and a part's
 * backward adds its share of the whole batch's gradient. */
static void test_forward_parts(void **st)
{
    (void)st;
    bh_model_config c = tiny(BH_ARCH_ENCODER);
    c.dropout = 0.2f;
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 5, &m), BH_OK);
    enum { B = 4, T = 8, N = B * T, D = 8 };
    assert_int_equal(c.dim, D);
    int32_t ids[N];
    uint8_t mask[N];
    float hid[N * D], part[N * D], dh[N * D];
    for (int i = 0; i < N; i++) {
        ids[i] = (i * 7 + 3) % 20;
        mask[i] = i % T < T - i / T; /* row b has T - b real tokens */
    }
    for (int i = 0; i < N * D; i++) dh[i] = mask[i / D] ? (float)((i * 13) % 7 - 3) * 0.01f : 0.0f;
    float *g;
    size_t ng;
    assert_int_equal(bh_model_grads(m, &g, &ng), BH_OK);
    float *whole = malloc(sizeof(float) * ng);
    bh_model_zero_grad(m);
    assert_int_equal(bh_model_forward_train(m, ids, mask, B, T, 42, hid), BH_OK);
    assert_int_equal(bh_model_backward(m, dh), BH_OK);
    memcpy(whole, g, sizeof(float) * ng);
    bh_model_zero_grad(m);
    /* rows [0,1) and [1,4) */
    assert_int_equal(bh_model_forward_train_part(m, ids, mask, 1, T, 42, 0, part), BH_OK);
    assert_int_equal(bh_model_backward(m, dh), BH_OK);
    assert_int_equal(bh_model_forward_train_part(m, ids + T, mask + T, B - 1, T, 42, 1, part + T * D), BH_OK);
    assert_int_equal(bh_model_backward(m, dh + T * D), BH_OK);
    double err = 0, ref = 0;
    for (int i = 0; i < N * D; i++)
        if (mask[i / D]) err = fmax(err, fabs((double)part[i] - hid[i]));
    assert_true(err < 1e-5);
    for (size_t i = 0; i < ng; i++) {
        err = fmax(err, fabs((double)g[i] - whole[i]));
        ref = fmax(ref, fabs((double)whole[i]));
    }
    assert_true(ref > 0 && err <= 1e-5 * ref);
    /* another row0 draws other dropout masks */
    assert_int_equal(bh_model_forward_train_part(m, ids, mask, 1, T, 42, 2, part), BH_OK);
    assert_true(memcmp(part, hid, sizeof(float) * T * D) != 0);
    assert_int_equal(bh_model_forward_train_part(m, ids, mask, 1, T, 42, -1, part), BH_EINVAL);
    free(whole);
    bh_model_free(m);
}

static void test_blas(void **st)
{
    (void)st;
    assert_int_equal(bh_blas_selfcheck(), BH_OK);
    assert_true(strlen(bh_blas_corename()) > 0);
}

int main(void)
{
    /* scratch files under the build directory (tests run from the repo root) */
    test_build_path(tmpdir, sizeof tmpdir, "tmp_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    bh_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_hostile), cmocka_unit_test(test_sparse_tables), cmocka_unit_test(test_checkpoint_roundtrip),
        cmocka_unit_test(test_sparse_values),       cmocka_unit_test(test_sparse_read_limits),
        cmocka_unit_test(test_sparse_half_rows),
        cmocka_unit_test(test_convert_values),      cmocka_unit_test(test_convert_settings),
        cmocka_unit_test(test_model_average),
        cmocka_unit_test(test_sparse_huge),         cmocka_unit_test(test_heads_config),
        cmocka_unit_test(test_convert_and_warm_start), cmocka_unit_test(test_convert_q8), cmocka_unit_test(test_f16_edges),
        cmocka_unit_test(test_optim_state),         cmocka_unit_test(test_shards),
        cmocka_unit_test(test_shard_errors), cmocka_unit_test(test_shard_tell_empty),
        cmocka_unit_test(test_mlm_mask),            cmocka_unit_test(test_mlm_words),
        cmocka_unit_test(test_sample),              cmocka_unit_test(test_sample_nonfinite),
        cmocka_unit_test(test_gen_limits),
        cmocka_unit_test(test_determinism),         cmocka_unit_test(test_blas),
        cmocka_unit_test(test_train_parts),         cmocka_unit_test(test_forward_parts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) rc |= 0;
    return rc;
}
