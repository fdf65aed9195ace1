/* Size-class sets (tmempool.h): a pool per class, created on first use, and one mapping per
 * object above max_size. The class of a freed object costs no search: every class pool's chunks
 * are 64 KiB and aligned to it, and a large object's mapping starts 64 KiB-aligned with a header
 * of the same shape, so masking the address finds a header that says which it is. */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_CHUNK ((size_t)64 << 10)
#define SET_CLASSES 37
/* The classes above 3584 bytes (4096 to 16384) hold fewer than a pool's 16 objects per 64 KiB
 * chunk (15 down to 3), so that every class keeps the 64 KiB chunk the lookup by mask needs.
 * Before them every object above 3584 bytes was a mapping of its own: a sqlite3 trace replayed
 * on tcache made 373 mappings of 72 KiB for objects of 4-8 KiB, and 1,117 trims and unmaps. */
#define SET_MIN_OBJS 3
#define LARGE_MAGIC 0x7465747365676C6Cull /* differs from TMP__CHUNK_MAGIC */
#define LARGE_HDR 64                       /* the object starts a cache line after the header */
/* Freed large mappings kept for the next large object that fits (at most twice its size), as
 * mimalloc keeps freed segments and tcmalloc its page heap: without them every object above the
 * classes cost an mmap and up to three munmaps (the aligning trims). A sqlite3 trace, 5.9% of
 * its objects 4 KiB or more, replayed at 0.09x glibc (strace: 4023 mmaps, 11779 munmaps). */
#define LARGE_CACHE_BYTES ((size_t)8 << 20)
#define LARGE_CACHE_COUNT 64
#define LARGE_CACHE_ONE ((size_t)1 << 20) /* a larger mapping goes back at once: its syscalls are
                                           * small beside the work of filling it */

/* A large object's mapping: the header at its start, where tmp__chunk has its magic. */
typedef struct large_hdr {
    uint64_t magic;
    struct tmp_set *set;
    struct large_hdr *prev, *next; /* the set's list of large objects, under large_lock */
    size_t size, mapped;
} large_hdr;
_Static_assert(sizeof(large_hdr) <= LARGE_HDR, "the header fits before the object");
_Static_assert(offsetof(large_hdr, magic) == offsetof(tmp__chunk, magic), "one magic field for both headers");

/* The sets' own fast path, off in the test builds whose hooks live in tmp_alloc (pool.c). */
#if !defined(TMP_TEST_SLOWDOWN) && !defined(TMP_TEST_STALL_NS)
#define SET_FAST 1
#else
#define SET_FAST 0
#endif

/* Requests up to SMALL_MAX bytes find their class in a table (small_class) */
#define SMALL_MAX 1024

struct tmp_set {
    /* first lines: what the fast paths read. fast_max: the largest request they serve
     * (max_size, at most SMALL_MAX). gid[g]: for requests of granule g (8 bytes each, as
     * small_class), their class pool's id when that pool has a thread-cache fast path, else 0
     * (no pool yet, or none), whose table slot is always closed. With it an allocation goes from
     * its size to the thread's cache in one load, without the class table or the pool between:
     * larson's sizes touch 21 class pools, whose lines the workload's objects evict, and every
     * load on that path was one more dependent L2 access before the cache's (perf: each stalled
     * in turn; a class table then a table of ids was one load more than this). */
    size_t fast_max; /* 0 where the strategy keeps no thread caches: no probe to pay for */
    bool debug;      /* TMP_F_DEBUG: every free checks its pointer first */
    bool mapped;     /* the free's chunk-map probe: a caching strategy, not debug */
    _Atomic uint16_t gid[SMALL_MAX / 8 + 1];
    tmp_set_config cfg;
    _Atomic(tmp_pool *) pools[SET_CLASSES];
    tmp__lock create_lock; /* a class pool's creation; taken before any pool lock */
    tmp__lock large_lock;  /* the large list; a leaf */
    large_hdr *large;
    large_hdr *cache; /* freed mappings kept for reuse, singly linked through next */
    size_t cache_bytes, cache_count;
    uint64_t large_allocs, large_frees, large_live, large_high, large_bytes; /* under large_lock */
};

/* The class of a request: 8; 16 to 128 by 16; then four per power of two up to 16384. */
static unsigned class_of(size_t size)
{
    if (size <= 8)
        return 0;
    if (size <= 128)
        return (unsigned)((size + 15) >> 4);
    size_t m = size - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll((unsigned long long)m); /* 7 and up */
    return 9 + (e - 7) * 4 + (unsigned)((m - ((size_t)1 << e)) >> (e - 2)); /* quarters of the power */
}

