/* meta.json, the other half of a run's data: what ran, where, with which build, and whether it
 * finished. Written by run (and merge), read by resume, merge, plot and compare. */
#ifndef TB_META_H
#define TB_META_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "probe.h"


struct tb_matrix; /* matrix.h: only the writer needs it */

typedef struct tb_meta_run {
    const char *run_id, *out_dir;
    int argc;
    char **argv;
    const struct tb_matrix *m;
    double load_before[3], load_after[3];
    unsigned long long cpu_before[2], cpu_after[2]; /* /proc/stat: all CPU time, and stolen time */
    tb_probe probe_before, probe_after; /* the machine's yardstick (probe.h); NaN: not taken */
    char started[32], ended[32];
    bool interrupted;
    bool complete;             /* every cell of the matrix has its row (false until the end) */
    const char *versions_json; /* allocator -> version, as a JSON object text */
    const char *warnings_json; /* what workers wrote to stderr, distinct lines, a JSON array text */
    const char *adaptive_json; /* --reps auto: each cell's reps and whether it converged (JSON) */
    bool auto_reps;
    double target_pct, budget_s;
    const char *measure;       /* "time" or "instructions" */
    const char *count_method;  /* instructions: "perf" or "callgrind" */
    const char *against;       /* run --against: the other build's libtmempool */
    bool pin;
    const char *pairing;       /* "duet", "interleave", or NULL: each cell on its own */
    double slice_ms;           /* interleave: the slice length */
    double timeout;
    unsigned shard_k, shard_n; /* shard_n 0 or 1: not sharded */
    const cJSON *prev;         /* --resume: the meta.json being continued (its command line and
                                * start are kept; this one is added to its "resumed" list) */
} tb_meta_run;

int tb_meta_write(const char *dir, const tb_meta_run *mr, char *err, size_t errlen);
/* Writes root as DIR/meta.json: beside, synced, renamed. 0, or -1 with a message. */
int tb_meta_write_json(const char *dir, const cJSON *root, char *err, size_t errlen);
/* DIR/meta.json, or NULL when missing or not JSON (why, in err if not NULL). */
cJSON *tb_meta_read(const char *dir, char *err, size_t errlen);
/* Whether DIR's run finished every cell: false when meta.json says "complete": false (written
 * at the start, set at the end: a killed run keeps false) or is interrupted; rows and cells
 * (the matrix's count, 0 when unknown) say how far it got. A run from before the field counts
 * as complete when its rows are as many as its cells. */
bool tb_meta_complete(const cJSON *meta, size_t rows, size_t *cells);
/* root[a][b] (b may be NULL) when it is a string, else "". */
const char *tb_json_str(const cJSON *root, const char *a, const char *b);
void tb_utc_now(char *buf, size_t len, bool compact);
/* /proc/stat's total and steal jiffies over all CPUs; zeros where it cannot be read. */
void tb_cpu_times(unsigned long long out[2]);

#endif
