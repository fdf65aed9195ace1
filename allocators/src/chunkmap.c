/* The chunk map: for every live 64 KiB chunk of a pool with the cache fast path (no node
 * checks), its pool's id, with TMP__MAP_OWNER where the pool keeps line owners, in a two-level
 * table indexed by address (the shape of gperftools' PageMap2). A set's free reads the id here
 * instead of the chunk's header: every header sits at a 64 KiB boundary, so all of them fall in
 * the same L1 set and the same few L2 sets, and in larson (sizes 8-999, 128 chunks) nearly
 * every free missed L2 on its header (cachegrind, 512 KiB 8-way L2: 3.55 million misses in
 * tmp_set_free for 4 million frees). The map's leaf entries for neighbouring chunks share a
 * line, so the same lookups touch a handful of lines.
 *
 * Leaves (128 KiB each, for 4 GiB of address space) are mapped on first use and kept for the
 * life of the process; the root is 256 KiB of zeroed static storage. Entries are written when a
 * chunk is made and cleared before it is unmapped; a chunk's objects reach other threads only
 * through synchronisation that orders them after its entry's store. */
#include "internal.h"

#include <sys/mman.h>

_Atomic(_Atomic uint16_t *) tmp__chunkmap_root[TMP__MAP_ROOT];

static _Atomic uint16_t *leaf_for(uintptr_t a)
{
    _Atomic(_Atomic uint16_t *) *slot = &tmp__chunkmap_root[a >> TMP__MAP_LEAF_SHIFT];
    _Atomic uint16_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
    if (leaf)
        return leaf;
    void *m = mmap(NULL, TMP__MAP_LEAF * sizeof *leaf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    _Atomic uint16_t *want = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &want, (_Atomic uint16_t *)m, memory_order_acq_rel,
                                                memory_order_acquire))
        return m;
    munmap(m, TMP__MAP_LEAF * sizeof *leaf); /* another thread's leaf won */
    return want;
}

void tmp__chunkmap_set(const tmp__chunk *c, unsigned id)
{
    uintptr_t a = (uintptr_t)c;
    if (a >> TMP__MAP_ADDR_BITS)
        return; /* beyond the map: the header path serves it */
    _Atomic uint16_t *leaf = leaf_for(a);
    if (leaf) /* no leaf (mmap failed): the header path serves this chunk */
        atomic_store_explicit(&leaf[(a >> TMP__MAP_SHIFT) & (TMP__MAP_LEAF - 1)], (uint16_t)id,
                              memory_order_release);
}

void tmp__chunkmap_clear(const tmp__chunk *c)
{
    uintptr_t a = (uintptr_t)c;
    if (a >> TMP__MAP_ADDR_BITS)
        return;
    _Atomic uint16_t *leaf = atomic_load_explicit(&tmp__chunkmap_root[a >> TMP__MAP_LEAF_SHIFT], memory_order_acquire);
    if (leaf)
        atomic_store_explicit(&leaf[(a >> TMP__MAP_SHIFT) & (TMP__MAP_LEAF - 1)], 0, memory_order_relaxed);
}
