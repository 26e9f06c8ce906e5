/* examples/hello.c — the smallest bhasha program: normalize a Bangla sentence
 * and print its words. Build against an installed bhasha:
 *   cc hello.c $(pkg-config --cflags --libs bhasha) -o hello */
#include <bhasha.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *text = "আমি বাংলায় গান গাই| তুমি কি শুনবে?";
    bh_buf norm = {0};
    bh_status st = bh_normalize(text, strlen(text), NULL, &norm, NULL);
    if (st) {
        fprintf(stderr, "normalize: %s: %s\n", bh_errmsg(st), bh_last_error());
        return 1;
    }
    bh_segmenter *seg = NULL;
    bh_spans words = {0};
    if ((st = bh_segmenter_new(&seg)) || (st = bh_segment(seg, BH_SEG_WORD, norm.data, norm.len, &words))) {
        fprintf(stderr, "segment: %s: %s\n", bh_errmsg(st), bh_last_error());
        return 1;
    }
    for (size_t i = 0; i < words.n; i++)
        printf("%.*s\n", (int)(words.v[i].end - words.v[i].start), norm.data + words.v[i].start);
    bh_spans_free(&words);
    bh_segmenter_free(seg);
    bh_buf_free(&norm);
    return 0;
}
