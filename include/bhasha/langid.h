/* bhasha/langid.h — language identification with a character n-gram model.
 *
 * How it decides: the dominant script of the text (letters, marks and native
 * digits counted per Unicode block; URL and e-mail tokens skipped) picks a
 * *group* of candidate languages (Devanagari: hi mr ne sa; Bengali: bn as;
 * Gujarati: gu; Latin: en; ...). Inside a group with more than one language
 * a linear softmax model over hashed character 1..5-grams of each word
 * (padded with a space on both sides) plus a whole-word feature picks the
 * language: z[l] = bias[l] + scale × c(F) × Σ_features table[bucket][l],
 * P = softmax(z), c(F) from the weighting field below. The trainer fits the
 * table as multinomial naive Bayes (default) or logistic regression; both
 * are stored the same way. The reported score is P(language | group) ×
 * (share of the counted characters that are in the group's script), so
 * mixed-script text gets a lower score.
 *
 * Memory: a bh_langid model is created by bh_langid_load*() or by
 * bh_langid_trainer_fit(), owned by the caller and released with
 * bh_langid_free(). Result structs are filled in caller memory.
 *
 * Model file format (all integers little-endian, f32 = IEEE-754 binary32 LE):
 *
 *   offset size field
 *   0      8    magic "BHLANGID"
 *   8      4    u32 format version, = 1
 *   12     4    u32 flags: bit 0 = text is passed through bh_normalize()
 *                  (default options) before features are taken; bit 1 =
 *                  whole-word features are used; other bits must be 0
 *   16     4    u32 min_n: shortest character n-gram (1..8)
 *   20     4    u32 max_n: longest character n-gram (min_n..8)
 *   24     4    u32 feature weighting: 0 = each occurrence counts 1,
 *                  1 = 1/sqrt(F), 2 = 1/F, F = number of features in the text
 *   28     4    u32 n_groups (1..32)
 *   32     4    u32 file size in bytes (must equal the size read)
 *   36     4    u32 CRC-32 (zlib polynomial) of bytes [40, file size)
 *   40     ...  n_groups group records, back to back:
 *     +0   4    script code, ISO 15924 ("Deva", "Beng", "Latn", ...; one of
 *                  the scripts bhasha knows, each at most once)
 *     +4   4    u32 n_langs (1..16)
 *     +8   4    u32 hash_bits: 0 when n_langs == 1 (no table), else 8..24
 *     +12  4    f32 scale: a weight is int8 value × scale (finite, >= 0)
 *     +16  12×n_langs  per language: 8 bytes language code (ASCII [a-z_],
 *                  NUL-padded, at least 2 letters), f32 bias (finite)
 *     then int8 weights[2^hash_bits][n_langs], bucket-major
 *   The file ends exactly after the last group.
 *
 * Features: the text is split into words (runs of letters, marks, ZWJ/ZWNJ);
 * only words whose first letter is in the group's script count. For a word
 * w, padded as " w ", every n-gram of min_n..max_n code points (except the
 * lone padding space) and, with flag bit 1, the whole padded word are hashed
 * to a bucket of the group's table: h = 32-bit FNV-1a over the code points
 * (basis 2166136261, prime 16777619, one code point per step), then
 * h ^= seed × 0x9E3779B9 (seed = n, or 0x51 for the whole word), then the
 * MurmurHash3 32-bit finalizer; bucket = h >> (32 - hash_bits).
 * Latin-script letters are lower-cased. */
#ifndef BHASHA_LANGID_H
#define BHASHA_LANGID_H

#include <stddef.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bh_langid bh_langid;

/* Result of identifying one text. lang is "und" (score 0) when the text has
 * no letters or digits of a script the model knows (empty lines, pure
 * punctuation, unknown scripts). */
typedef struct bh_langid_result {
    char lang[9];      /* language code, NUL-terminated, e.g. "hi" */
    char script[5];    /* ISO 15924 code of the deciding script, "" for und */
    float score;       /* in [0, 1]: P(lang | group) × script share */
    float prob;        /* P(lang | group) alone */
} bh_langid_result;

/* Loads a model file (format above). Rejects truncated, oversized, corrupt
 * (CRC) or inconsistent files with BH_EFORMAT and a detail naming the field;
 * BH_EIO when the file cannot be read. *out is set only on success.
 * Thread-safe. */
bh_status bh_langid_load(const char *path, bh_langid **out);

/* Same from memory (the bytes are copied; data may be freed afterwards). */
bh_status bh_langid_load_mem(const void *data, size_t len, bh_langid **out);

/* Writes the model in the format above. BH_EIO on write failure. Thread-safe
 * for a model not being modified. */
