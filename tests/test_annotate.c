/* tests/test_annotate.c — the annotation pipeline: stage lists, strict UTF-8
 * (a failure appends nothing), fields present per stage, CoNLL-U blocks and
 * their escapes, the form of "text", and one annotator shared by several
 * threads giving the single-thread result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bhasha.h"

static const char bn[] = "আমি বাংলায় গান গাই। তুমি কি শুনবে?";
static const char *model = "assets/langid/langid.bin";

static void test_stages_parse(void **state)
{
    (void)state;
    unsigned s = 0;
    assert_int_equal(bh_annotator_stages_parse("words", &s), BH_OK);
    assert_int_equal(s, BH_STAGE_WORDS);
    assert_int_equal(bh_annotator_stages_parse("normalize,sentences,words,langid,translit,sentiment,ner", &s), BH_OK);
    assert_int_equal(s, BH_STAGES_ALL);
    assert_int_equal(bh_annotator_stages_parse("sentiment,ner", &s), BH_OK);
    assert_int_equal(s, BH_STAGE_SENTIMENT | BH_STAGE_NER);
    assert_int_equal(bh_annotator_stages_parse("all", &s), BH_OK);
    assert_int_equal(s, BH_STAGES_ALL);
    assert_int_equal(bh_annotator_stages_parse("words,wordz", &s), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "wordz"));
    assert_int_equal(bh_annotator_stages_parse("", &s), BH_EINVAL);
    assert_int_equal(bh_annotator_stages_parse(",", &s), BH_EINVAL);
    assert_int_equal(bh_annotator_stages_parse(NULL, &s), BH_EINVAL);
}

static void test_stage_fields(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    o.stages = BH_STAGE_NORMALIZE | BH_STAGE_WORDS;
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf out = {0};
    assert_int_equal(bh_annotate(a, bn, strlen(bn), &out), BH_OK);
    assert_non_null(strstr(out.data, "\"words\":["));
    assert_null(strstr(out.data, "\"sentences\""));
    assert_null(strstr(out.data, "\"translit\""));
    assert_null(strstr(out.data, "\"lang\""));
    bh_buf_free(&out);
    bh_annotator_free(a);

    bh_annotator_options_default(&o);
    o.stages = BH_STAGE_SENTENCES | BH_STAGE_TRANSLIT;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    assert_int_equal(bh_annotate(a, bn, strlen(bn), &out), BH_OK);
    assert_non_null(strstr(out.data, "\"sentences\":[{"));
    assert_non_null(strstr(out.data, "\"translit\":\"āmi"));
    /* normalize off: "|" stays, so "normalized" equals "text" */
    assert_null(strstr(out.data, "\"words\""));
    bh_buf_free(&out);
    bh_annotator_free(a);
}

static void test_strict_utf8(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf out = {0};
    assert_int_equal(bh_buf_append(&out, "keep", 4), BH_OK);
    const char bad[] = "ok \xff\xfe bad";
    assert_int_equal(bh_annotate(a, bad, sizeof bad - 1, &out), BH_OK); /* repaired by default */
    assert_non_null(strstr(out.data, "\xef\xbf\xbd"));
    bh_annotator_free(a);
    o.strict_utf8 = 1;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf_clear(&out);
    assert_int_equal(bh_buf_append(&out, "keep", 4), BH_OK);
    assert_int_equal(bh_annotate(a, bad, sizeof bad - 1, &out), BH_EUTF8);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "keep");
    assert_non_null(strstr(bh_last_error(), "invalid UTF-8"));
    bh_buf_free(&out);
    bh_annotator_free(a);
}

static void test_conllu(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    o.conllu = 1;
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf out = {0};
    assert_int_equal(bh_annotate(a, bn, strlen(bn), &out), BH_OK);
    assert_non_null(strstr(out.data, "# text = আমি বাংলায় গান গাই।\n1\tআমি\t_\t_\t_\t_\t_\t_\t_\tTranslit=āmi\n"));
    assert_non_null(strstr(out.data, "# text = তুমি কি শুনবে?\n1\tতুমি\t"));
    assert_non_null(strstr(out.data, "\n3\tশুনবে\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No|Translit="));
    assert_non_null(strstr(out.data, "\tPUNCT\t"));
    assert_true(out.len >= 2 && out.data[out.len - 1] == '\n' && out.data[out.len - 2] == '\n');
    bh_buf_clear(&out);
    assert_int_equal(bh_annotate(a, "", 0, &out), BH_OK);
    assert_int_equal(out.len, 0);
    bh_buf_free(&out);
    bh_annotator_free(a);
}

