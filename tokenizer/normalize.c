/* tokenizer/normalize.c — bhasha's canonical form for Indic text.
 *
 * Text is processed in chunks between white space. A chunk whose code points
 * can change under none of the rules (checked with the class table of
 * tokenizer/indic.h and utf8proc's properties) is copied byte for byte: that
 * is the common case and the fast path. Any other chunk takes the slow path:
 *
 *   decode (repair invalid UTF-8 to U+FFFD, drop NUL/control/format characters)
 *   -> NFD (utf8proc) + canonical ordering
 *   -> the Indic rules, on decomposed text, one function each
 *   -> canonical ordering + NFC composition (utf8proc) -> UTF-8.
 *
 * The canonical form is NFC. NFC decomposes the nukta letters that are
 * composition exclusions (Devanagari क़..य़ U+0958-095F, Bengali ড় ঢ় য়
 * U+09DC/09DD/09DF, Gurmukhi and Oriya ones) into base + nukta and composes
 * the three that are not (ऩ ऱ ऴ), so both spellings of every nukta letter end
 * up as one sequence, and that sequence is stable under any later NFC (ICU,
 * SentencePiece, a search engine) — which a precomposed choice would not be. */
#include "bhasha/normalize.h"
#include "core/error.h"
#include "tokenizer/indic.h"
#include "tokenizer/normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define ZWNJ 0x200C
#define ZWJ 0x200D
#define DANDA 0x0964
#define DDANDA 0x0965
#define REPLACEMENT 0xFFFD

/* A chunk (a word) longer than CHUNK_SOFT_MAX bytes is cut at the first
 * boundary past that that no rule looks across (cut_safe()), so that memory
 * stays bounded on a 100 MB line without spaces and the result does not
 * depend on where the cut falls (a second pass, cutting elsewhere, changes
 * nothing). Where no such boundary comes within CHUNK_HARD_MAX bytes (runs of
 * marks, dandas or joiners made to defeat it), the chunk is cut anyway and the
 * end of its result after the last code point that starts a unit (at most
 * CARRY_MAX code points) is normalized again together with the next piece.
 * Every piece of such a word takes the full path. */
#define CHUNK_SOFT_MAX 65536
#define CHUNK_HARD_MAX (2 * CHUNK_SOFT_MAX)
#define CARRY_MAX 256

/* Unicode's stream-safe format (UAX #15): a run of more non-starters than this
 * gets a combining grapheme joiner after every NONSTARTER_MAX of them, so that
 * canonical ordering stays linear. Indic vowel signs and viramas (starters to
 * Unicode) count too, so that a forced cut finds a CGJ to resume at in a run
 * of them (see carry_from()); modifiers, which clean text repeats, neither
 * count nor end a run. No real text has such runs. */
#define NONSTARTER_MAX 30
#define CGJ 0x034F

/* rule_mark_order moves a mark across at most this many marks (real text has
 * one or two), which keeps it linear on runs made to defeat it. */
#define MARK_RUN_MAX 32

typedef struct cpvec {
    int32_t *v;
    size_t n, cap;
} cpvec;

typedef struct norm {
    bh_norm_options o;
    bh_buf *out;
    bh_norm_stats st;
    int32_t ctx;        /* last code point written that is not white space */
    int ctx_script;     /* script of the last Indic letter written, -1 if none (kept for native digits) */
    int first_script;   /* first Indic script in the whole text (for native digits), -1 if none */
    int word_script;    /* native digits: digit_context() of the last letter written in this word, -2 if none */
    int word_cut;       /* the last piece through the full path ended at a cut inside a word */
    int pending_space;  /* fold_whitespace: a space is owed before the next chunk */
    cpvec a, b;         /* scratch for the slow path */
    cpvec carry;        /* normalized code points held back at a forced cut, not yet written */
    int32_t cut_next;   /* the code point after a forced cut */
} norm;

void bh_norm_options_default(bh_norm_options *opt)
{
    if (!opt) return;
    opt->digits = BH_DIGITS_KEEP;
    opt->fold_whitespace = 0;
    opt->strip_format = 1;
    opt->lookalikes = 1;
    opt->canonical = 1;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes one code point at s[0..n). Returns its length, with *cp set, or 0 for
 * an invalid sequence (overlong, surrogate, > U+10FFFF, truncated, stray byte). */
static inline __attribute__((always_inline)) size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = (int32_t)c; return 1; }
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = (int32_t)(((c & 0x1F) << 6) | (s[1] & 0x3F));
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
        *cp = (int32_t)(((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F));
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
        *cp = (int32_t)(((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F));
        return 4;
    }
    return 0;
}

/* ---- character predicates ------------------------------------------------- */

