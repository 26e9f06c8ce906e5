/* tests/test_eval.c — metrics against golden values from the reference tools
 * (scikit-learn; conlleval, seqeval-strict, SQuAD v1.1 and sacreBLEU logic
 * re-expressed in tests/ref/), committed in tests/fixtures/eval/golden.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha.h"
#include "eval/baseline.h"

#define FIX "tests/fixtures/eval/"

static json_t *golden;

static void near(double got, double want, double tol, const char *what)
{
    if (fabs(got - want) > tol) {
        fprintf(stderr, "# %s: got %.12g want %.12g\n", what, got, want);
        fail();
    }
}

/* Reads a file's lines (without newlines) into a NULL-terminated array. */
static char **read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char **v = NULL;
    size_t k = 0, cap = 0;
    char *line = NULL;
    size_t lc = 0;
    ssize_t len;
    while ((len = getline(&line, &lc, f)) >= 0) {
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (k + 1 >= cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
        }
        v[k++] = strdup(line);
    }
    free(line);
    fclose(f);
    v[k] = NULL;
    *n = k;
    return v;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void test_classification(void **state)
{
    (void)state;
    size_t n;
    char **lines = read_lines(FIX "cls.tsv", &n);
    const char **g = malloc(n * sizeof *g), **p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        char *tab = strchr(lines[i], '\t');
        *tab = 0;
        g[i] = lines[i];
        p[i] = tab + 1;
    }
    bh_class_report *r;
    assert_int_equal(bh_eval_classification(g, p, n, &r), BH_OK);
    json_t *c = json_object_get(golden, "classification");
    json_t *cls = json_object_get(c, "classes");
    assert_int_equal(r->n_classes, json_array_size(cls));
    for (size_t i = 0; i < r->n_classes; i++) {
        assert_string_equal(r->classes[i], json_string_value(json_array_get(cls, i)));
        near(r->precision[i], json_real_value(json_array_get(json_object_get(c, "precision"), i)), 1e-12, "P");
        near(r->recall[i], json_real_value(json_array_get(json_object_get(c, "recall"), i)), 1e-12, "R");
        near(r->f1[i], json_real_value(json_array_get(json_object_get(c, "f1"), i)), 1e-12, "F1");
        assert_int_equal(r->support[i], json_integer_value(json_array_get(json_object_get(c, "support"), i)));
        for (size_t j = 0; j < r->n_classes; j++)
            assert_int_equal(r->confusion[i * r->n_classes + j],
                             json_integer_value(json_array_get(json_array_get(json_object_get(c, "confusion"), i), j)));
    }
    near(r->accuracy, json_real_value(json_object_get(c, "accuracy")), 1e-12, "accuracy");
    const double got[3][3] = {{r->micro_p, r->micro_r, r->micro_f1},
                              {r->macro_p, r->macro_r, r->macro_f1},
                              {r->weighted_p, r->weighted_r, r->weighted_f1}};
    const char *avg[3] = {"micro", "macro", "weighted"};
    for (int a = 0; a < 3; a++)
        for (int k = 0; k < 3; k++)
            near(got[a][k], json_real_value(json_array_get(json_object_get(c, avg[a]), (size_t)k)), 1e-12, avg[a]);
    bh_class_report_free(r);
    assert_int_equal(bh_eval_classification(g, p, 0, &r), BH_EINVAL);
    free(g);
    free(p);
    free_lines(lines, n);
}

static void check_ner(bh_ner_mode mode, const char *key, const char *file)
{
    size_t n;
    char **lines = read_lines(file, &n);
    bh_ner_eval *e;
    assert_int_equal(bh_ner_eval_new(mode, &e), BH_OK);
    const char *g[64], *p[64];
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || lines[i][0] == 0) {
            if (k) assert_int_equal(bh_ner_eval_add(e, g, p, k), BH_OK);
            k = 0;
            continue;
        }
        char *a = strchr(lines[i], ' ');
        char *b = strchr(a + 1, ' ');
        *a = *b = 0;
        g[k] = a + 1;
        p[k] = b + 1;
        k++;
    }
    bh_ner_report *r;
    assert_int_equal(bh_ner_eval_report(e, &r), BH_OK);
    json_t *G = json_object_get(golden, key);
    assert_int_equal(r->total_gold, json_integer_value(json_object_get(G, "gold")));
    assert_int_equal(r->total_pred, json_integer_value(json_object_get(G, "pred")));
    assert_int_equal(r->total_correct, json_integer_value(json_object_get(G, "correct")));
    near(r->f1, json_real_value(json_object_get(G, "f1")), 1e-9, key);
    near(r->precision, json_real_value(json_object_get(G, "precision")), 1e-9, key);
    near(r->accuracy, json_real_value(json_object_get(G, "accuracy")), 1e-9, key);
    json_t *types = json_object_get(G, "types");
    assert_int_equal(r->n_types, json_object_size(types));
    for (size_t t = 0; t < r->n_types; t++) {
        json_t *T = json_object_get(types, r->types[t]);
        assert_non_null(T);
        assert_int_equal(r->correct[t], json_integer_value(json_object_get(T, "correct")));
        assert_int_equal(r->gold[t], json_integer_value(json_object_get(T, "gold")));
        assert_int_equal(r->pred[t], json_integer_value(json_object_get(T, "pred")));
        near(r->type_f1[t], json_real_value(json_object_get(T, "f1")), 1e-9, r->types[t]);
    }
    bh_ner_report_free(r);
    bh_ner_eval_free(e);
    free_lines(lines, n);
}

