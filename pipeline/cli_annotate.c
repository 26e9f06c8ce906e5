/* pipeline/cli_annotate.c — `bhasha annotate`: records in, one JSON line out per
 * record, in input order, in constant memory.
 *
 * The main thread reads records into batches ("chunks"), a pool of worker
 * threads annotates them (pipeline/workers.h keeps the order), and the main
 * thread writes the finished chunks. At most 2*threads+2 chunks exist, each
 * holding at most CHUNK_RECS records or about CHUNK_BYTES of text (plus one
 * record up to --max-record-bytes), so memory does not grow with the input.
 *
 * With --resume the position after each written chunk can be checkpointed
 * (pipeline/checkpoint.h): output is fdatasync'ed, then the checkpoint renamed
 * into place. A rerun truncates the output to the checkpointed size, re-reads
 * the consumed input to check its CRC-32, and carries on; annotation is
 * deterministic, so the result is byte-identical to an uninterrupted run. */
#include "pipeline/cli_annotate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "pipeline/checkpoint.h"
#include "pipeline/cli.h"
#include "pipeline/workers.h"

#define CHUNK_RECS 64
#define CHUNK_BYTES (128u * 1024u)
#define READ_BLOCK (1u << 20)

static const char usage[] =
    "usage: bhasha annotate [OPTIONS] [FILE...]\n"
    "One JSON object per input record (stdin when no FILE): the text, its normalized form,\n"
    "language, sentences, words with byte offsets and kinds, and a transliteration.\n"
    "Output order is input order; a record that cannot be annotated gives {\"error\": ...}.\n"
    "  --to SCRIPT            transliteration target (latn, deva, beng, ...; none to omit), default latn\n"
    "  --langid-model PATH    language identification model (default: the shipped one); it also\n"
    "                         picks the model's heads by language when the langid stage is off\n"
    "  --no-normalize         the text as given, each byte of invalid UTF-8 replaced by U+FFFD and\n"
    "                         nothing else changed: offsets index the input (the models were\n"
    "                         trained on normalized text)\n"
    "  --stages LIST          normalize,sentences,words,langid,translit,sentiment,ner (default all;\n"
    "                         sentiment and ner run when a model is found)\n"
    "  --model DIR            fine-tuned multi-task model for sentiment and ner (default: the shipped\n"
    "                         one, assets/models/bhasha-bnhi; none to leave them out)\n"
    "  --strict-utf8          invalid UTF-8 makes an error record instead of being repaired\n"
    "  --max-record-bytes N   longer records give an error record (default 4194304)\n"
    "  --format F             text (one record per line), jsonl, csv, tsv, conllu, wiki;\n"
    "                         default from the file name (.jsonl .csv .tsv .conllu .xml, else text)\n"
    "  --text-field K, --id-field K   JSONL/CSV fields (default text; no id)\n"
    "  --input FILE...        input files (same as FILE arguments); .gz is read transparently\n"
    "  --output FILE          write here instead of stdout\n"
    "  --output-format F      json (default, one line per record) or conllu (\"# newdoc\" per record,\n"
    "                         one block per sentence, one row per word); a record without sentences\n"
    "                         gives no document, and one that fails gives none either: its error goes\n"
    "                         to stderr as \"bhasha annotate: record N (id ID): MESSAGE\" (N: the\n"
    "                         record's number in the input, from 1; with --mpi, in the rank's share)\n"
    "  --threads N            annotation threads (default 1)\n"
    "  --precision P          f32 (default) or bf16: the encoder's products in bfloat16, about twice\n"
    "                         as fast on CPUs with AVX512-BF16 (scores move by about 1e-2)\n"
    "  --resume               checkpoint to OUTPUT.ckpt; rerunning the same command continues\n"
    "  --checkpoint-every N   checkpoint every N records (default 20000, and every 30 s)\n"
    "  --summary FILE         JSON counts (default OUTPUT.summary.json with --output)\n"
    "  --stream               Hadoop Streaming / Spark pipe(): stdin lines -> exactly one stdout\n"
    "                         line each, flushed per record, nothing else on stdout or stderr\n"
    "  --mpi                  run as one rank of `mpirun` (needs build/bhasha-mpi; see docs/scaling.md)\n"
    "  --quiet                no summary or progress on stderr\n";

/* Set from the SIGINT/SIGTERM handler: the only way a handler can talk to the loop. */
static volatile sig_atomic_t g_signal;

static void on_signal(int sig) { g_signal = sig; }

/* Blocks SIGINT and SIGTERM in the calling thread (saving its mask in *old)
 * while it starts threads: they inherit the mask, so the signals go to the
 * main thread, which may be waiting in read() on a pipe and must see EINTR. */
static void block_stop_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

typedef struct seg {
    const char *path;
    uint64_t start, end; /* text: records that START in [start, end); end = UINT64_MAX: to EOF */
    uint64_t size;       /* size on disk when the run started (0 for stdin) */
    int corpus;          /* 1: read with bh_corpus (whole file only) */
} seg;

typedef struct job {
    bh_annotator_options ao;
    bh_corpus_options co;
    bh_corpus_format fmt; /* BH_CORPUS_AUTO: by file name */
    seg *segs;
    int nseg;
    const char *output, *summary, *ckpt;
    char *part_path, *ckpt_buf, *summary_buf;
    int resume, stream, threads, quiet, progress;
    long ckpt_every;
    size_t max_rec;
    char config[8192];
} job;

/* ---- record sources -------------------------------------------------------- */

typedef struct src {
    const seg *sg;
    int fd;          /* stdin */
    gzFile gz;       /* files (plain ones are read transparently) */
    bh_corpus *cr;   /* non-text formats */
    int regular;     /* input never blocks */
    char *buf;
    size_t cap, beg, end;
    uint64_t pos;    /* stream offset of buf[beg] */
    int eof;
    int done;        /* the corpus reader reached its end (its last skipped records may still be in hand) */
    long recs;       /* records taken from this segment */
    long skipped_seen;
    uint32_t crc;    /* running CRC of consumed input (whole run) */
} src;

