/* tests/int8_rows.h — the bound int8 rows must keep (bh_model_convert's
 * F16-Q8 and Q8): every value of a row within half a step of that row's
 * scale, max|row| / 127 (slack: the scale is F16, rounded up). Header-only,
 * for the C tests. */
#ifndef BH_TESTS_INT8_ROWS_H
#define BH_TESTS_INT8_ROWS_H

#include <math.h>
#include <stddef.h>

/* 1 when got[rows, cols] is within half a step of want row by row */
static inline int test_int8_rows_close(const float *want, const float *got, size_t rows, size_t cols, float slack)
{
    for (size_t r = 0; r < rows; r++) {
        float mx = 0;
        for (size_t c = 0; c < cols; c++) mx = fmaxf(mx, fabsf(want[r * cols + c]));
        for (size_t c = 0; c < cols; c++)
            if (!(fabsf(got[r * cols + c] - want[r * cols + c]) <= mx / 254 * slack)) return 0;
    }
    return 1;
}

/* 1 when got[n] is want[n] rounded to F16 (relative error <= 2^-11) */
static inline int test_f16_close(const float *want, const float *got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= fabsf(want[i]) / 2048 + 1e-7f)) return 0;
    return 1;
}

#endif
