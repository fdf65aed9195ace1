/* Internal structures shared by the strategies: locks, chunks, magazine stores, arenas and the
 * strategy vtable. Nothing outside allocators/src includes this. */
#ifndef TMP_INTERNAL_H
#define TMP_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tmempool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Padding unit for data written by different threads: the x86 adjacent-line prefetcher pulls
 * lines in 128-byte pairs, so 64 is not enough to keep two writers apart. */
#define TMP__PAD 128
#define TMP__LIKELY(x) __builtin_expect(!!(x), 1)
#define TMP__UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TMP__CHUNK_MAGIC 0x746d70636b6e6b31ull /* "tmpcknk1" */
#define TMP__MAX_ALIGN ((size_t)1 << 20)
#define TMP__MAX_OBJECT ((size_t)1 << 36)

/* ---- locks ----------------------------------------------------------------------------- */

/* Lock order: a thread that holds a lock may only take locks further down this list.
 *   0. a set's create_lock (set.c): held while a class pool is created, so 1-3 nest in it.
 *   1. the registry lock (tcache.c): pool ids, every pool's cache list, cache->pool and the
 *      retired counters. Held while a dying thread's caches are flushed, so 2 and 3 nest in it.
 *   2. arena locks (tmp__arena.lock): the arena's store, bump chunk and counters. Several at
 *      once only in ascending arena index (a trim pass takes them all).
 *   3. pool->meta_lock: the chunk list, the metadata area, spare magazines, trim hysteresis.
 *   4. a set's large_lock (set.c): its list of large objects; nothing is taken under it.
 *   5. the OS reservoir's lock (os.c): a leaf, taken by any mapping of a chunk, a metadata
 *      block or a large object, under 2 or 3 or none.
 * Locks are released in the reverse order of taking them. Where TMP__CHECKS is defined (debug
 * and sanitizer builds, CMake TMP_CHECKS) every acquisition checks the order and every
 * release the nesting, and TMP__ASSERT_HELD checks the "lock held" preconditions below. */
enum { TMP__RANK_SET_CREATE = 0, TMP__RANK_REGISTRY = 1, TMP__RANK_ARENA = 2 /* + arena index */,
       TMP__RANK_META = 1u << 20, TMP__RANK_SET_LARGE = (1u << 20) + 1, TMP__RANK_OS = (1u << 20) + 2 };

/* A mutex that counts how often an acquirer found it taken. waits is written only while the
 * lock is held, so it needs no atomic. */
typedef struct tmp__lock {
    pthread_mutex_t m;
    uint64_t waits;
#ifdef TMP__CHECKS
    unsigned rank;
    _Atomic(const void *) owner; /* the holder's tmp__lock_self(), NULL when free */
    struct tmp__lock *below;     /* the lock its holder took before it (a per-thread stack) */
#endif
} tmp__lock;

#ifdef TMP__CHECKS
#define TMP__LOCK_INITIALIZER(r) {PTHREAD_MUTEX_INITIALIZER, 0, (r), NULL, NULL}
#define TMP__ASSERT(cond) ((cond) ? (void)0 : tmp__assert_fail(#cond, __FILE__, __LINE__))
#define TMP__ASSERT_HELD(l) TMP__ASSERT(tmp__lock_held(l))
#else
#define TMP__LOCK_INITIALIZER(r) {PTHREAD_MUTEX_INITIALIZER, 0}
#define TMP__ASSERT(cond) ((void)0)
#define TMP__ASSERT_HELD(l) ((void)0)
#endif

/* lock.c */
void tmp__lock_init(tmp__lock *l, unsigned rank);
void tmp__lock_fini(tmp__lock *l);
#ifdef TMP__CHECKS
void tmp__assert_fail(const char *what, const char *file, int line) __attribute__((noreturn, cold));
void tmp__lock_order_check(const tmp__lock *l); /* before taking l */
void tmp__lock_taken(tmp__lock *l);
void tmp__lock_leaving(tmp__lock *l);           /* before releasing l */
bool tmp__lock_held(const tmp__lock *l);        /* by the calling thread */
#endif

static inline void tmp__lock_acquire(tmp__lock *l)
{
#ifdef TMP__CHECKS
    tmp__lock_order_check(l);
#endif
    if (TMP__UNLIKELY(pthread_mutex_trylock(&l->m) != 0)) {
        pthread_mutex_lock(&l->m);
        l->waits++;
    }
#ifdef TMP__CHECKS
    tmp__lock_taken(l);
#endif
}

static inline void tmp__lock_release(tmp__lock *l)
{
#ifdef TMP__CHECKS
    tmp__lock_leaving(l);
#endif
    pthread_mutex_unlock(&l->m);
}

/* ---- chunks ---------------------------------------------------------------------------- */

