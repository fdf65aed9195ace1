/* tmbench plot: a results directory -> aggregated data files -> gnuplot templates (plots/) ->
 * PNG/SVG charts, then report.md and report.html (report.c). The data files are kept beside the
 * images so that a user can re-render them with an edited template.
 *
 * Everything about the input is checked before the first file is written, so bad input leaves
 * nothing behind. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"
#include "tb_alloc.h"
#include "stats.h"

/* One color per allocator, the same in every chart: registered allocators by their place in
 * the registry, others (user libraries, X@base) after them in name order. Okabe-Ito first,
 * then darker companions: distinguishable for the common kinds of color blindness. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                      "#D55E00", "#F0E442", "#000000", "#999999", "#8C564B",
                                      "#1F3A93", "#7B3294", "#A6761D", "#1B9E77", "#E7298A",
                                      "#66A61E"};
enum { NPAL = sizeof palette / sizeof *palette };

static int alloc_rank(const char *name)
{
    int i = 0;
    for (const tb_allocator *a = tb_allocators; a->name; a++, i++)
        if (strcmp(a->name, name) == 0)
            return i;
    return 1000;
}

static int cmp_alloc(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = alloc_rank(x), ry = alloc_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* The value of key in a canonical params string ("k=v;k=v") into buf; false if it has none. */
static bool param_value(const char *params, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    for (const char *q = params; q && *q; q = strchr(q, ';') ? strchr(q, ';') + 1 : NULL)
        if (strncmp(q, key, kl) == 0 && q[kl] == '=') {
            snprintf(buf, len, "%.*s", (int)strcspn(q + kl + 1, ";"), q + kl + 1);
            return true;
        }
    return false;
}

/* true when the ';'-separated list `params` holds exactly the setting kv (of length n) */
static bool holds(const char *params, const char *kv, size_t n)
{
    for (const char *s = params; *s;) {
        size_t len = strcspn(s, ";");
        if (len == n && strncmp(s, kv, n) == 0)
            return true;
        s += len + (s[len] == ';');
    }
    return false;
}

/* The label names only the settings in which this variant differs from another variant of the
 * same workload in the run; a workload run with one set of params is labelled by its name. */
static void label_variant(const tb_plot *p, tb_plot_wl *w)
{
    size_t used = (size_t)snprintf(w->label, sizeof w->label, "%s", w->name);
    for (const char *s = w->params; *s && used < sizeof w->label;) {
        size_t len = strcspn(s, ";");
        bool differs = false;
        for (size_t k = 0; k < p->nwl && !differs; k++)
            differs = strcmp(p->wl[k].name, w->name) == 0 && !holds(p->wl[k].params, s, len);
        if (differs && used + 1 < sizeof w->label) {
            w->label[used++] = ' ';
            used += (size_t)tb_setting_label(s, len, w->label + used, sizeof w->label - used);
        }
        s += len + (s[len] == ';');
    }
    size_t i = 0;
    for (const char *c = w->label; *c && i + 1 < sizeof w->slug; c++)
        w->slug[i++] = isalnum((unsigned char)*c) || *c == '_' || *c == '.' ? *c : '-';
    w->slug[i] = '\0';
}

/* The words a chart uses for a variant's object sizes. */
static void size_words(tb_plot_wl *w)
{
    tb_size_label(w->size, w->sizes, w->size_label, sizeof w->size_label);
    if (!*w->sizes) {
        snprintf(w->size_text, sizeof w->size_text, "%zu-byte objects", w->size);
        snprintf(w->size_slug, sizeof w->size_slug, "%zu", w->size);
        return;
    }
    const char *colon = strchr(w->sizes, ':');
    int n = colon ? (int)(colon - w->sizes) : (int)strlen(w->sizes);
    /* a replay's sizes are the recorded program's: the range only bounds them, nothing is drawn */
    char path[8];
    bool traced = param_value(w->params, "trace", path, sizeof path);
    const char *dash = memchr(w->sizes, '-', (size_t)n);
    if (traced)
        snprintf(w->size_text, sizeof w->size_text, "the trace's object sizes, up to %.*s bytes",
                 dash ? (int)(n - (dash + 1 - w->sizes)) : n, dash ? dash + 1 : w->sizes);
    else
        snprintf(w->size_text, sizeof w->size_text, "objects of %.*s bytes, %s", n, w->sizes,
                 colon ? "log-uniform" : "uniform");
    snprintf(w->size_slug, sizeof w->size_slug, "%.*s%s", n, w->sizes, colon ? "log" : "");
}

static void collect(tb_plot *p)
{
    for (size_t i = 0; i < p->ng; i++) {
        const tb_group *g = &p->g[i];
        bool seen = false;
        for (size_t k = 0; k < p->nalloc && !seen; k++)
            seen = strcmp(p->alloc[k], g->allocator) == 0;
        if (!seen && p->nalloc < TB_PLOT_MAX)
            p->alloc[p->nalloc++] = g->allocator;
        seen = false;
        for (size_t k = 0; k < p->nwl && !seen; k++)
            seen = tb_plot_wl_is(&p->wl[k], g);
        if (!seen && p->nwl < TB_PLOT_MAX)
            p->wl[p->nwl++] = (tb_plot_wl){.name = g->workload, .params = g->params, .size = g->size,
                                           .sizes = g->sizes};
    }
    for (size_t w = 0; w < p->nwl; w++)
        size_words(&p->wl[w]);
    for (size_t w = 0; w < p->nwl; w++)
        label_variant(p, &p->wl[w]);
    qsort(p->alloc, p->nalloc, sizeof *p->alloc, cmp_alloc);
    for (size_t k = 0; k < p->nalloc; k++)
        p->color[k] = palette[k < NPAL ? k : k % NPAL];
    /* each workload's highest thread count with an ok repetition */
    for (size_t w = 0; w < p->nwl; w++)
        for (size_t i = 0; i < p->ng; i++)
            if (tb_plot_wl_is(&p->wl[w], &p->g[i]) && p->g[i].nok && p->g[i].threads > p->wl[w].top)
                p->wl[w].top = p->g[i].threads;
}

