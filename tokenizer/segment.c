/* tokenizer/segment.c — sentence, word, akshara and grapheme segmentation.
 *
 * The hot path (words) is a hand-written byte scanner over tables that
 * bh_segmenter_new() fills once from ICU properties: one byte of class per
 * BMP code point (64 KiB) and per code point of U+1F000..U+1FBFF, so the
 * scanner never calls ICU or allocates per character; runs of Indic letters
 * (lead byte E0) take a shorter loop still. Sentences are then found in one
 * pass over the word tokens. The only memory touched besides the text is the
 * caller's bh_spans, grown geometrically.
 * The word rules follow UAX #29 as ICU's root word-break iterator implements
 * it (test_segment.c checks agreement on real text) plus the Indic/web
 * overrides listed in include/bhasha/segment.h. */
#include "bhasha/segment.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <utf8proc.h>

#include "core/error.h"

/* Word-break classes (one byte per code point in the tables). */
enum {
    W_OTHER = 0,  /* punctuation, symbols: a token of their own */
    W_SP,         /* white space and control characters: separators */
    W_LET,        /* letters of any script (UAX #29 ALetter, Hebrew, Katakana, ...) */
    W_NUM,        /* digits of any script */
    W_EXT,        /* Extend, Format, ZWJ: attach to what precedes */
    W_MIDLET,     /* joins letters only: · ... */
    W_MIDNUM,     /* joins digits only: , ; ... */
    W_MIDNUMLET,  /* joins letters or digits: . ’ ' */
    W_ENL,        /* _ and other connector punctuation */
    W_RI,         /* regional indicator (flag halves) */
    W_PICT,       /* extended pictographic (emoji) */
    W_CUR,        /* currency sign */
    W_HASH,       /* # */
    W_BAD         /* an invalid UTF-8 byte (in the table: the surrogates) */
};

/* Akshara classes for U+0900..U+0DFF. */
enum {
    A_OTHER = 0,  /* digits, danda, avagraha, symbols: grapheme rules */
    A_C,          /* consonant (also dead consonants: ৎ, Malayalam chillu) */
    A_V,          /* independent vowel */
    A_H,          /* virama that forms conjuncts */
    A_N,          /* nukta */
    A_M,          /* vowel signs, bindu, visarga, other combining marks */
    A_R           /* preceding repha (Malayalam dot reph) */
};

#if defined(__GNUC__)
#define BH_INLINE inline __attribute__((always_inline))
#else
#define BH_INLINE inline
#endif

#define AK_LO 0x0900
#define AK_HI 0x0E00
#define SMP_LO 0x1F000
#define SMP_HI 0x1FC00
#define ABBR_SLOTS 512
#define QUOTE_LOOKAHEAD 4096

struct bh_segmenter {
    uint8_t wb[0x10000];            /* word class of each BMP code point */
    uint8_t wb_smp[SMP_HI - SMP_LO];/* word class of U+1F000..U+1FBFF */
    uint8_t ak[AK_HI - AK_LO];      /* akshara class */
    struct { const char *s; size_t n; } abbr[ABBR_SLOTS];
};

/* Abbreviations that keep their period (word tokens) and do not end a
 * sentence. Bangla and Hindi titles, ranks, units and the spelled names of
 * Latin letters (initials: এ. কে. ফজলুল হক, ए. पी. जे.), then Latin ones. */
static const char *const abbr_list[] = {
    /* Bangla */
    "ড", "ডা", "ডঃ", "লে", "মো", "মোঃ", "মোহা", "মু", "মি", "সা", "রা", "আ",
    "নং", "খ্রি", "খ্রিঃ", "খ্রী", "পৃ", "পূ", "ইং", "বাং", "সং", "প্রা", "লি", "কো", "অব", "অধ্যা",
    "প্রফে", "শ্রী", "শ্রীম", "কি.মি", "মি.মি", "সে.মি", "গ্রা",
    "এ", "বি", "সি", "ডি", "ই", "এফ", "জি", "এইচ", "আই", "জে", "কে", "এল", "এম", "এন",
    "পি", "কিউ", "এস", "টি", "ইউ", "ভি", "ডব্লিউ", "ডব্লু", "এক্স", "ওয়াই", "জেড",
    /* Hindi */
    "डॉ", "डा", "श्री", "श्रीमती", "सुश्री", "कु", "प्रो", "मो", "मु", "स्व", "पं", "सं", "ले",
    "रु", "नं", "पृ", "ई", "पू", "इं", "प", "उ", "म", "प्र", "हि", "मि", "कि.मी", "से.मी", "ग्रा",
    "ए", "बी", "सी", "डी", "एफ", "जी", "एच", "आई", "जे", "के", "एल", "एम", "एन", "ओ",
    "पी", "क्यू", "आर", "एस", "टी", "यू", "वी", "डब्ल्यू", "एक्स", "वाई", "ज़ेड", "जेड",
    /* Latin */
    "Dr", "Mr", "Mrs", "Ms", "Prof", "St", "Jr", "Sr", "vs", "etc", "e.g", "i.e", "No",
    "Rs", "Tk", "Co", "Ltd", "Inc", "Mt", "Gen", "Col", "Lt", "Capt", "Govt",
    "Dept", "Fig", "fig", "approx", "Vol", "vol", "pp", "Ph.D", "Sh", "Smt",
};

