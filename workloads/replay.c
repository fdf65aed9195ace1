/* replay: a recorded program's allocation events (tmbench record), replayed against the
 * allocator under test, after trace-driven allocator studies (Zorn and Grunwald, "Evaluating
 * models of memory allocation", 1992; Wilson, Johnstone, Neely and Boles, "Dynamic Storage
 * Allocation: A Survey and Critical Review", 1995). One thread per recorded thread runs that
 * thread's events in order; a free or realloc of an object made on another thread waits for
 * that object's allocation (a flag per object), so cross-thread frees replay in a legal order
 * without a global lock step. A realloc is an allocation, a copy of the smaller size and a free.
 * Objects are filled and checked as in the other workloads; the sizes are the trace's, served
 * through each allocator's many-size calls. Alignments are not replayed: tb_heap has no aligned
 * call, so an aligned request is a plain one of its size. One timed pass a cell, whatever --ops
 * or --duration say: the trace fixes the work, as footprint's peak does. With warm=yes the
 * trace runs once untimed first and what it left live is freed, so that the timed pass meets a
 * heap that has served the program already: steady state, apart from the start-up a cold heap
 * pays in page faults (a third of a cold replay's time on the 2-core VM). */
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "workload.h"

typedef struct {
    tb_trace t;
    void **ptr;              /* per object, while it is live */
    _Atomic unsigned char *ready;
    bool warm;
    pthread_barrier_t passed; /* warm: every thread is through the untimed pass */
} rp_state;

static int rp_check(const tb_run *r, char *err, size_t errlen)
{
    const char *path = tb_param_get(r, "trace");
    if (!path || !*path) {
        snprintf(err, errlen, "replay: want -p trace=FILE, a trace written by tmbench record");
        return -1;
    }
    tb_trace t;
    if (tb_trace_load(path, &t, err, errlen) != 0)
        return -1;
    tb_trace_free(&t);
    return 0;
}

static int rp_setup(tb_run *r, char *err, size_t errlen)
{
    static rp_state st;
    memset(&st, 0, sizeof st);
    if (tb_trace_load(tb_param_get(r, "trace"), &st.t, err, errlen) != 0)
        return -1;
    if (st.t.threads != r->threads) {
        snprintf(err, errlen, "the trace has %u threads: replay it with --threads %u", st.t.threads, st.t.threads);
        tb_trace_free(&st.t);
        return 1;
    }
    if (!r->sized || st.t.max_size > r->size) {
        snprintf(err, errlen, "the trace asks for objects of up to %llu bytes: want --sizes 1-N with N at least that (the workload's own is 1-1048576)",
                 (unsigned long long)st.t.max_size);
        tb_trace_free(&st.t);
        return 1;
    }
    uint64_t n = st.t.objects ? st.t.objects : 1;
    st.ptr = tb_bulk_calloc(n, sizeof *st.ptr);
    st.ready = tb_bulk_calloc(n, 1);
    if (!st.ptr || !st.ready) {
        snprintf(err, errlen, "replay: out of memory for %llu objects", (unsigned long long)n);
        return -1;
    }
    /* Written now, so that their first touches are not in the timed region: the same for every
     * allocator, they were 202 of about 700 page faults a cc1 replay took there. */
    memset(st.ptr, 0, n * sizeof *st.ptr);
    memset((void *)st.ready, 0, n);
    st.warm = strcmp(tb_param_get(r, "warm"), "yes") == 0;
    pthread_barrier_init(&st.passed, NULL, r->threads);
    r->state = &st;
    return 0;
}

static size_t osize(const rp_state *st, uint64_t obj)
{
    uint64_t s = st->t.obj_size[obj];
    return s ? (size_t)s : 1;
}

/* false when the cell ran out of memory: the thread that was to make obj may have stopped */
static bool wait_made(const tb_run *r, rp_state *st, uint64_t obj)
{
    unsigned spins = 0;
    while (!atomic_load_explicit(&st->ready[obj], memory_order_acquire))
        if (atomic_load_explicit(&r->oom, memory_order_relaxed))
            return false;
        else
            tb_relax(&spins);
    return true;
}

/* One pass over this thread's events; the timed one samples latencies and counts, the warm-up
 * calls the heap directly. Events done, short of all of them when an allocation failed. */