/* The classes of requests up to 1024 bytes by 8-byte granule, filled once before the first set
 * exists: larson's sizes (8-999) are seven in eight above 128, where class_of's arithmetic was
 * about a dozen instructions of every allocation. Every class boundary up to 1024 is a multiple
 * of 8, so a granule never straddles two classes. */
static uint8_t small_class[SMALL_MAX / 8 + 1];
static pthread_once_t small_once = PTHREAD_ONCE_INIT;

static void small_fill(void)
{
    for (size_t g = 0; g <= SMALL_MAX / 8; g++)
        small_class[g] = (uint8_t)class_of(g ? g * 8 : 1);
}

static inline unsigned class_fast(size_t size)
{
    return TMP__LIKELY(size <= SMALL_MAX) ? small_class[(size + 7) >> 3] : class_of(size);
}

static size_t class_size(unsigned c)
{
    if (c == 0)
        return 8;
    if (c <= 8)
        return (size_t)c * 16;
    unsigned k = c - 9, e = 7 + k / 4;
    size_t base = (size_t)1 << e;
    return base + (k % 4 + 1) * (base >> 2);
}

void tmp_set_config_init(tmp_set_config *cfg, tmp_strategy s)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->strategy = s;
}

int tmp_set_create(const tmp_set_config *cfg, tmp_set **out)
{
    pthread_once(&small_once, small_fill);
    tmp__registry_init();
    if (!cfg || !out || (unsigned)cfg->strategy >= TMP_STRATEGY_COUNT ||
        (cfg->flags & ~(unsigned)(TMP_F_DEBUG | TMP_F_NO_AUTOTRIM)) || cfg->max_size > TMP_SET_MAX_CLASS_SIZE)
        return EINVAL;
    tmp_set *s = aligned_alloc(64, (sizeof *s + 63) & ~(size_t)63);
    if (!s)
        return ENOMEM;
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.max_size)
        s->cfg.max_size = TMP_SET_MAX_CLASS_SIZE;
    s->debug = (cfg->flags & TMP_F_DEBUG) != 0;
    bool caches = tmp__strategy_caches(cfg->strategy);
    s->mapped = caches && !s->debug && tmp__chunkmap_ready();
    s->fast_max = SET_FAST && caches ? (s->cfg.max_size < SMALL_MAX ? s->cfg.max_size : SMALL_MAX) : 0;
    tmp__lock_init(&s->create_lock, TMP__RANK_SET_CREATE);
    tmp__lock_init(&s->large_lock, TMP__RANK_SET_LARGE);
    /* What a class pool's creation asks once per process, asked now: the set's pools are made on
     * first use, inside the caller's work, and numa's first one loaded the hwloc topology there,
     * 1.6 ms on the 2-core VM, in a cold cc1 replay of 5 ms (numa, on one node the same paths as
     * tcache, ran it at 0.79 [0.72, 0.85] of tcache). */
    (void)tmp__online_cpus();
    if (cfg->strategy == TMP_NUMA)
        (void)tmp__topo_nodes();
    *out = s;
    return 0;
}

/* The pool of class c, made on its first use. NULL with errno set when it cannot be made. Out of
 * line, as the large path: inlined, they made tmp_set_alloc save five registers on every call. */
static tmp_pool *__attribute__((noinline)) class_pool_slow(tmp_set *s, unsigned c)
{
    tmp_pool *p;
    tmp__lock_acquire(&s->create_lock);
    p = atomic_load_explicit(&s->pools[c], memory_order_relaxed);
    if (!p) {
        tmp_config pc;
        tmp_config_init(&pc, class_size(c), s->cfg.strategy);
        pc.alignment = c == 0 ? 8 : 16;
        pc.flags = s->cfg.flags;
        int err = tmp__pool_create_min(&pc, SET_MIN_OBJS, &p);
        if (err == 0 && p->chunk_size != SET_CHUNK) { /* the lookup by mask depends on it */
            tmp_pool_destroy(p);
            p = NULL;
            err = EINVAL;
        }
        if (err != 0) {
            tmp__lock_release(&s->create_lock);
            errno = err;
            return NULL;
        }
        atomic_store_explicit(&s->pools[c], p, memory_order_release);
        _Static_assert(TMP__TLS_IDS <= 65536, "a pool id fits in gid");
        if (p->fast)
            for (size_t g = 0; g <= SMALL_MAX / 8; g++)
                if (small_class[g] == c)
                    atomic_store_explicit(&s->gid[g], (uint16_t)p->id, memory_order_relaxed);
    }
    tmp__lock_release(&s->create_lock);
    return p;
}

