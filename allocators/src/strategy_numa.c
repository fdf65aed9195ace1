/* numa: one arena per NUMA node, its chunks bound to that node, and a per-thread cache in front.
 * A thread's cache holds objects of the node it runs on (looked up through hwloc on the slow
 * path, refreshed every REFRESH refills). A free of an object from another node is buffered per
 * home node and sent home in batches, so a remote object never lands in a local cache. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#define REFRESH 64

void *tmp__tcache_refill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a);
void tmp__tcache_spill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a);
void tmp__cached_stats(const tmp_pool *pool, tmp_stats *out);

static int numa_init(tmp_pool *pool)
{
    unsigned n = (unsigned)tmp__topo_nodes();
    pool->arenas = aligned_alloc(TMP__PAD, n * sizeof(tmp__arena));
    if (!pool->arenas)
        return ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int err = tmp__arena_init(pool, &pool->arenas[i], i);
        pool->narenas = i + 1;
        if (err)
            return err;
    }
    return 0;
}

static void send_home(tmp_pool *pool, tmp__tcache *c, unsigned node)
{
    tmp__arena *a = &pool->arenas[node];
    tmp__lock_acquire(&a->lock);
    tmp__arena_give_many(pool, a, c->rbuf[node], c->rn[node]);
    tmp__lock_release(&a->lock);
    c->rn[node] = 0;
}

/* registry lock held, or the owner thread. */
static void numa_flush(tmp_pool *pool, tmp__tcache *c)
{
    tmp__arena *a = &pool->arenas[c->node];
    tmp__lock_acquire(&a->lock);
    tmp__arena_give_many(pool, a, c->obj, c->n);
    tmp__lock_release(&a->lock);
    c->n = 0;
    for (unsigned i = 0; i < c->nrbuf; i++)
        if (c->rn[i])
            send_home(pool, c, i);
}

static __attribute__((noinline)) void *numa_alloc_slow(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c) {
        tmp__arena *a = &pool->arenas[0];
        tmp__lock_acquire(&a->lock);
        void *obj = tmp__arena_take(pool, a);
        a->allocs += obj != NULL;
        tmp__lock_release(&a->lock);
        return obj; /* no memory for a cache: serve the call anyway */
    }
    if (c->n) {
        tmp__count(&c->allocs);
        return c->obj[--c->n];
    }
    if (pool->narenas > 1 && ++c->refills >= REFRESH) {
        c->refills = 0;
        unsigned now = (unsigned)tmp__topo_current_node() % pool->narenas;
        if (now != c->node) {
            numa_flush(pool, c); /* empty anyway except for remote buffers */
            c->node = now;
        }
    }
    return tmp__tcache_refill(pool, c, &pool->arenas[c->node]);
}

static void *numa_alloc(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (TMP__LIKELY(c && c->n)) {
        tmp__count(&c->allocs);
        return c->obj[--c->n];
    }
    return numa_alloc_slow(pool);
}

static __attribute__((noinline)) void numa_free_slow(tmp_pool *pool, void *obj)
{
    unsigned home = tmp__chunk_of(pool->chunk_mask, obj)->node;
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c) {
        tmp__arena *a = &pool->arenas[home];
        tmp__lock_acquire(&a->lock);
        tmp__arena_give(pool, a, obj);
        a->frees++;
        tmp__lock_release(&a->lock);
        tmp__trim_if_due(pool);
        return;
    }
    tmp__count(&c->frees);
    if (home != c->node) {
        tmp__count(&c->remote);
        c->rbuf[home][c->rn[home]++] = obj;
        if (c->rn[home] == c->batch) {
            send_home(pool, c, home);
            tmp__trim_if_due(pool);
        }
        return;
    }
    while (c->n >= c->lim)
        tmp__tcache_spill(pool, c, &pool->arenas[c->node]);
    c->obj[c->n++] = obj;
}

static void numa_free(tmp_pool *pool, void *obj)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (TMP__LIKELY(c && c->n < c->lim &&
                    tmp__chunk_of(pool->chunk_mask, obj)->node == c->node)) {
        c->obj[c->n++] = obj;
        tmp__count(&c->frees);
        return;
    }
    numa_free_slow(pool, obj);
}

static void numa_stats(const tmp_pool *pool, tmp_stats *out)
{
    tmp__cached_stats(pool, out);
    out->nodes = pool->narenas;
}

const tmp__strategy tmp__strategy_numa = {
    .name = "numa",
    .init = numa_init,
    .fini = tmp__arenas_fini,
    .alloc = numa_alloc,
    .free = numa_free,
    .stats = numa_stats,
    .cache_flush = numa_flush,
};
