/* tests/test_checkpoint.c — resume state: round trip, atomic replacement (no
 * temporary file left, a failed write keeps the old checkpoint), and clear
 * errors for a missing or malformed file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/checkpoint.h"

static char dir[200];

static void fill(bh__ckpt *c, char **paths, uint64_t *sizes)
{
    memset(c, 0, sizeof *c);
    c->config = (char *)"stages=all \"quoted\"";
    c->n_inputs = 2;
    c->paths = paths;
    c->sizes = sizes;
    c->seg = 1;
    c->offset = 5000000000ull;
    c->seg_records = 123;
    c->in_crc = 0xdeadbeefu;
    c->read = 10;
    c->written = 10;
    c->failed = 2;
    c->skipped = 1;
    c->out_size = 77;
    c->out_crc = 0xffffffffu;
    c->done = 1;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/a.ckpt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *paths[] = {(char *)"in/a.txt", (char *)"b é.jsonl"};
    uint64_t sizes[] = {1, 6000000000ull};
    bh__ckpt c, r;
    fill(&c, paths, sizes);
    assert_int_equal(bh__ckpt_write(path, &c), BH_OK);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_equal(bh__ckpt_read(path, &r), BH_OK);
    assert_string_equal(r.config, c.config);
    assert_int_equal(r.n_inputs, 2);
    assert_string_equal(r.paths[1], "b é.jsonl");
    assert_true(r.sizes[1] == 6000000000ull);
    assert_int_equal(r.seg, 1);
    assert_true(r.offset == 5000000000ull);
    assert_int_equal(r.seg_records, 123);
    assert_int_equal(r.in_crc, 0xdeadbeefu);
    assert_int_equal(r.read, 10);
    assert_int_equal(r.failed, 2);
    assert_int_equal(r.skipped, 1);
    assert_true(r.out_size == 77);
    assert_int_equal(r.out_crc, 0xffffffffu);
    assert_int_equal(r.done, 1);
    bh__ckpt_clear(&r);
    assert_null(r.config);

    /* Replacing it: the new state is read back. */
    c.seg_records = 124;
    c.done = 0;
    assert_int_equal(bh__ckpt_write(path, &c), BH_OK);
    assert_int_equal(bh__ckpt_read(path, &r), BH_OK);
    assert_int_equal(r.seg_records, 124);
    assert_int_equal(r.done, 0);
    bh__ckpt_clear(&r);
    unlink(path);
}

static void test_failed_write_keeps_old(void **state)
{
    (void)state;
    char path[1024], bad[1100];
    snprintf(path, sizeof path, "%s/b.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/b.ckpt", dir);
    char *paths[] = {(char *)"x", (char *)"y"};
    uint64_t sizes[] = {1, 2};
    bh__ckpt c, r;
    fill(&c, paths, sizes);
    assert_int_equal(bh__ckpt_write(bad, &c), BH_EIO);
    assert_non_null(strstr(bh_last_error(), "cannot create"));
    /* A temporary file that is a directory: the rename never happens. */
    assert_int_equal(bh__ckpt_write(path, &c), BH_OK);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0755), 0);
    c.seg_records = 999;
    assert_int_equal(bh__ckpt_write(path, &c), BH_EIO);
    assert_int_equal(bh__ckpt_read(path, &r), BH_OK);
    assert_int_equal(r.seg_records, 123);
    bh__ckpt_clear(&r);
    rmdir(tmp);
    unlink(path);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[1024];
    bh__ckpt r;
    snprintf(path, sizeof path, "%s/none.ckpt", dir);
    assert_int_equal(bh__ckpt_read(path, &r), BH_ENOTFOUND);
    static const char *const bad[] = {
        "", "{", "[]", "{\"config\":\"x\"}",
        "{\"config\":\"x\",\"inputs\":[],\"segment\":0,\"offset\":-1,\"segment_records\":0,\"input_crc32\":0,"
        "\"read\":0,\"written\":0,\"failed\":0,\"skipped\":0,\"output_size\":0,\"output_crc32\":0}",
        "{\"config\":\"x\",\"inputs\":[{\"path\":1,\"size\":2}],\"segment\":0,\"offset\":0,\"segment_records\":0,"
        "\"input_crc32\":0,\"read\":0,\"written\":0,\"failed\":0,\"skipped\":0,\"output_size\":0,\"output_crc32\":0}",
        "{\"config\":\"x\",\"inputs\":[],\"segment\":3,\"offset\":0,\"segment_records\":0,\"input_crc32\":0,"
        "\"read\":0,\"written\":0,\"failed\":0,\"skipped\":0,\"output_size\":0,\"output_crc32\":0}",
    };
    snprintf(path, sizeof path, "%s/bad.ckpt", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        assert_int_equal(bh__ckpt_read(path, &r), BH_EFORMAT);
        assert_null(r.config);
    }
    unlink(path);
    bh__ckpt_clear(NULL);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bh_ckpt_XXXXXX", t && *t ? t : P_tmpdir);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_failed_write_keeps_old),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
