/* The design-review report: the run's context, a summary table, the charts and every cell,
 * failed ones called out. Written twice from the same calls: report.md for pasting, and
 * report.html, one self-contained file (images inline) for a browser. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "tb_alloc.h"
#include "stats.h"

void tb_plot_subtitle(tb_plot *p)
{
    const cJSON *m = p->meta;
    const cJSON *mach = m ? cJSON_GetObjectItemCaseSensitive(m, "machine") : NULL;
    const cJSON *cores = mach ? cJSON_GetObjectItemCaseSensitive(mach, "cores") : NULL;
    const cJSON *nodes = mach ? cJSON_GetObjectItemCaseSensitive(mach, "numa_nodes") : NULL;
    const char *date = tb_json_str(m, "started", NULL);
    snprintf(p->subtitle, sizeof p->subtitle, "%s, %d cores, %d NUMA node%s | %.10s | commit %s",
             *tb_json_str(m, "machine", "cpu_model") ? tb_json_str(m, "machine", "cpu_model") : "unknown CPU",
             cJSON_IsNumber(cores) ? cores->valueint : 0, cJSON_IsNumber(nodes) ? nodes->valueint : 0,
             cJSON_IsNumber(nodes) && nodes->valueint == 1 ? "" : "s", *date ? date : "unknown date",
             *tb_json_str(m, "git_commit", NULL) ? tb_json_str(m, "git_commit", NULL) : "unknown");
    const cJSON *mat = m ? cJSON_GetObjectItemCaseSensitive(m, "matrix") : NULL;
    const cJSON *se = mat ? cJSON_GetObjectItemCaseSensitive(mat, "latency_sample_every") : NULL;
    snprintf(p->sample_every, sizeof p->sample_every, "%d", cJSON_IsNumber(se) ? se->valueint : 1024);
}

/* ---- two outputs, one sequence of calls ---- */

typedef struct doc {
    FILE *md, *html;
} doc;

static void esc(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
}

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void heading(doc *d, int level, const char *text)
{
    fprintf(d->md, "\n%.*s %s\n\n", level, "####", text);
    fprintf(d->html, "<h%d>", level);
    esc(d->html, text);
    fprintf(d->html, "</h%d>\n", level);
}

static void para(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void para(doc *d, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s)
        return;
    fprintf(d->md, "%s\n\n", s);
    fprintf(d->html, "<p>");
    esc(d->html, s);
    fprintf(d->html, "</p>\n");
    free(s);
}

/* Tables: cells are plain text; a leading '*' makes a cell bold (the best of its column). */
static void table_head(doc *d, int n, const char *const *h)
{
    fprintf(d->html, "<table>\n<tr>");
    for (int i = 0; i < n; i++) {
        fprintf(d->md, "| %s ", h[i]);
        fprintf(d->html, "<th>");
        esc(d->html, h[i]);
        fprintf(d->html, "</th>");
    }
    fprintf(d->md, "|\n");
    for (int i = 0; i < n; i++)
        fprintf(d->md, "|%s", i ? "---:" : "---");
    fprintf(d->md, "|\n");
    fprintf(d->html, "</tr>\n");
}

static void table_row_of(doc *d, int n, const char *const *cells)
{
    fprintf(d->html, "<tr>");
    for (int i = 0; i < n; i++) {
        bool bold = cells[i][0] == '*';
        const char *s = cells[i] + bold;
        fprintf(d->md, "| %s", bold ? "**" : "");
        md_cell(d->md, s);
        fprintf(d->md, "%s ", bold ? "**" : "");
        fprintf(d->html, i ? "<td class=n>" : "<td>");
        if (bold)
            fprintf(d->html, "<b>");
        esc(d->html, s);
        if (bold)
            fprintf(d->html, "</b>");
        fprintf(d->html, "</td>");
    }
    fprintf(d->md, "|\n");
    fprintf(d->html, "</tr>\n");
}

static void table_row(doc *d, int n, char cells[][160])
{
    const char *c[16];
    for (int i = 0; i < n && i < 16; i++)
        c[i] = cells[i];
    table_row_of(d, n < 16 ? n : 16, c);
}

static void table_end(doc *d)
{
    fprintf(d->md, "\n");
    fprintf(d->html, "</table>\n");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The chart inline: PNG as a data URI, SVG as its own markup. Beside the report either way. */
static void image(doc *d, const tb_plot *p, const tb_plot_chart *c)
{
    const char *ext = p->png ? "png" : "svg";
    fprintf(d->md, "![%s](%s.%s)\n\n", c->title, c->base, ext);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", p->outdir, c->base, ext);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(d->html, "<p>(missing image %s)</p>\n", c->base);
        return;
    }
    fprintf(d->html, "<figure>");
    if (p->png) {
        fprintf(d->html, "<img alt=\"");
        esc(d->html, c->title);
        fprintf(d->html, "\" src=\"data:image/png;base64,");
        unsigned char in[3];
        size_t n;
        while ((n = fread(in, 1, 3, f)) > 0) {
            unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
            fputc(b64[v >> 18 & 63], d->html);
            fputc(b64[v >> 12 & 63], d->html);
            fputc(n > 1 ? b64[v >> 6 & 63] : '=', d->html);
            fputc(n > 2 ? b64[v & 63] : '=', d->html);
        }
        fprintf(d->html, "\">");
    } else {
        char buf[8192];
        size_t n;
        bool started = false;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            /* skip the XML prolog and doctype, which are not allowed inside HTML */
            char *s = buf;
            if (!started) {
                char *svg = memmem(buf, n, "<svg", 4);
                if (!svg)
                    continue;
                n -= (size_t)(svg - buf);
                s = svg;
                started = true;
            }
            fwrite(s, 1, n, d->html);
        }
    }
    fclose(f);
    fprintf(d->html, "</figure>\n");
}

