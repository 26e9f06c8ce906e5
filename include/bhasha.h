/* bhasha.h — the public C API of bhasha, NLP for Bangla, Hindi and the other Indic languages.
 *
 * Conventions, everywhere:
 *  - every public symbol starts with bh_ (types bh_x, functions bh_x_verb);
 *  - fallible functions return bh_status: 0 on success, a negative code on
 *    failure; bh_errmsg(code) names it and bh_last_error() gives the detail;
 *  - objects are opaque handles made by bh_x_new()/bh_x_load() and released by
 *    bh_x_free(); free functions accept NULL;
 *  - text is UTF-8 with an explicit length (no NUL termination required);
 *    outputs go into caller-owned bh_buf buffers or arrays the caller frees with
 *    the documented function;
 *  - the library never prints, aborts or exits; each function states whether
 *    it is thread-safe. */
#ifndef BHASHA_H
#define BHASHA_H

#include "bhasha/core.h"
#include "bhasha/normalize.h"
#include "bhasha/segment.h"
#include "bhasha/translit.h"
#include "bhasha/langid.h"
#include "bhasha/subword.h"
#include "bhasha/model.h"
#include "bhasha/heads.h"
#include "bhasha/corpus.h"
#include "bhasha/eval.h"
#include "bhasha/crf.h"
#include "bhasha/ocr.h"
#include "bhasha/pipeline.h"
#include "bhasha/tasks.h"

#endif
