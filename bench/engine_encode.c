/* bench/engine_encode.c — turns raw text (plain or .gz, one document per line)
 * into a token-id shard (format in bhasha/model.h) with a SentencePiece model,
 * each line through bh_normalize first (the shipped models were trained on
 * normalized text: raw text's precomposed nukta letters are unknown to them),
 * taking one line from each input in turn so that sources and languages mix,
 * for the pretraining demo in bench/engine_pretrain.sh. (`bhasha corpus encode`
 * is the user-facing tool; this is the engine's own minimal feeder.)
 *   engine_encode SPM.model OUT.tok MAX_BYTES FILE...
 * Stops after MAX_BYTES bytes of text in total (0 = no limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bhasha/model.h"
#include "bhasha/normalize.h"
#include "bhasha/subword.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: engine_encode SPM.model OUT.tok MAX_BYTES FILE...\n");
        return 2;
    }
    bh_spm *spm;
    bh_shard_writer *w;
    bh_status st = bh_spm_load(argv[1], &spm);
    if (st || (st = bh_shard_writer_open(argv[2], (uint32_t)bh_spm_vocab_size(spm), &w))) {
        fprintf(stderr, "engine_encode: %s\n", bh_last_error());
        return 1;
    }
    long long limit = atoll(argv[3]), total = 0, ntok = 0, ndoc = 0;
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    bh_tokens tk = {0};
    bh_buf norm = {0};
    int nf = argc - 4, open_files = nf;
    gzFile *g = calloc((size_t)nf, sizeof *g);
    for (int f = 0; f < nf; f++)
        if (!(g[f] = gzopen(argv[4 + f], "rb"))) {
            fprintf(stderr, "engine_encode: cannot open %s\n", argv[4 + f]);
            return 1;
        }
    /* one line from each file in turn, so sources and languages mix */
    while (open_files > 0 && (!limit || total < limit)) {
        for (int f = 0; f < nf; f++) {
            if (!g[f]) continue;
            if (!gzgets(g[f], line, (int)cap)) {
                gzclose(g[f]);
                g[f] = NULL;
                open_files--;
                continue;
            }
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            if (!n) continue;
            total += (long long)n;
            bh_buf_clear(&norm);
            if (bh_normalize(line, n, NULL, &norm, NULL) || !norm.len) continue;
            if (bh_spm_encode_ids(spm, norm.data, norm.len, &tk)) continue; /* skip unencodable lines */
            if ((st = bh_shard_writer_add(w, tk.ids, (uint32_t)tk.n))) break;
            ntok += (long long)tk.n;
            ndoc++;
        }
    }
    for (int f = 0; f < nf; f++)
        if (g[f]) gzclose(g[f]);
    free(g);
    if ((st = bh_shard_writer_close(w))) {
        fprintf(stderr, "engine_encode: %s\n", bh_last_error());
        return 1;
    }
    fprintf(stderr, "engine_encode: %lld documents, %lld tokens, %lld bytes -> %s\n", ndoc, ntok, total, argv[2]);
    bh_tokens_free(&tk);
    bh_buf_free(&norm);
    bh_spm_free(spm);
    free(line);
    return 0;
}
