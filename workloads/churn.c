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

TB_INLINE void churn_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    churn_state *st = r->state;
    size_t live = st->live;
    void **ring = tb_scratch(live, sizeof *ring);
    uint64_t *tags = tb_scratch(live, sizeof *tags);
    uint32_t *sz = sized ? tb_scratch(live, sizeof *sz) : NULL; /* each slot's size */
    if (!ring || !tags || (sized && !sz)) {
        tb_begin(r, me);
        tb_end(r, me, 0);
        goto gone;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < live; i++) { /* warm-up, untimed */
        size_t s = tb_next_size(r, me, sized);
        if (sized)
            sz[i] = (uint32_t)s;
        ring[i] = tb_alloc_untimed(r, s);
        tags[i] = tb_tag(me, n++);
        if (ring[i])
            tb_fill(ring[i], s, tags[i]);
    }
    tb_begin(r, me);
    uint64_t done = 0;
    size_t k = 0;
    while (tb_more(r, done)) {
        for (int j = 0; j < 64; j++) {
            void *p = ring[k];
            size_t s = sized ? sz[k] : r->size;
            if (p && !tb_check_n(r, p, tags[k], s))
                goto out;
            tb_free_n(r, me, sized, p, s);
            p = tb_alloc_next(r, me, sized, &s);
            if (!p) {
                ring[k] = NULL; /* freed above: teardown must not free it again */
                goto out;
            }
            tags[k] = tb_tag(me, n++);
            tb_fill(p, s, tags[k]);
            ring[k] = p;
            if (sized)
                sz[k] = (uint32_t)s;
            if (++k == live)
                k = 0;
        }
        done += 64;
    }
out:
    tb_end(r, me, done);
    for (size_t i = 0; i < live; i++)
        tb_release(r, ring[i], sized ? sz[i] : r->size);
gone:
    free(ring);
    free(tags);
    free(sz);
}

TB_SIZED_THREAD(churn_thread, churn_loop)

/* Objects alive at once, at most: each thread's ring. */
static uint64_t churn_live_max(const tb_run *r) { return tb_param_or0(r, "live") * r->threads; }

const tb_workload tb_wl_churn = {
    .name = "churn",
    .desc = "thread-local alloc/write/check/free with `live` objects kept per thread",
    .op = "one allocation plus one free",
    .threads_note = "every thread runs the same loop on its own objects",
    .params = {{.key = "live", .def = "1", .help = "objects each thread keeps alive in a ring", .lo = 1, .hi = 1 << 24}, {.key = NULL}},
    .live_max = churn_live_max,
    .setup = churn_setup,
    .thread = churn_thread,
};

