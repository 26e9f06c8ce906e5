/* tokenizer/langid.c — language identification: script grouping + per-group
 * multinomial logistic regression over hashed character n-grams.
 * The file format and the features are specified in include/bhasha/langid.h.
 * The model owns its group tables (malloc'd); the trainer owns a copy of every
 * training text. */
#include "bhasha/langid.h"
#include "bhasha/normalize.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <zlib.h>

#define LID_MAGIC "BHLANGID"
#define LID_VERSION 1u
#define LID_HEADER 40u
#define LID_MAX_GROUPS 32u
#define LID_MAX_LANGS 16u
#define LID_MAX_N 8u
#define LID_FLAG_NORMALIZE 1u
#define LID_FLAG_WORDS 2u

/* ---- scripts ---------------------------------------------------------- */

enum { S_DEVA, S_BENG, S_GURU, S_GUJR, S_ORYA, S_TAML, S_TELU, S_KNDA, S_MLYM, S_ARAB, S_LATN,
       S_COUNT };
static const char *const script_codes[S_COUNT] = {"Deva", "Beng", "Guru", "Gujr", "Orya", "Taml",
                                                  "Telu", "Knda", "Mlym", "Arab", "Latn"};

/* Script index of cp, or -1. The nine Brahmi blocks are 128 code points each,
 * laid out in parallel from U+0900. */
static int script_id(uint32_t cp)
{
    if (cp >= 0x0900 && cp <= 0x0D7F) return (int)((cp - 0x0900) >> 7);
    if ((cp >= 0xA8E0 && cp <= 0xA8FF) || (cp >= 0x1CD0 && cp <= 0x1CFF)) return S_DEVA;
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= 0x00C0 && cp <= 0x024F) ||
        (cp >= 0x1E00 && cp <= 0x1EFF))
        return cp == 0xD7 || cp == 0xF7 ? -1 : S_LATN;
    if ((cp >= 0x0600 && cp <= 0x06FF) || (cp >= 0x0750 && cp <= 0x077F) ||
        (cp >= 0x08A0 && cp <= 0x08FF) || (cp >= 0xFB50 && cp <= 0xFDFF) ||
        (cp >= 0xFE70 && cp <= 0xFEFF))
        return S_ARAB;
    return -1;
}

static int script_by_code(const char *code)
{
    if (!code) return -1;
    for (int i = 0; i < S_COUNT; i++)
        if (!strcmp(code, script_codes[i])) return i;
    return -1;
}

const char *bh_langid_script_of(unsigned cp)
{
    int s = script_id(cp);
    return s < 0 ? NULL : script_codes[s];
}

/* ---- UTF-8 scanning ----------------------------------------------------- */

#define CP_BAD 0xFFFFFFFFu

/* Decodes one code point at s[*i] (advancing *i); CP_BAD for an invalid byte,
 * which then consumes exactly one byte. Rejects overlongs, surrogates and
 * values above U+10FFFF. */
static uint32_t next_cp(const unsigned char *s, size_t len, size_t *i)
{
    size_t p = *i;
    unsigned c = s[p];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
        *i = p + 1;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 1; cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2; cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3; cp = c & 0x07;
    } else {
        *i = p + 1;
        return CP_BAD;
    }
    if (len - p - 1 < n) {
        *i = p + 1;
        return CP_BAD;
    }
    for (size_t k = 1; k <= n; k++) {
        unsigned d = s[p + k];
        if ((d & 0xC0) != 0x80) {
            *i = p + 1;
            return CP_BAD;
        }
        cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
        *i = p + 1;
        return CP_BAD;
    }
    *i = p + n + 1;
    return cp;
}

enum { C_OTHER, C_WORD, C_DIGIT };

