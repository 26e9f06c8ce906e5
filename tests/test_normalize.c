/* tests/test_normalize.c — every normalization rule, inputs and outputs as code points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "bhasha.h"
#include "tokenizer/indic.h"
#include "tokenizer/normalize.h"

#define END (-1)

/* Encodes a END-terminated code point list as UTF-8 into buf. */
static size_t enc(const int32_t *cps, char *buf)
{
    size_t n = 0;
    for (; *cps != END; cps++) n += (size_t)utf8proc_encode_char(*cps, (utf8proc_uint8_t *)buf + n);
    buf[n] = 0;
    return n;
}

static void check_opt(const int32_t *in, const int32_t *want, const bh_norm_options *o, int line)
{
    char ib[512], wb[512];
    size_t il = enc(in, ib), wl = enc(want, wb);
    bh_buf out = {0};
    assert_int_equal(bh_normalize(ib, il, o, &out, NULL), BH_OK);
    if (out.len != wl || memcmp(out.data, wb, wl) != 0) {
        fprintf(stderr, "line %d: got  ", line);
        for (size_t i = 0; i < out.len;) {
            int32_t c;
            i += (size_t)utf8proc_iterate((const utf8proc_uint8_t *)out.data + i, (utf8proc_ssize_t)(out.len - i), &c);
            fprintf(stderr, "%04X ", (unsigned)c);
        }
        fprintf(stderr, "\n");
        fail_msg("normalization differs (line %d)", line);
    }
    /* Idempotence: the canonical form is a fixed point. */
    bh_buf again = {0};
    assert_int_equal(bh_normalize(out.data, out.len, o, &again, NULL), BH_OK);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    bh_buf_free(&out);
    bh_buf_free(&again);
}

#define CHECK(in, want) check_opt((const int32_t[]){in, END}, (const int32_t[]){want, END}, NULL, __LINE__)
#define CHECKO(o, in, want) check_opt((const int32_t[]){in, END}, (const int32_t[]){want, END}, o, __LINE__)
#define L(...) __VA_ARGS__

static void test_table_is_current(void **state)
{
    (void)state;
    for (int32_t cp = BH__INDIC_FIRST; cp <= BH__INDIC_LAST; cp++)
        assert_int_equal(bh__indic_class(cp), bh__indic_class_compute(cp));
}

static void test_nukta(void **state)
{
    (void)state;
    CHECK(L(0x095F), L(0x092F, 0x093C));          /* य़ precomposed -> य + nukta */
    CHECK(L(0x092F, 0x093C), L(0x092F, 0x093C));  /* already canonical */
    CHECK(L(0x095B, 0x093F), L(0x091C, 0x093C, 0x093F)); /* ज़ि */
    CHECK(L(0x09DF), L(0x09AF, 0x09BC));          /* Bengali য় */
    CHECK(L(0x09DC), L(0x09A1, 0x09BC));          /* ড় */
    CHECK(L(0x09DD), L(0x09A2, 0x09BC));          /* ঢ় */
    CHECK(L(0x0928, 0x093C), L(0x0929));          /* न + nukta -> ऩ (not an exclusion: NFC composes) */
    CHECK(L(0x0A36), L(0x0A38, 0x0A3C));          /* Gurmukhi ਸ਼ */
    CHECK(L(0x0B5C), L(0x0B21, 0x0B3C));          /* Oriya ଡ଼ */
    /* Every composition-excluded nukta letter, in clean text (the fast path
     * decomposes it in place) and after a mark (the full path), equals NFC. */
    static const int32_t excl[] = {0x0958, 0x0959, 0x095A, 0x095B, 0x095C, 0x095D, 0x095E, 0x095F, 0x09DC,
                                   0x09DD, 0x09DF, 0x0A33, 0x0A36, 0x0A59, 0x0A5A, 0x0A5B, 0x0A5E, 0x0B5C, 0x0B5D};
    for (size_t i = 0; i < sizeof excl / sizeof excl[0]; i++) {
        for (int slow = 0; slow < 2; slow++) {
            /* "x L y" is clean; "L ি ়"-like trouble after it sends the chunk down the full path. */
            char in[32];
            int32_t cps[] = {'x', excl[i], slow ? 0x200D : 'y', END};
            size_t n = enc(cps, in);
            bh_buf out = {0};
            assert_int_equal(bh_normalize(in, n, NULL, &out, NULL), BH_OK);
            if (slow) in[n - 3] = 0; /* the trailing ZWJ is noise and dropped */
            utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)in);
            assert_string_equal(out.data, (const char *)nfc);
            free(nfc);
            bh_buf_free(&out);
        }
    }
}

