/* tests/test_gemm_bf16.c — the bf16 linear kernel (models/gemm_bf16.c) and
 * bh_model_set_precision.
 *
 * The kernel is checked against a double-precision product of the same
 * bf16-rounded inputs: a bf16 x bf16 product is exact in fp32, so the only
 * differences are fp32 summation (tolerance 1e-5 relative to the sum of
 * |terms|). Shapes cover every remainder: rows not a multiple of the 12-row
 * micro-tile or the 96-row block, outputs not a multiple of 32, odd K, K over
 * one 256-wide chunk, one row (generation's own path); the backward
 * products (dx through a transposed pack, dW through a paired operand) the
 * same way. Whole models in bf16 stay within 3e-2 of fp32 (relative to the
 * largest hidden value) and give the same bits on 1 and 2 threads; training
 * in bf16 (the output layer's products too) gives the loss and gradient of
 * fp32 within 1e-2 and 3e-2.
 * On a CPU without AVX512-BF16 the kernel tests are skipped and
 * bh_model_set_precision must say BH_EUNSUPPORTED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/model.h"
#include "models/fastmath.h"
#include "models/gemm_bf16.h"

static float frand(uint64_t *s)
{
    return (float)((bh_rng_next(s) >> 40) / 16777216.0) * 2.0f - 1.0f;
}

static void test_round(void **state)
{
    (void)state;
    assert_true(bh__bf16_round(1.0f) == 1.0f);
    /* bf16 keeps 7 fraction bits: near 1 the step is 2^-7. 1 + 2^-8 is
     * halfway between 1 and 1 + 2^-7: ties go to the even one, 1 */
    assert_true(bh__bf16_round(1.0f + 0x1p-8f) == 1.0f);
    /* 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even) */
    assert_true(bh__bf16_round(1.0f + 3 * 0x1p-8f) == 1.0f + 4 * 0x1p-8f);
    assert_true(bh__bf16_round(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);
    assert_true(bh__bf16_round(-2.5f) == -2.5f);
    assert_true(isinf(bh__bf16_round(INFINITY)) && bh__bf16_round(-INFINITY) < 0);
    assert_true(isnan(bh__bf16_round(NAN)));
    /* subnormals flush to signed zero, as VCVTNEPS2BF16 does */
    assert_true(bh__bf16_round(1e-39f) == 0.0f && !signbit(bh__bf16_round(1e-39f)));
    assert_true(bh__bf16_round(-1e-39f) == 0.0f && signbit(bh__bf16_round(-1e-39f)));
    /* the largest float rounds up to infinity, as a conversion must */
    assert_true(isinf(bh__bf16_round(3.4028235e38f)));
}

/* out = x W^T + b (then GELU) in double over the rounded inputs; compares
 * with the kernel's output */
static void check_shape(int M, int N, int K, int bias, int gelu, bh__pool *pool, uint64_t *rng)
{
    float *x = malloc(sizeof(float) * (size_t)M * K), *W = malloc(sizeof(float) * (size_t)N * K);
    float *b = malloc(sizeof(float) * (size_t)N), *out = malloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) x[i] = frand(rng);
    for (size_t i = 0; i < (size_t)N * K; i++) W[i] = frand(rng);
    for (int i = 0; i < N; i++) b[i] = frand(rng);
    bh__bf16w w;
    assert_int_equal(bh__bf16w_pack(&w, W, N, K), BH_OK);
    uint16_t *scratch = malloc(sizeof(uint16_t) * bh__bf16_scratch_size(bh__pool_size(pool), K));
    for (size_t i = 0; i < (size_t)M * N; i++) out[i] = NAN; /* every output must be written */
    bh__bf16_linear(pool, out, x, &w, bias ? b : NULL, M, gelu, scratch);
    for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            double ref = bias ? b[n] : 0.0, mag = fabs(ref);
            for (int k = 0; k < K; k++) {
                double t = (double)bh__bf16_round(x[(size_t)i * K + k]) * bh__bf16_round(W[(size_t)n * K + k]);
                ref += t;
                mag += fabs(t);
            }
            double got = out[(size_t)i * N + n];
            if (gelu) { /* the fused GELU is bh__gelu on the fp32 sum */
                ref = bh__gelu((float)ref);
                mag = mag > 1.0 ? mag : 1.0;
            }
            if (!(fabs(got - ref) <= 1e-5 * mag + 1e-6))
                fail_msg("M=%d N=%d K=%d bias=%d gelu=%d: out[%d,%d] = %.8g, reference %.8g", M, N, K, bias, gelu, i,
                         n, got, ref);
        }
    bh__bf16w_free(&w);
    free(x), free(W), free(b), free(out), free(scratch);
}

