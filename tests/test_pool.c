/* Single-threaded contract of every strategy: distinct aligned objects with their full size,
 * bad configurations, max_objects and ENOMEM, stats, destroy with objects out, trim, names. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Every object distinct, non-overlapping, aligned, fully writable, and intact until freed. */
static void test_unique_and_pattern(tmp_strategy s, size_t size, size_t align)
{
    enum { N = 5000 };
    tmp_pool *p = make_pool(s, size, align, 0, 0);
    void **v = malloc(N * sizeof *v);
    for (unsigned i = 0; i < N; i++) {
        v[i] = tmp_alloc(p);
        CHECK(v[i] != NULL);
        CHECK((uintptr_t)v[i] % (align ? align : 16) == 0);
        pattern_fill(v[i], size, i);
    }
    for (unsigned i = 0; i < N; i++)
        CHECK(pattern_ok(v[i], size, i));
    void **sorted = malloc(N * sizeof *sorted);
    memcpy(sorted, v, N * sizeof *v);
    qsort(sorted, N, sizeof *sorted, cmp_ptr);
    for (unsigned i = 1; i < N; i++)
        CHECK((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] >= size);
    /* Free half, reallocate: recycled objects must not collide with live ones. */
    for (unsigned i = 0; i < N; i += 2)
        tmp_free(p, v[i]);
    for (unsigned i = 0; i < N; i += 2) {
        v[i] = tmp_alloc(p);
        CHECK(v[i] != NULL);
        pattern_fill(v[i], size, i + 100000);
    }
    for (unsigned i = 0; i < N; i++)
        CHECK(pattern_ok(v[i], size, i % 2 ? i : i + 100000));
    tmp_stats st;
    CHECK_EQ(tmp_pool_stats(p, &st), 0);
    CHECK_EQ(st.allocs, N + N / 2);
    CHECK_EQ(st.frees, N / 2);
    CHECK_EQ(st.in_use, N);
    CHECK(st.high_water >= st.in_use);
    CHECK(st.bytes_reserved >= (uint64_t)N * size);
    for (unsigned i = 0; i < N; i++)
        tmp_free(p, v[i]);
    CHECK_EQ(tmp_pool_stats(p, &st), 0);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.allocs - st.frees, st.in_use);
    free(sorted);
    free(v);
    tmp_pool_destroy(p);
}

static void test_alignments(tmp_strategy s)
{
    static const size_t sizes[] = {1, 3, 8, 24, 100, 4096};
    for (size_t align = 1; align <= 4096; align *= 2)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            tmp_pool *p = make_pool(s, sizes[k], align, 0, 0);
            void *v[64];
            for (int i = 0; i < 64; i++) {
                v[i] = tmp_alloc(p);
                CHECK(v[i] != NULL);
                CHECK((uintptr_t)v[i] % align == 0);
                memset(v[i], 0xAB, sizes[k]);
            }
            for (int i = 0; i < 64; i++)
                tmp_free(p, v[i]);
            tmp_pool_destroy(p);
        }
}

static void test_bad_config(tmp_strategy s)
{
    tmp_config cfg;
    tmp_pool *p = (tmp_pool *)&cfg; /* must stay untouched on error */
    tmp_config_init(&cfg, 0, s);
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    CHECK(p == (tmp_pool *)&cfg);
    tmp_config_init(&cfg, 64, s);
    cfg.alignment = 24;
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    tmp_config_init(&cfg, SIZE_MAX - 8, s);
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    tmp_config_init(&cfg, 64, s);
    cfg.max_objects = SIZE_MAX;
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    tmp_config_init(&cfg, 64, s);
    cfg.flags = 0x80;
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    tmp_config_init(&cfg, 64, (tmp_strategy)17);
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    CHECK_EQ(tmp_pool_create(NULL, &p), EINVAL);
    CHECK(p == (tmp_pool *)&cfg);
}

