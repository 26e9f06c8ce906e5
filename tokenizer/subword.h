/* tokenizer/subword.h — the common tokenizer interface (bh_tokenizer_*: detect
 * the kind of a file, add special tokens, batch into padded matrices) and the
 * bh_tokens container shared by the SentencePiece and WordPiece modules.
 * Public declarations are in include/bhasha/subword.h; this header adds the
 * private helpers the modules share. bh_tokens arrays are owned by the caller's
 * struct and grown here with realloc. */
#ifndef BH_TOKENIZER_SUBWORD_H
#define BH_TOKENIZER_SUBWORD_H

#include "bhasha/subword.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes room for at least `need` tokens in total (ids, begin and end). */
bh_status bh__tokens_reserve(bh_tokens *t, size_t need);
/* Appends one token (room must have been reserved or is grown here). */
bh_status bh__tokens_push(bh_tokens *t, int32_t id, size_t begin, size_t end);

#ifdef __cplusplus
}
#endif
#endif
