/* tmempool: a thread-safe pool of fixed-size objects.
 *
 * A pool reserves large chunks from the OS and hands out objects of one size from any thread,
 * with no system call and no malloc on the fast path. Four concurrency strategies sit behind
 * this one API; they are the design variants the tmbench harness compares. */
#ifndef TMEMPOOL_H
#define TMEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TMP_VERSION_MAJOR 0
#define TMP_VERSION_MINOR 1
#define TMP_VERSION_PATCH 0
#define TMP_VERSION_STRING "0.1.0"

/* The library is built with hidden visibility: only these functions are exported, so internal
 * symbols of two libtmempool builds in one process (tmbench run --against) never bind to each
 * other. */
#if defined(__GNUC__)
#define TMP_API __attribute__((visibility("default")))
#else
#define TMP_API
#endif

typedef struct tmp_pool tmp_pool; /* opaque */

/* Preconditions of every call below: a pool argument is a pool from tmp_pool_create that has not
 * been destroyed (NULL is checked only where a function says so), and an object passed to
 * tmp_free came from tmp_alloc of the same pool and was not freed since. Without TMP_F_DEBUG a
 * broken precondition is undefined behaviour (a double free hands the object out twice); with
 * it, every free is checked and a violation is one line on stderr, then abort. */

typedef enum tmp_strategy {
    TMP_GLOBAL_LOCK,  /* one free store behind one lock: the reference design */
    TMP_STRIPED,      /* N locked sub-pools, a home stripe per thread */
    TMP_THREAD_CACHE, /* per-thread magazine in front of a depot per CPU */
    TMP_NUMA          /* one arena per NUMA node (hwloc), per-thread cache in front; on one
                       * node, built as TMP_THREAD_CACHE (nothing to place) */
} tmp_strategy;

#define TMP_STRATEGY_COUNT 4

enum {
    TMP_F_DEBUG = 1u << 0,
    /* No automatic trim: chunks go back to the OS only through tmp_pool_trim(). By default a
     * pool of more than four chunks trims itself when its free objects are twice the objects in
     * use and have grown since its last trim, and the objects in use have halved. Memory that an
     * automatic trim gave back and the pool then had to map again is kept by later automatic
     * trims, so a live count that swings between zero and many chunks does not map and unmap
     * the same chunks every swing. */
    TMP_F_NO_AUTOTRIM = 1u << 1,
};

typedef struct tmp_config {
    size_t object_size;     /* usable bytes per object, >= 1 */
    size_t alignment;       /* power of two; 0 means 16 */
    size_t max_objects;     /* 0 = unlimited; past it tmp_alloc returns NULL with errno = ENOMEM.
                             * The limit counts objects carved, so objects parked free in other
                             * threads' caches (tcache, numa) count against it: such a thread
                             * gives them back when it allocates, frees past its cache, or exits,
                             * not when another thread meets the limit. A limit too large to
                             * matter (up to SIZE_MAX / 2) is the same as none. */
    tmp_strategy strategy;
    unsigned stripes;       /* TMP_STRIPED: number of stripes, 0 = auto */
    unsigned cache_objects; /* TMP_THREAD_CACHE and TMP_NUMA: per-thread cache capacity, 0 = auto */
    unsigned flags;         /* TMP_F_DEBUG, TMP_F_NO_AUTOTRIM */
} tmp_config;

typedef struct tmp_stats {
    uint64_t allocs, frees, in_use, high_water; /* objects */
    uint64_t bytes_reserved;                    /* obtained from the OS and not yet returned */
    uint64_t lock_waits;                        /* lock acquisitions that found the lock taken */
    uint64_t cache_hits, cache_misses;          /* thread-cache strategies; 0 elsewhere */
    uint64_t remote_frees;                      /* TMP_NUMA: frees of objects whose home node differs */
    unsigned nodes;                             /* NUMA nodes the pool spans (1 elsewhere) */
} tmp_stats;

/* Fills *cfg with defaults for objects of object_size bytes under strategy s. Never fails. */
TMP_API void tmp_config_init(tmp_config *cfg, size_t object_size, tmp_strategy s);

/* Creates a pool. Returns 0 and sets *out, or EINVAL (bad configuration: object_size 0,
 * alignment not a power of two or above 1 MiB, sizes that overflow, unknown strategy or flag)
 * or ENOMEM; on error nothing is allocated and *out is untouched. Thread-safe. Up to 2047 pools
 * (a set counts one per size class in use) may be alive at once with thread caches; a tcache or
 * numa pool created beyond that works without them, every call taking its arena's lock. */
TMP_API int tmp_pool_create(const tmp_config *cfg, tmp_pool **out);

/* Returns every chunk to the OS, also with objects still out. No other thread may be inside a
 * call on this pool. Threads that still hold a cache for it never touch its memory again. */
TMP_API void tmp_pool_destroy(tmp_pool *pool);

