/* results.csv, the data contract between the driver and everything that reads a run: the
 * columns, the statuses a row can have, a row as strings, and reading and appending files.
 * Both lists are X-macros, so the writer, the readers and the worker's reply (proto.h) use
 * one definition of each. */
#ifndef TB_CSV_H
#define TB_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The CSV columns, in order: the contract's 20 first, then the extras. The second field says
 * who fills the column: CELL, the driver from the cell it ran (identity), or WORKER, the
 * worker's reply (a figure, the status, the error). The third is what a value must be, which
 * every reader checks (tb_table_check): TEXT; KEY, text that identifies the cell and may not be
 * empty; WHOLE, digits only; COUNT, a whole number from 1; REAL, a finite number >= 0; RATE, a
 * finite number > 0; SIGNED, a finite number (RSS reads -1 where /proc could not say). */
#define TB_COLUMNS(X)                                                                            \
    X(run_id, CELL, TEXT) X(allocator, CELL, KEY) X(allocator_version, WORKER, TEXT)             \
    X(workload, CELL, KEY) X(params, CELL, TEXT) X(threads, CELL, COUNT)                         \
    X(object_size, CELL, COUNT) X(rep, CELL, WHOLE) X(status, WORKER, KEY) X(ops, WORKER, WHOLE) \
    X(seconds, WORKER, REAL) X(ops_per_sec, WORKER, RATE) X(ns_per_op, WORKER, RATE)             \
    X(lat_p50_ns, WORKER, REAL) X(lat_p99_ns, WORKER, REAL) X(lat_p999_ns, WORKER, REAL)         \
    X(peak_rss_kib, WORKER, REAL) X(pool_bytes_reserved, WORKER, WHOLE)                          \
    X(lock_waits, WORKER, WHOLE) X(error, WORKER, TEXT)                                          \
    X(free_p50_ns, WORKER, REAL) X(free_p99_ns, WORKER, REAL) X(free_p999_ns, WORKER, REAL)      \
    X(base_rss_kib, WORKER, SIGNED) X(end_rss_kib, WORKER, SIGNED) X(mark_rss_kib, WORKER, REAL) \
    X(mark_pool_bytes, WORKER, REAL) X(cache_hits, WORKER, WHOLE) X(cache_misses, WORKER, WHOLE) \
    X(remote_frees, WORKER, WHOLE) X(instructions_per_op, WORKER, RATE)                          \
    X(count_method, WORKER, TEXT) X(seed, CELL, WHOLE) X(timer_resolution_ns, WORKER, REAL)       \
    X(lat_bound_ns, WORKER, REAL) X(invol_switches, WORKER, WHOLE) X(cpu_migrations, WORKER, WHOLE)     \
    X(steal_pct, WORKER, REAL) X(alloc_batch_ns, WORKER, REAL) X(free_batch_ns, WORKER, REAL)    \
    X(duet, CELL, TEXT) X(interleaved, CELL, TEXT) X(slices, WORKER, WHOLE) X(slice_ms, WORKER, REAL) \
    X(slice_ops_per_sec, WORKER, RATE) X(sizes, CELL, TEXT) X(mark_live_bytes, WORKER, REAL)        \
    X(mark_rss_ratio, WORKER, REAL) X(mark_reserve_ratio, WORKER, REAL) X(cpus_used, WORKER, WHOLE)       \
    X(page_faults, WORKER, WHOLE)

enum {
#define X(c, who, kind) TB_COL_##c,
    TB_COLUMNS(X)
#undef X
        TB_NCOLS
};
extern const char *const tb_col_names[TB_NCOLS];
extern const bool tb_col_from_worker[TB_NCOLS];
int tb_col_index(const char *name); /* -1 when no column has that name */

/* A cell repetition's status. good: counts as success for run's exit code. */
#define TB_STATUSES(X)                                                                           \
    X(ok, true, "ran; every object's pattern checked; figures recorded")                        \
    X(skipped, true, "does not apply to this allocator or thread count (error says why)")       \
    X(unavailable, false, "the allocator is not installed here, or its preload did not take")    \
    X(failed, false, "the worker reported an error, or exited without a result")                \
    X(crashed, false, "the worker died by a signal (named in error)")                           \
    X(timeout, false, "killed after --timeout seconds")                                         \
    X(corrupt, false, "an object's pattern was overwritten: overlapping objects or stray writes") \
    X(interrupted, false, "stopped by SIGINT/SIGTERM before it finished: never written as a row")

typedef enum tb_status {
    TB_STATUS_NONE = -1, /* no status (a worker that said nothing, an unknown string) */
#define X(s, good, help) TB_ST_##s,
    TB_STATUSES(X)
#undef X
        TB_NSTATUS
} tb_status;
const char *tb_status_name(tb_status s); /* "" for TB_STATUS_NONE */
tb_status tb_status_parse(const char *s); /* TB_STATUS_NONE when unknown */
bool tb_status_good(tb_status s);
const char *tb_status_help(tb_status s);

/* A row as strings (empty = unknown). */
typedef struct tb_row {
    char *v[TB_NCOLS];
} tb_row;

typedef struct tb_table {
    tb_row *rows;
    size_t *line; /* each row's line in its file */
    size_t n, cap;
    char **header; /* the file's own header names */
    size_t ncols_file;
} tb_table;

int tb_csv_read(const char *path, tb_table *t, char *err, size_t errlen); /* 0 or -1 */
/* Checks every value against its column's kind, every status against TB_STATUSES, and that no
 * cell repetition appears twice. 0, or -1 with "PATH:LINE: column C: ..." in err. */
int tb_table_check(const tb_table *t, const char *path, char *err, size_t errlen);
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
tb_status tb_row_status(const tb_row *r);
/* The key that identifies a cell repetition: allocator|workload|params|threads|size|sizes|rep
 * (sizes as tb_row_size_dist says) */
void tb_row_key(const tb_row *r, char *buf, size_t len, bool with_rep);
/* A many-size cell's sizes column ("8-1000", "8-1000:log"); "" for a fixed-size cell, whose
 * column holds its size or, in files older than the column, nothing. */
const char *tb_row_size_dist(const tb_row *r);
struct tb_sizes;
/* Whether the row's cell has these sizes. */
bool tb_row_sizes_match(const tb_row *r, const struct tb_sizes *s);
/* How a cell's sizes read in a label: "64B", "8-1000B", "8-1000B:log". */
void tb_size_label(size_t object_size, const char *size_dist, char *buf, size_t len);

#endif
