/* Adapters, one per allocator kind; tb_heap_open (heap.c) picks by descriptor. Registry-private. */
#ifndef TB_HEAP_KINDS_H
#define TB_HEAP_KINDS_H
#include "tb_alloc.h"
int tb_heap_open_pool(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen);
int tb_heap_open_malloc(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen);
int tb_heap_open_floor(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen);
int tb_heap_open_overlap(const tb_allocator *a, size_t size, tb_heap *h, char *err, size_t errlen);
void tb_version_pool(const tb_allocator *a, char *buf, size_t len);
void tb_version_malloc(const tb_allocator *a, char *buf, size_t len);
#endif
