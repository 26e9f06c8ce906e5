/* bhasha/segment.h — sentence, word, akshara and grapheme segmentation of UTF-8 text.
 *
 * A bh_segmenter holds tables computed once from ICU and utf8proc properties
 * (word-break classes of the BMP, Indic syllabic categories of U+0900..U+0DFF,
 * the abbreviation lists). It is immutable after bh_segmenter_new(), so one
 * handle may be shared by any number of threads.
 *
 * bh_segment() writes the units of one text as byte spans [start, end) into a
 * caller-owned bh_spans, which it clears first and grows with realloc; reusing
 * one bh_spans across calls avoids allocation in steady state. The caller
 * releases it with bh_spans_free().
 *
 * Units:
 *  - BH_SEG_SENTENCE: sentences, trimmed of surrounding white space. They
 *    are found on the word tokens (so they cost one word pass): breaks after
 *    danda U+0964, double danda U+0965, ? ! and . (also ؟ ۔ 。 ！ ？ ‼, and |
 *    typed for a danda after Indic text), with closing quotes and brackets
 *    kept on the sentence they close (।” ends the sentence after the ”). No
 *    break after an abbreviation (ড. লে. ডা. মো. डॉ. श्री. Dr. and initials,
 *    which are word tokens with their period), inside numbers, URLs and
 *    e-mail addresses, after an ellipsis (... …), after a list or
 *    enumeration number (1. ১.), before a lower-case Latin letter, or at a
 *    terminator inside a quotation (“…”, ‘…’, "…"; straight quotes alternate
 *    open/close on a line) that goes on after it; the closing quote of that
 *    quotation stays with the sentence even after a space (। "). Verse
 *    numbers (॥১॥) stay with their verse. A line break always ends a sentence.
 *  - BH_SEG_WORD: tokens; white space, control characters and U+200B (zero
 *    width space) separate tokens and are not tokens. Follows Unicode word-break rules (UAX #29, as ICU's
 *    root word-break iterator) with these Indic/web rules on top: URLs,
 *    e-mail addresses, #hashtags and @mentions are one token; a currency sign
 *    touching a number joins it (৳৫০০, ₹1,200, 100$); a known abbreviation
 *    keeps its period (ড., डॉ.); runs of '-' or '.' are one token (--, ...);
 *    U+2018 (left single quote) never joins words; an emoji sequence (ZWJ
 *    sequences, modifiers, flags) is one token.
 *  - BH_SEG_AKSHARA: orthographic syllables of the nine major Indic scripts
 *    (Bengali-Assamese, Devanagari, Gurmukhi, Gujarati, Oriya, Tamil, Telugu,
 *    Kannada, Malayalam): consonant (+nukta) (+virama (+ZWJ) +consonant ...)
 *    + vowel signs + modifiers; ZWJ/ZWNJ stay with their syllable. Tamil
 *    pulli ends a syllable (except in க்ஷ and ஸ்ரீ). Other text falls back
 *    to grapheme clusters. White space is not a unit.
 *  - BH_SEG_GRAPHEME: extended grapheme clusters as the linked utf8proc
 *    implements them (before Unicode 15.1, a virama does not join two
 *    consonants into one cluster: use BH_SEG_AKSHARA for that); white space
 *    is not a unit.
 *
 * Invalid UTF-8 is never an error: each invalid byte is a unit of its own
 * (kind BH_TOK_OTHER) and is counted in bh_spans.bad_utf8. NUL and other
 * control bytes separate words like white space. */
#ifndef BHASHA_SEGMENT_H
#define BHASHA_SEGMENT_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bh_seg_unit {
    BH_SEG_SENTENCE = 0,
    BH_SEG_WORD = 1,
    BH_SEG_AKSHARA = 2,
    BH_SEG_GRAPHEME = 3
} bh_seg_unit;

/* What a span holds. Word tokens get a kind; sentences, aksharas and
 * graphemes are BH_TOK_OTHER unless they are an invalid byte. */
typedef enum bh_token_kind {
    BH_TOK_OTHER = 0,    /* sentence / akshara / grapheme, or an invalid byte */
    BH_TOK_WORD = 1,     /* letters (any script), possibly with digits, ’ or . inside */
    BH_TOK_NUMBER = 2,   /* digits of any script with separators, optional currency sign */
    BH_TOK_PUNCT = 3,    /* one punctuation mark or symbol, or a run of - or . */
    BH_TOK_URL = 4,
    BH_TOK_EMAIL = 5,
    BH_TOK_HASHTAG = 6,
    BH_TOK_MENTION = 7,
    BH_TOK_EMOJI = 8,
    BH_TOK_ABBREV = 9    /* abbreviation with its period: ড. डॉ. Dr. */
} bh_token_kind;

typedef struct bh_span {
    size_t start;   /* byte offset of the first byte */
    size_t end;     /* byte offset one past the last byte */
    int kind;       /* a bh_token_kind */
} bh_span;

/* Caller-owned, reusable output. Zero-initialize (bh_spans s = {0};) before
 * first use; bh_segment() overwrites v[0..n) and sets bad_utf8. */
typedef struct bh_spans {
    bh_span *v;
    size_t n;
    size_t cap;
    size_t bad_utf8;   /* invalid UTF-8 bytes seen in the last call */
} bh_spans;

typedef struct bh_segmenter bh_segmenter;

/* Builds the tables (a few milliseconds). *out is set to the new handle, or
 * NULL on failure (BH_EINVAL for NULL out, BH_ENOMEM). The handle is
 * read-only afterwards: thread-safe. */
bh_status bh_segmenter_new(bh_segmenter **out);

/* Releases the handle. Accepts NULL. */
void bh_segmenter_free(bh_segmenter *seg);

/* Segments text[0..len) into units of the given kind, written into *out
 * (cleared first). Fails with BH_EINVAL (NULL seg/out, NULL text with
 * len > 0, unknown unit) or BH_ENOMEM; never on the content of the text.
 * Thread-safe for one seg shared by threads, each with its own out. */
bh_status bh_segment(const bh_segmenter *seg, bh_seg_unit unit,
                     const char *text, size_t len, bh_spans *out);

/* Sentences and word tokens of text[0..len) in one pass (the sentences are
 * found on the tokens, so this costs about one word pass). The outputs must
 * be two different bh_spans; both are cleared first and both get bad_utf8.
 * Errors and thread-safety as bh_segment(). */
bh_status bh_segment_sentences_words(const bh_segmenter *seg, const char *text, size_t len,
                                     bh_spans *sentences, bh_spans *words);

/* Name of a unit ("sentence", "word", "akshara", "grapheme"), or NULL. */
const char *bh_seg_unit_name(bh_seg_unit unit);
/* Parses a unit name; BH_EINVAL when unknown. */
bh_status bh_seg_unit_parse(const char *name, bh_seg_unit *unit);
/* Name of a token kind ("word", "number", "punct", "url", ...). Never NULL. */
const char *bh_token_kind_name(int kind);

/* Frees the arrays and zeroes the struct. Accepts NULL. */
void bh_spans_free(bh_spans *spans);

#ifdef __cplusplus
}
#endif
#endif
