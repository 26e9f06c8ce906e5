/* eval/svg.h — private: the two chart kinds of the evaluation report, written as
 * standalone SVG files: grouped horizontal bars and a confusion-matrix heat map. */
#ifndef BH_EVAL_SVG_H
#define BH_EVAL_SVG_H

#include "bhasha/core.h"

/* Bars: n_groups groups (labels[g]) of n_series bars (series[s]); values[s * n_groups + g]
 * in 0..vmax; a negative value means "no value" (drawn as an empty slot, "n/a"). */
bh_status bh__svg_bars(const char *path, const char *title, const char *const *labels, size_t n_groups,
                       const char *const *series, size_t n_series, const double *values, double vmax);

/* Confusion matrix: counts[i * n + j], row = gold, column = predicted; cells shaded by row share. */
bh_status bh__svg_confusion(const char *path, const char *title, const char *const *classes, size_t n,
                            const long *counts);

#endif
