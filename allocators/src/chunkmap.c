/* The chunk map: for every live 64 KiB chunk of a pool with the cache fast path (no node
 * checks), its pool's id, with TMP__MAP_OWNER where the pool keeps line owners, in one flat
 * table indexed by address >> 16. A set's free reads the id here instead of the chunk's header:
 * every header sits at a 64 KiB boundary, so all of them fall in the same L1 set and the same
 * few L2 sets, and in larson (sizes 8-999, 128 chunks) nearly every free missed L2 on its header
 * (cachegrind, 512 KiB 8-way L2: 3.55 million misses in tmp_set_free for 4 million frees). The
 * entries of neighbouring chunks share a line, so the same lookups touch a handful of lines.
 *
 * Why flat: the free's lookup is on the path from the freed pointer to the cache it goes to, and
 * an allocation of the same class waits for that cache's count; each dependent load on it costs
 * every such pair. A two-level table (the shape of gperftools' PageMap2) was one load more: a
 * loop freeing and allocating sizes 8-999 ran at 26.7 ns a pair with it, 19.9 flat. The table
 * is 4 GiB of address space reserved without swap (MAP_NORESERVE; snmalloc's pagemap is flat
 * the same way): only the pages holding live chunks' entries are ever written, 4 KiB for each
 * 128 MiB of address space that has chunks, and a read of any other page reads the zero page.
 * Where the reservation is refused (an address-space limit), sets free through the headers.
 *
 * Entries are written when a chunk is made and cleared before it is unmapped; a chunk's objects
 * reach other threads only through synchronisation that orders them after its entry's store. A
 * chunk made before the table existed has no entry, and reads 0: the header path serves it. */
#include "internal.h"

#include <pthread.h>
#include <sys/mman.h>

_Atomic(_Atomic uint16_t *) tmp__chunkmap;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;

static void map_make(void)
{
    void *m = mmap(NULL, TMP__MAP_ENTRIES * sizeof(uint16_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED)
        atomic_store_explicit(&tmp__chunkmap, (_Atomic uint16_t *)m, memory_order_release);
}

bool tmp__chunkmap_ready(void)
{
    pthread_once(&map_once, map_make);
    return atomic_load_explicit(&tmp__chunkmap, memory_order_acquire) != NULL;
}

static _Atomic uint16_t *entry(const tmp__chunk *c)
{
    uintptr_t a = (uintptr_t)c;
    _Atomic uint16_t *map = atomic_load_explicit(&tmp__chunkmap, memory_order_acquire);
    if (!map || a >> TMP__MAP_ADDR_BITS)
        return NULL; /* no table, or beyond it: the header path serves this chunk */
    return &map[a >> TMP__MAP_SHIFT];
}

void tmp__chunkmap_set(const tmp__chunk *c, unsigned id)
{
    _Atomic uint16_t *e = entry(c);
    if (e)
        atomic_store_explicit(e, (uint16_t)id, memory_order_release);
}

void tmp__chunkmap_clear(const tmp__chunk *c)
{
    _Atomic uint16_t *e = entry(c);
    if (e && atomic_load_explicit(e, memory_order_relaxed)) /* a page never written stays unwritten */
        atomic_store_explicit(e, 0, memory_order_relaxed);
}
