/* Size-aligned chunks carved lazily into objects, and the metadata area that holds magazines,
 * both mapped through os.c. Every byte here is counted in bytes_reserved and returned at destroy
 * or trim. */
#include "internal.h"

#include <errno.h>
#include <string.h>

struct tmp__meta_block {
    struct tmp__meta_block *next;
    size_t size;
};

#define TMP__META_BLOCK ((size_t)64 << 10)

static size_t mag_bytes(const tmp_pool *pool)
{
    return (sizeof(tmp__mag) + pool->mag_cap * sizeof(void *) + 15) & ~(size_t)15;
}

#define META_HDR ((sizeof(struct tmp__meta_block) + 15) & ~(size_t)15)

/* Maps one metadata block for the blocks not yet carved; false when the OS says no. While the
 * pool's own list has room it is not written: a block mapped ahead may never be carved (a set's
 * class that never pushes to a store), and its header alone would fault a page. */
static bool meta_block_ahead(tmp_pool *pool)
{
    size_t mb = mag_bytes(pool);
    size_t bs = TMP__META_BLOCK > mb * 4 ? TMP__META_BLOCK : tmp__os_round(mb * 4);
    struct tmp__meta_block *b = tmp__os_map(bs, 4096);
    if (!b)
        return false;
    if (pool->n_ahead < TMP__AHEAD_KEPT) {
        pool->ahead_at[pool->n_ahead] = b;
        pool->ahead_bytes[pool->n_ahead++] = bs;
    } else {
        b->size = bs;
        b->next = pool->meta_ahead;
        pool->meta_ahead = b;
    }
    pool->mag_room += (bs - META_HDR) / mb;
    atomic_fetch_add_explicit(&pool->bytes_reserved, bs, memory_order_relaxed);
    return true;
}

/* Makes one magazine from the metadata area, mapping a block if none is left. meta_lock held. */
tmp__mag *tmp__mag_make(tmp_pool *pool)
{
    TMP__ASSERT_HELD(&pool->meta_lock);
    size_t mb = mag_bytes(pool);
    if ((size_t)(pool->meta_end - pool->meta_cur) < mb) {
        if (!pool->n_ahead && !pool->meta_ahead && !meta_block_ahead(pool))
            return NULL;
        struct tmp__meta_block *b;
        if (pool->meta_ahead) {
            b = pool->meta_ahead;
            pool->meta_ahead = b->next;
        } else {
            b = pool->ahead_at[--pool->n_ahead];
            b->size = pool->ahead_bytes[pool->n_ahead];
        }
        b->next = pool->meta_blocks;
        pool->meta_blocks = b;
        pool->meta_cur = (char *)b + META_HDR;
        pool->meta_end = (char *)b + b->size;
    }
    tmp__mag *m = (tmp__mag *)pool->meta_cur;
    pool->meta_cur += mb;
    pool->mag_count++;
    pool->mag_room--;
    m->n = 0;
    m->next = NULL;
    return m;
}

/* Accounts for `objects` more objects that may sit in stores, and maps metadata blocks until
 * magazines for all of them could be made: a free can then never fail for want of a magazine.
 * The magazines themselves are made when a store first needs them (tmp__mag_make), so a chunk's
 * metadata is touched as its objects come back, not when it is mapped (a block's header page
 * aside): making them here wrote
 * one line every 528 bytes of metadata, 8 of a 16-byte class chunk's 16 pages, and a replayed
 * cc1 trace spent 28% of its allocation slow path in those first touches. meta_lock held. */
void tmp__mag_reserve(tmp_pool *pool, size_t objects)
{
    TMP__ASSERT_HELD(&pool->meta_lock);
    pool->obj_capacity += objects;
    while ((pool->mag_count + pool->mag_room) * pool->mag_cap < pool->obj_capacity)
        if (!meta_block_ahead(pool))
            return; /* a later push that finds no magazine reports it */
}

