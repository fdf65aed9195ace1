/* The run matrix: presets, the flags over them, and the list of cell repetitions in run order. */
#ifndef TB_MATRIX_H
#define TB_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_alloc.h"
#include "workload.h"

/* One cell repetition: what a worker runs. */
typedef struct tb_cell {
    const tb_allocator *alloc;
    const tb_workload *wl;
    char params[256]; /* key=value;key=value in descriptor order, defaults filled in */
    unsigned threads;
    size_t size;     /* a fixed size; with many sizes, the largest (object_size in the CSV) */
    tb_sizes sizes;  /* what --sizes named for this cell */
    unsigned rep;
    bool variant; /* the run has this workload with other params too: progress lines name them */
    bool done;    /* --resume: its row is there already */
} tb_cell;

typedef struct tb_matrix_opts {
    const char *preset;
    const char *allocators, *workloads, *threads, *sizes;
    bool sizes_from_preset;   /* --resume of a run without --sizes: sizes is the preset's */
    bool duration_from_preset; /* --resume of a run without --duration: the preset's, per workload */
    int reps;                 /* -1 = preset's */
    double duration;          /* seconds; 0 = use ops */
    uint64_t ops;             /* total per cell; 0 = preset's */
    uint64_t seed;
    bool seed_set;
    unsigned shard_k, shard_n;
    const char *pset[32];     /* -p key=value */
    int npset;
    bool pset_no_preset;      /* --resume: pset already holds what the preset added */
    bool duet_pairs;          /* --duet without --against: pair the two allocators' cells */
} tb_matrix_opts;

typedef struct tb_matrix {
    tb_cell *cells;           /* in run order: rounds outer, shuffled inside */
    size_t n;
    size_t total_unsharded;
    double duration;
    uint64_t ops;
    int reps;
    uint64_t seed;
    unsigned sample_every;
    const char *const *pset; /* -p settings, recorded so that --resume rebuilds the same cells */
    int npset;
    char allocators[1024], workloads[512], threads[128], sizes[128];
    bool sizes_given;         /* --sizes was given: it overrides the workloads' own sizes */
    bool duration_given;      /* --duration was given: every cell that long, whatever its workload */
    bool duet_pairs;
} tb_matrix;

int tb_matrix_build(const tb_matrix_opts *o, tb_matrix *m, char *err, size_t errlen);
int tb_parse_list_u(const char *s, unsigned *out, int max, const char *what, char *err, size_t errlen);
/* --sizes: comma-separated fixed sizes and ranges (sizes.h); duplicates dropped. The count, or
 * -1 with a message naming the bad item and what would be right. */
int tb_parse_sizes(const char *s, tb_sizes *out, int max, char *err, size_t errlen);
/* How long a timed cell of workload w runs: --duration when given, else the preset's, but no
 * shorter than the workload's min_seconds. 0 for a run of fixed op counts. */
double tb_cell_seconds(const tb_matrix *m, const tb_workload *w);
/* Whether two cells are the same cell apart from the allocator and the repetition. */
bool tb_cell_same_point(const tb_cell *a, const tb_cell *b);
/* Canonical params for w from -p settings (unknown keys are an error naming the valid ones). */
int tb_params_canon(const tb_workload *w, const char *const *pset, int npset, char *out,
                    size_t outlen, char *err, size_t errlen);
uint64_t tb_parse_ops(const char *s, bool *ok);
/* The next value of a splitmix64 stream: the same seed gives the same order on any machine. */
uint64_t tb_splitmix(uint64_t *state);
/* Moves each X@tag (run --against) right after its X in a shuffled round; with any_pair, the
 * other allocator's cell of the same workload, params, threads and size (--duet with two). */
void tb_matrix_pair_twins(tb_cell *round, size_t n, bool any_pair);
/* The presets, one line each, for `list` and `run --help`. */
void tb_presets_print(FILE *f);

#endif
