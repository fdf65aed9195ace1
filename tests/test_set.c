/* Size-class sets (tmp_set_*): the classes and their padding, large objects, every pool
 * semantic (any-thread free, thread exit, destroy with objects out, TMP_F_DEBUG), for every
 * strategy. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static tmp_set *make_set(tmp_strategy s, size_t max_size, unsigned flags)
{
    tmp_set_config cfg;
    tmp_set_config_init(&cfg, s);
    cfg.max_size = max_size;
    cfg.flags = flags;
    tmp_set *set = NULL;
    CHECK_EQ(tmp_set_create(&cfg, &set), 0);
    CHECK(set != NULL);
    return set;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Every size from 0 to past the largest class: the class it gets holds it, is aligned, and pads
 * no more than the documented worst case; the classes are the documented ones. */
static void test_classes(tmp_strategy s)
{
    tmp_set *set = make_set(s, 0, 0);
    size_t prev = 0;
    unsigned classes = 0;
    double worst_small = 0, worst_large = 0;
    for (size_t n = 0; n <= TMP_SET_MAX_CLASS_SIZE; n++) {
        char *o = tmp_set_alloc(set, n);
        CHECK(o != NULL);
        size_t u = tmp_set_usable_size(set, o);
        CHECK(u >= n && u >= 1);
        CHECK_EQ((uintptr_t)o % (u <= 8 ? 8 : 16), 0);
        memset(o, 0xA5, u);
        if (u != prev) {
            classes++;
            prev = u;
        }
        if (n > 8) { /* below, every request takes the 8-byte class */
            double pad = (double)(u - n) / (double)u;
            if (n <= 128 && pad > worst_small)
                worst_small = pad;
            if (n > 128 && pad > worst_large)
                worst_large = pad;
        }
        tmp_set_free(set, o);
    }
    CHECK_EQ(classes, 37);
    CHECK_EQ(prev, TMP_SET_MAX_CLASS_SIZE);
    CHECK(worst_small <= 15.0 / 32 + 1e-9); /* 17 bytes in the 32-byte class */
    CHECK(worst_large < 0.2); /* 8193 in 10240: 19.99% (2049 in 2560 below it: 19.96%) */
    char *big = tmp_set_alloc(set, TMP_SET_MAX_CLASS_SIZE + 1);
    CHECK(big != NULL);
    CHECK_EQ(tmp_set_usable_size(set, big), TMP_SET_MAX_CLASS_SIZE + 1);
    tmp_set_free(set, big);
    tmp_stats st;
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.allocs, st.frees);
    tmp_set_destroy(set);
}

/* Many objects of random sizes, small and large, live at once: no two overlap (each keeps its
 * pattern), they are freed in a shuffled order, and the counters come back to zero in use. */
static void test_random_sizes(tmp_strategy s)
{
    enum { N = 20000 / TEST_SCALE };
    tmp_set *set = make_set(s, 0, 0);
    static char *obj[N];
    static size_t len[N];
    static unsigned order[N];
    uint64_t x = 88172645463325252ull;
    for (unsigned i = 0; i < N; i++) {
        len[i] = (size_t)(rng_next(&x) % (i % 50 == 0 ? 70000 : 4000));
        obj[i] = tmp_set_alloc(set, len[i]);
        CHECK(obj[i] != NULL);
        CHECK(tmp_set_usable_size(set, obj[i]) >= len[i]);
        pattern_fill(obj[i], len[i], i);
        order[i] = i;
    }
    tmp_stats st;
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, N);
    CHECK(st.bytes_reserved > 0);
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)(rng_next(&x) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (unsigned i = 0; i < N; i++) {
        unsigned k = order[i];
        CHECK(pattern_ok(obj[k], len[k], k));
        tmp_set_free(set, obj[k]);
    }
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.allocs, N);
    CHECK_EQ(st.frees, N);
    tmp_set_destroy(set);
}