static void test_ner_conlleval(void **state)
{
    (void)state;
    check_ner(BH_NER_CONLLEVAL, "ner_conlleval", FIX "ner.txt");
}

static void test_ner_strict(void **state)
{
    (void)state;
    check_ner(BH_NER_STRICT_IOB2, "ner_strict_iob2", FIX "ner_iob2.txt");
    check_ner(BH_NER_STRICT_IOBES, "ner_strict_iobes", FIX "ner_iobes.txt");
    bh_ner_eval *e;
    assert_int_equal(bh_ner_eval_new(BH_NER_STRICT_IOB2, &e), BH_OK);
    const char *g[] = {"B-PER", "E-PER"}, *p[] = {"B-PER", "I-PER"};
    assert_int_equal(bh_ner_eval_add(e, g, p, 2), BH_EFORMAT); /* E- is not IOB2, as in seqeval */
    const char *g2[] = {"TIM"};
    assert_int_equal(bh_ner_eval_add(e, g2, g2, 1), BH_EFORMAT);
    bh_ner_eval_free(e);
}

static void test_squad(void **state)
{
    (void)state;
    json_t *norm = json_object_get(golden, "squad_normalize");
    const char *key;
    json_t *val;
    bh_buf b = {0};
    json_object_foreach(norm, key, val)
    {
        assert_int_equal(bh_squad_normalize(key, strlen(key), &b), BH_OK);
        assert_string_equal(b.data, json_string_value(val));
    }
    bh_buf_free(&b);
    json_error_t je;
    json_t *gold = json_load_file(FIX "squad_gold.json", 0, &je);
    json_t *pred = json_load_file(FIX "squad_pred.json", 0, &je);
    assert_non_null(gold);
    assert_non_null(pred);
    json_t *per = json_object_get(json_object_get(golden, "squad"), "per_question");
    double em_sum = 0, f1_sum = 0;
    size_t total = 0, ai, pi, qi;
    json_t *art, *par, *qa;
    json_array_foreach(json_object_get(gold, "data"), ai, art)
        json_array_foreach(json_object_get(art, "paragraphs"), pi, par)
            json_array_foreach(json_object_get(par, "qas"), qi, qa)
    {
        total++;
        const char *id = json_string_value(json_object_get(qa, "id"));
        json_t *pv = json_object_get(pred, id);
        double em = 0, f1 = 0;
        if (pv) {
            const char *golds[8];
            size_t ng = 0, k;
            json_t *a;
            json_array_foreach(json_object_get(qa, "answers"), k, a) golds[ng++] = json_string_value(json_object_get(a, "text"));
            assert_int_equal(bh_squad_score(json_string_value(pv), golds, ng, &em, &f1), BH_OK);
        }
        json_t *want = json_object_get(per, id);
        near(em, json_real_value(json_array_get(want, 0)), 1e-12, id);
        near(f1, json_real_value(json_array_get(want, 1)), 1e-12, id);
        em_sum += em;
        f1_sum += f1;
    }
    near(100 * em_sum / (double)total, json_real_value(json_object_get(json_object_get(golden, "squad"), "exact_match")), 1e-9, "EM");
    near(100 * f1_sum / (double)total, json_real_value(json_object_get(json_object_get(golden, "squad"), "f1")), 1e-9, "F1");
    json_decref(gold);
    json_decref(pred);
}