static const char *num(char *buf, size_t len, double v, double scale, int decimals)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f", decimals, v / scale);
    return buf;
}

/* Millions of ops per second with three significant digits, one decimal at least; under 10,000
 * ops/s, ops/s with the unit written out. falseshare's rounds (tens of ops/s) printed "0.0" at a
 * fixed one decimal, a figure that reads as nothing. */
static const char *mops(char *buf, size_t len, double v)
{
    double x = v / 1e6;
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (v > 0 && v < 1e4)
        snprintf(buf, len, v >= 100 ? "%.0f ops/s" : "%.3g ops/s", v);
    else
        snprintf(buf, len, "%.*f", x >= 100 || x <= 0 ? 1 : 2 - (int)floor(log10(x)), x);
    return buf;
}

/* meta.json's load averages before and after, and the stolen share of CPU time (NaN where not
 * recorded). false when meta.json has no load. */
static bool run_load(const cJSON *m, double lb[3], double la[3], double *steal)
{
    const cJSON *b = m ? cJSON_GetObjectItemCaseSensitive(m, "loadavg_before") : NULL;
    const cJSON *a = m ? cJSON_GetObjectItemCaseSensitive(m, "loadavg_after") : NULL;
    const cJSON *s = m ? cJSON_GetObjectItemCaseSensitive(m, "steal_fraction") : NULL;
    *steal = cJSON_IsNumber(s) ? s->valuedouble : NAN;
    if (cJSON_GetArraySize(b) != 3 || cJSON_GetArraySize(a) != 3)
        return false;
    for (int i = 0; i < 3; i++) {
        lb[i] = cJSON_GetArrayItem(b, i)->valuedouble;
        la[i] = cJSON_GetArrayItem(a, i)->valuedouble;
    }
    return true;
}

/* Whether the machine was busy while the run ran: a load average above its hardware threads
 * (other work competed for the CPUs), more than 3% of CPU time stolen by the hypervisor, or the
 * core's yardstick 10% apart between the run's start and end. The reason into why. */
static bool busy(const cJSON *m, char *why, size_t len)
{
    double lb[3], la[3], steal;
    bool have = run_load(m, lb, la, &steal);
    const cJSON *mach = m ? cJSON_GetObjectItemCaseSensitive(m, "machine") : NULL;
    const cJSON *pus = mach ? cJSON_GetObjectItemCaseSensitive(mach, "pus") : NULL;
    double cpus = cJSON_IsNumber(pus) && pus->valuedouble > 0 ? pus->valuedouble : 0;
    /* the run itself keeps up to its threads busy: what counts is load beyond the machine */
    double load = have ? (lb[0] > la[0] ? lb[0] : la[0]) : 0;
    if (have && cpus > 0 && load > cpus + 0.5) {
        if (why)
            snprintf(why, len, "the load average reached %.2f on %.0f hardware threads", load, cpus);
        return true;
    }
    if (!isnan(steal) && steal > 0.03) {
        if (why)
            snprintf(why, len, "the hypervisor took %.1f%% of the CPU time", steal * 100);
        return true;
    }
    /* a machine that changed speed under the run, unseen by load and steal (a busier host):
     * the core's yardstick holds within a few percent on a quiet one */
    double pc[2], pm[2], pmean[2];
    if (tb_run_probe(m, pc, pm, pmean) && !isnan(pc[0]) && !isnan(pc[1]) && fabs(log(pc[1] / pc[0])) > log(1.1)) {
        if (why)
            snprintf(why, len, "the core's yardstick took %.2fx the time a step at the end of the run as at its start",
                     pc[1] / pc[0]);
        return true;
    }
    return false;
}

