/* tests/test_core.c — status codes, error detail, bh_buf, JSON strings and
 * one-line text that are valid UTF-8 whatever the input bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bhasha.h"
#include "core/error.h"
#include "core/f16.h"

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

/* s[0..n) through bh_buf_append_json must give exactly want (quotes included). */
static void json_is(const char *s, size_t n, const char *want)
{
    bh_buf b = {0};
    assert_int_equal(bh_buf_append_json(&b, s, n), BH_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    bh_buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_json_utf8(void **state)
{
    (void)state;
    json_is("a\"b\\c\n\t\r\x01\x7f", 10, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f\"");
    /* well-formed UTF-8 of every length is copied */
    json_is("\xc3\xa9\xe0\xa6\x95\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe0\xa6\x95\xf0\x9f\x98\x80\"");
    /* each byte that starts no well-formed sequence becomes one U+FFFD */
    json_is("\xff", 1, "\"" FFFD "\"");
    json_is("x\xe0\xa6", 3, "\"x" FFFD FFFD "\"");                 /* cut short */
    json_is("\xc0\xaf", 2, "\"" FFFD FFFD "\"");                   /* overlong */
    json_is("\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"");          /* overlong */
    json_is("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"");          /* surrogate */
    json_is("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF */
    json_is("\xe0\xa6\x95\xa6", 4, "\"\xe0\xa6\x95" FFFD "\"");     /* stray continuation byte */
    json_is("\xe0\"", 2, "\"" FFFD "\\\"\"");                       /* a quote is not a continuation */
    assert_int_equal(bh__utf8_seq("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(bh__utf8_seq("\xf0\x9f\x98\x80", 3), 0);
    assert_int_equal(bh__utf8_seq("\xef\xbf\xbd", 3), 3);
    assert_int_equal(bh__utf8_seq("\x80", 1), 0);
    /* a long run of bad bytes (3 output bytes each) */
    char many[300];
    memset(many, 0xff, sizeof many);
    bh_buf b = {0};
    assert_int_equal(bh_buf_append_json(&b, many, sizeof many), BH_OK);
    assert_int_equal(b.len, 2 + 3 * sizeof many);
    bh_buf_free(&b);
}

/* The software half-float conversions against the compiler's _Float16 (GCC on
 * x86-64 has it): every half value widened, and floats around every half
 * value and tie, the special values and a sweep of the whole float range
 * narrowed (round to nearest even, subnormals, overflow to infinity). */
static void test_f16(void **state)
{
    (void)state;
#ifdef __FLT16_MANT_DIG__
    for (uint32_t u = 0; u < 65536; u++) {
        _Float16 h;
        uint16_t hu = (uint16_t)u;
        memcpy(&h, &hu, 2);
        float want = (float)h, got = bh__f16_to_f32(hu);
        if (want != want) {
            assert_true(got != got);
            continue;
        }
        uint32_t a, b;
        memcpy(&a, &want, 4);
        memcpy(&b, &got, 4);
        assert_int_equal(a, b);
    }
    for (uint64_t x = 0; x < 0x100000000ull; x += 4093) {
        for (int d = -2; d <= 2; d++) {
            uint32_t bits = (uint32_t)(x + (uint64_t)(int64_t)d);
            float f;
            memcpy(&f, &bits, 4);
            _Float16 h = (_Float16)f;
            uint16_t want;
            memcpy(&want, &h, 2);
            uint16_t got = bh__f32_to_f16(f);
            if (f != f) assert_int_equal(got & 0x7c00u, 0x7c00u);
            else assert_int_equal(got, want);
        }
    }
    /* exact ties between neighbouring halves: the mantissa bit below the kept ones set */
    for (uint32_t e = 100; e < 145; e++)
        for (uint32_t m = 0; m < 0x800000u; m += 0x1000u) {
            uint32_t bits = (e << 23) | m;
            float f;
            memcpy(&f, &bits, 4);
            _Float16 h = (_Float16)f;
            uint16_t want;
            memcpy(&want, &h, 2);
            assert_int_equal(bh__f32_to_f16(f), want);
            assert_int_equal(bh__f32_to_f16(-f), want | 0x8000u);
        }
#else
    skip();
#endif
}

static void test_line(void **state)
{
    (void)state;
    bh_buf b = {0};
    const char in[] = "a\tb\nc\rd\x0b\x7f\xc2\x85\xe2\x80\xa8\xe2\x80\xa9" "e\xff\xe0\xa6\x95";
    assert_int_equal(bh__buf_append_line(&b, in, sizeof in - 1), BH_OK);
    assert_string_equal(b.data, "a b c d" "     " "e" FFFD "\xe0\xa6\x95");
    bh_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errmsg),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_f16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