static uint32_t fnv1a(const uint8_t *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

static int abbr_find(const bh_segmenter *g, const uint8_t *s, size_t n)
{
    if (n == 0 || n > 24) return 0;
    uint32_t h = fnv1a(s, n) & (ABBR_SLOTS - 1);
    while (g->abbr[h].s) {
        if (g->abbr[h].n == n && memcmp(g->abbr[h].s, s, n) == 0) return 1;
        h = (h + 1) & (ABBR_SLOTS - 1);
    }
    return 0;
}

static void abbr_add(bh_segmenter *g, const char *w)
{
    size_t n = strlen(w);
    if (abbr_find(g, (const uint8_t *)w, n)) return;
    uint32_t h = fnv1a((const uint8_t *)w, n) & (ABBR_SLOTS - 1);
    while (g->abbr[h].s) h = (h + 1) & (ABBR_SLOTS - 1);
    g->abbr[h].s = w;
    g->abbr[h].n = n;
}

/* Word class of one code point from ICU properties (table building only). */
static uint8_t word_class(UChar32 c)
{
    if (c == '#') return W_HASH;
    if (c == '@') return W_LET;          /* ICU's root rules keep a@b, @name whole */
    if (c == 0x2018) return W_OTHER;     /* left single quote opens quotes, never an apostrophe */
    if (c == ':' || c == 0xFE55 || c == 0xFF1A) return W_OTHER;   /* as ICU: colons never join words */
    if (u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR) return W_SP;
    if (c == 0x200B) return W_SP;        /* zero width space: an invisible word separator */
    int wb = u_getIntPropertyValue(c, UCHAR_WORD_BREAK);
    switch (wb) {
    case U_WB_ALETTER: case U_WB_HEBREW_LETTER: case U_WB_KATAKANA: return W_LET;
    case U_WB_NUMERIC: return W_NUM;
    case U_WB_EXTEND: case U_WB_FORMAT: case U_WB_ZWJ: return W_EXT;
    case U_WB_MIDLETTER: return W_MIDLET;
    case U_WB_MIDNUM: return W_MIDNUM;
    case U_WB_MIDNUMLET: case U_WB_SINGLE_QUOTE: return W_MIDNUMLET;
    case U_WB_EXTENDNUMLET: return W_ENL;
    case U_WB_REGIONAL_INDICATOR: return W_RI;
    case U_WB_CR: case U_WB_LF: case U_WB_NEWLINE: case U_WB_WSEGSPACE: return W_SP;
    default: break;
    }
    if (u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC)) return W_PICT;
    if (u_charType(c) == U_CURRENCY_SYMBOL) return W_CUR;
    /* Scripts ICU breaks with dictionaries (Thai, CJK): letters stay letters here. */
    if (u_isalpha(c)) return W_LET;
    if (u_charType(c) == U_NON_SPACING_MARK || u_charType(c) == U_COMBINING_SPACING_MARK ||
        u_charType(c) == U_ENCLOSING_MARK) return W_EXT;
    return W_OTHER;
}

static uint8_t akshara_class(UChar32 c)
{
    int isc = u_getIntPropertyValue(c, UCHAR_INDIC_SYLLABIC_CATEGORY);
    switch (isc) {
    case U_INSC_CONSONANT: case U_INSC_CONSONANT_DEAD: case U_INSC_CONSONANT_WITH_STACKER:
    case U_INSC_CONSONANT_PLACEHOLDER:
        return A_C;
    case U_INSC_VOWEL_INDEPENDENT: case U_INSC_VOWEL:
        return A_V;
    case U_INSC_VIRAMA: case U_INSC_INVISIBLE_STACKER:
        return A_H;
    case U_INSC_NUKTA:
        return A_N;
    case U_INSC_CONSONANT_PRECEDING_REPHA: case U_INSC_CONSONANT_PREFIXED:
        return A_R;
    default: break;
    }
    int t = u_charType(c);
    if (t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK)
        return A_M;
    return A_OTHER;
}

bh_status bh_segmenter_new(bh_segmenter **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_segmenter_new: NULL out");
    *out = NULL;
    bh_segmenter *g = calloc(1, sizeof *g);
    if (!g) return bh__fail(BH_ENOMEM, "bh_segmenter_new: %zu bytes", sizeof *g);
    for (UChar32 c = 0; c < 0x10000; c++) g->wb[c] = word_class(c);
    for (UChar32 c = 0xD800; c < 0xE000; c++) g->wb[c] = W_BAD;   /* never valid UTF-8 */
    for (UChar32 c = SMP_LO; c < SMP_HI; c++) g->wb_smp[c - SMP_LO] = word_class(c);
    for (UChar32 c = AK_LO; c < AK_HI; c++) g->ak[c - AK_LO] = akshara_class(c);
    for (size_t i = 0; i < sizeof abbr_list / sizeof abbr_list[0]; i++) abbr_add(g, abbr_list[i]);
    *out = g;
    return BH_OK;
}

void bh_segmenter_free(bh_segmenter *seg)
{
    free(seg);
}

void bh_spans_free(bh_spans *spans)
{
    if (!spans) return;
    free(spans->v);
    memset(spans, 0, sizeof *spans);
}

const char *bh_seg_unit_name(bh_seg_unit unit)
{
    switch (unit) {
    case BH_SEG_SENTENCE: return "sentence";
    case BH_SEG_WORD: return "word";
    case BH_SEG_AKSHARA: return "akshara";
    case BH_SEG_GRAPHEME: return "grapheme";
    }
    return NULL;
}

bh_status bh_seg_unit_parse(const char *name, bh_seg_unit *unit)
{
    if (!name || !unit) return bh__fail(BH_EINVAL, "bh_seg_unit_parse: NULL argument");
    for (int u = BH_SEG_SENTENCE; u <= BH_SEG_GRAPHEME; u++)
        if (strcmp(name, bh_seg_unit_name((bh_seg_unit)u)) == 0) {
            *unit = (bh_seg_unit)u;
            return BH_OK;
        }
    return bh__fail(BH_EINVAL, "unknown unit '%s' (sentence, word, akshara, grapheme)", name);
}

