/* Multi-threaded contract of every strategy: cross-thread frees through producer/consumer
 * rings, a random alloc/free stress with pattern checks, thread-exit return of cached objects,
 * and stats that add up once the threads are quiet. Run under TSan in CI. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

enum { OBJ = 48 };

/* ---- producer/consumer: every free is a cross-thread free ---------------------------------- */

enum { RING = 256 };
typedef struct {
    tmp_pool *pool;
    void *_Atomic slot[RING];
    unsigned count;
} ring_t;

static void *producer(void *arg)
{
    ring_t *r = arg;
    for (unsigned i = 0; i < r->count; i++) {
        void *o;
        while (!(o = tmp_alloc(r->pool)))
            ; /* max_objects not set: never NULL, but do not write through NULL if it were */
        pattern_fill(o, OBJ, i);
        void *_Atomic *s = &r->slot[i % RING];
        while (atomic_load_explicit(s, memory_order_acquire) != NULL)
            ;
        atomic_store_explicit(s, o, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    ring_t *r = arg;
    for (unsigned i = 0; i < r->count; i++) {
        void *_Atomic *s = &r->slot[i % RING];
        void *o;
        while (!(o = atomic_load_explicit(s, memory_order_acquire)))
            ;
        atomic_store_explicit(s, NULL, memory_order_release);
        CHECK(pattern_ok(o, OBJ, i));
        tmp_free(r->pool, o);
    }
    return NULL;
}

static void test_cross_thread(tmp_strategy s)
{
    enum { PAIRS = 2 };
    tmp_pool *p = make_pool(s, OBJ, 0, 0, 0);
    ring_t rings[PAIRS];
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        memset(&rings[i], 0, sizeof rings[i]);
        rings[i].pool = p;
        rings[i].count = 200000 / TEST_SCALE;
        pthread_create(&t[2 * i], NULL, producer, &rings[i]);
        pthread_create(&t[2 * i + 1], NULL, consumer, &rings[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(t[i], NULL);
    tmp_stats st;
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.allocs, (uint64_t)PAIRS * rings[0].count);
    CHECK_EQ(st.frees, st.allocs);
    CHECK_EQ(st.in_use, 0);
    /* Objects cycle through caches and the depot instead of piling up: a few chunks at most. */
    CHECK(st.high_water <= 64 * 1024);
    tmp_pool_destroy(p);
}

/* ---- stress: random alloc/free with pattern checks, and frees handed to other threads -------- */

enum { STRESS_THREADS = 8, SLOTS = 512 };
typedef struct {
    tmp_pool *pool;
    unsigned id;
    void *_Atomic *mailbox; /* one per thread: objects passed to the next thread */
    uint64_t allocs, frees;
} stress_arg;

static void *stress(void *arg)
{
    stress_arg *a = arg;
    void *slot[SLOTS] = {0};
    unsigned tag[SLOTS] = {0};
    uint64_t x = 0x9E3779B97F4A7C15ull * (a->id + 1);
    unsigned iters = 400000 / TEST_SCALE;
    for (unsigned it = 0; it < iters; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned k = (unsigned)(x % SLOTS);
        if (slot[k]) {
            CHECK(pattern_ok(slot[k], OBJ, tag[k]));
            if (x & 0x100) {
                /* Hand it to the next thread, which frees it: take its previous gift first. */
                void *_Atomic *box = &a->mailbox[(a->id + 1) % STRESS_THREADS];
                void *old = atomic_exchange(box, slot[k]);
                if (old) {
                    tmp_free(a->pool, old);
                    a->frees++;
                }
            } else {
                tmp_free(a->pool, slot[k]);
                a->frees++;
            }
            slot[k] = NULL;
        } else {
            slot[k] = tmp_alloc(a->pool);
            CHECK(slot[k] != NULL);
            a->allocs++;
            tag[k] = (unsigned)(x >> 32);
            pattern_fill(slot[k], OBJ, tag[k]);
        }
        void *mine = atomic_exchange(&a->mailbox[a->id], NULL);
        if (mine) {
            tmp_free(a->pool, mine);
            a->frees++;
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (slot[k]) {
            CHECK(pattern_ok(slot[k], OBJ, tag[k]));
            tmp_free(a->pool, slot[k]);
            a->frees++;
        }
    return NULL;
}

static void test_stress(tmp_strategy s)
{
    tmp_pool *p = make_pool(s, OBJ, 0, 0, 0);
    void *_Atomic mailbox[STRESS_THREADS];
    stress_arg args[STRESS_THREADS];
    pthread_t t[STRESS_THREADS];
    for (unsigned i = 0; i < STRESS_THREADS; i++)
        atomic_init(&mailbox[i], NULL); /* all before any thread starts giving */
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        args[i] = (stress_arg){.pool = p, .id = i, .mailbox = mailbox};
        pthread_create(&t[i], NULL, stress, &args[i]);
    }
    uint64_t allocs = 0, frees = 0;
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        pthread_join(t[i], NULL);
        allocs += args[i].allocs;
        frees += args[i].frees;
    }
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        void *o = atomic_exchange(&mailbox[i], NULL);
        if (o) {
            tmp_free(p, o);
            frees++;
        }
    }
    CHECK_EQ(allocs, frees);
    tmp_stats st;
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.allocs, allocs);
    CHECK_EQ(st.frees, frees);
    CHECK_EQ(st.in_use, 0);
    CHECK(st.high_water >= 1);
    tmp_pool_destroy(p);
}

/* ---- thread exit: thousands of short-lived threads must not grow the pool ------------------ */

static void *short_lived(void *arg)
{
    tmp_pool *p = arg;
    void *v[40];
    for (int i = 0; i < 40; i++)
        CHECK((v[i] = tmp_alloc(p)) != NULL);
    for (int i = 0; i < 40; i++)
        tmp_free(p, v[i]);
    return NULL;
}

static void test_thread_exit(tmp_strategy s)
{
    tmp_pool *p = make_pool(s, OBJ, 0, 0, 0);
    unsigned rounds = 3000 / TEST_SCALE;
    uint64_t reserved_early = 0;
    for (unsigned r = 0; r < rounds; r += 2) {
        pthread_t a, b;
        pthread_create(&a, NULL, short_lived, p);
        pthread_create(&b, NULL, short_lived, p);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        if (r == 100) {
            tmp_stats st;
            tmp_pool_stats(p, &st);
            reserved_early = st.bytes_reserved;
        }
    }
    tmp_stats st;
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.allocs, (uint64_t)40 * ((rounds + 1) / 2) * 2);
    CHECK_EQ(st.in_use, 0);
    /* Caches went back at thread exit: nothing grew after the first hundred threads. */
    CHECK_EQ(st.bytes_reserved, reserved_early);
    tmp_pool_destroy(p);
}

