/* tokenizer/translit.c — Indic script conversion and ISO 15919 romanization.
 *
 * Text is first read into abstract tokens (consonant id + nukta bit, vowel,
 * vowel sign, virama, modifier, digit, ...) whose ids are the offsets of the
 * shared Unicode layout (Devanagari offsets: ka = 0x15, the sign ा is the
 * vowel आ = 0x06, ...). A reader exists for each side: Indic text (any of the
 * nine blocks) and ISO 15919 Latin (a code point trie). Writers render the
 * tokens into the target script from tables built once in bh_translit_new(),
 * applying the script-specific rules documented in include/bhasha/translit.h.
 * The handle is never written after creation, so runs are thread-safe. */
#include "bhasha/translit.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define NSCRIPT 9
#define IDS 128          /* consonant / vowel id space (layout offsets) */
#define ID_WA 0x70       /* Oriya ୱ, Assamese ৱ */
#define ID_TSA 0x71      /* Telugu ౘ */
#define ID_DZA 0x72      /* Telugu ౙ */
#define ID_RRRA 0x73     /* Telugu ౚ */
#define ID_TTTA 0x74     /* Malayalam ഺ */
#define ZWJ 0x200D
#define ZWNJ 0x200C

enum { S_DEVA, S_BENG, S_GURU, S_GUJR, S_ORYA, S_TAML, S_TELU, S_KNDA, S_MLYM };

enum kind {
    K_RAW = 0, K_CONS, K_VOWEL, K_SIGN, K_VIRAMA, K_NUKTA, K_MOD, K_DIGIT, K_DEAD,
    K_AVAG, K_OM, K_ADDAK, K_JOIN
};
enum { V_NONE = 0, V_BINDI = 1, V_TIPPI = 2, V_ADAK = 3 };

typedef struct ent { uint8_t kind, id, nk, var; } ent;
typedef struct str { uint8_t n; char s[15]; } str;   /* short UTF-8 string, n == 0: none */

typedef struct tok {
    uint8_t kind, id, nk, var;
    uint8_t rawlen;
    const char *raw;     /* source bytes, for K_RAW and pass-through */
} tok;

typedef struct tnode { uint32_t cp; int32_t child, sib; int16_t val; } tnode;

struct bh_translit {
    bh_translit_options opt;
    int tgt;                      /* target script index 0..8, -1 for Latin */
    ent src[NSCRIPT][128];
    ent nukta_of[NSCRIPT][IDS];   /* consonant id + nukta -> (id, nk) */
    /* Indic target tables */
    str cons[IDS][2], dead[IDS][2], vowel[IDS], sign[IDS], mod[4], digit[10];
    str virama, avag, om, addak, tippi, bindi, sup[4];
    uint8_t supof[IDS];           /* Tamil superscript 2/3/4 for a lost stop, 0 none */
    /* Latin tables */
    const char *lcons[IDS][2];
    char lgen[IDS][8];            /* consonant + U+0331 for a nukta form without a name */
    const char *lvowel[IDS];
    int32_t ncons[IDS][2], nvowel[IDS], nmod[4], ntippi, navag;  /* trie node after each */
    uint8_t lenc[IDS][2], lenv[IDS];  /* byte lengths of lcons, lvowel */
    int32_t root_ascii[128];      /* root's child for an ASCII code point, -1 none */
    int32_t root_hash[256];       /* root's child by low byte of a non-ASCII code point:
                                     -1 none, -2 several (scan the list) */
    ent keys[256];
    int nkeys;
    tnode *trie;
    int ntrie, captrie;
};

/* ---------- UTF-8 ---------- */

static const char FFFD[] = "\xEF\xBF\xBD";

/* Decodes one code point at p (< end). Invalid sequences give U+FFFD, length 1,
 * and *bad = 1. */
static inline uint32_t dec(const unsigned char *p, const unsigned char *end, int *n, int *bad)
{
    unsigned c = p[0];
    *bad = 0;
    if (c < 0x80) { *n = 1; return c; }
    if (c >= 0xE0 && c <= 0xEC && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
        (c != 0xE0 || p[1] >= 0xA0)) {
        *n = 3;   /* the common case here (Indic letters): 3 bytes, not overlong, no surrogate */
        return ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    }
    int len; uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else goto badseq;
    if (end - p < len) goto badseq;
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) goto badseq;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto badseq;
    *n = len;
    return cp;
badseq:
    *n = 1;
    *bad = 1;
    return 0xFFFD;
}

