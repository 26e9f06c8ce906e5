/* tests/test_core.c — status codes, error detail, bh_buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bhasha.h"
#include "core/error.h"

static void test_errmsg(void **state)
{
    (void)state;
    assert_string_equal(bh_errmsg(BH_OK), "success");
    assert_string_equal(bh_errmsg(BH_EUTF8), "invalid UTF-8");
    assert_string_equal(bh_errmsg(-999), "unknown error");
    assert_int_equal(bh__fail(BH_EIO, "file %s line %d", "x.txt", 3), BH_EIO);
    assert_string_equal(bh_last_error(), "file x.txt line 3");
}

static void test_buf(void **state)
{
    (void)state;
    bh_buf b = {0};
    for (int i = 0; i < 1000; i++) assert_int_equal(bh_buf_append(&b, "ab", 2), BH_OK);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[2000], 0);
    bh_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(bh_buf_reserve(&b, SIZE_MAX), BH_ELIMIT);
    assert_int_equal(bh_buf_reserve(NULL, 1), BH_EINVAL);
    bh_buf_free(&b);
    assert_null(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errmsg),
        cmocka_unit_test(test_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
