/* tests/test_tasks.c — the public task API (bhasha/tasks.h) on a model this
 * test fine-tunes itself: a tiny random encoder trained for a few epochs on
 * written fixtures with a sentiment head per language and an NER head
 * (multi-task, pipeline/finetune.c), then bh_task_sentiment picks the head by
 * language, bh_task_ner returns spans in code points and bytes, and the error
 * paths (NULL arguments, a missing head, a missing directory) return codes
 * with messages. The shipped QA model is exercised when it is present, and
 * the rule that keeps QA answers whole grapheme clusters on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bhasha.h"
#include "pipeline/finetune.h"
#include "pipeline/qa.h"
#include "tests/build_dir.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* dir/name in one of 16 slots (enough for one test's paths) */
static const char *path(const char *name)
{
    static char p[16][256];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* sentiment decided by one word; names tagged PER */
static void fixtures(void)
{
    static const char *names[] = {"রহিম", "করিম", "সুমন", "মিনা"}, *things[] = {"ছবিটা", "গানটা", "বইটা"};
    char tsv[8192] = "text\tlabel\n", hi[8192] = "text\tlabel\n", conll[8192] = "", line[512];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            int pos = (i + j) % 2;
            snprintf(line, sizeof line, "%s বলল %s খুব %s\t%s\n", names[i], things[j], pos ? "ভালো" : "খারাপ",
                     pos ? "pos" : "neg");
            strcat(tsv, line);
            snprintf(line, sizeof line, "यह %s बहुत %s है\t%s\n", j ? "फ़ोन" : "किताब", pos ? "अच्छा" : "बुरा",
                     pos ? "good" : "bad");
            strcat(hi, line);
            snprintf(line, sizeof line, "%s\tB-PER\nগতকাল\tO\n%s\tO\nকিনল\tO\n\n", names[i], things[j]);
            strcat(conll, line);
        }
    put("s.tsv", tsv);
    put("h.tsv", hi);
    put("n.conll", conll);
    put("enc.json",
        "{\"arch\":\"encoder\",\"vocab\":16000,\"max_len\":32,\"dim\":16,\"layers\":1,\"heads\":2,\"ffn\":32,"
        "\"pad_id\":3,\"mask_id\":4,\"dropout\":0}");
}

static int have_tokenizer(void) { return access("assets/spm/bnhi.model", R_OK) == 0; }

