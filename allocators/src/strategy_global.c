/* global: one arena behind one lock. The reference design every other strategy must beat; its
 * counters and high water are exact because every operation holds the lock anyway. */
#include "internal.h"

static int global_init(tmp_pool *pool) { return tmp__arenas_init(pool, 1, false); }

static void *global_alloc(tmp_pool *pool) { return tmp__arena_alloc(pool, &pool->arenas[0]); }

static void global_free(tmp_pool *pool, void *obj) { tmp__arena_free(pool, &pool->arenas[0], obj); }

const tmp__strategy tmp__strategy_global = {
    .name = "global",
    .init = global_init,
    .fini = tmp__arenas_fini,
    .alloc = global_alloc,
    .free = global_free,
    .stats = tmp__arenas_stats,
};
