/* xmalloc: Lever and Boreham's xmalloc-test ("malloc() Performance in a Multithreaded Linux
 * Environment", USENIX 2000), in the form mimalloc-bench runs it: half the threads allocate
 * batches of 4096 objects and push them on one shared stack of at most 100 batches, the other
 * half pop the newest batch and free its objects; each batch's container is itself allocated by
 * the producer and freed by the consumer through malloc (for a malloc baseline, the allocator
 * under test; a pool's program would take its containers from malloc too). Many-to-many
 * cross-thread frees of objects that are still hot in the producer's cache.
 *
 * Waits block on a condition variable at once, as the original's do: with 4096 objects a batch
 * a futex wake costs a fraction of a nanosecond an object. The departures a study may want are
 * parameters: order=fifo frees the oldest batch instead (with lag batches left queued, so that
 * an object's lifetime does not depend on which side is faster), containers=pre takes the
 * containers from a list made before timing, and wait=spin spins about 20 microseconds before it
 * sleeps (with small batches, a plain wait made the cell time the futex wakes of the faster
 * side: a tcache consumer slept 15-20 thousand times in 0.3 s on the 2-core VM).
 *
 * The consumer checks only the objects that carry the full pattern (one in 16, tb_full_pattern),
 * and frees the rest unread, as the original's consumer does: reading even the tag word of
 * every object before its free took jemalloc from 10.2-13.5 to 8.8-9.6 and mimalloc from 18-43 to
 * 14-20 M ops/s at 2 threads on the 2-core VM (five alternating 0.5 s cells each), because an
 * allocator that keeps its metadata outside the object (jemalloc) never otherwise pulls the
 * producer's line, and one that writes a link into it pays a read and then an upgrade. Every
 * object still carries its tag, so an overlap with a checked object is still caught.
 *
 * In a timed cell the threads stop when time is up and the batches still queued are freed after
 * timing, as the original leaves them to its main thread. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct xbatch {
    struct xbatch *next;
    uint64_t k0;  /* object i carries tb_tag_of(tid, k0 + i) */
    unsigned tid; /* the producer's */
    uint64_t n;   /* objects in it: batch, or fewer for the last of a fixed op count */
    uint32_t *sz; /* many sizes: each object's size (in the same block, after obj) */
    void *obj[];
} xbatch;

typedef struct {
    uint64_t batch, depth, lag;
    bool lifo, heap_containers, spin;
} xm_params_t; /* the cell's settings, checked */

typedef struct {
    xm_params_t p;
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    xbatch *full, *full_tail, *empty;
    size_t nfull;
    unsigned producers_left;
    /* mirrors of the queue state, written under the lock, read by spinning threads (wait=spin);
     * on their own line so that spinning does not steal the lock's line from its holder */
    _Alignas(128) _Atomic size_t can_take, can_put;
    _Atomic unsigned live_producers;
} xm_state;

/* Called with st->lock held after every change of the queue. */
static void publish(xm_state *st)
{
    if (!st->p.spin)
        return;
    atomic_store_explicit(&st->can_take, st->nfull > st->p.lag, memory_order_relaxed);
    atomic_store_explicit(&st->can_put, (st->p.heap_containers || st->empty) && st->nfull < st->p.depth,
                          memory_order_relaxed);
    atomic_store_explicit(&st->live_producers, st->producers_left, memory_order_relaxed);
}

/* wait=spin: spins (about 20 microseconds, yielding when threads outnumber CPUs) until the queue
 * looks ready; the caller then takes the lock and checks for real, sleeping if it was wrong. */
static void spin_until(xm_state *st, bool producer)
{
    if (!st->p.spin)
        return;
    unsigned spins = 0;
    for (unsigned i = 0; i < 2048; i++) {
        if (producer ? atomic_load_explicit(&st->can_put, memory_order_relaxed)
                     : atomic_load_explicit(&st->can_take, memory_order_relaxed) ||
                           !atomic_load_explicit(&st->live_producers, memory_order_relaxed))
            return;
        tb_relax(&spins);
    }
}

static int xm_params(const tb_run *r, xm_params_t *p, char *err, size_t errlen)
{
    if (tb_param_u64(r, "batch", &p->batch, err, errlen) ||
        tb_param_u64(r, "depth", &p->depth, err, errlen) ||
        tb_param_u64(r, "lag", &p->lag, err, errlen))
        return -1;
    p->lifo = strcmp(tb_param_get(r, "order"), "lifo") == 0;
    p->heap_containers = strcmp(tb_param_get(r, "containers"), "heap") == 0;
    p->spin = strcmp(tb_param_get(r, "wait"), "spin") == 0;
    if (p->lag && p->lifo) { /* the newest batch is taken: the lag would stay queued for good */
        snprintf(err, errlen, "xmalloc: -p lag=%" PRIu64 " applies to order=fifo (oldest batch first); with order=lifo want lag=0",
                 p->lag);
        return -1;
    }
    if (p->lag >= p->depth) { /* consumers would wait for batches that producers never queue */
        snprintf(err, errlen, "xmalloc: -p lag=%" PRIu64 " with depth=%" PRIu64 " is not valid: want lag less than depth",
                 p->lag, p->depth);
        return -1;
    }
    return 0;
}

