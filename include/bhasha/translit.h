/* bhasha/translit.h — conversion between the nine Brahmi-derived Indic scripts
 * and to/from Latin (ISO 15919).
 *
 * A bh_translit handle holds the precomputed tables for ONE target script
 * (and the source filter); it is immutable after bh_translit_new(), so any
 * number of threads may call bh_translit_run() on the same handle at once.
 * Output is APPENDED to a caller-owned bh_buf.
 *
 * Script to script: the nine scripts (Devanagari, Bengali-Assamese, Gurmukhi,
 * Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam) share one Unicode layout
 * (offset from the block start); bhasha maps through that layout and handles
 * the places where the scripts differ:
 *  - nukta letters are accepted precomposed (U+0958, U+09DF, ...) or as
 *    base + nukta and are written in NFC, which is bhasha's normalized form:
 *    base + nukta for the letters NFC decomposes (क़ = U+0915 U+093C, য় =
 *    U+09AF U+09BC, ਸ਼ = U+0A38 U+0A3C), precomposed ऩ ऱ ऴ. Dravidian ṉa ṟa
 *    ḻa (Tamil ன ற ழ, Malayalam ഩ റ ഴ, Kannada ಱ ೞ, ...) correspond to
 *    Devanagari ऩ ऱ ऴ (na/ra/lla + nukta); a script without nukta drops it
 *    (ज़ -> ജ);
 *  - Tamil has no aspirated or voiced stops: they become the plain letter of
 *    the same place (ख ग घ -> க), fa/za become ஃப/ஃஜ, anusvara before a
 *    consonant becomes the nasal of that consonant's class + pulli (else ம்),
 *    candrabindu ம், visarga ஃ. With tamil_superscripts the lost feature is
 *    kept as a superscript ² ³ ⁴ after the akshara (ख -> க², ग -> க³, घ -> க⁴);
 *    such superscripts in Tamil input are always read back (பா⁴ -> भा, "bhā");
 *  - Bengali has no separate va: व -> ব (Bangla); with `assamese` set, र -> ৰ
 *    and व -> ৱ (Assamese);
 *  - Gurmukhi: a geminate C+virama+C (also C+virama+aspirate of C) becomes
 *    addak ੱ; anusvara/candrabindu become tippi ੰ (after the inherent vowel,
 *    ਿ ੁ ੂ, ਅ ਇ) or bindi ਂ (elsewhere); a virama before anything but the
 *    subjoined ਰ ਹ ਵ ਯ, or at the end of a word, is dropped as Gurmukhi
 *    writes those clusters without one; ष -> ਸ਼, ऋ -> ਰਿ; ड़ -> ੜ;
 *  - Malayalam chillus ൺ ൻ ർ ൽ ൾ ൿ and Bengali khanda ta ৎ are dead
 *    consonants: consonant + virama + ZWJ in other scripts, and back (the
 *    old encodings ന്‍ / ত্‍ read the same way); Bengali writes other dead
 *    consonants as C + ZWJ + virama (র‍্য, as in র‍্যাব); outside Bengali
 *    C + ZWJ + virama is left as written. Bengali C + virama + ZWJ (other
 *    than ত, which normalizes to ৎ) comes back from Latin as C + ZWJ +
 *    virama;
 *  - a character with no counterpart in the target (Gurmukhi ੴ, Bengali
 *    currency and fraction signs, Vedic marks, vocalic l in Tamil, ...) is
 *    copied unchanged. Danda/double danda (shared by all scripts) and all
 *    non-Indic text are copied unchanged.
 *
 * Latin (ISO 15919): every consonant is written with its inherent "a" unless a
 * virama or vowel sign follows (no schwa deletion: this is transliteration, so
 * that script -> Latin -> script is lossless on normalized text). Where bhasha
 * differs from ICU's Any-Latin / Latin-InterIndic transliterators and why:
 *  - ICU drops Gurmukhi tippi and addak (ਪੰਜਾਬੀ -> "pajābī"); we write ṁ and
 *    gemination ("paṁjābī", ਮੱਖਣ -> "makkhaṇa"). Where a Gurmukhi text uses
 *    tippi or bindi against the rule above, tippi is "ṃ" and bindi "m̐" so the
 *    round trip keeps it;
 *  - ICU writes both Bengali র and Assamese ৰ as "r" and ব as "b" (as do we),
 *    but ৱ also as "r"; we write ৱ (and Oriya ୱ) as "w". Latin "r" goes back
 *    to র, or to ৰ with `assamese`: a line that mixes র and ৰ (typos in
 *    either language) does not round-trip;
 *  - ICU leaves Malayalam chillus untouched; we write chillus (and ৎ, and a
 *    Devanagari half form C + virama + ZWJ) as the consonant + ZWJ
 *    (invisible), which maps back exactly. Telugu ౘ ౙ ౚ, Malayalam ഺ and
 *    the archaic chillus ൔ ൕ ൖ have no ISO 15919 letter and are copied;
 *  - ISO 15919 keeps short e/o (Dravidian எ ఒ: "e" "o") apart from long
 *    (ए ஏ: "ē", ओ: "ō"), as ICU does; Latin "e" "o" become ए ओ in scripts
 *    without the short vowels (Bengali, Gujarati, Gurmukhi, Oriya);
 *  - ISO 15919 "ê" "ô" for candra e/o (ICU: "ĕ" "ŏ", accepted on input);
 *  - ICU turns native digits into ASCII and danda into "."; we keep both by
 *    default (lossless; ascii_digits=1 converts digits);
 *  - ICU writes ॐ as "'om"; we copy ॐ/ௐ/ૐ unchanged;
 *  - anusvara is always "ṁ"; ICU writes the nasal of the next consonant
 *    (संयुक्त "sanyukta", क्योंकि "kyōṅki"), which cannot be told from a
 *    written न्/ङ् on the way back;
 *  - separator "'" only where two letters would otherwise read as one: कइ
 *    "ka'i", क्ह "k'ha", क्इ "k'i"; ICU also writes it where nothing merges
 *    (लिए "li'ē", अन्य "an'ya", हिस्सा "his'sā"). A literal apostrophe right
 *    after a letter is doubled ("''");
 *  - nukta letters: q ġ z ṛ ṛh f ẏ as ICU, ख़ "k͟h" as ISO (ICU's "ḵẖ" is
 *    accepted); any other consonant + nukta is the consonant + U+0331
 *    (macron below, as ISO's ṉ ṟ ḻ; ल़ takes U+0324 since l + U+0331 is ḻ).
 *    Tamil ஃப/ஃஜ are "f"/"z";
 *  - Gurmukhi addak is the doubled consonant (ੱਖ "kkh"); a written ਰ੍ਰ is
 *    "r'ra" so that it comes back as written;
 *  - avagraha is U+0315 (as ICU).
 * Latin input is matched case-insensitively in NFC or NFD. Latin letters
 * already present in script text are NOT protected: romanizing a line that
 * mixes English and Hindi and converting back also converts the English.
 * Latin -> script is the exact inverse of script -> Latin: it keeps viramas
 * (no Gurmukhi cluster simplification, Tamil ṁ -> ஂ), except that Gurmukhi
 * geminates still become addak and tippi/bindi follow the rule above. */
