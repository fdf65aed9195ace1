/* Arena: a store of free objects plus the chunk it carves new objects from, behind one lock.
 * Every strategy is built from arenas; the caller holds a->lock around take and give. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tmp__arena_init(tmp_pool *pool, tmp__arena *a, unsigned index, unsigned node)
{
    memset(a, 0, sizeof *a);
    tmp__lock_init(&a->lock, TMP__RANK_ARENA + index);
    tmp__store_init(&a->store);
    a->node = node;
    return tmp__store_setup(pool) == 0 ? 0 : ENOMEM;
}

int tmp__arenas_init(tmp_pool *pool, unsigned n, bool per_node)
{
    pool->arenas = aligned_alloc(TMP__PAD, n * sizeof(tmp__arena));
    if (!pool->arenas)
        return ENOMEM;
    atomic_store_explicit(&pool->trim_out, INT64_MAX, memory_order_relaxed);
    /* fewer free objects than a chunk holds cannot empty one */
    atomic_store_explicit(&pool->trim_at, pool->chunk_objs, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        int err = tmp__arena_init(pool, &pool->arenas[i], i, per_node ? i : 0);
        pool->narenas = i + 1;
        if (err)
            return err;
    }
    return 0;
}

void tmp__arenas_fini(tmp_pool *pool)
{
    if (!pool->arenas)
        return;
    for (unsigned i = 0; i < pool->narenas; i++)
        tmp__lock_fini(&pool->arenas[i].lock);
    free(pool->arenas);
    pool->arenas = NULL;
}

void tmp__arenas_stats(const tmp_pool *pool, tmp_stats *out)
{
    for (unsigned i = 0; i < pool->narenas; i++) {
        tmp__arena *a = &pool->arenas[i];
        tmp__lock_acquire(&a->lock);
        out->allocs += a->allocs;
        out->frees += a->frees;
        out->lock_waits += a->lock.waits;
        if (pool->narenas == 1)
            out->high_water = a->out_high;
        tmp__lock_release(&a->lock);
    }
}

/* Marks the lines of objects [p, p + n * stride) as owner's (pool->owner_off pools).
 * A line shared with the previous run takes the newer owner: its older objects then go back
 * to the arena when freed, which is what keeps two threads off one line. */
static void mark_lines(const tmp_pool *pool, char *p, size_t n, unsigned owner)
{
    if (!pool->owner_off || !owner || !n)
        return;
    uintptr_t base = (uintptr_t)p & pool->chunk_mask;
    _Atomic unsigned char *t = (_Atomic unsigned char *)(base + pool->owner_off);
    size_t first = ((uintptr_t)p - base) >> 6, last = ((uintptr_t)p - base + n * pool->stride - 1) >> 6;
    for (size_t l = first; l <= last; l++) /* written only when it changes: other threads read it on every free */
        if (atomic_load_explicit(&t[l], memory_order_relaxed) != owner)
            atomic_store_explicit(&t[l], (unsigned char)owner, memory_order_relaxed);
}

/* The arena's bump chunk with room to carve, a new one when it is used up; NULL without memory.
 * *k: the objects already carved from it. */
static tmp__chunk *bump_chunk(tmp_pool *pool, tmp__arena *a, size_t *k)
{
    TMP__ASSERT_HELD(&a->lock);
    tmp__chunk *c = a->bump;
    *k = c ? atomic_load_explicit(&c->carved, memory_order_relaxed) : 0;
    if (!c || *k == c->limit) {
        c = tmp__chunk_new(pool, a);
        if (!c)
            return NULL;
        a->bump = c;
        *k = 0;
    }
    return c;
}

static void *carve(tmp_pool *pool, tmp__arena *a)
{
    size_t k;
    tmp__chunk *c = bump_chunk(pool, a, &k);
    if (!c)
        return NULL;
    atomic_store_explicit(&c->carved, k + 1, memory_order_relaxed);
    return c->objs + k * pool->stride;
}