/* A chunk is chunk_size bytes (a power of two) aligned to its size, so the chunk of any object
 * is found by masking its address. The header sits near the start, at one of 16 line offsets
 * picked by the chunk's address (tmp__chunk_of); objects follow. */
typedef struct tmp__chunk {
    /* first line: fields the paths of single objects do not touch; magic and pool first, as
     * the copy at the chunk's start has them */
    uint64_t magic;
    struct tmp_pool *pool;
    struct tmp__chunk *next; /* in the pool's list of all chunks */
    size_t limit;         /* objects this chunk may hold (max_objects may cap it) */
    _Atomic size_t carved; /* objects handed out of the bump region; written under the arena lock */
    size_t tally;         /* scratch for trim: free objects seen */
    unsigned node;        /* arena (NUMA node) index */
    _Atomic uint64_t *live; /* TMP_F_DEBUG: one bit per object, set while allocated */
    /* second line: what a free to the store's bits reads and writes, with the first of the
     * bits right after it (tmp__chunk_fbits). Free objects its arena's store keeps as bits
     * rather than pointers (store.c): one bit per object, nfree of them set, none in the words
     * below fhint. Under the arena's lock; a chunk with nfree > 0 is on that store's list
     * through fnext. */
    struct tmp__arena *arena;
    size_t nfree, fhint;
    struct tmp__chunk *fnext;
    char *objs;           /* first object */
} tmp__chunk;

static inline uint64_t *tmp__chunk_fbits(tmp__chunk *c);

/* The most a chunk's header is moved from its start: 15 lines in a chunk of 64 KiB or more, less
 * in a smaller one (none below 4 KiB). */
static inline uintptr_t tmp__color_span(uintptr_t mask) { return (~mask >> 6) & 0x3c0; }

/* The header of the chunk that holds obj. Headers at the start of every 64 KiB-aligned chunk all
 * fall in the same few sets of the L1 and L2 caches (64 and 2048 sets of 64-byte lines): a store
 * that sets the free bits of 100 chunks in random order missed in both on most objects. So each
 * header is moved by a colour from address bits 16-23 (Bonwick's slab colouring, "The Slab
 * Allocator", 1994, applied to the metadata rather than the objects). The chunk's first 16 bytes
 * keep a copy of its magic and pool for the lookups by header alone (set.c, large objects). */
static inline tmp__chunk *tmp__chunk_in(uintptr_t mask, uintptr_t span, const void *obj)
{
    uintptr_t base = (uintptr_t)obj & mask;
    return (tmp__chunk *)(base + (((base >> 10) ^ (base >> 14)) & span));
}

static inline tmp__chunk *tmp__chunk_of(uintptr_t mask, const void *obj)
{
    return tmp__chunk_in(mask, tmp__color_span(mask), obj);
}

/* chunkmap.c: the pool id of every live 64 KiB chunk whose pool has the cache fast path without
 * node checks (TMP__FAST_CACHE, with or without TMP__FAST_OWNER), by address, with
 * TMP__MAP_OWNER added where the pool keeps line owners; 0 for any other address, whose table
 * slot is always closed. One flat table over 2^47 bytes of address space, reserved when the
 * first set is made; addresses at or above 2^47 are not mapped (0). */
#define TMP__MAP_SHIFT 16
#define TMP__MAP_ADDR_BITS 47
#define TMP__MAP_ENTRIES ((size_t)1 << (TMP__MAP_ADDR_BITS - TMP__MAP_SHIFT))
#define TMP__MAP_OWNER 0x8000u    /* the entry's pool keeps line owners (above every pool id) */
#define TMP__MAP_ID 0x7fffu       /* the pool id part of an entry */
extern _Atomic(_Atomic uint16_t *) tmp__chunkmap; /* NULL until tmp__chunkmap_ready made it */
bool tmp__chunkmap_ready(void);                  /* makes the table once; false if it cannot be */
void tmp__chunkmap_set(const tmp__chunk *c, unsigned id); /* best effort: a miss reads 0 */
void tmp__chunkmap_clear(const tmp__chunk *c);             /* before c is unmapped */

/* Only once tmp__chunkmap_ready has returned true. */
static inline unsigned tmp__chunkmap_id(const void *obj)
{
    uintptr_t a = (uintptr_t)obj;
    if (TMP__UNLIKELY(a >> TMP__MAP_ADDR_BITS))
        return 0;
    const _Atomic uint16_t *map = atomic_load_explicit(&tmp__chunkmap, memory_order_relaxed);
    return atomic_load_explicit(&map[a >> TMP__MAP_SHIFT], memory_order_relaxed);
}

/* ---- magazine store -------------------------------------------------------------------- */

