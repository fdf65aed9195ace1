/* tmbench run: the driver. Builds the matrix, runs each cell repetition in a fresh worker
 * process (cell.c), and appends one synced CSV row per cell as it ends. Crashes, timeouts and
 * Ctrl-C cost one cell at most. This file is the command: its flags, the allocators they add,
 * the output directory and resume, the loop with its progress lines, and meta.json. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "adapt.h"
#include "meta.h"
#include "outdir.h"
#include "run.h"
#include "spawn.h"

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (current_child > 0)
        kill(-current_child, SIGKILL); /* the worker's process group (spawn.c) */
}

static void run_help(void)
{
    printf("usage: tmbench run [options]\n"
           "Runs every cell (allocator x workload x threads x size x rep) in its own worker process\n"
           "and appends one row per cell to DIR/results.csv; meta.json records the context.\n\n"
           "  --preset quick|ci|full   the matrix to start from (default quick)\n"
           "  --allocators A,B|all     names from `tmbench list`, or NAME=/path/lib.so for your own\n"
           "  --workloads W,X|all      workloads from `tmbench list`\n"
           "  --threads 1,2,4|ncpu     thread counts\n"
           "  --sizes 16,64,256        object sizes in bytes\n"
           "  --reps N                 repetitions (the outer loop; cells shuffled inside each)\n"
           "  --reps auto              6 rounds, then more rounds for the cells whose 95%% interval is\n"
           "                           still wider than --target, while --budget lasts\n"
           "  --target PCT             --reps auto: the interval half-width wanted (default 1)\n"
           "  --budget SECONDS         --reps auto: the whole run's wall-clock budget (default 300)\n"
           "  --duration SECONDS       time each cell for this long, or\n"
           "  --ops N                  run N operations per cell (1e6, 2M; split over threads)\n"
           "  --timeout SECONDS        kill a cell after this long (default 60): status timeout\n"
           "  --pin                    pin threads to PUs with hwloc, spread over NUMA nodes\n"
           "  --out DIR                results directory (default results/<UTC time>-<host>)\n"
           "  --resume DIR             continue the run in DIR with its recorded matrix\n"
           "  --shard K/N              run the K-th of N slices of the matrix (needs --seed)\n"
           "  --seed N                 seed of the cell order (recorded in meta.json)\n"
           "  --sample N               time one alloc and one free in N (default 1024, 0 = off)\n"
           "  --measure time|instructions\n"
           "                           instructions: also count instructions per op in the timed\n"
           "                           region (perf counters, else callgrind on 1-thread cells);\n"
           "                           latency sampling is off in this mode unless --sample\n"
           "                           is given\n"
           "  --against BUILD_DIR      also run that build's tmempool strategies, as X@base, each\n"
           "                           cell next to its twin (then: compare DIR --baseline @base)\n"
           "  -p key=value             workload parameter (repeatable); key=v1,v2 runs each value\n"
           "                           (a sweep: every combination of a workload's listed keys)\n\n"
           "presets:\n");
    tb_presets_print(stdout);
    printf("\nexit: 0 every cell ok or skipped, 1 some cell not, 2 usage or input error (nothing run),\n"
           "      4 an output file could not be written (the rows before are whole), 130 interrupted\n");
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

/* The libtmempool of another build: BUILD_DIR/allocators/libtmempool.so, or a path to the .so.
 * Made absolute, since workers resolve it from their own working directory. */
static int find_pool_lib(const char *arg, char *out, size_t len, char *err, size_t errlen)
{
    static const char *const tries[] = {"/allocators/libtmempool.so", "/libtmempool.so",
                                        "/lib/libtmempool.so", ""};
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s%s", arg, tries[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && realpath(path, out)) {
            (void)len;
            return 0;
        }
    }
    snprintf(err, errlen, "no libtmempool.so under it (looked for %s/allocators/libtmempool.so): "
                          "give the build directory of another checkout, e.g. ../base/build-release", arg);
    return -1;
}


