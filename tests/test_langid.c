/* tests/test_langid.c — language identification: the shipped model on
 * hand-written sentences, bad input, training round trip, hostile model files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bhasha.h"
#include "tests/build_dir.h"

#define MODEL "assets/langid/langid.bin"
#define SENTENCES "tests/fixtures/langid/sentences.tsv"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        *len = (size_t)n;
    }
    return p;
}

/* Calls fn(lang, text, ctx) for each LANG<TAB>TEXT line of the fixture. */
static int each_sentence(void (*fn)(const char *, const char *, void *), void *ctx)
{
    size_t len;
    char *all = read_all(SENTENCES, &len);
    if (!all) return 0;
    int n = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        fn(line, tab + 1, ctx);
        n++;
    }
    free(all);
    return n;
}

static void check_one(const char *lang, const char *text, void *ctx)
{
    bh_langid_result r;
    assert_int_equal(bh_langid_identify(ctx, text, strlen(text), &r), BH_OK);
    if (strcmp(r.lang, lang)) fail_msg("'%s': got %s, want %s", text, r.lang, lang);
    assert_true(r.score > 0.5f && r.score <= 1.0f);
}

static void test_shipped_model(void **state)
{
    (void)state;
    bh_langid *m = NULL;
    assert_int_equal(bh_langid_load(MODEL, &m), BH_OK);
    assert_true(bh_langid_n_langs(m) >= 15);
    const char *need[] = {"bn", "as", "hi", "mr", "ne", "sa", "pa", "gu", "or", "ta", "te", "kn", "ml", "ur", "en"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
        int found = 0;
        for (size_t i = 0; i < bh_langid_n_langs(m); i++) found |= !strcmp(bh_langid_lang(m, i), need[k]);
        if (!found) fail_msg("language %s missing from the shipped model", need[k]);
    }
    assert_null(bh_langid_lang(m, 1000));
    assert_int_equal(each_sentence(check_one, m), 20);
    bh_langid_free(m);
}

static void test_bad_input(void **state)
{
    (void)state;
    bh_langid *m = NULL;
    bh_langid_result r;
    assert_int_equal(bh_langid_load(MODEL, &m), BH_OK);
    assert_int_equal(bh_langid_identify(m, "", 0, &r), BH_OK);
    assert_string_equal(r.lang, "und");
    assert_true(r.score == 0.0f);
    assert_int_equal(bh_langid_identify(m, NULL, 0, &r), BH_OK);
    assert_int_equal(bh_langid_identify(m, NULL, 3, &r), BH_EINVAL);
    assert_int_equal(bh_langid_identify(NULL, "a", 1, &r), BH_EINVAL);
    assert_int_equal(bh_langid_identify(m, "a", 1, NULL), BH_EINVAL);
    /* punctuation and digits only: no script */
    assert_int_equal(bh_langid_identify(m, "12, 34!? ...", 12, &r), BH_OK);
    assert_string_equal(r.lang, "und");
    /* native digits alone say the script */
    assert_int_equal(bh_langid_identify(m, "\xe0\xab\xa7\xe0\xab\xa8", 6, &r), BH_OK); /* Gujarati 1 2 */
    assert_string_equal(r.lang, "gu");
    /* invalid UTF-8, NUL bytes and truncated sequences inside Bengali text */
    static const char bad[] = "\xe0\xa6\x86\xe0\xa6\xae\xe0\xa6\xbf\xff\xfe\x00\xe0\xa6 "
                              "\xe0\xa6\xad\xe0\xa6\xbe\xe0\xa6\xa4 \xc0\xaf\xed\xa0\x80\xe0";
    assert_int_equal(bh_langid_identify(m, bad, sizeof bad - 1, &r), BH_OK);
    assert_string_equal(r.script, "Beng");
    /* every prefix of a mixed text, cut anywhere (inside code points too) */
    const char *mix = "मी आज बाजारात जात आहे. I am going. আমি যাচ্ছি।";
    for (size_t n = 0; n <= strlen(mix); n++) assert_int_equal(bh_langid_identify(m, mix, n, &r), BH_OK);
    /* URLs and e-mail addresses are not counted as Latin text */
    const char *url = "দ্বিতীয় পর্ব www.istishon.com/node/13464 https://example.org/a?b=c x@example.com";
    assert_int_equal(bh_langid_identify(m, url, strlen(url), &r), BH_OK);
    assert_string_equal(r.script, "Beng");
    assert_true(r.score > 0.5f);
    assert_int_equal(bh_langid_identify(m, "https://example.org/path", 24, &r), BH_OK);
    assert_string_equal(r.lang, "und");
    /* unknown script (Ol Chiki): und */
    assert_int_equal(bh_langid_identify(m, "\xe1\xb1\x9a\xe1\xb1\x9b", 6, &r), BH_OK);
    assert_string_equal(r.lang, "und");
    /* a long line: 8 MB of Hindi (linear time, no per-word state) */
    const char *w = "यह किताब बहुत अच्छी है ";
    size_t wl = strlen(w), n = (8u << 20) / wl;
    char *big = malloc(n * wl);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) memcpy(big + i * wl, w, wl);
    assert_int_equal(bh_langid_identify(m, big, n * wl, &r), BH_OK);
    assert_string_equal(r.lang, "hi");
    /* one 1 MB "word" of a single letter */
    memset(big, 'a', 1u << 20);
    assert_int_equal(bh_langid_identify(m, big, 1u << 20, &r), BH_OK);
    assert_string_equal(r.lang, "en");
    free(big);
    bh_langid_free(m);
}

