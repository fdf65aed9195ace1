/* The floor: an unsynchronized thread-local free list behind the same adapter interface. It is
 * only correct when every object is freed by the thread that allocated it, and it is the least
 * any allocator can cost through this interface: what is left is the harness's own cost.
 * Also the test-only overlap allocator, which the workloads must catch as corrupt. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "tb_alloc.h"

#define REGION ((size_t)8 << 20)

static __thread void *f_head;
static __thread char *f_bump, *f_end;

static void *f_alloc(void *ctx)
{
    void *p = f_head;
    if (p) {
        f_head = *(void **)p;
        return p;
    }
    size_t stride = (size_t)(uintptr_t)ctx;
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

static void f_free(void *ctx, void *obj)
{
    (void)ctx;
    *(void **)obj = f_head;
    f_head = obj;
}

static void f_destroy(void *ctx) { (void)ctx; } /* the worker exits; its mappings go with it */

int tb_heap_open_floor(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen)
{
    (void)a, (void)err, (void)errlen;
    size_t stride = ((size < sizeof(void *) ? sizeof(void *) : size) + 15) & ~(size_t)15;
    *h = (tb_heap){f_alloc, f_free, (void *)(uintptr_t)stride, NULL, f_destroy, NULL};
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

int tb_heap_open_overlap(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen)
{
    (void)a;
    o_stride = size / 2 ? size / 2 : 1;
    o_len = (size_t)1 << 34; /* reserved, touched only as used */
    o_base = mmap(NULL, o_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (o_base == MAP_FAILED) {
        snprintf(err, errlen, "overlap: mmap failed");
        return -1;
    }
    *h = (tb_heap){o_alloc, o_free, NULL, NULL, f_destroy, NULL};
    return 0;
}
