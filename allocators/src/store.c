/* Magazine store: a stack of free-object pointers held in fixed-size magazines. Single-threaded;
 * the arena that owns a store holds its lock around every call. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static tmp__mag *mag_get(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *m = s->empty;
    if (m) {
        s->empty = m->next;
        s->nempty--;
        return m;
    }
    pthread_mutex_lock(&pool->meta_lock);
    m = pool->spare_mags;
    if (m)
        pool->spare_mags = m->next;
    else
        m = tmp__mag_make(pool);
    pthread_mutex_unlock(&pool->meta_lock);
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
    pthread_mutex_lock(&pool->meta_lock);
    m->next = pool->spare_mags;
    pool->spare_mags = m;
    pthread_mutex_unlock(&pool->meta_lock);
}

void tmp__store_init(tmp__store *s)
{
    s->cur = s->full = s->empty = NULL;
    s->nempty = 0;
    s->count = 0;
}

int tmp__store_setup(tmp_pool *pool, tmp__store *s)
{
    pthread_mutex_lock(&pool->meta_lock);
    tmp__mag_reserve(pool, pool->mag_cap);
    tmp__mag *m = pool->spare_mags;
    if (m)
        pool->spare_mags = m->next;
    pthread_mutex_unlock(&pool->meta_lock);
    if (!m)
        return -1;
    m->n = 0;
    m->next = NULL;
    s->cur = m;
    return 0;
}

void tmp__store_push(tmp_pool *pool, tmp__store *s, void *obj)
{
    tmp__mag *m = s->cur;
    if (TMP__UNLIKELY(m->n == pool->mag_cap)) {
        tmp__mag *fresh = mag_get(pool, s);
        if (!fresh) {
            /* Magazines are reserved as chunks are carved, so this needs the OS to refuse
             * a 64 KiB mapping; losing the object silently would be worse than stopping. */
            fprintf(stderr, "tmempool: pool %p: out of memory for free-list metadata\n",
                    (void *)pool);
            abort();
        }
        m->next = s->full;
        s->full = m;
        fresh->n = 0;
        s->cur = m = fresh;
    }
    m->obj[m->n++] = obj;
    s->count++;
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