/* NUL and the other control characters, C1 controls and U+200B separate
 * words exactly as a space does, also for the shipped model, which normalizes
 * text first (normalization alone would drop them and join the words). */
static void test_separators(void **state)
{
    (void)state;
    bh_langid *m = NULL;
    assert_int_equal(bh_langid_load(MODEL, &m), BH_OK);
    static const char *const seps[] = {"\x00", "\x01", "\x1f", "\x7f", "\xc2\x80", "\xc2\x9f", "\xe2\x80\x8b"};
    static const char *const texts[][2] = {
        {"\xe0\xa4\xaf\xe0\xa4\xb9", "\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac"}, /* यह किताब */
        {"\xe0\xa6\x86\xe0\xa6\xae\xe0\xa6\xbf", "\xe0\xa6\x97\xe0\xa6\xbe\xe0\xa6\xa8"},                 /* আমি গান */
        {"this", "is"},
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        char a[64], b[64];
        int na = snprintf(a, sizeof a, "%s %s", texts[t][0], texts[t][1]);
        bh_langid_result ra, rb;
        assert_int_equal(bh_langid_identify(m, a, (size_t)na, &ra), BH_OK);
        for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
            size_t l0 = strlen(texts[t][0]), ls = k ? strlen(seps[k]) : 1, l1 = strlen(texts[t][1]);
            memcpy(b, texts[t][0], l0);
            memcpy(b + l0, seps[k], ls);
            memcpy(b + l0 + ls, texts[t][1], l1);
            assert_int_equal(bh_langid_identify(m, b, l0 + ls + l1, &rb), BH_OK);
            assert_string_equal(rb.lang, ra.lang);
            if (rb.prob != ra.prob || rb.score != ra.score)
                fail_msg("text %zu, separator %zu: %.6f %.6f, with a space %.6f %.6f", t, k, (double)rb.prob,
                         (double)rb.score, (double)ra.prob, (double)ra.score);
        }
    }
    bh_langid_free(m);
}

static void test_mixed_script_score(void **state)
{
    (void)state;
    bh_langid *m = NULL;
    bh_langid_result a, b;
    assert_int_equal(bh_langid_load(MODEL, &m), BH_OK);
    const char *pure = "आज मौसम बहुत अच्छा है";
    const char *mixed = "आज मौसम बहुत अच्छा है, weather is good";
    assert_int_equal(bh_langid_identify(m, pure, strlen(pure), &a), BH_OK);
    assert_int_equal(bh_langid_identify(m, mixed, strlen(mixed), &b), BH_OK);
    assert_string_equal(a.lang, "hi");
    assert_string_equal(b.lang, "hi");
    assert_true(b.score < a.score);
    assert_true(b.prob > 0.5f);
    bh_langid_free(m);
}

