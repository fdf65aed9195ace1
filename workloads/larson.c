/* larson: the server simulation of Larson and Krishnan (ISMM 1998), as mimalloc-bench runs it
 * (`larson 5 8 1000 5000 100 4141 N`): each lane (one per thread) owns `slots` objects (5000)
 * of 8 to 999 bytes and replaces a random one per op; after `rounds` replacements (100 rounds
 * of 5000: 500,000) its slot array passes to a newly started thread, so objects are freed by
 * threads that did not allocate them. Before timing, as the original's warm-up does, every slot
 * is filled, the slots of all lanes are permuted among the lanes, and 4 x slots x lanes random
 * replacements follow. Thread starts are inside the timed region, as in the original. */
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "workload.h"

typedef struct lane {
    tb_run *r;
    tb_thread_out *me;
    void **slot;
    uint64_t *tag;
    uint32_t *sz; /* many sizes: each slot's object size */
    uint64_t done, k;
    _Atomic int finished;
} __attribute__((aligned(128))) lane; /* each lane's counters on lines of their own: they were
                                        * false-shared, and larson's figures moved with the heap
                                        * layout of the worker (up to 1.7x) */

typedef struct {
    uint64_t slots, rounds;
    lane *lanes;
} la_state;

static int la_setup(tb_run *r, char *err, size_t errlen)
{
    static la_state st;
    if (tb_param_u64(r, "slots", &st.slots, err, errlen) ||
        tb_param_u64(r, "rounds", &st.rounds, err, errlen))
        return -1;
    st.lanes = aligned_alloc(128, r->threads * sizeof *st.lanes);
    if (!st.lanes) {
        snprintf(err, errlen, "out of memory for %u lanes", r->threads);
        return -1;
    }
    memset(st.lanes, 0, r->threads * sizeof *st.lanes);
    r->state = &st;
    return 0;
}

static void *generation_fixed(void *arg);
static void *generation_sized(void *arg);

TB_INLINE void generation(lane *l, const bool sized)
{
    tb_run *r = l->r;
    la_state *st = r->state;
    tb_thread_out *me = l->me;
    uint64_t n = 0;
    tb_count_begin(r, me);
    while (n < st->rounds && tb_more(r, l->done)) {
        size_t j = tb_rand(me) % st->slots;
        size_t s = sized ? l->sz[j] : r->size;
        if (!tb_check_n(r, l->slot[j], l->tag[j], s))
            break;
        tb_free_n(r, me, sized, l->slot[j], s);
        void *p = tb_alloc_next(r, me, sized, &s);
        if (!p) {
            l->slot[j] = NULL;
            break;
        }
        l->tag[j] = tb_tag(me, l->k++);
        tb_fill(p, s, l->tag[j]);
        l->slot[j] = p;
        if (sized)
            l->sz[j] = (uint32_t)s;
        n++;
        l->done++;
    }
    tb_count_end(r, me);
    if (n == st->rounds && tb_more(r, l->done) && !atomic_load(&r->corrupt)) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, sized ? generation_sized : generation_fixed, l) == 0)
            return; /* the successor carries on */
    }
    me->t1 = tb_now_ns();
    me->ops = l->done;
    atomic_store(&l->finished, 1);
}

static void *generation_fixed(void *arg)
{
    generation(arg, false);
    return NULL;
}

static void *generation_sized(void *arg)
{
    generation(arg, true);
    return NULL;
}

/* The original's warm-up, untimed, on the driver thread: a random permutation of every lane's
 * slots among all lanes, then 4 x slots x lanes random replacements, so the timed region starts
 * from a heap in steady state, not from freshly carved memory. */
static void warm_up(tb_run *r, la_state *st)
{
    uint64_t n = st->slots * r->threads, rng = 0x9E3779B97F4A7C15ull ^ r->out[0].rng;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = (rng = rng * 6364136223846793005ull + 1442695040888963407ull) % i;
        lane *a, *b;
        uint64_t x, y;
        a = &st->lanes[(i - 1) / st->slots], x = (i - 1) % st->slots;
        b = &st->lanes[j / st->slots], y = j % st->slots;
        void *p = a->slot[x];
        uint64_t t = a->tag[x];
        a->slot[x] = b->slot[y], a->tag[x] = b->tag[y];
        b->slot[y] = p, b->tag[y] = t;
        if (r->sized) {
            uint32_t s = a->sz[x];
            a->sz[x] = b->sz[y];
            b->sz[y] = s;
        }
    }
    for (uint64_t i = 0; i < 4 * n && !atomic_load(&r->oom); i++) {
        uint64_t j = (rng = rng * 6364136223846793005ull + 1442695040888963407ull) % n;
        lane *l = &st->lanes[j / st->slots];
        uint64_t x = j % st->slots;
        size_t s = r->sized ? l->sz[x] : r->size;
        tb_release(r, l->slot[x], s);
        s = r->sized ? tb_size_draw(r, l->me) : r->size;
        l->slot[x] = tb_alloc_untimed(r, s);
        l->tag[x] = tb_tag(l->me, l->k++);
        if (r->sized)
            l->sz[x] = (uint32_t)s;
        if (l->slot[x])
            tb_fill(l->slot[x], s, l->tag[x]);
    }
}

