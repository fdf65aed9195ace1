/* The numa strategy on a synthetic two-node topology (TMEMPOOL_TOPOLOGY), so the multi-node
 * paths run on any machine: a thread pinned to CPU k allocates from node k's arena, and objects
 * freed by the other node's thread are counted as remote and go back to their home arena. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum { N = 1000 };

typedef struct {
    tmp_pool *pool;
    int cpu;
    void **objs;
    int mode; /* 0 allocate, 1 free, 2 free unchecked */
    int n;
} job;

static void *run(void *arg)
{
    job *j = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    CHECK(pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0);
    sched_yield();
    CHECK_EQ(sched_getcpu(), j->cpu);
    for (int i = 0; i < j->n; i++) {
        if (j->mode == 0) {
            CHECK((j->objs[i] = tmp_alloc(j->pool)) != NULL);
            pattern_fill(j->objs[i], 64, (unsigned)i);
        } else {
            if (j->mode == 1) /* mode 2: order shuffled by the caller, no pattern to match */
                CHECK(pattern_ok(j->objs[i], 64, (unsigned)i));
            tmp_free(j->pool, j->objs[i]);
        }
    }
    return NULL; /* thread exit sends buffered remote frees home */
}

static void on_cpu_n(tmp_pool *p, int cpu, void **objs, int mode, int n)
{
    job j = {p, cpu, objs, mode, n};
    pthread_t t;
    pthread_create(&t, NULL, run, &j);
    pthread_join(t, NULL);
}

static void on_cpu(tmp_pool *p, int cpu, void **objs, int mode) { on_cpu_n(p, cpu, objs, mode, N); }

static int cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_nodes_and_homes(void)
{
    cpu_set_t mine;
    CHECK(sched_getaffinity(0, sizeof mine, &mine) == 0);
    if (!CPU_ISSET(0, &mine) || !CPU_ISSET(1, &mine)) {
        test_skip("test_numa needs CPUs 0 and 1 to pin to");
    }
    setenv("TMEMPOOL_TOPOLOGY", "node:2 core:1 pu:1", 1);
    /* no automatic trim: the test follows freed objects home, which a trim may unmap */
    tmp_pool *p = make_pool(TMP_NUMA, 64, 0, 0, TMP_F_NO_AUTOTRIM);
    tmp_stats st;
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.nodes, 2);

    void **a = calloc(N, sizeof *a), **b = calloc(N, sizeof *b);
    on_cpu(p, 0, a, 0);
    on_cpu(p, 1, b, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(tmp_pool_node_of(p, a[i]), 0);
        CHECK_EQ(tmp_pool_node_of(p, b[i]), 1);
    }
    /* Cross frees: node 0's objects freed on CPU 1 and the other way round. */
    on_cpu(p, 1, a, 1);
    on_cpu(p, 0, b, 1);
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.remote_frees, 2 * N);
    CHECK_EQ(st.in_use, 0);

    /* They went home: node 0's free objects (all N of them plus the few the first thread's
     * cache gave back at exit) are what CPU 0 gets now, every one of a[] among them. */
    void **again = calloc(2 * N, sizeof *again);
    on_cpu_n(p, 0, again, 0, N + 64);
    for (int i = 0; i < N + 64; i++)
        CHECK_EQ(tmp_pool_node_of(p, again[i]), 0);
    qsort(again, N + 64, sizeof *again, cmp);
    for (int i = 0; i < N; i++)
        CHECK(bsearch(&a[i], again, N + 64, sizeof *again, cmp) != NULL);
    on_cpu_n(p, 0, again, 2, N + 64);
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.remote_frees, 2 * N); /* local frees are not remote */
    CHECK_EQ(st.in_use, 0);
    tmp_pool_destroy(p);
    free(a);
    free(b);
    free(again);
}

/* An absurd synthetic topology is refused in bounded time, with one warning, and the pool runs
 * on the real machine (hwloc would build every object of "node:100000" first). */
static void absurd_child(void *unused)
{
    (void)unused;
    alarm(10);
    setenv("TMEMPOOL_TOPOLOGY", "node:100000 core:1 pu:1", 1);
    tmp_pool *p = make_pool(TMP_NUMA, 64, 0, 0, 0);
    tmp_stats st;
    tmp_pool_stats(p, &st);
    tmp_pool_destroy(p);
    _exit(st.nodes >= 1 && st.nodes < 100000 ? 0 : 3);
}

static void test_absurd_topology(void)
{
    char out[1024];
    int st = run_in_child(absurd_child, NULL, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "TMEMPOOL_TOPOLOGY") != NULL);
    CHECK(strchr(out, '\n') == strrchr(out, '\n')); /* one line */
}

/* On one node a numa pool has a depot per CPU, as tcache does, not one arena that every thread
 * shares: two threads' first objects come from different chunks (with one arena the second
 * thread's refill carved on from the first one's chunk). */
typedef struct {
    tmp_pool *pool;
    void *obj[16];
} grab;

static void *grab_some(void *arg)
{
    grab *g = arg;
    for (int i = 0; i < 16; i++)
        CHECK((g->obj[i] = tmp_alloc(g->pool)) != NULL);
    return NULL;
}

static void one_node_child(void *unused)
{
    (void)unused;
    setenv("TMEMPOOL_TOPOLOGY", "node:1 core:2 pu:1", 1);
    tmp_pool *p = make_pool(TMP_NUMA, 64, 0, 0, TMP_F_NO_AUTOTRIM);
    tmp_stats st;
    tmp_pool_stats(p, &st);
    grab g[2] = {{.pool = p}, {.pool = p}};
    for (int k = 0; k < 2; k++) { /* one after the other: each is a new thread with a new home */
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, grab_some, &g[k]), 0);
        CHECK_EQ(pthread_join(t, NULL), 0);
    }
    uintptr_t mask = ~(uintptr_t)((64u << 10) - 1); /* the pool's 64 KiB chunks */
    int apart = ((uintptr_t)g[0].obj[0] & mask) != ((uintptr_t)g[1].obj[0] & mask);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++)
            tmp_free(p, g[k].obj[i]);
    tmp_pool_destroy(p);
    _exit(st.nodes == 1 && apart ? 0 : 3);
}

static void test_one_node_depots(void)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        test_skip("a depot per CPU needs 2 CPUs to tell from one arena");
    char out[1024];
    int st = run_in_child(one_node_child, NULL, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "%s", out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const test_entry tests[] = {
    TEST_ONCE(nodes_and_homes)
    TEST_ONCE(one_node_depots)
    TEST_ONCE(absurd_topology)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
