/* pipeline/cli_model.c — `bhasha pretrain` (MLM for encoders, causal LM for
 * decoders, streamed from token-id shards, resumable) and `bhasha generate`
 * (decoder, KV cache, streaming output). Progress goes to stderr; the
 * per-step losses go to stdout as "step N loss X" lines so that runs can be
 * compared exactly (a resumed run prints the same lines as an uninterrupted one). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pipeline/cli.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* --data: a directory (every *.tok file in it, sorted), or a comma-separated list. */
static int list_shards(const char *cmd, const char *spec, char ***out, int *n)
{
    char **v = NULL;
    int cnt = 0, cap = 0;
    struct stat sb;
    if (stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(spec);
        if (!d) return cli_usage_error(cmd, "cannot open %s: %s", spec, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".tok")) continue;
            if (cnt == cap) v = realloc(v, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
            v[cnt] = malloc(strlen(spec) + l + 2);
            sprintf(v[cnt++], "%s/%s", spec, e->d_name);
        }
        closedir(d);
        qsort(v, (size_t)cnt, sizeof *v, cmp_str);
    } else {
        char *s = strdup(spec), *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (cnt == cap) v = realloc(v, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
            v[cnt++] = strdup(t);
        }
        free(s);
    }
    if (!cnt) {
        free(v);
        return cli_usage_error(cmd, "--data %s: no shards (*.tok) found", spec);
    }
    *out = v;
    *n = cnt;
    return 0;
}

static void pretrain_usage(void)
{
    fprintf(stderr,
            "usage: bhasha pretrain --arch encoder|decoder --config FILE --data SHARDS --out DIR\n"
            "         [--tokenizer T.model] [--steps 1000] [--batch 16] [--seq 128] [--lr 5e-4]\n"
            "         [--warmup 100] [--sched cosine|linear|constant] [--wd 0.01] [--clip 1.0]\n"
            "         [--accum 1] [--seed 1] [--threads 1] [--save-every 100] [--log-every 10]\n"
            "         [--sep ID] [--mask-rate 0.15] [--special ID,ID,...] [--resume]\n"
            "         [--stop-after N (checkpoint and stop at step N, as if interrupted)]\n"
            "         [--valid SHARDS [--valid-batches 8]: validation loss and perplexity at each save]\n"
            "         [--whole-word: MLM masks whole words, from the --tokenizer's word-start pieces]\n"
            "SHARDS: a directory of *.tok token shards or a comma-separated list (format in\n"
            "bhasha/model.h). Losses go to stdout as 'step N loss X', progress to stderr.\n");
}

typedef struct {
    long steps, stop_after;
    int batch, seq, accum, threads, save_every, log_every, sep;
    float clip, mask_rate;
    uint64_t seed;
    int32_t special[64];
    int nspecial;
    int valid_batches;
    const uint8_t *word_start; /* [vocab] for whole-word masking, or NULL */
} train_opts;

/* One masking call for both modes. */
static void mlm_mask(const train_opts *t, const bh_model_config *c, int32_t *ids, int32_t *tg, int n,
                     int first_normal, const int32_t *special, int nsp, uint64_t *rng)
{
    if (t->word_start)
        bh_mlm_mask_words(ids, tg, n, t->mask_rate, c->mask_id, c->vocab, first_normal, special, nsp,
                          t->word_start, rng);
    else
        bh_mlm_mask(ids, tg, n, t->mask_rate, c->mask_id, c->vocab, first_normal, special, nsp, rng);
}

/* word_start[id] = 1 when the SentencePiece piece begins with U+2581 (a new word). */
static uint8_t *word_starts(const char *spm_path, int vocab, bh_status *st)
{
    bh_spm *spm;
    if ((*st = bh_spm_load(spm_path, &spm))) return NULL;
    uint8_t *ws = calloc((size_t)vocab, 1);
    if (!ws) *st = BH_ENOMEM;
    for (int i = 0; ws && i < vocab && i < bh_spm_vocab_size(spm); i++) {
        const char *p;
        size_t len;
        if (bh_spm_id_to_piece(spm, i, &p, &len) == BH_OK)
            ws[i] = len >= 3 && !memcmp(p, "\xe2\x96\x81", 3);
    }
    bh_spm_free(spm);
    return ws;
}

