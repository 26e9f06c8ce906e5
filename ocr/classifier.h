/* ocr/classifier.h — private interface between the digit model (ocr/model.c)
 * and its classifiers (ocr/knn.c, ocr/svm.c, ocr/xgb.c), plus the little-endian
 * (de)serialization helpers they share. Each classifier owns its `impl`
 * object; the model frees it through ops->free. Not part of the public API. */
#ifndef BH_OCR_CLASSIFIER_H
#define BH_OCR_CLASSIFIER_H

#include <stdint.h>
#include <string.h>

#include "bhasha/ocr.h"

typedef struct bh__clf_ops {
    /* Trains on X[n][d] (row-major) with labels 0..9; writes a one-line summary to info. */
    bh_status (*train)(const float *X, const uint8_t *y, int n, int d, const bh_train_opts *o,
                       void **impl, char *info, size_t infocap);
    /* Predicts n rows; scores (n) and proba (n x 10 class scores summing to 1,
     * see bh_digits_predict_proba) may be NULL. Must not modify impl (thread-safe). */
    bh_status (*predict)(const void *impl, const float *X, int n, int d, uint8_t *labels,
                         float *scores, float *proba);
    /* Appends the classifier's payload to out. */
    bh_status (*save)(const void *impl, bh_buf *out);
    /* Rebuilds impl from a payload of n bytes; d is the model's feature width. */
    bh_status (*load)(const uint8_t *p, size_t n, int d, void **impl);
    void (*free)(void *impl);
} bh__clf_ops;

extern const bh__clf_ops bh__knn_ops;
extern const bh__clf_ops bh__svm_ops;
extern const bh__clf_ops bh__xgb_ops;

/* Little-endian writer: failures are sticky in *st. */
static inline void bh__put(bh_buf *b, bh_status *st, const void *p, size_t n)
{
    if (*st == BH_OK)
        *st = bh_buf_append(b, p, n);
}
static inline void bh__put_u32(bh_buf *b, bh_status *st, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    bh__put(b, st, c, 4);
}
static inline void bh__put_u64(bh_buf *b, bh_status *st, uint64_t v)
{
    bh__put_u32(b, st, (uint32_t)v);
    bh__put_u32(b, st, (uint32_t)(v >> 32));
}
static inline void bh__put_f64(bh_buf *b, bh_status *st, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    bh__put_u64(b, st, v);
}
static inline void bh__put_f32(bh_buf *b, bh_status *st, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    bh__put_u32(b, st, v);
}

/* Bounds-checked reader: every get returns 0 on success, -1 past the end. */
typedef struct bh__rd {
    const uint8_t *p;
    size_t n, off;
} bh__rd;
static inline int bh__get(bh__rd *r, void *dst, size_t n)
{
    if (n > r->n - r->off)
        return -1;
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}
static inline int bh__get_u32(bh__rd *r, uint32_t *v)
{
    unsigned char c[4];
    if (bh__get(r, c, 4))
        return -1;
    *v = (uint32_t)c[0] | ((uint32_t)c[1] << 8) | ((uint32_t)c[2] << 16) | ((uint32_t)c[3] << 24);
    return 0;
}
static inline int bh__get_u64(bh__rd *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (bh__get_u32(r, &lo) || bh__get_u32(r, &hi))
        return -1;
    *v = lo | ((uint64_t)hi << 32);
    return 0;
}
static inline int bh__get_f64(bh__rd *r, double *d)
{
    uint64_t v;
    if (bh__get_u64(r, &v))
        return -1;
    memcpy(d, &v, 8);
    return 0;
}
static inline int bh__get_f32(bh__rd *r, float *f)
{
    uint32_t v;
    if (bh__get_u32(r, &v))
        return -1;
    memcpy(f, &v, 4);
    return 0;
}

#endif
