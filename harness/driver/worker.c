/* The worker: one cell in a fresh process. It proves which allocator serves the calls, runs the
 * workload's threads behind a start barrier, and reports one result over fd 3 as column=value
 * lines (proto.h). The driver owns everything else; a crash here costs this cell only. */
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

#include "cli.h"
#include "meta.h"
#include "stats.h"
#include "proto.h"
#include "tb_alloc.h"
#include "workload.h"

static FILE *report;

#define put(col, ...) tb_reply_put(report, TB_COL_##col, __VA_ARGS__)

static int finish(tb_status status, const char *error)
{
    put(status, "%s", tb_status_name(status));
    if (error && *error)
        put(error, "%s", error);
    fflush(report);
    return 0;
}

/* TSC ticks per ns against CLOCK_MONOTONIC, the cost of an empty timed region, and the timer's
 * resolution: the smallest step between two reads that differ. On the 2-core KVM guest the TSC
 * advances in steps of 24-25 ticks (about 10 ns), so a call faster than that reads as 0 once
 * the empty region is subtracted. */
static double tsc_per_ns, resolution_ns;
static uint64_t tsc_overhead;
static void calibrate(void)
{
    uint64_t n0 = tb_now_ns(), c0 = tb_rdtsc();
    while (tb_now_ns() - n0 < 20000000)
        ;
    uint64_t n1 = tb_now_ns(), c1 = tb_rdtsc();
    tsc_per_ns = (double)(c1 - c0) / (double)(n1 - n0);
    uint64_t best = UINT64_MAX, step = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = tb_rdtsc(), b = tb_rdtsc();
        if (b - a < best)
            best = b - a;
        while ((b = tb_rdtsc()) == a)
            ;
        if (b - a < step)
            step = b - a;
    }
    tsc_overhead = best;
    resolution_ns = (double)step / tsc_per_ns;
}

/* Batched sampling, for calls faster than the timer: after the cell, on the worker's main
 * thread, BATCHES times BATCH_CALLS allocations in a row, then as many frees, each run timed
 * whole, so that one reading spans hundreds of timer steps. The figure is the median over the
 * batches of the per-call mean: a batch mean of back-to-back calls from that state, not a single
 * call's latency and not its tail. */
enum { BATCH_CALLS = 64, BATCHES = 256 }; /* 64 fit in every cache tier measured: the batch stays on the fast path */

static void batch_sample(const tb_heap *h)
{
    if (!h->alloc)
        return; /* a many-size heap: a batch of one size says nothing of many */
    static void *objs[BATCH_CALLS];
    double a[BATCHES], f[BATCHES];
    int n = 0;
    for (int b = 0; b < BATCHES; b++) {
        uint64_t t0 = tb_rdtsc();
        int k = 0;
        while (k < BATCH_CALLS && (objs[k] = h->alloc(h->ctx)) != NULL)
            k++;
        uint64_t t1 = tb_rdtsc();
        for (int i = 0; i < k; i++)
            h->free(h->ctx, objs[i]);
        uint64_t t2 = tb_rdtsc();
        if (k < BATCH_CALLS)
            return; /* out of memory: no figure rather than a short batch's */
        a[n] = (double)(t1 - t0) / tsc_per_ns / BATCH_CALLS;
        f[n++] = (double)(t2 - t1) / tsc_per_ns / BATCH_CALLS;
    }
    put(alloc_batch_ns, "%.2f", tb_median(a, (size_t)n));
    put(free_batch_ns, "%.2f", tb_median(f, (size_t)n));
}

/* A sampled percentile below this is a bound, not a value: two timer steps. */
#define RESOLVED_STEPS 2

static void put_latency(int col, double ns, double bound)
{
    if (ns >= bound)
        tb_reply_put(report, col, "%.1f", ns);
    /* else empty: below the bound; lat_bound_ns says where it lies */
}

typedef struct thread_arg {
    tb_run *r;
    const tb_workload *wl;
    tb_thread_out *me;
    hwloc_topology_t topo;
    hwloc_obj_t pu;
    int cpu; /* --cpus: the OS CPU this thread keeps to, or -1 */
} thread_arg;

/* What disturbed a thread: involuntary context switches (another task took its CPU) and CPU
 * migrations, from getrusage and the scheduler's /proc/thread-self/sched, read as it ends. */
static void thread_noise(tb_thread_out *me)
{
    struct rusage ru;
    me->invol_switches = getrusage(RUSAGE_THREAD, &ru) == 0 ? (uint64_t)ru.ru_nivcsw : UINT64_MAX;
    me->migrations = UINT64_MAX;
    me->cpu_end = sched_getcpu();
    FILE *f = fopen("/proc/thread-self/sched", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "se.nr_migrations : %llu", &v) == 1) {
            me->migrations = v;
            break;
        }
    }
    if (f)
        fclose(f);
}