static int char_class(uint32_t cp)
{
    if (cp == CP_BAD || cp == 0) return C_OTHER;
    if (cp < 0x80) {
        if (((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')) return C_WORD;
        return cp >= '0' && cp <= '9' ? C_DIGIT : C_OTHER;
    }
    if (cp == 0x200C || cp == 0x200D) return C_WORD;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    if (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) return C_WORD;
    if (c == UTF8PROC_CATEGORY_ND) return C_DIGIT;
    return C_OTHER;
}

/* ---- features ----------------------------------------------------------- */

typedef struct feat_cfg {
    unsigned min_n, max_n;
    int words;
} feat_cfg;

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

/* Feature hash: FNV-1a over the code points from the standard basis, then
 * the seed (n for an n-gram, WORD_SEED for a whole word) mixed in. Seeding at
 * the end lets word_features() extend one running hash per start position. */
#define WORD_SEED 0x51u
static uint32_t seal(uint32_t h, uint32_t seed)
{
    return mix32(h ^ (seed * 0x9E3779B9u));
}

/* Calls emit(ctx, hashes, n) once per word of script `sid` in text, with
 * the hashes of all its features. Words longer than WORD_MAX code points are
 * cut into pieces of that size (no real word is that long; bounds the work
 * and the feature array per word). */
#define WORD_MAX 64
#define WORD_FEATS ((WORD_MAX + 2) * LID_MAX_N + 1)
typedef void (*feat_emit)(void *ctx, const uint32_t *h, size_t n);

static void word_features(const feat_cfg *fc, const uint32_t *w, size_t n, feat_emit emit, void *ctx)
{
    uint32_t pad[WORD_MAX + 2], hs[WORD_FEATS];
    size_t nh = 0;
    pad[0] = ' ';
    memcpy(pad + 1, w, n * sizeof *w);
    pad[n + 1] = ' ';
    size_t m = n + 2;
    for (size_t start = 0; start < m; start++) {
        uint32_t h = FNV_BASIS;
        for (unsigned k = 1; k <= fc->max_n && start + k <= m; k++) {
            h = (h ^ pad[start + k - 1]) * FNV_PRIME;
            if (k < fc->min_n || (k == 1 && (start == 0 || start == m - 1))) continue;
            hs[nh++] = seal(h, k);
        }
    }
    if (fc->words) {
        uint32_t h = FNV_BASIS;
        for (size_t i = 0; i < m; i++) h = (h ^ pad[i]) * FNV_PRIME;
        hs[nh++] = seal(h, WORD_SEED);
    }
    emit(ctx, hs, nh);
}

/* When the whitespace-delimited token starting at s[i] looks like a URL or
 * an e-mail address ("://" or "www." or "@" followed later by "."), returns
 * the offset just past it, else i. Such tokens say nothing about the
 * language and would count as Latin letters. */
static size_t skip_address(const unsigned char *s, size_t len, size_t i)
{
    size_t j = i;
    int url = 0, at = 0;
    if (len - i >= 4 && (s[i] | 0x20) == 'w' && (s[i + 1] | 0x20) == 'w' && (s[i + 2] | 0x20) == 'w' && s[i + 3] == '.')
        url = 1;
    for (; j < len && s[j] > ' '; j++) {
        if (s[j] == ':' && len - j >= 3 && s[j + 1] == '/' && s[j + 2] == '/') url = 1;
        else if (s[j] == '@' && j > i) at = 1;
        else if (s[j] == '.' && at) url = 1;
    }
    return url ? j : i;
}

static int is_space_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void text_features(const feat_cfg *fc, int sid, const char *text, size_t len, feat_emit emit,
                          void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t word[WORD_MAX];
    size_t n = 0, i = 0;
    int wscript = -1; /* script of the current word's first code point */
    while (i < len) {
        if (i == 0 || is_space_byte(s[i - 1])) {
            size_t j = skip_address(s, len, i);
            if (j > i) {
                if (n && wscript == sid) word_features(fc, word, n, emit, ctx);
                n = 0;
                wscript = -1;
                i = j;
                continue;
            }
        }
        uint32_t cp = next_cp(s, len, &i);
        if (char_class(cp) != C_WORD) {
            if (n && wscript == sid) word_features(fc, word, n, emit, ctx);
            n = 0;
            wscript = -1;
            continue;
        }
        int cs = script_id(cp);
        if (wscript < 0) wscript = cs;
        if (n == WORD_MAX) {
            if (wscript == sid) word_features(fc, word, n, emit, ctx);
            n = 0;
        }
        word[n++] = cs == S_LATN ? (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp) : cp;
    }
    if (n && wscript == sid) word_features(fc, word, n, emit, ctx);
}

/* Counts letters/marks/digits per script. total includes letters of scripts
 * outside the table (so that an unknown script lowers the share). */
static void script_counts(const char *text, size_t len, size_t counts[S_COUNT], size_t *total)
{
    const unsigned char *s = (const unsigned char *)text;
    memset(counts, 0, S_COUNT * sizeof counts[0]);
    *total = 0;
    size_t i = 0;
    while (i < len) {
        if (i == 0 || is_space_byte(s[i - 1])) {
            size_t j = skip_address(s, len, i);
            if (j > i) {
                i = j;
                continue;
            }
        }
        uint32_t cp = next_cp(s, len, &i);
        int cls = char_class(cp);
        if (cls == C_OTHER || cp == 0x200C || cp == 0x200D) continue;
        int sid = script_id(cp);
        if (sid >= 0) counts[sid]++;
        else if (cls == C_DIGIT) continue; /* ASCII and other digits carry no script */
        (*total)++;
    }
}

static double feat_weight(int weighting, size_t nfeat)
{
    if (!nfeat) return 0.0;
    if (weighting == 1) return 1.0 / sqrt((double)nfeat);
    if (weighting == 2) return 1.0 / (double)nfeat;
    return 1.0;
}

/* ---- model -------------------------------------------------------------- */

typedef struct lid_group {
    int sid;
    uint32_t n_langs, hash_bits;
    float scale;
    char codes[LID_MAX_LANGS][9];
    float bias[LID_MAX_LANGS];
    int8_t *w; /* [2^hash_bits][n_langs] */
} lid_group;

struct bh_langid {
    uint32_t flags, min_n, max_n, weighting, n_groups;
    lid_group g[LID_MAX_GROUPS];
    int by_script[S_COUNT]; /* group index or -1 */
};

void bh_langid_free(bh_langid *m)
{
    if (!m) return;
    for (uint32_t i = 0; i < m->n_groups; i++) free(m->g[i].w);
    free(m);
}

size_t bh_langid_n_langs(const bh_langid *m)
{
    size_t n = 0;
    if (!m) return 0;
    for (uint32_t i = 0; i < m->n_groups; i++) n += m->g[i].n_langs;
    return n;
}

const char *bh_langid_lang(const bh_langid *m, size_t i)
{
    if (!m) return NULL;
    for (uint32_t k = 0; k < m->n_groups; k++) {
        if (i < m->g[k].n_langs) return m->g[k].codes[i];
        i -= m->g[k].n_langs;
    }
    return NULL;
}

static int valid_lang(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n]) {
        if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_')) return 0;
        n++;
    }
    if (n < 2 || !(s[0] >= 'a' && s[0] <= 'z') || !(s[1] >= 'a' && s[1] <= 'z')) return 0;
    for (size_t k = n; k < max; k++)
        if (s[k]) return 0;
    return 1;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float rdf32(const unsigned char *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

bh_status bh_langid_load_mem(const void *data, size_t len, bh_langid **out)
{
    const unsigned char *p = data;
    if (!out || (!data && len)) return bh__fail(BH_EINVAL, "bh_langid_load_mem: NULL argument");
    if (len < LID_HEADER) return bh__fail(BH_EFORMAT, "langid model: %zu bytes, shorter than the header", len);
    if (memcmp(p, LID_MAGIC, 8)) return bh__fail(BH_EFORMAT, "langid model: bad magic (not a bhasha langid model)");
    if (rd32(p + 8) != LID_VERSION)
        return bh__fail(BH_EFORMAT, "langid model: format version %u, expected %u", rd32(p + 8), LID_VERSION);
    uint32_t flags = rd32(p + 12), min_n = rd32(p + 16), max_n = rd32(p + 20), wt = rd32(p + 24);
    uint32_t ng = rd32(p + 28), size = rd32(p + 32), crc = rd32(p + 36);
    if (size != len)
        return bh__fail(BH_EFORMAT, "langid model: header says %u bytes, got %zu (truncated or padded)", size, len);
    if (flags & ~(LID_FLAG_NORMALIZE | LID_FLAG_WORDS))
        return bh__fail(BH_EFORMAT, "langid model: unknown flags 0x%x", flags);
    if (min_n < 1 || max_n < min_n || max_n > LID_MAX_N)
        return bh__fail(BH_EFORMAT, "langid model: n-gram orders %u..%u out of range", min_n, max_n);
    if (wt > 2) return bh__fail(BH_EFORMAT, "langid model: feature weighting %u unknown", wt);
    if (ng < 1 || ng > LID_MAX_GROUPS) return bh__fail(BH_EFORMAT, "langid model: %u groups out of range", ng);
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, p + LID_HEADER, (uInt)(len - LID_HEADER));
    if ((uint32_t)c != crc) return bh__fail(BH_EFORMAT, "langid model: CRC mismatch (corrupt file)");

    bh_langid *m = calloc(1, sizeof *m);
    if (!m) return bh__fail(BH_ENOMEM, "langid model: out of memory");
    m->flags = flags; m->min_n = min_n; m->max_n = max_n; m->weighting = wt;
    for (int s = 0; s < S_COUNT; s++) m->by_script[s] = -1;
    size_t off = LID_HEADER;
    bh_status st = BH_OK;
    for (uint32_t gi = 0; gi < ng; gi++) {
        lid_group *g = &m->g[gi];
        if (len - off < 16) { st = bh__fail(BH_EFORMAT, "langid model: group %u: truncated record", gi); break; }
        char sc[5] = {0};
        memcpy(sc, p + off, 4);
        g->sid = script_by_code(sc);
        if (g->sid < 0) { st = bh__fail(BH_EFORMAT, "langid model: group %u: unknown script code", gi); break; }
        if (m->by_script[g->sid] >= 0) { st = bh__fail(BH_EFORMAT, "langid model: script %s appears twice", sc); break; }
        g->n_langs = rd32(p + off + 4);
        g->hash_bits = rd32(p + off + 8);
        g->scale = rdf32(p + off + 12);
        off += 16;
        if (g->n_langs < 1 || g->n_langs > LID_MAX_LANGS) {
            st = bh__fail(BH_EFORMAT, "langid model: group %s: %u languages out of range", sc, g->n_langs);
            break;
        }
        if (g->n_langs == 1 ? g->hash_bits != 0 : (g->hash_bits < 8 || g->hash_bits > 24)) {
            st = bh__fail(BH_EFORMAT, "langid model: group %s: hash_bits %u invalid", sc, g->hash_bits);
            break;
        }
        if (!isfinite(g->scale) || g->scale < 0) {
            st = bh__fail(BH_EFORMAT, "langid model: group %s: bad scale", sc);
            break;
        }
        if ((len - off) / 12 < g->n_langs) { st = bh__fail(BH_EFORMAT, "langid model: group %s: truncated language list", sc); break; }
        for (uint32_t l = 0; l < g->n_langs && !st; l++) {
            const unsigned char *q = p + off + 12 * (size_t)l;
            memcpy(g->codes[l], q, 8);
            g->codes[l][8] = 0;
            if (!valid_lang((const char *)q, 8))
                st = bh__fail(BH_EFORMAT, "langid model: group %s: language %u has an invalid code", sc, l);
            g->bias[l] = rdf32(q + 8);
            if (!st && !isfinite(g->bias[l])) st = bh__fail(BH_EFORMAT, "langid model: group %s: bias not finite", sc);
            for (uint32_t k = 0; k < l && !st; k++)
                if (!strcmp(g->codes[k], g->codes[l]))
                    st = bh__fail(BH_EFORMAT, "langid model: group %s: language %.8s twice", sc, (const char *)q);
        }
        if (st) break;
        off += 12 * (size_t)g->n_langs;
        if (g->hash_bits) {
            size_t nw = ((size_t)1 << g->hash_bits) * g->n_langs;
            if (len - off < nw) { st = bh__fail(BH_EFORMAT, "langid model: group %s: truncated weight table", sc); break; }
            g->w = malloc(nw);
            if (!g->w) { st = bh__fail(BH_ENOMEM, "langid model: out of memory"); break; }
            memcpy(g->w, p + off, nw);
            off += nw;
        }
        m->by_script[g->sid] = (int)gi;
        m->n_groups = gi + 1;
    }
    if (!st && off != len) st = bh__fail(BH_EFORMAT, "langid model: %zu trailing bytes", len - off);
    if (st) {
        bh_langid_free(m);
        return st;
    }
    *out = m;
    return BH_OK;
}

/* Model files are small; refuse anything larger than this before reading. */
#define LID_MAX_FILE (256u << 20)

bh_status bh_langid_load(const char *path, bh_langid **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_langid_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "cannot open langid model %s", path);
    bh_buf b = {0};
    char tmp[65536];
    size_t n;
    bh_status st = BH_OK;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (b.len + n > LID_MAX_FILE) { st = bh__fail(BH_EFORMAT, "langid model %s: larger than %u bytes", path, LID_MAX_FILE); break; }
        if ((st = bh_buf_append(&b, tmp, n))) break;
    }
    if (!st && ferror(f)) st = bh__fail(BH_EIO, "read error on langid model %s", path);
    fclose(f);
    if (!st) {
        st = bh_langid_load_mem(b.data, b.len, out);
        if (st) {
            char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
            snprintf(detail, sizeof detail, "%s", bh_last_error());
            bh__fail(st, "%s: %s", path, detail);
        }
    }
    bh_buf_free(&b);
    return st;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static void putf32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put32(p, u);
}

