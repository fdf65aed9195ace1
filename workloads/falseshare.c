/* falseshare: cache-scratch (handoff=yes) and cache-thrash (handoff=no) of the Hoard benchmarks
 * (Berger et al., ASPLOS 2000), as their programs run: each thread repeatedly allocates a small
 * object (8 bytes unless --sizes says otherwise), makes `writes` passes over it, split over the
 * threads as the original splits its repetitions (strong scaling), each pass writing every byte
 * and reading it back, then frees it. With handoff, each thread's first object was allocated by
 * one thread for all before timing, so an allocator that recycles a freed object locally puts
 * the threads' objects on one cache line. The read after the other thread's write is what costs:
 * stores alone retire into the store buffer and hide the line's ping-pong (measured on the
 * 2-core VM: a store-only pass showed no penalty for tcmalloc, the read-back 9x). */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct {
    uint64_t passes; /* per object, per thread: -p writes divided by the thread count */
    bool handoff;
    void **first; /* handoff: allocated by one thread for all, before timing */
    uint32_t *first_sz;
} fs_state;

static int fs_setup(tb_run *r, char *err, size_t errlen)
{
    static fs_state st;
    memset(&st, 0, sizeof st);
    if (tb_param_u64(r, "writes", &st.passes, err, errlen))
        return -1;
    st.passes = st.passes / r->threads ? st.passes / r->threads : 1; /* at least one pass each */
    st.handoff = strcmp(tb_param_get(r, "handoff"), "yes") == 0;
    if (st.handoff) {
        st.first = calloc(r->threads, sizeof *st.first);
        st.first_sz = calloc(r->threads, sizeof *st.first_sz);
        if (!st.first || !st.first_sz) {
            snprintf(err, errlen, "falseshare: out of memory");
            return -1;
        }
        for (unsigned i = 0; i < r->threads; i++) { /* on the driver thread: the handing one */
            st.first_sz[i] = (uint32_t)(r->sized ? tb_size_draw(r, &r->out[i]) : r->size);
            st.first[i] = tb_alloc_untimed(r, st.first_sz[i]);
        }
    }
    r->state = &st;
    return 0;
}

TB_INLINE void fs_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    fs_state *st = r->state;
    size_t s = st->handoff ? st->first_sz[me->tid] : tb_next_size(r, me, sized);
    void *p = st->handoff ? st->first[me->tid] : tb_alloc_untimed(r, s);
    uint64_t done = 0, k = 0, passes = st->passes;
    tb_begin(r, me);
    if (p)
        tb_free_n(r, me, sized, p, s);
    while (tb_more(r, done)) {
        volatile unsigned char *o = tb_alloc_next(r, me, sized, &s);
        if (!o)
            break;
        unsigned char sum = 0;
        for (uint64_t w = 0; w < passes; w++) /* volatile: every byte goes to memory and back */
            for (size_t i = 0; i < s; i++) {
                o[i] = (unsigned char)(i + w);
                sum += o[i];
            }
        me->rng ^= sum; /* keeps the reads live without a volatile local's stack traffic */
        uint64_t tag = tb_tag(me, k++);
        tb_fill((void *)o, s, tag);
        if (!tb_check_n(r, (const void *)o, tag, s))
            break;
        tb_free_n(r, me, sized, (void *)o, s);
        done++;
    }
    tb_end(r, me, done);
}

TB_SIZED_THREAD(fs_thread, fs_loop)

static void fs_teardown(tb_run *r)
{
    fs_state *st = r->state;
    free(st->first); /* the objects themselves: each thread freed its own in its timed region */
    free(st->first_sz);
    st->first = NULL;
    st->first_sz = NULL;
}

/* Objects alive at once, at most: one per thread (and the handed-over ones). */
static uint64_t fs_live_max(const tb_run *r) { return 2 * (uint64_t)r->threads; }

const tb_workload tb_wl_falseshare = {
    .name = "falseshare",
    .desc = "Hoard's cache-scratch (handoff=yes) and cache-thrash (handoff=no): alloc, write and read back, free",
    .op = "one object: its allocation, writes/threads passes writing and reading back each byte, its free",
    .threads_note = "every thread runs the same loop; passes are split over the threads (strong scaling, as the "
                    "original); with handoff, one thread allocated each worker's first object",
    .params = {{.key = "handoff", .def = "yes", .help = "yes: cache-scratch (first objects handed over), no: cache-thrash", .choices = "yes|no"},
               {.key = "writes", .def = "2000000", .help = "passes over each object, split over the threads (the original's repetitions)", .lo = 1, .hi = 1e12},
               {.key = NULL}},
    .sizes = "8",
    .live_max = fs_live_max,
    .setup = fs_setup,
    .thread = fs_thread,
    .teardown = fs_teardown,
};
