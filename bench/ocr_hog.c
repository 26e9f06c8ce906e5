/* bench/ocr_hog.c — HOG extraction rate of bhasha on the images of an IDX set
 * (one core, CPU time so a busy machine distorts it less): usage ocr_hog IMAGES.gz LABELS.gz [ORIENT CELL BLOCK] ; prints
 * "images_per_s N". Parameters must match bench/ocr_hog.py for a fair ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bhasha/ocr.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ocr_hog IMAGES LABELS [ORIENT CELL BLOCK]\n");
        return 2;
    }
    bh_digit_set s;
    if (bh_digit_set_load_idx(argv[1], argv[2], &s)) {
        fprintf(stderr, "ocr_hog: %s\n", bh_last_error());
        return 1;
    }
    bh_hog_params p = {9, 4, 2, BH_HOG_L2_HYS};
    if (argc >= 6) {
        p.orientations = atoi(argv[3]);
        p.cell = atoi(argv[4]);
        p.block = atoi(argv[5]);
    }
    size_t np = (size_t)s.rows * s.cols, n = bh_hog_size(s.rows, s.cols, &p);
    double *img = malloc(sizeof(double) * np), *out = malloc(sizeof(double) * n);
    double check = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    int reps = 0;
    double el = 0;
    do {
        for (int i = 0; i < s.n; i++) {
            for (size_t k = 0; k < np; k++)
                img[k] = s.px[(size_t)i * np + k];
            bh_hog(img, s.rows, s.cols, &p, out);
            check += out[i % n];
        }
        reps++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        el = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    } while (el < 2.0);
    printf("images_per_s %.1f\n", (double)reps * s.n / el);
    fprintf(stderr, "ocr_hog: %d x %d images, %zu features, checksum %.6f\n", reps, s.n, n, check);
    free(img);
    free(out);
    bh_digit_set_free(&s);
    return 0;
}
