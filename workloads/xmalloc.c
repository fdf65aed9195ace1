/* xmalloc: as in the xmalloc-test benchmark, half the threads allocate batches of objects and
 * publish them on one shared queue, the other half take batches and free them: many-to-many
 * cross-thread frees. Batch containers are made before timing; the queue lock is taken once per
 * batch, the same for every allocator.
 *
 * A thread that finds the queue empty (or full) spins for a while before it sleeps. With a
 * plain condition-variable wait, whichever side is faster sleeps after nearly every batch and
 * the other side pays a futex wake (a cross-CPU interrupt, several microseconds in a VM) for
 * each: measured on the 2-core VM, a tcache consumer slept 15-20 thousand times in 0.3 s and
 * mimalloc's 100-200 times, so the cell timed the wakes of the faster allocator, not its frees.
 *
 * Consumers leave lag batches in the queue, so every object lives between lag and depth batches
 * whichever side is faster. Without it the lifetime depended on the allocator under test (a
 * fast consumer keeps the queue empty and frees objects that are still hot in the producer's
 * cache), which made the workload differ between the allocators it compares. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct xbatch {
    struct xbatch *next;
    uint64_t tag0;
    uint32_t *sz; /* many sizes: each object's size */
    void *obj[];
} xbatch;

typedef struct {
    uint64_t batch, depth, lag;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    xbatch *full, *full_tail, *empty;
    size_t nfull;
    unsigned producers_left;
    /* mirrors of the queue state, written under the lock, read by spinning threads; on their
     * own line so that spinning does not steal the lock's line from the thread holding it */
    _Alignas(128) _Atomic size_t can_take, can_put;
    _Atomic unsigned live_producers;
} xm_state;

/* Called with st->lock held after every change of the queue. */
static void publish(xm_state *st)
{
    atomic_store_explicit(&st->can_take, st->nfull > st->lag, memory_order_relaxed);
    atomic_store_explicit(&st->can_put, st->empty && st->nfull < st->depth, memory_order_relaxed);
    atomic_store_explicit(&st->live_producers, st->producers_left, memory_order_relaxed);
}

/* Spins (about 20 microseconds, yielding when threads outnumber CPUs) until the queue looks
 * ready; the caller then takes the lock and checks for real, sleeping if it was wrong. */
static void spin_until(xm_state *st, bool producer)
{
    unsigned spins = 0;
    for (unsigned i = 0; i < 2048; i++) {
        if (producer ? atomic_load_explicit(&st->can_put, memory_order_relaxed)
                     : atomic_load_explicit(&st->can_take, memory_order_relaxed) ||
                           !atomic_load_explicit(&st->live_producers, memory_order_relaxed))
            return;
        tb_relax(&spins);
    }
}

static int xm_params(const tb_run *r, uint64_t *batch, uint64_t *depth, uint64_t *lag, char *err,
                     size_t errlen)
{
    if (tb_param_u64(r, "batch", batch, err, errlen) ||
        tb_param_u64(r, "depth", depth, err, errlen) ||
        tb_param_u64(r, "lag", lag, err, errlen))
        return -1;
    if (*lag >= *depth) { /* consumers would wait for batches that producers never queue */
        snprintf(err, errlen, "xmalloc: -p lag=%" PRIu64 " with depth=%" PRIu64 " is not valid: want lag less than depth",
                 *lag, *depth);
        return -1;
    }
    return 0;
}

static int xm_check(const tb_run *r, char *err, size_t errlen)
{
    uint64_t batch, depth, lag;
    return xm_params(r, &batch, &depth, &lag, err, errlen);
}

static int xm_setup(tb_run *r, char *err, size_t errlen)
{
    static xm_state st;
    memset(&st, 0, sizeof st);
    if (xm_params(r, &st.batch, &st.depth, &st.lag, err, errlen))
        return -1;
    if (r->threads < 2 || r->threads % 2) {
        snprintf(err, errlen, "xmalloc splits threads into producers and consumers: needs an even count of at least 2, not %u", r->threads);
        return 1;
    }
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cv, NULL);
    st.producers_left = r->threads / 2;
    atomic_store(&st.live_producers, st.producers_left);
    atomic_store(&st.can_put, 1);
    for (uint64_t i = 0; i < st.depth + r->threads; i++) {
        xbatch *b = calloc(1, sizeof *b + st.batch * sizeof(void *));
        if (!b || (r->sized && !(b->sz = calloc(st.batch, sizeof *b->sz)))) {
            free(b);
            snprintf(err, errlen, "xmalloc: out of memory for the batch containers");
            return -1;
        }
        b->next = st.empty;
        st.empty = b;
    }
    r->state = &st;
    return 0;
}

