/* falseshare: cache-scratch (handoff=yes) and cache-thrash (handoff=no) of the Hoard benchmarks
 * (Berger et al., ASPLOS 2000). Each worker repeatedly allocates an object, writes it `writes`
 * times and frees it. With handoff, each worker's first object was allocated by one thread for
 * all, so an allocator that recycles it locally keeps threads on one cache line. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

typedef struct {
    uint64_t writes;
    bool handoff;
    void **first; /* handoff: allocated by one thread for all, before timing */
    uint32_t *first_sz;
} fs_state;

static int fs_setup(tb_run *r, char *err, size_t errlen)
{
    static fs_state st;
    memset(&st, 0, sizeof st);
    if (tb_param_u64(r, "writes", &st.writes, err, errlen))
        return -1;
    const char *h = tb_param_get(r, "handoff");
    if (strcmp(h, "yes") != 0 && strcmp(h, "no") != 0) {
        snprintf(err, errlen, "falseshare: -p handoff=%s is not valid: want yes or no", h);
        return -1;
    }
    st.handoff = strcmp(h, "yes") == 0;
    if (st.handoff) {
        st.first = calloc(r->threads, sizeof *st.first);
        st.first_sz = calloc(r->threads, sizeof *st.first_sz);
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
    uint64_t done = 0, k = 0;
    const size_t fixed_words = r->size / 8;
    tb_begin(r, me);
    if (p)
        tb_free_n(r, me, sized, p, s);
    while (tb_more(r, done)) {
        for (int j = 0; j < 16; j++) {
            volatile uint64_t *o = tb_alloc_next(r, me, sized, &s);
            if (!o)
                goto out;
            size_t words = sized ? s / 8 : fixed_words;
            uint64_t tag = tb_tag(me, k++);
            for (uint64_t w = 1; w < st->writes; w++) /* volatile: every pass reaches memory */
                for (size_t i = 0; i < words; i++)
                    o[i] = tag ^ w;
            tb_fill((void *)o, s, tag); /* the last pass writes the pattern itself */
            if (!tb_check_n(r, (const void *)o, tag, s))
                goto out;
            tb_free_n(r, me, sized, (void *)o, s);
        }
        done += 16;
    }
out:
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

const tb_workload tb_wl_falseshare = {
    .name = "falseshare",
    .desc = "Hoard's cache-scratch (handoff=yes) and cache-thrash (handoff=no): alloc, write, free",
    .op = "one allocation, `writes` passes over the object, one free",
    .threads_note = "every thread runs the same loop; with handoff, one thread allocated each worker's first object",
    .params = {{.key = "handoff", .def = "yes", .help = "yes: cache-scratch (first objects handed over), no: cache-thrash", .choices = "yes|no"},
               {.key = "writes", .def = "100", .help = "passes over the object between alloc and free", .lo = 1, .hi = 1 << 20},
               {.key = NULL}},
    .setup = fs_setup,
    .thread = fs_thread,
    .teardown = fs_teardown,
};
