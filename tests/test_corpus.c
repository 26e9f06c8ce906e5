/* tests/test_corpus.c — the streaming readers on the project's own fixtures
 * (tests/fixtures/corpora/), malformed inputs included, tag-scheme conversion,
 * the wikitext cleaner, gzip (whole and truncated), the size limit on lines and on
 * records spanning lines, and an allocation failure reported as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "bhasha.h"
#include "corpora/source.h"
#include "tests/asan.h"

#define FIX "tests/fixtures/corpora/"

static bh_corpus *open_ok(const char *path, const bh_corpus_options *o)
{
    bh_corpus *r = NULL;
    assert_int_equal(bh_corpus_open(path, o, &r), BH_OK);
    assert_non_null(r);
    return r;
}

/* A new scratch file (name in path[512]) holding data[0..n). */
static void scratch(char *path, const void *data, size_t n)
{
    snprintf(path, 512, "%s/bh_corpus_testXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* True when `needle` occurs in the reader's i-th problem. */
static int problem_has(const bh_corpus *r, long i, const char *needle)
{
    const char *p = bh_corpus_problem(r, i);
    return p && strstr(p, needle);
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

/* A NUL byte or a stray character inside a quoted field that spans lines: the bad
 * record is read to its end, so its tail is not handed out as a record of its own. */
static void test_csv_bad_multiline(void **state)
{
    (void)state;
    static const char data[] = "text,label\n\"a\nb\0\nc\",pos\n\"x\"y,\"open\nstill\",neg\nfine,neg\n";
    char path[512], where[560];
    scratch(path, data, sizeof data - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CSV;
    o.label_field = "label";
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "fine");
    assert_int_equal(rec.line, 7);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 2);
    snprintf(where, sizeof where, "%s:2: NUL byte in record", path);
    assert_true(problem_has(r, 0, where));
    snprintf(where, sizeof where, "%s:5: text after a closing quote", path);
    assert_true(problem_has(r, 1, where));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_EFORMAT);
    snprintf(where, sizeof where, "%s:2: NUL byte in record", path);
    assert_non_null(strstr(bh_last_error(), where));
    assert_int_equal(bh_corpus_next(r, &rec), BH_EFORMAT);
    bh_corpus_free(r);
    unlink(path);
}

/* Records spanning lines are held to max_record_bytes like lines are: memory must not
 * grow with the file when a quote is left open or blank lines are missing. */
static void test_record_limits(void **state)
{
    (void)state;
    bh_buf b = {0};
    char path[512], where[560];
    bh_corpus_record rec;
    bh_corpus_options o = {0};
    o.max_record_bytes = 1000;
    o.on_error = BH_ON_ERROR_SKIP; /* over the limit stops all the same */

    const char *head = "text,label\n\"short\nfield\",pos\n\"a\n";
    assert_int_equal(bh_buf_append(&b, head, strlen(head)), BH_OK);
    for (int i = 0; i < 2000; i++) assert_int_equal(bh_buf_append(&b, "\",\"b\n", 5), BH_OK);
    scratch(path, b.data, b.len);
    o.format = BH_CORPUS_CSV;
    o.label_field = "label";
    bh_corpus *r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "short\nfield");
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    snprintf(where, sizeof where, "%s:4: record longer than 1000 bytes", path);
    assert_non_null(strstr(bh_last_error(), where));
    assert_int_equal(bh_corpus_skipped(r), 0);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    bh_corpus_free(r);
    unlink(path);

    bh_buf_clear(&b);
    assert_int_equal(bh_buf_append(&b, "a\tO\n\n", 5), BH_OK);
    for (int i = 0; i < 2000; i++) assert_int_equal(bh_buf_append(&b, "tok\tO\n", 6), BH_OK);
    scratch(path, b.data, b.len);
    o.format = BH_CORPUS_CONLL;
    o.label_field = NULL;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 1);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    snprintf(where, sizeof where, "%s:3: sentence longer than 1000 bytes", path);
    assert_non_null(strstr(bh_last_error(), where));
    bh_corpus_free(r);
    unlink(path);

    bh_buf_clear(&b);
    for (int i = 0; i < 200; i++) {
        char row[64];
        int k = snprintf(row, sizeof row, "%d\tw\tw\tX\t_\t_\t0\tdep\t_\t_\n", i + 1);
        assert_int_equal(bh_buf_append(&b, row, (size_t)k), BH_OK);
    }
    scratch(path, b.data, b.len);
    o.format = BH_CORPUS_CONLLU;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    snprintf(where, sizeof where, "%s:1: sentence longer than 1000 bytes", path);
    assert_non_null(strstr(bh_last_error(), where));
    bh_corpus_free(r);
    unlink(path);
    bh_buf_free(&b);
}