/* ---- running gnuplot ---- */

/* Every string from a file or the command line reaches gnuplot as a single-quoted literal:
 * gnuplot runs `backquoted` commands inside double-quoted strings and on the command line, but
 * never inside single quotes, where the only special character is the quote itself (doubled).
 * Control characters become spaces, so that nothing ends the statement early. */
static void gp_quote(char *out, size_t len, const char *s)
{
    size_t k = 0;
    out[k++] = '\'';
    for (; *s && k + 3 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            out[k++] = '\'';
        out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[k++] = '\'';
    out[k] = '\0';
}

typedef struct gp_vars {
    char text[16384];
    size_t used;
} gp_vars;

static void gp_str(gp_vars *v, const char *name, const char *value)
{
    char q[2100];
    gp_quote(q, sizeof q, value);
    v->used += (size_t)snprintf(v->text + v->used, v->used < sizeof v->text ? sizeof v->text - v->used : 0,
                                "%s=%s; ", name, q);
}

static void gp_num(gp_vars *v, const char *name, double value)
{
    v->used += (size_t)snprintf(v->text + v->used, sizeof v->text - v->used, "%s=%.6g; ", name, value);
}

/* Renders template `tpl` (a file in plots/) into outbase.png/.svg. 0, or -1 with gnuplot's words. */
static int render(tb_plot *p, const char *tpl, const char *outbase, gp_vars *vars, char *err, size_t errlen)
{
    for (int f = 0; f < 2; f++) {
        const char *ext = f == 0 ? "png" : "svg";
        if ((f == 0 && !p->png) || (f == 1 && !p->svg))
            continue;
        gp_vars v = *vars;
        char outfile[4200], script[4200];
        snprintf(outfile, sizeof outfile, "%s/%s.%s", p->outdir, outbase, ext);
        snprintf(script, sizeof script, "%s/%s", p->templates, tpl);
        gp_str(&v, "term", ext);
        gp_str(&v, "outfile", outfile);
        gp_str(&v, "plotsdir", p->templates);
        gp_str(&v, "subtitle", p->subtitle);
        int ep[2];
        if (pipe(ep) != 0)
            return -1;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(ep[1], 2);
            close(ep[0]);
            execl(p->gnuplot, "gnuplot", "-e", v.text, script, (char *)NULL);
            dprintf(2, "exec %s: %s\n", p->gnuplot, strerror(errno));
            _exit(127);
        }
        close(ep[1]);
        char buf[2048], rest[512];
        size_t got = 0;
        ssize_t r;
        while ((r = read(ep[0], buf + got, sizeof buf - 1 - got)) > 0 && got < sizeof buf - 1)
            got += (size_t)r;
        while (r > 0) /* keep the first words, drain the rest so that gnuplot never blocks */
            r = read(ep[0], rest, sizeof rest);
        close(ep[0]);
        buf[got] = '\0';
        int st;
        waitpid(pid, &st, 0);
        struct stat sb;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(outfile, &sb) != 0 || sb.st_size == 0) {
            struct statvfs fs;
            if (statvfs(p->outdir, &fs) == 0 && fs.f_bavail == 0) { /* the disk, not gnuplot */
                p->io_failed = true;
                snprintf(err, errlen, "cannot write %s: %s", outfile, strerror(ENOSPC));
            } else {
                snprintf(err, errlen, "gnuplot failed on %s for %s: %.900s", tpl, outfile, buf);
            }
            return -1;
        }
        p->files[p->nfiles++] = strdup(outfile);
    }
    return 0;
}

/* The series of a chart: name1..nameN (one variable each, so that a name may hold spaces; the
 * templates read them with common.gp's name(i)), their colors, and n. */
static void names_colors(tb_plot *p, const bool *use, gp_vars *v)
{
    char colors[1024] = "";
    size_t uc = 0, n = 0;
    for (size_t k = 0; k < p->nalloc; k++)
        if (use[k]) {
            char var[32];
            snprintf(var, sizeof var, "name%zu", n + 1);
            gp_str(v, var, p->alloc[k]);
            uc += (size_t)snprintf(colors + uc, sizeof colors - uc, "%s%s", n ? " " : "", p->color[k]);
            n++;
        }
    gp_str(v, "colors", colors);
    gp_num(v, "n", (double)n);
}

static FILE *open_data(tb_plot *p, const char *name, char *path, size_t len);
static void put_text(FILE *f, const char *s);

/* A data file whose first line is the comment `what`; NULL with the message in err. */
static FILE *titled_data(tb_plot *p, const char *name, const char *what, char *path, size_t len, char *err,
                         size_t errlen)
{
    FILE *f = open_data(p, name, path, len);
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fputs("# ", f);
    put_text(f, what);
    fputc('\n', f);
    return f;
}

/* The data file <base>.dat of variant w, its first line naming the variant and then `what`. */
static FILE *variant_data(tb_plot *p, const tb_plot_wl *w, const char *base, const char *what, char *path,
                          size_t len, char *err, size_t errlen)
{
    char dname[300];
    snprintf(dname, sizeof dname, "%s.dat", base);
    FILE *f = open_data(p, dname, path, len);
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fputs("# ", f);
    put_text(f, w->name);
    fputs(" (", f);
    put_text(f, w->params);
    fprintf(f, ")%s\n", what);
    return f;
}