/* A thread keeps a cache for a pool that another thread destroys; its exit and its use of a new
 * pool (likely the same id and address) must not touch the old pool's memory. */
static tmp_pool *_Atomic shared_pool;
static _Atomic int phase;

static void *cache_holder(void *arg)
{
    (void)arg;
    tmp_pool *p = atomic_load(&shared_pool);
    void *o = tmp_alloc(p);
    tmp_free(p, o); /* now cached in this thread */
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2)
        ;
    tmp_pool *q = atomic_load(&shared_pool); /* the new pool */
    for (int i = 0; i < 1000; i++) {
        void *x = tmp_alloc(q);
        CHECK(x != NULL);
        pattern_fill(x, OBJ, 5);
        CHECK(pattern_ok(x, OBJ, 5));
        tmp_free(q, x);
    }
    return NULL;
}

/* Passive false sharing (Hoard's cache-scratch): objects smaller than a line that one thread
 * allocated and another freed are never handed back to the freeing thread from its cache, so
 * the two threads do not go on writing to one line; the objects still return to the pool (the
 * counters balance once the threads are gone). Pools of line-sized objects keep the plain LIFO
 * reuse. */
typedef struct handoff_arg {
    tmp_pool *pool;
    void *given;
    uintptr_t given_line;
    int reused_line; /* allocations that landed on the given object's line */
} handoff_arg;

static void *handoff_worker(void *p)
{
    handoff_arg *a = p;
    tmp_free(a->pool, a->given);
    for (int i = 0; i < 1000; i++) {
        char *o = tmp_alloc(a->pool);
        CHECK(o != NULL);
        o[0] = (char)i;
        a->reused_line += (uintptr_t)o >> 6 == a->given_line;
        tmp_free(a->pool, o);
    }
    return NULL;
}

static void test_handoff_lines(tmp_strategy s)
{
    for (size_t size = 16; size <= 64; size += 48) {
        tmp_config cfg;
        tmp_config_init(&cfg, size, s);
        tmp_pool *pool;
        CHECK_EQ(tmp_pool_create(&cfg, &pool), 0);
        handoff_arg a[2];
        for (int t = 0; t < 2; t++) { /* two consecutive objects: one line at 16 bytes */
            a[t] = (handoff_arg){.pool = pool, .given = tmp_alloc(pool)};
            CHECK(a[t].given != NULL);
            a[t].given_line = (uintptr_t)a[t].given >> 6;
        }
        if (size == 16)
            CHECK_EQ(a[0].given_line, a[1].given_line);
        pthread_t th[2];
        for (int t = 0; t < 2; t++)
            CHECK_EQ(pthread_create(&th[t], NULL, handoff_worker, &a[t]), 0);
        for (int t = 0; t < 2; t++)
            CHECK_EQ(pthread_join(th[t], NULL), 0);
        bool cached = s == TMP_THREAD_CACHE || s == TMP_NUMA;
        for (int t = 0; t < 2; t++) {
            if (cached && size < 64)
                CHECK_EQ(a[t].reused_line, 0); /* never the handed line again */
            else if (cached)
                CHECK_EQ(a[t].reused_line, 1000); /* its own freed object back, every time */
        }
        tmp_stats st;
        CHECK_EQ(tmp_pool_stats(pool, &st), 0);
        CHECK_EQ(st.allocs, 2 + 2000);
        CHECK_EQ(st.frees, 2 + 2000);
        CHECK_EQ(st.in_use, 0);
        tmp_pool_destroy(pool);
    }
}