TB_INLINE void xm_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    xm_state *st = r->state;
    uint64_t done = 0, k = 0;
    tb_begin(r, me);
    if (me->tid % 2 == 0) { /* producer */
        uint64_t quota = r->ops_per_thread ? r->ops_per_thread * 2 : UINT64_MAX;
        while (done < quota && (r->ops_per_thread || !atomic_load_explicit(&r->stop, memory_order_relaxed))) {
            spin_until(st, true);
            pthread_mutex_lock(&st->lock);
            while (!st->empty || st->nfull >= st->depth)
                pthread_cond_wait(&st->cv, &st->lock);
            xbatch *b = st->empty;
            st->empty = b->next;
            publish(st);
            pthread_mutex_unlock(&st->lock);
            b->tag0 = tb_tag(me, k);
            uint64_t i = 0;
            for (; i < st->batch; i++) {
                size_t s;
                void *p = tb_alloc_next(r, me, sized, &s);
                if (!p)
                    break;
                tb_fill(p, s, b->tag0 + i);
                b->obj[i] = p;
                if (sized)
                    b->sz[i] = (uint32_t)s;
            }
            for (; i < st->batch; i++)
                b->obj[i] = NULL;
            k += st->batch;
            done += st->batch;
            b->next = NULL;
            pthread_mutex_lock(&st->lock);
            if (st->full_tail)
                st->full_tail->next = b;
            else
                st->full = b;
            st->full_tail = b;
            st->nfull++;
            publish(st);
            pthread_cond_broadcast(&st->cv);
            pthread_mutex_unlock(&st->lock);
        }
        pthread_mutex_lock(&st->lock);
        st->producers_left--;
        publish(st);
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->lock);
        tb_end(r, me, 0); /* consumers count the ops */
        return;
    }
    for (;;) {
        spin_until(st, false);
        pthread_mutex_lock(&st->lock);
        while ((!st->full || st->nfull <= st->lag) && st->producers_left)
            pthread_cond_wait(&st->cv, &st->lock);
        xbatch *b = st->full;
        if (!b) {
            pthread_mutex_unlock(&st->lock);
            break;
        }
        st->full = b->next;
        if (!st->full)
            st->full_tail = NULL;
        st->nfull--;
        publish(st);
        pthread_mutex_unlock(&st->lock);
        for (uint64_t i = 0; i < st->batch; i++) {
            void *p = b->obj[i];
            if (!p)
                continue;
            size_t s = sized ? b->sz[i] : r->size;
            tb_check_n(r, p, b->tag0 + i, s);
            tb_free_n(r, me, sized, p, s);
            done++;
        }
        pthread_mutex_lock(&st->lock);
        b->next = st->empty;
        st->empty = b;
        publish(st);
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->lock);
    }
    tb_end(r, me, done);
}

TB_SIZED_THREAD(xm_thread, xm_loop)

/* Every batch is back on the empty list (consumers take all that is queued once the producers
 * are done): setup's containers and lock go, for the next slice of an interleaved cell. */
static void xm_teardown(tb_run *r)
{
    xm_state *st = r->state;
    while (st->empty) {
        xbatch *b = st->empty;
        st->empty = b->next;
        free(b->sz);
        free(b);
    }
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->lock);
}

const tb_workload tb_wl_xmalloc = {
    .name = "xmalloc",
    .desc = "half the threads allocate batches onto a shared queue, half take and free them",
    .op = "one object: its allocation by a producer plus its free by a consumer",
    .threads_note = "even threads produce, odd consume; an odd count or 1 thread is skipped",
    .params = {{.key = "batch", .def = "100", .help = "objects per published batch", .lo = 1, .hi = 1 << 20},
               {.key = "depth", .def = "64", .help = "batches the queue holds before producers wait", .lo = 1, .hi = 1 << 16},
               {.key = "lag", .def = "48", .help = "batches left queued: consumers take one only when more are waiting", .lo = 0, .hi = 65535},
               {.key = NULL}},
    .cross_thread = true,
    .setup = xm_setup,
    .check = xm_check,
    .thread = xm_thread,
    .teardown = xm_teardown,
};
