/* pipeline/cli_subword.c — `bhasha spm train|encode|decode` and `bhasha wordpiece encode`.
 * --threads N runs an ordered pipeline of workers over chunks of lines (ids and
 * JSON; --pieces runs on one thread).
 * Encoders read one text per line and write exactly one output line per input
 * line (an empty line for an input line that fails, with the first failure
 * reported on stderr and exit status 1). Only "\n" ends a line, as in
 * spm_encode, so a "\r" stays part of the text. */
#include "pipeline/cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Reader of "\n"-terminated lines of any length (NUL bytes included). */
typedef struct {
    FILE *f;
    char *line;
    size_t cap, len;
    long lineno;
} sw_lines;

static int sw_next(sw_lines *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) return 0;
    r->lineno++;
    if (n > 0 && r->line[n - 1] == '\n') n--;
    r->len = (size_t)n;
    return 1;
}

static int sw_open(sw_lines *r, const char *cmd, const char *path)
{
    memset(r, 0, sizeof *r);
    if (!path || !strcmp(path, "-")) {
        r->f = stdin;
        return 0;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        fprintf(stderr, "bhasha %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return 1;
    }
    return 0;
}

static void sw_close(sw_lines *r)
{
    if (r->f && r->f != stdin) fclose(r->f);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* Remembers the first per-line failure; the command ends with it. path names
 * the input it came from when a command reads several (NULL otherwise). */
typedef struct {
    bh_status st;
    long lineno;
    char detail[512];
    const char *path;
} sw_err;

static void sw_note(sw_err *e, bh_status st, long lineno)
{
    if (e->st) return;
    e->st = st;
    e->lineno = lineno;
    snprintf(e->detail, sizeof e->detail, "%s", bh_last_error());
}

static int sw_finish(const char *cmd, const sw_err *e)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bhasha %s: write error on standard output\n", cmd);
        return 1;
    }
    if (!e->st) return 0;
    fprintf(stderr, "bhasha %s: %s%sline %ld: %s: %s\n", cmd, e->path ? e->path : "", e->path ? ": " : "", e->lineno,
            bh_errmsg(e->st), e->detail);
    return 1;
}

/* Closes the single input of a command and ends it. getline() stops the same
 * way at end of input and on a read error (EISDIR for a folder, EIO), so
 * without the ferror() check a failed read would pass for a shorter input. */
static int sw_end(const char *cmd, sw_lines *in, const char *path, const sw_err *e)
{
    int bad = ferror(in->f) != 0;
    sw_close(in);
    if (!bad) return sw_finish(cmd, e);
    fflush(stdout);
    fprintf(stderr, "bhasha %s: read error on %s\n", cmd, path);
    return 1;
}

static void put_int(bh_buf *o, long v)
{
    char tmp[24];
    int k = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do tmp[k++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) tmp[k++] = '-';
    char rev[24];
    for (int i = 0; i < k; i++) rev[i] = tmp[k - 1 - i];
    bh_buf_append(o, rev, (size_t)k);
}

enum { OUT_IDS, OUT_PIECES, OUT_JSON };

/* Appends one output line (without "\n") for tokens of text. */
/* pre/post >= 0 add a special token before/after (offsets 0,0). */
static void format_tokens(bh_buf *o, int fmt, const bh_tokens *t, int32_t pre, int32_t post,
                          bh_status (*piece)(const void *, int32_t, const char **, size_t *),
                          const void *model)
{
    size_t first = pre >= 0 ? 0 : 1, last = t->n + (post >= 0 ? 2 : 1);
    if (fmt == OUT_JSON) bh_buf_append(o, "[", 1);
    for (size_t k = first; k < last; k++) {
        int32_t id = k == 0 ? pre : k == t->n + 1 ? post : t->ids[k - 1];
        size_t b = 0, e = 0;
        if (k >= 1 && k <= t->n) {
            b = t->begin[k - 1];
            e = t->end[k - 1];
        }
        if (k > first) bh_buf_append(o, fmt == OUT_JSON ? "," : " ", 1);
        if (fmt == OUT_JSON) {
            bh_buf_append(o, "[", 1);
            put_int(o, id);
            bh_buf_append(o, ",", 1);
            put_int(o, (long)b);
            bh_buf_append(o, ",", 1);
            put_int(o, (long)e);
            bh_buf_append(o, "]", 1);
        } else if (fmt == OUT_IDS) {
            put_int(o, id);
        } else {
            const char *p;
            size_t n;
            if (piece(model, id, &p, &n) == BH_OK) bh_buf_append(o, p, n);
        }
    }
    if (fmt == OUT_JSON) bh_buf_append(o, "]", 1);
}

