/* bhasha/ocr.h — Bangla handwritten digit recognition: image loading,
 * preprocessing, handcrafted features (HOG, LBP, Gabor) and classifiers (KNN,
 * SVM via libsvm, random forest and gradient-boosted trees via xgboost).
 *
 * Memory: images and digit sets are plain structs whose pixel arrays bhasha
 * allocates and the caller releases with bh_image_free()/bh_digit_set_free().
 * Feature vectors and preprocessed images are written into caller-owned arrays
 * whose length the matching *_size() function gives. A trained model is an
 * opaque bh_digits_model released with bh_digits_model_free().
 *
 * Thread-safety: every function is reentrant; a bh_digits_model may be used for
 * prediction from several threads at once (prediction does not modify it), but
 * training, loading and freeing need exclusive access to their outputs.
 *
 * Image layout everywhere: row-major, h rows of w pixels, index y*w + x. */
#ifndef BHASHA_OCR_H
#define BHASHA_OCR_H

#include <stddef.h>
#include <stdint.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- images */

/* Largest image bhasha decodes: width*height (a 20000x20000 file is refused
 * from its header, before any pixel memory is allocated), and largest file read. */
#define BH_IMAGE_MAX_PIXELS (36u * 1024u * 1024u)
#define BH_IMAGE_MAX_FILE_BYTES (256u * 1024u * 1024u)

/* An 8-bit grayscale image (0 = black, 255 = white unless stated otherwise). */
typedef struct bh_image {
    int w, h;
    uint8_t *px; /* w*h bytes, owned by the struct */
} bh_image;

/* Decodes PNG (8- or 16-bit; 16-bit is reduced to 8), JPEG, BMP, binary
 * PGM/PPM (P5/P6, any maxval up to 65535, scaled to 0..255), TGA or GIF
 * (first frame) from memory into grayscale (ITU-R BT.601 luma). Pixels
 * with alpha are composited over white. Errors: BH_EFORMAT (corrupt, truncated,
 * zero-sized), BH_ELIMIT (more than BH_IMAGE_MAX_PIXELS), BH_ENOMEM.
 * On failure *out is zeroed. */
bh_status bh_image_decode(const uint8_t *data, size_t n, bh_image *out);
/* Reads a file (at most BH_IMAGE_MAX_FILE_BYTES) and decodes it as above. */
bh_status bh_image_load(const char *path, bh_image *out);
/* Frees the pixels and zeroes the struct. Accepts NULL. */
void bh_image_free(bh_image *img);

/* A labelled set of same-size images (IDX pairs as in MNIST). */
typedef struct bh_digit_set {
    int n, rows, cols;
    uint8_t *px;     /* n*rows*cols bytes, image i at px + i*rows*cols */
    uint8_t *labels; /* n labels 0..9 */
} bh_digit_set;

/* Loads an IDX3 image file (magic 0x00000803, big-endian count, rows, cols,
 * then uint8 pixels) and its IDX1 label file (magic 0x00000801), each plain or
 * gzip-compressed. Checks magics, that counts agree, that rows and cols are
 * 1..4096, that labels are 0..9 and that the data is not truncated.
 * At most 2^31 pixel bytes. Errors: BH_EIO, BH_EFORMAT, BH_ELIMIT, BH_ENOMEM. */
bh_status bh_digit_set_load_idx(const char *images_path, const char *labels_path,
                                bh_digit_set *out);
/* Loads DIR/<split>-images-idx3-ubyte.gz and DIR/<split>-labels-idx1-ubyte.gz. */
bh_status bh_digit_set_load_dir(const char *dir, const char *split, bh_digit_set *out);
/* Frees the arrays and zeroes the struct. Accepts NULL. */
void bh_digit_set_free(bh_digit_set *set);

/* --------------------------------------------------------- preprocessing */

