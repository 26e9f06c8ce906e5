/* pipeline/cli_annotate.h — `bhasha annotate` with an optional distribution
 * layer. The plain CLI runs it as one process (dist == NULL); build/bhasha-mpi
 * (pipeline/mpi/bhasha_mpi.c, built only where mpicc exists) passes the MPI
 * rank, size and a gather (pipeline/cli_dist.h), and each rank annotates its
 * byte range of the input into its own part file. */
#ifndef BH_PIPELINE_CLI_ANNOTATE_H
#define BH_PIPELINE_CLI_ANNOTATE_H

#include "pipeline/cli_dist.h"

/* Runs `bhasha annotate` (argv[0] = "annotate"); returns the exit status. */
int cli_annotate_run(int argc, char **argv, const cli_dist *dist);

#endif
