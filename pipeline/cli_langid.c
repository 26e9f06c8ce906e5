/* pipeline/cli_langid.c — CLI commands (not implemented yet). */
#include "pipeline/cli.h"

int cli_langid(int argc, char **argv)
{
    (void)argc;
    return cli_usage_error(argv[0], "not implemented yet");
}

