/* tcache: a per-thread magazine in front of one shared depot (Bonwick and Adams, "Magazines and
 * Vmem", 2001; tcmalloc's transfer cache moves batches the same way). The fast path touches only
 * the thread's own cache: no lock, no atomic read-modify-write. A refill takes half a cache's
 * worth from the depot under its lock; an overflow gives the older half back, so cross-thread
 * frees flow to the allocating threads in batches instead of piling up. The cache paths live in
 * tcache.c, shared with numa; this file is what makes the depot a single arena. */
#include "internal.h"

static int tcache_init(tmp_pool *pool) { return tmp__arenas_init(pool, 1, false); }

static __attribute__((noinline)) void *tcache_alloc_slow(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c)
        return tmp__arena_alloc(pool, &pool->arenas[0]); /* no memory for a cache: serve the call anyway */
    if (c->n)
        return tmp__cache_take(c);
    return tmp__tcache_refill(pool, c, &pool->arenas[0]);
}

static void *tcache_alloc(tmp_pool *pool)
{
    tmp__tcache *c = tmp__cache_for_alloc(pool);
    if (TMP__LIKELY(c))
        return tmp__cache_take(c);
    return tcache_alloc_slow(pool);
}

static __attribute__((noinline)) void tcache_free_slow(tmp_pool *pool, void *obj)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c) {
        tmp__arena_free(pool, &pool->arenas[0], obj);
        return;
    }
    if (tmp__tcache_keep_foreign(pool, c, obj, &pool->arenas[0])) {
        tmp__count(&c->frees);
        return;
    }
    while (c->n >= c->lim)
        tmp__tcache_spill(pool, c, &pool->arenas[0]);
    tmp__cache_put(c, obj);
}

static void tcache_free(tmp_pool *pool, void *obj)
{
    if (TMP__LIKELY(tmp__cache_free_fast(pool, obj, pool->owner_off ? TMP__FAST_OWNER : 0)))
        return;
    tcache_free_slow(pool, obj);
}

const tmp__strategy tmp__strategy_tcache = {
    .name = "tcache",
    .init = tcache_init,
    .fini = tmp__arenas_fini,
    .alloc = tcache_alloc,
    .free = tcache_free,
    .stats = tmp__cached_stats,
    .cache_flush = tmp__tcache_flush,
};
