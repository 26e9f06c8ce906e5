/* pipeline/cli_finetune.c — `bhasha finetune` (an encoder + task head trained
 * on labelled files, pipeline/finetune.h), and the runners of the result:
 * `bhasha sentiment` and `bhasha ner` (text lines in, JSON lines out). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "pipeline/cli.h"
#include "pipeline/ngram_fuse.h"
#include "bhasha/langid.h"
#include "pipeline/cli_finetune.h"
#include "pipeline/finetune.h"

static void finetune_usage(FILE *f)
{
    fprintf(f,
            "usage: bhasha finetune --task sentiment|ner --base ENCODER --train FILE --dev FILE\n"
            "         --tokenizer T.model --out DIR [--test FILE] [--format tsv|csv|conll|jsonl]\n"
            "         [--text-col COL] [--label-col COL] [--epochs 3] [--lr 1e-4] [--batch 16] [--seq N]\n"
            "         [--warmup STEPS (default 10%% of all)] [--patience 2] [--freeze-layers K] [--crf]\n"
            "         [--class-weights] [--pool mean|cls] [--no-dense] [--dropout P] [--wd 0.01] [--clip 1]\n"
            "         [--no-normalize] [--on-error skip|stop] [--map NEP=PER,NEL=LOC,...] [--threads 1] [--seed 1]\n"
            "         [--data-seed N] [--log-every 20] [--head NAME] [--features BITS]\n"
            "         [--init-crf CRF.bin [--crf-weight W]] [--precision f32|bf16]\n"
            "         [--also 'task=ner;train=F;dev=F[;test=F][;head=NAME][;map=A=B,..][;crf][;format=F]\n"
            "                  [;text-col=C][;label-col=C][;class-weights][;features=BITS]\n"
            "                  [;init-crf=F][;crf-weight=W]' ...: multi-task]\n"
            "         [--mpi: data-parallel over MPI ranks: mpirun -np N bhasha-mpi finetune --mpi ...]\n"
            "ENCODER: a model directory (bhasha pretrain --arch encoder) or an encoder config JSON\n"
            "(random weights). sentiment reads CSV/TSV (columns by name or 0-based index; default\n"
            "text and label), ner reads CoNLL, or JSON lines with --format jsonl (a text and its tag\n"
            "array: --text-col KEY|INDEX, default text; --label-col KEY|INDEX, default tags; the text\n"
            "is re-tokenized to the tags) (tags repaired and converted to BIO). The best epoch on\n"
            "--dev (macro-F1 / conlleval entity F1) is saved to DIR with the tokenizer; training\n"
            "stops after --patience epochs without improvement (0 = never). --seq defaults to the\n"
            "encoder's max_len, at most 128; longer texts are cut, longer sentences split at words.\n"
            "Progress on stderr; 'epoch N loss X dev Y' lines and a JSON summary on stdout.\n"
            "With --mpi (sentiment, ner), --batch is the global batch: rank r of N computes rows\n"
            "[r*B/N, (r+1)*B/N) of every batch and gradients are summed every step, so the losses\n"
            "are those of one process (up to rounding); rank 0 scores dev, prints and saves.\n"
            "Multi-task: each --also adds a task trained at the same time on the same encoder,\n"
            "with its own head (give each head a distinct name, e.g. sentiment_bn, ner_hi); the\n"
            "batches of all tasks are interleaved, the best epoch is the one with the best mean\n"
            "dev score (entity F1 / 100), and all heads are saved in one checkpoint, so that\n"
            "bhasha annotate runs the encoder once for every head.\n"
            "NER with word features: --features BITS (12..24) gives the head a table of weights\n"
            "[2^BITS, labels] for the hashed word features of the feature CRF (bhasha crf), added to\n"
            "the emissions and trained with everything else; --init-crf starts that table and the\n"
            "CRF transitions from a trained feature CRF (bhasha crf train), scaled by --crf-weight\n"
            "(default 1), and takes its BITS (bhasha crf fuse does the same after training instead);\n"
            "the CRF must know every tag the training data uses (train it on the same file and --map).\n"
            "--seed sets the heads' initialization and, unless --data-seed gives another, the\n"
            "batch order and dropout masks: runs that differ in --data-seed alone start from the\n"
            "same weights (runs to average with bhasha model average).\n"
            "--precision bf16 runs the encoder's linear products (training and dev scoring) in bfloat16\n"
            "with fp32 sums, on CPUs with AVX512-BF16; the weights and the saved model stay fp32.\n");
}

/* The data-parallel sum (pipeline/finetune.h); a lost collective ends the job. */
static int ft_reduce(void *ctx, void *buf, size_t n, int dbl)
{
    const cli_dist *d = ctx;
    if (d->allreduce(d, buf, n, dbl ? CLI_DIST_DOUBLE : CLI_DIST_FLOAT, CLI_DIST_SUM)) {
        fprintf(stderr, "bhasha finetune: rank %d: MPI allreduce failed\n", d->rank);
        d->abort(d, 1);
    }
    return 0;
}

