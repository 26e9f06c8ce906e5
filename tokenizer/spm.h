/* tokenizer/spm.h — SentencePiece through a thin extern "C" wrapper (spm.cc, the
 * project's only C++ translation unit) over Debian's libsentencepiece.
 *
 * The public functions (bh_spm_*) are declared in include/bhasha/subword.h; no
 * C++ type appears in any header. The wrapper catches every C++ exception and
 * turns SentencePiece's util::Status into a bh_status with its message, so
 * nothing C++ crosses into C. A bh_spm owns its SentencePieceProcessor; ids,
 * pieces and offsets are copied into the caller's bh_tokens. */
#ifndef BH_TOKENIZER_SPM_H
#define BH_TOKENIZER_SPM_H

#include "bhasha/subword.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the model has a piece spelled exactly piece[0..len) (not mapped to unk). */
int bh__spm_has_piece(const bh_spm *m, const char *piece, size_t len);

#ifdef __cplusplus
}
#endif
#endif
