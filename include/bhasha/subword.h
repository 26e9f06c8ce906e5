/* bhasha/subword.h — subword tokenizers: SentencePiece, BERT WordPiece, and one
 * common interface (bh_tokenizer) that encodes batches into padded id matrices.
 *
 * Memory: handles (bh_spm, bh_wordpiece, bh_tokenizer) own their vocabularies;
 * piece strings returned by *_id_to_piece point into the handle and live until
 * it is freed. Encoded tokens go into a caller-owned bh_tokens (zero-initialize,
 * reuse across calls, release with bh_tokens_free); batches into a caller-owned
 * bh_batch (release with bh_batch_free).
 *
 * Offsets are byte offsets into the text given to the encoder, half-open
 * [begin, end). When a tokenizer normalizes text first (bh_tokenizer with
 * normalize = 1), offsets refer to the normalized text. bh_tokens_to_char_offsets()
 * turns byte offsets into code point offsets.
 *
 * Thread-safety: loaded handles are immutable; encode/decode calls on one handle
 * may run concurrently from many threads, each with its own output objects.
 * Loading and freeing are not concurrent with use of the same handle. */
#ifndef BHASHA_SUBWORD_H
#define BHASHA_SUBWORD_H

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ tokens */

/* One encoded text: n tokens; ids[i] is the vocabulary id, [begin[i], end[i])
 * the bytes of the input it covers (begin == end for tokens with no surface,
 * e.g. a SentencePiece word-boundary piece of its own). */
typedef struct bh_tokens {
    int32_t *ids;
    size_t *begin;
    size_t *end;
    size_t n;
    size_t cap;
} bh_tokens;

/* Sets n to 0, keeps the memory. */
void bh_tokens_clear(bh_tokens *t);
/* Frees the arrays and zeroes the struct. Accepts NULL. */
void bh_tokens_free(bh_tokens *t);
/* Rewrites begin/end of t from byte offsets into code point offsets of
 * text[0..len). Invalid UTF-8 bytes count as one code point each. Thread-safe. */
bh_status bh_tokens_to_char_offsets(const char *text, size_t len, bh_tokens *t);

/* ----------------------------------------------------------- SentencePiece */

typedef struct bh_spm bh_spm;

/* Loads a SentencePiece .model file (serialized ModelProto). A truncated or
 * foreign file gives BH_EFORMAT, a missing one BH_EIO. */
bh_status bh_spm_load(const char *path, bh_spm **out);
/* Loads a model from the bytes of a .model file (copied; data may be freed after). */
bh_status bh_spm_load_bytes(const void *data, size_t len, bh_spm **out);
/* Frees the model. Accepts NULL. */
void bh_spm_free(bh_spm *m);

/* Number of pieces in the vocabulary. */
int32_t bh_spm_vocab_size(const bh_spm *m);
/* Piece string of id (points into m; not NUL-terminated in general: use *len). */
bh_status bh_spm_id_to_piece(const bh_spm *m, int32_t id, const char **piece, size_t *len);
/* Id of a piece; the unknown id when the piece is not in the vocabulary. */
int32_t bh_spm_piece_to_id(const bh_spm *m, const char *piece, size_t len);

/* Special ids as set at training time; -1 when the model has none. */
typedef enum bh_spm_special { BH_SPM_UNK = 0, BH_SPM_BOS, BH_SPM_EOS, BH_SPM_PAD } bh_spm_special;
int32_t bh_spm_special_id(const bh_spm *m, bh_spm_special which);

/* Encodes text[0..len) (best segmentation) into out (replacing its contents),
 * with byte offsets. The ids equal those of spm_encode --output_format=id.
 * Input of more than BH_SPM_MAX_INPUT bytes gives BH_ELIMIT. */
#define BH_SPM_MAX_INPUT ((size_t)64 << 20)
bh_status bh_spm_encode(const bh_spm *m, const char *text, size_t len, bh_tokens *out);
/* Like bh_spm_encode but fills only out->ids and out->n (begin/end are left
 * unspecified): the fastest path. */
