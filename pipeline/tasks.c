/* pipeline/tasks.c — the public face of fine-tuned models (bhasha/tasks.h)
 * over the fine-tuning runtime (pipeline/finetune.h) and the QA runtime
 * (pipeline/qa.h). */
#include "bhasha/tasks.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "pipeline/finetune.h"
#include "pipeline/qa.h"

struct bh_task_model {
    bh__ft_model *fm; /* sentiment / NER heads, or NULL */
    bh__qa_model *qm; /* a QA head, or NULL */
    bh__ft_entity *tmp;
    size_t tcap;
    float *probs;
};

bh_status bh_task_model_load(const char *dir, int threads, bh_task_model **out)
{
    if (out) *out = NULL;
    if (!dir || !out || threads < 1) return bh__fail(BH_EINVAL, "bh_task_model_load: bad argument");
    bh_task_model *m = calloc(1, sizeof *m);
    if (!m) return bh__fail(BH_ENOMEM, "out of memory");
    bh_status st = bh__ft_load(dir, 0, NULL, threads, &m->fm);
    if (st == BH_ENOTFOUND) { /* no sentiment/NER head: a QA model? */
        m->fm = NULL;
        st = bh__qa_load(dir, threads, &m->qm);
    }
    /* label probabilities of a sentiment head (bh_task_sentiment caps C at 1024) */
    if (!st && m->fm && !(m->probs = malloc(sizeof(float) * 1024))) st = bh__fail(BH_ENOMEM, "out of memory");
    if (st) {
        bh_task_model_free(m);
        return st;
    }
    *out = m;
    return BH_OK;
}

bh_status bh_task_model_set_precision(bh_task_model *m, bh_precision p)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_task_model_set_precision: NULL model");
    return m->fm ? bh__ft_set_precision(m->fm, p) : bh__qa_set_precision(m->qm, p);
}

void bh_task_model_free(bh_task_model *m)
{
    if (!m) return;
    bh__ft_free(m->fm);
    bh__qa_free(m->qm);
    free(m->tmp);
    free(m->probs);
    free(m);
}

bh_status bh_task_sentiment(bh_task_model *m, const char *lang, const char *text, size_t len,
                            bh_sentiment_result *out)
{
    if (!m || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_task_sentiment: NULL argument");
    bh_head *h = m->fm ? bh__ft_find_head(m->fm, BH_HEAD_SEQUENCE, lang) : NULL;
    if (!h) return bh__fail(BH_ENOTFOUND, "the model has no sentiment head");
    if (bh_head_n_labels(h) > 1024) return bh__fail(BH_EUNSUPPORTED, "a sentiment head with over 1024 labels");
    bh_status st = bh__ft_run(m->fm, h, NULL, text ? text : "", len, m->probs, NULL, NULL, NULL);
    if (st) return st;
    int best = 0;
    for (int j = 1; j < bh_head_n_labels(h); j++)
        if (m->probs[j] > m->probs[best]) best = j;
    out->label = bh_head_label(h, best);
    out->score = m->probs[best];
    out->head = bh_head_name(h);
    return BH_OK;
}

bh_status bh_task_ner(bh_task_model *m, const char *lang, const char *text, size_t len, bh_entity **ents,
                      size_t *n, size_t *cap)
{
    if (!m || !ents || !n || !cap || (!text && len)) return bh__fail(BH_EINVAL, "bh_task_ner: NULL argument");
    *n = 0;
    bh_head *h = m->fm ? bh__ft_find_head(m->fm, BH_HEAD_TOKEN, lang) : NULL;
    if (!h) return bh__fail(BH_ENOTFOUND, "the model has no NER head");
    size_t tn = 0;
    bh_status st = bh__ft_run(m->fm, NULL, h, text ? text : "", len, NULL, &m->tmp, &tn, &m->tcap);
    if (st) return st;
    if (tn > *cap) {
        bh_entity *v = realloc(*ents, sizeof *v * tn);
        if (!v) return bh__fail(BH_ENOMEM, "out of memory");
        *ents = v;
        *cap = tn;
    }
    for (size_t k = 0; k < tn; k++) {
        const bh__ft_entity *e = &m->tmp[k];
        (*ents)[k] = (bh_entity){e->type, e->start, e->end, e->bstart, e->bend, e->score};
    }
    *n = tn;
    return BH_OK;
}

bh_status bh_task_qa(bh_task_model *m, const char *context, size_t clen, const char *question, size_t qlen,
                     bh_answer *out)
{
    if (!m || !out || (!context && clen) || (!question && qlen)) return bh__fail(BH_EINVAL, "bh_task_qa: NULL argument");
    size_t n;
    return bh_task_qa_top(m, context, clen, question, qlen, 1, out, &n); /* k = 1 always gives one */
}

bh_status bh_task_qa_top(bh_task_model *m, const char *context, size_t clen, const char *question, size_t qlen,
                         size_t k, bh_answer *out, size_t *n)
{
    if (!m || !out || !n || (!context && clen) || (!question && qlen))
        return bh__fail(BH_EINVAL, "bh_task_qa_top: NULL argument");
    if (!m->qm) return bh__fail(BH_ENOTFOUND, "the model has no QA head");
    if (k < 1 || k > BH__QA_TOP_MAX) return bh__fail(BH_EINVAL, "bh_task_qa_top: k = %zu, not in [1, %d]", k, BH__QA_TOP_MAX);
    bh__qa_answer a[BH__QA_TOP_MAX];
    int na = 0;
    *n = 0;
    bh_status st = bh__qa_answer_top(m->qm, context ? context : "", clen, question ? question : "", qlen, (int)k, a, &na);
    if (st) return st;
    for (int i = 0; i < na; i++) out[i] = (bh_answer){a[i].start, a[i].end, a[i].bstart, a[i].bend, a[i].score};
    *n = (size_t)na;
    return BH_OK;
}
