/* The checked path: TMP_F_DEBUG validation and poisoning, and the hooks that tell valgrind's
 * memcheck and AddressSanitizer about pool objects. A pool takes this path only when one of
 * them is on (pool->slow), so the plain fast path carries a single predictable branch. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define TMP_HAVE_VALGRIND 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TMP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TMP_ASAN 1
#endif
#endif
#ifdef TMP_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define TMP_POISON_BYTE 0xDB

void tmp__debug_pool_init(tmp_pool *pool)
{
#ifdef TMP_HAVE_VALGRIND
    /* TMEMPOOL_VALGRIND=0 keeps the fast path under callgrind, where instruction counts of the
     * uninstrumented path are what is wanted. */
    const char *env = getenv("TMEMPOOL_VALGRIND");
    pool->valgrind = RUNNING_ON_VALGRIND && !(env && strcmp(env, "0") == 0);
    if (pool->valgrind)
        VALGRIND_CREATE_MEMPOOL(pool, 0, 0);
#endif
    pool->slow = pool->valgrind || (pool->cfg.flags & TMP_F_DEBUG);
#ifdef TMP_ASAN
    pool->slow = true;
#endif
}

void tmp__debug_pool_fini(tmp_pool *pool)
{
#ifdef TMP_HAVE_VALGRIND
    if (pool->valgrind)
        VALGRIND_DESTROY_MEMPOOL(pool);
#endif
    for (tmp__chunk *c = pool->chunks; c; c = c->next)
        tmp__chunk_tools_release(pool, c);
}

void tmp__chunk_tools_new(tmp_pool *pool, tmp__chunk *c)
{
    size_t area = pool->chunk_size - pool->hdr_bytes;
    POISON(c->objs, area);
#ifdef TMP_HAVE_VALGRIND
    if (pool->valgrind)
        VALGRIND_MAKE_MEM_NOACCESS(c->objs, area);
#endif
    (void)area;
}

void tmp__chunk_tools_release(tmp_pool *pool, tmp__chunk *c)
{
    /* ASan keeps shadow state past munmap; a later mapping at this address must start clean. */
    UNPOISON(c->objs, pool->chunk_size - pool->hdr_bytes);
    (void)pool;
    (void)c;
}

static void die(const tmp_pool *pool, const void *obj, const char *what)
{
    fprintf(stderr, "tmempool: pool %p (%s, %zu-byte objects): %s %p\n", (const void *)pool,
            tmp_strategy_name(pool->cfg.strategy), pool->cfg.object_size, what, obj);
    fflush(stderr);
    abort();
}

/* Finds obj's chunk among the pool's own; NULL when obj lies in none of them. */
static tmp__chunk *own_chunk(tmp_pool *pool, const void *obj)
{
    tmp__chunk *want = tmp__chunk_of(pool->chunk_mask, obj);
    tmp__chunk *found = NULL;
    tmp__lock_acquire(&pool->meta_lock);
    for (tmp__chunk *c = pool->chunks; c; c = c->next)
        if (c == want) {
            found = c;
            break;
        }
    tmp__lock_release(&pool->meta_lock);
    return found;
}

bool tmp__pool_owns_chunk(tmp_pool *pool, const void *chunk)
{
    bool found = false;
    tmp__lock_acquire(&pool->meta_lock);
    for (tmp__chunk *c = pool->chunks; c && !found; c = c->next)
        found = tmp__chunk_base(pool, c) == chunk;
    tmp__lock_release(&pool->meta_lock);
    return found;
}

void *tmp__checked_alloc(tmp_pool *pool)
{
    void *obj = pool->vt->alloc(pool);
    if (!obj)
        return NULL;
    UNPOISON(obj, pool->cfg.object_size);
#ifdef TMP_HAVE_VALGRIND
    if (pool->valgrind)
        VALGRIND_MEMPOOL_ALLOC(pool, obj, pool->cfg.object_size);
#endif
    if (pool->cfg.flags & TMP_F_DEBUG) {
        tmp__chunk *c = tmp__chunk_of(pool->chunk_mask, obj);
        size_t i = (size_t)((char *)obj - c->objs) / pool->stride;
        uint64_t bit = (uint64_t)1 << (i % 64);
        if (atomic_fetch_or(&c->live[i / 64], bit) & bit)
            die(pool, obj, "internal error: handed out twice:");
    }
    return obj;
}

void tmp__checked_free(tmp_pool *pool, void *obj)
{
    if (pool->cfg.flags & TMP_F_DEBUG) {
        tmp__chunk *c = own_chunk(pool, obj);
        if (!c)
            die(pool, obj, "free of a pointer this pool never handed out (in none of its chunks):");
        if ((char *)obj < c->objs || (size_t)((char *)obj - c->objs) % pool->stride)
            die(pool, obj, "free of a pointer that is not the start of an object:");
        size_t i = (size_t)((char *)obj - c->objs) / pool->stride;
        if (i >= atomic_load_explicit(&c->carved, memory_order_relaxed))
            die(pool, obj, "free of a pointer this pool never handed out:");
        uint64_t bit = (uint64_t)1 << (i % 64);
        if (!(atomic_fetch_and(&c->live[i / 64], ~bit) & bit))
            die(pool, obj, "double free of");
        memset(obj, TMP_POISON_BYTE, pool->cfg.object_size);
    }
#ifdef TMP_HAVE_VALGRIND
    if (pool->valgrind)
        VALGRIND_MEMPOOL_FREE(pool, obj);
#endif
    POISON(obj, pool->cfg.object_size);
    pool->vt->free(pool, obj);
}