/* --also "task=ner;train=F;dev=F[;test=F][;head=NAME][;format=F][;text-col=C]
 * [;label-col=C][;map=A=B,C=D][;crf][;class-weights]": one more task of a
 * multi-task run. The spec's strings point into argv. */
static int parse_also(const char *cmd, char *spec, bh__ft_options *a)
{
    bh__ft_options_default(a);
    a->task = 0;
    for (char *save = NULL, *f = strtok_r(spec, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(f, '=');
        if (eq) *eq++ = 0;
        if (!strcmp(f, "crf") && !eq) a->crf = 1;
        else if (!strcmp(f, "class-weights") && !eq) a->class_weights = 1;
        else if (!eq || !*eq) return cli_usage_error(cmd, "--also: '%s' needs a value (key=value;...)", f);
        else if (!strcmp(f, "task")) {
            if (bh__ft_task_parse(eq, &a->task)) return cli_usage_error(cmd, "--also: task must be sentiment or ner");
        } else if (!strcmp(f, "train")) a->train = eq;
        else if (!strcmp(f, "dev")) a->dev = eq;
        else if (!strcmp(f, "test")) a->test = eq;
        else if (!strcmp(f, "head")) a->head_name = eq;
        else if (!strcmp(f, "format")) a->format = eq;
        else if (!strcmp(f, "text-col")) a->text_col = eq;
        else if (!strcmp(f, "label-col")) a->label_col = eq;
        else if (!strcmp(f, "map")) a->label_map = eq;
        else if (!strcmp(f, "init-crf")) a->init_crf = eq;
        else if (!strcmp(f, "features") || !strcmp(f, "crf-weight")) {
            double x;
            int bits = !strcmp(f, "features");
            const char *name = bits ? "--also features" : "--also crf-weight";
            if ((bits ? cli_integer : cli_number)(cmd, name, eq, bits ? 12 : 1e-6, bits ? 24 : 1e3, &x))
                return 2;
            if (bits) a->feat_bits = (int)x;
            else a->crf_weight = (float)x;
        } else return cli_usage_error(cmd, "--also: unknown key '%s'", f);
    }
    if (!a->task || !a->train || !a->dev) return cli_usage_error(cmd, "--also needs task=, train= and dev=");
    if (a->crf && a->task != BH__FT_NER) return cli_usage_error(cmd, "--also: crf is for task=ner");
    if ((a->feat_bits || a->init_crf) && a->task != BH__FT_NER)
        return cli_usage_error(cmd, "--also: features and init-crf are for task=ner");
    return 0;
}

int cli_finetune(int argc, char **argv) { return cli_finetune_run(argc, argv, NULL); }

int cli_finetune_run(int argc, char **argv, const cli_dist *dist)
{
    const char *cmd = argv[0], *task = NULL, *pool = NULL, *v;
    int mpi = 0, quiet = dist && dist->rank, saved = -1;
    bh__ft_options o, also[BH__FT_MAXTASKS - 1];
    bh__ft_options_default(&o);
    if (quiet) { /* every rank meets the same usage errors: rank 0 alone says so */
        int dn = open("/dev/null", O_WRONLY);
        saved = dup(2);
        if (dn >= 0) dup2(dn, 2), close(dn);
    }
    for (int i = 1; i < argc; i++) {
        double x;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (!quiet) finetune_usage(stdout);
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--task", &task) || cli_opt(argc, argv, &i, "--base", &o.base) ||
            cli_opt(argc, argv, &i, "--train", &o.train) || cli_opt(argc, argv, &i, "--dev", &o.dev) ||
            cli_opt(argc, argv, &i, "--test", &o.test) || cli_opt(argc, argv, &i, "--format", &o.format) ||
            cli_opt(argc, argv, &i, "--text-col", &o.text_col) || cli_opt(argc, argv, &i, "--label-col", &o.label_col) ||
            cli_opt(argc, argv, &i, "--tokenizer", &o.tokenizer) || cli_opt(argc, argv, &i, "--out", &o.out) || cli_opt(argc, argv, &i, "--map", &o.label_map) ||
            cli_opt(argc, argv, &i, "--pool", &pool) || cli_opt(argc, argv, &i, "--head", &o.head_name) ||
            cli_opt(argc, argv, &i, "--init-crf", &o.init_crf))
            continue;
        if (cli_opt(argc, argv, &i, "--also", &v)) {
            if (o.nalso == BH__FT_MAXTASKS - 1)
                return cli_usage_error(cmd, "at most %d --also tasks", BH__FT_MAXTASKS - 1);
            if (parse_also(cmd, argv[i], &also[o.nalso])) return 2;
            o.nalso++;
            continue;
        }
        if (!strcmp(a, "--mpi")) mpi = 1;
        else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (bh_precision_parse(v, &o.precision)) return cli_usage_error(cmd, "%s", bh_last_error());
        } else if (!strcmp(a, "--crf")) o.crf = 1;
        else if (!strcmp(a, "--class-weights")) o.class_weights = 1;
        else if (!strcmp(a, "--no-dense")) o.dense = 0;
        else if (!strcmp(a, "--no-normalize")) o.normalize = 0;
        else if (!strcmp(a, "--on-error")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "skip") && strcmp(argv[i + 1], "stop")))
                return cli_usage_error(cmd, "--on-error skip|stop");
            o.skip_bad = !strcmp(argv[++i], "skip");
        }
