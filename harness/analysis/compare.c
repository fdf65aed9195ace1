/* tmbench compare: per-cell statistics between two runs, or between allocators of one run, and
 * an exit code a CI job or `git bisect run` can use.
 *
 * The rule for a regression needs two things at once: the whole 95% interval for the ratio of
 * the two sides lies past the threshold on the bad side, and the exact Mann–Whitney test is
 * significant at alpha. A p-value alone flags the slow drift of a shared machine; an interval
 * alone trusts too few repetitions. criterion.rs pairs a noise threshold with its test for the
 * same reason. Values are compared in logs, so the interval is one for a ratio. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"
#include "stats.h"

typedef enum { V_SLOWER, V_FASTER, V_SAME, V_NOISY, V_MISSING, V_COUNT } verdict;
static const char *const vnames[V_COUNT] = {"slower", "faster", "same", "noisy", "missing"};
static const char *const vcolor[V_COUNT] = {"\033[1;31m", "\033[32m", "", "\033[33m", "\033[35m"};

typedef struct result {
    const char *allocator, *base_allocator, *workload, *params;
    unsigned threads;
    size_t size;
    const char *sizes; /* "" for a fixed-size cell */
    size_t nb, nn;
    double mb, mn, ratio, lo, hi, p;
    bool have_p, deterministic;
    bool unreachable;    /* too few repetitions for the test to reach alpha */
    bool lost;           /* NEW failed where BASE ran, or lost the cell: a crash is a regression */
    size_t pairs;        /* > 0: judged on this many rounds paired (signed-rank, paired interval) */
    bool short_interval; /* too few for a 95% interval: it is the full range instead */
    verdict v;
    char note[160];
} result;

typedef struct opts {
    const tb_metric *metric;
    double threshold, alpha;
    enum { F_TEXT, F_MARKDOWN, F_CSV, F_JSON } format;
    bool allow_missing; /* --allow-missing: a cell lost on the NEW side does not fail the run */
    bool two_runs;      /* BASE NEW, not --baseline */
    bool metric_set;    /* --metric given */
} opts;

static bool positive(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(v[i] > 0))
            return false;
    return true;
}

static bool all_equal(const double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            return false;
    return true;
}

/* The verdict from an interval [lo, hi] for new/base and a p-value. */
static void verdict_from(const opts *o, result *r, bool can_reach, bool reached)
{
    double thr = o->threshold;
    double glo = o->metric->higher_better ? r->lo : 1 / r->hi;
    double ghi = o->metric->higher_better ? r->hi : 1 / r->lo;
    bool sig = r->p < o->alpha;
    if (ghi < 1 - thr && sig)
        r->v = V_SLOWER;
    else if (glo > 1 + thr && sig)
        r->v = V_FASTER;
    else if (glo >= 1 - thr && ghi <= 1 + thr)
        r->v = V_SAME;
    else
        r->v = V_NOISY;
    r->unreachable = !can_reach;
    r->short_interval = !reached;
}

/* Both sides in one run, in the same rounds: judged on the per-round ratios, which a slow
 * stretch of the machine moves together (Bulej et al., ICPE 2020, pair their duet runs the same
 * way): the signed-rank test and the paired Hodges-Lehmann interval. false when fewer than two
 * rounds have both sides ok (then the unpaired test decides). */
static bool judge_paired(const opts *o, const tb_group *b, const tb_group *n, result *r)
{
    double d[256];
    size_t np = tb_group_pairs(n, b, o->metric->col, d, 256);
    /* Chosen by the count alone, never by the data: below 8 pairs (for alpha 0.01) the exact
     * signed-rank test cannot reach alpha where the unpaired one can from 5 a side. */
    if (np < 2 || tb_sr_min_p(np) > o->alpha)
        return false;
    bool exact, reached;
    size_t used;
    tb_signed_rank(d, np, &r->p, &exact, &used);
    r->have_p = true;
    double lo, hi, est, ratios[256];
    tb_hl_paired(d, np, 0.05, &lo, &hi, &est, &reached);
    for (size_t i = 0; i < np; i++)
        ratios[i] = exp(d[i]);
    r->ratio = tb_median(ratios, np); /* the report's and the relative chart's figure */
    r->lo = exp(lo);
    r->hi = exp(hi);
    r->pairs = np;
    verdict_from(o, r, true, reached);
    return true;
}

