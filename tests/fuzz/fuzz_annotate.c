/* fuzz_annotate: the annotation pipeline and the task calls with the shipped
 * models on arbitrary text. The first byte picks the call (bits 3-4: the
 * pipeline; sentiment and NER as "bn"; the same as "hi"; QA, the text split at
 * its first newline into a question and a context) and the pipeline's options
 * (bits 0-2: JSON or CoNLL-U, normalize or not, invalid UTF-8 repaired or an
 * error); the rest is the text. Only BH_EUTF8 (strict mode) and BH_EINVAL (QA
 * with an empty side or a context shorter than the question) may come back.
 * One call per input: the encoder runs slowly under the sanitizers. */
#include "fuzz.h"

static bh_annotator *ann[8];
static bh_task_model *tasks, *qa;

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
        if (bh_annotator_new(&o, &ann[i])) fuzz_die("annotator");
    }
    if (bh_task_model_load(fuzz_asset("assets/models/bhasha-bnhi"), 1, &tasks)) fuzz_die("task model");
    if (bh_task_model_load(fuzz_asset("assets/models/bhasha-qa-hi"), 1, &qa)) fuzz_die("QA model");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    int sel = data[0] & 7;
    const char *t = (const char *)data + 1;
    size_t len = n - 1;
    int call = (data[0] >> 3) & 3;
    bh_status st;
    if (call == 0) {
        bh_buf out = {0};
        st = bh_annotate(ann[sel], t, len, &out);
        if (st != BH_OK && !(st == BH_EUTF8 && (sel & 4))) fuzz_die("annotate");
        if (st == BH_OK && out.len == 0 && !(sel & 1)) fuzz_die("annotate wrote nothing");
        bh_buf_free(&out);
    } else if (call < 3) {
        const char *lang = call == 1 ? "bn" : "hi";
        bh_sentiment_result sr;
        bh_entity *ents = NULL;
        size_t ne = 0, cap = 0;
        if (bh_task_sentiment(tasks, lang, t, len, &sr)) fuzz_die("sentiment");
        if (bh_task_ner(tasks, lang, t, len, &ents, &ne, &cap)) fuzz_die("ner");
        for (size_t k = 0; k < ne; k++)
            if (ents[k].byte_start >= ents[k].byte_end || ents[k].byte_end > len) fuzz_die("entity out of the text");
        free(ents);
    } else {
        const char *nl = memchr(t, '\n', len);
        size_t ql = nl ? (size_t)(nl - t) : len;
        const char *ctx = nl ? nl + 1 : t + len;
        size_t cl = (size_t)(t + len - ctx);
        bh_answer a, top[4];
        size_t n = 0;
        st = bh_task_qa(qa, ctx, cl, t, ql, &a);
        if (st != BH_OK && st != BH_EINVAL) fuzz_die("qa");
        if (st == BH_OK && (a.byte_start > a.byte_end || a.byte_end > cl)) fuzz_die("answer out of the context");
        /* the 4 best: the first is the answer above, all inside the context, no two alike */
        if (st == BH_OK) {
            if (bh_task_qa_top(qa, ctx, cl, t, ql, 4, top, &n) != BH_OK || n < 1 || n > 4) fuzz_die("qa top");
            if (top[0].byte_start != a.byte_start || top[0].byte_end != a.byte_end) fuzz_die("qa top: first differs");
            for (size_t i = 0; i < n; i++) {
                if (top[i].byte_start > top[i].byte_end || top[i].byte_end > cl) fuzz_die("qa top: out of the context");
                for (size_t j = 0; j < i; j++)
                    if (top[i].byte_start == top[j].byte_start && top[i].byte_end == top[j].byte_end)
                        fuzz_die("qa top: the same answer twice");
            }
        }
    }
    return 0;
}
