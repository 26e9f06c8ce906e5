/* tests/test_corpus.c — the streaming readers on the project's own fixtures
 * (tests/fixtures/corpora/), malformed inputs included, tag-scheme conversion,
 * the wikitext cleaner, gzip (whole and truncated) and the size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bhasha.h"

#define FIX "tests/fixtures/corpora/"

static bh_corpus *open_ok(const char *path, const bh_corpus_options *o)
{
    bh_corpus *r = NULL;
    assert_int_equal(bh_corpus_open(path, o, &r), BH_OK);
    assert_non_null(r);
    return r;
}

static void test_text(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_TEXT;
    bh_corpus *r = open_ok(FIX "text.txt", &o);
    bh_corpus_record rec;
    const char *want[] = {"first doc", "second doc line one", "second doc line two", "third"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bh_corpus_next(r, &rec), 1);
        assert_string_equal(rec.text, want[i]);
    }
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    o.blocks = 1;
    r = open_ok(FIX "text.txt", &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "first doc");
    assert_int_equal(rec.line, 1);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "second doc line one\nsecond doc line two");
    assert_int_equal(rec.line, 3);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "third");
    assert_int_equal(rec.line, 7);
    assert_int_equal(rec.index, 2);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    bh_corpus_free(NULL);
    assert_int_equal(bh_corpus_open("/nonexistent/x.txt", NULL, &r), BH_EIO);
    assert_null(r);
}

static void test_jsonl(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.label_field = "label";
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(FIX "data.jsonl", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "ভালো লাগলো");
    assert_string_equal(rec.label, "pos");
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "शानदार");
    assert_int_equal(rec.line, 6);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 3);
    assert_non_null(strstr(bh_corpus_problem(r, 1), "data.jsonl:3: invalid JSON"));
    assert_null(bh_corpus_problem(r, 3));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    r = open_ok(FIX "data.jsonl", &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ENOTFOUND);
    assert_non_null(strstr(bh_last_error(), "data.jsonl:2: no label field"));
    assert_int_equal(bh_corpus_next(r, &rec), BH_ENOTFOUND); /* stays stopped */
    bh_corpus_free(r);
}

static void test_csv(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.label_field = "label";
    o.id_field = "id";
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(FIX "data.csv", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1); /* BOM stripped: the header's first column is "id" */
    assert_string_equal(rec.id, "1");
    assert_string_equal(rec.text, "hello, world");
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "multi\nline \"quoted\"\ttab");
    assert_string_equal(rec.label, "neg");
    assert_int_equal(rec.line, 3);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "plain");
    assert_int_equal(rec.line, 6);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1);
    assert_non_null(strstr(bh_corpus_problem(r, 0), "data.csv:5: 4 fields"));
    bh_corpus_free(r);

    r = open_ok(FIX "unclosed.csv", &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_non_null(strstr(bh_corpus_problem(r, 0), "unclosed.csv:3: unclosed quote"));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    r = open_ok(FIX "strayquote.csv", &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "strayquote.csv:2"));
    bh_corpus_free(r);
    o.label_field = "nope";
    assert_int_equal(bh_corpus_open(FIX "data.csv", &o, &r), BH_ENOTFOUND);
    o.label_field = "2"; /* by index */
    r = open_ok(FIX "data.csv", &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.label, "pos");
    bh_corpus_free(r);
}

static void test_conll(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CONLL;
    o.on_error = BH_ON_ERROR_SKIP;
    o.scheme = BH_TAGS_IOBES;
    o.label_map = "NEP=PER";
    bh_corpus *r = open_ok(FIX "ner.conll", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 5);
    assert_string_equal(rec.tokens[0], "রহিম");
    const char *want[] = {"B-PER", "E-PER", "S-LOC", "O", "S-TIM"};
    for (int i = 0; i < 5; i++) assert_string_equal(rec.tags[i], want[i]);
    assert_string_equal(rec.text, "রহিম করিম ঢাকায় গেল কাল");
    assert_int_equal(rec.line, 3);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.tags[0], "B-PER");
    assert_string_equal(rec.tags[1], "E-PER");
    assert_string_equal(rec.tags[2], "O");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 2);
    assert_non_null(strstr(bh_corpus_problem(r, 0), "ner.conll:9: no tag column"));
    assert_non_null(strstr(bh_corpus_problem(r, 1), "ner.conll:12: malformed tag \"-NEL\""));
    bh_corpus_free(r);
}

