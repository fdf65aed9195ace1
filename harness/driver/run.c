/* tmbench run: the driver. Builds the matrix, runs each cell repetition in a fresh worker
 * process (cell.c), and appends one synced CSV row per cell as it ends. Crashes, timeouts and
 * Ctrl-C cost one cell at most. This file is the command's course: the output directory and
 * resume, the loop with its progress lines (and --reps auto's further rounds), and meta.json;
 * its flags are runopts.c's. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "adapt.h"
#include "meta.h"
#include "outdir.h"
#include "run.h"
#include "spawn.h"

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child, current_child2;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (current_child > 0)
        kill(-current_child, SIGKILL); /* the worker's process group (spawn.c) */
    if (current_child2 > 0)
        kill(-current_child2, SIGKILL); /* a duet's other side */
}

static void loadavg(double out[3])
{
    if (getloadavg(out, 3) != 3)
        out[0] = out[1] = out[2] = -1;
}

static void fmt_hms(char *b, size_t n, double s)
{
    int t = (int)s;
    snprintf(b, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
}

/* Resume: marks the cells that DIR's results.csv holds already (done) and takes the
 * run id of its rows. Returns how many cells are left to run, or -1 with a message when the
 * file cannot be read or holds a row tmbench would not write (a malformed row must not make
 * every cell run again). */
static long skip_done(tb_matrix *m, const char *csv_path, bool resume, char *run_id, size_t idlen, char *err,
                      size_t errlen)
{
    size_t ndone = 0;
    char **done = NULL;
    tb_table t;
    struct stat st;
    if (resume && stat(csv_path, &st) == 0 && st.st_size > 0) {
        if (tb_csv_read(csv_path, &t, err, errlen) != 0)
            return -1;
        if (tb_table_check(&t, csv_path, err, errlen) != 0) {
            tb_table_free(&t);
            return -1;
        }
        done = calloc(t.n + 1, sizeof *done);
        for (size_t i = 0; i < t.n; i++) {
            char key[1024];
            tb_row_key(&t.rows[i], key, sizeof key, true);
            done[ndone++] = strdup(key);
            if (i == 0 && tb_row_get(&t.rows[0], TB_COL_run_id)[0])
                snprintf(run_id, idlen, "%s", tb_row_get(&t.rows[0], TB_COL_run_id));
        }
        tb_table_free(&t);
    }
    size_t todo = 0;
    for (size_t i = 0; i < m->n; i++) {
        const tb_cell *c = &m->cells[i];
        tb_row probe = {0};
        tb_row_set(&probe, TB_COL_allocator, "%s", c->alloc->name);
        tb_row_set(&probe, TB_COL_workload, "%s", c->wl->name);
        tb_row_set(&probe, TB_COL_params, "%s", c->params);
        tb_row_set(&probe, TB_COL_threads, "%u", c->threads);
        tb_row_set(&probe, TB_COL_object_size, "%zu", c->size);
        char sizes[48];
        tb_sizes_format(&c->sizes, sizes, sizeof sizes);
        tb_row_set(&probe, TB_COL_sizes, "%s", sizes);
        tb_row_set(&probe, TB_COL_rep, "%u", c->rep);
        char key[1024];
        tb_row_key(&probe, key, sizeof key, true);
        tb_row_clear(&probe);
        bool skip = false;
        for (size_t d = 0; d < ndone && !skip; d++)
            skip = strcmp(done[d], key) == 0;
        if (skip)
            m->cells[i].done = true;
        else
            todo++;
    }
    for (size_t d = 0; d < ndone; d++)
        free(done[d]);
    free(done);
    return (long)todo;
}

/* Each distinct line a worker wrote to stderr (an allocator's or hwloc's warning, valgrind's
 * complaint): printed once, and kept for meta.json, up to 64 of them. */
static void note_warnings(char *said, cJSON *warnings, bool tty)
{
    char *save = NULL;
    for (char *line = strtok_r(said, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!*line || cJSON_GetArraySize(warnings) >= 64)
            continue;
        bool seen = false;
        for (const cJSON *w = warnings->child; w && !seen; w = w->next)
            seen = strcmp(w->valuestring, line) == 0;
        if (seen)
            continue;
        cJSON_AddItemToArray(warnings, cJSON_CreateString(line));
        fprintf(stderr, "%stmbench run: a worker said: %s\n", tty ? "\r\033[K" : "", line);
    }
}

typedef struct loop_out {
    size_t ran, bad, skipped;
    bool io_failed; /* a row could not be written: the run stopped there */
    uint64_t last_plain; /* off a terminal: when the last elapsed/eta line was written */
} loop_out;

/* Off a terminal, a line with the elapsed time and an estimate of what is left every this
 * many cells, and at least every PLAIN_EVERY_S seconds. */
enum { PLAIN_EVERY_CELLS = 10, PLAIN_EVERY_S = 30 };

/* The terminal's width (asked at each update, so a resized window is followed); 80 if unknown. */
static int tty_width(void)
{
    struct winsize ws;
    return ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* The in-place progress line: cut to one column less than the terminal is wide (a full-width
 * line makes some terminals wrap the cursor), so that it never wraps and \r overwrites it whole. */
static void tty_line(const char *text)
{
    int w = tty_width() - 1;
    fprintf(stderr, "\r\033[K%.*s", w > 0 ? w : 0, text);
}

static void cell_size_label(const tb_cell *c, char *buf, size_t len)
{
    char dist[48] = "";
    if (c->sizes.dist != TB_SIZE_FIXED)
        tb_sizes_format(&c->sizes, dist, sizeof dist);
    tb_size_label(c->size, dist, buf, len);
}

/* Appends one cell's row and says how it went; false when the row could not be written. */
static bool record(const tb_run_ctx *rc, const tb_cell *cell, tb_row *row, tb_status st, size_t todo, FILE *csv,
                   const char *csv_path, const char *run_id, cJSON *versions, loop_out *lo, bool tty)
{
    tb_row_set(row, TB_COL_run_id, "%s", run_id);
    if (tb_csv_append_row(csv, row) != 0) {
        fprintf(stderr, "%stmbench run: cannot append to %s: %s; the run stops here, every row before "
                        "this one is whole (tmbench run --resume %s continues once there is room)\n",
                tty ? "\r\033[K" : "", csv_path, strerror(errno), rc->out_dir);
        lo->io_failed = true;
        return false;
    }
    const char *ver = tb_row_get(row, TB_COL_allocator_version);
    if (*ver && !cJSON_GetObjectItem(versions, cell->alloc->name))
        cJSON_AddStringToObject(versions, cell->alloc->name, ver);
    lo->ran++;
    bool ok = tb_status_good(st);
    lo->bad += !ok;
    lo->skipped += st == TB_ST_skipped;
    char label[64];
    cell_size_label(cell, label, sizeof label);
    if (!tty || !ok)
        fprintf(stderr, "%s[%zu/%zu] %-18s %-10s t=%-2u %5s rep %u  %-11s %s %s%s%s%s\n", tty ? "\r\033[K" : "",
                lo->ran, todo, cell->alloc->name, cell->wl->name, cell->threads, label, cell->rep,
                /* a figure for an ok cell; why for any other, a skipped one too (no bare "ops/s") */
                tb_status_name(st), st == TB_ST_ok ? tb_row_get(row, TB_COL_ops_per_sec) : "",
                st == TB_ST_ok ? "ops/s" : tb_row_get(row, TB_COL_error), cell->variant ? "  [" : "",
                cell->variant ? cell->params : "", cell->variant ? "]" : "");
    return true;
}

/* --duet, --interleave: cells i and i + 1 are a pair to run together (the matrix put partners
 * side by side). */
static bool paired(const tb_run_ctx *rc, const tb_matrix *m, size_t i)
{
    if (!(rc->duet || rc->slice_s > 0) || i + 1 >= m->n)
        return false;
    const tb_cell *a = &m->cells[i], *b = &m->cells[i + 1];
    return !a->done && !b->done && a->alloc != b->alloc && a->rep == b->rep && tb_cell_same_point(a, b);
}

/* The CPU sets of a duet's two sides: the first `threads` allowed CPUs, and the next. */
static void duet_cpus(unsigned threads, char cpus[2][128])
{
    cpu_set_t mine;
    int list[CPU_SETSIZE], n = 0;
    if (sched_getaffinity(0, sizeof mine, &mine) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &mine))
                list[n++] = c;
    for (int side = 0; side < 2; side++) {
        size_t used = 0;
        cpus[side][0] = '\0';
        for (unsigned t = 0; t < threads && (int)(side * threads + t) < n; t++)
            used += (size_t)snprintf(cpus[side] + used, 128 - used, "%s%d", t ? "," : "", list[side * threads + t]);
    }
}

/* Runs every cell not yet done, appending its row; stops early on Ctrl-C or a full disk. */
static void run_cells(const tb_run_ctx *rc, const tb_matrix *m, size_t todo, FILE *csv, const char *csv_path,
                      const char *run_id, cJSON *versions, cJSON *warnings, loop_out *lo)
{
    bool tty = isatty(2);
    uint64_t t_start = tb_now_ns();
    for (size_t i = 0; i < m->n && !interrupted && !lo->io_failed; i++) {
        const tb_cell *cell = &m->cells[i];
        if (cell->done)
            continue;
        double el = (double)(tb_now_ns() - t_start) / 1e9;
        char e1[16], e2[16];
        fmt_hms(e1, sizeof e1, el);
        fmt_hms(e2, sizeof e2, lo->ran ? el / (double)lo->ran * (double)(todo - lo->ran) : 0);
        char label[64], line[512];
        cell_size_label(cell, label, sizeof label);
        if (tty) {
            snprintf(line, sizeof line, "[%zu/%zu] %s  eta %s  %s %s t=%u %s rep %u", lo->ran + 1, todo, e1, e2,
                     cell->alloc->name, cell->wl->name, cell->threads, label, cell->rep);
            tty_line(line);
        } else if (lo->ran && (lo->ran % PLAIN_EVERY_CELLS == 0 || el - (double)lo->last_plain / 1e9 >= PLAIN_EVERY_S)) {
            fprintf(stderr, "tmbench run: %zu of %zu cells, %zu not ok, elapsed %s, eta %s\n", lo->ran, todo, lo->bad,
                    e1, e2);
            lo->last_plain = tb_now_ns() - t_start;
        }
        tb_row row[2] = {{{0}}, {{0}}};
        static char said[2][4096];
        tb_status st[2];
        size_t k = paired(rc, m, i) ? 2 : 1;
        if (k == 2 && rc->slice_s > 0) {
            const tb_cell *cc[2] = {cell, &m->cells[i + 1]};
            tb_row *rr[2] = {&row[0], &row[1]};
            char *sd[2] = {said[0], said[1]};
            tb_run_interleaved(rc, m, cc, rr, sd, sizeof said[0], st);
        } else if (k == 2) {
            char cpus[2][128];
            duet_cpus(cell->threads, cpus);
            const tb_cell *cc[2] = {cell, &m->cells[i + 1]};
            const char *cp[2] = {cpus[0], cpus[1]};
            tb_row *rr[2] = {&row[0], &row[1]};
            char *sd[2] = {said[0], said[1]};
            tb_run_duet(rc, m, cc, cp, rr, sd, sizeof said[0], st);
        } else {
            st[0] = tb_run_cell(rc, m, cell, &row[0], said[0], sizeof said[0]);
        }
        for (size_t q = 0; q < k; q++)
            note_warnings(said[q], warnings, tty);
        bool stop = st[0] == TB_ST_interrupted || (k == 2 && st[1] == TB_ST_interrupted);
        for (size_t q = 0; q < k && !stop; q++)
            if (!record(rc, &m->cells[i + q], &row[q], st[q], todo, csv, csv_path, run_id, versions, lo, tty))
                break;
        for (size_t q = 0; q < k; q++)
            tb_row_clear(&row[q]);
        if (stop)
            break;
        i += k - 1;
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
}

/* --reps auto, after the first rounds: round after round of the cells still open, until every
 * cell is closed, the budget would be passed, or the run is stopped. Returns the rounds run. */
static unsigned run_auto(const tb_run_ctx *rc, const tb_matrix *m, const tb_adapt *ad, FILE *csv, const char *csv_path,
                         const char *run_id, cJSON *versions, cJSON *warnings, loop_out *lo, uint64_t t0)
{
    tb_cell *round = malloc((m->n ? m->n : 1) * sizeof *round);
    uint64_t rng = m->seed ^ 0x9E3779B97F4A7C15ull;
    unsigned rounds = 0;
    while (round && !interrupted && !lo->io_failed) {
        size_t k = tb_adapt_round(ad, m, csv_path, &rng, round);
        if (!k)
            break;
        double used = (double)(tb_now_ns() - t0) / 1e9, per_cell = lo->ran ? used / (double)lo->ran : 0;
        if (used + per_cell * (double)k > ad->budget_s) {
            fprintf(stderr, "tmbench run: --reps auto: %zu cells are still wider than +-%g%%, but another round "
                            "(about %.0f s) would pass the budget of %.0f s\n", k, ad->target_pct,
                    per_cell * (double)k, ad->budget_s);
            break;
        }
        fprintf(stderr, "tmbench run: --reps auto, round %u: %zu cells not yet within +-%g%% (%.0f of %.0f s used)\n",
                TB_AUTO_FIRST_REPS + rounds + 1, k, ad->target_pct, used, ad->budget_s);
        tb_matrix r = *m;
        r.cells = round;
        r.n = k;
        loop_out one = {0};
        run_cells(rc, &r, k, csv, csv_path, run_id, versions, warnings, &one);
        lo->ran += one.ran;
        lo->bad += one.bad;
        lo->skipped += one.skipped;
        lo->io_failed |= one.io_failed;
        if (!one.ran)
            break;
        rounds++;
    }
    free(round);
    return rounds;
}

/* --duet, --interleave: what pairing needs, or exit 2 saying what would work. Without --against
 * the two allocators' cells are paired, so the matrix is built again with that pairing. */
static int check_pairs(run_opts *ro, tb_matrix *m)
{
    const char *flag = ro->duet ? "--duet" : "--interleave";
    char err[1024];
    const tb_allocator *first = NULL, *second = NULL;
    bool twins = false;
    unsigned most = 0;
    for (size_t i = 0; i < m->n; i++) {
        const tb_allocator *a = m->cells[i].alloc;
        twins |= a->pool_lib != NULL;
        if (!first)
            first = a;
        else if (a != first && !second)
            second = a;
        else if (a != first && a != second && !twins)
            return tb_usage_error("run", "%s pairs two allocators (or each X with X@base under --against); "
                                  "this run has more: want --allocators A,B", flag);
        if (!ro->duet && a->libs[0])
            return tb_usage_error("run", "--interleave runs both sides in one process, and %s is a preloaded "
                                  "malloc (one per process): want tmempool strategies, floor or glibc, or --duet "
                                  "for malloc baselines", a->name);
        most = m->cells[i].threads > most ? m->cells[i].threads : most;
    }
    cpu_set_t mine;
    int cpus = sched_getaffinity(0, sizeof mine, &mine) == 0 ? CPU_COUNT(&mine) : 1;
    if (ro->duet && 2 * most > (unsigned)cpus)
        return tb_usage_error("run", "--duet runs both sides on CPUs of their own: a cell of %u threads needs %u "
                              "CPUs and %d are here; want --threads %d or fewer", most, 2 * most, cpus, cpus / 2);
    if (!second)
        return tb_usage_error("run", "%s needs two sides: want --allocators A,B, or --against BUILD_DIR", flag);
    if (!ro->duet && !(m->duration > 0))
        return tb_usage_error("run", "--interleave cuts each side's time into slices: want --duration SECONDS "
                              "(each side's time per repetition, e.g. 0.2), not --ops");
    if (!ro->duet && m->duration < 2 * ro->interleave_ms / 1e3)
        return tb_usage_error("run", "--interleave %g ms: each side gets at least two slices, so --duration %g is "
                              "too short; want --duration %g or more, or a shorter slice", ro->interleave_ms,
                              m->duration, 2 * ro->interleave_ms / 1e3);
    if (!twins) {
        ro->o.duet_pairs = true;
        if (tb_matrix_build(&ro->o, m, err, sizeof err) != 0)
            return tb_usage_error("run", "%s", err);
    }
    return -1;
}

/* --reps auto's record for meta.json (a JSON text to free), said in one line too. */
static char *auto_summary(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, unsigned rounds)
{
    cJSON *summary = tb_adapt_summary(ad, m, csv_path, rounds);
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(summary, "converged"),
                *cells = cJSON_GetObjectItemCaseSensitive(summary, "cells");
    fprintf(stderr, "tmbench run: --reps auto: %d of %d cells within +-%g%% after %u more rounds\n",
            conv ? conv->valueint : 0, cells ? cells->valueint : 0, ad->target_pct, rounds);
    char *text = cJSON_PrintUnformatted(summary);
    cJSON_Delete(summary);
    return text;
}

/* The run's last lines: what ran and how, the wall time, where the results are and how to draw
 * them; its directory on stdout, and its exit code. */
static int last_words(const loop_out *lo, size_t todo, bool io, const char *out, double wall_s)
{
    const char *how = io ? "STOPPED: an output file could not be written" : interrupted ? "interrupted" : "done";
    char wall[16], more[96] = "";
    fmt_hms(wall, sizeof wall, wall_s);
    if (lo->ran > todo)
        snprintf(more, sizeof more, " (%zu in the first rounds, %zu more for --reps auto)", todo, lo->ran - todo);
    fprintf(stderr, "tmbench run: %zu of %zu cells run%s in %s: %zu ok, %zu skipped, %zu not ok; %s; results in %s\n",
            lo->ran, lo->ran > todo ? lo->ran : todo, more, wall, lo->ran - lo->bad - lo->skipped, lo->skipped,
            lo->bad, how, out);
    if (interrupted || io)
        fprintf(stderr, "tmbench run: continue it with: tmbench run --resume %s\n", out);
    if (lo->ran)
        fprintf(stderr, "tmbench run: charts and report: tmbench plot %s%s\n", out,
                lo->bad ? " (the report lists the cells not ok)" : "");
    printf("%s\n", out);
    if (io)
        return TB_EXIT_IO;
    if (interrupted)
        return TB_EXIT_INTERRUPTED;
    return lo->bad ? TB_EXIT_CELLS : TB_EXIT_OK;
}

int tb_cmd_run(int argc, char **argv)
{
    run_opts ro = {.o = {.reps = -1}};
    cJSON *prev = NULL; /* --resume: the run's meta.json as it was */
    tb_run_ctx rc = {.timeout = 60, .sample = 1024, .stop = &interrupted, .child = &current_child,
                     .child2 = &current_child2};
    char err[1024];
    int code;
    if ((code = tb_run_flags(argc, argv, &ro, &rc)) >= 0)
        return code;
    if (ro.resume) {
        if (ro.out)
            return tb_usage_error("run", "--resume DIR writes into DIR: leave out --out");
        if (tb_resume_opts(ro.resume, &ro, &rc, &prev, err, sizeof err) != 0)
            return tb_usage_error("run", "%s", err);
        ro.out = ro.resume;
    }
    static char against_lib[4096];
    if ((code = tb_run_allocators(&ro, &rc, against_lib, sizeof against_lib)) >= 0 ||
        (code = tb_run_measure(&ro, &rc)) >= 0)
        return code;
    tb_matrix m;
    if (tb_matrix_build(&ro.o, &m, err, sizeof err) != 0)
        return tb_usage_error("run", "%s", err);
    if ((ro.duet || ro.interleave_ms > 0) && (code = check_pairs(&ro, &m)) >= 0)
        return code;
    rc.seed = m.seed;
    m.sample_every = rc.sample;
    tb_adapt ad = {ro.target_pct > 0 ? ro.target_pct : 1.0, ro.budget_s > 0 ? ro.budget_s : 300};
    if (ro.auto_reps) {
        /* a cell costs its length plus about 0.15 s of worker start-up and calibration */
        double first = (double)m.n * (m.duration > 0 ? m.duration + 0.15 : 0.3);
        if (first > ad.budget_s)
            return tb_usage_error("run", "--budget %g: the first %d rounds (%zu cells) take about %.0f s: want "
                                  "--budget %.0f or more, or fewer cells", ad.budget_s, TB_AUTO_FIRST_REPS, m.n, first,
                                  ceil(first * 1.5));
    }

    char self[4096];
    if (!tb_self_exe(self, sizeof self))
        return tb_usage_error("run", "cannot find my own executable through /proc/self/exe");
    rc.self = self;

    char run_id[128], err2[1024];
    static char outdir[4096];
    if (ro.resume) {
        snprintf(outdir, sizeof outdir, "%s", ro.resume);
        cJSON *meta = tb_meta_read(outdir, NULL, 0);
        snprintf(run_id, sizeof run_id, "%s", tb_json_str(meta, "run_id", NULL)); /* the rows' own wins below */
        cJSON_Delete(meta);
        if (tb_outdir_lock(outdir, "run --resume", err2, sizeof err2) != 0)
            return tb_usage_error("run", "%s", err2);
    } else if (tb_outdir_new(ro.out, outdir, sizeof outdir, run_id, sizeof run_id, err2, sizeof err2) != 0) {
        return tb_usage_error("run", "%s", err2);
    }
    ro.out = outdir;
    rc.out_dir = outdir;
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%s/results.csv", ro.out);
    long left = skip_done(&m, csv_path, ro.resume != NULL, run_id, sizeof run_id, err, sizeof err);
    if (left < 0)
        return tb_usage_error("run", "--resume %s: %s; nothing was run", ro.out, err);
    size_t todo = (size_t)left;
    FILE *csv = tb_csv_open_append(csv_path, err, sizeof err);
    if (!csv)
        return tb_usage_error("run", "%s", err);

    tb_meta_run mr = {.run_id = run_id, .out_dir = ro.out, .argc = argc, .argv = argv, .m = &m,
                      .measure = rc.instructions ? "instructions" : "time",
                      .count_method = rc.instructions ? (rc.perf ? "perf" : "callgrind") : NULL,
                      .against = ro.against ? against_lib : NULL, .prev = prev, .pin = rc.pin,
                      .pairing = ro.duet ? "duet" : ro.interleave_ms > 0 ? "interleave" : NULL,
                      .slice_ms = ro.interleave_ms,
                      .timeout = rc.timeout, .shard_k = ro.o.shard_k, .shard_n = ro.o.shard_n,
                      .auto_reps = ro.auto_reps, .target_pct = ad.target_pct, .budget_s = ad.budget_s};
    tb_utc_now(mr.started, sizeof mr.started, false);
    loadavg(mr.load_before);
    tb_cpu_times(mr.cpu_before);
    tb_speed_probe(&mr.probe_before);
    mr.probe_after = (tb_probe){NAN, NAN};
    if (tb_meta_write(ro.out, &mr, err, sizeof err) != 0) {
        fprintf(stderr, "tmbench run: %s\n", err);
        fclose(csv);
        return TB_EXIT_IO;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal ends the run as Ctrl-C does */

    cJSON *versions = cJSON_CreateObject(), *warnings = cJSON_CreateArray();
    loop_out lo = {0};
    uint64_t t_run0 = tb_now_ns();
    run_cells(&rc, &m, todo, csv, csv_path, run_id, versions, warnings, &lo);
    bool first_done = !interrupted && !lo.io_failed && lo.ran == todo;
    char *atext = NULL;
    if (ro.auto_reps) {
        unsigned rounds = first_done ? run_auto(&rc, &m, &ad, csv, csv_path, run_id, versions, warnings, &lo, t_run0) : 0;
        mr.adaptive_json = atext = auto_summary(&ad, &m, csv_path, rounds);
    }
    fclose(csv);
    if (rc.tmpdir)
        rmdir(rc.tmpdir);
    mr.interrupted = interrupted;
    mr.complete = first_done && !interrupted && !lo.io_failed;
    tb_utc_now(mr.ended, sizeof mr.ended, false);
    loadavg(mr.load_after);
    tb_cpu_times(mr.cpu_after);
    tb_speed_probe(&mr.probe_after);
    char *vtext = cJSON_PrintUnformatted(versions), *wtext = cJSON_PrintUnformatted(warnings);
    mr.versions_json = vtext;
    mr.warnings_json = wtext;
    bool meta_ok = tb_meta_write(ro.out, &mr, err, sizeof err) == 0;
    if (!meta_ok)
        fprintf(stderr, "tmbench run: %s\n", err);
    free(vtext);
    free(wtext);
    free(atext);
    cJSON_Delete(versions);
    cJSON_Delete(warnings);
    return last_words(&lo, todo, lo.io_failed || !meta_ok, ro.out, (double)(tb_now_ns() - t_run0) / 1e9);
}