/* Sizes above max_size are mapped one each, counted in bytes_reserved until freed. */
static void test_large(tmp_strategy s)
{
    tmp_set *set = make_set(s, 100, 0);
    tmp_stats a, b;
    CHECK_EQ(tmp_set_stats(set, &a), 0);
    char *small = tmp_set_alloc(set, 100), *big = tmp_set_alloc(set, 101), *huge = tmp_set_alloc(set, 5u << 20);
    CHECK(small && big && huge);
    CHECK_EQ(tmp_set_usable_size(set, small), 112);
    CHECK_EQ(tmp_set_usable_size(set, big), 101);
    CHECK_EQ(tmp_set_usable_size(set, huge), 5u << 20);
    memset(huge, 1, 5u << 20);
    CHECK_EQ(tmp_set_stats(set, &b), 0);
    CHECK(b.bytes_reserved >= a.bytes_reserved + (5u << 20) + 101);
    CHECK_EQ(b.in_use, 3);
    tmp_set_free(set, huge);
    tmp_set_free(set, big);
    CHECK_EQ(tmp_set_stats(set, &b), 0);
    CHECK_EQ(b.in_use, 1);
    CHECK(b.bytes_reserved < (5u << 20));
    errno = 0;
    CHECK(tmp_set_alloc(set, SIZE_MAX - 10) == NULL);
    CHECK_EQ(errno, ENOMEM);
    tmp_set_free(set, small);
    tmp_set_destroy(set);
}

static void test_bad_config(tmp_strategy s)
{
    tmp_set_config cfg;
    tmp_set_config_init(&cfg, s);
    tmp_set *set = (tmp_set *)&cfg; /* must stay untouched on error */
    cfg.max_size = TMP_SET_MAX_CLASS_SIZE + 1;
    CHECK_EQ(tmp_set_create(&cfg, &set), EINVAL);
    CHECK(set == (tmp_set *)&cfg);
    tmp_set_config_init(&cfg, s);
    cfg.flags = 1u << 7;
    CHECK_EQ(tmp_set_create(&cfg, &set), EINVAL);
    tmp_set_config_init(&cfg, (tmp_strategy)99);
    CHECK_EQ(tmp_set_create(&cfg, &set), EINVAL);
    CHECK_EQ(tmp_set_create(NULL, &set), EINVAL);
    CHECK(set == (tmp_set *)&cfg);
    tmp_set *ok = make_set(s, TMP_SET_MAX_CLASS_SIZE, TMP_F_NO_AUTOTRIM);
    tmp_set_free(ok, NULL);
    CHECK_EQ(tmp_set_usable_size(ok, NULL), 0);
    CHECK_EQ(tmp_set_stats(ok, NULL), EINVAL);
    CHECK_EQ(tmp_set_stats(NULL, &(tmp_stats){0}), EINVAL);
    tmp_set_destroy(ok);
    tmp_set_destroy(NULL);
}

/* Objects made by threads that have exited, and freed by other threads; classes made by
 * several threads at once. */
enum { T = 4, PER = 4000 };
typedef struct xarg {
    tmp_set *set;
    char **slot;
    size_t *len;
    unsigned id;
    pthread_barrier_t *bar;
} xarg;

static void *maker(void *p)
{
    xarg *a = p;
    uint64_t x = 0x9E3779B97F4A7C15ull * (a->id + 1);
    pthread_barrier_wait(a->bar); /* every thread reaches the lazy class creation at once */
    for (unsigned i = 0; i < PER; i++) {
        size_t n = (size_t)(rng_next(&x) % 5000);
        char *o = tmp_set_alloc(a->set, n);
        CHECK(o != NULL);
        pattern_fill(o, n, a->id * PER + i);
        a->slot[a->id * PER + i] = o;
        a->len[a->id * PER + i] = n;
    }
    return NULL; /* exits with objects out and its caches full */
}

static void *freer(void *p)
{
    xarg *a = p;
    unsigned other = (a->id + 1) % T; /* another thread's objects */
    for (unsigned i = 0; i < PER; i++) {
        unsigned k = other * PER + i;
        CHECK(pattern_ok(a->slot[k], a->len[k], k));
        tmp_set_free(a->set, a->slot[k]);
    }
    return NULL;
}

static void test_threads_cross_free(tmp_strategy s)
{
    tmp_set *set = make_set(s, 0, 0);
    static char *slot[T * PER];
    static size_t len[T * PER];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, T);
    pthread_t th[T];
    xarg a[T];
    for (unsigned i = 0; i < T; i++) {
        a[i] = (xarg){set, slot, len, i, &bar};
        CHECK_EQ(pthread_create(&th[i], NULL, maker, &a[i]), 0);
    }
    for (unsigned i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    tmp_stats st;
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, T * PER);
    for (unsigned i = 0; i < T; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, freer, &a[i]), 0);
    for (unsigned i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, 0);
    pthread_barrier_destroy(&bar);
    tmp_set_destroy(set);
}