static void test_tags(void **state)
{
    (void)state;
    const char *in[] = {"I-PER", "I-PER", "B-PER", "O", "U-LOC", "B-ORG", "L-ORG", "TIM", "TIM", "I-X", "E-X"};
    size_t n = sizeof in / sizeof in[0];
    size_t offs[16];
    bh_buf b = {0};
    assert_int_equal(bh_tags_convert(in, n, BH_TAGS_BIO, NULL, &b, offs), BH_OK);
    const char *bio[] = {"B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "B-TIM", "I-TIM", "B-X", "I-X"};
    for (size_t i = 0; i < n; i++) assert_string_equal(b.data + offs[i], bio[i]);
    assert_int_equal(bh_tags_convert(in, n, BH_TAGS_BILOU, "PER=P,TIM=O", &b, offs), BH_OK);
    const char *bilou[] = {"B-P", "L-P", "U-P", "O", "U-LOC", "B-ORG", "L-ORG", "O", "O", "B-X", "L-X"};
    for (size_t i = 0; i < n; i++) assert_string_equal(b.data + offs[i], bilou[i]);
    assert_int_equal(bh_tags_convert(in, n, BH_TAGS_IO, NULL, &b, offs), BH_OK);
    assert_string_equal(b.data + offs[2], "I-PER");
    const char *bad[] = {"O", "-NEL"};
    assert_int_equal(bh_tags_convert(bad, 2, BH_TAGS_BIO, NULL, &b, offs), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "tag 1"));
    const char *bad2[] = {"-"};
    assert_int_equal(bh_tags_convert(bad2, 1, BH_TAGS_BIO, NULL, &b, offs), BH_EFORMAT);
    bh_tag_scheme s;
    assert_int_equal(bh_tag_scheme_parse("bilou", &s), BH_OK);
    assert_int_equal(s, BH_TAGS_BILOU);
    assert_int_equal(bh_tag_scheme_parse("xyz", &s), BH_EINVAL);
    bh_buf_free(&b);
}

static void test_conllu(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(FIX "ud.conllu", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "s1");
    assert_string_equal(rec.text, "আমি ভাত খাই।");
    assert_int_equal(rec.n_rows, 6);
    assert_int_equal(rec.n_tokens, 4);
    assert_int_equal(rec.rows[2].kind, 1);
    assert_int_equal(rec.rows[4].kind, 2);
    assert_string_equal(rec.rows[4].col[8], "2:obj");
    assert_string_equal(rec.tokens[2], "খাই");
    assert_string_equal(rec.tags[2], "VERB");
    assert_string_equal(rec.rows[3].col[2], "খাওয়া");
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "s3");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1);
    assert_non_null(strstr(bh_corpus_problem(r, 0), "ud.conllu:11: 9 tab-separated columns"));
    bh_corpus_free(r);
}

static void test_squad(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(FIX "squad.json", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "q1");
    assert_string_equal(rec.title, "T1");
    assert_int_equal(rec.n_answers, 1);
    assert_string_equal(rec.answers[0].text, "नई दिल्ली");
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.answers[0].start, 10); /* code points, not bytes */
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "q4");
    assert_int_equal(rec.is_impossible, 1);
    assert_int_equal(rec.n_answers, 0);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1);
    assert_non_null(strstr(bh_corpus_problem(r, 0), "question q3"));
    bh_corpus_free(r);
    o.format = BH_CORPUS_SQUAD;
    assert_int_equal(bh_corpus_open(FIX "data.csv", &o, &r), BH_EFORMAT);
}

