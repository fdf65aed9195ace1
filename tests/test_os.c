/* OS memory (os.c): the reservoir's runs are aligned, disjoint and usable from any thread, each
 * goes back on its own without disturbing its neighbours, and a set's first use of every class
 * costs a few mappings rather than one per chunk, metadata block and large object. And what a
 * chunk's mapping holds: coloured headers that objects never overlap; metadata written only as
 * it is used. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../allocators/src/internal.h"
#include "check.h"

#define SLOT ((size_t)64 << 10)

static _Atomic unsigned long mmaps;
#if !TEST_SANITIZED
/* Every mmap the library makes, counted: this definition is the one the static library's calls
 * bind to. A sanitizer runtime maps memory through mmap before anything else runs and intercepts
 * it itself, so those builds keep the real one and skip the count (few_mappings). */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    atomic_fetch_add(&mmaps, 1);
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
#endif

enum { RUNS = 300 };
typedef struct {
    char *p[RUNS];
    size_t len[RUNS];
    uint64_t seed;
} runs;

static void tag(char *p, size_t len, uintptr_t t)
{
    for (size_t at = 0; at < len; at += SLOT) {
        *(uintptr_t *)(p + at) = t ^ at;
        *(uintptr_t *)(p + at + SLOT - sizeof t) = ~(t ^ at);
    }
}

static bool tagged(const char *p, size_t len, uintptr_t t)
{
    for (size_t at = 0; at < len; at += SLOT)
        if (*(const uintptr_t *)(p + at) != (t ^ at) || *(const uintptr_t *)(p + at + SLOT - sizeof t) != ~(t ^ at))
            return false;
    return true;
}

/* Runs of 1 to 4 slots at the reservoir's alignment, and metadata-like ones at a page's. */
static void *take(void *arg)
{
    runs *r = arg;
    for (int i = 0; i < RUNS; i++) {
        r->seed = r->seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 1 + (size_t)(r->seed >> 62);
        r->len[i] = n * SLOT;
        r->p[i] = tmp__os_map(r->len[i], (r->seed >> 40) & 1 ? SLOT : 4096);
        CHECK(r->p[i] != NULL);
        CHECK((uintptr_t)r->p[i] % SLOT == 0);
        tag(r->p[i], r->len[i], (uintptr_t)r->p[i]);
    }
    return NULL;
}

static int by_addr(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return x < y ? -1 : x > y;
}

static void test_runs(void)
{
    runs r[2] = {{.seed = 1}, {.seed = 2}};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, take, &r[1]), 0);
    take(&r[0]);
    CHECK_EQ(pthread_join(t, NULL), 0);

    /* Disjoint: sorted by address, each run ends at or before the next begins. */
    static char *all[2 * RUNS];
    static size_t len_of[2 * RUNS];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < RUNS; i++)
            all[k * RUNS + i] = r[k].p[i];
    qsort(all, 2 * RUNS, sizeof *all, by_addr);
    for (int i = 0; i < 2 * RUNS; i++)
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < RUNS; j++)
                if (r[k].p[j] == all[i])
                    len_of[i] = r[k].len[j];
    for (int i = 0; i + 1 < 2 * RUNS; i++)
        CHECK(all[i] + len_of[i] <= all[i + 1]);

    /* Every other run of thread 0 goes back; all the others still hold their tags. */
    for (int i = 0; i < RUNS; i += 2)
        tmp__os_unmap(r[0].p[i], r[0].len[i]);
    for (int k = 0; k < 2; k++)
        for (int i = k == 0 ? 1 : 0; i < RUNS; i += k == 0 ? 2 : 1)
            CHECK(tagged(r[k].p[i], r[k].len[i], (uintptr_t)r[k].p[i]));
    for (int k = 0; k < 2; k++)
        for (int i = k == 0 ? 1 : 0; i < RUNS; i += k == 0 ? 2 : 1)
            tmp__os_unmap(r[k].p[i], r[k].len[i]);

    /* The sizes the reservoir serves are whole slots up to four; the rest whole pages. */
    CHECK_EQ(tmp__os_round(1), SLOT);
    CHECK_EQ(tmp__os_round(SLOT + 1), 2 * SLOT);
    CHECK_EQ(tmp__os_round(4 * SLOT), 4 * SLOT);
    CHECK_EQ(tmp__os_round(4 * SLOT + 1), 4 * SLOT + 4096);
}

/* A set's first object of every class, and large objects of 70 and 200 KiB, from a fresh
 * process: 37 chunks, 37 metadata blocks and 24 slots of large objects, about 98 slots. One
 * mapping each would be 82 or more; from 1 MiB regions it is 7 and a few for the chunk map's
 * leaf and the alignment's fallbacks. */