/* A store keeps free objects as pointers in magazines (arrays), never inside the objects, so
 * free objects stay untouched: poisoning by ASan and valgrind's pool tracking work unchanged,
 * and a cross-thread free does not write the object's cache line. Magazines come from the
 * pool's metadata area (Bonwick and Adams, "Magazines and Vmem", USENIX 2001). */
typedef struct tmp__mag {
    struct tmp__mag *next;
    uint32_t n;
    void *obj[];
} tmp__mag;

extern tmp__mag tmp__mag_none; /* store.c */

typedef struct tmp__store {
    size_t count;    /* objects held, in magazines and in chunk bits */
    size_t in_bits;  /* of which kept as bits in their chunks (store.c) */
    struct tmp__chunk *bits; /* the chunks holding them, through fnext */
    tmp__mag *cur;   /* partly filled; tmp__mag_none until the store first takes a pointer */
    tmp__mag *full;  /* stack of full magazines */
    tmp__mag *empty; /* spares, at most STORE_SPARES; the rest go back to the pool in bundles */
    unsigned nempty;
} tmp__store;

/* ---- arenas ----------------------------------------------------------------------------- */

/* An arena is a locked store plus the chunks it grows from. The global strategy has one, the
 * striped one per stripe, tcache one per CPU (the depots), numa one per node. */
typedef struct tmp__arena {
    tmp__lock lock;
    /* objects taken from this arena less those given to it. Negative in an arena that
     * receives more than it hands out: objects move between arenas when a thread frees to its
     * own (striped, tcache) what it took from another; the sum over arenas is the objects
     * outside them all (user or caches). Written under the lock, read without it by the
     * automatic trim's rule and by tcache's steal, which also peeks at free_pub: both sit on
     * the lock's line, so a thief's peek fetches the line its lock acquisition needs anyway
     * (xmalloc at 2 threads lost 8% to the extra lines). */
    _Atomic int64_t out;
    /* store.count as this arena last published it (each trim check, each trim pass): what
     * other arenas' threads read. The store's own count stays a plain field, as the single
     * takes and gives of global and striped count it on every call. */
    _Atomic size_t free_pub;
    tmp__store store;
    tmp__chunk *bump; /* chunk still being carved, or NULL */
    unsigned node;
    /* counters, written under lock */
    uint64_t allocs, frees;
    int64_t out_high; /* the most `out` has been */
} __attribute__((aligned(TMP__PAD))) tmp__arena;

static inline int64_t tmp__arena_out(const tmp__arena *a)
{
    return atomic_load_explicit(&a->out, memory_order_relaxed);
}

static inline size_t tmp__arena_free_pub(const tmp__arena *a)
{
    return atomic_load_explicit(&a->free_pub, memory_order_relaxed);
}

/* ---- strategies ------------------------------------------------------------------------ */

struct tmp__tcache;

typedef struct tmp__strategy {
    const char *name;
    int (*init)(tmp_pool *pool);   /* 0 or errno; may leave partial state for fini */
    void (*fini)(tmp_pool *pool);
    void *(*alloc)(tmp_pool *pool);
    void (*free)(tmp_pool *pool, void *obj);
    void (*stats)(const tmp_pool *pool, tmp_stats *out); /* adds its counters into out */
    /* Thread-cache strategies: give every object in c back to the shared level. Called with
     * the registry lock held, from thread exit and from the cache's own thread. */
    void (*cache_flush)(tmp_pool *pool, struct tmp__tcache *c);
} tmp__strategy;

extern const tmp__strategy tmp__strategy_global;
extern const tmp__strategy tmp__strategy_striped;
extern const tmp__strategy tmp__strategy_tcache;
extern const tmp__strategy tmp__strategy_numa;
/* Whether pools of strategy s keep thread caches (their plain ones get the inline fast path). */
bool tmp__strategy_caches(tmp_strategy s);

#define TMP__AHEAD_KEPT 4

struct tmp_pool {
    /* read-mostly, first line: everything the fast path needs */
    const tmp__strategy *vt;
    uintptr_t chunk_mask;
    unsigned id;       /* index into each thread's cache table */
    bool slow;         /* debug or valgrind: every call goes through tmp__checked_* */
    uint8_t fast;      /* TMP__FAST_* bits: the cache fast path tmp_alloc and tmp_free run inline */
    uint32_t owner_off; /* cached strategies whose objects may share a cache line: where each
                         * chunk's table of line owners starts (0: no table) */
    uint64_t gen;      /* unique per pool ever created in this process */
    size_t stride;     /* bytes between objects */
    size_t chunk_size;
    size_t chunk_objs;
    uint64_t stride_inv; /* 2^64 / stride rounded up, for an object's index in its chunk; 0: divide */
    size_t mag_keep;   /* objects a store keeps in magazines before its own chunks' go to bits */
    uint32_t live_off;  /* TMP_F_DEBUG: where its bits of live objects start, from its header */
    size_t hdr_bytes;  /* from a chunk's start to its first object: the colour span, header,
                        * debug bitmap, free bits and line owners, rounded to alignment */
    tmp_config cfg;    /* defaults resolved */
    bool valgrind;