static size_t reserve_budget(tmp_pool *pool, size_t want)
{
    if (pool->cfg.max_objects == 0)
        return want;
    size_t left = atomic_load_explicit(&pool->budget, memory_order_relaxed);
    for (;;) {
        size_t take = left < want ? left : want;
        if (take == 0)
            return 0;
        if (atomic_compare_exchange_weak_explicit(&pool->budget, &left, left - take,
                                                  memory_order_relaxed, memory_order_relaxed))
            return take;
    }
}

tmp__chunk *tmp__chunk_new(tmp_pool *pool, tmp__arena *a)
{
    TMP__ASSERT_HELD(&a->lock);
    size_t limit = reserve_budget(pool, pool->chunk_objs);
    if (limit == 0) {
        errno = ENOMEM;
        return NULL;
    }
    char *base = tmp__os_map(pool->chunk_size, pool->chunk_size);
    if (!base) {
        if (pool->cfg.max_objects)
            atomic_fetch_add_explicit(&pool->budget, limit, memory_order_relaxed);
        errno = ENOMEM;
        return NULL;
    }
    if (pool->vt == &tmp__strategy_numa)
        (void)tmp__topo_bind(base, pool->chunk_size, a->node); /* best effort: see topology.c */
    tmp__chunk *c = tmp__chunk_of(pool->chunk_mask, base);
    if ((char *)c != base) { /* the copy a lookup by header alone reads (internal.h) */
        ((tmp__chunk *)base)->magic = TMP__CHUNK_MAGIC;
        ((tmp__chunk *)base)->pool = pool;
    }
    c->magic = TMP__CHUNK_MAGIC;
    c->pool = pool;
    c->arena = a;
    c->objs = base + pool->hdr_bytes;
    c->limit = limit;
    c->carved = 0;
    c->node = a->node;
    c->live = (pool->cfg.flags & TMP_F_DEBUG) ? (_Atomic uint64_t *)((char *)c + pool->live_off) : NULL;
    memset(tmp__chunk_fbits(c), 0, (limit / 64 + 1) * sizeof(uint64_t));
    c->nfree = c->fhint = 0;
    c->fnext = NULL;
    atomic_fetch_add_explicit(&pool->bytes_reserved, pool->chunk_size, memory_order_relaxed);
    tmp__chunk_tools_new(pool, c);
    if ((pool->fast & ~TMP__FAST_OWNER) == TMP__FAST_CACHE && pool->chunk_size == (size_t)1 << TMP__MAP_SHIFT)
        tmp__chunkmap_set(c, pool->id | (pool->fast & TMP__FAST_OWNER ? TMP__MAP_OWNER : 0));

    tmp__lock_acquire(&pool->meta_lock);
    c->next = pool->chunks;
    pool->chunks = c;
    tmp__mag_reserve(pool, limit);
    /* Mapping again what an automatic trim gave back means that trim came too early: later
     * automatic trims keep that much (batch with 10k objects a round mapped and unmapped ten
     * chunks every round and ran at a quarter of its speed). */
    size_t again = pool->trim_owed < limit ? pool->trim_owed : limit;
    pool->trim_owed -= again;
    atomic_store_explicit(&pool->trim_keep,
                          atomic_load_explicit(&pool->trim_keep, memory_order_relaxed) + again,
                          memory_order_relaxed);
    tmp__lock_release(&pool->meta_lock);
    return c;
}

void tmp__chunks_release_all(tmp_pool *pool)
{
    for (tmp__chunk *c = pool->chunks, *next; c; c = next) {
        next = c->next;
        tmp__chunkmap_clear(c);
        tmp__os_unmap(tmp__chunk_base(pool, c), pool->chunk_size);
    }
    pool->chunks = NULL;
    for (int ahead = 0; ahead < 2; ahead++) {
        for (struct tmp__meta_block *b = ahead ? pool->meta_ahead : pool->meta_blocks, *next; b; b = next) {
            next = b->next;
            tmp__os_unmap(b, b->size);
        }
    }
    pool->meta_blocks = pool->meta_ahead = NULL;
    while (pool->n_ahead) {
        pool->n_ahead--;
        tmp__os_unmap(pool->ahead_at[pool->n_ahead], pool->ahead_bytes[pool->n_ahead]);
    }
}
