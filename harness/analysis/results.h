/* A finished run read back: rows grouped into cells (allocator, workload, params, threads,
 * object size and sizes), each with the repetitions of one metric, and the queries every table, chart
 * and comparison asks of them (a median, a ratio, a range), defined here once so that two
 * views of one cell cannot disagree. The analysis side knows only the driver's data formats. */
#ifndef TB_RESULTS_H
#define TB_RESULTS_H

#include <cjson/cJSON.h>

#include "csv.h"
#include "meta.h"

typedef struct tb_group {
    const char *allocator, *workload, *params; /* point into the table */
    unsigned threads;
    size_t size;
    const char *sizes;  /* a many-size cell's distribution ("8-1000:log"); "" for one size */
    double *v;          /* the metric from each ok repetition that has it */
    size_t n;
    const tb_row **rows; /* every repetition, any status */
    size_t nrows, nok, nskipped, nbad;
    const tb_row *bad;   /* the first repetition that is neither ok nor skipped */
} tb_group;

/* Reads ARG (a results directory or a results.csv) into t and names its directory in dir.
 * Empty files and files without rows are errors. 0, or -1 with a message. */
int tb_results_read(const char *arg, tb_table *t, char *dir, size_t dirlen, char *err, size_t errlen);
/* Groups t's rows into cells, sorted by allocator, workload, params, threads, size; metric is a
 * TB_COL_ index (or -1 for none). The groups point into t: free them before it. */
size_t tb_group_rows(const tb_table *t, int metric, tb_group **out);
void tb_groups_free(tb_group *g, size_t n);
/* The group of allocator with the same workload, params, threads and size as like; or NULL. */
const tb_group *tb_group_find(const tb_group *g, size_t n, const char *allocator, const tb_group *like);

/* The group of that cell (allocator, workload, params, size, sizes, threads), or NULL. */
const tb_group *tb_group_lookup(const tb_group *g, size_t n, const char *allocator, const char *workload,
                                const char *params, size_t size, const char *sizes, unsigned threads);
/* How the group's sizes read in a label: "64B", "8-1000B:log". */
void tb_group_size_label(const tb_group *g, char *buf, size_t len);
/* One setting "key=value" of params (len bytes at s) as a label shows it, into out: a file name
 * (replay's trace) by its last component, where the params keep its path. Bytes written, as
 * snprintf counts them. */
int tb_setting_label(const char *s, size_t len, char *out, size_t outlen);

/* Median of a column over a cell's ok repetitions; NaN when none has it (or g is NULL). */
double tb_group_median(const tb_group *g, int col);
/* Smallest and largest of the group's metric values (g->v); +-inf when it has none. */
void tb_group_minmax(const tb_group *g, double *lo, double *hi);

/* The rounds (repetition numbers) in which both x and b have an ok value of col, as log(x / b)
 * into d (at most max); their count. */
size_t tb_group_pairs(const tb_group *x, const tb_group *b, int col, double *d, size_t max);

/* The one estimator of "x relative to b" for every table and chart. */
typedef enum tb_ratio_how {
    TB_RATIO_NONE,    /* no value: one side has no ok repetition */
    TB_RATIO_PAIRED,  /* median over rounds of x/b within the same round (repetition number) */
    TB_RATIO_MEDIANS  /* the sides share no round: median of x over median of b */
} tb_ratio_how;
typedef struct tb_ratio {
    double value;     /* NaN with TB_RATIO_NONE */
    tb_ratio_how how;
    size_t pairs;     /* rounds paired (TB_RATIO_PAIRED) */
    double lo, hi;    /* its 95% interval: Hodges-Lehmann on the log ratios, paired (Walsh
                       * averages) or unpaired (pairwise differences), as the ratio is */
    bool reached;     /* false: too few repetitions for 95%; lo and hi are then the full range */
    double spread;    /* largest over smallest per-round ratio (paired; 1 = none), NaN if unknown */
} tb_ratio;
/* col of x over col of b. Paired by round when the two cells have ok repetitions in the same
 * rounds: the rounds are a run's outer loop, so a stretch in which the machine runs slow falls
 * on both sides of a pair and cancels, where a ratio of medians takes it whole (on the 2-core
 * VM whole rounds of cross-thread cells run 3-5x slower). A cell against itself is exactly 1. */
tb_ratio tb_group_ratio(const tb_group *x, const tb_group *b, int col);

/* The metrics a run's cells can be judged or exported by (compare --metric, export --metric):
 * a column, its unit, and which way is better. */
typedef struct tb_metric {
    const char *name; /* the column's name */
    int col;
    bool higher_better;
    bool counted;     /* not timed: repeats exactly for the same build and seed */
    bool time;        /* nanoseconds (Google Benchmark's real_time can carry it) */
    const char *unit;
} tb_metric;
extern const tb_metric tb_metrics[]; /* ends with a NULL name */
const tb_metric *tb_metric_find(const char *name);

/* The CPUs the run could use: meta.json's cpus_allowed (its affinity), else its hardware
 * threads; 0 when meta.json has neither. */
unsigned tb_run_cpus(const cJSON *meta);
/* meta.json's speed_probe (driver/probe.h): ns a step on the core and on memory, [0] before the
 * cells and [1] after (NaN where not taken), and in mean[] each one's mean over what was taken.
 * false when the run has neither figure (older tmbench). */
bool tb_run_probe(const cJSON *meta, double cpu[2], double mem[2], double mean[2]);
/* Whether an ok repetition's threads ended on fewer CPUs than they could have spread over
 * (min(threads, cpus)): two of them then shared one, and a cross-thread workload passed its
 * objects within a CPU instead of between cores (xmalloc on the 2-core VM: about 3x faster for
 * every allocator). False when cpus_used is unknown. */
bool tb_row_shared_cpu(const tb_row *r, unsigned cpus);

#endif
