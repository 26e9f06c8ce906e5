/* pipeline/cli_model.c — `bhasha pretrain` (MLM for encoders, causal LM for
 * decoders, streamed from token-id shards, resumable) and `bhasha generate`
 * (decoder, KV cache, streaming output). Progress goes to stderr; the
 * per-step losses go to stdout as "step N loss X" lines so that runs can be
 * compared exactly (a resumed run prints the same lines as an uninterrupted one).
 *
 * Data-parallel pretraining (pipeline/cli_model.h): every rank reads each
 * global batch and keeps its rows; masking and dropout draw from streams keyed
 * by (seed, batch number, global row), never by rank; the loss of each
 * micro-batch is normalized by the target count of the whole micro-batch, and
 * the gradients are summed over ranks before clipping and AdamW. So N ranks
 * follow the one-process run with the same --batch, up to float rounding, and
 * every rank holds the same weights (checked at each checkpoint). */
#include "pipeline/cli_model.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "models/safetensors.h"
#include "pipeline/cli.h"

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
            "         [--sep ID] [--mask-rate 0.15] [--special ID,ID,...: never masked; with padding,\n"
            "          --sep and [MASK], below the ids that random replacements are drawn from] [--resume]\n"
            "         [--init DIR: start from the weights of the model in DIR (same tensor shapes;\n"
            "          e.g. a pre-LN encoder from a decoder), with a fresh optimizer and step 0]\n"
            "         [--stop-after N (checkpoint and stop at step N, as if interrupted)]\n"
            "         [--valid SHARDS [--valid-batches 8]: validation loss and perplexity at each save]\n"
            "         [--whole-word: MLM masks whole words, from the --tokenizer's word-start pieces]\n"
            "         [--precision f32|bf16: bf16 runs the blocks' and the output layer's products,\n"
            "          forward and backward, in bfloat16 with fp32 sums (CPUs with AVX512-BF16); weights,\n"
            "          gradients and the optimizer stay fp32, so checkpoints and --resume do not depend on it]\n"
            "         [--mpi: data-parallel over MPI ranks: mpirun -np N bhasha-mpi pretrain --mpi ...]\n"
            "SHARDS: a directory of *.tok token shards or a comma-separated list (format in\n"
            "bhasha/model.h). Losses go to stdout as 'step N loss X', progress to stderr.\n"
            "With --mpi, --batch is the global batch: rank r of N trains rows [r*B/N, (r+1)*B/N)\n"
            "of it, gradients are summed every step, so the losses are those of one process\n"
            "with the same --batch (up to rounding); rank 0 prints and writes checkpoints, and\n"
            "--resume works with any number of ranks (docs/scaling.md).\n");
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

/* A hash of two words. Every random stream of training is keyed by what it is
 * for (batch number, global row), never by how rows are spread over ranks, so
 * 1 and N processes draw the same numbers. */
static uint64_t hash2(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull);
    return bh_rng_next(&s);
}

/* MLM masking of nb rows ids/tg [nb, T] in place; row b (global row row0+b)
 * draws from its own stream hash2(key, row0 + b). */
static void mlm_mask_rows(const train_opts *t, const bh_model_config *c, int32_t *ids, int32_t *tg, int nb, int T,
                          long row0, uint64_t key, int first_normal, const int32_t *special, int nsp)
{
    for (int b = 0; b < nb; b++) {
        uint64_t rng = hash2(key, (uint64_t)(row0 + b));
        int32_t *x = ids + (size_t)b * T, *y = tg + (size_t)b * T;
        if (t->word_start)
            bh_mlm_mask_words(x, y, T, t->mask_rate, c->mask_id, c->vocab, first_normal, special, nsp,
                              t->word_start, &rng);
        else
            bh_mlm_mask(x, y, T, t->mask_rate, c->mask_id, c->vocab, first_normal, special, nsp, &rng);
    }
}

/* Rows lo..hi of a global batch buf [B, row] into ids/tg [hi-lo, T]: the
 * decoder predicts the next token, the encoder gets its targets from masking. */
static void take_rows(const int32_t *buf, int lo, int hi, int T, int enc, int32_t *ids, int32_t *tg)
{
    int row = enc ? T : T + 1;
    for (int b = lo; b < hi; b++) {
        memcpy(ids + (size_t)(b - lo) * T, buf + (size_t)b * row, sizeof(int32_t) * T);
        if (!enc) memcpy(tg + (size_t)(b - lo) * T, buf + (size_t)b * row + 1, sizeof(int32_t) * T);
    }
}

/* Validation over the first `nb` batches of the validation shards, no
 * dropout, fixed masking keys, so every evaluation sees the same data. This
 * rank takes rows lo..hi of each batch and adds its summed loss and target
 * count to acc[0], acc[1] (the caller sums them over ranks). */
