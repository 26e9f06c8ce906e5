/* bhasha/pipeline.h — the annotation pipeline: one call turns a text into a
 * JSON object with every annotation bhasha can give it.
 *
 * Today's stages: normalization, sentence and word segmentation, language
 * identification, transliteration. (The task heads of the model layer join
 * here as they land.) A bh_annotator owns the models it loaded; after
 * bh_annotator_new() it is read-only, so one annotator may serve many
 * threads, each with its own output buffer. */
#ifndef BHASHA_PIPELINE_H
#define BHASHA_PIPELINE_H

#include "bhasha/core.h"
#include "bhasha/translit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bh_annotator_options {
    const char *langid_model; /* path of a langid model; NULL: no language identification */
    bh_script translit_to;    /* target script of the "translit" field; BH_SCRIPT_AUTO: no field */
    int normalize;            /* 1 (default): normalize before every other stage */
} bh_annotator_options;

/* Fills *opt with the defaults: no langid model, translit to Latin, normalize. */
void bh_annotator_options_default(bh_annotator_options *opt);

typedef struct bh_annotator bh_annotator;

/* Loads the models and builds the tables. Errors from the stages pass through
 * (BH_EIO/BH_EFORMAT for a bad langid model, ...). */
bh_status bh_annotator_new(const bh_annotator_options *opt, bh_annotator **out);

/* Releases the annotator; NULL is accepted. */
void bh_annotator_free(bh_annotator *a);

/* Annotates text[0..len) and APPENDS one JSON object (no newline) to out:
 *   {"text": input (invalid UTF-8 repaired), "normalized": ..., "lang": "bn",
 *    "lang_score": 0.98, "sentences": [{"start": b, "end": b, "text": ...}],
 *    "words": [{"start": b, "end": b, "text": ..., "kind": "word"}],
 *    "translit": ...}
 * Offsets are bytes into "normalized". Thread-safe (see above). */
bh_status bh_annotate(const bh_annotator *a, const char *text, size_t len, bh_buf *out);

#ifdef __cplusplus
}
#endif
#endif
