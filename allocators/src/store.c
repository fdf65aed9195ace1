/* Magazine store: a stack of free-object pointers held in fixed-size magazines. Single-threaded;
 * the arena that owns a store holds its lock around every call. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tmp__mag *mag_get(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *m = s->empty;
    if (m) {
        s->empty = m->next;
        s->nempty--;
        return m;
    }
    tmp__lock_acquire(&pool->meta_lock);
    m = pool->spare_mags;
    if (m)
        pool->spare_mags = m->next;
    else
        m = tmp__mag_make(pool);
    tmp__lock_release(&pool->meta_lock);
    return m;
}

/* A store keeps a couple of empty magazines for the next push; more would strand magazines
 * in one stripe while another needs them. */
#define STORE_SPARES 2

static void mag_put(tmp_pool *pool, tmp__store *s, tmp__mag *m)
{
    if (s->nempty < STORE_SPARES) {
        m->next = s->empty;
        s->empty = m;
        s->nempty++;
        return;
    }
    tmp__lock_acquire(&pool->meta_lock);
    m->next = pool->spare_mags;
    pool->spare_mags = m;
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
    tmp__mag *m = pool->spare_mags;
    if (m)
        pool->spare_mags = m->next;
    else
        m = tmp__mag_make(pool);
    tmp__lock_release(&pool->meta_lock);
    if (!m)
        return -1;
    m->n = 0;
    m->next = NULL;
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
