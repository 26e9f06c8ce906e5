/* pipeline/cli_bench.c — `bhasha bench model`: the engine's speed on one
 * workload, as one JSON line (bench/bench_engine.sh runs it beside the
 * PyTorch peer). Random weights (seed 1), random ids; timing excludes one
 * warm-up run and reports the best of --reps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "pipeline/cli.h"

/* CPU time of the whole process (user + system, all threads) */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static int bench_usage(FILE *f)
{
    fprintf(f,
            "usage: bhasha bench model --arch encoder|decoder --config NAME|FILE [--batch 8] [--seq 128]\n"
            "         [--threads 1] [--precision f32|bf16] [--reps 3] [--train | --generate N]\n"
            "         [--pool N]\n"
            "Times the engine on random weights and prints one JSON line (tok_s: tokens per second,\n"
            "best of --reps after a warm-up run; peak_rss_mb; the OpenBLAS kernel in use).\n"
            "  NAME       enc-mini (V 32000, d 256, 4 layers, 4 heads, FFN 1024), enc-base (BERT-base\n"
            "             shape: d 768, 12 layers, 12 heads, FFN 3072), dec-mini (d 384, 6 layers, 6\n"
            "             heads, FFN 1536); or a config.json written by bhasha pretrain\n"
            "  default    batched inference forward, --batch x --seq tokens\n"
            "  --train    one training step (forward, backward, AdamW): MLM targets on 15%% of the\n"
            "             positions for an encoder, next-token targets for a decoder\n"
            "  --generate N  decoder: greedy generation of N tokens after a --seq-token prompt,\n"
            "             batch 1, KV cache\n"
            "  --pool N   threads for the engine's own loops (default --threads; OpenBLAS keeps\n"
            "             --threads)\n");
    return f == stdout ? 0 : 2;
}

