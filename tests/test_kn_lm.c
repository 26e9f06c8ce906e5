/* tests/test_kn_lm.c — the Kneser-Ney baseline: probabilities worked out by
 * hand for a tiny bigram model, every conditional distribution summing to one
 * (seen, unseen and begin-of-document contexts, orders 1-4), and errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bhasha/eval.h"

static double lp(const bh_kn_lm *lm, const int32_t *ctx, size_t n, int32_t w)
{
    double v = 0;
    assert_int_equal(bh_kn_lm_logprob(lm, ctx, n, w, &v), BH_OK);
    return v;
}

/* Document 0 1 0 1, vocabulary 3, order 2. Bigrams with the begin symbol B:
 * (B,0) 1, (0,1) 2, (1,0) 1, so D2 = 2/(2+2*1) = 1/2. Continuation counts:
 * 0 <- {B,1} = 2, 1 <- {0} = 1; total 3, 2 types, D1 = 1/(1+2) = 1/3:
 * P1(0) = 5/9 + 2/27 = 17/27, P1(1) = 2/9 + 2/27 = 8/27, P1(2) = 2/27.
 * P(1|0) = 1.5/2 + 0.5*1/2 * 8/27; P(0|0) = 0.25 * 17/27; P(0|B) = 0.5 + 0.5*17/27. */
static void test_hand_bigram(void **state)
{
    (void)state;
    bh_kn_lm *lm;
    assert_int_equal(bh_kn_lm_new(2, 3, &lm), BH_OK);
    const int32_t doc[] = {0, 1, 0, 1};
    assert_int_equal(bh_kn_lm_add(lm, doc, 4), BH_OK);
    assert_int_equal(bh_kn_lm_finish(lm), BH_OK);
    const int32_t c0[] = {0}, c1[] = {1}, c2[] = {2};
    assert_true(fabs(lp(lm, c0, 1, 1) - log(0.75 + 0.25 * 8.0 / 27)) < 1e-12);
    assert_true(fabs(lp(lm, c0, 1, 0) - log(0.25 * 17.0 / 27)) < 1e-12);
    assert_true(fabs(lp(lm, c0, 1, 2) - log(0.25 * 2.0 / 27)) < 1e-12);
    assert_true(fabs(lp(lm, NULL, 0, 0) - log(0.5 + 0.5 * 17.0 / 27)) < 1e-12);
    /* context 2 never seen: the unigram estimate */
    assert_true(fabs(lp(lm, c2, 1, 1) - log(8.0 / 27)) < 1e-12);
    /* only the last order-1 ids of a longer context count */
    const int32_t c21[] = {2, 1};
    assert_true(fabs(lp(lm, c21, 2, 0) - lp(lm, c1, 1, 0)) < 1e-15);
    assert_int_equal(bh_kn_lm_num_grams(lm, 2), 3);
    assert_int_equal(bh_kn_lm_num_grams(lm, 1), 2);
    assert_int_equal(bh_kn_lm_num_grams(lm, 3), 0);
    bh_kn_lm_free(lm);
}

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void test_sums_to_one(void **state)
{
    (void)state;
    enum { V = 40, DOCS = 60 };
    for (int order = 1; order <= BH_KN_MAX_ORDER; order++) {
        bh_kn_lm *lm;
        assert_int_equal(bh_kn_lm_new(order, V, &lm), BH_OK);
        uint64_t s = 7;
        int32_t doc[50];
        for (int d = 0; d < DOCS; d++) {
            size_t n = 1 + next(&s) % 50;
            /* a skewed distribution over the first 30 ids: 30..39 never occur */
            for (size_t i = 0; i < n; i++) doc[i] = (int32_t)((next(&s) % 30) * (next(&s) % 30) / 30);
            assert_int_equal(bh_kn_lm_add(lm, doc, n), BH_OK);
        }
        assert_int_equal(bh_kn_lm_finish(lm), BH_OK);
        const int32_t ctxs[][3] = {{0, 1, 2}, {5, 5, 5}, {39, 38, 37}, {1, 0, 0}, {29, 3, 0}};
        for (size_t c = 0; c < sizeof ctxs / sizeof *ctxs; c++) {
            for (size_t nctx = 0; nctx <= 3; nctx++) {
                double sum = 0;
                for (int32_t w = 0; w < V; w++) {
                    double v = lp(lm, ctxs[c], nctx, w);
                    assert_true(v < 0 && isfinite(v));
                    sum += exp(v);
                }
                assert_true(fabs(sum - 1.0) < 1e-9);
            }
        }
        bh_kn_lm_free(lm);
    }
}

static void test_errors(void **state)
{
    (void)state;
    bh_kn_lm *lm = NULL;
    assert_int_equal(bh_kn_lm_new(0, 10, &lm), BH_EINVAL);
    assert_int_equal(bh_kn_lm_new(5, 10, &lm), BH_EINVAL);
    assert_int_equal(bh_kn_lm_new(2, 70000, &lm), BH_EINVAL);
    assert_int_equal(bh_kn_lm_new(2, 10, NULL), BH_EINVAL);
    assert_int_equal(bh_kn_lm_new(3, 10, &lm), BH_OK);
    double v;
    const int32_t bad[] = {1, 10}, good[] = {1, 2, 3};
    assert_int_equal(bh_kn_lm_finish(lm), BH_EINVAL); /* nothing counted */
    assert_int_equal(bh_kn_lm_add(lm, bad, 2), BH_EINVAL);
    assert_int_equal(bh_kn_lm_add(lm, NULL, 2), BH_EINVAL);
    assert_int_equal(bh_kn_lm_add(lm, good, 3), BH_OK);
    assert_int_equal(bh_kn_lm_logprob(lm, good, 1, 2, &v), BH_EINVAL); /* not finished */
    assert_int_equal(bh_kn_lm_finish(lm), BH_OK);
    assert_int_equal(bh_kn_lm_add(lm, good, 3), BH_EINVAL); /* finished */
    assert_int_equal(bh_kn_lm_logprob(lm, good, 1, 10, &v), BH_EINVAL);
    assert_int_equal(bh_kn_lm_logprob(lm, bad, 2, 1, &v), BH_EINVAL);
    assert_int_equal(bh_kn_lm_logprob(lm, good, 3, 1, NULL), BH_EINVAL);
    assert_int_equal(bh_kn_lm_logprob(lm, good, 3, 1, &v), BH_OK);
    assert_int_equal(bh_kn_lm_num_grams(NULL, 1), 0);
    bh_kn_lm_free(lm);
    bh_kn_lm_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_bigram),
        cmocka_unit_test(test_sums_to_one),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