/* How a digit image becomes the classifier's fixed-size input.
 *   polarity: 0 = detect (the Otsu class that covers most of the border is
 *             background), +1 = ink is bright, -1 = ink is dark.
 *   normalize: 1 = stretch so background -> 0 and the ink class mean -> 1,
 *              crop to the ink's bounding box and fit it, aspect preserved,
 *              into a box x box square centred on a size x size canvas;
 *              0 = only fix polarity and resize the whole image to size x size.
 *   binarize:  1 = Otsu-threshold to {0,1} (after the stretch).
 *   deskew:    1 = after fitting, shear horizontally so the ink's second-order
 *              moment mu11 is 0 (|shear| <= 1), moving the ink centroid to the
 *              centre column. */
typedef struct bh_prep_opts {
    int size;      /* output side in pixels, 8..128; default 28 */
    int box;       /* side of the fitting box, 4..size; default 22 */
    int polarity;  /* default 0 */
    int normalize; /* default 1 */
    int binarize;  /* default 0 */
    int deskew;    /* default 0 */
} bh_prep_opts;

/* Fills *o with the defaults above. */
void bh_prep_defaults(bh_prep_opts *o);
/* Otsu's threshold of n 8-bit pixels: the t maximising the between-class
 * variance of {v <= t} and {v > t}. Returns 0..254 (0 for a flat image). */
int bh_otsu_threshold(const uint8_t *px, size_t n);
/* Preprocesses a w x h image into out[size*size], values in [0,1], ink bright.
 * An image without ink (all white, all black) gives an all-zero output and
 * status BH_OK. Errors: BH_EINVAL (bad options or sizes). */
bh_status bh_prep_digit(const uint8_t *px, int w, int h, const bh_prep_opts *o, float *out);

/* ---------------------------------------------------------- augmentation */

/* Largest ranges of the random affine jitter bh_digit_augment() applies. Each
 * parameter is drawn uniformly from [-range, +range]. */
typedef struct bh_augment_opts {
    double shift;  /* pixels, x and y drawn separately; default 2, at most side/2 */
    double rotate; /* degrees; default 8, at most 45 */
    double scale;  /* relative size change |s - 1|; default 0.1, at most 0.5 */
    double shear;  /* horizontal shear factor; default 0.15, at most 1 */
} bh_augment_opts;

/* Fills *o with the defaults above. */
void bh_augment_defaults(bh_augment_opts *o);
/* The generator seed of copy `copy` of image `image` under a user seed: a hash,
 * so nearby triples give unrelated jitters. */
uint64_t bh_augment_seed(unsigned seed, uint64_t image, int copy);
/* Writes a jittered copy of a preprocessed side x side image (values in [0,1],
 * ink bright, e.g. from bh_prep_digit) into out[side*side]: out = img under
 * p -> c + t + s * R(theta) * [[1, k], [0, 1]] (p - c) about the centre c, with
 * t, theta, s, k drawn from `seed` alone (same seed, same copy), bilinear
 * sampling, background 0 outside, values kept in [0,1]. img and out must not
 * overlap. Errors: BH_EINVAL (NULL, side outside 2..4096, aliasing, ranges out
 * of bounds or NaN). */
bh_status bh_digit_augment(const float *img, int side, const bh_augment_opts *o, uint64_t seed,
                           float *out);

/* -------------------------------------------------------------- features */

/* Block normalizations of skimage.feature.hog. */
typedef enum bh_hog_norm {
    BH_HOG_L1 = 0,
    BH_HOG_L1_SQRT = 1,
    BH_HOG_L2 = 2,
    BH_HOG_L2_HYS = 3
} bh_hog_norm;

typedef struct bh_hog_params {
    int orientations; /* bins over 0..180 degrees, 1..64 */
    int cell;         /* pixels per cell (square), 1..64 */
    int block;        /* cells per block (square), 1..16 */
    bh_hog_norm norm;
} bh_hog_params;

/* Length of the HOG vector for an h x w image: 0 if the image holds no block. */
size_t bh_hog_size(int h, int w, const bh_hog_params *p);
/* HOG of a grayscale image, numerically equal to skimage.feature.hog(img,
 * orientations, (cell,cell), (block,block), norm, feature_vector=True) on a
 * float64 image (central-difference gradients, unsigned orientation bins,
 * cell averages accumulated in single precision as skimage does, eps 1e-5).
 * out has bh_hog_size() doubles. Errors: BH_EINVAL. */
bh_status bh_hog(const double *img, int h, int w, const bh_hog_params *p, double *out);

