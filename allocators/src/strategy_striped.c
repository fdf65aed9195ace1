/* striped: N arenas, each with its own lock on its own cache-line pair. A thread allocates from
 * and frees to its home stripe; a stripe that runs dry takes a batch from the others before the
 * pool grows. lock_waits shows how often two threads met on one stripe. */
#include "internal.h"

#define STEAL_BATCH 32

/* the thread's stripe index for pools of home_for stripes: saves a division on every call
 * (about 10 cycles on the machines measured; a thread that alternates between pools of
 * different stripe counts just pays it again) */
static __thread unsigned home_for __attribute__((tls_model("initial-exec"))), home_idx __attribute__((tls_model("initial-exec")));

static int striped_init(tmp_pool *pool) { return tmp__arenas_init(pool, pool->cfg.stripes, false); }

/* Threads take homes round-robin in the order they first used a pool (tmp__thread_index). */
static __attribute__((noinline)) unsigned home_slow(unsigned n)
{
    home_for = n;
    return home_idx = tmp__thread_index() % n;
}

static inline tmp__arena *home(tmp_pool *pool)
{
    unsigned n = pool->narenas;
    return &pool->arenas[TMP__LIKELY(home_for == n) ? home_idx : home_slow(n)];
}

/* The home stripe is empty and its bump chunk spent: move a batch over from another stripe. */
static void *steal(tmp_pool *pool, tmp__arena *mine)
{
    void *batch[STEAL_BATCH];
    size_t got = 0;
    unsigned self = (unsigned)(mine - pool->arenas);
    for (unsigned k = 1; k < pool->narenas && got == 0; k++) {
        tmp__arena *other = &pool->arenas[(self + k) % pool->narenas];
        tmp__lock_acquire(&other->lock);
        while (got < STEAL_BATCH && other->store.count) {
            batch[got++] = tmp__store_pop(pool, &other->store);
        }
        tmp__arena_moved_out(other, got);
        tmp__lock_release(&other->lock);
    }
    tmp__lock_acquire(&mine->lock);
    void *obj;
    if (got) {
        obj = batch[--got];
        tmp__arena_give_many(pool, mine, batch, got);
    } else {
        obj = tmp__arena_take(pool, mine); /* grows the pool */
    }
    mine->allocs += obj != NULL;
    tmp__lock_release(&mine->lock);
    return obj;
}

static void *striped_alloc(tmp_pool *pool)
{
    tmp__arena *a = home(pool);
    tmp__lock_acquire(&a->lock);
    void *obj = NULL;
    tmp__chunk *b = a->bump;
    if (a->store.count ||
        (b && atomic_load_explicit(&b->carved, memory_order_relaxed) < b->limit) ||
        pool->narenas == 1) {
        obj = tmp__arena_take(pool, a);
        a->allocs += obj != NULL;
        tmp__lock_release(&a->lock);
        return obj;
    }
    tmp__lock_release(&a->lock);
    return steal(pool, a);
}

static void striped_free(tmp_pool *pool, void *obj) { tmp__arena_free(pool, home(pool), obj); }

static void striped_stats(const tmp_pool *pool, tmp_stats *out)
{
    tmp__arenas_stats(pool, out);
    out->high_water = tmp__carved_high(pool);
}

const tmp__strategy tmp__strategy_striped = {
    .name = "striped",
    .init = striped_init,
    .fini = tmp__arenas_fini,
    .alloc = striped_alloc,
    .free = striped_free,
    .stats = striped_stats,
};