static int named_config(const char *name, bh_model_config *c)
{
    static const struct { const char *name; bh_arch arch; int d, layers, heads, ffn; } shapes[] = {
        {"enc-mini", BH_ARCH_ENCODER, 256, 4, 4, 1024},
        {"enc-base", BH_ARCH_ENCODER, 768, 12, 12, 3072},
        {"dec-mini", BH_ARCH_DECODER, 384, 6, 6, 1536},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (!strcmp(name, shapes[i].name)) {
            bh_model_config_default(c, shapes[i].arch);
            c->vocab = 32000, c->dim = shapes[i].d, c->layers = shapes[i].layers;
            c->heads = shapes[i].heads, c->ffn = shapes[i].ffn, c->max_len = 512;
            return 1;
        }
    return 0;
}

typedef struct bench_opts {
    const char *config, *arch;
    int B, T, threads, pool, reps, train, gen;
    bh_precision prec;
} bench_opts;

/* greedy generation of o->gen tokens after an o->T-token prompt */
static bh_status run_generate(bh_model *m, const bench_opts *o, double *best)
{
    const bh_model_config *c = bh_model_get_config(m);
    uint64_t rng = 5;
    int32_t *seq = malloc(sizeof(int32_t) * (size_t)(o->T + o->gen));
    float *logits = malloc(sizeof(float) * (size_t)c->vocab);
    bh_gen *g = NULL;
    bh_status st = seq && logits ? bh_gen_new(m, &g) : BH_ENOMEM;
    bh_sample_config sc;
    bh_sample_config_default(&sc);
    for (int i = 0; !st && i < o->T; i++) seq[i] = (int32_t)(bh_rng_next(&rng) % (uint64_t)c->vocab);
    *best = 1e30;
    for (int rep = 0; !st && rep < 2; rep++) {
        bh_gen_reset(g);
        double t = cli_now();
        st = bh_gen_feed(g, seq, o->T, logits);
        for (int k = 0; !st && k < o->gen; k++) {
            seq[o->T + k] = bh_sample(logits, c->vocab, &sc, NULL, 0, &rng);
            if (k + 1 < o->gen) st = bh_gen_feed(g, &seq[o->T + k], 1, logits);
        }
        t = cli_now() - t;
        *best = t < *best ? t : *best;
    }
    bh_gen_free(g);
    free(seq), free(logits);
    return st;
}

/* batched inference or training steps; best, mean wall time and mean CPU time */
static bh_status run_batches(bh_model *m, const bench_opts *o, double *best, double *mean, double *cpu_mean)
{
    const bh_model_config *c = bh_model_get_config(m);
    int N = o->B * o->T;
    uint64_t rng = 5;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)N), *tg = malloc(sizeof(int32_t) * (size_t)N);
    float *hidden = o->train ? NULL : malloc(sizeof(float) * (size_t)N * c->dim);
    bh_optim *opt = NULL;
    bh_status st = ids && tg && (o->train || hidden) ? BH_OK : BH_ENOMEM;
    if (!st && o->train) {
        bh_optim_config oc;
        bh_optim_config_default(&oc);
        st = bh_optim_new(m, &oc, &opt);
    }
    int32_t special[] = {0, 1, 2, 3, 4};
    double total = 0, cpu_total = 0;
    *best = 1e30;
    for (int rep = 0; !st && rep <= o->reps; rep++) {
        for (int i = 0; i < N; i++) ids[i] = 5 + (int32_t)(bh_rng_next(&rng) % (uint64_t)(c->vocab - 5));
        if (o->train && c->arch == BH_ARCH_DECODER)
            for (int i = 0; i < N; i++) tg[i] = (i + 1) % o->T ? ids[i + 1] : -100;
        else if (o->train)
            bh_mlm_mask(ids, tg, N, 0.15f, c->mask_id, c->vocab, 5, special, 5, &rng);
        double t = cli_now(), cpu = cpu_s();
        float loss;
        if (o->train) {
            bh_model_zero_grad(m);
            st = bh_model_train_step(m, ids, NULL, tg, o->B, o->T, 1.0f, 0, &loss, NULL);
            if (!st) st = bh_optim_step(opt, m);
        } else {
            st = bh_model_forward(m, ids, NULL, o->B, o->T, hidden, NULL);
        }
        t = cli_now() - t;
        cpu = cpu_s() - cpu;
        if (rep == 0) continue; /* warm-up: allocations, page faults */
        *best = t < *best ? t : *best;
        total += t;
        cpu_total += cpu;
    }
    *mean = total / o->reps;
    *cpu_mean = cpu_total / o->reps;
    bh_optim_free(opt);
    free(ids), free(tg), free(hidden);
    return st;
}