static void test_two_part_vowels(void **state)
{
    (void)state;
    CHECK(L(0x0995, 0x09C7, 0x09BE), L(0x0995, 0x09CB)); /* কো */
    CHECK(L(0x0995, 0x09C7, 0x09D7), L(0x0995, 0x09CC)); /* কৌ */
    CHECK(L(0x0B15, 0x0B47, 0x0B3E), L(0x0B15, 0x0B4B)); /* Oriya କୋ */
    CHECK(L(0x0B15, 0x0B47, 0x0B56), L(0x0B15, 0x0B48)); /* Oriya କୈ */
    CHECK(L(0x0B95, 0x0BC6, 0x0BBE), L(0x0B95, 0x0BCA)); /* Tamil கொ */
    CHECK(L(0x0B95, 0x0BC7, 0x0BBE), L(0x0B95, 0x0BCB)); /* Tamil கோ */
    CHECK(L(0x0D15, 0x0D46, 0x0D3E), L(0x0D15, 0x0D4A)); /* Malayalam കൊ */
    CHECK(L(0x0D15, 0x0D46, 0x0D57), L(0x0D15, 0x0D4C)); /* Malayalam കൌ */
    CHECK(L(0x0C95, 0x0CC6, 0x0CD5), L(0x0C95, 0x0CC7)); /* Kannada ಕೇ */
    CHECK(L(0x0C95, 0x0CBF, 0x0CD5), L(0x0C95, 0x0CC0)); /* Kannada ಕೀ */
    CHECK(L(0x0C15, 0x0C46, 0x0C56), L(0x0C15, 0x0C48)); /* Telugu కై */
}

static void test_prebase_visual_order(void **state)
{
    (void)state;
    CHECK(L(0x09C7, 0x0995, 0x09BE), L(0x0995, 0x09CB));                 /* ে ক া -> কো */
    CHECK(L(0x09BF, 0x0995), L(0x0995, 0x09BF));                         /* ি ক -> কি */
    CHECK(L(0x093F, 0x0915), L(0x0915, 0x093F));                         /* ि क -> कि */
    CHECK(L(0x09BF, 0x0995, 0x09CD, 0x09B7), L(0x0995, 0x09CD, 0x09B7, 0x09BF)); /* ি ক্ষ -> ক্ষি */
    CHECK(L(0x0020, 0x09C7, 0x09AF, 0x09BC), L(0x0020, 0x09AF, 0x09BC, 0x09C7)); /* after a space */
    CHECK(L(0x0995, 0x09BF), L(0x0995, 0x09BF));                         /* already logical: unchanged */
    /* A joiner kept between a consonant and its sign (non-ligated form) does
     * not make the sign look unattached: it stays where it is. */
    CHECK(L(0x0915, 0x200C, 0x093F, 0x0924), L(0x0915, 0x200C, 0x093F, 0x0924)); /* क‌ित */
    CHECK(L(0x0995, 0x200C, 0x09BF, 0x09A4), L(0x0995, 0x200C, 0x09BF, 0x09A4)); /* ক‌িত */
    CHECK(L(0x0928, 0x200D, 0x093F, 0x092E), L(0x0928, 0x200D, 0x093F, 0x092E)); /* न‍िम */
    CHECK(L(0x200C, 0x093F, 0x0915), L(0x0915, 0x093F));                         /* a noise joiner is still dropped */
}

static void test_mark_order(void **state)
{
    (void)state;
    CHECK(L(0x0915, 0x093F, 0x093C), L(0x0915, 0x093C, 0x093F)); /* क ि ़ -> क़ि */
    CHECK(L(0x09AF, 0x09BE, 0x09BC), L(0x09AF, 0x09BC, 0x09BE)); /* য া ় -> য়া */
    CHECK(L(0x0995, 0x0982, 0x09BE), L(0x0995, 0x09BE, 0x0982)); /* ক ং া -> কাং */
    CHECK(L(0x0915, 0x0901, 0x093E), L(0x0915, 0x093E, 0x0901)); /* क ँ ा -> काँ */
    CHECK(L(0x0915, 0x0903, 0x0940), L(0x0915, 0x0940, 0x0903)); /* visarga before ी */
    CHECK(L(0x0915, 0x094D, 0x093C), L(0x0915, 0x093C, 0x094D)); /* virama before nukta (canonical order) */
}

