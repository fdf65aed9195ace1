/* tmbench list: what can be measured here. For preloaded allocators, availability and version
 * come from a real worker probe, so `list` proves the same thing a run would. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "matrix.h"
#include "proto.h"
#include "spawn.h"

/* Runs `tmbench __worker --probe` for a; fills version or why. Returns true when available. */
static bool probe(const tb_allocator *a, char *version, size_t vlen, char *why, size_t wlen)
{
    version[0] = why[0] = '\0';
    if (!tb_alloc_available(a, why, wlen))
        return false;
    char self[4096];
    if (!tb_self_exe(self, sizeof self))
        return true;
    tb_wargs args;
    tb_wargs_init(&args);
    tb_wargs_add(&args, TB_WOPT_probe, NULL);
    tb_wargs_add(&args, TB_WOPT_allocator, a->name);
    tb_spawn sp = {.path = self, .argv = args.argv, .preload = tb_alloc_library(a), .timeout = 30};
    tb_spawn_result *sr = malloc(sizeof *sr);
    if (!sr || tb_spawn_worker(&sp, sr) != 0) {
        free(sr);
        return true; /* cannot tell here; a run proves it per cell */
    }
    tb_row row = {0};
    tb_reply_parse(sr->reply, &row);
    free(sr);
    snprintf(version, vlen, "%s", tb_row_get(&row, TB_COL_allocator_version));
    bool ok = tb_row_status(&row) == TB_ST_ok;
    if (!ok)
        snprintf(why, wlen, "%s", *tb_row_get(&row, TB_COL_error) ? tb_row_get(&row, TB_COL_error) : "probe failed");
    tb_row_clear(&row);
    return ok;
}

int tb_cmd_list(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: tmbench list\nLists allocators (with availability and version here), workloads\n"
               "(with what one op is and their parameters), presets, and the statuses a cell can end with.\n");
        return 0;
    }
    if (argc > 1)
        return tb_usage_error("list", "unexpected argument '%s' (list takes none)", argv[1]);
    printf("allocators:\n");
    for (const tb_allocator *a = tb_allocators; a->name; a++) {
        if (a->hidden)
            continue;
        char version[128], why[512];
        bool ok = probe(a, version, sizeof version, why, sizeof why);
        printf("  %-18s %-13s %-10s %s%s%s\n", a->name, ok ? "available" : "UNAVAILABLE",
               version[0] ? version : "-", a->desc, ok ? "" : " -- ", ok ? "" : why);
    }
    printf("\nworkloads:\n");
    for (int i = 0; tb_workloads[i]; i++) {
        const tb_workload *w = tb_workloads[i];
        printf("  %-11s %s\n", w->name, w->desc);
        printf("  %-11s one op: %s; threads: %s%s\n", "", w->op, w->threads_note,
               w->cross_thread ? "; frees across threads" : "");
        if (w->sizes)
            printf("  %-11s sizes: %s unless --sizes is given\n", "", w->sizes);
        if (w->explicit_only)
            printf("  %-11s not in --workloads all: it needs its parameters set (-p)\n", "");
        if (w->min_seconds > 0)
            printf("  %-11s cells: at least %g s under a preset, unless --duration is given\n", "", w->min_seconds);
        for (int k = 0; w->params[k].key; k++) {
            const tb_param *q = &w->params[k];
            char valid[96];
            if (q->text)
                snprintf(valid, sizeof valid, "a file name");
            else if (q->choices)
                snprintf(valid, sizeof valid, "%s", q->choices);
            else
                snprintf(valid, sizeof valid, "%.15g..%.15g", q->lo, q->hi);
            printf("  %-11s -p %s=%s  %s (%s)\n", "", q->key, *q->def ? q->def : "FILE", q->help, valid);
        }
    }
    printf("\npresets:\n");
    tb_presets_print(stdout);
    printf("\nstatuses (results.csv's status column; the first two count as success):\n");
    for (int st = 0; st < TB_NSTATUS; st++)
        printf("  %-11s %s\n", tb_status_name((tb_status)st), tb_status_help((tb_status)st));
    return 0;
}