/* Parses run's flags into ro and rc. -1 to go on, else the exit code to return. */
static int parse_flags(int argc, char **argv, run_opts *ro, tb_run_ctx *rc)
{
    static const struct option opts[] = {
        {"preset", 1, 0, 'P'},  {"allocators", 1, 0, 'a'}, {"workloads", 1, 0, 'w'},
        {"threads", 1, 0, 't'}, {"sizes", 1, 0, 's'},      {"reps", 1, 0, 'r'},
        {"duration", 1, 0, 'd'}, {"ops", 1, 0, 'o'},        {"timeout", 1, 0, 'T'},
        {"pin", 0, 0, 'n'},     {"out", 1, 0, 'O'},        {"resume", 1, 0, 'R'},
        {"shard", 1, 0, 'S'},   {"seed", 1, 0, 'x'},       {"sample", 1, 0, 'L'},
        {"measure", 1, 0, 'M'}, {"against", 1, 0, 'A'},    {"help", 0, 0, 'h'},
        {"target", 1, 0, 'G'},  {"budget", 1, 0, 'B'},
        {0, 0, 0, 0}};
    tb_matrix_opts *o = &ro->o;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P': o->preset = optarg; break;
        case 'a': o->allocators = optarg; break;
        case 'w': o->workloads = optarg; break;
        case 't': o->threads = optarg; break;
        case 's': o->sizes = optarg; break;
        case 'r': {
            uint64_t v;
            if (strcmp(optarg, "auto") == 0) {
                ro->auto_reps = true;
                o->reps = TB_AUTO_FIRST_REPS;
                break;
            }
            if (!tb_parse_u64(optarg, 1, 10000, &v))
                return tb_usage_error("run", "--reps '%s': want a whole number from 1 to 10000, or auto", optarg);
            o->reps = (int)v;
            break;
        }
        case 'G':
            if (!tb_parse_seconds(optarg, 0, 99.999999, &ro->target_pct))
                return tb_usage_error("run", "--target '%s': want a percentage above 0 and below 100 (e.g. 1)", optarg);
            break;
        case 'B':
            if (!tb_parse_seconds(optarg, 0, 7 * 86400, &ro->budget_s))
                return tb_usage_error("run", "--budget '%s': want seconds, more than 0 (e.g. 90)", optarg);
            break;
        case 'd':
            if (!tb_parse_seconds(optarg, 0, 86400, &o->duration))
                return tb_usage_error("run", "--duration '%s': want seconds, more than 0 and at most 86400 (e.g. 0.5)", optarg);
            break;
        case 'o': {
            bool ok;
            o->ops = tb_parse_ops(optarg, &ok);
            if (!ok)
                return tb_usage_error("run", "--ops '%s': want a positive count below 1e15 (e.g. 1000000, 2M)", optarg);
            break;
        }
        case 'T':
            if (!tb_parse_seconds(optarg, 0, 7 * 86400, &rc->timeout))
                return tb_usage_error("run", "--timeout '%s': want seconds, more than 0 and at most 604800", optarg);
            break;
        case 'n': rc->pin = true; break;
        case 'O': ro->out = optarg; break;
        case 'R': ro->resume = optarg; break;
        case 'S':
            if (!tb_parse_shard(optarg, &o->shard_k, &o->shard_n))
                return tb_usage_error("run", "--shard '%s': want K/N with 1 <= K <= N <= 100000 (e.g. 2/8)", optarg);
            break;
        case 'x':
            if (!tb_parse_u64(optarg, 0, UINT64_MAX, &o->seed))
                return tb_usage_error("run", "--seed '%s': want a whole number from 0 to 18446744073709551615", optarg);
            o->seed_set = true;
            break;
        case 'L': {
            uint64_t v;
            if (!tb_parse_u64(optarg, 0, 1u << 30, &v))
                return tb_usage_error("run", "--sample '%s': want a whole number from 0 (off) to 1073741824", optarg);
            rc->sample = (unsigned)v;
            ro->sample_set = true;
            break;
        }
        case 'p':
            if (o->npset == 32)
                return tb_usage_error("run", "too many -p settings (at most 32)");
            o->pset[o->npset++] = optarg;
            break;
        case 'M':
            if (strcmp(optarg, "time") != 0 && strcmp(optarg, "instructions") != 0)
                return tb_usage_error("run", "--measure '%s': want time or instructions", optarg);
            ro->measure = optarg;
            break;
        case 'A': ro->against = optarg; break;
        case 'h': run_help(); return 0;
        default: return tb_usage_error("run", "see `tmbench run --help`");
        }
    }
    if (optind < argc)
        return tb_usage_error("run", "unexpected argument '%s'", argv[optind]);
    if (o->duration > 0 && o->ops)
        return tb_usage_error("run", "--duration and --ops exclude each other: pick one");
    if (o->duration > 0 && rc->timeout <= o->duration)
        return tb_usage_error("run", "--timeout %g is not longer than --duration %g: every cell would be killed "
                              "(want a timeout well above the duration, e.g. %g)", rc->timeout, o->duration,
                              o->duration * 2 + 10);
    if (o->shard_n > 1 && !o->seed_set && !ro->resume)
        return tb_usage_error("run", "--shard needs --seed, so that every shard slices the same order");
    if ((ro->target_pct > 0 || ro->budget_s > 0) && !ro->auto_reps)
        return tb_usage_error("run", "--target and --budget go with --reps auto: want --reps auto too, or leave them out");
    if (ro->auto_reps && o->shard_n > 1)
        return tb_usage_error("run", "--reps auto decides rounds from every cell's rows: it cannot be sharded "
                              "(want --reps N with --shard)");
    return -1;
}

