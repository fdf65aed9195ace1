/* Pool lifetime and the public entry points: configuration, geometry, create/destroy, dispatch
 * to the strategy, stats and names. The strategies live in strategy_*.c. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The strategy registry: indexed by tmp_strategy, looped over by name lookups. */
static const tmp__strategy *const strategies[TMP_STRATEGY_COUNT] = {
    [TMP_GLOBAL_LOCK] = &tmp__strategy_global,
    [TMP_STRIPED] = &tmp__strategy_striped,
    [TMP_THREAD_CACHE] = &tmp__strategy_tcache,
    [TMP_NUMA] = &tmp__strategy_numa,
};

#define DEFAULT_CHUNK ((size_t)64 << 10)

void tmp_config_init(tmp_config *cfg, size_t object_size, tmp_strategy s)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->object_size = object_size;
    cfg->alignment = 16;
    cfg->strategy = s;
}

const char *tmp_strategy_name(tmp_strategy s)
{
    return (unsigned)s < TMP_STRATEGY_COUNT ? strategies[s]->name : "unknown";
}

int tmp_strategy_parse(const char *name, tmp_strategy *out)
{
    if (!name || !out)
        return EINVAL;
    for (unsigned i = 0; i < TMP_STRATEGY_COUNT; i++)
        if (strcmp(name, strategies[i]->name) == 0) {
            *out = (tmp_strategy)i;
            return 0;
        }
    return EINVAL;
}

bool tmp__strategy_caches(tmp_strategy s)
{
    return (unsigned)s < TMP_STRATEGY_COUNT && strategies[s]->cache_flush;
}

/* The least power of two >= x; 0 when there is none in a size_t (the caller refuses). */
static size_t pow2_ceil(size_t x)
{
    if (x > ((size_t)1 << (sizeof(size_t) * 8 - 1)))
        return 0;
    size_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

/* Read once: glibc answers _SC_NPROCESSORS_ONLN by reading /sys (an open, a read and a close),
 * and every pool's creation asks it; CPUs brought online later do not change existing pools'
 * depots either. */
unsigned tmp__online_cpus(void)
{
    static _Atomic unsigned cached;
    unsigned n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!n) {
        long v = sysconf(_SC_NPROCESSORS_ONLN);
        n = v > 0 ? (unsigned)v : 1;
        atomic_store_explicit(&cached, n, memory_order_relaxed);
    }
    return n;
}

/* Resolves defaults and derives the chunk geometry, a chunk holding at least min_objs objects.
 * EINVAL on a configuration that cannot work. */
