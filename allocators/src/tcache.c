/* Per-thread caches and the pool registry behind them. A pool gets a small id; each thread has
 * a table of caches indexed by that id, so finding the cache is one TLS load and an offset,
 * never a hash. A pthread key destructor gives a dying thread's objects back. The cache
 * paths off the fast path (refill, spill, flush) are here too: both cached strategies use them. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The table of a thread that has made no cache: every slot closed (all zero), never written.
 * 512 KiB of zero pages: only the slots a fast path reads are ever touched. */
static tmp__tcache tls_none[TMP__TLS_IDS];
__thread tmp__tcache *tmp__tls_v __attribute__((tls_model("initial-exec"))) = tls_none;
/* One past the highest slot this thread's table has used: thread exit looks no further. */
static __thread unsigned tls_top __attribute__((tls_model("initial-exec")));
/* A table is mapped, not allocated: aligned slots, and pages of slots never used stay unbacked. */
#define TABLE_BYTES (TMP__TLS_IDS * sizeof(tmp__tcache))

static bool has_table(void) { return tmp__tls_v != tls_none; }

/* Guards: pool ids, every pool's cache list, cache->pool, and the retired counters. */
static tmp__lock reg_lock = TMP__LOCK_INITIALIZER(TMP__RANK_REGISTRY);
static unsigned *free_ids;
static unsigned n_free_ids, cap_free_ids, next_id;
static uint64_t next_gen = 1;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* The owner marks of new caches (internal.h, tmp__line_owner): 1..255, never 0 (a line nobody
 * marked); two caches with one slot keep each other's objects, as every cache did before lines
 * had owners. */
static _Atomic unsigned next_slot;

static _Atomic unsigned next_thread;
static __thread unsigned thread_no __attribute__((tls_model("initial-exec"))); /* 0: none yet, else 1 + index */

unsigned tmp__thread_index(void)
{
    if (TMP__UNLIKELY(thread_no == 0))
        thread_no = 1 + atomic_fetch_add_explicit(&next_thread, 1, memory_order_relaxed);
    return thread_no - 1;
}

/* Allocations the cache served: what entered it (frees, refills) less what it holds and what
 * left otherwise (spills, flushes, sends). Read from another thread while the owner runs, the
 * parts may be from moments apart: off by the calls in between, and never below zero. */
static uint64_t cache_allocs(const tmp__tcache *c)
{
    uint64_t held = tmp__u32(&c->n) + tmp__u32(&c->fn);
    for (unsigned i = 0; i < c->nrbuf; i++)
        held += tmp__u32(&c->rn[i]);
    uint64_t in = atomic_load_explicit(&c->frees, memory_order_relaxed) +
                  atomic_load_explicit(&c->moved, memory_order_relaxed);
    int64_t allocs = (int64_t)(in - held);
    return allocs > 0 ? (uint64_t)allocs : 0;
}

/* Frees what cache c holds memory for and closes its slot. */
static void cache_release(tmp__tcache *c)
{
    free(c->obj);
    free(c->fbuf);
    if (c->rbuf)
        for (unsigned i = 0; i < c->nrbuf; i++)
            free(c->rbuf[i]);
    free(c->rbuf);
    free(c->rn);
    memset(c, 0, sizeof *c);
}