/* The tag is the last column however many there are, and a trailing tab does not
 * make an empty one. */
static void test_conll_columns(void **state)
{
    (void)state;
    bh_buf b = {0};
    assert_int_equal(bh_buf_append(&b, "tok", 3), BH_OK);
    for (int i = 0; i < 70; i++) assert_int_equal(bh_buf_append(&b, "\tx", 2), BH_OK);
    const char *tail = "\tB-PER\nnext\tO\t\nlast O  \n";
    assert_int_equal(bh_buf_append(&b, tail, strlen(tail)), BH_OK);
    char path[512];
    scratch(path, b.data, b.len);
    bh_buf_free(&b);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CONLL;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 3);
    assert_string_equal(rec.tokens[0], "tok");
    assert_string_equal(rec.tags[0], "B-PER");
    assert_string_equal(rec.tokens[1], "next");
    assert_string_equal(rec.tags[1], "O");
    assert_string_equal(rec.tags[2], "O");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 0);
    bh_corpus_free(r);
    unlink(path);
}

/* Metadata lines before a CoNLL sentence (MultiCoNER's "# id ...", CoNLL-U
 * style "# text = ...") are skipped; a token "#" is still a token, at a
 * sentence's start or inside it, and the record's line is its first token's. */
static void test_conll_comments(void **state)
{
    (void)state;
    const char *data = "# id 5d0d1f6e-0c5b\tdomain=bn\n"
                       "রহিম _ _ B-PER\nঢাকায় _ _ B-LOC\n\n"
                       "# sent_id = 2\n# text = # ভালো\n"
                       "#\tO\nভালো\tO\n\n"
                       "এটা O\n# O\n";
    char path[512];
    scratch(path, data, strlen(data));
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CONLL;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 2);
    assert_string_equal(rec.tokens[0], "রহিম");
    assert_string_equal(rec.tags[1], "B-LOC");
    assert_int_equal(rec.line, 2);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 2);
    assert_string_equal(rec.tokens[0], "#");
    assert_string_equal(rec.text, "# ভালো");
    assert_int_equal(rec.line, 7);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 2);
    assert_string_equal(rec.tokens[1], "#");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 0);
    bh_corpus_free(r);
    unlink(path);
}

/* CoNLL-U: a comment after word lines starts a new sentence (two files concatenated
 * without a blank line); NUL bytes and space-separated lines are reported by line; a
 * sentence made of a range line only has no words but valid arrays. */
static void test_conllu_edges(void **state)
{
    (void)state;
    static const char data[] = "# sent_id = a\n# text = A B\n"
                               "1\tA\tA\tX\t_\t_\t0\troot\t_\t_\n"
                               "2\tB\tB\tY\t_\t_\t1\tdep\t_\t_\n"
                               "# sent_id = b\n# text = C\n"
                               "1\tC\tC\tZ\t_\t_\t0\troot\t_\t_\n"
                               "\n"
                               "1\tn\0l\tn\tX\t_\t_\t0\troot\t_\t_\n"
                               "\n"
                               "1 sp sp X _ _ 0 root _ _\n"
                               "\n"
                               "1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\n";
    char path[512], where[560];
    scratch(path, data, sizeof data - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CONLLU;
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "a");
    assert_string_equal(rec.text, "A B");
    assert_int_equal(rec.n_tokens, 2);
    assert_int_equal(rec.line, 1);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "b");
    assert_string_equal(rec.text, "C");
    assert_int_equal(rec.n_tokens, 1);
    assert_string_equal(rec.tags[0], "Z");
    assert_int_equal(rec.line, 5);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_rows, 1);
    assert_int_equal(rec.rows[0].kind, 1);
    assert_int_equal(rec.n_tokens, 0);
    assert_non_null(rec.tokens);
    assert_non_null(rec.tags);
    assert_string_equal(rec.text, "");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 2);
    snprintf(where, sizeof where, "%s:9: NUL byte", path);
    assert_true(problem_has(r, 0, where));
    snprintf(where, sizeof where, "%s:11: no tab (10 space-separated columns)", path);
    assert_true(problem_has(r, 1, where));
    bh_corpus_free(r);
    unlink(path);
}