static void test_kernel_shapes(void **state)
{
    (void)state;
    if (!bh__bf16_supported()) skip();
    uint64_t rng = 11;
    static const int shapes[][3] = {{1, 1, 1},    {1, 32, 2},  {5, 17, 3},    {12, 32, 64},  {13, 33, 65},
                                    {25, 100, 31}, {96, 64, 256}, {97, 31, 257}, {200, 70, 600}, {11, 48, 1030}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int variant = 0; variant < 3; variant++)
            check_shape(shapes[s][0], shapes[s][1], shapes[s][2], variant != 1, variant == 2, NULL, &rng);
    bh__pool *pool;
    assert_int_equal(bh__pool_new(2, &pool), BH_OK);
    check_shape(300, 40, 70, 1, 1, pool, &rng);
    /* one row (generation): panels split between the threads */
    check_shape(1, 1000, 777, 1, 1, pool, &rng);
    check_shape(1, 333, 64, 0, 0, pool, &rng);
    bh__pool_free(pool);
}

/* The backward products of a linear y[T,O] = x[T,I] W[O,I]^T, with dy[T,O]:
 * dx = dy W through W^T packed (bh__bf16w_pack_t, bh__bf16_linear_add onto
 * a start value), dW += dy^T x through dy paired and x^T packed
 * (bh__bf16_linear_paired), each against a double sum over the rounded
 * inputs. The packs are reused from the previous shape (repacking). */
static void check_backward(int T, int O, int I, bh__pool *pool, bh__bf16w *wt, bh__bf16w *xt, uint64_t *rng)
{
    float *x = malloc(sizeof(float) * (size_t)T * I), *W = malloc(sizeof(float) * (size_t)O * I);
    float *dy = malloc(sizeof(float) * (size_t)T * O), *dx = malloc(sizeof(float) * (size_t)T * I);
    float *dW = malloc(sizeof(float) * (size_t)O * I), *dx0 = malloc(sizeof(float) * (size_t)T * I);
    float *dW0 = malloc(sizeof(float) * (size_t)O * I), *over = malloc(sizeof(float) * (size_t)O * I);
    uint16_t *dyp = malloc(sizeof(uint16_t) * bh__bf16_paired_size(T, O));
    uint16_t *scratch = malloc(sizeof(uint16_t) * bh__bf16_scratch_size(bh__pool_size(pool), O));
    for (size_t i = 0; i < (size_t)T * I; i++) x[i] = frand(rng), dx0[i] = dx[i] = frand(rng);
    for (size_t i = 0; i < (size_t)O * I; i++) W[i] = frand(rng), dW0[i] = dW[i] = frand(rng);
    for (size_t i = 0; i < (size_t)T * O; i++) dy[i] = frand(rng);
    assert_int_equal(bh__bf16w_pack_t(wt, W, O, I), BH_OK);
    assert_int_equal(wt->N, I);
    assert_int_equal(wt->K, O);
    bh__bf16_linear_add(pool, dx, dy, wt, T, scratch);
    bh__bf16_pair(dyp, dy, T, O);
    assert_int_equal(bh__bf16w_pack_t(xt, x, T, I), BH_OK);
    bh__bf16_linear_paired(pool, dW, dyp, xt, O, 1);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < I; i++) {
            double ref = dx0[(size_t)t * I + i], mag = fabs(ref);
            for (int o = 0; o < O; o++) {
                double v = (double)bh__bf16_round(dy[(size_t)t * O + o]) * bh__bf16_round(W[(size_t)o * I + i]);
                ref += v, mag += fabs(v);
            }
            if (!(fabs(dx[(size_t)t * I + i] - ref) <= 1e-5 * mag + 1e-6))
                fail_msg("T=%d O=%d I=%d: dx[%d,%d] = %.8g, reference %.8g", T, O, I, t, i, dx[(size_t)t * I + i], ref);
        }
    /* add = 1 onto the start value in dW, then add = 0 (overwriting NaNs) */
    for (size_t k = 0; k < (size_t)O * I; k++) over[k] = NAN;
    bh__bf16_linear_paired(pool, over, dyp, xt, O, 0);
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++) {
            size_t k = (size_t)o * I + i;
            double ref = 0, mag = 0;
            for (int t = 0; t < T; t++) {
                double v = (double)bh__bf16_round(dy[(size_t)t * O + o]) * bh__bf16_round(x[(size_t)t * I + i]);
                ref += v, mag += fabs(v);
            }
            if (!(fabs(dW[k] - (dW0[k] + ref)) <= 1e-5 * (mag + fabs(dW0[k])) + 1e-6))
                fail_msg("T=%d O=%d I=%d: dW[%d,%d] = %.8g, reference %.8g", T, O, I, o, i, dW[k], dW0[k] + ref);
            if (!(fabs(over[k] - ref) <= 1e-5 * mag + 1e-6))
                fail_msg("T=%d O=%d I=%d: overwritten dW[%d,%d] = %.8g, reference %.8g", T, O, I, o, i, over[k], ref);
        }
    free(x), free(W), free(dy), free(dx), free(dW), free(dx0), free(dW0), free(over), free(dyp), free(scratch);
}