bh_status bh_spm_encode_ids(const bh_spm *m, const char *text, size_t len, bh_tokens *out);
/* Appends the pieces of text[0..len), separated by single spaces, to out:
 * the output of spm_encode --output_format=piece (unknown stretches appear
 * as their normalized text, not as "<unk>"). */
bh_status bh_spm_encode_pieces(const bh_spm *m, const char *text, size_t len, bh_buf *out);
/* Subword regularization: samples a segmentation. nbest_size < 0 samples from
 * all segmentations (unigram models), alpha is the smoothing (unigram) or the
 * merge-dropout probability (BPE). Randomness comes from SentencePiece's own
 * per-thread generator (not reproducible across runs). */
bh_status bh_spm_sample(const bh_spm *m, const char *text, size_t len, int nbest_size,
                        float alpha, bh_tokens *out);
/* Decodes ids back to text, APPENDED to out. Out-of-range ids give BH_EINVAL. */
bh_status bh_spm_decode(const bh_spm *m, const int32_t *ids, size_t n, bh_buf *out);
/* Encodes n texts on up to nthreads threads (<= 0: 1; at most 64; where a
 * thread cannot be created, the calling thread does its share). outs[i]
 * receives text i (as bh_spm_encode when with_offsets, else as
 * bh_spm_encode_ids). On failure the first failing text's status is returned;
 * other outputs are unspecified. */
bh_status bh_spm_encode_batch(const bh_spm *m, const char *const *texts, const size_t *lens,
                              size_t n, int nthreads, int with_offsets, bh_tokens *outs);

typedef struct bh_spm_train_options {
    const char *const *inputs;   /* text files, plain or gzip, one sentence per line */
    size_t n_inputs;
    const char *model_prefix;    /* writes PREFIX.model and PREFIX.vocab */
    int vocab_size;              /* default 8000 */
    const char *model_type;      /* "unigram" (default), "bpe", "char", "word" */
    double character_coverage;   /* default 0.9995 */
    const char *normalization;   /* SentencePiece rule name; default "identity" */
    int bhasha_normalize;        /* 1: each line goes through bh_normalize() first (default 0) */
    long input_sentence_size;    /* 0 (default): every line; else a random sample of this many */
    int max_sentence_length;     /* bytes; longer lines are skipped; default 16384 */
    int num_threads;             /* default 1 */
    int pad_id;                  /* default -1 (no pad piece); unk 0, bos 1, eos 2 as usual */
    const char *user_defined_symbols; /* comma-separated extra pieces, e.g. "<mask>"; may be NULL */
    int verbose;                 /* 1: SentencePiece logs progress on stderr (default 0) */
} bh_spm_train_options;

/* Fills *opt with the defaults above. */
void bh_spm_train_options_default(bh_spm_train_options *opt);
/* Trains a model. Not thread-safe: SentencePiece's log level is process-wide. */
bh_status bh_spm_train(const bh_spm_train_options *opt);

/* --------------------------------------------------------------- WordPiece */

typedef struct bh_wordpiece bh_wordpiece;

typedef struct bh_wordpiece_options {
    int lower_case;          /* 1: lowercase (uncased BERT models); default 0 */
    int strip_accents;       /* 1: NFD then drop Mn marks; -1: only when lower_case (BERT's
                              * rule); default 0, because it deletes Indic vowel signs,
                              * virama and nukta (U+09C1, U+09CD, U+094D ...) */
    int split_cjk;           /* 1 (default): a token per CJK ideograph */
    int max_chars_per_word;  /* longer words become unk; default 100 */
    const char *unk_token;   /* default "[UNK]" */
    const char *prefix;      /* continuation prefix; default "##" */
} bh_wordpiece_options;

/* Fills *opt with the defaults above. */
void bh_wordpiece_options_default(bh_wordpiece_options *opt);
/* Loads a BERT vocab.txt (one token per line, id = line index). opt may be NULL.
 * Duplicate tokens, empty lines, invalid UTF-8 or a missing unk token give
 * BH_EFORMAT with the line number. */
bh_status bh_wordpiece_load(const char *vocab_path, const bh_wordpiece_options *opt,
                            bh_wordpiece **out);
