/* tmbench internals shared by the subcommands: cells, results, options, CSV and meta. */
#ifndef TB_H
#define TB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_alloc.h"
#include "workload.h"

#define TB_VERSION "0.1.0"
#define TB_EXIT_OK 0
#define TB_EXIT_CELLS 1 /* some cell is not ok or skipped; for compare: a regression */
#define TB_EXIT_USAGE 2
#define TB_EXIT_INTERRUPTED 130

/* One cell repetition: what a worker runs. */
typedef struct tb_cell {
    const tb_allocator *alloc;
    const tb_workload *wl;
    char params[256]; /* key=value;key=value in descriptor order, defaults filled in */
    unsigned threads;
    size_t size;
    unsigned rep;
    bool variant; /* the run has this workload with other params too: progress lines name them */
} tb_cell;

/* The CSV columns, in order: the contract's 20 first, then the extras. */
#define TB_COLUMNS(X)                                                                           \
    X(run_id) X(allocator) X(allocator_version) X(workload) X(params) X(threads) X(object_size)  \
    X(rep) X(status) X(ops) X(seconds) X(ops_per_sec) X(ns_per_op) X(lat_p50_ns) X(lat_p99_ns)   \
    X(lat_p999_ns) X(peak_rss_kib) X(pool_bytes_reserved) X(lock_waits) X(error)                 \
    X(free_p50_ns) X(free_p99_ns) X(free_p999_ns) X(base_rss_kib) X(end_rss_kib)                 \
    X(mark_rss_kib) X(mark_pool_bytes) X(cache_hits) X(cache_misses) X(remote_frees)             \
    X(instructions_per_op) X(count_method) X(seed)

enum {
#define X(c) TB_COL_##c,
    TB_COLUMNS(X)
#undef X
        TB_NCOLS
};
extern const char *const tb_col_names[TB_NCOLS];

/* A row as strings (empty = unknown). */
typedef struct tb_row {
    char *v[TB_NCOLS];
} tb_row;

typedef struct tb_table {
    tb_row *rows;
    size_t n, cap;
    char **header; /* the file's own header names */
    size_t ncols_file;
} tb_table;

/* csv.c */
int tb_csv_read(const char *path, tb_table *t, char *err, size_t errlen); /* 0 or -1 */
void tb_table_free(tb_table *t);
int tb_csv_append_row(FILE *f, const tb_row *r);  /* whole row, then fflush + fsync */
int tb_csv_write_header(FILE *f);
/* Opens results.csv for appending: writes the header to a new file; on an existing one drops
 * a torn last line and checks the header. NULL with a message on error. */
FILE *tb_csv_open_append(const char *path, char *err, size_t errlen);
void tb_row_set(tb_row *r, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void tb_row_clear(tb_row *r);
const char *tb_row_get(const tb_row *r, int col);
double tb_row_num(const tb_row *r, int col); /* NaN when empty */
/* The key that identifies a cell repetition: allocator|workload|params|threads|size|rep */
void tb_row_key(const tb_row *r, char *buf, size_t len, bool with_rep);

/* matrix.c */
typedef struct tb_matrix_opts {
    const char *preset;
    const char *allocators, *workloads, *threads, *sizes;
    int reps;                 /* -1 = preset's */
    double duration;          /* seconds; 0 = use ops */
    uint64_t ops;             /* total per cell; 0 = preset's */
    uint64_t seed;
    bool seed_set;
    unsigned shard_k, shard_n;
    const char *pset[32];     /* -p key=value */
    int npset;
    bool pset_no_preset;      /* --resume: pset already holds what the preset added */
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
} tb_matrix;

int tb_matrix_build(const tb_matrix_opts *o, tb_matrix *m, char *err, size_t errlen);
int tb_parse_list_u(const char *s, unsigned *out, int max, const char *what, char *err, size_t errlen);
/* Canonical params for w from -p settings (unknown keys are an error naming the valid ones). */
int tb_params_canon(const tb_workload *w, const char *const *pset, int npset, char *out,
                    size_t outlen, char *err, size_t errlen);
uint64_t tb_parse_ops(const char *s, bool *ok);

/* meta.c */
typedef struct tb_meta_run {
    const char *run_id, *out_dir;
    int argc;
    char **argv;
    const tb_matrix *m;
    double load_before[3], load_after[3];
    char started[32], ended[32];
    bool interrupted;
    const char *versions_json; /* allocator -> version, as a JSON object text */
    const char *measure;       /* "time" or "instructions" */
    const char *count_method;  /* instructions: "perf" or "callgrind" */
    const char *against;       /* run --against: the other build's libtmempool */
} tb_meta_run;
int tb_meta_write(const char *dir, const tb_meta_run *mr, char *err, size_t errlen);
void tb_utc_now(char *buf, size_t len, bool compact);
const char *tb_git_commit(void);

/* subcommands */
int tb_cmd_list(int argc, char **argv);
int tb_cmd_run(int argc, char **argv);
int tb_cmd_worker(int argc, char **argv);
int tb_cmd_merge(int argc, char **argv);
int tb_cmd_compare(int argc, char **argv);
int tb_cmd_plot(int argc, char **argv);

/* Usage errors: one message to stderr, returns TB_EXIT_USAGE. */
int tb_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