static void test_backward_products(void **state)
{
    (void)state;
    if (!bh__bf16_supported()) skip();
    uint64_t rng = 23;
    bh__bf16w wt = {0}, xt = {0};
    /* odd token counts (a pair with 0), outputs and inputs off the 32-panel
     * and 12-row tiles, sums over more than one 256-wide chunk */
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {12, 32, 32}, {33, 97, 45}, {257, 40, 70}, {600, 130, 33}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
        check_backward(shapes[k][0], shapes[k][1], shapes[k][2], NULL, &wt, &xt, &rng);
    bh__pool *pool;
    assert_int_equal(bh__pool_new(2, &pool), BH_OK);
    check_backward(300, 200, 50, pool, &wt, &xt, &rng);
    bh__pool_free(pool);
    bh__bf16w_free(&wt);
    bh__bf16w_free(&xt);
}

static void test_pack_errors(void **state)
{
    (void)state;
    bh__bf16w w;
    float one = 1.0f;
    assert_int_equal(bh__bf16w_pack(&w, &one, 0, 1), BH_EINVAL);
    assert_int_equal(bh__bf16w_pack(&w, &one, 1, -1), BH_EINVAL);
    assert_null(w.p);
    bh__bf16w_free(&w);
    bh__bf16w_free(NULL);
}

static void test_precision_parse(void **state)
{
    (void)state;
    bh_precision p;
    assert_int_equal(bh_precision_parse("bf16", &p), BH_OK);
    assert_int_equal(p, BH_PRECISION_BF16);
    assert_int_equal(bh_precision_parse("f32", &p), BH_OK);
    assert_int_equal(p, BH_PRECISION_F32);
    assert_int_equal(bh_precision_parse("fp32", &p), BH_OK);
    assert_int_equal(bh_precision_parse("f16", &p), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "f16"));
    assert_int_equal(bh_precision_parse(NULL, &p), BH_EINVAL);
    assert_int_equal(bh_model_set_precision(NULL, BH_PRECISION_BF16), BH_EINVAL);
    assert_int_equal(bh_precision_supported(BH_PRECISION_F32), 1);
    assert_int_equal(bh_precision_supported(BH_PRECISION_BF16), bh__bf16_supported());
    assert_int_equal(bh_precision_supported((bh_precision)7), 0);
}

static bh_model_config cfg(bh_arch arch, int pre_ln)
{
    bh_model_config c;
    bh_model_config_default(&c, arch);
    c.vocab = 60;
    c.max_len = 40;
    c.dim = 64;
    c.layers = 2;
    c.heads = 4;
    c.ffn = 160;
    c.pre_ln = pre_ln;
    c.dropout = 0.0f;
    c.mask_id = arch == BH_ARCH_ENCODER ? 1 : -1;
    return c;
}

enum { B = 3, T = 37 };

static void forward(bh_model *m, const int32_t *ids, const uint8_t *mask, float *h)
{
    assert_int_equal(bh_model_forward(m, ids, mask, B, T, h, NULL), BH_OK);
}

/* Training in bf16 against fp32, same weights and batch, for the three
 * layouts: the loss within 1e-2 relative, the whole gradient within 3e-2
 * (L2, relative to its norm), and 30 AdamW steps on one batch lower the loss
 * as far as fp32's (within 5%). Dropout on, so its masks must match too. */