static void test_vowel_pieces(void **state)
{
    (void)state;
    CHECK(L(0x0905, 0x093E), L(0x0906));         /* अ ा -> आ */
    CHECK(L(0x0905, 0x093E, 0x0945), L(0x0911)); /* अ ा ॅ -> ऑ */
    CHECK(L(0x0905, 0x094B), L(0x0913));         /* अ ो -> ओ */
    CHECK(L(0x090F, 0x0947), L(0x0910));         /* ए े -> ऐ */
    CHECK(L(0x0985, 0x09BE), L(0x0986));         /* অ া -> আ */
    CHECK(L(0x0A73, 0x0A41), L(0x0A09));         /* ੳ ੁ -> ਉ */
    CHECK(L(0x0A85, 0x0ABE), L(0x0A86));         /* અ ા -> આ */
    CHECK(L(0x0D12, 0x0D3E), L(0x0D13));         /* ഒ ാ -> ഓ */
}

static void test_atomic_letters(void **state)
{
    (void)state;
    CHECK(L(0x09A4, 0x09CD, 0x200D), L(0x09CE));                         /* ত্‍ -> ৎ */
    CHECK(L(0x0989, 0x09A4, 0x09CD, 0x200D, 0x09B8), L(0x0989, 0x09CE, 0x09B8)); /* উত্‍স -> উৎস */
    CHECK(L(0x0D28, 0x0D4D, 0x200D), L(0x0D7B));                         /* ന്‍ -> ൻ */
    CHECK(L(0x0D32, 0x0D4D, 0x200D), L(0x0D7D));                         /* ല്‍ -> ൽ */
    CHECK(L(0x09A4, 0x09CD, 0x09AF), L(0x09A4, 0x09CD, 0x09AF));         /* ত্য untouched */
}

static void test_joiners(void **state)
{
    (void)state;
    /* kept where they change the rendering */
    CHECK(L(0x09B0, 0x200D, 0x09CD, 0x09AF), L(0x09B0, 0x200D, 0x09CD, 0x09AF)); /* র‍্য */
    CHECK(L(0x0915, 0x094D, 0x200D, 0x0937), L(0x0915, 0x094D, 0x200D, 0x0937)); /* half form */
    CHECK(L(0x0915, 0x094D, 0x200C, 0x0937), L(0x0915, 0x094D, 0x200C, 0x0937)); /* explicit virama */
    CHECK(L(0x0930, 0x094D, 0x200D, 0x092F), L(0x0930, 0x094D, 0x200D, 0x092F)); /* eyelash ra */
    CHECK(L(0x1F468, 0x200D, 0x1F469), L(0x1F468, 0x200D, 0x1F469));             /* emoji sequence */
    CHECK(L(0x0645, 0x200C, 0x06CC), L(0x0645, 0x200C, 0x06CC));                 /* Urdu/Persian ZWNJ */
    /* dropped where they are noise */
    CHECK(L(0x200D, 0x0995), L(0x0995));
    CHECK(L(0x0995, 0x200C), L(0x0995));
    CHECK(L(0x0995, 0x09BE, 0x200D, 0x0995), L(0x0995, 0x09BE, 0x0995));
    CHECK(L(0x0915, 0x094D, 0x200D, 0x200D, 0x0937), L(0x0915, 0x094D, 0x200D, 0x0937));
    CHECK(L('a', 0x200D, 'b'), L('a', 'b'));
    CHECK(L(0x0995, 0x0020, 0x200C, 0x0996), L(0x0995, 0x0020, 0x0996));
}

static void test_lookalikes(void **state)
{
    (void)state;
    CHECK(L(0x0996, 0x09BE, 0x0987, '|'), L(0x0996, 0x09BE, 0x0987, 0x0964));          /* খাই| */
    CHECK(L(0x0939, 0x0948, ' ', '|'), L(0x0939, 0x0948, ' ', 0x0964));                /* है | */
    CHECK(L(0x0939, 0x0948, ' ', '|', '|'), L(0x0939, 0x0948, ' ', 0x0965));           /* है || */
    CHECK(L(0x0964, 0x0964), L(0x0965));                                               /* ।। -> ॥ */
    CHECK(L('a', '|', 'b'), L('a', '|', 'b'));                                         /* not Indic */
    CHECK(L(0x0995, '|', 'x'), L(0x0995, '|', 'x'));                                   /* pipe before Latin */
    CHECK(L(0x09A6, 0x09C1, ':', 0x0996), L(0x09A6, 0x09C1, 0x0983, 0x0996));          /* দু:খ -> দুঃখ */
    CHECK(L(0x0985, 0x09A4, ':', 0x09AA, 0x09B0), L(0x0985, 0x09A4, 0x0983, 0x09AA, 0x09B0)); /* অত:পর */
    CHECK(L(0x09B8, 0x09AE, 0x09AF, ':', ' ', 0x09E7), L(0x09B8, 0x09AE, 0x09AF, ':', ' ', 0x09E7)); /* real colon */
    CHECK(L(0x09E7, ':', 0x09E8), L(0x09E7, ':', 0x09E8));                             /* time ১:২ */
    CHECK(L(0x0938, 0x094B, 'S', 0x0939, 0x092E, 0x094D), L(0x0938, 0x094B, 0x093D, 0x0939, 0x092E, 0x094D)); /* सोSहम् */
    CHECK(L('O', 'S', ' ', 'X'), L('O', 'S', ' ', 'X'));
    bh_norm_options o;
    bh_norm_options_default(&o);
    o.lookalikes = 0;
    CHECKO(&o, L(0x09A6, 0x09C1, ':', 0x0996), L(0x09A6, 0x09C1, ':', 0x0996));
}