static bh_status serialize(const bh_langid *m, bh_buf *b)
{
    unsigned char h[LID_HEADER] = {0};
    memcpy(h, LID_MAGIC, 8);
    put32(h + 8, LID_VERSION); put32(h + 12, m->flags); put32(h + 16, m->min_n);
    put32(h + 20, m->max_n); put32(h + 24, m->weighting); put32(h + 28, m->n_groups);
    bh_status st = bh_buf_append(b, h, sizeof h);
    for (uint32_t gi = 0; gi < m->n_groups && !st; gi++) {
        const lid_group *g = &m->g[gi];
        unsigned char r[16];
        memcpy(r, script_codes[g->sid], 4);
        put32(r + 4, g->n_langs); put32(r + 8, g->hash_bits); putf32(r + 12, g->scale);
        st = bh_buf_append(b, r, sizeof r);
        for (uint32_t l = 0; l < g->n_langs && !st; l++) {
            unsigned char e[12] = {0};
            memcpy(e, g->codes[l], strlen(g->codes[l]));
            putf32(e + 8, g->bias[l]);
            st = bh_buf_append(b, e, sizeof e);
        }
        if (!st && g->hash_bits) st = bh_buf_append(b, g->w, ((size_t)1 << g->hash_bits) * g->n_langs);
    }
    if (st) return st;
    if (b->len > UINT32_MAX) return bh__fail(BH_ELIMIT, "langid model larger than 4 GiB");
    put32((unsigned char *)b->data + 32, (uint32_t)b->len);
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const unsigned char *)b->data + LID_HEADER, (uInt)(b->len - LID_HEADER));
    put32((unsigned char *)b->data + 36, (uint32_t)c);
    return BH_OK;
}