static bh_status validate(bh_model *m, char **vshards, int nv, const train_opts *t, const int32_t *special,
                          int nsp, int first_normal, int lo, int hi, double acc[2])
{
    const bh_model_config *c = bh_model_get_config(m);
    int enc = c->arch == BH_ARCH_ENCODER, B = t->batch, T = t->seq, row = enc ? T : T + 1, nb = hi - lo;
    bh_shard_reader *r;
    bh_status st = bh_shard_reader_open((const char *const *)vshards, nv, t->sep, &r);
    if (st) return st;
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)B * row), *ids = malloc(sizeof(int32_t) * (size_t)nb * T),
            *tg = malloc(sizeof(int32_t) * (size_t)nb * T);
    for (int k = 0; !st && k < t->valid_batches && buf && ids && tg; k++) {
        if ((st = bh_shard_reader_next(r, buf, B * row))) break;
        take_rows(buf, lo, hi, T, enc, ids, tg);
        if (enc) mlm_mask_rows(t, c, ids, tg, nb, T, lo, hash2(12345, (uint64_t)k), first_normal, special, nsp);
        float l;
        int cnt;
        if ((st = bh_model_loss(m, ids, NULL, tg, nb, T, &l, &cnt))) break;
        acc[0] += (double)l * cnt;
        acc[1] += cnt;
    }
    if (!st && (!buf || !ids || !tg)) st = BH_ENOMEM;
    free(buf), free(ids), free(tg);
    bh_shard_reader_free(r);
    return st;
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

/* CRC-32 of every weight's bytes. A checkpoint is two files, each written
 * atomically but not both at once: the optimizer state, written second,
 * names the weights it goes with, so that --resume refuses a pair torn by a
 * run stopped between the two writes instead of training on from it. */
static uint32_t weights_crc(const bh_model *m)
{
    uLong c = crc32(0L, Z_NULL, 0);
    bh_tensor_info ti;
    for (int i = 0; bh_model_tensor(m, i, &ti) == BH_OK; i++) {
        const Bytef *p = (const Bytef *)ti.data;
        size_t n = sizeof(float) * (size_t)ti.shape[0] * (size_t)(ti.ndim == 2 ? ti.shape[1] : 1);
        for (size_t k; n; n -= k, p += k) {
            k = n < (1u << 30) ? n : (1u << 30);
            c = crc32(c, p, (uInt)k);
        }
    }
    return (uint32_t)c;
}

static int save_all(const char *cmd, bh_model *m, bh_optim *o, const char *out, long step,
                    uint64_t rng, bh_shard_reader *r)
{
    char pos[160], extra[360], path[4096];
    bh_status st = bh_shard_reader_tell(r, pos, sizeof pos);
    if (st) return cli_fail(cmd, st);
    snprintf(extra, sizeof extra, "{\"step\":%ld,\"rng\":\"%llu\",\"data\":\"%s\",\"weights_crc32\":%lu}", step,
             (unsigned long long)rng, pos, (unsigned long)weights_crc(m));
    snprintf(path, sizeof path, "%s/optim.safetensors", out);
    if ((st = bh_model_save(m, out)) || (st = bh_optim_save(o, path, extra))) return cli_fail(cmd, st);
    return 0;
}

/* In place sum (or max) over ranks; a failed collective leaves nothing to
 * agree on, so it ends the job. Nothing to do in one process. */
static void reduce(const cli_dist *d, void *buf, size_t n, int type, int op)
{
    if (d && d->allreduce(d, buf, n, type, op)) {
        fprintf(stderr, "bhasha pretrain: rank %d: MPI allreduce failed\n", d->rank);
        d->abort(d, 1);
    }
}

/* Whether any rank failed: ranks stop together instead of one leaving the
 * others waiting in a collective. */
static int any_failed(const cli_dist *d, int failed)
{
    double f = failed != 0;
    reduce(d, &f, 1, CLI_DIST_DOUBLE, CLI_DIST_MAX);
    return f > 0;
}

/* Whether every rank holds the same weights, step and optimizer steps
 * (ranks must stay identical: same start, same summed gradients). */
static int ranks_agree(const cli_dist *d, const bh_model *m, const bh_optim *o, long step)
{
    if (!d) return 1;
    uint64_t h = 1469598103934665603ull;
    bh_tensor_info ti;
    for (int i = 0; bh_model_tensor(m, i, &ti) == BH_OK; i++) {
        size_t n = (size_t)ti.shape[0] * (size_t)(ti.ndim == 2 ? ti.shape[1] : 1);
        for (size_t k = 0; k < n; k++) {
            uint32_t u;
            memcpy(&u, &ti.data[k], sizeof u);
            h = (h ^ u) * 1099511628211ull;
        }
    }
    /* 52-bit values are exact in doubles; max(x) == -max(-x) iff all equal */
    double v[6] = {(double)(h >> 12), (double)step, (double)bh_optim_steps(o)};
    for (int k = 0; k < 3; k++) v[3 + k] = -v[k];
    reduce(d, v, 6, CLI_DIST_DOUBLE, CLI_DIST_MAX);
    return v[0] == -v[3] && v[1] == -v[4] && v[2] == -v[5];
}

