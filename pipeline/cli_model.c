/* pipeline/cli_model.c — CLI commands (not implemented yet). */
#include "pipeline/cli.h"

int cli_pretrain(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

int cli_generate(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

