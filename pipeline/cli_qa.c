/* pipeline/cli_qa.c — `bhasha finetune --task qa` (an encoder + span head
 * trained on SQuAD JSON or JSON lines, pipeline/qa.h), `bhasha qa` (JSON
 * lines of context + question in, one JSON answer line per input line out),
 * and the QA data tools `bhasha corpus cloze` / `corpus squad-split`
 * (pipeline/qa_data.h). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/corpus.h"
#include "pipeline/cli.h"
#include "pipeline/qa.h"
#include "pipeline/qa_data.h"

static void finetune_qa_usage(FILE *f)
{
    fprintf(f,
            "usage: bhasha finetune --task qa --base ENCODER --train SQUAD.json|CLOZE.jsonl --dev SQUAD.json\n"
            "         --tokenizer T.model --out DIR [--test SQUAD.json] [--max-len N] [--stride 32]\n"
            "         [--max-query 64] [--max-answer 30] [--null-answer] [--sentence] [--echo-penalty X]\n"
            "         [--type-penalty X] [--epochs 3] [--lr 1e-4]\n"
            "         [--batch 16] [--warmup STEPS (default 10%% of all)] [--patience 2] [--freeze-layers K]\n"
            "         [--dropout P] [--wd 0.01] [--clip 1] [--no-normalize] [--threads 1] [--seed 1]\n"
            "         [--data-seed N (the batch order and dropout alone; default --seed)]\n"
            "         [--precision f32|bf16 (as for the other tasks)]\n"
            "         [--log-every 20]\n"
            "Files: SQuAD v1.1/v2.0 JSON, or JSON lines (*.jsonl) {\"id\",\"context\",\"question\",\n"
            "\"answers\":[{\"text\",\"answer_start\"}]} as bhasha corpus cloze writes (answer_start in code\n"
            "points). Sequences are [CLS] question [SEP] context [SEP]; contexts longer than one window of\n"
            "--max-len pieces (default the encoder's max_len) are cut into windows sharing --stride pieces\n"
            "(at most half a window); a window without the whole answer is trained to point at [CLS].\n"
            "Questions are cut to --max-query pieces, answers decoded up to --max-answer pieces. The dev\n"
            "metric is SQuAD F1 (percent); the best epoch is saved to DIR with the tokenizer. --sentence\n"
            "decodes (dev, test and later bhasha qa) inside the context sentence that shares the most words\n"
            "with the question. --echo-penalty and --type-penalty are the answer priors of decoding (see\n"
            "bhasha qa --help), saved in finetune.json.\n"
            "Progress on stderr; 'epoch N loss X dev Y' lines and a JSON summary on stdout.\n");
}

static int finetune_qa(int argc, char **argv)
{
    const char *cmd = argv[0], *task = NULL, *v;
    bh__qa_options qo;
    bh__qa_options_default(&qo);
    bh__ft_options *o = &qo.ft;
    for (int i = 1; i < argc; i++) {
        double x;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            finetune_qa_usage(stdout);
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--task", &task) || cli_opt(argc, argv, &i, "--base", &o->base) ||
            cli_opt(argc, argv, &i, "--train", &o->train) || cli_opt(argc, argv, &i, "--dev", &o->dev) ||
            cli_opt(argc, argv, &i, "--test", &o->test) || cli_opt(argc, argv, &i, "--tokenizer", &o->tokenizer) ||
            cli_opt(argc, argv, &i, "--out", &o->out))
            continue;
        if (!strcmp(a, "--no-normalize")) o->normalize = 0;
        else if (!strcmp(a, "--null-answer")) qo.null_answer = 1;
        else if (!strcmp(a, "--sentence")) qo.sentence = 1;
        else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (bh_precision_parse(v, &o->precision)) return cli_usage_error(cmd, "%s", bh_last_error());
        }
#define NUM(name, lo, hi, dst, type) CLI_NUM(cmd, name, lo, hi, dst, type)
        NUM("--epochs", 1, 100000, o->epochs, int)
        NUM("--batch", 1, 65536, o->batch, int)
        NUM("--seq", 8, 65536, o->seq, int)
        NUM("--max-len", 8, 65536, o->seq, int)
        NUM("--stride", 0, 65536, qo.stride, int)
        NUM("--max-query", 1, 65536, qo.max_query, int)
        NUM("--max-answer", 1, 65536, qo.max_answer, int)
        NUM("--echo-penalty", 0, 1000, qo.echo_penalty, double)
        NUM("--type-penalty", 0, 1000, qo.type_penalty, double)
        NUM("--warmup", 0, 1e9, o->warmup, int)
        NUM("--patience", 0, 100000, o->patience, int)
        NUM("--freeze-layers", 0, 1024, o->freeze_layers, int)
        NUM("--threads", 1, 1024, o->threads, int)
        NUM("--log-every", 1, 1e9, o->log_every, int)
        else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(cmd, "--seed", v, &o->seed)) return 2;
        } else if (cli_opt(argc, argv, &i, "--data-seed", &v)) {
            if (cli_u64(cmd, "--data-seed", v, &o->data_seed)) return 2;
        }
        NUM("--lr", 1e-12, 10, o->lr, float)
        NUM("--wd", 0, 10, o->weight_decay, float)
        NUM("--clip", 0, 1e9, o->clip, float)
        NUM("--dropout", 0, 0.999, o->dropout, float)
#undef NUM
        else return cli_usage_error(cmd, "unknown or incomplete option '%s' for --task qa (try --task qa --help)", a);
    }
    if (!o->base || !o->train || !o->dev || !o->tokenizer || !o->out)
        return cli_usage_error(cmd, "needs --base, --train, --dev, --tokenizer and --out (try --task qa --help)");
    bh_blas_set_threads(o->threads);
    o->on_log = cli_train_log;
    o->on_epoch = cli_train_epoch;
    bh__qa_result r;
    bh_status st = bh__qa_finetune(&qo, &r);
    if (st) return cli_fail(cmd, st);
    printf("{\"task\":\"qa\",\"train\":%ld,\"windows\":%ld,\"dev\":%ld,\"steps\":%ld,\"epochs\":%d,\"best_epoch\":%d,"
           "\"metric\":\"%s\",\"dev_score\":%.6f",
           r.ft.n_train, r.windows, r.ft.n_dev, r.ft.steps, r.ft.epochs_run, r.ft.best_epoch, r.ft.metric, r.ft.best_dev);
    if (r.ft.test >= 0)
        printf(",\"test\":%ld,\"test_score\":%.6f,\"test_exact_match\":%.6f", r.ft.n_test, r.ft.test, r.test_em);
    printf(",\"first_loss\":%.6f,\"last_loss\":%.6f,\"seconds\":%.1f,\"out\":", r.ft.first_loss, r.ft.last_loss,
           r.ft.seconds);
    cli_json_string(stdout, o->out, strlen(o->out));
    printf("}\n");
    return cli_finish_lines(cmd, 0, 0, 0, 0, "");
}

int cli_finetune_tasks(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) /* extractive QA has its own options */
        if (!strcmp(argv[i], "--task") && !strcmp(argv[i + 1], "qa")) return finetune_qa(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--task=", 7) && !strcmp(argv[i] + 7, "qa")) return finetune_qa(argc, argv);
    return cli_finetune(argc, argv);
}

