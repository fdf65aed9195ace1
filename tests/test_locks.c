/* The lock order of internal.h, checked: in a TMP__CHECKS build, taking locks against the order,
 * releasing out of nesting, taking one twice, and a "lock held" precondition that does not hold
 * each abort with one message; the orders the library uses pass. Release builds have no checks
 * to test, so the bodies report themselves skipped there. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../allocators/src/internal.h"
#include "check.h"

#ifdef TMP__CHECKS
static void call(void *fn) { ((void (*)(void))fn)(); }

/* Runs fn in a child; true when it died by SIGABRT with the internal-check message. */
static bool dies(void (*fn)(void))
{
    char out[1024];
    int st = run_in_child(call, (void *)fn, out, sizeof out);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(out, "internal check failed");
}

static tmp__lock reg, arena0, arena1, meta;
static void make(void)
{
    tmp__lock_init(&reg, TMP__RANK_REGISTRY);
    tmp__lock_init(&arena0, TMP__RANK_ARENA + 0);
    tmp__lock_init(&arena1, TMP__RANK_ARENA + 1);
    tmp__lock_init(&meta, TMP__RANK_META);
}

static void meta_then_arena(void)
{
    tmp__lock_acquire(&meta);
    tmp__lock_acquire(&arena0);
}
static void arena_then_registry(void)
{
    tmp__lock_acquire(&arena0);
    tmp__lock_acquire(&reg);
}
static void arenas_descending(void)
{
    tmp__lock_acquire(&arena1);
    tmp__lock_acquire(&arena0);
}
static void release_out_of_nesting(void)
{
    tmp__lock_acquire(&arena0);
    tmp__lock_acquire(&meta);
    tmp__lock_release(&arena0);
}
static void release_not_held(void) { tmp__lock_release(&arena0); }
static void twice(void)
{
    tmp__lock_acquire(&arena0);
    tmp__lock_acquire(&arena0);
}
static void held_precondition(void) { TMP__ASSERT_HELD(&arena0); }
#endif

static void test_order_violations_abort(void)
{
#ifdef TMP__CHECKS
    make();
    CHECK(dies(meta_then_arena));
    CHECK(dies(arena_then_registry));
    CHECK(dies(arenas_descending));
    CHECK(dies(release_out_of_nesting));
    CHECK(dies(release_not_held));
    CHECK(dies(twice));
    CHECK(dies(held_precondition));
#else
    test_skip("a release build has no lock checks (CMake TMP_CHECKS=OFF)");
#endif
}

static void test_documented_order_passes(void)
{
#ifdef TMP__CHECKS
    make();
    tmp__lock_acquire(&reg);
    tmp__lock_acquire(&arena0);
    tmp__lock_acquire(&arena1);
    tmp__lock_acquire(&meta);
    CHECK(tmp__lock_held(&arena0) && tmp__lock_held(&meta));
    tmp__lock_release(&meta);
    tmp__lock_release(&arena1);
    tmp__lock_release(&arena0);
    tmp__lock_release(&reg);
    CHECK(!tmp__lock_held(&arena0));
    /* a trim pass and a stats call through every strategy, with the checks live */
    FOR_EACH_STRATEGY(s)
    {
        tmp_pool *p = make_pool(s, 64, 0, 0, 0);
        void *v[2000];
        for (int i = 0; i < 2000; i++)
            CHECK((v[i] = tmp_alloc(p)) != NULL);
        for (int i = 0; i < 2000; i++)
            tmp_free(p, v[i]);
        tmp_stats st;
        CHECK_EQ(tmp_pool_stats(p, &st), 0);
        tmp_pool_trim(p);
        tmp_pool_destroy(p);
    }
#else
    test_skip("a release build has no lock checks (CMake TMP_CHECKS=OFF)");
#endif
}

static const test_entry tests[] = {
    TEST_ONCE(order_violations_abort)
    TEST_ONCE(documented_order_passes)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
