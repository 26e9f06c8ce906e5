/* eval/classify.c — classification metrics with scikit-learn's definitions
 * (labels = sorted union of gold and predicted; zero_division = 0). */
#include <stdlib.h>
#include <string.h>

#include "bhasha/eval.h"
#include "core/error.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long find_class(char **cls, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(cls[mid], s);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

void bh_class_report_free(bh_class_report *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_classes; i++) free(r->classes[i]);
    free(r->classes);
    free(r->support);
    free(r->precision);
    free(r->recall);
    free(r->f1);
    free(r->confusion);
    free(r);
}

static double safe_div(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static double fscore(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

bh_status bh_eval_classification(const char *const *gold, const char *const *pred, size_t n,
                                 bh_class_report **out)
{
    if (!out || ((!gold || !pred) && n)) return bh__fail(BH_EINVAL, "bh_eval_classification: NULL argument");
    *out = NULL;
    if (n == 0) return bh__fail(BH_EINVAL, "bh_eval_classification: no examples");
    for (size_t i = 0; i < n; i++)
        if (!gold[i] || !pred[i]) return bh__fail(BH_EINVAL, "label %zu is NULL", i);
    /* distinct sorted labels */
    const char **all = malloc(2 * n * sizeof *all);
    if (!all) return bh__fail(BH_ENOMEM, "labels");
    memcpy(all, gold, n * sizeof *all);
    memcpy(all + n, pred, n * sizeof *all);
    qsort(all, 2 * n, sizeof *all, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < 2 * n; i++)
        if (i == 0 || strcmp(all[i], all[i - 1])) all[k++] = all[i];
    bh_class_report *r = calloc(1, sizeof *r);
    if (!r) {
        free(all);
        return bh__fail(BH_ENOMEM, "report");
    }
    r->n_classes = k;
    r->n = (long)n;
    r->classes = calloc(k, sizeof *r->classes);
    r->support = calloc(k, sizeof *r->support);
    r->precision = calloc(k, sizeof(double));
    r->recall = calloc(k, sizeof(double));
    r->f1 = calloc(k, sizeof(double));
    r->confusion = calloc(k * k, sizeof *r->confusion);
    if (!r->classes || !r->support || !r->precision || !r->recall || !r->f1 || !r->confusion) goto nomem;
    for (size_t i = 0; i < k; i++)
        if (!(r->classes[i] = strdup(all[i]))) goto nomem;
    free(all);
    all = NULL;
    long correct = 0;
    for (size_t i = 0; i < n; i++) {
        long g = find_class(r->classes, k, gold[i]), p = find_class(r->classes, k, pred[i]);
        r->confusion[g * (long)k + p]++;
        r->support[g]++;
        if (g == p) correct++;
    }
    r->accuracy = (double)correct / (double)n;
    double tp_all = 0, pred_all = 0, gold_all = 0;
    for (size_t c = 0; c < k; c++) {
        double tp = (double)r->confusion[c * k + c], np = 0;
        for (size_t g = 0; g < k; g++) np += (double)r->confusion[g * k + c];
        r->precision[c] = safe_div(tp, np);
        r->recall[c] = safe_div(tp, (double)r->support[c]);
        r->f1[c] = fscore(r->precision[c], r->recall[c]);
        r->macro_p += r->precision[c] / (double)k;
        r->macro_r += r->recall[c] / (double)k;
        r->macro_f1 += r->f1[c] / (double)k;
        double w = (double)r->support[c] / (double)n;
        r->weighted_p += w * r->precision[c];
        r->weighted_r += w * r->recall[c];
        r->weighted_f1 += w * r->f1[c];
        tp_all += tp;
        pred_all += np;
        gold_all += (double)r->support[c];
    }
    r->micro_p = safe_div(tp_all, pred_all);
    r->micro_r = safe_div(tp_all, gold_all);
    r->micro_f1 = fscore(r->micro_p, r->micro_r);
    *out = r;
    return BH_OK;
nomem:
    free(all);
    bh_class_report_free(r);
    return bh__fail(BH_ENOMEM, "report");
}