/* --------------------------------------------------------------------- qa */

static int qa_usage(FILE *f)
{
    fprintf(f, "usage: bhasha qa [--model DIR (default: the shipped Hindi model)] [--threads 1] [--strict]\n"
               "         [--sentence | --no-sentence] [--echo-penalty X] [--type-penalty X] [--top-k K]\n"
               "         [FILE | --squad SQUAD.json]\n"
               "Reads JSON lines {\"context\":\"...\",\"question\":\"...\"} (FILE or stdin; an \"id\" is echoed)\n"
               "and writes one JSON line per input line: {\"answer\":\"...\",\"start\":S,\"end\":E,\"score\":P}\n"
               "(start/end: code point offsets into the original context, [start, end); score: p(start) p(end)\n"
               "in the best window; a --null-answer model may answer \"\" at 0, 0), or {\"error\":\"...\"}\n"
               "for a line that cannot be answered (not JSON, empty context or question, a context shorter\n"
               "than its question). DIR: a directory written by bhasha finetune --task qa.\n"
               "--sentence: answers only inside the context sentence that shares the most words with the\n"
               "question (rarer words count more), as \"sentence\": true in DIR/finetune.json sets it;\n"
               "--no-sentence: the whole context. Answers are whole words.\n"
               "Answer priors (as \"echo_penalty\" and \"type_penalty\" in finetune.json set them; 0 = off),\n"
               "subtracted from a span's log p(start) + log p(end): --echo-penalty X for a span made only of\n"
               "words of the question and punctuation (an answer does not repeat the question);\n"
               "--type-penalty X for a span that does not start with a number when the question asks how\n"
               "many (कितने, কত), or with a number or month when it asks when (कब, किस वर्ष, কবে).\n"
               "--top-k K (1-100): also \"answers\":[{\"answer\",\"start\",\"end\",\"score\"},...], the K best\n"
               "distinct answers (no two on the same characters), best first; the first is the answer above.\n"
               "--squad SQUAD.json: answers every question of a SQuAD v1.1/v2.0 file and writes one SQuAD\n"
               "prediction object {\"ID\":\"answer\",...} (what bhasha eval qa --pred reads); a question that\n"
               "cannot be answered gets \"\" and a line on stderr (exit 1 with --strict).\n");
    return 0;
}