static inline __attribute__((always_inline)) uint64_t rp_pass(tb_run *r, tb_thread_out *me, bool timed)
{
    rp_state *st = r->state;
    const tb_trace_event *ev = st->t.ev[me->tid];
    uint64_t n = st->t.nev[me->tid], done = 0;
    for (uint64_t i = 0; i < n && !atomic_load_explicit(&r->oom, memory_order_relaxed); i++) {
        const tb_trace_event *e = &ev[i];
        uint64_t obj = e->id;
        if (e->op == TB_OP_FREE || e->op == TB_OP_REALLOC) {
            if (st->t.obj_thread[obj] != me->tid && !wait_made(r, st, obj))
                break;
            void *p = st->ptr[obj];
            size_t s = osize(st, obj);
            tb_check_n(r, p, tb_tag_of(0, obj), s);
            if (e->op == TB_OP_REALLOC) {
                uint64_t nobj = e->seq;
                size_t ns = osize(st, nobj);
                void *q = timed ? tb_alloc_n(r, me, true, ns) : tb_alloc_untimed(r, ns);
                if (!q)
                    break;
                memcpy(q, p, s < ns ? s : ns);
                tb_fill(q, ns, tb_tag_of(0, nobj));
                st->ptr[nobj] = q;
                atomic_store_explicit(&st->ready[nobj], 1, memory_order_release);
            }
            st->ptr[obj] = NULL;
            if (timed)
                tb_free_n(r, me, true, p, s);
            else
                tb_release(r, p, s);
        } else {
            size_t s = osize(st, obj);
            void *p = timed ? tb_alloc_n(r, me, true, s) : tb_alloc_untimed(r, s);
            if (!p)
                break;
            tb_fill(p, s, tb_tag_of(0, obj));
            st->ptr[obj] = p;
            atomic_store_explicit(&st->ready[obj], 1, memory_order_release);
        }
        done++;
    }
    return done;
}

/* After the warm-up pass, on every thread: the objects this thread made that are still live
 * go back, freed by the thread that made them (a program's exit leaves them to the OS; the
 * timed pass must not find the heap holding a second copy), and their flags are cleared for
 * the timed pass. The barrier before it keeps a flag from being cleared while another thread
 * still waits for it; tb_begin's, after it, keeps the timed pass from seeing a flag set. */
static void rp_unwind(tb_run *r, tb_thread_out *me)
{
    rp_state *st = r->state;
    pthread_barrier_wait(&st->passed);
    for (uint64_t i = 0; i < st->t.objects; i++) {
        if (st->t.obj_thread[i] != me->tid)
            continue;
        tb_release(r, st->ptr[i], osize(st, i));
        st->ptr[i] = NULL;
        atomic_store_explicit(&st->ready[i], 0, memory_order_relaxed);
    }
}

static void rp_thread(tb_run *r, tb_thread_out *me)
{
    rp_state *st = r->state;
    if (st->warm) {
        rp_pass(r, me, false);
        rp_unwind(r, me);
    }
    tb_begin(r, me);
    uint64_t done = rp_pass(r, me, true);
    tb_end(r, me, done);
}

/* After timing: the objects the program never freed. */
static void rp_teardown(tb_run *r)
{
    rp_state *st = r->state;
    for (uint64_t i = 0; i < st->t.objects; i++)
        if (st->ptr[i])
            tb_release(r, st->ptr[i], osize(st, i));
    r->mark_live_bytes = (long long)st->t.peak_live_bytes;
    tb_bulk_free(st->ptr);
    tb_bulk_free((void *)st->ready);
    pthread_barrier_destroy(&st->passed);
    tb_trace_free(&st->t);
}

const tb_workload tb_wl_replay = {
    .name = "replay",
    .desc = "a recorded program's allocations (tmbench record), replayed thread by thread",
    .op = "one recorded call: an allocation, a free, or a realloc (alloc, copy, free)",
    .threads_note = "the trace's own thread count; cells at other counts are skipped, saying which",
    .params = {{.key = "trace", .def = "", .help = "the trace file, from tmbench record", .text = true},
               {.key = "warm", .def = "no", .help = "yes: the trace once untimed first, its leftovers freed (steady state); no: a cold heap",
                .choices = "no|yes", .quiet = true},
               {.key = NULL}},
    .sizes = "1-1048576",
    .explicit_only = true,
    .setup = rp_setup,
    .check = rp_check,
    .thread = rp_thread,
    .teardown = rp_teardown,
};