static void context(doc *d, const tb_plot *p)
{
    const cJSON *m = p->meta;
    heading(d, 2, "Context");
    const char *h[] = {"", ""};
    table_head(d, 2, h);
    char row[2][2200]; /* a whole command line fits; a cell cut without a mark misled (--threads 1 for 1,2) */
#define ROW(k, ...)                                                                             \
    do {                                                                                        \
        snprintf(row[0], sizeof row[0], "%s", k);                                               \
        snprintf(row[1], sizeof row[1], __VA_ARGS__);                                           \
        table_row_of(d, 2, (const char *const[]){row[0], row[1]});                          \
    } while (0)
    ROW("run", "%s", tb_json_str(m, "run_id", NULL));
    ROW("machine", "%s", p->subtitle);
    const cJSON *mach = m ? cJSON_GetObjectItemCaseSensitive(m, "machine") : NULL;
    const cJSON *pus = mach ? cJSON_GetObjectItemCaseSensitive(mach, "pus") : NULL;
    ROW("hardware threads", "%d", cJSON_IsNumber(pus) ? pus->valueint : 0);
    ROW("kernel, glibc", "%s, glibc %s", tb_json_str(m, "machine", "kernel"), tb_json_str(m, "machine", "glibc"));
    double lb[3], la[3], steal;
    if (run_load(m, lb, la, &steal))
        ROW("load, 1 and 5 min", "%.2f %.2f before, %.2f %.2f after, on %d hardware threads%s", lb[0], lb[1], la[0], la[1],
            cJSON_IsNumber(pus) ? pus->valueint : 0, busy(m, NULL, 0) ? ": BUSY, see the warning above" : "");
    if (!isnan(steal))
        ROW("CPU time stolen by the hypervisor", "%.1f%% during the run", steal * 100);
    double pc[2], pm[2], pmean[2];
    if (tb_run_probe(m, pc, pm, pmean)) {
        char f[4][16]; /* "-" for a probe not taken (a run cut off before its end) */
        for (int i = 0; i < 4; i++) {
            double v = i < 2 ? pc[i] : pm[i - 2];
            snprintf(f[i], sizeof f[i], isnan(v) ? "-" : i < 2 ? "%.2f" : "%.1f", v);
        }
        ROW("machine's yardstick", "a multiply chain %s / %s ns a step, a chase through 4 MiB %s / %s ns a step, "
            "before / after the cells (meta.json speed_probe; the chase moves with what other tenants do to the "
            "shared cache): read other runs against it", f[0], f[1], f[2], f[3]);
    }
    ROW("frequency governor, THP", "%s; transparent huge pages %s",
        *tb_json_str(m, "machine", "cpufreq_governor") ? tb_json_str(m, "machine", "cpufreq_governor") : "not exposed",
        *tb_json_str(m, "machine", "transparent_hugepage") ? tb_json_str(m, "machine", "transparent_hugepage") : "not exposed");
    double res = NAN, bound = NAN;
    for (size_t i = 0; i < p->ng; i++) {
        double r = tb_group_median(&p->g[i], TB_COL_timer_resolution_ns), b = tb_group_median(&p->g[i], TB_COL_lat_bound_ns);
        if (!isnan(r) && (isnan(res) || r > res))
            res = r;
        if (!isnan(b) && (isnan(bound) || b > bound))
            bound = b;
    }
    if (!isnan(res))
        ROW("timer", "TSC, its step up to %.0f ns in this run's workers: latencies below %.0f ns are bounds, not values",
            res, bound);
    ROW("build", "%s, gcc %s, %s", tb_json_str(m, "build", "build_type"), tb_json_str(m, "build", "compiler"),
        tb_json_str(m, "build", "c_flags"));
    const cJSON *mat = m ? cJSON_GetObjectItemCaseSensitive(m, "matrix") : NULL;
    const cJSON *reps = mat ? cJSON_GetObjectItemCaseSensitive(mat, "reps") : NULL;
    const cJSON *ops = mat ? cJSON_GetObjectItemCaseSensitive(mat, "ops") : NULL;
    const cJSON *dur = mat ? cJSON_GetObjectItemCaseSensitive(mat, "duration") : NULL;
    ROW("matrix", "allocators %s; workloads %s; threads %s; sizes %s", tb_json_str(m, "matrix", "allocators"),
        tb_json_str(m, "matrix", "workloads"), tb_json_str(m, "matrix", "threads"), tb_json_str(m, "matrix", "sizes"));
    ROW("repetitions, length", "%d; %s", cJSON_IsNumber(reps) ? reps->valueint : 0,
        cJSON_IsNumber(dur) && dur->valuedouble > 0 ? "timed cells" : "fixed op counts");
    if (cJSON_IsNumber(ops) && ops->valuedouble > 0)
        ROW("ops per cell", "%.0f", ops->valuedouble);
    if (cJSON_IsNumber(dur) && dur->valuedouble > 0)
        ROW("seconds per cell", "%g", dur->valuedouble);
    ROW("measure, seed", "%s; seed %s", tb_json_str(m, "matrix", "measure"), tb_json_str(m, "matrix", "seed"));
    ROW("started, ended", "%s, %s", tb_json_str(m, "started", NULL), tb_json_str(m, "ended", NULL));
    const cJSON *cl = m ? cJSON_GetObjectItemCaseSensitive(m, "command_line") : NULL;
    /* whole, or marked as cut: a command cut without a mark once read as --threads 1 for 1,2 */
    char cmd[2048] = "tmbench";
    size_t used = strlen(cmd);
    for (int i = 0; cl && i < cJSON_GetArraySize(cl); i++) {
        const cJSON *x = cJSON_GetArrayItem(cl, i);
        if (cJSON_IsString(x))
            used += (size_t)snprintf(cmd + used, used < sizeof cmd ? sizeof cmd - used : 0, " %s", x->valuestring);
    }
    if (used >= sizeof cmd)
        snprintf(cmd + sizeof cmd - 24, 24, " ... (cut; meta.json)");
    ROW("command", "%s", cmd);
    const char *pairing = tb_json_str(m, "matrix", "pairing");
    const cJSON *slice = mat ? cJSON_GetObjectItemCaseSensitive(mat, "slice_ms") : NULL;
    if (strcmp(pairing, "interleave") == 0 && cJSON_IsNumber(slice))
        ROW("pairing", "interleaved in one worker, slices of %g ms in ABBA order; judged on the median over quads",
            slice->valuedouble);
    else if (strcmp(pairing, "duet") == 0)
        ROW("pairing", "%s", "duet: both sides at once, each on CPUs of its own");
    const cJSON *vers = m ? cJSON_GetObjectItemCaseSensitive(m, "allocator_versions") : NULL;
    char vs[160] = "";
    used = 0;
    for (const cJSON *x = vers ? vers->child : NULL; x; x = x->next)
        if (cJSON_IsString(x) && strncmp(x->string, "tmempool-", 9) != 0)
            used += (size_t)snprintf(vs + used, used < sizeof vs ? sizeof vs - used : 0, "%s%s %s", used ? ", " : "",
                                     x->string, x->valuestring);
    ROW("baseline versions", "%s", vs);
    const cJSON *ad = m ? cJSON_GetObjectItemCaseSensitive(m, "adaptive") : NULL;
    if (ad) {
        const cJSON *conv = cJSON_GetObjectItemCaseSensitive(ad, "converged"), *n = cJSON_GetObjectItemCaseSensitive(ad, "cells");
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(ad, "target_pct"), *bu = cJSON_GetObjectItemCaseSensitive(ad, "budget_s");
        const cJSON *xr = cJSON_GetObjectItemCaseSensitive(ad, "extra_rounds");
        ROW("--reps auto", "%d of %d cells within +-%g%% (95%% interval), after %d more rounds in a budget of %g s",
            cJSON_IsNumber(conv) ? conv->valueint : 0, cJSON_IsNumber(n) ? n->valueint : 0,
            cJSON_IsNumber(tg) ? tg->valuedouble : 0, cJSON_IsNumber(xr) ? xr->valueint : 0,
            cJSON_IsNumber(bu) ? bu->valuedouble : 0);
    }
    size_t cells;
    if (tb_meta_complete(m, p->t.n, &cells))
        ROW("complete", "yes");
    else
        ROW("complete", "NO: %zu of %zu cell repetitions have a row (the run was %s); tmbench run --resume "
            "DIR runs the rest", p->t.n, cells,
            m && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "interrupted")) ? "interrupted" : "killed or is still running");