/* --squad FILE: every question of a SQuAD file answered, written as one SQuAD
 * prediction object {"id": "answer", ...}, what bhasha eval qa --pred reads.
 * A question that cannot be answered gets "" and a line on stderr (the first
 * ten); a file that cannot be read ends the object early and fails. */
static int qa_squad(const char *cmd, bh__qa_model *qm, const char *path, int strict)
{
    bh_corpus *r;
    bh_status st = bh__qa_open_squad(path, &r);
    if (st) return cli_fail(cmd, st);
    bh_corpus_record rec;
    long n = 0, problems = 0;
    int k;
    fputc('{', stdout);
    while ((k = bh_corpus_next(r, &rec)) == 1) {
        bh__qa_answer a;
        const char *q = rec.question ? rec.question : "", *id = rec.id ? rec.id : "";
        st = bh__qa_answer_one(qm, rec.text, rec.text_len, q, strlen(q), &a);
        if (st && problems++ < 10) fprintf(stderr, "bhasha %s: %s question %s: %s\n", cmd, path, id, bh_last_error());
        if (n++) fputc(',', stdout);
        cli_json_string(stdout, id, strlen(id));
        fputc(':', stdout);
        cli_json_string(stdout, st || a.null ? "" : rec.text + a.bstart, st || a.null ? 0 : a.bend - a.bstart);
    }
    fputs("}\n", stdout);
    if (k < 0) {
        fprintf(stderr, "bhasha %s: %s\n", cmd, bh_last_error());
        bh_corpus_free(r);
        return 1;
    }
    bh_corpus_free(r);
    if (problems)
        fprintf(stderr, "bhasha %s: %ld of %ld questions could not be answered (answered \"\")\n", cmd, problems, n);
    return strict && problems ? 1 : 0;
}

/* "answer":...,"start":S,"end":E,"score":P of answer x in context ctx. */
static void answer_fields(const char *ctx, const bh__qa_answer *x)
{
    fputs("\"answer\":", stdout);
    cli_json_string(stdout, ctx + x->bstart, x->bend - x->bstart);
    printf(",\"start\":%zu,\"end\":%zu,\"score\":%.4f", x->start, x->end, (double)x->score);
}