bh_status bh_langid_save(const bh_langid *m, const char *path)
{
    if (!m || !path) return bh__fail(BH_EINVAL, "bh_langid_save: NULL argument");
    bh_buf b = {0};
    bh_status st = serialize(m, &b);
    if (!st) {
        FILE *f = fopen(path, "wb");
        if (!f) st = bh__fail(BH_EIO, "cannot create %s", path);
        else {
            if (fwrite(b.data, 1, b.len, f) != b.len) st = bh__fail(BH_EIO, "write error on %s", path);
            if (fclose(f) && !st) st = bh__fail(BH_EIO, "write error on %s", path);
        }
    }
    bh_buf_free(&b);
    return st;
}

/* ---- identification ----------------------------------------------------- */

typedef struct score_ctx {
    const lid_group *g;
    uint32_t shift;
    int64_t sum[LID_MAX_LANGS];
    size_t nfeat;
} score_ctx;

static void score_emit(void *vctx, const uint32_t *h, size_t n)
{
    score_ctx *c = vctx;
    const uint32_t K = c->g->n_langs;
    /* The table does not fit in cache: fetch every row of the word first,
     * then add, so the misses overlap. */
    for (size_t i = 0; i < n; i++) __builtin_prefetch(c->g->w + (size_t)(h[i] >> c->shift) * K);
    for (size_t i = 0; i < n; i++) {
        const int8_t *row = c->g->w + (size_t)(h[i] >> c->shift) * K;
        for (uint32_t l = 0; l < K; l++) c->sum[l] += row[l];
    }
    c->nfeat += n;
}

static void softmax(const double *z, uint32_t n, double *p)
{
    double mx = z[0], s = 0;
    for (uint32_t l = 1; l < n; l++) mx = z[l] > mx ? z[l] : mx;
    for (uint32_t l = 0; l < n; l++) s += (p[l] = exp(z[l] - mx));
    for (uint32_t l = 0; l < n; l++) p[l] /= s;
}

static void set_und(bh_langid_result *res)
{
    memset(res, 0, sizeof *res);
    memcpy(res->lang, "und", 4);
}

