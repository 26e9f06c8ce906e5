/* bench/subword_loop.c — a plain compute loop (integer hashing, no memory
 * traffic) that bench_subword.sh runs as one and as two concurrent copies to
 * measure this machine's own two-core scaling. usage: subword_loop ITERATIONS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000000ULL;
    uint64_t h = 1469598103934665603ULL;
    for (uint64_t i = 0; i < n; i++) h = (h ^ (i & 0xff)) * 1099511628211ULL;
    /* print the result so the loop cannot be optimized away */
    printf("%llu\n", (unsigned long long)(h & 1));
    return 0;
}