/* A string from the run into a data file: tabs and line breaks would split its field or end
 * its comment, so control characters become spaces. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

static FILE *open_data(tb_plot *p, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", p->outdir, name);
    FILE *f = fopen(path, "w");
    if (f)
        p->files[p->nfiles++] = strdup(path);
    else
        p->io_failed = true;
    return f;
}

/* Closes a data file; false (and the run's io_failed) when any write to it failed. */
static bool close_data(tb_plot *p, FILE *f, const char *path, char *err, size_t errlen)
{
    bool ok = !ferror(f);
    ok &= fclose(f) == 0;
    if (!ok) {
        p->io_failed = true;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
    }
    return ok;
}

/* Failed cells of one workload (all thread counts), for the line under its charts. */
static void failed_line(const tb_plot *p, const tb_plot_wl *w, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->ng; i++) {
        const tb_group *g = &p->g[i];
        if (!g->nbad || (w && !tb_plot_wl_is(w, g)))
            continue;
        used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s%s%s t=%u (%s)",
                                 used ? "; " : "", g->allocator, w ? "" : " ", w ? "" : g->workload,
                                 g->threads, tb_row_get(g->bad, TB_COL_status));
        if (used >= len - 1)
            break;
    }
}

/* The run's repetitions per cell (meta.json's matrix.reps; 0 when unknown). */
static int reps_of(const tb_plot *p)
{
    const cJSON *mat = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, "matrix") : NULL;
    const cJSON *r = mat ? cJSON_GetObjectItemCaseSensitive(mat, "reps") : NULL;
    return cJSON_IsNumber(r) ? r->valueint : 0;
}

/* A workload run at one thread count (prodcons, xmalloc at 2): every repetition of each
 * allocator as a dot and the median as a ring, instead of a "scaling" line with one x. */