#undef ROW
    table_end(d);
    /* the cells --reps auto could not make clear: named, so that nobody reads them as settled */
    const cJSON *per = ad ? cJSON_GetObjectItemCaseSensitive(ad, "per_cell") : NULL;
    char open_cells[1200] = "";
    size_t aused = 0, nopen = 0;
    for (const cJSON *c = per ? per->child : NULL; c; c = c->next) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "converged")))
            continue;
        const cJSON *hw = cJSON_GetObjectItemCaseSensitive(c, "half_width_pct"), *nreps = cJSON_GetObjectItemCaseSensitive(c, "reps");
        const cJSON *thr = cJSON_GetObjectItemCaseSensitive(c, "threads");
        char hws[32] = "no 95% interval yet";
        if (cJSON_IsNumber(hw))
            snprintf(hws, sizeof hws, "+-%.1f%%", hw->valuedouble);
        if (nopen++ < 24 && aused < sizeof open_cells)
            aused += (size_t)snprintf(open_cells + aused, sizeof open_cells - aused, "%s%s %s t=%d (%d reps, %s)",
                                     aused ? "; " : "", tb_json_str(c, "allocator", NULL), tb_json_str(c, "workload", NULL),
                                     cJSON_IsNumber(thr) ? thr->valueint : 0, cJSON_IsNumber(nreps) ? nreps->valueint : 0, hws);
    }
    if (nopen)
        para(d, "Not clear within the target when --reps auto stopped (%zu cells): %s%s.", nopen, open_cells,
             nopen > 24 ? "; ..." : "");
    if (!m)
        para(d, "meta.json is missing or unreadable: the context above is unknown.");
}

static const char *const ratio_note[] = {
    [TB_RATIO_NONE] = "", [TB_RATIO_PAIRED] = "", [TB_RATIO_MEDIANS] = ", medians"};

/* "1.42 [1.31, 1.55]": the ratio and its 95% interval; "[1.1 .. 1.9]" with two dots is the
 * whole range where the rounds are too few for 95%; ", medians" where the sides shared no round. */
static void fmt_ratio(char *buf, size_t len, tb_ratio r)
{
    if (isnan(r.lo))
        snprintf(buf, len, "%.2f%s", r.value, ratio_note[r.how]);
    else if (r.reached)
        snprintf(buf, len, "%.2f [%.2f, %.2f]%s", r.value, r.lo, r.hi, ratio_note[r.how]);
    else
        snprintf(buf, len, "%.2f [%.2f .. %.2f]%s", r.value, r.lo, r.hi, ratio_note[r.how]);
}

/* Repetitions that spread this widely (largest over smallest) are marked in the tables: on a
 * shared machine a cell can be bimodal, and its median then hides which mode it is in. */
#define WIDE_SPREAD 1.3

static double spread(const tb_group *g)
{
    if (!g || g->n < 2)
        return NAN;
    double lo, hi;
    tb_group_minmax(g, &lo, &hi);
    return lo > 0 ? hi / lo : NAN;
}

/* The floor is the harness's own cost, never a contender. */
static bool is_floor(const char *name)
{
    const tb_allocator *a = tb_alloc_find(name);
    return a && a->role == TB_ROLE_FLOOR;
}

