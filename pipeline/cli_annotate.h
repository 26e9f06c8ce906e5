/* pipeline/cli_annotate.h — `bhasha annotate` with an optional distribution
 * layer. The plain CLI runs it as one process (dist == NULL); build/bhasha-mpi
 * (pipeline/mpi/bhasha_mpi.c, built only where mpicc exists) passes the MPI
 * rank, size and a gather, and each rank annotates its byte range of the
 * input into its own part file. Keeping MPI behind these few callbacks is what
 * lets the main build and libbhasha stay free of MPI headers. */
#ifndef BH_PIPELINE_CLI_ANNOTATE_H
#define BH_PIPELINE_CLI_ANNOTATE_H

#include <stddef.h>

typedef struct cli_dist {
    int rank, size;
    /* Every rank sends n bytes; rank 0 receives size*n bytes in rank order into recv
     * (ignored elsewhere). Returns 0 on success. */
    int (*gather)(const struct cli_dist *d, const void *send, size_t n, void *recv);
    void *impl;
} cli_dist;

/* Runs `bhasha annotate` (argv[0] = "annotate"); returns the exit status. */
int cli_annotate_run(int argc, char **argv, const cli_dist *dist);

#endif