static int geometry(const tmp_config *in, size_t min_objs, tmp_pool *p)
{
    tmp_config c = *in;
    if (c.object_size == 0 || c.object_size > TMP__MAX_OBJECT)
        return EINVAL;
    if (c.alignment == 0)
        c.alignment = 16;
    if ((c.alignment & (c.alignment - 1)) || c.alignment > TMP__MAX_ALIGN)
        return EINVAL;
    if ((unsigned)c.strategy >= TMP_STRATEGY_COUNT || (c.flags & ~(unsigned)(TMP_F_DEBUG | TMP_F_NO_AUTOTRIM)))
        return EINVAL;
    if (c.max_objects > (SIZE_MAX >> 1))
        return EINVAL;
    size_t stride = (c.object_size + c.alignment - 1) & ~(c.alignment - 1);
    if (c.stripes == 0)
        c.stripes = (unsigned)pow2_ceil(tmp__online_cpus() * 2);
    if (c.stripes > 256)
        c.stripes = 256;
    if (c.cache_objects == 0) {
        /* The most a thread's cache may grow to: ~64 KiB of objects (1024 of 64 bytes), so
         * that a cache of big objects does not hoard memory. Caches start at 128 and grow only
         * for threads that take back what they gave away (tcache.c). */
        size_t by_bytes = ((size_t)64 << 10) / stride;
        c.cache_objects = by_bytes >= 1024 ? 1024 : by_bytes < 8 ? 8 : (unsigned)by_bytes;
    }
    if (c.cache_objects < 2)
        c.cache_objects = 2;
    if (c.cache_objects > 4096)
        c.cache_objects = 4096;

    /* A chunk holds at least min_objs objects (16 for a pool; a set's largest classes take
     * fewer, to keep its 64 KiB chunks), is at least 64 KiB unless max_objects needs less, and
     * is a power of two so that masking an address finds its chunk. */
    size_t want = min_objs * stride + sizeof(tmp__chunk) + c.alignment + tmp__color_span(~(uintptr_t)(DEFAULT_CHUNK - 1));
    size_t chunk = pow2_ceil(want > DEFAULT_CHUNK ? want : DEFAULT_CHUNK);
    /* A small max_objects shrinks the chunk to what it needs; only then is the product small
     * enough to compute (2^63 - 1 objects once overflowed it and looped in pow2_ceil). */
    if (c.max_objects && c.max_objects < chunk / stride) {
        size_t bare = c.max_objects * stride + sizeof(tmp__chunk) + c.alignment +
                      2 * (c.max_objects / 8 + 8); /* debug bits, free bits */
        size_t need = pow2_ceil(bare);
        need = pow2_ceil(bare + tmp__color_span(~(uintptr_t)(need - 1)));
        if (need < chunk)
            chunk = need < 4096 ? 4096 : need;
    }
    /* Objects start on a cache line: with a stride that is a multiple of 64, no two objects
     * share a line, so objects handed to different threads cannot false-share (the Hoard
     * cache-scratch test; Berger et al., ASPLOS 2000). */
    size_t line = c.alignment > 64 ? c.alignment : 64;
    /* A cached strategy whose objects are smaller than a line keeps a byte per line of the
     * chunk: who carved it (internal.h, tmp__line_owner). A larger object shares at most its
     * end lines with a neighbour, and the check on every free cost larson's sizes (8-999,
     * mostly above 64) 5-8% while it was on for them. */
    bool cached = c.strategy == TMP_THREAD_CACHE || c.strategy == TMP_NUMA;
    /* A chunk's start: up to span bytes of colour (internal.h, tmp__chunk_of), then the header,
     * the free bits and the debug bitmap, which all move with the colour; then the line owners,
     * which stay put (the set's free finds them from the address alone); then the objects. */
    size_t bitmap, owners, fbits, span, hdr;
    for (;;) {
        bitmap = (c.flags & TMP_F_DEBUG) ? (chunk / stride / 64 + 1) * 8 : 0;
        owners = cached && stride < 64 ? chunk / 64 : 0;
        fbits = (chunk / stride / 64 + 1) * 8; /* the store's free bits (store.c) */
        span = tmp__color_span(~(uintptr_t)(chunk - 1));
        hdr = (span + sizeof(tmp__chunk) + bitmap + fbits + owners + line - 1) & ~(line - 1);
        if (chunk == 0 || hdr + stride <= chunk)
            break;
        chunk = pow2_ceil(hdr + min_objs * stride); /* cannot hold an object (a large alignment) */
    }
    if (chunk == 0)
        return EINVAL;
    p->cfg = c;
    p->stride = stride;
    p->chunk_size = chunk;
    p->chunk_mask = ~(uintptr_t)(chunk - 1);
    p->hdr_bytes = hdr;
    p->owner_off = owners ? (uint32_t)(span + sizeof(tmp__chunk) + bitmap + fbits) : 0;
    p->live_off = (uint32_t)(sizeof(tmp__chunk) + fbits);
    p->chunk_objs = (chunk - hdr) / stride;
    /* An offset below 2^32 divided by a stride below 2^32 is the high half of its product with
     * this (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019): a store
     * finds a freed object's bit without a division. */
    p->stride_inv = chunk <= ((size_t)1 << 32) ? UINT64_MAX / stride + 1 : 0;
    p->autotrim = !(c.flags & TMP_F_NO_AUTOTRIM);
    /* 64 pointers, one cache refill or spill: magazines of 62 pointers on whole lines ran
     * batch n=100000 at 0.80 of these (16 alternating runs, twice) */
    p->mag_cap = 64;
    /* A store keeps the objects given to it last in magazines, about 256 KiB of them (at least
     * four magazines): the rest of its own chunks' objects go to their chunks' bits, to come back
     * chunk by chunk in address order (store.c). */
    size_t keep = ((size_t)256 << 10) / stride;
    keep = keep < 4 * p->mag_cap ? 4 * p->mag_cap : keep;
    p->mag_keep = (keep + p->mag_cap - 1) / p->mag_cap * p->mag_cap;
    return 0;
}