/* Validation: mean loss over the first `nb` batches of the validation shards,
 * no dropout, fixed masking seed, so every evaluation sees the same data. */
static bh_status validate(bh_model *m, char **vshards, int nv, const train_opts *t, const int32_t *special,
                          int nsp, int first_normal, float *out)
{
    const bh_model_config *c = bh_model_get_config(m);
    int enc = c->arch == BH_ARCH_ENCODER, B = t->batch, T = t->seq, row = enc ? T : T + 1;
    bh_shard_reader *r;
    bh_status st = bh_shard_reader_open((const char *const *)vshards, nv, t->sep, &r);
    if (st) return st;
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)B * row), *ids = malloc(sizeof(int32_t) * (size_t)B * T),
            *tg = malloc(sizeof(int32_t) * (size_t)B * T);
    uint64_t rng = 12345;
    double sum = 0;
    long n = 0;
    for (int k = 0; !st && k < t->valid_batches && buf && ids && tg; k++) {
        if ((st = bh_shard_reader_next(r, buf, B * row))) break;
        for (int b = 0; b < B; b++) {
            memcpy(ids + b * T, buf + b * row, sizeof(int32_t) * T);
            if (!enc) memcpy(tg + b * T, buf + b * row + 1, sizeof(int32_t) * T);
        }
        if (enc) mlm_mask(t, c, ids, tg, B * T, first_normal, special, nsp, &rng);
        float l;
        int cnt;
        if ((st = bh_model_loss(m, ids, NULL, tg, B, T, &l, &cnt))) break;
        sum += (double)l * cnt;
        n += cnt;
    }
    if (!buf || !ids || !tg) st = BH_ENOMEM;
    free(buf), free(ids), free(tg);
    bh_shard_reader_free(r);
    *out = n ? (float)(sum / n) : 0.0f;
    return st;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    if (!a || !b) {
        if (a) fclose(a);
        return -1;
    }
    char buf[65536];
    size_t k;
    int rc = 0;
    while ((k = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, k, b) != k) rc = -1;
    fclose(a);
    if (fclose(b) != 0) rc = -1;
    return rc;
}

static int save_all(const char *cmd, bh_model *m, bh_optim *o, const char *out, long step,
                    uint64_t rng, bh_shard_reader *r)
{
    char pos[160], extra[320], path[4096];
    bh_status st = bh_shard_reader_tell(r, pos, sizeof pos);
    if (st) return cli_fail(cmd, st);
    snprintf(extra, sizeof extra, "{\"step\":%ld,\"rng\":\"%llu\",\"data\":\"%s\"}", step,
             (unsigned long long)rng, pos);
    snprintf(path, sizeof path, "%s/optim.safetensors", out);
    if ((st = bh_model_save(m, out)) || (st = bh_optim_save(o, path, extra))) return cli_fail(cmd, st);
    return 0;
}