static void identify_text(const bh_langid *m, const char *text, size_t len, bh_langid_result *res)
{
    size_t counts[S_COUNT], total;
    script_counts(text, len, counts, &total);
    int best = -1;
    for (int s = 0; s < S_COUNT; s++)
        if (m->by_script[s] >= 0 && counts[s] && (best < 0 || counts[s] > counts[best])) best = s;
    if (best < 0) {
        set_und(res);
        return;
    }
    const lid_group *g = &m->g[m->by_script[best]];
    double p[LID_MAX_LANGS] = {1.0};
    if (g->n_langs > 1) {
        feat_cfg fc = {m->min_n, m->max_n, (m->flags & LID_FLAG_WORDS) != 0};
        score_ctx c;
        memset(&c, 0, sizeof c);
        c.g = g;
        c.shift = 32 - g->hash_bits;
        text_features(&fc, best, text, len, score_emit, &c);
        double cw = feat_weight((int)m->weighting, c.nfeat) * g->scale, z[LID_MAX_LANGS] = {0};
        for (uint32_t l = 0; l < g->n_langs; l++) z[l] = g->bias[l] + cw * (double)c.sum[l];
        softmax(z, g->n_langs, p);
    }
    uint32_t arg = 0;
    for (uint32_t l = 1; l < g->n_langs; l++)
        if (p[l] > p[arg]) arg = l;
    memset(res, 0, sizeof *res);
    memcpy(res->lang, g->codes[arg], sizeof res->lang);
    memcpy(res->script, script_codes[best], 5);
    res->prob = (float)p[arg];
    res->score = (float)(p[arg] * (double)counts[best] / (double)total);
}

/* Length of a character at s[i] that separates words but that bh_normalize()
 * drops (NUL and the other control characters but the white space ones, C1
 * controls but NEL, U+200B), 0 for any other. */
static size_t dropped_separator(const unsigned char *s, size_t len, size_t i)
{
    unsigned c = s[i];
    if ((c < 0x20 && !is_space_byte((unsigned char)c)) || c == 0x7F) return 1;
    if (c == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F && s[i + 1] != 0x85) return 2;
    if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && s[i + 2] == 0x8B) return 3;
    return 0;
}

/* bh_normalize() for a normalizing model. The characters dropped_separator()
 * finds separate words, as they do for a model that does not normalize, but
 * bh_normalize() would drop them and join the words around them: they become
 * spaces first. Text without them (nearly all) is normalized as it is, with no
 * copy, so its scores are those the model was trained and evaluated with. */
static bh_status lid_normalize(const char *text, size_t len, bh_buf *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && !dropped_separator(s, len, i)) i++;
    if (i == len) return bh_normalize(text, len, NULL, out, NULL);
    char *t = malloc(len);
    if (!t) return bh__fail(BH_ENOMEM, "langid: out of memory");
    memcpy(t, text, len);
    while (i < len) {
        size_t k = dropped_separator(s, len, i);
        if (k) memset(t + i, ' ', k);
        i += k ? k : 1;
    }
    bh_status st = bh_normalize(t, len, NULL, out, NULL);
    free(t);
    return st;
}

bh_status bh_langid_identify(const bh_langid *m, const char *text, size_t len, bh_langid_result *res)
{
    if (!m || !res || (!text && len)) return bh__fail(BH_EINVAL, "bh_langid_identify: NULL argument");
    if (!len) {
        set_und(res);
        return BH_OK;
    }
    if (!(m->flags & LID_FLAG_NORMALIZE)) {
        identify_text(m, text, len, res);
        return BH_OK;
    }
    bh_buf b = {0};
    bh_status st = lid_normalize(text, len, &b);
    if (!st) identify_text(m, b.data ? b.data : "", b.len, res);
    bh_buf_free(&b);
    return st;
}

/* ---- training ----------------------------------------------------------- */

typedef struct lid_sample {
    size_t off;
    uint32_t len;
    uint8_t group, label;
} lid_sample;

typedef struct train_group {
    int sid;
    uint32_t n_langs;
    char codes[LID_MAX_LANGS][9];
    size_t count[LID_MAX_LANGS];
} train_group;

struct bh_langid_trainer {
    bh_langid_train_options o;
    bh_buf text;
    lid_sample *s;
    size_t n, cap;
    train_group g[S_COUNT];
    int n_groups;
    int by_script[S_COUNT];
};

void bh_langid_train_options_default(bh_langid_train_options *o)
{
    o->hash_bits = 18;
    o->min_n = 1;
    o->max_n = 5;
    o->word_features = 1;
    o->weighting = 1;
    o->normalize = 1;
    o->epochs = 8;
    o->lr = 0.5f;
    o->l2 = 1e-6f;
    o->crops = 1;
    o->seed = 1;
    o->naive_bayes = 1;
    o->alpha = 0.1f;
    o->temperature = 0;
}

