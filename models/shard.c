/* models/shard.c — token-id shards (format in bhasha/model.h): a writer, a
 * streaming reader that yields fixed-length windows in constant memory and can
 * save/restore its exact position, and BERT-style MLM masking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "bhasha/model.h"
#include "models/safetensors.h"

static const char MAGIC[8] = {'B', 'H', 'T', 'O', 'K', 'S', '1', 0};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---------------------------------------------------------------- writer */

struct bh_shard_writer {
    bh__atomic a;
    uint32_t vocab;
    bh_status err;
};

bh_status bh_shard_writer_open(const char *path, uint32_t vocab, bh_shard_writer **out)
{
    if (!path || !out || vocab == 0) return bh__fail(BH_EINVAL, "bh_shard_writer_open: bad arguments");
    bh_shard_writer *w = calloc(1, sizeof *w);
    if (!w) return bh__fail(BH_ENOMEM, "out of memory");
    bh_status st = bh__atomic_open(&w->a, path);
    if (st) {
        free(w);
        return st;
    }
    unsigned char h[16] = {0};
    memcpy(h, MAGIC, 8);
    put_u32(h + 8, vocab);
    fwrite(h, 1, 16, w->a.f);
    w->vocab = vocab;
    *out = w;
    return BH_OK;
}

bh_status bh_shard_writer_add(bh_shard_writer *w, const int32_t *ids, uint32_t n)
{
    if (!w || (!ids && n)) return bh__fail(BH_EINVAL, "bh_shard_writer_add: bad arguments");
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= w->vocab)
            return bh__fail(BH_EINVAL, "shard %s: token id %d out of range [0,%u)", w->a.path, ids[i],
                            w->vocab);
    unsigned char b[4];
    put_u32(b, n);
    fwrite(b, 1, 4, w->a.f);
    for (uint32_t i = 0; i < n; i++) {
        put_u32(b, (uint32_t)ids[i]);
        fwrite(b, 1, 4, w->a.f);
    }
    return BH_OK;
}

bh_status bh_shard_writer_close(bh_shard_writer *w)
{
    if (!w) return BH_OK;
    bh_status st = bh__atomic_commit(&w->a);
    free(w);
    return st;
}

/* ---------------------------------------------------------------- reader */

struct bh_shard_reader {
    char **paths;
    int npaths;
    int sep_id;
    int cur;           /* shard index */
    FILE *f;
    long rec_off;      /* byte offset of the current record */
    uint32_t rec_len;  /* tokens in it */
    uint32_t rec_pos;  /* next token inside it; rec_len = sep emitted */
    int sep_pending;   /* separator still to emit after this record */
    int in_rec;        /* rec_off/rec_len describe a record already read */
    uint32_t vocab;
    long epoch;
    long size;
};

void bh_shard_reader_free(bh_shard_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    for (int i = 0; i < r->npaths; i++) free(r->paths[i]);
    free(r->paths);
    free(r);
}

/* Opens shard i at its first record. On an error r keeps the shard it had
 * open, so that a failed advance or seek leaves a reader that can be used
 * (or freed) rather than one without a file. */
static bh_status open_shard(bh_shard_reader *r, int i)
{
    FILE *f = fopen(r->paths[i], "rb");
    if (!f) return bh__fail(BH_ENOTFOUND, "shard %s: %s", r->paths[i], strerror(errno));
    unsigned char h[16];
    if (fread(h, 1, 16, f) != 16 || memcmp(h, MAGIC, 8)) {
        fclose(f);
        return bh__fail(BH_EFORMAT, "shard %s: not a token shard (bad magic)", r->paths[i]);
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 16 || fseek(f, 16, SEEK_SET) != 0) {
        fclose(f);
        return bh__fail(BH_EIO, "shard %s: cannot find its size", r->paths[i]);
    }
    if (r->f) fclose(r->f);
    r->f = f;
    r->cur = i;
    r->vocab = get_u32(h + 8);
    r->size = size;
    r->rec_off = 16;
    r->rec_len = 0;
    r->rec_pos = 0;
    r->sep_pending = 0;
    r->in_rec = 0;
    return BH_OK;
}

/* Reads the header of the record at rec_off. 1 = got one, 0 = end of shard. */
static bh_status read_record_header(bh_shard_reader *r, int *got)
{
    unsigned char b[4];
    *got = 0;
    if (fseek(r->f, r->rec_off, SEEK_SET) != 0) return bh__fail(BH_EIO, "shard %s: seek failed", r->paths[r->cur]);
    size_t k = fread(b, 1, 4, r->f);
    if (k == 0) return BH_OK;
    if (k != 4) return bh__fail(BH_EFORMAT, "shard %s: ends inside a record header at byte %ld", r->paths[r->cur], r->rec_off);
    uint32_t n = get_u32(b);
    if ((long)n > (r->size - r->rec_off - 4) / 4)
        return bh__fail(BH_EFORMAT, "shard %s: record at byte %ld claims %u tokens, the file ends first",
                        r->paths[r->cur], r->rec_off, n);
    r->rec_len = n;
    r->in_rec = 1;
    *got = 1;
    return BH_OK;
}