/* An empty JSONL NER record: zero tokens, but arrays a caller may index from. */
static void test_jsonl_empty_tags(void **state)
{
    (void)state;
    static const char data[] = "{\"text\":\"\",\"tags\":[]}\n{\"text\":\"a b\",\"tags\":[\"B-X\",\"O\"]}\n";
    char path[512];
    scratch(path, data, sizeof data - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_JSONL;
    o.tags_field = "tags";
    o.scheme = BH_TAGS_IOBES;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 0);
    assert_non_null(rec.tokens);
    assert_non_null(rec.tags);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(rec.n_tokens, 2);
    assert_string_equal(rec.tags[0], "S-X");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    unlink(path);
}

/* SQuAD articles and paragraphs without their arrays are problems named by their
 * place in the file; empty arrays are fine. */
static void test_squad_structure(void **state)
{
    (void)state;
    static const char data[] =
        "{\"data\":["
        "{\"title\":\"A\",\"paragraphs\":[{\"context\":\"x\",\"qas\":[{\"id\":\"q1\",\"question\":\"?\",\"answers\":[]}]}]},"
        "{\"title\":\"B\"},"
        "5,"
        "{\"title\":\"C\",\"paragraphs\":[]},"
        "{\"title\":\"D\",\"paragraphs\":[{\"context\":\"y\"},\"bad\",{\"context\":\"z\",\"qas\":[]},"
        "{\"context\":\"w\",\"qas\":[{\"id\":\"q2\",\"question\":\"?\",\"answers\":[]},{\"id\":\"q3\"}]}]}]}";
    char path[512], where[560];
    scratch(path, data, sizeof data - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_SQUAD;
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "q1");
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.id, "q2");
    assert_string_equal(rec.title, "D");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 5);
    snprintf(where, sizeof where, "%s: data[1]: article without a \"paragraphs\" array", path);
    assert_true(problem_has(r, 0, where));
    assert_true(problem_has(r, 1, "data[2]: article is not a JSON object"));
    assert_true(problem_has(r, 2, "data[4].paragraphs[0]: paragraph without a \"qas\" array"));
    assert_true(problem_has(r, 3, "data[4].paragraphs[1]: paragraph is not a JSON object"));
    assert_true(problem_has(r, 4, "data[4].paragraphs[3].qas[1]: missing context"));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_int_equal(bh_corpus_next(r, &rec), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "data[1]: article without"));
    bh_corpus_free(r);
    unlink(path);
}

/* Wiki pages over the size limit are skipped like bad records (the XML parser stays
 * in step), or stop with BH_ELIMIT; pages over libxml2's 10,000,000-byte text node
 * default are read up to the reader's own limit. */