static void test_digits(void **state)
{
    (void)state;
    bh_norm_options o;
    bh_norm_options_default(&o);
    CHECKO(&o, L(0x09E7, 0x09E8), L(0x09E7, 0x09E8)); /* keep */
    o.digits = BH_DIGITS_ASCII;
    CHECKO(&o, L(0x09E7, 0x09E8, 0x09E9), L('1', '2', '3'));
    CHECKO(&o, L(0x0967, 0x0966), L('1', '0'));
    CHECKO(&o, L(0x0661, 0x06F2), L('1', '2'));
    o.digits = BH_DIGITS_NATIVE;
    CHECKO(&o, L(0x0986, 0x09AE, ' ', '1', '2'), L(0x0986, 0x09AE, ' ', 0x09E7, 0x09E8));
    CHECKO(&o, L('4', ' ', 0x0928, 0x092E), L(0x096A, ' ', 0x0928, 0x092E)); /* before any letter: first script */
    CHECKO(&o, L('4', '2'), L('4', '2'));                                    /* no Indic script at all */
    CHECKO(&o, L(0x0928, ' ', '1', ' ', 0x0995, ' ', '2'), L(0x0928, ' ', 0x0967, ' ', 0x0995, ' ', 0x09E8));
    /* digits inside a Latin word stay ASCII: only runs of an Indic script convert */
    CHECKO(&o, L(0x0939, 0x093F, ' ', 'W', 'i', 'n', '1', '0'), L(0x0939, 0x093F, ' ', 'W', 'i', 'n', '1', '0'));
    CHECKO(&o, L('C', 'O', 'V', '-', '1', '9', ' ', 0x0915), L('C', 'O', 'V', '-', '1', '9', ' ', 0x0915));
    CHECKO(&o, L(0x0915, 'x', '1', 0x0916, '2'), L(0x0915, 'x', '1', 0x0916, 0x0968));
    CHECKO(&o, L(0x0915, '-', '1'), L(0x0915, '-', 0x0967)); /* punctuation is looked past */
}

static void test_whitespace_and_format(void **state)
{
    (void)state;
    bh_norm_options o;
    bh_norm_options_default(&o);
    o.fold_whitespace = 1;
    CHECKO(&o, L(' ', ' ', 'a', ' ', '\t', ' ', 'b', 0x00A0, 'c', 0x3000, ' '), L('a', ' ', 'b', ' ', 'c'));
    CHECK(L('a', '\t', 'b', '\r', 'c'), L('a', '\t', 'b', ' ', 'c'));
    CHECK(L('a', 0x00AD, 'b', 0x200B, 'c', 0xFEFF, 0x200E), L('a', 'b', 'c'));
    CHECK(L('a', 0x0001, 'b', 0x007F), L('a', 'b'));
    CHECK(L(0x0600, 0x0661), L(0x0600, 0x0661));      /* Arabic number sign is kept */
    CHECK(L(0x1F1EE, 0x1F1F3), L(0x1F1EE, 0x1F1F3)); /* flag */
    bh_norm_options_default(&o);
    o.strip_format = 0;
    CHECKO(&o, L('a', 0x00AD, 'b'), L('a', 0x00AD, 'b'));
    /* U+2000 and U+2001 are canonical singletons: NFC has U+2002 and U+2003 */
    CHECKO(&o, L('a', 0x2000, 'b', ' ', 0x2001, 'c'), L('a', 0x2002, 'b', ' ', 0x2003, 'c'));
    CHECK(L('a', 0x2000, 'b', '\r', 0x2001, 'c'), L('a', 0x2002, 'b', ' ', 0x2003, 'c'));
    CHECK(L(0x0915, 0x2001, 0x2000, 0x0916), L(0x0915, 0x2003, 0x2002, 0x0916));
    o.fold_whitespace = 1;
    CHECKO(&o, L('a', 0x2000, 'b'), L('a', ' ', 'b'));
}