static void la_drive(tb_run *r)
{
    la_state *st = r->state;
    /* Fill every lane before timing, from the driver thread: the first generation already frees
     * objects it did not allocate, as in the original. */
    for (unsigned i = 0; i < r->threads; i++) {
        lane *l = &st->lanes[i];
        l->r = r;
        l->me = &r->out[i];
        l->slot = tb_scratch(st->slots, sizeof *l->slot);
        l->tag = tb_scratch(st->slots, sizeof *l->tag);
        l->sz = r->sized ? tb_scratch(st->slots, sizeof *l->sz) : NULL;
        for (uint64_t j = 0; j < st->slots; j++) {
            size_t s = r->sized ? tb_size_draw(r, l->me) : r->size;
            if (r->sized)
                l->sz[j] = (uint32_t)s;
            l->slot[j] = tb_alloc_untimed(r, s);
            l->tag[j] = tb_tag(l->me, l->k++);
            if (l->slot[j])
                tb_fill(l->slot[j], s, l->tag[j]);
        }
    }
    warm_up(r, st);
    uint64_t t0 = tb_now_ns();
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (unsigned i = 0; i < r->threads; i++) {
        st->lanes[i].me->t0 = t0;
        pthread_t t;
        pthread_create(&t, &at, r->sized ? generation_sized : generation_fixed, &st->lanes[i]);
    }
    if (!r->ops_per_thread) {
        /* duration mode: the worker's timer is not used with drive, so this loop is the timer */
        uint64_t deadline = t0 + (uint64_t)(r->duration * 1e9);
        while (!atomic_load(&r->stop)) {
            if (tb_now_ns() >= deadline) {
                atomic_store(&r->stop, 1);
                break;
            }
            bool all = true;
            for (unsigned i = 0; i < r->threads; i++)
                all &= atomic_load(&st->lanes[i].finished) != 0;
            if (all)
                break;
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    for (unsigned i = 0; i < r->threads; i++)
        while (!atomic_load(&st->lanes[i].finished)) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
}

static void la_teardown(tb_run *r)
{
    la_state *st = r->state;
    for (unsigned i = 0; i < r->threads; i++) {
        lane *l = &st->lanes[i];
        for (uint64_t j = 0; j < st->slots; j++)
            tb_release(r, l->slot[j], r->sized ? l->sz[j] : r->size);
        free(l->slot);
        free(l->tag);
        free(l->sz);
    }
    free(st->lanes);
    st->lanes = NULL;
}

/* Objects alive at once, at most: every lane's slots. */
static uint64_t larson_live_max(const tb_run *r) { return tb_param_or0(r, "slots") * r->threads; }

const tb_workload tb_wl_larson = {
    .name = "larson",
    .desc = "Larson-Krishnan server simulation: random slot replacement, slot arrays passed to new threads",
    .op = "one replacement: free the old object of a random slot, allocate a new one",
    .threads_note = "one lane per thread; each lane restarts on a new thread every `rounds` ops",
    .params = {{.key = "slots", .def = "5000", .help = "objects each lane keeps (the original's chunks per thread)", .lo = 1, .hi = 1 << 24},
               {.key = "rounds", .def = "500000", .help = "replacements before the slots pass to a new thread (the original's 100 rounds of 5000)", .lo = 1, .hi = 1099511627776.0},
               {.key = NULL}},
    .sizes = "8-999",
    .cross_thread = true,
    .min_seconds = 0.5, /* thread lives of 500,000 replacements: a 0.1 s cell holds a few */
    .live_max = larson_live_max,
    .setup = la_setup,
    .thread = NULL,
    .teardown = la_teardown,
    .drive = la_drive,
};