bh_status bh_shard_reader_open(const char *const *paths, int npaths, int sep_id, bh_shard_reader **out)
{
    if (!paths || npaths < 1 || !out) return bh__fail(BH_EINVAL, "bh_shard_reader_open: no shards");
    bh_shard_reader *r = calloc(1, sizeof *r);
    if (!r) return bh__fail(BH_ENOMEM, "out of memory");
    r->paths = calloc((size_t)npaths, sizeof(char *));
    if (!r->paths) {
        free(r);
        return bh__fail(BH_ENOMEM, "out of memory");
    }
    r->npaths = npaths;
    for (int i = 0; i < npaths; i++) {
        r->paths[i] = strdup(paths[i]);
        if (!r->paths[i]) {
            bh_shard_reader_free(r);
            return bh__fail(BH_ENOMEM, "out of memory");
        }
    }
    r->sep_id = sep_id;
    bh_status st = open_shard(r, 0);
    if (st) {
        bh_shard_reader_free(r);
        return st;
    }
    int got;
    if ((st = read_record_header(r, &got))) {
        bh_shard_reader_free(r);
        return st;
    }
    r->sep_pending = got;
    if (!got) r->rec_len = 0;
    *out = r;
    return BH_OK;
}

/* Moves to the next record (next shard, next epoch as needed). */
static bh_status advance(bh_shard_reader *r)
{
    int tries = 0;
    for (;;) {
        if (r->in_rec) r->rec_off += 4 + 4 * (long)r->rec_len;
        r->in_rec = 0;
        r->rec_pos = 0;
        int got;
        bh_status st = read_record_header(r, &got);
        if (st) return st;
        if (got) {
            r->sep_pending = 1;
            return BH_OK;
        }
        if (++tries > r->npaths + 1)
            return bh__fail(BH_EFORMAT, "shards hold no tokens");
        int next = r->cur + 1 == r->npaths ? 0 : r->cur + 1;
        if ((st = open_shard(r, next))) return st;
        if (next == 0) r->epoch++; /* after the open: a retry after an error counts it once */
    }
}

bh_status bh_shard_reader_next(bh_shard_reader *r, int32_t *out, int n)
{
    if (!r || !out || n < 0) return bh__fail(BH_EINVAL, "bh_shard_reader_next: bad arguments");
    int k = 0;
    long idle = 0; /* records passed without a token (all-empty shards) */
    while (k < n) {
        if (!r->sep_pending) {
            if (++idle > 100000000L) return bh__fail(BH_EFORMAT, "shards hold no tokens");
            bh_status st = advance(r);
            if (st) return st;
            continue;
        }
        if (r->rec_len || r->sep_id >= 0) idle = 0;
        if (r->rec_pos < r->rec_len) {
            uint32_t want = r->rec_len - r->rec_pos;
            if (want > (uint32_t)(n - k)) want = (uint32_t)(n - k);
            if (fseek(r->f, r->rec_off + 4 + 4 * (long)r->rec_pos, SEEK_SET) != 0)
                return bh__fail(BH_EIO, "shard %s: seek failed", r->paths[r->cur]);
            unsigned char b[4096];
            uint32_t done = 0;
            while (done < want) {
                uint32_t chunk = want - done > 1024 ? 1024 : want - done;
                if (fread(b, 4, chunk, r->f) != chunk)
                    return bh__fail(BH_EFORMAT, "shard %s: ends inside the record at byte %ld",
                                    r->paths[r->cur], r->rec_off);
                for (uint32_t i = 0; i < chunk; i++) {
                    uint32_t id = get_u32(b + 4 * i);
                    if (id >= r->vocab)
                        return bh__fail(BH_EFORMAT, "shard %s: token id %u >= vocab %u in the record at byte %ld",
                                        r->paths[r->cur], id, r->vocab, r->rec_off);
                    out[k++] = (int32_t)id;
                }
                done += chunk;
            }
            r->rec_pos += want;
            continue;
        }
        /* end of record: the separator, then the next record */
        if (r->sep_id >= 0) out[k++] = r->sep_id;
        r->sep_pending = 0;
    }
    return BH_OK;
}