/* reg_lock held. Gives c's objects back to its pool, keeps its counts and unlinks it. */
static void cache_retire(tmp__tcache *c)
{
    TMP__ASSERT_HELD(&reg_lock);
    tmp_pool *pool = c->pool;
    if (!pool)
        return;
    pool->vt->cache_flush(pool, c);
    pool->retired_allocs += cache_allocs(c);
    pool->retired_frees += atomic_load_explicit(&c->frees, memory_order_relaxed);
    pool->retired_misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
    pool->retired_remote += atomic_load_explicit(&c->remote, memory_order_relaxed);
    if (c->prev)
        c->prev->next = c->next;
    else
        pool->caches = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void thread_exit(void *unused)
{
    (void)unused;
    if (!has_table())
        return;
    tmp__lock_acquire(&reg_lock);
    for (unsigned i = 0; i < tls_top; i++) {
        tmp__tcache *c = &tmp__tls_v[i];
        if (c->gen == 0)
            continue;
        tmp_pool *pool = c->pool;
        cache_retire(c);
        cache_release(c);
        /* the flush may have made the pool due for a trim; the pool is alive while reg_lock
         * is held (destroy takes it), and reg_lock before arena locks is the usual order */
        if (pool)
            tmp__trim_if_due(pool);
    }
    tmp__lock_release(&reg_lock);
    munmap(tmp__tls_v, TABLE_BYTES);
    tmp__tls_v = tls_none;
    tls_top = 0;
}

static void make_key(void) { (void)pthread_key_create(&exit_key, thread_exit); }

void tmp__registry_init(void) { pthread_once(&exit_once, make_key); }

void tmp__registry_add(tmp_pool *pool)
{
    tmp__registry_init();
    tmp__lock_acquire(&reg_lock);
    /* ids start at 1: slot 0 is the no-cache id of a pool that found every id taken */
    pool->id = n_free_ids ? free_ids[--n_free_ids] : next_id < TMP__TLS_IDS - 1 ? ++next_id : 0;
    pool->gen = next_gen++;
    tmp__lock_release(&reg_lock);
}

void tmp__registry_remove(tmp_pool *pool)
{
    tmp__lock_acquire(&reg_lock);
    /* Orphaned and closed: a pool that reuses the id finds the cache in the owner's table, and
     * the fast paths (internal.h, tmp__tcache_lookup) must find nothing to take and no room to
     * put. The owner touches the cache next only through that new pool, which it can reach only
     * after this lock is released. */
    for (tmp__tcache *c = pool->caches; c; c = c->next) {
        c->pool = NULL;
        tmp__u32_set(&c->n, 0);
        c->lim = 0;
        tmp__u32_set(&c->fn, c->batch);
        c->own_line = 0;
    }
    pool->caches = NULL;
    if (n_free_ids == cap_free_ids) {
        unsigned cap = cap_free_ids ? cap_free_ids * 2 : 64;
        unsigned *v = realloc(free_ids, cap * sizeof *v);
        if (v) {
            free_ids = v;
            cap_free_ids = cap;
        }
    }
    if (n_free_ids < cap_free_ids && pool->id != 0)
        free_ids[n_free_ids++] = pool->id; /* else the id is never reused: harmless */
    tmp__lock_release(&reg_lock);

    /* The destroying thread's own cache can go now; other threads drop theirs on next touch. */
    if (tmp__tls_v[pool->id].gen == pool->gen)
        cache_release(&tmp__tls_v[pool->id]);
}

tmp__tcache *tmp__tcache_get(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (c->gen == pool->gen)
        return c;
    if (pool->id == 0) { /* every id was taken when the pool was made: no caches */
        errno = ENOMEM;
        return NULL;
    }
    if (!has_table()) {
        void *v = mmap(NULL, TABLE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (v == MAP_FAILED) {
            errno = ENOMEM;
            return NULL;
        }
        tmp__tls_v = v;
        pthread_setspecific(exit_key, (void *)1); /* any non-NULL value arms the destructor */
    }
    c = &tmp__tls_v[pool->id];
    if (c->gen != 0) /* left by a destroyed pool whose id this one reuses; orphaned under reg_lock */
        cache_release(c);
    if (pool->id >= tls_top)
        tls_top = pool->id + 1;
    unsigned cap = pool->cfg.cache_objects;
    c->cap = cap;
    /* Start small and grow only for a thread that spills objects and then refills: it wants its
     * own objects back, and a larger cache keeps them (batch: 2x at 2 threads). A thread that
     * only frees (a consumer) stays small: a big cache there only parks objects and widens the
     * working set of the hand-off (prodcons was 25% slower with a fixed 1024). */
    c->lim0 = c->lim = cap < 128 ? cap : 128;
    /* The array holds lim, and grows with it (tmp__tcache_refilled): a set makes a cache per
     * class as sizes appear, and arrays of cap (8 KiB for small classes) faulted a page each
     * where most classes never hold more than lim0. */
    if (!(c->obj = malloc(c->lim * sizeof(void *)))) {
        errno = ENOMEM;
        return NULL;
    }
    c->objcap = c->lim;
    /* refills and spills start at 64 objects: a bigger batch for every thread only lengthens
     * the bursts a producer/consumer pair hands over (measured: docs/notebook/2026-11-25.md);
     * a thread that refills from its own spills moves more (tmp__tcache_refilled) */
    c->batch = c->lim0 / 2 < 64 ? c->lim0 / 2 : 64;
    c->move = c->batch;
    c->pool = pool;
    c->gen = pool->gen;
    /* tcache: the thread's home depot; numa: replaced by its node below */
    c->node = tmp__thread_index() % pool->narenas;
    c->slot = (uint8_t)(atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed) % 255 + 1);
    c->owner_off = pool->owner_off;
    if (pool->owner_off && !(c->fbuf = malloc(c->batch * sizeof(void *)))) {
        cache_release(c);
        errno = ENOMEM;
        return NULL;
    }
    if (pool->vt == &tmp__strategy_numa && pool->narenas > 1) {
        c->rbuf = calloc(pool->narenas, sizeof *c->rbuf);
        c->rn = calloc(pool->narenas, sizeof *c->rn);
        c->nrbuf = c->rbuf ? pool->narenas : 0;
        bool ok = c->rbuf && c->rn;
        for (unsigned i = 0; ok && i < pool->narenas; i++)
            ok = (c->rbuf[i] = malloc(c->batch * sizeof(void *))) != NULL;
        if (!ok) {
            cache_release(c);
            errno = ENOMEM;
            return NULL;
        }
        c->node = (unsigned)tmp__topo_current_node() % pool->narenas;
    }
    tmp__lock_acquire(&reg_lock);
    c->next = pool->caches;
    if (pool->caches)
        pool->caches->prev = c;
    pool->caches = c;
    tmp__lock_release(&reg_lock);
    return c;
}

void tmp__tcache_stats(const tmp_pool *pool, tmp_stats *out)
{
    tmp__lock_acquire(&reg_lock);
    uint64_t misses = pool->retired_misses;
    out->allocs += pool->retired_allocs;
    out->frees += pool->retired_frees;
    out->remote_frees += pool->retired_remote;
    for (const tmp__tcache *c = pool->caches; c; c = c->next) {
        out->allocs += cache_allocs(c);
        out->frees += atomic_load_explicit(&c->frees, memory_order_relaxed);
        misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
        out->remote_frees += atomic_load_explicit(&c->remote, memory_order_relaxed);
    }
    tmp__lock_release(&reg_lock);
    out->cache_misses = misses;
    out->cache_hits = out->allocs - misses;
}

/* ---- the cache paths of the cached strategies ------------------------------------------ */

/* The most objects one refill or spill moves: half the largest default cache (1024). */
#define MOVE_MAX 512

void tmp__tcache_refilled(tmp__tcache *c, size_t got, bool own)
{
    if (c->spilled && c->lim < c->cap) { /* it gave away what it now needs */
        uint32_t lim = c->lim * 2 < c->cap ? c->lim * 2 : c->cap;
        void **grown = lim > c->objcap ? realloc(c->obj, lim * sizeof(void *)) : c->obj;
        if (grown) { /* else it keeps the size it has */
            c->obj = grown;
            c->objcap = lim > c->objcap ? lim : c->objcap;
            c->lim = lim;
        }
    }
    /* A thread that gets back from its home depot what it spilled there (bulk lifetimes: it
     * frees thousands, then allocates them again) moves half its cache per depot trip, as one
     * lock acquisition per 64 objects was a tenth of batch n=100000's time at 2 threads (a
     * locked instruction waits for the stores before it to drain; perf). A refill from another
     * depot or new chunks (a producer) goes back to the batch: a consumer's and a producer's
     * hand-off stays in bursts of 64 (prodcons fell to 0.67 with 256 for every thread). */
    if (!own)
        c->move = c->batch;
    else if (c->spilled)
        c->move = c->lim / 2 < MOVE_MAX ? c->lim / 2 : MOVE_MAX;
    c->spilled = false;
    c->spills_run = 0;
    tmp__count(&c->misses);
    tmp__moved(c, (int64_t)got);
    tmp__u32_set(&c->n, (uint32_t)got);
}

void *tmp__tcache_refill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    size_t got = tmp__arena_take_many(pool, a, c->obj, c->move, c->slot);
    tmp__lock_release(&a->lock);
    tmp__tcache_refilled(c, got, false);
    if (got == 0) {
        errno = ENOMEM;
        return NULL;
    }
    return tmp__cache_take(c);
}