int cli_pretrain(int argc, char **argv)
{
    return cli_pretrain_run(argc, argv, NULL);
}

int cli_pretrain_run(int argc, char **argv, const cli_dist *dist)
{
    const char *cmd = argv[0];
    const char *arch = NULL, *config = NULL, *data = NULL, *out = NULL, *tok = NULL, *valid = NULL, *init = NULL, *v;
    int resume = 0, mpi = 0;
    int rank = dist ? dist->rank : 0, size = dist ? dist->size : 1, r0 = rank == 0;
    train_opts t = {1000, 0, 16, 128, 1, 1, 100, 10, -1, 1.0f, 0.15f, 1, {0}, 0, 8, NULL};
    double x;
    int whole_word = 0;
    bh_precision prec = BH_PRECISION_F32;
    uint8_t *ws = NULL;
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    oc.warmup = 100;
    oc.sched = BH_SCHED_COSINE;
    /* every rank parses the same arguments and so meets the same usage
     * errors; rank 0 alone says so */
#define USAGE(...) (r0 ? cli_usage_error(cmd, __VA_ARGS__) : 2)
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (r0) pretrain_usage();
            return 0;
        } else if (cli_opt(argc, argv, &i, "--arch", &arch) || cli_opt(argc, argv, &i, "--config", &config) ||
                   cli_opt(argc, argv, &i, "--data", &data) || cli_opt(argc, argv, &i, "--out", &out) ||
                   cli_opt(argc, argv, &i, "--tokenizer", &tok) || cli_opt(argc, argv, &i, "--valid", &valid) ||
                   cli_opt(argc, argv, &i, "--init", &init)) {
        } else if (!strcmp(argv[i], "--resume")) {
            resume = 1;
        } else if (!strcmp(argv[i], "--whole-word")) {
            whole_word = 1;
        } else if (!strcmp(argv[i], "--mpi")) {
            mpi = 1;
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (bh_precision_parse(v, &prec)) return USAGE("%s", bh_last_error());
        }
#define PNUM(name, lo, hi, dst, type) CLI_NUM(r0 ? cmd : NULL, name, lo, hi, dst, type)
        PNUM("--steps", 1, 1e12, t.steps, long)
        PNUM("--stop-after", 0, 1e12, t.stop_after, long)
        PNUM("--valid-batches", 0, 1e9, t.valid_batches, int)
        PNUM("--batch", 1, 65536, t.batch, int)
        PNUM("--seq", 2, 65536, t.seq, int)
        PNUM("--accum", 1, 65536, t.accum, int)
        PNUM("--threads", 1, 1024, t.threads, int)
        PNUM("--save-every", 1, 1e9, t.save_every, int)
        PNUM("--log-every", 1, 1e9, t.log_every, int)
        PNUM("--sep", -1, INT32_MAX, t.sep, int)
        PNUM("--clip", 0, 1e9, t.clip, float)
        PNUM("--mask-rate", 0, 1, t.mask_rate, float)
        PNUM("--lr", 0, 1e3, oc.lr, float)
        PNUM("--wd", 0, 1e3, oc.weight_decay, float)
        PNUM("--warmup", 0, 1e9, oc.warmup, int)
