/* tests/test_model_threads.c — the engine's thread pool (models/threads.c):
 * every index runs exactly once on a valid thread id, and whole models give
 * bit-identical logits, losses, gradients and AdamW updates on 1, 2 and 3
 * threads (post-LN encoder with padding, pre-LN encoder, decoder; dropout
 * on). Shapes are chosen so every pooled loop really splits at 2 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/model.h"
#include "models/threads.h"

typedef struct mark_ctx {
    int *hits;
    int *bad_tid;
    int size;
} mark_ctx;

static void mark(void *vc, int b, int e, int tid)
{
    mark_ctx *c = vc;
    if (tid < 0 || tid >= c->size) (*c->bad_tid)++;
    for (int i = b; i < e; i++) c->hits[i]++; /* ranges are disjoint: no race */
}

static void test_pool_covers(void **state)
{
    (void)state;
    bh__pool *p;
    assert_int_equal(bh__pool_new(0, &p), BH_EINVAL);
    assert_int_equal(bh__pool_new(3, &p), BH_OK);
    assert_int_equal(bh__pool_size(p), 3);
    assert_int_equal(bh__pool_size(NULL), 1);
    int hits[1000], bad = 0;
    static const int ns[] = {0, 1, 2, 3, 7, 1000};
    for (int rep = 0; rep < 300; rep++) /* many rounds: wake-up / done races */
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
            for (int grain = 1; grain <= 3; grain++) {
                int n = ns[k];
                memset(hits, 0, sizeof hits);
                mark_ctx c = {hits, &bad, 3};
                bh__pool_for(rep % 2 ? p : NULL, n, grain, mark, &c);
                for (int i = 0; i < n; i++) assert_int_equal(hits[i], 1);
            }
    assert_int_equal(bad, 0);
    bh__pool_free(p);
    bh__pool_free(NULL);
}

typedef struct run_out {
    float *logits, *grads, *params;
    float loss, loss2, eval;
} run_out;

static bh_model_config cfg(bh_arch arch, int pre_ln)
{
    bh_model_config c;
    bh_model_config_default(&c, arch);
    c.vocab = 50;
    c.max_len = 32;
    c.dim = 64;
    c.layers = 2;
    c.heads = 4;
    c.ffn = 256;
    c.pre_ln = pre_ln;
    c.dropout = 0.1f;
    c.mask_id = arch == BH_ARCH_ENCODER ? 1 : -1;
    return c;
}

/* forward logits, one training step (loss, gradients), AdamW, a second
 * step's loss and an evaluation loss, all on `threads` threads */
static run_out run(const bh_model_config *c, int threads, const int32_t *ids, const uint8_t *mask,
                   const int32_t *tg, int B, int T)
{
    run_out r;
    bh_model *m;
    assert_int_equal(bh_model_new(c, 7, &m), BH_OK);
    assert_int_equal(bh_model_set_threads(m, threads), BH_OK);
    size_t np = bh_model_num_params(m), N = (size_t)B * T;
    r.logits = malloc(N * c->vocab * sizeof(float));
    r.grads = malloc(np * sizeof(float));
    r.params = malloc(np * sizeof(float));
    assert_int_equal(bh_model_forward(m, ids, mask, B, T, NULL, r.logits), BH_OK);
    int nt;
    assert_int_equal(bh_model_train_step(m, ids, mask, tg, B, T, 1.0f, 99, &r.loss, &nt), BH_OK);
    size_t off = 0;
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        assert_int_equal(bh_model_tensor(m, i, &ti), BH_OK);
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
        memcpy(r.grads + off, ti.grad, n * sizeof(float));
        off += n;
    }
    assert_int_equal(off, np);
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    bh_optim *o;
    assert_int_equal(bh_optim_new(m, &oc, &o), BH_OK);
    assert_int_equal(bh_optim_step(o, m), BH_OK);
    bh_model_zero_grad(m);
    assert_int_equal(bh_model_train_step(m, ids, mask, tg, B, T, 1.0f, 100, &r.loss2, &nt), BH_OK);
    assert_int_equal(bh_model_loss(m, ids, mask, tg, B, T, &r.eval, &nt), BH_OK);
    off = 0;
    for (int i = 0; i < bh_model_num_tensors(m); i++) {
        bh_tensor_info ti;
        assert_int_equal(bh_model_tensor(m, i, &ti), BH_OK);
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
        memcpy(r.params + off, ti.data, n * sizeof(float));
        off += n;
    }
    bh_optim_free(o);
    bh_model_free(m);
    return r;
}

static void check_arch(bh_arch arch, int pre_ln)
{
    bh_model_config c = cfg(arch, pre_ln);
    int B = 4, T = 32, N = B * T;
    int32_t ids[128], tg[128];
    uint8_t mask[128];
    uint64_t rng = 3;
    for (int i = 0; i < N; i++) {
        ids[i] = 2 + (int32_t)(bh_rng_next(&rng) % 48);
        mask[i] = !(arch == BH_ARCH_ENCODER && i / T == 1 && i % T >= 20); /* sequence 1 padded */
    }
    for (int i = 0; i < N; i++) /* every row has a target, so the cross-entropy rows split too */
        tg[i] = arch == BH_ARCH_DECODER ? ((i + 1) % T ? ids[i + 1] : -100) : (mask[i] ? ids[i] : -100);
    const uint8_t *mk = arch == BH_ARCH_ENCODER ? mask : NULL;
    run_out a = run(&c, 1, ids, mk, tg, B, T);
    size_t np;
    {
        bh_model *m;
        assert_int_equal(bh_model_new(&c, 7, &m), BH_OK);
        np = bh_model_num_params(m);
        bh_model_free(m);
    }
    for (int threads = 2; threads <= 3; threads++) {
        run_out b = run(&c, threads, ids, mk, tg, B, T);
        assert_memory_equal(a.logits, b.logits, (size_t)N * c.vocab * sizeof(float));
        assert_memory_equal(&a.loss, &b.loss, sizeof(float));
        assert_memory_equal(a.grads, b.grads, np * sizeof(float));
        assert_memory_equal(&a.loss2, &b.loss2, sizeof(float));
        assert_memory_equal(&a.eval, &b.eval, sizeof(float));
        assert_memory_equal(a.params, b.params, np * sizeof(float));
        free(b.logits), free(b.grads), free(b.params);
    }
    free(a.logits), free(a.grads), free(a.params);
    bh_blas_set_threads(1);
}

static void test_post_ln_encoder(void **state)
{
    (void)state;
    check_arch(BH_ARCH_ENCODER, 0);
}

static void test_pre_ln_encoder(void **state)
{
    (void)state;
    check_arch(BH_ARCH_ENCODER, 1);
}

static void test_decoder(void **state)
{
    (void)state;
    check_arch(BH_ARCH_DECODER, 1);
}

static void test_set_threads_args(void **state)
{
    (void)state;
    bh_model_config c = cfg(BH_ARCH_DECODER, 1);
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 1, &m), BH_OK);
    assert_int_equal(bh_model_set_threads(NULL, 2), BH_EINVAL);
    assert_int_equal(bh_model_set_threads(m, 0), BH_EINVAL);
    assert_int_equal(bh_model_set_threads(m, 2), BH_OK);
    assert_int_equal(bh_model_set_threads(m, 2), BH_OK);
    assert_int_equal(bh_model_set_threads(m, 1), BH_OK);
    bh_model_free(m);
    bh_blas_set_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_covers),
        cmocka_unit_test(test_post_ln_encoder),
        cmocka_unit_test(test_pre_ln_encoder),
        cmocka_unit_test(test_decoder),
        cmocka_unit_test(test_set_threads_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