/* Returns an object of object_size bytes, aligned as configured, or NULL with errno = ENOMEM
 * (max_objects reached, or the OS refused memory). Any thread. pool may not be NULL. */
TMP_API void *tmp_alloc(tmp_pool *pool);

/* Returns obj to the pool. Any thread, not only the one that allocated it. NULL is a no-op. */
TMP_API void tmp_free(tmp_pool *pool, void *obj);

/* Fills *out with a snapshot of the pool's counters (summed over threads). 0, or EINVAL for a
 * NULL argument. Exact once all threads are quiet; a close approximation while they run. */
TMP_API int tmp_pool_stats(const tmp_pool *pool, tmp_stats *out);

/* The library's version as built: TMP_VERSION_STRING, plus "+test-slowdown-N" in a build made
 * with the test-only TMP_TEST_SLOWDOWN option (so that its figures cannot pass for real ones). */
TMP_API const char *tmp_version(void);

/* "global", "striped", "tcache", "numa"; "unknown" for a value outside the enum. */
TMP_API const char *tmp_strategy_name(tmp_strategy s);

/* Parses a strategy name as tmp_strategy_name spells it. 0, or EINVAL. */
TMP_API int tmp_strategy_parse(const char *name, tmp_strategy *out);

/* Additions beside the contract. */

/* The NUMA node (logical index in the pool's topology) that obj's chunk belongs to; 0 for the
 * strategies that are not NUMA-aware; -1 when obj is not inside one of the pool's chunks. */
TMP_API int tmp_pool_node_of(const tmp_pool *pool, const void *obj);

/* The configuration the pool runs with, defaults resolved (stripes, cache_objects, alignment). */
TMP_API int tmp_pool_config(const tmp_pool *pool, tmp_config *out);

/* Returns the chunks that hold no live or cached object to the OS, all of them (what automatic
 * trims keep included). Returns the number of bytes given back. Any thread; takes the pool's
 * locks. */
TMP_API size_t tmp_pool_trim(tmp_pool *pool);

/* Size-class sets: objects of any size from one handle. A set is a pool per size class, each of
 * the set's strategy and created on its first allocation, plus one mapping per object above
 * max_size. Classes (bytes): 8, 16 to 128 by 16, then four per doubling (160, 192, 224, 256, 320,
 * ... 2048, 2560, 3072, 3584, 4096, ... 12288, 14336, 16384), the spacing jemalloc and mimalloc
 * use; a request takes the least class that holds it, so from 9 to 128 bytes at most 47% of an
 * object is padding (17 in 32), above 128 under 20% (2049 in 2560), and requests of 0 to 8 bytes
 * take 8. Every chunk of a class is 64 KiB and 64 KiB-aligned (the classes above 3584 fit 15
 * down to 3 objects in one), so
 * tmp_set_free finds an object's pool from its address without a search. Everything said of a
 * pool holds for a set: any-thread free, thread exit, destroy with objects out, TMP_F_DEBUG. */
typedef struct tmp_set tmp_set; /* opaque */

typedef struct tmp_set_config {
    tmp_strategy strategy; /* every class is a pool of this strategy */
    size_t max_size;       /* largest size served from a class; 0 = the default, 16384 (the
                            * largest class). Larger is EINVAL; sizes above it are mapped one
                            * object each and freed through tmp_set_free as well. */
    unsigned flags;        /* TMP_F_DEBUG, TMP_F_NO_AUTOTRIM, as for a pool */
} tmp_set_config;

#define TMP_SET_MAX_CLASS_SIZE 16384

/* Fills *cfg with the defaults for strategy s. Never fails. */
TMP_API void tmp_set_config_init(tmp_set_config *cfg, tmp_strategy s);

/* Creates a set: 0 and *out, or EINVAL (unknown strategy or flag, max_size above
 * TMP_SET_MAX_CLASS_SIZE) or ENOMEM; *out untouched on error. No class pool exists yet. */
TMP_API int tmp_set_create(const tmp_set_config *cfg, tmp_set **out);

/* Returns every class pool's chunks and every large mapping to the OS, also with objects out.
 * No other thread may be inside a call on this set. */
TMP_API void tmp_set_destroy(tmp_set *set);

/* An object of at least size bytes (any size from 0 up; 0 gives the least class), aligned to 16
 * (to 8 in the 8-byte class), or NULL with errno = ENOMEM. Any thread. */
TMP_API void *tmp_set_alloc(tmp_set *set, size_t size);

/* Returns obj to the set. Any thread. NULL is a no-op. */
TMP_API void tmp_set_free(tmp_set *set, void *obj);

/* The bytes obj may use: its class's size, or a large object's size as asked. */
TMP_API size_t tmp_set_usable_size(const tmp_set *set, const void *obj);

/* Counters summed over the class pools and the large objects (bytes_reserved counts the large
 * mappings too). 0, or EINVAL for a NULL argument. */
TMP_API int tmp_set_stats(const tmp_set *set, tmp_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TMEMPOOL_H */
