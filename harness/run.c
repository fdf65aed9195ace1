/* tmbench run: the driver. Builds the matrix, runs each cell repetition in a fresh worker
 * process (the same binary, re-executed), collects its result over a pipe, and appends one
 * synced CSV row per cell as it ends. Crashes, timeouts and Ctrl-C cost one cell at most. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "results.h"

void tb_presets_print(FILE *f);

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (current_child > 0)
        kill(current_child, SIGKILL);
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
    printf("\nexit: 0 every cell ok or skipped, 1 some cell not, 2 usage error, 130 interrupted\n");
}

typedef struct worker_result {
    char status[32];
    char kv[64][2][256];
    int n;
    char stderr_tail[400];
} worker_result;

static const char *wr_get(const worker_result *w, const char *k)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->kv[i][0], k) == 0)
            return w->kv[i][1];
    return NULL;
}

static void parse_kv(worker_result *w, char *buf)
{
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && w->n < 64; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        snprintf(w->kv[w->n][0], 256, "%s", line);
        snprintf(w->kv[w->n][1], 256, "%s", eq + 1);
        w->n++;
    }
    const char *s = wr_get(w, "status");
    snprintf(w->status, sizeof w->status, "%s", s ? s : "");
}

typedef struct run_ctx {
    const char *self;
    double timeout;
    bool pin;
    unsigned sample;
    uint64_t seed;
    const char *users[16];
    int nusers;
    const char *against;     /* lib@base for the worker */
    bool instructions;       /* --measure instructions */
    bool perf;               /* ... counted with perf; else callgrind on 1-thread cells */
    const char *valgrind;
    const char *tmpdir;      /* callgrind output files */
} run_ctx;

/* Sums the instructions callgrind counted in the workload's threads (files cg.out-02 and on:
 * thread 1 is the worker's main thread, which only starts and joins) and removes the files. */
static void callgrind_result(const char *cgout, worker_result *w)
{
    double total = 0;
    bool found = false;
    for (int t = 1; t < 4096; t++) {
        char path[4300];
        snprintf(path, sizeof path, "%s-%02d", cgout, t);
        FILE *f = fopen(path, "r");
        if (!f) {
            if (t > 2)
                break;
            continue;
        }
        char line[512];
        double v = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "totals: %lf", &v) == 1)
                break;
        fclose(f);
        unlink(path);
        if (t >= 2) {
            total += v;
            found = true;
        }
    }
    unlink(cgout); /* callgrind leaves an empty file under the plain name too */
    const char *ops = wr_get(w, "ops");
    double nops = ops ? strtod(ops, NULL) : 0;
    if (strcmp(w->status, "ok") != 0 || !found || nops <= 0 || w->n + 2 > 64)
        return;
    snprintf(w->kv[w->n][0], 256, "instructions_per_op");
    snprintf(w->kv[w->n++][1], 256, "%.4f", total / nops);
    snprintf(w->kv[w->n][0], 256, "count_method");
    snprintf(w->kv[w->n++][1], 256, "callgrind");
}

