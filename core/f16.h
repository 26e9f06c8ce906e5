/* core/f16.h — private: IEEE 754 binary16 <-> binary32 in software, for the
 * files that store half floats (safetensors F16, the SVM's support vectors).
 * Plain integer code rather than _Float16, which not every supported compiler
 * has on x86. Pure functions; header only. */
#ifndef BH_CORE_F16_H
#define BH_CORE_F16_H

#include <stdint.h>
#include <string.h>

/* IEEE 754 binary16 <-> binary32. The encoder rounds to nearest even and
 * keeps infinities, NaN (quiet) and subnormals. */
static inline uint16_t bh__f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0)); /* Inf, NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: Inf */
    if (ax < 0x38800000u) {                                   /* below 2^-14: subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;          /* below half the smallest subnormal */
        uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23); /* 14..24 */
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((ax >> 13) - (112u << 10)), rem = ax & 0x1fffu; /* rebias 127 -> 15 */
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static inline float bh__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, x;
    if (e == 0x1f) x = sign | 0x7f800000u | (m << 13);
    else if (e) x = sign | ((e + 112u) << 23) | (m << 13);
    else if (!m) x = sign;
    else { /* subnormal: normalize */
        int k = 0;
        while (!(m & 0x400u)) m <<= 1, k++;
        x = sign | ((uint32_t)(113 - k) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

#endif
