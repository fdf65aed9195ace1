/* The worker: one cell in a fresh process. It proves which allocator serves the calls, runs the
 * workload's threads behind a start barrier, and reports one result over fd 3 as key=value
 * lines. The driver owns everything else; a crash here costs this cell only. */
#define _GNU_SOURCE
#include <getopt.h>
#include <hwloc.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tb.h"

static FILE *report;

static void put(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(report, "%s=", key);
    vfprintf(report, fmt, ap);
    fputc('\n', report);
    va_end(ap);
}

static int finish(const char *status, const char *error)
{
    put("status", "%s", status);
    if (error && *error)
        put("error", "%s", error);
    fflush(report);
    return 0;
}

/* TSC ticks per ns against CLOCK_MONOTONIC, and the cost of an empty timed region. */
static double tsc_per_ns;
static void calibrate(tb_run *r)
{
    uint64_t n0 = tb_now_ns(), c0 = tb_rdtsc();
    while (tb_now_ns() - n0 < 20000000)
        ;
    uint64_t n1 = tb_now_ns(), c1 = tb_rdtsc();
    tsc_per_ns = (double)(c1 - c0) / (double)(n1 - n0);
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = tb_rdtsc(), b = tb_rdtsc();
        if (b - a < best)
            best = b - a;
    }
    r->tsc_overhead = best;
}

typedef struct thread_arg {
    tb_run *r;
    const tb_workload *wl;
    tb_thread_out *me;
    hwloc_topology_t topo;
    hwloc_obj_t pu;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *t = p;
    if (t->pu)
        hwloc_set_cpubind(t->topo, t->pu->cpuset, HWLOC_CPUBIND_THREAD);
    t->wl->thread(t->r, t->me);
    return NULL;
}

/* Thread i's PU under --pin: spread round-robin over NUMA nodes, then over each node's PUs. */
static hwloc_obj_t pin_pu(hwloc_topology_t topo, unsigned i)
{
    int nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    if (nodes < 1)
        nodes = 1;
    hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i % (unsigned)nodes);
    unsigned k = i / (unsigned)nodes;
    if (node) {
        int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, node->cpuset, HWLOC_OBJ_PU);
        if (n > 0)
            return hwloc_get_obj_inside_cpuset_by_type(topo, node->cpuset, HWLOC_OBJ_PU, k % (unsigned)n);
    }
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    return n > 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, i % (unsigned)n) : NULL;
}