/* Fills r from the two sides' repetitions. */
static void judge(const opts *o, const tb_group *b, const tb_group *n, result *r)
{
    r->nb = b ? b->n : 0;
    r->nn = n ? n->n : 0;
    r->mb = r->mn = r->ratio = r->lo = r->hi = r->p = NAN;
    /* lost on NEW: a failed repetition there, or (between two runs) a cell BASE has and NEW not */
    r->lost = (n && n->nbad > 0) || (!n && o->two_runs && b && b->nok > 0);
    if (!r->nb || !r->nn) {
        const tb_group *gone = !r->nb ? b : n;
        r->v = V_MISSING;
        if (!gone)
            snprintf(r->note, sizeof r->note, "no such cell in %s", !r->nb ? "BASE" : "NEW");
        else if (gone->bad)
            snprintf(r->note, sizeof r->note, "%s side: %s %.100s", !r->nb ? "BASE" : "NEW",
                     tb_row_get(gone->bad, TB_COL_status), tb_row_get(gone->bad, TB_COL_error));
        else if (gone->nskipped)
            snprintf(r->note, sizeof r->note, "%s side skipped: %.100s", !r->nb ? "BASE" : "NEW",
                     tb_row_get(gone->rows[0], TB_COL_error));
        else
            snprintf(r->note, sizeof r->note, "%s side has no %s values", !r->nb ? "BASE" : "NEW", o->metric->name);
        return;
    }
    r->mb = tb_median(b->v, b->n);
    r->mn = tb_median(n->v, n->n);
    if (!positive(b->v, b->n) || !positive(n->v, n->n)) {
        /* ratios are judged in logs: a value of 0 (a latency below the timer's step) has none */
        r->v = V_NOISY;
        snprintf(r->note, sizeof r->note, "values of 0 on a side: below the instrument's resolution, no ratio");
        return;
    }
    r->ratio = r->mn / r->mb;
    double thr = o->threshold;
    /* good > 1 means better: ops/s up, or ns/RSS/instructions down */
    double good = o->metric->higher_better ? r->ratio : 1 / r->ratio;

    if (o->metric->counted || (all_equal(b->v, b->n) && all_equal(n->v, n->n))) {
        /* Counted, not timed (instructions): the same build and seed give the same figure every
         * time (repetitions differ only by their seeds), so a difference of medians past the
         * threshold is real and needs no test. */
        r->deterministic = true;
        r->lo = r->hi = r->ratio;
        r->v = good < 1 - thr ? V_SLOWER : good > 1 + thr ? V_FASTER : V_SAME;
        snprintf(r->note, sizeof r->note, "counted: the ratio of medians decides");
        return;
    }
    if (!o->two_runs && judge_paired(o, b, n, r))
        return;
    bool exact;
    double *lb = malloc(b->n * sizeof *lb), *ln = malloc(n->n * sizeof *ln);
    for (size_t i = 0; i < b->n; i++)
        lb[i] = log(b->v[i]);
    for (size_t i = 0; i < n->n; i++)
        ln[i] = log(n->v[i]);
    tb_mann_whitney(lb, b->n, ln, n->n, &r->p, &exact);
    r->have_p = true;
    double dlo, dhi, est;
    bool reached;
    tb_hl_interval(lb, b->n, ln, n->n, 0.05, &dlo, &dhi, &est, &reached);
    free(lb);
    free(ln);
    r->lo = exp(dlo);
    r->hi = exp(dhi);
    verdict_from(o, r, tb_mw_min_p(b->n, n->n) <= o->alpha, reached);
}

static const char *fmt_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1e6)
        snprintf(buf, len, "%.4gM", v / 1e6);
    else
        snprintf(buf, len, "%.4g", v);
    return buf;
}

static void print_csv(const result *rs, size_t n, const opts *o)
{
    printf("allocator,baseline,workload,params,threads,object_size,metric,n_base,n_new,median_base,"
           "median_new,ratio,ci_low,ci_high,p_value,verdict,note,sizes,design\n");
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        printf("%s,%s,%s,\"%s\",%u,%zu,%s,%zu,%zu,%.6g,%.6g,%.6f,%.6f,%.6f,", r->allocator,
               r->base_allocator, r->workload, r->params, r->threads, r->size, o->metric->name,
               r->nb, r->nn, r->mb, r->mn, r->ratio, r->lo, r->hi);
        if (r->have_p)
            printf("%.6g", r->p);
        printf(",%s,\"%s\",", vnames[r->v], r->note);
        if (*r->sizes)
            printf("%s,", r->sizes);
        else
            printf("%zu,", r->size);
        printf("%s\n", r->deterministic ? "counted" : r->pairs ? "paired" : r->have_p ? "unpaired" : "");
    }
}

