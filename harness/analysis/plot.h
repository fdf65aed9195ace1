/* tmbench plot's view of a run, which the charts (plot.c) and the report (report.c) both draw
 * from: the allocators in registry order with their colors, the workload variants, the charts
 * made. Queries on the data itself are results.h's; this adds only the view's own lookups. */
#ifndef TB_PLOT_H
#define TB_PLOT_H

#include <string.h>

#include "results.h"
#include "trace.h"

enum { TB_PLOT_MAX = 64 };

/* One workload variant of the run: a workload with one set of params, at one object size (or
 * one distribution of sizes). */
typedef struct tb_plot_wl {
    const char *name, *params;
    size_t size;
    const char *sizes;     /* as tb_group's */
    char size_label[64];   /* "64B", "8-1000B:log" */
    char size_text[96];    /* "64-byte objects", "objects of 8-1000 bytes, log-uniform" */
    char size_slug[64];    /* for file names: "64", "8-1000log" */
    unsigned top; /* highest thread count with an ok repetition; 0 = none */
    /* the name, plus the settings that tell this variant from the run's others of the same
     * workload ("falseshare handoff=no"); and that label made safe for a file name */
    char label[128], slug[128];
} tb_plot_wl;

typedef struct tb_plot_chart {
    char *base, *title, *failed; /* file name without extension, title, cells left out */
} tb_plot_chart;

/* A trace the run replayed, read once for the chart and the report: its figures only (the
 * event arrays freed), or why it could not be read now. */
typedef struct tb_plot_trace {
    char path[1024];
    bool ok;
    char err[600];
    tb_trace t; /* scalars and histograms; its pointers are NULL */
} tb_plot_trace;

typedef struct tb_plot {
    tb_table t;
    tb_group *g;
    size_t ng;
    cJSON *meta;
    char dir[4200], outdir[4200];
    const char *templates, *gnuplot, *baseline, *latency_wl;
    char subtitle[512];
    char sample_every[32];
    bool png, svg, multi_size;
    bool io_failed; /* a file could not be written (disk full, I/O error), not gnuplot's fault */
    const char *alloc[TB_PLOT_MAX]; /* in registry order */
    const char *color[TB_PLOT_MAX];
    size_t nalloc;
    tb_plot_wl wl[TB_PLOT_MAX];
    size_t nwl;
    tb_plot_chart chart[TB_PLOT_MAX * 2];
    size_t ncharts;
    char *files[TB_PLOT_MAX * 8];
    size_t nfiles;
    tb_plot_trace *traces; /* the distinct -p trace= files of the run's variants, in variant order */
    size_t ntraces;
} tb_plot;

/* g is a cell of variant w */
static inline bool tb_plot_wl_is(const tb_plot_wl *w, const tb_group *g)
{
    return strcmp(w->name, g->workload) == 0 && strcmp(w->params, g->params) == 0 && w->size == g->size &&
           strcmp(w->sizes, g->sizes) == 0;
}

/* alloc's cell of variant w at a thread count, or NULL */
static inline const tb_group *tb_plot_cell(const tb_plot *p, const char *alloc, const tb_plot_wl *w,
                                           unsigned threads)
{
    return tb_group_lookup(p->g, p->ng, alloc, w->name, w->params, w->size, w->sizes, threads);
}

/* report.c */
void tb_plot_subtitle(tb_plot *p);
int tb_plot_report(tb_plot *p, char *err, size_t errlen);

#endif