const char *bh_token_kind_name(int kind)
{
    static const char *const names[] = {"other", "word", "number", "punct", "url",
                                        "email", "hashtag", "mention", "emoji", "abbrev"};
    if (kind < 0 || kind > BH_TOK_ABBREV) return "other";
    return names[kind];
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes the code point at s[i] (i < n). Returns its length in bytes and
 * stores it in *cp, or returns 1 with *cp = -1 for an invalid byte (overlong
 * forms, surrogates, truncated sequences and stray continuation bytes). */
static BH_INLINE size_t dec(const uint8_t *s, size_t n, size_t i, int32_t *cp)
{
    uint8_t b = s[i];
    if (b < 0x80) { *cp = b; return 1; }
    size_t r = n - i;
    if (b >= 0xC2 && b < 0xE0) {
        if (r >= 2 && (s[i + 1] & 0xC0) == 0x80) {
            *cp = ((int32_t)(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
            return 2;
        }
    } else if (b >= 0xE0 && b < 0xF0) {
        if (r >= 3 && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
            int32_t c = ((int32_t)(b & 0x0F) << 12) | ((int32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
            if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) { *cp = c; return 3; }
        }
    } else if (b >= 0xF0 && b < 0xF5) {
        if (r >= 4 && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80 && (s[i + 3] & 0xC0) == 0x80) {
            int32_t c = ((int32_t)(b & 0x07) << 18) | ((int32_t)(s[i + 1] & 0x3F) << 12) |
                        ((int32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
            if (c >= 0x10000 && c <= 0x10FFFF) { *cp = c; return 4; }
        }
    }
    *cp = -1;
    return 1;
}

static inline int wclass_cp(const bh_segmenter *g, int32_t cp)
{
    if (cp < 0) return W_BAD;
    if (cp < 0x10000) return g->wb[cp];
    if (cp >= SMP_LO && cp < SMP_HI) return g->wb_smp[cp - SMP_LO];
    return word_class(cp);
}

/* Word class of the code point at s[i]; its length goes to *len. */
static BH_INLINE int wclass(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i, size_t *len)
{
    uint8_t b = s[i];
    if (b < 0x80) { *len = 1; return g->wb[b]; }
    /* Fast path for three-byte sequences (all Indic scripts): surrogates are
     * W_BAD in the table, overlong forms (< U+0800) are caught here. */
    if ((b & 0xF0) == 0xE0 && n - i >= 3) {
        uint32_t c1 = s[i + 1], c2 = s[i + 2];
        if ((((c1 << 8) | c2) & 0xC0C0) == 0x8080) {
            uint32_t cp = ((uint32_t)(b & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F);
            if (cp >= 0x800) { *len = 3; return g->wb[cp]; }
        }
    }
    int32_t cp;
    *len = dec(s, n, i, &cp);
    return wclass_cp(g, cp);
}

/* ---- output ---------------------------------------------------------------- */

static bh_status grow(bh_spans *o)
{
    size_t cap = o->cap ? o->cap * 2 : 256;
    if (cap > SIZE_MAX / sizeof(bh_span)) return bh__fail(BH_ENOMEM, "bh_segment: too many spans");
    bh_span *v = realloc(o->v, cap * sizeof *v);
    if (!v) return bh__fail(BH_ENOMEM, "bh_segment: %zu spans", cap);
    o->v = v;
    o->cap = cap;
    return BH_OK;
}

static inline bh_status push(bh_spans *o, size_t a, size_t b, int kind)
{
    if (o->n == o->cap) {
        bh_status st = grow(o);
        if (st) return st;
    }
    bh_span *p = &o->v[o->n++];
    p->start = a;
    p->end = b;
    p->kind = kind;
    return BH_OK;
}

/* ---- words ------------------------------------------------------------------ */

/* A known abbreviation, a single capital Latin letter but I (an initial), or
 * pieces of those joined by periods (U.S, e.g, বি.এন.পি, बी.जे.पी, ई.पू). */
static int is_abbrev(const bh_segmenter *g, const uint8_t *s, size_t a, size_t b)
{
    if (b <= a) return 0;
    if (b - a == 1) return s[a] >= 'A' && s[a] <= 'Z' && s[a] != 'I';   /* not the pronoun */
    if (abbr_find(g, s + a, b - a)) return 1;
    const uint8_t *dot = memchr(s + a, '.', b - a);
    if (!dot) return 0;
    for (size_t p = a; p <= b;) {
        const uint8_t *d = memchr(s + p, '.', b - p);
        size_t q = d ? (size_t)(d - s) : b;
        int letter = q - p == 1 && ((s[p] | 0x20) >= 'a' && (s[p] | 0x20) <= 'z');
        if (q == p || !(letter || abbr_find(g, s + p, q - p))) return 0;
        p = q + 1;
    }
    return 1;
}

static int starts_ci(const uint8_t *s, size_t n, size_t i, const char *p)
{
    size_t k = strlen(p);
    if (n - i < k) return 0;
    for (size_t j = 0; j < k; j++)
        if ((s[i + j] | 0x20) != (uint8_t)p[j]) return 0;
    return 1;
}

/* End of a URL starting at i: up to white space or a quote/danda, then
 * trailing sentence punctuation (and unbalanced brackets) trimmed off. */
static size_t scan_url(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i)
{
    size_t e = i;
    int paren = 0, bracket = 0;
    while (e < n) {
        int32_t cp;
        size_t l = dec(s, n, e, &cp);
        if (cp < 0 || wclass_cp(g, cp) == W_SP) break;
        if (cp == '"' || cp == '<' || cp == '>' || cp == '`' || cp == '{' || cp == '}' ||
            cp == '|' || cp == '\\' || cp == '^' || cp == 0x2018 || cp == 0x2019 ||
            cp == 0x201C || cp == 0x201D || cp == 0xAB || cp == 0xBB || cp == 0x964 || cp == 0x965)
            break;
        e += l;
    }
    for (size_t k = i; k < e; k++) {
        if (s[k] == '(') paren++;
        else if (s[k] == ')') paren--;
        else if (s[k] == '[') bracket++;
        else if (s[k] == ']') bracket--;
    }
    while (e > i) {
        uint8_t c = s[e - 1];
        if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '\'' || c == '*') {
            e--;
        } else if (c == ')' && paren < 0) {
            paren++;
            e--;
        } else if (c == ']' && bracket < 0) {
            bracket++;
            e--;
        } else {
            break;
        }
    }
    return e;
}

static inline int email_local(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static inline int alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* End of an e-mail address starting at i, or 0: local@label.label...tld.
 * The parts are bounded (64 and 255 bytes, as RFC 5321) so that text like
 * a-a-a-a... costs linear time although every token tries a match. */
static size_t scan_email(const uint8_t *s, size_t n, size_t i)
{
    size_t e = i, lim = n - i > 64 ? i + 64 : n;
    while (e < lim && email_local(s[e])) e++;
    if (e == i || e >= n || s[e] != '@') return 0;
    e++;
    n = n - e > 255 ? e + 255 : n;
    size_t last_label = e, labels = 0, end = 0;
    for (;;) {
        size_t a = e;
        while (e < n && (alnum(s[e]) || s[e] == '-')) e++;
        if (e == a) break;
        labels++;
        last_label = a;
        end = e;
        if (e + 1 < n && s[e] == '.' && alnum(s[e + 1])) e++;
        else break;
    }
    if (labels < 2) return 0;
    size_t alpha = 0;
    for (size_t k = last_label; k < end; k++)
        if ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z') alpha++;
    if (end - last_label < 2 || alpha != end - last_label) return 0;
    return end;
}

/* UAX #29 word from s[i] (a letter, digit or connector): letters and digits
 * join, single MidLetter/MidNum/MidNumLet between letters or digits join,
 * Extend/Format attach. Returns the end; *sawlet tells whether any letter. */
#define JOINS ((1u << W_LET) | (1u << W_NUM) | (1u << W_ENL) | (1u << W_EXT))
static size_t scan_word(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i, int *sawlet)
{
    size_t l;
    int last = wclass(g, s, n, i, &l);
    uint32_t seen = 1u << last;   /* classes met, for "any letter?" */
    i += l;
    while (i < n) {
        /* Hot loop: a run of U+0800..U+0FFF (lead byte E0: every Indic script)
         * needs no general decoding; validity is one test on both trail bytes. */
        while (n - i >= 3 && s[i] == 0xE0) {
            uint32_t c1 = (uint32_t)s[i + 1] - 0xA0u, c2 = (uint32_t)s[i + 2] - 0x80u;
            if (((c1 >> 5) | (c2 >> 6)) != 0) break;
            int c = g->wb[0x800 + ((c1 << 6) | c2)];
            uint32_t bit = 1u << c;
            if (!(bit & JOINS)) break;
            seen |= bit;
            last = c == W_EXT ? last : c;
            i += 3;
        }
        if (i >= n) break;
        int c = wclass(g, s, n, i, &l);
        if ((1u << c) & JOINS) {
            /* letters, digits and connectors join; Extend keeps the last class */
            seen |= 1u << c;
            last = c == W_EXT ? last : c;
            i += l;
            continue;
        }
        if (c == W_MIDLET || c == W_MIDNUM || c == W_MIDNUMLET) {
            if (last != W_LET && last != W_NUM) break;
            size_t j = i + l, l2 = 0;
            int c2 = W_SP;
            while (j < n && (c2 = wclass(g, s, n, j, &l2)) == W_EXT) j += l2;
            if (j >= n) break;
            if ((last == W_LET && c2 == W_LET && c != W_MIDNUM) ||
                (last == W_NUM && c2 == W_NUM && c != W_MIDLET)) {
                i = j + l2;
                last = c2;
                continue;
            }
        }
        break;
    }
    *sawlet = (seen >> W_LET) & 1;
    return i;
}

static inline size_t skip_ext(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i)
{
    size_t l;
    while (i < n && wclass(g, s, n, i, &l) == W_EXT) i += l;
    return i;
}

static bh_status seg_words(const bh_segmenter *g, const uint8_t *s, size_t n, bh_spans *o)
{
    size_t i = 0;
    bh_status st;
    while (i < n) {
        size_t l;
        int c = wclass(g, s, n, i, &l);
        if (c == W_SP) { i += l; continue; }
        size_t a = i, e;
        int kind, sawlet = 0;
        switch (c) {
        case W_LET: case W_NUM: case W_ENL:
            e = scan_word(g, s, n, i, &sawlet);
            kind = sawlet ? BH_TOK_WORD : BH_TOK_NUMBER;
            if (e < n && kind == BH_TOK_NUMBER) {
                size_t l2;
                if (wclass(g, s, n, e, &l2) == W_CUR) e = skip_ext(g, s, n, e + l2);
            }
            if (e < n && sawlet) {
                uint8_t nx = s[e];
                if (nx == '.' && is_abbrev(g, s, a, e) && !(e + 1 < n && s[e + 1] == '.')) {
                    e++;
                    kind = BH_TOK_ABBREV;
                } else if (nx == ':' && e + 2 < n && s[e + 1] == '/' && s[e + 2] == '/' &&
                           (starts_ci(s, e, a, "http") || starts_ci(s, e, a, "ftp")) && e - a <= 5) {
                    e = scan_url(g, s, n, a);
                    kind = BH_TOK_URL;
                } else if (alnum(s[a]) && (nx == '@' || nx == '+' || nx == '-' || nx == '%' || nx == '.')) {
                    size_t m = scan_email(s, n, a);
                    if (m > e) { e = m; kind = BH_TOK_EMAIL; }
                }
            }
            if (kind == BH_TOK_WORD && s[a] < 0x80) {   /* web forms start with ASCII */
                if ((s[a] | 0x20) == 'w' && starts_ci(s, n, a, "www.") && e > a + 4) {
                    e = scan_url(g, s, n, a);
                    kind = BH_TOK_URL;
                } else if (s[a] == '@' && e > a + 1) {
                    kind = BH_TOK_MENTION;
                } else if (memchr(s + a, '@', e - a) && scan_email(s, n, a) == e) {
                    kind = BH_TOK_EMAIL;
                }
            }
            break;
        case W_CUR: {
            size_t j = skip_ext(g, s, n, i + l), l2;
            if (j < n && wclass(g, s, n, j, &l2) == W_NUM) {
                e = scan_word(g, s, n, j, &sawlet);
                kind = sawlet ? BH_TOK_WORD : BH_TOK_NUMBER;
            } else {
                e = j;
                kind = BH_TOK_PUNCT;
            }
            break;
        }
        case W_HASH: {
            size_t j = i + 1, l2;
            int c2;
            while (j < n && ((c2 = wclass(g, s, n, j, &l2)) == W_LET || c2 == W_NUM || c2 == W_ENL ||
                             (c2 == W_EXT && j > i + 1)))
                j += l2;
            if (j > i + 1) {
                e = j;
                kind = BH_TOK_HASHTAG;
            } else {
                e = skip_ext(g, s, n, i + 1);
                kind = BH_TOK_PUNCT;
            }
            break;
        }
        case W_PICT: {
            e = i + l;
            for (;;) {
                size_t l2;
                if (e >= n) break;
                int c2 = wclass(g, s, n, e, &l2);
                if (c2 != W_EXT) break;
                int zwj = l2 == 3 && s[e] == 0xE2 && s[e + 1] == 0x80 && s[e + 2] == 0x8D;
                e += l2;
                if (zwj && e < n && wclass(g, s, n, e, &l2) == W_PICT) e += l2;
            }
            kind = BH_TOK_EMOJI;
            break;
        }
        case W_RI: {
            size_t l2;
            e = i + l;
            if (e < n && wclass(g, s, n, e, &l2) == W_RI) e += l2;
            e = skip_ext(g, s, n, e);
            kind = BH_TOK_EMOJI;
            break;
        }
        case W_EXT:
            e = skip_ext(g, s, n, i);
            kind = BH_TOK_OTHER;
            break;
        case W_BAD:
            o->bad_utf8++;
            e = i + 1;
            kind = BH_TOK_OTHER;
            break;
        default:
            e = i + l;
            if (s[i] == '-' || s[i] == '.')
                while (e < n && s[e] == s[i]) e++;
            e = skip_ext(g, s, n, e);
            kind = BH_TOK_PUNCT;
            break;
        }
        if ((st = push(o, a, e, kind))) return st;
        i = e;
    }
    return BH_OK;
}

/* ---- sentences ------------------------------------------------------------- */

/* Sentences are found on the word tokens: terminators, quotes and brackets
 * are punctuation tokens, and the word rules have already kept abbreviations
 * (ড.), numbers (3.5), URLs and e-mail addresses whole, so their periods never
 * reach this level. The cost is one pass over the tokens. */

enum { T_NONE = 0, T_DOT, T_STRONG, T_BAR };

/* Is the token a sentence terminator? . ? ! । ॥ ؟ ۔ 。 ！ ？ ‼, or | (danda typed as a bar) */
static inline int term_kind(const uint8_t *s, const bh_span *t)
{
    if (t->kind != BH_TOK_PUNCT) return T_NONE;
    const uint8_t *p = s + t->start;
    switch (t->end - t->start) {
    case 1:
        if (p[0] == '.') return T_DOT;
        if (p[0] == '?' || p[0] == '!') return T_STRONG;
        if (p[0] == '|') return T_BAR;
        return T_NONE;
    case 2:
        return ((p[0] == 0xD8 && p[1] == 0x9F) || (p[0] == 0xDB && p[1] == 0x94)) ? T_STRONG : T_NONE;
    case 3:
        if (p[0] == 0xE0 && p[1] == 0xA5 && (p[2] == 0xA4 || p[2] == 0xA5)) return T_STRONG;
        if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x82) return T_STRONG;
        if (p[0] == 0xEF && p[1] == 0xBC && (p[2] == 0x81 || p[2] == 0x9F)) return T_STRONG;
        if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xBC) return T_STRONG;
        return T_NONE;
    default:
        return T_NONE;
    }
}

/* Closing quote or bracket token: " ' ) ] } » ’ ” › */
static inline int is_closer(const uint8_t *s, const bh_span *t)
{
    if (t->kind != BH_TOK_PUNCT) return 0;
    const uint8_t *p = s + t->start;
    size_t n = t->end - t->start;
    if (n == 1) return p[0] == '"' || p[0] == '\'' || p[0] == ')' || p[0] == ']' || p[0] == '}';
    if (n == 2) return p[0] == 0xC2 && p[1] == 0xBB;
    if (n == 3) return p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x99 || p[2] == 0x9D || p[2] == 0xBA);
    return 0;
}

enum { Q_NONE = 0, Q_DOUBLE, Q_SINGLE, Q_STRAIGHT, Q_CLOSE_DOUBLE, Q_CLOSE_SINGLE };

static inline int quote_kind(const uint8_t *s, const bh_span *t)
{
    if (t->kind != BH_TOK_PUNCT) return Q_NONE;
    const uint8_t *p = s + t->start;
    size_t n = t->end - t->start;
    if (n == 1) return p[0] == '"' ? Q_STRAIGHT : Q_NONE;
    if (n == 3 && p[0] == 0xE2 && p[1] == 0x80) {
        if (p[2] == 0x9C) return Q_DOUBLE;
        if (p[2] == 0x98) return Q_SINGLE;
        if (p[2] == 0x9D) return Q_CLOSE_DOUBLE;
        if (p[2] == 0x99) return Q_CLOSE_SINGLE;
    }
    return Q_NONE;
}

/* Does the gap s[a..b) between two tokens hold a line break (LF, CR, VT, FF,
 * NEL U+0085, LS U+2028, PS U+2029)? */
static inline int gap_breaks(const uint8_t *s, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++) {
        uint8_t c = s[i];
        if (c == '\n' || c == '\r' || c == 0x0B || c == 0x0C) return 1;
        if (c == 0xC2 && i + 1 < b && s[i + 1] == 0x85) return 1;
        if (c == 0xE2 && i + 2 < b && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) return 1;
    }
    return 0;
}

/* Index of the token that closes the quotation opened by tok[j] (type q), or
 * SIZE_MAX: searched up to a line break, a new opener of the same type or
 * QUOTE_LOOKAHEAD tokens. *stop gets the index where the search gave up. */
static size_t find_closer(const uint8_t *s, const bh_span *tok, size_t nt, size_t j, int q, size_t *stop)
{
    size_t lim = nt - j > QUOTE_LOOKAHEAD ? j + QUOTE_LOOKAHEAD : nt;
    size_t k;
    for (k = j + 1; k < lim; k++) {
        if (gap_breaks(s, tok[k - 1].end, tok[k].start)) break;
        int c = quote_kind(s, &tok[k]);
        if (c == Q_NONE) continue;
        if (q == Q_STRAIGHT && c == Q_STRAIGHT) return k;
        if (q == Q_DOUBLE && c == Q_CLOSE_DOUBLE) return k;
        if (q == Q_SINGLE && c == Q_CLOSE_SINGLE) return k;
        if (c == q) break;
    }
    *stop = k;
    return SIZE_MAX;
}

/* Writes the sentences of text s (tokens tok[0..nt)) into o. o may be the
 * token array itself: sentence m is written once at least m+1 tokens have
 * been read, and nothing behind the reading position is read again. */
static bh_status sentences_from_tokens(const uint8_t *s, const bh_span *tok, size_t nt, bh_spans *o)
{
    size_t m = 0;                   /* sentences written */
    int have = 0;                   /* a sentence is open */
    size_t start = 0, last_end = 0; /* its first byte, the end of its last token */
    size_t ntok = 0;                /* tokens in it so far */
    int first_num = 0;              /* its first token is a short number (list item: 1. ১.) */
    int prev_indic = 0;             /* previous token starts with an Indic letter */
    int prev_num = 0;               /* previous token is a number of one or two digits */
    int straight_odd = 0;           /* an odd number of straight quotes seen on this line */
    size_t q_close = SIZE_MAX;      /* token closing the open quotation */
    size_t noclose[Q_STRAIGHT + 1] = {0, 0, 0, 0};
    bh_status st;

#define EMIT(a, b)                                                        \
    do {                                                                  \
        if (m == o->cap && (st = grow(o))) return st;                     \
        o->v[m].start = (a);                                              \
        o->v[m].end = (b);                                                \
        o->v[m].kind = BH_TOK_OTHER;                                      \
        m++;                                                              \
    } while (0)

    size_t j = 0;
    while (j < nt) {
        bh_span t = tok[j];
        if (have && gap_breaks(s, last_end, t.start)) {
            EMIT(start, last_end);
            have = 0;
            q_close = SIZE_MAX;
            straight_odd = 0;
        }
        if (q_close != SIZE_MAX && j > q_close) q_close = SIZE_MAX;
        if (!have) {
            have = 1;
            start = t.start;
            ntok = 0;
            first_num = t.kind == BH_TOK_NUMBER && t.end - t.start <= 9;
            prev_indic = 0;
            prev_num = 0;
        }
        int tk = term_kind(s, &t);
        if (tk == T_BAR && !prev_indic) tk = T_NONE;
        if (tk != T_NONE) {
            size_t k = j + 1, end = t.end;
            int strong = tk != T_DOT;
            while (k < nt && tok[k].start == end) {
                int tk2 = term_kind(s, &tok[k]);
                if (tk2 == T_NONE || (tk2 == T_BAR && !strong)) break;
                strong |= tk2 != T_DOT;
                end = tok[k].end;
                k++;
            }
            /* verse numbers: ॥১॥ ॥१२॥ stay with their verse */
            if (strong && k + 1 < nt && tok[k].start == end && tok[k].kind == BH_TOK_NUMBER &&
                tok[k + 1].start == tok[k].end && term_kind(s, &tok[k + 1]) == T_STRONG &&
                s[tok[k + 1].start] == 0xE0) {
                end = tok[k + 1].end;
                k += 2;
            }
            int closed = 0;
            while (k < nt && tok[k].start == end && is_closer(s, &tok[k])) {
                if (k == q_close) closed = 1;
                if (quote_kind(s, &tok[k]) == Q_STRAIGHT) straight_odd = 0;
                end = tok[k].end;
                k++;
            }
            /* In text with spaces around every token (। " or ? ”) the closing
             * quote of the open quotation still belongs to this sentence. (An
             * unmatched quote after a space opens the next one instead.) */
            if (k < nt && k == q_close && tok[k].start > end && !gap_breaks(s, end, tok[k].start)) {
                closed = 1;
                if (quote_kind(s, &tok[k]) == Q_STRAIGHT) straight_odd = 0;
                end = tok[k].end;
                k++;
                while (k < nt && tok[k].start == end && is_closer(s, &tok[k])) {
                    end = tok[k].end;
                    k++;
                }
            }
            int brk = 1;
            if (q_close != SIZE_MAX && !closed && q_close >= k) {
                brk = 0;                                         /* the quotation goes on */
            } else if (!strong) {
                if (k < nt && tok[k].start == end) brk = 0;      /* glued to what follows */
                else if (ntok == 1 && first_num) brk = 0;        /* list number: 1. ১. */
                else if (prev_num) brk = 0;                      /* inline enumeration: – 1. স্ব */
                else if (k < nt && !gap_breaks(s, end, tok[k].start) && s[tok[k].start] >= 'a' &&
                         s[tok[k].start] <= 'z') brk = 0;        /* lower case goes on */
            } else if (k == j + 1 && t.end - t.start == 1 && k < nt && tok[k].start == end &&
                       alnum(s[tok[k].start])) {
                brk = 0;                                         /* a?b, x!y */
            }
            if (closed) q_close = SIZE_MAX;
            last_end = end;
            ntok += k - j;
            prev_indic = 0;
            prev_num = 0;
            if (brk) {
                EMIT(start, end);
                have = 0;
            }
            j = k;
            continue;
        }
        if (j == q_close) {
            q_close = SIZE_MAX;
            if (quote_kind(s, &t) == Q_STRAIGHT) straight_odd = 0;
        } else if (q_close == SIZE_MAX) {
            int q = quote_kind(s, &t);
            if (q == Q_STRAIGHT) {
                /* straight quotes alternate: open, close, open ... on a line */
                if (straight_odd) q = Q_NONE;
                straight_odd = !straight_odd;
            }
            if ((q == Q_DOUBLE || q == Q_SINGLE || q == Q_STRAIGHT) && j >= noclose[q]) {
                size_t stop = j;
                q_close = find_closer(s, tok, nt, j, q, &stop);
                if (q_close == SIZE_MAX) noclose[q] = stop;
            }
        }
        uint8_t b0 = s[t.start];
        prev_indic = b0 == 0xE0;
        prev_num = t.kind == BH_TOK_NUMBER && t.end - t.start <= (b0 < 0x80 ? 2u : 6u);
        last_end = t.end;
        ntok++;
        j++;
    }
    if (have) EMIT(start, last_end);
#undef EMIT
    o->n = m;
    return BH_OK;
}

/* Length of the white space / control character at s[i], or 0. */
static inline size_t space_at(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i)
{
    size_t l;
    return wclass(g, s, n, i, &l) == W_SP ? l : 0;
}

/* ---- graphemes and aksharas -------------------------------------------------- */

/* End of the extended grapheme cluster starting at s[i]. */
static size_t grapheme_end(const uint8_t *s, size_t n, size_t i, size_t *bad)
{
    int32_t c1, c2, state = 0;
    size_t l = dec(s, n, i, &c1);
    if (c1 < 0) { (*bad)++; return i + 1; }
    i += l;
    while (i < n) {
        l = dec(s, n, i, &c2);
        if (c2 < 0 || utf8proc_grapheme_break_stateful(c1, c2, &state)) break;
        c1 = c2;
        i += l;
    }
    return i;
}

static bh_status seg_graphemes(const bh_segmenter *g, const uint8_t *s, size_t n, bh_spans *o)
{
    size_t i = 0;
    while (i < n) {
        size_t e = grapheme_end(s, n, i, &o->bad_utf8);
        /* A cluster made only of white space (CR LF included) is not a unit. */
        int blank = 1;
        for (size_t k = i; k < e;) {
            size_t l = space_at(g, s, n, k);
            if (!l) { blank = 0; break; }
            k += l;
        }
        if (!blank) {
            bh_status st = push(o, i, e, BH_TOK_OTHER);
            if (st) return st;
        }
        i = e;
    }
    return BH_OK;
}

/* Akshara class of the code point at s[i] (A_*, or AJ_ZWJ / AJ_ZWNJ for the
 * joiners); -1 outside the Indic blocks. The code point goes to *cpo. */
enum { AJ_ZWJ = 10, AJ_ZWNJ = 11 };
static inline int aclass(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i, size_t *len,
                         int32_t *cpo)
{
    int32_t cp;
    *len = dec(s, n, i, &cp);
    *cpo = cp;
    if (cp >= AK_LO && cp < AK_HI) return g->ak[cp - AK_LO];
    if (cp == 0x200D) return AJ_ZWJ;
    if (cp == 0x200C) return AJ_ZWNJ;
    return -1;
}

/* Consonant at s[i] plus nuktas; returns the end. */
static size_t take_consonant(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i)
{
    size_t l;
    int32_t cp;
    aclass(g, s, n, i, &l, &cp);
    i += l;
    while (i < n && aclass(g, s, n, i, &l, &cp) == A_N) i += l;
    return i;
}

static int tamil_conjunct(const bh_segmenter *g, const uint8_t *s, size_t n, int32_t prev, size_t j)
{
    size_t l;
    int32_t next;
    if (aclass(g, s, n, j, &l, &next) != A_C) return 0;
    if (prev == 0x0B95 && next == 0x0BB7) return 1;                 /* க்ஷ */
    if (prev == 0x0BB8 && next == 0x0BB0 && j + l < n) {            /* ஸ்ரீ */
        int32_t v;
        size_t l2;
        aclass(g, s, n, j + l, &l2, &v);
        return v == 0x0BC0;
    }
    return 0;
}

/* End of the akshara starting at s[i] (an Indic letter or mark). */
static size_t akshara_end(const bh_segmenter *g, const uint8_t *s, size_t n, size_t i, int c)
{
    size_t l;
    int32_t cp;
    if (c == A_R) {
        aclass(g, s, n, i, &l, &cp);
        i += l;
        if (i >= n || aclass(g, s, n, i, &l, &cp) != A_C) return i;
        c = A_C;
    }
    if (c == A_C) {
        int32_t prev;
        aclass(g, s, n, i, &l, &prev);
        i = take_consonant(g, s, n, i);
        while (i < n) {
            int k = aclass(g, s, n, i, &l, &cp);
            if (k == A_H) {
                size_t j = i + l, l2;
                int32_t cp2;
                int k2 = j < n ? aclass(g, s, n, j, &l2, &cp2) : -1;
                if (cp >= 0x0B80 && cp < 0x0C00) {                   /* Tamil pulli */
                    if (k2 == A_C && tamil_conjunct(g, s, n, prev, j)) {
                        prev = cp2;
                        i = take_consonant(g, s, n, j);
                        continue;
                    }
                    i = j;
                    break;
                }
                if (k2 == AJ_ZWJ) {
                    size_t j2 = j + l2, l3;
                    int32_t cp3;
                    if (j2 < n && aclass(g, s, n, j2, &l3, &cp3) == A_C) {
                        prev = cp3;
                        i = take_consonant(g, s, n, j2);
                        continue;
                    }
                    i = j2;                                      /* explicit half form */
                    break;
                }
                if (k2 == AJ_ZWNJ) { i = j + l2; break; }        /* explicit virama */
                if (k2 == A_C) {
                    prev = cp2;
                    i = take_consonant(g, s, n, j);
                    continue;
                }
                i = j;                                           /* word-final virama */
                break;
            }
            if (k == AJ_ZWJ) {                                   /* র‍্য: ra ZWJ virama ya */
                size_t j = i + l, l2, l3;
                int32_t cp2, cp3;
                if (j < n && aclass(g, s, n, j, &l2, &cp2) == A_H && j + l2 < n &&
                    aclass(g, s, n, j + l2, &l3, &cp3) == A_C) {
                    prev = cp3;
                    i = take_consonant(g, s, n, j + l2);
                    continue;
                }
            }
            break;
        }
    } else {
        aclass(g, s, n, i, &l, &cp);
        i += l;
    }
    /* Vowel signs, bindu, visarga, nukta, joiners and other marks. */
    while (i < n) {
        int k = aclass(g, s, n, i, &l, &cp);
        if (k == A_M || k == A_N || k == A_H || k == AJ_ZWJ || k == AJ_ZWNJ) {
            i += l;
            continue;
        }
        if (k < 0 && cp >= 0 && wclass_cp(g, cp) == W_EXT) {   /* Vedic signs, variation selectors */
            i += l;
            continue;
        }
        break;
    }
    return i;
}

static bh_status seg_aksharas(const bh_segmenter *g, const uint8_t *s, size_t n, bh_spans *o)
{
    size_t i = 0;
    while (i < n) {
        size_t l, e;
        int32_t cp;
        int c = aclass(g, s, n, i, &l, &cp);
        if (c == A_C || c == A_V || c == A_R) {
            e = akshara_end(g, s, n, i, c);
        } else if (c == A_M || c == A_N || c == A_H || c == AJ_ZWJ || c == AJ_ZWNJ) {
            e = akshara_end(g, s, n, i, A_M);                    /* marks with no base */
        } else {
            if (space_at(g, s, n, i)) {
                i += space_at(g, s, n, i);
                continue;
            }
            e = grapheme_end(s, n, i, &o->bad_utf8);
        }
        bh_status st = push(o, i, e, BH_TOK_OTHER);
        if (st) return st;
        i = e;
    }
    return BH_OK;
}

/* ---- entry point ---------------------------------------------------------------- */

bh_status bh_segment(const bh_segmenter *seg, bh_seg_unit unit, const char *text, size_t len,
                     bh_spans *out)
{
    if (!seg || !out) return bh__fail(BH_EINVAL, "bh_segment: NULL %s", seg ? "out" : "segmenter");
    if (!text && len) return bh__fail(BH_EINVAL, "bh_segment: NULL text with length %zu", len);
    out->n = 0;
    out->bad_utf8 = 0;
    const uint8_t *s = (const uint8_t *)text;
    switch (unit) {
    case BH_SEG_WORD: return seg_words(seg, s, len, out);
    case BH_SEG_SENTENCE: {
        bh_status st = seg_words(seg, s, len, out);
        if (st) return st;
        return sentences_from_tokens(s, out->v, out->n, out);
    }
    case BH_SEG_AKSHARA: return seg_aksharas(seg, s, len, out);
    case BH_SEG_GRAPHEME: return seg_graphemes(seg, s, len, out);
    }
    return bh__fail(BH_EINVAL, "bh_segment: unknown unit %d", (int)unit);
}

bh_status bh_segment_sentences_words(const bh_segmenter *seg, const char *text, size_t len,
                                     bh_spans *sentences, bh_spans *words)
{
    if (!seg || !sentences || !words || sentences == words)
        return bh__fail(BH_EINVAL, "bh_segment_sentences_words: NULL or shared output");
    if (!text && len)
        return bh__fail(BH_EINVAL, "bh_segment_sentences_words: NULL text with length %zu", len);
    words->n = 0;
    words->bad_utf8 = 0;
    sentences->n = 0;
    const uint8_t *s = (const uint8_t *)text;
    bh_status st = seg_words(seg, s, len, words);
    if (st) return st;
    sentences->bad_utf8 = words->bad_utf8;
    return sentences_from_tokens(s, words->v, words->n, sentences);
}
