/* pipeline/cli.h — the `bhasha` command line: a thin face over the public API.
 * One function per subcommand (argv[0] is the subcommand name); each returns the
 * process exit status. Shared helpers for reading lines and reporting errors
 * live in cli_util.c. Nothing here is part of libbhasha. */
#ifndef BH_PIPELINE_CLI_H
#define BH_PIPELINE_CLI_H

#include <stdio.h>
#include <sys/types.h>

#include "bhasha.h"

/* cli_normalize.c, cli_segment.c, cli_translit.c, cli_langid.c */
int cli_normalize(int argc, char **argv);
int cli_segment(int argc, char **argv);
int cli_translit(int argc, char **argv);
int cli_langid(int argc, char **argv);
/* cli_subword.c */
int cli_spm(int argc, char **argv);
int cli_wordpiece(int argc, char **argv);
/* cli_annotate.c */
int cli_annotate(int argc, char **argv);
/* cli_model.c */
int cli_pretrain(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_model(int argc, char **argv);
int cli_bench(int argc, char **argv);
/* cli_corpus.c */
int cli_corpus(int argc, char **argv);
/* cli_eval.c */
int cli_eval(int argc, char **argv);
/* cli_crf.c */
int cli_crf(int argc, char **argv);
/* cli_digits.c */
int cli_digits(int argc, char **argv);
/* cli_finetune.c */
int cli_finetune(int argc, char **argv);
int cli_sentiment(int argc, char **argv);
int cli_ner(int argc, char **argv);
int cli_fuse_ngrams(int argc, char **argv);
/* cli_qa.c: `finetune --task qa` here, the other tasks to cli_finetune */
int cli_finetune_tasks(int argc, char **argv);
int cli_qa(int argc, char **argv);
int cli_corpus_cloze(int argc, char **argv);
int cli_corpus_squad_split(int argc, char **argv);

/* Prints "bhasha CMD: MESSAGE: DETAIL" (one line) on stderr; returns 1. */
int cli_fail(const char *cmd, bh_status st);
/* Prints "bhasha CMD: " + printf-style message (one line) on stderr; returns 2 (usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Ends a line-oriented command: when more lines had problems than were
 * reported one by one (report_max), says how many in all ("N lines in all had
 * WHAT"); flushes stdout (a write error is one line and status 1); returns rc,
 * or 1 when strict and any line had a problem. */
int cli_finish_lines(const char *cmd, int rc, long problems, long report_max, int strict, const char *what);

/* Reads input line by line, any length, NUL bytes included (they are counted
 * in len). The trailing "\n" (and "\r\n") is stripped; `had_newline` says whether
 * it was there, so output can mirror input exactly. */
typedef struct cli_lines {
    FILE *f;
    const char *cmd, *path; /* for the read error message */
    int failed;             /* a read error ended the input */
    char *line;
    size_t cap;
    size_t len;
    long lineno;
    int had_newline;
} cli_lines;
/* Opens path ("-" or NULL for stdin). Returns 0 or prints an error and returns 1. */
int cli_lines_open(cli_lines *r, const char *cmd, const char *path);
/* Returns 1 when a line was read, 0 at end of input. A read error (a directory,
 * an I/O error) also ends the input; it is reported on stderr (one line) and
 * cli_lines_close returns 1, so that a cut-short input is not a success. */
int cli_lines_next(cli_lines *r);
/* Closes the input (not stdin); returns 1 if a read error ended it, else 0. */
int cli_lines_close(cli_lines *r);

/* Reads a whole file (or stdin for "-") into memory. Returns 0 or prints and returns 1. */
int cli_read_file(const char *cmd, const char *path, bh_buf *out);

/* Writes s[0..n) as a JSON string literal (quotes included, control bytes escaped). */
void cli_json_string(FILE *out, const char *s, size_t n);

/* Finds a shipped data file (e.g. "langid/langid.bin") and writes its path to
 * buf. Looks in $BHASHA_DATA, then next to the executable (installed:
 * ../share/bhasha; build tree: ../assets), then ./assets. Returns 0 when found,
 * 1 when not (buf then holds the last candidate, for the error message). */
int cli_asset(const char *rel, char *buf, size_t cap);

/* The directory of a shipped model (e.g. "bhasha-bnhi": assets/models/NAME,
 * found as cli_asset finds files) into buf. Returns 0 when found, 1 when not. */
int cli_model_dir(const char *name, char *buf, size_t cap);

/* The arguments every model runner takes (sentiment, ner, qa): --strict,
 * --threads N, --precision f32|bf16 and at most one input FILE. Returns 1 when argv[*i] was one of
 * them (*i moves past a value), 0 when it is another option, 2 after a usage
 * error (reported; exit with it). */
int cli_runner_arg(const char *cmd, int argc, char **argv, int *i, int *threads, int *strict, const char **in,
                   bh_precision *prec);

/* Monotonic seconds, for timings and progress lines. */
double cli_now(void);

/* True when argv[i] == name; then *val = argv[i+1] (advancing *i) for options with values. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* *out = v as a number in [lo, hi] (the whole of v: "12x" is not 12);
 * otherwise a usage error naming opt, printed unless cmd is NULL (the other
 * MPI ranks of a command), and its exit status, 2. */
int cli_number(const char *cmd, const char *opt, const char *v, double lo, double hi, double *out);
/* cli_number for an integer option: v must also be a whole number ("--batch
 * 2.5" is not 2), else the same usage error and status. */
int cli_integer(const char *cmd, const char *opt, const char *v, double lo, double hi, double *out);
/* The reader for an option stored as TYPE: cli_integer for an integer type
 * (one that turns 0.5 into 0), cli_number otherwise. */
#define CLI_READER(type) ((type)0.5 == 0 ? cli_integer : cli_number)
/* The same for a decimal unsigned 64-bit value (seeds). */
int cli_u64(const char *cmd, const char *opt, const char *v, uint64_t *out);

/* One numeric option as a link of an if / else-if chain over argv[i]: when
 * argv[i] is NAME, its value goes through cli_number (range [LO, HI]) into DST
 * as TYPE (CLI_READER: whole numbers only for an integer TYPE), and the caller
 * returns 2 on a bad value. Needs argc, argv, i, a const char *v and a double
 * x in scope. */
#define CLI_NUM(cmd, name, lo, hi, dst, type)                                                  \
    else if (cli_opt(argc, argv, &i, name, &v)) {                                              \
        if (CLI_READER(type)(cmd, name, v, lo, hi, &x)) return 2;                              \
        dst = (type)x;                                                                         \
    }

/* Progress callbacks of the fine-tuning commands: a log line to stderr, and
 * "epoch N loss X dev Y" to stdout (flushed). */
void cli_train_log(void *ctx, const char *line);
void cli_train_epoch(void *ctx, int epoch, double loss, double dev);

#endif
