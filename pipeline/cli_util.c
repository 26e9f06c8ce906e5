/* pipeline/cli_util.c — line reading, error reporting and JSON output for the CLI. */
#include "pipeline/cli.h"
#include "pipeline/cli_dist.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *cmd, bh_status st)
{
    const char *d = bh_last_error();
    if (d && *d)
        fprintf(stderr, "bhasha %s: %s: %s\n", cmd, bh_errmsg(st), d);
    else
        fprintf(stderr, "bhasha %s: %s\n", cmd, bh_errmsg(st));
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bhasha %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

int cli_finish_lines(const char *cmd, int rc, long problems, long report_max, int strict, const char *what)
{
    if (problems > report_max) fprintf(stderr, "bhasha %s: %ld lines in all had %s\n", cmd, problems, what);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bhasha %s: write error\n", cmd);
        return 1;
    }
    if (rc) return rc;
    return strict && problems ? 1 : 0;
}

int cli_lines_open(cli_lines *r, const char *cmd, const char *path)
{
    memset(r, 0, sizeof *r);
    r->cmd = cmd;
    r->path = path && strcmp(path, "-") != 0 ? path : "stdin";
    if (!path || strcmp(path, "-") == 0) {
        r->f = stdin;
        return 0;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        fprintf(stderr, "bhasha %s: cannot open %s\n", cmd, path);
        return 1;
    }
    return 0;
}

int cli_lines_next(cli_lines *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f)) {
            fprintf(stderr, "bhasha %s: read error on %s after line %ld\n", r->cmd, r->path, r->lineno);
            r->failed = 1;
        }
        return 0;
    }
    r->lineno++;
    r->had_newline = 0;
    if (n > 0 && r->line[n - 1] == '\n') {
        n--;
        r->had_newline = 1;
        if (n > 0 && r->line[n - 1] == '\r') n--;
    }
    r->len = (size_t)n;
    r->line[n] = 0;
    return 1;
}

int cli_lines_close(cli_lines *r)
{
    int failed = r->failed;
    if (r->f && r->f != stdin) fclose(r->f);
    free(r->line);
    memset(r, 0, sizeof *r);
    return failed;
}

int cli_read_file(const char *cmd, const char *path, bh_buf *out)
{
    FILE *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bhasha %s: cannot open %s\n", cmd, path);
        return 1;
    }
    char tmp[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (bh_buf_append(out, tmp, n)) { rc = cli_fail(cmd, BH_ENOMEM); break; }
    if (!rc && ferror(f)) {
        fprintf(stderr, "bhasha %s: read error on %s\n", cmd, path ? path : "-");
        rc = 1;
    }
    if (f != stdin) fclose(f);
    return rc;
}

void cli_json_string(FILE *out, const char *s, size_t n)
{
    bh_buf b = {0};
    if (bh_buf_append_json(&b, s, n) == BH_OK) fwrite(b.data, 1, b.len, out);
    bh_buf_free(&b);
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    if (strcmp(argv[*i], name) != 0) return 0;
    if (val) {
        if (*i + 1 >= argc) return 0;
        *val = argv[++*i];
    }
    return 1;
}

int cli_asset(const char *rel, char *buf, size_t cap)
{
    const char *env = getenv("BHASHA_DATA");
    if (env && *env) {
        snprintf(buf, cap, "%s/%s", env, rel);
        if (access(buf, R_OK) == 0) return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        static const char *const dirs[] = {"../share/bhasha", "../assets"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            snprintf(buf, cap, "%s/%s/%s", exe, dirs[i], rel);
            if (access(buf, R_OK) == 0) return 0;
        }
    }
    snprintf(buf, cap, "assets/%s", rel);
    return access(buf, R_OK) == 0 ? 0 : 1;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_model_dir(const char *name, char *buf, size_t cap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s/config.json", name);
    if (cli_asset(rel, buf, cap)) return 1;
    char *slash = strrchr(buf, '/');
    if (slash) *slash = 0;
    return 0;
}

int cli_runner_arg(const char *cmd, int argc, char **argv, int *i, int *threads, int *strict, const char **in,
                   bh_precision *prec)
{
    const char *v;
    if (!strcmp(argv[*i], "--strict")) {
        *strict = 1;
    } else if (cli_opt(argc, argv, i, "--precision", &v)) {
        if (bh_precision_parse(v, prec)) return cli_usage_error(cmd, "%s", bh_last_error());
    } else if (cli_opt(argc, argv, i, "--threads", &v)) {
        double x;
        if (cli_number(cmd, "--threads", v, 1, 1024, &x)) return 2;
        *threads = (int)x;
    } else if (argv[*i][0] == '-' && argv[*i][1]) {
        return 0;
    } else if (*in) {
        cli_usage_error(cmd, "one input file at most");
        return 2;
    } else {
        *in = argv[*i];
    }
    return 1;
}

int cli_exec_mpi(const char *cmd, char **argv)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 12);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            strcpy(slash + 1, "bhasha-mpi");
            if (access(exe, X_OK) == 0) {
                argv[-1] = exe; /* argv[-1] is the program name slot of main's argv */
                execv(exe, argv - 1);
            }
        }
    }
    fprintf(stderr, "bhasha %s: --mpi needs bhasha-mpi next to bhasha (built by make where mpicc exists)\n", cmd);
    return 2;
}

int cli_number(const char *cmd, const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || !end || *end || end == v || !(x >= lo && x <= hi))
        return cmd ? cli_usage_error(cmd, "%s %s: expected a number in [%g, %g]", opt, v, lo, hi) : 2;
    *out = x;
    return 0;
}

int cli_integer(const char *cmd, const char *opt, const char *v, double lo, double hi, double *out)
{
    double x;
    int rc = cli_number(cmd, opt, v, lo, hi, &x);
    if (rc) return rc;
    if (x != floor(x)) return cmd ? cli_usage_error(cmd, "%s %s: expected a whole number", opt, v) : 2;
    *out = x;
    return 0;
}

int cli_u64(const char *cmd, const char *opt, const char *v, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || !end || *end || !isdigit((unsigned char)*v))
        return cmd ? cli_usage_error(cmd, "%s %s: expected a whole number in [0, 2^64)", opt, v) : 2;
    *out = (uint64_t)x;
    return 0;
}

void cli_train_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

void cli_train_epoch(void *ctx, int epoch, double loss, double dev)
{
    (void)ctx;
    printf("epoch %d loss %.6f dev %.6f\n", epoch, loss, dev);
    fflush(stdout);
}
