/* A finished run read back: rows grouped into cells (allocator, workload, params, threads,
 * object size), each with the repetitions of one metric. Shared by plot and compare. */
#ifndef TB_RESULTS_H
#define TB_RESULTS_H

#include <cjson/cJSON.h>

#include "tb.h"

typedef struct tb_group {
    const char *allocator, *workload, *params; /* point into the table */
    unsigned threads;
    size_t size;
    double *v;          /* the metric from each ok repetition that has it */
    size_t n;
    const tb_row **rows; /* every repetition, any status */
    size_t nrows, nok, nskipped, nbad;
    const tb_row *bad;   /* the first repetition that is neither ok nor skipped */
} tb_group;

/* Reads ARG (a results directory or a results.csv) into t and names its directory in dir.
 * Empty files and files without rows are errors. 0, or -1 with a message. */
int tb_results_read(const char *arg, tb_table *t, char *dir, size_t dirlen, char *err, size_t errlen);
/* meta.json of a run directory, or NULL when missing or not JSON (why, in err if not NULL). */
cJSON *tb_meta_read(const char *dir, char *err, size_t errlen);
/* NAME's path in $PATH (a static buffer), or NULL. */
const char *tb_find_in_path(const char *name);
/* root[a][b] (b may be NULL) when it is a string, else "". */
const char *tb_json_str(const cJSON *root, const char *a, const char *b);

/* Groups t's rows into cells, sorted by allocator, workload, params, threads, size; metric is a
 * TB_COL_ index (or -1 for none). The groups point into t: free them before it. */
size_t tb_group_rows(const tb_table *t, int metric, tb_group **out);
void tb_groups_free(tb_group *g, size_t n);
/* The group of allocator with the same workload, params, threads and size as like; or NULL. */
const tb_group *tb_group_find(const tb_group *g, size_t n, const char *allocator, const tb_group *like);

#endif