static void test_nfc_elsewhere(void **state)
{
    (void)state;
    CHECK(L('e', 0x0301), L(0x00E9));
    CHECK(L(0x212B), L(0x00C5));                   /* singleton decomposition */
    CHECK(L(0x1100, 0x1161), L(0xAC00));           /* Hangul jamo */
    CHECK(L('a', 0x0323, 0x0302), L(0x1EAD));      /* reordering + composition */
    CHECK(L('a', 0x0302, 0x0323), L(0x1EAD));
    CHECK(L(0xFB01), L(0xFB01));                   /* NFC, not NFKC: ligature kept */
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    struct { const char *in; size_t n; const char *want; size_t repairs; } cases[] = {
        {"\xff", 1, "\xef\xbf\xbd", 1},
        {"a\xe0\xa4", 3, "a\xef\xbf\xbd\xef\xbf\xbd", 2},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 2},       /* overlong */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4},
        {"ab\0c", 4, "abc", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bh_buf out = {0};
        bh_norm_stats st;
        assert_int_equal(bh_normalize(cases[i].in, cases[i].n, NULL, &out, &st), BH_OK);
        assert_int_equal(out.len, strlen(cases[i].want));
        assert_memory_equal(out.data, cases[i].want, out.len);
        assert_int_equal(st.utf8_repairs, cases[i].repairs);
        bh_buf_free(&out);
    }
    bh_norm_stats st;
    bh_buf out = {0};
    assert_int_equal(bh_normalize("ab\0c\0", 5, NULL, &out, &st), BH_OK);
    assert_int_equal(st.nul_bytes, 2);
    /* repair only: the same repairs, every other byte as given (a precomposed
     * nukta letter, a "|", a format character, a NUL, a visual-order vowel sign) */
    bh_norm_options o;
    bh_norm_options_default(&o);
    o.canonical = 0;
    o.fold_whitespace = 1;
    static const char in[] = "\xe0\xa5\x98  |\xe2\x80\x8b\0\xe0\xa6\xbf\xe0\xa6\x95\xff\xe0\xa4";
    static const char want[] = "\xe0\xa5\x98  |\xe2\x80\x8b\0\xe0\xa6\xbf\xe0\xa6\x95\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
    bh_buf_clear(&out);
    assert_int_equal(bh_normalize(in, sizeof in - 1, &o, &out, &st), BH_OK);
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(st.utf8_repairs, 3);
    assert_int_equal(st.nul_bytes, 1);
    bh_buf_clear(&out);
    assert_int_equal(bh_normalize(NULL, 0, &o, &out, &st), BH_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(st.utf8_repairs, 0);
    bh_buf_free(&out);
}

static void test_api_errors(void **state)
{
    (void)state;
    bh_buf out = {0};
    assert_int_equal(bh_normalize("x", 1, NULL, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_normalize(NULL, 1, NULL, &out, NULL), BH_EINVAL);
    assert_int_equal(bh_normalize(NULL, 0, NULL, &out, NULL), BH_OK);
    bh_norm_options o;
    bh_norm_options_default(&o);
    o.digits = (bh_digits)7;
    assert_int_equal(bh_normalize("x", 1, &o, &out, NULL), BH_EINVAL);
    /* an empty result is still a NUL-terminated string */
    assert_int_equal(bh_normalize("\xe2\x80\x8c", 3, NULL, &out, NULL), BH_OK);
    assert_int_equal(out.len, 0);
    assert_non_null(out.data);
    assert_int_equal(out.data[0], 0);
    /* appends */
    assert_int_equal(bh_buf_append(&out, "pre:", 4), BH_OK);
    assert_int_equal(bh_normalize("x", 1, NULL, &out, NULL), BH_OK);
    assert_string_equal(out.data, "pre:x");
    bh_buf_free(&out);
}

/* Ordinary text is already canonical: the output equals the input and equals utf8proc's NFC. */
static void test_real_text_is_fixed_point(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fixtures/text/sample.txt", "rb");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        bh_buf out = {0};
        assert_int_equal(bh_normalize(line, (size_t)n, NULL, &out, NULL), BH_OK);
        utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)line);
        assert_string_equal(out.data, (char *)nfc);
        free(nfc);
        bh_buf_free(&out);
    }
    free(line);
    fclose(f);
}