static void test_tasks(void **st)
{
    (void)st;
    if (!have_tokenizer()) skip();
    fixtures();
    bh__ft_options o, also[2];
    bh__ft_options_default(&o);
    o.task = BH__FT_SENTIMENT;
    o.head_name = "sentiment_bn";
    o.base = path("enc.json");
    o.train = o.dev = path("s.tsv");
    o.tokenizer = "assets/spm/bnhi.model";
    o.out = path("m");
    o.epochs = 25;
    o.lr = 1e-2f;
    o.batch = 4;
    o.patience = 0;
    for (int k = 0; k < 2; k++) bh__ft_options_default(&also[k]);
    also[0].task = BH__FT_SENTIMENT;
    also[0].head_name = "sentiment_hi";
    also[0].train = also[0].dev = path("h.tsv");
    also[1].task = BH__FT_NER;
    also[1].head_name = "ner";
    also[1].train = also[1].dev = path("n.conll");
    o.also = also;
    o.nalso = 2;
    bh__ft_result r;
    bh_status fst = bh__finetune(&o, &r);
    if (fst) fprintf(stderr, "finetune: %s\n", bh_last_error());
    assert_int_equal(fst, BH_OK);
    assert_true(r.last_loss < r.first_loss);

    bh_task_model *m;
    assert_int_equal(bh_task_model_load(path("m"), 1, &m), BH_OK);
    bh_sentiment_result s;
    const char *bn = "মিনা বলল বইটা খুব ভালো", *hi = "यह फ़ोन बहुत बुरा है";
    assert_int_equal(bh_task_sentiment(m, "bn", bn, strlen(bn), &s), BH_OK);
    assert_string_equal(s.head, "sentiment_bn");
    assert_string_equal(s.label, "pos");
    assert_true(s.score > 0.5f && s.score <= 1.0f);
    assert_int_equal(bh_task_sentiment(m, "hi", hi, strlen(hi), &s), BH_OK);
    assert_string_equal(s.head, "sentiment_hi");
    assert_string_equal(s.label, "bad");
    /* an unknown language: the first sequence head; an empty text works */
    assert_int_equal(bh_task_sentiment(m, "ta", "", 0, &s), BH_OK);
    assert_string_equal(s.head, "sentiment_bn");

    bh_entity *e = NULL;
    size_t n = 0, cap = 0;
    const char *t = "করিম গতকাল গানটা কিনল";
    assert_int_equal(bh_task_ner(m, NULL, t, strlen(t), &e, &n, &cap), BH_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].type, "PER");
    assert_int_equal(e[0].start, 0);
    assert_int_equal(e[0].end, 4);
    assert_int_equal(e[0].byte_start, 0);
    assert_int_equal(e[0].byte_end, 12);
    assert_int_equal(bh_task_ner(m, NULL, "", 0, &e, &n, &cap), BH_OK);
    assert_int_equal(n, 0);

    /* bad input */
    bh_answer a;
    size_t na;
    assert_int_equal(bh_task_qa(m, "x", 1, "y", 1, &a), BH_ENOTFOUND);
    assert_int_equal(bh_task_qa_top(m, "x", 1, "y", 1, 2, &a, &na), BH_ENOTFOUND);
    assert_int_equal(bh_task_sentiment(m, NULL, NULL, 3, &s), BH_EINVAL);
    assert_int_equal(bh_task_ner(m, NULL, t, strlen(t), NULL, &n, &cap), BH_EINVAL);
    free(e);
    bh_task_model_free(m);
    assert_int_equal(bh_task_model_load(path("nothing"), 1, &m), BH_ENOTFOUND);
    assert_null(m);
    assert_int_equal(bh_task_model_load(path("m"), 0, &m), BH_EINVAL);
    assert_null(m);
    bh_task_model_free(NULL);
}

/* the shipped Hindi QA model, when present */
static void test_shipped_qa(void **st)
{
    (void)st;
    if (access("assets/models/bhasha-qa-hi/config.json", R_OK) != 0) skip();
    bh_task_model *m;
    assert_int_equal(bh_task_model_load("assets/models/bhasha-qa-hi", 1, &m), BH_OK);
    const char *c = "ताजमहल आगरा शहर में यमुना नदी के किनारे है।", *q = "ताजमहल किस शहर में है?";
    bh_answer a;
    assert_int_equal(bh_task_qa(m, c, strlen(c), q, strlen(q), &a), BH_OK);
    assert_true(a.byte_end >= a.byte_start && a.byte_end <= strlen(c));
    assert_int_equal(bh_task_qa(m, "", 0, q, strlen(q), &a), BH_EINVAL);
    /* the k best: distinct spans, the first is bh_task_qa's answer, the
     * order is the decoding's (no prior fires here, so scores fall) */
    bh_answer top[5];
    size_t n = 0;
    assert_int_equal(bh_task_qa_top(m, c, strlen(c), q, strlen(q), 5, top, &n), BH_OK);
    assert_int_equal(n, 5);
    assert_int_equal(top[0].byte_start, a.byte_start);
    assert_int_equal(top[0].byte_end, a.byte_end);
    for (size_t i = 1; i < n; i++) {
        assert_true(top[i].score <= top[i - 1].score);
        for (size_t j = 0; j < i; j++)
            assert_false(top[i].byte_start == top[j].byte_start && top[i].byte_end == top[j].byte_end);
    }
    assert_int_equal(bh_task_qa_top(m, c, strlen(c), q, strlen(q), 0, top, &n), BH_EINVAL);
    assert_int_equal(bh_task_qa_top(m, c, strlen(c), q, strlen(q), 101, top, &n), BH_EINVAL);
    assert_int_equal(bh_task_qa_top(m, c, strlen(c), q, strlen(q), 1, NULL, &n), BH_EINVAL);
    /* a one-word context has one span */
    assert_int_equal(bh_task_qa_top(m, "ताजमहल", strlen("ताजमहल"), "क्या?", strlen("क्या?"), 5, top, &n), BH_OK);
    assert_int_equal(n, 1);
    bh_sentiment_result s;
    assert_int_equal(bh_task_sentiment(m, NULL, c, strlen(c), &s), BH_ENOTFOUND);
    bh_task_model_free(m);
}