bh_status bh_wordpiece_load_bytes(const void *data, size_t len, const bh_wordpiece_options *opt,
                                  bh_wordpiece **out);
void bh_wordpiece_free(bh_wordpiece *w);
int32_t bh_wordpiece_vocab_size(const bh_wordpiece *w);
bh_status bh_wordpiece_id_to_token(const bh_wordpiece *w, int32_t id, const char **tok, size_t *len);
/* Id of a token, -1 when absent. */
int32_t bh_wordpiece_token_to_id(const bh_wordpiece *w, const char *tok, size_t len);
/* 1 when the loaded options strip combining marks (damaging Indic text). */
int bh_wordpiece_strips_marks(const bh_wordpiece *w);
/* BERT basic tokenization + greedy longest-match-first WordPiece of
 * text[0..len) into out (replaced), offsets into text. Invalid UTF-8 gives
 * BH_EUTF8. No special tokens are added. */
bh_status bh_wordpiece_encode(const bh_wordpiece *w, const char *text, size_t len, bh_tokens *out);

/* ------------------------------------------------------ common interface */

typedef struct bh_tokenizer bh_tokenizer;

typedef enum bh_tokenizer_kind { BH_TOKENIZER_SPM = 1, BH_TOKENIZER_WORDPIECE = 2 } bh_tokenizer_kind;

typedef struct bh_tokenizer_options {
    int normalize;            /* 1: bh_normalize() each text before encoding (bhasha's own
                               * models expect this); default 0 */
    int add_special;          /* 1 (default): [CLS] x [SEP] (WordPiece) or <s> x </s> (SentencePiece) */
    bh_wordpiece_options wordpiece; /* used when the file is a vocab.txt */
} bh_tokenizer_options;

void bh_tokenizer_options_default(bh_tokenizer_options *opt);
/* Loads path, detecting its kind: a SentencePiece .model (protobuf) or a BERT
 * vocab.txt (text). opt may be NULL (defaults). */
bh_status bh_tokenizer_load(const char *path, const bh_tokenizer_options *opt, bh_tokenizer **out);
void bh_tokenizer_free(bh_tokenizer *t);
bh_tokenizer_kind bh_tokenizer_get_kind(const bh_tokenizer *t);
int32_t bh_tokenizer_vocab_size(const bh_tokenizer *t);

/* Ids of the special tokens, -1 when the vocabulary lacks one. Detected from
 * the vocabulary: [CLS] [SEP] [PAD] [MASK] [UNK] for WordPiece; <s> </s> <pad>
 * <mask> <unk> (or the model's bos/eos/pad/unk ids) for SentencePiece. */
typedef struct bh_special_ids {
    int32_t cls, sep, pad, mask, unk;
} bh_special_ids;
bh_special_ids bh_tokenizer_special_ids(const bh_tokenizer *t);

/* Encodes one text (special tokens added as configured; they get empty
 * offsets at 0). */
bh_status bh_tokenizer_encode(const bh_tokenizer *t, const char *text, size_t len, bh_tokens *out);

/* A padded batch: rows x cols int32 ids (row-major), attention mask (1 for
 * real tokens incl. specials, 0 for padding), offsets rows x cols x 2 int64
 * ([begin, end) bytes; 0,0 for specials and padding), and each row's length. */
typedef struct bh_batch {
    size_t rows, cols;
    int32_t *ids;       /* [rows][cols] */
    uint8_t *mask;      /* [rows][cols] */
    int64_t *offsets;   /* [rows][cols][2] */
    size_t *lengths;    /* [rows] */
} bh_batch;
void bh_batch_free(bh_batch *b);

/* Encodes n texts into *out (previous contents freed). Rows longer than
 * max_len (> 0; 0 = no limit) are truncated, keeping the closing special
 * token. cols = longest row. nthreads <= 0 means 1. Thread-safe. */
bh_status bh_tokenizer_encode_batch(const bh_tokenizer *t, const char *const *texts,
                                    const size_t *lens, size_t n, size_t max_len, int nthreads,
                                    bh_batch *out);

#ifdef __cplusplus
}
#endif
#endif