#undef PNUM
        else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(r0 ? cmd : NULL, "--seed", v, &t.seed)) return 2;
        } else if (cli_opt(argc, argv, &i, "--sched", &v)) {
            if (!strcmp(v, "cosine")) oc.sched = BH_SCHED_COSINE;
            else if (!strcmp(v, "linear")) oc.sched = BH_SCHED_LINEAR;
            else if (!strcmp(v, "constant")) oc.sched = BH_SCHED_CONSTANT;
            else return USAGE("--sched must be cosine, linear or constant");
        } else if (cli_opt(argc, argv, &i, "--special", &v)) {
            char *s = strdup(v), *save = NULL;
            for (char *p = strtok_r(s, ",", &save); p && t.nspecial < 64; p = strtok_r(NULL, ",", &save)) {
                if (cli_integer(r0 ? cmd : NULL, "--special", p, 0, INT32_MAX, &x)) {
                    free(s);
                    return 2;
                }
                t.special[t.nspecial++] = (int)x;
            }
            free(s);
        } else {
            return USAGE("unknown option '%s' (try --help)", argv[i]);
        }
    }
    if (mpi && !dist) return cli_exec_mpi(cmd, argv);
    if (!data || !out || (!resume && (!config || !arch)))
        return USAGE("needs --data and --out, and --arch and --config unless --resume");
    if (t.steps < 1 || t.batch < 1 || t.seq < 2 || t.accum < 1 || t.threads < 1 || t.save_every < 1 ||
        t.log_every < 1 || !(t.mask_rate > 0 && t.mask_rate < 1))
        return USAGE("a numeric option is out of range");
    if (t.batch < size) return USAGE("--batch %d is below the %d ranks (each rank needs a row)", t.batch, size);
    oc.total_steps = (int)t.steps;
    bh_blas_autotune();
    bh_blas_set_threads(t.threads);

    bh_model *m = NULL;
    bh_optim *o = NULL;
    bh_shard_reader *r = NULL;
    char **shards = NULL, **vshards = NULL;
    int32_t *buf = NULL, *ids = NULL, *tg = NULL;
    double *cnt = NULL;
    int nshards = 0, nvshards = 0, rc = 1;
    long step = 0;
    /* the key of every random stream of the run; constant, kept in the checkpoint */
    uint64_t base = t.seed * 0x9E3779B97F4A7C15ull + 1;
    bh_status st;
    char path[4096];
    /* this rank's rows of every global batch [B, row]: [lo, hi), nb = hi - lo;
     * the union over ranks is the whole batch, whatever the number of ranks */
    const bh_model_config *c = NULL;
    int enc = 0, B = t.batch, T = t.seq, A = t.accum, row = T;
    int lo = (int)((long)B * rank / size), hi = (int)((long)B * (rank + 1) / size), nb = hi - lo;
    size_t part = (size_t)nb * T;
    if (list_shards(cmd, data, &shards, &nshards)) return 2;
    if (valid && list_shards(cmd, valid, &vshards, &nvshards)) {
        for (int i = 0; i < nshards; i++) free(shards[i]);
        free(shards);
        return 2;
    }
    /* Set-up: a failure on any rank (it says why) stops all of them at the
     * check after it. */
    if (resume) {
        if ((st = bh_model_load(out, 0, &m))) goto setup_fail;
    } else {
        bh_model_config c;
        if ((st = bh_model_config_load(config, &c))) goto setup_fail;
        if (strcmp(arch, c.arch == BH_ARCH_ENCODER ? "encoder" : "decoder")) {
            rc = USAGE("--arch %s but %s says otherwise", arch, config);
            goto setup_done;
        }
        if ((st = bh_model_new(&c, t.seed, &m))) goto setup_fail;
        if (init) {
            bh_model *src = NULL;
            if ((st = bh_model_load(init, 0, &src))) goto setup_fail;
            st = bh_model_copy_weights(m, src);
            bh_model_free(src);
            if (st) goto setup_fail;
        }
    }
    if ((st = bh_model_set_threads(m, t.threads))) goto setup_fail;
    if (prec != BH_PRECISION_F32 && (st = bh_model_set_precision(m, prec))) goto setup_fail;
    c = bh_model_get_config(m);
    enc = c->arch == BH_ARCH_ENCODER;
    row = enc ? T : T + 1;
    if (t.seq > c->max_len) {
        rc = USAGE("--seq %d exceeds the model's max_len %d", t.seq, c->max_len);
        goto setup_done;
    }
    if (enc && c->mask_id < 0) {
        rc = USAGE("an encoder needs \"mask_id\" in its config for masked-LM training");
        goto setup_done;
    }
    if ((st = bh_optim_new(m, &oc, &o))) goto setup_fail;
    if ((st = bh_shard_reader_open((const char *const *)shards, nshards, t.sep, &r))) goto setup_fail;
    if (resume) {
        char *extra = NULL;
        snprintf(path, sizeof path, "%s/optim.safetensors", out);
        if ((st = bh_optim_load(o, path, &extra))) goto setup_fail;
        json_error_t je;
        json_t *j = json_loads(extra, 0, &je);
        free(extra);
        json_t *js = json_object_get(j, "step"), *jr = json_object_get(j, "rng"), *jd = json_object_get(j, "data");
        if (!json_is_integer(js) || !json_is_string(jr) || !json_is_string(jd)) {
            json_decref(j);
            fprintf(stderr, "bhasha %s: %s: training state missing from the metadata\n", cmd, path);
            goto setup_done;
        }
        /* absent from checkpoints older than the check */
        json_t *jc = json_object_get(j, "weights_crc32");
        if (jc && (!json_is_integer(jc) || (uint32_t)json_integer_value(jc) != weights_crc(m))) {
            json_decref(j);
            fprintf(stderr,
                    "bhasha %s: %s: the weights are not those this optimizer state was saved with (the run stopped "
                    "between the two files of a checkpoint); start again from the weights with --init %s\n",
                    cmd, path, out);
            goto setup_done;
        }
        step = (long)json_integer_value(js);
        base = strtoull(json_string_value(jr), NULL, 10);
        st = bh_shard_reader_seek(r, json_string_value(jd));
        json_decref(j);
        if (st) goto setup_fail;
        if (r0) fprintf(stderr, "resuming %s at step %ld\n", out, step);
    } else if (r0) {
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "bhasha %s: cannot create %s: %s\n", cmd, out, strerror(errno));
            goto setup_done;
        }
        if (tok) {
            snprintf(path, sizeof path, "%s/tokenizer.model", out);
            if (bh__atomic_copy(tok, path)) {
                fprintf(stderr, "bhasha %s: cannot copy %s to %s\n", cmd, tok, path);
                goto setup_done;
            }
        }
    }
    if (enc && whole_word) {
        if (!tok) {
            snprintf(path, sizeof path, "%s/tokenizer.model", out);
            tok = path;
        }
        if (!(ws = word_starts(tok, c->vocab, &st))) goto setup_fail;
        t.word_start = ws;
    }
    buf = malloc(sizeof(int32_t) * (size_t)B * row);
    ids = malloc(sizeof(int32_t) * part * A);
    tg = malloc(sizeof(int32_t) * part * A);
    cnt = malloc(sizeof(double) * ((size_t)A + 1));
    if (!buf || !ids || !tg || !cnt) {
        st = BH_ENOMEM;
        goto setup_fail;
    }
    rc = 0;
    goto setup_done;
