/* Per-thread caches and the pool registry behind them. A pool gets a small id; each thread has
 * a table of cache pointers indexed by that id, so finding the cache is one TLS load and one
 * index, never a hash. A pthread key destructor gives a dying thread's objects back. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

__thread tmp__tcache **tmp__tls_v __attribute__((tls_model("initial-exec")));
__thread unsigned tmp__tls_n __attribute__((tls_model("initial-exec")));

/* Guards: pool ids, every pool's cache list, cache->pool, and the retired counters. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned *free_ids;
static unsigned n_free_ids, cap_free_ids, next_id;
static uint64_t next_gen = 1;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void cache_release(tmp__tcache *c)
{
    if (c->rbuf)
        for (unsigned i = 0; i < c->nrbuf; i++)
            free(c->rbuf[i]);
    free(c->rbuf);
    free(c->rn);
    free(c);
}

/* reg_lock held. Gives c's objects back to its pool, keeps its counts and unlinks it. */
static void cache_retire(tmp__tcache *c)
{
    tmp_pool *pool = c->pool;
    if (!pool)
        return;
    pool->vt->cache_flush(pool, c);
    pool->retired_allocs += atomic_load_explicit(&c->allocs, memory_order_relaxed);
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
    pthread_mutex_lock(&reg_lock);
    for (unsigned i = 0; i < tmp__tls_n; i++) {
        tmp__tcache *c = tmp__tls_v[i];
        if (!c)
            continue;
        tmp_pool *pool = c->pool;
        cache_retire(c);
        cache_release(c);
        /* the flush may have made the pool due for a trim; the pool is alive while reg_lock
         * is held (destroy takes it), and reg_lock before arena locks is the usual order */
        if (pool)
            tmp__trim_if_due(pool);
    }
    pthread_mutex_unlock(&reg_lock);
    free(tmp__tls_v);
    tmp__tls_v = NULL;
    tmp__tls_n = 0;
}

static void make_key(void) { (void)pthread_key_create(&exit_key, thread_exit); }

int tmp__registry_add(tmp_pool *pool)
{
    pthread_once(&exit_once, make_key);
    pthread_mutex_lock(&reg_lock);
    pool->id = n_free_ids ? free_ids[--n_free_ids] : next_id++;
    pool->gen = next_gen++;
    pthread_mutex_unlock(&reg_lock);
    return 0;
}

void tmp__registry_remove(tmp_pool *pool)
{
    pthread_mutex_lock(&reg_lock);
    for (tmp__tcache *c = pool->caches; c; c = c->next)
        c->pool = NULL;
    pool->caches = NULL;
    if (n_free_ids == cap_free_ids) {
        unsigned cap = cap_free_ids ? cap_free_ids * 2 : 64;
        unsigned *v = realloc(free_ids, cap * sizeof *v);
        if (v) {
            free_ids = v;
            cap_free_ids = cap;
        }
    }
    if (n_free_ids < cap_free_ids)
        free_ids[n_free_ids++] = pool->id; /* else the id is never reused: harmless */
    pthread_mutex_unlock(&reg_lock);

    /* The destroying thread's own cache can go now; other threads drop theirs on next touch. */
    if (pool->id < tmp__tls_n && tmp__tls_v[pool->id] && tmp__tls_v[pool->id]->gen == pool->gen) {
        cache_release(tmp__tls_v[pool->id]);
        tmp__tls_v[pool->id] = NULL;
    }
}

tmp__tcache *tmp__tcache_get(tmp_pool *pool)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    if (c)
        return c;
    if (pool->id >= tmp__tls_n) {
        unsigned n = pool->id + 8;
        tmp__tcache **v = realloc(tmp__tls_v, n * sizeof *v);
        if (!v) {
            errno = ENOMEM;
            return NULL;
        }
        memset(v + tmp__tls_n, 0, (n - tmp__tls_n) * sizeof *v);
        tmp__tls_v = v;
        tmp__tls_n = n;
        pthread_setspecific(exit_key, (void *)1); /* any non-NULL value arms the destructor */
    }
    tmp__tcache *stale = tmp__tls_v[pool->id];
    if (stale) {
        /* Left by a destroyed pool whose id this one reuses; it was orphaned under reg_lock. */
        cache_release(stale);
        tmp__tls_v[pool->id] = NULL;
    }
    unsigned cap = pool->cfg.cache_objects;
    c = calloc(1, sizeof *c + cap * sizeof(void *));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->cap = cap;
    /* Start small and grow only for a thread that spills objects and then refills: it wants its
     * own objects back, and a larger cache keeps them (batch: 2x at 2 threads). A thread that
     * only frees (a consumer) stays small: a big cache there only parks objects and widens the
     * working set of the hand-off (prodcons was 25% slower with a fixed 1024). */
    c->lim0 = c->lim = cap < 128 ? cap : 128;
    /* refills and spills move up to 64 objects: a bigger batch only lengthens the depot lock
     * hold and the bursts a producer/consumer pair hands over (measured: README, design notes) */
    c->batch = c->lim0 / 2 < 64 ? c->lim0 / 2 : 64;
    c->pool = pool;
    c->gen = pool->gen;
    c->node = 0;
    if (pool->cfg.strategy == TMP_NUMA && pool->narenas > 1) {
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
    pthread_mutex_lock(&reg_lock);
    c->next = pool->caches;
    if (pool->caches)
        pool->caches->prev = c;
    pool->caches = c;
    pthread_mutex_unlock(&reg_lock);
    tmp__tls_v[pool->id] = c;
    return c;
}

void tmp__tcache_stats(const tmp_pool *pool, tmp_stats *out)
{
    pthread_mutex_lock(&reg_lock);
    uint64_t misses = pool->retired_misses;
    out->allocs += pool->retired_allocs;
    out->frees += pool->retired_frees;
    out->remote_frees += pool->retired_remote;
    for (const tmp__tcache *c = pool->caches; c; c = c->next) {
        out->allocs += atomic_load_explicit(&c->allocs, memory_order_relaxed);
        out->frees += atomic_load_explicit(&c->frees, memory_order_relaxed);
        misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
        out->remote_frees += atomic_load_explicit(&c->remote, memory_order_relaxed);
    }
    pthread_mutex_unlock(&reg_lock);
    out->cache_misses = misses;
    out->cache_hits = out->allocs - misses;
}
