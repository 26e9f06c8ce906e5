/* pipeline/cli.c — `bhasha` entry point: dispatches to the subcommands. */
#include "pipeline/cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cli_command;

static const cli_command commands[] = {
    {"normalize", cli_normalize, "canonical Unicode + Indic normalization, line by line"},
    {"segment", cli_segment, "split into sentences, words, aksharas or graphemes"},
    {"translit", cli_translit, "convert between Indic scripts and ISO 15919 Latin"},
    {"langid", cli_langid, "identify the language of each line"},
    {"annotate", cli_annotate, "sentences, words, language, sentiment, entities of documents (JSON lines, CoNLL-U)"},
    {"spm", cli_spm, "SentencePiece: train, encode, decode"},
    {"wordpiece", cli_wordpiece, "BERT WordPiece encoding"},
    {"pretrain", cli_pretrain, "pretrain a transformer encoder or decoder"},
    {"generate", cli_generate, "generate text with a decoder"},
    {"model", cli_model, "model files: convert weights for shipping (F16, int8 rows), average runs"},
    {"bench", cli_bench, "engine speed: bhasha bench model, one JSON line"},
    {"finetune", cli_finetune_tasks, "fine-tune an encoder with a sentiment, NER or QA head"},
    {"sentiment", cli_sentiment, "sentiment of each line with a fine-tuned model, as JSON lines"},
    {"ner", cli_ner, "named entities of each line with a fine-tuned model, as JSON lines"},
    {"qa", cli_qa, "extractive answers to JSON-line questions with a fine-tuned model"},
    {"corpus", cli_corpus, "corpus tools: stats, clean, split, encode, cloze, squad-split"},
    {"eval", cli_eval, "evaluate models or predictions on a benchmark"},
    {"crf", cli_crf, "linear-chain CRF NER baseline: train, tag, eval; fuse into a NER head"},
    {"fuse-ngrams", cli_fuse_ngrams, "add an n-gram layer to a fine-tuned sentiment head"},
    {"digits", cli_digits, "Bangla handwritten digit recognition"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: bhasha COMMAND [OPTIONS] (bhasha COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "  %-11s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    /* SentencePiece allocates and frees several small objects per piece;
     * glibc's per-thread cache keeps 7 free chunks per size by default, and
     * 1000 cut `spm encode`'s CPU time by about 12% (bench/bench_subword.sh
     * measures both). Tunables are read at process start: this one takes
     * effect in the process that bh_blas_autotune() re-executes (it does
     * unless the user set both the OpenBLAS kernel and thread count). A
     * user's own GLIBC_TUNABLES is left alone. */
    if (!getenv("GLIBC_TUNABLES")) setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=1000", 1);
    /* Before anything touches OpenBLAS: re-executes with a faster verified
     * kernel when the detected one is a known slow fallback (see model.h). */
    bh_blas_autotune();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("bhasha %s (OpenBLAS kernel %s; bf16 %s)\n", bh_version(), bh_blas_corename(),
               bh_precision_supported(BH_PRECISION_BF16) ? "available" : "not available on this CPU");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "bhasha: unknown command '%s' (try bhasha --help)\n", cmd);
    return 2;
}
