/* pipeline/cli_model.h — `bhasha pretrain` with an optional distribution
 * layer (pipeline/cli_dist.h). The plain CLI trains in one process (dist ==
 * NULL); build/bhasha-mpi passes the MPI rank, size and collectives, and the
 * ranks train one model data-parallel: each takes its rows of every global
 * batch, the gradients are summed across ranks every optimizer step, and the
 * losses equal one process's with the same global batch (up to rounding). */
#ifndef BH_PIPELINE_CLI_MODEL_H
#define BH_PIPELINE_CLI_MODEL_H

#include "pipeline/cli_dist.h"

/* Runs `bhasha pretrain` (argv[0] = "pretrain"); returns the exit status. */
int cli_pretrain_run(int argc, char **argv, const cli_dist *dist);

#endif