static int enc(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static void str_cp(str *s, uint32_t cp)
{
    if (s->n + 4 <= (int)sizeof s->s) s->n = (uint8_t)(s->n + enc(cp, s->s + s->n));
}

static void str_cat(str *s, const str *t)
{
    if (s->n + t->n <= (int)sizeof s->s) { memcpy(s->s + s->n, t->s, t->n); s->n = (uint8_t)(s->n + t->n); }
}

/* ---------- output ---------- */

typedef struct out { bh_buf *b; bh_status st; } out;

static void put(out *o, const char *s, size_t n)
{
    if (o->st) return;
    bh_buf *b = o->b;
    if (b->len + n + 1 > b->cap) {
        o->st = bh_buf_reserve(b, n + (b->len >> 1) + 64);
        if (o->st) return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}
static void putstr(out *o, const str *s) { put(o, s->s, s->n); }

/* ---------- script layout tables ---------- */

static int is_sign_off(int o) { return (o >= 0x3E && o <= 0x4C) || o == 0x62 || o == 0x63; }
static int sign_vowel(int o)
{
    static const uint8_t v[] = { 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x60, 0x0D, 0x0E, 0x0F,
                                 0x10, 0x11, 0x12, 0x13, 0x14 };
    if (o == 0x62) return 0x0C;
    if (o == 0x63) return 0x61;
    return v[o - 0x3E];
}
static void set(ent *e, int kind, int id, int nk, int var)
{
    e->kind = (uint8_t)kind; e->id = (uint8_t)id; e->nk = (uint8_t)nk; e->var = (uint8_t)var;
}

static void build_src(bh_translit *t, int s)
{
    uint32_t base = 0x900 + 0x80u * (uint32_t)s;
    ent *e = t->src[s];
    for (int o = 0; o < 128; o++) {
        set(&e[o], K_RAW, 0, 0, 0);
        if (utf8proc_category((utf8proc_int32_t)(base + o)) == UTF8PROC_CATEGORY_CN) continue;
        if (o >= 1 && o <= 3) set(&e[o], K_MOD, o, 0, 0);
        else if ((o >= 5 && o <= 0x14) || o == 0x60 || o == 0x61) set(&e[o], K_VOWEL, o, 0, 0);
        else if (o >= 0x15 && o <= 0x39) set(&e[o], K_CONS, o, 0, 0);
        else if (o == 0x3C) set(&e[o], K_NUKTA, 0, 0, 0);
        else if (o == 0x3D) set(&e[o], K_AVAG, 0, 0, 0);
        else if (is_sign_off(o)) set(&e[o], K_SIGN, sign_vowel(o), 0, 0);
        else if (o == 0x4D) set(&e[o], K_VIRAMA, 0, 0, 0);
        else if (o == 0x50) set(&e[o], K_OM, 0, 0, 0);
        else if (o >= 0x66 && o <= 0x6F) set(&e[o], K_DIGIT, o - 0x66, 0, 0);
    }
    for (int i = 0; i < IDS; i++) set(&t->nukta_of[s][i], K_CONS, i, 1, 0);
    switch (s) {
    case S_DEVA:
        set(&e[0x29], K_CONS, 0x28, 1, 0); set(&e[0x31], K_CONS, 0x30, 1, 0);
        set(&e[0x34], K_CONS, 0x33, 1, 0);
        {
            static const uint8_t b[8] = { 0x15, 0x16, 0x17, 0x1C, 0x21, 0x22, 0x2B, 0x2F };
            for (int i = 0; i < 8; i++) set(&e[0x58 + i], K_CONS, b[i], 1, 0);
        }
        break;
    case S_BENG:
        set(&e[0x4E], K_DEAD, 0x24, 0, 0);
        set(&e[0x5C], K_CONS, 0x21, 1, 0); set(&e[0x5D], K_CONS, 0x22, 1, 0);
        set(&e[0x5F], K_CONS, 0x2F, 1, 0);
        set(&e[0x70], K_CONS, 0x30, 0, 0); set(&e[0x71], K_CONS, ID_WA, 0, 0);
        break;
    case S_GURU:
        set(&e[0x01], K_MOD, 1, 0, V_ADAK);   /* adak bindi: no ISO letter, copied in Latin */
        set(&e[0x02], K_MOD, 2, 0, V_BINDI);
        set(&e[0x33], K_CONS, 0x33, 0, 0); set(&e[0x36], K_CONS, 0x36, 0, 0);
        set(&e[0x59], K_CONS, 0x16, 1, 0); set(&e[0x5A], K_CONS, 0x17, 1, 0);
        set(&e[0x5B], K_CONS, 0x1C, 1, 0); set(&e[0x5C], K_CONS, 0x21, 1, 0);
        set(&e[0x5E], K_CONS, 0x2B, 1, 0);
        set(&e[0x70], K_MOD, 2, 0, V_TIPPI); set(&e[0x71], K_ADDAK, 0, 0, 0);
        set(&t->nukta_of[s][0x38], K_CONS, 0x36, 0, 0);
        set(&t->nukta_of[s][0x32], K_CONS, 0x33, 0, 0);
        break;
    case S_ORYA:
        set(&e[0x5C], K_CONS, 0x21, 1, 0); set(&e[0x5D], K_CONS, 0x22, 1, 0);
        set(&e[0x5F], K_CONS, 0x2F, 1, 0); set(&e[0x71], K_CONS, ID_WA, 0, 0);
        break;
    case S_TAML:
        set(&e[0x29], K_CONS, 0x28, 1, 0); set(&e[0x31], K_CONS, 0x30, 1, 0);
        set(&e[0x34], K_CONS, 0x33, 1, 0);
        break;
    case S_TELU:
        set(&e[0x31], K_CONS, 0x30, 1, 0); set(&e[0x34], K_CONS, 0x33, 1, 0);
        set(&e[0x58], K_CONS, ID_TSA, 0, 0); set(&e[0x59], K_CONS, ID_DZA, 0, 0);
        set(&e[0x5A], K_CONS, ID_RRRA, 0, 0);
        break;
    case S_KNDA:
        set(&e[0x31], K_CONS, 0x30, 1, 0); set(&e[0x5E], K_CONS, 0x33, 1, 0);
        break;
    case S_MLYM:
        set(&e[0x29], K_CONS, 0x28, 1, 0); set(&e[0x31], K_CONS, 0x30, 1, 0);
        set(&e[0x34], K_CONS, 0x33, 1, 0); set(&e[0x3A], K_CONS, ID_TTTA, 0, 0);
        set(&e[0x3C], K_RAW, 0, 0, 0);   /* circular virama, not a nukta */
        {
            static const uint8_t c[6] = { 0x23, 0x28, 0x30, 0x32, 0x33, 0x15 };
            for (int i = 0; i < 6; i++) set(&e[0x7A + i], K_DEAD, c[i], 0, 0);
        }
        break;
    default:
        break;
    }
    /* Where a script has its own letter for consonant + nukta that is not
       canonically equivalent to the pair (Telugu ఱ, Kannada ೞ, Oriya ୟ,
       Gurmukhi ੜ), a written consonant + nukta is another thing: the nukta
       is then left as it is instead of merging into that letter. */
    for (int o = 0; o < 128; o++) {
        if (e[o].kind != K_CONS || !e[o].nk) continue;
        utf8proc_int32_t d[4];
        int lb = 0;
        if (utf8proc_decompose_char((utf8proc_int32_t)(base + o), d, 4, UTF8PROC_DECOMPOSE, &lb) == 1)
            set(&t->nukta_of[s][e[o].id], K_RAW, 0, 0, 0);
    }
}

/* Writes a target letter in bhasha's normalized spelling, which is NFC:
 * nukta letters excluded from composition (U+0958, U+09DF, U+0A36, ...) come
 * out as base + nukta, U+0929 U+0931 U+0934 and two-part vowel signs stay
 * composed. */
static void str_canon(str *s, uint32_t cp)
{
    char u[8];
    u[enc(cp, u)] = 0;
    utf8proc_uint8_t *c = utf8proc_NFC((const utf8proc_uint8_t *)u);
    if (!c) { str_cp(s, cp); return; }
    size_t n = strlen((const char *)c);
    if (s->n + n <= sizeof s->s) { memcpy(s->s + s->n, c, n); s->n = (uint8_t)(s->n + n); }
    free(c);
}

static int tamil_plain(int id)
{
    switch (id) {
    case 0x16: case 0x17: case 0x18: return 0x15;
    case 0x1B: return 0x1A;
    case 0x1D: return 0x1C;
    case 0x20: case 0x21: case 0x22: return 0x1F;
    case 0x25: case 0x26: case 0x27: return 0x24;
    case 0x2B: case 0x2C: case 0x2D: return 0x2A;
    default: return 0;
    }
}
static int tamil_sup(int id)
{
    switch (id) {
    case 0x16: case 0x1B: case 0x20: case 0x25: case 0x2B: return 2;
    case 0x17: case 0x21: case 0x26: case 0x2C: return 3;
    case 0x18: case 0x1D: case 0x22: case 0x27: case 0x2D: return 4;
    default: return 0;
    }
}
/* The stop a Tamil letter + superscript 2/3/4 stands for, 0 if none. */
static int tamil_voiced(int id, int lvl)
{
    for (int v = 0x15; v <= 0x2D; v++)
        if (tamil_plain(v) == id && tamil_sup(v) == lvl) return v;
    if (id == 0x1C && lvl == 4) return 0x1D;   /* ஜ⁴ jha */
    return 0;
}

static int generic_fallback(int id)
{
    switch (id) {
    case 0x33: return 0x32;
    case 0x35: return 0x2C;
    case ID_WA: return 0x35;
    case 0x37: return 0x36;
    case 0x36: return 0x38;
    case 0x19: case 0x1E: case 0x23: return 0x28;
    case ID_TSA: return 0x1A;
    case ID_DZA: return 0x1C;
    case ID_TTTA: return 0x1F;
    default: return 0;
    }
}

static int has_nukta(const bh_translit *t, const str *s)
{
    str n = { 0, { 0 } };
    str_cp(&n, 0x900 + 0x80u * (uint32_t)t->tgt + 0x3C);
    return s->n >= n.n && memcmp(s->s + s->n - n.n, n.s, n.n) == 0;
}

static const str *resolve_cons(bh_translit *t, int id, int nk, int depth)
{
    str *c = &t->cons[id][nk];
    if (c->n || depth > 6) return c;
    int T = t->tgt;
    if (nk) {
        if (T == S_TAML && (id == 0x2B || id == 0x1C)) {
            *c = t->mod[3];
            str_cat(c, resolve_cons(t, id == 0x2B ? 0x2A : 0x1C, 0, depth + 1));
        } else if (t->src[T][0x3C].kind == K_NUKTA && t->cons[id][0].n && !has_nukta(t, &t->cons[id][0])) {
            *c = t->cons[id][0];
            str_canon(c, 0x900 + 0x80u * (uint32_t)T + 0x3C);
        } else {
            *c = *resolve_cons(t, id, 0, depth + 1);
        }
        return c;
    }
    if (id == ID_RRRA) { *c = *resolve_cons(t, 0x30, 1, depth + 1); return c; }
    int f = T == S_TAML ? tamil_plain(id) : 0;
    if (f) {
        *c = *resolve_cons(t, f, 0, depth + 1);
        t->supof[id] = (uint8_t)tamil_sup(id);
        return c;
    }
    f = generic_fallback(id);
    if (f) *c = *resolve_cons(t, f, 0, depth + 1);
    return c;
}

static void build_target(bh_translit *t)
{
    int T = t->tgt;
    uint32_t base = 0x900 + 0x80u * (uint32_t)T;
    const ent *e = t->src[T];
    for (int o = 0; o < 128; o++) {
        uint32_t cp = base + (uint32_t)o;
        str *d = NULL;
        switch (e[o].kind) {
        case K_CONS: d = &t->cons[e[o].id][e[o].nk]; break;
        case K_DEAD: d = &t->dead[e[o].id][e[o].nk]; break;
        case K_VOWEL: d = &t->vowel[e[o].id]; break;
        case K_SIGN: d = &t->sign[e[o].id]; break;
        case K_MOD: d = e[o].var == V_TIPPI ? &t->tippi : &t->mod[e[o].id]; break;
        case K_DIGIT: d = &t->digit[e[o].id]; break;
        case K_VIRAMA: d = &t->virama; break;
        case K_AVAG: d = &t->avag; break;
        case K_OM: d = &t->om; break;
        case K_ADDAK: d = &t->addak; break;
        default: break;
        }
        if (d && !d->n) str_canon(d, cp);
    }
    if (T == S_GURU) { t->bindi = t->mod[2]; t->mod[1] = t->mod[2]; }
    if (T == S_BENG && t->opt.assamese) {
        t->cons[0x30][0].n = 0; str_cp(&t->cons[0x30][0], 0x09F0);
        t->cons[0x35][0].n = 0; str_cp(&t->cons[0x35][0], 0x09F1);
    }
    /* vowels and signs the target lacks */
    static const uint8_t vfb[][2] = { { 0x0E, 0x0F }, { 0x12, 0x13 }, { 0x0D, 0x0F }, { 0x11, 0x13 } };
    for (size_t i = 0; i < sizeof vfb / sizeof vfb[0]; i++) {
        if (!t->vowel[vfb[i][0]].n) t->vowel[vfb[i][0]] = t->vowel[vfb[i][1]];
        if (!t->sign[vfb[i][0]].n) t->sign[vfb[i][0]] = t->sign[vfb[i][1]];
    }
    if (T == S_TAML || T == S_GURU) {
        /* vocalic r: ra + u/uu (Tamil), ra + i/ii (Gurmukhi) */
        int s1 = T == S_TAML ? 0x09 : 0x07, s2 = T == S_TAML ? 0x0A : 0x08;
        for (int k = 0; k < 2; k++) {
            int v = k ? 0x60 : 0x0B, sv = k ? s2 : s1;
            if (!t->vowel[v].n) { t->vowel[v] = t->cons[0x30][0]; str_cat(&t->vowel[v], &t->sign[sv]); }
            if (!t->sign[v].n) {
                t->sign[v] = t->virama; str_cat(&t->sign[v], &t->cons[0x30][0]);
                str_cat(&t->sign[v], &t->sign[sv]);
            }
        }
    }
    if (!t->mod[1].n) t->mod[1] = t->mod[2];
    if (!t->om.n) { t->om = t->vowel[0x13]; str_cat(&t->om, &t->mod[1]); }
    for (int id = 0x15; id < IDS; id++)
        for (int nk = 0; nk < 2; nk++)
            if ((id <= 0x39 || (id >= ID_WA && id <= ID_TTTA))) resolve_cons(t, id, nk, 0);
    if (T == S_BENG && t->opt.assamese) t->cons[ID_WA][0] = t->cons[0x35][0];
    static const uint32_t sup[3] = { 0x00B2, 0x00B3, 0x2074 };
    for (int i = 0; i < 3; i++) str_cp(&t->sup[i + 2 - 1], sup[i]);
    /* dead consonants without an atomic letter: C + virama + ZWJ, except
       Bengali (ya-phala after ra is written ra + ZWJ + virama) */
    for (int id = 0x15; id < IDS; id++)
        for (int nk = 0; nk < 2; nk++) {
            str *d = &t->dead[id][nk];
            if (d->n || !t->cons[id][nk].n) continue;
            *d = t->cons[id][nk];
            if (T == S_BENG) { str_cp(d, ZWJ); str_cat(d, &t->virama); }
            else { str_cat(d, &t->virama); str_cp(d, ZWJ); }
        }
}

/* ---------- Latin tables ---------- */

static const struct { uint8_t id, nk; const char *lat; } LCONS[] = {
    { 0x15, 0, "k" }, { 0x16, 0, "kh" }, { 0x17, 0, "g" }, { 0x18, 0, "gh" }, { 0x19, 0, "ṅ" },
    { 0x1A, 0, "c" }, { 0x1B, 0, "ch" }, { 0x1C, 0, "j" }, { 0x1D, 0, "jh" }, { 0x1E, 0, "ñ" },
    { 0x1F, 0, "ṭ" }, { 0x20, 0, "ṭh" }, { 0x21, 0, "ḍ" }, { 0x22, 0, "ḍh" }, { 0x23, 0, "ṇ" },
    { 0x24, 0, "t" }, { 0x25, 0, "th" }, { 0x26, 0, "d" }, { 0x27, 0, "dh" }, { 0x28, 0, "n" },
    { 0x2A, 0, "p" }, { 0x2B, 0, "ph" }, { 0x2C, 0, "b" }, { 0x2D, 0, "bh" }, { 0x2E, 0, "m" },
    { 0x2F, 0, "y" }, { 0x30, 0, "r" }, { 0x32, 0, "l" }, { 0x33, 0, "ḷ" }, { 0x35, 0, "v" },
    { 0x36, 0, "ś" }, { 0x37, 0, "ṣ" }, { 0x38, 0, "s" }, { 0x39, 0, "h" },
    { 0x28, 1, "ṉ" }, { 0x30, 1, "ṟ" }, { 0x33, 1, "ḻ" },
    { 0x15, 1, "q" }, { 0x16, 1, "k͟h" }, { 0x17, 1, "ġ" }, { 0x1C, 1, "z" }, { 0x21, 1, "ṛ" },
    { 0x22, 1, "ṛh" }, { 0x2B, 1, "f" }, { 0x2F, 1, "ẏ" }, { ID_WA, 0, "w" },
};
static const struct { uint8_t id; const char *lat; } LVOW[] = {
    { 0x05, "a" }, { 0x06, "ā" }, { 0x07, "i" }, { 0x08, "ī" }, { 0x09, "u" }, { 0x0A, "ū" },
    { 0x0B, "r̥" }, { 0x60, "r̥̄" }, { 0x0C, "l̥" }, { 0x61, "l̥̄" }, { 0x0D, "ê" }, { 0x0E, "e" },
    { 0x0F, "ē" }, { 0x10, "ai" }, { 0x11, "ô" }, { 0x12, "o" }, { 0x13, "ō" }, { 0x14, "au" },
};
static const char *const LMOD[4] = { NULL, "m̐", "ṁ", "ḥ" };
#define L_TIPPI "ṃ"
#define L_AVAG "\xCC\x95"   /* U+0315 */

static int trie_node(bh_translit *t, uint32_t cp)
{
    if (t->ntrie == t->captrie) {
        int cap = t->captrie ? t->captrie * 2 : 512;
        tnode *n = realloc(t->trie, (size_t)cap * sizeof *n);
        if (!n) return -1;
        t->trie = n;
        t->captrie = cap;
    }
    tnode *n = &t->trie[t->ntrie];
    n->cp = cp; n->child = n->sib = -1; n->val = -1;
    return t->ntrie++;
}

static bh_status trie_add1(bh_translit *t, const char *s, int val)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    int cur = 0;
    while (p < end) {
        int n, bad;
        uint32_t cp = dec(p, end, &n, &bad);
        p += n;
        int c = t->trie[cur].child, prev = -1;
        while (c >= 0 && t->trie[c].cp != cp) { prev = c; c = t->trie[c].sib; }
        if (c < 0) {
            c = trie_node(t, cp);
            if (c < 0) return bh__fail(BH_ENOMEM, "translit: trie");
            if (prev < 0) t->trie[cur].child = c; else t->trie[prev].sib = c;
        }
        cur = c;
    }
    if (t->trie[cur].val < 0) t->trie[cur].val = (int16_t)val;
    return BH_OK;
}

/* Adds a key in its NFC and NFD spellings. */
static bh_status trie_add(bh_translit *t, const char *s, int kind, int id, int nk, int var)
{
    if (t->nkeys >= (int)(sizeof t->keys / sizeof t->keys[0])) return bh__fail(BH_EINTERNAL, "translit: keys");
    int v = t->nkeys++;
    set(&t->keys[v], kind, id, nk, var);
    bh_status st = BH_OK;
    utf8proc_uint8_t *a = utf8proc_NFC((const utf8proc_uint8_t *)s);
    utf8proc_uint8_t *b = utf8proc_NFD((const utf8proc_uint8_t *)s);
    if (!a || !b) st = bh__fail(BH_ENOMEM, "translit: NFC");
    if (!st) st = trie_add1(t, (const char *)a, v);
    if (!st) st = trie_add1(t, (const char *)b, v);
    free(a);
    free(b);
    return st;
}

static int child(const bh_translit *t, int node, uint32_t cp)
{
    if (node == 0) {
        if (cp < 128) return t->root_ascii[cp];
        int h = t->root_hash[cp & 0xFF];
        if (h == -1) return -1;
        if (h >= 0) return t->trie[h].cp == cp ? h : -1;
    }
    int c = t->trie[node].child;
    while (c >= 0 && t->trie[c].cp != cp) c = t->trie[c].sib;
    return c;
}

/* Trie node reached by the (NFC) string s, -1 if none. */
static int32_t node_of(const bh_translit *t, const char *s)
{
    if (!s) return -1;
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    int cur = 0;
    while (p < end && cur >= 0) {
        int n, bad;
        uint32_t cp = dec(p, end, &n, &bad);
        p += n;
        int c = t->trie[cur].child;
        while (c >= 0 && t->trie[c].cp != cp) c = t->trie[c].sib;
        cur = c;
    }
    return cur;
}

static bh_status build_latin(bh_translit *t)
{
    bh_status st;
    if (trie_node(t, 0) < 0) return bh__fail(BH_ENOMEM, "translit: trie");
    for (size_t i = 0; i < sizeof LCONS / sizeof LCONS[0]; i++)
        t->lcons[LCONS[i].id][LCONS[i].nk] = LCONS[i].lat;
    for (int id = 0x15; id <= 0x39; id++) {
        if (!t->lcons[id][0] || t->lcons[id][1]) continue;
        char tmp[16];
        size_t n = strlen(t->lcons[id][0]);
        memcpy(tmp, t->lcons[id][0], n);
        /* U+0331 macron below; la + U+0331 would be ḻ (lla + nukta), so
           la + nukta takes U+0324 diaeresis below. Stored in NFC. */
        memcpy(tmp + n, id == 0x32 ? "\xCC\xA4" : "\xCC\xB1", 3);   /* with its NUL */
        utf8proc_uint8_t *c = utf8proc_NFC((const utf8proc_uint8_t *)tmp);
        if (!c) return bh__fail(BH_ENOMEM, "translit: NFC");
        size_t m = strlen((const char *)c);
        if (m >= sizeof t->lgen[id]) m = sizeof t->lgen[id] - 1;
        memcpy(t->lgen[id], c, m);
        t->lgen[id][m] = 0;
        free(c);
        t->lcons[id][1] = t->lgen[id];
    }
    for (size_t i = 0; i < sizeof LVOW / sizeof LVOW[0]; i++) t->lvowel[LVOW[i].id] = LVOW[i].lat;
    for (int id = 0; id < IDS; id++)
        for (int nk = 0; nk < 2; nk++)
            if (t->lcons[id][nk] && (st = trie_add(t, t->lcons[id][nk], K_CONS, id, nk, 0))) return st;
    for (size_t i = 0; i < sizeof LVOW / sizeof LVOW[0]; i++)
        if ((st = trie_add(t, LVOW[i].lat, K_VOWEL, LVOW[i].id, 0, 0))) return st;
    for (int m = 1; m <= 3; m++)
        if ((st = trie_add(t, LMOD[m], K_MOD, m, 0, 0))) return st;
    if ((st = trie_add(t, L_TIPPI, K_MOD, 2, 0, V_TIPPI))) return st;
    if ((st = trie_add(t, L_AVAG, K_AVAG, 0, 0, 0))) return st;
    /* ICU's spellings, accepted on input */
    if ((st = trie_add(t, "ĕ", K_VOWEL, 0x0D, 0, 0))) return st;
    if ((st = trie_add(t, "ŏ", K_VOWEL, 0x11, 0, 0))) return st;
    if ((st = trie_add(t, "ḵẖ", K_CONS, 0x16, 1, 0))) return st;
    for (int c = 0; c < 128; c++) t->root_ascii[c] = -1;
    for (int c = 0; c < 256; c++) t->root_hash[c] = -1;
    for (int c = t->trie[0].child; c >= 0; c = t->trie[c].sib) {
        uint32_t cp = t->trie[c].cp;
        if (cp < 128) t->root_ascii[cp] = c;
        else t->root_hash[cp & 0xFF] = t->root_hash[cp & 0xFF] == -1 ? c : -2;
    }
    for (int id = 0; id < IDS; id++) {
        t->ncons[id][0] = node_of(t, t->lcons[id][0]);
        t->ncons[id][1] = node_of(t, t->lcons[id][1]);
        t->nvowel[id] = node_of(t, t->lvowel[id]);
        for (int nk = 0; nk < 2; nk++) t->lenc[id][nk] = (uint8_t)(t->lcons[id][nk] ? strlen(t->lcons[id][nk]) : 0);
        t->lenv[id] = (uint8_t)(t->lvowel[id] ? strlen(t->lvowel[id]) : 0);
    }
    for (int m = 0; m < 4; m++) t->nmod[m] = node_of(t, LMOD[m]);
    t->ntippi = node_of(t, L_TIPPI);
    t->navag = node_of(t, L_AVAG);
    return BH_OK;
}

/* Longest key at p, matched on lower-cased code points. Returns the key
 * index or -1; *len gets its length in bytes. */
static int trie_match(const bh_translit *t, const unsigned char *p, const unsigned char *end, size_t *len)
{
    int cur = 0, best = -1;
    const unsigned char *q = p;
    *len = 0;
    while (q < end) {
        int n, bad;
        uint32_t cp = dec(q, end, &n, &bad);
        if (bad) break;
        if (cp >= 'A' && cp <= 'Z') cp += 32;
        else if (cp >= 0xC0 && cp < 0x2000) cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
        int c = child(t, cur, cp);
        if (c < 0) break;
        cur = c;
        q += n;
        if (t->trie[cur].val >= 0) { best = t->trie[cur].val; *len = (size_t)(q - p); }
    }
    return best;
}

/* Whether the Latin string b written right after the token that ended at
 * trie node `node` would be read back as one longer key. */
static int merges(const bh_translit *t, int32_t node, const char *b)
{
    if (node < 0 || t->trie[node].child < 0) return 0;
    const unsigned char *p = (const unsigned char *)b, *end = p + strlen(b);
    while (p < end) {
        int n, bad;
        uint32_t cp = dec(p, end, &n, &bad);
        p += n;
        int c = t->trie[node].child;
        while (c >= 0 && t->trie[c].cp != cp) c = t->trie[c].sib;
        if (c < 0) return 0;
        if (t->trie[c].val >= 0) return 1;
        node = c;
    }
    return 0;
}

/* ---------- handle ---------- */

void bh_translit_options_default(bh_translit_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->from = BH_SCRIPT_AUTO;
    opt->to = BH_SCRIPT_LATN;
}

static const char *const NAMES[] = { "auto", "deva", "beng", "guru", "gujr", "orya",
                                     "taml", "telu", "knda", "mlym", "latn" };

bh_status bh_script_from_name(const char *name, bh_script *out)
{
    if (!name || !out) return bh__fail(BH_EINVAL, "bh_script_from_name: NULL argument");
    for (int i = 0; i <= BH_SCRIPT_LATN; i++) {
        const char *a = name, *b = NAMES[i];
        while (*a && *b && (*a | 32) == *b) { a++; b++; }
        if (!*a && !*b) { *out = (bh_script)i; return BH_OK; }
    }
    return bh__fail(BH_EINVAL, "unknown script '%s' (use deva beng guru gujr orya taml telu knda mlym latn)", name);
}

const char *bh_script_name(bh_script s)
{
    return (unsigned)s <= BH_SCRIPT_LATN ? NAMES[s] : "unknown";
}

bh_status bh_translit_new(const bh_translit_options *opt, bh_translit **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_translit_new: NULL out");
    *out = NULL;
    bh_translit_options o;
    if (opt) o = *opt; else bh_translit_options_default(&o);
    if ((unsigned)o.to > BH_SCRIPT_LATN || o.to == BH_SCRIPT_AUTO || (unsigned)o.from > BH_SCRIPT_LATN)
        return bh__fail(BH_EINVAL, "bh_translit_new: bad source or target script");
    bh_translit *t = calloc(1, sizeof *t);
    if (!t) return bh__fail(BH_ENOMEM, "bh_translit_new: out of memory");
    t->opt = o;
    t->tgt = o.to == BH_SCRIPT_LATN ? -1 : (int)o.to - BH_SCRIPT_DEVA;
    for (int s = 0; s < NSCRIPT; s++) build_src(t, s);
    if (t->tgt >= 0) build_target(t);
    bh_status st = build_latin(t);
    if (st) { bh_translit_free(t); return st; }
    *out = t;
    return BH_OK;
}

void bh_translit_free(bh_translit *t)
{
    if (!t) return;
    free(t->trie);
    free(t);
}

/* ---------- token readers ---------- */

typedef struct rd {
    const bh_translit *t;
    const unsigned char *p, *end;
    int latin;            /* reading ISO 15919 */
    int prev_letter;      /* Latin reader: last token was a letter */
    size_t repairs;
    tok q[8];
    int qh, qn;
} rd;

static tok *push(rd *r)
{
    tok *k = &r->q[(r->qh + r->qn) & 7];
    r->qn++;
    memset(k, 0, sizeof *k);
    return k;
}

/* Script index of a code point the reader converts, else -1. */
static int src_script(const rd *r, uint32_t cp)
{
    if (cp < 0x900 || cp >= 0xD80) return -1;
    int s = (int)((cp - 0x900) >> 7);
    const bh_translit *t = r->t;
    if (r->latin) return -1;
    if (t->opt.from != BH_SCRIPT_AUTO && s != (int)t->opt.from - BH_SCRIPT_DEVA) return -1;
    if (s == t->tgt) return -1;   /* already in the target script: copied */
    return s;
}

/* The unaspirated partner of an aspirated stop (kh -> k), else the id itself:
 * Gurmukhi addak doubles a consonant as its unaspirated form (ੱਖ = kkh). */
static int unaspirated(int id)
{
    switch (id) {
    case 0x16: case 0x18: case 0x1B: case 0x1D: case 0x20: case 0x22: case 0x25:
    case 0x27: case 0x2B: case 0x2D: return id - 1;
    default: return id;
    }
}

static uint32_t peek_cp(const rd *r, const unsigned char *p, int *n)
{
    int bad;
    if (p >= r->end) { *n = 0; return 0xFFFFFFFF; }
    return dec(p, r->end, n, &bad);
}

static void read_indic(rd *r)
{
    const bh_translit *t = r->t;
    int n, bad;
    const unsigned char *p = r->p;
    uint32_t cp = dec(p, r->end, &n, &bad);
    r->repairs += (size_t)bad;
    int s = src_script(r, cp);
    tok *k;
    if (s < 0) {
        k = push(r);
        k->kind = cp == ZWJ || cp == ZWNJ ? K_JOIN : K_RAW;
        k->raw = bad ? FFFD : (const char *)p;
        k->rawlen = (uint8_t)(bad ? 3 : n);
        r->p = p + n;
        return;
    }
    uint32_t base = 0x900 + 0x80u * (uint32_t)s;
    ent e = t->src[s][cp - base];
    const unsigned char *q = p + n;
    int n2, n3;
    uint32_t c2 = peek_cp(r, q, &n2);
    if (e.kind == K_CONS && !e.nk && c2 == base + 0x3C && t->src[s][0x3C].kind == K_NUKTA &&
        t->nukta_of[s][e.id].kind == K_CONS) {
        e = t->nukta_of[s][e.id];
        q += n2;
        c2 = peek_cp(r, q, &n2);
    }
    if (e.kind == K_CONS) {
        uint32_t c3 = peek_cp(r, q + n2, &n3);
        /* dead consonant: C + virama + ZWJ; Bengali also C + ZWJ + virama
           (its ya-phala form র‍্য), elsewhere that order is left as written */
        if ((c2 == base + 0x4D && c3 == ZWJ) ||
            (s == S_BENG && e.id != 0x24 && c2 == ZWJ && c3 == base + 0x4D)) {
            e.kind = K_DEAD;
            q += n2 + n3;
        } else if (s == S_TAML && !e.nk) {
            /* Tamil ² ³ ⁴ after the akshara (க² கா³ க்⁴) restore the stop */
            int sign = c2 >= base && c2 < base + 128 &&
                       (t->src[s][c2 - base].kind == K_SIGN || t->src[s][c2 - base].kind == K_VIRAMA);
            uint32_t sup = sign ? c3 : c2;
            int lvl = sup == 0xB2 ? 2 : sup == 0xB3 ? 3 : sup == 0x2074 ? 4 : 0;
            int id = lvl ? tamil_voiced(e.id, lvl) : 0;
            if (id) {
                k = push(r);
                k->kind = K_CONS; k->id = (uint8_t)id; k->raw = (const char *)p; k->rawlen = (uint8_t)n;
                if (sign) {
                    ent g = t->src[s][c2 - base];
                    k = push(r);
                    k->kind = g.kind; k->id = g.id; k->raw = (const char *)q; k->rawlen = (uint8_t)n2;
                    q += n2;
                }
                int ns;
                peek_cp(r, q, &ns);
                r->p = q + ns;
                return;
            }
        }
    } else if (s == S_TAML && e.kind == K_MOD && e.id == 3 && (c2 == 0xBAA || c2 == 0xB9C)) {
        set(&e, K_CONS, c2 == 0xBAA ? 0x2B : 0x1C, 1, 0);   /* ஃப fa, ஃஜ za */
        q += n2;
    } else if (e.kind == K_ADDAK && c2 >= base && c2 < base + 128 && t->src[s][c2 - base].kind == K_CONS) {
        ent g = t->src[s][c2 - base];
        uint32_t c3 = peek_cp(r, q + n2, &n3);
        if (!g.nk && c3 == base + 0x3C && t->nukta_of[s][g.id].kind == K_CONS) g = t->nukta_of[s][g.id];
        int plain = unaspirated(g.id);
        k = push(r);
        k->kind = K_CONS; k->id = (uint8_t)plain; k->nk = g.nk;
        k->raw = (const char *)p; k->rawlen = (uint8_t)n;
        k = push(r);
        k->kind = K_VIRAMA; k->raw = ""; k->rawlen = 0;
        r->p = q;
        return;
    }
    k = push(r);
    k->kind = e.kind == K_ADDAK || e.kind == K_NUKTA ? K_RAW : e.kind;
    k->id = e.id; k->nk = e.nk; k->var = e.var;
    k->raw = (const char *)p;
    k->rawlen = (uint8_t)(q - p);
    r->p = q;
}

static void read_latin(rd *r)
{
    const bh_translit *t = r->t;
    const unsigned char *p = r->p, *end = r->end;
    for (;;) {
        if (p < end && *p == '\'') {
            size_t l;
            if (r->prev_letter && p + 1 < end && p[1] == '\'') {
                tok *k = push(r);
                k->kind = K_RAW; k->raw = (const char *)p; k->rawlen = 1;
                r->p = p + 2;
                r->prev_letter = 0;
                return;
            }
            if (r->prev_letter && trie_match(t, p + 1, end, &l) >= 0) { p++; continue; }
        }
        break;
    }
    size_t len;
    int v = trie_match(t, p, end, &len);
    if (v < 0) {
        int n, bad;
        uint32_t cp = dec(p, end, &n, &bad);
        r->repairs += (size_t)bad;
        tok *k = push(r);
        k->kind = cp == ZWJ || cp == ZWNJ ? K_JOIN : K_RAW;
        k->raw = bad ? FFFD : (const char *)p;
        k->rawlen = (uint8_t)(bad ? 3 : n);
        r->p = p + n;
        r->prev_letter = 0;
        return;
    }
    ent e = t->keys[v];
    tok *k = push(r);
    k->kind = e.kind; k->id = e.id; k->nk = e.nk; k->var = e.var;
    k->raw = (const char *)p; k->rawlen = (uint8_t)(len > 255 ? 255 : len);
    p += len;
    r->prev_letter = 1;
    if (e.kind == K_CONS) {
        size_t l2;
        int v2 = -1;
        int sep = 0;
        if (p < end && *p == '\'' && !(p + 1 < end && p[1] == '\'') && trie_match(t, p + 1, end, &l2) >= 0) {
            p++;   /* separator: the consonant is bare */
            sep = 1;
        } else {
            v2 = trie_match(t, p, end, &l2);
        }
        if (v2 >= 0 && t->keys[v2].kind == K_VOWEL) {
            if (t->keys[v2].id != 0x05) {
                /* the Latin vowel is what is copied to a target without the sign (Tamil l̥) */
                tok *s = push(r);
                s->kind = K_SIGN; s->id = t->keys[v2].id;
                s->raw = (const char *)p; s->rawlen = (uint8_t)(l2 > 255 ? 255 : l2);
            }
            p += l2;
        } else {
            int n = 0, bad;
            uint32_t c = p < end ? dec(p, end, &n, &bad) : 0;
            if (c == ZWJ) { k->kind = K_DEAD; p += n; }
            else { tok *s = push(r); s->kind = K_VIRAMA; s->var = (uint8_t)sep; s->raw = ""; s->rawlen = 0; }
        }
    }
    r->p = p;
}

/* k-th token ahead (0 = next), or NULL at the end. */
static inline tok *peek(rd *r, int k)
{
    while (r->qn <= k && r->p < r->end) {
        if (r->latin) read_latin(r); else read_indic(r);
    }
    return r->qn > k ? &r->q[(r->qh + k) & 7] : NULL;
}
static inline tok take(rd *r)
{
    tok k = r->q[r->qh];
    r->qh = (r->qh + 1) & 7;
    r->qn--;
    return k;
}

/* ---------- writers ---------- */

static void put_raw(out *o, const tok *k) { put(o, k->raw, k->rawlen); }

/* Gurmukhi tippi after the inherent vowel, ਿ ੁ ੂ, ਅ ਇ; bindi elsewhere. */
static int guru_tippi(int prev_kind, int prev_id)
{
    if (prev_kind == K_CONS) return 1;
    if (prev_kind == K_SIGN) return prev_id == 0x07 || prev_id == 0x09 || prev_id == 0x0A;
    if (prev_kind == K_VOWEL) return prev_id == 0x05 || prev_id == 0x07;
    return 0;
}

static int pairin(int id) { return id == 0x30 || id == 0x39 || id == 0x35 || id == 0x2F; }

/* Length of the run at r->p that the reader would copy unchanged: ASCII
 * (except the apostrophe, which Latin output may double) and letters of
 * scripts that are not converted. Only used with an empty token queue. */
static size_t plain_run(const rd *r)
{
    const unsigned char *p = r->p, *end = r->end;
    while (p < end) {
        if (*p < 0x80) {
            if (*p == '\'' || *p == 0) break;
            p++;
            continue;
        }
        if (*p != 0xE0 || end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) break;
        uint32_t cp = ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
        if (cp < 0x900 || cp >= 0xD80 || src_script(r, cp) >= 0) break;
        if (cp == 0x964 || cp == 0x965) { p += 3; continue; }
        if (r->t->tgt < 0) break;   /* Latin output: other scripts' marks need the reader */
        p += 3;
    }
    return (size_t)(p - r->p);
}

static void write_indic(const bh_translit *t, rd *r, out *o)
{
    int T = t->tgt, latin = r->latin;
    int prev_kind = K_RAW, prev_id = 0, pending_sup = 0;
    tok *pk;
    for (;;) {
        if (!r->qn && !latin) {
            size_t n = plain_run(r);
            if (n) {
                put(o, (const char *)r->p, n);
                r->p += n;
                prev_kind = K_RAW;
            }
        }
        if (!(pk = peek(r, 0)) || o->st) break;
        tok k = take(r);
        switch (k.kind) {
        case K_CONS: {
            const str *c = &t->cons[k.id][k.nk];
            if (!c->n) { put_raw(o, &k); break; }
            tok *n0 = peek(r, 0);
            if (T == S_GURU && n0 && n0->kind == K_VIRAMA) {
                tok *n1 = peek(r, 1);
                int gem = n1 && n1->kind == K_CONS && n1->nk == k.nk &&
                          (n1->id == k.id || unaspirated(n1->id) == k.id) && !n0->var;
                if (gem) { putstr(o, &t->addak); take(r); break; }
                if (!latin && !(n1 && ((n1->kind == K_CONS && pairin(n1->id)) || n1->kind == K_JOIN))) {
                    putstr(o, c); take(r);
                    break;
                }
            }
            putstr(o, c);
            if (T == S_TAML && t->opt.tamil_superscripts && !k.nk && t->supof[k.id]) {
                if (n0 && (n0->kind == K_SIGN || n0->kind == K_VIRAMA)) pending_sup = t->supof[k.id];
                else putstr(o, &t->sup[t->supof[k.id] - 1]);
            }
            break;
        }
        case K_SIGN:
            if (t->sign[k.id].n) putstr(o, &t->sign[k.id]); else put_raw(o, &k);
            break;
        case K_VIRAMA: putstr(o, &t->virama); break;
        case K_VOWEL:
            if (t->vowel[k.id].n) putstr(o, &t->vowel[k.id]); else put_raw(o, &k);
            break;
        case K_MOD:
            if (T == S_GURU) {
                /* Latin m̐ is a written bindi; elsewhere the vowel decides */
                int tip = k.var == V_TIPPI ? 1 : (latin && k.id == 1) ? 0 : guru_tippi(prev_kind, prev_id);
                if (k.id == 3) putstr(o, &t->mod[3]);
                else putstr(o, tip ? &t->tippi : &t->bindi);
            } else if (T == S_TAML && !latin && k.id != 3) {
                tok *n0 = peek(r, 0);
                int nasal = 0x2E;
                if (n0 && n0->kind == K_CONS && !n0->nk) {
                    int id = n0->id;
                    nasal = id <= 0x19 ? 0x19 : id <= 0x1E ? 0x1E : id <= 0x23 ? 0x23 : id <= 0x28 ? 0x28 : 0x2E;
                    if (id > 0x2E) nasal = 0x2E;
                }
                putstr(o, &t->cons[nasal][0]);
                putstr(o, &t->virama);
            } else {
                putstr(o, &t->mod[k.id]);
            }
            break;
        case K_DIGIT: putstr(o, &t->digit[k.id]); break;
        case K_DEAD:
            if (t->dead[k.id][k.nk].n) putstr(o, &t->dead[k.id][k.nk]); else put_raw(o, &k);
            break;
        case K_AVAG: if (t->avag.n) putstr(o, &t->avag); else put_raw(o, &k); break;
        case K_OM: putstr(o, &t->om); break;
        default: put_raw(o, &k); break;
        }
        if (pending_sup && k.kind != K_CONS) {
            putstr(o, &t->sup[pending_sup - 1]);
            pending_sup = 0;
        }
        prev_kind = k.kind;
        prev_id = k.id;
    }
}

static void write_latin(const bh_translit *t, rd *r, out *o)
{
    int have_last = 0;           /* a Latin letter token was written last */
    int32_t lastn = -1;          /* its trie node, for separators */
    int bare = 0;                /* last token is a consonant without vowel */
    int prev_kind = K_RAW, prev_id = 0;
    tok *pk;
    for (;;) {
        if (!r->qn) {
            size_t n = plain_run(r);
            if (n) {
                put(o, (const char *)r->p, n);
                r->p += n;
                have_last = 0; bare = 0; prev_kind = K_RAW;
            }
        }
        if (!(pk = peek(r, 0)) || o->st) break;
        tok k = take(r);
        const char *w = NULL;
        int32_t wn = -1;
        size_t wl = 0;
        switch (k.kind) {
        case K_CONS:
        case K_DEAD: w = t->lcons[k.id][k.nk]; wn = t->ncons[k.id][k.nk]; wl = t->lenc[k.id][k.nk]; break;
        case K_VOWEL: w = t->lvowel[k.id]; wn = t->nvowel[k.id]; wl = t->lenv[k.id]; break;
        case K_MOD: {
            int m = k.id;
            if (k.var == V_ADAK) break;
            if (k.var) {
                int tip = guru_tippi(prev_kind, prev_id);
                m = k.var == V_TIPPI ? (tip ? 2 : -1) : (tip ? 1 : 2);
            }
            if (m < 0) { w = L_TIPPI; wn = t->ntippi; }
            else { w = LMOD[m]; wn = t->nmod[m]; }
            break;
        }
        case K_AVAG: w = L_AVAG; wn = t->navag; break;
        default: break;
        }
        if (!w) {
            if (k.kind == K_DIGIT && t->opt.ascii_digits) {
                char d = (char)('0' + k.id);
                put(o, &d, 1);
            } else if (k.rawlen == 1 && k.raw[0] == '\'' && have_last) {
                put(o, "''", 2);
            } else {
                put_raw(o, &k);
            }
            have_last = 0; bare = 0;
            prev_kind = K_RAW;   /* as the Latin reader will see it */
            continue;
        }
        if (have_last && ((bare && k.kind == K_VOWEL) || merges(t, lastn, w))) put(o, "'", 1);
        put(o, w, wl ? wl : strlen(w));
        have_last = 1; lastn = wn; bare = 0;
        prev_kind = k.kind; prev_id = k.id;
        if (k.kind == K_DEAD) { put(o, "\xE2\x80\x8D", 3); lastn = -1; continue; }
        if (k.kind != K_CONS) continue;
        tok *n0 = peek(r, 0);
        if (n0 && n0->kind == K_SIGN && t->lvowel[n0->id]) {
            put(o, t->lvowel[n0->id], t->lenv[n0->id]);
            lastn = t->nvowel[n0->id];
            prev_kind = K_SIGN; prev_id = n0->id;
            take(r);
        } else if (n0 && n0->kind == K_VIRAMA) {
            /* a written Gurmukhi virama between geminates (ਰ੍ਰ, not addak
               ੱਰ): "r'ra" keeps it apart from the addak's "rra" */
            int guru_gem = n0->rawlen == 3 && !memcmp(n0->raw, "\xE0\xA9\x8D", 3);
            take(r);
            bare = 1;
            prev_kind = K_VIRAMA;
            tok *n1 = peek(r, 0);
            if (guru_gem && n1 && n1->kind == K_CONS && n1->nk == k.nk &&
                (n1->id == k.id || unaspirated(n1->id) == k.id)) {
                put(o, "'", 1);
                have_last = 0;
                bare = 0;
            }
        } else {
            put(o, "a", 1);
            lastn = t->nvowel[0x05];
        }
    }
}

/* Latin to Latin: the text unchanged, but for invalid UTF-8, repaired and
 * counted as on every other path. */
static void copy_repaired(rd *r, out *o)
{
    const unsigned char *p = r->p, *run = p;
    while (p < r->end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n, bad;
        dec(p, r->end, &n, &bad);
        if (bad) {
            put(o, (const char *)run, (size_t)(p - run));
            put(o, FFFD, 3);
            r->repairs++;
            run = p + 1;
        }
        p += n;
    }
    put(o, (const char *)run, (size_t)(p - run));
    r->p = p;
}

bh_status bh_translit_run(const bh_translit *t, const char *text, size_t len,
                          bh_buf *out_, size_t *utf8_repairs)
{
    if (utf8_repairs) *utf8_repairs = 0;
    if (!t || !out_ || (!text && len)) return bh__fail(BH_EINVAL, "bh_translit_run: NULL argument");
    out o = { out_, BH_OK };
    if ((o.st = bh_buf_reserve(out_, len + len / 2 + 16))) return o.st;
    rd r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.p = (const unsigned char *)text;
    r.end = r.p + len;
    r.latin = t->opt.from == BH_SCRIPT_LATN;
    if (t->tgt < 0 && r.latin) {
        copy_repaired(&r, &o);
    } else if (t->tgt < 0) {
        write_latin(t, &r, &o);
    } else {
        write_indic(t, &r, &o);
    }
    if (o.st) return o.st;
    if (out_->data) out_->data[out_->len] = 0;
    if (utf8_repairs) *utf8_repairs = r.repairs;
    return BH_OK;
}