static void summary(doc *d, const tb_plot *p)
{
    heading(d, 2, "Summary");
    para(d, "Median throughput in million ops/s at each workload's highest thread count (t), and in "
            "parentheses the ratio to %s with its 95%% interval: the median over the run's rounds of the "
            "two allocators' ratio in the same round (the relative chart's figure) and a paired "
            "Hodges-Lehmann interval; [a .. b] is the whole range where the rounds are too few for 95%%; "
            "\"medians\" marks the ratio of medians where the sides shared no round. Bold: the best of a "
            "workload, only where its interval against the runner-up lies above 1 (else the two are not "
            "told apart). \"spread\" marks a cell whose repetitions differ by more than %.1fx. The floor is "
            "the harness's own cost (an unsynchronized thread-local free list), not a contender.",
         p->baseline, WIDE_SPREAD);
    const char *h[TB_PLOT_MAX + 1];
    char hb[TB_PLOT_MAX][160];
    h[0] = "allocator";
    for (size_t w = 0; w < p->nwl; w++) {
        if (p->multi_size)
            snprintf(hb[w], sizeof hb[w], "%s %s t=%u", p->wl[w].label, p->wl[w].size_label, p->wl[w].top);
        else
            snprintf(hb[w], sizeof hb[w], "%s t=%u", p->wl[w].label, p->wl[w].top);
        h[w + 1] = hb[w];
    }
    int ncol = (int)p->nwl + 1;
    table_head(d, ncol, h);
    /* each workload's winner, if its interval against the runner-up clears 1 */
    const tb_group *winner[TB_PLOT_MAX];
    for (size_t w = 0; w < p->nwl; w++) {
        const tb_group *first = NULL, *second = NULL;
        double b1 = -1, b2 = -1;
        for (size_t k = 0; k < p->nalloc; k++) {
            if (is_floor(p->alloc[k]))
                continue;
            const tb_group *g = tb_plot_cell(p, p->alloc[k], &p->wl[w], p->wl[w].top);
            double x = tb_group_median(g, TB_COL_ops_per_sec);
            if (isnan(x))
                continue;
            if (x > b1) {
                second = first, b2 = b1;
                first = g, b1 = x;
            } else if (x > b2) {
                second = g, b2 = x;
            }
        }
        tb_ratio lead = second ? tb_group_ratio(first, second, TB_COL_ops_per_sec) : (tb_ratio){.reached = false};
        winner[w] = first && (!second || (lead.reached && lead.lo > 1)) ? first : NULL;
    }
    char(*row)[160] = calloc((size_t)ncol, sizeof *row);
    for (size_t k = 0; k < p->nalloc; k++) {
        snprintf(row[0], 160, "%s", p->alloc[k]);
        for (size_t w = 0; w < p->nwl; w++) {
            const tb_group *g = tb_plot_cell(p, p->alloc[k], &p->wl[w], p->wl[w].top);
            const tb_group *bg = tb_plot_cell(p, p->baseline, &p->wl[w], p->wl[w].top);
            double x = tb_group_median(g, TB_COL_ops_per_sec);
            tb_ratio r = tb_group_ratio(g, bg, TB_COL_ops_per_sec);
            char rs[80] = "", sp[40] = "";
            if (r.how != TB_RATIO_NONE) {
                char v[64];
                fmt_ratio(v, sizeof v, r);
                snprintf(rs, sizeof rs, " (%s)", v);
            }
            double sd = spread(g);
            if (sd > WIDE_SPREAD)
                snprintf(sp, sizeof sp, " spread %.1fx", sd);
            if (isnan(x))
                snprintf(row[w + 1], 160, "%s", !g ? "-" : g->nskipped && !g->nbad ? tb_status_name(TB_ST_skipped) : g->nbad ? tb_row_get(g->bad, TB_COL_status) : "-");
            else {
                char m[32];
                snprintf(row[w + 1], 160, "%s%s%s%s", g == winner[w] ? "*" : "", mops(m, sizeof m, x), rs, sp);
            }
        }
        table_row(d, ncol, row);
    }
    free(row);
    table_end(d);
}

