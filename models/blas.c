/* models/blas.c — OpenBLAS kernel selection and self-check.
 * OpenBLAS (DYNAMIC_ARCH builds) picks its kernel once, when the library is
 * loaded, from the CPU id or OPENBLAS_CORETYPE; a program that wants another
 * kernel has to set the variable and start again, which bh_blas_autotune does. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bhasha/model.h"
#include "core/error.h"

char *openblas_get_corename(void);
void openblas_set_num_threads(int n);

const char *bh_blas_corename(void)
{
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}

void bh_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

bh_status bh_blas_selfcheck(void)
{
    /* shapes that exercise edge tiles and both transposes */
    static const int shapes[][3] = {{67, 45, 129}, {128, 128, 64}, {1, 300, 77}, {33, 1, 250}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)N * K),
              *c = malloc(sizeof(float) * (size_t)M * N);
        if (!a || !b || !c) {
            free(a), free(b), free(c);
            return bh__fail(BH_ENOMEM, "blas selfcheck: out of memory");
        }
        uint64_t rng = 42 + s;
        for (int i = 0; i < M * K; i++) a[i] = (float)((double)(bh_rng_next(&rng) >> 11) / 9007199254740992.0 - 0.5);
        for (int i = 0; i < N * K; i++) b[i] = (float)((double)(bh_rng_next(&rng) >> 11) / 9007199254740992.0 - 0.5);
        /* c[M,N] = a[M,K] . b[N,K]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        double worst = 0.0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double ref = 0.0, mag = 0.0;
                for (int k = 0; k < K; k++) {
                    ref += (double)a[i * K + k] * b[j * K + k];
                    mag += fabs((double)a[i * K + k] * b[j * K + k]);
                }
                double err = fabs(c[i * N + j] - ref) / (mag + 1e-30);
                worst = err > worst ? err : worst;
            }
        free(a), free(b), free(c);
        if (!(worst <= 1e-5))
            return bh__fail(BH_ENUMERIC, "blas selfcheck: kernel %s: sgemm %dx%dx%d relative error %g",
                            bh_blas_corename(), M, N, K, worst);
    }
    return BH_OK;
}

/* Kernels Debian's 0.3.21 falls back to on CPUs it does not know. */
static int slow_kernel(const char *name)
{
    static const char *const slow[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                       "Atom", "Katmai", "Coppermine", "Northwood", "Banias",
                                       "Sandybridge"};
    for (size_t i = 0; i < sizeof slow / sizeof *slow; i++)
        if (!strcasecmp(name, slow[i])) return 1;
    return 0;
}

/* Re-executes this program with the same arguments, read back from
 * /proc/self/cmdline so callers need not keep argv around. */
static void reexec(void)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return;
    }
    size_t k;
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = 0;
    size_t argc = 0;
    for (size_t i = 0; i < n; i++) argc += buf[i] == 0;
    char **argv = calloc(argc + 2, sizeof(char *));
    if (argv && n > 0) {
        size_t j = 0;
        for (size_t i = 0; i < n && j < argc + 1; i += strlen(buf + i) + 1) argv[j++] = buf + i;
        execv("/proc/self/exe", argv);
    }
    free(argv);
    free(buf);
}

/* True when the user chose OpenBLAS's thread count. */
static int thread_count_chosen(void)
{
    return getenv("OPENBLAS_NUM_THREADS") || getenv("GOTO_NUM_THREADS") || getenv("OMP_NUM_THREADS");
}

void bh_blas_autotune(void)
{
    const char *keep = getenv("BH_BLAS_KEEP");
    if (keep && *keep && strcmp(keep, "0")) return;
    const char *tried = getenv("BH_BLAS_TRIED");
    if (tried) {
        /* we are the re-executed process: verify the kernel we asked for */
        if (strcmp(tried, "-") && bh_blas_selfcheck() != BH_OK) {
            setenv("OPENBLAS_CORETYPE", tried, 1);
            setenv("BH_BLAS_TRIED", "-", 1);
            reexec();
        }
        return;
    }
    /* OpenBLAS starts its worker threads when it loads and lets them spin
     * for about 0.1 s of CPU even in a process that never multiplies a
     * matrix (most bhasha commands). Unless the user chose a count, start
     * with one thread; bh_blas_set_threads() raises it when asked. */
    int threads = !thread_count_chosen();
    const char *cur = bh_blas_corename(), *want = NULL;
    if (!getenv("OPENBLAS_CORETYPE") && slow_kernel(cur)) {
        __builtin_cpu_init();
        want = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    }
    if (!want && !threads) return;
    if (threads) setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (want) setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("BH_BLAS_TRIED", want ? cur : "-", 1);
    reexec();
    /* the exec failed: carry on as we are */
    unsetenv("BH_BLAS_TRIED");
    if (want) unsetenv("OPENBLAS_CORETYPE");
    if (threads) unsetenv("OPENBLAS_NUM_THREADS");
}