/* Keeps the calling thread to its PU (--pin) or its CPU (--cpus), when it has one. */
static void place_thread(hwloc_topology_t topo, hwloc_obj_t pu, int cpu)
{
    if (pu)
        hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
}

static void *thread_main(void *p)
{
    thread_arg *t = p;
    place_thread(t->topo, t->pu, t->cpu);
    t->wl->thread(t->r, t->me);
    thread_noise(t->me);
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

/* What the driver asked for (proto.h's options). */
typedef struct worker_opts {
    const char *alloc_name, *wl_name, *params;
    unsigned threads, sample;
    size_t size;
    tb_sizes sizes; /* --sizes: a many-size cell; fixed (from --size) when absent */
    uint64_t ops, seed;
    double duration;
    bool pin, probe_only;
    tb_count_mode count;
    int cpus[64]; /* --cpus: thread i keeps to cpus[i % ncpus] (a duet's side) */
    int ncpus;
    const char *partner; /* --partner: the other side of an interleaved cell */
    double slice;        /* --slice: its slices' length in seconds */
} worker_opts;

static int parse_flags(int argc, char **argv, worker_opts *o)
{
    char err[512] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", tb_worker_longopts, NULL)) != -1) {
        switch (c - TB_WOPT_VAL(0)) {
        case TB_WOPT_allocator: o->alloc_name = optarg; break;
        case TB_WOPT_workload: o->wl_name = optarg; break;
        case TB_WOPT_params: o->params = optarg; break;
        case TB_WOPT_threads: o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case TB_WOPT_size: o->size = strtoull(optarg, NULL, 10); break;
        case TB_WOPT_sizes:
            if (tb_sizes_parse(optarg, &o->sizes, err, sizeof err) != 0)
                return tb_usage_error("worker", "--sizes %s", err);
            break;
        case TB_WOPT_ops: o->ops = strtoull(optarg, NULL, 10); break;
        case TB_WOPT_duration: o->duration = strtod(optarg, NULL); break;
        case TB_WOPT_sample: o->sample = (unsigned)strtoul(optarg, NULL, 10); break;
        case TB_WOPT_seed: o->seed = strtoull(optarg, NULL, 10); break;
        case TB_WOPT_pin: o->pin = true; break;
        case TB_WOPT_user:
            if (tb_alloc_add_user(optarg, err, sizeof err) != 0)
                return tb_usage_error("worker", "%s", err);
            break;
        case TB_WOPT_against: {
            char *at = strrchr(optarg, '@');
            if (!at || tb_alloc_add_against(strndup(optarg, (size_t)(at - optarg)), at + 1, err, sizeof err))
                return tb_usage_error("worker", "--against %s: %s", optarg, err);
            break;
        }
        case TB_WOPT_probe: o->probe_only = true; break;
        case TB_WOPT_partner: o->partner = optarg; break;
        case TB_WOPT_slice: o->slice = strtod(optarg, NULL); break;
        case TB_WOPT_cpus:
            for (char *q = optarg; *q && o->ncpus < 64;) {
                o->cpus[o->ncpus++] = (int)strtol(q, &q, 10);
                q += *q == ',';
            }
            break;
        case TB_WOPT_count:
            o->count = strcmp(optarg, "perf") == 0 ? TB_COUNT_PERF
                       : strcmp(optarg, "callgrind") == 0 ? TB_COUNT_CALLGRIND : TB_COUNT_NONE;
            break;
        default: return TB_EXIT_USAGE;
        }
    }
    return -1;
}

/* Fills r for the cell and runs the workload's setup. The status that ends the cell early, or
 * TB_STATUS_NONE to go on. */