setup_fail:
    rc = cli_fail(cmd, st);
setup_done:
    if (any_failed(dist, rc)) {
        if (!rc) rc = 1; /* another rank failed and said why */
        goto done;
    }
    rc = 1;
    if (!ranks_agree(dist, m, o, step)) {
        if (r0) fprintf(stderr, "bhasha %s: the ranks loaded different training states from %s\n", cmd, out);
        goto done;
    }
    /* never a masking target nor a random replacement: --special, padding,
     * the separator and [MASK] itself (random replacements are drawn above
     * the largest of these ids) */
    int32_t special[67];
    int nsp = t.nspecial;
    memcpy(special, t.special, sizeof(int32_t) * (size_t)nsp);
    if (c->pad_id >= 0) special[nsp++] = c->pad_id;
    if (t.sep >= 0) special[nsp++] = t.sep;
    if (c->mask_id >= 0) special[nsp++] = c->mask_id;
    int first_normal = 0;
    for (int k = 0; k < nsp; k++) first_normal = special[k] + 1 > first_normal ? special[k] + 1 : first_normal;
    if (r0 && dist && B % size == 0)
        fprintf(stderr, "pretrain: %d MPI ranks, each %d of the %d rows of every batch\n", size, B / size, B);
    else if (r0 && dist)
        fprintf(stderr, "pretrain: %d MPI ranks, each %d or %d of the %d rows of every batch\n", size, B / size,
                B / size + 1, B);
    if (r0)
        fprintf(stderr, "pretrain %s: %zu parameters, %d shard(s), batch %dx%d x%d accum, %d thread(s), kernel %s%s\n",
                enc ? "encoder (MLM)" : "decoder (causal LM)", bh_model_num_params(m), nshards, B, T, A,
                t.threads, bh_blas_corename(), prec == BH_PRECISION_BF16 ? ", bf16 products" : "");
    double t0 = cli_now(), tokens = 0;
    long start = step;
    for (; step < t.steps; step++) {
        /* The step's data: every rank reads the whole of each micro-batch (the
         * readers stay at the same position on every rank, which is what a
         * checkpoint records) and keeps its rows; the target counts of the
         * whole micro-batches normalize the loss as in one process. */
        int bad = 0;
        for (int a = 0; a < A && !bad; a++) {
            int32_t *x = ids + part * a, *y = tg + part * a;
            if ((st = bh_shard_reader_next(r, buf, B * row))) {
                bad = cli_fail(cmd, st);
                break;
            }
            take_rows(buf, lo, hi, T, enc, x, y);
            if (enc)
                mlm_mask_rows(&t, c, x, y, nb, T, lo, hash2(base, (uint64_t)(step * A + a)), first_normal, special,
                              nsp);
            long n = 0;
            for (size_t k = 0; k < part; k++) n += y[k] != -100;
            cnt[a] = (double)n;
        }
        cnt[A] = bad;
        reduce(dist, cnt, (size_t)A + 1, CLI_DIST_DOUBLE, CLI_DIST_SUM);
        if (cnt[A] > 0) goto done;
        bh_model_zero_grad(m);
        /* sc: the step's loss (each micro-batch's mean, averaged), a
         * non-finite loss, another failure */
        double sc[3] = {0, 0, 0};
        for (int a = 0; a < A; a++) {
            float loss;
            int n;
            uint64_t dseed = hash2(hash2(base, (uint64_t)(step * A + a)), ~0ull);
            st = bh_model_train_step_part(m, ids + part * a, NULL, tg + part * a, nb, T, 1.0f / A, dseed, lo,
                                          (long)cnt[a], &loss, &n);
            if (st == BH_ENUMERIC || (!st && !isfinite(loss))) {
                sc[0] += loss;
                sc[1] = 1;
                break;
            }
            if (st) {
                sc[2] = cli_fail(cmd, st);
                break;
            }
            if (n) sc[0] += (double)loss * n / cnt[a] / A;
            tokens += (double)B * T;
        }
        reduce(dist, sc, 3, CLI_DIST_DOUBLE, CLI_DIST_SUM);
        if (sc[2] > 0) goto done;
        if (sc[1] > 0 || !isfinite(sc[0])) {
            if (r0)
                fprintf(stderr, "bhasha %s: step %ld: loss is %f; stopped, the last good checkpoint in %s is intact\n",
                        cmd, step + 1, isnan(sc[0]) ? fabs(sc[0]) : sc[0], out); /* NaN's sign bit is noise */
            goto done;
        }
        if (dist) {
            /* the global gradient, before clipping sees it */
            float *g;
            size_t ng;
            if ((st = bh_model_grads(m, &g, &ng))) {
                cli_fail(cmd, st);
                dist->abort(dist, 1);
            }
            reduce(dist, g, ng, CLI_DIST_FLOAT, CLI_DIST_SUM);
        }
        float norm = bh_model_clip_grad(m, t.clip);
        if (!isfinite(norm)) {
            if (r0)
                fprintf(stderr, "bhasha %s: step %ld: gradient norm is %f; stopped, the last good checkpoint in %s is intact\n",
                        cmd, step + 1, (double)norm, out);
            goto done;
        }
        float lr = bh_optim_lr(&oc, step);
        if ((st = bh_optim_step(o, m))) {
            cli_fail(cmd, st);
            if (dist) dist->abort(dist, 1);
            goto done;
        }
        if (r0) {
            printf("step %ld loss %.6f\n", step + 1, sc[0]);
            fflush(stdout);
        }
        if (r0 && ((step + 1) % t.log_every == 0 || step + 1 == t.steps)) {
            double el = cli_now() - t0, rate = tokens / (el > 0 ? el : 1e-9);
            double eta = (t.steps - step - 1) * (el / (double)(step + 1 - start));
            fprintf(stderr, "step %ld/%ld loss %.4f lr %.3g |g| %.3g %.0f tok/s ETA %02d:%02d:%02d\n", step + 1,
                    t.steps, sc[0], (double)lr, (double)norm, rate, (int)(eta / 3600), (int)fmod(eta / 60, 60),
                    (int)fmod(eta, 60));
        }
        int stop = t.stop_after > 0 && step + 1 == t.stop_after;
        if ((step + 1) % t.save_every == 0 || step + 1 == t.steps || stop) {
            if (any_failed(dist, r0 && save_all(cmd, m, o, out, step + 1, base, r))) goto done;
            if (!ranks_agree(dist, m, o, step + 1)) {
                if (r0) fprintf(stderr, "bhasha %s: step %ld: the ranks' weights differ; stopped\n", cmd, step + 1);
                goto done;
            }
            if (nvshards) {
                double acc[3] = {0, 0, 0};
                if ((st = validate(m, vshards, nvshards, &t, special, nsp, first_normal, lo, hi, acc)))
                    acc[2] = cli_fail(cmd, st);
                reduce(dist, acc, 3, CLI_DIST_DOUBLE, CLI_DIST_SUM);
                if (acc[2] > 0) goto done;
                double vl = acc[1] > 0 ? acc[0] / acc[1] : 0.0;
                if (r0) {
                    printf("valid %ld loss %.6f\n", step + 1, vl);
                    fflush(stdout);
                    fprintf(stderr, "valid step %ld loss %.4f perplexity %.2f\n", step + 1, vl, exp(vl));
                }
            }
        }
        if (stop) break;
    }
    rc = 0;
