/* Magazine store: a stack of free-object pointers held in fixed-size magazines. Single-threaded;
 * the arena that owns a store holds its lock around every call. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Empty magazines move between a store and the pool in bundles of up to SPARE_TRADE, one
 * meta_lock hold per bundle: the pool's spare list is a stack of bundles, so a trade under that
 * pool-wide lock is two pointer writes whatever the bundle's size. Traded one at a time, batch
 * n=100000 at 2 threads passed 3,000 magazines a round each way through the lock (13,000 futex
 * calls a second). A store keeps at most STORE_SPARES empties, so a drained depot strands
 * little while another fills. */
#define SPARE_TRADE 16
#define STORE_SPARES (2 * SPARE_TRADE)

/* A bundle's head links the next bundle in obj[0] and counts its magazines in n; the rest hang
 * off head->next. A spare magazine's slots are free for that. */
static tmp__mag *bundle_next(const tmp__mag *head) { return (tmp__mag *)head->obj[0]; }

void tmp__spare_give(tmp_pool *pool, tmp__mag *chain, uint32_t count)
{
    TMP__ASSERT_HELD(&pool->meta_lock);
    chain->n = count;
    chain->obj[0] = pool->spare_mags;
    pool->spare_mags = chain;
}

/* A magazine for s, from a spare bundle (the rest of it becomes s's empties) or newly made;
 * NULL without memory. s has no empties. */
static tmp__mag *spare_take(tmp_pool *pool, tmp__store *s)
{
    tmp__lock_acquire(&pool->meta_lock);
    tmp__mag *h = pool->spare_mags;
    if (h)
        pool->spare_mags = bundle_next(h);
    else
        h = tmp__mag_make(pool);
    tmp__lock_release(&pool->meta_lock);
    if (!h)
        return NULL;
    if (h->next) {
        s->empty = h->next;
        s->nempty = h->n - 1;
    }
    h->n = 0;
    h->next = NULL;
    return h;
}

static tmp__mag *mag_get(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *m = s->empty;
    if (!m)
        return spare_take(pool, s);
    s->empty = m->next;
    s->nempty--;
    return m;
}

static void mag_put(tmp_pool *pool, tmp__store *s, tmp__mag *m)
{
    m->next = s->empty;
    s->empty = m;
    if (++s->nempty <= STORE_SPARES)
        return;
    /* the SPARE_TRADE put last go; they were just written, so the walk stays in this cache */
    tmp__mag *last = m;
    for (unsigned k = 1; k < SPARE_TRADE; k++)
        last = last->next;
    s->empty = last->next;
    s->nempty -= SPARE_TRADE;
    last->next = NULL;
    tmp__lock_acquire(&pool->meta_lock);
    tmp__spare_give(pool, m, SPARE_TRADE);
    tmp__lock_release(&pool->meta_lock);
}

void tmp__store_init(tmp__store *s)
{
    s->cur = s->full = s->empty = NULL;
    s->nempty = 0;
    s->count = 0;
}

int tmp__store_setup(tmp_pool *pool, tmp__store *s)
{
    tmp__lock_acquire(&pool->meta_lock);
    tmp__mag_reserve(pool, pool->mag_cap);
    tmp__lock_release(&pool->meta_lock);
    tmp__mag *m = spare_take(pool, s);
    if (!m)
        return -1;
    s->cur = m;
    return 0;
}

/* The current magazine is full: file it and start an empty one. */
static tmp__mag *next_empty(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *fresh = mag_get(pool, s);
    if (!fresh) {
        /* Magazines are reserved as chunks are carved, so this needs the OS to refuse a small
         * mapping; losing the object silently would be worse than stopping. */
        fprintf(stderr, "tmempool: pool %p: out of memory for free-list metadata\n", (void *)pool);
        abort();
    }
    s->cur->next = s->full;
    s->full = s->cur;
    fresh->n = 0;
    s->cur = fresh;
    return fresh;
}

size_t tmp__store_push(tmp_pool *pool, tmp__store *s, void *obj)
{
    tmp__mag *m = s->cur;
    if (TMP__UNLIKELY(m->n == pool->mag_cap))
        m = next_empty(pool, s);
    m->obj[m->n++] = obj;
    return ++s->count;
}

/* Batches (cache refills and spills) move whole runs of pointers with memcpy instead of one
 * call per object: the batch workload's refill cost fell by about a third in instructions. */
void tmp__store_push_many(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n)
{
    for (size_t done = 0; done < n;) {
        tmp__mag *m = s->cur;
        if (m->n == pool->mag_cap)
            m = next_empty(pool, s);
        size_t k = pool->mag_cap - m->n;
        if (k > n - done)
            k = n - done;
        memcpy(m->obj + m->n, objs + done, k * sizeof *objs);
        m->n += (uint32_t)k;
        done += k;
    }
    s->count += n;
}

/* out[0..n) keeps the store's order, its top last, across magazines too: a cache pops from the
 * end, so it hands the objects out in the order they were pushed in reverse, and a batch freed
 * in one address order comes back in one order (test pool.address_order). */
size_t tmp__store_pop_many(tmp_pool *pool, tmp__store *s, void **out, size_t want)
{
    size_t n = want < s->count ? want : s->count, left = n;
    while (left) {
        tmp__mag *m = s->cur;
        if (m->n == 0) {
            tmp__mag *f = s->full;
            s->full = f->next; /* count > 0 promises a full magazine below */
            mag_put(pool, s, m);
            s->cur = m = f;
        }
        size_t k = m->n < left ? m->n : left;
        m->n -= (uint32_t)k;
        left -= k;
        memcpy(out + left, m->obj + m->n, k * sizeof *out);
    }
    s->count -= n;
    return n;
}

void *tmp__store_pop(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *m = s->cur;
    if (TMP__UNLIKELY(m->n == 0)) {
        tmp__mag *f = s->full;
        if (!f)
            return NULL;
        s->full = f->next;
        mag_put(pool, s, m);
        s->cur = m = f;
    }
    s->count--;
    return m->obj[--m->n];
}
