/* pipeline/cli_annotate.c — `bhasha annotate`: bh_annotate() per input line, JSON lines out. */
#include "pipeline/cli.h"

#include <string.h>

static const char usage[] =
    "usage: bhasha annotate [OPTIONS] [FILE...]\n"
    "One JSON object per input line (stdin when no FILE): the text, its normalized form,\n"
    "language, sentences, words with byte offsets and kinds, and a transliteration.\n"
    "  --to SCRIPT          transliteration target (latn, deva, beng, ...; none to omit), default latn\n"
    "  --langid-model PATH  language identification model (default: the shipped one)\n"
    "  --no-normalize       annotate the text as it is\n";

int cli_annotate(int argc, char **argv)
{
    bh_annotator_options o;
    bh_annotator_options_default(&o);
    char model[4096];
    const char *files[argc];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_opt(argc, argv, &i, "--to", &v)) {
            if (!strcmp(v, "none")) o.translit_to = BH_SCRIPT_AUTO;
            else if (bh_script_from_name(v, &o.translit_to) || o.translit_to == BH_SCRIPT_AUTO)
                return cli_usage_error("annotate", "unknown script '%s'", v);
        } else if (cli_opt(argc, argv, &i, "--langid-model", &v)) {
            o.langid_model = v;
        } else if (!strcmp(argv[i], "--no-normalize")) {
            o.normalize = 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("annotate", "unknown option %s (see --help)", argv[i]);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!nfiles) files[nfiles++] = "-";
    if (!o.langid_model) {
        if (cli_asset("langid/langid.bin", model, sizeof model))
            return cli_usage_error("annotate", "no language model found (%s); set BHASHA_DATA or --langid-model", model);
        o.langid_model = model;
    }
    bh_annotator *a;
    bh_status st = bh_annotator_new(&o, &a);
    if (st) return cli_fail("annotate", st);
    bh_buf out = {0};
    int rc = 0;
    for (int f = 0; f < nfiles && !rc; f++) {
        cli_lines in;
        if (cli_lines_open(&in, "annotate", files[f])) { rc = 1; break; }
        while (cli_lines_next(&in)) {
            bh_buf_clear(&out);
            if ((st = bh_annotate(a, in.line, in.len, &out))) { rc = cli_fail("annotate", st); break; }
            fwrite(out.data, 1, out.len, stdout);
            putchar('\n');
        }
        cli_lines_close(&in);
    }
    bh_buf_free(&out);
    bh_annotator_free(a);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "bhasha annotate: write error\n");
        return 1;
    }
    return rc;
}
