/* tmp_pool_trim: gives back to the OS every chunk whose carved objects are all free in the
 * pool's stores, as pointers in magazines or as bits in the chunk. Objects held in thread caches count as in use, so a chunk with any of them
 * stays. Stops the world of the pool (every arena lock) for one pass over its free objects. */
#include "internal.h"

#define EMPTY_MARK SIZE_MAX

static size_t dropped_in(tmp_pool *pool, const tmp__store *s)
{
    size_t n = 0;
    const tmp__mag *top = s->cur == &tmp__mag_none ? NULL : s->cur;
    for (const tmp__mag *m = top; m; m = (m == top) ? s->full : m->next)
        for (uint32_t i = 0; i < m->n; i++)
            n += tmp__chunk_of(pool->chunk_mask, m->obj[i])->tally == EMPTY_MARK;
    return n;
}

/* Packs the kept pointers into the fewest magazines, in the store's order; spent magazines
 * become spares. The order matters: a pass that packed from the top down turned the stack over
 * a magazine at a time, and a batch then came back in runs of 64 that went down while each run
 * went up, the walk that defeats the prefetcher (test pool.address_order). */
static void compact(tmp_pool *pool, tmp__store *s)
{
    if (dropped_in(pool, s) == 0)
        return;
    s->cur->next = s->full;
    tmp__mag *head = NULL; /* the chain bottom first */
    for (tmp__mag *m = s->cur, *next; m; m = next) {
        next = m->next;
        m->next = head;
        head = m;
    }
    tmp__mag *w = head;
    uint32_t wi = 0;
    size_t kept = 0;
    for (tmp__mag *m = head; m; m = m->next) {
        uint32_t n = m->n; /* read before w may rewrite m */
        for (uint32_t i = 0; i < n; i++) {
            void *obj = m->obj[i];
            if (tmp__chunk_of(pool->chunk_mask, obj)->tally == EMPTY_MARK)
                continue;
            w->obj[wi++] = obj;
            kept++;
            if (wi == pool->mag_cap) {
                w->n = wi;
                w = w->next; /* cannot run off the chain: something was dropped */
                wi = 0;
            }
        }
    }
    w->n = wi;
    tmp__mag *rest = w->next;
    w->next = NULL;
    /* head..(before w) are full, bottom first; w, the partial one, is the top. */
    tmp__mag *full = NULL;
    for (tmp__mag *m = head, *next; m != w; m = next) {
        next = m->next;
        m->next = full;
        full = m;
    }
    s->cur = w;
    s->full = full;
    uint32_t spent = 0;
    for (tmp__mag *m = rest; m; m = m->next)
        spent++;
    if (rest)
        tmp__spare_give(pool, rest, spent); /* meta_lock is held by the caller */
    s->count = kept + s->in_bits;
}

/* Takes the chunks about to be unmapped off s's list of chunks with bits. */
static void drop_bits(tmp__store *s)
{
    for (tmp__chunk **pp = &s->bits; *pp;) {
        tmp__chunk *c = *pp;
        if (c->tally != EMPTY_MARK) {
            pp = &c->fnext;
            continue;
        }
        *pp = c->fnext;
        s->in_bits -= c->nfree;
        s->count -= c->nfree;
    }
}

size_t tmp_pool_trim(tmp_pool *pool) { return pool ? tmp__trim_pass(pool, false) : 0; }

/* An automatic pass leaves trim_keep objects' worth of empty chunks mapped and counts what it
 * gives back as owed; an explicit one (tmp_pool_trim) gives back every empty chunk. */
size_t tmp__trim_pass(tmp_pool *pool, bool automatic)
{
    if (!pool->arenas)
        return 0;
    for (unsigned i = 0; i < pool->narenas; i++)
        tmp__lock_acquire(&pool->arenas[i].lock);
    tmp__lock_acquire(&pool->meta_lock);

    size_t carved_now = 0;
    for (tmp__chunk *c = pool->chunks; c; c = c->next) {
        c->tally = c->nfree; /* its objects kept as bits, in its own arena's store */
        carved_now += atomic_load_explicit(&c->carved, memory_order_relaxed);
    }
    if (carved_now > pool->carved_peak)
        pool->carved_peak = carved_now;
    for (unsigned i = 0; i < pool->narenas; i++) {
        const tmp__store *s = &pool->arenas[i].store;
        const tmp__mag *top = s->cur == &tmp__mag_none ? NULL : s->cur;
        for (const tmp__mag *m = top; m; m = (m == top) ? s->full : m->next)
            for (uint32_t k = 0; k < m->n; k++)
                tmp__chunk_of(pool->chunk_mask, m->obj[k])->tally++;
    }
    bool any = false;
    size_t kept = 0, keep = automatic ? atomic_load_explicit(&pool->trim_keep, memory_order_relaxed) : 0;
    for (tmp__chunk *c = pool->chunks; c; c = c->next)
        if (c->tally == atomic_load_explicit(&c->carved, memory_order_relaxed)) {
            if (kept < keep) {
                kept += c->limit;
                continue;
            }
            c->tally = EMPTY_MARK;
            any = true;
        }

    size_t given = 0;
    if (any) {
        for (unsigned i = 0; i < pool->narenas; i++) {
            tmp__arena *a = &pool->arenas[i];
            drop_bits(&a->store);
            compact(pool, &a->store);
            if (a->bump && a->bump->tally == EMPTY_MARK)
                a->bump = NULL;
        }
        for (tmp__chunk **pp = &pool->chunks; *pp;) {
            tmp__chunk *c = *pp;
            if (c->tally != EMPTY_MARK) {
                pp = &c->next;
                continue;
            }
            *pp = c->next;
            if (pool->cfg.max_objects)
                atomic_fetch_add_explicit(&pool->budget, c->limit, memory_order_relaxed);
            pool->obj_capacity -= c->limit;
            if (automatic)
                pool->trim_owed += c->limit;
            tmp__chunk_tools_release(pool, c);
            tmp__chunkmap_clear(c);
            tmp__os_unmap(tmp__chunk_base(pool, c), pool->chunk_size);
            atomic_fetch_sub_explicit(&pool->bytes_reserved, pool->chunk_size,
                                      memory_order_relaxed);
            given += pool->chunk_size;
        }
    }
    /* The next automatic pass waits for a quarter more free objects than this one left (a chunk's
     * worth at least): a pass that found chunks still in use is not repeated at once, and the
     * count of objects visited stays within a few per free. The threshold grows by a quarter,
     * never doubles: a threshold that doubled after each empty pass once outgrew what the pool
     * could hold, and striped footprint at 2 threads never trimmed (14.5 MB kept). */
    size_t held = 0;
    for (unsigned i = 0; i < pool->narenas; i++) {
        tmp__arena *a = &pool->arenas[i];
        held += a->store.count;
        atomic_store_explicit(&a->free_pub, a->store.count, memory_order_relaxed);
    }
    size_t step = held / 4 > pool->chunk_objs ? held / 4 : pool->chunk_objs;
    atomic_store_explicit(&pool->trim_at, held + step, memory_order_relaxed);
    tmp__lock_release(&pool->meta_lock);
    for (unsigned i = pool->narenas; i-- > 0;)
        tmp__lock_release(&pool->arenas[i].lock);
    return given;
}
