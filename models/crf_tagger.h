/* models/crf_tagger.h — private: what the task heads need from a trained
 * feature CRF tagger (include/bhasha/crf.h) to fuse it into a token head
 * (bh_head_fuse_crf). Pointers are borrowed from the tagger. */
#ifndef BH_MODELS_CRF_TAGGER_H
#define BH_MODELS_CRF_TAGGER_H

#include "bhasha/crf.h"

/* Hash bits, weights [2^bits, L] and the CRF's parameters (trans [L,L],
 * start [L], end [L]) of a trained tagger; BH_EINVAL if it is untrained. */
bh_status bh__crf_tagger_parts(const bh_crf_tagger *t, int *bits, const float **w, const double **crf);

#endif
