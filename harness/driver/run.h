/* Internals of `tmbench run` shared by its two files: run.c (the command: flags, output
 * directory, resume, the loop over cells) and cell.c (one cell: its worker, its row). */
#ifndef TB_RUN_H
#define TB_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "csv.h"
#include "matrix.h"

/* How every cell of this run is run. */
typedef struct tb_run_ctx {
    const char *self;        /* this executable */
    double timeout;
    bool pin;
    unsigned sample;
    uint64_t seed;
    const char *users[16];   /* NAME=/path user allocators, passed on to each worker */
    int nusers;
    const char *against;     /* LIB@TAG for the worker (--against) */
    bool instructions;       /* --measure instructions */
    bool perf;               /* ... counted with perf; else callgrind on 1-thread cells */
    const char *valgrind;
    const char *tmpdir;      /* callgrind output files */
    const char *out_dir;     /* the results directory, for messages */
    volatile sig_atomic_t *stop;  /* set by SIGINT/SIGTERM */
    volatile pid_t *child;
    volatile pid_t *child2;  /* a duet's second worker */
    bool duet;               /* --duet: each pair of cells at once, on CPUs of their own */
    double slice_s;          /* --interleave: slice length in seconds; 0: not interleaved */
} tb_run_ctx;

/* What run's flags asked for, beyond the matrix. */
typedef struct run_opts {
    tb_matrix_opts o;
    const char *out, *resume, *measure, *against;
    bool sample_set;
    bool auto_reps;            /* --reps auto */
    bool duet;                 /* --duet */
    double interleave_ms;      /* --interleave MS (0: not given) */
    double target_pct, budget_s; /* --target, --budget (0: not given) */
} run_opts;

/* runopts.c. Each returns -1 to go on, else the exit code to return. */
int tb_run_flags(int argc, char **argv, run_opts *ro, tb_run_ctx *rc);  /* the flags; --help */
int tb_run_allocators(run_opts *ro, tb_run_ctx *rc, char *against_lib, size_t liblen);
int tb_run_measure(const run_opts *ro, tb_run_ctx *rc);                 /* --measure instructions */

/* "K/N" with 1 <= K <= N <= 100000. */
bool tb_parse_shard(const char *s, unsigned *k, unsigned *n);
/* --resume DIR: the recorded run into ro and rc, and DIR's meta.json into *prev. 0, or -1 with
 * a message (a missing or absurd matrix is an error, never the default preset). */
struct cJSON;
int tb_resume_opts(const char *dir, run_opts *ro, tb_run_ctx *rc, struct cJSON **prev, char *err, size_t errlen);

/* Runs one cell repetition in a fresh worker and fills row with everything but run_id: the
 * cell's identity, the worker's figures, the status and, for a failure, the error. Returns
 * the status; TB_ST_interrupted when *stop cut it short (then the row is not to be written). */
tb_status tb_run_cell(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *c, tb_row *row,
                      char *said, size_t saidlen);
/* said: what the worker wrote to stderr (its warnings; the last 4 KiB), "" when nothing. */

/* --duet: the two cells of a pair at the same time, each worker's threads kept to its own CPUs
 * (cpus[i], "0" or "0,1"), so that whatever else the machine does falls on both (Bulej et al.,
 * ICPE 2020). Each row's duet column names the other side. */
void tb_run_duet(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *const c[2], const char *const cpus[2],
                 tb_row *row[2], char *said[2], size_t saidlen, tb_status st[2]);

/* --interleave: the two cells of a pair in one worker, in alternating slices of rc->slice_s
 * (ABBA order), each side's row the sum of its slices. Both sides must live in one process (tmempool
 * strategies, of this build or another, the floor, glibc). Each row's interleaved column names
 * the other side. */
void tb_run_interleaved(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *const c[2], tb_row *row[2],
                        char *said[2], size_t saidlen, tb_status st[2]);

#endif
