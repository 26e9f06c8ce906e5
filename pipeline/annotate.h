/* pipeline/annotate.h — the annotation pipeline (public API in
 * include/bhasha/pipeline.h). The annotator owns its segmenter, langid model
 * and transliterator; per-call scratch lives on the caller's stack/heap, so
 * the annotator itself is never written after creation. */
#ifndef BH_PIPELINE_ANNOTATE_H
#define BH_PIPELINE_ANNOTATE_H

#include "bhasha/pipeline.h"

#endif
