/* bhasha/eval.h — evaluation metrics with the semantics of the reference tools:
 * classification (scikit-learn: accuracy, per-class precision/recall/F1, micro,
 * macro and weighted averages, confusion matrix), NER entity F1 (conlleval,
 * or seqeval-style strict IOB2/IOBES), SQuAD v1.1 exact match and F1 (with
 * Unicode punctuation such as the danda stripped), perplexity, and sacreBLEU's
 * corpus BLEU (13a tokenisation) and chrF.
 *
 * Memory: reports are allocated by bhasha and released with their _free
 * function (which accepts NULL); all strings in a report are owned by it.
 * Thread-safety: every function is reentrant; an accumulator (bh_ner_eval)
 * must be used by one thread at a time. */
#ifndef BHASHA_EVAL_H
#define BHASHA_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- classification --------------------------------------------------------- */

typedef struct bh_class_report {
    size_t n_classes;
    char **classes;          /* sorted (byte order), the union of gold and predicted labels */
    long *support;           /* [n_classes] gold count */
    double *precision, *recall, *f1; /* [n_classes]; 0 where undefined (sklearn zero_division=0) */
    long *confusion;         /* [n_classes * n_classes], row = gold class, column = predicted */
    long n;
    double accuracy;
    double micro_p, micro_r, micro_f1;
    double macro_p, macro_r, macro_f1;
    double weighted_p, weighted_r, weighted_f1;
} bh_class_report;

/* Scores n predictions against n gold labels (NUL-terminated strings). */
bh_status bh_eval_classification(const char *const *gold, const char *const *pred, size_t n,
                                 bh_class_report **out);
void bh_class_report_free(bh_class_report *r);

/* ---- NER ------------------------------------------------------------------ */

typedef enum bh_ner_mode {
    BH_NER_CONLLEVAL = 0, /* conlleval.pl chunk semantics, tags as given */
    BH_NER_STRICT_IOB2,   /* seqeval mode="strict", scheme IOB2: ill-formed chunks do not count; */
    BH_NER_STRICT_IOBES   /* IOBES (BILOU letters accepted). As in seqeval, a tag whose prefix the
                           * scheme does not allow (e.g. "E-X" or "TIM" in IOB2) is BH_EFORMAT. */
} bh_ner_mode;

typedef struct bh_ner_report {
    size_t n_types;
    char **types;                       /* sorted */
    long *gold, *pred, *correct;        /* [n_types] entity counts */
    double *type_p, *type_r, *type_f1;  /* [n_types], percent (0..100) like conlleval */
    long tokens, correct_tags;          /* token accuracy (conlleval counts it in every mode) */
    long total_gold, total_pred, total_correct;
    double accuracy, precision, recall, f1; /* percent; micro over entities */
} bh_ner_report;

typedef struct bh_ner_eval bh_ner_eval;

bh_status bh_ner_eval_new(bh_ner_mode mode, bh_ner_eval **out);
/* Adds one sentence of n gold and n predicted tags (BH_EFORMAT: see bh_ner_mode). */
bh_status bh_ner_eval_add(bh_ner_eval *e, const char *const *gold, const char *const *pred, size_t n);
/* Computes the report of everything added so far. */
bh_status bh_ner_eval_report(const bh_ner_eval *e, bh_ner_report **out);
void bh_ner_eval_free(bh_ner_eval *e);
void bh_ner_report_free(bh_ner_report *r);

/* ---- extractive QA (SQuAD v1.1) ---------------------------------------------- */

/* The SQuAD answer normalisation, extended to Unicode: lower case, Unicode
 * punctuation (category P*, e.g. the danda U+0964) and ASCII punctuation removed,
 * English articles a/an/the removed, whitespace collapsed. out is cleared first. */
bh_status bh_squad_normalize(const char *s, size_t n, bh_buf *out);
/* Exact match (0/1) and token F1 (0..1) of pred against the best of ng gold answers. */
bh_status bh_squad_score(const char *pred, const char *const *golds, size_t ng, double *em, double *f1);

/* ---- language modelling ------------------------------------------------------ */

/* exp(-mean(logprob)) for n natural-log token probabilities; BH_ENUMERIC if
 * any is NaN or > 0, BH_EINVAL if n == 0. */
bh_status bh_perplexity(const double *logprob, size_t n, double *out);

/* ---- n-gram language model baseline (interpolated Kneser-Ney) -------------------- */

/* A count-based language model over token ids (ids < 65534), order 1..4:
 * interpolated Kneser-Ney with one discount per order (n1 / (n1 + 2 n2)),
 * continuation counts below the top order, and the uniform distribution over
 * the vocabulary below the unigrams, so every id has a probability > 0. Each
 * document is padded on the left with begin symbols. The baseline that a
 * decoder's perplexity is reported beside, on the same tokens.
 * Use: bh_kn_lm_new, bh_kn_lm_add once per training document, bh_kn_lm_finish,
 * then bh_kn_lm_logprob. Memory: owned by the model, about 32 bytes per
 * distinct n-gram of each order. Thread-safety: add/finish by one thread;
 * after finish, logprob is safe from any number of threads. */
#define BH_KN_MAX_ORDER 4
typedef struct bh_kn_lm bh_kn_lm;

bh_status bh_kn_lm_new(int order, int vocab, bh_kn_lm **out);
void bh_kn_lm_free(bh_kn_lm *lm);
/* Counts the n-grams of one document ids[0..n). */
bh_status bh_kn_lm_add(bh_kn_lm *lm, const int32_t *ids, size_t n);
/* Computes continuation counts, context sums and discounts; no more adds.
 * BH_ENOMEM, or BH_ELIMIT when over 2^32-1 counts follow one context, leave
 * the model as it was before the call (derived tables freed), so finish may
 * be called again, e.g. once memory is available. */
bh_status bh_kn_lm_finish(bh_kn_lm *lm);
/* *out = natural log P(w | ctx[0..nctx)), ctx = the document's preceding ids
 * (only the last order-1 are used; fewer means the document's start). */
bh_status bh_kn_lm_logprob(const bh_kn_lm *lm, const int32_t *ctx, size_t nctx, int32_t w, double *out);
/* Distinct k-grams stored (raw counts for the top order, continuation counts
 * below); 0 for k outside [1, order]. */
size_t bh_kn_lm_num_grams(const bh_kn_lm *lm, int k);

/* ---- translation (sacreBLEU 2.x defaults, one reference per segment) ------------ */

typedef struct bh_bleu {
    double score;          /* 0..100 */
    double precisions[4];  /* percent, after 'exp' smoothing */
    double bp;             /* brevity penalty */
    long sys_len, ref_len;
    long correct[4], total[4];
} bh_bleu;

/* The 13a tokenizer of sacreBLEU (mteval-v13a): appended to out (cleared first). */
bh_status bh_tokenize_13a(const char *s, size_t n, bh_buf *out);
/* Corpus BLEU: 13a tokens, n-grams 1..4, 'exp' smoothing, brevity penalty. */
bh_status bh_bleu_corpus(const char *const *hyp, const char *const *ref, size_t n, bh_bleu *out);
/* Corpus chrF (char order 6, beta 2, whitespace ignored, no word n-grams), 0..100. */
bh_status bh_chrf_corpus(const char *const *hyp, const char *const *ref, size_t n, double *out);

#ifdef __cplusplus
}
#endif
#endif