/* Runs one cell; fills *w. Returns the final status string. */
static void run_cell(const run_ctx *rc, const tb_matrix *m, const tb_cell *c, worker_result *w)
{
    memset(w, 0, sizeof *w);
    int res[2], errp[2];
    if (pipe2(res, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        snprintf(w->status, sizeof w->status, "failed");
        snprintf(w->stderr_tail, sizeof w->stderr_tail, "pipe: %s", strerror(errno));
        return;
    }
    char threads[16], size[32], ops[32], dur[32], sample[16], seed[32];
    snprintf(threads, sizeof threads, "%u", c->threads);
    snprintf(size, sizeof size, "%zu", c->size);
    snprintf(ops, sizeof ops, "%llu", (unsigned long long)m->ops);
    snprintf(dur, sizeof dur, "%.6f", m->duration);
    snprintf(sample, sizeof sample, "%u", rc->sample);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)(rc->seed + c->rep));
    const char *argv[64];
    int n = 0;
    argv[n++] = "tmbench";
    argv[n++] = "__worker";
    argv[n++] = "--allocator"; argv[n++] = c->alloc->name;
    argv[n++] = "--workload"; argv[n++] = c->wl->name;
    argv[n++] = "--params"; argv[n++] = c->params;
    argv[n++] = "--threads"; argv[n++] = threads;
    argv[n++] = "--size"; argv[n++] = size;
    argv[n++] = "--sample"; argv[n++] = sample;
    argv[n++] = "--seed"; argv[n++] = seed;
    if (m->duration > 0) {
        argv[n++] = "--duration"; argv[n++] = dur;
    } else {
        argv[n++] = "--ops"; argv[n++] = ops;
    }
    if (rc->pin)
        argv[n++] = "--pin";
    for (int i = 0; i < rc->nusers; i++) {
        argv[n++] = "--user"; argv[n++] = rc->users[i];
    }
    if (rc->against) {
        argv[n++] = "--against"; argv[n++] = rc->against;
    }
    bool callgrind = rc->instructions && !rc->perf && c->threads == 1;
    if (rc->instructions && (rc->perf || callgrind)) {
        argv[n++] = "--count"; argv[n++] = rc->perf ? "perf" : "callgrind";
    }
    argv[n] = NULL;
    /* callgrind: the worker under valgrind, instrumentation off until a timed region starts;
     * one output file per thread so that only the workload's threads are summed. */
    char cgout[4200];
    const char *cgargv[80];
    snprintf(cgout, sizeof cgout, "%s/cg.out", rc->tmpdir ? rc->tmpdir : "/tmp");
    if (callgrind) {
        static char cgopt[4300];
        snprintf(cgopt, sizeof cgopt, "--callgrind-out-file=%s", cgout);
        int k = 0;
        cgargv[k++] = "valgrind";
        cgargv[k++] = "--tool=callgrind";
        cgargv[k++] = "--quiet";
        cgargv[k++] = "--instr-atstart=no";
        cgargv[k++] = "--separate-threads=yes";
        cgargv[k++] = cgopt;
        cgargv[k++] = rc->self;
        for (int i = 1; i <= n; i++)
            cgargv[k++] = argv[i];
    }
    const char *lib = tb_alloc_library(c->alloc);

    pid_t pid = fork();
    if (pid == 0) {
        dup2(res[1], 3);
        dup2(errp[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        if (lib)
            setenv("LD_PRELOAD", lib, 1);
        else
            unsetenv("LD_PRELOAD");
        signal(SIGINT, SIG_IGN); /* the driver decides; it kills us on Ctrl-C */
        if (callgrind) {
            setenv("TMEMPOOL_VALGRIND", "0", 1); /* count the pool's fast path, not its checks */
            execv(rc->valgrind, (char *const *)cgargv);
        }
        execv(rc->self, (char *const *)argv);
        dprintf(2, "exec %s: %s\n", rc->self, strerror(errno));
        _exit(127);
    }
    close(res[1]);
    close(errp[1]);
    if (pid < 0) {
        snprintf(w->status, sizeof w->status, "failed");
        snprintf(w->stderr_tail, sizeof w->stderr_tail, "fork: %s", strerror(errno));
        close(res[0]);
        close(errp[0]);
        return;
    }
    current_child = pid;
    char buf[16384];
    size_t got = 0;
    char ebuf[4096];
    size_t egot = 0;
    bool timed_out = false;
    uint64_t deadline = tb_now_ns() + (uint64_t)(rc->timeout * 1e9);
    struct pollfd pf[2] = {{res[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && !interrupted) {
        uint64_t now = tb_now_ns();
        if (now >= deadline) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int ms = (int)((deadline - now) / 1000000) + 1;
        if (poll(pf, 2, ms > 200 ? 200 : ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t r = read(pf[i].fd, tmp, sizeof tmp);
            if (r <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                size_t take = (size_t)r < sizeof buf - 1 - got ? (size_t)r : sizeof buf - 1 - got;
                memcpy(buf + got, tmp, take);
                got += take;
            } else {
                /* keep the tail: the last words of a crash matter most */
                if (egot + (size_t)r > sizeof ebuf) {
                    size_t drop = egot + (size_t)r - sizeof ebuf;
                    if (drop > egot)
                        drop = egot;
                    memmove(ebuf, ebuf + drop, egot - drop);
                    egot -= drop;
                }
                size_t take = (size_t)r < sizeof ebuf ? (size_t)r : sizeof ebuf;
                memcpy(ebuf + egot, tmp + (size_t)r - take, take);
                egot += take;
            }
        }
    }
    if (interrupted)
        kill(pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    int st = 0;
    waitpid(pid, &st, 0);
    current_child = 0;
    buf[got] = '\0';
    parse_kv(w, buf);
    /* stderr tail, one line, for the error column */
    size_t k = 0;
    for (size_t i = egot > 300 ? egot - 300 : 0; i < egot && k < sizeof w->stderr_tail - 1; i++)
        w->stderr_tail[k++] = ebuf[i] == '\n' || ebuf[i] == ',' ? ' ' : ebuf[i];
    w->stderr_tail[k] = '\0';

    if (timed_out) {
        snprintf(w->status, sizeof w->status, "timeout");
        snprintf(w->kv[w->n][0], 256, "error");
        snprintf(w->kv[w->n++][1], 256, "killed after --timeout %.0f s", rc->timeout);
    } else if (interrupted && !w->status[0]) {
        snprintf(w->status, sizeof w->status, "interrupted");
    } else if (WIFSIGNALED(st)) {
        snprintf(w->status, sizeof w->status, "crashed");
        snprintf(w->kv[w->n][0], 256, "error");
        snprintf(w->kv[w->n++][1], 256, "killed by SIG%s: %.180s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                 w->stderr_tail);
    } else if (!w->status[0]) {
        snprintf(w->status, sizeof w->status, "failed");
        snprintf(w->kv[w->n][0], 256, "error");
        snprintf(w->kv[w->n++][1], 256, "worker exited with status %d and no result: %.180s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, w->stderr_tail);
    }
    if (callgrind)
        callgrind_result(cgout, w);
}

static void fill_row(tb_row *row, const char *run_id, const tb_cell *c, const worker_result *w,
                     uint64_t seed)
{
    tb_row_set(row, TB_COL_run_id, "%s", run_id);
    tb_row_set(row, TB_COL_allocator, "%s", c->alloc->name);
    const char *v = wr_get(w, "version");
    tb_row_set(row, TB_COL_allocator_version, "%s", v ? v : "");
    tb_row_set(row, TB_COL_workload, "%s", c->wl->name);
    tb_row_set(row, TB_COL_params, "%s", c->params);
    tb_row_set(row, TB_COL_threads, "%u", c->threads);
    tb_row_set(row, TB_COL_object_size, "%zu", c->size);
    tb_row_set(row, TB_COL_rep, "%u", c->rep);
    tb_row_set(row, TB_COL_status, "%s", w->status);
    tb_row_set(row, TB_COL_seed, "%llu", (unsigned long long)seed);
    for (int i = 0; i < w->n; i++)
        for (int col = 0; col < TB_NCOLS; col++)
            if (col != TB_COL_status && strcmp(tb_col_names[col], w->kv[i][0]) == 0)
                tb_row_set(row, col, "%s", w->kv[i][1]);
    if (strcmp(w->status, "ok") != 0) { /* a failed cell has no trustworthy figures */
        static const int drop[] = {TB_COL_ops_per_sec, TB_COL_ns_per_op};
        for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
            tb_row_set(row, drop[i], "%s", "");
    }
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

/* Loads the recorded matrix of DIR's meta.json into the options (resume). */
static int resume_opts(const char *dir, tb_matrix_opts *o, const char **measure, const char **against,
                       char *err, size_t errlen)
{
    char why[512];
    cJSON *root = tb_meta_read(dir, why, sizeof why);
    if (!root) {
        snprintf(err, errlen, "--resume %s: %s", dir, why);
        return -1;
    }
    cJSON *m = cJSON_GetObjectItem(root, "matrix");
    if (!m) {
        snprintf(err, errlen, "--resume %s: meta.json is not a tmbench meta file", dir);
        cJSON_Delete(root);
        return -1;
    }
#define S(field, key)                                                                           \
    do {                                                                                        \
        cJSON *it = cJSON_GetObjectItem(m, key);                                                \
        if (cJSON_IsString(it))                                                                 \
            o->field = strdup(it->valuestring);                                                 \
    } while (0)
    S(allocators, "allocators");
    S(workloads, "workloads");
    S(threads, "threads");
    S(sizes, "sizes");
#undef S
    cJSON *it;
    cJSON *ps = cJSON_GetObjectItem(m, "params");
    o->npset = 0;
    o->pset_no_preset = true;
    for (int i = 0; i < cJSON_GetArraySize(ps) && o->npset < 32; i++) {
        cJSON *x = cJSON_GetArrayItem(ps, i);
        if (cJSON_IsString(x))
            o->pset[o->npset++] = strdup(x->valuestring);
    }
    if ((it = cJSON_GetObjectItem(m, "reps")) && cJSON_IsNumber(it))
        o->reps = it->valueint;
    if ((it = cJSON_GetObjectItem(m, "ops")) && cJSON_IsNumber(it))
        o->ops = (uint64_t)it->valuedouble;
    if ((it = cJSON_GetObjectItem(m, "duration")) && cJSON_IsNumber(it))
        o->duration = it->valuedouble;
    if ((it = cJSON_GetObjectItem(m, "measure")) && cJSON_IsString(it))
        *measure = strdup(it->valuestring);
    if ((it = cJSON_GetObjectItem(m, "against")) && cJSON_IsString(it))
        *against = strdup(it->valuestring);
    if ((it = cJSON_GetObjectItem(m, "seed")) && cJSON_IsString(it)) {
        o->seed = strtoull(it->valuestring, NULL, 10);
        o->seed_set = true;
    }
    cJSON_Delete(root);
    return 0;
}

int tb_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"preset", 1, 0, 'P'},  {"allocators", 1, 0, 'a'}, {"workloads", 1, 0, 'w'},
        {"threads", 1, 0, 't'}, {"sizes", 1, 0, 's'},      {"reps", 1, 0, 'r'},
        {"duration", 1, 0, 'd'}, {"ops", 1, 0, 'o'},        {"timeout", 1, 0, 'T'},
        {"pin", 0, 0, 'n'},     {"out", 1, 0, 'O'},        {"resume", 1, 0, 'R'},
        {"shard", 1, 0, 'S'},   {"seed", 1, 0, 'x'},       {"sample", 1, 0, 'L'},
        {"measure", 1, 0, 'M'}, {"against", 1, 0, 'A'},    {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    tb_matrix_opts o = {.reps = -1};
    run_ctx rc = {.timeout = 60, .sample = 1024};
    const char *out = NULL, *resume = NULL, *measure = NULL, *against = NULL;
    bool sample_set = false;
    char err[1024];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'P': o.preset = optarg; break;
        case 'a': o.allocators = optarg; break;
        case 'w': o.workloads = optarg; break;
        case 't': o.threads = optarg; break;
        case 's': o.sizes = optarg; break;
        case 'r':
            o.reps = (int)strtol(optarg, &end, 10);
            if (*end || o.reps < 1 || o.reps > 10000)
                return tb_usage_error("run", "--reps '%s': want a whole number from 1 to 10000", optarg);
            break;
        case 'd':
            o.duration = strtod(optarg, &end);
            if (*end || !(o.duration > 0) || o.duration > 86400)
                return tb_usage_error("run", "--duration '%s': want seconds, more than 0 (e.g. 0.5)", optarg);
            break;
        case 'o': {
            bool ok;
            o.ops = tb_parse_ops(optarg, &ok);
            if (!ok)
                return tb_usage_error("run", "--ops '%s': want a positive count (e.g. 1000000, 2M)", optarg);
            break;
        }
        case 'T':
            rc.timeout = strtod(optarg, &end);
            if (*end || !(rc.timeout > 0))
                return tb_usage_error("run", "--timeout '%s': want seconds, more than 0", optarg);
            break;
        case 'n': rc.pin = true; break;
        case 'O': out = optarg; break;
        case 'R': resume = optarg; break;
        case 'S':
            if (sscanf(optarg, "%u/%u", &o.shard_k, &o.shard_n) != 2 || o.shard_n == 0 ||
                o.shard_k < 1 || o.shard_k > o.shard_n)
                return tb_usage_error("run", "--shard '%s': want K/N with 1 <= K <= N (e.g. 2/8)", optarg);
            break;
        case 'x':
            o.seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg)
                return tb_usage_error("run", "--seed '%s': want a whole number", optarg);
            o.seed_set = true;
            break;
        case 'L':
            rc.sample = (unsigned)strtoul(optarg, &end, 10);
            sample_set = true;
            if (*end)
                return tb_usage_error("run", "--sample '%s': want a whole number (0 = off)", optarg);
            break;
        case 'p':
            if (o.npset == 32)
                return tb_usage_error("run", "too many -p settings (at most 32)");
            o.pset[o.npset++] = optarg;
            break;
        case 'M':
            if (strcmp(optarg, "time") != 0 && strcmp(optarg, "instructions") != 0)
                return tb_usage_error("run", "--measure '%s': want time or instructions", optarg);
            measure = optarg;
            break;
        case 'A': against = optarg; break;
        case 'h': run_help(); return 0;
        default: return tb_usage_error("run", "see `tmbench run --help`");
        }
    }
    if (optind < argc)
        return tb_usage_error("run", "unexpected argument '%s'", argv[optind]);
    if (o.duration > 0 && o.ops)
        return tb_usage_error("run", "--duration and --ops exclude each other: pick one");
    if (o.shard_n > 1 && !o.seed_set && !resume)
        return tb_usage_error("run", "--shard needs --seed, so that every shard slices the same order");
    if (resume) {
        if (out)
            return tb_usage_error("run", "--resume DIR writes into DIR: leave out --out");
        if (resume_opts(resume, &o, &measure, &against, err, sizeof err) != 0)
            return tb_usage_error("run", "%s", err);
        out = resume;
    }
    /* NAME=/path entries in --allocators are user libraries: register, keep the name. */
    static char alloc_list[1024];
    if (o.allocators && strchr(o.allocators, '=')) {
        char *dup = strdup(o.allocators), *save = NULL;
        size_t used = 0;
        alloc_list[0] = '\0';
        for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (strchr(t, '=')) {
                if (tb_alloc_add_user(t, err, sizeof err) != 0)
                    return tb_usage_error("run", "--allocators: %s", err);
                if (rc.nusers < 16)
                    rc.users[rc.nusers++] = strdup(t);
                *strchr(t, '=') = '\0';
            }
            used += (size_t)snprintf(alloc_list + used, sizeof alloc_list - used, "%s%s", used ? "," : "", t);
        }
        free(dup);
        o.allocators = alloc_list;
    }
    static char against_lib[4096], against_spec[4200];
    if (against) {
        if (find_pool_lib(against, against_lib, sizeof against_lib, err, sizeof err) != 0 ||
            tb_alloc_add_against(against_lib, "base", err, sizeof err) != 0)
            return tb_usage_error("run", "--against %s: %s", against, err);
        snprintf(against_spec, sizeof against_spec, "%s@base", against_lib);
        rc.against = against_spec;
    }
    if (measure && strcmp(measure, "instructions") == 0) {
        rc.instructions = true;
        if (!sample_set)
            rc.sample = 0; /* sampling adds timing code to the counted region; --sample N counts it */
        rc.perf = tb_count_perf_works();
        if (!rc.perf) {
            rc.valgrind = tb_find_in_path("valgrind");
            if (!rc.valgrind)
                return tb_usage_error("run", "--measure instructions: this kernel does not allow perf counters "
                                      "and valgrind is not installed (Debian package valgrind)");
            static char tmpl[] = "/tmp/tmbench-cg-XXXXXX";
            rc.tmpdir = mkdtemp(tmpl);
            if (!rc.tmpdir)
                return tb_usage_error("run", "cannot create a temporary directory: %s", strerror(errno));
            fprintf(stderr, "tmbench run: perf counters are not available here: counting instructions "
                            "with callgrind, for 1-thread cells only\n");
        }
    }
    tb_matrix m;
    if (tb_matrix_build(&o, &m, err, sizeof err) != 0)
        return tb_usage_error("run", "%s", err);
    rc.seed = m.seed;
    m.sample_every = rc.sample;

    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return tb_usage_error("run", "cannot find my own executable through /proc/self/exe");
    self[sl] = '\0';
    rc.self = self;

    char run_id[128], host[64] = "host";
    gethostname(host, sizeof host);
    host[strcspn(host, ".")] = '\0';
    char stamp[32];
    tb_utc_now(stamp, sizeof stamp, true);
    snprintf(run_id, sizeof run_id, "%s-%s", stamp, host);
    static char outdir[4096];
    if (!out) {
        mkdir("results", 0755);
        snprintf(outdir, sizeof outdir, "results/%s", run_id);
        out = outdir;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tmbench run: cannot create %s: %s\n", out, strerror(errno));
        return TB_EXIT_USAGE;
    }
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%s/results.csv", out);

    /* Resume: which cells are done already. Keys of finished rows, rep included. */
    size_t ndone = 0;
    char **done = NULL;
    if (resume) {
        tb_table t;
        if (tb_csv_read(csv_path, &t, err, sizeof err) == 0) {
            done = calloc(t.n + 1, sizeof *done);
            for (size_t i = 0; i < t.n; i++) {
                char key[1024];
                tb_row_key(&t.rows[i], key, sizeof key, true);
                done[ndone++] = strdup(key);
                if (i == 0 && tb_row_get(&t.rows[0], TB_COL_run_id)[0])
                    snprintf(run_id, sizeof run_id, "%s", tb_row_get(&t.rows[0], TB_COL_run_id));
            }
            tb_table_free(&t);
        }
    }
    FILE *csv = tb_csv_open_append(csv_path, err, sizeof err);
    if (!csv) {
        fprintf(stderr, "tmbench run: %s\n", err);
        return TB_EXIT_USAGE;
    }

    tb_meta_run mr = {.run_id = run_id, .out_dir = out, .argc = argc, .argv = argv, .m = &m,
                      .measure = rc.instructions ? "instructions" : "time",
                      .count_method = rc.instructions ? (rc.perf ? "perf" : "callgrind") : NULL,
                      .against = against ? against_lib : NULL};
    tb_utc_now(mr.started, sizeof mr.started, false);
    loadavg(mr.load_before);
    cJSON *versions = cJSON_CreateObject();
    if (tb_meta_write(out, &mr, err, sizeof err) != 0) {
        fprintf(stderr, "tmbench run: %s\n", err);
        return TB_EXIT_USAGE;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    bool tty = isatty(2);
    uint64_t t_start = tb_now_ns();
    size_t bad = 0, ran = 0, todo = 0;
    for (size_t i = 0; i < m.n; i++) {
        char key[1024];
        tb_row probe = {0};
        tb_row_set(&probe, TB_COL_allocator, "%s", m.cells[i].alloc->name);
        tb_row_set(&probe, TB_COL_workload, "%s", m.cells[i].wl->name);
        tb_row_set(&probe, TB_COL_params, "%s", m.cells[i].params);
        tb_row_set(&probe, TB_COL_threads, "%u", m.cells[i].threads);
        tb_row_set(&probe, TB_COL_object_size, "%zu", m.cells[i].size);
        tb_row_set(&probe, TB_COL_rep, "%u", m.cells[i].rep);
        tb_row_key(&probe, key, sizeof key, true);
        tb_row_clear(&probe);
        bool skip = false;
        for (size_t d = 0; d < ndone && !skip; d++)
            skip = strcmp(done[d], key) == 0;
        if (skip) {
            m.cells[i].threads = 0; /* marks done */
            continue;
        }
        todo++;
    }
    for (size_t i = 0; i < m.n && !interrupted; i++) {
        const tb_cell *cell = &m.cells[i];
        if (cell->threads == 0)
            continue;
        double el = (double)(tb_now_ns() - t_start) / 1e9;
        char e1[16], e2[16];
        fmt_hms(e1, sizeof e1, el);
        fmt_hms(e2, sizeof e2, ran ? el / (double)ran * (double)(todo - ran) : 0);
        if (tty)
            fprintf(stderr, "\r\033[K[%zu/%zu] %s %s t=%u %zuB rep %u  elapsed %s  eta %s", ran + 1, todo,
                    cell->alloc->name, cell->wl->name, cell->threads, cell->size, cell->rep, e1, e2);
        worker_result w;
        run_cell(&rc, &m, cell, &w);
        if (strcmp(w.status, "interrupted") == 0)
            break;
        tb_row row = {0};
        fill_row(&row, run_id, cell, &w, rc.seed + cell->rep);
        if (tb_csv_append_row(csv, &row) != 0) {
            fprintf(stderr, "\ntmbench run: cannot append to %s: %s\n", csv_path, strerror(errno));
            tb_row_clear(&row);
            break;
        }
        const char *ver = wr_get(&w, "version");
        if (ver && *ver && !cJSON_GetObjectItem(versions, cell->alloc->name))
            cJSON_AddStringToObject(versions, cell->alloc->name, ver);
        ran++;
        bool ok = strcmp(w.status, "ok") == 0 || strcmp(w.status, "skipped") == 0;
        bad += !ok;
        if (!tty || !ok)
            fprintf(stderr, "%s[%zu/%zu] %-18s %-10s t=%-2u %4zuB rep %u  %-11s %s %s%s%s%s\n", tty ? "\r\033[K" : "",
                    ran, todo, cell->alloc->name, cell->wl->name, cell->threads, cell->size, cell->rep,
                    w.status, ok ? tb_row_get(&row, TB_COL_ops_per_sec) : "",
                    ok ? "ops/s" : tb_row_get(&row, TB_COL_error), cell->variant ? "  [" : "",
                    cell->variant ? cell->params : "", cell->variant ? "]" : "");
        tb_row_clear(&row);
    }
    fclose(csv);
    if (rc.tmpdir)
        rmdir(rc.tmpdir);
    if (tty)
        fprintf(stderr, "\r\033[K");
    mr.interrupted = interrupted;
    tb_utc_now(mr.ended, sizeof mr.ended, false);
    loadavg(mr.load_after);
    char *vtext = cJSON_PrintUnformatted(versions);
    mr.versions_json = vtext;
    if (tb_meta_write(out, &mr, err, sizeof err) != 0)
        fprintf(stderr, "tmbench run: %s\n", err);
    free(vtext);
    cJSON_Delete(versions);
    fprintf(stderr, "tmbench run: %zu cells run, %zu not ok, %s; results in %s\n", ran, bad,
            interrupted ? "interrupted" : "done", out);
    printf("%s\n", out);
    if (interrupted)
        return TB_EXIT_INTERRUPTED;
    return bad ? TB_EXIT_CELLS : TB_EXIT_OK;
}
