/* Reading a finished run back for plot and compare: find results.csv from a directory or a
 * file, gather the repetitions of each cell, and answer the queries on them (results.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results.h"
#include "stats.h"

int tb_results_read(const char *arg, tb_table *t, char *dir, size_t dirlen, char *err, size_t errlen)
{
    struct stat st;
    char path[4200];
    if (stat(arg, &st) != 0) {
        snprintf(err, errlen, "%s: %s (want a results directory or its results.csv)", arg, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/results.csv", arg);
        snprintf(dir, dirlen, "%s", arg);
    } else {
        snprintf(path, sizeof path, "%s", arg);
        const char *slash = strrchr(arg, '/');
        snprintf(dir, dirlen, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
    }
    if (tb_csv_read(path, t, err, errlen) != 0)
        return -1;
    if (tb_table_check(t, path, err, errlen) != 0) {
        tb_table_free(t);
        return -1;
    }
    if (t->n == 0) {
        snprintf(err, errlen, "%s has a header but no rows: nothing to read", path);
        tb_table_free(t);
        return -1;
    }
    return 0;
}

static int cmp_idx(const void *a, const void *b, void *ctx)
{
    const tb_table *t = ctx;
    const tb_row *x = &t->rows[*(const size_t *)a], *y = &t->rows[*(const size_t *)b];
    static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params};
    for (size_t i = 0; i < 3; i++) {
        int c = strcmp(tb_row_get(x, cols[i]), tb_row_get(y, cols[i]));
        if (c)
            return c;
    }
    double a1 = tb_row_num(x, TB_COL_threads), b1 = tb_row_num(y, TB_COL_threads);
    if (a1 != b1)
        return a1 < b1 ? -1 : 1;
    double a2 = tb_row_num(x, TB_COL_object_size), b2 = tb_row_num(y, TB_COL_object_size);
    if (a2 != b2)
        return a2 < b2 ? -1 : 1;
    int c = strcmp(tb_row_size_dist(x), tb_row_size_dist(y));
    if (c)
        return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static bool same_cell(const tb_row *a, const tb_row *b)
{
    static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params, TB_COL_threads,
                               TB_COL_object_size};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        if (strcmp(tb_row_get(a, cols[i]), tb_row_get(b, cols[i])) != 0)
            return false;
    return strcmp(tb_row_size_dist(a), tb_row_size_dist(b)) == 0;
}

size_t tb_group_rows(const tb_table *t, int metric, tb_group **out)
{
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
    for (size_t i = 0; i < t->n; i++)
        idx[i] = i;
    qsort_r(idx, t->n, sizeof *idx, cmp_idx, (void *)t);
    tb_group *g = calloc(t->n ? t->n : 1, sizeof *g);
    size_t ng = 0;
    /* rows of a cell are adjacent once sorted: each group gets arrays of its own size */
    for (size_t start = 0, end; start < t->n; start = end) {
        const tb_row *first = &t->rows[idx[start]];
        for (end = start + 1; end < t->n && same_cell(first, &t->rows[idx[end]]); end++)
            ;
        tb_group *cur = &g[ng++];
        cur->allocator = tb_row_get(first, TB_COL_allocator);
        cur->workload = tb_row_get(first, TB_COL_workload);
        cur->params = tb_row_get(first, TB_COL_params);
        cur->threads = (unsigned)tb_row_num(first, TB_COL_threads);
        cur->size = (size_t)tb_row_num(first, TB_COL_object_size);
        cur->sizes = tb_row_size_dist(first);
        cur->rows = malloc((end - start) * sizeof *cur->rows);
        cur->v = malloc((end - start) * sizeof *cur->v);
        for (size_t k = start; k < end; k++) {
            const tb_row *r = &t->rows[idx[k]];
            cur->rows[cur->nrows++] = r;
            tb_status st = tb_row_status(r);
            if (st == TB_ST_ok) {
                double v = metric >= 0 ? tb_row_num(r, metric) : NAN;
                if (!isnan(v))
                    cur->v[cur->n++] = v;
                cur->nok++;
            } else if (st == TB_ST_skipped) {
                cur->nskipped++;
            } else if (!cur->nbad++) {
                cur->bad = r;
            }
        }
    }
    free(idx);
    *out = g;
    return ng;
}