static void test_max_objects(tmp_strategy s)
{
    enum { MAX = 100 };
    tmp_pool *p = make_pool(s, 32, 0, MAX, 0);
    void *v[MAX];
    for (int i = 0; i < MAX; i++) {
        v[i] = tmp_alloc(p);
        CHECK(v[i] != NULL);
    }
    errno = 0;
    CHECK(tmp_alloc(p) == NULL);
    CHECK_EQ(errno, ENOMEM);
    tmp_free(p, v[7]);
    v[7] = tmp_alloc(p);
    CHECK(v[7] != NULL); /* keeps working once objects come back */
    for (int i = 0; i < MAX; i++)
        tmp_free(p, v[i]);
    for (int i = 0; i < MAX; i++) {
        v[i] = tmp_alloc(p);
        CHECK(v[i] != NULL);
    }
    tmp_stats st;
    tmp_pool_stats(p, &st);
    CHECK_EQ(st.in_use, MAX);
    for (int i = 0; i < MAX; i++)
        tmp_free(p, v[i]);
    tmp_pool_destroy(p);
}

/* Destroy with objects out, then a new pool (often at the same address and id) in the same
 * thread: the old cache must not be mistaken for the new pool's. */
static void test_destroy_with_objects_out(tmp_strategy s)
{
    for (int round = 0; round < 20; round++) {
        tmp_pool *p = make_pool(s, 48, 0, 0, 0);
        for (int i = 0; i < 1000; i++) {
            void *o = tmp_alloc(p);
            CHECK(o != NULL);
            if (i % 3)
                tmp_free(p, o);
        }
        tmp_pool_destroy(p);
    }
    tmp_pool_destroy(NULL);
}

static void test_null_free_and_stats_args(tmp_strategy s)
{
    tmp_pool *p = make_pool(s, 16, 0, 0, 0);
    tmp_free(p, NULL);
    tmp_stats st;
    CHECK_EQ(tmp_pool_stats(NULL, &st), EINVAL);
    CHECK_EQ(tmp_pool_stats(p, NULL), EINVAL);
    CHECK_EQ(tmp_pool_stats(p, &st), 0);
    CHECK_EQ(st.allocs, 0);
    CHECK_EQ(st.nodes, 1); /* no TMEMPOOL_TOPOLOGY here: the real one-node machine or not */
    tmp_pool_destroy(p);
}