void tmp__tcache_spill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    uint32_t k = c->move;
    tmp__arena_give_many(pool, a, c->obj, k);
    tmp__lock_release(&a->lock);
    uint32_t n = tmp__u32(&c->n);
    memmove(c->obj, c->obj + k, (n - k) * sizeof(void *));
    tmp__u32_set(&c->n, n - k);
    tmp__moved(c, -(int64_t)k);
    c->spilled = true;
    /* gave away four times its size without asking for any back: it has become a consumer;
     * never below twice what a spill moves, which keeps what it freed last */
    if (++c->spills_run * k >= 4 * c->lim && c->lim > c->lim0 && c->lim >= 4 * k) {
        c->lim /= 2;
        c->spills_run = 0;
    }
    tmp__trim_if_due(pool);
}

void tmp__tcache_send_foreign(tmp_pool *pool, tmp__tcache *c, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    uint32_t fn = tmp__u32(&c->fn);
    tmp__arena_give_many(pool, a, c->fbuf, fn);
    tmp__lock_release(&a->lock);
    tmp__u32_set(&c->fn, 0);
    tmp__moved(c, -(int64_t)fn);
}

bool tmp__tcache_keep_foreign(tmp_pool *pool, tmp__tcache *c, void *obj, tmp__arena *a)
{
    if (!pool->owner_off || tmp__line_owner(pool, obj) == c->slot)
        return false;
    if (tmp__u32(&c->fn) >= c->batch) {
        tmp__tcache_send_foreign(pool, c, a);
        tmp__trim_if_due(pool);
    }
    uint32_t fn = tmp__u32(&c->fn);
    c->fbuf[fn] = obj;
    tmp__u32_set(&c->fn, fn + 1);
    return true;
}