bh_status bh_shard_reader_tell(const bh_shard_reader *r, char *buf, size_t cap)
{
    if (!r || !buf) return bh__fail(BH_EINVAL, "bh_shard_reader_tell: NULL argument");
    int n = snprintf(buf, cap, "%d %ld %u %d %ld", r->cur, r->rec_off, r->rec_pos, r->sep_pending, r->epoch);
    if (n < 0 || (size_t)n >= cap) return bh__fail(BH_ELIMIT, "bh_shard_reader_tell: buffer too small");
    return BH_OK;
}

bh_status bh_shard_reader_seek(bh_shard_reader *r, const char *pos)
{
    int cur, sep;
    long off, epoch;
    unsigned rp;
    if (!r || !pos || sscanf(pos, "%d %ld %u %d %ld", &cur, &off, &rp, &sep, &epoch) != 5 || cur < 0 ||
        cur >= r->npaths || off < 16)
        return bh__fail(BH_EFORMAT, "shard position \"%s\" is invalid", pos ? pos : "");
    /* the position is checked on a copy: a bad one leaves r where it was */
    bh_shard_reader t = *r;
    t.f = NULL;
    bh_status st = open_shard(&t, cur);
    if (st) return st;
    t.rec_off = off;
    int got;
    /* Besides a place in a record, tell gives the end of a shard, with nothing pending,
     * while the reader has not yet moved on from it: an empty first shard before the
     * first read, or a shard whose successor failed to open. The next read moves on
     * from there just as it would have. */
    if (!(st = read_record_header(&t, &got)) && (got ? rp > t.rec_len : rp || sep || off != t.size))
        st = bh__fail(BH_EFORMAT, "shard position \"%s\" is past the end of %s", pos, r->paths[cur]);
    if (st) {
        fclose(t.f);
        return st;
    }
    if (r->f) fclose(r->f);
    *r = t;
    r->rec_pos = rp;
    r->sep_pending = sep != 0;
    r->epoch = epoch;
    return BH_OK;
}

/* ------------------------------------------------------------------ MLM */

static int is_special(int32_t id, const int32_t *special, int nspecial)
{
    for (int k = 0; k < nspecial; k++)
        if (id == special[k]) return 1;
    return 0;
}

static double unit(uint64_t *rng) { return (double)(bh_rng_next(rng) >> 11) / 9007199254740992.0; }

/* the 80/10/10 rule for one chosen position */
static void corrupt(int32_t *ids, int i, int mask_id, int vocab, int first_normal, uint64_t *rng)
{
    double v = unit(rng);
    if (v < 0.8) ids[i] = mask_id;
    else if (v < 0.9 && vocab > first_normal)
        ids[i] = first_normal + (int32_t)(bh_rng_next(rng) % (uint64_t)(vocab - first_normal));
}

int bh_mlm_mask_words(int32_t *ids, int32_t *targets, int n, float rate, int mask_id, int vocab,
                      int first_normal, const int32_t *special, int nspecial,
                      const uint8_t *word_start, uint64_t *rng)
{
    int chosen = 0, i = 0, last_word = -1, last_end = -1;
    for (int k = 0; k < n; k++) targets[k] = -100;
    while (i < n) {
        if (is_special(ids[i], special, nspecial) || ids[i] < 0 || ids[i] >= vocab) {
            i++;
            continue;
        }
        int j = i + 1; /* the word is [i, j) */
        while (j < n && !is_special(ids[j], special, nspecial) && ids[j] >= 0 && ids[j] < vocab &&
               !word_start[ids[j]])
            j++;
        last_word = i;
        last_end = j;
        if (unit(rng) < rate)
            for (int k = i; k < j; k++) {
                targets[k] = ids[k];
                corrupt(ids, k, mask_id, vocab, first_normal, rng);
                chosen++;
            }
        i = j;
    }
    if (!chosen && last_word >= 0)
        for (int k = last_word; k < last_end; k++) {
            targets[k] = ids[k];
            ids[k] = mask_id;
            chosen++;
        }
    return chosen;
}

int bh_mlm_mask(int32_t *ids, int32_t *targets, int n, float rate, int mask_id, int vocab,
                int first_normal, const int32_t *special, int nspecial, uint64_t *rng)
{
    int chosen = 0, eligible = 0, last = -1;
    for (int i = 0; i < n; i++) {
        targets[i] = -100;
        if (is_special(ids[i], special, nspecial)) continue;
        eligible++;
        last = i;
        if (unit(rng) >= rate) continue;
        targets[i] = ids[i];
        chosen++;
        corrupt(ids, i, mask_id, vocab, first_normal, rng);
    }
    if (!chosen && eligible) {
        targets[last] = ids[last];
        ids[last] = mask_id;
        chosen = 1;
    }
    return chosen;
}