static bool is_baseline(const char *name)
{
    const tb_allocator *a = tb_alloc_find(name);
    return a && a->role == TB_ROLE_BASELINE;
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

/* The question a design review asks first: for each workload and thread count, how does each
 * design compare with the best general-purpose allocator measured beside it? */
static void versus_baselines(doc *d, const tb_plot *p)
{
    heading(d, 2, "Against the fastest baseline");
    const char *other[TB_PLOT_MAX];
    size_t nother = 0, nbase = 0;
    for (size_t k = 0; k < p->nalloc; k++) {
        if (is_baseline(p->alloc[k]))
            nbase++;
        else
            other[nother++] = p->alloc[k];
    }
    if (!nbase || !nother) {
        para(d, "Not available: the run needs at least one malloc baseline (glibc, mimalloc, tcmalloc, "
                "jemalloc) and one other allocator.");
        return;
    }
    para(d, "For each workload and thread count, the fastest malloc baseline in this run (by median "
            "Mops/s), and every other allocator's throughput as a ratio to it: the median over the "
            "run's rounds of the two allocators' ratio in the same round (repetition), so that a slow "
            "stretch of the machine, which falls on whole rounds, cancels. Above 1.00 it beat every "
            "baseline measured.");
    const char *h[TB_PLOT_MAX + 3] = {"workload", "threads", "fastest baseline"};
    for (size_t k = 0; k < nother; k++)
        h[k + 3] = other[k];
    int ncol = (int)nother + 3;
    table_head(d, ncol, h);
    char(*row)[160] = calloc((size_t)ncol, sizeof *row);
    for (size_t w = 0; w < p->nwl; w++) {
        unsigned thr[TB_PLOT_MAX] = {0};
        size_t nt = 0;
        for (size_t i = 0; i < p->ng; i++) {
            const tb_group *g = &p->g[i];
            if (!tb_plot_wl_is(&p->wl[w], g))
                continue;
            bool seen = false;
            for (size_t j = 0; j < nt && !seen; j++)
                seen = thr[j] == g->threads;
            if (!seen && nt < TB_PLOT_MAX)
                thr[nt++] = g->threads;
        }
        qsort(thr, nt, sizeof *thr, cmp_uint);
        for (size_t t = 0; t < nt; t++) {
            double best = -1;
            const char *bname = NULL;
            for (size_t k = 0; k < p->nalloc; k++) {
                if (!is_baseline(p->alloc[k]))
                    continue;
                double x = tb_group_median(tb_plot_cell(p, p->alloc[k], &p->wl[w], thr[t]), TB_COL_ops_per_sec);
                if (!isnan(x) && x > best) {
                    best = x;
                    bname = p->alloc[k];
                }
            }
            bool any = bname != NULL;
            for (size_t k = 0; k < nother && !any; k++)
                any = !isnan(tb_group_median(tb_plot_cell(p, other[k], &p->wl[w], thr[t]), TB_COL_ops_per_sec));
            if (!any)
                continue; /* skipped for every allocator: the workload does not run at this count */
            if (p->multi_size)
                snprintf(row[0], 160, "%s %s", p->wl[w].label, p->wl[w].size_label);
            else
                snprintf(row[0], 160, "%s", p->wl[w].label);
            snprintf(row[1], 160, "%u", thr[t]);
            if (bname) {
                char m[32];
                snprintf(row[2], 160, "%s (%s)", bname, mops(m, sizeof m, best));
            }
            else
                snprintf(row[2], 160, "none ok");
            const tb_group *bg = bname ? tb_plot_cell(p, bname, &p->wl[w], thr[t]) : NULL;
            for (size_t k = 0; k < nother; k++) {
                const tb_group *g = tb_plot_cell(p, other[k], &p->wl[w], thr[t]);
                double x = tb_group_median(g, TB_COL_ops_per_sec);
                if (!isnan(x) && bname)
                    fmt_ratio(row[k + 3], 160, tb_group_ratio(g, bg, TB_COL_ops_per_sec));
                else if (isnan(x) && g && g->nbad)
                    snprintf(row[k + 3], 160, "%s", tb_row_get(g->bad, TB_COL_status));
                else
                    snprintf(row[k + 3], 160, "%s", isnan(x) && g && g->nskipped ? tb_status_name(TB_ST_skipped) : "-");
            }
            table_row(d, ncol, row);
        }
    }
    free(row);
    table_end(d);
}

/* A sampled percentile, or "< B" where it fell below the timer's resolution (its bound). */
/* What each allocator held per byte the workload had live (footprint's mark): RSS grown since
 * the heap opened, and, for pools, bytes reserved. Internal fragmentation of size classes and
 * each design's slack show here, the same way for pools and baselines. */
static void memory_per_byte(doc *d, const tb_plot *p)
{
    size_t cols[TB_PLOT_MAX], nc = 0;
    for (size_t w = 0; w < p->nwl && nc < 15; w++) /* a table row holds 16 cells */
        for (size_t k = 0; k < p->nalloc && (nc == 0 || cols[nc - 1] != w); k++)
            if (!isnan(tb_group_median(tb_plot_cell(p, p->alloc[k], &p->wl[w], p->wl[w].top), TB_COL_mark_rss_ratio)))
                cols[nc++] = w; /* a workload with live bytes but no mark (replay) has no row here */
    if (nc == 0)
        return;
    heading(d, 2, "Memory per byte requested");
    para(d, "At the workload's mark (footprint: its peak), bytes held per byte the threads had asked for and still "
            "held, median over the ok repetitions: RSS grown since the heap opened, then (pools) bytes reserved. "
            "1.00 would be no overhead at all; class rounding, partly used chunks and metadata add to it. The "
            "workload's own bookkeeping is made and touched before the base is read, so it is not in these figures.");
    const char *h[TB_PLOT_MAX + 1];
    char hb[TB_PLOT_MAX][160];
    h[0] = "allocator";
    for (size_t c = 0; c < nc; c++) {
        const tb_plot_wl *w = &p->wl[cols[c]];
        snprintf(hb[c], sizeof hb[c], "%s %s t=%u: RSS (reserve)", w->label, w->size_label, w->top);
        h[c + 1] = hb[c];
    }
    table_head(d, (int)nc + 1, h);
    for (size_t k = 0; k < p->nalloc; k++) {
        char cells[TB_PLOT_MAX + 1][160];
        snprintf(cells[0], 160, "%s", p->alloc[k]);
        bool any = false;
        for (size_t c = 0; c < nc; c++) {
            const tb_group *g = tb_plot_cell(p, p->alloc[k], &p->wl[cols[c]], p->wl[cols[c]].top);
            double rss = tb_group_median(g, TB_COL_mark_rss_ratio), res = tb_group_median(g, TB_COL_mark_reserve_ratio);
            char a[32], b[48] = "";
            num(a, sizeof a, rss, 1, 2);
            if (!isnan(res))
                snprintf(b, sizeof b, " (%.2f)", res);
            snprintf(cells[c + 1], 160, "%s%s", a, b);
            any |= !isnan(rss) || !isnan(res);
        }
        if (any)
            table_row(d, (int)nc + 1, cells);
    }
    table_end(d);
}

/* The traces the run replayed and what each one's pattern is (tmbench trace-info's figures),
 * read from the files the cells name: the replay's numbers beside what the program asked. */
static void traces(doc *d, const tb_plot *p)
{
    size_t n = 0;
    const char *h[] = {"trace", "program", "threads", "events", "objects made", "largest B", "peak live KiB",
                       "cross-thread frees", "lifetime median / p90 (events)"};
    enum { NC = sizeof h / sizeof *h };
    for (size_t i = 0; i < p->ntraces; i++) {
        const tb_plot_trace *x = &p->traces[i];
        if (!n++) {
            heading(d, 2, "Traces replayed");
            para(d, "What each recorded program asked of the allocators (the chart \"objects by size\" and tmbench trace-info have the size histogram): "
                    "lifetimes count the program's allocation events between an object's allocation and its free.");
            table_head(d, NC, h);
        }
        char row[NC][160];
        snprintf(row[0], 160, "%s", strrchr(x->path, '/') ? strrchr(x->path, '/') + 1 : x->path);
        if (!x->ok) {
            snprintf(row[1], 160, "not readable now: %.140s", x->err);
            for (int c = 2; c < NC; c++)
                snprintf(row[c], 160, "-");
            table_row(d, NC, row);
            continue;
        }
        const tb_trace *t = &x->t;
        snprintf(row[1], 160, "%.150s%s", t->cmd, t->complete ? "" : " (incomplete)");
        snprintf(row[2], 160, "%u", t->threads);
        snprintf(row[3], 160, "%llu", (unsigned long long)t->events);
        snprintf(row[4], 160, "%llu", (unsigned long long)t->objects);
        snprintf(row[5], 160, "%llu", (unsigned long long)t->max_size);
        snprintf(row[6], 160, "%.1f", (double)t->peak_live_bytes / 1024);
        snprintf(row[7], 160, "%.1f%%", t->frees ? 100.0 * (double)t->cross_frees / (double)t->frees : 0.0);
        snprintf(row[8], 160, "%.0f / %.0f", t->life_p50, t->life_p90);
        table_row(d, NC, row);
    }
    if (n)
        table_end(d);
}

static void latency_cell(char *buf, size_t len, const tb_group *g, int col)
{
    double v = tb_group_median(g, col), bound = tb_group_median(g, TB_COL_lat_bound_ns);
    if (isnan(v) && !isnan(bound))
        snprintf(buf, len, "< %.0f", bound);
    else
        num(buf, len, v, 1, 0);
}

static void all_cells(doc *d, const tb_plot *p)
{
    heading(d, 2, "Every cell");
    para(d, "Medians over the ok repetitions; min and max of throughput; latency sampled one call in %s. "
            "\"< B\": the percentile fell below two steps of the worker's timer, so only the bound B is known.",
         p->sample_every);
    const char *h[] = {"allocator", "workload", "params", "threads", "size", "ok/reps", "Mops/s median",
                       "min", "max", "alloc p99 ns", "free p99 ns", "peak RSS MiB", "end RSS MiB", "status"};
    enum { NC = sizeof h / sizeof *h };
    table_head(d, NC, h);
    char row[NC][160];
    for (size_t i = 0; i < p->ng; i++) {
        const tb_group *g = &p->g[i];
        double lo, hi;
        tb_group_minmax(g, &lo, &hi);
        snprintf(row[0], 160, "%s", g->allocator);
        snprintf(row[1], 160, "%s", g->workload);
        snprintf(row[2], 160, "%s", g->params);
        snprintf(row[3], 160, "%u", g->threads);
        tb_group_size_label(g, row[4], 160);
        snprintf(row[5], 160, "%zu/%zu", g->nok, g->nrows);
        mops(row[6], 160, g->n ? tb_median(g->v, g->n) : NAN);
        mops(row[7], 160, g->n ? lo : NAN);
        mops(row[8], 160, g->n ? hi : NAN);
        latency_cell(row[9], 160, g, TB_COL_lat_p99_ns);
        latency_cell(row[10], 160, g, TB_COL_free_p99_ns);
        num(row[11], 160, tb_group_median(g, TB_COL_peak_rss_kib), 1024, 1);
        num(row[12], 160, tb_group_median(g, TB_COL_end_rss_kib), 1024, 1);
        if (g->nbad)
            snprintf(row[13], 160, "%zu not ok (%s)", g->nbad, tb_row_get(g->bad, TB_COL_status));
        else if (g->nskipped)
            snprintf(row[13], 160, "%s", tb_status_name(TB_ST_skipped));
        else
            snprintf(row[13], 160, "%s", tb_status_name(TB_ST_ok));
        table_row(d, NC, row);
    }
    table_end(d);
}

/* Repetitions whose threads shared a CPU they need not have shared: listed, not dropped (a
 * median that left them out would be chosen after the fact), so a reader can see which of a
 * cell's values come from another placement. */
static void shared_cpus(doc *d, const tb_plot *p)
{
    unsigned cpus = tb_run_cpus(p->meta);
    size_t n = 0;
    const char *h[] = {"allocator", "workload", "params", "threads", "size", "rep", "cpus_used", "Mops/s"};
    for (size_t i = 0; i < p->t.n; i++) {
        const tb_row *r = &p->t.rows[i];
        if (!tb_row_shared_cpu(r, cpus))
            continue;
        if (!n++) {
            heading(d, 2, "Threads that shared a CPU");
            para(d, "Repetitions whose threads ended on fewer CPUs than they could have spread over (%u here): "
                    "two of their threads shared one, so a cross-thread workload passed its objects within a CPU "
                    "rather than between cores, which on the 2-core VM ran xmalloc about 3x faster for every "
                    "allocator. They are kept in the medians above; a cell with some of these and some without "
                    "has two placements in it. `--pin` spreads the threads over the CPUs.", cpus);
            table_head(d, 8, h);
        }
        char row[8][160];
        static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params, TB_COL_threads,
                                   TB_COL_object_size, TB_COL_rep, TB_COL_cpus_used};
        for (int c = 0; c < 7; c++)
            snprintf(row[c], 160, "%s", tb_row_get(r, cols[c]));
        mops(row[7], 160, tb_row_num(r, TB_COL_ops_per_sec));
        table_row(d, 8, row);
    }
    if (n)
        table_end(d);
}

