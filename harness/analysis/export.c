/* tmbench export: a finished run in the formats continuous-benchmarking services read, so that
 * nobody writes a converter.
 *   gbench-json  Google Benchmark's JSON (--benchmark_format=json): what github-action-benchmark's
 *                `googlecpp` tool and Bencher's `cpp_google` adapter take. One "iteration" entry
 *                per cell: real_time (and cpu_time, which tmbench does not measure apart) is the
 *                median over the cell's ok repetitions; the repetitions' aggregates ride along as
 *                the entry's counters, as Google Benchmark's user counters do.
 *   bmf          Bencher Metric Format: per cell, one measure per metric, the median as value and
 *                a 95% interval of the cell's centre as lower_value and upper_value.
 * The whole document is built in memory and written at once (to --out through a temporary file
 * and a rename), so a failure leaves nothing half-written. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"
#include "stats.h"

typedef enum { FMT_NONE, FMT_GBENCH, FMT_BMF } export_fmt;

static int help(void)
{
    printf("usage: tmbench export RESULTS --format gbench-json|bmf [--metric M] [--out FILE]\n\n"
           "A finished run for continuous-benchmarking services, one entry per cell (allocator,\n"
           "workload, params, size, threads) that has an ok repetition:\n"
           "  gbench-json  Google Benchmark JSON (github-action-benchmark tool: googlecpp; Bencher\n"
           "               adapter: cpp_google): real_time is the median of M in ns over the\n"
           "               cell's ok repetitions (M a time: ns_per_op by default, or lat_p50_ns,\n"
           "               lat_p99_ns, lat_p999_ns, free_p99_ns); items_per_second the median\n"
           "               throughput; the repetitions' median, mean, stddev, min, max and a 95%%\n"
           "               interval as counters\n"
           "  bmf          Bencher Metric Format (Bencher adapter: json): one measure per metric\n"
           "               (ops_per_sec as throughput, ns_per_op as latency, the others by their\n"
           "               column names with hyphens: peak-rss-kib), value the median, lower_value and upper_value a 95%%\n"
           "               Hodges-Lehmann interval of the centre (the whole range below 6 reps);\n"
           "               --metric M exports only M\n\n"
           "  --format F   gbench-json or bmf\n"
           "  --metric M   one of compare's metrics (tmbench compare --help)\n"
           "  --out FILE   write there (replaced whole, never half-written); default stdout\n\n"
           "Latencies below the timer's resolution are bounds, not values: such cells are left out\n"
           "of that metric and counted on stderr, as are cells with no ok repetition.\n\n"
           "exit: 0 written, 2 usage or input error (an incomplete or malformed run: nothing\n"
           "      written), 4 the output could not be written\n");
    return TB_EXIT_OK;
}

/* A cell's name for a CI service: workload[params]/allocator/size:S/threads:T, a file name in
 * params (replay's trace) by its last component. */
static void cell_name(const tb_group *g, char *buf, size_t len)
{
    char params[512] = "", size[64];
    size_t used = 0;
    for (const char *s = g->params; *s && used < sizeof params;) {
        size_t n = strcspn(s, ";");
        const char *eq = memchr(s, '=', n), *slash = eq ? memrchr(eq, '/', n - (size_t)(eq - s)) : NULL;
        if (slash)
            used += (size_t)snprintf(params + used, sizeof params - used, "%s%.*s%.*s", used ? "," : "",
                                     (int)(eq + 1 - s), s, (int)(s + n - slash - 1), slash + 1);
        else
            used += (size_t)snprintf(params + used, sizeof params - used, "%s%.*s", used ? "," : "", (int)n, s);
        s += n + (s[n] == ';');
    }
    tb_group_size_label(g, size, sizeof size);
    snprintf(buf, len, "%s%s%s%s/%s/size:%s/threads:%u", g->workload, params[0] ? "[" : "", params,
             params[0] ? "]" : "", g->allocator, size, g->threads);
}

/* The values of col over g's ok repetitions (NaN and empty fields left out); their count. */
static size_t values(const tb_group *g, int col, double *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nrows && n < max; i++) {
        const tb_row *r = g->rows[i];
        if (tb_row_status(r) != TB_ST_ok)
            continue;
        double x = tb_row_num(r, col);
        if (!isnan(x))
            out[n++] = x;
    }
    return n;
}

typedef struct summary {
    size_t n;
    double median, mean, stddev, min, max, lo, hi;
    bool reached; /* lo, hi are a 95% interval (else the whole range) */
} summary;

