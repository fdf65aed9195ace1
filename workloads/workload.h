/* The workload interface: a descriptor per workload (name, description, what one op is,
 * parameters with defaults, and a per-thread run function), in one registry table. A workload
 * sees the allocator only through tb_heap and measures itself with the helpers below. */
#ifndef TB_WORKLOAD_H
#define TB_WORKLOAD_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stdio.h>

#include "hist.h"
#include "sizes.h"
#include "tb_alloc.h"

#define TB_MAX_PARAMS 6

typedef struct tb_param {
    const char *key, *def, *help;
    const char *choices; /* "a|b|c"; NULL: a number in [lo, hi] */
    double lo, hi;       /* bounds of a number, checked before any cell runs */
    bool real;           /* a number with a fraction; otherwise a whole number */
    bool text;           /* any text (a file name): neither choices nor a number */
    /* Left out of the params column while it has its default: a key added after results were
     * kept, so that their rows keep their params and still pair with the new run's. */
    bool quiet;
} tb_param;

/* What one thread of a cell reports. Written only by that thread. */
typedef struct tb_thread_out {
    uint64_t ops;
    uint64_t t0, t1; /* ns, CLOCK_MONOTONIC: its timed region */
    uint64_t a_left, f_left; /* latency sampling countdowns */
    tb_hist alloc_lat, free_lat; /* in TSC ticks, converted when merged */
    unsigned tid;
    uint64_t rng;
    uint64_t instructions; /* --measure instructions with perf: counted in the timed region */
    int perf_fd;
    /* the noise this thread met, read by the worker when the thread ends (UINT64_MAX: unknown) */
    uint64_t invol_switches, migrations;
    int cpu_end;         /* the CPU the thread ended on (-1: unknown): shows threads sharing one */
    uint64_t size_rng;   /* its own stream of object sizes (many-size cells), seeded per thread */
    uint64_t live_bytes; /* bytes requested and live at the workload's mark (footprint) */
    /* page faults (minor and major) its timed regions took, from getrusage around each one */
    uint64_t faults, faults_at;
    bool faults_seen, faults_bad; /* a region was counted; a read failed (no figure then) */
} __attribute__((aligned(128))) tb_thread_out;

/* How instructions are counted in the timed region (tmbench run --measure instructions). */
typedef enum tb_count_mode { TB_COUNT_NONE, TB_COUNT_PERF, TB_COUNT_CALLGRIND } tb_count_mode;

typedef struct tb_workload tb_workload;

typedef struct tb_run {
    const tb_workload *wl;   /* the workload this cell runs */
    const tb_heap *heap;
    unsigned threads;
    size_t size;             /* a fixed-size cell's size; with many sizes, the largest */
    tb_sizes sizes;          /* the cell's sizes; sized: more than one, through the sized calls */
    bool sized;
    uint64_t size_span;      /* uniform: hi - lo + 1 */
    const uint32_t *size_table; /* log-uniform: TB_SIZE_LOG_STEPS quantiles */
    uint64_t ops_per_thread; /* --ops divided over threads; 0 in duration mode */
    double duration;         /* seconds, in duration mode */
    _Atomic int stop;        /* duration mode: set when time is up */
    const char *pval[TB_MAX_PARAMS]; /* parameter values, in descriptor order */
    unsigned sample_every;   /* latency: one call in N is timed; 0 = off */
    uint64_t tsc_overhead;
    pthread_barrier_t start;
    _Atomic int corrupt;
    char corrupt_msg[256];
    _Atomic int oom;         /* an allocation returned NULL: the cell is failed, whatever it did */
    tb_thread_out *out;      /* threads entries */
    void *state;             /* the workload's own shared state */
    /* footprint-style marks: RSS and pool bytes at a moment the workload chooses */
    long mark_rss_kib;
    long long mark_pool_bytes;
    long long mark_live_bytes; /* requested bytes live at the mark, over threads */
    tb_count_mode count_mode;
    _Atomic int counting;    /* callgrind: threads inside a timed region */
} tb_run;

