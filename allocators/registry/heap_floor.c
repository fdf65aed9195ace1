/* The floor: an unsynchronized thread-local free list behind the same adapter interface (one
 * list per 16-byte class when a cell has many sizes). It is only correct when every object is
 * freed by the thread that allocated it, and it is the least any allocator can cost through
 * this interface: what is left is the harness's own cost.
 * Also the test-only overlap allocator, which the workloads must catch as corrupt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tb_alloc.h"

#define REGION ((size_t)8 << 20)

static __thread void *f_head;
static __thread char *f_bump, *f_end;

static void *f_bump_alloc(size_t stride)
{
    void *p;
    if (!f_bump || (size_t)(f_end - f_bump) < stride) {
        size_t len = stride > REGION ? stride : REGION;
        char *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED)
            return NULL;
        f_bump = r;
        f_end = r + len;
    }
    p = f_bump;
    f_bump += stride;
    return p;
}

static void *f_alloc(void *ctx)
{
    void *p = f_head;
    if (p) {
        f_head = *(void **)p;
        return p;
    }
    return f_bump_alloc((size_t)(uintptr_t)ctx);
}

/* Many sizes: class c holds objects of 16c bytes, so a size's class is one shift away (the
 * cheapest lookup there is; a set's costs more, and the difference is the set's). The lists
 * are made on a thread's first call; ctx is the number of classes. */
static __thread void **f_heads;

static inline void **f_heads_of(void *ctx)
{
    void **heads = f_heads;
    if (__builtin_expect(!heads, 0))
        heads = f_heads = calloc((size_t)(uintptr_t)ctx, sizeof *heads);
    return heads;
}

static void *f_alloc_sized(void *ctx, size_t size)
{
    size_t c = (size + 15) >> 4;
    void **heads = f_heads_of(ctx);
    if (!heads)
        return NULL;
    void *p = heads[c];
    if (p) {
        heads[c] = *(void **)p;
        return p;
    }
    return f_bump_alloc(c ? c << 4 : 16);
}

static void f_free_sized(void *ctx, void *obj, size_t size)
{
    size_t c = (size + 15) >> 4;
    void **heads = f_heads_of(ctx); /* a thread may free before it allocates (a handed object) */
    if (!heads)
        return; /* out of memory for the lists: the object is lost, never misplaced */
    *(void **)obj = heads[c];
    heads[c] = obj;
}

static void f_free(void *ctx, void *obj)
{
    (void)ctx;
    *(void **)obj = f_head;
    f_head = obj;
}

static void f_destroy(void *ctx) { (void)ctx; } /* the worker exits; its mappings go with it */

int tb_heap_open_floor(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                       size_t errlen)
{
    (void)a, (void)err, (void)errlen;
    if (sized) {
        *h = (tb_heap){.alloc_sized = f_alloc_sized, .free_sized = f_free_sized,
                       .ctx = (void *)(uintptr_t)((size + 15) / 16 + 1), .destroy = f_destroy};
        return 0;
    }
    size_t stride = ((size < sizeof(void *) ? sizeof(void *) : size) + 15) & ~(size_t)15;
    *h = (tb_heap){.alloc = f_alloc, .free = f_free, .ctx = (void *)(uintptr_t)stride, .destroy = f_destroy};
    return 0;
}

/* Overlap: a bump allocator with a stride of half the object size, never reusing. */
static _Atomic size_t o_next;
static char *o_base;
static size_t o_len, o_stride;

static void *o_alloc(void *ctx)
{
    (void)ctx;
    size_t off = o_next += o_stride;
    return off + o_stride * 2 < o_len ? o_base + off : NULL;
}

static void o_free(void *ctx, void *obj) { (void)ctx, (void)obj; }

static void *o_alloc_sized(void *ctx, size_t size)
{
    (void)ctx;
    size_t step = size / 2 ? size / 2 : 1;
    size_t off = o_next += step;
    return off + size < o_len ? o_base + off : NULL;
}

static void o_free_sized(void *ctx, void *obj, size_t size) { (void)ctx, (void)obj, (void)size; }

int tb_heap_open_overlap(const tb_allocator *a, size_t size, bool sized, tb_heap *h, char *err,
                         size_t errlen)
{
    (void)a;
    o_stride = size / 2 ? size / 2 : 1;
    o_len = (size_t)1 << 34; /* reserved, touched only as used */
    o_base = mmap(NULL, o_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (o_base == MAP_FAILED) {
        snprintf(err, errlen, "overlap: mmap failed");
        return -1;
    }
    *h = (tb_heap){.alloc = o_alloc, .free = o_free, .destroy = f_destroy};
    if (sized)
        *h = (tb_heap){.alloc_sized = o_alloc_sized, .free_sized = o_free_sized, .destroy = f_destroy};
    return 0;
}