int tmp_pool_create(const tmp_config *cfg, tmp_pool **out) { return tmp__pool_create_min(cfg, 16, out); }

int tmp__pool_create_min(const tmp_config *cfg, size_t min_objs, tmp_pool **out)
{
    if (!cfg || !out || min_objs == 0)
        return EINVAL;
    tmp_pool tmp;
    memset(&tmp, 0, sizeof tmp);
    int err = geometry(cfg, min_objs, &tmp);
    if (err)
        return err;

    tmp_pool *p = aligned_alloc(TMP__PAD, (sizeof *p + TMP__PAD - 1) & ~(size_t)(TMP__PAD - 1));
    if (!p)
        return ENOMEM;
    *p = tmp;
    p->vt = strategies[p->cfg.strategy];
    atomic_init(&p->budget, p->cfg.max_objects);
    atomic_init(&p->bytes_reserved, 0);
    tmp__lock_init(&p->meta_lock, TMP__RANK_META);
    tmp__debug_pool_init(p);

    tmp__registry_add(p);
    if ((err = p->vt->init(p)) != 0) {
        tmp_pool_destroy(p);
        return err;
    }
    /* NODE only where arenas are nodes: tcache's depots are not, and a free there belongs in
     * the freeing thread's cache whichever depot handed the object out */
    bool nodes = p->vt == &tmp__strategy_numa && p->narenas > 1; /* numa_init may hand over to tcache */
    if (!p->slow && p->vt->cache_flush)
        p->fast = TMP__FAST_CACHE | (nodes ? TMP__FAST_NODE : 0) | (p->owner_off ? TMP__FAST_OWNER : 0);
    *out = p;
    return 0;
}

void tmp_pool_destroy(tmp_pool *pool)
{
    if (!pool)
        return;
    tmp__registry_remove(pool); /* orphans every thread's cache for this pool */
    if (pool->vt->fini)
        pool->vt->fini(pool);
    tmp__debug_pool_fini(pool);
    tmp__chunks_release_all(pool);
    tmp__lock_fini(&pool->meta_lock);
    free(pool);
}

/* Test-only (CMake TMP_TEST_SLOWDOWN=N, off by default): N increments of a volatile stack slot
 * on every allocation (a load, an add and a store each, chained through memory, so a few cycles
 * apiece), so that the regression gate's sensitivity can be measured against a known slowdown.
 * Nothing at all when off. */
#define TMP__STR2(x) #x
#define TMP__STR(x) TMP__STR2(x)
#if defined(TMP_TEST_SLOWDOWN) && TMP_TEST_SLOWDOWN > 0
#define TMP__VERSION TMP_VERSION_STRING "+test-slowdown-" TMP__STR(TMP_TEST_SLOWDOWN)
static inline void test_slowdown(void)
{
    volatile unsigned sink = 0;
    for (unsigned i = 0; i < TMP_TEST_SLOWDOWN; i++)
        sink = sink + 1;
}
#else
#define TMP__VERSION TMP_VERSION_STRING
static inline void test_slowdown(void) {}
#endif

/* Test-only (CMake TMP_TEST_STALL_NS=X, off by default): X nanoseconds per allocation on
 * average, as a wait on the clock of 1024 X every 1024th allocation of a thread. Unlike the
 * increments above, the core cannot overlap a wait with other work, so the added time is known:
 * the instrument's sensitivity to a given wall-clock change can be measured. */
