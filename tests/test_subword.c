/* tests/test_subword.c — the common tokenizer interface: kind detection,
 * special tokens, padded batches (ids, attention mask, offsets, truncation),
 * threads, bad files. Uses the WordPiece fixture vocab and the shipped joint
 * SentencePiece model assets/spm/bnhi.model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha.h"

#define VOCAB "tests/fixtures/subword/wp_vocab.txt"
#define SPM "assets/spm/bnhi.model"

static void test_detect_and_specials(void **state)
{
    (void)state;
    bh_tokenizer *t = NULL;
    assert_int_equal(bh_tokenizer_load(VOCAB, NULL, &t), BH_OK);
    assert_int_equal(bh_tokenizer_get_kind(t), BH_TOKENIZER_WORDPIECE);
    bh_special_ids s = bh_tokenizer_special_ids(t);
    assert_int_equal(s.pad, 0);
    assert_int_equal(s.unk, 1);
    assert_int_equal(s.cls, 2);
    assert_int_equal(s.sep, 3);
    assert_int_equal(s.mask, 4);
    bh_tokenizer_free(t);

    assert_int_equal(bh_tokenizer_load(SPM, NULL, &t), BH_OK);
    assert_int_equal(bh_tokenizer_get_kind(t), BH_TOKENIZER_SPM);
    s = bh_tokenizer_special_ids(t);
    assert_int_equal(s.unk, 0);
    assert_int_equal(s.cls, 1);
    assert_int_equal(s.sep, 2);
    assert_int_equal(s.pad, 3);
    assert_int_equal(s.mask, 4);
    assert_true(bh_tokenizer_vocab_size(t) >= 1000);
    bh_tokenizer_free(t);
    bh_tokenizer_free(NULL);
}

static void test_bad_files(void **state)
{
    (void)state;
    bh_tokenizer *t = NULL;
    assert_int_equal(bh_tokenizer_load("/nonexistent/vocab.txt", NULL, &t), BH_EIO);
    assert_null(t);
    assert_int_equal(bh_tokenizer_load("/dev/null", NULL, &t), BH_EFORMAT);
    /* a text file that is not a vocab (duplicate lines) */
    assert_int_equal(bh_tokenizer_load("tests/fixtures/subword/wp_cased.golden", NULL, &t), BH_EFORMAT);
    assert_null(t);
}

static void test_encode_one(void **state)
{
    (void)state;
    bh_tokenizer *t = NULL;
    assert_int_equal(bh_tokenizer_load(VOCAB, NULL, &t), BH_OK);
    bh_tokens a = {0};
    const char *s = "আমি বাংলায় গান গাই।";
    assert_int_equal(bh_tokenizer_encode(t, s, strlen(s), &a), BH_OK);
    assert_true(a.n >= 4);
    assert_int_equal(a.ids[0], 2);
    assert_int_equal(a.ids[a.n - 1], 3);
    assert_int_equal(a.begin[0], 0);
    assert_int_equal(a.end[0], 0);
    assert_int_equal(a.end[a.n - 2], strlen(s));
    bh_tokens_free(&a);
    bh_tokenizer_free(t);
}

