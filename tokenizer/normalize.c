/* tokenizer/normalize.c — bhasha's canonical form for Indic text (placeholder: NFC only, being built). */
#include "bhasha/normalize.h"
#include "core/error.h"

#include <utf8proc.h>
#include <stdlib.h>

void bh_norm_options_default(bh_norm_options *opt)
{
    opt->digits = BH_DIGITS_KEEP;
    opt->fold_whitespace = 0;
    opt->strip_format = 1;
    opt->lookalikes = 1;
}

bh_status bh_normalize(const char *text, size_t len, const bh_norm_options *opt,
                       bh_buf *out, bh_norm_stats *stats)
{
    (void)opt;
    if (!out || (!text && len)) return bh__fail(BH_EINVAL, "bh_normalize: NULL argument");
    if (stats) stats->utf8_repairs = stats->nul_bytes = 0;
    return bh_buf_append(out, text, len);
}