static void test_destroy_with_objects_out(tmp_strategy s)
{
    for (int round = 0; round < 20; round++) {
        tmp_set *set = make_set(s, 0, round % 2 ? TMP_F_DEBUG : 0);
        for (unsigned i = 0; i < 300; i++)
            CHECK(tmp_set_alloc(set, (i * 37u) % 9000) != NULL);
        tmp_set_destroy(set);
    }
}

/* TMP_F_DEBUG: each misuse dies with one line naming it, whatever the class. */
typedef struct misuse {
    tmp_strategy s;
    int kind;
} misuse;

static void do_misuse(void *p)
{
    misuse *m = p;
    tmp_set *set = make_set(m->s, 0, TMP_F_DEBUG);
    static char stack_like[64];
    char *o;
    switch (m->kind) {
    case 0: /* double free of a class object */
        o = tmp_set_alloc(set, 40);
        tmp_set_free(set, o);
        tmp_set_free(set, o);
        break;
    case 1: /* a pointer the set never handed out */
        tmp_set_free(set, stack_like);
        break;
    case 2: /* double free of a large object */
        o = tmp_set_alloc(set, 100000);
        tmp_set_free(set, o);
        tmp_set_free(set, o);
        break;
    case 3: { /* another set's object */
        tmp_set *other = make_set(m->s, 0, TMP_F_DEBUG);
        o = tmp_set_alloc(other, 64);
        tmp_set_alloc(set, 64); /* so that the class exists in both */
        tmp_set_free(set, o);
        break;
    }
    case 4: /* an interior pointer of a large object */
        o = tmp_set_alloc(set, 100000);
        tmp_set_free(set, o + 16);
        break;
    }
    _exit(0); /* survived: the test fails on the exit status */
}

static void test_debug_misuse(tmp_strategy s)
{
    static const char *const expect[] = {"double free", "never handed out", "never handed out",
                                         "never handed out", "not one of this set's objects"};
    for (int k = 0; k < 5; k++) {
        misuse m = {s, k};
        char out[1024];
        int st = run_in_child(do_misuse, &m, out, sizeof out);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) || !strstr(out, "tmempool:") || !strstr(out, expect[k])) {
            fprintf(stderr, "misuse %d: status %d, said: %s\n", k, st, out);
            CHECK(0);
        }
    }
}

/* The chunk map (chunkmap.c) names a chunk's pool by address, and a chunk's entry must go
 * when the chunk does: the address comes back from the OS for anything (a set's large object,
 * here), and the dead pool's id goes to the next pool made, whose cache would then take a free
 * that is not its own. Each round destroys a set, maps the long-lived set's large objects into
 * the holes, makes a set that takes the dead one's ids and warms its caches, then frees the
 * long-lived set's objects: both sets' counts must balance exactly. */
static void test_chunk_reuse(tmp_strategy s)
{
    enum { N = 400, ROUNDS = 8 };
    static void *objs[N * ROUNDS], *tmp_objs[N];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    tmp_set *keep = make_set(s, 0, 0), *prev = NULL;
    for (int round = 1; round <= ROUNDS; round++) {
        tmp_set_destroy(prev);
        size_t n = (size_t)N * round; /* more live each round: new chunks, at addresses just freed */
        for (size_t i = 0; i < n; i++) {
            size_t sz = i % 4 ? 1 + rng_next(&x) % 1024 : TMP_SET_MAX_CLASS_SIZE + 1 + rng_next(&x) % 30000;
            objs[i] = tmp_set_alloc(keep, sz);
            CHECK(objs[i] != NULL);
        }
        tmp_set *cur = make_set(s, 0, 0);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < N; i++)
                CHECK((tmp_objs[i] = tmp_set_alloc(cur, 1 + rng_next(&x) % 1024)) != NULL);
            for (size_t i = 0; i < N; i++)
                tmp_set_free(cur, tmp_objs[i]);
        }
        for (size_t i = 0; i < n; i++)
            tmp_set_free(keep, objs[i]);
        tmp_stats st;
        CHECK_EQ(tmp_set_stats(keep, &st), 0);
        CHECK_EQ(st.in_use, 0);
        CHECK_EQ(st.allocs, st.frees);
        CHECK_EQ(tmp_set_stats(cur, &st), 0);
        CHECK_EQ(st.in_use, 0);
        CHECK_EQ(st.allocs, (uint64_t)2 * N);
        CHECK_EQ(st.frees, (uint64_t)2 * N);
        prev = cur;
    }
    tmp_set_destroy(prev);
    tmp_set_destroy(keep);
}