static inline int is_ascii_space(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int is_unicode_space(int32_t cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static inline int is_joiner(int32_t cp) { return cp == ZWJ || cp == ZWNJ; }

/* Format characters that carry meaning and are never stripped: the joiners
 * (handled by their own rule), Arabic-script number signs used in Urdu, and
 * the tag characters of emoji flag sequences. */
static int is_kept_format(int32_t cp)
{
    return is_joiner(cp) || (cp >= 0x0600 && cp <= 0x0605) || cp == 0x06DD || cp == 0x070F || cp == 0x08E2 ||
           cp == 0x110BD || cp == 0x110CD || (cp >= 0xE0020 && cp <= 0xE007F);
}

static int is_stripped(int32_t cp)
{
    if (cp < 0x80) return cp < 0x20 || cp == 0x7F;
    int cat = utf8proc_get_property(cp)->category;
    if (cat == UTF8PROC_CATEGORY_CC) return 1;
    return cat == UTF8PROC_CATEGORY_CF && !is_kept_format(cp);
}

/* Base consonant and nukta of a precomposed nukta letter (NFD, by table). */
static void decompose_nukta_letter(int32_t cp, int32_t d[2])
{
    static const int32_t deva[8] = {0x0915, 0x0916, 0x0917, 0x091C, 0x0921, 0x0922, 0x092B, 0x092F};
    int script = bh__indic_script(cp);
    d[1] = bh__indic_cp(script, 0x3C);
    switch (cp) {
    case 0x09DC: d[0] = 0x09A1; break;
    case 0x09DD: d[0] = 0x09A2; break;
    case 0x09DF: d[0] = 0x09AF; break;
    case 0x0A33: d[0] = 0x0A32; break;
    case 0x0A36: d[0] = 0x0A38; break;
    case 0x0A59: d[0] = 0x0A16; break;
    case 0x0A5A: d[0] = 0x0A17; break;
    case 0x0A5B: d[0] = 0x0A1C; break;
    case 0x0A5E: d[0] = 0x0A2B; break;
    case 0x0B5C: d[0] = 0x0B21; break;
    case 0x0B5D: d[0] = 0x0B22; break;
    default: d[0] = deva[(cp - 0x0958) & 7]; break;
    }
}

/* The code point of a valid 3-byte UTF-8 sequence. */
static inline int32_t utf8_cp3(const unsigned char *s)
{
    return (int32_t)(((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F));
}

/* Consonants that NFC composes with a following nukta (ऩ ऱ ऴ). */
static inline int composes_with_nukta(int32_t cp) { return cp == 0x0928 || cp == 0x0930 || cp == 0x0933; }

static inline int is_base(int cls) { return cls == BH__IC_CONS || cls == BH__IC_NUKTA; }
static inline int is_vsign(int cls) { return cls == BH__IC_VSIGN || cls == BH__IC_PREBASE; }
static inline int is_ascii_alnum(int32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An Indic letter or mark (not digit, punctuation or symbol). */
static inline int is_indic_letter_or_mark(int32_t cp)
{
    int c = bh__indic_class(cp);
    return c != BH__IC_NONE && c != BH__IC_DIGIT && c != BH__IC_PUNCT;
}

/* The letter a digit search stops at (BH_DIGITS_NATIVE): the script of an
 * Indic letter or mark, -1 for a letter of any other script, -2 for anything
 * else (digits, punctuation, the Indic blocks' symbols), which it looks past. */
static int digit_context(int32_t cp)
{
    if (bh__indic_script(cp) >= 0) return is_indic_letter_or_mark(cp) ? bh__indic_script(cp) : -2;
    if (cp < 0x80) return ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') ? -1 : -2;
    int cat = utf8proc_get_property(cp)->category;
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO ? -1 : -2;
}

/* Can a code point outside ASCII and the Indic blocks be dropped or combine
 * with its neighbours? Joiners, control and format characters, Hangul vowel
 * and trailing consonant jamo (composed algorithmically). */
static int other_is_sticky(int32_t cp, const utf8proc_property_t *p)
{
    return is_joiner(cp) || (cp >= 0x1160 && cp <= 0x11FF) || p->category == UTF8PROC_CATEGORY_CC ||
           p->category == UTF8PROC_CATEGORY_CF;
}

/* Does nothing before cp reach into it? It is a starter (also the first code
 * point of its decomposition) that composes with nothing before it, is not
 * dropped, and is no Indic sign, no danda (pairs with the one before) and no
 * typed lookalike (: S | look at their neighbours). */
static int starts_unit(int32_t cp)
{
    if (cp < 0x80) return cp >= 0x20 && cp != 0x7F && cp != ':' && cp != 'S' && cp != '|';
    if (bh__indic_script(cp) >= 0) {
        int c = bh__indic_class(cp);
        return (c <= BH__IC_INDEP || c == BH__IC_DIGIT || c == BH__IC_PUNCT || c == BH__IC_NUKTA_LETTER) &&
               cp != DANDA;
    }
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    if (p->combining_class || (p->comb_index != UINT16_MAX && (p->comb_index & 0x8000)) || other_is_sticky(cp, p))
        return 0;
    if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {
        int32_t d[8];
        int bound = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &bound);
        return m >= 1 && m <= 8 && d[0] != cp && starts_unit(d[0]);
    }
    return 1;
}

/* Is the boundary between code points a and b one that no rule looks across,
 * so that normalizing the text on each side of it separately gives what
 * normalizing it whole gives? b must start a unit; a must not be dropped, be
 * a lookalike or a danda; a pre-base vowel sign or a virama looks ahead to the
 * next consonant. Conservative: it only has to hold often in real text. */
static int cut_safe(int32_t a, int32_t b)
{
    if (!starts_unit(b)) return 0;
    if (a < 0x80) {
        if (a < 0x20 || a == 0x7F || a == ':' || a == 'S' || a == '|') return 0;
    } else if (bh__indic_script(a) >= 0) {
        int ac = bh__indic_class(a), bc = bh__indic_class(b);
        if (a == DANDA) return 0;
        if ((ac == BH__IC_PREBASE || ac == BH__IC_VIRAMA) && (bc == BH__IC_CONS || bc == BH__IC_NUKTA_LETTER)) return 0;
    } else if (other_is_sticky(a, utf8proc_get_property(a))) {
        return 0;
    }
    return 1;
}

/* Is a chunk cut before cp, `at` bytes into it (prev the code point before)?
 * 0: no; 1: at a boundary no rule looks across; 2: a forced cut, which does
 * not put a joiner at either side of it (the joiner rule would drop it for
 * want of a neighbour, see carry_from()). */
static int cut_kind(int32_t prev, int32_t cp, size_t at)
{
    if (at <= CHUNK_SOFT_MAX) return 0;
    if (cut_safe(prev, cp)) return 1;
    if (at > CHUNK_HARD_MAX && ((!is_joiner(prev) && !is_joiner(cp)) || at > 2 * CHUNK_HARD_MAX)) return 2;
    return 0;
}

/* Where a word (a chunk) starting at s[start] and longer than CHUNK_SOFT_MAX
 * bytes is cut: at the first boundary past the soft limit where cut_kind()
 * allows it (its kind goes to *cut, the code point after it to *next), else
 * where the word ends (at white space or len; *cut = 0). */
static __attribute__((noinline, cold)) size_t word_cut(const unsigned char *s, size_t start, size_t len, int *cut,
                                                       int32_t *next)
{
    int32_t prev = ' ', cp;
    size_t i = start;
    *cut = 0;
    while (i < len && !is_ascii_space(s[i])) {
        size_t k = utf8_decode(s + i, len - i, &cp);
        if (!k) {
            k = 1;
            cp = REPLACEMENT;
        } else if (is_unicode_space(cp)) {
            break;
        }
        if (i - start > CHUNK_SOFT_MAX && (*cut = cut_kind(prev, cp, i - start))) {
            *next = cp;
            break;
        }
        prev = cp;
        i += k;
    }
    return i;
}

/* ---- the fast-path test --------------------------------------------------- */

/* Returns 0 when a non-ASCII code point, given its predecessor, is certainly
 * copied unchanged; 2 for a precomposed nukta letter, which the fast path
 * decomposes in place; 1 when the chunk needs the full path. */
static inline __attribute__((always_inline)) int needs_work_indic(int digits, int lookalikes, int32_t cp,
                                                                  int cls, int32_t prev, int pcls)
{
    if (cls <= BH__IC_INDEP || cls == BH__IC_MOD) return 0; /* NONE, CONS, INDEP, MOD */
    if (cls == BH__IC_NUKTA_LETTER) return 2;
    int same = (prev ^ cp) >> 7 == 0; /* same 128-code-point block */
    switch (cls) {
    case BH__IC_VSIGN:
    case BH__IC_PREBASE:
    case BH__IC_VIRAMA: return !(same && is_base(pcls));
    case BH__IC_NUKTA: return !(same && pcls == BH__IC_CONS && !composes_with_nukta(prev));
    case BH__IC_DIGIT: return digits == BH_DIGITS_ASCII;
    case BH__IC_PUNCT: return cp == DANDA && prev == DANDA && lookalikes;
    default: return 1;
    }
}

/* The same test outside the nine Indic blocks (0 or 1), from utf8proc's properties. */
static int needs_work_other(const norm *N, int32_t cp)
{
    if (is_joiner(cp)) return 1;
    if (cp >= 0x1100 && cp <= 0x11FF) return 1; /* Hangul jamo compose algorithmically */
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    if (p->combining_class) return 1;
    if (p->comb_index != UINT16_MAX && (p->comb_index & 0x8000)) return 1; /* composes with its predecessor */
    if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {
        /* Precomposed letters usually survive NFC; composition exclusions and
         * singletons (Å U+212B -> U+00C5) do not. Recompose to find out. */
        if (p->comp_exclusion) return 1;
        int32_t d[8];
        int bound = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &bound);
        if (m < 1 || m > 8) return 1;
        m = utf8proc_normalize_utf32(d, m, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        if (m != 1 || d[0] != cp) return 1;
    }
    if (p->category == UTF8PROC_CATEGORY_CF || p->category == UTF8PROC_CATEGORY_CC) return 1;
    return p->category == UTF8PROC_CATEGORY_ND && N->o.digits == BH_DIGITS_ASCII;
}

/* State of the chunk scan carried through scan_indic_run(). */
typedef struct indic_run {
    int32_t prev; /* previous code point */
    int pcls;     /* its class */
    int script;   /* last Indic script seen (native digits only) */
    int work;     /* the chunk needs the full path */
    int nfix;     /* precomposed nukta letters recorded in fix_at */
} indic_run;

/* The hot loop: a run of code points of the nine Indic blocks, all encoded as
 * E0 A4..B5 xx, from s[i]. Returns where the run ends (after the first code
 * point that needs the full path, if any). */
static inline __attribute__((always_inline)) size_t scan_indic_run(const unsigned char *s, size_t i, size_t len, int digits,
                                                       int lookalikes, indic_run *r, size_t fix_at[8])
{
    int32_t prev = r->prev;
    int pcls = r->pcls, work = 0, nfix = r->nfix, script = r->script;
    while (i + 2 < len && s[i] == 0xE0) {
        unsigned b1 = s[i + 1], b2 = s[i + 2];
        if (b1 - 0xA4u > 0xB5u - 0xA4u || (b2 & 0xC0) != 0x80) break;
        int32_t cp = (int32_t)(((b1 & 0x3F) << 6) | (b2 & 0x3F));
        int cls = bh__indic_class_table[cp - BH__INDIC_FIRST];
        int w = needs_work_indic(digits, lookalikes, cp, cls, prev, pcls);
        if (w == 2 && nfix < 8) {
            /* A precomposed nukta letter in otherwise clean text: decomposed
             * in place when the chunk is copied, no full path. */
            fix_at[nfix++] = i;
            cp = bh__indic_cp(bh__indic_script(cp), 0x3C);
            cls = BH__IC_NUKTA;
        } else if (w) {
            work = 1;
        }
        if (digits == BH_DIGITS_NATIVE && is_indic_letter_or_mark(cp)) script = bh__indic_script(cp);
        prev = cp;
        pcls = cls;
        i += 3;
        if (work) break;
    }
    r->prev = prev;
    r->pcls = pcls;
    r->work = work;
    r->nfix = nfix;
    r->script = script;
    return i;
}

/* ---- scratch vectors ------------------------------------------------------ */

static bh_status cpvec_reserve(cpvec *v, size_t n)
{
    if (n <= v->cap) return BH_OK;
    size_t cap = v->cap ? v->cap : 256;
    while (cap < n) cap *= 2;
    int32_t *p = realloc(v->v, cap * sizeof *p);
    if (!p) return bh__fail(BH_ENOMEM, "bh_normalize: cannot allocate %zu code points", cap);
    v->v = p;
    v->cap = cap;
    return BH_OK;
}

/* Moves v[from] to index `to` (to < from), shifting the ones between right. */
static void cp_move_left(cpvec *v, size_t from, size_t to)
{
    int32_t c = v->v[from];
    memmove(v->v + to + 1, v->v + to, (from - to) * sizeof *v->v);
    v->v[to] = c;
}

/* How cp counts in a run of marks: 1 (non-starter, Indic vowel sign, virama,
 * other Indic mark), 0 (Indic modifier: neither counts nor ends a run), -1
 * (ends a run). */
static int mark_weight(int32_t cp, int ccc)
{
    if (ccc) return 1;
    int c = bh__indic_class(cp);
    if (c == BH__IC_MOD) return 0;
    return c == BH__IC_VSIGN || c == BH__IC_PREBASE || c == BH__IC_VIRAMA || c == BH__IC_OMARK ? 1 : -1;
}

/* Puts a CGJ before every mark that would make a run of more than
 * NONSTARTER_MAX (the stream-safe format), building the result in N->a. */
static bh_status stream_safe(norm *N)
{
    cpvec *a = &N->a, *b = &N->b;
    bh_status st;
    if ((st = cpvec_reserve(a, b->n + b->n / NONSTARTER_MAX + 1))) return st;
    size_t w = 0, run = 0;
    for (size_t i = 0; i < b->n; i++) {
        int m = mark_weight(b->v[i], utf8proc_get_property(b->v[i])->combining_class);
        if (m < 0) {
            run = 0;
        } else if (m && ++run > NONSTARTER_MAX) {
            a->v[w++] = CGJ;
            run = 1;
        }
        a->v[w++] = b->v[i];
    }
    if ((st = cpvec_reserve(b, w))) return st;
    memcpy(b->v, a->v, w * sizeof *b->v);
    b->n = w;
    return BH_OK;
}

/* Does v hold a run of more than NONSTARTER_MAX marks? */
static int has_long_run(const cpvec *v)
{
    size_t run = 0;
    for (size_t i = 0; i < v->n; i++) {
        int32_t c = v->v[i];
        int ci = utf8proc_get_property(c)->combining_class;
        int m = ci || (c >= BH__INDIC_FIRST && c <= BH__INDIC_LAST) ? mark_weight(c, ci) : -1;
        if (m < 0) run = 0;
        else if (m && ++run > NONSTARTER_MAX) return 1;
    }
    return 0;
}

/* Stable sort of every run of non-starters of N->b by combining class
 * (Unicode's canonical ordering algorithm). Runs are short, so insertion sort;
 * runs of marks longer than NONSTARTER_MAX are first broken up by
 * stream_safe() (text of fewer code points has none). */
static bh_status canonical_order(norm *N)
{
    cpvec *v = &N->b;
    if (v->n > NONSTARTER_MAX && has_long_run(v)) {
        bh_status st = stream_safe(N);
        if (st) return st;
    }
    for (size_t i = 1; i < v->n; i++) {
        int ci = utf8proc_get_property(v->v[i])->combining_class;
        if (!ci) continue;
        size_t j = i;
        int32_t c = v->v[i];
        while (j > 0) {
            int cj = utf8proc_get_property(v->v[j - 1])->combining_class;
            if (cj <= ci) break;
            v->v[j] = v->v[j - 1];
            j--;
        }
        v->v[j] = c;
    }
    return BH_OK;
}

/* ---- Indic rules (on NFD text) ------------------------------------------------ */

/* Old encodings of atomic letters: Bengali ta + virama + ZWJ -> khanda ta ৎ
 * (Unicode 4.1); Malayalam consonant + virama + ZWJ -> atomic chillu (5.1). */
static int rule_atomic_letters(cpvec *v)
{
    static const int32_t map[][2] = {
        {0x09A4, 0x09CE},                                     /* ত্‍ -> ৎ */
        {0x0D23, 0x0D7A}, {0x0D28, 0x0D7B}, {0x0D30, 0x0D7C}, /* ണ ന ര */
        {0x0D32, 0x0D7D}, {0x0D33, 0x0D7E}, {0x0D15, 0x0D7F}, /* ല ള ക */
    };
    int changed = 0;
    size_t r = 0;
    while (r + 2 < v->n && v->v[r + 2] != ZWJ) r++;
    size_t w = r; /* removals compact v in one pass */
    while (r < v->n) {
        int32_t c = v->v[r];
        if (r + 2 < v->n && v->v[r + 2] == ZWJ && bh__indic_class(v->v[r + 1]) == BH__IC_VIRAMA &&
            bh__indic_script(v->v[r + 1]) == bh__indic_script(c)) {
            size_t k = 0;
            while (k < sizeof map / sizeof map[0] && map[k][0] != c) k++;
            if (k < sizeof map / sizeof map[0]) {
                v->v[w++] = map[k][1];
                r += 3;
                changed = 1;
                continue;
            }
        }
        v->v[w++] = c;
        r++;
    }
    v->n = w;
    return changed;
}

/* Is v[k] (k may be past the end) of class cls in script? */
static inline int is_at(const cpvec *v, size_t k, int cls, int script)
{
    return k < v->n && bh__indic_class(v->v[k]) == cls && bh__indic_script(v->v[k]) == script;
}

/* A pre-base vowel sign typed before its consonant (visual order, as legacy
 * Bengali keyboards and font converters produce: ে ক া) is moved after the
 * consonant cluster it belongs to (ক ে া, which NFC then composes to কো). */
static int rule_prebase_order(cpvec *v)
{
    int changed = 0;
    for (size_t i = 0; i + 1 < v->n; i++) {
        if (bh__indic_class(v->v[i]) != BH__IC_PREBASE) continue;
        int script = bh__indic_script(v->v[i]);
        if (i > 0) {
            /* A joiner the joiner rule kept sits between a letter and its sign (क‌ि). */
            size_t p = is_joiner(v->v[i - 1]) && i > 1 ? i - 2 : i - 1;
            if (bh__indic_script(v->v[p]) == script && is_indic_letter_or_mark(v->v[p])) continue;
        }
        if (bh__indic_class(v->v[i + 1]) != BH__IC_CONS || bh__indic_script(v->v[i + 1]) != script) continue;
        /* cluster: C N? ( virama joiner? C N? )*, all of the sign's script (a
         * cluster running on into another script would take the sign further
         * on every pass) */
        size_t j = i + 2;
        if (is_at(v, j, BH__IC_NUKTA, script)) j++;
        for (;;) {
            size_t k = j;
            if (is_at(v, k, BH__IC_VIRAMA, script)) k++; else break;
            if (k < v->n && is_joiner(v->v[k])) k++;
            if (is_at(v, k, BH__IC_CONS, script)) k++; else break;
            if (is_at(v, k, BH__IC_NUKTA, script)) k++;
            j = k;
        }
        int32_t sign = v->v[i];
        memmove(v->v + i, v->v + i + 1, (j - i - 1) * sizeof *v->v);
        v->v[j - 1] = sign;
        changed = 1;
        i = j - 1;
    }
    return changed;
}

/* Independent vowels typed as a shorter vowel letter plus a vowel sign, which
 * render alike (Unicode's "do not use" tables, chapter 12). Applied until
 * stable, so अ + ा + ॅ becomes आ + ॅ and then ऑ. */
static int rule_vowel_pieces(cpvec *v)
{
    static const int32_t pieces[][3] = {
        /* Devanagari */
        {0x0905, 0x093E, 0x0906}, {0x0905, 0x0946, 0x0904}, {0x0909, 0x0941, 0x090A}, {0x090F, 0x0945, 0x090D},
        {0x090F, 0x0946, 0x090E}, {0x090F, 0x0947, 0x0910}, {0x0906, 0x0945, 0x0911}, {0x0905, 0x0949, 0x0911},
        {0x0905, 0x094A, 0x0912}, {0x0906, 0x0946, 0x0912}, {0x0905, 0x094B, 0x0913}, {0x0906, 0x0947, 0x0913},
        {0x0905, 0x094C, 0x0914}, {0x0906, 0x0948, 0x0914}, {0x0905, 0x0945, 0x0972}, {0x0905, 0x093A, 0x0973},
        {0x0906, 0x093A, 0x0974}, {0x0905, 0x0956, 0x0976}, {0x0905, 0x0957, 0x0977},
        /* Bengali */
        {0x0985, 0x09BE, 0x0986}, {0x098B, 0x09C3, 0x09E0}, {0x098C, 0x09E2, 0x09E1},
        /* Gurmukhi: the vowel bearers ੳ ਅ ੲ */
        {0x0A05, 0x0A3E, 0x0A06}, {0x0A72, 0x0A3F, 0x0A07}, {0x0A72, 0x0A40, 0x0A08}, {0x0A73, 0x0A41, 0x0A09},
        {0x0A73, 0x0A42, 0x0A0A}, {0x0A72, 0x0A47, 0x0A0F}, {0x0A05, 0x0A48, 0x0A10}, {0x0A73, 0x0A4B, 0x0A13},
        {0x0A05, 0x0A4C, 0x0A14},
        /* Gujarati */
        {0x0A85, 0x0ABE, 0x0A86}, {0x0A85, 0x0AC5, 0x0A8D}, {0x0A85, 0x0AC7, 0x0A8F}, {0x0A85, 0x0AC8, 0x0A90},
        {0x0A85, 0x0AC9, 0x0A91}, {0x0A85, 0x0ACB, 0x0A93}, {0x0A85, 0x0ACC, 0x0A94}, {0x0A86, 0x0AC5, 0x0A91},
        {0x0A86, 0x0AC7, 0x0A93}, {0x0A86, 0x0AC8, 0x0A94},
        /* Oriya */
        {0x0B05, 0x0B3E, 0x0B06}, {0x0B0F, 0x0B57, 0x0B10}, {0x0B13, 0x0B57, 0x0B14},
        /* Telugu */
        {0x0C07, 0x0C55, 0x0C08}, {0x0C09, 0x0C3E, 0x0C0A}, {0x0C12, 0x0C55, 0x0C13}, {0x0C12, 0x0C4C, 0x0C14},
        /* Kannada */
        {0x0C89, 0x0CBE, 0x0C8A}, {0x0C92, 0x0CCC, 0x0C94}, {0x0C8B, 0x0CBE, 0x0CE0},
        /* Malayalam */
        {0x0D07, 0x0D57, 0x0D08}, {0x0D09, 0x0D57, 0x0D0A}, {0x0D0E, 0x0D46, 0x0D10}, {0x0D12, 0x0D3E, 0x0D13},
        {0x0D12, 0x0D57, 0x0D14},
    };
    int changed = 0;
    size_t r = 0;
    while (r < v->n && bh__indic_class(v->v[r]) != BH__IC_INDEP) r++;
    size_t w = r; /* removals compact v in one pass */
    while (r < v->n) {
        int32_t c = v->v[r++];
        if (bh__indic_class(c) == BH__IC_INDEP)
            for (size_t k = 0; r < v->n && k < sizeof pieces / sizeof pieces[0]; k++)
                if (c == pieces[k][0] && v->v[r] == pieces[k][1]) {
                    c = pieces[k][2];
                    r++;
                    changed = 1;
                    k = (size_t)-1; /* the new letter may combine again */
                }
        v->v[w++] = c;
    }
    v->n = w;
    return changed;
}

/* Marks typed in the wrong order after a consonant: a nukta after the vowel
 * sign (क ि ़ -> क ़ ि), and candrabindu/anusvara/visarga before the vowel sign
 * (ক ং া -> ক া ং). */
static int rule_mark_order(cpvec *v)
{
    int changed = 0;
    for (size_t i = 1; i < v->n; i++) {
        int cls = bh__indic_class(v->v[i]);
        int script = bh__indic_script(v->v[i]);
        if (cls == BH__IC_NUKTA) {
            size_t k = i;
            while (k > 0 && i - k < MARK_RUN_MAX && is_vsign(bh__indic_class(v->v[k - 1])) &&
                   bh__indic_script(v->v[k - 1]) == script)
                k--;
            if (k < i && k > 0 && bh__indic_class(v->v[k - 1]) == BH__IC_CONS && bh__indic_script(v->v[k - 1]) == script) {
                cp_move_left(v, i, k);
                changed = 1;
            }
        } else if (is_vsign(cls)) {
            size_t k = i;
            while (k > 0 && i - k < MARK_RUN_MAX && bh__indic_class(v->v[k - 1]) == BH__IC_MOD &&
                   bh__indic_script(v->v[k - 1]) == script)
                k--;
            if (k < i && k > 0 && bh__indic_script(v->v[k - 1]) == script) {
                int pc = bh__indic_class(v->v[k - 1]);
                if (is_base(pc) || is_vsign(pc)) {
                    cp_move_left(v, i, k);
                    changed = 1;
                }
            }
        }
    }
    return changed;
}

/* Is a joiner between prev and next meaningful? In Indic text a joiner matters
 * only next to a virama (half forms, explicit virama, eyelash ra, Bengali
 * র‍্য) or between a consonant and its vowel sign (non-ligated forms); between
 * emoji a ZWJ builds a sequence; between letters of other scripts (Arabic in
 * Urdu, Sinhala) it is kept. Everywhere else it is noise. */
static int joiner_meaningful(int32_t prev, int32_t next)
{
    if (bh__indic_script(prev) >= 0 || bh__indic_script(next) >= 0) {
        int pc = bh__indic_class(prev), nc = bh__indic_class(next);
        return pc == BH__IC_VIRAMA || nc == BH__IC_VIRAMA ||
               (is_base(pc) && is_vsign(nc) && bh__indic_script(prev) == bh__indic_script(next));
    }
    if (prev < 0x80 || next < 0x80) return 0;
    const utf8proc_property_t *p = utf8proc_get_property(prev), *n = utf8proc_get_property(next);
    if (n->boundclass == UTF8PROC_BOUNDCLASS_EXTENDED_PICTOGRAPHIC) return 1;
    int pl = p->category >= UTF8PROC_CATEGORY_LU && p->category <= UTF8PROC_CATEGORY_ME;
    int nl = n->category >= UTF8PROC_CATEGORY_LU && n->category <= UTF8PROC_CATEGORY_ME;
    return pl && nl;
}

static int rule_joiners(cpvec *v)
{
    int changed = 0;
    size_t r = 0;
    while (r < v->n && !is_joiner(v->v[r])) r++;
    size_t w = r; /* removals compact v in one pass: v[w - 1] is the code point before v[r] */
    for (; r < v->n; r++) {
        int32_t c = v->v[r];
        if (is_joiner(c)) {
            int last = r + 1 == v->n, next_joiner = !last && is_joiner(v->v[r + 1]);
            /* After a virama a joiner is kept even at the end of a word (শহীদুল্লাহ্‌). */
            int keep = w > 0 && !next_joiner &&
                       (bh__indic_class(v->v[w - 1]) == BH__IC_VIRAMA ||
                        (!last && joiner_meaningful(v->v[w - 1], v->v[r + 1])));
            if (!keep) {
                changed = 1;
                continue;
            }
        }
        v->v[w++] = c;
    }
    v->n = w;
    return changed;
}

/* Visarga follows a consonant (অতঃপর), a nukta, or the vowel signs it occurs
 * after in real words (দুঃখ, নিঃস্ব, प्रातः); after e/ai/o/au signs and
 * anusvara a colon is a colon missing its space (हैं:शुक्रवार). */
static int visarga_can_follow(int32_t prev)
{
    int cls = bh__indic_class(prev), off = (int)((prev - BH__INDIC_FIRST) & 127);
    if (cls == BH__IC_CONS || cls == BH__IC_NUKTA) return 1;
    return is_vsign(cls) && off != 0x47 && off != 0x48 && off != 0x4B && off != 0x4C;
}

/* Lookalikes typed for Indic signs: | and || for danda and double danda after
 * Indic text, two dandas for a double danda, a colon inside an Indic word for
 * visarga (দু:খ -> দুঃখ), Latin S between Devanagari letters for avagraha
 * (सोSहम् -> सोऽहम्). `ctx` is the code point before v[0]. */
static int rule_lookalikes(cpvec *v, int32_t ctx)
{
    int changed = 0;
    size_t r = 0;
    while (r < v->n && v->v[r] != '|' && v->v[r] != ':' && v->v[r] != 'S') r++;
    size_t w = r; /* removals compact v in one pass: v[w - 1] is the code point before v[r] */
    for (; r < v->n; r++) {
        /* Only the pipe looks past the chunk (a danda is often typed after a space). */
        int32_t c = v->v[r], prev = w ? v->v[w - 1] : 0, next = r + 1 < v->n ? v->v[r + 1] : 0;
        if (c == '|' && bh__indic_script(w ? prev : ctx) >= 0) {
            int dbl = next == '|';
            int32_t after = r + 1 + (size_t)dbl < v->n ? v->v[r + 1 + dbl] : 0;
            if (!is_ascii_alnum(after)) {
                c = dbl ? DDANDA : DANDA;
                r += (size_t)dbl;
                changed = 1;
            }
        } else if (c == ':' && visarga_can_follow(prev)) {
            int s = bh__indic_script(prev), nc = bh__indic_class(next);
            if (bh__indic_script(next) == s && (nc == BH__IC_CONS || nc == BH__IC_INDEP)) {
                c = bh__indic_cp(s, 0x03);
                changed = 1;
            }
        } else if (c == 'S' && bh__indic_script(prev) == BH__DEVA && is_indic_letter_or_mark(prev) &&
                   bh__indic_script(next) == BH__DEVA && is_indic_letter_or_mark(next)) {
            c = 0x093D;
            changed = 1;
        }
        v->v[w++] = c;
    }
    v->n = w;
    /* After the pipes are dandas: two dandas make a double danda. */
    r = 0;
    while (r < v->n && v->v[r] != DANDA) r++;
    for (w = r; r < v->n; r++) {
        if (v->v[r] == DANDA && r + 1 < v->n && v->v[r + 1] == DANDA) {
            v->v[w++] = DDANDA;
            r++;
            changed = 1;
            continue;
        }
        v->v[w++] = v->v[r];
    }
    v->n = w;
    return changed;
}

/* Digit conversion (only when asked): every Indic or Arabic-Indic digit to
 * ASCII, or ASCII digits to the digits of the surrounding Indic script. */
static int rule_digits(norm *N, cpvec *v)
{
    int changed = 0;
    /* Before any letter in this chunk: the word's letters written before it
     * (a long word is normalized in pieces), else the last Indic letter
     * written, else the text's first Indic script. */
    int s = N->word_script != -2 ? N->word_script : N->ctx_script >= 0 ? N->ctx_script : N->first_script;
    for (size_t i = 0; i < v->n; i++) {
        int32_t c = v->v[i];
        if (N->o.digits == BH_DIGITS_ASCII) {
            if (bh__indic_class(c) == BH__IC_DIGIT) {
                v->v[i] = '0' + ((c - BH__INDIC_FIRST) & 127) - 0x66;
                changed = 1;
            } else if ((c >= 0x0660 && c <= 0x0669) || (c >= 0x06F0 && c <= 0x06F9)) {
                v->v[i] = '0' + (c & 15);
                changed = 1;
            }
        } else if (N->o.digits == BH_DIGITS_NATIVE) {
            /* The script of the nearest letter before the digit, in one forward
             * pass: a letter of another script (Windows10) stops the search. */
            if (c >= '0' && c <= '9') {
                if (s >= 0) {
                    v->v[i] = bh__indic_cp(s, 0x66 + (c - '0'));
                    changed = 1;
                }
            } else {
                int d = digit_context(c);
                if (d != -2) s = d;
            }
        }
    }
    return changed;
}

/* ---- chunks ---------------------------------------------------------------- */

static bh_status emit_space_if_owed(norm *N)
{
    if (!N->pending_space) return BH_OK;
    N->pending_space = 0;
    return bh_buf_append(N->out, " ", 1);
}

static void note_written(norm *N, int32_t cp)
{
    N->ctx = cp;
    if (bh__indic_script(cp) >= 0 && is_indic_letter_or_mark(cp)) N->ctx_script = bh__indic_script(cp);
}

/* Where the code points held back at a forced cut begin: at the last code
 * point among the final CARRY_MAX of v that starts a unit, or v->n (nothing
 * held back) when there is none. The code points before it were normalized
 * seeing it and what follows; it and those after it, normalized without what
 * follows, are normalized again with the next piece (they need no left
 * context; what the rules did to them without right context is undone by
 * normalizing again, except dropping a joiner that came last, which the cut
 * avoids). Without such a code point, a weaker choice; without that, the next
 * piece starts without context: the cut keeps joiners, which need it most,
 * away from it. */
static size_t carry_from(const cpvec *v)
{
    size_t low = v->n > CARRY_MAX ? v->n - CARRY_MAX : 1;
    for (size_t k = v->n; k-- > low;)
        if (starts_unit(v->v[k])) return k;
    /* None (a run of Indic modifiers, say): at least keep some context for
     * the next piece, from a code point that no rule takes back to the
     * emitted one before it (a joiner, a lookalike, a pre-base sign would be;
     * a non-starter would be sorted or composed with it). */
    for (size_t k = v->n; k-- > low;) {
        int32_t c = v->v[k];
        const utf8proc_property_t *p = utf8proc_get_property(c);
        if (!p->combining_class && !(p->comb_index != UINT16_MAX && (p->comb_index & 0x8000)) &&
            !is_joiner(c) && !(c >= 0x1160 && c <= 0x11FF) && c != ':' && c != 'S' && c != '|' &&
            bh__indic_class(c) != BH__IC_PREBASE)
            return k;
    }
    return v->n;
}

/* At a forced cut with nothing held back, last is the last code point that
 * goes out: if NFC would sort or compose it with the next piece's first code
 * point (N->cut_next), the next piece starts with a CGJ, which keeps the
 * result NFC. */
static bh_status guard_junction(norm *N, int32_t last)
{
    utf8proc_uint8_t pair[16];
    utf8proc_ssize_t n = utf8proc_encode_char(last, pair);
    n += utf8proc_encode_char(N->cut_next, pair + n);
    pair[n] = 0;
    utf8proc_uint8_t *nfc = utf8proc_NFC(pair);
    if (!nfc) return bh__fail(BH_ENOMEM, "bh_normalize: out of memory");
    int same = !strcmp((const char *)nfc, (const char *)pair);
    free(nfc);
    if (same) return BH_OK;
    bh_status st = cpvec_reserve(&N->carry, 1);
    if (st) return st;
    N->carry.v[0] = CGJ;
    N->carry.n = 1;
    return BH_OK;
}

/* The slow path for one piece s[0..n) of a chunk, after the code points held
 * back from the piece before; cut: the piece ends at a cut (see
 * CHUNK_SOFT_MAX), 2 for a forced one, where the end of the result goes to
 * N->carry instead of the output. Kept out of line: the fast path's loop
 * runs faster without it. */
static __attribute__((noinline)) bh_status normalize_chunk(norm *N, const unsigned char *s, size_t n, int cut)
{
    bh_status st;
    cpvec *a = &N->a, *b = &N->b;
    /* Every piece of a cut word takes this path (see the chunk loop), so the
     * native-digit state of the word before this piece is known. */
    if (!N->word_cut) N->word_script = -2;
    N->word_cut = cut != 0;
    if ((st = cpvec_reserve(a, N->carry.n + n))) return st;
    if (N->carry.n) memcpy(a->v, N->carry.v, N->carry.n * sizeof *a->v);
    a->n = N->carry.n;
    N->carry.n = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = utf8_decode(s + i, n - i, &cp);
        if (!k) {
            cp = REPLACEMENT;
            k = 1;
            N->st.utf8_repairs++;
        }
        i += k;
        if (cp == 0) N->st.nul_bytes++;
        if (N->o.strip_format && is_stripped(cp)) continue;
        a->v[a->n++] = cp;
    }

    /* NFD: a code point decomposes to at most 4 (Hangul 3, others fewer here);
     * utf8proc tells the exact size when the room is short. */
    b->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        if ((st = cpvec_reserve(b, b->n + 8))) return st;
        int bound = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(a->v[i], b->v + b->n, 8, UTF8PROC_DECOMPOSE, &bound);
        if (m < 0 || m > 8) return bh__fail(BH_EINTERNAL, "bh_normalize: decomposition of U+%04X failed", (unsigned)a->v[i]);
        b->n += (size_t)m;
    }
    if ((st = canonical_order(N))) return st;

    /* Joiners first: dropping a noise joiner can bring marks together that
     * the ordering rules then see. */
    /* Each rule can create a pattern another one handles, so the set runs to a
     * fixed point (in practice one or two rounds; bounded for safety). */
    for (int round = 0; round < 8; round++) {
        int changed = rule_joiners(b);
        changed |= rule_atomic_letters(b);
        changed |= rule_prebase_order(b);
        changed |= rule_vowel_pieces(b);
        changed |= rule_mark_order(b);
        if (N->o.digits != BH_DIGITS_KEEP) changed |= rule_digits(N, b);
        if (N->o.lookalikes) changed |= rule_lookalikes(b, N->ctx);
        if (!changed) break;
        if ((st = canonical_order(N))) return st;
    }
    if (b->n) {
        utf8proc_ssize_t m = utf8proc_normalize_utf32(b->v, (utf8proc_ssize_t)b->n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        if (m < 0) return bh__fail(BH_EINTERNAL, "bh_normalize: composition failed");
        b->n = (size_t)m;
    }
    size_t keep = cut == 2 ? carry_from(b) : b->n;
    if (keep < b->n) {
        if ((st = cpvec_reserve(&N->carry, b->n - keep))) return st;
        memcpy(N->carry.v, b->v + keep, (b->n - keep) * sizeof *b->v);
        N->carry.n = b->n - keep;
    } else if (cut == 2 && b->n && (st = guard_junction(N, b->v[b->n - 1]))) {
        return st;
    }
    if (!keep) return BH_OK;

    if ((st = emit_space_if_owed(N))) return st;
    if ((st = bh_buf_reserve(N->out, keep * 4))) return st;
    unsigned char *o = (unsigned char *)N->out->data + N->out->len;
    for (size_t i = 0; i < keep; i++) {
        o += utf8proc_encode_char(b->v[i], o);
        note_written(N, b->v[i]);
    }
    if (N->o.digits == BH_DIGITS_NATIVE)
        for (size_t i = 0; i < keep; i++) {
            int d = digit_context(b->v[i]);
            if (d != -2) N->word_script = d;
        }
    N->out->len = (size_t)((char *)o - N->out->data);
    N->out->data[N->out->len] = 0;
    return BH_OK;
}

/* The first Indic script in the text, for native digits before any Indic letter. */
static int first_indic_script(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = utf8_decode(s + i, n - i, &cp);
        if (!k) { i++; continue; }
        if (bh__indic_script(cp) >= 0 && is_indic_letter_or_mark(cp)) return bh__indic_script(cp);
        i += k;
    }
    return -1;
}

/* Copies a run of white space s[0..n) (fold_whitespace off). Vertical tab,
 * form feed and carriage return become spaces when format stripping is on;
 * U+2000 and U+2001 become U+2002 and U+2003, as NFC has it (canonical
 * singletons). */
static bh_status copy_space(norm *N, const unsigned char *s, size_t n)
{
    size_t start = N->out->len;
    bh_status st = bh_buf_append(N->out, s, n);
    if (st) return st;
    unsigned char *o = (unsigned char *)N->out->data;
    for (size_t i = start; i < N->out->len; i++) {
        unsigned c = o[i];
        if ((c == '\v' || c == '\f' || c == '\r') && N->o.strip_format) o[i] = ' ';
        /* the run holds only white space: E2 80 80/81 is U+2000/U+2001 */
        if (c == 0xE2 && i + 2 < N->out->len && o[i + 1] == 0x80 && (o[i + 2] == 0x80 || o[i + 2] == 0x81)) o[i + 2] += 2;
    }
    return BH_OK;
}

bh_status bh_normalize(const char *text, size_t len, const bh_norm_options *opt, bh_buf *out,
                       bh_norm_stats *stats)
{
    return bh__normalize_ex(text, len, opt, out, stats, 0);
}

/* canonical = 0: valid UTF-8 is copied in runs, each invalid byte becomes U+FFFD. */
static bh_status repair_only(const unsigned char *s, size_t len, bh_buf *out, bh_norm_stats *stats)
{
    bh_norm_stats ns = {0};
    if (bh_buf_reserve(out, len)) return BH_ENOMEM;
    if (stats) *stats = ns;
    if (!len) return BH_OK; /* text may be NULL */
    size_t i = 0, pend = 0;
    while (i < len) {
        int32_t cp;
        size_t k = utf8_decode(s + i, len - i, &cp);
        if (k) {
            ns.nul_bytes += cp == 0;
            i += k;
            continue;
        }
        if (bh_buf_append(out, s + pend, i - pend) || bh_buf_append(out, "\xEF\xBF\xBD", 3)) return BH_ENOMEM;
        ns.utf8_repairs++;
        pend = ++i;
    }
    if (bh_buf_append(out, s + pend, len - pend)) return BH_ENOMEM;
    if (stats) *stats = ns;
    return BH_OK;
}

bh_status bh__normalize_ex(const char *text, size_t len, const bh_norm_options *opt, bh_buf *out,
                           bh_norm_stats *stats, int force_slow)
{
    if (!out || (!text && len)) return bh__fail(BH_EINVAL, "bh_normalize: NULL argument");
    norm N;
    memset(&N, 0, sizeof N);
    if (opt) N.o = *opt; else bh_norm_options_default(&N.o);
    if (N.o.digits < BH_DIGITS_KEEP || N.o.digits > BH_DIGITS_NATIVE)
        return bh__fail(BH_EINVAL, "bh_normalize: unknown digit mode %d", (int)N.o.digits);
    if (!N.o.canonical) return repair_only((const unsigned char *)text, len, out, stats);
    N.out = out;
    N.ctx_script = -1;
    N.word_script = -2;
    N.first_script = N.o.digits == BH_DIGITS_NATIVE ? first_indic_script((const unsigned char *)text, len) : -1;
    if (bh_buf_reserve(out, len)) return BH_ENOMEM;

    const unsigned char *s = (const unsigned char *)text;
    const int digits = N.o.digits, lookalikes = N.o.lookalikes; /* locals: the hot loop keeps them in registers */
    bh_status st = BH_OK;
    /* Bytes s[pend..) that are already known to be canonical wait here and go
     * out in one copy, so clean text costs one memcpy per slow chunk, not one
     * call per word. */
    size_t i = 0, pend = 0, base_len = out->len;
    int slow_next = force_slow; /* the next piece takes the full path */
#define FLUSH(upto)                                                                \
    do {                                                                           \
        if ((upto) > pend) {                                                       \
            if ((st = emit_space_if_owed(&N))) goto done;                          \
            if ((st = bh_buf_append(out, s + pend, (upto) - pend))) goto done;     \
        }                                                                          \
    } while (0)
    while (i < len) {
        /* A run of white space: part of the pending copy unless it must change. */
        size_t ws = i;
        int ws_change = 0;
        for (;;) {
            if (i < len && is_ascii_space(s[i])) {
                ws_change |= s[i] == '\v' || s[i] == '\f' || s[i] == '\r';
                i++;
                continue;
            }
            /* Unicode spaces start with C2, E1, E2 or E3: skip the decoding otherwise. */
            int32_t cp;
            unsigned lead = i < len ? s[i] : 0;
            size_t k = lead == 0xC2 || (lead >= 0xE1 && lead <= 0xE3) ? utf8_decode(s + i, len - i, &cp) : 0;
            if (k > 1 && is_unicode_space(cp)) {
                ws_change |= (cp == 0x2000 || cp == 0x2001) << 1; /* NFC maps them to U+2002, U+2003 */
                i += k;
                continue;
            }
            break;
        }
        if (i > ws && N.o.fold_whitespace) {
            FLUSH(ws);
            N.pending_space = out->len > base_len;
            pend = i;
        } else if (i > ws && ((ws_change & 2) || (ws_change && N.o.strip_format))) {
            FLUSH(ws);
            if ((st = copy_space(&N, s + ws, i - ws))) goto done;
            pend = i;
        }
        if (i >= len) break;

        /* A chunk: up to the next white space, or cut when long (see CHUNK_SOFT_MAX). */
        size_t start = i, fix_at[8];
        int work = slow_next, nfix = 0, script = N.ctx_script, cut;
        int32_t prev = ' ', cp = 0; /* marks at a chunk's start are not attached to anything */
        int pcls = BH__IC_NONE;     /* class of prev */
        while (i < len) {
            if (!work && i + 2 < len && s[i] == 0xE0) {
                indic_run r = {prev, pcls, script, work, nfix};
                i = scan_indic_run(s, i, len, digits, lookalikes, &r, fix_at);
                prev = r.prev;
                pcls = r.pcls;
                script = r.script;
                work = r.work;
                nfix = r.nfix;
            }
            if (i >= len) break;
            unsigned c = s[i];
            size_t k = 1;
            if (c < 0x80) {
                if (is_ascii_space(c)) break;
                cp = (int32_t)c;
                if (c < 0x20 || c == 0x7F) work = 1;
                else if (c == '|') work |= bh__indic_script(i == start ? N.ctx : prev) >= 0;
                else if (c == ':') work |= is_indic_letter_or_mark(prev);
                else if (c == 'S') work |= bh__indic_script(prev) == BH__DEVA;
                else if (c >= '0' && c <= '9') work |= N.o.digits == BH_DIGITS_NATIVE;
            } else {
                k = utf8_decode(s + i, len - i, &cp);
                if (!k) {
                    work = 1;
                    k = 1;
                    cp = REPLACEMENT;
                } else if (cp >= BH__INDIC_FIRST && cp <= BH__INDIC_LAST) {
                    /* reached only when the chunk already takes the full path */
                    work = 1;
                } else {
                    if (is_unicode_space(cp)) break;
                    if (!work) work = needs_work_other(&N, cp);
                }
            }
            prev = cp;
            pcls = BH__IC_NONE;
            i += k;
            if (__builtin_expect(i - start > CHUNK_SOFT_MAX, 0)) break;
        }
        if (__builtin_expect(i - start > CHUNK_SOFT_MAX, 0)) {
            /* A long word: every piece of it takes the full path (held-back
             * code points and, with native digits, N.word_script need the
             * piece before; and a piece is not scanned up to the end of a
             * long run again and again). */
            i = word_cut(s, start, len, &cut, &N.cut_next);
            work = 1;
            slow_next = force_slow || cut;
        } else {
            cut = 0;
            slow_next = force_slow;
        }
        if (work) {
            FLUSH(start);
            if ((st = normalize_chunk(&N, s + start, i - start, cut))) goto done;
            pend = i;
        } else {
            for (int f = 0; f < nfix; f++) {
                int32_t d[2];
                FLUSH(fix_at[f]);
                decompose_nukta_letter(utf8_cp3(s + fix_at[f]), d);
                unsigned char e[8];
                size_t el = (size_t)utf8proc_encode_char(d[0], e);
                el += (size_t)utf8proc_encode_char(d[1], e + el);
                if ((st = emit_space_if_owed(&N)) || (st = bh_buf_append(out, e, el))) goto done;
                pend = fix_at[f] + 3;
            }
            N.ctx = prev;
            N.ctx_script = script;
        }
    }
    FLUSH(len);
#undef FLUSH
done:
    free(N.a.v);
    free(N.b.v);
    free(N.carry.v);
    if (stats) *stats = N.st;
    return st;
}