static void failed_cells(doc *d, const tb_plot *p)
{
    heading(d, 2, "Failed cells");
    size_t n = 0;
    const char *h[] = {"allocator", "workload", "params", "threads", "size", "rep", "status", "error"};
    for (size_t i = 0; i < p->t.n; i++) {
        const tb_row *r = &p->t.rows[i];
        if (tb_status_good(tb_row_status(r)))
            continue;
        if (!n++) {
            para(d, "Repetitions whose status is not ok. They are left out of every chart and median, never "
                    "drawn as zero.");
            table_head(d, 8, h);
        }
        char row[8][160];
        static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params, TB_COL_threads,
                                   TB_COL_object_size, TB_COL_rep, TB_COL_status, TB_COL_error};
        for (int c = 0; c < 8; c++)
            snprintf(row[c], 160, "%s", tb_row_get(r, cols[c]));
        table_row(d, 8, row);
    }
    if (n)
        table_end(d);
    else
        para(d, "None: every cell is ok, or skipped by design (see Every cell).");
}

int tb_plot_report(tb_plot *p, char *err, size_t errlen)
{
    char md_path[4400], html_path[4400], md_tmp[4500], html_tmp[4500];
    snprintf(md_path, sizeof md_path, "%s/report.md", p->outdir);
    snprintf(html_path, sizeof html_path, "%s/report.html", p->outdir);
    snprintf(md_tmp, sizeof md_tmp, "%s.tmp", md_path);
    snprintf(html_tmp, sizeof html_tmp, "%s.tmp", html_path);
    doc d = {fopen(md_tmp, "w"), fopen(html_tmp, "w")};
    if (!d.md || !d.html) {
        p->io_failed = true;
        snprintf(err, errlen, "cannot write the report in %s: %s", p->outdir, strerror(errno));
        if (d.md)
            fclose(d.md);
        if (d.html)
            fclose(d.html);
        return -1;
    }
    const char *run = tb_json_str(p->meta, "run_id", NULL);
    char title[300];
    snprintf(title, sizeof title, "tmbench report: %s", *run ? run : p->dir);
    fprintf(d.md, "# %s\n", title);
    fprintf(d.html, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    esc(d.html, title);
    fprintf(d.html, "</title>\n<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
                    "table{border-collapse:collapse;margin:1em 0;font-size:90%%}td,th{border:1px solid #ccc;"
                    "padding:3px 8px}td.n{text-align:right}th{background:#f2f2f2}img,svg{max-width:100%%;"
                    "height:auto}figure{margin:1em 0}p.failed{color:#a00}</style></head><body>\n<h1>");
    esc(d.html, title);
    fprintf(d.html, "</h1>\n");
    char why[200];
    if (busy(p->meta, why, sizeof why))
        para(&d, "WARNING: the machine was busy while this run ran (%s). Every figure below carries that noise: "
                 "read the intervals, and compare within one run (paired by round) or rerun on a quiet machine.", why);
    context(&d, p);
    summary(&d, p);
    versus_baselines(&d, p);
    memory_per_byte(&d, p);
    traces(&d, p);
    heading(&d, 2, "Charts");
    for (size_t i = 0; i < p->ncharts; i++) {
        heading(&d, 3, p->chart[i].title);
        image(&d, p, &p->chart[i]);
        if (p->chart[i].failed[0])
            para(&d, "Not ok, left out of this chart: %s.", p->chart[i].failed);
    }
    all_cells(&d, p);
    shared_cpus(&d, p);
    failed_cells(&d, p);
    fprintf(d.html, "</body></html>\n");
    bool bad = ferror(d.md) || ferror(d.html);
    bad |= fclose(d.md) != 0;
    bad |= fclose(d.html) != 0;
    if (bad || rename(md_tmp, md_path) != 0 || rename(html_tmp, html_path) != 0) {
        snprintf(err, errlen, "cannot write the report in %s: %s", p->outdir, strerror(errno));
        p->io_failed = true;
        return -1;
    }
    return 0;
}
