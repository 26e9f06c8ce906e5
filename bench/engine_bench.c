/* bench/engine_bench.c — speed of the transformer engine on the workloads of
 * bench/bench_engine.sh; prints one JSON line per measurement.
 *   engine_bench sgemm THREADS            sgemm GFLOP/s: square and transformer shapes
 *   engine_bench spin                     two-core scaling of a plain compute loop
 *   engine_bench membw                    one core's read bandwidth over 512 MB (GB/s):
 *                                         generation at batch 1 reads every weight once per
 *                                         token, so params * 4 bytes / this = its floor
 *   engine_bench enc-mini|enc-base THREADS BATCH SEQ [REPS]   encoder inference tok/s
 *   engine_bench dec-mini THREADS PROMPT NEW                  greedy generation tok/s
 *   engine_bench train-enc-mini|train-dec-mini THREADS BATCH SEQ [REPS]  training tok/s
 * Weights are random (seed 1); inference timing excludes one warm-up run. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bhasha/model.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (user + system, all threads) */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static bh_model_config config(const char *name)
{
    bh_model_config c;
    int dec = strstr(name, "dec") != NULL;
    bh_model_config_default(&c, dec ? BH_ARCH_DECODER : BH_ARCH_ENCODER);
    c.dropout = 0.0f;
    c.mask_id = 4;
    if (strstr(name, "enc-base")) {
        c.vocab = 32000, c.dim = 768, c.layers = 12, c.heads = 12, c.ffn = 3072, c.max_len = 512;
    } else if (dec) {
        c.vocab = 32000, c.dim = 384, c.layers = 6, c.heads = 6, c.ffn = 1536, c.max_len = 512;
    } else {
        c.vocab = 32000, c.dim = 256, c.layers = 4, c.heads = 4, c.ffn = 1024, c.max_len = 512;
    }
    return c;
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
    bh_model_config c = config(mode);
    bh_model *m;
    bh_status st = bh_model_new(&c, 1, &m);
    if (st) {
        fprintf(stderr, "engine_bench: %s\n", bh_last_error());
        return 1;
    }
    /* ENGINE_POOL=n runs the non-GEMM work on n threads while OpenBLAS keeps
     * `threads` (ENGINE_POOL=1 with threads 2 = OpenBLAS-only threading) */
    const char *pool_env = getenv("ENGINE_POOL");
    if ((st = bh_model_set_threads(m, pool_env ? atoi(pool_env) : threads))) {
        fprintf(stderr, "engine_bench: %s\n", bh_last_error());
        return 1;
    }
    bh_blas_set_threads(threads);
    int pool = pool_env ? atoi(pool_env) : threads;
    uint64_t rng = 5;
    if (!strncmp(mode, "dec", 3)) {
        int prompt = argc > 3 ? atoi(argv[3]) : 32, nnew = argc > 4 ? atoi(argv[4]) : 256;
        int32_t *seq = malloc(sizeof(int32_t) * (size_t)(prompt + nnew));
        float *logits = malloc(sizeof(float) * (size_t)c.vocab);
        for (int i = 0; i < prompt; i++) seq[i] = (int32_t)(bh_rng_next(&rng) % (uint64_t)c.vocab);
        bh_gen *g;
        bh_gen_new(m, &g);
        bh_sample_config sc;
        bh_sample_config_default(&sc);
        double best = 1e30;
        for (int rep = 0; rep < 2; rep++) {
            bh_gen_reset(g);
            double t = now_s();
            bh_gen_feed(g, seq, prompt, logits);
            for (int k = 0; k < nnew; k++) {
                seq[prompt + k] = bh_sample(logits, c.vocab, &sc, NULL, 0, &rng);
                if (k + 1 < nnew) bh_gen_feed(g, &seq[prompt + k], 1, logits);
            }
            t = now_s() - t;
            best = t < best ? t : best;
        }
        /* weights streamed per generated token: every parameter once (the
         * tied embedding is read by the output projection) */
        double wmb = bh_model_num_params(m) * 4.0 / 1e6;
        printf("{\"bench\":\"%s\",\"threads\":%d,\"prompt\":%d,\"new\":%d,\"tok_s\":%.1f,\"ms_per_tok\":%.2f,\"weights_mb_per_tok\":%.1f,\"weight_gb_s\":%.1f,\"kernel\":\"%s\",\"peak_rss_mb\":%.0f}\n",
               mode, threads, prompt, nnew, nnew / best, 1e3 * best / nnew, wmb, wmb * nnew / best / 1e3, bh_blas_corename(), peak_rss_kb() / 1024.0);
        bh_gen_free(g);
        free(seq), free(logits);
        bh_model_free(m);
        return 0;
    }
    int B = argc > 3 ? atoi(argv[3]) : 8, T = argc > 4 ? atoi(argv[4]) : 128, reps = argc > 5 ? atoi(argv[5]) : 3;
    int N = B * T;
    int32_t *ids = malloc(sizeof(int32_t) * N), *tg = malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++) ids[i] = 5 + (int32_t)(bh_rng_next(&rng) % (uint64_t)(c.vocab - 5));
    int train = !strncmp(mode, "train-", 6);
    int train_dec = train && strstr(mode, "dec");
    float *hidden = train ? NULL : malloc(sizeof(float) * (size_t)N * c.dim);
    bh_optim *opt = NULL;
    if (train) {
        bh_optim_config oc;
        bh_optim_config_default(&oc);
        bh_optim_new(m, &oc, &opt);
    }
    double best = 1e30, total = 0, cpu_total = 0;
    for (int rep = 0; rep <= reps; rep++) {
        if (train) {
            if (train_dec) {
                for (int i = 0; i < N; i++) tg[i] = (i + 1) % T ? ids[i + 1] : -100;
            } else {
                int32_t special[] = {0, 1, 2, 3, 4};
                for (int i = 0; i < N; i++) ids[i] = 5 + (int32_t)(bh_rng_next(&rng) % (uint64_t)(c.vocab - 5));
                bh_mlm_mask(ids, tg, N, 0.15f, 4, c.vocab, 5, special, 5, &rng);
            }
        }
        double t = now_s(), cpu = cpu_s();
        float loss = 0;
        if (train) {
            bh_model_zero_grad(m);
            st = bh_model_train_step(m, ids, NULL, tg, B, T, 1.0f, 0, &loss, NULL);
            if (!st) st = bh_optim_step(opt, m); /* a full step: forward, backward, AdamW */
        } else {
            st = bh_model_forward(m, ids, NULL, B, T, hidden, NULL);
        }
        if (st) {
            fprintf(stderr, "engine_bench: %s\n", bh_last_error());
            return 1;
        }
        t = now_s() - t;
        cpu = cpu_s() - cpu;
        if (rep == 0) continue; /* warm-up: allocations, page faults */
        best = t < best ? t : best;
        total += t;
        cpu_total += cpu;
    }
    /* cpu_s: process CPU time (all threads) per repetition; on a shared
     * machine tok_per_cpu_s is steadier than wall-clock tok_s */
    printf("{\"bench\":\"%s\",\"threads\":%d,\"batch\":%d,\"seq\":%d,\"pool\":%d,\"tok_s\":%.0f,\"best_s\":%.4f,\"mean_s\":%.4f,\"cpu_s\":%.4f,\"tok_per_cpu_s\":%.0f,\"kernel\":\"%s\",\"params_mb\":%.1f,\"peak_rss_mb\":%.0f}\n",
           mode, threads, B, T, pool, N / best, best, total / reps, cpu_total / reps, N * reps / cpu_total, bh_blas_corename(),
           bh_model_num_params(m) * 4.0 / 1048576.0, peak_rss_kb() / 1024.0);
    bh_optim_free(opt);
    free(ids), free(tg), free(hidden);
    bh_model_free(m);
    return 0;
}
