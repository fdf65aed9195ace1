/* footprint: each thread ramps up to `peak` live objects, frees `fraction` of them in random
 * order, then churns at the lower level. RSS and the pool's reserved bytes are marked at the
 * peak; the row's end_rss_kib and pool_bytes_reserved show what each design gives back. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct {
    uint64_t peak;
    double fraction;
    pthread_barrier_t mark;
} fp_state;

static int fp_setup(tb_run *r, char *err, size_t errlen)
{
    static fp_state st;
    if (tb_param_u64(r, "peak", &st.peak, err, errlen) ||
        tb_param_f64(r, "fraction", &st.fraction, err, errlen))
        return -1;
    pthread_barrier_init(&st.mark, NULL, r->threads);
    r->state = &st;
    return 0;
}

static void fp_thread(tb_run *r, tb_thread_out *me)
{
    fp_state *st = r->state;
    size_t n = st->peak;
    void **v = calloc(n, sizeof *v);
    uint64_t *tags = calloc(n, sizeof *tags);
    uint64_t done = 0, k = 0;
    tb_begin(r, me);
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = tb_alloc(r, me)))
            goto out;
        tags[i] = tb_tag(me, k++);
        tb_fill(v[i], r->size, tags[i]);
        done++;
    }
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
    }
    size_t gone = (size_t)((double)n * st->fraction);
    for (size_t i = 0; i < gone; i++) {
        if (!tb_check(r, v[i], tags[i]))
            goto out;
        tb_free(r, me, v[i]);
        v[i] = NULL;
        done++;
    }
    /* Churn at the lower level: replace random survivors, as many times as there were objects. */
    size_t left = n - gone;
    for (size_t i = 0; left && i < n; i++) {
        size_t j = gone + tb_rand(me) % left;
        if (!tb_check(r, v[j], tags[j]))
            goto out;
        tb_free(r, me, v[j]);
        if (!(v[j] = tb_alloc(r, me)))
            goto out;
        tags[j] = tb_tag(me, k++);
        tb_fill(v[j], r->size, tags[j]);
        done += 2;
    }
out:
    tb_end(r, me, done);
    for (size_t i = 0; i < n; i++)
        if (v[i])
            r->heap->free(r->heap->ctx, v[i]);
    free(v);
    free(tags);
}

const tb_workload tb_wl_footprint = {
    .name = "footprint",
    .desc = "ramp to `peak` live objects per thread, free `fraction` at random, churn at the lower level",
    .op = "one allocation or one free (the op count is fixed by peak; --ops does not apply)",
    .threads_note = "every thread runs the same phases on its own objects",
    .params = {{.key = "peak", .def = "100000", .help = "live objects per thread at the peak", .lo = 1, .hi = 1 << 26},
               {.key = "fraction", .def = "0.9", .help = "share of them freed after the peak", .lo = 0, .hi = 1, .real = true},
               {.key = NULL}},
    .setup = fp_setup,
    .thread = fp_thread,
};
