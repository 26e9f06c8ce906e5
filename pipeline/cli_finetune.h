/* pipeline/cli_finetune.h — `bhasha finetune` with an optional distribution
 * layer (pipeline/cli_dist.h). The plain CLI trains in one process (dist ==
 * NULL); build/bhasha-mpi passes the MPI rank, size and collectives, and the
 * ranks fine-tune one model data-parallel (pipeline/finetune.h: each takes
 * its rows of every batch, gradients summed every step, rank 0 evaluates,
 * prints and saves). */
#ifndef BH_PIPELINE_CLI_FINETUNE_H
#define BH_PIPELINE_CLI_FINETUNE_H

#include "pipeline/cli_dist.h"

/* Runs `bhasha finetune` (argv[0] = "finetune"); returns the exit status. */
int cli_finetune_run(int argc, char **argv, const cli_dist *dist);

#endif
