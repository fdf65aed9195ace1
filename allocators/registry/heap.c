/* Opens a heap for a descriptor by its kind. */
#include <stdio.h>

#include "tb_alloc.h"
#include "tb_heap_kinds.h"

static const struct {
    int (*open)(const tb_allocator *, size_t, tb_heap *, char *, size_t);
    void (*version)(const tb_allocator *, char *, size_t);
} kinds[] = {
    [TB_KIND_POOL] = {tb_heap_open_pool, tb_version_pool},
    [TB_KIND_MALLOC] = {tb_heap_open_malloc, tb_version_malloc},
    [TB_KIND_FLOOR] = {tb_heap_open_floor, NULL},
    [TB_KIND_TEST] = {tb_heap_open_overlap, NULL},
};

int tb_heap_open(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen)
{
    return kinds[a->kind].open(a, size, h, err, errlen);
}

void tb_alloc_version(const tb_allocator *a, char *buf, size_t len)
{
    if (kinds[a->kind].version)
        kinds[a->kind].version(a, buf, len);
    else
        snprintf(buf, len, "%s", "");
}