static void test_few_mappings(tmp_strategy s)
{
    if (TEST_SANITIZED)
        test_skip("a sanitizer intercepts mmap itself: the count runs in the release build");
    tmp_set_config cfg;
    tmp_set_config_init(&cfg, s);
    tmp_set *set = NULL;
    CHECK_EQ(tmp_set_create(&cfg, &set), 0);
    unsigned long before = atomic_load(&mmaps);
    void *small[64], *large[8];
    int n = 0;
    for (size_t size = 1; size <= 16384 && n < 64; size = tmp_set_usable_size(set, small[n - 1]) + 1)
        CHECK((small[n++] = tmp_set_alloc(set, size)) != NULL); /* one object of each class */
    for (int i = 0; i < 8; i++)
        CHECK((large[i] = tmp_set_alloc(set, i % 2 ? (size_t)200 << 10 : (size_t)70 << 10)) != NULL);
    unsigned long made = atomic_load(&mmaps) - before;
    fprintf(stderr, "%d classes and 8 large objects: %lu mappings\n", n, made);
    CHECK(n >= 30 && n < 64);
    CHECK(made <= 20);
    for (int i = 0; i < n; i++)
        tmp_set_free(set, small[i]);
    for (int i = 0; i < 8; i++)
        tmp_set_free(set, large[i]);
    tmp_set_destroy(set);
}

/* Chunk headers sit at different line offsets (internal.h, tmp__chunk_of), inside the colour
 * span, with a copy of magic and pool at the mapping's start; every object lies past the header,
 * free bits and line owners, and one chunk's objects never reach the next chunk. */
static void test_chunk_colors(tmp_strategy s)
{
    for (size_t size = 16; size <= 64; size += 48) { /* with line owners (16) and without */
        tmp_config cfg;
        tmp_config_init(&cfg, size, s);
        tmp_pool *pool = NULL;
        CHECK_EQ(tmp_pool_create(&cfg, &pool), 0);
        enum { MAX = 40 * (65536 / 16) };
        static void *v[MAX];
        const int N = (int)(40 * (65536 / size)); /* some 40 chunks */
        bool seen[16] = {false};
        unsigned colors = 0;
        for (int i = 0; i < N; i++) {
            CHECK((v[i] = tmp_alloc(pool)) != NULL);
            memset(v[i], 0xa5, size); /* would overwrite a header the object overlapped */
        }
        for (int i = 0; i < N; i++) {
            uintptr_t base = (uintptr_t)v[i] & pool->chunk_mask;
            tmp__chunk *c = tmp__chunk_of(pool->chunk_mask, v[i]);
            uintptr_t off = (uintptr_t)c - base;
            CHECK(off <= tmp__color_span(pool->chunk_mask) && off % 64 == 0);
            CHECK_EQ(c->magic, TMP__CHUNK_MAGIC);
            CHECK(c->pool == pool && ((tmp__chunk *)base)->magic == TMP__CHUNK_MAGIC &&
                  ((tmp__chunk *)base)->pool == pool);
            CHECK((uintptr_t)v[i] >= base + pool->hdr_bytes && (char *)v[i] >= c->objs);
            CHECK((uintptr_t)v[i] + size <= base + pool->chunk_size);
            if (!seen[off / 64]) {
                seen[off / 64] = true;
                colors++;
            }
        }
        CHECK(colors >= 8); /* of 16 */
        for (int i = 0; i < N; i++)
            tmp_free(pool, v[i]);
        tmp_pool_trim(pool);
        tmp_pool_destroy(pool);
    }
}

/* A pool's metadata is written as it is used: no magazine before the first object goes to a store,
 * and the blocks mapped ahead for magazines stay untouched (not resident) until carved. */
static void test_lazy_metadata(tmp_strategy s)
{
    tmp_config cfg;
    tmp_config_init(&cfg, 64, s);
    tmp_pool *pool = NULL;
    CHECK_EQ(tmp_pool_create(&cfg, &pool), 0);
    CHECK_EQ(pool->mag_count, 0u);
    enum { N = 4000 }; /* four chunks: room reserved for their magazines */
    static void *v[N];
    for (int i = 0; i < N; i++)
        CHECK((v[i] = tmp_alloc(pool)) != NULL);
    CHECK_EQ(pool->mag_count, 0u);
    long page = sysconf(_SC_PAGESIZE);
    CHECK(pool->n_ahead > 0);
    for (unsigned i = 0; i < pool->n_ahead; i++) {
        unsigned char in = 1;
        CHECK_EQ(mincore(pool->ahead_at[i], (size_t)page, &in), 0);
        CHECK((in & 1) == 0);
    }
    tmp_free(pool, v[0]); /* the cached strategies keep it; the locked ones push it */
    bool cached = s == TMP_THREAD_CACHE || s == TMP_NUMA;
    CHECK_EQ(pool->mag_count, cached ? 0u : 1u);
    for (int i = 1; i < N; i++)
        tmp_free(pool, v[i]);
    CHECK(pool->mag_count > 0); /* caches spilled */
    for (int i = 0; i < N; i++)
        CHECK((v[i] = tmp_alloc(pool)) != NULL);
    for (int i = 0; i < N; i++)
        tmp_free(pool, v[i]);
    tmp_pool_destroy(pool);
}

static const test_entry tests[] = {
    TEST_ONCE(runs)
    TEST_EACH(lazy_metadata)
    TEST_EACH(chunk_colors)
    TEST_EACH(few_mappings)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