    _Atomic size_t budget; /* objects that may still be carved, when max_objects != 0 */

    tmp__lock meta_lock; /* chunk list, metadata area (lock order: last) */
    tmp__chunk *chunks;
    _Atomic uint64_t bytes_reserved;
    char *meta_cur, *meta_end; /* bump area for magazines */
    struct tmp__meta_block *meta_blocks; /* blocks carved from, the current one first */
    /* blocks mapped for magazines not made yet: the first TMP__AHEAD_KEPT listed here, so that
     * none is written before it is carved; any more on a list through their headers */
    void *ahead_at[TMP__AHEAD_KEPT];
    size_t ahead_bytes[TMP__AHEAD_KEPT];
    unsigned n_ahead;
    struct tmp__meta_block *meta_ahead;
    tmp__mag *spare_mags;      /* made magazines no store holds: a stack of bundles (store.c) */
    size_t mag_cap;
    size_t mag_count;          /* magazines made */
    size_t mag_room;           /* magazines the mapped metadata area can still make */
    size_t obj_capacity;       /* objects that may sit in stores: live chunks plus slack */

    unsigned narenas;
    tmp__arena *arenas;        /* narenas, cache-line aligned */

    /* thread caches (tcache, numa); guarded by the global registry lock */
    struct tmp__tcache *caches;
    uint64_t retired_allocs, retired_frees, retired_misses, retired_remote;
    size_t carved_peak; /* objects carved before the last trim (meta_lock) */
    /* Hysteresis of the automatic trim (meta_lock): objects' worth of chunks that automatic
     * trims gave back and the pool has not carved again, and the objects' worth of empty chunks
     * automatic trims now leave in place because a pool once had to map them again. */
    size_t trim_owed;
    _Atomic size_t trim_keep; /* written under meta_lock; read without it by check_trim */
    /* The automatic trim's rule (arena.c), over every arena's objects: the objects out when
     * the last pass was asked for, and the free objects the pool holds before it may ask
     * again. Written by whichever arena's lock holder applies the rule: a lost update costs at
     * most one pass too many or too few. */
    _Atomic int64_t trim_out;
    _Atomic size_t trim_at;
    bool autotrim; /* TMP_F_NO_AUTOTRIM not given */
    _Atomic int trim_due;
};

/* A chunk's free bits follow its header */
static inline uint64_t *tmp__chunk_fbits(tmp__chunk *c) { return (uint64_t *)(c + 1); }

/* Where chunk c's mapping starts (its header is coloured: tmp__chunk_of) */
static inline void *tmp__chunk_base(const struct tmp_pool *pool, const tmp__chunk *c)
{
    return (void *)((uintptr_t)c & pool->chunk_mask);
}

/* ---- what each file defines ---------------------------------------------------------- */

/* pool.c */
unsigned tmp__online_cpus(void);
size_t tmp__carved_high(const tmp_pool *pool); /* takes meta_lock */
bool tmp__pool_owns_chunk(tmp_pool *pool, const void *chunk); /* the start of one of its chunks; takes meta_lock */
/* tmp_pool_create with chunks of at least min_objs objects instead of 16 (set.c's largest
 * classes, which must keep 64 KiB chunks). */
int tmp__pool_create_min(const tmp_config *cfg, size_t min_objs, tmp_pool **out);

/* os.c: OS memory. tmp__os_map serves sizes that are whole 64 KiB slots, up to four, aligned to
 * at most 64 KiB, from a shared reservoir without a system call; tmp__os_round gives the size to
 * ask for so that a mapping can be served there. Every mapping goes back with tmp__os_unmap and
 * the size it was asked with. */
void *tmp__os_map(size_t size, size_t align);
void tmp__os_unmap(void *p, size_t size);
size_t tmp__os_round(size_t size);

/* chunk.c: chunks and the metadata area */
/* New chunk for arena a (its lock held). NULL with errno ENOMEM when the budget or the OS says no. */
tmp__chunk *tmp__chunk_new(tmp_pool *pool, tmp__arena *a);
void tmp__chunks_release_all(tmp_pool *pool);
void tmp__mag_reserve(tmp_pool *pool, size_t objects); /* meta_lock held */
tmp__mag *tmp__mag_make(tmp_pool *pool);                 /* meta_lock held */
/* Files count empty magazines, chained through next, as one spare bundle. meta_lock held. */
void tmp__spare_give(tmp_pool *pool, tmp__mag *chain, uint32_t count);

