/* tcache: a per-thread magazine in front of one shared depot (Bonwick and Adams, "Magazines and
 * Vmem", 2001; tcmalloc's transfer cache moves batches the same way). The fast path touches only
 * the thread's own cache: no lock, no atomic read-modify-write. A refill takes half a cache's
 * worth from the depot under its lock; an overflow gives the older half back, so cross-thread
 * frees flow to the allocating threads in batches instead of piling up. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int tcache_init(tmp_pool *pool)
{
    pool->narenas = 1;
    pool->arenas = aligned_alloc(TMP__PAD, sizeof(tmp__arena));
    if (!pool->arenas)
        return ENOMEM;
    return tmp__arena_init(pool, &pool->arenas[0], 0);
}

/* The cache is empty: refill half of it from arena a. */
void *tmp__tcache_refill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    if (c->spilled && c->lim < c->cap)
        c->lim = c->lim * 2 < c->cap ? c->lim * 2 : c->cap; /* it gave away what it now needs */
    c->spilled = false;
    c->spills_run = 0;
    tmp__lock_acquire(&a->lock);
    size_t got = tmp__arena_take_many(pool, a, c->obj, c->batch);
    tmp__lock_release(&a->lock);
    tmp__count(&c->misses);
    if (got == 0) {
        errno = ENOMEM;
        return NULL;
    }
    c->n = (uint32_t)got;
    tmp__count(&c->allocs);
    return c->obj[--c->n];
}

/* The cache is full: give its older half to arena a, keep the recently freed (cache-warm) half. */
void tmp__tcache_spill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    tmp__arena_give_many(pool, a, c->obj, c->batch);
    tmp__lock_release(&a->lock);
    memmove(c->obj, c->obj + c->batch, (c->n - c->batch) * sizeof(void *));
    c->n -= c->batch;
    c->spilled = true;
    /* gave away four times its size without asking for any back: it has become a consumer */
    if (++c->spills_run * c->batch >= 4 * c->lim && c->lim > c->lim0) {
        c->lim /= 2;
        c->spills_run = 0;
    }
    tmp__trim_if_due(pool);
}

static void *alloc_uncached(tmp_pool *pool)
{
    tmp__arena *a = &pool->arenas[0];
    tmp__lock_acquire(&a->lock);
    void *obj = tmp__arena_take(pool, a);
    a->allocs += obj != NULL;
    tmp__lock_release(&a->lock);
    return obj;
}

static void free_uncached(tmp_pool *pool, void *obj)
{
    tmp__arena *a = &pool->arenas[0];
    tmp__lock_acquire(&a->lock);
    tmp__arena_give(pool, a, obj);
    a->frees++;
    tmp__lock_release(&a->lock);
    tmp__trim_if_due(pool);
}

static __attribute__((noinline)) void *tcache_alloc_slow(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c)
        return alloc_uncached(pool); /* no memory for a cache: serve the call anyway */
    if (c->n) {
        tmp__count(&c->allocs);
        return c->obj[--c->n];
    }
    return tmp__tcache_refill(pool, c, &pool->arenas[0]);
}

static void *tcache_alloc(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (TMP__LIKELY(c && c->n)) {
        tmp__count(&c->allocs);
        return c->obj[--c->n];
    }
    return tcache_alloc_slow(pool);
}

static __attribute__((noinline)) void tcache_free_slow(tmp_pool *pool, void *obj)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c) {
        free_uncached(pool, obj);
        return;
    }
    while (c->n >= c->lim)
        tmp__tcache_spill(pool, c, &pool->arenas[0]);
    c->obj[c->n++] = obj;
    tmp__count(&c->frees);
}

static void tcache_free(tmp_pool *pool, void *obj)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (TMP__LIKELY(c && c->n < c->lim)) {
        c->obj[c->n++] = obj;
        tmp__count(&c->frees);
        return;
    }
    tcache_free_slow(pool, obj);
}

static void tcache_flush(tmp_pool *pool, tmp__tcache *c)
{
    tmp__arena *a = &pool->arenas[0];
    tmp__lock_acquire(&a->lock);
    tmp__arena_give_many(pool, a, c->obj, c->n);
    tmp__lock_release(&a->lock);
    c->n = 0;
}

/* Counters of the caches plus the uncached fallbacks; high water from the carved total, since
 * counting it exactly would need a shared counter on the fast path. */
void tmp__cached_stats(const tmp_pool *pool, tmp_stats *out)
{
    tmp__arenas_stats(pool, out);
    tmp__tcache_stats(pool, out);
    out->high_water = tmp__carved_high(pool);
}

const tmp__strategy tmp__strategy_tcache = {
    .name = "tcache",
    .init = tcache_init,
    .fini = tmp__arenas_fini,
    .alloc = tcache_alloc,
    .free = tcache_free,
    .stats = tmp__cached_stats,
    .cache_flush = tcache_flush,
};