static int chart_strip(tb_plot *p, size_t wi, const char *base, const bool *use, char *err, size_t errlen)
{
    const tb_plot_wl *w = &p->wl[wi];
    char dpath[4300], what[160];
    snprintf(what, sizeof what, " at t=%u, %s: x, ops/s of each ok repetition, median; one block per "
             "allocator", w->top, w->size_text);
    FILE *f = variant_data(p, w, base, what, dpath, sizeof dpath, err, errlen);
    if (!f)
        return -1;
    bool used[TB_PLOT_MAX] = {0};
    size_t k1 = 0;
    for (size_t k = 0; k < p->nalloc; k++) {
        const tb_group *g = use[k] ? tb_plot_cell(p, p->alloc[k], w, w->top) : NULL;
        if (!g || !g->n)
            continue;
        used[k] = true;
        if (k1++)
            fprintf(f, "\n\n");
        fputs("# ", f);
        put_text(f, p->alloc[k]);
        fputc('\n', f);
        double med = tb_median(g->v, g->n);
        for (size_t r = 0; r < g->n; r++) /* set apart by repetition, the same way every time */
            fprintf(f, "%.3f\t%.1f\t%.1f\n", (double)k1 + ((double)(r % 7) - 3) * 0.05, g->v[r], med);
    }
    if (!close_data(p, f, dpath, err, errlen))
        return -1;
    gp_vars v = {.used = 0};
    char title[256], failed[1500];
    snprintf(title, sizeof title, "%s at %u thread%s: throughput of each repetition (%s, %d reps)",
             w->label, w->top, w->top == 1 ? "" : "s", w->size_text, reps_of(p));
    failed_line(p, w, failed, sizeof failed);
    gp_str(&v, "title_text", title);
    gp_str(&v, "failed", failed);
    gp_str(&v, "datafile", dpath);
    names_colors(p, used, &v);
    if (render(p, "strip.gp", base, &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup(base), strdup(title), strdup(failed)};
    return 0;
}

static int chart_scaling(tb_plot *p, size_t wi, char *err, size_t errlen)
{
    const tb_plot_wl *w = &p->wl[wi];
    char base[256], dpath[4300], what[160];
    snprintf(base, sizeof base, "scaling_%s_%s", w->slug, w->size_slug);
    snprintf(what, sizeof what, ", %s: threads, median ops/s, min, max; one block per allocator", w->size_text);
    FILE *f = variant_data(p, w, base, what, dpath, sizeof dpath, err, errlen);
    if (!f)
        return -1;
    bool use[TB_PLOT_MAX] = {0};
    unsigned tmin = UINT32_MAX, tmax = 0;
    size_t blocks = 0;
    for (size_t k = 0; k < p->nalloc; k++) {
        bool any = false;
        for (size_t i = 0; i < p->ng; i++) {
            const tb_group *g = &p->g[i];
            if (strcmp(g->allocator, p->alloc[k]) || !tb_plot_wl_is(w, g) || !g->n)
                continue;
            if (!any && blocks)
                fprintf(f, "\n\n");
            if (!any) {
                fputs("# ", f);
                put_text(f, p->alloc[k]);
                fputc('\n', f);
            }
            any = true;
            double lo, hi;
            tb_group_minmax(g, &lo, &hi);
            fprintf(f, "%u\t%.1f\t%.1f\t%.1f\n", g->threads, tb_median(g->v, g->n), lo, hi);
            if (g->threads < tmin)
                tmin = g->threads;
            if (g->threads > tmax)
                tmax = g->threads;
        }
        use[k] = any;
        blocks += any;
    }
    if (!close_data(p, f, dpath, err, errlen))
        return -1;
    if (!blocks)
        return 0; /* nothing ok in this workload: listed as failed in the report */
    if (tmin == tmax)
        return chart_strip(p, wi, base, use, err, errlen); /* one thread count: no line to draw */
    gp_vars v = {.used = 0};
    char title[256], failed[1500];
    snprintf(title, sizeof title, "%s: throughput against threads (%s, %d reps)", w->label, w->size_text,
             reps_of(p));
    failed_line(p, w, failed, sizeof failed);
    gp_str(&v, "title_text", title);
    gp_str(&v, "failed", failed);
    gp_str(&v, "datafile", dpath);
    gp_num(&v, "xmin", tmin / 1.4);
    gp_num(&v, "xmax", tmax * 1.4);
    names_colors(p, use, &v);
    if (render(p, "scaling.gp", base, &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup(base), strdup(title), strdup(failed)};
    return 0;
}

/* A table for clustered bars: rows (one per workload or percentile), one column per allocator. */
typedef double (*cell_value)(const tb_plot *p, size_t alloc, size_t row, void *ctx);

static int bars_file_ci(tb_plot *p, const char *name, const char *what, size_t nrows,
                        const char *const *labels, cell_value val, cell_value lo, cell_value hi, void *ctx,
                        bool *use, char *path, size_t pathlen, char *err, size_t errlen)
{
    FILE *f = titled_data(p, name, what, path, pathlen, err, errlen);
    if (!f)
        return -1;
    fputs("# row", f);
    for (size_t k = 0; k < p->nalloc; k++)
        if (use[k]) {
            fputc('\t', f), put_text(f, p->alloc[k]);
            if (lo)
                fputc('\t', f), put_text(f, p->alloc[k]), fputs("_lo\t", f), put_text(f, p->alloc[k]), fputs("_hi", f);
        }
    fprintf(f, "\n");
    for (size_t r = 0; r < nrows; r++) {
        put_text(f, labels[r]);
        for (size_t k = 0; k < p->nalloc; k++)
            if (use[k]) {
                double x[3] = {val(p, k, r, ctx), lo ? lo(p, k, r, ctx) : NAN, hi ? hi(p, k, r, ctx) : NAN};
                for (int q = 0; q < (lo ? 3 : 1); q++)
                    fprintf(f, isnan(x[q]) ? "\tNaN" : "\t%.6f", x[q]);
            }
        fprintf(f, "\n");
    }
    return close_data(p, f, path, err, errlen) ? 0 : -1;
}

static int bars_file(tb_plot *p, const char *name, const char *what, size_t nrows,
                     const char *const *labels, cell_value val, void *ctx, bool *use, char *path,
                     size_t pathlen, char *err, size_t errlen)
{
    return bars_file_ci(p, name, what, nrows, labels, val, NULL, NULL, ctx, use, path, pathlen, err, errlen);
}

static tb_ratio rel_ratio(const tb_plot *p, size_t k, size_t r)
{
    const tb_plot_wl *w = &p->wl[r];
    return tb_group_ratio(tb_plot_cell(p, p->alloc[k], w, w->top), tb_plot_cell(p, p->baseline, w, w->top),
                          TB_COL_ops_per_sec);
}

static double rel_lo(const tb_plot *p, size_t k, size_t r, void *ctx)
{
    (void)ctx;
    return rel_ratio(p, k, r).lo;
}

static double rel_hi(const tb_plot *p, size_t k, size_t r, void *ctx)
{
    (void)ctx;
    return rel_ratio(p, k, r).hi;
}

static double rel_value(const tb_plot *p, size_t k, size_t r, void *ctx)
{
    (void)ctx;
    const tb_plot_wl *w = &p->wl[r];
    return tb_group_ratio(tb_plot_cell(p, p->alloc[k], w, w->top), tb_plot_cell(p, p->baseline, w, w->top),
                          TB_COL_ops_per_sec).value;
}

static int chart_relative(tb_plot *p, char *err, size_t errlen)
{
    const char *labels[TB_PLOT_MAX];
    char lab[TB_PLOT_MAX][160];
    for (size_t r = 0; r < p->nwl; r++) {
        if (p->multi_size)
            snprintf(lab[r], sizeof lab[r], "%s %s (t=%u)", p->wl[r].label, p->wl[r].size_label, p->wl[r].top);
        else
            snprintf(lab[r], sizeof lab[r], "%s (t=%u)", p->wl[r].label, p->wl[r].top);
        labels[r] = lab[r];
    }
    bool use[TB_PLOT_MAX];
    for (size_t k = 0; k < p->nalloc; k++) {
        use[k] = false;
        for (size_t r = 0; r < p->nwl; r++)
            use[k] |= !isnan(rel_value(p, k, r, NULL));
    }
    char path[4300], what[256];
    snprintf(what, sizeof what, "ops/s over %s's, paired by round (median of the per-round ratios), at each "
             "workload's highest thread count; _lo, _hi: its 95%% interval (the whole range where the rounds are "
             "too few)", p->baseline);
    if (bars_file_ci(p, "relative.dat", what, p->nwl, labels, rel_value, rel_lo, rel_hi, NULL, use, path, sizeof path,
                     err, errlen))
        return -1;
    gp_vars v = {.used = 0};
    char title[256], failed[1500];
    snprintf(title, sizeof title, "throughput relative to %s (median of per-round ratios, 95%% interval bars; "
             "%d reps, highest thread count)", p->baseline, reps_of(p));
    failed_line(p, NULL, failed, sizeof failed);
    gp_str(&v, "title_text", title);
    gp_str(&v, "failed", failed);
    gp_str(&v, "datafile", path);
    gp_str(&v, "baseline", p->baseline);
    gp_num(&v, "rows", (double)p->nwl);
    size_t lablen = 0;
    for (size_t r = 0; r < p->nwl; r++)
        lablen = strlen(lab[r]) > lablen ? strlen(lab[r]) : lablen;
    gp_num(&v, "lablen", (double)lablen);
    names_colors(p, use, &v);
    if (render(p, "relative.gp", "relative", &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup("relative"), strdup(title), strdup(failed)};
    return 0;
}

/* The latency chart: a dot per percentile and allocator, on a log axis; a percentile below the
 * timer's resolution is drawn as a downward triangle at its bound (lat_bound_ns), never as a
 * value. Columns: index, allocator, p50, p99, p99.9, then the three bounds (NaN where resolved). */
static int latency_file(tb_plot *p, const tb_plot_wl *w, const int cols[3], int batch_col, const char *name,
                        const char *what, const bool *use, char *path, size_t pathlen, char *err, size_t errlen)
{
    FILE *f = titled_data(p, name, what, path, pathlen, err, errlen);
    if (!f)
        return -1;
    fputs("# index\tallocator\tp50\tp99\tp99.9\tp50_bound\tp99_bound\tp99.9_bound\tbatch_mean\n", f);
    size_t i = 0;
    for (size_t k = 0; k < p->nalloc; k++) {
        if (!use[k])
            continue;
        const tb_group *g = tb_plot_cell(p, p->alloc[k], w, w->top);
        double bound = tb_group_median(g, TB_COL_lat_bound_ns);
        fprintf(f, "%zu\t", ++i);
        put_text(f, p->alloc[k]);
        double v[3];
        for (int q = 0; q < 3; q++) {
            v[q] = tb_group_median(g, cols[q]);
            fprintf(f, isnan(v[q]) ? "\tNaN" : "\t%.1f", v[q]);
        }
        for (int q = 0; q < 3; q++)
            fprintf(f, isnan(v[q]) && !isnan(bound) ? "\t%.1f" : "\tNaN", bound);
        double bm = tb_group_median(g, batch_col);
        fprintf(f, isnan(bm) ? "\tNaN\n" : "\t%.2f\n", bm);
    }
    return close_data(p, f, path, err, errlen) ? 0 : -1;
}

static int chart_latency(tb_plot *p, char *err, size_t errlen)
{
    const tb_plot_wl *w = NULL;
    for (size_t i = 0; i < p->nwl && !w; i++)
        if (strcmp(p->wl[i].name, p->latency_wl) == 0 && p->wl[i].top)
            w = &p->wl[i];
    if (!w)
        return 0;
    static const int ca[3] = {TB_COL_lat_p50_ns, TB_COL_lat_p99_ns, TB_COL_lat_p999_ns};
    static const int cf[3] = {TB_COL_free_p50_ns, TB_COL_free_p99_ns, TB_COL_free_p999_ns};
    bool use[TB_PLOT_MAX];
    size_t n = 0;
    double res = NAN;
    for (size_t k = 0; k < p->nalloc; k++) {
        const tb_group *g = tb_plot_cell(p, p->alloc[k], w, w->top);
        /* sampled: it has a bound or a value (runs from before the bound column have values only) */
        use[k] = !isnan(tb_group_median(g, TB_COL_lat_bound_ns)) || !isnan(tb_group_median(g, ca[1]));
        n += use[k];
        double r = tb_group_median(g, TB_COL_timer_resolution_ns);
        if (!isnan(r) && (isnan(res) || r > res))
            res = r;
    }
    if (!n)
        return 0; /* sampling was off (--sample 0 or --measure instructions) */
    char pa[4300], pf[4300], what[256];
    snprintf(what, sizeof what, "%s at t=%u: allocation latency in ns (median over repetitions)", w->label, w->top);
    if (latency_file(p, w, ca, TB_COL_alloc_batch_ns, "latency_alloc.dat", what, use, pa, sizeof pa, err, errlen))
        return -1;
    snprintf(what, sizeof what, "%s at t=%u: free latency in ns (median over repetitions)", w->label, w->top);
    if (latency_file(p, w, cf, TB_COL_free_batch_ns, "latency_free.dat", what, use, pf, sizeof pf, err, errlen))
        return -1;
    gp_vars v = {.used = 0};
    char title[300], failed[1500], resol[128] = "";
    if (!isnan(res))
        snprintf(resol, sizeof resol, "; timer step up to %.0f ns, triangles: below two steps", res);
    snprintf(title, sizeof title, "%s latency at %u thread%s: p50, p99, p99.9 (sampled 1 in %s, %d reps%s)", w->label,
             w->top, w->top == 1 ? "" : "s", p->sample_every, reps_of(p), resol);
    failed_line(p, w, failed, sizeof failed);
    gp_str(&v, "title_text", title);
    gp_str(&v, "failed", failed);
    gp_str(&v, "allocfile", pa);
    gp_str(&v, "freefile", pf);
    names_colors(p, use, &v);
    if (render(p, "latency.gp", "latency", &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup("latency"), strdup(title), strdup(failed)};
    return 0;
}

static double mem_value(const tb_plot *p, size_t k, size_t r, void *ctx)
{
    int col = *(int *)ctx;
    const tb_plot_wl *w = &p->wl[r];
    double x = tb_group_median(tb_plot_cell(p, p->alloc[k], w, w->top), col);
    return col == TB_COL_pool_bytes_reserved ? x / 1048576.0 : x / 1024.0;
}

static int chart_memory(tb_plot *p, char *err, size_t errlen)
{
    const char *labels[TB_PLOT_MAX];
    char lab[TB_PLOT_MAX][160];
    for (size_t r = 0; r < p->nwl; r++) {
        if (p->multi_size)
            snprintf(lab[r], sizeof lab[r], "%s %s (t=%u)", p->wl[r].label, p->wl[r].size_label, p->wl[r].top);
        else
            snprintf(lab[r], sizeof lab[r], "%s (t=%u)", p->wl[r].label, p->wl[r].top);
        labels[r] = lab[r];
    }
    int cpeak = TB_COL_peak_rss_kib, cend = TB_COL_end_rss_kib, cpool = TB_COL_pool_bytes_reserved;
    bool use[TB_PLOT_MAX], any = false;
    for (size_t k = 0; k < p->nalloc; k++) {
        use[k] = false;
        for (size_t r = 0; r < p->nwl; r++)
            use[k] |= !isnan(mem_value(p, k, r, &cpeak));
        any |= use[k];
    }
    if (!any)
        return 0; /* no RSS anywhere: an interleaved run's rows leave it empty (both sides share a process) */
    char p1[4300], p2[4300], p3[4300];
    if (bars_file(p, "memory_peak.dat", "peak RSS, MiB", p->nwl, labels, mem_value, &cpeak, use, p1, sizeof p1, err, errlen) ||
        bars_file(p, "memory_end.dat", "end RSS, MiB", p->nwl, labels, mem_value, &cend, use, p2, sizeof p2, err, errlen) ||
        bars_file(p, "memory_pool.dat", "pool bytes reserved at the end, MiB", p->nwl, labels, mem_value, &cpool, use, p3,
                  sizeof p3, err, errlen))
        return -1;
    gp_vars v = {.used = 0};
    char title[256], failed[1500];
    snprintf(title, sizeof title, "memory per workload at its highest thread count (medians of %d reps)", reps_of(p));
    failed_line(p, NULL, failed, sizeof failed);
    gp_str(&v, "title_text", title);
    gp_str(&v, "failed", failed);
    gp_str(&v, "peakfile", p1);
    gp_str(&v, "endfile", p2);
    gp_str(&v, "poolfile", p3);
    bool have_pool = false;
    for (size_t k = 0; k < p->nalloc && !have_pool; k++)
        for (size_t r = 0; r < p->nwl && !have_pool; r++)
            have_pool = use[k] && !isnan(mem_value(p, k, r, &cpool));
    gp_num(&v, "have_pool", have_pool);
    gp_num(&v, "rows", (double)p->nwl);
    gp_num(&v, "height", have_pool ? 1300 : 900);
    names_colors(p, use, &v);
    if (render(p, "memory.gp", "memory", &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup("memory"), strdup(title), strdup(failed)};
    return 0;
}

/* Reads every distinct trace the run's variants name, once, keeping its figures. */
static void load_traces(tb_plot *p)
{
    p->traces = calloc(TB_PLOT_MAX, sizeof *p->traces);
    if (!p->traces)
        return;
    for (size_t w = 0; w < p->nwl && p->ntraces < TB_PLOT_MAX; w++) {
        tb_plot_trace *x = &p->traces[p->ntraces];
        if (!param_value(p->wl[w].params, "trace", x->path, sizeof x->path) || !x->path[0])
            continue;
        bool seen = false; /* one entry a trace, however many variants name it */
        for (size_t i = 0; i < p->ntraces && !seen; i++)
            seen = strcmp(p->traces[i].path, x->path) == 0;
        if (seen)
            continue;
        tb_trace t;
        x->ok = tb_trace_load(x->path, &t, x->err, sizeof x->err) == 0;
        if (x->ok) {
            x->t = t;
            x->t.nev = NULL, x->t.ev = NULL, x->t.obj_size = NULL, x->t.obj_thread = NULL;
            tb_trace_free(&t);
        }
        p->ntraces++;
    }
}

/* 2^e bytes as "512", "4K", "2M", "1G" */
static void pow2_text(char *buf, size_t len, unsigned e)
{
    static const char unit[] = "KMGTPE";
    if (e < 10)
        snprintf(buf, len, "%llu", 1ull << e);
    else
        snprintf(buf, len, "%llu%c", 1ull << (e % 10), unit[e / 10 - 1]);
}

/* The sizes of log2 bucket b (2^b to 2^(b+1)-1 bytes): "8-15", "1K-2K" (to just under 2K) */
static void bucket_label(char *buf, size_t len, unsigned b)
{
    if (b == 0) {
        snprintf(buf, len, "0-1");
    } else if (b < 10) {
        snprintf(buf, len, "%llu-%llu", 1ull << b, (1ull << (b + 1)) - 1);
    } else {
        char lo[16], hi[16];
        pow2_text(lo, sizeof lo, b);
        pow2_text(hi, sizeof hi, b + 1);
        snprintf(buf, len, "%s-%s", lo, hi);
    }
}

/* What the replayed programs asked for: each trace's objects by size (share of its objects per
 * power of two), from the trace files themselves, so that a replay's figures can be read
 * against the pattern that produced them. No chart when the run replayed nothing. */
static int chart_traces(tb_plot *p, char *err, size_t errlen)
{
    const tb_trace *t[TB_PLOT_MAX];
    size_t nt = 0;
    char names[TB_PLOT_MAX][256], unread[1500] = "";
    size_t uu = 0;
    for (size_t i = 0; i < p->ntraces; i++) {
        const tb_plot_trace *x = &p->traces[i];
        const char *base = strrchr(x->path, '/') ? strrchr(x->path, '/') + 1 : x->path;
        if (!x->ok) {
            uu += (size_t)snprintf(unread + uu, uu < sizeof unread ? sizeof unread - uu : 0, "%s%s", uu ? ", " : "", base);
            continue;
        }
        snprintf(names[nt], sizeof names[0], "%s (%llu objects)", base, (unsigned long long)x->t.objects);
        t[nt++] = &x->t;
    }
    if (!nt)
        return 0;
    unsigned lo = 64, hi = 0;
    for (size_t i = 0; i < nt; i++)
        for (unsigned b = 0; b < 65; b++)
            if (t[i]->size_log2[b]) {
                lo = b < lo ? b : lo;
                hi = b > hi ? b : hi;
            }
    if (lo > hi)
        return 0; /* no trace holds an object */
    char path[4300];
    FILE *f = titled_data(p, "traces.dat", "share of each trace's objects by size (bytes, powers of two), percent", path,
                          sizeof path, err, errlen);
    if (!f)
        return -1;
    fputs("# size", f);
    for (size_t i = 0; i < nt; i++) {
        fputc('\t', f);
        put_text(f, names[i]);
    }
    fputc('\n', f);
    for (unsigned b = lo; b <= hi; b++) {
        char lab[32];
        bucket_label(lab, sizeof lab, b);
        fputs(lab, f);
        for (size_t i = 0; i < nt; i++)
            fprintf(f, "\t%.4f", t[i]->objects ? 100.0 * (double)t[i]->size_log2[b] / (double)t[i]->objects : 0.0);
        fputc('\n', f);
    }
    if (!close_data(p, f, path, err, errlen))
        return -1;
    gp_vars v = {.used = 0};
    char colors[1024] = "";
    size_t uc = 0;
    for (size_t i = 0; i < nt; i++) {
        char var[32];
        snprintf(var, sizeof var, "name%zu", i + 1);
        gp_str(&v, var, names[i]);
        uc += (size_t)snprintf(colors + uc, sizeof colors - uc, "%s%s", i ? " " : "", palette[(i + 8) % NPAL]);
    }
    char failed[1600];
    snprintf(failed, sizeof failed, "%s%s", unread[0] ? "traces not readable now: " : "", unread);
    gp_str(&v, "colors", colors);
    gp_num(&v, "n", (double)nt);
    gp_str(&v, "title_text", "objects by size in the replayed traces");
    gp_str(&v, "failed", failed);
    gp_str(&v, "datafile", path);
    gp_num(&v, "rows", (double)(hi - lo + 1));
    if (render(p, "traces.gp", "traces", &v, err, errlen) != 0)
        return -1;
    p->chart[p->ncharts++] = (tb_plot_chart){strdup("traces"), strdup("objects by size in the replayed traces"),
                                             strdup(failed)};
    return 0;
}

static const char *default_baseline(const tb_plot *p, tb_role role)
{
    for (size_t k = 0; k < p->nalloc; k++) {
        const tb_allocator *a = tb_alloc_find(p->alloc[k]);
        if (a && a->role == role && !a->pool_lib)
            return p->alloc[k];
    }
    return NULL;
}

static int help(void)
{
    printf("usage: tmbench plot RESULTS_DIR [--baseline ALLOCATOR] [--format png|svg|both] [--out DIR]\n"
           "                    [--latency-workload W] [--templates DIR]\n\n"
           "Charts and a review report from a run: scaling (one per workload and size), relative\n"
           "(each allocator over the baseline at the highest thread count), latency (p50/p99/p99.9\n"
           "of alloc and free for one workload), memory (peak and end RSS, pool reserve),\n"
           "traces (objects by size in the replayed traces, when the run replayed any);\n"
           "report.md and report.html beside them. Rendered by gnuplot from the templates in\n"
           "plots/ (edit them for another style). Cells not ok are left out and listed.\n\n"
           "  --baseline A          relative chart and report ratios against A (default glibc,\n"
           "                        else tmempool-global when glibc is not in the run)\n"
           "  --format F            png (default), svg or both\n"
           "  --out DIR             default RESULTS_DIR/plots\n"
           "  --latency-workload W  the workload of the latency chart (default churn)\n"
           "  --templates DIR       gnuplot templates (default: $TMBENCH_PLOTS, else the\n"
           "                        installed share/tmempool/plots, else this build's plots/)\n\n"
           "exit: 0 done, 1 gnuplot failed on a chart, 2 usage or input error\n");
    return 0;
}

/* Parses plot's flags into p. -1 to go on, else the exit code. */
static int parse_flags(int argc, char **argv, tb_plot *p, const char **baseline, const char **out,
                       bool *latency_asked)
{
    static const struct option lo[] = {{"baseline", 1, 0, 'b'}, {"format", 1, 0, 'f'},
                                       {"out", 1, 0, 'o'},      {"latency-workload", 1, 0, 'l'},
                                       {"templates", 1, 0, 'T'}, {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'b': *baseline = optarg; break;
        case 'f':
            if (strcmp(optarg, "png") == 0)
                p->png = true, p->svg = false;
            else if (strcmp(optarg, "svg") == 0)
                p->png = false, p->svg = true;
            else if (strcmp(optarg, "both") == 0)
                p->png = p->svg = true;
            else
                return tb_usage_error("plot", "--format '%s': want png, svg or both", optarg);
            break;
        case 'o': *out = optarg; break;
        case 'l': p->latency_wl = optarg, *latency_asked = true; break;
        case 'T': p->templates = optarg; break;
        case 'h': return help();
        default: return tb_usage_error("plot", "see `tmbench plot --help`");
        }
    }
    return -1;
}

/* The baseline the ratios are to: the one asked for, or the first malloc baseline of the run in
 * registry order (glibc), else its first pool. false with a message when the asked one is not
 * in the run. */
static bool pick_baseline(tb_plot *p, const char *asked)
{
    if (!asked) {
        const char *want = default_baseline(p, TB_ROLE_BASELINE);
        if (!want)
            want = default_baseline(p, TB_ROLE_POOL);
        p->baseline = want ? want : p->alloc[0];
        return true;
    }
    for (size_t k = 0; k < p->nalloc; k++)
        if (strcmp(p->alloc[k], asked) == 0) {
            p->baseline = p->alloc[k];
            return true;
        }
    char names[1024] = "";
    size_t used = 0;
    for (size_t k = 0; k < p->nalloc; k++)
        used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0, "%s%s", k ? ", " : "", p->alloc[k]);
    tb_usage_error("plot", "--baseline '%s' is not an allocator of this run (it has: %s)", asked, names);
    return false;
}

int tb_cmd_plot(int argc, char **argv)
{
    static tb_plot p;
    memset(&p, 0, sizeof p);
    p.png = true;
    p.latency_wl = "churn";
    const char *baseline = NULL, *out = NULL;
    /* the templates: --templates, else $TMBENCH_PLOTS, else the installed ones beside this
     * binary's prefix, else this build's source tree */
    static char installed[4200];
    char probe[4300];
    snprintf(probe, sizeof probe, "%s/scaling.gp", TB_PLOTS_REL);
    if (getenv("TMBENCH_PLOTS") && *getenv("TMBENCH_PLOTS"))
        p.templates = getenv("TMBENCH_PLOTS");
    else if (tb_installed(probe, installed, sizeof installed))
        p.templates = (*strrchr(installed, '/') = '\0', installed);
    else
        p.templates = TB_PLOTS_DIR;
    bool latency_asked = false;
    int code = parse_flags(argc, argv, &p, &baseline, &out, &latency_asked);
    if (code >= 0)
        return code;
    if (argc - optind != 1)
        return tb_usage_error("plot", "want one results directory (tmbench plot RESULTS_DIR)");
    char err[1024];
    if (tb_results_read(argv[optind], &p.t, p.dir, sizeof p.dir, err, sizeof err) != 0)
        return tb_usage_error("plot", "%s", err);
    int rc = TB_EXIT_USAGE;
    p.ng = tb_group_rows(&p.t, TB_COL_ops_per_sec, &p.g);
    size_t ok = 0;
    for (size_t i = 0; i < p.ng; i++)
        ok += p.g[i].n;
    if (!ok) {
        tb_usage_error("plot", "%s has no ok rows with a throughput: nothing to draw", argv[optind]);
        goto out;
    }
    collect(&p);
    load_traces(&p);
    for (size_t i = 1; i < p.nwl; i++)
        p.multi_size |= p.wl[i].size != p.wl[0].size || strcmp(p.wl[i].sizes, p.wl[0].sizes) != 0;
    if (!pick_baseline(&p, baseline))
        goto out;
    bool lat_known = false;
    for (size_t i = 0; i < p.nwl; i++)
        lat_known |= strcmp(p.wl[i].name, p.latency_wl) == 0;
    if (!lat_known && latency_asked) {
        char names[1024] = "";
        size_t used = 0;
        for (size_t i = 0; i < p.nwl; i++)
            if (!strstr(names, p.wl[i].name))
                used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0, "%s%s",
                                         used ? ", " : "", p.wl[i].name);
        tb_usage_error("plot", "--latency-workload '%s' is not a workload of this run (it has: %s)", p.latency_wl, names);
        goto out;
    }
    p.gnuplot = tb_find_in_path("gnuplot");
    if (!p.gnuplot) {
        tb_usage_error("plot", "gnuplot is not installed: install the Debian package gnuplot-nox "
                               "(apt-get install gnuplot-nox)");
        goto out;
    }
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%s/scaling.gp", p.templates);
    if (access(tpath, R_OK) != 0) {
        tb_usage_error("plot", "no gnuplot templates in %s (want scaling.gp, relative.gp, latency.gp, memory.gp, traces.gp): "
                               "pass --templates DIR or set TMBENCH_PLOTS", p.templates);
        goto out;
    }
    p.meta = tb_meta_read(p.dir, NULL, 0); /* without it the charts still stand; the report says so */
    tb_plot_subtitle(&p);
    if (out)
        snprintf(p.outdir, sizeof p.outdir, "%s", out);
    else
        snprintf(p.outdir, sizeof p.outdir, "%s/plots", p.dir);
    struct stat od;
    if (mkdir(p.outdir, 0755) != 0 && errno != EEXIST) {
        tb_usage_error("plot", "cannot create %s: %s", p.outdir, strerror(errno));
        goto out;
    }
    if (stat(p.outdir, &od) != 0 || !S_ISDIR(od.st_mode)) {
        tb_usage_error("plot", "--out %s is a file, not a directory: name a directory for the charts", p.outdir);
        goto out;
    }

    /* From here on, input is known good: failures are gnuplot's or the disk's. */
    rc = TB_EXIT_OK;
    for (size_t w = 0; w < p.nwl && rc == TB_EXIT_OK; w++)
        if (chart_scaling(&p, w, err, sizeof err) != 0)
            rc = TB_EXIT_CELLS;
    if (rc == TB_EXIT_OK && (chart_relative(&p, err, sizeof err) != 0 || chart_latency(&p, err, sizeof err) != 0 ||
                             chart_memory(&p, err, sizeof err) != 0 || chart_traces(&p, err, sizeof err) != 0))
        rc = TB_EXIT_CELLS;
    if (rc == TB_EXIT_OK && tb_plot_report(&p, err, sizeof err) != 0)
        rc = TB_EXIT_CELLS;
    if (rc != TB_EXIT_OK && p.io_failed)
        rc = TB_EXIT_IO; /* the disk's failure, not gnuplot's or the data's */
    if (rc != TB_EXIT_OK)
        fprintf(stderr, "tmbench plot: %s\n", err);
    else
        fprintf(stderr, "tmbench plot: %zu charts and report.md, report.html in %s\n", p.ncharts, p.outdir);
    if (rc == TB_EXIT_OK)
        printf("%s\n", p.outdir);
out:
    for (size_t i = 0; i < p.nfiles; i++)
        free(p.files[i]);
    for (size_t i = 0; i < p.ncharts; i++) {
        free(p.chart[i].base);
        free(p.chart[i].title);
        free(p.chart[i].failed);
    }
    free(p.traces);
    cJSON_Delete(p.meta);
    tb_groups_free(p.g, p.ng);
    tb_table_free(&p.t);
    return rc;
}