static bh_status spm_piece(const void *m, int32_t id, const char **p, size_t *n)
{
    return bh_spm_id_to_piece(m, id, p, n);
}

static bh_status wp_piece(const void *w, int32_t id, const char **p, size_t *n)
{
    return bh_wordpiece_id_to_token(w, id, p, n);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* ------------------------------------------------------------ spm train */

static int spm_train(int argc, char **argv)
{
    const char *cmd = "spm train";
    bh_spm_train_options o;
    bh_spm_train_options_default(&o);
    o.verbose = 1;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    if (!inputs) return cli_fail(cmd, BH_ENOMEM);
    size_t ni = 0;
    int rc = 0;
    const char *v;
    long n;
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--input")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) inputs[ni++] = argv[++i];
        } else if (cli_opt(argc, argv, &i, "--model-prefix", &v)) {
            o.model_prefix = v;
        } else if (cli_opt(argc, argv, &i, "--vocab-size", &v)) {
            if (!parse_long(v, 8, 1000000, &n)) rc = cli_usage_error(cmd, "bad --vocab-size '%s'", v);
            o.vocab_size = (int)n;
        } else if (cli_opt(argc, argv, &i, "--model-type", &v)) {
            o.model_type = v;
        } else if (cli_opt(argc, argv, &i, "--character-coverage", &v)) {
            char *end;
            o.character_coverage = strtod(v, &end);
            if (end == v || *end) rc = cli_usage_error(cmd, "bad --character-coverage '%s'", v);
        } else if (cli_opt(argc, argv, &i, "--normalization", &v)) {
            o.normalization = v;
        } else if (cli_opt(argc, argv, &i, "--bhasha-normalize", NULL)) {
            o.bhasha_normalize = 1;
        } else if (cli_opt(argc, argv, &i, "--input-sentence-size", &v)) {
            if (!parse_long(v, 0, 1L << 40, &n)) rc = cli_usage_error(cmd, "bad --input-sentence-size '%s'", v);
            o.input_sentence_size = n;
        } else if (cli_opt(argc, argv, &i, "--max-sentence-length", &v)) {
            if (!parse_long(v, 1, 1L << 30, &n)) rc = cli_usage_error(cmd, "bad --max-sentence-length '%s'", v);
            o.max_sentence_length = (int)n;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!parse_long(v, 1, 256, &n)) rc = cli_usage_error(cmd, "bad --threads '%s'", v);
            o.num_threads = (int)n;
        } else if (cli_opt(argc, argv, &i, "--pad-id", &v)) {
            if (!parse_long(v, -1, 1000000, &n)) rc = cli_usage_error(cmd, "bad --pad-id '%s'", v);
            o.pad_id = (int)n;
        } else if (cli_opt(argc, argv, &i, "--user-defined-symbols", &v)) {
            o.user_defined_symbols = v;
        } else if (cli_opt(argc, argv, &i, "--quiet", NULL)) {
            o.verbose = 0;
        } else {
            rc = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!rc && (!ni || !o.model_prefix))
        rc = cli_usage_error(cmd, "usage: bhasha spm train --input FILE... --model-prefix P --vocab-size N "
                                  "[--model-type unigram|bpe] [--character-coverage X] [--bhasha-normalize] "
                                  "[--normalization RULE] [--input-sentence-size N] [--threads N] [--quiet]");
    if (!rc) {
        o.inputs = inputs;
        o.n_inputs = ni;
        bh_status st = bh_spm_train(&o);
        if (st) rc = cli_fail(cmd, st);
    }
    free(inputs);
    return rc;
}