/* The set's own free path keeps line owners as tmp_free does (test_threads.c, handoff_lines):
 * an object below a line that another thread allocated never lands in the freeing thread's
 * cache, so the freeing thread is not handed that line back; objects of a line or more are
 * reused at once. */
typedef struct set_handoff {
    tmp_set *set;
    size_t size;
    void *given;
    uintptr_t given_line;
    int reused_line;
} set_handoff;

static void *set_handoff_worker(void *p)
{
    set_handoff *a = p;
    /* a cache first: a thread's first free takes the slow path, which makes the cache */
    void *own = tmp_set_alloc(a->set, a->size);
    CHECK(own != NULL);
    tmp_set_free(a->set, own);
    tmp_set_free(a->set, a->given);
    for (int i = 0; i < 1000; i++) {
        char *o = tmp_set_alloc(a->set, a->size);
        CHECK(o != NULL);
        o[0] = (char)i;
        a->reused_line += (uintptr_t)o >> 6 == a->given_line;
        tmp_set_free(a->set, o);
    }
    return NULL;
}

static void test_handoff_lines(tmp_strategy s)
{
    for (size_t size = 16; size <= 64; size += 48) {
        tmp_set *set = make_set(s, 0, 0);
        set_handoff a[2];
        for (int t = 0; t < 2; t++) { /* two consecutive objects: one line at 16 bytes */
            a[t] = (set_handoff){.set = set, .size = size, .given = tmp_set_alloc(set, size)};
            CHECK(a[t].given != NULL);
            a[t].given_line = (uintptr_t)a[t].given >> 6;
        }
        if (size == 16)
            CHECK_EQ(a[0].given_line, a[1].given_line);
        pthread_t th[2];
        for (int t = 0; t < 2; t++)
            CHECK_EQ(pthread_create(&th[t], NULL, set_handoff_worker, &a[t]), 0);
        for (int t = 0; t < 2; t++)
            CHECK_EQ(pthread_join(th[t], NULL), 0);
        bool cached = s == TMP_THREAD_CACHE || s == TMP_NUMA;
        for (int t = 0; t < 2 && cached; t++)
            CHECK_EQ(a[t].reused_line, size < 64 ? 0 : 1000);
        tmp_stats st;
        CHECK_EQ(tmp_set_stats(set, &st), 0);
        CHECK_EQ(st.allocs, 2 + 2 + 2000);
        CHECK_EQ(st.frees, 2 + 2 + 2000);
        CHECK_EQ(st.in_use, 0);
        tmp_set_destroy(set);
    }
}

/* Where the chunk map's 4 GiB reservation is refused (an address-space limit), a set frees
 * through its chunks' headers, and every free still reaches its own class. Each test runs in a
 * process of its own, so the limit is set before this process makes its first set, which is
 * when the map would be reserved. */
static void test_no_chunk_map(tmp_strategy s)
{
    if (TEST_SANITIZED)
        test_skip("a sanitizer's shadow memory needs more address space than the limit leaves");
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld", &pages) == 1);
    fclose(f);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)1 << 30);
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    void *probe = mmap(NULL, (size_t)4 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(probe == MAP_FAILED); /* the limit holds: the map cannot be made either */
    enum { N = 3000 };
    static void *v[N];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    tmp_set *set = make_set(s, 0, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            size_t sz = 1 + rng_next(&x) % 1024;
            CHECK((v[i] = tmp_set_alloc(set, sz)) != NULL);
            CHECK(tmp_set_usable_size(set, v[i]) >= sz);
            memset(v[i], round, sz);
        }
        for (int i = 0; i < N; i++)
            tmp_set_free(set, v[(i * 7) % N]);
    }
    tmp_stats st;
    CHECK_EQ(tmp_set_stats(set, &st), 0);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.allocs, st.frees);
    CHECK_EQ(st.allocs, (uint64_t)3 * N);
    tmp_set_destroy(set);
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
}

static const test_entry tests[] = {
    TEST_EACH(classes)
    TEST_EACH(random_sizes)
    TEST_EACH(large)
    TEST_EACH(bad_config)
    TEST_EACH(threads_cross_free)
    TEST_EACH(destroy_with_objects_out)
    TEST_EACH(debug_misuse)
    TEST_EACH(chunk_reuse)
    TEST_EACH(handoff_lines)
    TEST_EACH(no_chunk_map)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