#ifndef BHASHA_TRANSLIT_H
#define BHASHA_TRANSLIT_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bh_script {
    BH_SCRIPT_AUTO = 0, /* as a source: any of the nine Indic scripts */
    BH_SCRIPT_DEVA,
    BH_SCRIPT_BENG,     /* Bengali-Assamese */
    BH_SCRIPT_GURU,
    BH_SCRIPT_GUJR,
    BH_SCRIPT_ORYA,
    BH_SCRIPT_TAML,
    BH_SCRIPT_TELU,
    BH_SCRIPT_KNDA,
    BH_SCRIPT_MLYM,
    BH_SCRIPT_LATN      /* ISO 15919 */
} bh_script;

/* Parses an ISO 15924 code ("deva", "beng", ..., "latn", case-insensitive;
 * also "auto"). Returns BH_EINVAL for an unknown name. Thread-safe. */
bh_status bh_script_from_name(const char *name, bh_script *out);
/* ISO 15924 code of a script, lower case ("auto" for BH_SCRIPT_AUTO). Thread-safe. */
const char *bh_script_name(bh_script s);

typedef struct bh_translit_options {
    bh_script from;         /* source: BH_SCRIPT_AUTO (default) converts every Indic
                               script but never Latin; BH_SCRIPT_LATN reads ISO 15919;
                               an Indic script converts only that script */
    bh_script to;           /* target; must not be BH_SCRIPT_AUTO */
    int assamese;           /* 1: Bengali-script side is Assamese (ৰ ৱ), default 0 */
    int tamil_superscripts; /* 1: keep aspiration/voicing as ² ³ ⁴ in Tamil, default 0 */
    int ascii_digits;       /* 1: native digits -> 0-9 when the target is Latin, default 0 */
} bh_translit_options;

/* Fills *opt with the defaults (from AUTO, to LATN, all flags 0). */
void bh_translit_options_default(bh_translit_options *opt);

typedef struct bh_translit bh_translit;

/* Builds the tables for opt->to (opt NULL: defaults). BH_EINVAL for a bad
 * option (to == AUTO, a value out of range), BH_ENOMEM. from == to copies
 * text unchanged. Free with bh_translit_free(). Thread-safe. */
bh_status bh_translit_new(const bh_translit_options *opt, bh_translit **out);
/* Releases a handle; NULL is a no-op. */
void bh_translit_free(bh_translit *t);

/* Converts text[0..len) and APPENDS the result to out. Invalid UTF-8 is
 * replaced by U+FFFD and counted in *utf8_repairs (may be NULL); NUL bytes
 * are copied. Fails only on BH_EINVAL (NULL handle/out, NULL text with
 * len > 0) or BH_ENOMEM. Thread-safe: the handle is read-only. */
bh_status bh_translit_run(const bh_translit *t, const char *text, size_t len,
                          bh_buf *out, size_t *utf8_repairs);

#ifdef __cplusplus
}
#endif
#endif