/* A number, or null where there is none (JSON has no NaN). */
static void json_num(cJSON *o, const char *k, double v)
{
    if (isnan(v) || isinf(v))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

/* The CSV's fields per cell, the verdict counts and the exit code's reasons, as one object: for
 * CI services and scripts that read JSON. */
static void print_json(const result *rs, size_t n, const opts *o, const size_t count[V_COUNT], size_t lost, int rc)
{
    cJSON *root = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(root, "cells");
    cJSON_AddStringToObject(root, "metric", o->metric->name);
    cJSON_AddBoolToObject(root, "higher_is_better", o->metric->higher_better);
    cJSON_AddNumberToObject(root, "threshold", o->threshold);
    cJSON_AddNumberToObject(root, "alpha", o->alpha);
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "allocator", r->allocator);
        cJSON_AddStringToObject(c, "baseline", r->base_allocator);
        cJSON_AddStringToObject(c, "workload", r->workload);
        cJSON_AddStringToObject(c, "params", r->params);
        cJSON_AddNumberToObject(c, "threads", r->threads);
        cJSON_AddNumberToObject(c, "object_size", (double)r->size);
        if (*r->sizes)
            cJSON_AddStringToObject(c, "sizes", r->sizes);
        else
            cJSON_AddNumberToObject(c, "sizes", (double)r->size);
        cJSON_AddNumberToObject(c, "n_base", (double)r->nb);
        cJSON_AddNumberToObject(c, "n_new", (double)r->nn);
        json_num(c, "median_base", r->mb);
        json_num(c, "median_new", r->mn);
        json_num(c, "ratio", r->ratio);
        json_num(c, "ci_low", r->lo);
        json_num(c, "ci_high", r->hi);
        json_num(c, "p_value", r->have_p ? r->p : NAN);
        cJSON_AddStringToObject(c, "verdict", vnames[r->v]);
        cJSON_AddStringToObject(c, "note", r->note);
        cJSON_AddStringToObject(c, "design", r->deterministic ? "counted" : r->pairs ? "paired" : r->have_p ? "unpaired" : "");
        cJSON_AddBoolToObject(c, "lost", r->lost);
        cJSON_AddItemToArray(cells, c);
    }
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    for (int v = 0; v < V_COUNT; v++)
        cJSON_AddNumberToObject(sum, vnames[v], (double)count[v]);
    cJSON_AddNumberToObject(sum, "lost", (double)lost);
    cJSON_AddBoolToObject(sum, "regression", rc != TB_EXIT_OK);
    char *text = cJSON_Print(root);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(root);
}

/* The params for the table, each setting as a label shows it (a file name by its last
 * component, so that the settings after it still show); the CSV form keeps the whole string. */
static void short_params(const char *params, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *s = params; *s && used + 1 < len;) {
        size_t l = strcspn(s, ";");
        if (used)
            out[used++] = ';';
        used += (size_t)tb_setting_label(s, l, out + used, len - used);
        s += l + (s[l] == ';');
    }
}