#define NUM(name, lo, hi, dst, type) CLI_NUM(cmd, name, lo, hi, dst, type)
        NUM("--epochs", 1, 100000, o.epochs, int)
        NUM("--batch", 1, 65536, o.batch, int)
        NUM("--seq", 3, 65536, o.seq, int)
        NUM("--warmup", 0, 1e9, o.warmup, int)
        NUM("--patience", 0, 100000, o.patience, int)
        NUM("--freeze-layers", 0, 1024, o.freeze_layers, int)
        NUM("--threads", 1, 1024, o.threads, int)
        NUM("--log-every", 1, 1e9, o.log_every, int)
        else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(cmd, "--seed", v, &o.seed)) return 2;
        } else if (cli_opt(argc, argv, &i, "--data-seed", &v)) {
            if (cli_u64(cmd, "--data-seed", v, &o.data_seed)) return 2;
        }
        NUM("--lr", 1e-12, 10, o.lr, float)
        NUM("--wd", 0, 10, o.weight_decay, float)
        NUM("--clip", 0, 1e9, o.clip, float)
        NUM("--dropout", 0, 0.999, o.dropout, float)
        NUM("--features", 12, 24, o.feat_bits, int)
        NUM("--crf-weight", 1e-6, 1e3, o.crf_weight, float)
