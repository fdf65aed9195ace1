/* The registry table: one descriptor per allocator, carrying its role and its adapter's
 * functions. Adding an allocator is a line here, plus, for a new kind of allocator, an adapter
 * in its own file (heap_pool.c, heap_malloc.c, heap_floor.c) and its CMake line. */
#include "tb_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmempool.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

/* The adapter of each kind of allocator (heap_pool.c, heap_malloc.c). */
#define POOL .role = TB_ROLE_POOL, .open = tb_heap_open_pool, .version = tb_version_pool
#define MALLOC .role = TB_ROLE_BASELINE, .open = tb_heap_open_malloc

const tb_allocator tb_allocators[] = {
    {.name = "tmempool-global", .desc = "tmempool, one free store behind one lock", POOL,
     .strategy = TMP_GLOBAL_LOCK},
    {.name = "tmempool-striped", .desc = "tmempool, locked stripes with a home stripe per thread", POOL,
     .strategy = TMP_STRIPED},
    {.name = "tmempool-tcache", .desc = "tmempool, per-thread magazine in front of a shared depot", POOL,
     .strategy = TMP_THREAD_CACHE},
    {.name = "tmempool-numa", .desc = "tmempool, per-node arenas (hwloc) behind per-thread caches", POOL,
     .strategy = TMP_NUMA},
    {.name = "glibc", .desc = "glibc malloc/free (ptmalloc2), nothing preloaded", MALLOC,
     .version = tb_version_glibc, .probe = "gnu_get_libc_version"},
    {.name = "mimalloc", .desc = "mimalloc, preloaded (Debian libmimalloc-dev)", MALLOC,
     .libs = {LIBDIR "libmimalloc.so.2", LIBDIR "libmimalloc.so"}, .probe = "mi_version",
     .version = tb_version_mimalloc},
    {.name = "tcmalloc", .desc = "gperftools tcmalloc_minimal, preloaded (libgoogle-perftools-dev)", MALLOC,
     .libs = {LIBDIR "libtcmalloc_minimal.so.4", LIBDIR "libtcmalloc_minimal.so"}, .probe = "tc_version",
     .version = tb_version_tcmalloc},
    {.name = "jemalloc", .desc = "jemalloc, preloaded (libjemalloc-dev)", MALLOC,
     .libs = {LIBDIR "libjemalloc.so.2", LIBDIR "libjemalloc.so"}, .probe = "mallctl",
     .version = tb_version_jemalloc},
    {.name = "floor", .desc = "unsynchronized thread-local free list: the floor any allocator reaches through a call",
     .role = TB_ROLE_FLOOR, .open = tb_heap_open_floor, .same_thread_only = true},
    {.name = "test-overlap", .desc = "test only: hands out overlapping objects", .role = TB_ROLE_TEST,
     .open = tb_heap_open_overlap, .hidden = true},
    {.name = NULL},
};

/* Runtime additions: user libraries and --against builds. Few, so a fixed table. */
enum { MAX_EXTRA = 32 };
static tb_allocator extra[MAX_EXTRA];
static size_t n_extra;

const tb_allocator *tb_alloc_find(const char *name)
{
    for (const tb_allocator *a = tb_allocators; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    for (size_t i = 0; i < n_extra; i++)
        if (strcmp(extra[i].name, name) == 0)
            return &extra[i];
    return NULL;
}

size_t tb_alloc_extra(const tb_allocator **out, size_t max)
{
    size_t n = 0;
    for (; n < n_extra && n < max; n++)
        out[n] = &extra[n];
    return n;
}

int tb_alloc_add_user(const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        snprintf(err, errlen, "'%s': a user allocator is NAME=/path/to/lib.so", spec);
        return -1;
    }
    if (n_extra == MAX_EXTRA) {
        snprintf(err, errlen, "too many user allocators (at most %d)", MAX_EXTRA);
        return -1;
    }
    char *name = strndup(spec, (size_t)(eq - spec));
    /* The name goes into CSV fields, chart legends and file names; the path into LD_PRELOAD,
     * which splits at spaces and colons. */
    if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-") != strlen(name) ||
        strlen(name) > 64 || strcmp(name, "all") == 0) {
        snprintf(err, errlen, "'%s': a user allocator's name is up to 64 letters, digits and . _ + - "
                              "(and not 'all'), e.g. mine=/path/to/libmine.so", name);
        free(name);
        return -1;
    }
    if (strpbrk(eq + 1, " \t\n,:")) {
        snprintf(err, errlen, "'%s': the library path may not hold spaces, commas or colons (LD_PRELOAD "
                              "splits at them): link or copy the library to a plain path", eq + 1);
        free(name);
        return -1;
    }
    if (tb_alloc_find(name)) {
        snprintf(err, errlen, "'%s' is already an allocator name; pick another for %s", name, eq + 1);
        free(name);
        return -1;
    }
    if (eq[1] != '/') {
        snprintf(err, errlen, "'%s': the library path must be absolute", eq + 1);
        free(name);
        return -1;
    }
    tb_allocator *a = &extra[n_extra++];
    *a = (tb_allocator){.name = name, .desc = strdup(eq + 1), MALLOC};
    a->libs[0] = a->desc;
    return 0;
}

int tb_alloc_add_against(const char *lib, const char *tag, char *err, size_t errlen)
{
    if (access(lib, R_OK) != 0) {
        snprintf(err, errlen, "--against: no readable libtmempool at %s", lib);
        return -1;
    }
    for (const tb_allocator *a = tb_allocators; a->name; a++) {
        if (a->role != TB_ROLE_POOL)
            continue;
        if (n_extra == MAX_EXTRA) {
            snprintf(err, errlen, "too many extra allocators");
            return -1;
        }
        char name[128];
        snprintf(name, sizeof name, "%s@%s", a->name, tag);
        tb_allocator *x = &extra[n_extra++];
        *x = *a;
        x->name = strdup(name);
        x->desc = strdup(lib);
        x->pool_lib = x->desc;
    }
    return 0;
}

const char *tb_alloc_library(const tb_allocator *a)
{
    if (a->role != TB_ROLE_BASELINE)
        return NULL;
    for (int i = 0; i < 4 && a->libs[i]; i++)
        if (access(a->libs[i], R_OK) == 0)
            return a->libs[i];
    return NULL;
}

bool tb_alloc_available(const tb_allocator *a, char *why, size_t whylen)
{
    if (a->role == TB_ROLE_BASELINE && a->libs[0] && !tb_alloc_library(a)) {
        snprintf(why, whylen, "%s not found (install its Debian package: scripts/deps.sh lists them)", a->libs[0]);
        return false;
    }
    if (a->pool_lib && access(a->pool_lib, R_OK) != 0) {
        snprintf(why, whylen, "%s not readable", a->pool_lib);
        return false;
    }
    if (whylen)
        why[0] = '\0';
    return true;
}
