/* pipeline/cli_corpus.c — CLI commands (not implemented yet). */
#include "pipeline/cli.h"

int cli_corpus(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

