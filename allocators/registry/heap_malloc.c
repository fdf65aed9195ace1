/* malloc adapter, for glibc and every preloaded replacement. Before a cell runs, the worker
 * proves which library serves malloc: the probe symbol must resolve, and malloc itself must come
 * from the preloaded library (for glibc: from libc). A run never measures glibc under another
 * allocator's name. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gnu/libc-version.h>
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
static void m_destroy(void *ctx) { (void)ctx; }

static const char *malloc_home(void)
{
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    if (!m || !dladdr(m, &info) || !info.dli_fname)
        return "";
    return info.dli_fname;
}

int tb_heap_open_malloc(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen)
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
    } else if (!strstr(home, "libc.so")) {
        snprintf(err, errlen, "glibc: malloc resolves into %s, not libc (LD_PRELOAD=%s)", home,
                 preload ? preload : "");
        return -2;
    }
    *h = (tb_heap){m_alloc, m_free, (void *)(uintptr_t)size, NULL, m_destroy, NULL};
    return 0;
}

void tb_version_malloc(const tb_allocator *a, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!a->libs[0]) {
        snprintf(buf, len, "%s", gnu_get_libc_version());
        return;
    }
    if (!a->probe)
        return;
    void *sym = dlsym(RTLD_DEFAULT, a->probe);
    if (!sym)
        return;
    if (strcmp(a->probe, "mi_version") == 0) {
        int (*mi_version)(void);
        *(void **)&mi_version = sym;
        int v = mi_version(); /* 212 means 2.1.2 */
        snprintf(buf, len, "%d.%d.%d", v / 100, (v / 10) % 10, v % 10);
    } else if (strcmp(a->probe, "tc_version") == 0) {
        const char *(*tc_version)(int *, int *, const char **);
        *(void **)&tc_version = sym;
        int major, minor;
        const char *patch;
        const char *s = tc_version(&major, &minor, &patch);
        snprintf(buf, len, "%s", s ? s : "");
        /* "gperftools 2.10": keep the number only */
        char *sp = strrchr(buf, ' ');
        if (sp)
            memmove(buf, sp + 1, strlen(sp + 1) + 1);
    } else if (strcmp(a->probe, "mallctl") == 0) {
        int (*mallctl)(const char *, void *, size_t *, void *, size_t);
        *(void **)&mallctl = sym;
        const char *v = NULL;
        size_t sz = sizeof v;
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v) {
            snprintf(buf, len, "%s", v);
            char *dash = strchr(buf, '-');
            if (dash)
                *dash = '\0';
        }
    }
}