/* QA answers are whole grapheme clusters (bh__qa_whole_clusters) */
static void test_whole_clusters(void **st)
{
    (void)st;
    const char *c = "इसे शाहजहाँ ने खिलाड़ी";
    long n = (long)strlen(c);
    /* a span from the "े" of "इसे" (byte 6) to the end of "शाहजहाँ" */
    long bs = 6, be = (long)(strstr(c, " ने") - c);
    bh__qa_whole_clusters(c, n, &bs, &be);
    assert_int_equal(bs, strstr(c, "शाहजहाँ") - c);
    assert_int_equal(be, strstr(c, " ने") - c);
    /* a span that ends before the nukta of "खिलाड़ी" takes the nukta and the vowel sign after it */
    long k = (long)(strstr(c, "खिलाड़ी") - c);
    bs = k, be = k + (long)strlen("खिलाड");
    bh__qa_whole_clusters(c, n, &bs, &be);
    assert_int_equal(bs, k);
    assert_int_equal(be, k + (long)strlen("खिलाड़ी"));
    /* a span of nothing but a vowel sign keeps its start */
    bs = 6, be = 9;
    bh__qa_whole_clusters(c, n, &bs, &be);
    assert_int_equal(bs, 6);
    assert_int_equal(be, 9);
    /* a span already whole is left as it is */
    bs = 0, be = 9;
    bh__qa_whole_clusters(c, n, &bs, &be);
    assert_int_equal(bs, 0);
    assert_int_equal(be, 9);
}

/* QA answers are whole words (bh__qa_whole_words): a span that starts or
 * ends inside a word takes the rest of it, and stops at spaces and
 * punctuation */
static void test_whole_words(void **st)
{
    (void)st;
    const char *c = "उसने 1998 में सुनीता को आरक्षित (2,700,000) टिकट दिए।";
    long n = (long)strlen(c), k;
    struct {
        const char *from;   /* the span starts at the first occurrence of this */
        size_t len;         /* and holds this many bytes */
        const char *whole;  /* the whole-word span: its first occurrence */
    } cases[] = {
        {"1998", 2, "1998"},                                   /* "19" of "1998" */
        {"सुनीता", strlen("सुनी"), "सुनीता"},                   /* cut before a vowel sign's consonant */
        {"क्षित", strlen("क्षित"), "आरक्षित"},                  /* starts inside the word */
        {"700,000", 2, "700"},                                 /* "70" of "2,700,000": up to the comma */
        {"में सुनीता", strlen("में सु"), "में सुनीता"},           /* two words, the second cut */
        {"टिकट", strlen("टिकट"), "टिकट"},                       /* whole already */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long bs = (long)(strstr(c, cases[i].from) - c), be = bs + (long)cases[i].len;
        bh__qa_whole_words(c, n, &bs, &be);
        k = (long)(strstr(c, cases[i].whole) - c);
        assert_int_equal(bs, k);
        assert_int_equal(be, k + (long)strlen(cases[i].whole));
    }
    /* "2,700,000" starts with "2": the span "700" does not cross the comma back */
    long bs = (long)(strstr(c, "700,") - c), be = bs + 3;
    bh__qa_whole_words(c, n, &bs, &be);
    assert_int_equal(bs, strstr(c, "700,") - c);
    /* the ends of the text stop the widening */
    bs = 1, be = 2;
    bh__qa_whole_words("ab", 2, &bs, &be);
    assert_int_equal(bs, 0);
    assert_int_equal(be, 2);
}

/* the span c[bs0, be0) of c widened or narrowed by bh__qa_whole_clusters is
 * the one that starts at the first occurrence of s and holds len(w) bytes */
