/* Pool adapter: a tmempool pool of the cell's object size. The same adapter serves this build's
 * library and another build's (--against, loaded with dlopen), so both are measured through
 * exactly the same calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tmempool.h"

typedef struct pool_api {
    void (*config_init)(tmp_config *, size_t, tmp_strategy);
    int (*create)(const tmp_config *, tmp_pool **);
    void (*destroy)(tmp_pool *);
    void *(*alloc)(tmp_pool *);
    void (*free)(tmp_pool *, void *);
    int (*stats)(const tmp_pool *, tmp_stats *);
    size_t (*trim)(tmp_pool *);
} pool_api;

typedef struct pool_ctx {
    pool_api api;
    tmp_pool *pool;
    void *dl;
} pool_ctx;

static void *pool_alloc(void *ctx)
{
    pool_ctx *c = ctx;
    return c->api.alloc(c->pool);
}

static void pool_free(void *ctx, void *obj)
{
    pool_ctx *c = ctx;
    c->api.free(c->pool, obj);
}

static int pool_stats(void *ctx, tb_heap_stats *out)
{
    pool_ctx *c = ctx;
    tmp_stats st;
    if (c->api.stats(c->pool, &st) != 0)
        return -1;
    *out = (tb_heap_stats){st.bytes_reserved, st.lock_waits, st.cache_hits, st.cache_misses,
                           st.remote_frees};
    return 0;
}

static size_t pool_trim(void *ctx)
{
    pool_ctx *c = ctx;
    return c->api.trim ? c->api.trim(c->pool) : 0;
}

static void pool_destroy(void *ctx)
{
    pool_ctx *c = ctx;
    c->api.destroy(c->pool);
    /* The dlopen'ed library stays loaded: thread-exit destructors may still point into it. */
    free(c);
}

static int load_api(const char *lib, pool_api *api, void **dl, char *err, size_t errlen)
{
    if (!lib) {
        *api = (pool_api){tmp_config_init, tmp_pool_create, tmp_pool_destroy, tmp_alloc,
                          tmp_free, tmp_pool_stats, tmp_pool_trim};
        return 0;
    }
    *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!*dl) {
        snprintf(err, errlen, "dlopen %s: %s", lib, dlerror());
        return -2;
    }
    /* A void * to function pointer conversion is what dlsym requires; POSIX guarantees it. */
#define SYM(field, name)                                                                        \
    do {                                                                                        \
        *(void **)&api->field = dlsym(*dl, name);                                               \
        if (!api->field && strcmp(name, "tmp_pool_trim") != 0) {                                \
            snprintf(err, errlen, "%s lacks %s", lib, name);                                    \
            return -2;                                                                          \
        }                                                                                       \
    } while (0)
    SYM(config_init, "tmp_config_init");
    SYM(create, "tmp_pool_create");
    SYM(destroy, "tmp_pool_destroy");
    SYM(alloc, "tmp_alloc");
    SYM(free, "tmp_free");
    SYM(stats, "tmp_pool_stats");
    SYM(trim, "tmp_pool_trim");
#undef SYM
    return 0;
}

int tb_heap_open_pool(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen)
{
    pool_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = load_api(a->pool_lib, &c->api, &c->dl, err, errlen);
    if (rc != 0) {
        free(c);
        return rc;
    }
    tmp_config cfg;
    c->api.config_init(&cfg, size, (tmp_strategy)a->strategy);
    int e = c->api.create(&cfg, &c->pool);
    if (e != 0) {
        snprintf(err, errlen, "tmp_pool_create(%zu bytes, %s): %s", size, a->name, strerror(e));
        free(c);
        return -1;
    }
    *h = (tb_heap){pool_alloc, pool_free, c, pool_stats, pool_destroy, pool_trim};
    return 0;
}

void tb_version_pool(const tb_allocator *a, char *buf, size_t len)
{
    if (!a->pool_lib) {
        snprintf(buf, len, "%s", tmp_version());
        return;
    }
    /* the other build's own word, where it is new enough to have tmp_version */
    const char *v = NULL;
    void *dl = dlopen(a->pool_lib, RTLD_NOW | RTLD_LOCAL);
    if (dl) {
        const char *(*fn)(void);
        *(void **)&fn = dlsym(dl, "tmp_version");
        v = fn ? fn() : NULL;
    }
    snprintf(buf, len, "%s (%s)", v ? v : "unknown", a->pool_lib);
    if (dl)
        dlclose(dl);
}
