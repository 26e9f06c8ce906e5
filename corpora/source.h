/* corpora/source.h — private: a buffered byte/line source over zlib (plain or gzip
 * files, stdin), with line numbers, a BOM strip at the start and a line-size limit.
 * The source owns its buffer; the caller owns the bh_buf lines are read into. */
#ifndef BH_CORPORA_SOURCE_H
#define BH_CORPORA_SOURCE_H

#include <zlib.h>

#include "bhasha/core.h"

typedef struct bh__src {
    gzFile gz;
    char *path;           /* for messages */
    unsigned char *buf;   /* read buffer */
    size_t pos, end;
    int eof;
    int started;          /* BOM check done */
    long lineno;          /* number of the last line returned (1-based) */
    size_t max_line;
    long long bytes;      /* bytes consumed (decompressed) */
} bh__src;

/* Opens path ("-" = stdin). BH_EIO on failure. */
bh_status bh__src_open(bh__src *s, const char *path, size_t max_line);
/* Reads one line (without "\n" or "\r\n") into line (cleared first).
 * Returns 1, 0 at end of input, or a negative status (I/O, truncated gzip, too long). */
int bh__src_line(bh__src *s, bh_buf *line);
/* Reads up to n bytes; returns the count (0 at end) or a negative status. */
long bh__src_read(bh__src *s, void *dst, size_t n);
void bh__src_close(bh__src *s);

#endif