static void print_table(const result *rs, size_t n, const opts *o, bool md, bool color)
{
    const char *hdr[] = {"allocator", "vs", "workload", "params", "thr", "size", "n", "base",
                         "new", "ratio", "95% interval", "p", "verdict"};
    enum { NC = sizeof hdr / sizeof *hdr };
    char(*cells)[NC][96] = calloc(n ? n : 1, sizeof *cells);
    size_t w[NC];
    for (int c = 0; c < NC; c++)
        w[c] = strlen(hdr[c]);
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        snprintf(cells[i][0], 96, "%s", r->allocator);
        snprintf(cells[i][1], 96, "%s", r->base_allocator);
        snprintf(cells[i][2], 96, "%s", r->workload);
        char sp[256];
        short_params(r->params, sp, sizeof sp);
        snprintf(cells[i][3], 96, "%.60s", sp);
        snprintf(cells[i][4], 96, "%u", r->threads);
        tb_size_label(r->size, r->sizes, cells[i][5], 96);
        if (r->pairs)
            snprintf(cells[i][6], 96, "%zu pairs", r->pairs);
        else
            snprintf(cells[i][6], 96, "%zu/%zu", r->nb, r->nn);
        fmt_num(cells[i][7], 96, r->mb);
        fmt_num(cells[i][8], 96, r->mn);
        if (isnan(r->ratio))
            snprintf(cells[i][9], 96, "-");
        else
            snprintf(cells[i][9], 96, "%.3f", r->ratio);
        if (isnan(r->lo))
            snprintf(cells[i][10], 96, "-");
        else
            snprintf(cells[i][10], 96, "[%.3f, %.3f]", r->lo, r->hi);
        if (r->have_p)
            snprintf(cells[i][11], 96, "%.3g", r->p);
        else
            snprintf(cells[i][11], 96, "-");
        snprintf(cells[i][12], 96, "%s", vnames[r->v]);
        for (int c = 0; c < NC; c++)
            if (strlen(cells[i][c]) > w[c])
                w[c] = strlen(cells[i][c]);
    }
    printf("%s%s%s: ratio = new / base, %s is better; threshold %.3g%%, alpha %g\n\n", md ? "**" : "",
           o->metric->name, md ? "**" : "", o->metric->higher_better ? "higher" : "lower", o->threshold * 100,
           o->alpha);
    for (int c = 0; c < NC; c++)
        printf(md ? "| %-*s " : "%-*s  ", (int)w[c], hdr[c]);
    printf(md ? "|\n" : "\n");
    if (md) {
        for (int c = 0; c < NC; c++)
            printf("|%s", c >= 4 && c <= 11 ? "---:" : "---");
        printf("|\n");
    }
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < NC; c++) {
            bool right = c >= 4 && c <= 11;
            const char *on = color && c == NC - 1 ? vcolor[rs[i].v] : "";
            if (md)
                printf("| %s%s%s ", rs[i].v == V_SLOWER && c == NC - 1 ? "**" : "", cells[i][c],
                       rs[i].v == V_SLOWER && c == NC - 1 ? "**" : "");
            else
                printf(right ? "%s%*s%s  " : "%s%-*s%s  ", on, (int)w[c], cells[i][c], *on ? "\033[0m" : "");
        }
        printf(md ? "|\n" : "\n");
    }
    free(cells);
}

static int usage_help(void)
{
    printf("usage: tmbench compare BASE NEW [options]\n"
           "       tmbench compare RESULTS --baseline ALLOCATOR|@TAG [options]\n\n"
           "Per cell (allocator, workload, params, threads, object size): the median of each side,\n"
           "their ratio new/base, a 95%% Hodges-Lehmann interval for it, an exact Mann-Whitney test,\n"
           "and a verdict: slower, faster, same, noisy (cannot tell at this threshold) or missing.\n"
           "A cell is slower only when its whole interval lies past the threshold on the bad side\n"
           "AND the test is significant at alpha. Counted metrics with no spread (instructions)\n"
           "are judged on the ratio alone.\n\n"
           "  BASE NEW                  results directories (or their results.csv)\n"
           "  --baseline ALLOCATOR      within one run: every other allocator against this one\n"
           "  --baseline @TAG           within one run: each X against X@TAG (run --against)\n"
           "  --metric M                ops_per_sec (default), ns_per_op, lat_p50_ns, lat_p99_ns,\n"
           "                            lat_p999_ns, free_p99_ns, peak_rss_kib, end_rss_kib,\n"
           "                            pool_bytes_reserved, instructions_per_op\n"
           "  --threshold PCT           smallest change that counts, percent (default 5)\n"
           "  --alpha A                 significance level of the U test (default 0.01)\n"
           "  --format text|markdown|csv|json\n"
           "  --allow-missing           a cell that failed or is missing on the NEW side is listed,\n"
           "                            not a failure (by default a crash is a regression: exit 1)\n\n"
           "exit: 0 no cell slower or lost, 1 some cell slower or lost on the NEW side (listed),\n"
           "      2 usage or input error\n");
    return 0;
}

/* Headers must name the same columns, or one side comes from another tmbench. */
static int same_columns(const tb_table *a, const tb_table *b, const char *an, const char *bn, char *err, size_t errlen)
{
    for (int pass = 0; pass < 2; pass++) {
        const tb_table *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < x->ncols_file; i++) {
            if (strncmp(x->header[i], "p_", 2) == 0)
                continue; /* settings as columns: derived from params, which both sides have */
            bool found = false;
            for (size_t j = 0; j < y->ncols_file && !found; j++)
                found = strcmp(x->header[i], y->header[j]) == 0;
            if (!found) {
                snprintf(err, errlen,
                         "column '%s' is in %s but not in %s: the runs come from different tmbench "
                         "versions (rerun the older one, or refresh the baseline)",
                         x->header[i], pass ? bn : an, pass ? an : bn);
                return -1;
            }
        }
    }
    return 0;
}