void tb_groups_free(tb_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].rows);
        free(g[i].v);
    }
    free(g);
}

const tb_group *tb_group_find(const tb_group *g, size_t n, const char *allocator, const tb_group *like)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].allocator, allocator) == 0 && strcmp(g[i].workload, like->workload) == 0 &&
            strcmp(g[i].params, like->params) == 0 && g[i].threads == like->threads &&
            g[i].size == like->size && strcmp(g[i].sizes, like->sizes) == 0)
            return &g[i];
    return NULL;
}

const tb_group *tb_group_lookup(const tb_group *g, size_t n, const char *allocator, const char *workload,
                                const char *params, size_t size, const char *sizes, unsigned threads)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].threads == threads && g[i].size == size && strcmp(g[i].sizes, sizes) == 0 &&
            strcmp(g[i].allocator, allocator) == 0 &&
            strcmp(g[i].workload, workload) == 0 && strcmp(g[i].params, params) == 0)
            return &g[i];
    return NULL;
}

double tb_group_median(const tb_group *g, int col)
{
    if (!g)
        return NAN;
    double v[256];
    size_t n = 0;
    for (size_t i = 0; i < g->nrows && n < 256; i++)
        if (tb_row_status(g->rows[i]) == TB_ST_ok) {
            double x = tb_row_num(g->rows[i], col);
            if (!isnan(x))
                v[n++] = x;
        }
    return n ? tb_median(v, n) : NAN;
}

void tb_group_minmax(const tb_group *g, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i] < *lo)
            *lo = g->v[i];
        if (g->v[i] > *hi)
            *hi = g->v[i];
    }
}

size_t tb_group_pairs(const tb_group *x, const tb_group *b, int col, double *d, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; x && b && i < x->nrows && n < max; i++) {
        const tb_row *rx = x->rows[i];
        if (tb_row_status(rx) != TB_ST_ok)
            continue;
        for (size_t j = 0; j < b->nrows; j++) {
            const tb_row *rb = b->rows[j];
            if (tb_row_num(rb, TB_COL_rep) != tb_row_num(rx, TB_COL_rep) || tb_row_status(rb) != TB_ST_ok)
                continue;
            double xv = tb_row_num(rx, col), bv = tb_row_num(rb, col);
            if (xv > 0 && bv > 0)
                d[n++] = log(xv / bv);
            break;
        }
    }
    return n;
}

/* The ok values of col in g, as logs; their count. */
static size_t log_values(const tb_group *g, int col, double *v, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nrows && n < max; i++)
        if (tb_row_status(g->rows[i]) == TB_ST_ok) {
            double x = tb_row_num(g->rows[i], col);
            if (x > 0)
                v[n++] = log(x);
        }
    return n;
}

tb_ratio tb_group_ratio(const tb_group *x, const tb_group *b, int col)
{
    tb_ratio r = {NAN, TB_RATIO_NONE, 0, NAN, NAN, false, NAN};
    double mx = tb_group_median(x, col), mb = tb_group_median(b, col);
    if (isnan(mx) || isnan(mb) || !(mb > 0))
        return r;
    if (x == b) {
        /* exactly 1, not by floating-point luck */
        r = (tb_ratio){1.0, TB_RATIO_PAIRED, x->nok, 1.0, 1.0, true, 1.0};
        return r;
    }
    double d[256], est;
    size_t n = tb_group_pairs(x, b, col, d, 256);
    if (n) {
        double v[256], lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            v[i] = exp(d[i]);
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        r.value = tb_median(v, n);
        r.how = TB_RATIO_PAIRED;
        r.pairs = n;
        r.spread = hi / lo;
        tb_hl_paired(d, n, 0.05, &r.lo, &r.hi, &est, &r.reached);
    } else {
        double lx[256], lb[256];
        size_t nx = log_values(x, col, lx, 256), nb = log_values(b, col, lb, 256);
        r.value = mx / mb;
        r.how = TB_RATIO_MEDIANS;
        if (nx && nb)
            tb_hl_interval(lb, nb, lx, nx, 0.05, &r.lo, &r.hi, &est, &r.reached);
    }
    r.lo = exp(r.lo);
    r.hi = exp(r.hi);
    return r;
}