static bool summarize(const tb_group *g, int col, summary *s)
{
    double v[1024];
    s->n = values(g, col, v, 1024);
    if (!s->n)
        return false;
    s->median = tb_median(v, s->n);
    double sum = 0, sq = 0;
    s->min = INFINITY, s->max = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        sum += v[i];
        s->min = fmin(s->min, v[i]);
        s->max = fmax(s->max, v[i]);
    }
    s->mean = sum / (double)s->n;
    for (size_t i = 0; i < s->n; i++)
        sq += (v[i] - s->mean) * (v[i] - s->mean);
    s->stddev = s->n > 1 ? sqrt(sq / (double)(s->n - 1)) : 0;
    double est;
    tb_hl_paired(v, s->n, 0.05, &s->lo, &s->hi, &est, &s->reached);
    if (!s->reached)
        s->lo = s->min, s->hi = s->max;
    return true;
}

static const char *meta_str(const cJSON *o, const char *key)
{
    const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(x) ? x->valuestring : "";
}

static double meta_num(const cJSON *o, const char *key)
{
    const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

/* Google Benchmark's context, from meta.json: the fields its JSON always has, then tmbench's. */
static cJSON *gbench_context(const cJSON *meta, const tb_metric *m)
{
    const cJSON *mach = meta ? cJSON_GetObjectItemCaseSensitive(meta, "machine") : NULL;
    const cJSON *build = meta ? cJSON_GetObjectItemCaseSensitive(meta, "build") : NULL;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "date", meta_str(meta, "started"));
    cJSON_AddStringToObject(c, "host_name", meta_str(mach, "hostname"));
    cJSON_AddStringToObject(c, "executable", "tmbench");
    cJSON_AddNumberToObject(c, "num_cpus", meta_num(mach, "pus"));
    cJSON_AddNumberToObject(c, "mhz_per_cpu", 0);
    const char *gov = meta_str(mach, "cpufreq_governor");
    cJSON_AddBoolToObject(c, "cpu_scaling_enabled", *gov && strcmp(gov, "performance") != 0);
    cJSON *caches = cJSON_AddArrayToObject(c, "caches");
    const cJSON *ck = mach ? cJSON_GetObjectItemCaseSensitive(mach, "caches_kib") : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, ck) {
        if (!cJSON_IsNumber(e))
            continue;
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "type", e->string[1] == '1' && e->string[2] == 'd' ? "Data" : "Unified");
        cJSON_AddNumberToObject(one, "level", e->string[1] - '0');
        cJSON_AddNumberToObject(one, "size", e->valuedouble * 1024);
        cJSON_AddNumberToObject(one, "num_sharing", 0);
        cJSON_AddItemToArray(caches, one);
    }
    const cJSON *la = meta ? cJSON_GetObjectItemCaseSensitive(meta, "loadavg_before") : NULL;
    cJSON_AddItemToObject(c, "load_avg", la ? cJSON_Duplicate(la, true) : cJSON_CreateArray());
    const char *bt = meta_str(build, "build_type");
    cJSON_AddStringToObject(c, "library_build_type", strcmp(bt, "Debug") == 0 ? "debug" : "release");
    cJSON_AddStringToObject(c, "tmbench_run_id", meta_str(meta, "run_id"));
    cJSON_AddStringToObject(c, "tmbench_commit", meta_str(meta, "git_commit"));
    cJSON_AddStringToObject(c, "tmbench_version", meta_str(meta, "version"));
    cJSON_AddStringToObject(c, "tmbench_metric", m->name);
    double pc[2], pm[2], pmean[2]; /* the machine's yardstick: a CI service's history can be read against it */
    if (tb_run_probe(meta, pc, pm, pmean)) {
        cJSON_AddNumberToObject(c, "tmbench_probe_cpu_ns", pmean[0]);
        cJSON_AddNumberToObject(c, "tmbench_probe_mem_ns", pmean[1]);
    }
    return c;
}