#if defined(TMP_TEST_STALL_NS)
#include <time.h>
#define TMP__STALL_VERSION "+test-stall-" TMP__STR(TMP_TEST_STALL_NS) "ns"
static __thread unsigned stall_count __attribute__((tls_model("initial-exec")));
static void __attribute__((noinline)) test_stall_wait(void)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const long want = (long)(1024.0 * TMP_TEST_STALL_NS);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < want);
}
static inline void test_stall(void)
{
    if (TMP__UNLIKELY((++stall_count & 1023u) == 0))
        test_stall_wait();
}
#else
#define TMP__STALL_VERSION ""
static inline void test_stall(void) {}
#endif

const char *tmp_version(void) { return TMP__VERSION TMP__STALL_VERSION; }

void *tmp_alloc(tmp_pool *pool)
{
    test_slowdown();
    test_stall();
    if (TMP__LIKELY(pool->fast)) {
        void *obj;
        if (TMP__LIKELY(tmp__cache_try_take(pool, &obj)))
            return obj;
    }
    if (TMP__UNLIKELY(pool->slow))
        return tmp__checked_alloc(pool);
    return pool->vt->alloc(pool);
}

void tmp_free(tmp_pool *pool, void *obj)
{
    if (TMP__UNLIKELY(!obj))
        return;
    /* the plain cache first, on one compare: testing for any fast path and then for the NODE
     * and OWNER checks was two tests on every free */
    if (TMP__LIKELY(pool->fast == TMP__FAST_CACHE)) {
        if (TMP__LIKELY(tmp__cache_free_fast(pool, obj, TMP__FAST_CACHE)))
            return;
    } else if (pool->fast && tmp__cache_free_fast(pool, obj, pool->fast)) {
        return;
    }
    if (TMP__UNLIKELY(pool->slow)) {
        tmp__checked_free(pool, obj);
        return;
    }
    pool->vt->free(pool, obj);
}

/* The most objects the pool has held at once (live, cached or free): every object ever in use
 * was carved, so this bounds high water from above for the strategies that cannot afford to
 * track it exactly on their fast path. */
size_t tmp__carved_high(const tmp_pool *pool)
{
    tmp_pool *p = (tmp_pool *)pool;
    size_t now = 0;
    tmp__lock_acquire(&p->meta_lock);
    for (tmp__chunk *c = p->chunks; c; c = c->next)
        now += atomic_load_explicit(&c->carved, memory_order_relaxed);
    size_t peak = p->carved_peak > now ? p->carved_peak : now;
    tmp__lock_release(&p->meta_lock);
    return peak;
}

int tmp_pool_stats(const tmp_pool *pool, tmp_stats *out)
{
    if (!pool || !out)
        return EINVAL;
    memset(out, 0, sizeof *out);
    out->nodes = 1;
    pool->vt->stats(pool, out);
    out->in_use = out->allocs - out->frees;
    if (out->high_water < out->in_use)
        out->high_water = out->in_use; /* a snapshot taken while threads run */
    out->bytes_reserved = atomic_load_explicit(&((tmp_pool *)pool)->bytes_reserved,
                                               memory_order_relaxed);
    return 0;
}

int tmp_pool_config(const tmp_pool *pool, tmp_config *out)
{
    if (!pool || !out)
        return EINVAL;
    *out = pool->cfg;
    return 0;
}

int tmp_pool_node_of(const tmp_pool *pool, const void *obj)
{
    if (!pool || !obj)
        return -1;
    tmp__chunk *want = tmp__chunk_of(pool->chunk_mask, obj);
    int node = -1;
    tmp_pool *p = (tmp_pool *)pool;
    tmp__lock_acquire(&p->meta_lock);
    for (tmp__chunk *c = p->chunks; c; c = c->next)
        if (c == want) {
            node = (int)c->node;
            break;
        }
    tmp__lock_release(&p->meta_lock);
    return node;
}