int cli_qa(int argc, char **argv)
{
    const char *cmd = argv[0], *model = NULL, *in = NULL, *squad = NULL;
    int threads = 1, strict = 0, sentence = -1;
    double echo = -1, type = -1; /* -1: as the model's finetune.json says */
    double topk = 1;
    bh_precision prec = BH_PRECISION_F32;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return qa_usage(stdout);
        if (cli_opt(argc, argv, &i, "--model", &model) || cli_opt(argc, argv, &i, "--squad", &squad)) continue;
        if (cli_opt(argc, argv, &i, "--top-k", &v)) {
            if (cli_integer(cmd, "--top-k", v, 1, BH__QA_TOP_MAX, &topk)) return 2;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--echo-penalty", &v) || cli_opt(argc, argv, &i, "--type-penalty", &v)) {
            const char *name = argv[i - 1];
            double *dst = !strcmp(name, "--echo-penalty") ? &echo : &type;
            if (cli_number(cmd, name, v, 0, 1000, dst)) return 2;
            continue;
        }
        if (!strcmp(argv[i], "--sentence") || !strcmp(argv[i], "--no-sentence")) {
            sentence = !strcmp(argv[i], "--sentence");
            continue;
        }
        int k = cli_runner_arg(cmd, argc, argv, &i, &threads, &strict, &in, &prec);
        if (k == 2) return 2;
        if (!k) return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", argv[i]);
    }
    if (squad && (in || topk > 1))
        return cli_usage_error(cmd, "--squad FILE reads that file alone and writes one answer per question (no FILE, no --top-k)");
    char mdir[4096];
    if (!model) {
        if (cli_model_dir("bhasha-qa-hi", mdir, sizeof mdir))
            return cli_usage_error(cmd, "needs --model DIR (no shipped QA model found; try --help)");
        model = mdir;
    }
    bh_blas_set_threads(threads);
    bh__qa_model *qm;
    bh_status st = bh__qa_load(model, threads, &qm);
    if (!st && ((prec != BH_PRECISION_F32 && (st = bh__qa_set_precision(qm, prec))) ||
                (sentence >= 0 && (st = bh__qa_set_sentence(qm, sentence))) ||
                ((echo >= 0 || type >= 0) && (st = bh__qa_set_priors(qm, echo, type)))))
        bh__qa_free(qm);
    if (st) return cli_fail(cmd, st);
    if (squad) {
        int rc = qa_squad(cmd, qm, squad, strict);
        bh__qa_free(qm);
        return rc;
    }
    cli_lines r;
    if (cli_lines_open(&r, cmd, in)) {
        bh__qa_free(qm);
        return 1;
    }
    long problems = 0;
    char why[300];
    while (cli_lines_next(&r)) {
        json_error_t je;
        json_t *o = json_loadb(r.line, r.len, 0, &je);
        json_t *c = json_object_get(o, "context"), *q = json_object_get(o, "question"), *id = json_object_get(o, "id");
        bh__qa_answer a[BH__QA_TOP_MAX];
        int na = 0;
        why[0] = 0;
        if (!o) snprintf(why, sizeof why, "not JSON: %s", je.text);
        else if (!json_is_string(c) || !json_is_string(q))
            snprintf(why, sizeof why, "expected an object with string \"context\" and \"question\"");
        else if ((st = bh__qa_answer_top(qm, json_string_value(c), json_string_length(c), json_string_value(q),
                                         json_string_length(q), (int)topk, a, &na)))
            snprintf(why, sizeof why, "%s", bh_last_error());
        fputc('{', stdout);
        if (json_is_string(id) || json_is_integer(id)) {
            char *ids = json_dumps(id, JSON_ENCODE_ANY);
            printf("\"id\":%s,", ids ? ids : "null");
            free(ids);
        }
        if (why[0]) { /* one output line per input line, even for a line that failed */
            if (problems++ < 10) fprintf(stderr, "bhasha %s: line %ld: %s\n", cmd, r.lineno, why);
            fputs("\"error\":", stdout);
            cli_json_string(stdout, why, strlen(why));
            fputs("}\n", stdout);
        } else {
            /* the best answer's fields, then with --top-k the list of all */
            answer_fields(json_string_value(c), &a[0]);
            if (topk > 1) {
                fputs(",\"answers\":[", stdout);
                for (int k = 0; k < na; k++) {
                    fputs(k ? ",{" : "{", stdout);
                    answer_fields(json_string_value(c), &a[k]);
                    fputc('}', stdout);
                }
                fputc(']', stdout);
            }
            fputs("}\n", stdout);
        }
        json_decref(o);
    }
    int rc = cli_lines_close(&r);
    bh__qa_free(qm);
    return cli_finish_lines(cmd, rc, problems, 10, strict, "errors");
}

/* ------------------------------------------------ corpus cloze / squad-split */

static int emit_cloze(void *ctx, const bh__cloze_record *r)
{
    FILE *f = ctx;
    fputs("{\"id\":", f);
    cli_json_string(f, r->id, strlen(r->id));
    fputs(",\"context\":", f);
    cli_json_string(f, r->context, r->context_len);
    fputs(",\"question\":", f);
    cli_json_string(f, r->question, r->question_len);
    fputs(",\"answers\":[{\"text\":", f);
    cli_json_string(f, r->answer, r->answer_len);
    fprintf(f, ",\"answer_start\":%ld}]}\n", r->answer_start);
    return ferror(f) != 0;
}

