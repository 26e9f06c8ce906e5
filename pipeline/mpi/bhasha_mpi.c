/* pipeline/mpi/bhasha_mpi.c — build/bhasha-mpi: `bhasha annotate`,
 * `bhasha pretrain` and `bhasha finetune` as MPI ranks. Built by the Makefile only where mpicc
 * exists (this folder is outside the library's source folders), so MPI never
 * becomes a dependency of libbhasha or of build/bhasha; `bhasha annotate
 * --mpi` and `bhasha pretrain --mpi` exec this program.
 * annotate: each rank annotates its record-aligned byte range into
 * OUTPUT.part-R-of-N; a gather of per-part counts and CRCs lets rank 0 write
 * OUTPUT.manifest.json.
 * pretrain: data-parallel training; the allreduce below sums gradients,
 * target counts and losses over the ranks (pipeline/cli_model.h).
 * finetune: the same for an encoder + task head (pipeline/cli_finetune.h). */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "bhasha/model.h"
#include "pipeline/cli_annotate.h"
#include "pipeline/cli_finetune.h"
#include "pipeline/cli_model.h"

static int gather(const cli_dist *d, const void *send, size_t n, void *recv)
{
    (void)d;
    return MPI_Gather(send, (int)n, MPI_BYTE, recv, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS;
}

static int allreduce(const cli_dist *d, void *buf, size_t n, int type, int op)
{
    (void)d;
    MPI_Datatype dt = type == CLI_DIST_DOUBLE ? MPI_DOUBLE : MPI_FLOAT;
    size_t esz = type == CLI_DIST_DOUBLE ? sizeof(double) : sizeof(float);
    /* MPI counts are ints: large buffers go in pieces */
    for (size_t off = 0; off < n;) {
        size_t k = n - off < (size_t)INT_MAX / 2 ? n - off : (size_t)INT_MAX / 2;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * esz, (int)k, dt, op == CLI_DIST_MAX ? MPI_MAX : MPI_SUM,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return 1;
        off += k;
    }
    return 0;
}

static void abort_all(const cli_dist *d, int rc)
{
    (void)d;
    MPI_Abort(MPI_COMM_WORLD, rc);
}

int main(int argc, char **argv)
{
    int train = argc >= 2 && !strcmp(argv[1], "pretrain"), tune = argc >= 2 && !strcmp(argv[1], "finetune");
    /* the OpenBLAS kernel check may re-execute the program: before MPI starts */
    if (train || tune) bh_blas_autotune();
    MPI_Init(&argc, &argv);
    cli_dist d = {.rank = 0, .size = 1, .gather = gather, .allreduce = allreduce, .abort = abort_all};
    MPI_Comm_rank(MPI_COMM_WORLD, &d.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d.size);
    int rc;
    if (train) {
        rc = cli_pretrain_run(argc - 1, argv + 1, &d);
    } else if (tune) {
        rc = cli_finetune_run(argc - 1, argv + 1, &d);
    } else if (argc < 2 || strcmp(argv[1], "annotate")) {
        if (d.rank == 0)
            fprintf(stderr, "usage: mpirun -np N bhasha-mpi annotate --input FILE... --output FILE [--resume] [OPTIONS]\n"
                            "       mpirun -np N bhasha-mpi pretrain --mpi [OPTIONS] (bhasha pretrain --help)\n"
                            "       mpirun -np N bhasha-mpi finetune --mpi [OPTIONS] (bhasha finetune --help)\n");
        rc = 2;
    } else {
        rc = cli_annotate_run(argc - 1, argv + 1, &d);
    }
    MPI_Finalize();
    return rc;
}