static void add_summary(cJSON *o, const char *prefix, const summary *s)
{
    char k[64];
#define PUT(field)                                                  \
    snprintf(k, sizeof k, "%s%s", prefix, #field);                  \
    cJSON_AddNumberToObject(o, k, s->field);
    PUT(median) PUT(mean) PUT(stddev) PUT(min) PUT(max)
#undef PUT
    snprintf(k, sizeof k, "%sci95_lo", prefix);
    cJSON_AddNumberToObject(o, k, s->lo);
    snprintf(k, sizeof k, "%sci95_hi", prefix);
    cJSON_AddNumberToObject(o, k, s->hi);
}

typedef struct counts {
    size_t cells, none_ok, bounds;
} counts;

static cJSON *gbench(const tb_group *g, size_t ng, const cJSON *meta, const tb_metric *m, counts *c)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "context", gbench_context(meta, m));
    cJSON *arr = cJSON_AddArrayToObject(root, "benchmarks");
    int family = -1, instance = 0;
    const tb_group *prev = NULL;
    for (size_t i = 0; i < ng; i++) {
        summary t, ops;
        if (!g[i].nok) {
            c->none_ok++;
            continue;
        }
        if (!summarize(&g[i], m->col, &t)) {
            c->bounds++; /* ok repetitions, but no value of M: below the timer's resolution, or not measured */
            continue;
        }
        bool have_ops = summarize(&g[i], TB_COL_ops_per_sec, &ops);
        /* a family is one allocator x workload x params x size; its instances the thread counts */
        bool same = prev && strcmp(prev->allocator, g[i].allocator) == 0 && strcmp(prev->workload, g[i].workload) == 0 &&
                    strcmp(prev->params, g[i].params) == 0 && prev->size == g[i].size && strcmp(prev->sizes, g[i].sizes) == 0;
        instance = same ? instance + 1 : 0;
        family += !same;
        prev = &g[i];
        char name[1024];
        cell_name(&g[i], name, sizeof name);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", name);
        cJSON_AddNumberToObject(b, "family_index", family);
        cJSON_AddNumberToObject(b, "per_family_instance_index", instance);
        cJSON_AddStringToObject(b, "run_name", name);
        cJSON_AddStringToObject(b, "run_type", "iteration");
        cJSON_AddNumberToObject(b, "repetitions", (double)t.n);
        cJSON_AddNumberToObject(b, "repetition_index", 0);
        cJSON_AddNumberToObject(b, "threads", g[i].threads);
        cJSON_AddNumberToObject(b, "iterations", round(tb_group_median(&g[i], TB_COL_ops)));
        cJSON_AddNumberToObject(b, "real_time", t.median);
        cJSON_AddNumberToObject(b, "cpu_time", t.median);
        cJSON_AddStringToObject(b, "time_unit", "ns");
        if (have_ops)
            cJSON_AddNumberToObject(b, "items_per_second", ops.median);
        add_summary(b, "", &t);
        cJSON_AddNumberToObject(b, "reps_ok", (double)g[i].nok);
        cJSON_AddNumberToObject(b, "reps_not_ok", (double)g[i].nbad);
        cJSON_AddItemToArray(arr, b);
        c->cells++;
    }
    return root;
}

/* Bencher's measure for a metric: its two built-in ones where they fit, else the column's name
 * as a slug (lower case and hyphens: peak-rss-kib). */
static const char *bmf_measure(const tb_metric *m, char *buf, size_t len)
{
    if (m->col == TB_COL_ops_per_sec)
        return "throughput";
    if (m->col == TB_COL_ns_per_op)
        return "latency";
    snprintf(buf, len, "%s", m->name);
    for (char *q = buf; *q; q++)
        *q = *q == '_' ? '-' : *q;
    return buf;
}

static cJSON *bmf(const tb_group *cells, size_t ng, const tb_metric *only, counts *c)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; i < ng; i++) {
        const tb_group *g = &cells[i];
        if (!g->nok) {
            c->none_ok++;
            continue;
        }
        char name[1024];
        cell_name(g, name, sizeof name);
        cJSON *cell = cJSON_CreateObject();
        size_t k = 0;
        for (const tb_metric *m = tb_metrics; m->name; m++) {
            if ((only && m != only) || (!only && m->col == TB_COL_slice_ops_per_sec))
                continue;
            summary s;
            if (!summarize(g, m->col, &s)) {
                c->bounds += only != NULL;
                continue;
            }
            cJSON *meas = cJSON_CreateObject();
            cJSON_AddNumberToObject(meas, "value", s.median);
            cJSON_AddNumberToObject(meas, "lower_value", s.lo);
            cJSON_AddNumberToObject(meas, "upper_value", s.hi);
            char slug[64];
            cJSON_AddItemToObject(cell, bmf_measure(m, slug, sizeof slug), meas);
            k++;
        }
        if (k) {
            cJSON_AddItemToObject(root, name, cell);
            c->cells++;
        } else {
            cJSON_Delete(cell);
        }
    }
    return root;
}

/* text into path whole: a temporary file beside it, then a rename. */
static int write_whole(const char *path, const char *text)
{
    if (!path) {
        size_t n = strlen(text);
        if (fwrite(text, 1, n, stdout) != n || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "tmbench export: cannot write to stdout: %s\n", strerror(errno ? errno : EIO));
            return TB_EXIT_IO;
        }
        return TB_EXIT_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "tmbench export: cannot create %s: %s\n", tmp, strerror(errno));
        return TB_EXIT_IO;
    }
    bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "tmbench export: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        return TB_EXIT_IO;
    }
    return TB_EXIT_OK;
}