/* Uniform rotation-invariant LBP codes, equal to
 * skimage.feature.local_binary_pattern(img, P, R, 'uniform'): code = number of
 * neighbours >= centre when the pattern has at most two 0/1 changes (counted,
 * as skimage does, without the wrap-around pair), else P+1. Neighbours are
 * bilinearly interpolated at offsets rounded to 5 decimals, 0 outside.
 * out has h*w doubles with values 0..P+1. P in 1..32, R > 0. Errors: BH_EINVAL. */
bh_status bh_lbp_uniform(const double *img, int h, int w, int P, double R, double *out);

/* Complex Gabor kernel equal to skimage.filters.gabor_kernel(frequency, theta,
 * bandwidth, n_stds=3): returns its half sizes (kernel is (2*ky+1) x (2*kx+1)).
 * re/im may be NULL to query the size; otherwise they receive the kernel.
 * Errors: BH_EINVAL (frequency <= 0 or infinite, bandwidth <= 0 or so large
 * that 2^bandwidth overflows, kernel wider than 255). */
bh_status bh_gabor_kernel(double frequency, double theta, double bandwidth,
                          int *ky, int *kx, double *re, double *im);
/* Real and imaginary responses, equal to skimage.filters.gabor(img, frequency,
 * theta, bandwidth) (scipy.ndimage.convolve, mode 'reflect'). re/im: h*w. */
bh_status bh_gabor_filter(const double *img, int h, int w, double frequency, double theta,
                          double bandwidth, double *re, double *im);

/* Feature kinds, combinable. */
enum { BH_FEAT_HOG = 1, BH_FEAT_LBP = 2, BH_FEAT_GABOR = 4 };

/* Which features, with their parameters. The vector is the concatenation, in
 * the order HOG, LBP, Gabor, of:
 *   HOG: bh_hog() of the preprocessed image;
 *   LBP: per cell (lbp_cell x lbp_cell pixels, non-overlapping) the normalized
 *        histogram (P+2 bins, sums to 1) of the uniform LBP codes of the image
 *        scaled to 0..255;
 *   Gabor: for each frequency and each of gabor_thetas orientations k*pi/n,
 *        per cell (gabor_cell) the mean and the variance of |response|. */
typedef struct bh_feat_spec {
    unsigned kinds;
    bh_hog_params hog;
    int lbp_points;
    double lbp_radius;
    int lbp_cell;
    int gabor_thetas;
    int gabor_nfreq;
    double gabor_freqs[4];
    int gabor_cell;
} bh_feat_spec;

/* Defaults for the given kinds: HOG 9 orientations, 4-pixel cells, 2x2 blocks,
 * L2-Hys; LBP P=8 R=1, 7-pixel cells; Gabor 4 orientations, frequencies
 * 0.25 and 0.4, 7-pixel cells. */
void bh_feat_defaults(bh_feat_spec *s, unsigned kinds);
/* Parses a list of "hog", "lbp", "gabor" separated by ',' or '+' (at least
 * one) into defaults for those kinds (the vector concatenates them). Errors: BH_EINVAL naming the unknown word. */
bh_status bh_feat_parse(const char *list, bh_feat_spec *s);
/* Writes "hog,lbp"-style text for s->kinds into buf[cap]. */
void bh_feat_name(const bh_feat_spec *s, char *buf, size_t cap);
/* Vector length for side x side inputs (0 when the spec is invalid). */
size_t bh_feat_size(const bh_feat_spec *s, int side);
/* Extracts the features of a side x side image in [0,1] into out[bh_feat_size].
 * Errors: BH_EINVAL, BH_ENOMEM. */
bh_status bh_feat_extract(const bh_feat_spec *s, const float *img, int side, float *out);

/* ----------------------------------------------------------- classifiers */

typedef enum bh_clf_kind {
    BH_CLF_KNN = 0,  /* k nearest neighbours, exact (BLAS distance blocks) */
    BH_CLF_SVM = 1,  /* libsvm C-SVC, one-vs-one */
    BH_CLF_RF = 2,   /* random forest (xgboost random-forest mode) */
    BH_CLF_GBDT = 3  /* gradient-boosted trees (xgboost, multi:softprob) */
} bh_clf_kind;

