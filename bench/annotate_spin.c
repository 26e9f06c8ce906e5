/* bench/annotate_spin.c — a plain compute loop (integer mixing, no memory
 * traffic) that runs a fixed amount of work and prints its wall time. Two
 * copies at once against one give the machine's own two-core scaling, the
 * yardstick for `bhasha annotate --threads 2` in bench_annotate.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 400000000L;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.4f %llu\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, (unsigned long long)(x & 1));
    return 0;
}