static void test_train_bf16(void **state)
{
    (void)state;
    if (!bh__bf16_supported()) skip();
    const struct { bh_arch arch; int pre_ln; } kinds[] = {
        {BH_ARCH_ENCODER, 0}, {BH_ARCH_ENCODER, 1}, {BH_ARCH_DECODER, 1}};
    int32_t ids[B * T], tg[B * T];
    uint8_t mask[B * T];
    uint64_t rng = 5;
    for (int i = 0; i < B * T; i++) {
        ids[i] = 2 + (int32_t)(bh_rng_next(&rng) % 58);
        tg[i] = i % 3 ? -100 : ids[i];
        mask[i] = i % T < T - 5 * (i / T);
    }
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        bh_model_config c = cfg(kinds[k].arch, kinds[k].pre_ln);
        c.dropout = 0.1f;
        const uint8_t *mk = kinds[k].arch == BH_ARCH_ENCODER ? mask : NULL;
        bh_model *m[2];
        bh_optim *opt[2];
        bh_optim_config oc;
        bh_optim_config_default(&oc);
        oc.lr = 3e-3f;
        float *g[2], first[2], last[2];
        size_t n[2];
        for (int p = 0; p < 2; p++) {
            assert_int_equal(bh_model_new(&c, 7, &m[p]), BH_OK);
            if (p) assert_int_equal(bh_model_set_precision(m[p], BH_PRECISION_BF16), BH_OK);
            assert_int_equal(bh_optim_new(m[p], &oc, &opt[p]), BH_OK);
            bh_model_zero_grad(m[p]);
            assert_int_equal(bh_model_train_step(m[p], ids, mk, tg, B, T, 1.0f, 9, &first[p], NULL), BH_OK);
            assert_int_equal(bh_model_grads(m[p], &g[p], &n[p]), BH_OK);
        }
        assert_true(n[0] == n[1]);
        if (!(fabs(first[1] - first[0]) <= 1e-2 * fabs(first[0])))
            fail_msg("kind %zu: bf16 loss %g, fp32 %g", k, first[1], first[0]);
        double d2 = 0, g2 = 0;
        for (size_t i = 0; i < n[0]; i++) {
            d2 += ((double)g[1][i] - g[0][i]) * ((double)g[1][i] - g[0][i]);
            g2 += (double)g[0][i] * g[0][i];
        }
        if (!(sqrt(d2) <= 3e-2 * sqrt(g2)))
            fail_msg("kind %zu: bf16 gradient off fp32's by %g of its norm", k, sqrt(d2 / g2));
        assert_true(d2 > 0); /* it did run in bf16 */
        for (int p = 0; p < 2; p++) {
            for (int step = 1; step <= 30; step++) {
                assert_int_equal(bh_optim_step(opt[p], m[p]), BH_OK);
                bh_model_zero_grad(m[p]);
                assert_int_equal(bh_model_train_step(m[p], ids, mk, tg, B, T, 1.0f, 9 + step, &last[p], NULL), BH_OK);
            }
            assert_true(last[p] < 0.5f * first[p]);
            bh_optim_free(opt[p]);
            bh_model_free(m[p]);
        }
        if (!(fabs(last[1] - last[0]) <= 5e-2 * last[0]))
            fail_msg("kind %zu: after 30 steps bf16 loss %g, fp32 %g", k, last[1], last[0]);
    }
}

/* bf16 against fp32 for the three layouts; back to fp32 gives fp32's bits;
 * 2 threads give 1 thread's bits; a training step refreshes the bf16 copy */
