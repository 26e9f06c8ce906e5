/* eval/svg.c — SVG charts for the evaluation report (see svg.h). */
#include "eval/svg.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"};

bh_status bh__svg_bars(const char *path, const char *title, const char *const *labels, size_t n_groups,
                       const char *const *series, size_t n_series, const double *values, double vmax)
{
    FILE *f = fopen(path, "w");
    if (!f) return bh__fail(BH_EIO, "cannot write %s", path);
    const int left = 190, bar = 16, gap = 10, width = 760, top = 50;
    int plot = width - left - 70;
    int h = top + (int)n_groups * ((int)n_series * bar + gap) + 30 + 22 * (int)((n_series + 2) / 3);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, h);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">");
    esc(f, title);
    fprintf(f, "</text>\n");
    for (int t = 0; t <= 4; t++) {
        double v = vmax * t / 4;
        int x = left + (int)(plot * t / 4);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, top - 8, x,
                top + (int)n_groups * ((int)n_series * bar + gap));
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#666\">%.3g</text>\n", x, top - 12, v);
    }
    int y = top;
    for (size_t g = 0; g < n_groups; g++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + (int)n_series * bar / 2 + 4);
        esc(f, labels[g]);
        fprintf(f, "</text>\n");
        for (size_t s = 0; s < n_series; s++) {
            double v = values[s * n_groups + g];
            if (v < 0) {
                fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#999\" font-size=\"10\">n/a</text>\n", left + 4, y + bar - 4);
            } else {
                int w = vmax > 0 ? (int)(plot * (v > vmax ? vmax : v) / vmax) : 0;
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", left, y, w, bar - 2,
                        palette[s % 7]);
                fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%.1f</text>\n", left + w + 4, y + bar - 5, v);
            }
            y += bar;
        }
        y += gap;
    }
    y += 10;
    for (size_t s = 0; s < n_series; s++) {
        int x = 10 + (int)(s % 3) * 250, yy = y + (int)(s / 3) * 22;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\">", x, yy,
                palette[s % 7], x + 20, yy + 12);
        esc(f, series[s]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
    return fclose(f) ? bh__fail(BH_EIO, "cannot write %s", path) : BH_OK;
}

bh_status bh__svg_confusion(const char *path, const char *title, const char *const *classes, size_t n,
                            const long *counts)
{
    FILE *f = fopen(path, "w");
    if (!f) return bh__fail(BH_EIO, "cannot write %s", path);
    const int cell = n > 8 ? 40 : 64, left = 150, top = 80;
    int w = left + (int)n * cell + 30, h = top + (int)n * cell + 50;
    int tw = 20 + 9 * (int)strlen(title) * 3 / 4; /* rough title width; UTF-8 bytes overestimate, which is safe */
    if (w < tw) w = tw;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">");
    esc(f, title);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"44\" text-anchor=\"middle\" fill=\"#444\">predicted</text>\n",
            left + (int)n * cell / 2);
    fprintf(f, "<text x=\"12\" y=\"%d\" fill=\"#444\">gold</text>\n", top + (int)n * cell / 2);
    for (size_t j = 0; j < n; j++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">", left + (int)j * cell + cell / 2, top - 8);
        esc(f, classes[j]);
        fprintf(f, "</text>\n");
    }
    for (size_t i = 0; i < n; i++) {
        long row = 0;
        for (size_t j = 0; j < n; j++) row += counts[i * n + j];
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">", left - 6, top + (int)i * cell + cell / 2 + 4);
        esc(f, classes[i]);
        fprintf(f, "</text>\n");
        for (size_t j = 0; j < n; j++) {
            double share = row ? (double)counts[i * n + j] / (double)row : 0;
            int shade = 255 - (int)(share * 200);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>\n",
                    left + (int)j * cell, top + (int)i * cell, cell, cell, shade, shade);
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%ld</text>\n",
                    left + (int)j * cell + cell / 2, top + (int)i * cell + cell / 2 + 4, share > 0.6 ? "white" : "black",
                    counts[i * n + j]);
        }
    }
    fprintf(f, "</svg>\n");
    return fclose(f) ? bh__fail(BH_EIO, "cannot write %s", path) : BH_OK;
}
