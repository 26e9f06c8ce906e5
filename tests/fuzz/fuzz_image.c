/* fuzz_image: image decoding (PNG, JPEG, BMP, PNM, TGA, GIF through stb_image)
 * and the digit preprocessing of whatever decodes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    bh_image img;
    if (bh_image_decode(data, n, &img) != BH_OK) return 0;
    if (img.w <= 0 || img.h <= 0 || !img.px) abort();
    bh_prep_opts po;
    bh_prep_defaults(&po);
    float out[128 * 128];
    if ((size_t)po.size * (size_t)po.size <= sizeof out / sizeof out[0])
        (void)bh_prep_digit(img.px, img.w, img.h, &po, out);
    bh_image_free(&img);
    return 0;
}