static tb_status setup_run(const worker_opts *o, const tb_workload *wl, tb_heap *heap, tb_run *r,
                           char *err, size_t errlen)
{
    r->heap = heap;
    r->wl = wl;
    r->threads = o->threads;
    r->size = o->size;
    r->sizes = o->sizes;
    r->sized = o->sizes.dist != TB_SIZE_FIXED;
    r->size_span = (uint64_t)o->sizes.hi - o->sizes.lo + 1;
    if (o->sizes.dist == TB_SIZE_LOG) {
        static uint32_t table[TB_SIZE_LOG_STEPS]; /* the cell's one table, for every slice */
        tb_sizes_log_table(&o->sizes, table);
        r->size_table = table;
    }
    r->sample_every = o->sample;
    r->mark_rss_kib = -1;
    r->mark_pool_bytes = -1;
    r->mark_live_bytes = -1;
    r->count_mode = o->count;
    static char pbuf[256]; /* r->pval points into it for the whole run */
    snprintf(pbuf, sizeof pbuf, "%s", o->params);
    if (tb_params_parse(wl, pbuf, r, err, errlen) != 0)
        return TB_ST_failed;
    r->ops_per_thread = o->duration > 0 ? 0 : (o->ops + o->threads - 1) / o->threads;
    r->duration = o->duration;
    if (o->duration <= 0 && o->ops == 0)
        r->ops_per_thread = 1;
    r->tsc_overhead = tsc_overhead;
    r->out = aligned_alloc(128, sizeof(tb_thread_out) * o->threads);
    memset(r->out, 0, sizeof(tb_thread_out) * o->threads);
    for (unsigned i = 0; i < o->threads; i++) {
        tb_thread_out *t = &r->out[i];
        t->tid = i;
        t->perf_fd = -1;
        t->rng = (o->seed + 1) * 0x9E3779B97F4A7C15ull + i * 0xD1B54A32D192ED03ull + 1;
        t->cpu_end = -1;
        t->size_rng = (o->seed + 7) * 0xBF58476D1CE4E5B9ull + i * 0x94D049BB133111EBull + 1;
        /* Start each sampler at a different phase so threads do not time the same op index. */
        t->a_left = o->sample ? 1 + (t->rng % o->sample) : UINT64_MAX;
        t->f_left = o->sample ? 1 + ((t->rng >> 20) % o->sample) : UINT64_MAX;
    }
    int s = wl->setup ? wl->setup(r, err, errlen) : 0; /* after out: a setup may draw sizes */
    if (s > 0)
        return TB_ST_skipped;
    if (s < 0)
        return TB_ST_failed;
    pthread_barrier_init(&r->start, NULL, o->threads + 1);
    return TB_STATUS_NONE;
}

/* --pin's topology, loaded once (an interleaved cell runs larson's driver once a slice). */
static hwloc_topology_t pin_topology(const worker_opts *o)
{
    static hwloc_topology_t topo;
    if (o->pin && !topo) {
        hwloc_topology_init(&topo);
        hwloc_topology_load(topo);
    }
    return topo;
}

/* The cell's threads behind the start barrier, or the workload's own driver. false when a
 * thread could not be started. */
