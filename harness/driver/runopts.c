/* tmbench run's options: the flags and their checks, the allocators they add (user libraries,
 * another build's strategies under --against), and how instructions are counted (run.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt.h"
#include "cli.h"
#include "run.h"

static void run_help(void)
{
    printf("usage: tmbench run [options]\n"
           "Runs every cell (allocator x workload x threads x size x rep) in its own worker process\n"
           "and appends one row per cell to DIR/results.csv; meta.json records the context.\n\n"
           "  --preset quick|ci|real|full  the matrix to start from (default quick)\n"
           "  --allocators A,B|all     names from `tmbench list`, or NAME=/path/lib.so for your own\n"
           "  --workloads W,X|all      workloads from `tmbench list`\n"
           "  --threads 1,2,4|ncpu     thread counts\n"
           "  --sizes 16,64,8-1000     object sizes in bytes: fixed sizes, and ranges drawn per call:\n"
           "                           A-B uniform, A-B:log log-uniform (1 <= A < B <= 1048576)\n"
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
           "  --duet                   run the two sides of each pair at the same time, each on CPUs of\n"
           "                           its own: X and X@base with --against, else the two allocators\n"
           "                           given (cells of up to half the CPUs' threads)\n"
           "  --interleave MS          run the two sides of each pair in one worker, in alternating\n"
           "                           slices of MS milliseconds (ABBA order), pools kept across\n"
           "                           slices: X and X@base with --against, else the two allocators\n"
           "                           given; both must live in one process (tmempool-*, floor, glibc)\n"
           "  -p key=value             workload parameter (repeatable); key=v1,v2 runs each value\n"
           "                           (a sweep: every combination of a workload's listed keys)\n\n"
           "presets:\n");
    tb_presets_print(stdout);
    printf("\nexit: 0 every cell ok or skipped, 1 some cell not, 2 usage or input error (nothing run),\n"
           "      4 an output file could not be written (the rows before are whole), 130 interrupted\n");
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
int tb_run_flags(int argc, char **argv, run_opts *ro, tb_run_ctx *rc)
{
    static const struct option opts[] = {
        {"preset", 1, 0, 'P'},  {"allocators", 1, 0, 'a'}, {"workloads", 1, 0, 'w'},
        {"threads", 1, 0, 't'}, {"sizes", 1, 0, 's'},      {"reps", 1, 0, 'r'},
        {"duration", 1, 0, 'd'}, {"ops", 1, 0, 'o'},        {"timeout", 1, 0, 'T'},
        {"pin", 0, 0, 'n'},     {"out", 1, 0, 'O'},        {"resume", 1, 0, 'R'},
        {"shard", 1, 0, 'S'},   {"seed", 1, 0, 'x'},       {"sample", 1, 0, 'L'},
        {"measure", 1, 0, 'M'}, {"against", 1, 0, 'A'},    {"help", 0, 0, 'h'},
        {"target", 1, 0, 'G'},  {"budget", 1, 0, 'B'},    {"duet", 0, 0, 'U'},
        {"interleave", 1, 0, 'I'}, {0, 0, 0, 0}};
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
        case 'U': ro->duet = rc->duet = true; break;
        case 'I':
            if (!tb_parse_seconds(optarg, 0.05, 10000, &ro->interleave_ms))
                return tb_usage_error("run", "--interleave '%s': want a slice length in milliseconds, above 0.05 "
                                      "and at most 10000 (e.g. 5)", optarg);
            rc->slice_s = ro->interleave_ms / 1e3;
            break;
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
    if (ro->duet && ro->measure && strcmp(ro->measure, "instructions") == 0)
        return tb_usage_error("run", "--duet with --measure instructions: counts do not depend on the "
                              "neighbour, so there is nothing to pair; want one of them");
    if (ro->interleave_ms > 0 && ro->duet)
        return tb_usage_error("run", "--interleave and --duet are two ways to pair the same cells: pick one");
    if (ro->interleave_ms > 0 && ro->measure && strcmp(ro->measure, "instructions") == 0)
        return tb_usage_error("run", "--interleave with --measure instructions: counts do not drift with the "
                              "machine, so there is nothing to interleave; want one of them");
    if ((ro->target_pct > 0 || ro->budget_s > 0) && !ro->auto_reps)
        return tb_usage_error("run", "--target and --budget go with --reps auto: want --reps auto too, or leave them out");
    if (ro->auto_reps && o->shard_n > 1)
        return tb_usage_error("run", "--reps auto decides rounds from every cell's rows: it cannot be sharded "
                              "(want --reps N with --shard)");
    return -1;
}

/* NAME=/path entries in --allocators are user libraries: registered here, and named by NAME in
 * the matrix. --against registers the other build's strategies as X@base. */
int tb_run_allocators(run_opts *ro, tb_run_ctx *rc, char *against_lib, size_t liblen)
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
int tb_run_measure(const run_opts *ro, tb_run_ctx *rc)
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

