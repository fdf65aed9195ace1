/* OS memory: aligned mappings, and the reservoir that hands out small aligned ones without a
 * system call each. */
#include "internal.h"

#include <stdatomic.h>
#include <sys/mman.h>

/* Where the next aligned mapping is asked for: just below the last one. Linux places mappings
 * top-down and grants a free hint, so a run of aligned mappings comes back aligned at the first
 * try: one mmap instead of an over-sized mmap and two trims (a sqlite3 trace replayed on tcache
 * made 147 mappings and 221 unmaps, two thirds of those trims). A stale or raced hint only costs
 * the fallback. */
static _Atomic uintptr_t next_hint;

static void *map_hinted(size_t size, size_t align)
{
    uintptr_t hint = atomic_load_explicit(&next_hint, memory_order_relaxed);
    if (!hint || hint % align != 0)
        return NULL;
    char *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if ((uintptr_t)p % align != 0) {
        munmap(p, size);
        return NULL;
    }
    return p;
}

static void note_hint(void *base, size_t size)
{
    if ((uintptr_t)base > size)
        atomic_store_explicit(&next_hint, (uintptr_t)base - size, memory_order_relaxed);
}

static void *map_aligned(size_t size, size_t align)
{
    if (align <= 4096) {
        char *raw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return raw == MAP_FAILED ? NULL : raw;
    }
    void *hinted = map_hinted(size, align);
    if (hinted) {
        note_hint(hinted, size);
        return hinted;
    }
    /* Over-map by the alignment and trim both ends: mmap only promises page alignment. */
    size_t span = size + align;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t base = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = base - (uintptr_t)raw;
    if (head)
        munmap(raw, head);
    size_t tail = span - head - size;
    if (tail)
        munmap((char *)base + size, tail);
    note_hint((void *)base, size);
    return (void *)base;
}

/* The reservoir: one mapping of RES_REGION, 64 KiB-aligned, carved from the top into runs of
 * whole 64 KiB slots for the requests tmp__os_map says it serves (every pool's 64 KiB chunks and
 * metadata blocks, a set's large objects up to 256 KiB). A run is unmapped on its own when its
 * owner is done with it, as a mapping of its own was: nothing comes back to the reservoir, so it
 * keeps no free list and hands out only address space never touched. A replayed cc1 trace made
 * 140 mmaps and 107 munmaps in its 6 ms timed region, one mmap a chunk or metadata block and
 * three calls for most large objects; mimalloc's segments and tcmalloc's page heap likewise take
 * memory from the OS in large steps. The next region is asked for just below this one (the
 * hint), so what is left of this one usually joins it rather than being unmapped. */
#define RES_SLOT ((size_t)64 << 10)
#define RES_RUN_MAX (4 * RES_SLOT)
#define RES_REGION ((size_t)1 << 20)

static tmp__lock res_lock = TMP__LOCK_INITIALIZER(TMP__RANK_OS);
static char *res_lo, *res_hi; /* what is left: [res_lo, res_hi), under res_lock */

static void *res_take(size_t size)
{
    void *p = NULL;
    tmp__lock_acquire(&res_lock);
    if ((size_t)(res_hi - res_lo) < size) {
        char *r = map_aligned(RES_REGION, RES_SLOT);
        if (r && r + RES_REGION == res_lo) {
            res_lo = r;
        } else if (r) {
            if (res_hi != res_lo)
                munmap(res_lo, (size_t)(res_hi - res_lo));
            res_lo = r;
            res_hi = r + RES_REGION;
        }
    }
    if ((size_t)(res_hi - res_lo) >= size) {
        res_hi -= size;
        p = res_hi;
    }
    tmp__lock_release(&res_lock);
    return p;
}

size_t tmp__os_round(size_t size)
{
    if (size <= RES_RUN_MAX)
        return (size + RES_SLOT - 1) & ~(RES_SLOT - 1);
    return (size + 4095) & ~(size_t)4095;
}

void *tmp__os_map(size_t size, size_t align)
{
    if (align <= RES_SLOT && size % RES_SLOT == 0 && size <= RES_RUN_MAX) {
        void *p = res_take(size);
        if (p)
            return p;
    }
    return map_aligned(size, align);
}

void tmp__os_unmap(void *p, size_t size) { munmap(p, size); }