static void test_mt(void **state)
{
    (void)state;
    json_t *tok = json_object_get(golden, "tok13a");
    const char *key;
    json_t *val;
    bh_buf b = {0};
    json_object_foreach(tok, key, val)
    {
        assert_int_equal(bh_tokenize_13a(key, strlen(key), &b), BH_OK);
        assert_string_equal(b.data, json_string_value(val));
    }
    bh_buf_free(&b);
    size_t nh, nr;
    char **h = read_lines(FIX "mt_hyp.txt", &nh), **r = read_lines(FIX "mt_ref.txt", &nr);
    assert_int_equal(nh, nr);
    bh_bleu bl;
    assert_int_equal(bh_bleu_corpus((const char *const *)h, (const char *const *)r, nh, &bl), BH_OK);
    json_t *G = json_object_get(golden, "bleu");
    near(bl.score, json_real_value(json_object_get(G, "score")), 1e-9, "BLEU");
    near(bl.bp, json_real_value(json_object_get(G, "bp")), 1e-12, "BP");
    assert_int_equal(bl.sys_len, json_integer_value(json_object_get(G, "sys_len")));
    assert_int_equal(bl.ref_len, json_integer_value(json_object_get(G, "ref_len")));
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(bl.correct[k], json_integer_value(json_array_get(json_object_get(G, "correct"), k)));
        assert_int_equal(bl.total[k], json_integer_value(json_array_get(json_object_get(G, "total"), k)));
    }
    double chrf;
    assert_int_equal(bh_chrf_corpus((const char *const *)h, (const char *const *)r, nh, &chrf), BH_OK);
    near(chrf, json_real_value(json_object_get(golden, "chrf")), 1e-9, "chrF");
    /* identical text scores 100 */
    assert_int_equal(bh_bleu_corpus((const char *const *)r, (const char *const *)r, nr, &bl), BH_OK);
    near(bl.score, 100.0, 1e-9, "BLEU self");
    /* the segment is rstripped before 13a, as in sacreBLEU: "foo-\n" keeps
     * its hyphen (13a drops a hyphen before a newline inside a segment) */
    const char *hy[1] = {"a b c d foo-\n"}, *rf[1] = {"a b c d foo-"};
    assert_int_equal(bh_bleu_corpus(hy, rf, 1, &bl), BH_OK);
    near(bl.score, 100.0, 1e-9, "BLEU, trailing newline");
    free_lines(h, nh);
    free_lines(r, nr);
}

static void test_perplexity(void **state)
{
    (void)state;
    size_t n;
    char **l = read_lines(FIX "logprob.txt", &n);
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = strtod(l[i], NULL);
    double ppl;
    assert_int_equal(bh_perplexity(v, n, &ppl), BH_OK);
    near(ppl, json_real_value(json_object_get(golden, "perplexity")), 1e-9, "ppl");
    v[0] = NAN;
    assert_int_equal(bh_perplexity(v, n, &ppl), BH_ENUMERIC);
    assert_int_equal(bh_perplexity(v, 0, &ppl), BH_EINVAL);
    free(v);
    free_lines(l, n);
}

/* The word-overlap QA baseline answers with one whole sentence of the
 * context, split by the project's segmenter: a decimal point or an
 * abbreviation's period does not end a sentence. */
static void test_qa_overlap(void **state)
{
    (void)state;
    bh_segmenter *seg = NULL;
    assert_int_equal(bh_segmenter_new(&seg), BH_OK);
    bh_buf out = {0};
    const char *ctx = "The value of pi is about 3.14 and it never ends. Dr. Rao wrote a book about circles.";
    assert_int_equal(bh__qa_overlap(seg, ctx, "What is the value of pi?", &out), BH_OK);
    assert_string_equal(out.data, "The value of pi is about 3.14 and it never ends.");
    bh_buf_clear(&out);
    assert_int_equal(bh__qa_overlap(seg, ctx, "Who wrote a book about circles?", &out), BH_OK);
    assert_string_equal(out.data, "Dr. Rao wrote a book about circles.");
    bh_buf_clear(&out);
    const char *hi = "भारत की राजधानी नई दिल्ली है। मुंबई सबसे बड़ा शहर है।";
    assert_int_equal(bh__qa_overlap(seg, hi, "सबसे बड़ा शहर कौन सा है?", &out), BH_OK);
    assert_string_equal(out.data, "मुंबई सबसे बड़ा शहर है।");
    bh_buf_clear(&out);
    /* no sentence at all: the whole (blank) context */
    assert_int_equal(bh__qa_overlap(seg, "  ", "why?", &out), BH_OK);
    assert_string_equal(out.data, "  ");
    bh_buf_free(&out);
    bh_segmenter_free(seg);
}

int main(void)
{
    json_error_t je;
    golden = json_load_file(FIX "golden.json", 0, &je);
    if (!golden) {
        fprintf(stderr, "cannot read " FIX "golden.json (run from the repository root)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification), cmocka_unit_test(test_ner_conlleval),
        cmocka_unit_test(test_ner_strict),     cmocka_unit_test(test_squad),
        cmocka_unit_test(test_mt),             cmocka_unit_test(test_perplexity),
        cmocka_unit_test(test_qa_overlap),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(golden);
    return rc;
}
