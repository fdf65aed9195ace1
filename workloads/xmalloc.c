/* xmalloc: as in the xmalloc-test benchmark, half the threads allocate batches of objects and
 * publish them on one shared queue, the other half take batches and free them: many-to-many
 * cross-thread frees. Batch containers are made before timing; the queue lock is taken once per
 * batch, the same for every allocator. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct xbatch {
    struct xbatch *next;
    uint64_t tag0;
    void *obj[];
} xbatch;

typedef struct {
    uint64_t batch, depth;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    xbatch *full, *full_tail, *empty;
    size_t nfull;
    unsigned producers_left;
} xm_state;

extern const tb_workload tb_wl_xmalloc;

static int xm_setup(tb_run *r, char *err, size_t errlen)
{
    static xm_state st;
    memset(&st, 0, sizeof st);
    if (tb_param_u64(r, &tb_wl_xmalloc, "batch", 1, 1u << 20, &st.batch, err, errlen) ||
        tb_param_u64(r, &tb_wl_xmalloc, "depth", 1, 1u << 16, &st.depth, err, errlen))
        return -1;
    if (r->threads < 2 || r->threads % 2) {
        snprintf(err, errlen, "xmalloc splits threads into producers and consumers: needs an even count of at least 2, not %u", r->threads);
        return 1;
    }
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cv, NULL);
    st.producers_left = r->threads / 2;
    for (uint64_t i = 0; i < st.depth + r->threads; i++) {
        xbatch *b = calloc(1, sizeof *b + st.batch * sizeof(void *));
        b->next = st.empty;
        st.empty = b;
    }
    r->state = &st;
    return 0;
}

static void xm_thread(tb_run *r, tb_thread_out *me)
{
    xm_state *st = r->state;
    uint64_t done = 0, k = 0;
    tb_begin(r, me);
    if (me->tid % 2 == 0) { /* producer */
        uint64_t quota = r->ops_per_thread ? r->ops_per_thread * 2 : UINT64_MAX;
        while (done < quota && (r->ops_per_thread || !atomic_load_explicit(&r->stop, memory_order_relaxed))) {
            pthread_mutex_lock(&st->lock);
            while (!st->empty || st->nfull >= st->depth)
                pthread_cond_wait(&st->cv, &st->lock);
            xbatch *b = st->empty;
            st->empty = b->next;
            pthread_mutex_unlock(&st->lock);
            b->tag0 = tb_tag(me, k);
            uint64_t i = 0;
            for (; i < st->batch; i++) {
                void *p = tb_alloc(r, me);
                if (!p)
                    break;
                tb_fill(p, r->size, b->tag0 + i);
                b->obj[i] = p;
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
            pthread_cond_broadcast(&st->cv);
            pthread_mutex_unlock(&st->lock);
        }
        pthread_mutex_lock(&st->lock);
        st->producers_left--;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->lock);
        tb_end(r, me, 0); /* consumers count the ops */
        return;
    }
    for (;;) {
        pthread_mutex_lock(&st->lock);
        while (!st->full && st->producers_left)
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
        pthread_mutex_unlock(&st->lock);
        for (uint64_t i = 0; i < st->batch; i++) {
            void *p = b->obj[i];
            if (!p)
                continue;
            tb_check(r, p, b->tag0 + i);
            tb_free(r, me, p);
            done++;
        }
        pthread_mutex_lock(&st->lock);
        b->next = st->empty;
        st->empty = b;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->lock);
    }
    tb_end(r, me, done);
}

const tb_workload tb_wl_xmalloc = {
    .name = "xmalloc",
    .desc = "half the threads allocate batches onto a shared queue, half take and free them",
    .op = "one object: its allocation by a producer plus its free by a consumer",
    .threads_note = "even threads produce, odd consume; an odd count or 1 thread is skipped",
    .params = {{"batch", "100", "objects per published batch"},
               {"depth", "64", "batches the queue holds before producers wait"},
               {NULL, NULL, NULL, NULL}},
    .cross_thread = true,
    .setup = xm_setup,
    .thread = xm_thread,
};
