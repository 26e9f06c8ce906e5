/* bhasha/normalize.h — Unicode + Indic normalization of UTF-8 text.
 *
 * bh_normalize() maps text to bhasha's canonical form: NFC, except that nukta
 * letters are kept as base + U+093C/U+09BC (see README "Normalization rules"),
 * two-part vowel signs composed, mis-ordered marks fixed, lookalikes mapped,
 * noise joiners dropped, invalid UTF-8 repaired to U+FFFD. A run of more than
 * 30 combining marks or Indic vowel signs (no real text has one) gets a
 * U+034F COMBINING GRAPHEME JOINER after every 30, as Unicode's stream-safe
 * format (UAX #15) does, which keeps the time linear. The result is appended
 * to a caller-owned bh_buf. Pure function: thread-safe. */
#ifndef BHASHA_NORMALIZE_H
#define BHASHA_NORMALIZE_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bh_digits {
    BH_DIGITS_KEEP = 0,   /* leave digits as written */
    BH_DIGITS_ASCII = 1,  /* every Indic digit -> 0-9 */
    BH_DIGITS_NATIVE = 2  /* ASCII digits inside runs of one Indic script -> that script's digits */
} bh_digits;

typedef struct bh_norm_options {
    bh_digits digits;       /* default BH_DIGITS_KEEP */
    int fold_whitespace;    /* 1: runs of white space -> one U+0020, trimmed (default 0) */
    int strip_format;       /* 1: drop control and format characters except meaningful ZWJ/ZWNJ (default 1) */
    int lookalikes;         /* 1: map typed lookalikes (| -> danda, : -> visarga in words, ...) (default 1) */
    int canonical;          /* 1: the canonical form above (default); 0: repair only: the text as
                               given, each byte of invalid UTF-8 replaced by U+FFFD, every other
                               byte kept (NUL included, counted); the options above are ignored */
} bh_norm_options;

typedef struct bh_norm_stats {
    size_t utf8_repairs;    /* invalid byte sequences replaced by U+FFFD */
    size_t nul_bytes;       /* NUL bytes seen (kept only if strip_format is 0) */
} bh_norm_stats;

/* Fills *opt with the defaults above. */
void bh_norm_options_default(bh_norm_options *opt);

/* Normalizes text[0..len) and APPENDS the result to out. opt may be NULL
 * (defaults); stats may be NULL. Invalid UTF-8 is never an error: it is
 * repaired and counted. Fails only on BH_EINVAL (NULL text with len > 0, NULL
 * out) or BH_ENOMEM. Thread-safe. */
bh_status bh_normalize(const char *text, size_t len, const bh_norm_options *opt,
                       bh_buf *out, bh_norm_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