/* Parses compare's flags into o. -1 to go on, else the exit code. */
static int parse_flags(int argc, char **argv, opts *o, const char **baseline)
{
    static const struct option lo[] = {{"metric", 1, 0, 'm'},  {"threshold", 1, 0, 't'},
                                       {"alpha", 1, 0, 'a'},   {"format", 1, 0, 'f'},
                                       {"baseline", 1, 0, 'b'}, {"allow-missing", 0, 0, 'M'},
                                       {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->metric = NULL;
            for (const tb_metric *m = tb_metrics; m->name; m++)
                if (strcmp(m->name, optarg) == 0)
                    o->metric = m;
            if (!o->metric) {
                char valid[512];
                size_t used = 0;
                for (const tb_metric *m = tb_metrics; m->name && used < sizeof valid; m++)
                    used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", used ? ", " : "", m->name);
                return tb_usage_error("compare", "--metric '%s' is not one compare knows; valid: %s", optarg, valid);
            }
            o->metric_set = true;
            break;
        case 't':
            o->threshold = strtod(optarg, &end) / 100;
            if (*end || !(o->threshold > 0) || o->threshold >= 1)
                return tb_usage_error("compare", "--threshold '%s': want a percentage above 0 and below 100 (e.g. 5)", optarg);
            break;
        case 'a':
            o->alpha = strtod(optarg, &end);
            if (*end || !(o->alpha > 0) || o->alpha >= 0.5)
                return tb_usage_error("compare", "--alpha '%s': want a probability above 0 and below 0.5 (e.g. 0.01)", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                o->format = F_TEXT;
            else if (strcmp(optarg, "markdown") == 0 || strcmp(optarg, "md") == 0)
                o->format = F_MARKDOWN;
            else if (strcmp(optarg, "csv") == 0)
                o->format = F_CSV;
            else if (strcmp(optarg, "json") == 0)
                o->format = F_JSON;
            else
                return tb_usage_error("compare", "--format '%s': want text, markdown, csv or json", optarg);
            break;
        case 'b': *baseline = optarg; break;
        case 'M': o->allow_missing = true; break;
        case 'h': return usage_help();
        default: return tb_usage_error("compare", "see `tmbench compare --help`");
        }
    }
    int npos = argc - optind;
    if (*baseline ? npos != 1 : npos != 2)
        return tb_usage_error("compare", *baseline ? "--baseline compares inside one run: give one results directory"
                                                   : "want BASE and NEW results directories (or one with --baseline ALLOCATOR)");
    return -1;
}

/* The cells to judge, each a pair of groups (either may be missing), and how many cells were
 * skipped on both sides. */
typedef struct pairing {
    const opts *o;
    result *rs;
    size_t nr, both_skipped;
} pairing;

static void add_pair(pairing *pr, const tb_group *b, const tb_group *n, const char *bname, const char *nname)
{
    const tb_group *any = b ? b : n;
    if ((!b || b->nok == 0) && (!n || n->nok == 0) && (!b || b->nskipped) && (!n || n->nskipped)) {
        pr->both_skipped++;
        return;
    }
    result *r = &pr->rs[pr->nr++];
    r->allocator = nname;
    r->base_allocator = bname;
    r->workload = any->workload;
    r->params = any->params;
    r->threads = any->threads;
    r->size = any->size;
    r->sizes = any->sizes;
    judge(pr->o, b, n, r);
}

/* BASE against NEW: each cell of either with its namesake in the other. */
static void pair_runs(pairing *pr, const tb_group *gb, size_t nb, const tb_group *gn, size_t nn)
{
    for (size_t i = 0; i < nb; i++)
        add_pair(pr, &gb[i], tb_group_find(gn, nn, gb[i].allocator, &gb[i]), gb[i].allocator, gb[i].allocator);
    for (size_t i = 0; i < nn; i++)
        if (!tb_group_find(gb, nb, gn[i].allocator, &gn[i]))
            add_pair(pr, NULL, &gn[i], gn[i].allocator, gn[i].allocator);
}

/* --baseline @TAG: each X@TAG against X in the same run. */
static int pair_twins(pairing *pr, const tb_group *g, size_t n, const char *tag, const char *dir)
{
    size_t tl = strlen(tag);
    for (size_t i = 0; i < n; i++) {
        size_t al = strlen(g[i].allocator);
        if (al <= tl || strcmp(g[i].allocator + al - tl, tag) != 0)
            continue;
        char *plain = strndup(g[i].allocator, al - tl);
        const tb_group *twin = tb_group_find(g, n, plain, &g[i]);
        add_pair(pr, &g[i], twin, g[i].allocator, twin ? twin->allocator : g[i].allocator);
        free(plain);
    }
    if (pr->nr == 0 && pr->both_skipped == 0)
        return tb_usage_error("compare", "no allocator in %s ends in %s: make the run with "
                              "`tmbench run --against BUILD_DIR` (its allocators are named like tmempool-tcache%s)",
                              dir, tag, tag);
    return -1;
}

/* --baseline ALLOCATOR: every other allocator of the run against it. */
static int pair_against(pairing *pr, const tb_group *g, size_t n, const char *baseline)
{
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(g[i].allocator, baseline) == 0;
    if (!found) {
        char names[1024] = "";
        size_t used = 0;
        for (size_t i = 0; i < n; i++)
            if (!i || strcmp(g[i].allocator, g[i - 1].allocator))
                used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0, "%s%s",
                                         used ? ", " : "", g[i].allocator);
        return tb_usage_error("compare", "--baseline '%s' is not an allocator of this run (it has: %s)", baseline, names);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].allocator, baseline) != 0) {
            const tb_group *b = tb_group_find(g, n, baseline, &g[i]);
            add_pair(pr, b, &g[i], b ? b->allocator : baseline, g[i].allocator);
        }
    return -1;
}