done:
#undef USAGE
    free(buf), free(ids), free(tg), free(cnt);
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
            "usage: bhasha generate [--model DIR] (--prompt TEXT | --ids '1 2 3') [--max-new 64]\n"
            "         [--temperature 0] [--top-k 0] [--top-p 1] [--repetition-penalty 1]\n"
            "         [--seed 1] [--threads 1] [--precision f32|bf16] [--tokenizer T.model] [--eos ID]\n"
            "         [--no-normalize]\n"
            "Greedy when the temperature is 0. Text prompts need a SentencePiece model\n"
            "(DIR/tokenizer.model by default) and are normalized first (bh_normalize, as the\n"
            "training text was); the unknown piece is never drawn. Tokens are printed as they\n"
            "come. --precision bf16 reads the weights as bfloat16 (CPUs with AVX512-BF16; 1.3-2x the\n"
            "speed in bench/bench_engine.sh runs, logits within ~1e-2). DIR defaults to the shipped\n"
            "Bangla + Hindi decoder (assets/models/bhasha-gen-bnhi).\n");
}

int cli_generate(int argc, char **argv)
{
    const char *cmd = argv[0], *model = NULL, *prompt = NULL, *idstr = NULL, *tok = NULL, *v;
    int max_new = 64, threads = 1, eos = -1, normalize = 1;
    double x;
    bh_precision prec = BH_PRECISION_F32;
    uint64_t seed = 1;
    char mdir[4096];
    bh_sample_config sc;
    bh_sample_config_default(&sc);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            generate_usage();
            return 0;
        } else if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--prompt", &prompt) ||
                   cli_opt(argc, argv, &i, "--ids", &idstr) || cli_opt(argc, argv, &i, "--tokenizer", &tok)) {
        }
