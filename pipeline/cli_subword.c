/* pipeline/cli_subword.c — CLI commands (not implemented yet). */
#include "pipeline/cli.h"

int cli_spm(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

int cli_wordpiece(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