/* The lines under the table: counts, what the repetitions could not show, notes, regressions. */
static void print_footer(const pairing *pr, const size_t *count, bool md)
{
    const result *rs = pr->rs;
    size_t nr = pr->nr;
    const opts *o = pr->o;
    printf("\n%zu cells: %zu slower, %zu faster, %zu same, %zu noisy, %zu missing", nr, count[V_SLOWER],
           count[V_FASTER], count[V_SAME], count[V_NOISY], count[V_MISSING]);
    if (pr->both_skipped)
        printf("; %zu skipped on both sides, not compared", pr->both_skipped);
    printf("\n");
    size_t unreachable = 0, short_iv = 0, nmin = SIZE_MAX;
    for (size_t i = 0; i < nr; i++) {
        unreachable += rs[i].unreachable;
        short_iv += rs[i].short_interval;
        if (rs[i].unreachable && rs[i].nb < nmin)
            nmin = rs[i].nb < rs[i].nn ? rs[i].nb : rs[i].nn;
    }
    if (unreachable)
        printf("\n%s %zu cells have too few repetitions (as few as %zu a side) for the exact test to reach "
               "alpha %g:\n  they cannot be called slower or faster. Want at least %zu a side "
               "(tmbench run --reps %zu; 9 or more recommended).\n",
               md ? "**note:**" : "note:", unreachable, nmin, o->alpha, tb_mw_reps_needed(o->alpha),
               tb_mw_reps_needed(o->alpha));
    if (short_iv)
        printf("%s %zu cells: too few repetitions for a 95%% interval; theirs is the full range of "
               "pairwise ratios.\n", md ? "**note:**" : "note:", short_iv);
    size_t shown = 0;
    for (size_t i = 0; i < nr && shown < 40; i++)
        if (rs[i].note[0] && !rs[i].deterministic && rs[i].v != V_SAME) {
            if (!shown++)
                printf("\nnotes:\n");
            printf("%s  %s %s %s t=%u: %s\n", md ? "-" : " ", rs[i].allocator, rs[i].workload,
                   rs[i].params, rs[i].threads, rs[i].note);
        }
    if (count[V_SLOWER]) {
        printf("\n%sregressions (%zu):%s\n", md ? "**" : "", count[V_SLOWER], md ? "**" : "");
        for (size_t i = 0; i < nr; i++)
            if (rs[i].v == V_SLOWER) {
                char label[64];
                tb_size_label(rs[i].size, rs[i].sizes, label, sizeof label);
                printf("%s  %s vs %s, %s %s t=%u %s: ratio %.3f, interval [%.3f, %.3f]\n", md ? "-" : " ",
                       rs[i].allocator, rs[i].base_allocator, rs[i].workload, rs[i].params, rs[i].threads,
                       label, rs[i].ratio, rs[i].lo, rs[i].hi);
            }
    }
}