struct tb_workload {
    const char *name;
    const char *desc;
    const char *op;          /* what one op is */
    const char *threads_note;/* how thread counts map onto the pattern */
    tb_param params[TB_MAX_PARAMS + 1]; /* ends with a NULL key */
    /* The sizes its cells use when the run gives no --sizes (the original benchmark's, e.g.
     * larson's 8-999); NULL: the preset's. An explicit --sizes applies to every workload. */
    const char *sizes;
    bool cross_thread;       /* frees objects on threads that did not allocate them */
    /* The shortest timed cell a preset gives it (seconds; 0: the preset's length): a workload
     * whose threads hand objects over needs longer cells than a thread-local loop for the same
     * spread. An explicit --duration applies to every workload. */
    double min_seconds;
    bool explicit_only;      /* not in --workloads all: it needs a setting (replay's trace) */
    /* Checks parameters and thread count, builds shared state. 0; -1 = usage error (message in
     * err); 1 = does not apply (cell skipped, reason in err). */
    int (*setup)(tb_run *r, char *err, size_t errlen);
    /* Checks how parameter values relate to each other (each is already within its bounds): 0,
     * or -1 with a message. tmbench runs it before any cell, so a bad combination is a usage
     * error, not a failed cell; NULL when the bounds are enough. */
    int (*check)(const tb_run *r, char *err, size_t errlen);
    /* The most objects a cell keeps alive at once, from its parameters and r->threads: tmbench
     * refuses a cell whose objects could not fit in this machine's memory before any cell runs
     * (a usage error, exit 2), rather than letting it die of ENOMEM midway. */
    uint64_t (*live_max)(const tb_run *r);
    void (*thread)(tb_run *r, tb_thread_out *me);
    void (*teardown)(tb_run *r);
    /* Runs the cell's threads itself (larson starts threads inside its timed region); NULL for
     * the usual one-thread-per-tid model driven by the harness. */
    void (*drive)(tb_run *r);
};

extern const tb_workload *const tb_workloads[]; /* ends with NULL */
const tb_workload *tb_workload_find(const char *name);
int tb_param_index(const tb_workload *w, const char *key); /* -1 if it has no such key */

/* ---- helpers for the thread functions ---- */

uint64_t tb_now_ns(void);

static inline uint64_t tb_rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return tb_now_ns();
#endif
}

/* One step of a spin-wait: a pause, and after a while a yield, so that a waiting thread gives
 * its CPU to the one it waits for when there are more threads than CPUs (prodcons with 8
 * threads on 2 cores took 7.8 s for 1M ops spinning blind). */
static inline void tb_relax(unsigned *spins)
{
    if (++*spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        *spins = 0;
        sched_yield();
    }
}

/* Waits for every thread of the cell, then starts this thread's clock. */
void tb_begin(tb_run *r, tb_thread_out *me);
void tb_end(tb_run *r, tb_thread_out *me, uint64_t ops);
/* Instruction counting around a timed region; tb_begin and tb_end call them, a workload that
 * times threads itself (larson) calls them directly. count.c. */
void tb_count_begin(tb_run *r, tb_thread_out *me);
void tb_count_end(tb_run *r, tb_thread_out *me);
/* Whether this kernel lets us count user-space instructions of our own threads. */
bool tb_count_perf_works(void);

static inline bool tb_more(tb_run *r, uint64_t done)
{
    if (r->ops_per_thread)
        return done < r->ops_per_thread;
    return !atomic_load_explicit(&r->stop, memory_order_relaxed);
}

/* An allocation returned NULL: marks the cell failed (a workload that stopped early must not
 * report its few operations as an ok figure). The workload stops where it is. */
void tb_out_of_memory(tb_run *r);

/* A workload's own array of n zeroed elements (its slots, tags, orders), from libc's calloc
 * and with every page faulted in now, or NULL. calloc's large blocks are fresh mappings whose
 * pages fault on first write; written first in the timed loop, they charged the cell with
 * faults that depend on which malloc serves the workload (glibc for the pools, the baseline
 * itself when preloaded: mimalloc's calloc zeroes, and faults, before timing). batch n=100000
 * at 2 threads took ~780 such faults in its timed region under every pool and none under
 * mimalloc. */
void *tb_scratch(size_t n, size_t each);

/* A loop body written once for both kinds of cell takes `sized` as a constant: each workload
 * instantiates its loop twice (TB_INLINE, with true and with false), so a fixed-size cell runs
 * the code it ran before cells had many sizes, and its instruction counts do not move. */
