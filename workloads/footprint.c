/* footprint: each thread ramps up to `peak` live objects, frees `fraction` of them in random
 * order, then churns at the lower level. RSS, the pool's reserved bytes and the bytes the
 * threads asked for are marked at the peak (the worker turns them into mark_rss_ratio and
 * mark_reserve_ratio: what a design holds per byte requested, internal fragmentation and
 * per-class slack included); the row's end_rss_kib and pool_bytes_reserved show what each
 * design gives back. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

/* One thread's bookkeeping, made and touched in setup: the worker reads its base RSS after
 * setup, so these arrays are not counted as the allocator's memory at the mark. */
typedef struct {
    void **v;
    uint64_t *tags;
    uint32_t *sz; /* many sizes only */
} fp_books;

typedef struct {
    uint64_t peak;
    double fraction;
    pthread_barrier_t mark;
    fp_books *books;
} fp_state;

static int fp_setup(tb_run *r, char *err, size_t errlen)
{
    static fp_state st;
    if (tb_param_u64(r, "peak", &st.peak, err, errlen) ||
        tb_param_f64(r, "fraction", &st.fraction, err, errlen))
        return -1;
    st.books = calloc(r->threads, sizeof *st.books);
    if (!st.books) {
        snprintf(err, errlen, "footprint: out of memory for %u threads' bookkeeping", r->threads);
        return -1;
    }
    for (unsigned i = 0; i < r->threads; i++) {
        fp_books *b = &st.books[i];
        b->v = tb_scratch(st.peak, sizeof *b->v);
        b->tags = tb_scratch(st.peak, sizeof *b->tags);
        b->sz = r->sized ? tb_scratch(st.peak, sizeof *b->sz) : NULL;
        if (!b->v || !b->tags || (r->sized && !b->sz)) {
            snprintf(err, errlen, "footprint: out of memory for -p peak=%llu objects' bookkeeping",
                     (unsigned long long)st.peak);
            return -1;
        }
    }
    pthread_barrier_init(&st.mark, NULL, r->threads);
    r->state = &st;
    return 0;
}

static void fp_teardown(tb_run *r)
{
    fp_state *st = r->state;
    for (unsigned i = 0; i < r->threads; i++) {
        free(st->books[i].v);
        free(st->books[i].tags);
        free(st->books[i].sz);
    }
    free(st->books);
    st->books = NULL;
    pthread_barrier_destroy(&st->mark);
}

TB_INLINE void fp_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    fp_state *st = r->state;
    size_t n = st->peak;
    void **v = st->books[me->tid].v;
    uint64_t *tags = st->books[me->tid].tags;
    uint32_t *sz = st->books[me->tid].sz;
    uint64_t done = 0, k = 0, live = 0;
    bool marked = false;
    for (size_t i = 0; i < n; i++)
        v[i] = NULL;
    tb_begin(r, me);
    for (size_t i = 0; i < n; i++) {
        size_t s;
        if (!(v[i] = tb_alloc_next(r, me, sized, &s)))
            goto out;
        tags[i] = tb_tag(me, k++);
        tb_fill(v[i], s, tags[i]);
        if (sized) {
            sz[i] = (uint32_t)s;
            live += s;
        }
        done++;
    }
    me->live_bytes = sized ? live : n * r->size;
    marked = true;
    pthread_barrier_wait(&st->mark);
    if (me->tid == 0)
        tb_mark(r);
    pthread_barrier_wait(&st->mark);
    /* Free `fraction` of them in random order: shuffle, free the first part. */
    for (size_t i = n; i > 1; i--) {
        size_t j = tb_rand(me) % i;
        void *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
        uint64_t tt = tags[i - 1];
        tags[i - 1] = tags[j];
        tags[j] = tt;
        if (sized) {
            uint32_t ts = sz[i - 1];
            sz[i - 1] = sz[j];
            sz[j] = ts;
        }
    }
    size_t gone = (size_t)((double)n * st->fraction);
    for (size_t i = 0; i < gone; i++) {
        size_t s = sized ? sz[i] : r->size;
        if (!tb_check_n(r, v[i], tags[i], s))
            goto out;
        tb_free_n(r, me, sized, v[i], s);
        v[i] = NULL;
        done++;
    }
    /* Churn at the lower level: replace random survivors, as many times as there were objects. */
    size_t left = n - gone;
    for (size_t i = 0; left && i < n; i++) {
        size_t j = gone + tb_rand(me) % left;
        size_t s = sized ? sz[j] : r->size;
        if (!tb_check_n(r, v[j], tags[j], s))
            goto out;
        tb_free_n(r, me, sized, v[j], s);
        if (!(v[j] = tb_alloc_next(r, me, sized, &s)))
            goto out;
        tags[j] = tb_tag(me, k++);
        tb_fill(v[j], s, tags[j]);
        if (sized)
            sz[j] = (uint32_t)s;
        done += 2;
    }
out:
    tb_end(r, me, done);
    if (!marked) { /* a thread that failed on the ramp still meets the others at the mark */
        pthread_barrier_wait(&st->mark);
        if (me->tid == 0)
            tb_mark(r);
        pthread_barrier_wait(&st->mark);
    }
    for (size_t i = 0; i < n; i++)
        tb_release(r, v[i], sized ? sz[i] : r->size);
}

TB_SIZED_THREAD(fp_thread, fp_loop)

/* Objects alive at once, at most: every thread at its peak. */
static uint64_t fp_live_max(const tb_run *r) { return tb_param_or0(r, "peak") * r->threads; }

const tb_workload tb_wl_footprint = {
    .name = "footprint",
    .desc = "ramp to `peak` live objects per thread, free `fraction` at random, churn at the lower level",
    .op = "one allocation or one free (the op count is fixed by peak; --ops does not apply)",
    .threads_note = "every thread runs the same phases on its own objects",
    .params = {{.key = "peak", .def = "100000", .help = "live objects per thread at the peak", .lo = 1, .hi = 1 << 26},
               {.key = "fraction", .def = "0.9", .help = "share of them freed after the peak", .lo = 0, .hi = 1, .real = true},
               {.key = NULL}},
    .live_max = fp_live_max,
    .setup = fp_setup,
    .thread = fp_thread,
    .teardown = fp_teardown,
};