int tb_cmd_worker(int argc, char **argv)
{
    const char *alloc_name = NULL, *wl_name = NULL, *params = "";
    unsigned threads = 1, sample = 1024;
    size_t size = 64;
    uint64_t ops = 0, seed = 1;
    double duration = 0;
    bool pin = false, probe_only = false;
    tb_count_mode count = TB_COUNT_NONE;
    static const struct option opts[] = {
        {"allocator", 1, 0, 'a'}, {"workload", 1, 0, 'w'}, {"params", 1, 0, 'p'},
        {"threads", 1, 0, 't'},   {"size", 1, 0, 's'},     {"ops", 1, 0, 'o'},
        {"duration", 1, 0, 'd'},  {"sample", 1, 0, 'S'},   {"seed", 1, 0, 'x'},
        {"pin", 0, 0, 'P'},       {"user", 1, 0, 'u'},     {"against", 1, 0, 'A'},
        {"probe", 0, 0, 'v'},     {"count", 1, 0, 'C'},   {0, 0, 0, 0}};
    char err[512] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': alloc_name = optarg; break;
        case 'w': wl_name = optarg; break;
        case 'p': params = optarg; break;
        case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': size = strtoull(optarg, NULL, 10); break;
        case 'o': ops = strtoull(optarg, NULL, 10); break;
        case 'd': duration = strtod(optarg, NULL); break;
        case 'S': sample = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'x': seed = strtoull(optarg, NULL, 10); break;
        case 'P': pin = true; break;
        case 'u':
            if (tb_alloc_add_user(optarg, err, sizeof err) != 0)
                return tb_usage_error("worker", "%s", err);
            break;
        case 'A': {
            char *at = strrchr(optarg, '@');
            if (!at || tb_alloc_add_against(strndup(optarg, (size_t)(at - optarg)), at + 1, err, sizeof err))
                return tb_usage_error("worker", "--against %s: %s", optarg, err);
            break;
        }
        case 'v': probe_only = true; break;
        case 'C':
            count = strcmp(optarg, "perf") == 0 ? TB_COUNT_PERF
                    : strcmp(optarg, "callgrind") == 0 ? TB_COUNT_CALLGRIND : TB_COUNT_NONE;
            break;
        default: return TB_EXIT_USAGE;
        }
    }
    report = fdopen(3, "w");
    if (!report)
        report = stdout;
    const tb_allocator *a = alloc_name ? tb_alloc_find(alloc_name) : NULL;
    if (!a)
        return finish("failed", "worker: unknown allocator"), 0;

    tb_heap heap;
    int rc = tb_heap_open(a, size, &heap, err, sizeof err);
    char version[128] = "";
    tb_alloc_version(a, version, sizeof version);
    put("version", "%s", version);
    if (rc == -2)
        return finish("unavailable", err);
    if (rc != 0)
        return finish("failed", err);
    if (probe_only)
        return finish("ok", NULL);

    const tb_workload *wl = wl_name ? tb_workload_find(wl_name) : NULL;
    if (!wl)
        return finish("failed", "worker: unknown workload");
    if (a->same_thread_only && wl->cross_thread)
        return finish("skipped", "this allocator is only correct when the allocating thread frees; "
                                 "this workload frees across threads");

    static tb_run r;
    r.heap = &heap;
    r.threads = threads;
    r.size = size;
    r.sample_every = sample;
    r.seed = seed;
    r.mark_rss_kib = -1;
    r.mark_pool_bytes = -1;
    r.count_mode = count;
    static char pbuf[256]; /* r.pval points into it for the whole run */
    snprintf(pbuf, sizeof pbuf, "%s", params);
    if (tb_params_parse(wl, pbuf, &r, err, sizeof err) != 0)
        return finish("failed", err);
    r.ops_per_thread = duration > 0 ? 0 : (ops + threads - 1) / threads;
    r.duration = duration;
    if (duration <= 0 && ops == 0)
        r.ops_per_thread = 1;
    int s = wl->setup ? wl->setup(&r, err, sizeof err) : 0;
    if (s > 0)
        return finish("skipped", err);
    if (s < 0)
        return finish("failed", err);
    calibrate(&r);

    r.out = aligned_alloc(128, sizeof(tb_thread_out) * threads);
    memset(r.out, 0, sizeof(tb_thread_out) * threads);
    for (unsigned i = 0; i < threads; i++) {
        r.out[i].tid = i;
        r.out[i].perf_fd = -1;
        r.out[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ull + i * 0xD1B54A32D192ED03ull + 1;
        /* Start each sampler at a different phase so threads do not time the same op index. */
        r.out[i].a_left = sample ? 1 + (r.out[i].rng % sample) : UINT64_MAX;
        r.out[i].f_left = sample ? 1 + ((r.out[i].rng >> 20) % sample) : UINT64_MAX;
    }
    pthread_barrier_init(&r.start, NULL, threads + 1);
    long base_rss = tb_rss_kib();

    hwloc_topology_t topo = NULL;
    if (pin) {
        hwloc_topology_init(&topo);
        hwloc_topology_load(topo);
    }
    if (wl->drive) {
        wl->drive(&r);
    } else {
        pthread_t *tids = calloc(threads, sizeof *tids);
        thread_arg *args = calloc(threads, sizeof *args);
        for (unsigned i = 0; i < threads; i++) {
            args[i] = (thread_arg){&r, wl, &r.out[i], topo, pin ? pin_pu(topo, i) : NULL};
            if (pthread_create(&tids[i], NULL, thread_main, &args[i]) != 0)
                return finish("failed", "pthread_create failed");
        }
        pthread_barrier_wait(&r.start);
        if (duration > 0) {
            struct timespec ts = {(time_t)duration, (long)((duration - floor(duration)) * 1e9)};
            nanosleep(&ts, NULL);
            atomic_store(&r.stop, 1);
        }
        for (unsigned i = 0; i < threads; i++)
            pthread_join(tids[i], NULL);
    }

    uint64_t t0 = UINT64_MAX, t1 = 0, total = 0, instructions = 0;
    bool counted = count == TB_COUNT_PERF;
    static tb_hist ah, fh;
    for (unsigned i = 0; i < threads; i++) {
        if (r.out[i].t0 && r.out[i].t0 < t0)
            t0 = r.out[i].t0;
        if (r.out[i].t1 > t1)
            t1 = r.out[i].t1;
        total += r.out[i].ops;
        counted &= r.out[i].instructions != UINT64_MAX;
        instructions += r.out[i].instructions;
        tb_hist_merge(&ah, &r.out[i].alloc_lat);
        tb_hist_merge(&fh, &r.out[i].free_lat);
    }
    tb_heap_stats st = {0};
    bool have_stats = heap.stats && heap.stats(heap.ctx, &st) == 0;
    if (wl->teardown)
        wl->teardown(&r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long end_rss = tb_rss_kib();

    double seconds = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    put("ops", "%" PRIu64, total);
    put("seconds", "%.9f", seconds);
    if (seconds > 0 && total > 0) {
        put("ops_per_sec", "%.1f", (double)total / seconds);
        put("ns_per_op", "%.4f", seconds * threads * 1e9 / (double)total);
    }
    if (ah.n) {
        put("lat_p50_ns", "%.1f", tb_hist_quantile(&ah, 0.50) / tsc_per_ns);
        put("lat_p99_ns", "%.1f", tb_hist_quantile(&ah, 0.99) / tsc_per_ns);
        put("lat_p999_ns", "%.1f", tb_hist_quantile(&ah, 0.999) / tsc_per_ns);
    }
    if (fh.n) {
        put("free_p50_ns", "%.1f", tb_hist_quantile(&fh, 0.50) / tsc_per_ns);
        put("free_p99_ns", "%.1f", tb_hist_quantile(&fh, 0.99) / tsc_per_ns);
        put("free_p999_ns", "%.1f", tb_hist_quantile(&fh, 0.999) / tsc_per_ns);
    }
    if (counted && total > 0) {
        put("instructions_per_op", "%.4f", (double)instructions / (double)total);
        put("count_method", "perf");
    }
    put("peak_rss_kib", "%ld", ru.ru_maxrss);
    put("base_rss_kib", "%ld", base_rss);
    put("end_rss_kib", "%ld", end_rss);
    if (r.mark_rss_kib >= 0)
        put("mark_rss_kib", "%ld", r.mark_rss_kib);
    if (r.mark_pool_bytes >= 0)
        put("mark_pool_bytes", "%lld", r.mark_pool_bytes);
    if (have_stats) {
        put("pool_bytes_reserved", "%" PRIu64, st.bytes_reserved);
        put("lock_waits", "%" PRIu64, st.lock_waits);
        put("cache_hits", "%" PRIu64, st.cache_hits);
        put("cache_misses", "%" PRIu64, st.cache_misses);
        put("remote_frees", "%" PRIu64, st.remote_frees);
    }
    if (atomic_load(&r.corrupt))
        return finish("corrupt", r.corrupt_msg);
    if (total == 0)
        return finish("failed", "the workload did no operations (allocation failed?)");
    heap.destroy(heap.ctx);
    return finish("ok", NULL);
}