/* ------------------------------------------------------------ spm encode */

/* --threads N: an ordered pipeline of N workers (the calling thread is one).
 * A worker takes the next chunk of lines under the input lock, then without
 * any lock normalizes, encodes (bh_spm_encode_batch on one thread) and formats
 * it into its own buffer, and finally waits for its turn to write, so chunks
 * leave in input order. Reading and writing of one chunk overlap with the
 * encoding of the others, and each worker keeps its own buffers for the whole
 * run, so memory is always grown and freed by the thread (and malloc arena)
 * that allocated it. */
enum { CHUNK_LINES = 2048, CHUNK_BYTES = 1 << 20 };

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t turn;
    sw_lines *in;
    const bh_spm *m;
    int fmt, normalize;
    int eof, fatal;           /* input ended; a worker failed outright (rc 1 printed) */
    long next_read, next_write; /* chunk sequence numbers */
    sw_err *err;              /* lowest failing line wins */
} enc_pipe;

typedef struct {
    enc_pipe *p;
    bh_buf raw, text, out;
    size_t *starts, *lens;
    char **texts;
    bh_tokens *toks;
} enc_worker;

static void pipe_note(enc_pipe *p, bh_status st, long lineno)
{
    pthread_mutex_lock(&p->mu);
    if (!p->err->st || lineno < p->err->lineno) {
        p->err->st = st;
        p->err->lineno = lineno;
        snprintf(p->err->detail, sizeof p->err->detail, "%s", bh_last_error());
    }
    pthread_mutex_unlock(&p->mu);
}

/* Under the lock: copies up to a chunk of lines into w->raw; returns the count. */
static size_t pipe_read(enc_worker *w, long *first_line)
{
    enc_pipe *p = w->p;
    size_t k = 0;
    bh_buf_clear(&w->raw);
    *first_line = p->in->lineno + 1;
    while (k < CHUNK_LINES && w->raw.len < CHUNK_BYTES) {
        if (!sw_next(p->in)) {
            p->eof = 1;
            break;
        }
        w->starts[k] = w->raw.len;
        if (bh_buf_append(&w->raw, p->in->line, p->in->len)) {
            p->fatal = 1;
            break;
        }
        w->lens[k++] = p->in->len;
    }
    return k;
}

/* Without the lock: normalizes, encodes and formats chunk lines [0, k). */
static void pipe_encode(enc_worker *w, size_t k, long first_line)
{
    enc_pipe *p = w->p;
    bh_buf_clear(&w->out);
    const bh_buf *src = &w->raw;
    if (p->normalize) {
        bh_buf_clear(&w->text);
        for (size_t i = 0; i < k; i++) {
            size_t at = w->text.len;
            bh_status st = bh_normalize(w->raw.data + w->starts[i], w->lens[i], NULL, &w->text, NULL);
            if (st) {
                w->text.len = at; /* the line encodes as empty; the error is reported */
                pipe_note(p, st, first_line + (long)i);
            }
            w->starts[i] = at;
            w->lens[i] = w->text.len - at;
        }
        src = &w->text;
    }
    for (size_t i = 0; i < k; i++) w->texts[i] = src->data + w->starts[i];
    int json = p->fmt == OUT_JSON;
    if (bh_spm_encode_batch(p->m, (const char *const *)w->texts, w->lens, k, 1, json, w->toks)) {
        /* Redo line by line to keep every good line and locate the bad ones. */
        for (size_t i = 0; i < k; i++) {
            bh_status st = json ? bh_spm_encode(p->m, w->texts[i], w->lens[i], &w->toks[i])
                                : bh_spm_encode_ids(p->m, w->texts[i], w->lens[i], &w->toks[i]);
            if (st) {
                w->toks[i].n = 0;
                pipe_note(p, st, first_line + (long)i);
            }
        }
    }
    for (size_t i = 0; i < k; i++) {
        format_tokens(&w->out, p->fmt, &w->toks[i], -1, -1, spm_piece, p->m);
        bh_buf_append(&w->out, "\n", 1);
    }
}

