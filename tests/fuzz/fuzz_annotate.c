/* fuzz_annotate: the annotation pipeline and the task calls with the shipped
 * models on arbitrary text. The first byte picks the output form (JSON or
 * CoNLL-U), whether to normalize and whether invalid UTF-8 is an error; the
 * rest is the document. The same text also goes to sentiment and NER directly
 * (as "bn" and "hi"), and, split at its first newline into a question and a
 * context, to the QA model. Only BH_EUTF8 (strict mode) and BH_EINVAL (QA with
 * an empty side or a context shorter than the question) may come back. */
#include "fuzz.h"

static bh_annotator *ann[8];
static bh_task_model *tasks, *qa;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_annotate: %s: %s\n", what, bh_last_error());
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < 8; i++) {
        bh_annotator_options o;
        bh_annotator_options_default(&o);
        o.langid_model = fuzz_asset("assets/langid/langid.bin");
        o.model_dir = fuzz_asset("assets/models/bhasha-bnhi");
        o.conllu = i & 1;
        o.normalize = (i >> 1) & 1;
        o.strict_utf8 = (i >> 2) & 1;
        if (bh_annotator_new(&o, &ann[i])) die("annotator");
    }
    if (bh_task_model_load(fuzz_asset("assets/models/bhasha-bnhi"), 1, &tasks)) die("task model");
    if (bh_task_model_load(fuzz_asset("assets/models/bhasha-qa-hi"), 1, &qa)) die("QA model");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    int sel = data[0] & 7;
    const char *t = (const char *)data + 1;
    size_t len = n - 1;
    bh_buf out = {0};
    bh_status st = bh_annotate(ann[sel], t, len, &out);
    if (st != BH_OK && !(st == BH_EUTF8 && (sel & 4))) die("annotate");
    if (st == BH_OK && out.len == 0 && !(sel & 1)) die("annotate wrote nothing");
    bh_buf_free(&out);

    bh_sentiment_result sr;
    bh_entity *ents = NULL;
    size_t ne = 0, cap = 0;
    static const char *langs[2] = {"bn", "hi"};
    for (int i = 0; i < 2; i++) {
        if (bh_task_sentiment(tasks, langs[i], t, len, &sr)) die("sentiment");
        if (bh_task_ner(tasks, langs[i], t, len, &ents, &ne, &cap)) die("ner");
        for (size_t k = 0; k < ne; k++)
            if (ents[k].byte_start >= ents[k].byte_end || ents[k].byte_end > len) die("entity out of the text");
    }
    free(ents);

    const char *nl = memchr(t, '\n', len);
    if (nl) {
        size_t ql = (size_t)(nl - t);
        bh_answer a;
        st = bh_task_qa(qa, nl + 1, len - ql - 1, t, ql, &a);
        if (st != BH_OK && st != BH_EINVAL) die("qa");
        if (st == BH_OK && (a.byte_start > a.byte_end || a.byte_end > len - ql - 1)) die("answer out of the context");
    }
    return 0;
}