/* store.c: the magazine stack of one arena (its lock held by the caller) */
void tmp__store_init(tmp__store *s);
int tmp__store_setup(tmp_pool *pool); /* room for a new store's first magazine: 0, or -1 without memory */
size_t tmp__store_push(tmp_pool *pool, tmp__store *s, void *obj); /* the objects held now */
void *tmp__store_pop(tmp_pool *pool, tmp__store *s);
void tmp__store_push_many(tmp_pool *pool, tmp__store *s, void *const *objs, size_t n);
size_t tmp__store_pop_many(tmp_pool *pool, tmp__store *s, void **out, size_t want);

/* arena.c: one arena, and the pool's array of them that every strategy is built from */
int tmp__arena_init(tmp_pool *pool, tmp__arena *a, unsigned index, unsigned node);
/* n arenas in pool->arenas; arena i on node i when per_node, else all on node 0. 0 or errno;
 * on failure what was made is left for tmp__arenas_fini. */
int tmp__arenas_init(tmp_pool *pool, unsigned n, bool per_node);
void tmp__arenas_fini(tmp_pool *pool);
/* Sums every arena's counters into out; high water too when the pool has one arena (exact). */
void tmp__arenas_stats(const tmp_pool *pool, tmp_stats *out);
/* Arena lock held by the caller for these four. */
void *tmp__arena_take(tmp_pool *pool, tmp__arena *a);
/* owner: the mark for the lines of every object taken, carved or from the store
 * (pool->owner_off), 0 for none */
size_t tmp__arena_take_many(tmp_pool *pool, tmp__arena *a, void **out, size_t want, unsigned owner);
/* take_many from the store only, carving nothing: 0 when the store is empty */
size_t tmp__arena_take_stored(tmp_pool *pool, tmp__arena *a, void **out, size_t want, unsigned owner);
void tmp__arena_give(tmp_pool *pool, tmp__arena *a, void *obj);
void tmp__arena_give_many(tmp_pool *pool, tmp__arena *a, void *const *objs, size_t n);
/* n objects left arena a for another arena's store (a steal): a->lock held */
void tmp__arena_moved_out(tmp__arena *a, size_t n);

/* Automatic trim (arena.c): in a pool past four chunks, a pass is asked for when the pool's
 * free objects (the looking arena's store, the others' published counts) are at least twice those out of it, the objects out are at
 * most half what they were at the last request, and the free objects exceed the threshold,
 * `trim_at`. Every trim pass (trim.c) sets the threshold to what the pass left plus a quarter
 * (at least a chunk's worth), so each O(free objects) pass is paid for by that many frees
 * before the next; the free that brings the pool's last object back always qualifies. The
 * rule is the pool's, not each arena's: with a depot per thread, each thread's own round of
 * batch asked for three passes of the whole pool, and two threads' passes stalled both (batch
 * random at 2 threads: 14% of the time in trim, no faster than 1 thread). The strategy runs
 * the trim once its own lock is released. */
void tmp__trim_now(tmp_pool *pool);
static inline void tmp__trim_if_due(tmp_pool *pool)
{
    if (TMP__UNLIKELY(atomic_load_explicit(&pool->trim_due, memory_order_relaxed)))
        tmp__trim_now(pool);
}

/* The locked path, the same for every strategy: one object from or to arena a under its lock,
 * counted; a free runs the trim it made due once the lock is released. */
static inline void *tmp__arena_alloc(tmp_pool *pool, tmp__arena *a)
{
    tmp__lock_acquire(&a->lock);
    void *obj = tmp__arena_take(pool, a);
    a->allocs += obj != NULL;
    tmp__lock_release(&a->lock);
    return obj;
}

static inline void tmp__arena_free(tmp_pool *pool, tmp__arena *a, void *obj)
{
    tmp__lock_acquire(&a->lock);
    tmp__arena_give(pool, a, obj);
    a->frees++;
    tmp__lock_release(&a->lock);
    tmp__trim_if_due(pool);
}

/* trim.c: takes every arena lock, then meta_lock; bytes given back */
size_t tmp__trim_pass(tmp_pool *pool, bool automatic);

/* debug.c: debug checks and tool hooks */
void tmp__debug_pool_init(tmp_pool *pool); /* sets pool->slow and pool->valgrind */
void tmp__debug_pool_fini(tmp_pool *pool);
void tmp__chunk_tools_new(tmp_pool *pool, tmp__chunk *c);
void tmp__chunk_tools_release(tmp_pool *pool, tmp__chunk *c); /* before a chunk is unmapped */
void *tmp__checked_alloc(tmp_pool *pool);
void tmp__checked_free(tmp_pool *pool, void *obj);