/* A long line without spaces is cut into bounded chunks and still normalized. */
static void test_long_line(void **state)
{
    (void)state;
    const char *unit = "\xe0\xa6\x95\xe0\xa7\x87\xe0\xa6\xbe"; /* ক ে া -> কো */
    size_t reps = 100000, ul = strlen(unit);
    char *big = malloc(reps * ul);
    for (size_t i = 0; i < reps; i++) memcpy(big + i * ul, unit, ul);
    bh_buf out = {0};
    assert_int_equal(bh_normalize(big, reps * ul, NULL, &out, NULL), BH_OK);
    assert_int_equal(out.len, reps * 6); /* ক + ো: 3 + 3 bytes */
    for (size_t i = 0; i < reps; i++) assert_memory_equal(out.data + i * 6, "\xe0\xa6\x95\xe0\xa7\x8b", 6);
    free(big);
    bh_buf_free(&out);
}

/* Builds (cps repeated reps times) + tail, END-terminated lists, as UTF-8 into *len bytes. */
static char *build(const int32_t *head, const int32_t *unit, size_t reps, const int32_t *tail, size_t *len)
{
    char one[64];
    size_t hl = enc(head, one), ul = enc(unit, one), tl = enc(tail, one);
    char *s = malloc(hl + reps * ul + tl + 1);
    assert_non_null(s);
    size_t n = enc(head, s);
    for (size_t i = 0; i < reps; i++) n += enc(unit, s + n);
    n += enc(tail, s + n);
    *len = n;
    return s;
}

/* Normalizes text, checks that a second pass changes nothing and that the
 * fast path agrees with the full path; returns the result and its seconds. */