static void *pipe_worker(void *arg)
{
    enc_worker *w = arg;
    enc_pipe *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->eof || p->fatal) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        long first_line, seq = p->next_read++;
        size_t k = pipe_read(w, &first_line);
        pthread_mutex_unlock(&p->mu);

        if (k) pipe_encode(w, k, first_line);

        pthread_mutex_lock(&p->mu);
        while (p->next_write != seq && !p->fatal) pthread_cond_wait(&p->turn, &p->mu);
        if (!p->fatal && k && w->out.len) fwrite(w->out.data, 1, w->out.len, stdout);
        p->next_write++;
        pthread_cond_broadcast(&p->turn);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static int spm_encode_threaded(const char *cmd, const bh_spm *m, sw_lines *in, int fmt, int normalize,
                               int nthreads, sw_err *err)
{
    /* this input's own record: "lowest line wins" compares lines of one file */
    sw_err mine = {0};
    enc_pipe p = {.in = in, .m = m, .fmt = fmt, .normalize = normalize, .err = &mine};
    enc_worker *ws = calloc((size_t)nthreads, sizeof *ws);
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    int rc = 0, started = 0;
    if (!ws || !tids) rc = 1;
    for (int i = 0; i < nthreads && !rc; i++) {
        ws[i].p = &p;
        ws[i].starts = calloc(CHUNK_LINES, sizeof *ws[i].starts);
        ws[i].lens = calloc(CHUNK_LINES, sizeof *ws[i].lens);
        ws[i].texts = calloc(CHUNK_LINES, sizeof *ws[i].texts);
        ws[i].toks = calloc(CHUNK_LINES, sizeof *ws[i].toks);
        if (!ws[i].starts || !ws[i].lens || !ws[i].texts || !ws[i].toks) rc = 1;
    }
    if (rc) {
        rc = cli_fail(cmd, BH_ENOMEM);
    } else {
        pthread_mutex_init(&p.mu, NULL);
        pthread_cond_init(&p.turn, NULL);
        for (int i = 1; i < nthreads; i++, started++)
            if (pthread_create(&tids[i], NULL, pipe_worker, &ws[i])) break;
        pipe_worker(&ws[0]);
        for (int i = 1; i <= started; i++) pthread_join(tids[i], NULL);
        pthread_cond_destroy(&p.turn);
        pthread_mutex_destroy(&p.mu);
        if (p.fatal) rc = cli_fail(cmd, BH_ENOMEM);
    }
    for (int i = 0; ws && i < nthreads; i++) {
        bh_buf_free(&ws[i].raw);
        bh_buf_free(&ws[i].text);
        bh_buf_free(&ws[i].out);
        if (ws[i].toks)
            for (size_t j = 0; j < CHUNK_LINES; j++) bh_tokens_free(&ws[i].toks[j]);
        free(ws[i].starts);
        free(ws[i].lens);
        free(ws[i].texts);
        free(ws[i].toks);
    }
    free(ws);
    free(tids);
    if (mine.st && !err->st) *err = mine;
    return rc;
}