int tb_cmd_export(int argc, char **argv)
{
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"metric", 1, 0, 'm'}, {"out", 1, 0, 'o'},
                                       {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    export_fmt fmt = FMT_NONE;
    const tb_metric *metric = NULL;
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "gbench-json") == 0)
                fmt = FMT_GBENCH;
            else if (strcmp(optarg, "bmf") == 0)
                fmt = FMT_BMF;
            else
                return tb_usage_error("export", "--format '%s': want gbench-json (Google Benchmark JSON) or bmf "
                                                "(Bencher Metric Format)", optarg);
            break;
        case 'm':
            if (!(metric = tb_metric_find(optarg))) {
                char valid[512] = "";
                size_t used = 0;
                for (const tb_metric *m = tb_metrics; m->name && used < sizeof valid; m++)
                    used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", used ? ", " : "", m->name);
                return tb_usage_error("export", "--metric '%s' is not a metric of tmbench; valid: %s", optarg, valid);
            }
            break;
        case 'o': out = optarg; break;
        case 'h': return help();
        default: return tb_usage_error("export", "see `tmbench export --help`");
        }
    }
    if (argc - optind != 1)
        return tb_usage_error("export", "want one results directory (tmbench export RESULTS --format gbench-json|bmf)");
    if (fmt == FMT_NONE)
        return tb_usage_error("export", "want --format gbench-json or --format bmf");
    if (fmt == FMT_GBENCH && metric && !metric->time)
        return tb_usage_error("export", "--metric %s: Google Benchmark's real_time is a time; want ns_per_op, "
                                        "lat_p50_ns, lat_p99_ns, lat_p999_ns or free_p99_ns (or --format bmf for %s)",
                              metric->name, metric->name);
    if (fmt == FMT_GBENCH && !metric)
        metric = tb_metric_find("ns_per_op");

    tb_table t;
    char dir[4200], err[1024];
    if (tb_results_read(argv[optind], &t, dir, sizeof dir, err, sizeof err) != 0)
        return tb_usage_error("export", "%s", err);
    int rc = TB_EXIT_USAGE;
    cJSON *meta = tb_meta_read(dir, err, sizeof err);
    size_t cells = 0;
    tb_group *g = NULL;
    size_t ng = 0;
    if (!meta) {
        tb_usage_error("export", "%s: want a run's directory with its meta.json (the machine and build a CI "
                                 "service records beside each figure)", err);
        goto out;
    }
    if (!tb_meta_complete(meta, t.n, &cells)) {
        if (cJSON_GetObjectItemCaseSensitive(meta, "merged_from"))
            tb_usage_error("export", "%s is a partial merge (%zu of %zu cells): finish the missing shards, merge "
                                     "them all, then export", dir, t.n, cells);
        else
            tb_usage_error("export", "%s is an incomplete run (%zu of %zu cells%s): finish it with `tmbench run "
                                     "--resume %s`, then export", dir, t.n, cells,
                           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "interrupted")) ? ", interrupted" : "",
                           dir);
        goto out;
    }
    ng = tb_group_rows(&t, metric ? metric->col : TB_COL_ops_per_sec, &g);
    counts n = {0};
    cJSON *doc = fmt == FMT_GBENCH ? gbench(g, ng, meta, metric, &n) : bmf(g, ng, metric, &n);
    if (!n.cells) {
        cJSON_Delete(doc);
        tb_usage_error("export", "%s has no cell with an ok repetition%s%s: nothing to export", dir,
                       metric ? " and a value of " : "", metric ? metric->name : "");
        goto out;
    }
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text) {
        fprintf(stderr, "tmbench export: out of memory\n");
        rc = TB_EXIT_IO;
        goto out;
    }
    rc = write_whole(out, text);
    free(text);
    if (rc == TB_EXIT_OK) {
        fprintf(stderr, "tmbench export: %zu cell%s%s%s\n", n.cells, n.cells == 1 ? "" : "s", out ? " to " : "",
                out ? out : "");
        if (n.none_ok)
            fprintf(stderr, "tmbench export: %zu cell%s left out: no ok repetition (skipped or not ok: the run's "
                            "report says why)\n", n.none_ok, n.none_ok == 1 ? "" : "s");
        if (n.bounds)
            fprintf(stderr, "tmbench export: %zu cell%s left out of %s: no value (below the timer's resolution, "
                            "or not measured in this run)\n", n.bounds, n.bounds == 1 ? "" : "s", metric->name);
    }
out:
    cJSON_Delete(meta);
    tb_groups_free(g, ng);
    tb_table_free(&t);
    return rc;
}