/* a->lock held: a plain add, published for the other arenas' sums */
static void out_add(tmp__arena *a, int64_t d)
{
    atomic_store_explicit(&a->out, tmp__arena_out(a) + d, memory_order_relaxed);
}

/* The pool's objects out of every arena, read without the other arenas' locks: good enough
 * for a rule about thousands of objects. */
static int64_t pool_out(const tmp_pool *pool)
{
    int64_t out = 0;
    for (unsigned i = 0; i < pool->narenas; i++)
        out += tmp__arena_out(&pool->arenas[i]);
    return out;
}

/* a->lock held: its own count exactly, the other arenas' as they last published them */
static size_t pool_free(const tmp_pool *pool, const tmp__arena *a)
{
    size_t n = a->store.count;
    for (unsigned i = 0; i < pool->narenas; i++)
        if (&pool->arenas[i] != a)
            n += tmp__arena_free_pub(&pool->arenas[i]);
    return n;
}

void tmp__arena_moved_out(tmp__arena *a, size_t n)
{
    TMP__ASSERT_HELD(&a->lock);
    out_add(a, (int64_t)n);
}

/* Live objects grew well past the last trim's level (twice it, plus a chunk): a later drop may
 * trim again. Growth within that band does not re-arm, so a workload whose live count merely
 * oscillates (a producer/consumer ring) never pays for repeated trim passes. */
static __attribute__((noinline, cold)) void rearm(tmp_pool *pool, int64_t t)
{
    if (pool_out(pool) > 2 * t + (int64_t)pool->chunk_objs)
        atomic_store_explicit(&pool->trim_out, INT64_MAX, memory_order_relaxed);
}

static inline void taken(tmp_pool *pool, tmp__arena *a, size_t n)
{
    int64_t out = tmp__arena_out(a) + (int64_t)n;
    atomic_store_explicit(&a->out, out, memory_order_relaxed);
    if (out > a->out_high)
        a->out_high = out;
    /* The sum exceeds 2t + a chunk only if some arena's share exceeds t / narenas: that arena's
     * takes look (trim_out is INT64_MAX while armed, so the test fails), a batch each time, a
     * single take (global, striped) one time in 64: the sum reads every arena's line, and
     * summing on every take cost striped's footprint 7% more instructions. */
    int64_t t = atomic_load_explicit(&pool->trim_out, memory_order_relaxed);
    if (TMP__UNLIKELY(out * (int64_t)pool->narenas > t) && (n > 1 || (out & 63) == 0))
        rearm(pool, t);
}

void *tmp__arena_take(tmp_pool *pool, tmp__arena *a)
{
    TMP__ASSERT_HELD(&a->lock);
    void *obj = tmp__store_pop(pool, &a->store);
    if (!obj && !(obj = carve(pool, a)))
        return NULL;
    taken(pool, a, 1);
    return obj;
}

size_t tmp__arena_take_stored(tmp_pool *pool, tmp__arena *a, void **out, size_t want, unsigned owner)
{
    TMP__ASSERT_HELD(&a->lock);
    size_t n = tmp__store_pop_many(pool, &a->store, out, want);
    /* objects from the store become the taker's too: the line's last taker owns it, so a
     * thread that inherits another's objects (larson's lanes) reuses them once they pass
     * through the arena, and no two threads reuse one line's objects at the same time */
    for (size_t i = 0; i < n && pool->owner_off && owner; i++)
        mark_lines(pool, out[i], 1, owner);
    taken(pool, a, n);
    return n;
}

