/* fuzz_corpus: the dataset readers on arbitrary files. The first byte picks the
 * format and options (stop or skip on bad records, CSV delimiter and quoting,
 * CoNLL tag conversion, wiki cleaning), the rest is the file. Every record the
 * reader returns goes through the statistics, so its fields are all read. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    unsigned sel = data[0];
    char path[64];
    int fd = fuzz_memfile(data + 1, n - 1, path, sizeof path);
    if (fd < 0) return 0;

    static const bh_corpus_format fmts[8] = {BH_CORPUS_TEXT,  BH_CORPUS_JSONL, BH_CORPUS_CSV,
                                             BH_CORPUS_CSV,   BH_CORPUS_CONLL, BH_CORPUS_CONLLU,
                                             BH_CORPUS_SQUAD, BH_CORPUS_WIKI};
    bh_corpus_options o;
    memset(&o, 0, sizeof o);
    o.format = fmts[sel & 7];
    o.on_error = (sel >> 3) & 1 ? BH_ON_ERROR_SKIP : BH_ON_ERROR_STOP;
    o.max_record_bytes = 4096; /* small, so the size limits are reached too */
    int opt = (sel >> 4) & 3;
    switch (o.format) {
    case BH_CORPUS_TEXT: o.blocks = opt & 1; break;
    case BH_CORPUS_JSONL:
        o.label_field = "label";
        o.id_field = "id";
        if (opt & 1) o.tags_field = "tags";
        if (opt & 2) o.text_field = "0";
        o.scheme = BH_TAGS_BIO;
        break;
    case BH_CORPUS_CSV:
        o.delimiter = (sel & 7) == 3 ? '\t' : ',';
        o.no_header = opt & 1;
        o.no_quotes = (opt >> 1) & 1;
        o.text_field = o.no_header ? "1" : "text";
        o.label_field = o.no_header ? "0" : "label";
        o.text_field2 = (sel >> 6) & 1 ? (o.no_header ? "2" : "title") : NULL;
        break;
    case BH_CORPUS_CONLL:
        o.scheme = (bh_tag_scheme)opt + 1;
        if ((sel >> 6) & 1) o.label_map = "NEP=PER,NEL=LOC,NEO=ORG";
        break;
    case BH_CORPUS_WIKI:
        o.wiki_raw = opt & 1;
        o.wiki_all_namespaces = (opt >> 1) & 1;
        o.wiki_keep_redirects = (sel >> 6) & 1;
        break;
    default: break;
    }

    bh_corpus *r = NULL;
    bh_corpus_stats *stats = NULL;
    if (bh_corpus_stats_new(&stats)) abort();
    if (bh_corpus_open(path, &o, &r) == BH_OK) {
        bh_corpus_record rec;
        int k;
        while ((k = bh_corpus_next(r, &rec)) == 1)
            if (bh_corpus_stats_add(stats, &rec)) abort();
        for (long i = 0; i < bh_corpus_skipped(r); i++) (void)bh_corpus_problem(r, i);
        bh_buf js = {0};
        if (bh_corpus_stats_json(stats, &js)) abort();
        bh_buf_free(&js);
    }
    bh_corpus_free(r);
    bh_corpus_stats_free(stats);
    close(fd);
    return 0;
}
