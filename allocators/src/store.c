/* Store: the free objects of one arena. The ones given to it last are a stack of pointers held
 * in fixed-size magazines; past pool->mag_keep of those, objects of the arena's own chunks are
 * kept as bits in their chunks instead, and come back chunk by chunk in address order. Single-
 * threaded; the arena that owns a store holds its lock around every call.
 *
 * Why the bits: a store of pointers hands objects back in the order they were freed. A batch of
 * 100000 freed in random order came back scattered over 6.4 MB, every allocation a miss on
 * another page, and ran at half mimalloc's rate, whose free lists live in each 64 KiB page
 * (Leijen, Zorn and de Moura, "Mimalloc: free list sharding in action", 2019; tcmalloc's spans
 * do the same). The counted misses were within 10% of mimalloc's (cachegrind): what differed
 * was where they fell. Bits keep the objects untouched, as magazines do. */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The current magazine of a store that has made none: full to a push (its count is above any
 * cap) and empty to a pop (the count less one is too), so both fast paths keep one compare, and
 * never written. */
tmp__mag tmp__mag_none = {.next = NULL, .n = UINT32_MAX};

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
    s->cur = &tmp__mag_none;
    s->full = s->empty = NULL;
    s->nempty = 0;
    s->count = s->in_bits = 0;
    s->bits = NULL;
}

/* The store's first magazine is made by its first push, not here: a set makes a pool per class
 * as sizes first appear, and a magazine made at once wrote a page of metadata for each (29 of
 * the faults of a replayed sqlite3 trace, most of whose classes never push to a store). */
int tmp__store_setup(tmp_pool *pool)
{
    tmp__lock_acquire(&pool->meta_lock);
    tmp__mag_reserve(pool, pool->mag_cap);
    bool room = pool->mag_room > 0 || pool->spare_mags;
    tmp__lock_release(&pool->meta_lock);
    return room ? 0 : -1;
}

/* The current magazine is full, or there is none yet: file it and start an empty one. */
static tmp__mag *next_empty(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *fresh = mag_get(pool, s);
    if (!fresh) {
        /* Magazines are reserved as chunks are carved, so this needs the OS to refuse a small
         * mapping; losing the object silently would be worse than stopping. */
        fprintf(stderr, "tmempool: pool %p: out of memory for free-list metadata\n", (void *)pool);
        abort();
    }
    if (s->cur != &tmp__mag_none) {
        s->cur->next = s->full;
        s->full = s->cur;
    }
    fresh->n = 0;
    s->cur = fresh;
    return fresh;
}

static void mag_push(tmp_pool *pool, tmp__store *s, void *obj)
{
    tmp__mag *m = s->cur;
    if (TMP__UNLIKELY(m->n >= pool->mag_cap)) /* full, or tmp__mag_none */
        m = next_empty(pool, s);
    m->obj[m->n++] = obj;
}

/* n objects from the chunks' bits into out[0..n), the lowest address last: a cache pops from the
 * end, so it walks each chunk upwards. s->in_bits >= n. */
static void bits_take(const tmp_pool *pool, tmp__store *s, void **out, size_t n)
{
    s->in_bits -= n;
    const size_t stride = pool->stride;
    while (n) {
        tmp__chunk *c = s->bits; /* in_bits promised one */
        size_t w = c->fhint, nfree = c->nfree;
        uint64_t *fb = tmp__chunk_fbits(c);
        while (n && nfree) {
            uint64_t x = fb[w];
            char *base = c->objs + (w << 6) * stride;
            while (x && n) {
                /* the run of set bits from the lowest: neighbours, written without a scan (a
                 * batch freed in address order fills whole words) */
                unsigned b = (unsigned)__builtin_ctzll(x);
                uint64_t y = ~(x >> b);
                size_t run = y ? (size_t)__builtin_ctzll(y) : 64 - b, m = run < n ? run : n;
                void **o = out + n - m; /* o[m - 1] is the run's first object */
                char *p = base + (b + m - 1) * stride;
                for (size_t j = 0; j < m; j++, p -= stride)
                    o[j] = p;
                x &= m == 64 ? 0 : ~((((uint64_t)1 << m) - 1) << b);
                n -= m;
                nfree -= m;
            }
            fb[w] = x;
            w += x == 0;
        }
        c->nfree = nfree;
        c->fhint = w;
        if (nfree == 0) {
            s->bits = c->fnext;
            c->fnext = NULL;
            c->fhint = 0;
        }
    }
}