static void test_script_of(void **state)
{
    (void)state;
    assert_string_equal(bh_langid_script_of(0x0915), "Deva");
    assert_string_equal(bh_langid_script_of(0x09F0), "Beng");
    assert_string_equal(bh_langid_script_of(0x0A15), "Guru");
    assert_string_equal(bh_langid_script_of(0x0D15), "Mlym");
    assert_string_equal(bh_langid_script_of(0x0627), "Arab");
    assert_string_equal(bh_langid_script_of('q'), "Latn");
    assert_null(bh_langid_script_of('1'));
    assert_null(bh_langid_script_of(0x1C5A));
}

static void add_one(const char *lang, const char *text, void *ctx)
{
    static const char *const map[][2] = {{"hi", "Deva"}, {"mr", "Deva"}, {"ne", "Deva"}, {"sa", "Deva"},
                                         {"bn", "Beng"}, {"as", "Beng"}, {"pa", "Guru"}, {"gu", "Gujr"},
                                         {"or", "Orya"}, {"ta", "Taml"}, {"te", "Telu"}, {"kn", "Knda"},
                                         {"ml", "Mlym"}, {"ur", "Arab"}, {"en", "Latn"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], lang))
            assert_int_equal(bh_langid_trainer_add(ctx, lang, map[i][1], text, strlen(text)), BH_OK);
}

/* Trains a tiny model on the fixture (both algorithms), checks it fits its
 * training sentences, saves, reloads and gets identical results. */
static bh_langid *train_tiny(int nb)
{
    bh_langid_train_options o;
    bh_langid_train_options_default(&o);
    o.hash_bits = 10;
    o.epochs = 30;
    o.naive_bayes = nb;
    bh_langid_trainer *t = NULL;
    assert_int_equal(bh_langid_trainer_new(&o, &t), BH_OK);
    each_sentence(add_one, t);
    bh_langid *m = NULL;
    assert_int_equal(bh_langid_trainer_fit(t, NULL, NULL, &m), BH_OK);
    bh_langid_trainer_free(t);
    return m;
}

static void same_result(const char *lang, const char *text, void *ctx)
{
    bh_langid **mm = ctx;
    bh_langid_result a, b;
    (void)lang;
    assert_int_equal(bh_langid_identify(mm[0], text, strlen(text), &a), BH_OK);
    assert_int_equal(bh_langid_identify(mm[1], text, strlen(text), &b), BH_OK);
    assert_string_equal(a.lang, b.lang);
    assert_true(a.score == b.score);
    assert_string_equal(a.lang, lang);
}

static void test_train_roundtrip(void **state)
{
    (void)state;
    for (int nb = 0; nb <= 1; nb++) {
        bh_langid *mm[2] = {train_tiny(nb), NULL};
        char path[256];
        test_build_path(path, sizeof path, "test_langid_tmp.bin");
        assert_int_equal(bh_langid_save(mm[0], path), BH_OK);
        assert_int_equal(bh_langid_load(path, &mm[1]), BH_OK);
        remove(path);
        each_sentence(same_result, mm);
        bh_langid_free(mm[0]);
        bh_langid_free(mm[1]);
    }
    /* bad trainer arguments */
    bh_langid_train_options o;
    bh_langid_trainer *t = NULL;
    bh_langid_train_options_default(&o);
    o.hash_bits = 40;
    assert_int_equal(bh_langid_trainer_new(&o, &t), BH_EINVAL);
    assert_int_equal(bh_langid_trainer_new(NULL, &t), BH_OK);
    assert_int_equal(bh_langid_trainer_add(t, "H1", "Deva", "क", 3), BH_EINVAL);
    assert_int_equal(bh_langid_trainer_add(t, "hi", "Xxxx", "क", 3), BH_EINVAL);
    assert_int_equal(bh_langid_trainer_add(t, "hi", "Deva", "abc", 3), BH_OK); /* no Deva: ignored */
    bh_langid *m = NULL;
    assert_int_equal(bh_langid_trainer_fit(t, NULL, NULL, &m), BH_EINVAL);
    assert_null(m);
    bh_langid_trainer_free(t);
    bh_langid_trainer_free(NULL);
    bh_langid_free(NULL);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static void fix_crc(unsigned char *p, size_t len)
{
    put32(p + 36, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + 40, (uInt)(len - 40)));
}