static void test_destroy_while_cached(tmp_strategy s)
{
    atomic_store(&phase, 0);
    atomic_store(&shared_pool, make_pool(s, OBJ, 0, 0, 0));
    pthread_t t;
    pthread_create(&t, NULL, cache_holder, NULL);
    while (atomic_load(&phase) != 1)
        ;
    tmp_pool_destroy(atomic_load(&shared_pool));
    atomic_store(&shared_pool, make_pool(s, OBJ, 0, 0, 0));
    atomic_store(&phase, 2);
    pthread_join(t, NULL);
    tmp_stats st;
    tmp_pool_stats(atomic_load(&shared_pool), &st);
    CHECK_EQ(st.allocs, 1000);
    CHECK_EQ(st.in_use, 0);
    tmp_pool_destroy(atomic_load(&shared_pool));
}

/* tcache's depots, one per CPU, each thread with its own (strategy_tcache.c). A thread that
 * runs out takes only what another depot received beyond what it handed out, so (1) a second
 * thread's round never reuses the objects the first thread's round gave back to its own depot,
 * and (2) a producer whose objects all come back to its consumer's depot reuses them instead of
 * growing the pool. With one CPU there is one depot and nothing to tell apart. */
enum { DEPOT_N = 5000 };

typedef struct depot_arg {
    tmp_pool *pool;
    void **objs;  /* DEPOT_N: what the thread allocated, or what it is to free */
    bool alloc, free;
} depot_arg;

static void *depot_worker(void *p)
{
    depot_arg *a = p;
    for (int i = 0; a->alloc && i < DEPOT_N; i++)
        CHECK((a->objs[i] = tmp_alloc(a->pool)) != NULL);
    for (int i = 0; a->free && i < DEPOT_N; i++)
        tmp_free(a->pool, a->objs[i]);
    return NULL;
}

static void depot_run(tmp_pool *pool, void **objs, bool alloc, bool free_them)
{
    depot_arg a = {.pool = pool, .objs = objs, .alloc = alloc, .free = free_them};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, depot_worker, &a), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
}

static int cmp_ptr(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)*(void *const *)x, b = (uintptr_t)*(void *const *)y;
    return a < b ? -1 : a > b;
}

static void test_depots(void)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        test_skip("one CPU: tcache has one depot");
    tmp_config cfg;
    tmp_config_init(&cfg, 64, TMP_THREAD_CACHE);
    cfg.flags = TMP_F_NO_AUTOTRIM; /* what the rounds give back stays where it was put */
    tmp_pool *pool;
    CHECK_EQ(tmp_pool_create(&cfg, &pool), 0);
    static void *first[DEPOT_N], *second[DEPOT_N];
    /* (1) Threads take depots round-robin in order of first use: this thread takes one, the two
     * workers the next two, so with two or more depots the workers' depots differ. */
    void *mine = tmp_alloc(pool);
    CHECK(mine != NULL);
    depot_run(pool, first, true, true);
    depot_run(pool, second, true, false);
    qsort(first, DEPOT_N, sizeof *first, cmp_ptr);
    int shared = 0;
    for (int i = 0; i < DEPOT_N; i++)
        shared += bsearch(&second[i], first, DEPOT_N, sizeof *first, cmp_ptr) != NULL;
    CHECK_EQ(shared, 0);
    /* (2) A consumer frees the second worker's objects into its own depot; producers then
     * reuse them: 20 more rounds of DEPOT_N map nothing new. */
    depot_run(pool, second, false, true);
    tmp_stats before, after;
    CHECK_EQ(tmp_pool_stats(pool, &before), 0);
    for (int round = 0; round < 20; round++) {
        depot_run(pool, second, true, false); /* a producer */
        depot_run(pool, second, false, true); /* a consumer */
    }
    CHECK_EQ(tmp_pool_stats(pool, &after), 0);
    CHECK_EQ(after.bytes_reserved, before.bytes_reserved);
    CHECK_EQ(after.in_use, 1);
    tmp_free(pool, mine);
    tmp_pool_destroy(pool);
}

static const test_entry tests[] = {
    TEST_EACH(cross_thread)
    TEST_EACH(stress)
    TEST_EACH(thread_exit)
    TEST_EACH(destroy_while_cached)
    TEST_EACH(handoff_lines)
    TEST_ONCE(depots)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