static int bench_model(int argc, char **argv)
{
    const char *cmd = "bench model", *v;
    bench_opts o = {.B = 8, .T = 128, .threads = 1, .pool = 0, .reps = 3, .prec = BH_PRECISION_F32};
    for (int i = 1; i < argc; i++) {
        double x;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return bench_usage(stdout);
        if (cli_opt(argc, argv, &i, "--config", &o.config) || cli_opt(argc, argv, &i, "--arch", &o.arch)) continue;
        if (!strcmp(argv[i], "--train")) {
            o.train = 1;
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (bh_precision_parse(v, &o.prec)) return cli_usage_error(cmd, "%s", bh_last_error());
        } else {
#define NUMOPT(name, lo, hi, field) \
    if (cli_opt(argc, argv, &i, name, &v)) { \
        if (cli_integer(cmd, name, v, lo, hi, &x)) return 2; \
        field = (int)x; \
        continue; \
    }
            NUMOPT("--batch", 1, 1 << 16, o.B)
            NUMOPT("--seq", 1, 1 << 16, o.T)
            NUMOPT("--threads", 1, 1024, o.threads)
            NUMOPT("--pool", 1, 1024, o.pool)
            NUMOPT("--reps", 1, 1000, o.reps)
            NUMOPT("--generate", 1, 1 << 16, o.gen)
#undef NUMOPT
            return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", argv[i]);
        }
    }
    if (!o.config || !o.arch) return cli_usage_error(cmd, "needs --arch and --config (try --help)");
    bh_arch arch;
    if (!strcmp(o.arch, "encoder")) arch = BH_ARCH_ENCODER;
    else if (!strcmp(o.arch, "decoder")) arch = BH_ARCH_DECODER;
    else return cli_usage_error(cmd, "--arch must be encoder or decoder");
    bh_model_config c;
    if (!named_config(o.config, &c)) {
        bh_status st = bh_model_config_load(o.config, &c);
        if (st) return cli_fail(cmd, st);
    }
    if (c.arch != arch)
        return cli_usage_error(cmd, "--config %s is %s, not --arch %s", o.config,
                               c.arch == BH_ARCH_ENCODER ? "an encoder" : "a decoder", o.arch);
    if (o.train && o.gen) return cli_usage_error(cmd, "--train and --generate exclude each other");
    if (o.gen && arch != BH_ARCH_DECODER) return cli_usage_error(cmd, "--generate needs a decoder");
    if ((o.gen ? o.T + o.gen : o.T) > c.max_len)
        return cli_usage_error(cmd, "%d positions exceed the config's max_len %d", o.gen ? o.T + o.gen : o.T, c.max_len);
    c.dropout = 0.0f;
    if (arch == BH_ARCH_ENCODER && c.mask_id < 0) c.mask_id = 4;
    bh_blas_set_threads(o.threads);
    bh_model *m = NULL;
    bh_status st = bh_model_new(&c, 1, &m);
    /* --pool n: the engine's loops on n threads, OpenBLAS on --threads */
    if (!st) st = bh_model_set_threads(m, o.pool ? o.pool : o.threads);
    bh_blas_set_threads(o.threads);
    if (!st && o.prec != BH_PRECISION_F32) st = bh_model_set_precision(m, o.prec);
    double best = 0, mean = 0, cpu = 0;
    if (!st) st = o.gen ? run_generate(m, &o, &best) : run_batches(m, &o, &best, &mean, &cpu);
    if (st) {
        bh_model_free(m);
        return cli_fail(cmd, st);
    }
    const char *prec = o.prec == BH_PRECISION_BF16 ? "bf16" : "f32";
    double params_mb = bh_model_num_params(m) * 4.0 / 1048576.0;
    if (o.gen) {
        /* generation at batch 1 reads every weight once per token (the tied
         * embedding through the logits), so this is its memory stream */
        double wmb = bh_model_num_params(m) * (o.prec == BH_PRECISION_BF16 ? 2.0 : 4.0) / 1e6;
        printf("{\"bench\":\"%s\",\"mode\":\"generate\",\"precision\":\"%s\",\"threads\":%d,\"prompt\":%d,\"new\":%d,"
               "\"tok_s\":%.1f,\"ms_per_tok\":%.2f,\"weight_gb_s\":%.1f,\"kernel\":\"%s\",\"params_mb\":%.1f,"
               "\"peak_rss_mb\":%.0f}\n",
               o.config, prec, o.threads, o.T, o.gen, o.gen / best, 1e3 * best / o.gen, wmb * o.gen / best / 1e3,
               bh_blas_corename(), params_mb, peak_rss_mb());
    } else {
        int N = o.B * o.T;
        /* tok_per_cpu_s: on a shared machine steadier than wall-clock tok_s */
        printf("{\"bench\":\"%s%s\",\"mode\":\"%s\",\"precision\":\"%s\",\"threads\":%d,\"pool\":%d,\"batch\":%d,"
               "\"seq\":%d,\"tok_s\":%.0f,\"best_s\":%.4f,\"mean_s\":%.4f,\"cpu_s\":%.4f,\"tok_per_cpu_s\":%.0f,"
               "\"kernel\":\"%s\",\"params_mb\":%.1f,\"peak_rss_mb\":%.0f}\n",
               o.train ? "train-" : "", o.config, o.train ? "train" : "infer", prec, o.threads,
               o.pool ? o.pool : o.threads, o.B, o.T, N / best, best, mean, cpu, N / cpu, bh_blas_corename(), params_mb,
               peak_rss_mb());
    }
    bh_model_free(m);
    return 0;
}

int cli_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "model")) return bench_model(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return bench_usage(stdout);
    return cli_usage_error("bench", "expected: bhasha bench model ... (try --help)");
}