#undef NUM
        else return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", a);
    }
    if (!task) return cli_usage_error(cmd, "needs --task sentiment|ner (try --help)");
    if (bh__ft_task_parse(task, &o.task)) return cli_usage_error(cmd, "--task must be sentiment or ner, not '%s'", task);
    if (mpi && !dist) return cli_exec_mpi(cmd, argv);
    if (dist && o.task != BH__FT_SENTIMENT && o.task != BH__FT_NER)
        return cli_usage_error(cmd, "--mpi is for --task sentiment and ner");
    if (!o.base || !o.train || !o.dev || !o.tokenizer || !o.out)
        return cli_usage_error(cmd, "needs --base, --train, --dev, --tokenizer and --out (try --help)");
    if (pool) {
        if (!strcmp(pool, "mean")) o.pool = BH_POOL_MEAN;
        else if (!strcmp(pool, "cls")) o.pool = BH_POOL_CLS;
        else return cli_usage_error(cmd, "--pool must be mean or cls");
    }
    if (o.crf && o.task != BH__FT_NER) return cli_usage_error(cmd, "--crf is for --task ner");
    if ((o.feat_bits || o.init_crf) && o.task != BH__FT_NER)
        return cli_usage_error(cmd, "--features and --init-crf are for --task ner");
    if (o.class_weights && o.task != BH__FT_SENTIMENT) return cli_usage_error(cmd, "--class-weights is for --task sentiment");
    bh_blas_set_threads(o.threads);
    o.on_log = cli_train_log;
    o.on_epoch = cli_train_epoch;
    if (dist) {
        o.rank = dist->rank;
        o.nranks = dist->size;
        o.reduce = ft_reduce;
        o.rctx = (void *)dist;
    }
    if (o.nalso) o.also = also;
    if (saved >= 0) dup2(saved, 2), close(saved);
    bh__ft_result r = {0};
    bh_status st = bh__finetune(&o, &r);
    if (st) return r.peer_error ? 1 : cli_fail(cmd, st); /* a peer error was reported where it happened */
    if (quiet) return 0; /* rank 0 prints the summary */
    printf("{\"task\":\"%s\",\"train\":%ld,\"dev\":%ld,\"labels\":%d,\"steps\":%ld,\"epochs\":%d,\"best_epoch\":%d,"
           "\"metric\":\"%s\",\"dev_score\":%.6f",
           task, r.n_train, r.n_dev, r.n_labels, r.steps, r.epochs_run, r.best_epoch, r.metric, r.best_dev);
    if (r.test >= 0) printf(",\"test\":%ld,\"test_score\":%.6f", r.n_test, r.test);
    if (r.ntasks > 1) {
        printf(",\"tasks\":[");
        for (int k = 0; k < r.ntasks; k++) {
            printf("%s{\"head\":", k ? "," : "");
            cli_json_string(stdout, r.task_head[k], strlen(r.task_head[k]));
            printf(",\"dev_score\":%.6f", r.task_dev[k]);
            if (r.task_test[k] >= 0) printf(",\"test_score\":%.6f", r.task_test[k]);
            printf("}");
        }
        printf("]");
    }
    printf(",\"first_loss\":%.6f,\"last_loss\":%.6f,\"seconds\":%.1f,\"out\":", r.first_loss, r.last_loss, r.seconds);
    cli_json_string(stdout, o.out, strlen(o.out));
    printf("}\n");
    return cli_finish_lines(cmd, 0, 0, 0, 0, "");
}

/* ------------------------------------------------------- sentiment / ner */

static int run_usage(FILE *f, const char *task)
{
    fprintf(f,
            "usage: bhasha %s [--model DIR] [--head NAME | --lang bn|hi] [--threads 1] [--precision f32|bf16]\n"
            "         [--strict] [FILE]\n"
            "         (sentiment: [--labels L1,L2,...]: the most probable of these labels, with\n"
            "         its probability among all of the head's labels; --probs: every label's\n"
            "         probability too, as \"probs\":{\"LABEL\":P,...})\n"
            "Reads text lines (FILE or stdin) and writes one JSON line per input line:\n%s",
            task,
            strcmp(task, "ner")
                ? "  {\"label\":\"...\",\"score\":P} (the most probable label and its probability).\n"
                : "  {\"entities\":[{\"type\":\"PER\",\"start\":S,\"end\":E,\"text\":\"...\",\"score\":P}]}\n"
                  "  (start/end: code point offsets into the line, [start, end); score: mean word probability).\n");
    fprintf(f, "DIR: a directory written by bhasha finetune --task %s (default: the shipped\n"
               "multi-task model, assets/models/bhasha-bnhi). With several heads of the task (sentiment_bn,\n"
               "sentiment_hi, ...) and no --head, each line's language picks one (--lang fixes it;\n"
               "the shipped language identifier decides otherwise). --precision bf16 runs the encoder's\n"
               "products in bfloat16 (CPUs with AVX512-BF16: up to about twice as fast, scores within ~1e-2).\n", task);
    return 0;
}

