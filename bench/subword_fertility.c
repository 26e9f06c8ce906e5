/* bench/subword_fertility.c — fertility of a SentencePiece model on text.
 * usage: subword_fertility [--normalize] MODEL FILE...
 * Prints one line: words, pieces, fertility (pieces per word) and the share of
 * words kept whole (encoded as one piece) and the share of pieces that are
 * unknown (<unk>). A word is a run of pieces starting
 * with one that begins with U+2581, i.e. a white-space separated word of the
 * input. With --normalize each line goes through bh_normalize() first, as for
 * bhasha's own models. Plain files only (gunzip first). */
#include "bhasha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int a = 1, normalize = 0;
    if (a < argc && !strcmp(argv[a], "--normalize")) {
        normalize = 1;
        a++;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: subword_fertility [--normalize] MODEL FILE...\n");
        return 2;
    }
    bh_spm *m;
    bh_status st = bh_spm_load(argv[a], &m);
    if (st) {
        fprintf(stderr, "subword_fertility: %s: %s\n", bh_errmsg(st), bh_last_error());
        return 1;
    }
    /* per id: does the piece start a word? does it consist of U+2581 alone? */
    int32_t V = bh_spm_vocab_size(m);
    char *starts = calloc((size_t)V, 1), *bare = calloc((size_t)V, 1);
    if (!starts || !bare) return 1;
    for (int32_t i = 0; i < V; i++) {
        const char *p;
        size_t n;
        if (bh_spm_id_to_piece(m, i, &p, &n)) continue;
        starts[i] = n >= 3 && !memcmp(p, "\xe2\x96\x81", 3);
        bare[i] = n == 3 && starts[i];
    }
    long long words = 0, pieces = 0, whole = 0, unk = 0;
    int32_t unk_id = bh_spm_special_id(m, BH_SPM_UNK);
    bh_tokens t = {0};
    bh_buf norm = {0};
    char *line = NULL;
    size_t cap = 0;
    for (int f = a + 1; f < argc; f++) {
        FILE *in = fopen(argv[f], "rb");
        if (!in) {
            fprintf(stderr, "subword_fertility: cannot open %s\n", argv[f]);
            return 1;
        }
        ssize_t n;
        while ((n = getline(&line, &cap, in)) > 0) {
            if (line[n - 1] == '\n') n--;
            const char *text = line;
            size_t len = (size_t)n;
            if (normalize) {
                bh_buf_clear(&norm);
                if (bh_normalize(line, len, NULL, &norm, NULL)) return 1;
                text = norm.data ? norm.data : "";
                len = norm.len;
            }
            if (bh_spm_encode_ids(m, text, len, &t)) continue;
            long run = 0;
            int run_bare = 0;
            for (size_t i = 0; i <= t.n; i++) {
                int end = i == t.n || starts[t.ids[i]];
                if (end && run > 0) {
                    words++;
                    whole += run == 1 && !run_bare;
                }
                if (i == t.n) break;
                if (starts[t.ids[i]]) {
                    run = 0;
                    run_bare = bare[t.ids[i]];
                }
                run++;
                pieces++;
                unk += t.ids[i] == unk_id;
            }
        }
        fclose(in);
    }
    printf("words %lld pieces %lld fertility %.3f whole %.1f%% unk %.3f%%\n", words, pieces,
           words ? (double)pieces / (double)words : 0.0, words ? 100.0 * (double)whole / (double)words : 0.0,
           pieces ? 100.0 * (double)unk / (double)pieces : 0.0);
    free(line);
    free(starts);
    free(bare);
    bh_buf_free(&norm);
    bh_tokens_free(&t);
    bh_spm_free(m);
    return 0;
}