/* CoNLL-U stays one field per column and one line per row whatever the text:
 * MISC values escaped as UD does (\p, \\, \s), control characters in
 * comments and FORM turned into spaces, invalid UTF-8 into U+FFFD. */
static void test_conllu_escapes(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    o.conllu = 1;
    o.normalize = 0; /* keeps "|" (no danda) and the vertical tab */
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf out = {0};
    const char t[] = "\xe0\xa6\x95|\xe0\xa6\x96 a\\b \xe0\xa6\x97\x0b\xe0\xa6\x98";
    assert_int_equal(bh_annotate(a, t, sizeof t - 1, &out), BH_OK);
    assert_non_null(strstr(out.data, "\t|\t_\tPUNCT\t_\t_\t_\t_\t_\tTranslit=\\p\n"));
    assert_non_null(strstr(out.data, "\t\\\t_\tPUNCT\t_\t_\t_\t_\t_\tSpaceAfter=No|Translit=\\\\\n"));
    assert_null(strchr(out.data, '\x0b'));
    /* every line is a comment, a blank line or 10 tab-separated columns */
    for (const char *p = out.data; *p;) {
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        int tabs = 0;
        for (const char *q = p; q < e; q++) tabs += *q == '\t';
        assert_true(*p == '#' || e == p || tabs == 9);
        p = e + 1;
    }
    bh_buf_free(&out);
    bh_annotator_free(a);
}

/* With the normalize stage "text" is in canonical Unicode form (a precomposed
 * nukta letter comes out as base + nukta) and "normalized" maps lookalikes;
 * without it both are the input as given, invalid UTF-8 repaired (pipeline.h). */
static void test_text_form(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    o.stages = BH_STAGE_NORMALIZE | BH_STAGE_WORDS;
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf out = {0};
    const char in[] = "\xe0\xa5\x98 |\xff"; /* U+0958, a "|" typed for a danda, a stray byte */
    assert_int_equal(bh_annotate(a, in, strlen(in), &out), BH_OK);
    assert_non_null(strstr(out.data, "\"text\":\"\xe0\xa4\x95\xe0\xa4\xbc |\xef\xbf\xbd\""));
    assert_non_null(strstr(out.data, "\"normalized\":\"\xe0\xa4\x95\xe0\xa4\xbc \xe0\xa5\xa4\xef\xbf\xbd\""));
    bh_annotator_free(a);
    o.normalize = 0;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf_clear(&out);
    assert_int_equal(bh_annotate(a, in, strlen(in), &out), BH_OK);
    assert_non_null(strstr(out.data, "\"text\":\"\xe0\xa5\x98 |\xef\xbf\xbd\""));
    assert_non_null(strstr(out.data, "\"normalized\":\"\xe0\xa5\x98 |\xef\xbf\xbd\""));
    /* the second word starts at byte 4 of the input */
    assert_non_null(strstr(out.data, "{\"start\":4,\"end\":5,\"text\":\"|\""));
    bh_buf_free(&out);
    bh_annotator_free(a);
}

typedef struct shared {
    const bh_annotator *a;
    const char *want;
    int ok;
} shared;

static void *annotate_many(void *arg)
{
    shared *s = arg;
    bh_buf out = {0};
    s->ok = 1;
    for (int i = 0; i < 200 && s->ok; i++) {
        bh_buf_clear(&out);
        if (bh_annotate(s->a, bn, strlen(bn), &out) || strcmp(out.data, s->want)) s->ok = 0;
    }
    bh_buf_free(&out);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    if (access(model, R_OK) == 0) o.langid_model = model;
    bh_annotator *a;
    assert_int_equal(bh_annotator_new(&o, &a), BH_OK);
    bh_buf want = {0};
    assert_int_equal(bh_annotate(a, bn, strlen(bn), &want), BH_OK);
    if (o.langid_model) assert_non_null(strstr(want.data, "\"lang\":\"bn\""));
    shared s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (shared){a, want.data, 0};
        assert_int_equal(pthread_create(&th[i], NULL, annotate_many, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(s[i].ok);
    }
    bh_buf_free(&want);
    bh_annotator_free(a);
    bh_annotator_free(NULL);
    assert_int_equal(bh_annotator_new(&o, NULL), BH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_parse),
        cmocka_unit_test(test_stage_fields),
        cmocka_unit_test(test_strict_utf8),
        cmocka_unit_test(test_conllu),
        cmocka_unit_test(test_conllu_escapes),
        cmocka_unit_test(test_text_form),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