static int xm_check(const tb_run *r, char *err, size_t errlen)
{
    xm_params_t p;
    return xm_params(r, &p, err, errlen);
}

/* Objects alive at once, at most: a full queue and a batch in the hands of each thread. */
static uint64_t xm_live_max(const tb_run *r)
{
    xm_params_t p;
    char err[8];
    if (xm_params(r, &p, err, sizeof err))
        return 0;
    return (p.depth + r->threads) * p.batch;
}

static size_t container_bytes(const tb_run *r, uint64_t batch)
{
    return sizeof(xbatch) + batch * (sizeof(void *) + (r->sized ? sizeof(uint32_t) : 0));
}

static xbatch *container_init(const tb_run *r, xbatch *b, uint64_t batch)
{
    b->sz = r->sized ? (uint32_t *)(void *)&b->obj[batch] : NULL;
    return b;
}

static int xm_setup(tb_run *r, char *err, size_t errlen)
{
    static xm_state st;
    memset(&st, 0, sizeof st);
    if (xm_params(r, &st.p, err, errlen))
        return -1;
    if (r->threads < 2 || r->threads % 2) {
        snprintf(err, errlen, "xmalloc splits threads into producers and consumers: needs an even count of at least 2, not %u", r->threads);
        return 1;
    }
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.not_full, NULL);
    pthread_cond_init(&st.not_empty, NULL);
    st.producers_left = r->threads / 2;
    for (uint64_t i = 0; !st.p.heap_containers && i < st.p.depth + r->threads; i++) {
        xbatch *b = malloc(container_bytes(r, st.p.batch));
        if (!b) {
            snprintf(err, errlen, "xmalloc: out of memory for the batch containers");
            return -1;
        }
        container_init(r, b, st.p.batch)->next = st.empty;
        st.empty = b;
    }
    pthread_mutex_lock(&st.lock);
    publish(&st);
    pthread_mutex_unlock(&st.lock);
    r->state = &st;
    return 0;
}

/* Under the lock: whether a producer may queue the batch it filled now (it holds its container
 * already), a consumer take one. */
static bool can_put(const xm_state *st) { return st->nfull < st->p.depth; }

static bool can_take(const xm_state *st) { return st->full && st->nfull > st->p.lag; }

static bool stopped(tb_run *r) { return !r->ops_per_thread && atomic_load_explicit(&r->stop, memory_order_relaxed); }

static void push_full(xm_state *st, xbatch *b)
{
    if (st->p.lifo || !st->full_tail) {
        b->next = st->full;
        st->full = b;
        if (!st->full_tail)
            st->full_tail = b;
    } else {
        b->next = NULL;
        st->full_tail->next = b;
        st->full_tail = b;
    }
    st->nfull++;
}

static xbatch *pop_full(xm_state *st)
{
    xbatch *b = st->full;
    st->full = b->next;
    if (!st->full)
        st->full_tail = NULL;
    st->nfull--;
    return b;
}