static void *__attribute__((noinline)) large_alloc(tmp_set *s, size_t size)
{
    if (size > SIZE_MAX - LARGE_HDR - SET_CHUNK) {
        errno = ENOMEM;
        return NULL;
    }
    size_t mapped = tmp__os_round(size + LARGE_HDR); /* whole slots where os.c's reservoir serves it */
    large_hdr *h = NULL;
    tmp__lock_acquire(&s->large_lock);
    for (large_hdr **at = &s->cache; *at; at = &(*at)->next)
        if ((*at)->mapped >= mapped && (*at)->mapped / 2 <= mapped) {
            h = *at;
            *at = h->next;
            s->cache_bytes -= h->mapped;
            s->cache_count--;
            mapped = h->mapped;
            break;
        }
    tmp__lock_release(&s->large_lock);
    if (!h && !(h = tmp__os_map(mapped, SET_CHUNK))) {
        errno = ENOMEM;
        return NULL;
    }
    *h = (large_hdr){.magic = LARGE_MAGIC, .set = s, .size = size, .mapped = mapped};
    tmp__lock_acquire(&s->large_lock);
    h->next = s->large;
    if (s->large)
        s->large->prev = h;
    s->large = h;
    s->large_allocs++;
    s->large_bytes += mapped;
    if (++s->large_live > s->large_high)
        s->large_high = s->large_live;
    tmp__lock_release(&s->large_lock);
    return (char *)h + LARGE_HDR;
}

void *tmp_set_alloc(tmp_set *set, size_t size)
{
    /* tmp_alloc's cache hit, reached by id (the set's first line) rather than through the pool.
     * A class without a pool, or without a cache, has id 0 and a closed slot: the path below. */
    if (TMP__LIKELY(size <= set->fast_max)) {
        unsigned id = atomic_load_explicit(&set->gid[(size + 7) >> 3], memory_order_relaxed);
        tmp__tcache *c = &tmp__tls_v[id];
        void *obj;
        if (TMP__LIKELY(tmp__cache_pop(c, &obj)))
            return obj;
    }
    if (TMP__UNLIKELY(size > set->cfg.max_size))
        return large_alloc(set, size);
    unsigned c = class_fast(size);
    tmp_pool *p = atomic_load_explicit(&set->pools[c], memory_order_acquire);
    if (TMP__UNLIKELY(!p) && !(p = class_pool_slow(set, c)))
        return NULL;
    return tmp_alloc(p);
}

/* TMP_F_DEBUG: the header of obj only once obj is known to lie in the set (a foreign pointer's
 * masked address may not be mapped at all); NULL when it lies in none of the set's memory. */
static const uint64_t *checked_header(tmp_set *s, const void *obj)
{
    const void *h = (const void *)((uintptr_t)obj & ~(uintptr_t)(SET_CHUNK - 1));
    for (unsigned c = 0; c < SET_CLASSES; c++) {
        tmp_pool *p = atomic_load_explicit(&s->pools[c], memory_order_acquire);
        if (p && tmp__pool_owns_chunk(p, h))
            return h;
    }
    bool found = false;
    tmp__lock_acquire(&s->large_lock);
    for (large_hdr *l = s->large; l && !found; l = l->next)
        found = (const void *)l == h;
    tmp__lock_release(&s->large_lock);
    return found ? h : NULL;
}

static void set_die(const tmp_set *s, const void *obj, const char *what)
{
    fprintf(stderr, "tmempool: set %p (%s): %s %p\n", (const void *)s, tmp_strategy_name(s->cfg.strategy), what, obj);
    fflush(stderr);
    abort();
}

static const uint64_t *__attribute__((noinline)) debug_header_of(tmp_set *s, const void *obj)
{
    const uint64_t *h = checked_header(s, obj);
    if (!h)
        set_die(s, obj, "free of a pointer this set never handed out (in none of its chunks or mappings):");
    return h;
}

static inline const uint64_t *header_of(tmp_set *s, const void *obj)
{
    if (TMP__UNLIKELY(s->debug))
        return debug_header_of(s, obj);
    return (const uint64_t *)((uintptr_t)obj & ~(uintptr_t)(SET_CHUNK - 1));
}

static void __attribute__((noinline)) large_free(tmp_set *set, void *obj, const uint64_t *h)
{
    large_hdr *l = (large_hdr *)h;
    if (TMP__UNLIKELY(*h != LARGE_MAGIC || l->set != set || obj != (char *)l + LARGE_HDR))
        set_die(set, obj, "free of a pointer that is not one of this set's objects:");
    tmp__lock_acquire(&set->large_lock);
    if (l->prev)
        l->prev->next = l->next;
    else
        set->large = l->next;
    if (l->next)
        l->next->prev = l->prev;
    set->large_frees++;
    set->large_live--;
    set->large_bytes -= l->mapped;
    l->magic = 0; /* a second free of it finds no header (in debug mode: no live mapping) */
    bool keep = l->mapped <= LARGE_CACHE_ONE && set->cache_count < LARGE_CACHE_COUNT &&
                set->cache_bytes + l->mapped <= LARGE_CACHE_BYTES;
    if (keep) {
        l->next = set->cache;
        set->cache = l;
        set->cache_bytes += l->mapped;
        set->cache_count++;
    }
    tmp__lock_release(&set->large_lock);
    if (!keep)
        tmp__os_unmap(l, l->mapped);
}

