/* The allocator registry: every allocator the harness can measure, pool or malloc baseline,
 * presented through one interface. A workload sees only tb_heap: two function pointers and a
 * context, the same kind of call for every allocator (an indirect call to a small adapter that
 * calls the allocator), so the cost of crossing the interface is equal for all of them. */
#ifndef TB_ALLOC_H
#define TB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tb_heap_stats {
    uint64_t bytes_reserved, lock_waits, cache_hits, cache_misses, remote_frees;
} tb_heap_stats;

/* One allocator instance inside a worker. A heap opened for one size serves it through alloc
 * and free; one opened for many sizes serves each call's size through alloc_sized and
 * free_sized (free_sized is told the size alloc_sized was asked for, as C++'s sized delete is;
 * an allocator that finds it from the address ignores it). Any call may come from any thread.
 * stats is NULL for allocators that have no counters (malloc). */
typedef struct tb_heap {
    void *(*alloc)(void *ctx);
    void (*free)(void *ctx, void *obj);
    void *ctx;
    void *(*alloc_sized)(void *ctx, size_t size);
    void (*free_sized)(void *ctx, void *obj, size_t size);
    int (*stats)(void *ctx, tb_heap_stats *out);
    void (*destroy)(void *ctx);
    size_t (*trim)(void *ctx); /* NULL where the allocator has nothing to give back on request */
} tb_heap;

/* What an allocator is to the harness. Code decides by role, never by an allocator's name. */
typedef enum tb_role {
    TB_ROLE_POOL,     /* a tmempool strategy (of this build, or of another with --against) */
    TB_ROLE_BASELINE, /* a general-purpose malloc: glibc, a preloaded replacement, a user's own */
    TB_ROLE_FLOOR,    /* the harness's own cost, not a contender: left out of "best" marks */
    TB_ROLE_TEST      /* test-only, never listed */
} tb_role;

typedef struct tb_allocator tb_allocator;
/* Worker side. Proves that the right allocator serves the calls (for malloc baselines: the probe
 * symbol resolves and malloc itself comes from the preloaded library), then opens a heap: for
 * objects of size bytes (alloc and free), or with sized for any size up to size bytes
 * (alloc_sized and free_sized; a tmempool strategy serves these from a tmp_set). 0, or -1 with
 * the reason in err; -2 when the allocator is unavailable (the cell's status is then
 * `unavailable`). */
typedef int (*tb_open_fn)(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                          size_t errlen);
/* The allocator's version as it reports itself inside the worker. */
typedef void (*tb_version_fn)(const tb_allocator *a, char *buf, size_t len);

struct tb_allocator {
    const char *name;
    const char *desc;
    tb_role role;
    tb_open_fn open;
    tb_version_fn version;    /* NULL: no version to report */
    int strategy;             /* pools: a tmp_strategy */
    const char *libs[4];      /* preloaded mallocs: candidate paths; none for glibc */
    const char *probe;        /* symbol only that library exports; NULL: check malloc left libc */
    bool same_thread_only;    /* cells whose workload frees across threads are skipped */
    bool hidden;              /* not in `list` or `all` */
    const char *pool_lib;     /* a pool from another build: its libtmempool.so (--against) */
};

/* The adapters, one file each: what a descriptor's open and version point at. */
int tb_heap_open_pool(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                      size_t errlen);
void tb_version_pool(const tb_allocator *a, char *buf, size_t len);
int tb_heap_open_malloc(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                        size_t errlen);
void tb_version_glibc(const tb_allocator *a, char *buf, size_t len);
void tb_version_mimalloc(const tb_allocator *a, char *buf, size_t len);
void tb_version_tcmalloc(const tb_allocator *a, char *buf, size_t len);
void tb_version_jemalloc(const tb_allocator *a, char *buf, size_t len);
int tb_heap_open_floor(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                       size_t errlen);
int tb_heap_open_overlap(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                         size_t errlen);

/* Registered allocators, in listing order; ends with a NULL name. */
extern const tb_allocator tb_allocators[];

/* By name, among the registered ones and those added with tb_alloc_add_*; NULL if unknown. */
const tb_allocator *tb_alloc_find(const char *name);

/* Adds a user's malloc replacement ("mine=/path/libmine.so"). 0, or -1 with a message in err. */
int tb_alloc_add_user(const char *spec, char *err, size_t errlen);
/* Adds the four pool strategies of another build as "<name>@<tag>", dlopen'ed from lib. */
int tb_alloc_add_against(const char *lib, const char *tag, char *err, size_t errlen);
/* Allocators added at runtime, for listing and `all`. */
size_t tb_alloc_extra(const tb_allocator **out, size_t max);

/* The library to preload for a malloc allocator: the first candidate that exists, else NULL
 * (glibc needs none and returns NULL too; check tb_alloc_available). */
const char *tb_alloc_library(const tb_allocator *a);
/* Whether this machine can run it; when not, why (one line). */
bool tb_alloc_available(const tb_allocator *a, char *why, size_t whylen);

#endif
