/* tcache: a per-thread magazine in front of a sharded depot (Bonwick and Adams, "Magazines and
 * Vmem", 2001; tcmalloc's transfer cache moves batches the same way). The fast path touches only
 * the thread's own cache: no lock, no atomic read-modify-write. A refill takes half a cache's
 * worth from the depot under its lock; an overflow gives the older half back, so cross-thread
 * frees flow to the allocating threads in batches instead of piling up.
 *
 * The depot is one arena per CPU, and each thread has a home among them (tmp__thread_index): a
 * thread spills to and refills from its home, so threads that allocate and free their own
 * objects never meet on a lock. With one depot, batch n=100000 at 2 threads ran no faster than
 * at 1 (58 against 56 M ops/s, 50,000 lock waits a cell). A thread whose home is empty takes
 * another depot's surplus (below) before its home carves new ones, so a producer whose objects
 * all come back to its consumer's depot reuses them instead of growing the pool. The cache
 * paths live in tcache.c, shared with numa. */
#include "internal.h"

#include <errno.h>

#define MAX_DEPOTS 64

static int tcache_init(tmp_pool *pool)
{
    unsigned n = tmp__online_cpus();
    return tmp__arenas_init(pool, n < MAX_DEPOTS ? n : MAX_DEPOTS, false);
}

/* The depot with the largest surplus, peeked at without its lock, or NULL. A depot's surplus
 * is what it received beyond what it handed out (out < 0): objects its threads freed after
 * other depots handed them out, a consumer's depot. Only a surplus is taken, never another
 * thread's own round: when any depot could be robbed, one depot short after a trim robbed the
 * other, which then robbed back, and batch at 2 threads stole 5,000 times in 0.3 s, each
 * thread filling the other's objects. */
static tmp__arena *richest(tmp_pool *pool, const tmp__tcache *c)
{
    tmp__arena *best = NULL;
    int64_t most = 0;
    for (unsigned k = 1; k < pool->narenas; k++) {
        tmp__arena *a = &pool->arenas[(c->node + k) % pool->narenas];
        int64_t surplus = -tmp__arena_out(a);
        if (surplus > most && tmp__arena_free_pub(a)) {
            most = surplus;
            best = a;
        }
    }
    return best;
}

/* A batch of a's surplus into the empty cache c; how many (0 if the surplus or the store ran
 * out since the peek). */
static size_t steal(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    int64_t surplus = -tmp__arena_out(a);
    size_t want = surplus <= 0 ? 0 : (uint64_t)surplus < c->move ? (size_t)surplus : c->move;
    size_t got = want ? tmp__arena_take_stored(pool, a, c->obj, want, c->slot) : 0;
    tmp__lock_release(&a->lock);
    return got;
}

/* The cache is empty: from the home depot's store, else another depot's surplus, else new
 * objects carved at home. */
static void *refill(tmp_pool *pool, tmp__tcache *c)
{
    tmp__arena *home = &pool->arenas[c->node];
    tmp__arena *rich;
    size_t got;
    /* a home that published nothing (a producer's: its objects come back to others) is not
     * locked first: one lock per refill, as with one depot (xmalloc at 2 threads ran at 0.93
     * of it while every refill locked an empty home first) */
    if (pool->narenas > 1 && tmp__arena_free_pub(home) == 0 && (rich = richest(pool, c)) &&
        (got = steal(pool, c, rich)) != 0) {
        tmp__tcache_refilled(c, got, false);
        return tmp__cache_take(c);
    }
    tmp__lock_acquire(&home->lock);
    got = tmp__arena_take_stored(pool, home, c->obj, c->move, c->slot);
    bool own = got != 0;
    rich = got || pool->narenas == 1 ? NULL : richest(pool, c);
    if (!got && !rich)
        got = tmp__arena_take_many(pool, home, c->obj, c->move, c->slot);
    tmp__lock_release(&home->lock);
    if (!got && rich && !(got = steal(pool, c, rich))) {
        tmp__lock_acquire(&home->lock);
        got = tmp__arena_take_many(pool, home, c->obj, c->move, c->slot);
        tmp__lock_release(&home->lock);
    }
    tmp__tcache_refilled(c, got, own);
    if (!got) {
        errno = ENOMEM;
        return NULL;
    }
    return tmp__cache_take(c);
}

static __attribute__((noinline)) void *tcache_alloc_slow(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c)
        return tmp__arena_alloc(pool, &pool->arenas[tmp__thread_index() % pool->narenas]); /* no memory for a cache: serve the call anyway */
    if (tmp__u32(&c->n))
        return tmp__cache_take(c);
    return refill(pool, c);
}

static void *tcache_alloc(tmp_pool *pool)
{
    void *obj;
    if (TMP__LIKELY(tmp__cache_try_take(pool, &obj)))
        return obj;
    return tcache_alloc_slow(pool);
}

static __attribute__((noinline)) void tcache_free_slow(tmp_pool *pool, void *obj)
{
    tmp__tcache *c = tmp__tcache_get(pool);
    if (!c) {
        tmp__arena_free(pool, &pool->arenas[tmp__thread_index() % pool->narenas], obj);
        return;
    }
    tmp__arena *home = &pool->arenas[c->node];
    if (tmp__tcache_keep_foreign(pool, c, obj, home)) {
        tmp__count(&c->frees);
        return;
    }
    while (tmp__u32(&c->n) >= c->lim)
        tmp__tcache_spill(pool, c, home);
    tmp__cache_put(c, obj);
}

static void tcache_free(tmp_pool *pool, void *obj)
{
    if (TMP__LIKELY(tmp__cache_free_fast(pool, obj, pool->owner_off ? TMP__FAST_OWNER : 0)))
        return;
    tcache_free_slow(pool, obj);
}

const tmp__strategy tmp__strategy_tcache = {
    .name = "tcache",
    .init = tcache_init,
    .fini = tmp__arenas_fini,
    .alloc = tcache_alloc,
    .free = tcache_free,
    .stats = tmp__cached_stats,
    .cache_flush = tmp__tcache_flush,
};