static int spm_encode(int argc, char **argv)
{
    const char *cmd = "spm encode";
    const char *model = NULL, *v;
    int fmt = OUT_IDS, normalize = 0, rc = 0;
    long threads = 1;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nf = 0;
    if (!files) return cli_fail(cmd, BH_ENOMEM);
    for (int i = 1; i < argc && !rc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &v)) model = v;
        else if (cli_opt(argc, argv, &i, "--ids", NULL)) fmt = OUT_IDS;
        else if (cli_opt(argc, argv, &i, "--pieces", NULL)) fmt = OUT_PIECES;
        else if (cli_opt(argc, argv, &i, "--json", NULL)) fmt = OUT_JSON;
        else if (cli_opt(argc, argv, &i, "--normalize", NULL)) normalize = 1;
        else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!parse_long(v, 1, 256, &threads)) rc = cli_usage_error(cmd, "bad --threads '%s'", v);
        } else if (argv[i][0] == '-' && argv[i][1]) rc = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else files[nf++] = argv[i];
    }
    if (!rc && !model)
        rc = cli_usage_error(cmd, "usage: bhasha spm encode --model M.model [--ids|--pieces|--json] "
                                  "[--normalize] [--threads N] [FILE...]");
    bh_spm *m = NULL;
    if (!rc) {
        bh_status st = bh_spm_load(model, &m);
        if (st) rc = cli_fail(cmd, st);
    }
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (!nf) files[nf++] = "-";
    sw_err err = {0};
    bh_tokens t = {0};
    bh_buf out = {0}, norm = {0};
    for (size_t f = 0; f < nf && !rc; f++) {
        sw_lines in;
        if (sw_open(&in, cmd, files[f])) {
            rc = 1;
            break;
        }
        if (threads > 1 && fmt != OUT_PIECES) {
            rc = spm_encode_threaded(cmd, m, &in, fmt, normalize, (int)threads, &err);
        } else {
            while (sw_next(&in)) {
                const char *text = in.line;
                size_t len = in.len;
                bh_status st = BH_OK;
                if (normalize) {
                    bh_buf_clear(&norm);
                    st = bh_normalize(in.line, in.len, NULL, &norm, NULL);
                    text = norm.data;
                    len = norm.len;
                }
                bh_buf_clear(&out);
                if (fmt == OUT_PIECES) {
                    if (!st) st = bh_spm_encode_pieces(m, text, len, &out);
                    if (st) {
                        bh_buf_clear(&out);
                        sw_note(&err, st, in.lineno);
                    }
                } else {
                    if (!st) st = fmt == OUT_JSON ? bh_spm_encode(m, text, len, &t) : bh_spm_encode_ids(m, text, len, &t);
                    if (st) {
                        t.n = 0;
                        sw_note(&err, st, in.lineno);
                    }
                    format_tokens(&out, fmt, &t, -1, -1, spm_piece, m);
                }
                bh_buf_append(&out, "\n", 1);
                fwrite(out.data, 1, out.len, stdout);
            }
        }
        if (!rc && ferror(in.f)) {
            fprintf(stderr, "bhasha %s: read error on %s\n", cmd, files[f]);
            rc = 1;
        }
        if (err.st && !err.path && nf > 1) err.path = strcmp(files[f], "-") ? files[f] : "stdin";
        sw_close(&in);
    }
    if (!rc) rc = sw_finish(cmd, &err);
    else fflush(stdout);
    bh_tokens_free(&t);
    bh_buf_free(&out);
    bh_buf_free(&norm);
    bh_spm_free(m);
    free(files);
    return rc;
}

/* ------------------------------------------------------------ spm decode */

