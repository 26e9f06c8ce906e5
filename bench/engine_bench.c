/* bench/engine_bench.c — the machine's own yardsticks for bench/bench_engine.sh
 * (what every engine figure is stated against); one JSON line each.
 *   engine_bench sgemm THREADS            sgemm GFLOP/s: square and transformer shapes
 *   engine_bench spin                     two-core scaling of a plain compute loop
 *   engine_bench membw                    one core's read bandwidth over 512 MB (GB/s):
 *                                         generation at batch 1 reads every weight once per
 *                                         token, so params * 4 bytes / this = its floor
 * The model workloads (inference, generation, training) are `bhasha bench
 * model` (pipeline/cli_bench.c); bench/bench_engine.sh runs both. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bhasha/model.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sgemm_gflops(int M, int N, int K, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)N * K),
          *c = malloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)N * K; i++) b[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        t = now_s() - t;
        best = t < best ? t : best;
    }
    free(a), free(b), free(c);
    return 2.0 * M * N * K / best / 1e9;
}

/* a plain dependent floating-point loop; not inlined, so the one-thread and
 * two-thread runs execute the same code */
__attribute__((noinline)) static void *spin(void *arg)
{
    volatile double *out = arg;
    double x = 1.0, y = 0.5;
    for (long i = 0; i < 400000000L; i++) x = x * 0.9999999 + y;
    *out = x;
    return NULL;
}

int main(int argc, char **argv)
{
    bh_blas_autotune();
    if (argc < 2) {
        fprintf(stderr, "usage: engine_bench MODE ...\n");
        return 2;
    }
    const char *mode = argv[1];
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    bh_blas_set_threads(threads);
    if (!strcmp(mode, "sgemm")) {
        static const int shapes[][3] = {{2048, 2048, 2048}, {1024, 3072, 768}, {1024, 768, 3072},
                                        {4096, 768, 256}, {4096, 1024, 256}};
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            printf("{\"bench\":\"sgemm\",\"threads\":%d,\"m\":%d,\"n\":%d,\"k\":%d,\"gflops\":%.1f,\"kernel\":\"%s\"}\n",
                   threads, shapes[i][0], shapes[i][1], shapes[i][2],
                   sgemm_gflops(shapes[i][0], shapes[i][1], shapes[i][2], 3), bh_blas_corename());
        return 0;
    }
    if (!strcmp(mode, "spin")) {
        double r1, r2[2];
        pthread_t th[2];
        double t = now_s();
        pthread_create(&th[0], NULL, spin, &r1);
        pthread_join(th[0], NULL);
        double t1 = now_s() - t;
        t = now_s();
        for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, spin, &r2[i]);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        double t2 = now_s() - t;
        printf("{\"bench\":\"spin\",\"one_s\":%.3f,\"two_s\":%.3f,\"scaling\":%.2f}\n", t1, t2, 2 * t1 / t2);
        return 0;
    }
    if (!strcmp(mode, "membw")) {
        /* sum 512 MB of floats with 8 independent accumulators, best of 5 */
        size_t n = (size_t)128 << 20;
        float *a = malloc(n * sizeof *a);
        if (!a) return 1;
        for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7);
        double best = 1e30, sink = 0;
        for (int rep = 0; rep < 5; rep++) {
            float acc[8] = {0};
            double t = now_s();
            for (size_t i = 0; i < n; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += a[i + j];
            t = now_s() - t;
            for (int j = 0; j < 8; j++) sink += acc[j];
            best = t < best ? t : best;
        }
        printf("{\"bench\":\"membw\",\"threads\":1,\"gb_s\":%.1f,\"check\":%.0f}\n", n * sizeof *a / best / 1e9, sink);
        free(a);
        return 0;
    }
    fprintf(stderr, "engine_bench: unknown mode '%s' (sgemm, spin, membw; models: bhasha bench model)\n", mode);
    return 2;
}