size_t tmp__arena_take_many(tmp_pool *pool, tmp__arena *a, void **out, size_t want, unsigned owner)
{
    TMP__ASSERT_HELD(&a->lock);
    size_t stored = tmp__arena_take_stored(pool, a, out, want, owner);
    /* Carved objects fill out from its end down, lowest address last in each run: a cache pops
     * from the end, so it gets each chunk's objects in ascending order, the older chunk's tail
     * before the new chunk's head. Pops that ran down each run while the runs went up (a
     * zig-zag within every page) defeated the hardware prefetcher: the same 300000 objects
     * walked in that order were read at half the speed of a plain walk
     * (docs/notebook/2026-12-02.md). */
    size_t top = want;
    while (top > stored) {
        /* carve a run from the bump chunk: one counter update for the run, not one per object */
        size_t k;
        tmp__chunk *c = bump_chunk(pool, a, &k);
        if (!c)
            break;
        size_t run = c->limit - k < top - stored ? c->limit - k : top - stored;
        char *p = c->objs + k * pool->stride;
        mark_lines(pool, p, run, owner);
        for (size_t i = 0; i < run; i++, p += pool->stride)
            out[top - 1 - i] = p;
        top -= run;
        atomic_store_explicit(&c->carved, k + run, memory_order_relaxed);
    }
    size_t carved = want - top;
    if (top > stored) /* out of memory part way: close the gap */
        memmove(out + stored, out + top, carved * sizeof *out);
    taken(pool, a, carved);
    return stored + carved;
}

static __attribute__((noinline, cold)) void check_trim(tmp_pool *pool, tmp__arena *a)
{
    atomic_store_explicit(&a->free_pub, a->store.count, memory_order_relaxed);
    size_t free_objs = pool_free(pool, a);
    int64_t sum = pool_out(pool);
    size_t out = sum > 0 ? (size_t)sum : 0; /* below 0 only while a sum races the arenas' writers */
    /* with every object back (out == 0) the threshold is met whatever it is */
    size_t trim_at = atomic_load_explicit(&pool->trim_at, memory_order_relaxed);
    size_t at = trim_at < free_objs + out ? trim_at : free_objs + out;
    /* fewer free objects than the pool keeps mapped (plus a chunk): a pass could give nothing back */
    size_t keep = atomic_load_explicit(&pool->trim_keep, memory_order_relaxed);
    if (TMP__UNLIKELY(pool->autotrim && free_objs >= at && free_objs > keep + pool->chunk_objs &&
                      free_objs >= 2 * out &&
                      2 * (int64_t)out <= atomic_load_explicit(&pool->trim_out, memory_order_relaxed) &&
                      atomic_load_explicit(&pool->bytes_reserved, memory_order_relaxed) >= 4 * pool->chunk_size)) {
        atomic_store_explicit(&pool->trim_out, (int64_t)out, memory_order_relaxed);
        atomic_store_explicit(&pool->trim_due, 1, memory_order_relaxed);
    }
}

void tmp__arena_give(tmp_pool *pool, tmp__arena *a, void *obj)
{
    TMP__ASSERT_HELD(&a->lock);
    size_t held = tmp__store_push(pool, &a->store, obj);
    int64_t out = tmp__arena_out(a) - 1;
    atomic_store_explicit(&a->out, out, memory_order_relaxed);
    /* one look in 64 frees is enough for a rule about thousands of objects, and keeps the
     * single-object free of the locked strategies as short as it was; the free that brings
     * the last object back is always looked at, as it is the one most likely to empty chunks */
    if (TMP__UNLIKELY((held & 63) == 0 || (out == 0 && held >= pool->chunk_objs)))
        check_trim(pool, a);
}

void tmp__arena_give_many(tmp_pool *pool, tmp__arena *a, void *const *objs, size_t n)
{
    TMP__ASSERT_HELD(&a->lock);
    tmp__store_push_many(pool, &a->store, objs, n);
    out_add(a, -(int64_t)n);
    check_trim(pool, a);
}

void tmp__trim_now(tmp_pool *pool)
{
    if (atomic_exchange_explicit(&pool->trim_due, 0, memory_order_relaxed))
        tmp__trim_pass(pool, true);
}