static void check_batch(const char *path, int threads)
{
    bh_tokenizer_options o;
    bh_tokenizer_options_default(&o);
    o.normalize = 1;
    bh_tokenizer *t = NULL;
    assert_int_equal(bh_tokenizer_load(path, &o, &t), BH_OK);
    bh_special_ids sp = bh_tokenizer_special_ids(t);
    const char *texts[] = {"আমি বাংলায় গান গাই।", "", "भारत की राजधानी नई दिल्ली है, और मुंबई सबसे बड़ा शहर है।", "ok"};
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = strlen(texts[i]);
    bh_batch b = {0}, c = {0};
    assert_int_equal(bh_tokenizer_encode_batch(t, texts, lens, 4, 0, threads, &b), BH_OK);
    assert_int_equal(b.rows, 4);
    assert_int_equal(b.lengths[1], 2); /* [CLS] [SEP] */
    size_t longest = 0;
    for (int r = 0; r < 4; r++) {
        if (b.lengths[r] > longest) longest = b.lengths[r];
        bh_tokens one = {0};
        assert_int_equal(bh_tokenizer_encode(t, texts[r], lens[r], &one), BH_OK);
        assert_int_equal(one.n, b.lengths[r]);
        for (size_t k = 0; k < b.cols; k++) {
            size_t cell = r * b.cols + k;
            if (k < one.n) {
                assert_int_equal(b.ids[cell], one.ids[k]);
                assert_int_equal(b.mask[cell], 1);
                assert_int_equal(b.offsets[2 * cell], (int64_t)one.begin[k]);
            } else {
                assert_int_equal(b.ids[cell], sp.pad);
                assert_int_equal(b.mask[cell], 0);
                assert_int_equal(b.offsets[2 * cell + 1], 0);
            }
        }
        bh_tokens_free(&one);
    }
    assert_int_equal(b.cols, longest);
    /* truncation to 5 keeps the closing special token */
    assert_int_equal(bh_tokenizer_encode_batch(t, texts, lens, 4, 5, threads, &c), BH_OK);
    assert_int_equal(c.cols, 5);
    assert_int_equal(c.ids[2 * 5 + 4], sp.sep);
    assert_int_equal(c.ids[2 * 5 + 0], sp.cls);
    bh_batch_free(&b);
    bh_batch_free(&c);
    bh_batch_free(&c);
    assert_int_equal(bh_tokenizer_encode_batch(t, texts, lens, 0, 0, threads, &b), BH_OK);
    assert_int_equal(b.rows, 0);
    bh_batch_free(&b);
    bh_tokenizer_free(t);
}

static void test_batch_wordpiece(void **state) { (void)state; check_batch(VOCAB, 1); check_batch(VOCAB, 2); }
static void test_batch_spm(void **state) { (void)state; check_batch(SPM, 1); check_batch(SPM, 2); }

static void test_batch_errors(void **state)
{
    (void)state;
    bh_tokenizer *t = NULL;
    assert_int_equal(bh_tokenizer_load(VOCAB, NULL, &t), BH_OK);
    const char *texts[] = {"fine", "bad \xff utf-8"};
    size_t lens[] = {4, 12};
    bh_batch b = {0};
    assert_int_equal(bh_tokenizer_encode_batch(t, texts, lens, 2, 0, 2, &b), BH_EUTF8);
    assert_non_null(strstr(bh_last_error(), "text 1"));
    assert_int_equal(bh_tokenizer_encode_batch(NULL, texts, lens, 2, 0, 2, &b), BH_EINVAL);
    bh_batch_free(&b);
    bh_tokenizer_free(t);
}

/* Byte offsets to code point offsets: an invalid byte is one code point, also
 * inside a truncated sequence (a lead byte and valid continuation bytes). */
static void test_char_offsets_invalid(void **state)
{
    (void)state;
    static const struct { const char *s; size_t len, chars; } cases[] = {
        {"\xe0\xa4\x20\x61", 4, 4},     /* truncated 3-byte sequence, space, a */
        {"\xf0\x9f\x98", 3, 3},          /* truncated 4-byte sequence */
        {"\xf0\x9f\x98\x80\xe0\xa4\x95", 7, 2}, /* U+1F600 U+0915 */
        {"\xed\xa0\x80", 3, 3},          /* surrogate */
        {"\xe0\x80\xaf", 3, 3},          /* overlong */
        {"a\xff\xc2", 3, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        /* one token per byte, and one over the whole text */
        int32_t ids[9] = {0};
        size_t b[9], e[9], n = cases[c].len;
        for (size_t k = 0; k < n; k++) {
            b[k] = k;
            e[k] = k + 1;
        }
        b[n] = 0;
        e[n] = n;
        bh_tokens t = {ids, b, e, n + 1, 9};
        assert_int_equal(bh_tokens_to_char_offsets(cases[c].s, n, &t), BH_OK);
        assert_int_equal(t.begin[n], 0);
        assert_int_equal(t.end[n], cases[c].chars);
        if (cases[c].chars == n)
            for (size_t k = 0; k < n; k++) {
                assert_int_equal(t.begin[k], k);
                assert_int_equal(t.end[k], k + 1);
            }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_and_specials), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_encode_one),          cmocka_unit_test(test_batch_wordpiece),
        cmocka_unit_test(test_batch_spm),           cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_char_offsets_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