static int fail_io(const char *what, const char *path)
{
    fprintf(stderr, "bhasha annotate: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

/* Reads more input into s->buf: 1 when bytes came, 0 at the end, -1 on an
 * error (reported), -2 when SIGINT/SIGTERM interrupted a read that was
 * waiting for input (nothing reported: the run stops). */
static int src_fill(src *s)
{
    if (s->eof) return 0;
    if (s->beg > 0 && s->beg == s->end) s->beg = s->end = 0;
    if (s->end == s->cap) {
        if (s->beg > 0) {
            memmove(s->buf, s->buf + s->beg, s->end - s->beg);
            s->end -= s->beg;
            s->beg = 0;
        } else {
            size_t nc = s->cap * 2;
            char *nb = realloc(s->buf, nc + 1);
            if (!nb) {
                fprintf(stderr, "bhasha annotate: out of memory\n");
                return -1;
            }
            s->buf = nb;
            s->cap = nc;
        }
    }
    size_t want = s->cap - s->end;
    ssize_t k;
    if (s->gz) {
        k = gzread(s->gz, s->buf + s->end, (unsigned)(want > (1u << 30) ? (1u << 30) : want));
        if (k < 0) {
            if (g_signal) return -2; /* a FIFO given as a file: zlib passes EINTR on */
            int e;
            const char *m = gzerror(s->gz, &e);
            fprintf(stderr, "bhasha annotate: read error on %s: %s\n", s->sg->path, m);
            return -1;
        }
    } else {
        do k = read(s->fd, s->buf + s->end, want);
        while (k < 0 && errno == EINTR && !g_signal);
        if (k < 0 && errno == EINTR) return -2;
        if (k < 0) return -fail_io("read error on", s->sg->path);
    }
    if (k == 0) s->eof = 1;
    s->end += (size_t)k;
    return k > 0;
}

/* 1 when reading now would block (a pipe or terminal with nothing buffered). */
static int src_would_block(const src *s)
{
    if (s->regular || s->cr || s->beg < s->end || s->eof) return 0;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Consumes n raw bytes (n > 0: exactly, or to EOF), updating the CRC when crc != 0. */
static int src_skip(src *s, uint64_t n, int crc)
{
    while (n) {
        if (s->beg == s->end) {
            int r = src_fill(s);
            if (r < 0) return -1;
            if (r == 0) return 0;
        }
        size_t k = s->end - s->beg;
        if (k > n) k = (size_t)n;
        if (crc) s->crc = (uint32_t)crc32(s->crc, (const Bytef *)s->buf + s->beg, (uInt)k);
        s->beg += k;
        s->pos += k;
        n -= k;
    }
    return 0;
}

static int src_open(src *s, const seg *sg, const job *j, uint32_t crc)
{
    memset(s, 0, sizeof *s);
    s->sg = sg;
    s->crc = crc;
    s->fd = -1;
    if (sg->corpus) {
        bh_status st = bh_corpus_open(sg->path, &j->co, &s->cr);
        return st ? cli_fail("annotate", st) : 0;
    }
    s->cap = READ_BLOCK;
    s->buf = malloc(s->cap + 1);
    if (!s->buf) return cli_fail("annotate", BH_ENOMEM);
    if (!strcmp(sg->path, "-")) {
        s->fd = 0;
        struct stat st;
        s->regular = fstat(0, &st) == 0 && S_ISREG(st.st_mode);
    } else {
        s->gz = gzopen(sg->path, "rb");
        /* open() of a FIFO waits for a writer; a signal then is no error to report */
        if (!s->gz) return errno == EINTR && g_signal ? 1 : fail_io("cannot open", sg->path);
        gzbuffer(s->gz, 256 * 1024);
        s->regular = 1;
    }
    if (sg->start > 0) {
        /* A byte range (MPI): begin at the first record that starts at or after
         * start, i.e. just past the first newline at or after start-1. */
        if (gzseek(s->gz, (z_off_t)(sg->start - 1), SEEK_SET) < 0) return fail_io("cannot seek in", sg->path);
        s->pos = sg->start - 1;
        for (;;) {
            if (s->beg == s->end) {
                int r = src_fill(s);
                if (r < 0) return 1;
                if (r == 0) break;
            }
            char *nl = memchr(s->buf + s->beg, '\n', s->end - s->beg);
            size_t k = nl ? (size_t)(nl - (s->buf + s->beg)) + 1 : s->end - s->beg;
            s->beg += k;
            s->pos += k;
            if (nl) break;
        }
    }
    return 0;
}

static void src_close(src *s)
{
    if (s->gz) gzclose(s->gz);
    bh_corpus_free(s->cr);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* ---- chunks ---------------------------------------------------------------- */

enum { REC_TEXT, REC_OVERSIZE, REC_SKIPPED };

typedef struct rec {
    size_t off, len;   /* text (or problem message) in chunk.in */
    size_t id_off, id_len;
    int has_id, kind;
    uint64_t bytes;    /* record size in the input */
} rec;

typedef struct chunk {
    bh_buf in, out;
    bh_buf notes;      /* CoNLL-U: stderr lines for the records that failed */
    rec *r;
    int n, cap;
    long first;        /* records of the run before this chunk (for messages) */
    long failed, skipped;
    int oom;           /* work() could not grow a buffer: out is incomplete */
    uint64_t in_bytes;
    /* position after the chunk */
    int seg;
    uint64_t offset;
    long seg_records;
    uint32_t crc;
} chunk;

typedef struct wctx {
    const bh_annotator *a;
    size_t max_rec;
    int conllu;
} wctx;

/* {"id":..,"error":..,"bytes":..} (JSON output). */
static bh_status append_error(bh_buf *o, const rec *r, const char *id, const char *msg)
{
    char num[64];
    bh_status st = bh_buf_append(o, "{", 1);
    if (!st && r->has_id) {
        st = bh_buf_append(o, "\"id\":", 5);
        if (!st) st = bh_buf_append_json(o, id, r->id_len);
        if (!st) st = bh_buf_append(o, ",", 1);
    }
    if (!st) st = bh_buf_append(o, "\"error\":", 8);
    if (!st) st = bh_buf_append_json(o, msg, strlen(msg));
    int k = snprintf(num, sizeof num, ",\"bytes\":%llu}", (unsigned long long)r->bytes);
    if (!st) st = bh_buf_append(o, num, (size_t)k);
    return st;
}

/* One stderr line for a record that fails in CoNLL-U output, which has no
 * place for it: a comment block without word lines would be read as part of
 * the next sentence. */
static bh_status append_note(bh_buf *o, long index, const rec *r, const char *id, const char *msg)
{
    char num[64];
    int k = snprintf(num, sizeof num, "bhasha annotate: record %ld", index);
    bh_status st = bh_buf_append(o, num, (size_t)k);
    if (!st && r->has_id) {
        st = bh_buf_append(o, " (id ", 5);
        if (!st) st = bh__buf_append_line(o, id, r->id_len);
        if (!st) st = bh_buf_append(o, ")", 1);
    }
    if (!st) st = bh_buf_append(o, ": ", 2);
    if (!st) st = bh__buf_append_line(o, msg, strlen(msg));
    if (!st) st = bh_buf_append(o, "\n", 1);
    return st;
}

/* "STATUS: detail" of a failed bh_annotate (the detail is this thread's). */
static void failure_message(char *msg, size_t cap, bh_status st)
{
    const char *d = bh_last_error();
    snprintf(msg, cap, "%s%s%s", bh_errmsg(st), d && *d ? ": " : "", d ? d : "");
}

/* Annotates a chunk. A record that cannot be annotated becomes an error
 * record (JSON) or a note for stderr (CoNLL-U); a buffer that cannot grow
 * sets c->oom, and commit() stops the run, since the output would have a gap. */
static void work(void *ctx, void *item)
{
    const wctx *w = ctx;
    chunk *c = item;
    bh_buf tmp = {0};
    char msg[512];
    bh_status st = BH_OK;
    bh_buf_clear(&c->out);
    bh_buf_clear(&c->notes);
    c->failed = 0;
    c->oom = 0;
    for (int i = 0; i < c->n && !st; i++) {
        const rec *r = &c->r[i];
        const char *id = c->in.data + r->id_off;
        size_t mark = c->out.len;
        msg[0] = 0;
        if (r->kind == REC_OVERSIZE) {
            snprintf(msg, sizeof msg, "record of %llu bytes is over the limit (--max-record-bytes %zu)",
                     (unsigned long long)r->bytes, w->max_rec);
            c->failed++;
        } else if (r->kind == REC_SKIPPED) {
            snprintf(msg, sizeof msg, "unreadable record: %.*s", (int)r->len, c->in.data + r->off);
        } else if (w->conllu) {
            /* "# newdoc" opens the record's document; it is taken back when no
             * sentence follows, since it would then belong to the next one. */
            st = bh_buf_append(&c->out, "# newdoc", 8);
            if (!st && r->has_id) {
                st = bh_buf_append(&c->out, " id = ", 6);
                if (!st) st = bh__buf_append_line(&c->out, id, r->id_len);
            }
            if (!st) st = bh_buf_append(&c->out, "\n", 1);
            size_t body = c->out.len;
            bh_status as = st ? BH_OK : bh_annotate(w->a, c->in.data + r->off, r->len, &c->out);
            if (as) {
                failure_message(msg, sizeof msg, as);
                c->failed++;
            }
            if (!st && c->out.len == body) {
                c->out.len = mark;
                c->out.data[mark] = 0;
            }
        } else {
            bh_buf_clear(&tmp);
            bh_status as = bh_annotate(w->a, c->in.data + r->off, r->len, &tmp);
            if (as) {
                failure_message(msg, sizeof msg, as);
                c->failed++;
            } else if (r->has_id) {
                st = bh_buf_append(&c->out, "{\"id\":", 6);
                if (!st) st = bh_buf_append_json(&c->out, id, r->id_len);
                if (!st) st = bh_buf_append(&c->out, ",", 1);
                if (!st) st = bh_buf_append(&c->out, tmp.data + 1, tmp.len - 1);
            } else {
                st = bh_buf_append(&c->out, tmp.data, tmp.len);
            }
        }
        if (!st && msg[0])
            st = w->conllu ? append_note(&c->notes, c->first + i + 1, r, id, msg) : append_error(&c->out, r, id, msg);
        if (!st && !w->conllu) st = bh_buf_append(&c->out, "\n", 1);
    }
    c->oom = st != BH_OK;
    bh_buf_free(&tmp);
}

static rec *new_rec(chunk *c)
{
    if (c->n == c->cap) {
        int nc = c->cap ? 2 * c->cap : CHUNK_RECS;
        rec *nr = realloc(c->r, (size_t)nc * sizeof *nr);
        if (!nr) return NULL;
        c->r = nr;
        c->cap = nc;
    }
    rec *r = &c->r[c->n];
    memset(r, 0, sizeof *r);
    return r;
}

/* Adds the next record to c (a corpus reader may add skipped ones before it).
 * Returns 1 when something was added, 0 at the end of the segment, -1 on a
 * fatal error, -2 when a signal interrupted a read (nothing added; the
 * position may be inside the record). At the end of a corpus reader, the
 * records it skipped last come with the 0, or with a 1 and s->done set. */
static int read_record(src *s, chunk *c, size_t max_rec)
{
    rec *r = new_rec(c);
    if (!r) return -cli_fail("annotate", BH_ENOMEM);
    if (s->cr) {
        bh_corpus_record cr;
        int k = bh_corpus_next(s->cr, &cr);
        /* a read of stdin interrupted by SIGINT/SIGTERM fails the reader: no error to report */
        if (k < 0) return g_signal ? -2 : -cli_fail("annotate", k);
        long sk = bh_corpus_skipped(s->cr);
        int added = 0;
        while (sk > s->skipped_seen) {
            /* The reader dropped a bad record: keep a line for it. */
            const char *p = bh_corpus_problem(s->cr, s->skipped_seen);
            if (!p) p = "skipped by the reader";
            s->skipped_seen++;
            r->kind = REC_SKIPPED;
            r->off = c->in.len;
            r->len = strlen(p);
            if (bh_buf_append(&c->in, p, r->len)) return -cli_fail("annotate", BH_ENOMEM);
            c->n++;
            c->skipped++;
            added = 1;
            if (!(r = new_rec(c))) return -cli_fail("annotate", BH_ENOMEM);
        }
        if (k == 0) {
            s->done = 1;
            return added;
        }
        r->kind = REC_TEXT;
        r->bytes = cr.text_len;
        s->crc = (uint32_t)crc32(s->crc, (const Bytef *)cr.text, (uInt)cr.text_len);
        if (cr.text_len > max_rec) {
            r->kind = REC_OVERSIZE;
        } else {
            r->off = c->in.len;
            r->len = cr.text_len;
            if (bh_buf_append(&c->in, cr.text, cr.text_len)) return -cli_fail("annotate", BH_ENOMEM);
        }
        if (cr.id) {
            r->has_id = 1;
            r->id_len = strlen(cr.id);
            s->crc = (uint32_t)crc32(s->crc, (const Bytef *)cr.id, (uInt)r->id_len + 1);
            r->id_off = c->in.len;
            if (bh_buf_append(&c->in, cr.id, r->id_len + 1)) return -cli_fail("annotate", BH_ENOMEM);
        }
        s->recs++;
        c->in_bytes += cr.text_len;
        c->n++;
        return 1;
    }
    /* Text: one record per line; a record is the line if it STARTS before end. */
    if (s->pos >= s->sg->end) return 0;
    if (s->beg == s->end) {
        int f = src_fill(s);
        if (f < 0) return f;
        if (f == 0) return 0;
    }
    uint64_t total = 0;
    size_t scanned = 0;
    for (;;) {
        char *base = s->buf + s->beg;
        char *nl = memchr(base + scanned, '\n', s->end - s->beg - scanned);
        size_t have = s->end - s->beg;
        if (nl || s->eof || have > max_rec) {
            size_t k = nl ? (size_t)(nl - base) : have; /* bytes of text in the buffer */
            if (total == 0 && k <= max_rec && (nl || s->eof)) {
                size_t len = k;
                if (len && base[len - 1] == '\r') len--;
                r->kind = REC_TEXT;
                r->off = c->in.len;
                r->len = len;
                r->bytes = k;
                if (bh_buf_append(&c->in, base, len)) return -cli_fail("annotate", BH_ENOMEM);
                size_t adv = k + (nl ? 1 : 0);
                s->crc = (uint32_t)crc32(s->crc, (const Bytef *)base, (uInt)adv);
                s->beg += adv;
                s->pos += adv;
                c->in_bytes += adv;
                break;
            }
            /* Over the limit: consume it without keeping it. */
            size_t adv = k + (nl ? 1 : 0);
            s->crc = (uint32_t)crc32(s->crc, (const Bytef *)base, (uInt)adv);
            s->beg += adv;
            s->pos += adv;
            c->in_bytes += adv;
            total += k;
            if (nl || s->eof) {
                r->kind = REC_OVERSIZE;
                r->bytes = total;
                break;
            }
            scanned = 0;
            int f = src_fill(s);
            if (f < 0) return f;
            continue;
        }
        scanned = have;
        int f = src_fill(s);
        if (f < 0) return f;
        /* src_fill may have moved the data; `scanned` is relative to beg. */
    }
    s->recs++;
    c->n++;
    return 1;
}

/* ---- output ---------------------------------------------------------------- */

typedef struct sink {
    int fd;
    const char *path;
    uint64_t size;
    uint32_t crc;
    int err;       /* errno of the first failed write */
} sink;

static int sink_write(sink *o, const char *p, size_t n)
{
    const char *q = p;
    size_t left = n;
    while (left) {
        ssize_t k = write(o->fd, q, left);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            o->err = k < 0 ? errno : ENOSPC;
            /* Keep the file at a record boundary for the next --resume. */
            if (o->fd > 2 && ftruncate(o->fd, (off_t)o->size) == 0) lseek(o->fd, (off_t)o->size, SEEK_SET);
            return -1;
        }
        q += k;
        left -= (size_t)k;
    }
    o->crc = (uint32_t)crc32(o->crc, (const Bytef *)p, (uInt)n);
    o->size += n;
    return 0;
}

/* ---- the run --------------------------------------------------------------- */

static int is_gzip(const char *path);

typedef struct run {
    job *j;
    sink out;
    bh__ckpt ck;        /* the committed position (what the output holds) */
    long since_ckpt;
    double t0, last_ckpt, last_progress;
    uint64_t in_bytes, in_total;
    int failed_write;
} run;

static int checkpoint(run *R)
{
    if (!R->j->resume) return 0;
    if (fdatasync(R->out.fd)) {
        R->out.err = errno;
        return -1;
    }
    R->ck.out_size = R->out.size;
    R->ck.out_crc = R->out.crc;
    if (bh__ckpt_write(R->j->ckpt, &R->ck)) {
        cli_fail("annotate", BH_EIO);
        return -1;
    }
    R->since_ckpt = 0;
    R->last_ckpt = cli_now();
    return 0;
}

static void progress(run *R, int final)
{
    double t = cli_now(), el = t - R->t0;
    if (!final && t - R->last_progress < 0.5) return;
    R->last_progress = t;
    double rps = el > 0 ? R->ck.read / el : 0, mbs = el > 0 ? R->in_bytes / el / 1e6 : 0;
    char eta[64] = "";
    if (R->in_total && R->in_bytes && R->in_bytes <= R->in_total && !final) {
        double left = (double)(R->in_total - R->in_bytes) / (R->in_bytes / el);
        snprintf(eta, sizeof eta, "  %.1f%%  ETA %dm%02ds", 100.0 * R->in_bytes / R->in_total, (int)(left / 60),
                 (int)left % 60);
    }
    fprintf(stderr, "\r%ld records  %.0f rec/s  %.2f MB/s%s\033[K%s", R->ck.read, rps, mbs, eta, final ? "\n" : "");
}

/* Writes a finished chunk and moves the committed position past it. */
static int commit(run *R, chunk *c)
{
    if (R->failed_write) return -1;
    if (c->oom) {
        /* Nothing of the chunk is written: the committed position stays a
         * record boundary, and a checkpoint, if any, stays consistent. */
        fprintf(stderr, "bhasha annotate: out of memory annotating records %ld-%ld; stopped after %ld records\n",
                c->first + 1, c->first + c->n, R->ck.written);
        R->failed_write = 1;
        return -1;
    }
    if (R->j->stream) {
        /* One write per record: each line is out as soon as it is annotated. */
        const char *p = c->out.data, *e = p + c->out.len;
        while (p < e) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            size_t k = nl ? (size_t)(nl - p) + 1 : (size_t)(e - p);
            if (sink_write(&R->out, p, k)) break;
            p += k;
        }
    } else {
        sink_write(&R->out, c->out.data ? c->out.data : "", c->out.len);
    }
    if (R->out.err) {
        R->failed_write = 1;
        return -1;
    }
    if (c->notes.len) fwrite(c->notes.data, 1, c->notes.len, stderr);
    R->ck.read += c->n;
    R->ck.written += c->n;
    R->ck.failed += c->failed;
    R->ck.skipped += c->skipped;
    R->ck.seg = c->seg;
    R->ck.offset = c->offset;
    R->ck.seg_records = c->seg_records;
    R->ck.in_crc = c->crc;
    R->in_bytes += c->in_bytes;
    R->since_ckpt += c->n;
    if (R->j->resume && (R->since_ckpt >= R->j->ckpt_every || cli_now() - R->last_ckpt > 30)) {
        if (checkpoint(R)) {
            R->failed_write = 1;
            return -1;
        }
    }
    if (R->j->progress) progress(R, 0);
    /* A huge record grew this chunk's buffers: give the memory back, so that
     * one outlier does not keep every chunk at its size. */
    if (c->in.cap > 4 * CHUNK_BYTES) bh_buf_free(&c->in);
    if (c->out.cap > 64 * CHUNK_BYTES) bh_buf_free(&c->out);
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (!strcmp(path, "-") || stat(path, &st)) return 0;
    return (uint64_t)st.st_size;
}

/* Re-reads the input consumed before the checkpoint (checking its CRC) and
 * leaves *s open at the checkpoint position of segment ck->seg. */
static int fast_forward(run *R, src *s, int *seg_out)
{
    job *j = R->j;
    const bh__ckpt *ck = &R->ck;
    uint32_t crc = 0;
    for (int g = 0; g <= ck->seg && g < j->nseg; g++) {
        if (src_open(s, &j->segs[g], j, crc)) return 1;
        if (g < ck->seg || s->cr) {
            long want = g < ck->seg ? -1 : ck->seg_records;
            chunk c;
            memset(&c, 0, sizeof c);
            int k = 1;
            while (k > 0 && (want < 0 || s->recs < want)) {
                c.n = 0;
                bh_buf_clear(&c.in);
                k = read_record(s, &c, j->max_rec);
            }
            bh_buf_free(&c.in);
            free(c.r);
            if (k < 0) return 1;
            if (want >= 0 && s->recs < want) {
                fprintf(stderr, "bhasha annotate: cannot resume: %s has fewer records than the checkpoint says\n",
                        s->sg->path);
                return 1;
            }
        } else {
            uint64_t from = s->pos;
            if (ck->offset < from || src_skip(s, ck->offset - from, 1)) {
                fprintf(stderr, "bhasha annotate: cannot resume: %s has no byte %llu any more\n", s->sg->path,
                        (unsigned long long)ck->offset);
                return 1;
            }
            s->recs = ck->seg_records;
        }
        crc = s->crc;
        if (g < ck->seg) src_close(s);
    }
    if (crc != ck->in_crc) {
        fprintf(stderr,
                "bhasha annotate: cannot resume: the input consumed so far changed since the checkpoint "
                "(CRC-32 %08x, checkpoint says %08x); delete %s to start over\n",
                crc, ck->in_crc, j->ckpt);
        return 1;
    }
    *seg_out = ck->seg;
    return 0;
}

static int write_summary(run *R, const char *state, double secs)
{
    job *j = R->j;
    char line[1024];
    if (!j->quiet && !j->stream)
        fprintf(stderr, "bhasha annotate: %s: %ld read, %ld written, %ld failed, %ld skipped; %.1f s, %.0f records/s\n",
                state, R->ck.read, R->ck.written, R->ck.failed, R->ck.skipped, secs,
                secs > 0 ? R->ck.read / secs : 0.0);
    if (!j->summary) return 0;
    int k = snprintf(line, sizeof line,
                     "{\"bhasha\":\"%s\",\"state\":\"%s\",\"read\":%ld,\"written\":%ld,\"failed\":%ld,\"skipped\":%ld,"
                     "\"output_bytes\":%llu,\"output_crc32\":%u,\"seconds\":%.3f,\"threads\":%d}\n",
                     bh_version(), state, R->ck.read, R->ck.written, R->ck.failed, R->ck.skipped,
                     (unsigned long long)R->out.size, R->out.crc, secs, j->threads);
    FILE *f = fopen(j->summary, "w");
    if (!f || fwrite(line, 1, (size_t)k, f) != (size_t)k || fclose(f)) {
        fprintf(stderr, "bhasha annotate: cannot write %s\n", j->summary);
        return 1;
    }
    return 0;
}

/* Runs one job (one process, or one MPI rank's share). Returns the exit status;
 * *res gets the final position (counts, output size and CRC). */
static int run_job(job *j, const bh_annotator *a, bh__ckpt *res)
{
    run R;
    memset(&R, 0, sizeof R);
    R.j = j;
    R.t0 = R.last_ckpt = cli_now();
    R.out.fd = 1;
    R.out.path = "stdout";
    /* ETA only when every input is uncompressed text, whose size is what we count. */
    for (int g = 0; g < j->nseg; g++) {
        const seg *sg = &j->segs[g];
        if (sg->corpus || !strcmp(sg->path, "-") || is_gzip(sg->path)) {
            R.in_total = 0;
            break;
        }
        uint64_t e = sg->end < sg->size ? sg->end : sg->size;
        R.in_total += e > sg->start ? e - sg->start : 0;
    }
    int start_seg = 0, rc = 0;
    src s;
    memset(&s, 0, sizeof s);
    int s_open = 0;

    if (j->output) {
        int resumed = 0;
        /* Lock before looking at the checkpoint: two runs on one output would interleave. */
        R.out.path = j->output;
        R.out.fd = open(j->output, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (R.out.fd < 0) return fail_io("cannot open", j->output);
        struct stat ost;
        memset(&ost, 0, sizeof ost);
        if (!fstat(R.out.fd, &ost) && S_ISREG(ost.st_mode) && flock(R.out.fd, LOCK_EX | LOCK_NB)) {
            fprintf(stderr, "bhasha annotate: %s is being written by another process\n", j->output);
            close(R.out.fd);
            return 1;
        }
        if (j->resume) {
            bh__ckpt old;
            bh_status st = bh__ckpt_read(j->ckpt, &old);
            if (st && st != BH_ENOTFOUND) {
                close(R.out.fd);
                return cli_fail("annotate", st);
            }
            if (!st) {
                const char *why = NULL;
                char whybuf[1200];
                if (strcmp(old.config, j->config)) why = "the options differ from the checkpointed run";
                else if (old.n_inputs != j->nseg) why = "the list of inputs differs from the checkpointed run";
                for (int g = 0; !why && g < j->nseg; g++) {
                    if (strcmp(old.paths[g], j->segs[g].path)) why = "the list of inputs differs from the checkpointed run";
                    else if (old.sizes[g] != j->segs[g].size) {
                        snprintf(whybuf, sizeof whybuf, "input %s changed size since the checkpoint (%llu bytes, now %llu)",
                                 j->segs[g].path, (unsigned long long)old.sizes[g],
                                 (unsigned long long)j->segs[g].size);
                        why = whybuf;
                    }
                }
                if (why) {
                    fprintf(stderr, "bhasha annotate: cannot resume: %s; delete %s to start over\n", why, j->ckpt);
                    bh__ckpt_clear(&old);
                    close(R.out.fd);
                    return 1;
                }
                bh__ckpt_clear(&R.ck);
                R.ck = old;
                resumed = 1;
            }
        }
        if (!resumed && S_ISREG(ost.st_mode) && ftruncate(R.out.fd, 0)) rc = fail_io("cannot truncate", j->output);
        if (resumed) {
            struct stat st;
            if (fstat(R.out.fd, &st) || (uint64_t)st.st_size < R.ck.out_size) {
                fprintf(stderr, "bhasha annotate: cannot resume: %s is shorter than the checkpoint says (%llu bytes); "
                                "delete %s to start over\n", j->output, (unsigned long long)R.ck.out_size, j->ckpt);
                rc = 1;
            } else if (ftruncate(R.out.fd, (off_t)R.ck.out_size) || lseek(R.out.fd, 0, SEEK_END) < 0) {
                rc = fail_io("cannot truncate", j->output);
            }
            R.out.size = R.ck.out_size;
            R.out.crc = R.ck.out_crc;
            if (!rc && R.ck.done) {
                double secs = cli_now() - R.t0;
                rc = write_summary(&R, "complete", secs);
                *res = R.ck;
                memset(&R.ck, 0, sizeof R.ck);
                close(R.out.fd);
                return rc;
            }
            if (!rc) rc = fast_forward(&R, &s, &start_seg);
            s_open = !rc && start_seg < j->nseg;
            if (!rc && start_seg >= j->nseg) src_close(&s);
        }
        if (!rc && !resumed) {
            R.ck.config = strdup(j->config);
            R.ck.n_inputs = j->nseg;
            R.ck.paths = calloc((size_t)j->nseg + 1, sizeof *R.ck.paths);
            R.ck.sizes = calloc((size_t)j->nseg + 1, sizeof *R.ck.sizes);
            if (!R.ck.config || !R.ck.paths || !R.ck.sizes) rc = cli_fail("annotate", BH_ENOMEM);
            for (int g = 0; !rc && g < j->nseg; g++) {
                R.ck.paths[g] = strdup(j->segs[g].path);
                R.ck.sizes[g] = j->segs[g].size;
            }
            if (!rc && j->resume && checkpoint(&R)) rc = 1;
        }
    } else {
        R.ck.config = NULL;
    }

    wctx w = {a, j->max_rec, j->ao.conllu};
    int depth = 2 * j->threads + 2;
    bh__wpool *pool = NULL;
    chunk *chunks = NULL, **freel = NULL;
    int nfree = 0;
    if (!rc) {
        chunks = calloc((size_t)depth + 1, sizeof *chunks);
        freel = calloc((size_t)depth + 1, sizeof *freel);
        sigset_t old;
        block_stop_signals(&old);
        if (!chunks || !freel || bh__wpool_new(j->threads, depth, work, &w, &pool)) rc = cli_fail("annotate", BH_ENOMEM);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        for (int i = 0; !rc && i <= depth; i++) freel[nfree++] = &chunks[i];
    }
    uint32_t crc = R.ck.in_crc;
    long next_rec = R.ck.read; /* records of the run (all runs, with --resume) read so far */
    for (int g = start_seg; !rc && g < j->nseg && !g_signal; g++) {
        if (!s_open && src_open(&s, &j->segs[g], j, crc)) {
            rc = 1;
            break;
        }
        s_open = 0;
        int more = 1;
        while (more && !rc && !g_signal) {
            if (!nfree || bh__wpool_full(pool)) {
                chunk *d = bh__wpool_next(pool);
                if (commit(&R, d)) rc = 1;
                freel[nfree++] = d;
                continue;
            }
            chunk *c = freel[--nfree];
            c->n = 0;
            c->first = next_rec;
            c->skipped = 0;
            c->in_bytes = 0;
            bh_buf_clear(&c->in);
            /* Room for two records: a skipped one may come with the next. */
            while (c->n < CHUNK_RECS && c->in.len < CHUNK_BYTES && !g_signal) {
                if (c->n && src_would_block(&s)) break;
                uint64_t pos0 = s.pos;
                long recs0 = s.recs;
                uint32_t crc0 = s.crc;
                int k = read_record(&s, c, j->max_rec);
                if (k == -2) {
                    /* A signal while waiting for input: the records read so far
                     * are written, the position is the one before this record. */
                    s.pos = pos0;
                    s.recs = recs0;
                    s.crc = crc0;
                    break;
                }
                if (k < 0) {
                    rc = 1;
                    break;
                }
                if (k == 0 || s.done) {
                    /* s.done: the reader's last skipped records came with its
                     * end; the position must be past the segment, or a resume
                     * from this chunk would read them again. */
                    more = 0;
                    break;
                }
            }
            next_rec += c->n;
            c->seg = more ? g : g + 1;
            c->offset = more ? s.pos : 0;
            c->seg_records = more ? s.recs : 0;
            c->crc = s.crc;
            if (rc) {
                freel[nfree++] = c;
                break;
            }
            if (c->n || !more) {
                bh__wpool_submit(pool, c);
            } else {
                freel[nfree++] = c;
            }
            chunk *d;
            while (!rc && (d = bh__wpool_try_next(pool))) {
                if (commit(&R, d)) rc = 1;
                freel[nfree++] = d;
            }
            if (!rc && more && src_would_block(&s)) {
                while (!rc && (d = bh__wpool_next(pool))) {
                    if (commit(&R, d)) rc = 1;
                    freel[nfree++] = d;
                }
            }
        }
        crc = s.crc;
        src_close(&s);
    }
    if (s_open) src_close(&s);
    /* Drain: everything read is annotated and written (signal: "finish the current record"). */
    chunk *d;
    while (pool && (d = bh__wpool_next(pool))) {
        if (!R.failed_write && commit(&R, d)) rc = 1;
    }
    bh__wpool_free(pool);
    for (int i = 0; chunks && i <= depth; i++) {
        bh_buf_free(&chunks[i].in);
        bh_buf_free(&chunks[i].out);
        bh_buf_free(&chunks[i].notes);
        free(chunks[i].r);
    }
    free(chunks);
    free(freel);

    const char *state = "complete";
    if (R.failed_write) {
        state = "stopped";
        if (R.out.err)
            fprintf(stderr, "bhasha annotate: cannot write %s: %s; stopped after %ld records%s\n", R.out.path,
                    strerror(R.out.err), R.ck.written,
                    j->resume ? " (the checkpoint is consistent: free space and rerun with --resume)" : "");
        rc = 1;
    } else if (g_signal) {
        state = "interrupted";
        /* --stream promises nothing on stderr; the exit status says it */
        if ((!j->quiet && !j->stream) || j->resume)
            fprintf(stderr, "bhasha annotate: %s after %ld records%s\n", g_signal == SIGINT ? "interrupted" : "terminated",
                    R.ck.written, j->resume ? "; rerun the same command with --resume to continue" : "");
        if (j->resume && !R.out.err && checkpoint(&R)) rc = 1;
        rc = 128 + g_signal;
    } else if (rc) {
        state = "failed";
        if (j->resume && R.ck.config && !R.out.err) checkpoint(&R);
    } else {
        R.ck.done = 1;
        if (j->resume && checkpoint(&R)) rc = 1;
        if (!j->resume && j->output && fsync(R.out.fd)) rc = fail_io("cannot write", j->output);
    }
    double secs = cli_now() - R.t0;
    if (j->progress && R.ck.read) progress(&R, 1);
    if (write_summary(&R, state, secs) && !rc) rc = 1;
    if (R.out.fd > 2 && close(R.out.fd) && !rc) rc = fail_io("cannot write", j->output);
    R.ck.out_size = R.out.size;
    R.ck.out_crc = R.out.crc;
    *res = R.ck;
    return rc;
}

/* ---- command line ---------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static bh_corpus_format format_of(const char *path)
{
    char name[4096];
    snprintf(name, sizeof name, "%s", path);
    if (ends_with(name, ".gz")) name[strlen(name) - 3] = 0;
    if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) return BH_CORPUS_JSONL;
    if (ends_with(name, ".csv") || ends_with(name, ".tsv")) return BH_CORPUS_CSV;
    if (ends_with(name, ".conllu")) return BH_CORPUS_CONLLU;
    if (ends_with(name, ".xml")) return BH_CORPUS_WIKI;
    return BH_CORPUS_TEXT;
}

static int is_gzip(const char *path)
{
    unsigned char m[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(m, 1, 2, f);
    fclose(f);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Splits the inputs into this rank's segments: byte ranges of the
 * concatenated inputs, aligned to records; files that cannot be split (gzip,
 * non-text formats) go whole to the rank whose range holds their first byte. */
static int plan(job *j, const char **files, int nfiles, int rank, int size)
{
    j->segs = calloc((size_t)nfiles + 1, sizeof *j->segs);
    if (!j->segs) return cli_fail("annotate", BH_ENOMEM);
    uint64_t total = 0;
    uint64_t *base = calloc((size_t)nfiles + 1, sizeof *base);
    if (!base) return cli_fail("annotate", BH_ENOMEM);
    for (int f = 0; f < nfiles; f++) {
        if (strcmp(files[f], "-") && access(files[f], R_OK)) {
            free(base);
            return fail_io("cannot open", files[f]);
        }
        base[f] = total;
        total += file_size(files[f]);
    }
    uint64_t lo = size > 1 ? total * (uint64_t)rank / (uint64_t)size : 0;
    uint64_t hi = size > 1 ? total * (uint64_t)(rank + 1) / (uint64_t)size : UINT64_MAX;
    for (int f = 0; f < nfiles; f++) {
        bh_corpus_format fm = j->fmt != BH_CORPUS_AUTO ? j->fmt : format_of(files[f]);
        seg sg = {files[f], 0, UINT64_MAX, file_size(files[f]), fm != BH_CORPUS_TEXT};
        if (size > 1) {
            uint64_t fsz = sg.size, b = base[f];
            if (sg.corpus || is_gzip(files[f])) {
                if (!(b >= lo && (b < hi || (rank + 1 == size && b == hi)))) continue;
            } else {
                if (b + fsz <= lo || b >= hi || fsz == 0) continue;
                sg.start = lo > b ? lo - b : 0;
                sg.end = hi - b < fsz ? hi - b : UINT64_MAX;
            }
        }
        j->segs[j->nseg++] = sg;
    }
    free(base);
    return 0;
}

static char *str_cat(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    char *s = malloc(n + m + 1);
    if (s) {
        memcpy(s, a, n);
        memcpy(s + n, b, m + 1);
    }
    return s;
}

typedef struct part_info {
    int status;
    long read, written, failed, skipped;
    unsigned long long out_size;
    unsigned out_crc;
    char path[512];
} part_info;

static int write_manifest(const job *j, const part_info *p, int size, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return fail_io("cannot write", path);
    long r = 0, w = 0, fl = 0, sk = 0;
    unsigned long long bytes = 0;
    uLong crc = crc32(0, NULL, 0);
    int missing = 0;
    fprintf(f, "{\"bhasha\":\"%s\",\"ranks\":%d,\"config\":", bh_version(), size);
    cli_json_string(f, j->config, strlen(j->config));
    fprintf(f, ",\"parts\":[");
    for (int i = 0; i < size; i++) {
        fprintf(f, "%s\n {\"rank\":%d,\"path\":", i ? "," : "", i);
        cli_json_string(f, p[i].path, strlen(p[i].path));
        fprintf(f, ",\"complete\":%s,\"read\":%ld,\"written\":%ld,\"failed\":%ld,\"skipped\":%ld,\"bytes\":%llu,\"crc32\":%u}",
                p[i].status ? "false" : "true", p[i].read, p[i].written, p[i].failed, p[i].skipped, p[i].out_size,
                p[i].out_crc);
        r += p[i].read;
        w += p[i].written;
        fl += p[i].failed;
        sk += p[i].skipped;
        bytes += p[i].out_size;
        crc = crc32_combine(crc, p[i].out_crc, (z_off_t)p[i].out_size);
        missing += p[i].status != 0;
    }
    fprintf(f, "],\n\"missing\":[");
    for (int i = 0, k = 0; i < size; i++)
        if (p[i].status) fprintf(f, "%s%d", k++ ? "," : "", i);
    fprintf(f, "],\"read\":%ld,\"written\":%ld,\"failed\":%ld,\"skipped\":%ld,\"bytes\":%llu,\"crc32\":%lu}\n", r, w, fl,
            sk, bytes, missing ? 0ul : (unsigned long)crc);
    if (fclose(f)) return fail_io("cannot write", path);
    if (missing) {
        fprintf(stderr, "bhasha annotate: %d of %d parts missing (", missing, size);
        for (int i = 0, k = 0; i < size; i++)
            if (p[i].status) fprintf(stderr, "%s%s", k++ ? ", " : "", p[i].path);
        fprintf(stderr, "); rerun the same command with --resume to complete them\n");
        return 1;
    }
    return 0;
}

int cli_annotate_run(int argc, char **argv, const cli_dist *dist)
{
    job j;
    memset(&j, 0, sizeof j);
    bh_annotator_options_default(&j.ao);
    j.threads = 1;
    j.ckpt_every = 20000;
    j.max_rec = 4u << 20;
    j.fmt = BH_CORPUS_AUTO;
    const char *stages = "all";
    char model[4096], mdir[4096];
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) return cli_fail("annotate", BH_ENOMEM);
    int nfiles = 0, mpi = 0, rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            free(files);
            return 0;
        }
        if (argv[i][0] != '-' || !argv[i][1]) {
            files[nfiles++] = argv[i];
            continue;
        }
        if (cli_opt(argc, argv, &i, "--to", &v)) {
            if (!strcmp(v, "none")) j.ao.translit_to = BH_SCRIPT_AUTO;
            else if (bh_script_from_name(v, &j.ao.translit_to) || j.ao.translit_to == BH_SCRIPT_AUTO)
                rc = cli_usage_error("annotate", "unknown script '%s'", v);
        } else if (cli_opt(argc, argv, &i, "--output-format", &v)) {
            if (!strcmp(v, "conllu")) j.ao.conllu = 1;
            else if (strcmp(v, "json")) rc = cli_usage_error("annotate", "--output-format: json or conllu");
        } else if (cli_opt(argc, argv, &i, "--model", &v)) {
            j.ao.model_dir = v;
        } else if (cli_opt(argc, argv, &i, "--langid-model", &v)) {
            j.ao.langid_model = v;
        } else if (!strcmp(argv[i], "--no-normalize")) {
            j.ao.normalize = 0;
        } else if (cli_opt(argc, argv, &i, "--stages", &v)) {
            stages = v;
            if (bh_annotator_stages_parse(v, &j.ao.stages)) rc = cli_usage_error("annotate", "%s", bh_last_error());
        } else if (!strcmp(argv[i], "--strict-utf8")) {
            j.ao.strict_utf8 = 1;
        } else if (cli_opt(argc, argv, &i, "--max-record-bytes", &v)) {
            char *e;
            unsigned long long x = strtoull(v, &e, 10);
            if (*e || !x || x > (1ull << 31)) rc = cli_usage_error("annotate", "--max-record-bytes: 1..2147483648");
            j.max_rec = (size_t)x;
        } else if (cli_opt(argc, argv, &i, "--format", &v)) {
            char delim = 0;
            if (bh_corpus_format_parse(v, &j.fmt, &delim)) rc = cli_usage_error("annotate", "unknown format '%s'", v);
            j.co.delimiter = delim;
        } else if (cli_opt(argc, argv, &i, "--text-field", &v)) {
            j.co.text_field = v;
        } else if (cli_opt(argc, argv, &i, "--id-field", &v)) {
            j.co.id_field = v;
        } else if (!strcmp(argv[i], "--input")) {
            while (i + 1 < argc && (argv[i + 1][0] != '-' || !argv[i + 1][1])) files[nfiles++] = argv[++i];
        } else if (cli_opt(argc, argv, &i, "--output", &v)) {
            j.output = v;
        } else if (cli_opt(argc, argv, &i, "--summary", &v)) {
            j.summary = v;
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            bh_precision prec;
            if (bh_precision_parse(v, &prec)) rc = cli_usage_error("annotate", "%s", bh_last_error());
            j.ao.precision = prec;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            double x;
            if (cli_integer("annotate", "--threads", v, 1, 256, &x)) rc = 2;
            else j.threads = (int)x;
        } else if (cli_opt(argc, argv, &i, "--checkpoint-every", &v)) {
            double x;
            if (cli_integer("annotate", "--checkpoint-every", v, 1, 1e15, &x)) rc = 2;
            else j.ckpt_every = (long)x;
        } else if (!strcmp(argv[i], "--resume")) {
            j.resume = 1;
        } else if (!strcmp(argv[i], "--stream")) {
            j.stream = 1;
        } else if (!strcmp(argv[i], "--mpi")) {
            mpi = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            j.quiet = 1;
        } else {
            rc = cli_usage_error("annotate", "unknown option %s (see --help)", argv[i]);
        }
    }
    if (!rc && mpi && !dist) {
        free(files);
        return cli_exec_mpi("annotate", argv);
    }
    if (!rc && j.stream && (nfiles || j.output || j.resume || mpi || j.ao.conllu))
        rc = cli_usage_error("annotate", "--stream reads stdin and writes one JSON line per line to stdout: "
                                         "no files, --output, --resume, --mpi or --output-format conllu");
    if (!rc && j.resume && (!j.output || !nfiles))
        rc = cli_usage_error("annotate", "--resume needs --input FILE... and --output FILE");
    if (!rc && dist && !j.output) rc = cli_usage_error("annotate", "--mpi needs --output FILE (each rank writes a part)");
    for (int f = 0; !rc && f < nfiles && (j.resume || dist); f++)
        if (!strcmp(files[f], "-")) rc = cli_usage_error("annotate", "--resume and --mpi need files, not stdin");
    if (rc) {
        free(files);
        return rc;
    }
    if (!nfiles) files[nfiles++] = "-";
    if (j.stream) j.fmt = BH_CORPUS_TEXT;
    /* Past the options (the same on every rank), a rank that fails still
     * joins the gather below: the others wait in it. */
    if (!j.ao.langid_model && (j.ao.stages & BH_STAGE_LANGID)) {
        if (cli_asset("langid/langid.bin", model, sizeof model))
            rc = cli_usage_error("annotate", "no language model found (%s); set BHASHA_DATA or --langid-model", model);
        else
            j.ao.langid_model = model;
    }
    if (j.ao.model_dir && !strcmp(j.ao.model_dir, "none")) {
        j.ao.model_dir = NULL;
        j.ao.stages &= ~(unsigned)(BH_STAGE_SENTIMENT | BH_STAGE_NER);
    } else if (!rc && !j.ao.model_dir && (j.ao.stages & (BH_STAGE_SENTIMENT | BH_STAGE_NER))) {
        int named = (j.ao.stages & BH_STAGES_ALL) != BH_STAGES_ALL;
        if (!cli_model_dir("bhasha-bnhi", mdir, sizeof mdir))
            j.ao.model_dir = mdir;
        else if (named)
            rc = cli_usage_error("annotate", "the sentiment and ner stages need --model DIR (no shipped model found)");
    }
    /* a model with a head per language picks them by the text's language, langid stage or not */
    if (!j.ao.langid_model && j.ao.model_dir && (j.ao.stages & (BH_STAGE_SENTIMENT | BH_STAGE_NER)) &&
        !cli_asset("langid/langid.bin", model, sizeof model))
        j.ao.langid_model = model;
    j.co.format = j.fmt == BH_CORPUS_AUTO ? BH_CORPUS_AUTO : j.fmt;
    j.co.on_error = BH_ON_ERROR_SKIP;
    j.co.max_record_bytes = (size_t)64 << 20;
    int cfg_len = snprintf(
        j.config, sizeof j.config,
        "stages=%s to=%s normalize=%d strict=%d max=%zu format=%d text=%s id=%s conllu=%d model=%s heads=%s "
        "precision=%d",
        stages, j.ao.translit_to == BH_SCRIPT_AUTO ? "none" : bh_script_name(j.ao.translit_to), j.ao.normalize,
        j.ao.strict_utf8, j.max_rec, (int)j.fmt, j.co.text_field ? j.co.text_field : "",
        j.co.id_field ? j.co.id_field : "", j.ao.conllu, j.ao.langid_model ? j.ao.langid_model : "",
        j.ao.model_dir ? j.ao.model_dir : "", j.ao.precision);
    /* a cut fingerprint could let --resume mix the output of two configurations */
    if (!rc && (cfg_len < 0 || (size_t)cfg_len >= sizeof j.config))
        rc = cli_usage_error("annotate", "the options are too long (%d bytes of names and paths)", cfg_len);

    int rank = dist ? dist->rank : 0, size = dist ? dist->size : 1;
    const char *output = j.output; /* without the part suffix */
    if (dist) {
        char suf[64];
        snprintf(suf, sizeof suf, ".part-%05d-of-%05d", rank, size);
        j.part_path = str_cat(j.output, suf);
        j.output = j.part_path;
        j.summary = NULL;
        if (!j.part_path && !rc) rc = cli_fail("annotate", BH_ENOMEM);
    }
    if (!rc && plan(&j, files, nfiles, rank, size)) rc = 1;
    if (!rc && j.output && j.resume && !(j.ckpt = j.ckpt_buf = str_cat(j.output, ".ckpt")))
        rc = cli_fail("annotate", BH_ENOMEM);
    if (!rc && j.output && !j.summary && !dist && !(j.summary = j.summary_buf = str_cat(j.output, ".summary.json")))
        rc = cli_fail("annotate", BH_ENOMEM);
    j.progress = !j.quiet && !j.stream && isatty(2) && !dist;

    bh_annotator *a = NULL;
    bh__ckpt res;
    memset(&res, 0, sizeof res);
    if (!rc) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: a read() waiting on a pipe must return */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        /* Over the file size limit, write() then fails with EFBIG instead of killing us. */
        signal(SIGXFSZ, SIG_IGN);
        sigset_t old;
        block_stop_signals(&old); /* the model stages may start threads */
        bh_status st = bh_annotator_new(&j.ao, &a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        rc = st ? cli_fail("annotate", st) : run_job(&j, a, &res);
    }
    bh_annotator_free(a);
    if (dist) {
        part_info me, *all = NULL;
        memset(&me, 0, sizeof me);
        me.status = rc;
        me.read = res.read;
        me.written = res.written;
        me.failed = res.failed;
        me.skipped = res.skipped;
        me.out_size = res.out_size;
        me.out_crc = res.out_crc;
        snprintf(me.path, sizeof me.path, "%s", j.output ? j.output : "");
        if (rank == 0) all = calloc((size_t)size, sizeof *all);
        if (dist->gather(dist, &me, sizeof me, all)) {
            fprintf(stderr, "bhasha annotate: rank %d: MPI gather failed\n", rank);
            rc = 1;
        } else if (rank == 0) {
            char *path = str_cat(output, ".manifest.json");
            if (!all || !path) rc = cli_fail("annotate", BH_ENOMEM);
            else if (write_manifest(&j, all, size, path)) rc = rc ? rc : 1;
            free(path);
        }
        free(all);
    }
    bh__ckpt_clear(&res);
    free(j.segs);
    free(j.part_path);
    free(j.ckpt_buf);
    free(j.summary_buf);
    free(files);
    return rc;
}

int cli_annotate(int argc, char **argv)
{
    return cli_annotate_run(argc, argv, NULL);
}