static int spm_decode(int argc, char **argv)
{
    const char *cmd = "spm decode";
    const char *model = NULL, *file = NULL, *v;
    int pieces = 0, rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (cli_opt(argc, argv, &i, "--model", &v)) model = v;
        else if (cli_opt(argc, argv, &i, "--ids", NULL)) pieces = 0;
        else if (cli_opt(argc, argv, &i, "--pieces", NULL)) pieces = 1;
        else if (argv[i][0] == '-' && argv[i][1]) rc = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (file) rc = cli_usage_error(cmd, "one FILE only (got '%s' and '%s')", file, argv[i]);
        else file = argv[i];
    }
    if (!file) file = "-";
    if (!rc && !model) rc = cli_usage_error(cmd, "usage: bhasha spm decode --model M.model [--ids|--pieces] [FILE]");
    bh_spm *m = NULL;
    if (!rc) {
        bh_status st = bh_spm_load(model, &m);
        if (st) rc = cli_fail(cmd, st);
    }
    sw_lines in;
    if (!rc && sw_open(&in, cmd, file)) rc = 1;
    if (rc) {
        bh_spm_free(m);
        return rc;
    }
    sw_err err = {0};
    bh_buf out = {0};
    int32_t *ids = NULL;
    size_t cap = 0;
    while (sw_next(&in)) {
        size_t n = 0;
        bh_status st = BH_OK;
        char *s = in.line, *end = in.line + in.len;
        while (s < end && !st) {
            while (s < end && *s == ' ') s++;
            if (s == end) break;
            char *w = s;
            while (s < end && *s != ' ') s++;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                int32_t *p = realloc(ids, nc * sizeof *p);
                if (!p) {
                    st = BH_ENOMEM;
                    break;
                }
                ids = p;
                cap = nc;
            }
            if (pieces) {
                ids[n++] = bh_spm_piece_to_id(m, w, (size_t)(s - w));
            } else {
                /* The word is parsed where it lies, NUL-terminated for the
                 * moment: a copy into a fixed buffer would cut a long word
                 * ("000...042") into a different, valid id. s is at most
                 * in.line + in.len, inside getline's buffer. A NUL inside the
                 * word would end the number early, so such a word is no id. */
                long id;
                size_t wl = (size_t)(s - w);
                char save = *s;
                *s = 0;
                int ok = !memchr(w, 0, wl) && parse_long(w, 0, bh_spm_vocab_size(m) - 1, &id);
                *s = save;
                if (!ok) {
                    st = BH_EINVAL;
                    char msg[96];
                    snprintf(msg, sizeof msg, "'%.*s%s' is not an id of this model", wl > 32 ? 32 : (int)wl, w,
                             wl > 32 ? "..." : "");
                    /* keep the message as the line's detail */
                    sw_err tmp_err = {st, in.lineno, {0}, NULL};
                    snprintf(tmp_err.detail, sizeof tmp_err.detail, "%s", msg);
                    if (!err.st) err = tmp_err;
                    break;
                }
                ids[n++] = (int32_t)id;
            }
        }
        bh_buf_clear(&out);
        if (!st) st = bh_spm_decode(m, ids, n, &out);
        if (st) {
            sw_note(&err, st, in.lineno);
            bh_buf_clear(&out);
        }
        bh_buf_append(&out, "\n", 1);
        fwrite(out.data, 1, out.len, stdout);
    }
    rc = sw_end(cmd, &in, file, &err);
    free(ids);
    bh_buf_free(&out);
    bh_spm_free(m);
    return rc;
}

int cli_spm(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: bhasha spm train --input FILE... --model-prefix P --vocab-size N [--model-type unigram|bpe]\n"
                "                        [--character-coverage X] [--bhasha-normalize] [--normalization RULE]\n"
                "                        [--input-sentence-size N] [--max-sentence-length N] [--threads N]\n"
                "                        [--pad-id N] [--user-defined-symbols S,..] [--quiet]\n"
                "       bhasha spm encode --model M.model [--ids|--pieces|--json] [--normalize] [--threads N] [FILE...]\n"
                "       bhasha spm decode --model M.model [--ids|--pieces] [FILE]\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return spm_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "encode")) return spm_encode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "decode")) return spm_decode(argc - 1, argv + 1);
    return cli_usage_error("spm", "unknown subcommand '%s' (train, encode, decode)", argv[1]);
}

/* ------------------------------------------------------- wordpiece encode */

