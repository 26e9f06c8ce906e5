/* tests/test_workers.c — the ordered worker pool: items come back in the order
 * they went in whatever the threads' timing, never more than depth in flight,
 * and the empty cases return NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>

#include "pipeline/workers.h"

typedef struct item {
    long seq;
    unsigned delay_us;
    long result;
} item;

static void work(void *ctx, void *p)
{
    (void)ctx;
    item *it = p;
    struct timespec ts = {0, (long)it->delay_us * 1000};
    nanosleep(&ts, NULL);
    it->result = it->seq * 3 + 1;
}

static void test_order(void **state)
{
    (void)state;
    enum { N = 600, DEPTH = 7 };
    static item items[N];
    srand(5);
    for (int threads = 1; threads <= 4; threads++) {
        bh__wpool *p;
        assert_int_equal(bh__wpool_new(threads, DEPTH, work, NULL, &p), BH_OK);
        assert_null(bh__wpool_next(p));
        assert_null(bh__wpool_try_next(p));
        long want = 0;
        for (long i = 0; i < N; i++) {
            items[i].seq = i;
            items[i].delay_us = (unsigned)(rand() % 200);
            items[i].result = -1;
            while (bh__wpool_full(p)) {
                item *it = bh__wpool_next(p);
                assert_non_null(it);
                assert_int_equal(it->seq, want++);
                assert_int_equal(it->result, it->seq * 3 + 1);
            }
            assert_true(bh__wpool_pending(p) < DEPTH);
            bh__wpool_submit(p, &items[i]);
            item *it;
            while ((it = bh__wpool_try_next(p))) assert_int_equal(it->seq, want++);
        }
        item *it;
        while ((it = bh__wpool_next(p))) {
            assert_int_equal(it->seq, want++);
            assert_int_equal(it->result, it->seq * 3 + 1);
        }
        assert_int_equal(want, N);
        assert_int_equal(bh__wpool_pending(p), 0);
        bh__wpool_free(p);
    }
}

static void test_bad_args(void **state)
{
    (void)state;
    bh__wpool *p = (bh__wpool *)&p;
    assert_int_equal(bh__wpool_new(0, 4, work, NULL, &p), BH_EINVAL);
    assert_int_equal(bh__wpool_new(4, 2, work, NULL, &p), BH_EINVAL);
    assert_int_equal(bh__wpool_new(1, 2, NULL, NULL, &p), BH_EINVAL);
    bh__wpool_free(NULL);
}

static void test_free_with_work_in_flight(void **state)
{
    (void)state;
    static item items[8];
    bh__wpool *p;
    assert_int_equal(bh__wpool_new(2, 8, work, NULL, &p), BH_OK);
    for (int i = 0; i < 8; i++) {
        items[i].seq = i;
        items[i].delay_us = 100;
        bh__wpool_submit(p, &items[i]);
    }
    bh__wpool_free(p); /* finishes the items, joins the threads */
    for (int i = 0; i < 8; i++) assert_int_equal(items[i].result, i * 3 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_free_with_work_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