/* tcache.c: per-thread caches, the registry of pools behind them, and the cache paths that the
 * cached strategies (tcache, numa) share */
typedef struct tmp__tcache {
    /* first line: what the fast paths read and write */
    _Atomic uint32_t n;     /* objects held: owner-written, read by tmp_pool_stats (tmp__u32) */
    uint32_t lim;           /* how many it may hold now */
    void **obj;             /* the held objects, cap of them: the last freed at obj[n - 1] */
    _Atomic uint64_t frees; /* frees it took (owner-written counters: see moved below) */
    uintptr_t own_line;     /* address >> 6 of the line the last own free was on */
    void **fbuf;            /* frees of objects on lines another thread owns (owner_off) */
    _Atomic uint32_t fn;
    uint32_t batch;         /* the first refill/spill size and the foreign/remote buffers' */
    uint32_t owner_off;     /* pool->owner_off, for the set's free that reaches no pool line */
    uint8_t slot;           /* the owner mark of the lines this thread takes (1..255) */
    /* the slow paths' */
    uint32_t move;          /* refill/spill size now: batch, or more (tcache.c, tmp__tcache_refilled) */
    uint32_t cap, lim0;     /* the most it may grow to (cache_objects), where it starts */
    uint32_t objcap;        /* slots obj has room for: the most lim has been */
    uint32_t spills_run;    /* spills since the last refill */
    bool spilled;           /* a spill happened since the last refill */
    unsigned node;          /* its arena: the thread's home depot (tcache), its node's (numa) */
    tmp_pool *pool; /* NULL once the pool is destroyed */
    uint64_t gen;   /* its pool's generation; 0: a closed slot, holding no cache */
    /* Owner-written counters, read by tmp_pool_stats: relaxed loads and stores, no RMW. Only
     * frees are counted on the fast path; allocations are what came in less what is held and
     * what went out: frees + moved - (n + fn + rn[]), where moved is what refills brought in
     * less what spills, flushes and sends gave back (tcache.c, cache_allocs). Counting them too
     * cost churn 3.7% of its speed at 1 thread (0.963 [0.917, 0.980], 15 interleaved pairs). */
    _Atomic uint64_t moved, misses, remote;
    uint32_t refills;           /* slow-path calls since the node was last looked up */
    struct tmp__tcache *next, *prev; /* pool->caches */
    void ***rbuf;               /* numa: per-node buffers of remote frees */
    _Atomic uint32_t *rn;
    unsigned nrbuf;
} __attribute__((aligned(256))) tmp__tcache;
_Static_assert(sizeof(tmp__tcache) == 256, "a cache is one 256-byte slot of its thread's table: id << 8");

/* A cache's counts are atomic only so that tmp_pool_stats may read them from another thread:
 * relaxed loads and stores compile to the plain moves of ordinary fields. */
static inline uint32_t tmp__u32(const _Atomic uint32_t *x) { return atomic_load_explicit(x, memory_order_relaxed); }
static inline void tmp__u32_set(_Atomic uint32_t *x, uint32_t v) { atomic_store_explicit(x, v, memory_order_relaxed); }
/* The owner's change to its moved count (slow paths only) */
static inline void tmp__moved(tmp__tcache *c, int64_t d)
{
    atomic_store_explicit(&c->moved, atomic_load_explicit(&c->moved, memory_order_relaxed) + (uint64_t)d,
                          memory_order_relaxed);
}

/* Each thread keeps a table of its caches indexed by pool->id: the caches themselves, not
 * pointers to them, so that a cache's address is computed from the id and never loaded. On a
 * set's free the id comes from the freed object (the chunk map), and an allocation of the same
 * class waits for that free's count; a table of pointers put one more dependent load on that
 * path. Every table has TMP__TLS_IDS slots, and a thread that has none yet points at a shared
 * table of closed slots, so the fast path indexes without a bounds check. A closed slot is all
 * zero: an empty, zero-capacity cache that no path writes, so that the fast paths' own tests
 * (nothing to take, no room to put) send the call to the slow path without a NULL test. Slot 0
 * is never filled: a pool created while every other id is taken gets id 0 and runs without
 * thread caches (its calls take the arena lock). initial-exec TLS: one %fs-relative load, no
 * __tls_get_addr call, also from the shared library. */
#define TMP__TLS_IDS 2048
_Static_assert(TMP__TLS_IDS - 1 <= TMP__MAP_ID, "a pool id leaves the chunk map's owner bit free");
extern __thread tmp__tcache *tmp__tls_v __attribute__((tls_model("initial-exec")));