static void test_wiki_limits(void **state)
{
    (void)state;
    bh_buf b = {0};
    const char *p1 = "<mediawiki>\n<page><title>Big</title><ns>0</ns><id>1</id>\n<revision><id>9</id><text>";
    const char *p2 = "</text></revision></page>\n"
                     "<page><title>Talk</title><ns>1</ns><id>2</id><revision><id>8</id><text>";
    const char *p3 = "</text></revision></page>\n"
                     "<page><title>Small</title><ns>0</ns><id>3</id><revision><id>7</id><text>ok</text></revision></page>\n"
                     "</mediawiki>\n";
    assert_int_equal(bh_buf_append(&b, p1, strlen(p1)), BH_OK);
    for (int i = 0; i < 2000; i++) assert_int_equal(bh_buf_append(&b, "x", 1), BH_OK);
    assert_int_equal(bh_buf_append(&b, p2, strlen(p2)), BH_OK);
    for (int i = 0; i < 2000; i++) assert_int_equal(bh_buf_append(&b, "y", 1), BH_OK);
    assert_int_equal(bh_buf_append(&b, p3, strlen(p3)), BH_OK);
    char path[512], where[560];
    scratch(path, b.data, b.len);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_WIKI;
    o.max_record_bytes = 1000;
    o.on_error = BH_ON_ERROR_SKIP;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.title, "Small");
    assert_int_equal(rec.line, 5); /* where its <page> starts, not where the parser has read to */
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1); /* the talk page is filtered, not a problem */
    snprintf(where, sizeof where, "%s:2: page text over 1000 bytes", path);
    assert_true(problem_has(r, 0, where));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    assert_non_null(strstr(bh_last_error(), where));
    assert_int_equal(bh_corpus_next(r, &rec), BH_ELIMIT);
    bh_corpus_free(r);
    unlink(path);

    /* 11,000,000 bytes of text, gzip-compressed to stay small on disk */
    snprintf(path, sizeof path, "%s/bh_corpus_testXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, p1);
    char chunk[10000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 1100; i++) assert_int_equal(gzwrite(gz, chunk, sizeof chunk), (int)sizeof chunk);
    gzputs(gz, p3);
    gzclose(gz);
    memset(&o, 0, sizeof o);
    o.format = BH_CORPUS_WIKI;
    o.wiki_raw = 1;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.title, "Big");
    assert_int_equal(rec.text_len, 11000000);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.title, "Small");
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    unlink(path);
    bh_buf_free(&b);
}

/* Cleaning stays linear on text where no tag or external link is ever closed. */
static void test_wikitext_linear(void **state)
{
    (void)state;
    static const char *const unit[] = {"<a", "[http://a", "<b\n"};
    bh_buf in = {0}, out = {0};
    for (size_t u = 0; u < sizeof unit / sizeof unit[0]; u++) {
        size_t k = strlen(unit[u]);
        bh_buf_clear(&in);
        while (in.len < ((size_t)4 << 20)) assert_int_equal(bh_buf_append(&in, unit[u], k), BH_OK);
        assert_int_equal(bh_wikitext_clean(in.data, in.len, &out), BH_OK);
        /* nothing is markup here: the text comes back as it was (less the last line break) */
        size_t want = unit[u][k - 1] == '\n' ? in.len - 1 : in.len;
        assert_int_equal(out.len, want);
        assert_memory_equal(out.data, in.data, want);
    }
    bh_buf_free(&in);
    bh_buf_free(&out);
}

/* Labels and tags that are not valid UTF-8 stay in the statistics, escaped. */
static void test_stats_bad_utf8(void **state)
{
    (void)state;
    bh_corpus_stats *s;
    assert_int_equal(bh_corpus_stats_new(&s), BH_OK);
    static const char *const labels[] = {"pos", "\xff", "a\xc3", "\xff"};
    bh_corpus_record rec;
    for (int i = 0; i < 4; i++) {
        memset(&rec, 0, sizeof rec);
        rec.text = "x";
        rec.text_len = 1;
        rec.label = labels[i];
        assert_int_equal(bh_corpus_stats_add(s, &rec), BH_OK);
    }
    bh_buf b = {0};
    assert_int_equal(bh_corpus_stats_json(s, &b), BH_OK);
    assert_non_null(strstr(b.data, "\"labels\":{\"\\\\xFF\":2,\"a\\\\xC3\":1,\"pos\":1}"));
    bh_buf_free(&b);
    bh_corpus_stats_free(s);
}

/* Questions of one paragraph share its context pointer; a second reader (the next
 * file of a total) may reuse that address for its own first paragraph, and the
 * record index starting over must still count it. */
