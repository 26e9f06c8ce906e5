/* pipeline/cli_normalize.c — `bhasha normalize`: bh_normalize() line by line. */
#include "pipeline/cli.h"

#include <string.h>

static const char usage[] =
    "usage: bhasha normalize [OPTIONS] [FILE...]\n"
    "Writes each input line (stdin when no FILE) in bhasha's canonical form, one output line per input line.\n"
    "  --digits keep|ascii|native  digit conversion (default keep)\n"
    "  --fold-space                collapse white space runs to one space, trim\n"
    "  --keep-format               keep control and format characters\n"
    "  --no-lookalikes             do not map | : S typed for danda, visarga, avagraha\n"
    "  --repair-only               only replace each byte of invalid UTF-8 by U+FFFD (the options above are ignored)\n"
    "  --strict                    exit 1 if any line had invalid UTF-8 or NUL bytes\n";

/* Problems are reported for the first few lines only, then counted. */
#define REPORT_MAX 10

int cli_normalize(int argc, char **argv)
{
    bh_norm_options o;
    bh_norm_options_default(&o);
    int strict = 0, nfiles = 0;
    const char *files[argc];
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_opt(argc, argv, &i, "--digits", &v)) {
            if (!strcmp(v, "keep")) o.digits = BH_DIGITS_KEEP;
            else if (!strcmp(v, "ascii")) o.digits = BH_DIGITS_ASCII;
            else if (!strcmp(v, "native")) o.digits = BH_DIGITS_NATIVE;
            else return cli_usage_error("normalize", "--digits must be keep, ascii or native, not '%s'", v);
        } else if (!strcmp(argv[i], "--fold-space")) o.fold_whitespace = 1;
        else if (!strcmp(argv[i], "--keep-format")) o.strip_format = 0;
        else if (!strcmp(argv[i], "--no-lookalikes")) o.lookalikes = 0;
        else if (!strcmp(argv[i], "--repair-only")) o.canonical = 0;
        else if (!strcmp(argv[i], "--strict")) strict = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("normalize", "unknown option %s (see --help)", argv[i]);
        else files[nfiles++] = argv[i];
    }
    if (!nfiles) files[nfiles++] = "-";

    bh_buf out = {0};
    long bad_lines = 0;
    int rc = 0;
    for (int f = 0; f < nfiles && !rc; f++) {
        cli_lines in;
        if (cli_lines_open(&in, "normalize", files[f])) { rc = 1; break; }
        while (cli_lines_next(&in)) {
            bh_norm_stats st;
            bh_buf_clear(&out);
            bh_status s = bh_normalize(in.line, in.len, &o, &out, &st);
            if (s) { rc = cli_fail("normalize", s); break; }
            if (st.utf8_repairs || st.nul_bytes) {
                if (++bad_lines <= REPORT_MAX)
                    fprintf(stderr, "bhasha normalize: %s:%ld: %zu invalid UTF-8 sequence(s) replaced by U+FFFD, %zu NUL byte(s)%s\n",
                            files[f], in.lineno, st.utf8_repairs, st.nul_bytes, o.strip_format && o.canonical ? " removed" : "");
            }
            if (out.len) fwrite(out.data, 1, out.len, stdout);
            if (in.had_newline) putchar('\n');
        }
        if (cli_lines_close(&in) && !rc) rc = 1;
    }
    bh_buf_free(&out);
    return cli_finish_lines("normalize", rc, bad_lines, REPORT_MAX, strict, "invalid UTF-8 or NUL bytes");
}
