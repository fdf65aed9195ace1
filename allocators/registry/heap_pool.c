/* Pool adapter: a tmempool pool of the cell's object size, or a tmp_set of the same strategy
 * when the cell has many sizes. The same adapter serves this build's library and another
 * build's (--against, loaded with dlopen), so both are measured through exactly the same
 * calls. */
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
    /* the set: NULL in a build older than tmp_set (its sized cells are then unavailable) */
    void (*set_config_init)(tmp_set_config *, tmp_strategy);
    int (*set_create)(const tmp_set_config *, tmp_set **);
    void (*set_destroy)(tmp_set *);
    void *(*set_alloc)(tmp_set *, size_t);
    void (*set_free)(tmp_set *, void *);
    int (*set_stats)(const tmp_set *, tmp_stats *);
} pool_api;

typedef struct pool_ctx {
    pool_api api;
    tmp_pool *pool;
    tmp_set *set;
    void *dl;
} pool_ctx;

static void *set_alloc(void *ctx, size_t size)
{
    pool_ctx *c = ctx;
    return c->api.set_alloc(c->set, size);
}

static void set_free(void *ctx, void *obj, size_t size)
{
    (void)size; /* the set finds the class from the address */
    pool_ctx *c = ctx;
    c->api.set_free(c->set, obj);
}

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
    if ((c->set ? c->api.set_stats(c->set, &st) : c->api.stats(c->pool, &st)) != 0)
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
    if (c->set)
        c->api.set_destroy(c->set);
    else
        c->api.destroy(c->pool);
    /* The dlopen'ed library stays loaded: thread-exit destructors may still point into it. */
    free(c);
}

static int load_api(const char *lib, pool_api *api, void **dl, char *err, size_t errlen)
{
    if (!lib) {
        *api = (pool_api){tmp_config_init, tmp_pool_create, tmp_pool_destroy, tmp_alloc,
                          tmp_free, tmp_pool_stats, tmp_pool_trim, tmp_set_config_init,
                          tmp_set_create, tmp_set_destroy, tmp_set_alloc, tmp_set_free,
                          tmp_set_stats};
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
        if (!api->field && strcmp(name, "tmp_pool_trim") != 0 && strncmp(name, "tmp_set", 7)) { \
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
    SYM(set_config_init, "tmp_set_config_init");
    SYM(set_create, "tmp_set_create");
    SYM(set_destroy, "tmp_set_destroy");
    SYM(set_alloc, "tmp_set_alloc");
    SYM(set_free, "tmp_set_free");
    SYM(set_stats, "tmp_set_stats");
#undef SYM
    return 0;
}

static int open_set(const tb_allocator *a, size_t size, pool_ctx *c, tb_heap *h, char *err, size_t errlen)
{
    pool_api *p = &c->api;
    if (!p->set_config_init || !p->set_create || !p->set_destroy || !p->set_alloc || !p->set_free ||
        !p->set_stats) {
        snprintf(err, errlen, "%s: %s has no tmp_set, so it cannot serve a cell of many sizes", a->name,
                 a->pool_lib ? a->pool_lib : "this library");
        return -2;
    }
    tmp_set_config cfg;
    p->set_config_init(&cfg, (tmp_strategy)a->strategy);
    int e = p->set_create(&cfg, &c->set);
    if (e != 0) {
        snprintf(err, errlen, "tmp_set_create(%s, sizes up to %zu): %s", a->name, size, strerror(e));
        return -1;
    }
    *h = (tb_heap){.alloc_sized = set_alloc, .free_sized = set_free, .ctx = c, .stats = pool_stats,
                   .destroy = pool_destroy}; /* a set has no trim of its own */
    return 0;
}

int tb_heap_open_pool(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                      size_t errlen)
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
    if (sized) {
        if ((rc = open_set(a, size, c, h, err, errlen)) != 0)
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
    *h = (tb_heap){.alloc = pool_alloc, .free = pool_free, .ctx = c, .stats = pool_stats,
                   .destroy = pool_destroy, .trim = pool_trim};
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