void tmp__tcache_send_remote(tmp_pool *pool, tmp__tcache *c, unsigned node)
{
    tmp__arena *a = &pool->arenas[node];
    tmp__lock_acquire(&a->lock);
    uint32_t rn = tmp__u32(&c->rn[node]);
    tmp__arena_give_many(pool, a, c->rbuf[node], rn);
    tmp__lock_release(&a->lock);
    tmp__u32_set(&c->rn[node], 0);
    tmp__moved(c, -(int64_t)rn);
}

void tmp__tcache_flush(tmp_pool *pool, tmp__tcache *c)
{
    tmp__arena *a = &pool->arenas[c->node];
    /* the frees of other threads' lines first: the store is a stack, and the thread's own
     * objects on top are the ones the next taker gets */
    if (tmp__u32(&c->fn))
        tmp__tcache_send_foreign(pool, c, a);
    uint32_t n = tmp__u32(&c->n);
    tmp__lock_acquire(&a->lock);
    tmp__arena_give_many(pool, a, c->obj, n);
    tmp__lock_release(&a->lock);
    tmp__u32_set(&c->n, 0);
    tmp__moved(c, -(int64_t)n);
    for (unsigned i = 0; i < c->nrbuf; i++)
        if (tmp__u32(&c->rn[i]))
            tmp__tcache_send_remote(pool, c, i);
}

/* High water from the carved total: counting it exactly would need a shared counter on the
 * fast path. */
void tmp__cached_stats(const tmp_pool *pool, tmp_stats *out)
{
    tmp__arenas_stats(pool, out);
    tmp__tcache_stats(pool, out);
    out->high_water = tmp__carved_high(pool);
}
