/* bhasha/pipeline.h — the annotation pipeline: one call turns a text into a
 * JSON object with every annotation bhasha can give it.
 *
 * Stages: normalization, sentence and word segmentation, language
 * identification, transliteration, and with a fine-tuned multi-task model
 * (`bhasha finetune ... --also ...`) sentiment and named entities. A
 * bh_annotator owns the models it loaded; after bh_annotator_new() its
 * configuration is read-only and one annotator may serve many threads, each
 * with its own output buffer (the model stages keep one inference context per
 * concurrent caller, taken from a pool under a lock). */
#ifndef BHASHA_PIPELINE_H
#define BHASHA_PIPELINE_H

#include "bhasha/core.h"
#include "bhasha/translit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stages, as bits of bh_annotator_options.stages. New stages (task heads)
 * take the next free bits and a name in bh_annotator_stages_parse(). */
enum {
    BH_STAGE_NORMALIZE = 1u << 0, /* "normalize": Unicode + Indic normalization first */
    BH_STAGE_SENTENCES = 1u << 1, /* "sentences": the "sentences" array */
    BH_STAGE_WORDS = 1u << 2,     /* "words": the "words" array */
    BH_STAGE_LANGID = 1u << 3,    /* "langid": "lang" and "lang_score" (needs langid_model) */
    BH_STAGE_TRANSLIT = 1u << 4,  /* "translit": needs translit_to != BH_SCRIPT_AUTO */
    BH_STAGE_SENTIMENT = 1u << 5, /* "sentiment": per sentence and per text (needs model_dir) */
    BH_STAGE_NER = 1u << 6,       /* "ner": the "entities" array (needs model_dir) */
    BH_STAGES_ALL = (1u << 7) - 1
};

typedef struct bh_annotator_options {
    const char *langid_model; /* path of a langid model; NULL: no language identification */
    const char *model_dir;    /* a fine-tuned encoder with sentiment and/or NER heads; NULL: none.
                                 Heads are chosen by the text's language, which langid_model
                                 identifies whether or not BH_STAGE_LANGID is on: "sentiment_bn"
                                 for Bangla, else "sentiment", else the first sequence head (same
                                 for "ner_LANG" / "ner" / the first token head). Without a
                                 langid_model every text gets "sentiment" / the first head. */
    bh_script translit_to;    /* target script of the "translit" field; BH_SCRIPT_AUTO: no field */
    int normalize;            /* 1 (default): normalize before every other stage (0 = drop
                                 BH_STAGE_NORMALIZE: the stages then see "text", which is not
                                 the input as is, see bh_annotate) */
    unsigned stages;          /* BH_STAGE_* bits; 0 = BH_STAGES_ALL. With every bit set, a stage
                                 whose model or target is missing is left out; a sentiment or
                                 ner stage asked for by name without its head in model_dir is
                                 an error of bh_annotator_new (BH_ENOTFOUND). */
    int strict_utf8;          /* 1: invalid UTF-8 makes bh_annotate() fail with BH_EUTF8
                                 instead of being repaired (default 0) */
    int conllu;               /* 1: bh_annotate() writes CoNLL-U sentence blocks instead of JSON */
    int precision;            /* the encoder's bh_precision (bhasha/model.h): 0 = fp32 (default),
                                 1 = bf16 (BH_EUNSUPPORTED from bh_annotator_new without AVX512-BF16) */
} bh_annotator_options;

/* Fills *opt with the defaults: no langid model, translit to Latin, normalize,
 * every stage, repair invalid UTF-8. */
void bh_annotator_options_default(bh_annotator_options *opt);

/* Parses a comma-separated stage list ("normalize,sentences,words,langid,translit,
 * sentiment,ner", or "all") into BH_STAGE_* bits. BH_EINVAL names an unknown stage. Thread-safe. */
bh_status bh_annotator_stages_parse(const char *list, unsigned *stages);

typedef struct bh_annotator bh_annotator;

/* Loads the models and builds the tables. Errors from the stages pass through
 * (BH_EIO/BH_EFORMAT for a bad langid model, ...). */
bh_status bh_annotator_new(const bh_annotator_options *opt, bh_annotator **out);

/* Releases the annotator; NULL is accepted. */
void bh_annotator_free(bh_annotator *a);

/* Annotates text[0..len) and APPENDS one JSON object (no newline) to out
 * (schema version 1; the model stages add "schema": 1 and their fields):
 *   {"text": ..., "normalized": ..., "lang": "bn",
 *    "lang_score": 0.98, "sentences": [{"start": b, "end": b, "text": ...,
 *      "sentiment": {"label": "positive", "score": 0.91}}],
 *    "words": [{"start": b, "end": b, "text": ..., "kind": "word"}],
 *    "translit": ...,
 *    "schema": 1, "heads": {"sentiment": "sentiment_bn", "ner": "ner_bn"},
 *    "sentiment": {"label": "positive", "score": 0.88},
 *    "entities": [{"type": "PER", "start": b, "end": b, "char_start": c,
 *      "char_end": c, "text": ..., "score": 0.97}]}
 * With the normalize stage, "text" is the input in canonical Unicode form:
 * bh_normalize() with strip_format and lookalikes off, i.e. invalid UTF-8
 * repaired to U+FFFD, NFC with nukta letters as base + nukta (U+0958 gives
 * U+0915 U+093C), and the Indic spelling rules 2-7 of README "Normalization
 * rules" (vowels typed in pieces, visual-order vowel signs, mis-ordered marks,
 * old encodings of atomic letters, noise joiners); control and format
 * characters and lookalikes stay as typed. "normalized" adds the rest of
 * bh_normalize()'s defaults. Without the stage, "text" is the input as given
 * with only each byte of invalid UTF-8 replaced by U+FFFD (bh_normalize()'s
 * canonical = 0), and every offset indexes it.
 * Offsets "start"/"end" are bytes into "normalized", "char_*" code points.
 * The text's sentiment is its sentences' label probabilities averaged by
 * their byte lengths; entities are found sentence by sentence (the encoder
 * runs once per sentence, or per chunk of a long one, for both heads). With
 * options.conllu, it appends one CoNLL-U block per sentence instead
 * ("# text = ..." and, with langid, "# lang = ..." and with sentiment
 * "# sentiment = LABEL SCORE"; one row per word: ID FORM _ UPOS (PUNCT, NUM
 * or _) _ _ _ _ _ MISC with SpaceAfter=No, Translit=... and NE=B-PER /
 * NE=I-PER; a blank line after each block; nothing for a text without
 * sentences). Comment values and FORM are one line of valid UTF-8 (control
 * characters and U+0085/U+2028/U+2029 become spaces, invalid bytes U+FFFD);
 * MISC values use UD's MISC escapes (those of SpacesAfter): \p for "|", \\
 * for "\", \s for a space. Fields of stages that are off are omitted
 * ("normalized" equals "text" when normalize is off).
 * On failure nothing is appended (out keeps its length). Thread-safe (see above). */
bh_status bh_annotate(const bh_annotator *a, const char *text, size_t len, bh_buf *out);

#ifdef __cplusplus
}
#endif
#endif
