/* TMP_F_DEBUG death tests: each misuse, for every strategy, in a forked child that must die by
 * SIGABRT after printing one line that names the pool, the address and the fault. Also checks
 * the poison byte of freed objects (not under ASan, where reading a freed object is the error). */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

typedef void (*misuse_fn)(tmp_pool *p, tmp_pool *other, char *addr_out, size_t len);

static void double_free(tmp_pool *p, tmp_pool *other, char *addr, size_t len)
{
    (void)other;
    void *o = tmp_alloc(p);
    snprintf(addr, len, "%p", o);
    tmp_free(p, o);
    tmp_free(p, o);
}

static void foreign_pointer(tmp_pool *p, tmp_pool *other, char *addr, size_t len)
{
    void *o = tmp_alloc(other); /* another pool's object */
    snprintf(addr, len, "%p", o);
    tmp_free(p, o);
}

static void stack_pointer(tmp_pool *p, tmp_pool *other, char *addr, size_t len)
{
    (void)other;
    static char not_ours[64];
    snprintf(addr, len, "%p", (void *)not_ours);
    tmp_free(p, not_ours);
}

static void interior_pointer(tmp_pool *p, tmp_pool *other, char *addr, size_t len)
{
    (void)other;
    char *o = tmp_alloc(p);
    snprintf(addr, len, "%p", (void *)(o + 8));
    tmp_free(p, o + 8);
}

static void never_handed_out(tmp_pool *p, tmp_pool *other, char *addr, size_t len)
{
    (void)other;
    char *o = tmp_alloc(p);
    /* The object after the last one carved: inside a chunk, never given to anyone. */
    char *next = o + 64 * 64; /* stride is 64 below; 64 objects further on */
    snprintf(addr, len, "%p", (void *)next);
    tmp_free(p, next);
}

static const struct {
    const char *name;
    misuse_fn fn;
    const char *expect;
} cases[] = {
    {"double free", double_free, "double free"},
    {"free of another pool's object", foreign_pointer, "never handed out"},
    {"free of a static buffer", stack_pointer, "never handed out"},
    {"free of an interior pointer", interior_pointer, "not the start of an object"},
    {"free of an object never carved", never_handed_out, "never handed out"},
};

typedef struct misuse_arg {
    tmp_strategy s;
    unsigned c;
} misuse_arg;

static void misuse_child(void *arg)
{
    const misuse_arg *m = arg;
    char addr[64] = {0};
    tmp_pool *p = make_pool(m->s, 64, 64, 0, TMP_F_DEBUG);
    tmp_pool *other = make_pool(m->s, 64, 64, 0, TMP_F_DEBUG);
    cases[m->c].fn(p, other, addr, sizeof addr);
    /* returning means the pool did not catch it: run_in_child exits 0 */
}

static void death_test(tmp_strategy s, unsigned c)
{
    char out[2048];
    misuse_arg arg = {s, c};
    int status = run_in_child(misuse_child, &arg, out, sizeof out);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)) {
        fprintf(stderr, "%s/%s: child did not abort (status %d), stderr: %s\n",
                tmp_strategy_name(s), cases[c].name, status, out);
        abort();
    }
    if (!strstr(out, cases[c].expect) || !strstr(out, "tmempool: pool 0x") ||
        !strstr(out, tmp_strategy_name(s))) {
        fprintf(stderr, "%s/%s: message lacks '%s' or the pool: %s\n", tmp_strategy_name(s),
                cases[c].name, cases[c].expect, out);
        abort();
    }
    /* Exactly one line. */
    char *nl = strchr(out, '\n');
    CHECK(nl && nl[1] == '\0');
}

static void test_poison(tmp_strategy s)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)s;
    test_skip("under ASan, reading a freed object is the error ASan reports");
#else
    tmp_pool *p = make_pool(s, 40, 0, 0, TMP_F_DEBUG);
    unsigned char *o = tmp_alloc(p);
    memset(o, 0x11, 40);
    tmp_free(p, o);
    for (int i = 0; i < 40; i++)
        CHECK_EQ(o[i], 0xDB); /* the pool still owns the memory: reading it is legal here */
    tmp_pool_destroy(p);
#endif
}

/* A correct program runs unchanged with debug on: no false alarms across threads' caches. */
static void test_debug_clean(tmp_strategy s)
{
    tmp_pool *p = make_pool(s, 24, 0, 0, TMP_F_DEBUG);
    void *v[3000];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3000; i++)
            CHECK((v[i] = tmp_alloc(p)) != NULL);
        for (int i = 2999; i >= 0; i--)
            tmp_free(p, v[i]);
    }
    tmp_pool_destroy(p);
}

static void test_misuse_dies(tmp_strategy s)
{
    for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++)
        death_test(s, c);
}

static const test_entry tests[] = {
    TEST_EACH(misuse_dies)
    TEST_EACH(poison)
    TEST_EACH(debug_clean)
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) { return test_main(argc, argv, tests); }
