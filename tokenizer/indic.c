/* tokenizer/indic.c — character classes of the nine parallel Indic blocks. */
#include "tokenizer/indic.h"

#include <utf8proc.h>

/* Vowel signs drawn before the consonant they follow in memory. In NFD the
 * two-part signs (Bengali o/au, Oriya ai/o/au, Tamil o/oo/au, Malayalam o/oo/au)
 * start with one of these. */
static int is_prebase(int script, int off)
{
    switch (script) {
    case BH__DEVA: return off == 0x3F || off == 0x4E;
    case BH__BENG: return off == 0x3F || off == 0x47 || off == 0x48;
    case BH__GURU: case BH__GUJR: return off == 0x3F;
    case BH__ORYA: return off == 0x47;
    case BH__TAML: case BH__MLYM: return off == 0x46 || off == 0x47 || off == 0x48;
    default: return 0;
    }
}

int bh__indic_class_compute(int32_t cp)
{
    int script = bh__indic_script(cp);
    if (script < 0) return BH__IC_NONE;
    int off = (int)((cp - BH__INDIC_FIRST) & 127);
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    switch (p->category) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
        if (off <= 0x03) return BH__IC_MOD; /* inverted candrabindu, candrabindu, anusvara, visarga */
        if (script == BH__GURU && (off == 0x70 || off == 0x71 || off == 0x75)) return BH__IC_MOD;
        if (off == 0x3C) return BH__IC_NUKTA;
        if (off == 0x4D) return BH__IC_VIRAMA;
        if (p->combining_class != 0) return BH__IC_OMARK;
        return is_prebase(script, off) ? BH__IC_PREBASE : BH__IC_VSIGN;
    case UTF8PROC_CATEGORY_LO:
        if ((off >= 0x04 && off <= 0x14) || off == 0x60 || off == 0x61) return BH__IC_INDEP;
        if (script == BH__DEVA && off >= 0x72 && off <= 0x77) return BH__IC_INDEP;
        if (script == BH__GURU && (off == 0x72 || off == 0x73)) return BH__IC_INDEP; /* vowel bearers ੲ ੳ */
        if (off == 0x3D || (script == BH__DEVA && off == 0x50)) return BH__IC_NONE;
        if (p->decomp_seqindex != UINT16_MAX && p->comp_exclusion) return BH__IC_NUKTA_LETTER;
        return BH__IC_CONS;
    case UTF8PROC_CATEGORY_ND: return BH__IC_DIGIT;
    case UTF8PROC_CATEGORY_PO: return BH__IC_PUNCT;
    default: return BH__IC_NONE;
    }
}