/* Judges the pairs and prints them; the exit code. */
static int judge_and_print(pairing *pr)
{
    size_t both = 0;
    for (size_t i = 0; i < pr->nr; i++)
        both += !(pr->rs[i].v == V_MISSING && strstr(pr->rs[i].note, "no such cell"));
    if (pr->nr > 0 && both == 0)
        return tb_usage_error("compare", "BASE and NEW have no cells in common (no allocator, workload, params, "
                              "threads and size appear in both): are these runs of the same matrix?");
    if (pr->nr == 0)
        return tb_usage_error("compare", "no cells in common to compare (every cell was skipped on both sides)");
    size_t count[V_COUNT] = {0};
    for (size_t i = 0; i < pr->nr; i++)
        count[pr->rs[i].v]++;
    size_t lost = 0;
    for (size_t i = 0; i < pr->nr; i++)
        lost += pr->rs[i].lost;
    int rc = count[V_SLOWER] || (lost && !pr->o->allow_missing) ? TB_EXIT_CELLS : TB_EXIT_OK;
    if (pr->o->format == F_JSON) {
        print_json(pr->rs, pr->nr, pr->o, count, lost, rc);
        return rc;
    }
    if (pr->o->format == F_CSV) {
        print_csv(pr->rs, pr->nr, pr->o);
    } else {
        bool md = pr->o->format == F_MARKDOWN;
        print_table(pr->rs, pr->nr, pr->o, md, !md && isatty(1));
        print_footer(pr, count, md);
    }
    if (lost && pr->o->format != F_CSV) {
        bool md = pr->o->format == F_MARKDOWN;
        printf("\n%slost on the NEW side (%zu)%s%s\n", md ? "**" : "", lost, md ? "**" : "",
               pr->o->allow_missing ? ", allowed by --allow-missing:" : ": a crash or a lost cell is a regression");
        for (size_t i = 0; i < pr->nr; i++)
            if (pr->rs[i].lost) {
                char label[64];
                tb_size_label(pr->rs[i].size, pr->rs[i].sizes, label, sizeof label);
                printf("%s  %s %s %s t=%u %s: %s\n", md ? "-" : " ", pr->rs[i].allocator, pr->rs[i].workload,
                       pr->rs[i].params, pr->rs[i].threads, label, pr->rs[i].note[0] ? pr->rs[i].note : "some repetitions failed");
            }
    }
    return rc;
}

/* Whether some ok row of t has a value in column col. */
static bool has_values(const tb_table *t, int col)
{
    for (size_t i = 0; i < t->n; i++)
        if (tb_row_status(&t->rows[i]) == TB_ST_ok && tb_row_get(&t->rows[i], col)[0])
            return true;
    return false;
}

/* A run that did not finish is still compared, cell by cell, but never silently; nor one whose
 * threads shared CPUs in some repetitions. */
static void warn_incomplete(const char *arg, const char *dir, const tb_table *t)
{
    cJSON *meta = tb_meta_read(dir, NULL, 0);
    size_t cells;
    if (!tb_meta_complete(meta, t->n, &cells))
        fprintf(stderr, "tmbench compare: note: %s is an incomplete run (%zu of %zu cell repetitions have a "
                        "row); its missing cells are compared as missing\n", arg, t->n, cells);
    unsigned cpus = tb_run_cpus(meta), shared = 0;
    for (size_t i = 0; i < t->n; i++)
        shared += tb_row_shared_cpu(&t->rows[i], cpus);
    if (shared)
        fprintf(stderr, "tmbench compare: note: in %s, %u ok repetitions ran with two of their threads on one CPU "
                        "(cpus_used below the threads and the %u CPUs): their cells mix two thread placements "
                        "(the report lists them; --pin spreads the threads)\n", arg, shared, cpus);
    cJSON_Delete(meta);
}

/* Two runs on machines of different speed (another day, a VM moved to a busier host) differ in
 * every cell by what the machine did: said once, with the yardsticks' ratios, so that a cell
 * moved by as much is read with them. The core's figure is steady within a few percent on a
 * quiet machine and is held to the threshold; the memory chase moved 20-100 ns between minutes
 * on the 2-core VM (the last-level cache is shared with other tenants), so it speaks only past a
 * quarter. */
