/* core/hash.h — private: FNV-1a, the byte hash behind hashed features, dedup
 * sets and lookup tables. Pure functions; header only. */
#ifndef BH_CORE_HASH_H
#define BH_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a over p[0..n), continuing from h (start from any fixed basis:
 * each caller keeps its own, so that stored hashes stay valid). */
static inline uint64_t bh__fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