static void test_stats_squad_paragraphs(void **state)
{
    (void)state;
    bh_corpus_stats *s;
    assert_int_equal(bh_corpus_stats_new(&s), BH_OK);
    static const char ctx[] = "ক খ।";
    static const long index[] = {0, 1, 0, 1};
    bh_corpus_record rec;
    for (int i = 0; i < 4; i++) {
        memset(&rec, 0, sizeof rec);
        rec.index = index[i];
        rec.text = ctx;
        rec.text_len = strlen(ctx);
        rec.question = "q";
        assert_int_equal(bh_corpus_stats_add(s, &rec), BH_OK);
    }
    bh_buf b = {0};
    assert_int_equal(bh_corpus_stats_json(s, &b), BH_OK);
    assert_non_null(strstr(b.data, "\"questions\":4,\"paragraphs\":2,"));
    bh_buf_free(&b);
    bh_corpus_stats_free(s);
}

/* An input of just a UTF-8 BOM holds no line, plain or gzipped, and a BOM before the
 * first line shifts no line number. Every reader skips empty lines, so a phantom empty
 * line never shows through bh_corpus_next: the line source is checked itself. */
static void test_bom_only(void **state)
{
    (void)state;
    char path[512];
    bh__src s;
    bh_buf line = {0};
    scratch(path, "\xEF\xBB\xBF", 3);
    for (int gz = 0; gz < 2; gz++) {
        if (gz) {
            gzFile g = gzopen(path, "wb");
            assert_non_null(g);
            assert_int_equal(gzwrite(g, "\xEF\xBB\xBF", 3), 3);
            assert_int_equal(gzclose(g), Z_OK);
        }
        assert_int_equal(bh__src_open(&s, path, 0), BH_OK);
        assert_int_equal(bh__src_line(&s, &line), 0);
        assert_int_equal(s.lineno, 0);
        assert_int_equal(bh__src_line(&s, &line), 0);
        bh__src_close(&s);
    }
    unlink(path);
    scratch(path, "\xEF\xBB\xBF\nx\r\n", 6);
    assert_int_equal(bh__src_open(&s, path, 0), BH_OK);
    assert_int_equal(bh__src_line(&s, &line), 1);
    assert_int_equal(line.len, 0);
    assert_int_equal(bh__src_line(&s, &line), 1);
    assert_string_equal(line.data, "x");
    assert_int_equal(s.lineno, 2);
    assert_int_equal(bh__src_line(&s, &line), 0);
    bh__src_close(&s);
    bh_buf_free(&line);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_TEXT;
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "x");
    assert_int_equal(rec.line, 2);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    unlink(path);
}

/* An allocation that fails comes back as BH_ENOMEM, not as a format error. The reader
 * runs in a child whose address space is capped so that a 40 MiB line can be read
 * but not copied into the record. Large blocks are made to come from mmap, so that
 * heap space freed by the tests before cannot absorb them. (Skipped under
 * AddressSanitizer, whose shadow memory does not fit under such a cap, and without
 * glibc's mallopt.) */
static void test_out_of_memory(void **state)
{
    (void)state;
#if defined(BH_TEST_ASAN) || !defined(__GLIBC__)
    skip();
#else
    char path[512];
    snprintf(path, sizeof path, "%s/bh_corpus_testXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 640; i++) assert_int_equal(gzwrite(gz, chunk, sizeof chunk), (int)sizeof chunk);
    gzputs(gz, "\n");
    gzclose(gz);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bh_corpus_options o = {0};
        o.format = BH_CORPUS_TEXT;
        o.max_record_bytes = (size_t)1 << 30;
        bh_corpus *r;
        if (bh_corpus_open(path, &o, &r)) _exit(100);
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1) _exit(101);
        fclose(f);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)100 << 20);
        if (setrlimit(RLIMIT_AS, &rl)) _exit(102);
        bh_corpus_record rec;
        int k = bh_corpus_next(r, &rec);
        _exit(k == 1 ? 103 : -k);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(path);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), -BH_ENOMEM);
#endif
}

/* A JSON number as a label or text reads as written: the shortest form that gives the
 * same double back, so 2.3 stays "2.3" (not "2.2999999999999998") and 1.0 stays "1.0". */