static void test_wiki(void **state)
{
    (void)state;
    bh_corpus_options o = {0};
    bh_corpus *r = open_ok(FIX "wiki.xml", &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.title, "ঢাকা");
    assert_string_equal(rec.id, "10");
    assert_string_equal(rec.text, "ঢাকা বাংলাদেশের রাজধানী। এটি বুড়িগঙ্গা নদীর তীরে।\n\nইতিহাস\nপ্রথম বিন্দু\n\nউদাহরণ অ");
    assert_int_equal(bh_corpus_next(r, &rec), 0); /* redirect and talk page filtered */
    bh_corpus_free(r);
    o.wiki_all_namespaces = 1;
    o.wiki_keep_redirects = 1;
    o.wiki_raw = 1;
    r = open_ok(FIX "wiki.xml", &o);
    int n = 0;
    while (bh_corpus_next(r, &rec) == 1) n++;
    assert_int_equal(n, 3);
    bh_corpus_free(r);
    r = open_ok(FIX "broken.xml", NULL);
    int k;
    while ((k = bh_corpus_next(r, &rec)) == 1) {} /* libxml2 may see the error before page A is handed out */
    assert_int_equal(k, BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "line 11"));
    bh_corpus_free(r);
    bh_buf b = {0};
    const char *w = "a {{t|{{n}}}} b [[x|y]] ''c'' &lt; &#x995; <!-- z --> [[Category:Q]]";
    assert_int_equal(bh_wikitext_clean(w, strlen(w), &b), BH_OK);
    assert_string_equal(b.data, "a b y c < ক");
    bh_buf_free(&b);
}

static void test_gzip_and_limits(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bh_corpus_testXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    gzFile gz = gzopen(path, "wb");
    for (int i = 0; i < 5000; i++) gzprintf(gz, "line %d with some text to compress\n", i);
    gzclose(gz);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_TEXT;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    long n = 0;
    while (bh_corpus_next(r, &rec) == 1) n++;
    assert_int_equal(n, 5000);
    bh_corpus_free(r);
    /* truncate the gzip file: the reader must fail with BH_EIO, not crash or stop silently */
    FILE *f = fopen(path, "rb+");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, size / 2), 0);
    r = open_ok(path, &o);
    int k;
    n = 0;
    while ((k = bh_corpus_next(r, &rec)) == 1) n++;
    assert_int_equal(k, BH_EIO);
    assert_true(n < 5000);
    bh_corpus_free(r);
    /* line size limit */
    f = fopen(path, "wb");
    for (int i = 0; i < 10000; i++) fputc('x', f);
    fputs("\nshort\n", f);
    fclose(f);
    o.max_record_bytes = 1000;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), ":1: line longer than 1000 bytes"));
    bh_corpus_free(r);
    /* NUL bytes: kept in text (length says so), refused in CSV */
    f = fopen(path, "wb");
    fwrite("a\0b\n", 1, 4, f);
    fclose(f);
    o.max_record_bytes = 0;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.text_len, 3);
    bh_corpus_free(r);
    f = fopen(path, "wb");
    fwrite("text\nx\0y\n", 1, 9, f);
    fclose(f);
    o.format = BH_CORPUS_CSV;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "NUL"));
    bh_corpus_free(r);
    unlink(path);
}

static void test_stats(void **state)
{
    (void)state;
    bh_corpus_stats *s;
    assert_int_equal(bh_corpus_stats_new(&s), BH_OK);
    bh_corpus_record rec;
    memset(&rec, 0, sizeof rec);
    rec.text = "আমি ভাত খাই। Then ok.";
    rec.text_len = strlen(rec.text);
    rec.label = "pos";
    assert_int_equal(bh_corpus_stats_add(s, &rec), BH_OK);
    bh_buf b = {0};
    assert_int_equal(bh_corpus_stats_json(s, &b), BH_OK);
    assert_string_equal(b.data, "{\"documents\":1,\"sentences\":2,\"tokens\":5,\"characters\":17,"
                                "\"characters_by_script\":{\"Bengali\":9,\"Latin\":6,\"Common\":2},\"labels\":{\"pos\":1}}");
    bh_buf_free(&b);
    bh_corpus_stats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),   cmocka_unit_test(test_jsonl),  cmocka_unit_test(test_csv),
        cmocka_unit_test(test_conll),  cmocka_unit_test(test_tags),   cmocka_unit_test(test_conllu),
        cmocka_unit_test(test_squad),  cmocka_unit_test(test_wiki),   cmocka_unit_test(test_gzip_and_limits),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