static void check_span(const char *c, long bs0, long be0, const char *s, const char *w)
{
    long bs = bs0, be = be0;
    bh__qa_whole_clusters(c, (long)strlen(c), &bs, &be);
    assert_int_equal(bs, strstr(c, s) - c);
    assert_int_equal(be, bs + (long)strlen(w));
}

/* conjuncts are whole clusters (Unicode 15.1's GB9c, which utf8proc 2.8
 * lacks): an answer ends after a conjunct's last consonant and its marks, not
 * on a half letter, and one that starts inside a conjunct starts after it, as
 * one that starts on a vowel sign does */
static void test_conjunct_clusters(void **st)
{
    (void)st;
    const char *c = "अक्षर परीक्षा अस्त्र क्\u200dष சக்கரம்";
    long k = (long)(strstr(c, "अक्षर") - c);
    /* "अक्" (ending on the virama) takes the "ष" */
    check_span(c, k, k + (long)strlen("अक्"), "अक्षर", "अक्ष");
    /* ending before the virama: the virama and the consonant after it */
    check_span(c, k, k + (long)strlen("अक"), "अक्षर", "अक्ष");
    /* the conjunct's vowel sign comes along */
    k = (long)(strstr(c, "परीक्षा") - c);
    check_span(c, k, k + (long)strlen("परीक्"), "परीक्षा", "परीक्षा");
    /* three consonants, two viramas */
    k = (long)(strstr(c, "अस्त्र") - c);
    check_span(c, k, k + (long)strlen("अस्"), "अस्त्र", "अस्त्र");
    check_span(c, k, k + (long)strlen("अस्त्"), "अस्त्र", "अस्त्र");
    /* a ZWJ between the virama and the consonant (an explicit half form) */
    k = (long)(strstr(c, "क्\u200dष") - c);
    check_span(c, k, k + (long)strlen("क्\u200d"), "क्\u200dष", "क्\u200dष");
    /* a start on the "ष" of "अक्षर" moves past the conjunct: "र" */
    k = (long)(strstr(c, "अक्षर") - c);
    check_span(c, k + (long)strlen("अक्"), k + (long)strlen("अक्षर"), "र ", "र");
    /* nothing but the second consonant: kept */
    check_span(c, k + (long)strlen("अक्"), k + (long)strlen("अक्ष"), "ष", "ष");
    /* Tamil's pulli is visible and forms no conjunct: "சக்" stays */
    k = (long)(strstr(c, "சக்கரம்") - c);
    check_span(c, k, k + (long)strlen("சக்"), "சக்கரம்", "சக்");
}

/* white space beyond ASCII (no-break, thin space) is trimmed at both ends */
static void test_unicode_space(void **st)
{
    (void)st;
    const char *c = "इसे\u00a0शाहजहाँ\u2009ने\u00a0 बनवाया";
    long k = (long)(strstr(c, "\u00a0शाहजहाँ") - c);
    check_span(c, k, k + (long)strlen("\u00a0शाहजहाँ\u2009"), "शाहजहाँ", "शाहजहाँ");
    /* from the "े" of "इसे" through the no-break space */
    check_span(c, (long)strlen("इस"), k + (long)strlen("\u00a0शाहजहाँ"), "शाहजहाँ", "शाहजहाँ");
    k = (long)(strstr(c, "ने") - c);
    check_span(c, k, k + (long)strlen("ने\u00a0 "), "ने", "ने");
    /* nothing but white space: one code point is kept */
    k = (long)(strstr(c, "\u2009") - c);
    check_span(c, k, k + (long)strlen("\u2009"), "\u2009", "\u2009");
}

int main(void)
{
    test_build_path(dir, sizeof dir, "tmp_tasks_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tasks),          cmocka_unit_test(test_shipped_qa),
                                       cmocka_unit_test(test_whole_clusters), cmocka_unit_test(test_whole_words),
                                       cmocka_unit_test(test_conjunct_clusters), cmocka_unit_test(test_unicode_space)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) rc = rc ? rc : 1;
    return rc;
}