/* NAME=/path entries in --allocators are user libraries: registered here, and named by NAME in
 * the matrix. --against registers the other build's strategies as X@base. */
static int add_allocators(run_opts *ro, tb_run_ctx *rc, char *against_lib, size_t liblen)
{
    static char alloc_list[1024];
    char err[1024];
    tb_matrix_opts *o = &ro->o;
    if (o->allocators && strchr(o->allocators, '=')) {
        char *dup = strdup(o->allocators), *save = NULL;
        size_t used = 0;
        alloc_list[0] = '\0';
        for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (strchr(t, '=')) {
                if (tb_alloc_add_user(t, err, sizeof err) != 0)
                    return tb_usage_error("run", "--allocators: %s", err);
                if (rc->nusers < 16)
                    rc->users[rc->nusers++] = strdup(t);
                *strchr(t, '=') = '\0';
            }
            used += (size_t)snprintf(alloc_list + used, sizeof alloc_list - used, "%s%s", used ? "," : "", t);
        }
        free(dup);
        o->allocators = alloc_list;
    }
    static char against_spec[4200];
    if (ro->against) {
        if (find_pool_lib(ro->against, against_lib, liblen, err, sizeof err) != 0 ||
            tb_alloc_add_against(against_lib, "base", err, sizeof err) != 0)
            return tb_usage_error("run", "--against %s: %s", ro->against, err);
        snprintf(against_spec, sizeof against_spec, "%s@base", against_lib);
        rc->against = against_spec;
    }
    return -1;
}

/* --measure instructions: perf counters where the kernel allows them, else callgrind. */
static int setup_measure(const run_opts *ro, tb_run_ctx *rc)
{
    if (!ro->measure || strcmp(ro->measure, "instructions") != 0)
        return -1;
    rc->instructions = true;
    if (!ro->sample_set)
        rc->sample = 0; /* sampling adds timing code to the counted region; --sample N counts it */
    rc->perf = tb_count_perf_works();
    if (rc->perf)
        return -1;
    rc->valgrind = tb_find_in_path("valgrind");
    if (!rc->valgrind)
        return tb_usage_error("run", "--measure instructions: this kernel does not allow perf counters "
                              "and valgrind is not installed (Debian package valgrind)");
    static char tmpl[] = "/tmp/tmbench-cg-XXXXXX";
    rc->tmpdir = mkdtemp(tmpl);
    if (!rc->tmpdir)
        return tb_usage_error("run", "cannot create a temporary directory: %s", strerror(errno));
    fprintf(stderr, "tmbench run: perf counters are not available here: counting instructions "
                    "with callgrind, for 1-thread cells only\n");
    return -1;
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
    size_t ran, bad;
    bool io_failed; /* a row could not be written: the run stopped there */
} loop_out;

/* Runs every cell not yet done, appending its row; stops early on Ctrl-C or a full disk. */
static void run_cells(const tb_run_ctx *rc, const tb_matrix *m, size_t todo, FILE *csv, const char *csv_path,
                      const char *run_id, cJSON *versions, cJSON *warnings, loop_out *lo)
{
    bool tty = isatty(2);
    uint64_t t_start = tb_now_ns();
    for (size_t i = 0; i < m->n && !interrupted; i++) {
        const tb_cell *cell = &m->cells[i];
        if (cell->done)
            continue;
        double el = (double)(tb_now_ns() - t_start) / 1e9;
        char e1[16], e2[16];
        fmt_hms(e1, sizeof e1, el);
        fmt_hms(e2, sizeof e2, lo->ran ? el / (double)lo->ran * (double)(todo - lo->ran) : 0);
        if (tty)
            fprintf(stderr, "\r\033[K[%zu/%zu] %s %s t=%u %zuB rep %u  elapsed %s  eta %s", lo->ran + 1, todo,
                    cell->alloc->name, cell->wl->name, cell->threads, cell->size, cell->rep, e1, e2);
        tb_row row = {0};
        char said[4096];
        tb_status st = tb_run_cell(rc, m, cell, &row, said, sizeof said);
        note_warnings(said, warnings, tty);
        if (st == TB_ST_interrupted) {
            tb_row_clear(&row);
            break;
        }
        tb_row_set(&row, TB_COL_run_id, "%s", run_id);
        if (tb_csv_append_row(csv, &row) != 0) {
            fprintf(stderr, "%stmbench run: cannot append to %s: %s; the run stops here, every row before "
                            "this one is whole (tmbench run --resume %s continues once there is room)\n",
                    tty ? "\r\033[K" : "", csv_path, strerror(errno), rc->out_dir);
            tb_row_clear(&row);
            lo->io_failed = true;
            break;
        }
        const char *ver = tb_row_get(&row, TB_COL_allocator_version);
        if (*ver && !cJSON_GetObjectItem(versions, cell->alloc->name))
            cJSON_AddStringToObject(versions, cell->alloc->name, ver);
        lo->ran++;
        bool ok = tb_status_good(st);
        lo->bad += !ok;
        if (!tty || !ok)
            fprintf(stderr, "%s[%zu/%zu] %-18s %-10s t=%-2u %4zuB rep %u  %-11s %s %s%s%s%s\n", tty ? "\r\033[K" : "",
                    lo->ran, todo, cell->alloc->name, cell->wl->name, cell->threads, cell->size, cell->rep,
                    tb_status_name(st), ok ? tb_row_get(&row, TB_COL_ops_per_sec) : "",
                    ok ? "ops/s" : tb_row_get(&row, TB_COL_error), cell->variant ? "  [" : "",
                    cell->variant ? cell->params : "", cell->variant ? "]" : "");
        tb_row_clear(&row);
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
        lo->io_failed |= one.io_failed;
        if (!one.ran)
            break;
        rounds++;
    }
    free(round);
    return rounds;
}