bh_status bh_langid_trainer_new(const bh_langid_train_options *opt, bh_langid_trainer **out)
{
    bh_langid_train_options o;
    if (!out) return bh__fail(BH_EINVAL, "bh_langid_trainer_new: NULL argument");
    if (opt) o = *opt;
    else bh_langid_train_options_default(&o);
    if (o.hash_bits < 8 || o.hash_bits > 24) return bh__fail(BH_EINVAL, "langid train: hash_bits %d not in 8..24", o.hash_bits);
    if (o.min_n < 1 || o.max_n < o.min_n || o.max_n > (int)LID_MAX_N)
        return bh__fail(BH_EINVAL, "langid train: n-gram orders %d..%d not in 1..8", o.min_n, o.max_n);
    if (o.weighting < 0 || o.weighting > 2) return bh__fail(BH_EINVAL, "langid train: weighting %d not 0, 1 or 2", o.weighting);
    if (o.epochs < 1 || o.epochs > 1000) return bh__fail(BH_EINVAL, "langid train: epochs %d not in 1..1000", o.epochs);
    if (!(o.lr > 0 && o.lr < 100) || !(o.l2 >= 0 && o.l2 < 1))
        return bh__fail(BH_EINVAL, "langid train: learning rate or L2 out of range");
    if (!(o.alpha > 0 && o.alpha < 1e6)) return bh__fail(BH_EINVAL, "langid train: alpha out of range");
    if (!(o.temperature >= 0 && o.temperature < 1e6)) return bh__fail(BH_EINVAL, "langid train: temperature out of range");
    if (o.naive_bayes < 0 || o.naive_bayes > 2) return bh__fail(BH_EINVAL, "langid train: naive_bayes %d not 0, 1 or 2", o.naive_bayes);
    if (o.naive_bayes) o.weighting = 0;
    if (o.crops < 0 || o.crops > 16) return bh__fail(BH_EINVAL, "langid train: crops %d not in 0..16", o.crops);
    bh_langid_trainer *t = calloc(1, sizeof *t);
    if (!t) return bh__fail(BH_ENOMEM, "langid train: out of memory");
    t->o = o;
    for (int s = 0; s < S_COUNT; s++) t->by_script[s] = -1;
    *out = t;
    return BH_OK;
}

void bh_langid_trainer_free(bh_langid_trainer *t)
{
    if (!t) return;
    bh_buf_free(&t->text);
    free(t->s);
    free(t);
}

bh_status bh_langid_trainer_add(bh_langid_trainer *t, const char *lang, const char *script,
                                const char *text, size_t len)
{
    if (!t || !lang || !script || (!text && len)) return bh__fail(BH_EINVAL, "bh_langid_trainer_add: NULL argument");
    char code[9] = {0};
    size_t ll = strlen(lang);
    if (ll > 8) return bh__fail(BH_EINVAL, "langid train: language code '%s' longer than 8", lang);
    memcpy(code, lang, ll);
    if (!valid_lang(code, 8)) return bh__fail(BH_EINVAL, "langid train: language code '%s' not [a-z_]{2,8}", lang);
    int sid = script_by_code(script);
    if (sid < 0) return bh__fail(BH_EINVAL, "langid train: unknown script '%s'", script);
    if (len > UINT32_MAX) return bh__fail(BH_ELIMIT, "langid train: sample longer than 4 GiB");

    bh_buf norm = {0};
    const char *src = text;
    size_t slen = len;
    bh_status st;
    if (t->o.normalize) {
        if ((st = lid_normalize(text, len, &norm))) {
            bh_buf_free(&norm); /* a failed bh_normalize() may have grown it */
            return st;
        }
        src = norm.data ? norm.data : "";
        slen = norm.len;
    }
    size_t counts[S_COUNT], total;
    script_counts(src, slen, counts, &total);
    if (!counts[sid]) {
        bh_buf_free(&norm);
        return BH_OK;
    }
    int gi = t->by_script[sid];
    if (gi < 0) {
        gi = t->n_groups++;
        t->by_script[sid] = gi;
        t->g[gi].sid = sid;
    }
    train_group *g = &t->g[gi];
    uint32_t li = 0;
    while (li < g->n_langs && strcmp(g->codes[li], code)) li++;
    if (li == g->n_langs) {
        if (g->n_langs == LID_MAX_LANGS) {
            bh_buf_free(&norm);
            return bh__fail(BH_ELIMIT, "langid train: more than %u languages in script %s", LID_MAX_LANGS, script);
        }
        memcpy(g->codes[g->n_langs++], code, 9);
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 1024;
        if (nc > ((size_t)1 << 31)) {
            bh_buf_free(&norm);
            return bh__fail(BH_ELIMIT, "langid train: too many samples");
        }
        lid_sample *ns = realloc(t->s, nc * sizeof *ns);
        if (!ns) {
            bh_buf_free(&norm);
            return bh__fail(BH_ENOMEM, "langid train: out of memory");
        }
        t->s = ns;
        t->cap = nc;
    }
    lid_sample *s = &t->s[t->n];
    s->off = t->text.len;
    s->len = (uint32_t)slen;
    s->group = (uint8_t)gi;
    s->label = (uint8_t)li;
    st = bh_buf_append(&t->text, src, slen);
    bh_buf_free(&norm);
    if (st) return st;
    g->count[li]++;
    t->n++;
    return BH_OK;
}

typedef struct feat_list {
    uint32_t *h;
    size_t n, cap;
    int oom;
} feat_list;

static void list_emit(void *vctx, const uint32_t *h, size_t n)
{
    feat_list *f = vctx;
    if (f->oom) return;
    if (f->cap - f->n < n) {
        size_t nc = f->cap ? 2 * f->cap : 4096;
        while (nc - f->n < n) nc *= 2;
        uint32_t *nh = realloc(f->h, nc * sizeof *nh);
        if (!nh) {
            f->oom = 1;
            return;
        }
        f->h = nh;
        f->cap = nc;
    }
    memcpy(f->h + f->n, h, n * sizeof *h);
    f->n += n;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Picks a random window of 1..4 space-separated tokens of text; returns 0
 * when the text has no more than 4 tokens (the crop would be the text). */
static int random_crop(const char *text, size_t len, uint64_t *rng, size_t *off, size_t *clen)
{
    size_t ntok = 0;
    for (size_t i = 0; i < len; i++)
        if ((i == 0 || text[i - 1] == ' ') && text[i] != ' ') ntok++;
    if (ntok <= 4) return 0;
    size_t k = 1 + rng_next(rng) % 4;
    size_t first = rng_next(rng) % (ntok - k + 1), tok = 0;
    *off = len;
    *clen = 0;
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || text[i - 1] == ' ') && text[i] != ' ') {
            if (tok == first) *off = i;
            if (tok == first + k) {
                *clen = i - *off;
                return 1;
            }
            tok++;
        }
    }
    *clen = len - *off;
    return 1;
}

