/* models/fastmath.h — exp, tanh and GELU as branch-free float arithmetic,
 * so the loops that call them vectorize (libm's expf and tanhf do not).
 * Shared by the engine's element-wise loops (layers.c) and the bf16 kernel's
 * fused GELU (gemm_bf16.c). Private to libbhasha; no state. */
#ifndef BH_MODELS_FASTMATH_H
#define BH_MODELS_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* exp(x) for x in [-87, 88], relative error ~2e-7: 2^n * e^r with
 * r = x - n ln2 in [-ln2/2, ln2/2] and a degree-6 polynomial. Branch-free
 * integer/float arithmetic only, so loops that call it vectorize (libm's
 * expf and tanhf do not). */
static inline float bh__expf(float x0)
{
    float x = x0 != x0 ? 0.0f : x0; /* NaN: computed on 0, returned as NaN below */
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504f + 12582912.0f; /* round to nearest via the 1.5*2^23 trick */
    float n = t - 12582912.0f;
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
              r * (0.00833345205f + r * 0.00138888889f)))));
    uint32_t e = (uint32_t)((int32_t)n + 127) << 23;
    float sc;
    memcpy(&sc, &e, sizeof sc);
    return x0 != x0 ? x0 : p * sc;
}

/* tanh(u) = 1 - 2 / (exp(2u) + 1); saturates correctly at both ends. */
static inline float bh__tanhf(float u)
{
    return 1.0f - 2.0f / (bh__expf(2.0f * u) + 1.0f);
}

#define BH__GELU_C 0.7978845608028654f /* sqrt(2/pi) */

/* GELU, tanh form (GPT-2's and BERT's "gelu_new"; torch's approximate="tanh") */
static inline float bh__gelu(float v)
{
    float u = BH__GELU_C * (v + 0.044715f * v * v * v);
    return 0.5f * v * (1.0f + bh__tanhf(u));
}

#endif
