/* tests/test_gemm_bf16.c — the bf16 linear kernel (models/gemm_bf16.c) and
 * bh_model_set_precision.
 *
 * The kernel is checked against a double-precision product of the same
 * bf16-rounded inputs: a bf16 x bf16 product is exact in fp32, so the only
 * differences are fp32 summation (tolerance 1e-5 relative to the sum of
 * |terms|). Shapes cover every remainder: rows not a multiple of the 12-row
 * micro-tile or the 96-row block, outputs not a multiple of 32, odd K, K over
 * one 256-wide chunk, one row (generation's own path). Whole models in bf16 stay within 3e-2 of fp32 (relative
 * to the largest hidden value), and give the same bits on 1 and 2 threads.
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
        cmocka_unit_test(test_pack_errors),
        cmocka_unit_test(test_precision_parse),
        cmocka_unit_test(test_model_bf16),
        cmocka_unit_test(test_generate_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