static void mags_push_many(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n);

/* A bit in word w of chunk c is now set: its count, its place on s's list of chunks with bits,
 * and where a take starts looking. The caller adds to s->in_bits: once a batch, as a store
 * through c may alias s and would keep the count in memory otherwise. */
static inline void bits_added(tmp__store *s, tmp__chunk *c, size_t w)
{
    if (c->nfree == 0) {
        c->fnext = s->bits;
        s->bits = c;
        c->fhint = w;
    } else if (w < c->fhint) {
        c->fhint = w;
    }
    c->nfree++;
}

/* objs[0..n) into s: those of s's arena's own chunks as bits, the others (objects a thread frees
 * that another arena handed out, whose bits this arena's lock does not guard) to magazines. The
 * objects added: a bit already set is a double free, counted once, as counting it twice would
 * count a live object free and let a trim unmap it.
 *
 * One bit an object, with no look for runs of neighbours: only batches that scattered() found
 * scattered come here, where runs are rare, and the look (the next object's distance, two
 * compares) was 6 of 58 instructions an object on batch n=100000 random; without it the push is
 * 46 and the cell ran 1.02 [1.00, 1.05] at 1 thread, 1.10 [1.04, 1.14] at 2 (16 interleaved
 * pairs). */
static size_t bits_push(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n)
{
    const tmp__arena *a = (const tmp__arena *)((const char *)s - offsetof(tmp__arena, store));
    const uintptr_t mask = pool->chunk_mask, span = tmp__color_span(mask);
    const uint64_t inv = pool->stride_inv;
    const size_t stride = pool->stride;
    size_t added = 0, to_mags = 0;
    if (n == 0)
        return 0;
    /* A batch that begins or ends with another arena's object is taken for a batch of them (a
     * consumer's spill of what its producer took) and goes to magazines whole: looking up each
     * object's chunk read header lines that their own arena's thread writes, and xmalloc at 2
     * threads lost a fifth of its speed. */
    if (tmp__chunk_in(mask, span, objs[0])->arena != a || tmp__chunk_in(mask, span, objs[n - 1])->arena != a) {
        mags_push_many(pool, s, objs, n);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        char *obj = objs[i];
        tmp__chunk *c = tmp__chunk_in(mask, span, obj);
        if (TMP__UNLIKELY(c->arena != a)) {
            mag_push(pool, s, obj);
            added++;
            to_mags++;
            continue;
        }
        uint64_t off = (uint64_t)(obj - c->objs);
        size_t k = TMP__LIKELY(inv) ? (size_t)(((unsigned __int128)off * inv) >> 64) : (size_t)(off / stride);
        uint64_t *fb = tmp__chunk_fbits(c);
        size_t w = k >> 6;
        uint64_t bit = (uint64_t)1 << (k & 63), word = fb[w];
        if (TMP__UNLIKELY(word & bit))
            continue; /* a double free */
        fb[w] = word | bit;
        added++;
        bits_added(s, c, w);
    }
    s->in_bits += added - to_mags;
    return added;
}

/* A single object always goes to a magazine: the locked strategies' frees stay as short as they
 * were, and their stores are never deeper than a batch's spill made them. */
size_t tmp__store_push(tmp_pool *pool, tmp__store *s, void *obj)
{
    mag_push(pool, s, obj);
    return ++s->count;
}