/* Reports progress of long work: stage name, units done of total (total 0 when
 * unknown) and a stage-specific value (loss, accuracy; NaN when none). */
typedef void (*bh_progress_fn)(void *ctx, const char *stage, size_t done, size_t total,
                               double value);

typedef struct bh_train_opts {
    bh_clf_kind kind;
    int knn_k;          /* default 3 */
    int knn_cosine;     /* 0 Euclidean (default), 1 cosine */
    int svm_linear;     /* 0 RBF (default), 1 linear */
    double svm_c;       /* default 10; <= 0 with svm_grid selects it */
    double svm_gamma;   /* RBF gamma; <= 0 means 1/(d * var(X)) ("scale") */
    int svm_grid;       /* 1 = pick C and gamma by 3-fold CV on up to svm_grid_n samples
                           (with augment > 0: of the original rows only, rows laid out
                           as bh_digits_featurize_augmented writes them) */
    int svm_grid_n;     /* default 4000; the search needs at least 3 samples */
    int trees;          /* RF trees (default 200) / GBDT rounds (default 150) */
    int max_depth;      /* default 0: RF 14, GBDT 6 */
    double eta;         /* GBDT learning rate, default 0.3 */
    int scale;          /* standardize features (mean 0, sd 1): -1 auto (only when
                           Gabor or several kinds), 0 no, 1 yes */
    int nthread;        /* worker threads for xgboost, default 1 */
    unsigned seed;      /* default 1; also seeds the augmentation */
    int augment;        /* bh_digits_train: train on each image plus this many
                           jittered copies (0..64, default 0), see
                           bh_digits_featurize_augmented; bh_digits_train_features
                           only reads it for svm_grid */
    bh_augment_opts aug; /* their ranges, default bh_augment_defaults() */
    bh_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} bh_train_opts;

/* Fills *o with defaults for the kind. */
void bh_train_defaults(bh_train_opts *o, bh_clf_kind kind);
/* Parses "knn", "svm", "rf", "gbdt". Errors: BH_EINVAL. */
bh_status bh_clf_parse(const char *name, bh_clf_kind *out);
/* The name of a kind ("svm"...). */
const char *bh_clf_name(bh_clf_kind kind);

/* A trained digit recognizer: preprocessing + features + scaler + classifier. */
typedef struct bh_digits_model bh_digits_model;

/* Preprocesses every image of `set` (with opts->augment jittered copies of
 * each, see bh_digits_featurize_augmented), extracts features and trains.
 * Errors: BH_EINVAL, BH_ENOMEM, BH_EINTERNAL (classifier library failure). */
bh_status bh_digits_train(const bh_digit_set *set, const bh_prep_opts *prep,
                          const bh_feat_spec *feat, const bh_train_opts *opts,
                          bh_digits_model **out);
/* Same on precomputed feature rows X[n][d] (already preprocessed), for
 * callers that reuse features across classifiers. The model remembers
 * prep/feat so that image prediction applies the same pipeline. Every value
 * must be finite (NaN or infinity: BH_EINVAL). */
bh_status bh_digits_train_features(const float *X, const uint8_t *y, int n, int d,
                                   const bh_prep_opts *prep, const bh_feat_spec *feat,
                                   const bh_train_opts *opts, bh_digits_model **out);
/* Releases a model. Accepts NULL. */
void bh_digits_model_free(bh_digits_model *m);

/* Predicts one image: *label 0..9 and *score in [0,1] (class probability for
 * RF/GBDT, neighbour vote share for KNN, one-vs-one vote share for SVM).
 * An empty image gives a prediction with a score of 0. */
bh_status bh_digits_predict(const bh_digits_model *m, const uint8_t *px, int w, int h,
                            int *label, float *score);
/* Predicts n feature rows X[n][d] (d must equal the model's dimension) into
 * labels[n] and (optional) scores[n]. A NaN or infinite feature is BH_EINVAL
 * (as for bh_digits_predict_proba). */
bh_status bh_digits_predict_features(const bh_digits_model *m, const float *X, int n, int d,
                                     uint8_t *labels, float *scores);