bh_status bh_langid_save(const bh_langid *m, const char *path);

/* Releases a model; NULL is accepted. */
void bh_langid_free(bh_langid *m);

/* Identifies the language of text[0..len). Any bytes are accepted: invalid
 * UTF-8 and NUL bytes act as word separators, an empty text gives "und".
 * Runs in time linear in len with no allocation when the model does not
 * normalize (flag bit 0 clear); otherwise one temporary buffer of about len
 * bytes. Errors: BH_EINVAL (NULL m or res, NULL text with len > 0),
 * BH_ENOMEM. Thread-safe: one model may be shared by many threads. */
bh_status bh_langid_identify(const bh_langid *m, const char *text, size_t len,
                             bh_langid_result *res);

/* Number of languages in the model (over all groups) and the i-th code (NULL
 * when i is out of range). Thread-safe. */
size_t bh_langid_n_langs(const bh_langid *m);
const char *bh_langid_lang(const bh_langid *m, size_t i);

/* ---- training ---------------------------------------------------------- */

typedef struct bh_langid_train_options {
    int hash_bits;       /* bits per group table (8..24), default 18 */
    int min_n, max_n;    /* n-gram orders, default 1..5 */
    int word_features;   /* 1: add whole-word features (default 1) */
    int weighting;       /* 0, 1 or 2 as in the file format; default 1 */
    int normalize;       /* 1: bh_normalize() text first (default 1) */
    int epochs;          /* passes over the data, default 8 */
    /* logistic regression only: */
    float lr;            /* initial SGD learning rate (decays linearly), default 0.5 */
    float l2;            /* L2 penalty per step (× lr), default 1e-6 */
    int crops;           /* extra random word-window crops (1..4 words) per sample
                            and epoch, teaching short inputs; default 1 */
    unsigned seed;       /* shuffling/crop seed, default 1 */
    int naive_bayes;     /* 1: multinomial naive Bayes (counts, add-alpha smoothing)
                            instead of logistic regression; 2: naive Bayes weights
                            (divided by the automatic temperature) as the starting
                            point of logistic regression. 1 and 2 force weighting 0.
                            default 1 (held-out and out-of-domain tests favour it) */
    float alpha;         /* naive Bayes smoothing, default 0.1 */
    float temperature;   /* logits are divided by this before the softmax (it is
                            folded into the saved scale and biases); 0 = automatic:
                            1 for logistic regression, twice the number of features
                            per character position (2 × (max_n - min_n + 1 +
                            word_features)) for naive Bayes, whose overlapping
                            n-grams otherwise make it far too sure (chosen so that
                            held-out P ≈ accuracy). default 0 */
} bh_langid_train_options;

typedef struct bh_langid_trainer bh_langid_trainer;

/* Progress callback: epoch (1-based), epochs, fraction of the epoch done,
 * mean loss so far this epoch; called a few times per epoch. Naive Bayes
 * makes one counting pass, reported as epoch 1 of 1 with loss 0. */
typedef void (*bh_langid_progress)(void *ctx, int epoch, int epochs, double done,
                                   double loss);

/* Fills *opt with the defaults above. */
void bh_langid_train_options_default(bh_langid_train_options *opt);

/* Creates a trainer. opt may be NULL (defaults). BH_EINVAL on options out of
 * range. Not thread-safe (one trainer per thread). */
bh_status bh_langid_trainer_new(const bh_langid_train_options *opt, bh_langid_trainer **out);
void bh_langid_trainer_free(bh_langid_trainer *t);

/* Adds one training text labelled lang (2..8 chars of [a-z_]) written in
 * script (ISO 15924 code bhasha knows, see bh_langid_script_of()). Text with
 * no letters of that script is ignored (returns BH_OK and counts nothing).
 * BH_EINVAL on a bad code, BH_ELIMIT past 16 languages in one group or
 * 2^31 samples. */
bh_status bh_langid_trainer_add(bh_langid_trainer *t, const char *lang, const char *script,
                                const char *text, size_t len);

/* Trains and returns a new model in *out (quantized to int8 as it will be
 * saved, so what is evaluated is what ships). progress may be NULL.
 * BH_EINVAL when no sample was added. */
bh_status bh_langid_trainer_fit(bh_langid_trainer *t, bh_langid_progress progress,
                                void *ctx, bh_langid **out);

/* The ISO 15924 code of the script whose block holds code point cp among
 * those bhasha's language ID knows ("Deva", "Beng", "Guru", "Gujr", "Orya",
 * "Taml", "Telu", "Knda", "Mlym", "Arab", "Latn"), or NULL. Thread-safe. */
const char *bh_langid_script_of(unsigned cp);

#ifdef __cplusplus
}
#endif
#endif
