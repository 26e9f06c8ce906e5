/* pipeline/cli_dist.h — the distribution layer of the CLI commands that can
 * run as MPI ranks (`bhasha annotate --mpi`, `bhasha pretrain --mpi`,
 * `bhasha finetune --mpi`). The plain CLI runs them as one process (dist == NULL); build/bhasha-mpi
 * (pipeline/mpi/bhasha_mpi.c, built only where mpicc exists) fills in the MPI
 * rank, size and collectives. Keeping MPI behind these callbacks is what lets
 * libbhasha and build/bhasha stay free of MPI headers. Buffers are the
 * caller's. */
#ifndef BH_PIPELINE_CLI_DIST_H
#define BH_PIPELINE_CLI_DIST_H

#include <stddef.h>

enum { CLI_DIST_FLOAT = 0, CLI_DIST_DOUBLE = 1 }; /* element types of allreduce */
enum { CLI_DIST_SUM = 0, CLI_DIST_MAX = 1 };      /* reductions of allreduce */

typedef struct cli_dist {
    int rank, size;
    /* Every rank sends n bytes; rank 0 receives size*n bytes in rank order into recv
     * (ignored elsewhere). Returns 0 on success. */
    int (*gather)(const struct cli_dist *d, const void *send, size_t n, void *recv);
    /* In place: buf[0..n) of `type` becomes the reduction (`op`) over all
     * ranks, the same on every rank. Returns 0 on success. */
    int (*allreduce)(const struct cli_dist *d, void *buf, size_t n, int type, int op);
    /* Ends every rank with exit status rc (a rank that cannot go on while the
     * others wait in a collective). Does not return. */
    void (*abort)(const struct cli_dist *d, int rc);
    void *impl;
} cli_dist;

/* `bhasha CMD --mpi` in the plain CLI: re-executes as bhasha-mpi from the same
 * folder (argv[-1] must be the program-name slot of main's argv), so that
 * `mpirun -np N bhasha CMD --mpi` works; without bhasha-mpi it prints one line
 * and returns 2. */
int cli_exec_mpi(const char *cmd, char **argv);

#endif
