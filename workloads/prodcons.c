/* prodcons: threads form producer/consumer pairs joined by a bounded single-producer
 * single-consumer ring; the producer allocates and writes, the consumer checks and frees. Every
 * free is a cross-thread free. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct {
    void *_Atomic *slot;
    uint64_t *tag;
    uint32_t *sz; /* many sizes: each slot's object size */
    char pad0[112];
    _Atomic uint64_t head; /* written by the consumer */
    char pad1[120];
    _Atomic uint64_t tail; /* written by the producer */
    char pad2[120];
} ring_t;

typedef struct {
    uint64_t size;
    ring_t *rings;
} pc_state;

static int pc_setup(tb_run *r, char *err, size_t errlen)
{
    static pc_state st;
    if (tb_param_u64(r, "ring", &st.size, err, errlen))
        return -1;
    if (r->threads < 2 || r->threads % 2) {
        snprintf(err, errlen, "prodcons pairs threads: needs an even count of at least 2, not %u", r->threads);
        return 1;
    }
    unsigned pairs = r->threads / 2;
    st.rings = aligned_alloc(128, sizeof(ring_t) * pairs);
    for (unsigned i = 0; i < pairs; i++) {
        memset(&st.rings[i], 0, sizeof st.rings[i]);
        st.rings[i].slot = tb_scratch(st.size, sizeof(void *));
        st.rings[i].tag = tb_scratch(st.size, sizeof(uint64_t));
        st.rings[i].sz = r->sized ? tb_scratch(st.size, sizeof(uint32_t)) : NULL;
    }
    r->state = &st;
    return 0;
}

TB_INLINE void pc_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    pc_state *st = r->state;
    ring_t *q = &st->rings[me->tid / 2];
    bool producer = me->tid % 2 == 0;
    uint64_t done = 0;
    tb_begin(r, me);
    if (producer) {
        uint64_t t = 0;
        /* In duration mode the producer decides when to stop: it sends a NULL. */
        uint64_t quota = r->ops_per_thread ? r->ops_per_thread * 2 : UINT64_MAX;
        while (t < quota && (r->ops_per_thread || !atomic_load_explicit(&r->stop, memory_order_relaxed))) {
            size_t s;
            void *p = tb_alloc_next(r, me, sized, &s);
            if (!p)
                break;
            uint64_t tag = tb_tag(me, t);
            tb_fill(p, s, tag);
            for (unsigned spins = 0; t - atomic_load_explicit(&q->head, memory_order_acquire) >= st->size;)
                tb_relax(&spins);
            q->tag[t % st->size] = tag;
            if (sized)
                q->sz[t % st->size] = (uint32_t)s;
            atomic_store_explicit(&q->slot[t % st->size], p, memory_order_relaxed);
            atomic_store_explicit(&q->tail, ++t, memory_order_release);
        }
        for (unsigned spins = 0; t - atomic_load_explicit(&q->head, memory_order_acquire) >= st->size;)
            tb_relax(&spins);
        atomic_store_explicit(&q->slot[t % st->size], NULL, memory_order_relaxed);
        atomic_store_explicit(&q->tail, t + 1, memory_order_release);
        tb_end(r, me, 0); /* the consumer counts the pair's ops */
        return;
    }
    uint64_t h = 0;
    for (;;) {
        for (unsigned spins = 0; atomic_load_explicit(&q->tail, memory_order_acquire) == h;)
            tb_relax(&spins);
        void *p = atomic_load_explicit(&q->slot[h % st->size], memory_order_relaxed);
        uint64_t tag = q->tag[h % st->size];
        size_t s = sized ? q->sz[h % st->size] : r->size;
        atomic_store_explicit(&q->head, ++h, memory_order_release);
        if (!p)
            break;
        if (!tb_check_n(r, p, tag, s)) {
            /* keep draining so that the producer is not left spinning */
            tb_free_n(r, me, sized, p, s);
            continue;
        }
        tb_free_n(r, me, sized, p, s);
        done++;
    }
    tb_end(r, me, done);
}

TB_SIZED_THREAD(pc_thread, pc_loop)

/* The rings are empty by now (each consumer drains its ring to the producer's NULL). An
 * interleaved cell runs the workload once a slice, so what setup made is given back here. */
static void pc_teardown(tb_run *r)
{
    pc_state *st = r->state;
    for (unsigned i = 0; i < r->threads / 2; i++) {
        free(st->rings[i].slot);
        free(st->rings[i].tag);
        free(st->rings[i].sz);
    }
    free(st->rings);
    st->rings = NULL;
}

/* Objects alive at once, at most: every ring full, and one in each thread's hands. */
static uint64_t pc_live_max(const tb_run *r) { return (tb_param_or0(r, "ring") + 2) * (r->threads / 2); }

const tb_workload tb_wl_prodcons = {
    .name = "prodcons",
    .desc = "producer/consumer pairs over bounded SPSC rings: every free is a cross-thread free",
    .op = "one object passed: its allocation by the producer plus its free by the consumer",
    .threads_note = "threads pair up; an odd count or 1 thread is skipped (nothing to pair with)",
    .params = {{.key = "ring", .def = "256", .help = "ring capacity in objects", .lo = 2, .hi = 1 << 20}, {.key = NULL}},
    .cross_thread = true,
    .live_max = pc_live_max,
    .setup = pc_setup,
    .thread = pc_thread,
    .teardown = pc_teardown,
};