static bh_buf norm_twice(const char *s, size_t n, const bh_norm_options *o, double *secs)
{
    bh_buf out = {0}, again = {0}, slow = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(bh_normalize(s, n, o, &out, NULL), BH_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (secs) *secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    assert_int_equal(bh_normalize(out.data, out.len, o, &again, NULL), BH_OK);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    assert_int_equal(bh__normalize_ex(s, n, o, &slow, NULL, 1), BH_OK);
    assert_int_equal(slow.len, out.len);
    assert_memory_equal(slow.data, out.data, out.len);
    bh_buf_free(&again);
    bh_buf_free(&slow);
    return out;
}

/* A word longer than the 64 KiB chunk limit is cut, but where the cut falls
 * must not change the result: the rules that look at the previous or next
 * code point (colon -> visarga, S -> avagraha, pre-base signs) see across it,
 * and dropping bytes before it (control characters) in a first pass, which
 * moves it in a second, changes nothing. */
static void test_long_word_cut(void **state)
{
    (void)state;
    /* nothing, 8 control characters (dropped in the first pass, which moves
     * the 64 KiB mark in the second) or 8 letters before the word's body */
    static const int32_t heads[][9] = {{END}, {1, 1, 1, 1, 1, 1, 1, 1, END}, {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', END}};
    static const int32_t units[][3] = {{0x0906, END}, {0x0915, 0x093E, END}, {'a', END}, {0x0915, 0x094D, END}};
    /* tails and what they become after a Devanagari letter */
    static const int32_t tails[][2][8] = {
        {{0x0926, 0x0941, ':', 0x0916, END}, {0x0926, 0x0941, 0x0903, 0x0916, END}},         /* दु:ख -> दुःख */
        {{0x0938, 0x094B, 'S', 0x0939, END}, {0x0938, 0x094B, 0x093D, 0x0939, END}},         /* सोSह -> सोऽह */
        {{0x0915, 0x0964, 0x0964, 0x0916, END}, {0x0915, 0x0965, 0x0916, END}},              /* ।। -> ॥ */
        {{0x0915, '|', '|', 0x0916, END}, {0x0915, 0x0965, 0x0916, END}},                    /* || -> ॥ */
        {{0x09C7, 0x0995, 0x09BE, END}, {0x0995, 0x09CB, END}},                              /* ে ক া -> কো */
        {{0x0905, 0x093E, 0x0915, 0x093F, 0x093C, END}, {0x0906, 0x0915, 0x093C, 0x093F, END}}, /* अ ा, क ि ़ */
    };
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++)
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
            for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
                /* the tail right at the 64 KiB mark, a little before and after it */
                char unit[16];
                size_t ul = enc(units[u], unit);
                for (size_t reps = 65536 / ul - 3; reps < 65536 / ul + 4; reps += 3) {
                    size_t n;
                    char *s = build(heads[h], units[u], reps, tails[t][0], &n);
                    bh_buf out = norm_twice(s, n, NULL, NULL);
                    char want[64];
                    size_t wl = enc(tails[t][1], want);
                    /* the tail's rules applied as they are in a short word */
                    assert_true(out.len >= wl);
                    if (memcmp(out.data + out.len - wl, want, wl) != 0)
                        fail_msg("tail %zu after %zu units of %zu not normalized", t, reps, u);
                    bh_buf_free(&out);
                    free(s);
                }
            }
    /* the reviewer's case: 8 x U+0001, 21842 x आ, दु:ख */
    size_t n;
    char *s = build((const int32_t[]){1, 1, 1, 1, 1, 1, 1, 1, END}, (const int32_t[]){0x0906, END}, 21842,
                    (const int32_t[]){0x0926, 0x0941, ':', 0x0916, END}, &n);
    bh_norm_options o;
    bh_norm_options_default(&o);
    for (int mode = 0; mode < 3; mode++) {
        o.digits = (bh_digits)mode;
        bh_buf out = norm_twice(s, n, &o, NULL);
        assert_int_equal(out.len, 21842 * 3 + 12);
        assert_memory_equal(out.data + out.len - 12, "\xe0\xa4\xa6\xe0\xa5\x81\xe0\xa4\x83\xe0\xa4\x96", 12);
        bh_buf_free(&out);
    }
    free(s);
    /* native digits look back over the whole word, across cuts */
    o.digits = BH_DIGITS_NATIVE;
    s = build((const int32_t[]){0x0915, ' ', 'W', END}, (const int32_t[]){'-', END}, 200000, (const int32_t[]){'1', END}, &n);
    bh_buf out = norm_twice(s, n, &o, NULL);
    assert_int_equal(out.data[out.len - 1], '1');
    bh_buf_free(&out);
    free(s);
    s = build((const int32_t[]){0x0995, END}, (const int32_t[]){'-', END}, 200000, (const int32_t[]){'1', END}, &n);
    out = norm_twice(s, n, &o, NULL);
    assert_memory_equal(out.data + out.len - 3, "\xe0\xa7\xa7", 3);
    bh_buf_free(&out);
    free(s);
}

/* Input made to be slow (every rule that removes or moves code points, in
 * one word of about 1 MB) still takes linear time, and the result is stable. */
static void test_adversarial_runs(void **state)
{
    (void)state;
    static const struct { int32_t head[4], unit[4]; size_t reps; int32_t unit2[4]; size_t reps2; } cases[] = {
        {{END}, {'a', 0x200D, END}, 250000, {END}, 0},                 /* noise joiners */
        {{'a', END}, {0x0301, 0x0316, END}, 100000, {END}, 0},         /* one run of marks to sort */
        {{END}, {0x0964, END}, 333333, {END}, 0},                      /* dandas pairing up */
        {{0x0915, END}, {'|', END}, 1000000, {END}, 0},                /* pipes after Indic */
        {{END}, {0x0915, 0x094D, 0x200D, END}, 110000, {END}, 0},      /* kept joiners */
        {{END}, {0x09A4, 0x09CD, 0x200D, END}, 110000, {END}, 0},      /* khanda ta (removals) */
        {{END}, {0x0905, 0x093E, END}, 160000, {END}, 0},              /* vowel pieces (removals) */
        {{0x0915, END}, {0x0902, END}, 165000, {0x093E, END}, 165000}, /* signs to move before marks */
        {{0x0915, END}, {0x093F, END}, 165000, {0x093C, END}, 165000}, /* nuktas to move before signs */
        {{END}, {0x093F, END}, 330000, {END}, 0},                      /* pre-base signs */
        {{0x093F, END}, {0x0915, 0x094D, END}, 160000, {END}, 0},      /* one long cluster */
        {{END}, {0x094D, END}, 330000, {END}, 0},                      /* viramas (non-starters) */
        {{END}, {0x0915, ':', END}, 250000, {END}, 0},                 /* colons in a word */
        {{END}, {'S', END}, 1000000, {END}, 0},
        {{END}, {0x00AD, 'b', END}, 330000, {END}, 0},                 /* dropped format characters */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n1, n2;
        char *s1 = build(cases[c].head, cases[c].unit, cases[c].reps, (const int32_t[]){END}, &n1);
        char *s2 = build((const int32_t[]){END}, cases[c].unit2, cases[c].reps2, (const int32_t[]){END}, &n2);
        char *s = realloc(s1, n1 + n2 + 1);
        assert_non_null(s);
        memcpy(s + n1, s2, n2 + 1);
        free(s2);
        double secs;
        bh_buf out = norm_twice(s, n1 + n2, NULL, &secs);
        if (secs > 5.0) fail_msg("case %zu: %.1f s for %zu bytes", c, secs, n1 + n2);
        if (c == 0) {
            assert_int_equal(out.len, 250000);
            for (size_t i = 0; i < out.len; i++) assert_int_equal(out.data[i], 'a');
        } else if (c == 2) {
            assert_int_equal(out.len, 3 * (333333 / 2 + 1));
            for (size_t i = 0; i + 3 < out.len; i += 3) assert_memory_equal(out.data + i, "\xe0\xa5\xa5", 3);
            assert_memory_equal(out.data + out.len - 3, "\xe0\xa5\xa4", 3);
        }
        /* the result is NFC (a CGJ breaks up runs of more than 30 marks) */
        utf8proc_uint8_t *nfc = NULL;
        utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)out.data, (utf8proc_ssize_t)out.len, &nfc,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        assert_int_equal(m, (utf8proc_ssize_t)out.len);
        assert_memory_equal(nfc, out.data, out.len);
        free(nfc);
        bh_buf_free(&out);
        free(s);
    }
}