/* name is one of the comma-separated items of list */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !memcmp(p, name, n)) return 1;
        p += k + (e != NULL);
    }
    return 0;
}

static int run_task(int argc, char **argv, bh__ft_task task)
{
    const char *cmd = argv[0], *model = NULL, *head = NULL, *lang = NULL, *in = NULL, *only = NULL;
    int threads = 1, strict = 0, all_probs = 0;
    bh_precision prec = BH_PRECISION_F32;
    char mdir[4096], lpath[4096];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return run_usage(stdout, cmd);
        if (task == BH__FT_SENTIMENT && !strcmp(argv[i], "--probs")) {
            all_probs = 1;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--head", &head) ||
            cli_opt(argc, argv, &i, "--lang", &lang) || (task == BH__FT_SENTIMENT && cli_opt(argc, argv, &i, "--labels", &only)))
            continue;
        int k = cli_runner_arg(cmd, argc, argv, &i, &threads, &strict, &in, &prec);
        if (k == 2) return 2;
        if (!k) return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", argv[i]);
    }
    if (!model) {
        if (cli_model_dir("bhasha-bnhi", mdir, sizeof mdir))
            return cli_usage_error(cmd, "needs --model DIR (no shipped model found; try --help)");
        model = mdir;
    }
    if (head && lang) return cli_usage_error(cmd, "--head and --lang exclude each other");
    bh__ft_model *fm;
    bh_status st = bh__ft_load(model, task, head, threads, &fm);
    if (!st && prec != BH_PRECISION_F32 && (st = bh__ft_set_precision(fm, prec))) bh__ft_free(fm);
    if (st) return cli_fail(cmd, st);
    bh_head_kind kind = task == BH__FT_NER ? BH_HEAD_TOKEN : BH_HEAD_SEQUENCE;
    bh_head *h = (bh_head *)bh__ft_head(fm);
    if (lang) h = bh__ft_find_head(fm, kind, lang);
    /* several heads of the task and none chosen: each line's language picks */
    bh_langid *lid = NULL;
    if (!head && !lang && bh__ft_find_head(fm, kind, "bn") != bh__ft_find_head(fm, kind, "hi")) {
        if (cli_asset("langid/langid.bin", lpath, sizeof lpath) || (st = bh_langid_load(lpath, &lid))) {
            bh__ft_free(fm);
            if (st) return cli_fail(cmd, st);
            return cli_usage_error(cmd, "%s has a head per language but no language model was found: use --head or --lang",
                                   model);
        }
    }
    cli_lines r;
    if (cli_lines_open(&r, cmd, in)) {
        bh_langid_free(lid);
        bh__ft_free(fm);
        return 1;
    }
    bh__ft_entity *ents = NULL;
    size_t ne = 0, cap = 0;
    long problems = 0;
    /* sized for each line's head: a per-language head may have more labels
     * than the first one */
    float *probs = NULL;
    int nprobs = 0;
    while (cli_lines_next(&r)) {
        st = BH_OK;
        if (lid) {
            bh_langid_result lr;
            st = bh_langid_identify(lid, r.line, r.len, &lr);
            if (!st) h = bh__ft_find_head(fm, kind, lr.lang);
        }
        if (!st && task == BH__FT_SENTIMENT && bh_head_n_labels(h) > nprobs) {
            float *p = realloc(probs, sizeof *p * (size_t)bh_head_n_labels(h));
            if (p) probs = p, nprobs = bh_head_n_labels(h);
            else st = bh__fail(BH_ENOMEM, "out of memory");
        }
        if (!st && task == BH__FT_SENTIMENT) {
            st = bh__ft_run(fm, h, NULL, r.line, r.len, probs, NULL, NULL, NULL);
            int label = -1; /* the most probable label, among --labels when given */
            for (int j = 0; !st && j < bh_head_n_labels(h); j++)
                if ((!only || in_list(only, bh_head_label(h, j))) && (label < 0 || probs[j] > probs[label])) label = j;
            if (!st && label < 0) {
                int rc = cli_usage_error(cmd, "--labels %s: none is a label of head %s", only, bh_head_name(h));
                free(probs);
                free(ents);
                bh_langid_free(lid);
                bh__ft_free(fm);
                cli_lines_close(&r);
                return rc;
            }
            if (!st) {
                const char *l = bh_head_label(h, label);
                fputs("{\"label\":", stdout);
                cli_json_string(stdout, l, strlen(l));
                printf(",\"score\":%.4f", (double)probs[label]);
                for (int j = 0; all_probs && j < bh_head_n_labels(h); j++) {
                    fputs(j ? "," : ",\"probs\":{", stdout);
                    cli_json_string(stdout, bh_head_label(h, j), strlen(bh_head_label(h, j)));
                    printf(":%.6f", (double)probs[j]);
                }
                fputs(all_probs ? "}}\n" : "}\n", stdout);
            }
        } else if (!st) {
            st = bh__ft_run(fm, NULL, h, r.line, r.len, NULL, &ents, &ne, &cap);
            if (!st) {
                fputs("{\"entities\":[", stdout);
                for (size_t k = 0; k < ne; k++) {
                    fputs(k ? ",{\"type\":" : "{\"type\":", stdout);
                    cli_json_string(stdout, ents[k].type, strlen(ents[k].type));
                    printf(",\"start\":%zu,\"end\":%zu,\"text\":", ents[k].start, ents[k].end);
                    cli_json_string(stdout, r.line + ents[k].bstart, ents[k].bend - ents[k].bstart);
                    printf(",\"score\":%.4f}", (double)ents[k].score);
                }
                fputs("]}\n", stdout);
            }
        }
        if (st) { /* one output line per input line, even for a line that failed */
            if (problems++ < 10)
                fprintf(stderr, "bhasha %s: line %ld: %s: %s\n", cmd, r.lineno, bh_errmsg(st), bh_last_error());
            fputs("{\"error\":", stdout);
            cli_json_string(stdout, bh_errmsg(st), strlen(bh_errmsg(st)));
            fputs("}\n", stdout);
        }
    }
    int rc = cli_lines_close(&r);
    free(probs);
    free(ents);
    bh_langid_free(lid);
    bh__ft_free(fm);
    return cli_finish_lines(cmd, rc, problems, 10, strict, "errors");
}