/* After everything comes back, trim returns the chunks and bytes_reserved falls. */
static void test_trim(tmp_strategy s)
{
    enum { N = 50000 };
    tmp_pool *p = make_pool(s, 64, 0, 0, TMP_F_NO_AUTOTRIM);
    void **v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        CHECK((v[i] = tmp_alloc(p)) != NULL);
    tmp_stats before, after;
    tmp_pool_stats(p, &before);
    for (int i = 0; i < N; i++)
        if (i < N - 100)
            tmp_free(p, v[i]);
    tmp_pool_stats(p, &after);
    CHECK_EQ(after.bytes_reserved, before.bytes_reserved); /* nothing automatic with the flag */
    size_t given = tmp_pool_trim(p);
    tmp_pool_stats(p, &after);
    CHECK(given > 0);
    CHECK_EQ(before.bytes_reserved - after.bytes_reserved, given);
    /* What stays: the chunks holding the 100 live objects and the cached ones. */
    CHECK(after.bytes_reserved < before.bytes_reserved / 4);
    for (int i = N - 100; i < N; i++)
        tmp_free(p, v[i]);
    for (int i = 0; i < N; i++) {
        CHECK((v[i] = tmp_alloc(p)) != NULL);
        pattern_fill(v[i], 64, (unsigned)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK(pattern_ok(v[i], 64, (unsigned)i));
        tmp_free(p, v[i]);
    }
    free(v);
    tmp_pool_destroy(p);
}

/* Objects coming back in random order leave every chunk partly used until nearly all are back,
 * so the pool's early trims find nothing; it must still look again when the last ones return.
 * (The back-off after empty trims once grew past the pool's size and stopped looking: the pool
 * kept every chunk with all its objects free, in about half of footprint's runs. With two
 * threads on two stripes, both stripes doubled the one back-off, which then outgrew what either
 * stripe holds: striped footprint at 2 threads kept all 14.5 MB.) The work runs on threads that
 * then exit, as in footprint: a live thread's cached objects count as in use and would pin the
 * chunks they sit in. */
enum { SCATTER_N = 100000 };
typedef struct {
    tmp_pool *pool;
    pthread_barrier_t *both_full; /* lines the threads up between phases */
    unsigned seed;
} scatter_arg;

static void *scatter_thread(void *arg)
{
    scatter_arg *a = arg;
    tmp_pool *p = a->pool;
    void **v = malloc(SCATTER_N * sizeof *v);
    CHECK(v != NULL);
    for (int i = 0; i < SCATTER_N; i++)
        CHECK((v[i] = tmp_alloc(p)) != NULL);
    pthread_barrier_wait(a->both_full);
    for (unsigned seed = a->seed, i = SCATTER_N; i > 1; i--) { /* a fixed shuffle: repeats exactly */
        seed = seed * 1103515245u + 12345u;
        unsigned j = (seed >> 8) % i;
        void *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
    /* as footprint does: nine in ten back, a pause with both threads at that level, the rest */
    for (int i = 0; i < SCATTER_N; i++) {
        if (i == SCATTER_N / 10 * 9)
            pthread_barrier_wait(a->both_full);
        tmp_free(p, v[i]);
    }
    free(v);
    return NULL;
}

static void test_autotrim_scattered(tmp_strategy s, unsigned nthreads)
{
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    pthread_t t[2];
    scatter_arg a[2];
    pthread_barrier_t both_full;
    CHECK(nthreads <= 2 && pthread_barrier_init(&both_full, NULL, nthreads) == 0);
    for (unsigned i = 0; i < nthreads; i++) {
        a[i] = (scatter_arg){p, &both_full, 12345u + 777u * i};
        CHECK(pthread_create(&t[i], NULL, scatter_thread, &a[i]) == 0);
    }
    for (unsigned i = 0; i < nthreads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    pthread_barrier_destroy(&both_full);
    tmp_stats after;
    tmp_pool_stats(p, &after);
    /* 100k objects a thread took about 7 MB each; what may stay is the pool's four-chunk floor
     * and the magazines (one pointer per object once held) */
    CHECK(after.bytes_reserved < (size_t)SCATTER_N * 64 / 3);
    tmp_pool_destroy(p);
}

/* Without the flag the pool trims itself as objects come back: no tmp_pool_trim call, yet
 * bytes_reserved falls, by whole chunks, and the pool keeps working. */
static void test_autotrim(tmp_strategy s)
{
    enum { N = 100000 };
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    void **v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        CHECK((v[i] = tmp_alloc(p)) != NULL);
    tmp_stats before, mid, after;
    tmp_pool_stats(p, &before);
    for (int i = 0; i < N / 2; i++) /* half back: not yet twice the objects in use */
        tmp_free(p, v[i]);
    tmp_pool_stats(p, &mid);
    CHECK_EQ(mid.bytes_reserved, before.bytes_reserved);
    for (int i = N / 2; i < N - 100; i++)
        tmp_free(p, v[i]);
    tmp_pool_stats(p, &after);
    /* what stays: chunks with the 100 live (and any cached) objects, and the magazines, one
     * pointer per object the pool has held (an eighth of 64-byte objects) */
    CHECK(after.bytes_reserved < before.bytes_reserved / 3);
    /* and an explicit trim now finds little left to do: the pool did it already */
    CHECK(tmp_pool_trim(p) <= before.bytes_reserved / 10);
    for (int i = 0; i < N - 100; i++) {
        CHECK((v[i] = tmp_alloc(p)) != NULL);
        pattern_fill(v[i], 64, (unsigned)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK(pattern_ok(v[i], 64, (unsigned)i) || i >= N - 100);
        tmp_free(p, v[i]);
    }
    free(v);
    tmp_pool_destroy(p);
}

/* A pool whose live count swings between zero and many chunks' worth (batch) gets its chunks
 * trimmed on the first swing down, maps them again on the next swing up, and from then on keeps
 * them: the automatic trim must not map and unmap the same memory every round (batch with 10k
 * objects ran at a quarter of its speed). An explicit tmp_pool_trim still gives everything back. */
static void test_autotrim_no_thrash(tmp_strategy s)
{
    enum { N = 20000, ROUNDS = 4 };
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    void **v = malloc(N * sizeof *v);
    tmp_stats st;
    size_t low[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N; i++)
            CHECK((v[i] = tmp_alloc(p)) != NULL);
        for (int i = N; i-- > 0;)
            tmp_free(p, v[i]);
        tmp_pool_stats(p, &st);
        low[round] = st.bytes_reserved;
    }
    CHECK(low[0] < (size_t)N * 64 / 2);  /* the first swing down trims */
    CHECK(low[ROUNDS - 1] >= (size_t)N * 64); /* later ones keep what was mapped again */
    CHECK_EQ(low[ROUNDS - 1], low[ROUNDS - 2]);
    CHECK(tmp_pool_trim(p) > 0);
    tmp_pool_stats(p, &st);
    CHECK(st.bytes_reserved < (size_t)N * 64 / 2);
    free(v);
    tmp_pool_destroy(p);
}

/* A thread that frees a burst and then allocates one gets a cache big enough to keep its own
 * objects: after a few rounds of 1000, a round misses the cache no more. */
static void test_cache_grows(tmp_strategy s)
{
    if (s != TMP_THREAD_CACHE && s != TMP_NUMA)
        test_skip("only the cached strategies have a cache to grow");
    enum { N = 1000 };
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    void *v[N];
    tmp_stats a, b;
    for (int round = 0; round < 6; round++) {
        tmp_pool_stats(p, &a);
        for (int i = 0; i < N; i++)
            CHECK((v[i] = tmp_alloc(p)) != NULL);
        for (int i = 0; i < N; i++)
            tmp_free(p, v[i]);
        tmp_pool_stats(p, &b);
    }
    CHECK_EQ(b.cache_misses - a.cache_misses, 0);
    CHECK_EQ(b.cache_hits - a.cache_hits, N); /* hits count allocations */
    tmp_pool_destroy(p);
}

/* A thread with bulk lifetimes (it frees thousands, then takes them back from its own depot)
 * moves many objects per depot trip once it has done so: one lock per 64 objects cost batch
 * n=100000 a tenth of its time at 2 threads. Refills are the cache's misses. */
static void test_bulk_refills(tmp_strategy s)
{
    if (s != TMP_THREAD_CACHE && s != TMP_NUMA)
        test_skip("only the cached strategies refill a cache");
    enum { N = 20000 };
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    void **v = malloc(N * sizeof *v);
    tmp_stats a, b;
    for (int round = 0; round < 4; round++) {
        tmp_pool_stats(p, &a);
        for (int i = 0; i < N; i++)
            CHECK((v[i] = tmp_alloc(p)) != NULL);
        tmp_pool_stats(p, &b);
        for (int i = N; i-- > 0;)
            tmp_free(p, v[i]);
    }
    /* 64 a trip would be N / 64 = 312 refills; half a 1024-object cache, 39 */
    CHECK(b.cache_misses - a.cache_misses <= N / 128);
    free(v);
    tmp_pool_destroy(p);
}

/* A thread gets new objects in ascending address order, and again after freeing them in
 * reverse: walks that zig-zag inside every page (down each cache refill while the refills go
 * up) defeat the hardware prefetcher, and batch with 100000 objects ran a fifth slower for it.
 * Only a change of chunk may break the run. */
static void test_address_order(tmp_strategy s)
{
    enum { N = 5000 };
    tmp_pool *p = make_pool(s, 64, 0, 0, 0);
    static char *v[N];
    for (int round = 0; round < 2; round++) {
        size_t up = 0;
        for (int i = 0; i < N; i++) {
            CHECK((v[i] = tmp_alloc(p)) != NULL);
            up += i > 0 && v[i] - v[i - 1] == 64;
        }
        /* 64 KiB chunks hold about 1000 objects of 64 bytes: a handful of changes */
        CHECK(up >= N - 1 - N / 256);
        for (int i = N - 1; i >= 0; i--)
            tmp_free(p, v[i]);
    }
    tmp_pool_destroy(p);
}

/* Objects freed in random order, more than a depot keeps in magazines: the cached strategies
 * keep their own chunks' objects as bits and hand them back in address order within each chunk
 * (store.c), each object once. A store of pointers alone hands them back in the order freed,
 * about one neighbour in N. Run in a thread of its own, whose exit empties its cache, so that a
 * trim afterwards finds every chunk free. */
enum { ORDER_N = 30000 };
static char *order_v[ORDER_N], *order_w[ORDER_N];
static unsigned order_perm[ORDER_N];

static void *scattered_body(void *arg)
{
    tmp_pool *p = arg;
    char **v = order_v, **w = order_w;
    unsigned *perm = order_perm;
    const int N = ORDER_N;
    for (int i = 0; i < N; i++) {
        CHECK((v[i] = tmp_alloc(p)) != NULL);
        memset(v[i], 0x5a, 64);
        perm[i] = (unsigned)i;
    }
    uint64_t x = 88172645463325252ull; /* xorshift64 */
    for (int i = N - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned j = (unsigned)(x % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < N; i++)
        tmp_free(p, v[perm[i]]);
    size_t up = 0;
    for (int i = 0; i < N; i++) {
        CHECK((w[i] = tmp_alloc(p)) != NULL);
        up += i > 0 && w[i] - w[i - 1] == 64;
    }
    /* a depot keeps 4096 of 64 bytes in magazines and a cache 1024: the rest, 5/6, as bits */
    CHECK(up >= (size_t)N / 2);
    for (int i = 0; i < N; i++)
        tmp_free(p, w[perm[i]]);
    return NULL;
}

static void test_scattered_order(tmp_strategy s)
{
    if (s != TMP_THREAD_CACHE && s != TMP_NUMA)
        test_skip("only batches (cache spills) go to a store's bits");
    const int N = ORDER_N;
    char **v = order_v, **w = order_w;
    /* no automatic trim, which could give chunks back between the rounds */
    tmp_pool *p = make_pool(s, 64, 0, 0, TMP_F_NO_AUTOTRIM);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, scattered_body, p), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    /* each object once, and the freed ones came back: a refill that finds the store short
     * carves the rest of its batch (at most a cache's worth, 1024), leaving as many old
     * objects in the cache */
    qsort(v, (size_t)N, sizeof *v, cmp_ptr);
    qsort(w, (size_t)N, sizeof *w, cmp_ptr);
    int fresh = 0;
    for (int i = 0; i < N; i++) {
        CHECK(i == 0 || w[i] != w[i - 1]);
        fresh += bsearch(&w[i], v, (size_t)N, sizeof *v, cmp_ptr) == NULL;
    }
    CHECK(fresh <= 1024);
    /* every object is free, most as bits: a trim gives back the chunks */
    tmp_stats before, after;
    CHECK_EQ(tmp_pool_stats(p, &before), 0);
    CHECK(tmp_pool_trim(p) > 0);
    CHECK_EQ(tmp_pool_stats(p, &after), 0);
    CHECK(after.bytes_reserved < before.bytes_reserved / 4);
    for (int i = 0; i < N; i++) { /* and the pool still works, with fresh chunks */
        CHECK((v[i] = tmp_alloc(p)) != NULL);
        memset(v[i], 0xa5, 64);
    }
    qsort(v, (size_t)N, sizeof *v, cmp_ptr);
    for (int i = 1; i < N; i++)
        CHECK(v[i] != v[i - 1]);
    for (int i = 0; i < N; i++)
        tmp_free(p, v[i]);
    tmp_pool_destroy(p);
}

/* More pools alive than a thread's cache table has ids (2048): the extra pools work, without
 * caches, and once they are gone a new pool gets an id and a cache again. */
static void test_many_pools(tmp_strategy s)
{
    enum { N = 2100 };
    static tmp_pool *pools[N];
    static void *objs[N];
    for (int i = 0; i < N; i++) {
        pools[i] = make_pool(s, 64, 0, 0, 0);
        CHECK((objs[i] = tmp_alloc(pools[i])) != NULL);
        memset(objs[i], i & 0xff, 64);
    }
    for (int i = 0; i < N; i++) {
        CHECK(((unsigned char *)objs[i])[63] == (i & 0xff));
        tmp_free(pools[i], objs[i]);
        void *again = tmp_alloc(pools[i]);
        CHECK(again != NULL);
        tmp_free(pools[i], again);
        tmp_stats st;
        CHECK_EQ(tmp_pool_stats(pools[i], &st), 0);
        CHECK_EQ(st.allocs, 2);
        CHECK_EQ(st.frees, 2);
        CHECK_EQ(st.in_use, 0);
    }
    for (int i = 0; i < N; i++)
        tmp_pool_destroy(pools[i]);
    if (s == TMP_THREAD_CACHE || s == TMP_NUMA) {
        tmp_pool *p = make_pool(s, 64, 0, 0, 0);
        tmp_free(p, tmp_alloc(p));
        tmp_free(p, tmp_alloc(p));
        tmp_stats st;
        tmp_pool_stats(p, &st);
        CHECK(st.cache_hits >= 1); /* the second allocation came from the thread's cache */
        tmp_pool_destroy(p);
    }
}

static void test_names(void)
{
    static const char *names[] = {"global", "striped", "tcache", "numa"};
    FOR_EACH_STRATEGY(s)
    {
        CHECK(strcmp(tmp_strategy_name(s), names[s]) == 0);
        tmp_strategy back;
        CHECK_EQ(tmp_strategy_parse(names[s], &back), 0);
        CHECK_EQ(back, s);
    }
    tmp_strategy x;
    CHECK_EQ(tmp_strategy_parse("bogus", &x), EINVAL);
    CHECK_EQ(tmp_strategy_parse(NULL, &x), EINVAL);
    CHECK(strcmp(tmp_strategy_name((tmp_strategy)99), "unknown") == 0);
}

static void test_unique_sizes(tmp_strategy s)
{
    test_unique_and_pattern(s, 1, 1);
    test_unique_and_pattern(s, 64, 0);
    test_unique_and_pattern(s, 200, 64);
    test_unique_and_pattern(s, 5000, 4096);
}

static void test_autotrim_scattered_1(tmp_strategy s) { test_autotrim_scattered(s, 1); }
static void test_autotrim_scattered_2(tmp_strategy s) { test_autotrim_scattered(s, 2); }

/* A limit too large to shape the chunks is no limit, and creating the pool ends at once (2^63-1
 * once overflowed the geometry and looped); one that overflows the size type is EINVAL. */
static void test_max_objects_huge(tmp_strategy s)
{
    alarm(10); /* a hang fails the test instead of stalling the suite */
    tmp_config cfg;
    tmp_pool *p = NULL;
    for (size_t size = 1; size <= 64; size *= 8) {
        tmp_config_init(&cfg, size, s);
        cfg.alignment = size < 16 ? 1 : 0;
        cfg.max_objects = SIZE_MAX >> 1;
        CHECK_EQ(tmp_pool_create(&cfg, &p), 0);
        tmp_config got;
        CHECK_EQ(tmp_pool_config(p, &got), 0);
        void *o = tmp_alloc(p);
        CHECK(o != NULL);
        tmp_free(p, o);
        tmp_pool_destroy(p);
    }
    cfg.max_objects = SIZE_MAX;
    CHECK_EQ(tmp_pool_create(&cfg, &p), EINVAL);
    cfg.max_objects = 1;
    cfg.object_size = (size_t)1 << 36;
    p = NULL;
    int err = tmp_pool_create(&cfg, &p);
    CHECK(err == 0 || err == ENOMEM);
    if (p)
        tmp_pool_destroy(p);
    alarm(0);
}

static const test_entry tests[] = {
    TEST_ONCE(names)
    TEST_EACH(unique_sizes)
    TEST_EACH(alignments)
    TEST_EACH(bad_config)
    TEST_EACH(max_objects)
    TEST_EACH(max_objects_huge)
    TEST_EACH(destroy_with_objects_out)
    TEST_EACH(null_free_and_stats_args)
    TEST_EACH(trim)
    TEST_EACH(autotrim)
    TEST_EACH(autotrim_scattered_1)
    TEST_EACH(autotrim_scattered_2)
    TEST_EACH(autotrim_no_thrash)
    TEST_EACH(cache_grows)
    TEST_EACH(bulk_refills)
    TEST_EACH(address_order)
    TEST_EACH(scattered_order)
    TEST_EACH(many_pools)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
