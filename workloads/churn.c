/* churn: each thread repeats allocate, write, read back, free. `live` objects per thread stay
 * alive in a ring so that the object freed is not always the one just allocated. */
#include <stdlib.h>

#include "workload.h"

typedef struct {
    uint64_t live;
} churn_state;

static int churn_setup(tb_run *r, char *err, size_t errlen)
{
    static churn_state st;
    if (tb_param_u64(r, "live", &st.live, err, errlen))
        return -1;
    r->state = &st;
    return 0;
}

static void churn_thread(tb_run *r, tb_thread_out *me)
{
    churn_state *st = r->state;
    size_t live = st->live;
    void **ring = calloc(live, sizeof *ring);
    uint64_t *tags = calloc(live, sizeof *tags);
    if (!ring || !tags) {
        tb_begin(r, me);
        tb_end(r, me, 0);
        return;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < live; i++) { /* warm-up, untimed */
        ring[i] = tb_alloc_untimed(r);
        tags[i] = tb_tag(me, n++);
        if (ring[i])
            tb_fill(ring[i], r->size, tags[i]);
    }
    tb_begin(r, me);
    uint64_t done = 0;
    size_t k = 0;
    while (tb_more(r, done)) {
        for (int j = 0; j < 64; j++) {
            void *p = ring[k];
            if (p && !tb_check(r, p, tags[k]))
                goto out;
            tb_free(r, me, p);
            p = tb_alloc(r, me);
            if (!p)
                goto out;
            tags[k] = tb_tag(me, n++);
            tb_fill(p, r->size, tags[k]);
            ring[k] = p;
            if (++k == live)
                k = 0;
        }
        done += 64;
    }
out:
    tb_end(r, me, done);
    for (size_t i = 0; i < live; i++)
        if (ring[i])
            r->heap->free(r->heap->ctx, ring[i]);
    free(ring);
    free(tags);
}

const tb_workload tb_wl_churn = {
    .name = "churn",
    .desc = "thread-local alloc/write/check/free with `live` objects kept per thread",
    .op = "one allocation plus one free",
    .threads_note = "every thread runs the same loop on its own objects",
    .params = {{.key = "live", .def = "1", .help = "objects each thread keeps alive in a ring", .lo = 1, .hi = 1 << 24}, {.key = NULL}},
    .setup = churn_setup,
    .thread = churn_thread,
};

