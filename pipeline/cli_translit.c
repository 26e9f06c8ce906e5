/* pipeline/cli_translit.c — `bhasha translit`: bh_translit_run() line by line. */
#include "pipeline/cli.h"

#include <string.h>

static const char usage[] =
    "usage: bhasha translit --to SCRIPT [OPTIONS] [FILE...]\n"
    "Converts each input line (stdin when no FILE) to another Indic script or to ISO 15919 Latin,\n"
    "one output line per input line.\n"
    "  --to SCRIPT           beng deva guru gujr orya taml telu knda mlym latn\n"
    "  --from SCRIPT         source: auto (default: every Indic script, never Latin), one Indic\n"
    "                        script, or latn (read ISO 15919)\n"
    "  --lang as             the Bengali-script side is Assamese (ৰ ৱ)\n"
    "  --tamil-superscripts  keep aspiration/voicing in Tamil as ² ³ ⁴\n"
    "  --ascii-digits        native digits -> 0-9 when writing Latin\n"
    "  --normalize           run bhasha normalize on each line first\n"
    "  --strict              exit 1 if any line had invalid UTF-8\n";

#define REPORT_MAX 10

int cli_translit(int argc, char **argv)
{
    bh_translit_options o;
    bh_translit_options_default(&o);
    o.to = BH_SCRIPT_AUTO;
    int strict = 0, nfiles = 0, norm = 0;
    const char *files[argc];
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_opt(argc, argv, &i, "--to", &v)) {
            if (bh_script_from_name(v, &o.to) || o.to == BH_SCRIPT_AUTO)
                return cli_usage_error("translit", "--to: unknown script '%s' (beng deva guru gujr orya taml telu knda mlym latn)", v);
        } else if (cli_opt(argc, argv, &i, "--from", &v)) {
            if (bh_script_from_name(v, &o.from))
                return cli_usage_error("translit", "--from: unknown script '%s' (auto beng deva guru gujr orya taml telu knda mlym latn)", v);
        } else if (cli_opt(argc, argv, &i, "--lang", &v)) {
            if (strcmp(v, "as") && strcmp(v, "bn"))
                return cli_usage_error("translit", "--lang must be as or bn, not '%s'", v);
            o.assamese = !strcmp(v, "as");
        } else if (!strcmp(argv[i], "--tamil-superscripts")) o.tamil_superscripts = 1;
        else if (!strcmp(argv[i], "--ascii-digits")) o.ascii_digits = 1;
        else if (!strcmp(argv[i], "--normalize")) norm = 1;
        else if (!strcmp(argv[i], "--strict")) strict = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("translit", "unknown option %s (see --help)", argv[i]);
        else files[nfiles++] = argv[i];
    }
    if (o.to == BH_SCRIPT_AUTO) return cli_usage_error("translit", "--to SCRIPT is required (see --help)");
    if (!nfiles) files[nfiles++] = "-";

    bh_translit *t;
    bh_status s = bh_translit_new(&o, &t);
    if (s) return cli_fail("translit", s);
    bh_buf out = {0}, nb = {0};
    long bad_lines = 0;
    int rc = 0;
    for (int f = 0; f < nfiles && !rc; f++) {
        cli_lines in;
        if (cli_lines_open(&in, "translit", files[f])) { rc = 1; break; }
        while (cli_lines_next(&in)) {
            const char *text = in.line;
            size_t len = in.len, repairs = 0;
            if (norm) {
                bh_norm_stats ns;
                bh_buf_clear(&nb);
                if ((s = bh_normalize(in.line, in.len, NULL, &nb, &ns))) { rc = cli_fail("translit", s); break; }
                text = nb.data ? nb.data : "";
                len = nb.len;
                repairs = ns.utf8_repairs;
            }
            size_t rep2 = 0;
            bh_buf_clear(&out);
            if ((s = bh_translit_run(t, text, len, &out, &rep2))) { rc = cli_fail("translit", s); break; }
            repairs += rep2;
            if (repairs && ++bad_lines <= REPORT_MAX)
                fprintf(stderr, "bhasha translit: %s:%ld: %zu invalid UTF-8 sequence(s) replaced by U+FFFD\n",
                        files[f], in.lineno, repairs);
            if (out.len) fwrite(out.data, 1, out.len, stdout);
            if (in.had_newline) putchar('\n');
        }
        if (cli_lines_close(&in) && !rc) rc = 1;
    }
    bh_buf_free(&out);
    bh_buf_free(&nb);
    bh_translit_free(t);
    return cli_finish_lines("translit", rc, bad_lines, REPORT_MAX, strict, "invalid UTF-8");
}