/* Class scores of n feature rows: proba[n][10], each row summing to 1 (0 for
 * classes the model never saw): RF/GBDT the class probabilities, KNN the
 * neighbour vote shares, SVM soft one-vs-one votes (pair (a,b) with decision
 * value f gives a logistic(f) and b 1 - logistic(f), over the k(k-1)/2 pairs).
 * Averaging them over several models (each on its own features) and taking
 * the largest makes an ensemble. */
bh_status bh_digits_predict_proba(const bh_digits_model *m, const float *X, int n, int d,
                                  float *proba);
/* Extracts features for every image of set with the model's pipeline into a
 * new array (*X, n*d floats, caller frees with free()); *d receives the width. */
bh_status bh_digits_featurize(const bh_digit_set *set, const bh_prep_opts *prep,
                              const bh_feat_spec *feat, float **X, int *d,
                              bh_progress_fn progress, void *ctx);

/* As bh_digits_featurize, plus `copies` jittered copies of every image: each
 * image is preprocessed once, then copy k (1..copies) of image i is
 * bh_digit_augment() of it with aug (NULL = defaults) and generator seed
 * bh_augment_seed(seed, i, k) (re-binarized when prep->binarize), so the
 * result depends only on the arguments. *X gets n*(copies+1) rows of *d
 * floats, image i's own row at i*(copies+1) followed by its copies; *y (y may
 * be NULL) gets the matching labels. Both are the caller's to free(). copies 0..64.
 * Errors: BH_EINVAL, BH_ELIMIT (more than INT_MAX rows), BH_ENOMEM. */
bh_status bh_digits_featurize_augmented(const bh_digit_set *set, const bh_prep_opts *prep,
                                        const bh_feat_spec *feat, int copies, unsigned seed,
                                        const bh_augment_opts *aug, float **X, uint8_t **y,
                                        int *d, bh_progress_fn progress, void *ctx);

/* Accessors. */
bh_clf_kind bh_digits_model_kind(const bh_digits_model *m);
const bh_prep_opts *bh_digits_model_prep(const bh_digits_model *m);
const bh_feat_spec *bh_digits_model_feat(const bh_digits_model *m);
/* Short description of the classifier's settings ("C=10 gamma=0.0123 nSV=1234"). */
const char *bh_digits_model_info(const bh_digits_model *m);

/* Saves to a binary file ("BHDIGIT1" + version + pipeline + classifier). */
bh_status bh_digits_save(const bh_digits_model *m, const char *path);
/* Loads a model saved by bh_digits_save; every length and count is checked
 * against the file size, so a truncated file or a file of another kind (a
 * libsvm text model, an xgboost JSON) fails with BH_EFORMAT; so does an RF/GBDT
 * section whose structure or trees xgboost could not safely read. */
bh_status bh_digits_load(const char *path, bh_digits_model **out);

/* ------------------------------------------------------------- metrics */

/* Accuracy and macro-F1 over n predictions of 10 classes; confusion[10][10]
 * (row = truth, column = prediction) when not NULL. */
void bh_digits_score(const uint8_t *truth, const uint8_t *pred, int n, double *accuracy,
                     double *macro_f1, int confusion[10][10]);

/* ---------------------------------------------------------- digit strings */

/* One digit found in a line image: its box and prediction. */
typedef struct bh_digit_box {
    int x, y, w, h;
    int label;
    float score;
} bh_digit_box;

/* Reads a horizontal line of handwritten digits: binarizes (Otsu, polarity
 * detected), finds 8-connected components, drops specks (< 1% of the ink or
 * < 4 pixels), merges components that overlap horizontally by more than half
 * of the narrower one (broken strokes), splits components wider than 1.6x
 * the median height into equal parts, then classifies each piece left to
 * right. Writes at most cap boxes, *n gets the count found (may exceed cap;
 * at most 256 are read). Errors: BH_EINVAL, BH_ENOMEM. */
bh_status bh_digits_read(const bh_digits_model *m, const uint8_t *px, int w, int h,
                         bh_digit_box *boxes, int cap, int *n);

#ifdef __cplusplus
}
#endif
#endif