#define GNUM(name, lo, hi, dst, type) CLI_NUM(cmd, name, lo, hi, dst, type)
        GNUM("--max-new", 0, 1e9, max_new, int)
        GNUM("--threads", 1, 1024, threads, int)
        GNUM("--eos", -1, INT32_MAX, eos, int)
        GNUM("--temperature", 0, 1e6, sc.temperature, float)
        GNUM("--top-k", 0, INT32_MAX, sc.top_k, int)
        GNUM("--top-p", 0, 1, sc.top_p, float)
        GNUM("--repetition-penalty", 0, 1e6, sc.repetition_penalty, float)
#undef GNUM
        else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (bh_precision_parse(v, &prec)) return cli_usage_error(cmd, "%s", bh_last_error());
        } else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(cmd, "--seed", v, &seed)) return 2;
        } else if (!strcmp(argv[i], "--no-normalize")) normalize = 0;
        else return cli_usage_error(cmd, "unknown option '%s' (try --help)", argv[i]);
    }
    if (!model && !cli_model_dir("bhasha-gen-bnhi", mdir, sizeof mdir)) model = mdir;
    if (!model || (!prompt == !idstr))
        return cli_usage_error(cmd, "needs one of --prompt, --ids, and --model (no shipped decoder found)");
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
    if (prec != BH_PRECISION_F32 && (st = bh_model_set_precision(m, prec))) goto fail;
    const bh_model_config *c = bh_model_get_config(m);
    if (c->arch != BH_ARCH_DECODER) {
        rc = cli_usage_error(cmd, "%s is an encoder; generation needs a decoder", model);
        goto done;
    }
    if (eos >= c->vocab) {
        rc = cli_usage_error(cmd, "--eos %d is not a token id (the vocabulary has %d)", eos, c->vocab);
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
        bh_buf norm = {0};
        if (normalize && (st = bh_normalize(prompt, strlen(prompt), NULL, &norm, NULL))) goto fail;
        const char *pt = normalize ? (norm.data ? norm.data : "") : prompt;
        st = bh_spm_load(tok, &spm);
        if (!st) st = bh_spm_encode_ids(spm, pt, strlen(pt), &tk);
        bh_buf_free(&norm);
        if (st) goto fail;
        /* pretrain packs documents with the separator between them (--sep,
         * normally the EOS id), so a document starts right after one */
        if (eos < 0) eos = bh_spm_special_id(spm, BH_SPM_EOS);
        if (eos >= 0 && eos < c->vocab) seq[n++] = eos;
        for (size_t i = 0; i < tk.n && n < c->max_len; i++) seq[n++] = tk.ids[i];
    } else {
        char *s = strdup(idstr), *save = NULL;
        for (char *p = strtok_r(s, " ,", &save); p && n < c->max_len; p = strtok_r(NULL, " ,", &save)) {
            if (cli_integer(cmd, "--ids", p, 0, c->vocab - 1, &x)) {
                free(s);
                rc = 2;
                goto done;
            }
            seq[n++] = (int32_t)x;
        }
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
    /* text is decoded from the prompt's first piece on (after the separator),
     * so that a continuation that starts a new word gets its space and one
     * that continues the prompt's last word does not */
    int start = prompt && n > 0 && seq[0] == eos ? 1 : 0;
    if (spm) {
        if ((st = bh_spm_decode(spm, seq + start, (size_t)(n - start), &text))) goto fail;
        shown = text.len;
    }
    /* text out: the unknown piece has no text to show, so it is never drawn */
    int unk = spm ? bh_spm_special_id(spm, BH_SPM_UNK) : -1;
    for (int k = 0; k < max_new && n < c->max_len; k++) {
        if (unk >= 0 && unk < c->vocab) logits[unk] = -INFINITY;
        int next = bh_sample(logits, c->vocab, &sc, seq, n, &rng);
        seq[n++] = next;
        if (next == eos) break;
        if (spm) {
            /* decode everything generated so far and print the new bytes, so
             * pieces that join across tokens come out right */
            bh_buf_clear(&text);
            if ((st = bh_spm_decode(spm, seq + start, (size_t)(n - start), &text))) goto fail;
            if (text.len > shown) {
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

#define MODEL_USAGE                                                                                  \
    "usage: bhasha model convert --in DIR --out DIR [--dtype f16|f16-q8|q8|f32]\n"                 \
    "       bhasha model average --in DIR --in DIR [--in DIR ...] [--weights W,W,...] --out DIR"

/* bhasha model average: the weighted mean of models of one layout. */
static int model_average(int argc, char **argv)
{
    const char *cmd = "model average", *out = NULL, *ws = NULL, *v;
    const char *in[64];
    float w[64];
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--in", &v)) {
            if (n == 64) return cli_usage_error(cmd, "at most 64 models (--in)");
            in[n++] = v;
        } else if (cli_opt(argc, argv, &i, "--out", &out) || cli_opt(argc, argv, &i, "--weights", &ws)) {
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!n || !out) return cli_usage_error(cmd, "average needs --in (once a model) and --out");
    if (ws) {
        char buf[4096];
        if (strlen(ws) >= sizeof buf) return cli_usage_error(cmd, "--weights: too long");
        strcpy(buf, ws);
        int k = 0;
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            double x;
            if (k == n) return cli_usage_error(cmd, "--weights: more weights than models (%d)", n);
            if (cli_number(cmd, "--weights", t, 0, 1e30, &x)) return 2;
            w[k++] = (float)x;
        }
        if (k != n) return cli_usage_error(cmd, "--weights: %d weights for %d models", k, n);
    }
    bh_status st = bh_model_average(in, ws ? w : NULL, n, out);
    return st ? cli_fail(cmd, st) : 0;
}

/* bhasha model convert: a model directory's weights to F16 (or back to
 * F32); bhasha model average. */
int cli_model(int argc, char **argv)
{
    const char *cmd = "model", *in = NULL, *out = NULL, *dtype = "f16";
    if (argc >= 2 && !strcmp(argv[1], "average")) return model_average(argc, argv);
    if (argc < 2 || strcmp(argv[1], "convert")) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            fprintf(stdout, MODEL_USAGE "\n"
                            "convert rewrites a model directory (encoder or decoder, with any task\n"
                            "heads) with its weights stored as F16 (half the size) or F32; loading\n"
                            "widens them.\n"
                            "f16-q8: F16, and the task heads' hashed feature tables keep only their\n"
                            "non-zero rows, as int8 with a scale per row (tables of 3 columns or fewer:\n"
                            "F16 values, where int8 would save a sixth). q8: every matrix as int8\n"
                            "rows with an F16 scale each (about half of F16), vectors as F16.\n"
                            "config.json, tokenizer.model, finetune.json and the files finetune.json\n"
                            "names (a fused head's word clusters) are copied beside the weights.\n"
                            "A NaN or infinite weight, or one the dtype cannot hold (F16: past 65504),\n"
                            "fails naming the tensor.\n"
                            "average writes the weighted mean of the weights of models with the same\n"
                            "config.json (F32): fine-tuning runs from one pretrained model averaged\n"
                            "into one (a \"model soup\"; runs of one --seed and other --data-seed\n"
                            "average well, runs of different --seed may land too far apart).\n"
                            "--weights: one a model, >= 0 (default: equal). The rest is copied from\n"
                            "the first --in; finetune.json loses its dev scores and records the\n"
                            "average. Average plain heads and fuse after (a fused head's settings are\n"
                            "the first model's); int8 or F16 rows from convert do not average.\n");
            return 0;
        }
        return cli_usage_error(cmd, "usage: bhasha model convert|average ... (bhasha model --help)");
    }
    for (int i = 2; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--in", &in) || cli_opt(argc, argv, &i, "--out", &out) ||
            cli_opt(argc, argv, &i, "--dtype", &dtype)) {
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!in || !out) return cli_usage_error(cmd, "convert needs --in and --out");
    if (strcmp(dtype, "f16") && strcmp(dtype, "f32") && strcmp(dtype, "F16") && strcmp(dtype, "F32") &&
        strcmp(dtype, "f16-q8") && strcmp(dtype, "F16-Q8") && strcmp(dtype, "q8") && strcmp(dtype, "Q8"))
        return cli_usage_error(cmd, "--dtype must be f16, f16-q8, q8 or f32");
    bh_status st = bh_model_convert(in, out, dtype);
    return st ? cli_fail(cmd, st) : 0;
}