#define TB_INLINE static inline __attribute__((always_inline))

/* A workload's thread function over its loop, instantiated for each kind of cell in a function
 * of its own: compiled together in one function, the two copies shared registers, and churn's
 * fixed-size loop took five instructions an op more than before cells had many sizes. */
#define TB_SIZED_THREAD(name, loop)                                                              \
    __attribute__((noinline)) static void name##_fixed(tb_run *r, tb_thread_out *me) { loop(r, me, false); } \
    __attribute__((noinline)) static void name##_sized(tb_run *r, tb_thread_out *me) { loop(r, me, true); }  \
    static void name(tb_run *r, tb_thread_out *me) { (r->sized ? name##_sized : name##_fixed)(r, me); }

/* The size of this thread's next object in a many-size cell. Uniform: a multiply-high of 32
 * random bits by the span (exact for spans below 2^32). Log-uniform: 12 random bits index a
 * table of quantiles. Both cost the same for every allocator, the floor included; the stream
 * is the thread's own, seeded from the cell's seed and the thread's index, so every allocator
 * is asked for the same sizes in the same order. */
static inline size_t tb_size_draw(const tb_run *r, tb_thread_out *me)
{
    uint64_t x = me->size_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    me->size_rng = x;
    _Static_assert(TB_SIZE_LOG_STEPS == 1u << 12, "the table is indexed by 12 bits");
    if (r->sizes.dist == TB_SIZE_LOG)
        return r->size_table[x >> 52];
    return r->sizes.lo + (size_t)(((x >> 32) * r->size_span) >> 32);
}


TB_INLINE size_t tb_next_size(const tb_run *r, tb_thread_out *me, bool sized)
{
    return sized ? tb_size_draw(r, me) : r->size;
}

/* alloc and free through the heap, timing one call in sample_every. With sized, the heap's
 * sized calls, told the object's size. */
TB_INLINE void *tb_alloc_n(tb_run *r, tb_thread_out *me, bool sized, size_t size)
{
    const tb_heap *h = r->heap;
    void *p;
    if (__builtin_expect(--me->a_left != 0, 1)) {
        p = sized ? h->alloc_sized(h->ctx, size) : h->alloc(h->ctx);
    } else {
        me->a_left = r->sample_every ? r->sample_every : UINT64_MAX;
        uint64_t a = tb_rdtsc();
        p = sized ? h->alloc_sized(h->ctx, size) : h->alloc(h->ctx);
        uint64_t b = tb_rdtsc();
        tb_hist_add(&me->alloc_lat, b - a > r->tsc_overhead ? b - a - r->tsc_overhead : 0);
    }
    if (__builtin_expect(p == NULL, 0))
        tb_out_of_memory(r);
    return p;
}

TB_INLINE void tb_free_n(tb_run *r, tb_thread_out *me, bool sized, void *p, size_t size)
{
    const tb_heap *h = r->heap;
    if (__builtin_expect(--me->f_left != 0, 1)) {
        if (sized)
            h->free_sized(h->ctx, p, size);
        else
            h->free(h->ctx, p);
        return;
    }
    me->f_left = r->sample_every ? r->sample_every : UINT64_MAX;
    uint64_t a = tb_rdtsc();
    if (sized)
        h->free_sized(h->ctx, p, size);
    else
        h->free(h->ctx, p);
    uint64_t b = tb_rdtsc();
    tb_hist_add(&me->free_lat, b - a > r->tsc_overhead ? b - a - r->tsc_overhead : 0);
}

/* The next object: its size drawn (many sizes), the allocation, and its size in *size. A
 * fixed-size cell reads r->size only after the call, as it always did (reading it before
 * keeps it live across the call: three instructions an op, measured on churn). */
TB_INLINE void *tb_alloc_next(tb_run *r, tb_thread_out *me, bool sized, size_t *size)
{
    size_t s = sized ? tb_size_draw(r, me) : 0;
    void *p = tb_alloc_n(r, me, sized, s);
    *size = sized ? s : r->size;
    return p;
}


/* An allocation outside the timed region (warm-up, setup): not sampled, NULL still fails the
 * cell. size is the object's size in a many-size cell (ignored in a fixed one). */
static inline void *tb_alloc_untimed(tb_run *r, size_t size)
{
    void *p = r->sized ? r->heap->alloc_sized(r->heap->ctx, size) : r->heap->alloc(r->heap->ctx);
    if (__builtin_expect(p == NULL, 0))
        tb_out_of_memory(r);
    return p;
}

/* A free outside the timed region (teardown); NULL is a no-op. */
static inline void tb_release(tb_run *r, void *p, size_t size)
{
    if (!p)
        return;
    if (r->sized)
        r->heap->free_sized(r->heap->ctx, p, size);
    else
        r->heap->free(r->heap->ctx, p);
}

/* The object pattern: a tag unique to this object's life, in its first word (every byte of an
 * object under 8 bytes), and in every 8-byte word and tail byte of one object in 16,
 * chosen by its tag. Overlapping objects or a stray write show up when the
 * pattern is checked before the free. Writing and reading every byte of every object cost
 * 6-10 ns an op and compressed the allocators' differences (a just-checked block is hot in a
 * LIFO cache, so it cost them least): the original benchmarks touch a byte or two. */
static inline bool tb_full_pattern(uint64_t tag) { return (tag >> 60) == 0; } /* 1 in 16 */

static inline void tb_fill(void *p, size_t size, uint64_t tag)
{
    uint64_t *w = p;
    size_t n = size / 8;
    if (n && !tb_full_pattern(tag)) {
        w[0] = tag;
        return;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = tag;
    for (size_t i = n * 8; i < size; i++)
        ((unsigned char *)p)[i] = (unsigned char)tag;
}

bool tb_check_slow(tb_run *r, const void *p, uint64_t tag, size_t size);

/* Whether the object of size bytes at p still holds its pattern. */
static inline bool tb_check_n(tb_run *r, const void *p, uint64_t tag, size_t size)
{
    const uint64_t *w = p;
    size_t n = size / 8;
    if (n && !tb_full_pattern(tag))
        return __builtin_expect(w[0] == tag, 1) || tb_check_slow(r, p, tag, 8);
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= w[i] ^ tag;
    for (size_t i = n * 8; i < size; i++)
        bad |= ((const unsigned char *)p)[i] ^ (unsigned char)tag;
    return __builtin_expect(bad == 0, 1) || tb_check_slow(r, p, tag, size);
}


/* A tag that is unique per thread and object life: the n-th object of thread tid. Tags of
 * consecutive objects differ in their high bits, so tb_full_pattern picks one in 16 of any run
 * of objects (a base tag plus an index would pick whole runs or none). */
static inline uint64_t tb_tag_of(unsigned tid, uint64_t n)
{
    return ((uint64_t)(tid + 1) << 48) ^ (n * 0x9E3779B97F4A7C15ull) ^ 0x5A5A5A5A5A5A5A5Aull;
}

static inline uint64_t tb_tag(const tb_thread_out *me, uint64_t n) { return tb_tag_of(me->tid, n); }

static inline uint64_t tb_rand(tb_thread_out *me)
{
    uint64_t x = me->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return me->rng = x;
}

/* The value of the cell's parameter key (its default when not set); NULL if r->wl has no such key. */
const char *tb_param_get(const tb_run *r, const char *key);
/* 0 if v is a valid value of w's parameter k; -1 with a message saying what is wanted. */
int tb_param_check(const tb_workload *w, int k, const char *v, char *err, size_t errlen);
/* A numeric parameter's value, checked against its descriptor; -1 with a message. */
int tb_param_u64(const tb_run *r, const char *key, uint64_t *out, char *err, size_t errlen);
/* A whole-number parameter's value, or 0 when it is not valid (for live_max, after check). */
uint64_t tb_param_or0(const tb_run *r, const char *key);
int tb_param_f64(const tb_run *r, const char *key, double *out, char *err, size_t errlen);
/* Sets r->wl to w and points r->pval at the values in canon ("k=v;k=v", rewritten in place);
 * -1 on an unknown key. */
int tb_params_parse(const tb_workload *w, char *canon, tb_run *r, char *err, size_t errlen);
/* Records RSS, pool bytes and the live bytes the threads requested (each thread sets its
 * live_bytes before) now; call from one thread while the others wait. */
void tb_mark(tb_run *r);
long tb_rss_kib(void);

#endif
