/* global: one arena behind one lock. The reference design every other strategy must beat; its
 * counters and high water are exact because every operation holds the lock anyway. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static int global_init(tmp_pool *pool)
{
    pool->narenas = 1;
    pool->arenas = aligned_alloc(TMP__PAD, sizeof(tmp__arena));
    if (!pool->arenas)
        return ENOMEM;
    return tmp__arena_init(pool, &pool->arenas[0], 0);
}

void tmp__arenas_fini(tmp_pool *pool)
{
    if (!pool->arenas)
        return;
    for (unsigned i = 0; i < pool->narenas; i++)
        tmp__arena_fini(&pool->arenas[i]);
    free(pool->arenas);
    pool->arenas = NULL;
}

static void *global_alloc(tmp_pool *pool)
{
    tmp__arena *a = &pool->arenas[0];
    tmp__lock_acquire(&a->lock);
    void *obj = tmp__arena_take(pool, a);
    a->allocs += obj != NULL;
    tmp__lock_release(&a->lock);
    return obj;
}

static void global_free(tmp_pool *pool, void *obj)
{
    tmp__arena *a = &pool->arenas[0];
    tmp__lock_acquire(&a->lock);
    tmp__arena_give(pool, a, obj);
    a->frees++;
    tmp__lock_release(&a->lock);
    tmp__trim_if_due(pool);
}

/* Sums the counters of every arena; high water is the arenas' own (exact for one arena). */
void tmp__arenas_stats(const tmp_pool *pool, tmp_stats *out)
{
    for (unsigned i = 0; i < pool->narenas; i++) {
        tmp__arena *a = &pool->arenas[i];
        tmp__lock_acquire(&a->lock);
        out->allocs += a->allocs;
        out->frees += a->frees;
        out->lock_waits += a->lock.waits;
        if (pool->narenas == 1)
            out->high_water = a->out_high;
        tmp__lock_release(&a->lock);
    }
}

const tmp__strategy tmp__strategy_global = {
    .name = "global",
    .init = global_init,
    .fini = tmp__arenas_fini,
    .alloc = global_alloc,
    .free = global_free,
    .stats = tmp__arenas_stats,
};
