/* pipeline/checkpoint.h — the resume state of a long annotation run, written
 * atomically (temporary file, fsync, rename, fsync of the directory), so that
 * after a crash the file on disk is either the previous checkpoint or the new
 * one, never a mix.
 *
 * The state says how far the input was consumed (segment index, byte offset,
 * records taken from that segment, a CRC-32 of every input byte consumed so
 * far) and what the output holds at that point (records, bytes, CRC-32 of the
 * output). Output is written and fdatasync'ed before the checkpoint that
 * covers it, so a checkpoint never claims output that is not on disk.
 *
 * The file is JSON; a path or config that is not UTF-8 (file names are bytes)
 * is stored as {"hex": "..."} instead of a string, so every name can resume.
 *
 * Memory: a bh__ckpt owns its strings (config, input paths); bh__ckpt_clear frees them.
 * Thread-safety: plain data; functions are reentrant. */
#ifndef BH_PIPELINE_CHECKPOINT_H
#define BH_PIPELINE_CHECKPOINT_H

#include <stdint.h>

#include "bhasha/core.h"

typedef struct bh__ckpt {
    char *config;        /* fingerprint of every option that changes the output */
    int n_inputs;
    char **paths;        /* the input segments, as given */
    uint64_t *sizes;     /* their sizes in bytes when the run started */
    int seg;             /* segment being read (n_inputs when all are done) */
    uint64_t offset;     /* byte offset reached in that segment's file (text input) */
    long seg_records;    /* records taken from that segment */
    uint32_t in_crc;     /* CRC-32 of all input consumed so far (bytes, or record texts) */
    long read, written, failed, skipped;
    uint64_t out_size;   /* bytes of output covered */
    uint32_t out_crc;    /* CRC-32 of those bytes */
    int done;            /* 1: the run finished */
} bh__ckpt;

/* Writes c to path atomically (path.tmp + fsync + rename + directory fsync).
 * On failure (BH_EIO, e.g. a full disk) the previous file at path is untouched. */
bh_status bh__ckpt_write(const char *path, const bh__ckpt *c);
/* Reads path into *c (zeroed first). BH_ENOTFOUND when there is no file,
 * BH_EFORMAT when it is not a checkpoint. */
bh_status bh__ckpt_read(const char *path, bh__ckpt *c);
/* Frees the strings of c and zeroes it. */
void bh__ckpt_clear(bh__ckpt *c);

#endif
