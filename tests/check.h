/* Tiny test helpers: CHECK never compiles out, reports file:line and the failed expression,
 * and fails the whole test binary. Each test file ends in a list of its bodies (TEST_EACH: run
 * once per strategy, TEST_ONCE: run once), which CMake reads to register one ctest per body and
 * strategy (libuv's test-list.h); test_main runs one of them, or all with no arguments. */
#ifndef TMP_TEST_CHECK_H
#define TMP_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmempool.h"

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
            fflush(stderr);                                                                     \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#define CHECK_EQ(a, b)                                                                          \
    do {                                                                                        \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                   \
        if (va_ != vb_) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__,       \
                    __LINE__, #a, va_, #b, vb_);                                                \
            fflush(stderr);                                                                     \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#define FOR_EACH_STRATEGY(s) for (tmp_strategy s = 0; s < TMP_STRATEGY_COUNT; s = (tmp_strategy)(s + 1))

/* 1 in an ASan or TSan build (GCC's macros, clang's __has_feature). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SANITIZED 1
#endif
#endif
#ifndef TEST_SANITIZED
#define TEST_SANITIZED 0
#endif

/* Sanitizer builds run the stress tests smaller: same code paths, less wall time. */
#define TEST_SCALE (TEST_SANITIZED ? 4 : 1)

static inline tmp_pool *make_pool(tmp_strategy s, size_t size, size_t align, size_t max, unsigned flags)
{
    tmp_config cfg;
    tmp_config_init(&cfg, size, s);
    cfg.alignment = align;
    cfg.max_objects = max;
    cfg.flags = flags;
    tmp_pool *p = NULL;
    int err = tmp_pool_create(&cfg, &p);
    if (err != 0) {
        fprintf(stderr, "tmp_pool_create(%s, size %zu, align %zu) failed: %d\n", tmp_strategy_name(s),
                size, align, err);
        abort();
    }
    return p;
}

/* Fills obj with a pattern derived from a tag; pattern_ok checks it. */
static inline void pattern_fill(void *obj, size_t n, unsigned tag)
{
    unsigned char *b = obj;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(tag * 31u + i * 7u + 1u);
}

static inline int pattern_ok(const void *obj, size_t n, unsigned tag)
{
    const unsigned char *b = obj;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(tag * 31u + i * 7u + 1u))
            return 0;
    return 1;
}

typedef struct test_entry {
    const char *name;
    void (*each)(tmp_strategy s); /* TEST_EACH: once per strategy */
    void (*once)(void);           /* TEST_ONCE */
} test_entry;
#define TEST_EACH(fn) {#fn, test_##fn, NULL},
#define TEST_ONCE(fn) {#fn, NULL, test_##fn},

/* Runs fn(arg) in a forked child with its stderr captured into out (NUL-terminated); returns the
 * child's wait status. For death tests and for checks that must not touch this process's state. */
static inline int run_in_child(void (*fn)(void *), void *arg, char *out, size_t len)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got < len - 1 && (r = read(fds[0], out + got, len - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

/* Exit code of a body that cannot run here (ctest's SKIP_RETURN_CODE): never a pass. */
#define TEST_SKIPPED 77
static inline void test_skip(const char *why)
{
    fprintf(stderr, "skipped: %s\n", why);
    exit(TEST_SKIPPED);
}

/* BINARY: every body (for every strategy); BINARY NAME [STRATEGY]: one; BINARY --list. */
static inline int test_main(int argc, char **argv, const test_entry *list)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (const test_entry *t = list; t->name; t++)
            printf("%s%s\n", t->name, t->each ? " (each strategy)" : "");
        return 0;
    }
    const char *only = argc > 1 ? argv[1] : NULL, *strategy = argc > 2 ? argv[2] : NULL;
    tmp_strategy want = TMP_GLOBAL_LOCK;
    if (strategy && tmp_strategy_parse(strategy, &want) != 0) {
        fprintf(stderr, "%s: unknown strategy '%s'\n", argv[0], strategy);
        return 2;
    }
    int ran = 0;
    for (const test_entry *t = list; t->name; t++) {
        if (only && strcmp(only, t->name) != 0)
            continue;
        if (t->once) {
            t->once();
            ran++;
            continue;
        }
        FOR_EACH_STRATEGY(s)
        {
            if (strategy && s != want)
                continue;
            fprintf(stderr, "%s %s\n", t->name, tmp_strategy_name(s));
            t->each(s);
            ran++;
        }
    }
    if (ran == 0) {
        fprintf(stderr, "%s: no test '%s' (see --list)\n", argv[0], only ? only : "");
        return 2;
    }
    fprintf(stderr, "%s: %d passed\n", argv[0], ran);
    return 0;
}

#endif
