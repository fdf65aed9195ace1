/* Arena: a store of free objects plus the chunk it carves new objects from, behind one lock.
 * Every strategy is built from arenas; the caller holds a->lock around take and give. */
#include "internal.h"

#include <errno.h>
#include <string.h>

int tmp__arena_init(tmp_pool *pool, tmp__arena *a, unsigned node)
{
    memset(a, 0, sizeof *a);
    tmp__lock_init(&a->lock);
    tmp__store_init(&a->store);
    a->node = node;
    return tmp__store_setup(pool, &a->store) == 0 ? 0 : ENOMEM;
}

void tmp__arena_fini(tmp__arena *a) { tmp__lock_fini(&a->lock); }

static void *carve(tmp_pool *pool, tmp__arena *a)
{
    tmp__chunk *c = a->bump;
    size_t k = c ? atomic_load_explicit(&c->carved, memory_order_relaxed) : 0;
    if (!c || k == c->limit) {
        c = tmp__chunk_new(pool, a);
        if (!c)
            return NULL;
        a->bump = c;
        k = 0;
    }
    atomic_store_explicit(&c->carved, k + 1, memory_order_relaxed);
    return c->objs + k * pool->stride;
}

void *tmp__arena_take(tmp_pool *pool, tmp__arena *a)
{
    void *obj = tmp__store_pop(pool, &a->store);
    if (!obj && !(obj = carve(pool, a)))
        return NULL;
    if (++a->out > a->out_high)
        a->out_high = a->out;
    return obj;
}

size_t tmp__arena_take_many(tmp_pool *pool, tmp__arena *a, void **out, size_t want)
{
    size_t n = 0;
    while (n < want) {
        void *obj = tmp__store_pop(pool, &a->store);
        if (!obj && !(obj = carve(pool, a)))
            break;
        out[n++] = obj;
    }
    a->out += n;
    if (a->out > a->out_high)
        a->out_high = a->out;
    return n;
}

void tmp__arena_give(tmp_pool *pool, tmp__arena *a, void *obj)
{
    tmp__store_push(pool, &a->store, obj);
    a->out--;
}

void tmp__arena_give_many(tmp_pool *pool, tmp__arena *a, void *const *objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tmp__store_push(pool, &a->store, objs[i]);
    a->out -= n;
}
