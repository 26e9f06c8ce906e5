/* pipeline/ngram_fuse.h — private: fits the n-gram layer of a fine-tuned
 * sentiment head (include/bhasha/heads.h, bh_head_seq_set_ngrams): a linear
 * model over the texts' hashed bags of n-grams on top of the head's own log
 * probabilities, fused = softmax(a log p + W^T x + b). The encoder is run
 * once over every text; W and b are fitted by AdaGrad on the cross-entropy
 * with L2 on the rows a text touches, for each (a, l2) of a small grid, and
 * the pair with the best dev macro-F1 wins and is fitted again on train +
 * dev (as the count baselines are trained). Instead of the AdaGrad fit the
 * layer can hold a naive Bayes model's weights (options.nb). A head that has
 * a layer already is read without it, and the new layer replaces it. Reads
 * CSV/TSV files through the corpus reader (text and label columns); labels
 * must be the head's. The caller owns the model and gets a new head. */
#ifndef BH_PIPELINE_NGRAM_FUSE_H
#define BH_PIPELINE_NGRAM_FUSE_H

#include "bhasha/heads.h"
#include "pipeline/finetune.h"

#define BH__NGRAM_MAXC 64 /* labels a head may have here */

typedef struct bh__ngram_fuse_options {
    const char *train, *dev, *test; /* test may be NULL */
    const char *text_col, *text_col2, *label_col; /* NULL: "text", none, "label" */
    const char *label_map;          /* rename labels ("pos=positive"); NULL = none */
    int bits;                       /* table rows 2^bits; 0 = 18 */
    int epochs;                     /* 0 = 10 */
    double lr;                      /* AdaGrad; 0 = 0.2 */
    double fixed_a, fixed_l2;       /* >= 0: only this encoder weight / L2; < 0: the grid */
    int nb;                         /* 1: naive Bayes weights instead of the AdaGrad fit: W = B (log theta -
                                     * its class mean) over the training texts' rows, for a in {0, 0.5, 1},
                                     * smoothing alpha in {0.1, 1}, B in {0.5 .. 8} */
    int no_refit;                   /* 0: the chosen (a, l2) fitted again on train + dev (the layer
                                     * that is kept and tested); 1: keep the train-only fit */
    int quiet;                      /* 0: each fit's dev score and progress on stderr */
} bh__ngram_fuse_options;

typedef struct bh__ngram_fuse_result {
    long n_train, n_dev, n_test;
    double a, l2;                   /* the chosen pair (AdaGrad; l2 0 with naive Bayes) */
    double nb_alpha, nb_b;          /* naive Bayes: the chosen smoothing and scale B; 0 otherwise */
    double dev_head, dev_ngrams, dev_fused;    /* macro-F1 %: the head alone, the layer alone (a = 0), fused
                                                * (train-only fits: dev chose with them) */
    double test_head, test_ngrams, test_fused; /* -1 without a test file */
    double seconds;
} bh__ngram_fuse_result;

/* Fits the layer for sequence head sh of fm; *out gets the fused head. */
bh_status bh__ngram_fuse(bh__ft_model *fm, bh_head *sh, const bh__ngram_fuse_options *o, bh_head **out,
                         bh__ngram_fuse_result *res);

#endif
