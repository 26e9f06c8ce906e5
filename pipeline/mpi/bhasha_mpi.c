/* pipeline/mpi/bhasha_mpi.c — build/bhasha-mpi: `bhasha annotate` as one MPI rank.
 * Built by the Makefile only where mpicc exists (this folder is outside the
 * library's source folders), so MPI never becomes a dependency of libbhasha
 * or of build/bhasha; `bhasha annotate --mpi` execs this program.
 * Each rank annotates its record-aligned byte range into OUTPUT.part-R-of-N;
 * the one collective (a gather of per-part counts and CRCs) lets rank 0 write
 * OUTPUT.manifest.json. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/cli_annotate.h"

static int gather(const cli_dist *d, const void *send, size_t n, void *recv)
{
    (void)d;
    return MPI_Gather(send, (int)n, MPI_BYTE, recv, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    cli_dist d = {0, 1, gather, NULL};
    MPI_Comm_rank(MPI_COMM_WORLD, &d.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d.size);
    int rc;
    if (argc < 2 || strcmp(argv[1], "annotate")) {
        if (d.rank == 0)
            fprintf(stderr, "usage: mpirun -np N bhasha-mpi annotate --input FILE... --output FILE [--resume] [OPTIONS]\n");
        rc = 2;
    } else {
        rc = cli_annotate_run(argc - 1, argv + 1, &d);
    }
    MPI_Finalize();
    return rc;
}