/* ------------------------------------------------------------ fuse-ngrams */

static void fuse_usage(FILE *f)
{
    fprintf(f, "usage: bhasha fuse-ngrams --model DIR [--head NAME] --train FILE --dev FILE [--test FILE]\n"
               "         [--text-col COL] [--text-col2 COL] [--label-col COL] [--map OLD=NEW,...]\n"
               "         [--bits B] [--epochs N] [--lr X] [--a A] [--l2 X] [--nb] [--no-refit] [--threads N] --out DIR\n"
               "Adds an n-gram layer to a sentiment head of a fine-tuned model DIR (default: its first sequence\n"
               "head): a linear model over each text's hashed words, word bigrams and character 2-4-grams, fitted\n"
               "on top of the head's log-probabilities p: fused = softmax(A log p + W x + b). The encoder runs\n"
               "once over the CSV/TSV files (columns text and label unless given); W and b are fitted by AdaGrad\n"
               "(--epochs, default 10; --lr, default 0.2) for A in 0 0.5 1 and L2 in 1e-4 1e-3 1e-2 (or --a, --l2)\n"
               "and the best pair by dev macro-F1 wins; it is then fitted again on train + dev (unless\n"
               "--no-refit; the dev scores are the train-only fits'). Writes DIR's copy with the fused head to --out\n"
               "(bhasha sentiment and annotate use it) and one JSON line: dev (and --test) macro-F1 of the head\n"
               "alone, the n-gram layer alone (A = 0) and the fusion.\n"
               "--nb: W and b are a multinomial naive Bayes model's instead (per-class counts of the training\n"
               "texts' n-grams, smoothing alpha in 0.1 1, log-probabilities centred over the classes and scaled\n"
               "by B in 0.5 1 2 3 5 8), with A, alpha and B chosen on dev; the JSON line has \"nb\":{alpha,b}.\n"
               "A head that already has an n-gram layer is read without it; the new layer replaces it.\n");
}

