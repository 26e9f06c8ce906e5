/* tests/test_kn_lm.c — the Kneser-Ney baseline: probabilities worked out by
 * hand for a tiny bigram model, every conditional distribution summing to one
 * (seen, unseen and begin-of-document contexts, orders 1-4), errors, and
 * finish retried after running out of memory part-way. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bhasha/eval.h"
#include "tests/asan.h"

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

#if !defined(BH_TEST_ASAN) && defined(__GLIBC__)
/* Bytes of address space in use. */
static rlim_t vm_size(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld", &pages) != 1) pages = 0;
    fclose(f);
    return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

/* The body of test_finish_retry, in a child: its exit status is 0 on success,
 * else says which check failed (cmocka's asserts cannot report from there). */
static int finish_retry_child(void)
{
    enum { V = 3000, T = 100000, DOC = 5000 };
    /* blocks of 64 KiB and more come from mmap and go back to the system when
     * freed, so the address-space cap below measures what finish holds */
    mallopt(M_MMAP_THRESHOLD, 64 << 10);
    int32_t *doc = malloc(T * sizeof *doc);
    bh_kn_lm *ref, *lm;
    if (!doc || bh_kn_lm_new(4, V, &ref) || bh_kn_lm_new(4, V, &lm)) return 10;
    uint64_t s = 11;
    for (size_t i = 0; i < T; i++) doc[i] = (int32_t)(next(&s) % V);
    for (size_t i = 0; i < T; i += DOC)
        if (bh_kn_lm_add(ref, doc + i, DOC) || bh_kn_lm_add(lm, doc + i, DOC)) return 11;
    if (bh_kn_lm_finish(ref)) return 12;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl)) return 14;
    rlim_t unlimited = rl.rlim_cur;
    /* a cap raised in small steps: the failures come at one allocation after
     * another, early in the continuation counts to late in the context sums.
     * The cap is over what is in use now, so that memory a failed call kept
     * (a leak) does not hold the next one back from getting further. */
    int fails = 0;
    bh_status st = BH_ENOMEM;
    rlim_t before = vm_size();
    for (rlim_t extra = 0; st == BH_ENOMEM && extra < ((rlim_t)256 << 20); extra += (rlim_t)256 << 10) {
        rlim_t used = vm_size();
        if (!used) return 13;
        rl.rlim_cur = used + extra;
        if (setrlimit(RLIMIT_AS, &rl)) return 15;
        st = bh_kn_lm_finish(lm);
        if (st == BH_ENOMEM) {
            double v;
            fails++;
            if (bh_kn_lm_logprob(lm, doc, 3, 1, &v) != BH_EINVAL) return 16; /* still unfinished */
            /* the failed call gave back its tables (small blocks may stay in the heap) */
            if (vm_size() > before + ((rlim_t)1 << 20)) return 23;
        }
    }
    rl.rlim_cur = unlimited;
    if (setrlimit(RLIMIT_AS, &rl)) return 17;
    if (st == BH_ENOMEM) st = bh_kn_lm_finish(lm);
    if (st) return 18;
    if (fails < 4) return 19;
    for (int k = 1; k <= 4; k++)
        if (bh_kn_lm_num_grams(lm, k) != bh_kn_lm_num_grams(ref, k)) return 20;
    /* bit for bit the model that never failed, seen and unseen grams alike */
    for (size_t i = 0; i + 3 < T; i += 997)
        for (size_t nctx = 0; nctx <= 3; nctx++) {
            int32_t ws[] = {doc[i + 3], (int32_t)(i % V)};
            for (int j = 0; j < 2; j++) {
                double a, b;
                if (bh_kn_lm_logprob(ref, doc + i + 3 - nctx, nctx, ws[j], &a) ||
                    bh_kn_lm_logprob(lm, doc + i + 3 - nctx, nctx, ws[j], &b))
                    return 21;
                if (a != b) return 22;
            }
        }
    bh_kn_lm_free(ref);
    bh_kn_lm_free(lm);
    free(doc);
    return 0;
}
#endif

/* bh_kn_lm_finish failing for want of memory (at many points) reports
 * BH_ENOMEM, and a later call, with memory, gives the same model as one that
 * never failed: no counts added twice. The child's address space is capped;
 * skipped under AddressSanitizer, whose shadow memory does not fit under such
 * a cap, and without glibc's mallopt. */
static void test_finish_retry(void **state)
{
    (void)state;
#if defined(BH_TEST_ASAN) || !defined(__GLIBC__)
    skip();
#else
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(finish_retry_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_bigram),
        cmocka_unit_test(test_sums_to_one),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_finish_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
