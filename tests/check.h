/* Tiny test helpers: CHECK never compiles out, reports file:line and the failed expression,
 * and fails the whole test binary. Test bodies loop over every strategy through the library's
 * own names, so a new strategy is tested without touching the tests. */
#ifndef TMP_TEST_CHECK_H
#define TMP_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

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

/* Sanitizer builds run the stress tests smaller: same code paths, less wall time. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SCALE 4
#else
#define TEST_SCALE 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#undef TEST_SCALE
#define TEST_SCALE 4
#endif
#endif

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

#endif
