/* tests/data_limit.h — caps the process's data size for a test: a loader
 * that allocates what its input does not justify then fails with BH_ENOMEM
 * instead of taking the machine's memory. Header-only, for the C tests
 * (include it after cmocka.h). */
#ifndef BH_TESTS_DATA_LIMIT_H
#define BH_TESTS_DATA_LIMIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Lowers the soft RLIMIT_DATA to what the process uses now (VmData) plus
 * extra bytes; returns the old limit for test_restore_data. */
static inline struct rlimit test_limit_data(size_t extra)
{
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_DATA, &old), 0);
    long kb = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmData:", 7)) kb = strtol(line + 7, NULL, 10);
    if (f) fclose(f);
    lim = old;
    if (kb >= 0) lim.rlim_cur = (rlim_t)kb * 1024 + extra;
    if (old.rlim_max != RLIM_INFINITY && lim.rlim_cur > old.rlim_max) lim.rlim_cur = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_DATA, &lim), 0);
    return old;
}

static inline void test_restore_data(const struct rlimit *old) { assert_int_equal(setrlimit(RLIMIT_DATA, old), 0); }

#endif