/* The fast paths' lookup: no generation check and never NULL. A cache left in a thread's table
 * by a destroyed pool is closed under reg_lock as the pool goes (tcache.c,
 * tmp__registry_remove), so a fast path that finds one under a new pool with the same id fails
 * its own tests and falls to the slow path, whose tmp__tcache_get checks the generation. The
 * generation check, the bounds check and the NULL test cost eight instructions per allocation
 * and free. */
static inline tmp__tcache *tmp__tcache_lookup(const tmp_pool *pool) { return &tmp__tls_v[pool->id]; }

/* Owner-only counter bump, read by other threads with relaxed loads. On x86-64 one `addq` to
 * memory: only the owner writes, and an aligned 8-byte store is never seen torn, so it needs no
 * lock prefix; C11 has no plain add on an atomic object, and its relaxed load and store were
 * three instructions on every allocation and free. TSan builds keep the C11 form, which the
 * tool can see. */
static inline void tmp__count(_Atomic uint64_t *x)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
    __asm__("addq $1, %0" : "+m"(*(uint64_t *)x));
#else
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + 1,
                          memory_order_relaxed);
#endif
}

/* Which thread-cache fast path tmp_alloc and tmp_free run themselves before they dispatch
 * through the strategy table: an indirect call per operation is about a tenth of a cached
 * allocation's cost. NODE also checks that a freed object belongs to the cache's node; OWNER
 * that the thread owns the object's cache line. */
enum { TMP__FAST_NONE = 0, TMP__FAST_CACHE = 1, TMP__FAST_NODE = 2, TMP__FAST_OWNER = 4 };

/* Passive false sharing (Berger et al., "Hoard", ASPLOS 2000): objects smaller than a line,
 * handed by one thread to others, share a line; a cache that kept such an object would give
 * it straight back to the thread that freed it, and the line would stay shared for as long as
 * both threads reuse their objects (falseshare handoff=yes: every strategy, and the floor, at a
 * quarter of mimalloc's rate). So a thread that takes objects from the arena, carved or from
 * its store, marks their lines in the chunk as its own, and keeps in its cache only objects on
 * lines it owns; the rest go back to the arena in batches (tmp__tcache.fbuf), for whoever
 * refills next. Only pools of objects smaller than
 * a line keep owners (pool.c, geometry); the others pay one test on the free path. */
static inline unsigned tmp__owner_at(const void *obj, uintptr_t chunk_mask, uint32_t owner_off)
{
    const _Atomic unsigned char *t = (const _Atomic unsigned char *)(((uintptr_t)obj & chunk_mask) + owner_off);
    return atomic_load_explicit(&t[((uintptr_t)obj & ~chunk_mask) >> 6], memory_order_relaxed);
}

static inline unsigned tmp__line_owner(const tmp_pool *pool, const void *obj)
{
    return tmp__owner_at(obj, pool->chunk_mask, pool->owner_off);
}

/* An object from cache c into *obj, or false when it holds none (a closed cache never does).
 * The count is loaded once: being atomic, a second read would not be merged with the first,
 * and a bool rather than a NULL result spares the caller a test of the pointer. */
static inline bool tmp__cache_pop(tmp__tcache *c, void **obj)
{
    uint32_t n = tmp__u32(&c->n);
    if (TMP__UNLIKELY(n == 0))
        return false;
    tmp__u32_set(&c->n, n - 1);
    *obj = c->obj[n - 1];
    return true;
}

/* The fast path of tmp_alloc and of both cached strategies: an object from the calling
 * thread's cache for pool, or false for the slow path. */
static inline bool tmp__cache_try_take(const tmp_pool *pool, void **obj) { return tmp__cache_pop(tmp__tcache_lookup(pool), obj); }

static inline void *tmp__cache_take(tmp__tcache *c)
{
    uint32_t n = tmp__u32(&c->n) - 1;
    tmp__u32_set(&c->n, n);
    return c->obj[n];
}

/* obj into cache c, which holds n (< lim) */
static inline void tmp__cache_put_at(tmp__tcache *c, uint32_t n, void *obj)
{
    tmp__u32_set(&c->n, n + 1);
    c->obj[n] = obj;
    tmp__count(&c->frees);
}

static inline void tmp__cache_put(tmp__tcache *c, void *obj) { tmp__cache_put_at(c, tmp__u32(&c->n), obj); }

/* An OWNER pool's free into cache c, which holds n (< lim): an object on a line another thread
 * owns goes to the cache's buffer of such frees, never to the cache itself; false when that
 * buffer is full. The line of the last free found its own skips the table: a run of frees on
 * one line (a reused object, a batch freed in order) reads it once. chunk_mask and owner_off
 * are the pool's, passed in so that a set's free, which reaches no pool line, can use it. */
