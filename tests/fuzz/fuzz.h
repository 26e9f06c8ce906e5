/* tests/fuzz/fuzz.h — shared helpers of the libFuzzer targets (make fuzz).
 *
 * Each target links the library built with -fsanitize=fuzzer-no-link,address,
 * undefined and defines LLVMFuzzerTestOneInput. The library's contract under
 * test: any input gives a status code, never a crash, a leak, an overflow or
 * undefined behaviour. Loaders that only read paths get the input through an
 * anonymous memory file (memfd), named by its /proc/self/fd path. */
#ifndef BH_FUZZ_H
#define BH_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bhasha.h"

/* Writes data[0..n) to a fresh memory file; path receives its name. Returns
 * the descriptor (close it when done), or -1 (the input is then skipped). */
static inline int fuzz_memfile(const uint8_t *data, size_t n, char *path, size_t cap)
{
    int fd = memfd_create("bhasha-fuzz", 0);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, data + off, n - off);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* A broken contract (a call that failed on content it must accept, an output
 * outside its input): prints what and the library's last error, then aborts,
 * which libFuzzer reports as a crash with the input saved. */
static inline void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, bh_last_error());
    abort();
}

/* A file of the repository (the shipped models), found from the working
 * directory the target runs in: the repository root, as `make fuzz` runs it. */
static inline const char *fuzz_asset(const char *rel)
{
    if (access(rel, R_OK) != 0) {
        fprintf(stderr, "fuzz: %s not found: run from the repository root\n", rel);
        exit(2);
    }
    return rel;
}

#endif