static void test_model_bf16(void **state)
{
    (void)state;
    const struct { bh_arch arch; int pre_ln; } kinds[] = {
        {BH_ARCH_ENCODER, 0}, {BH_ARCH_ENCODER, 1}, {BH_ARCH_DECODER, 1}};
    int32_t ids[B * T], tg[B * T];
    uint8_t mask[B * T];
    uint64_t rng = 3;
    for (int i = 0; i < B * T; i++) {
        ids[i] = 2 + (int32_t)(bh_rng_next(&rng) % 58);
        tg[i] = i % 3 ? -100 : ids[i];
        mask[i] = i % T < T - 5 * (i / T); /* the rows have 37, 32 and 27 real tokens */
    }
    size_t nh = (size_t)B * T * 64;
    float *h32 = malloc(nh * sizeof(float)), *h16 = malloc(nh * sizeof(float)), *h = malloc(nh * sizeof(float));
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        bh_model_config c = cfg(kinds[k].arch, kinds[k].pre_ln);
        bh_model *m;
        assert_int_equal(bh_model_new(&c, 7, &m), BH_OK);
        const uint8_t *mk = kinds[k].arch == BH_ARCH_ENCODER ? mask : NULL;
        forward(m, ids, mk, h32);
        if (!bh__bf16_supported()) {
            assert_int_equal(bh_model_set_precision(m, BH_PRECISION_BF16), BH_EUNSUPPORTED);
            assert_int_equal(bh_model_get_precision(m), BH_PRECISION_F32);
            bh_model_free(m);
            continue;
        }
        assert_int_equal(bh_model_set_precision(m, BH_PRECISION_BF16), BH_OK);
        assert_int_equal(bh_model_get_precision(m), BH_PRECISION_BF16);
        forward(m, ids, mk, h16);
        double big = 0, worst = 0;
        for (size_t i = 0; i < nh; i++) {
            big = fmax(big, fabs(h32[i]));
            worst = fmax(worst, fabs((double)h16[i] - h32[i]));
        }
        if (worst > 3e-2 * big) fail_msg("kind %zu: bf16 differs from fp32 by %g (largest |h| %g)", k, worst, big);
        assert_true(worst > 0); /* it did run in bf16 */
        assert_int_equal(bh_model_set_threads(m, 2), BH_OK);
        forward(m, ids, mk, h);
        assert_memory_equal(h, h16, nh * sizeof(float));
        assert_int_equal(bh_model_set_threads(m, 1), BH_OK);
        /* a training step changes the weights: the next bf16 forward must
         * use the new ones, exactly as a fresh bf16 copy would */
        bh_optim *opt;
        bh_optim_config oc;
        bh_optim_config_default(&oc);
        oc.lr = 1e-2f;
        assert_int_equal(bh_optim_new(m, &oc, &opt), BH_OK);
        float loss;
        bh_model_zero_grad(m);
        assert_int_equal(bh_model_train_step(m, ids, mk, tg, B, T, 1.0f, 0, &loss, NULL), BH_OK);
        assert_int_equal(bh_optim_step(opt, m), BH_OK);
        forward(m, ids, mk, h);
        assert_int_equal(bh_model_set_precision(m, BH_PRECISION_BF16), BH_OK);
        forward(m, ids, mk, h16);
        assert_memory_equal(h, h16, nh * sizeof(float));
        /* back to fp32: the plain path's bits */
        assert_int_equal(bh_model_set_precision(m, BH_PRECISION_F32), BH_OK);
        forward(m, ids, mk, h);
        assert_memory_not_equal(h, h16, nh * sizeof(float));
        bh_optim_free(opt);
        bh_model_free(m);
    }
    free(h32), free(h16), free(h);
}

/* generation through the KV cache (prompt, then one token: the one-row
 * path and the packed output layer): bf16 logits near fp32's */
static void test_generate_bf16(void **state)
{
    (void)state;
    if (!bh__bf16_supported()) skip();
    bh_model_config c = cfg(BH_ARCH_DECODER, 1);
    bh_model *m;
    assert_int_equal(bh_model_new(&c, 9, &m), BH_OK);
    int32_t prompt[5] = {3, 9, 27, 11, 40};
    float l32[60], l16[60];
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(bh_model_set_precision(m, pass ? BH_PRECISION_BF16 : BH_PRECISION_F32), BH_OK);
        bh_gen *g;
        assert_int_equal(bh_gen_new(m, &g), BH_OK);
        assert_int_equal(bh_gen_feed(g, prompt, 5, pass ? l16 : l32), BH_OK);
        int32_t next = 7;
        assert_int_equal(bh_gen_feed(g, &next, 1, pass ? l16 : l32), BH_OK);
        bh_gen_free(g);
    }
    double big = 0, worst = 0;
    for (int i = 0; i < 60; i++) {
        big = fmax(big, fabs(l32[i]));
        worst = fmax(worst, fabs((double)l16[i] - l32[i]));
    }
    if (worst > 3e-2 * big) fail_msg("bf16 logits differ from fp32 by %g (largest %g)", worst, big);
    assert_true(worst > 0);
    bh_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_kernel_shapes),
        cmocka_unit_test(test_backward_products),
        cmocka_unit_test(test_pack_errors),
        cmocka_unit_test(test_precision_parse),
        cmocka_unit_test(test_model_bf16),
        cmocka_unit_test(test_train_bf16),
        cmocka_unit_test(test_generate_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