static bool run_threads(const worker_opts *o, const tb_workload *wl, tb_run *r)
{
    hwloc_topology_t topo = pin_topology(o);
    if (wl->drive) {
        wl->drive(r);
        return true;
    }
    pthread_t *tids = calloc(o->threads, sizeof *tids);
    thread_arg *args = calloc(o->threads, sizeof *args);
    for (unsigned i = 0; i < o->threads; i++) {
        args[i] = (thread_arg){r, wl, &r->out[i], topo, o->pin ? pin_pu(topo, i) : NULL,
                               o->ncpus ? o->cpus[i % (unsigned)o->ncpus] : -1};
        if (pthread_create(&tids[i], NULL, thread_main, &args[i]) != 0)
            return false; /* the threads started wait at the barrier, on args: the process ends with the cell */
    }
    pthread_barrier_wait(&r->start);
    if (o->duration > 0) {
        struct timespec ts = {(time_t)o->duration, (long)((o->duration - floor(o->duration)) * 1e9)};
        nanosleep(&ts, NULL);
        atomic_store(&r->stop, 1);
    }
    for (unsigned i = 0; i < o->threads; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    free(args);
    return true;
}

/* An interleaved cell's threads: started once and kept for every slice of both sides, so that a
 * slice times the workload, not thread creation and the scheduler placing new threads (fresh
 * threads per 5 ms slice made 2-thread churn slices range 106-204 Mops/s on the 2-core VM), and
 * a thread's cache in a pool persists across slices as it would in a program. Each slice, the
 * main thread sets up the run and releases the crew; each member runs the workload's thread
 * function on its out slot and reports back. */
typedef struct crew {
    unsigned n;
    pthread_t *tids;
    struct crew_member *members;
    pthread_barrier_t go, done;
    tb_run *r;
    const tb_workload *wl;
    bool quit;
} crew;

typedef struct crew_member {
    crew *c;
    unsigned i;
    int cpu;
    hwloc_obj_t pu;
    hwloc_topology_t topo;
} crew_member;

static void *crew_main(void *p)
{
    crew_member *m = p;
    crew *c = m->c;
    place_thread(m->topo, m->pu, m->cpu);
    for (;;) {
        pthread_barrier_wait(&c->go);
        if (c->quit)
            break;
        tb_thread_out *me = &c->r->out[m->i];
        tb_thread_out before;
        thread_noise(&before);
        c->wl->thread(c->r, me);
        thread_noise(me); /* the counters are the thread's since it began: this slice's is the rise */
        me->invol_switches = me->invol_switches == UINT64_MAX || before.invol_switches == UINT64_MAX
                                 ? UINT64_MAX : me->invol_switches - before.invol_switches;
        me->migrations = me->migrations == UINT64_MAX || before.migrations == UINT64_MAX
                             ? UINT64_MAX : me->migrations - before.migrations;
        pthread_barrier_wait(&c->done);
    }
    return NULL;
}

static bool crew_start(crew *c, const worker_opts *o, const tb_workload *wl, hwloc_topology_t topo)
{
    memset(c, 0, sizeof *c);
    c->n = o->threads;
    c->wl = wl;
    c->tids = calloc(c->n, sizeof *c->tids);
    c->members = calloc(c->n, sizeof *c->members);
    if (!c->tids || !c->members)
        return false;
    pthread_barrier_init(&c->go, NULL, c->n + 1);
    pthread_barrier_init(&c->done, NULL, c->n + 1);
    for (unsigned i = 0; i < c->n; i++) {
        c->members[i] = (crew_member){c, i, o->ncpus ? o->cpus[i % (unsigned)o->ncpus] : -1,
                                      o->pin ? pin_pu(topo, i) : NULL, topo};
        if (pthread_create(&c->tids[i], NULL, crew_main, &c->members[i]) != 0)
            return false; /* the members started wait at go: the process ends with the cell */
    }
    return true;
}

/* One slice on the crew: as run_threads, with the crew in place of new threads. */
static void crew_run(crew *c, const worker_opts *o, tb_run *r)
{
    c->r = r;
    pthread_barrier_wait(&c->go);
    pthread_barrier_wait(&r->start);
    if (o->duration > 0) {
        struct timespec ts = {(time_t)o->duration, (long)((o->duration - floor(o->duration)) * 1e9)};
        nanosleep(&ts, NULL);
        atomic_store(&r->stop, 1);
    }
    pthread_barrier_wait(&c->done);
}

static void crew_stop(crew *c)
{
    c->quit = true;
    pthread_barrier_wait(&c->go);
    for (unsigned i = 0; i < c->n; i++)
        pthread_join(c->tids[i], NULL);
    pthread_barrier_destroy(&c->go);
    pthread_barrier_destroy(&c->done);
    free(c->tids);
    free(c->members);
}

/* What a cell's threads did, summed over one timed run or over an interleaved side's slices. */
typedef struct tally {
    uint64_t ops, instructions;
    double seconds;          /* the timed regions' lengths, summed over slices */
    bool counted;            /* perf counted every thread's region */
    tb_hist ah, fh;
    uint64_t sw, mig, faults;
    bool have_sw, have_mig, have_faults;
    unsigned slices;
    cpu_set_t cpus;          /* the CPUs the threads ended on */
    bool have_cpus;
} tally;

static void tally_init(tally *t, const worker_opts *o)
{
    memset(t, 0, sizeof *t);
    t->counted = o->count == TB_COUNT_PERF;
    t->have_sw = t->have_mig = t->have_cpus = t->have_faults = true;
    CPU_ZERO(&t->cpus);
}

/* Adds one timed run's threads: its region is from the first thread's start to the last one's end. */
static void tally_add(tally *t, const tb_run *r)
{
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (unsigned i = 0; i < r->threads; i++) {
        const tb_thread_out *o = &r->out[i];
        if (o->t0 && o->t0 < t0)
            t0 = o->t0;
        if (o->t1 > t1)
            t1 = o->t1;
        t->ops += o->ops;
        t->counted &= o->instructions != UINT64_MAX;
        t->instructions += o->instructions;
        tb_hist_merge(&t->ah, &o->alloc_lat);
        tb_hist_merge(&t->fh, &o->free_lat);
        t->have_sw &= o->invol_switches != UINT64_MAX;
        t->have_mig &= o->migrations != UINT64_MAX;
        t->sw += o->invol_switches;
        t->mig += o->migrations;
        t->have_faults &= o->faults_seen && !o->faults_bad;
        t->faults += o->faults;
        t->have_cpus &= o->cpu_end >= 0;
        if (o->cpu_end >= 0 && o->cpu_end < CPU_SETSIZE)
            CPU_SET(o->cpu_end, &t->cpus);
    }
    t->seconds += t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    t->slices++;
}

/* The figures of a tally: throughput, latency, instructions, the noise its threads met. */
static void put_tally(const tally *t, unsigned threads)
{
    put(ops, "%" PRIu64, t->ops);
    put(seconds, "%.9f", t->seconds);
    if (t->seconds > 0 && t->ops > 0) {
        put(ops_per_sec, "%.1f", (double)t->ops / t->seconds);
        put(ns_per_op, "%.4f", t->seconds * threads * 1e9 / (double)t->ops);
    }
    double bound = RESOLVED_STEPS * resolution_ns;
    put(timer_resolution_ns, "%.2f", resolution_ns);
    if (t->ah.n || t->fh.n)
        put(lat_bound_ns, "%.1f", bound);
    if (t->ah.n) {
        put_latency(TB_COL_lat_p50_ns, tb_hist_quantile(&t->ah, 0.50) / tsc_per_ns, bound);
        put_latency(TB_COL_lat_p99_ns, tb_hist_quantile(&t->ah, 0.99) / tsc_per_ns, bound);
        put_latency(TB_COL_lat_p999_ns, tb_hist_quantile(&t->ah, 0.999) / tsc_per_ns, bound);
    }
    if (t->fh.n) {
        put_latency(TB_COL_free_p50_ns, tb_hist_quantile(&t->fh, 0.50) / tsc_per_ns, bound);
        put_latency(TB_COL_free_p99_ns, tb_hist_quantile(&t->fh, 0.99) / tsc_per_ns, bound);
        put_latency(TB_COL_free_p999_ns, tb_hist_quantile(&t->fh, 0.999) / tsc_per_ns, bound);
    }
    if (t->counted && t->ops > 0) {
        put(instructions_per_op, "%.4f", (double)t->instructions / (double)t->ops);
        put(count_method, "perf");
    }
    if (t->have_sw)
        put(invol_switches, "%" PRIu64, t->sw);
    if (t->have_mig)
        put(cpu_migrations, "%" PRIu64, t->mig);
    if (t->have_faults)
        put(page_faults, "%" PRIu64, t->faults);
    /* With no migration, where the threads ran: fewer CPUs than threads (and than the machine
     * has) means the scheduler shared one between them, and a cross-thread workload then passes
     * no object between cores (xmalloc on the 2-core VM: 3x faster for every allocator). */
    if (t->have_cpus && t->slices == 1)
        put(cpus_used, "%d", CPU_COUNT(&t->cpus));
}

static void put_pool_stats(const tb_heap *heap)
{
    tb_heap_stats st = {0};
    if (!heap->stats || heap->stats(heap->ctx, &st) != 0)
        return;
    put(pool_bytes_reserved, "%" PRIu64, st.bytes_reserved);
    put(lock_waits, "%" PRIu64, st.lock_waits);
    put(cache_hits, "%" PRIu64, st.cache_hits);
    put(cache_misses, "%" PRIu64, st.cache_misses);
    put(remote_frees, "%" PRIu64, st.remote_frees);
}

/* What the heap held at the workload's mark per byte the threads had asked for: RSS grown
 * since base_rss (read after the workload's setup, which makes and touches footprint's own
 * arrays), and (pools) bytes reserved. Internal fragmentation, per-class and per-thread slack
 * and the allocator's metadata all show in them. */
static void put_mark_ratios(const tb_run *r, long base_rss)
{
    if (r->mark_live_bytes <= 0)
        return;
    put(mark_live_bytes, "%lld", r->mark_live_bytes);
    if (r->mark_rss_kib > 0 && base_rss >= 0 && r->mark_rss_kib > base_rss)
        put(mark_rss_ratio, "%.4f", (double)(r->mark_rss_kib - base_rss) * 1024 / (double)r->mark_live_bytes);
    if (r->mark_pool_bytes > 0)
        put(mark_reserve_ratio, "%.4f", (double)r->mark_pool_bytes / (double)r->mark_live_bytes);
}

static void put_steal(const unsigned long long cpu0[2], const unsigned long long cpu1[2])
{
    if (cpu1[0] > cpu0[0])
        put(steal_pct, "%.2f", 100.0 * (double)(cpu1[1] - cpu0[1]) / (double)(cpu1[0] - cpu0[0]));
}

/* How a cell's threads ended: TB_STATUS_NONE when well, else the status, with the message. */
static tb_status run_outcome(const tb_run *r, uint64_t ops, char *err, size_t errlen)
{
    if (atomic_load(&r->corrupt)) {
        snprintf(err, errlen, "%s", r->corrupt_msg);
        return TB_ST_corrupt;
    }
    if (atomic_load(&r->oom)) {
        snprintf(err, errlen, "an allocation returned NULL (out of memory) after %llu operations: the cell "
                              "stopped early, its figures describe less than it was to do", (unsigned long long)ops);
        return TB_ST_failed;
    }
    if (ops == 0) {
        snprintf(err, errlen, "the workload did no operations (allocation failed?)");
        return TB_ST_failed;
    }
    return TB_STATUS_NONE;
}

/* One cell, one timed run: the usual worker. */
static int run_single(const worker_opts *o, const tb_workload *wl, tb_heap *heap)
{
    char err[512] = "";
    static tb_run r;
    tb_status early = setup_run(o, wl, heap, &r, err, sizeof err);
    if (early != TB_STATUS_NONE)
        return finish(early, err);
    long base_rss = tb_rss_kib();
    unsigned long long cpu0[2], cpu1[2];
    tb_cpu_times(cpu0);
    for (unsigned i = 0; i < o->threads; i++)
        r.out[i].invol_switches = r.out[i].migrations = UINT64_MAX; /* a workload's own driver leaves them unknown */
    if (!run_threads(o, wl, &r))
        return finish(TB_ST_failed, "pthread_create failed");
    tb_cpu_times(cpu1);
    put_steal(cpu0, cpu1);
    static tally t;
    tally_init(&t, o);
    tally_add(&t, &r);
    put_tally(&t, o->threads);
    put_pool_stats(heap);
    if (wl->teardown)
        wl->teardown(&r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    put(peak_rss_kib, "%ld", ru.ru_maxrss);
    put(base_rss_kib, "%ld", base_rss);
    put(end_rss_kib, "%ld", tb_rss_kib());
    if (r.mark_rss_kib >= 0)
        put(mark_rss_kib, "%ld", r.mark_rss_kib);
    if (r.mark_pool_bytes >= 0)
        put(mark_pool_bytes, "%lld", r.mark_pool_bytes);
    put_mark_ratios(&r, base_rss);
    tb_status st = run_outcome(&r, t.ops, err, sizeof err);
    if (st == TB_STATUS_NONE && o->sample && o->count == TB_COUNT_NONE)
        batch_sample(heap);
    if (st != TB_STATUS_NONE)
        return finish(st, err);
    heap->destroy(heap->ctx);
    return finish(TB_ST_ok, NULL);
}

/* --partner: an interleaved cell. Both sides' heaps live in this one process and persist for
 * the whole cell; each side's --duration is cut into slices of about --slice seconds, run in
 * ABBA order (A B B A, again and again) so that a linear drift of the machine falls equally on
 * both (randomized multiple interleaved trials: Abedi and Brecht, ICPE 2017). A slice is the
 * workload's whole timed run (setup, threads, teardown): every object a slice allocates is freed
 * before the next slice starts, so no object of one side is ever in the other side's hands.
 * A first slice per side, timed by the clock, warms its pool and sets the work of the timed
 * slices (the same on both sides); each side's figures are its timed slices' sums. */
typedef struct side {
    const tb_allocator *a;
    tb_heap heap;
    tally t;
    double *quad_rate; /* ops/s of its two slices in each ABBA quad */
    double quad_ops, quad_seconds;
    tb_status st;     /* TB_STATUS_NONE while well */
    char err[512];
} side;

/* One slice of side s: for `seconds` (the warm-up) or, when ops is not 0, for that many ops
 * (the timed slices: no timer wakes the main thread while the crew works). On the crew, or on
 * the workload's own driver (larson), which makes its threads itself. */
static void run_slice(const worker_opts *o, const tb_workload *wl, crew *c, side *s, uint64_t seed, double seconds,
                      uint64_t ops, bool count)
{
    static tb_run r;
    memset(&r, 0, sizeof r);
    worker_opts so = *o;
    so.duration = ops ? 0 : seconds;
    so.ops = ops;
    so.seed = seed;
    tb_status early = setup_run(&so, wl, &s->heap, &r, s->err, sizeof s->err);
    if (early != TB_STATUS_NONE) {
        s->st = early;
        return;
    }
    for (unsigned i = 0; i < so.threads; i++)
        r.out[i].invol_switches = r.out[i].migrations = UINT64_MAX;
    if (wl->drive) {
        if (!run_threads(&so, wl, &r)) {
            s->st = TB_ST_failed;
            snprintf(s->err, sizeof s->err, "pthread_create failed");
            return;
        }
    } else {
        crew_run(c, &so, &r);
    }
    if (count) {
        double before_s = s->t.seconds;
        uint64_t before_ops = s->t.ops;
        tally_add(&s->t, &r);
        s->quad_ops += (double)(s->t.ops - before_ops);
        s->quad_seconds += s->t.seconds - before_s;
    }
    if (wl->teardown)
        wl->teardown(&r);
    uint64_t done = 0;
    for (unsigned i = 0; i < so.threads; i++)
        done += r.out[i].ops;
    /* a warm-up that the clock ended before any op (a loaded machine, a 2 ms slice) is tried again
     * by the caller, longer; anything else without ops is the cell's failure */
    bool warm_empty = !ops && done == 0 && !atomic_load(&r.corrupt) && !atomic_load(&r.oom);
    if (!warm_empty)
        s->st = run_outcome(&r, done, s->err, sizeof s->err);
    pthread_barrier_destroy(&r.start);
    free(r.out);
}

static void put_side(const worker_opts *o, side *s, bool version_said, const unsigned long long cpu0[2],
                     const unsigned long long cpu1[2])
{
    char version[128] = "";
    if (s->a->version && !version_said)
        s->a->version(s->a, version, sizeof version);
    if (!version_said)
        put(allocator_version, "%s", version);
    if (s->st == TB_STATUS_NONE) {
        put_tally(&s->t, o->threads);
        put(slices, "%u", s->t.slices);
        put(slice_ms, "%.3f", s->t.slices ? s->t.seconds * 1e3 / s->t.slices : 0);
        size_t nq = s->t.slices / 2;
        double med = nq && s->quad_rate ? tb_median(s->quad_rate, nq) : 0;
        if (med > 0)
            put(slice_ops_per_sec, "%.1f", med);
        put_steal(cpu0, cpu1);
        put_pool_stats(&s->heap);
        if (o->sample && o->count == TB_COUNT_NONE)
            batch_sample(&s->heap);
        /* RSS is the process's, both sides' together: not either side's figure, so not given */
    }
    finish(s->st == TB_STATUS_NONE ? TB_ST_ok : s->st, s->err);
}

static int run_interleaved(const worker_opts *o, const tb_workload *wl, side sd[2])
{
    if (!(o->slice > 0) || !(o->duration > 0)) {
        finish(TB_ST_failed, "worker: --partner needs --slice and --duration");
        tb_reply_next_side(report);
        return finish(TB_ST_failed, "worker: --partner needs --slice and --duration");
    }
    /* quads of ABBA: each side gets 2 slices a quad, as many as its --duration holds */
    unsigned quads = (unsigned)lround(o->duration / o->slice / 2);
    quads = quads ? quads : 1;
    for (int i = 0; i < 2; i++)
        sd[i].quad_rate = calloc(quads, sizeof *sd[i].quad_rate); /* NULL: no median, the totals stand */
    static crew c;
    if (!wl->drive && !crew_start(&c, o, wl, pin_topology(o))) {
        finish(TB_ST_failed, "pthread_create failed");
        tb_reply_next_side(report);
        return finish(TB_ST_failed, "pthread_create failed");
    }
    /* The warm-up: a slice's time on each side. Its op counts set the timed slices' length, the
     * same work on both sides (their geometric mean): a slice of fixed work needs no timer. */
    unsigned long long cpu0[2], cpu1[2];
    for (int i = 0; i < 2 && sd[0].st == TB_STATUS_NONE && sd[1].st == TB_STATUS_NONE; i++)
        for (double secs = o->slice; sd[i].t.ops == 0 && sd[i].st == TB_STATUS_NONE; secs *= 2) {
            if (secs > 1024 * o->slice) { /* ten doublings and still nothing: not the clock's fault */
                sd[i].st = TB_ST_failed;
                snprintf(sd[i].err, sizeof sd[i].err, "its warm-up slices did no operations, up to %.3f s", secs / 2);
                break;
            }
            run_slice(o, wl, &c, &sd[i], o->seed, secs, 0, true);
        }
    /* At least an op a thread: a floor of 64 ops made a falseshare slice (an op of about 20 ms at
     * 1 thread) 1.4 s where 2 ms was asked, and a 20 ms cell 18 s, near test_harness's timeout */
    double warm = sqrt((double)(sd[0].t.ops ? sd[0].t.ops : 1) * (double)(sd[1].t.ops ? sd[1].t.ops : 1));
    uint64_t slice_ops = (uint64_t)warm > o->threads ? (uint64_t)warm : o->threads;
    for (int i = 0; i < 2; i++) {
        tally_init(&sd[i].t, o);
        sd[i].quad_ops = sd[i].quad_seconds = 0;
    }
    tb_cpu_times(cpu0);
    static const int abba[4] = {0, 1, 1, 0};
    for (unsigned q = 0; q < quads; q++) {
        for (int k = 0; k < 4 && sd[0].st == TB_STATUS_NONE && sd[1].st == TB_STATUS_NONE; k++)
            run_slice(o, wl, &c, &sd[abba[k]], o->seed * 1000003u + q, 0, slice_ops, true);
        for (int i = 0; i < 2; i++) {
            if (sd[i].quad_rate)
                sd[i].quad_rate[q] = sd[i].quad_seconds > 0 ? sd[i].quad_ops / sd[i].quad_seconds : 0;
            sd[i].quad_ops = sd[i].quad_seconds = 0;
        }
    }
    tb_cpu_times(cpu1);
    if (!wl->drive)
        crew_stop(&c);
    /* a side that failed takes the other down with it: their slices are one measurement */
    for (int i = 0; i < 2; i++)
        if (sd[i].st == TB_ST_skipped && sd[1 - i].st == TB_STATUS_NONE) { /* the workload does not apply */
            sd[1 - i].st = TB_ST_skipped;
            snprintf(sd[1 - i].err, sizeof sd[1 - i].err, "%s", sd[i].err);
        } else if (sd[i].st != TB_STATUS_NONE && sd[1 - i].st == TB_STATUS_NONE) {
            sd[1 - i].st = TB_ST_failed;
            snprintf(sd[1 - i].err, sizeof sd[1 - i].err, "its interleaved partner %s ended %s: %.400s", sd[i].a->name,
                     tb_status_name(sd[i].st), sd[i].err);
        }
    put_side(o, &sd[0], true, cpu0, cpu1);
    tb_reply_next_side(report);
    put_side(o, &sd[1], false, cpu0, cpu1);
    for (int i = 0; i < 2; i++) {
        if (sd[i].st == TB_STATUS_NONE)
            sd[i].heap.destroy(sd[i].heap.ctx);
        free(sd[i].quad_rate);
    }
    return 0;
}

int tb_cmd_worker(int argc, char **argv)
{
    worker_opts o = {.params = "", .threads = 1, .sample = 1024, .size = 64, .seed = 1};
    int code = parse_flags(argc, argv, &o);
    if (code >= 0)
        return code;
    report = fdopen(3, "w");
    if (!report)
        report = stdout;
    const tb_allocator *a = o.alloc_name ? tb_alloc_find(o.alloc_name) : NULL;
    if (!a)
        return finish(TB_ST_failed, "worker: unknown allocator");

    char err[512] = "";
    tb_heap heap;
    bool sized = o.sizes.dist != TB_SIZE_FIXED;
    if (sized)
        o.size = o.sizes.hi;
    else
        o.sizes = (tb_sizes){TB_SIZE_FIXED, (uint32_t)o.size, (uint32_t)o.size};
    int rc = a->open(a, o.size, sized, &heap, err, sizeof err);
    char version[128] = "";
    if (a->version)
        a->version(a, version, sizeof version);
    put(allocator_version, "%s", version);
    if (rc == -2)
        return finish(TB_ST_unavailable, err);
    if (rc != 0)
        return finish(TB_ST_failed, err);
    if (o.probe_only)
        return finish(TB_ST_ok, NULL);

    const tb_workload *wl = o.wl_name ? tb_workload_find(o.wl_name) : NULL;
    if (!wl)
        return finish(TB_ST_failed, "worker: unknown workload");
    if (a->same_thread_only && wl->cross_thread)
        return finish(TB_ST_skipped, "this allocator is only correct when the allocating thread frees; "
                                     "this workload frees across threads");
    calibrate();
    if (!o.partner)
        return run_single(&o, wl, &heap);
    static side sd[2];
    sd[0] = (side){.a = a, .heap = heap, .st = TB_STATUS_NONE};
    sd[1] = (side){.a = tb_alloc_find(o.partner), .st = TB_STATUS_NONE};
    tally_init(&sd[0].t, &o);
    tally_init(&sd[1].t, &o);
    if (!sd[1].a)
        return finish(TB_ST_failed, "worker: unknown --partner allocator");
    int prc = sd[1].a->open(sd[1].a, o.size, sized, &sd[1].heap, sd[1].err, sizeof sd[1].err);
    if (prc != 0) {
        sd[1].st = prc == -2 ? TB_ST_unavailable : TB_ST_failed;
        sd[0].st = TB_ST_failed;
        snprintf(sd[0].err, sizeof sd[0].err, "its interleaved partner %s could not open: %.400s", sd[1].a->name,
                 sd[1].err);
    } else if (sd[1].a->same_thread_only && wl->cross_thread) {
        for (int i = 0; i < 2; i++) {
            sd[i].st = TB_ST_skipped;
            snprintf(sd[i].err, sizeof sd[i].err, "%s is only correct when the allocating thread frees; this "
                                                  "workload frees across threads", sd[1].a->name);
        }
    }
    return run_interleaved(&o, wl, sd);
}