int cli_fuse_ngrams(int argc, char **argv)
{
    const char *cmd = "fuse-ngrams", *model = NULL, *head = NULL, *out = NULL, *v;
    bh__ngram_fuse_options o = {0};
    o.fixed_a = o.fixed_l2 = -1;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        double x;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fuse_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--no-refit")) {
            o.no_refit = 1;
            continue;
        }
        if (!strcmp(argv[i], "--nb")) {
            o.nb = 1;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--head", &head) ||
            cli_opt(argc, argv, &i, "--out", &out) || cli_opt(argc, argv, &i, "--train", &o.train) ||
            cli_opt(argc, argv, &i, "--dev", &o.dev) || cli_opt(argc, argv, &i, "--test", &o.test) ||
            cli_opt(argc, argv, &i, "--text-col", &o.text_col) || cli_opt(argc, argv, &i, "--text-col2", &o.text_col2) ||
            cli_opt(argc, argv, &i, "--label-col", &o.label_col) || cli_opt(argc, argv, &i, "--map", &o.label_map))
            continue;
        if (cli_opt(argc, argv, &i, "--bits", &v)) {
            if (cli_integer(cmd, "--bits", v, 12, 24, &x)) return 2;
            o.bits = (int)x;
        } else if (cli_opt(argc, argv, &i, "--epochs", &v)) {
            if (cli_integer(cmd, "--epochs", v, 1, 1000, &x)) return 2;
            o.epochs = (int)x;
        } else if (cli_opt(argc, argv, &i, "--lr", &v)) {
            if (cli_number(cmd, "--lr", v, 1e-6, 100, &o.lr)) return 2;
        } else if (cli_opt(argc, argv, &i, "--a", &v)) {
            if (cli_number(cmd, "--a", v, 0, 1000, &o.fixed_a)) return 2;
        } else if (cli_opt(argc, argv, &i, "--l2", &v)) {
            if (cli_number(cmd, "--l2", v, 0, 100, &o.fixed_l2)) return 2;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (cli_integer(cmd, "--threads", v, 1, 1024, &x)) return 2;
            threads = (int)x;
        } else {
            return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", argv[i]);
        }
    }
    if (!model || !o.train || !o.dev || !out)
        return cli_usage_error(cmd, "--model, --train, --dev and --out are required (try --help)");
    bh__ft_model *fm;
    bh_status st = bh__ft_load(model, BH__FT_SENTIMENT, head, threads, &fm);
    if (st) return cli_fail(cmd, st);
    bh_head *sh = (bh_head *)bh__ft_head(fm), *fused = NULL;
    bh__ngram_fuse_result r;
    if (!(st = bh__ngram_fuse(fm, sh, &o, &fused, &r))) st = bh__ft_save_fused(fm, model, sh, fused, r.a, out);
    if (!st) {
        printf("{\"head\":");
        cli_json_string(stdout, bh_head_name(sh), strlen(bh_head_name(sh)));
        printf(",\"train\":%ld,\"dev\":%ld,\"a\":%g", r.n_train, r.n_dev, r.a);
        if (o.nb) printf(",\"nb\":{\"alpha\":%g,\"b\":%g}", r.nb_alpha, r.nb_b);
        else printf(",\"l2\":%g", r.l2);
        printf(",\"dev_macro_f1\":{\"head\":%.2f,\"ngrams\":%.2f,\"fused\":%.2f}", r.dev_head, r.dev_ngrams,
               r.dev_fused);
        if (o.test)
            printf(",\"test\":%ld,\"test_macro_f1\":{\"head\":%.2f,\"ngrams\":%.2f,\"fused\":%.2f}", r.n_test,
                   r.test_head, r.test_ngrams, r.test_fused);
        printf(",\"seconds\":%.1f,\"out\":", r.seconds);
        cli_json_string(stdout, out, strlen(out));
        printf("}\n");
    }
    bh_head_free(fused);
    bh__ft_free(fm);
    return st ? cli_fail(cmd, st) : 0;
}

int cli_sentiment(int argc, char **argv) { return run_task(argc, argv, BH__FT_SENTIMENT); }
int cli_ner(int argc, char **argv) { return run_task(argc, argv, BH__FT_NER); }