/* One SGD step of softmax regression on a feature list; returns the loss. */
static double sgd_step(const feat_list *f, float *w, float *bias, uint32_t K, uint32_t shift,
                       int weighting, uint32_t y, double sw, double lr, double l2)
{
    double c = feat_weight(weighting, f->n), z[LID_MAX_LANGS] = {0}, p[LID_MAX_LANGS];
    for (size_t i = 0; i < f->n; i++) {
        const float *row = w + (size_t)(f->h[i] >> shift) * K;
        for (uint32_t l = 0; l < K; l++) z[l] += row[l];
    }
    for (uint32_t l = 0; l < K; l++) z[l] = bias[l] + c * z[l];
    softmax(z, K, p);
    double loss = -log(p[y] > 1e-300 ? p[y] : 1e-300);
    float gs[LID_MAX_LANGS];
    for (uint32_t l = 0; l < K; l++) {
        double g = sw * (p[l] - (l == y ? 1.0 : 0.0));
        bias[l] -= (float)(lr * g);
        gs[l] = (float)(lr * c * g);
    }
    float decay = (float)(1.0 - lr * l2);
    for (size_t i = 0; i < f->n; i++) {
        float *row = w + (size_t)(f->h[i] >> shift) * K;
        for (uint32_t l = 0; l < K; l++) row[l] = row[l] * decay - gs[l];
    }
    return loss;
}

/* Multinomial naive Bayes: per group, w[b][l] = log P(bucket b | l) with
 * add-alpha smoothing minus its mean over l (softmax does not see a per-bucket
 * constant, and centring keeps the int8 range for the differences). Each
 * sample counts with its class weight, so languages are balanced. */
static bh_status fit_naive_bayes(bh_langid_trainer *t, bh_langid *m, float **wf, const feat_cfg *fc,
                                 feat_list *fl, size_t nb, double cw[][LID_MAX_LANGS],
                                 bh_langid_progress progress, void *ctx)
{
    size_t report = t->n / 20 + 1;
    uint32_t shift = 32 - (uint32_t)t->o.hash_bits;
    double tot[S_COUNT][LID_MAX_LANGS] = {{0}};
    for (size_t k = 0; k < t->n; k++) {
        const lid_sample *s = &t->s[k];
        lid_group *mg = &m->g[s->group];
        if (mg->n_langs < 2) continue;
        fl->n = 0;
        text_features(fc, mg->sid, t->text.data + s->off, s->len, list_emit, fl);
        if (fl->oom) return bh__fail(BH_ENOMEM, "langid train: out of memory");
        float c = (float)cw[s->group][s->label];
        for (size_t i = 0; i < fl->n; i++) wf[s->group][(size_t)(fl->h[i] >> shift) * mg->n_langs + s->label] += c;
        tot[s->group][s->label] += c * (double)fl->n;
        if (progress && (k + 1) % report == 0) progress(ctx, 1, 1, (double)(k + 1) / (double)t->n, 0);
    }
    if (progress) progress(ctx, 1, 1, 1.0, 0);
    for (uint32_t gi = 0; gi < m->n_groups; gi++) {
        lid_group *mg = &m->g[gi];
        if (mg->n_langs < 2) continue;
        uint32_t K = mg->n_langs;
        double den[LID_MAX_LANGS];
        for (uint32_t l = 0; l < K; l++) {
            den[l] = log(tot[gi][l] + t->o.alpha * (double)nb);
            mg->bias[l] = 0;
        }
        for (size_t b = 0; b < nb; b++) {
            float *row = wf[gi] + b * K;
            double mean = 0, v[LID_MAX_LANGS];
            for (uint32_t l = 0; l < K; l++) mean += (v[l] = log(row[l] + t->o.alpha) - den[l]);
            mean /= K;
            for (uint32_t l = 0; l < K; l++) row[l] = (float)(v[l] - mean);
        }
    }
    return BH_OK;
}