static void mags_push_many(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n)
{
    for (size_t done = 0; done < n;) {
        tmp__mag *m = s->cur;
        if (m->n >= pool->mag_cap)
            m = next_empty(pool, s);
        size_t k = pool->mag_cap - m->n;
        if (k > n - done)
            k = n - done;
        memcpy(m->obj + m->n, objs + done, k * sizeof *objs);
        m->n += (uint32_t)k;
        done += k;
    }
}

/* Whether objs[0..n) look scattered over chunks: of nine objects spread evenly through them,
 * more than two neighbours lie in different chunks. A batch freed in or near address order
 * (lifo, fifo) changes chunks once or twice, and magazines hand it back as well ordered as the
 * bits would. Sent to the bits as well, such batches ran 6-7% faster at 2 threads (a magazine's
 * pointers are 8 bytes an object of memory traffic, a bit is one) but 4-7% slower at 1 thread
 * (some 10 instructions an object more), 16 interleaved pairs each: a trade, not a gain, so they
 * stay pointers. Sending only the batches that straddle two chunks to the bits cut fifo's
 * handout into short runs going both ways (0.69 of its speed). Nine samples, not every object:
 * a scan of all cost 7 instructions a free (4% of lifo's). */
static bool scattered(const tmp_pool *pool, void *const *objs, size_t n)
{
    unsigned changes = 0;
    uintptr_t prev = (uintptr_t)objs[0] & pool->chunk_mask;
    for (unsigned k = 1; k <= 8; k++) {
        uintptr_t c = (uintptr_t)objs[(n - 1) * k / 8] & pool->chunk_mask;
        changes += c != prev;
        prev = c;
    }
    return changes > 2;
}

/* Batches (cache refills and spills) move whole runs of pointers with memcpy instead of one
 * call per object: the batch workload's refill cost fell by about a third in instructions.
 * The end of a batch is what its cache freed last: past mag_keep that end still goes to
 * magazines, and the head, when it is scattered, to bits (bits_push keeps other arenas'
 * objects, whose bits this arena's lock does not guard, as pointers). */
void tmp__store_push_many(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n)
{
    size_t in_mags = s->count - s->in_bits;
    size_t room = in_mags < pool->mag_keep ? pool->mag_keep - in_mags : 0;
    size_t head = n > room ? n - room : 0;
    if (head && !scattered(pool, objs, head))
        head = 0;
    size_t added = n - head + bits_push(pool, s, objs, head);
    mags_push_many(pool, s, objs + head, n - head);
    s->count += added;
}

/* out[0..n) keeps the store's order, its top last, across magazines too: a cache pops from the
 * end, so it hands the objects out in the order they were pushed in reverse, and a batch freed
 * in one address order comes back in one order (test pool.address_order). */
static void mags_pop_many(tmp_pool *pool, tmp__store *s, void **out, size_t n)
{
    size_t left = n;
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
}

/* Magazines first, the top last in out so that a cache hands it out first; bits below them. */
size_t tmp__store_pop_many(tmp_pool *pool, tmp__store *s, void **out, size_t want)
{
    size_t n = want < s->count ? want : s->count;
    size_t in_mags = s->count - s->in_bits;
    size_t from_mags = n < in_mags ? n : in_mags;
    mags_pop_many(pool, s, out + (n - from_mags), from_mags);
    bits_take(pool, s, out, n - from_mags);
    s->count -= n;
    return n;
}

void *tmp__store_pop(tmp_pool *pool, tmp__store *s)
{
    tmp__mag *m = s->cur;
    uint32_t k = m->n - 1; /* wraps for an empty magazine; tmp__mag_none's is above cap too */
    if (TMP__UNLIKELY(k >= pool->mag_cap)) {
        tmp__mag *f = s->full; /* none below tmp__mag_none */
        if (!f) {
            if (!s->in_bits)
                return NULL;
            void *obj;
            bits_take(pool, s, &obj, 1);
            s->count--;
            return obj;
        }
        s->full = f->next;
        mag_put(pool, s, m);
        s->cur = m = f;
        k = m->n - 1;
    }
    s->count--;
    m->n = k;
    return m->obj[k];
}
