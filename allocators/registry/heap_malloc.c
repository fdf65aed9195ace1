/* malloc adapter, for glibc and every preloaded replacement. Before a cell runs, the worker
 * proves which library serves malloc: the probe symbol must resolve, and malloc itself must come
 * from the preloaded library (for glibc: from libc). A run never measures glibc under another
 * allocator's name. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"

static void *m_alloc(void *ctx) { return malloc((size_t)(uintptr_t)ctx); }
static void m_free(void *ctx, void *obj)
{
    (void)ctx;
    free(obj);
}
static void *m_alloc_sized(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}
static void m_free_sized(void *ctx, void *obj, size_t size)
{
    (void)ctx, (void)size;
    free(obj);
}
static void m_destroy(void *ctx) { (void)ctx; }

static const char *symbol_home(const char *name)
{
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, name);
    if (!m || !dladdr(m, &info) || !info.dli_fname)
        return "";
    return info.dli_fname;
}

static const char *malloc_home(void) { return symbol_home("malloc"); }

/* A replacement must serve the whole family: a library that defines malloc but leaves calloc
 * or realloc to glibc mixes two heaps in one cell. NULL when all four left libc, else the one
 * that did not. */
static const char *family_in_libc(void)
{
    static const char *const family[] = {"malloc", "free", "calloc", "realloc"};
    for (size_t i = 0; i < sizeof family / sizeof *family; i++)
        if (strstr(symbol_home(family[i]), "libc.so"))
            return family[i];
    return NULL;
}

/* Whether the preloaded malloc hands out glibc's memory: a library that forwards to
 * __libc_malloc is glibc under another name. Asks libc's own mallinfo2 (not an interposed
 * one) how much its heap holds before and after 256 KiB of small allocations. */
static bool forwards_to_glibc(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    struct mallinfo2 (*libc_mallinfo2)(void) = NULL;
    if (libc)
        *(void **)&libc_mallinfo2 = dlsym(libc, "mallinfo2");
    if (!libc_mallinfo2)
        return false; /* cannot tell: the symbol checks above still hold */
    enum { N = 256 };
    void *volatile v[N]; /* volatile: the compiler may not pair the mallocs with the frees away */
    size_t before = libc_mallinfo2().uordblks;
    for (int i = 0; i < N; i++)
        v[i] = malloc(1024);
    size_t after = libc_mallinfo2().uordblks;
    for (int i = 0; i < N; i++)
        free(v[i]);
    dlclose(libc);
    return after > before && after - before >= N * 1024 / 2;
}

int tb_heap_open_malloc(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                        size_t errlen)
{
    const char *home = malloc_home();
    const char *preload = getenv("LD_PRELOAD");
    if (a->libs[0]) {
        const char *lib = tb_alloc_library(a);
        if (!lib) {
            snprintf(err, errlen, "%s: library not found (%s)", a->name, a->libs[0]);
            return -2;
        }
        if (!preload || !strstr(preload, lib)) {
            snprintf(err, errlen, "%s: %s is not preloaded into the worker", a->name, lib);
            return -2;
        }
        if (a->probe && !dlsym(RTLD_DEFAULT, a->probe)) {
            snprintf(err, errlen, "%s: probe symbol %s not found: the preload did not take", a->name,
                     a->probe);
            return -2;
        }
        if (strstr(home, "libc.so")) {
            snprintf(err, errlen, "%s: malloc still resolves into %s", a->name, home);
            return -2;
        }
        const char *left = family_in_libc();
        if (left) {
            snprintf(err, errlen, "%s: %s still resolves into libc: a replacement must provide malloc, free, "
                                  "calloc and realloc", a->name, left);
            return -2;
        }
        if (forwards_to_glibc()) {
            snprintf(err, errlen, "%s: its malloc hands out glibc's heap (it forwards to glibc): not an "
                                  "allocator of its own", a->name);
            return -2;
        }
    } else if (!strstr(home, "libc.so")) {
        snprintf(err, errlen, "glibc: malloc resolves into %s, not libc (LD_PRELOAD=%s)", home,
                 preload ? preload : "");
        return -2;
    }
    if (sized)
        *h = (tb_heap){.alloc_sized = m_alloc_sized, .free_sized = m_free_sized, .destroy = m_destroy};
    else
        *h = (tb_heap){.alloc = m_alloc, .free = m_free, .ctx = (void *)(uintptr_t)size, .destroy = m_destroy};
    return 0;
}

/* Each baseline's version, as it reports itself inside the worker (after the preload took). */
void tb_version_glibc(const tb_allocator *a, char *buf, size_t len)
{
    (void)a;
    snprintf(buf, len, "%s", gnu_get_libc_version());
}

void tb_version_mimalloc(const tb_allocator *a, char *buf, size_t len)
{
    int (*mi_version)(void);
    *(void **)&mi_version = dlsym(RTLD_DEFAULT, a->probe);
    buf[0] = '\0';
    if (mi_version) {
        int v = mi_version(); /* 212 means 2.1.2 */
        snprintf(buf, len, "%d.%d.%d", v / 100, (v / 10) % 10, v % 10);
    }
}

void tb_version_tcmalloc(const tb_allocator *a, char *buf, size_t len)
{
    const char *(*tc_version)(int *, int *, const char **);
    *(void **)&tc_version = dlsym(RTLD_DEFAULT, a->probe);
    buf[0] = '\0';
    if (!tc_version)
        return;
    int major, minor;
    const char *patch;
    const char *s = tc_version(&major, &minor, &patch);
    snprintf(buf, len, "%s", s ? s : "");
    char *sp = strrchr(buf, ' '); /* "gperftools 2.10": keep the number only */
    if (sp)
        memmove(buf, sp + 1, strlen(sp + 1) + 1);
}

void tb_version_jemalloc(const tb_allocator *a, char *buf, size_t len)
{
    int (*mallctl)(const char *, void *, size_t *, void *, size_t);
    *(void **)&mallctl = dlsym(RTLD_DEFAULT, a->probe);
    buf[0] = '\0';
    const char *v = NULL;
    size_t sz = sizeof v;
    if (mallctl && mallctl("version", &v, &sz, NULL, 0) == 0 && v) {
        snprintf(buf, len, "%s", v);
        char *dash = strchr(buf, '-');
        if (dash)
            *dash = '\0';
    }
}