int cli_wordpiece(int argc, char **argv)
{
    const char *cmd = "wordpiece encode";
    if (argc < 2 || strcmp(argv[1], "encode") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            printf("usage: bhasha wordpiece encode --vocab vocab.txt [--ids|--tokens|--json] [--lower]\n"
                   "                               [--strip-accents|--bert-accents] [--no-split-cjk] [--special] [FILE]\n");
            return 0;
        }
        return cli_usage_error("wordpiece", "usage: bhasha wordpiece encode --vocab vocab.txt [options] [FILE]");
    }
    argc--;
    argv++;
    bh_wordpiece_options o;
    bh_wordpiece_options_default(&o);
    const char *vocab = NULL, *file = NULL, *v;
    int fmt = OUT_IDS, special = 0, rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (cli_opt(argc, argv, &i, "--vocab", &v)) vocab = v;
        else if (cli_opt(argc, argv, &i, "--ids", NULL)) fmt = OUT_IDS;
        else if (cli_opt(argc, argv, &i, "--tokens", NULL)) fmt = OUT_PIECES;
        else if (cli_opt(argc, argv, &i, "--json", NULL)) fmt = OUT_JSON;
        else if (cli_opt(argc, argv, &i, "--lower", NULL)) o.lower_case = 1;
        else if (cli_opt(argc, argv, &i, "--strip-accents", NULL)) o.strip_accents = 1;
        else if (cli_opt(argc, argv, &i, "--bert-accents", NULL)) o.strip_accents = -1;
        else if (cli_opt(argc, argv, &i, "--no-split-cjk", NULL)) o.split_cjk = 0;
        else if (cli_opt(argc, argv, &i, "--special", NULL)) special = 1;
        else if (argv[i][0] == '-' && argv[i][1]) rc = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (file) rc = cli_usage_error(cmd, "one FILE only (got '%s' and '%s')", file, argv[i]);
        else file = argv[i];
    }
    if (!file) file = "-";
    if (!rc && !vocab) rc = cli_usage_error(cmd, "usage: bhasha wordpiece encode --vocab vocab.txt [options] [FILE]");
    bh_wordpiece *w = NULL;
    if (!rc) {
        bh_status st = bh_wordpiece_load(vocab, &o, &w);
        if (st) rc = cli_fail(cmd, st);
    }
    int32_t cls = -1, sep = -1;
    if (!rc && special) {
        cls = bh_wordpiece_token_to_id(w, "[CLS]", 5);
        sep = bh_wordpiece_token_to_id(w, "[SEP]", 5);
        if (cls < 0 || sep < 0) rc = cli_usage_error(cmd, "--special: %s has no [CLS] or [SEP]", vocab);
    }
    if (!rc && bh_wordpiece_strips_marks(w))
        fprintf(stderr, "bhasha %s: warning: accent stripping deletes Indic vowel signs, virama and nukta "
                        "(BERT-compatible, but damaging for Bangla and Hindi)\n", cmd);
    sw_lines in;
    if (!rc && sw_open(&in, cmd, file)) rc = 1;
    if (rc) {
        bh_wordpiece_free(w);
        return rc;
    }
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    sw_err err = {0};
    bh_tokens t = {0};
    bh_buf out = {0};
    while (sw_next(&in)) {
        bh_status st = bh_wordpiece_encode(w, in.line, in.len, &t);
        if (st) {
            t.n = 0;
            sw_note(&err, st, in.lineno);
        }
        bh_buf_clear(&out);
        if (!st) format_tokens(&out, fmt, &t, cls, sep, wp_piece, w);
        bh_buf_append(&out, "\n", 1);
        fwrite(out.data, 1, out.len, stdout);
    }
    rc = sw_end(cmd, &in, file, &err);
    bh_tokens_free(&t);
    bh_buf_free(&out);
    bh_wordpiece_free(w);
    return rc;
}