void tb_group_size_label(const tb_group *g, char *buf, size_t len) { tb_size_label(g->size, g->sizes, buf, len); }

int tb_setting_label(const char *s, size_t len, char *out, size_t outlen)
{
    const char *eq = memchr(s, '=', len), *slash = eq ? memrchr(eq, '/', len - (size_t)(eq - s)) : NULL;
    if (slash)
        return snprintf(out, outlen, "%.*s%.*s", (int)(eq + 1 - s), s, (int)(s + len - slash - 1), slash + 1);
    return snprintf(out, outlen, "%.*s", (int)len, s);
}

unsigned tb_run_cpus(const cJSON *meta)
{
    const cJSON *mach = meta ? cJSON_GetObjectItemCaseSensitive(meta, "machine") : NULL;
    const cJSON *a = mach ? cJSON_GetObjectItemCaseSensitive(mach, "cpus_allowed") : NULL;
    const cJSON *pus = mach ? cJSON_GetObjectItemCaseSensitive(mach, "pus") : NULL;
    if (cJSON_IsNumber(a) && a->valuedouble >= 1)
        return (unsigned)a->valuedouble;
    return cJSON_IsNumber(pus) && pus->valuedouble >= 1 ? (unsigned)pus->valuedouble : 0;
}

bool tb_run_probe(const cJSON *meta, double cpu[2], double mem[2], double mean[2])
{
    const cJSON *sp = meta ? cJSON_GetObjectItemCaseSensitive(meta, "speed_probe") : NULL;
    const char *key[2] = {"cpu_ns", "mem_ns"};
    double *out[2] = {cpu, mem};
    for (int k = 0; k < 2; k++) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < 2; i++) {
            const cJSON *one = sp ? cJSON_GetObjectItemCaseSensitive(sp, i ? "after" : "before") : NULL;
            const cJSON *v = one ? cJSON_GetObjectItemCaseSensitive(one, key[k]) : NULL;
            bool ok = cJSON_IsNumber(v) && v->valuedouble > 0 && isfinite(v->valuedouble);
            out[k][i] = ok ? v->valuedouble : NAN;
            if (ok) {
                sum += v->valuedouble;
                n++;
            }
        }
        mean[k] = n ? sum / n : NAN;
    }
    return !isnan(mean[0]) && !isnan(mean[1]);
}

bool tb_row_shared_cpu(const tb_row *r, unsigned cpus)
{
    double used = tb_row_num(r, TB_COL_cpus_used), threads = tb_row_num(r, TB_COL_threads);
    if (tb_row_status(r) != TB_ST_ok || isnan(used) || isnan(threads) || cpus == 0)
        return false;
    return used < (threads < cpus ? threads : cpus);
}

const tb_metric tb_metrics[] = {
    {.name = "ops_per_sec", .col = TB_COL_ops_per_sec, .higher_better = true, .unit = "ops/s"},
    {.name = "slice_ops_per_sec", .col = TB_COL_slice_ops_per_sec, .higher_better = true, .unit = "ops/s"},
    {.name = "ns_per_op", .col = TB_COL_ns_per_op, .time = true, .unit = "ns"},
    {.name = "lat_p50_ns", .col = TB_COL_lat_p50_ns, .time = true, .unit = "ns"},
    {.name = "lat_p99_ns", .col = TB_COL_lat_p99_ns, .time = true, .unit = "ns"},
    {.name = "lat_p999_ns", .col = TB_COL_lat_p999_ns, .time = true, .unit = "ns"},
    {.name = "free_p99_ns", .col = TB_COL_free_p99_ns, .time = true, .unit = "ns"},
    {.name = "peak_rss_kib", .col = TB_COL_peak_rss_kib, .unit = "KiB"},
    {.name = "end_rss_kib", .col = TB_COL_end_rss_kib, .unit = "KiB"},
    {.name = "pool_bytes_reserved", .col = TB_COL_pool_bytes_reserved, .unit = "bytes"},
    {.name = "instructions_per_op", .col = TB_COL_instructions_per_op, .counted = true, .unit = "instructions"},
    {.name = NULL},
};

const tb_metric *tb_metric_find(const char *name)
{
    for (const tb_metric *m = tb_metrics; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}