static void test_jsonl_numbers(void **state)
{
    (void)state;
    char path[512];
    const char data[] = "{\"text\":0.1,\"label\":2.3}\n{\"text\":-0.0,\"label\":1.0}\n"
                        "{\"text\":5e-324,\"label\":7}\n";
    scratch(path, data, sizeof data - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_JSONL;
    o.label_field = "label";
    bh_corpus *r = open_ok(path, &o);
    bh_corpus_record rec;
    const char *want[][2] = {{"0.1", "2.3"}, {"-0.0", "1.0"}, {"5e-324", "7"}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bh_corpus_next(r, &rec), 1);
        assert_string_equal(rec.text, want[i][0]);
        assert_string_equal(rec.label, want[i][1]);
    }
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    bh_corpus_free(r);
    unlink(path);
}

/* A column name the header holds twice is refused rather than resolved to one of them
 * without a word; its index still selects it. Without a header the first row is data:
 * a bad one is a record problem like any other row, not a reason to refuse the file. */
static void test_csv_header_edges(void **state)
{
    (void)state;
    char path[512];
    const char dup[] = "text,text,label\n1,2,x\n";
    scratch(path, dup, sizeof dup - 1);
    bh_corpus_options o = {0};
    o.format = BH_CORPUS_CSV;
    o.label_field = "label";
    bh_corpus *r = NULL;
    assert_int_equal(bh_corpus_open(path, &o, &r), BH_EINVAL);
    assert_null(r);
    assert_non_null(strstr(bh_last_error(), "in the header twice"));
    o.text_field = "1";
    r = open_ok(path, &o);
    bh_corpus_record rec;
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "2");
    bh_corpus_free(r);
    unlink(path);

    const char bad_first[] = "\"a\"x,1\nb,2\n";
    scratch(path, bad_first, sizeof bad_first - 1);
    memset(&o, 0, sizeof o);
    o.format = BH_CORPUS_CSV;
    o.no_header = 1;
    o.text_field = "0";
    o.label_field = "1";
    o.on_error = BH_ON_ERROR_SKIP;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 1);
    assert_string_equal(rec.text, "b");
    assert_string_equal(rec.label, "2");
    assert_int_equal(rec.line, 2);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1);
    assert_true(problem_has(r, 0, ":1: text after a closing quote"));
    bh_corpus_free(r);
    o.on_error = BH_ON_ERROR_STOP;
    assert_int_equal(bh_corpus_open(path, &o, &r), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), ":1: text after a closing quote"));
    unlink(path);

    const char all_bad[] = "\"a\"x,1\n";
    scratch(path, all_bad, sizeof all_bad - 1);
    o.on_error = BH_ON_ERROR_SKIP;
    r = open_ok(path, &o);
    assert_int_equal(bh_corpus_next(r, &rec), 0);
    assert_int_equal(bh_corpus_skipped(r), 1);
    bh_corpus_free(r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),   cmocka_unit_test(test_jsonl),  cmocka_unit_test(test_csv),
        cmocka_unit_test(test_conll),  cmocka_unit_test(test_tags),   cmocka_unit_test(test_conllu),
        cmocka_unit_test(test_squad),  cmocka_unit_test(test_wiki),   cmocka_unit_test(test_gzip_and_limits),
        cmocka_unit_test(test_stats),  cmocka_unit_test(test_csv_bad_multiline), cmocka_unit_test(test_record_limits),
        cmocka_unit_test(test_conll_columns), cmocka_unit_test(test_conll_comments),
        cmocka_unit_test(test_conllu_edges), cmocka_unit_test(test_jsonl_empty_tags),
        cmocka_unit_test(test_squad_structure), cmocka_unit_test(test_wiki_limits), cmocka_unit_test(test_wikitext_linear),
        cmocka_unit_test(test_stats_bad_utf8), cmocka_unit_test(test_stats_squad_paragraphs),
        cmocka_unit_test(test_bom_only),       cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_jsonl_numbers),  cmocka_unit_test(test_csv_header_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