int cli_pretrain(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *arch = NULL, *config = NULL, *data = NULL, *out = NULL, *tok = NULL, *valid = NULL, *v;
    int resume = 0;
    train_opts t = {1000, 0, 16, 128, 1, 1, 100, 10, -1, 1.0f, 0.15f, 1, {0}, 0, 8, NULL};
    int whole_word = 0;
    uint8_t *ws = NULL;
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    oc.warmup = 100;
    oc.sched = BH_SCHED_COSINE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            pretrain_usage();
            return 0;
        } else if (cli_opt(argc, argv, &i, "--arch", &arch) || cli_opt(argc, argv, &i, "--config", &config) ||
                   cli_opt(argc, argv, &i, "--data", &data) || cli_opt(argc, argv, &i, "--out", &out) ||
                   cli_opt(argc, argv, &i, "--tokenizer", &tok) || cli_opt(argc, argv, &i, "--valid", &valid)) {
        } else if (!strcmp(argv[i], "--resume")) {
            resume = 1;
        } else if (!strcmp(argv[i], "--whole-word")) {
            whole_word = 1;
        } else if (cli_opt(argc, argv, &i, "--steps", &v)) t.steps = atol(v);
        else if (cli_opt(argc, argv, &i, "--stop-after", &v)) t.stop_after = atol(v);
        else if (cli_opt(argc, argv, &i, "--valid-batches", &v)) t.valid_batches = atoi(v);
        else if (cli_opt(argc, argv, &i, "--batch", &v)) t.batch = atoi(v);
        else if (cli_opt(argc, argv, &i, "--seq", &v)) t.seq = atoi(v);
        else if (cli_opt(argc, argv, &i, "--accum", &v)) t.accum = atoi(v);
        else if (cli_opt(argc, argv, &i, "--threads", &v)) t.threads = atoi(v);
        else if (cli_opt(argc, argv, &i, "--save-every", &v)) t.save_every = atoi(v);
        else if (cli_opt(argc, argv, &i, "--log-every", &v)) t.log_every = atoi(v);
        else if (cli_opt(argc, argv, &i, "--sep", &v)) t.sep = atoi(v);
        else if (cli_opt(argc, argv, &i, "--clip", &v)) t.clip = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--mask-rate", &v)) t.mask_rate = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--seed", &v)) t.seed = strtoull(v, NULL, 10);
        else if (cli_opt(argc, argv, &i, "--lr", &v)) oc.lr = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--wd", &v)) oc.weight_decay = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--warmup", &v)) oc.warmup = atoi(v);
        else if (cli_opt(argc, argv, &i, "--sched", &v)) {
            if (!strcmp(v, "cosine")) oc.sched = BH_SCHED_COSINE;
            else if (!strcmp(v, "linear")) oc.sched = BH_SCHED_LINEAR;
            else if (!strcmp(v, "constant")) oc.sched = BH_SCHED_CONSTANT;
            else return cli_usage_error(cmd, "--sched must be cosine, linear or constant");
        } else if (cli_opt(argc, argv, &i, "--special", &v)) {
            char *s = strdup(v), *save = NULL;
            for (char *p = strtok_r(s, ",", &save); p && t.nspecial < 64; p = strtok_r(NULL, ",", &save))
                t.special[t.nspecial++] = atoi(p);
            free(s);
        } else {
            return cli_usage_error(cmd, "unknown option '%s' (try --help)", argv[i]);
        }
    }
    if (!data || !out || (!resume && (!config || !arch)))
        return cli_usage_error(cmd, "needs --data and --out, and --arch and --config unless --resume");
    if (t.steps < 1 || t.batch < 1 || t.seq < 2 || t.accum < 1 || t.threads < 1 || t.save_every < 1 ||
        t.log_every < 1 || !(t.mask_rate > 0 && t.mask_rate < 1))
        return cli_usage_error(cmd, "a numeric option is out of range");
    oc.total_steps = (int)t.steps;
    bh_blas_autotune();
    bh_blas_set_threads(t.threads);

    bh_model *m = NULL;
    bh_optim *o = NULL;
    bh_shard_reader *r = NULL;
    char **shards = NULL, **vshards = NULL;
    int nshards = 0, nvshards = 0, rc = 1;
    long step = 0;
    uint64_t rng = t.seed * 0x9E3779B97F4A7C15ull + 1;
    bh_status st;
    char path[4096];
    if (list_shards(cmd, data, &shards, &nshards)) return 2;
    if (valid && list_shards(cmd, valid, &vshards, &nvshards)) {
        for (int i = 0; i < nshards; i++) free(shards[i]);
        free(shards);
        return 2;
    }
    if (resume) {
        if ((st = bh_model_load(out, 0, &m))) goto fail;
    } else {
        bh_model_config c;
        if ((st = bh_model_config_load(config, &c))) goto fail;
        if (strcmp(arch, c.arch == BH_ARCH_ENCODER ? "encoder" : "decoder")) {
            rc = cli_usage_error(cmd, "--arch %s but %s says otherwise", arch, config);
            goto done;
        }
        if ((st = bh_model_new(&c, t.seed, &m))) goto fail;
    }
    if ((st = bh_model_set_threads(m, t.threads))) goto fail;
    const bh_model_config *c = bh_model_get_config(m);
    int enc = c->arch == BH_ARCH_ENCODER;
    if (t.seq > c->max_len) {
        rc = cli_usage_error(cmd, "--seq %d exceeds the model's max_len %d", t.seq, c->max_len);
        goto done;
    }
    if (enc && c->mask_id < 0) {
        rc = cli_usage_error(cmd, "an encoder needs \"mask_id\" in its config for masked-LM training");
        goto done;
    }
    if ((st = bh_optim_new(m, &oc, &o))) goto fail;
    if ((st = bh_shard_reader_open((const char *const *)shards, nshards, t.sep, &r))) goto fail;
    if (resume) {
        char *extra = NULL;
        snprintf(path, sizeof path, "%s/optim.safetensors", out);
        if ((st = bh_optim_load(o, path, &extra))) goto fail;
        json_error_t je;
        json_t *j = json_loads(extra, 0, &je);
        free(extra);
        json_t *js = json_object_get(j, "step"), *jr = json_object_get(j, "rng"), *jd = json_object_get(j, "data");
        if (!json_is_integer(js) || !json_is_string(jr) || !json_is_string(jd)) {
            json_decref(j);
            fprintf(stderr, "bhasha %s: %s: training state missing from the metadata\n", cmd, path);
            goto done;
        }
        step = (long)json_integer_value(js);
        rng = strtoull(json_string_value(jr), NULL, 10);
        st = bh_shard_reader_seek(r, json_string_value(jd));
        json_decref(j);
        if (st) goto fail;
        fprintf(stderr, "resuming %s at step %ld\n", out, step);
    } else {
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "bhasha %s: cannot create %s: %s\n", cmd, out, strerror(errno));
            goto done;
        }
        if (tok) {
            snprintf(path, sizeof path, "%s/tokenizer.model", out);
            if (copy_file(tok, path)) {
                fprintf(stderr, "bhasha %s: cannot copy %s to %s\n", cmd, tok, path);
                goto done;
            }
        }
    }
    if (enc && whole_word) {
        if (!tok) {
            snprintf(path, sizeof path, "%s/tokenizer.model", out);
            tok = path;
        }
        if (!(ws = word_starts(tok, c->vocab, &st))) goto fail;
        t.word_start = ws;
    }
    int B = t.batch, T = t.seq, row = enc ? T : T + 1;
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)B * row), *ids = malloc(sizeof(int32_t) * (size_t)B * T),
            *tg = malloc(sizeof(int32_t) * (size_t)B * T);
    if (!buf || !ids || !tg) {
        free(buf), free(ids), free(tg);
        st = BH_ENOMEM;
        goto fail;
    }
    int32_t special[66];
    int nsp = t.nspecial;
    memcpy(special, t.special, sizeof(int32_t) * (size_t)nsp);
    if (c->pad_id >= 0) special[nsp++] = c->pad_id;
    if (t.sep >= 0) special[nsp++] = t.sep;
    int first_normal = 0;
    for (int k = 0; k < nsp; k++) first_normal = special[k] + 1 > first_normal ? special[k] + 1 : first_normal;
    fprintf(stderr, "pretrain %s: %zu parameters, %d shard(s), batch %dx%d x%d accum, %d thread(s), kernel %s\n",
            enc ? "encoder (MLM)" : "decoder (causal LM)", bh_model_num_params(m), nshards, B, T, t.accum,
            t.threads, bh_blas_corename());
    double t0 = now_s(), tokens = 0;
    long start = step;
    for (; step < t.steps; step++) {
        bh_model_zero_grad(m);
        double lsum = 0;
        for (int a = 0; a < t.accum; a++) {
            if ((st = bh_shard_reader_next(r, buf, B * row))) goto fail_free;
            for (int b = 0; b < B; b++) {
                if (enc) {
                    memcpy(ids + b * T, buf + b * T, sizeof(int32_t) * T);
                } else {
                    memcpy(ids + b * T, buf + b * row, sizeof(int32_t) * T);
                    memcpy(tg + b * T, buf + b * row + 1, sizeof(int32_t) * T);
                }
            }
            if (enc) mlm_mask(&t, c, ids, tg, B * T, first_normal, special, nsp, &rng);
            float loss;
            uint64_t dseed = rng ^ ((uint64_t)step << 20 | (uint64_t)a);
            st = bh_model_train_step(m, ids, NULL, tg, B, T, 1.0f / t.accum, dseed, &loss, NULL);
            if (st == BH_ENUMERIC || (!st && !isfinite(loss))) {
                fprintf(stderr, "bhasha %s: step %ld: loss is %f; stopped, the last good checkpoint in %s is intact\n",
                        cmd, step + 1, isnan(loss) ? fabs((double)loss) : (double)loss, out); /* NaN's sign bit is noise */
                goto done_free;
            }
            if (st) goto fail_free;
            lsum += loss;
            tokens += (double)B * T;
        }
        float norm = bh_model_clip_grad(m, t.clip);
        if (!isfinite(norm)) {
            fprintf(stderr, "bhasha %s: step %ld: gradient norm is %f; stopped, the last good checkpoint in %s is intact\n",
                    cmd, step + 1, (double)norm, out);
            goto done_free;
        }
        float lr = bh_optim_lr(&oc, step);
        if ((st = bh_optim_step(o, m))) goto fail_free;
        printf("step %ld loss %.6f\n", step + 1, lsum / t.accum);
        fflush(stdout);
        if ((step + 1) % t.log_every == 0 || step + 1 == t.steps) {
            double el = now_s() - t0, rate = tokens / (el > 0 ? el : 1e-9);
            double eta = (t.steps - step - 1) * (el / (double)(step + 1 - start));
            fprintf(stderr, "step %ld/%ld loss %.4f lr %.3g |g| %.3g %.0f tok/s ETA %02d:%02d:%02d\n", step + 1,
                    t.steps, lsum / t.accum, (double)lr, (double)norm, rate, (int)(eta / 3600),
                    (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
        }
        int stop = t.stop_after > 0 && step + 1 == t.stop_after;
        if ((step + 1) % t.save_every == 0 || step + 1 == t.steps || stop)
        {
            if (save_all(cmd, m, o, out, step + 1, rng, r)) goto done_free;
            if (nvshards) {
                float vl;
                if ((st = validate(m, vshards, nvshards, &t, special, nsp, first_normal, &vl))) goto fail_free;
                printf("valid %ld loss %.6f\n", step + 1, (double)vl);
                fflush(stdout);
                fprintf(stderr, "valid step %ld loss %.4f perplexity %.2f\n", step + 1, (double)vl, exp(vl));
            }
        }
        if (stop) break;
    }
    rc = 0;
    goto done_free;
fail_free:
    rc = cli_fail(cmd, st);
done_free:
    free(buf), free(ids), free(tg);
    goto done;
fail:
    rc = cli_fail(cmd, st);
done:
    bh_shard_reader_free(r);
    bh_optim_free(o);
    bh_model_free(m);
    for (int i = 0; i < nshards; i++) free(shards[i]);
    free(shards);
    for (int i = 0; i < nvshards; i++) free(vshards[i]);
    free(vshards);
    free(ws);
    return rc;
}

/* ---------------------------------------------------------------- generate */

static void generate_usage(void)
{
    fprintf(stderr,
            "usage: bhasha generate --model DIR (--prompt TEXT | --ids '1 2 3') [--max-new 64]\n"
            "         [--temperature 0] [--top-k 0] [--top-p 1] [--repetition-penalty 1]\n"
            "         [--seed 1] [--threads 1] [--tokenizer T.model] [--eos ID]\n"
            "Greedy when the temperature is 0. Text prompts need a SentencePiece model\n"
            "(DIR/tokenizer.model by default). Tokens are printed as they come.\n");
}

int cli_generate(int argc, char **argv)
{
    const char *cmd = argv[0], *model = NULL, *prompt = NULL, *idstr = NULL, *tok = NULL, *v;
    int max_new = 64, threads = 1, eos = -1;
    uint64_t seed = 1;
    bh_sample_config sc;
    bh_sample_config_default(&sc);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            generate_usage();
            return 0;
        } else if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--prompt", &prompt) ||
                   cli_opt(argc, argv, &i, "--ids", &idstr) || cli_opt(argc, argv, &i, "--tokenizer", &tok)) {
        } else if (cli_opt(argc, argv, &i, "--max-new", &v)) max_new = atoi(v);
        else if (cli_opt(argc, argv, &i, "--threads", &v)) threads = atoi(v);
        else if (cli_opt(argc, argv, &i, "--eos", &v)) eos = atoi(v);
        else if (cli_opt(argc, argv, &i, "--seed", &v)) seed = strtoull(v, NULL, 10);
        else if (cli_opt(argc, argv, &i, "--temperature", &v)) sc.temperature = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--top-k", &v)) sc.top_k = atoi(v);
        else if (cli_opt(argc, argv, &i, "--top-p", &v)) sc.top_p = (float)atof(v);
        else if (cli_opt(argc, argv, &i, "--repetition-penalty", &v)) sc.repetition_penalty = (float)atof(v);
        else return cli_usage_error(cmd, "unknown option '%s' (try --help)", argv[i]);
    }
    if (!model || (!prompt == !idstr)) return cli_usage_error(cmd, "needs --model and one of --prompt, --ids");
    if (max_new < 0 || threads < 1 || sc.temperature < 0 || sc.top_k < 0 || !(sc.top_p > 0 && sc.top_p <= 1) ||
        !(sc.repetition_penalty > 0))
        return cli_usage_error(cmd, "a numeric option is out of range");
    bh_blas_autotune();
    bh_blas_set_threads(threads);
    bh_model *m = NULL;
    bh_gen *g = NULL;
    bh_spm *spm = NULL;
    bh_tokens tk = {0};
    bh_buf text = {0};
    float *logits = NULL;
    int32_t *seq = NULL;
    int rc = 1;
    char path[4096];
    bh_status st = bh_model_load(model, BH_MODEL_MMAP, &m);
    if (st || (st = bh_model_set_threads(m, threads))) goto fail;
    const bh_model_config *c = bh_model_get_config(m);
    if (c->arch != BH_ARCH_DECODER) {
        rc = cli_usage_error(cmd, "%s is an encoder; generation needs a decoder", model);
        goto done;
    }
    seq = malloc(sizeof(int32_t) * (size_t)c->max_len);
    logits = malloc(sizeof(float) * (size_t)c->vocab);
    if (!seq || !logits) {
        st = BH_ENOMEM;
        goto fail;
    }
    int n = 0;
    if (prompt) {
        if (!tok) {
            snprintf(path, sizeof path, "%s/tokenizer.model", model);
            tok = path;
        }
        if ((st = bh_spm_load(tok, &spm)) || (st = bh_spm_encode_ids(spm, prompt, strlen(prompt), &tk))) goto fail;
        /* pretrain packs documents with the separator between them (--sep,
         * normally the EOS id), so a document starts right after one */
        if (eos < 0) eos = bh_spm_special_id(spm, BH_SPM_EOS);
        if (eos >= 0 && eos < c->vocab) seq[n++] = eos;
        for (size_t i = 0; i < tk.n && n < c->max_len; i++) seq[n++] = tk.ids[i];
    } else {
        char *s = strdup(idstr), *save = NULL;
        for (char *p = strtok_r(s, " ,", &save); p && n < c->max_len; p = strtok_r(NULL, " ,", &save)) seq[n++] = atoi(p);
        free(s);
    }
    if (n == 0) {
        rc = cli_usage_error(cmd, "the prompt is empty");
        goto done;
    }
    if ((st = bh_gen_new(m, &g)) || (st = bh_gen_feed(g, seq, n, logits))) goto fail;
    if (prompt) fputs(prompt, stdout);
    else
        for (int i = 0; i < n; i++) printf("%s%d", i ? " " : "", seq[i]);
    fflush(stdout);
    uint64_t rng = seed;
    size_t shown = 0;
    int start = n;
    for (int k = 0; k < max_new && n < c->max_len; k++) {
        int next = bh_sample(logits, c->vocab, &sc, seq, n, &rng);
        seq[n++] = next;
        if (next == eos) break;
        if (spm) {
            /* decode everything generated so far and print the new bytes, so
             * pieces that join across tokens come out right */
            bh_buf_clear(&text);
            if ((st = bh_spm_decode(spm, seq + start, (size_t)(n - start), &text))) goto fail;
            if (text.len > shown) {
                if (shown == 0 && text.len && prompt[0]) fputc(' ', stdout);
                fwrite(text.data + shown, 1, text.len - shown, stdout);
                shown = text.len;
            }
        } else {
            printf(" %d", next);
        }
        fflush(stdout);
        if (n < c->max_len && k + 1 < max_new && (st = bh_gen_feed(g, &seq[n - 1], 1, logits))) goto fail;
    }
    fputc('\n', stdout);
    rc = 0;
    goto done;
fail:
    rc = cli_fail(cmd, st);
done:
    free(seq);
    free(logits);
    bh_buf_free(&text);
    bh_tokens_free(&tk);
    bh_spm_free(spm);
    bh_gen_free(g);
    bh_model_free(m);
    return rc;
}