TB_INLINE void xm_produce(tb_run *r, tb_thread_out *me, xm_state *st, const bool sized)
{
    uint64_t quota = r->ops_per_thread ? r->ops_per_thread * 2 : UINT64_MAX, done = 0;
    while (done < quota && !stopped(r) && !atomic_load_explicit(&r->oom, memory_order_relaxed)) {
        uint64_t n = quota - done < st->p.batch ? quota - done : st->p.batch;
        xbatch *b = NULL;
        if (st->p.heap_containers && !(b = malloc(container_bytes(r, st->p.batch)))) {
            tb_out_of_memory(r);
            break;
        }
        if (!b) {
            spin_until(st, true);
            pthread_mutex_lock(&st->lock);
            while (!st->empty && !stopped(r))
                pthread_cond_wait(&st->not_full, &st->lock);
            if ((b = st->empty))
                st->empty = b->next;
            publish(st);
            pthread_mutex_unlock(&st->lock);
            if (!b)
                break;
        }
        container_init(r, b, st->p.batch);
        b->tid = me->tid;
        b->k0 = done;
        uint64_t i = 0;
        for (; i < n; i++) {
            size_t s;
            void *p = tb_alloc_next(r, me, sized, &s);
            if (!p)
                break;
            tb_fill(p, s, tb_tag_of(b->tid, b->k0 + i));
            b->obj[i] = p;
            if (sized)
                b->sz[i] = (uint32_t)s;
        }
        b->n = i;
        done += n;
        spin_until(st, true);
        pthread_mutex_lock(&st->lock);
        while (!can_put(st) && !stopped(r))
            pthread_cond_wait(&st->not_full, &st->lock);
        push_full(st, b); /* past the limit only when time is up: teardown frees it */
        publish(st);
        pthread_cond_signal(&st->not_empty);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_lock(&st->lock);
    st->producers_left--;
    publish(st);
    pthread_cond_broadcast(&st->not_empty);
    pthread_mutex_unlock(&st->lock);
}

TB_INLINE uint64_t xm_consume(tb_run *r, tb_thread_out *me, xm_state *st, const bool sized)
{
    uint64_t done = 0;
    for (;;) {
        spin_until(st, false);
        pthread_mutex_lock(&st->lock);
        while (!can_take(st) && st->producers_left && !stopped(r))
            pthread_cond_wait(&st->not_empty, &st->lock);
        xbatch *b = st->full && !stopped(r) ? pop_full(st) : NULL;
        publish(st);
        if (b)
            pthread_cond_signal(&st->not_full);
        else /* done: producers waiting for room must see the stop too */
            pthread_cond_broadcast(&st->not_full);
        pthread_mutex_unlock(&st->lock);
        if (!b)
            break;
        for (uint64_t i = 0; i < b->n; i++) {
            void *p = b->obj[i];
            size_t s = sized ? b->sz[i] : r->size;
            uint64_t tag = tb_tag_of(b->tid, b->k0 + i);
            if (tb_full_pattern(tag)) /* the others are not read: see above */
                tb_check_n(r, p, tag, s);
            tb_free_n(r, me, sized, p, s);
        }
        done += b->n;
        if (st->p.heap_containers) {
            free(b);
        } else {
            pthread_mutex_lock(&st->lock);
            b->next = st->empty;
            st->empty = b;
            publish(st);
            pthread_cond_signal(&st->not_full);
            pthread_mutex_unlock(&st->lock);
        }
    }
    return done;
}

TB_INLINE void xm_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    xm_state *st = r->state;
    tb_begin(r, me);
    if (me->tid % 2 == 0) {
        xm_produce(r, me, st, sized);
        tb_end(r, me, 0); /* consumers count the ops */
    } else {
        tb_end(r, me, xm_consume(r, me, st, sized));
    }
}

TB_SIZED_THREAD(xm_thread, xm_loop)

/* After timing: the batches still queued when time was up, then the containers. */
static void xm_teardown(tb_run *r)
{
    xm_state *st = r->state;
    while (st->full) {
        xbatch *b = pop_full(st);
        for (uint64_t i = 0; i < b->n; i++)
            tb_release(r, b->obj[i], r->sized ? b->sz[i] : r->size);
        if (st->p.heap_containers)
            free(b);
        else
            b->next = st->empty, st->empty = b;
    }
    while (st->empty) {
        xbatch *b = st->empty;
        st->empty = b->next;
        free(b);
    }
    pthread_cond_destroy(&st->not_empty);
    pthread_cond_destroy(&st->not_full);
    pthread_mutex_destroy(&st->lock);
}

const tb_workload tb_wl_xmalloc = {
    .name = "xmalloc",
    .desc = "xmalloc-test: half the threads push batches of objects on a shared stack, half pop the newest and free it",
    .op = "one object: its allocation by a producer plus its free by a consumer",
    .threads_note = "even threads produce, odd consume; an odd count or 1 thread is skipped",
    .params = {{.key = "batch", .def = "4096", .help = "objects per batch (the original's 4096)", .lo = 1, .hi = 1 << 20},
               {.key = "depth", .def = "100", .help = "batches queued before producers wait (the original's 100)", .lo = 1, .hi = 1 << 16},
               {.key = "order", .def = "lifo", .help = "lifo: consumers take the newest batch (the original); fifo: the oldest", .choices = "lifo|fifo"},
               {.key = "lag", .def = "0", .help = "order=fifo: batches left queued, consumers take one only when more wait", .lo = 0, .hi = 65535},
               {.key = "containers", .def = "heap", .help = "heap: each batch's container from malloc, freed by the consumer (the original); pre: made before timing", .choices = "heap|pre"},
               {.key = "wait", .def = "block", .help = "block: sleep on a condition variable at once (the original); spin: spin about 20 us first", .choices = "block|spin"},
               {.key = NULL}},
    .cross_thread = true,
    .min_seconds = 0.5, /* batches of 4096: a 0.1 s cell is a few hundred of them */
    .setup = xm_setup,
    .check = xm_check,
    .live_max = xm_live_max,
    .thread = xm_thread,
    .teardown = xm_teardown,
};