static inline bool tmp__cache_put_owned(tmp__tcache *c, uint32_t n, void *obj, uintptr_t chunk_mask,
                                        uint32_t owner_off)
{
    uintptr_t line = (uintptr_t)obj >> 6;
    if (line != c->own_line) {
        if (tmp__owner_at(obj, chunk_mask, owner_off) != c->slot) {
            uint32_t fn = tmp__u32(&c->fn);
            if (TMP__UNLIKELY(fn >= c->batch))
                return false;
            c->fbuf[fn] = obj;
            tmp__u32_set(&c->fn, fn + 1);
            tmp__count(&c->frees);
            return true;
        }
        c->own_line = line;
    }
    tmp__cache_put_at(c, n, obj);
    return true;
}

/* The free fast path of the cached strategies: true when the calling thread's cache took obj.
 * fast: the pool's TMP__FAST_* bits. NODE: an object of another node is left to the slow path
 * (numa's remote buffers). OWNER: an object on a line another thread owns goes to the
 * cache's buffer of such frees, never to the cache itself. False when the cache is missing,
 * full, or its buffer is: the strategy's slow path then spills, sends or creates. */
static inline bool tmp__cache_free_fast(const tmp_pool *pool, void *obj, unsigned fast)
{
    tmp__tcache *c = tmp__tcache_lookup(pool);
    /* a full cache, or a closed one, goes to the slow path before anything is written: the slow
     * path also buffers another line's object when the cache is full */
    uint32_t n = tmp__u32(&c->n);
    if (TMP__UNLIKELY(n >= c->lim))
        return false;
    if (TMP__LIKELY(!(fast & (TMP__FAST_NODE | TMP__FAST_OWNER)))) { /* one test for the plain pools */
        tmp__cache_put_at(c, n, obj);
        return true;
    }
    if ((fast & TMP__FAST_NODE) && tmp__chunk_of(pool->chunk_mask, obj)->node != c->node)
        return false;
    if (fast & TMP__FAST_OWNER)
        return tmp__cache_put_owned(c, n, obj, pool->chunk_mask, pool->owner_off);
    tmp__cache_put_at(c, n, obj);
    return true;
}

/* The calling thread's cache for pool, created on first use; NULL with errno on failure. */
tmp__tcache *tmp__tcache_get(tmp_pool *pool);
/* Refill from arena a: the cache is empty. An object, or NULL with errno ENOMEM. */
void *tmp__tcache_refill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a);
/* The empty cache c now holds got objects in c->obj (a refill's bookkeeping: growth, counts). */
void tmp__tcache_refilled(tmp__tcache *c, size_t got, bool own);
/* Spill to arena a: the cache is full. Gives the older half back, keeps the cache-warm half. */
void tmp__tcache_spill(tmp_pool *pool, tmp__tcache *c, tmp__arena *a);
/* Gives every object in c back: its own to the arena of its node, buffered remote frees to
 * theirs. Registry lock held, or the owner thread. */
void tmp__tcache_flush(tmp_pool *pool, tmp__tcache *c);
/* Sends the frees of other threads' lines that c buffered to arena a (OWNER pools). */
void tmp__tcache_send_foreign(tmp_pool *pool, tmp__tcache *c, tmp__arena *a);
/* The slow paths' OWNER step: obj lies on a line c does not own, so it goes to c's buffer of
 * such frees (sent to arena a when full) and true; false for an object c may keep. Counts
 * nothing: the callers count the free. */
bool tmp__tcache_keep_foreign(tmp_pool *pool, tmp__tcache *c, void *obj, tmp__arena *a);
/* numa: sends the frees c buffered for node's arena home, under that arena's lock. */
void tmp__tcache_send_remote(tmp_pool *pool, tmp__tcache *c, unsigned node);
/* Stats of a cached strategy: the caches' counters, the arenas', high water from the carved total. */
void tmp__cached_stats(const tmp_pool *pool, tmp_stats *out);
/* The calling thread's number, in the order threads first asked (0, 1, ...): homes taken
 * round-robin by it (a stripe, a depot) spread a benchmark's threads evenly whatever their
 * ids are. */
unsigned tmp__thread_index(void);
/* The closed table's slots filled: before anything reads a slot without a pool of its own (a
 * set's fast path reads slot 0 before its first class pool exists). */
void tmp__registry_init(void);
void tmp__registry_add(tmp_pool *pool);
void tmp__registry_remove(tmp_pool *pool);

/* topology.c */
int tmp__topo_nodes(void);         /* NUMA nodes in the (possibly synthetic) topology, >= 1 */
int tmp__topo_current_node(void);  /* node of the CPU the caller runs on */
int tmp__topo_bind(void *addr, size_t len, unsigned node); /* 0, or -1 when binding is impossible */

#endif /* TMP_INTERNAL_H */