/* Random strings over a pool of every character class: the fast path agrees
 * with the full path, the output is NFC, and normalizing twice changes nothing. */
static void test_random_fast_equals_slow(void **state)
{
    (void)state;
    static const int32_t pool[] = {
        'a', 'S', ':', '|', ' ', '1', 0x00E9, 'e', 0x0301, 0x200C, 0x200D, 0x00AD, 0x0964,
        0x0915, 0x0928, 0x0930, 0x092F, 0x0905, 0x0906, 0x093E, 0x093F, 0x0947, 0x094B, 0x094D, 0x093C,
        0x0901, 0x0902, 0x0903, 0x0958, 0x095F, 0x0929, 0x0967, 0x0951,
        0x0995, 0x09A4, 0x09AF, 0x09B0, 0x0985, 0x09BE, 0x09BF, 0x09C7, 0x09CB, 0x09D7, 0x09CD, 0x09BC,
        0x0981, 0x0982, 0x09DF, 0x09DC, 0x09CE, 0x09E7,
        0x0B95, 0x0BC6, 0x0BBE, 0x0D28, 0x0D4D, 0x0D46, 0x0D3E, 0x0A38, 0x0A3C, 0x0A73, 0x0A41,
        0x1F468, 0x1100, 0x1161, 0x212B,
    };
    const size_t np = sizeof pool / sizeof pool[0];
    unsigned seed = 12345;
    bh_norm_options o;
    bh_norm_options_default(&o);
    for (int iter = 0; iter < 20000; iter++) {
        int32_t cps[16];
        size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 12;
        for (size_t i = 0; i < n; i++) cps[i] = pool[((seed = seed * 1103515245u + 12345u) >> 8) % np];
        cps[n] = END;
        char in[128];
        size_t il = enc(cps, in);
        o.digits = (bh_digits)(iter % 3);
        o.fold_whitespace = iter % 5 == 0;
        bh_buf fast = {0}, slow = {0}, twice = {0};
        assert_int_equal(bh_normalize(in, il, &o, &fast, NULL), BH_OK);
        assert_int_equal(bh__normalize_ex(in, il, &o, &slow, NULL, 1), BH_OK);
        if (fast.len != slow.len || memcmp(fast.data, slow.data, fast.len)) {
            fprintf(stderr, "fast/slow differ on:");
            for (size_t i = 0; i < n; i++) fprintf(stderr, " %04X", (unsigned)cps[i]);
            fprintf(stderr, "\n");
            fail();
        }
        assert_int_equal(bh_normalize(fast.data, fast.len, &o, &twice, NULL), BH_OK);
        if (twice.len != fast.len || memcmp(twice.data, fast.data, fast.len)) {
            fprintf(stderr, "not idempotent on:");
            for (size_t i = 0; i < n; i++) fprintf(stderr, " %04X", (unsigned)cps[i]);
            fprintf(stderr, "\n");
            fail();
        }
        if (fast.len) {
            utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)fast.data);
            assert_string_equal((char *)nfc, fast.data);
            free(nfc);
        }
        bh_buf_free(&fast);
        bh_buf_free(&slow);
        bh_buf_free(&twice);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_current),
        cmocka_unit_test(test_nukta),
        cmocka_unit_test(test_two_part_vowels),
        cmocka_unit_test(test_prebase_visual_order),
        cmocka_unit_test(test_mark_order),
        cmocka_unit_test(test_vowel_pieces),
        cmocka_unit_test(test_atomic_letters),
        cmocka_unit_test(test_joiners),
        cmocka_unit_test(test_lookalikes),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_whitespace_and_format),
        cmocka_unit_test(test_nfc_elsewhere),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_real_text_is_fixed_point),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_random_fast_equals_slow),
        cmocka_unit_test(test_long_word_cut),
        cmocka_unit_test(test_adversarial_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
