/* batch: each thread allocates n objects, then frees them all in lifo, fifo or random order;
 * repeated. Stresses refill and flush of caches in bulk. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct {
    uint64_t n;
    int order; /* 0 lifo, 1 fifo, 2 random */
} batch_state;

static int batch_setup(tb_run *r, char *err, size_t errlen)
{
    static batch_state st;
    if (tb_param_u64(r, "n", &st.n, err, errlen))
        return -1;
    const char *o = tb_param_get(r, "order");
    st.order = strcmp(o, "lifo") == 0 ? 0 : strcmp(o, "fifo") == 0 ? 1 : strcmp(o, "random") == 0 ? 2 : -1;
    if (st.order < 0) {
        snprintf(err, errlen, "batch: -p order=%s is not valid: want lifo, fifo or random", o);
        return -1;
    }
    r->state = &st;
    return 0;
}

TB_INLINE void batch_loop(tb_run *r, tb_thread_out *me, const bool sized)
{
    batch_state *st = r->state;
    size_t n = st->n;
    void **v = tb_scratch(n, sizeof *v);
    uint64_t *tags = tb_scratch(n, sizeof *tags);
    uint32_t *perm = tb_scratch(n, sizeof *perm);
    uint32_t *sz = sized ? tb_scratch(n, sizeof *sz) : NULL;
    if (!v || !tags || !perm || (sized && !sz)) {
        tb_out_of_memory(r);
        tb_begin(r, me);
        tb_end(r, me, 0);
        goto gone;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    if (st->order == 2) /* a fixed random order per thread, drawn before timing */
        for (size_t i = n; i > 1; i--) {
            size_t j = tb_rand(me) % i;
            uint32_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
    else if (st->order == 0)
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)(n - 1 - i);
    uint64_t done = 0, k = 0;
    tb_begin(r, me);
    while (tb_more(r, done)) {
        for (size_t i = 0; i < n; i++) {
            size_t s;
            void *p = tb_alloc_next(r, me, sized, &s);
            if (!p)
                goto out; /* the cell has failed; what it holds goes with the worker */
            tags[i] = tb_tag(me, k++);
            tb_fill(p, s, tags[i]);
            v[i] = p;
            if (sized)
                sz[i] = (uint32_t)s;
        }
        for (size_t i = 0; i < n; i++) {
            size_t j = perm[i];
            size_t s = sized ? sz[j] : r->size;
            if (!tb_check_n(r, v[j], tags[j], s))
                goto out;
            tb_free_n(r, me, sized, v[j], s);
        }
        done += n;
    }
out:
    tb_end(r, me, done);
gone:
    free(v);
    free(tags);
    free(perm);
    free(sz);
}

TB_SIZED_THREAD(batch_thread, batch_loop)

/* Objects alive at once, at most: a batch per thread. */
static uint64_t batch_live_max(const tb_run *r) { return tb_param_or0(r, "n") * r->threads; }

const tb_workload tb_wl_batch = {
    .name = "batch",
    .desc = "each thread allocates n objects, then frees all of them in the given order; repeated",
    .op = "one allocation plus its free",
    .threads_note = "every thread runs the same loop on its own objects",
    .params = {{.key = "n", .def = "1000", .help = "objects per batch", .lo = 1, .hi = 1 << 24},
               {.key = "order", .def = "lifo", .help = "free order: lifo, fifo or random", .choices = "lifo|fifo|random"},
               {.key = NULL}},
    .live_max = batch_live_max,
    .setup = batch_setup,
    .thread = batch_thread,
};