static void note_speed(const char *base, const char *dir_base, const char *new, const char *dir_new, double threshold)
{
    cJSON *mb = tb_meta_read(dir_base, NULL, 0), *mn = tb_meta_read(dir_new, NULL, 0);
    double c[2], m[2], b[2], n[2];
    if (tb_run_probe(mb, c, m, b) && tb_run_probe(mn, c, m, n)) {
        double rc = n[0] / b[0], rm = n[1] / b[1]; /* time a step: above 1, NEW's machine was slower */
        double mem_bar = threshold > 0.25 ? threshold : 0.25;
        if (fabs(log(rc)) > log1p(threshold) || fabs(log(rm)) > log1p(mem_bar))
            fprintf(stderr, "tmbench compare: note: the machine's speed differed between the runs: its yardstick "
                            "(meta.json speed_probe) took %.2fx the time on the core and %.2fx on memory in %s "
                            "against %s; a cell moved by that much may be the machine's (compare within one run, "
                            "--baseline, cancels it)\n", rc, rm, new, base);
    }
    cJSON_Delete(mb);
    cJSON_Delete(mn);
}

int tb_cmd_compare(int argc, char **argv)
{
    opts o = {.metric = &tb_metrics[0], .threshold = 0.05, .alpha = TB_ALPHA_DEFAULT, .format = F_TEXT};
    const char *baseline = NULL;
    int rc = parse_flags(argc, argv, &o, &baseline);
    if (rc >= 0)
        return rc;
    char err[1024], dir[4200], dir_new[4200];
    tb_table tb = {0}, tn = {0};
    if (tb_results_read(argv[optind], &tb, dir, sizeof dir, err, sizeof err) != 0)
        return tb_usage_error("compare", "%s", err);
    if (!baseline) {
        if (tb_results_read(argv[optind + 1], &tn, dir_new, sizeof dir_new, err, sizeof err) != 0 ||
            same_columns(&tb, &tn, argv[optind], argv[optind + 1], err, sizeof err) != 0) {
            tb_table_free(&tb);
            tb_table_free(&tn);
            return tb_usage_error("compare", "%s", err);
        }
    }
    /* An interleaved run is judged by default on the median over its ABBA quads, which a slice
     * that the machine disturbed does not move (the totals are still ops_per_sec). */
    if (!o.metric_set && o.metric->col == TB_COL_ops_per_sec && has_values(&tb, TB_COL_slice_ops_per_sec) &&
        (baseline || has_values(&tn, TB_COL_slice_ops_per_sec))) {
        o.metric = tb_metric_find("slice_ops_per_sec");
        fprintf(stderr, "tmbench compare: note: interleaved rows: judged on slice_ops_per_sec, the median over each "
                        "repetition's ABBA quads (--metric ops_per_sec judges the totals)\n");
    }
    warn_incomplete(argv[optind], dir, &tb);
    if (!baseline) {
        warn_incomplete(argv[optind + 1], dir_new, &tn);
        note_speed(argv[optind], dir, argv[optind + 1], dir_new, o.threshold);
    }
    tb_group *gb, *gn;
    size_t nb = tb_group_rows(&tb, o.metric->col, &gb);
    size_t nn = baseline ? nb : tb_group_rows(&tn, o.metric->col, &gn);
    if (baseline)
        gn = gb;
    pairing pr = {.o = &o, .rs = calloc(nb + nn + 1, sizeof *pr.rs)};
    bool any_values = false;
    for (size_t i = 0; i < nb; i++)
        any_values |= gb[i].n > 0;
    for (size_t i = 0; i < nn; i++)
        any_values |= gn[i].n > 0;
    if (!any_values)
        rc = tb_usage_error("compare", "no ok row has a value for %s%s", o.metric->name,
                            o.metric->col == TB_COL_instructions_per_op
                                ? ": was the run made with `tmbench run --measure instructions`?" : "");
    else if (!baseline)
        o.two_runs = true, pair_runs(&pr, gb, nb, gn, nn);
    else if (baseline[0] == '@')
        rc = pair_twins(&pr, gb, nb, baseline, argv[optind]);
    else
        rc = pair_against(&pr, gb, nb, baseline);
    if (rc < 0)
        rc = judge_and_print(&pr);
    free(pr.rs);
    tb_groups_free(gb, nb);
    if (!baseline) {
        tb_groups_free(gn, nn);
        tb_table_free(&tn);
    }
    tb_table_free(&tb);
    return rc;
}