int tb_cmd_run(int argc, char **argv)
{
    run_opts ro = {.o = {.reps = -1}};
    cJSON *prev = NULL; /* --resume: the run's meta.json as it was */
    tb_run_ctx rc = {.timeout = 60, .sample = 1024, .stop = &interrupted, .child = &current_child};
    char err[1024];
    int code;
    if ((code = parse_flags(argc, argv, &ro, &rc)) >= 0)
        return code;
    if (ro.resume) {
        if (ro.out)
            return tb_usage_error("run", "--resume DIR writes into DIR: leave out --out");
        if (tb_resume_opts(ro.resume, &ro, &rc, &prev, err, sizeof err) != 0)
            return tb_usage_error("run", "%s", err);
        ro.out = ro.resume;
    }
    static char against_lib[4096];
    if ((code = add_allocators(&ro, &rc, against_lib, sizeof against_lib)) >= 0 ||
        (code = setup_measure(&ro, &rc)) >= 0)
        return code;
    tb_matrix m;
    if (tb_matrix_build(&ro.o, &m, err, sizeof err) != 0)
        return tb_usage_error("run", "%s", err);
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
                      .timeout = rc.timeout, .shard_k = ro.o.shard_k, .shard_n = ro.o.shard_n,
                      .auto_reps = ro.auto_reps, .target_pct = ad.target_pct, .budget_s = ad.budget_s};
    tb_utc_now(mr.started, sizeof mr.started, false);
    loadavg(mr.load_before);
    tb_cpu_times(mr.cpu_before);
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
        cJSON *summary = tb_adapt_summary(&ad, &m, csv_path, rounds);
        const cJSON *conv = cJSON_GetObjectItemCaseSensitive(summary, "converged"),
                    *cells = cJSON_GetObjectItemCaseSensitive(summary, "cells");
        fprintf(stderr, "tmbench run: --reps auto: %d of %d cells within +-%g%% after %u more rounds\n",
                conv ? conv->valueint : 0, cells ? cells->valueint : 0, ad.target_pct, rounds);
        atext = cJSON_PrintUnformatted(summary);
        cJSON_Delete(summary);
        mr.adaptive_json = atext;
    }
    fclose(csv);
    if (rc.tmpdir)
        rmdir(rc.tmpdir);
    mr.interrupted = interrupted;
    mr.complete = first_done && !interrupted && !lo.io_failed;
    tb_utc_now(mr.ended, sizeof mr.ended, false);
    loadavg(mr.load_after);
    tb_cpu_times(mr.cpu_after);
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
    bool io = lo.io_failed || !meta_ok;
    if (lo.ran > todo)
        fprintf(stderr, "tmbench run: %zu cells run (%zu in the first rounds, %zu more for --reps auto), %zu not ok, "
                        "%s; results in %s\n", lo.ran, todo, lo.ran - todo, lo.bad,
                io ? "STOPPED: an output file could not be written" : interrupted ? "interrupted" : "done", ro.out);
    else
        fprintf(stderr, "tmbench run: %zu of %zu cells run, %zu not ok, %s; results in %s\n", lo.ran, todo, lo.bad,
                io ? "STOPPED: an output file could not be written" : interrupted ? "interrupted" : "done", ro.out);
    printf("%s\n", ro.out);
    if (io)
        return TB_EXIT_IO;
    if (interrupted)
        return TB_EXIT_INTERRUPTED;
    return lo.bad ? TB_EXIT_CELLS : TB_EXIT_OK;
}