/* Off the cache hit, so that its frame is not set up on every free */
static void __attribute__((noinline)) free_by_header(tmp_set *set, void *obj)
{
    const uint64_t *h = header_of(set, obj);
    if (TMP__LIKELY(*h == TMP__CHUNK_MAGIC))
        tmp_free(((const tmp__chunk *)h)->pool, obj);
    else
        large_free(set, obj, h);
}

void tmp_set_free(tmp_set *set, void *obj)
{
    if (TMP__UNLIKELY(!obj))
        return;
    if (TMP__LIKELY(set->mapped)) {
        /* tmp_free's cache hit, with the pool id from the chunk map rather than from the
         * chunk's header (chunkmap.c says why). Id 0, for an object of a pool without that fast
         * path or of no pool, is a closed slot: the test fails and the header decides. */
        unsigned e = tmp__chunkmap_id(obj);
        if (TMP__LIKELY(!(e & TMP__MAP_OWNER))) {
            tmp__tcache *c = &tmp__tls_v[e];
            uint32_t n = tmp__u32(&c->n);
            if (TMP__LIKELY(n < c->lim)) {
                tmp__cache_put_at(c, n, obj);
                return;
            }
        } else {
            /* a class below a line keeps line owners, as tmp_free's fast path does, with the
             * pool's offset from the cache's copy: through tmp_free every such free read the
             * chunk's header and the pool first (a sqlite3 trace, 91% of its objects below 64
             * bytes, spent 63 instructions a free and 108 an event; now 96 an event) */
            tmp__tcache *c = &tmp__tls_v[e & TMP__MAP_ID];
            uint32_t n = tmp__u32(&c->n);
            if (n < c->lim && tmp__cache_put_owned(c, n, obj, ~(uintptr_t)(SET_CHUNK - 1), c->owner_off))
                return;
        }
    }
    free_by_header(set, obj);
}

size_t tmp_set_usable_size(const tmp_set *set, const void *obj)
{
    if (!obj)
        return 0;
    const uint64_t *h = header_of((tmp_set *)set, obj);
    if (*h == TMP__CHUNK_MAGIC)
        return ((const tmp__chunk *)h)->pool->cfg.object_size;
    return ((const large_hdr *)h)->size;
}

int tmp_set_stats(const tmp_set *set, tmp_stats *out)
{
    if (!set || !out)
        return EINVAL;
    memset(out, 0, sizeof *out);
    out->nodes = 1;
    for (unsigned c = 0; c < SET_CLASSES; c++) {
        tmp_pool *p = atomic_load_explicit(&((tmp_set *)set)->pools[c], memory_order_acquire);
        tmp_stats ps;
        if (!p || tmp_pool_stats(p, &ps) != 0)
            continue;
        out->allocs += ps.allocs;
        out->frees += ps.frees;
        out->in_use += ps.in_use;
        out->high_water += ps.high_water; /* each class's own peak: an upper bound of the set's */
        out->bytes_reserved += ps.bytes_reserved;
        out->lock_waits += ps.lock_waits;
        out->cache_hits += ps.cache_hits;
        out->cache_misses += ps.cache_misses;
        out->remote_frees += ps.remote_frees;
        if (ps.nodes > out->nodes)
            out->nodes = ps.nodes;
    }
    tmp__lock_acquire((tmp__lock *)&set->large_lock);
    out->allocs += set->large_allocs;
    out->frees += set->large_frees;
    out->in_use += set->large_live;
    out->high_water += set->large_high;
    out->bytes_reserved += set->large_bytes + set->cache_bytes; /* the kept mappings are held too */
    tmp__lock_release((tmp__lock *)&set->large_lock);
    return 0;
}

void tmp_set_destroy(tmp_set *set)
{
    if (!set)
        return;
    for (unsigned c = 0; c < SET_CLASSES; c++) {
        tmp_pool *p = atomic_load_explicit(&set->pools[c], memory_order_acquire);
        if (p)
            tmp_pool_destroy(p);
    }
    for (large_hdr *l = set->large, *next; l; l = next) {
        next = l->next;
        tmp__os_unmap(l, l->mapped);
    }
    for (large_hdr *l = set->cache, *next; l; l = next) {
        next = l->next;
        tmp__os_unmap(l, l->mapped);
    }
    tmp__lock_fini(&set->create_lock);
    tmp__lock_fini(&set->large_lock);
    free(set);
}