int cli_corpus_cloze(int argc, char **argv)
{
    const char *cmd = "corpus cloze", *out = NULL, *v;
    bh__cloze_options o;
    bh__cloze_options_default(&o);
    const char **files = calloc((size_t)argc + 1, sizeof(char *));
    int nf = 0;
    if (!files) return cli_usage_error(cmd, "out of memory");
    for (int i = 1; i < argc; i++) {
        double x;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: bhasha corpus cloze [--seed 1] [--max N] [--per-paragraph 1] [--context-chars 1000]\n"
                   "         [--stopwords 300] [--min-sentences 3] [--sample P] [--blank _____] [--out FILE] FILE...\n"
                   "Self-supervised extractive QA from raw text (one paragraph per line): a sentence with a\n"
                   "1-3 word span blanked is the question; the paragraph without that sentence (cut to\n"
                   "--context-chars code points around the span's other occurrence) is the context and that\n"
                   "occurrence the answer. Spans with digits are preferred, then multi-word spans; the\n"
                   "--stopwords most frequent words of the input never answer. Deterministic for a seed.\n"
                   "Writes JSON lines {\"id\",\"context\",\"question\",\"answers\":[{\"text\",\"answer_start\"}]}\n"
                   "(answer_start in code points) for bhasha finetune --task qa; counts on stderr.\n");
            free(files);
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--out", &out) || cli_opt(argc, argv, &i, "--blank", &o.blank)) continue;
#define NUM(name, lo, hi, dst, type)                                   \
    if (cli_opt(argc, argv, &i, name, &v)) {                           \
        if (CLI_READER(type)(cmd, name, v, lo, hi, &x)) {                   \
            free(files);                                               \
            return 2;                                                  \
        }                                                              \
        dst = (type)x;                                                 \
        continue;                                                      \
    }
        if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (cli_u64(cmd, "--seed", v, &o.seed)) {
                free(files);
                return 2;
            }
            continue;
        }
        NUM("--max", 0, 1e12, o.max_questions, long)
        NUM("--per-paragraph", 1, 1e6, o.per_paragraph, int)
        NUM("--context-chars", 1, 1e8, o.context_chars, int)
        NUM("--stopwords", 0, 1e8, o.stopwords, int)
        NUM("--min-sentences", 2, 1e6, o.min_sentences, int)
        NUM("--sample", 1e-9, 1, o.sample, double)
#undef NUM
        if (a[0] == '-' && a[1]) {
            free(files);
            return cli_usage_error(cmd, "unknown or incomplete option '%s' (try --help)", a);
        }
        files[nf++] = a;
    }
    if (!nf) {
        free(files);
        return cli_usage_error(cmd, "needs at least one text FILE (try --help)");
    }
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "bhasha %s: %s: %s\n", cmd, out, strerror(errno));
        free(files);
        return 1;
    }
    bh__cloze_stats s;
    bh_status st = bh__cloze_generate(files, nf, &o, emit_cloze, f, &s);
    free(files);
    int bad = out ? fclose(f) != 0 : fflush(f) != 0;
    if (st) return cli_fail(cmd, st);
    if (bad) {
        fprintf(stderr, "bhasha %s: write error\n", cmd);
        return 1;
    }
    fprintf(stderr, "{\"paragraphs\":%ld,\"questions\":%ld,\"numeric\":%ld,\"multiword\":%ld}\n", s.paragraphs,
            s.questions, s.numeric, s.multiword);
    return 0;
}

int cli_corpus_squad_split(int argc, char **argv)
{
    const char *cmd = "corpus squad-split", *dev = NULL, *test = NULL, *in = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bhasha corpus squad-split --dev DEV.json --test TEST.json SQUAD.json\n"
                   "Paragraph-disjoint halves of a SQuAD file: paragraph p of article a (0-based, file order)\n"
                   "goes to DEV when the 64-bit FNV-1a hash of the text \"a/p\" is even, else to TEST.\n"
                   "Prints the paragraph and question counts of each half.\n");
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--dev", &dev) || cli_opt(argc, argv, &i, "--test", &test)) continue;
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[i]);
        if (in) return cli_usage_error(cmd, "one input file");
        in = argv[i];
    }
    if (!in || !dev || !test) return cli_usage_error(cmd, "needs --dev, --test and a SQuAD file (try --help)");
    long c[4];
    bh_status st = bh__squad_split(in, dev, test, c);
    if (st) return cli_fail(cmd, st);
    printf("{\"dev_paragraphs\":%ld,\"dev_questions\":%ld,\"test_paragraphs\":%ld,\"test_questions\":%ld}\n", c[0], c[1],
           c[2], c[3]);
    return 0;
}