bh_status bh_langid_trainer_fit(bh_langid_trainer *t, bh_langid_progress progress, void *ctx,
                                bh_langid **out)
{
    if (!t || !out) return bh__fail(BH_EINVAL, "bh_langid_trainer_fit: NULL argument");
    if (!t->n) return bh__fail(BH_EINVAL, "langid train: no training samples");
    const bh_langid_train_options *o = &t->o;
    bh_langid *m = calloc(1, sizeof *m);
    float *wf[S_COUNT] = {0};
    size_t *perm = malloc(t->n * sizeof *perm);
    feat_list fl = {0};
    bh_status st = BH_OK;
    if (!m || !perm) {
        st = bh__fail(BH_ENOMEM, "langid train: out of memory");
        goto done;
    }
    m->flags = (o->normalize ? LID_FLAG_NORMALIZE : 0) | (o->word_features ? LID_FLAG_WORDS : 0);
    m->min_n = (uint32_t)o->min_n;
    m->max_n = (uint32_t)o->max_n;
    m->weighting = (uint32_t)o->weighting;
    m->n_groups = (uint32_t)t->n_groups;
    for (int s = 0; s < S_COUNT; s++) m->by_script[s] = t->by_script[s];
    /* Class weights: every language of a group gets the same total weight. */
    double cw[S_COUNT][LID_MAX_LANGS];
    size_t nb = (size_t)1 << o->hash_bits;
    for (int gi = 0; gi < t->n_groups; gi++) {
        train_group *g = &t->g[gi];
        lid_group *mg = &m->g[gi];
        mg->sid = g->sid;
        mg->n_langs = g->n_langs;
        memcpy(mg->codes, g->codes, sizeof g->codes);
        size_t tot = 0;
        for (uint32_t l = 0; l < g->n_langs; l++) tot += g->count[l];
        for (uint32_t l = 0; l < g->n_langs; l++)
            cw[gi][l] = g->count[l] ? (double)tot / ((double)g->n_langs * (double)g->count[l]) : 0;
        if (g->n_langs > 1) {
            mg->hash_bits = (uint32_t)o->hash_bits;
            wf[gi] = calloc(nb * g->n_langs, sizeof(float));
            if (!wf[gi]) {
                st = bh__fail(BH_ENOMEM, "langid train: out of memory");
                goto done;
            }
        }
    }
    feat_cfg fc = {(unsigned)o->min_n, (unsigned)o->max_n, o->word_features};
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ o->seed;
    double nb_temp = 2.0 * (double)(o->max_n - o->min_n + 1 + (o->word_features ? 1 : 0));
    if (o->naive_bayes) {
        st = fit_naive_bayes(t, m, wf, &fc, &fl, nb, cw, progress, ctx);
        if (st) goto done;
        if (o->naive_bayes == 1) goto quantize;
        /* naive Bayes as the starting point of logistic regression */
        for (int gi = 0; gi < t->n_groups; gi++)
            if (wf[gi])
                for (size_t i = 0; i < nb * m->g[gi].n_langs; i++) wf[gi][i] = (float)(wf[gi][i] / nb_temp);
    }
    size_t steps_total = (size_t)o->epochs * t->n, step = 0;
    uint32_t shift = 32 - (uint32_t)o->hash_bits;
    for (size_t i = 0; i < t->n; i++) perm[i] = i;
    for (int ep = 1; ep <= o->epochs; ep++) {
        for (size_t i = t->n; i > 1; i--) {
            size_t j = rng_next(&rng) % i, tmp = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = tmp;
        }
        double loss = 0;
        size_t nloss = 0, report = t->n / 20 + 1;
        for (size_t k = 0; k < t->n; k++, step++) {
            const lid_sample *s = &t->s[perm[k]];
            lid_group *mg = &m->g[s->group];
            if (mg->n_langs < 2) continue;
            double lr = o->lr * (1.0 - (double)step / (double)steps_total);
            const char *txt = t->text.data + s->off;
            for (int r = 0; r <= o->crops; r++) {
                size_t off = 0, clen = s->len;
                if (r > 0 && !random_crop(txt, s->len, &rng, &off, &clen)) break;
                fl.n = 0;
                text_features(&fc, mg->sid, txt + off, clen, list_emit, &fl);
                if (fl.oom) {
                    st = bh__fail(BH_ENOMEM, "langid train: out of memory");
                    goto done;
                }
                if (!fl.n) continue;
                double l = sgd_step(&fl, wf[s->group], mg->bias, mg->n_langs, shift, o->weighting,
                                    s->label, cw[s->group][s->label], lr, o->l2);
                if (r == 0) {
                    loss += l;
                    nloss++;
                }
            }
            if (progress && (k + 1) % report == 0)
                progress(ctx, ep, o->epochs, (double)(k + 1) / (double)t->n, nloss ? loss / (double)nloss : 0);
        }
        if (progress) progress(ctx, ep, o->epochs, 1.0, nloss ? loss / (double)nloss : 0);
    }
quantize:; /* a label must precede a statement, not a declaration (C11) */
    /* Quantize: scale maps the largest |weight| to 127; the temperature is
     * folded into scale and biases. */
    double temp = o->temperature > 0 ? o->temperature : o->naive_bayes == 1 ? nb_temp : 1.0;
    for (int gi = 0; gi < t->n_groups; gi++) {
        lid_group *mg = &m->g[gi];
        if (!wf[gi]) continue;
        for (uint32_t l = 0; l < mg->n_langs; l++) mg->bias[l] = (float)(mg->bias[l] / temp);
        size_t nw = nb * mg->n_langs;
        float mx = 0;
        for (size_t i = 0; i < nw; i++) mx = fabsf(wf[gi][i]) > mx ? fabsf(wf[gi][i]) : mx;
        mg->scale = mx > 0 ? mx / 127.0f : 1.0f;
        mg->w = malloc(nw);
        if (!mg->w) {
            st = bh__fail(BH_ENOMEM, "langid train: out of memory");
            goto done;
        }
        for (size_t i = 0; i < nw; i++) {
            long q = lrintf(wf[gi][i] / mg->scale);
            mg->w[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        mg->scale = (float)(mg->scale / temp);
    }
done:
    for (int gi = 0; gi < S_COUNT; gi++) free(wf[gi]);
    free(perm);
    free(fl.h);
    if (st) {
        bh_langid_free(m);
        return st;
    }
    *out = m;
    return BH_OK;
}