static void expect_reject(unsigned char *p, size_t len, const char *why)
{
    bh_langid *m = NULL;
    bh_status st = bh_langid_load_mem(p, len, &m);
    if (st != BH_EFORMAT) fail_msg("%s: status %d, want BH_EFORMAT", why, st);
    assert_null(m);
    assert_true(strlen(bh_last_error()) > 0);
}

static void test_hostile_files(void **state)
{
    (void)state;
    bh_langid *m = train_tiny(1);
    char path[256];
    test_build_path(path, sizeof path, "test_langid_hostile.bin");
    assert_int_equal(bh_langid_save(m, path), BH_OK);
    bh_langid_free(m);
    size_t len;
    unsigned char *good = (unsigned char *)read_all(path, &len);
    remove(path);
    assert_non_null(good);
    unsigned char *p = malloc(len + 16);
    assert_non_null(p);
    /* every truncation */
    for (size_t n = 0; n < len; n++) {
        memcpy(p, good, n);
        expect_reject(p, n, "truncated");
    }
    /* trailing garbage, header size fixed up (CRC then mismatches) and fully consistent */
    memcpy(p, good, len);
    memset(p + len, 0, 16);
    expect_reject(p, len + 16, "padded");
    put32(p + 32, (uint32_t)(len + 16));
    expect_reject(p, len + 16, "padded, size field adjusted");
    fix_crc(p, len + 16);
    expect_reject(p, len + 16, "padded, size and CRC adjusted");
    /* one flipped byte anywhere after the header: CRC */
    for (size_t i = 40; i < len; i += 97) {
        memcpy(p, good, len);
        p[i] ^= 0x40;
        expect_reject(p, len, "bit flip");
    }
    /* fields with a valid CRC but hostile values */
    struct { size_t off; uint32_t v; const char *why; } cases[] = {
        {8, 2, "version"},        {12, 0x80, "flags"},       {16, 0, "min_n 0"},
        {20, 99, "max_n 99"},     {24, 7, "weighting"},      {28, 0, "0 groups"},
        {28, 1000, "1000 groups"},{44, 0, "0 languages"},    {44, 0xFFFFFFFFu, "2^32-1 languages"},
        {48, 31, "hash_bits 31"}, {48, 0, "hash_bits 0"},    {52, 0x7FC00000u, "NaN scale"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(p, good, len);
        put32(p + cases[k].off, cases[k].v);
        fix_crc(p, len);
        expect_reject(p, len, cases[k].why);
    }
    memcpy(p, good, len);
    memcpy(p + 40, "Zzzz", 4);
    fix_crc(p, len);
    expect_reject(p, len, "unknown script");
    memcpy(p, good, len);
    p[56] = 'A'; /* first language code: upper case */
    fix_crc(p, len);
    expect_reject(p, len, "bad language code");
    memcpy(p, good, len);
    memcpy(p, "BHLANGIX", 8);
    expect_reject(p, len, "magic");
    bh_langid *ok = NULL;
    assert_int_equal(bh_langid_load_mem(good, len, &ok), BH_OK);
    bh_langid_free(ok);
    assert_int_equal(bh_langid_load("tests/fixtures/langid/does-not-exist.bin", &ok), BH_EIO);
    assert_int_equal(bh_langid_load(SENTENCES, &ok), BH_EFORMAT);
    assert_int_equal(bh_langid_load_mem(NULL, 5, &ok), BH_EINVAL);
    free(p);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_model),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_mixed_script_score),
        cmocka_unit_test(test_script_of),
        cmocka_unit_test(test_train_roundtrip),
        cmocka_unit_test(test_hostile_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
