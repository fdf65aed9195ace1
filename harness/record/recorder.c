/* libtmbrecord.so: preloaded into a program by `tmbench record`, it interposes the malloc family,
 * calls the real allocator (found with dlsym(RTLD_NEXT)) and writes every allocation event to
 * the trace named by TMBENCH_TRACE, in the format of workloads/trace.h.
 *
 * Addresses become object ids through a radix map; an address leaves the map before the
 * real free, so the allocator cannot hand it out again while it is still mapped to the old id.
 * Each thread buffers its events and writes them as one block when the buffer fills, when the
 * thread exits and when the program exits; the last writes the header's counts and marks the
 * trace complete. Only the process whose pid is TMBENCH_TRACE_PID records: a child it forks or
 * starts records nothing (fork: the child's copy of the buffers is dropped); a program it execs
 * in its own place starts the trace again, so a wrapper's trace is that of the program it runs.
 * The recorder's own memory comes from mmap, never from the allocator it watches. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "trace.h"

#define EXPORT __attribute__((visibility("default")))
#define BUF_EVENTS 4096

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static size_t (*real_usable)(void *);

/* Calls made while dlsym resolves the real functions (it may calloc) come from here. */
static _Alignas(64) unsigned char boot[1 << 16];
static atomic_size_t boot_used;
static bool in_boot(const void *p) { return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot; }

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t at = atomic_load(&boot_used), start;
    do {
        start = (at + align - 1) & ~(align - 1);
        if (start + n > sizeof boot)
            return NULL;
    } while (!atomic_compare_exchange_weak(&boot_used, &at, start + n));
    return boot + start;
}

static atomic_int state; /* 0: not started, 1: resolving, 2: recording, 3: off */
static int fd = -1, hfd = -1; /* blocks append through fd; the final header goes through hfd
                                * (pwrite on an O_APPEND descriptor appends on Linux) */
static atomic_uint_fast64_t seq_next = 1;
static atomic_uint threads_seen;
static atomic_uint_fast64_t events_written;
static pthread_key_t buf_key;

/* ---- the address map ----
 * A radix tree over the address, like a page table: 14 bits pick a middle table, 18 bits a leaf,
 * and a leaf holds the ids of a 64 KiB region's 8-byte granules. Neighbouring objects share a
 * leaf, so the lookups of a program's recent objects stay in cache (a hash spread them over a
 * few megabytes and cost python3 about 130 ns an event); and no lock: a slot is written only by
 * the thread that holds its address, alloc before the pointer leaves the call, free before the
 * real free, and the program's own synchronization carries a pointer, and so its slot, from the
 * allocating thread to the freeing one. Tables come from mmap, made on first use. */
#define L1_BITS 14
#define L2_BITS 18
#define LEAF_BITS 13
static _Atomic uintptr_t root[1u << L1_BITS];

static void *raw(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The table at *at, made (n bytes, zeroed) if there is none yet; NULL when out of memory. */
static void *table(_Atomic uintptr_t *at, size_t n, bool make)
{
    uintptr_t t = atomic_load_explicit(at, memory_order_acquire);
    if (t || !make)
        return (void *)t;
    void *p = raw(n);
    if (!p)
        return NULL;
    uintptr_t expect = 0;
    if (!atomic_compare_exchange_strong_explicit(at, &expect, (uintptr_t)p, memory_order_acq_rel, memory_order_acquire)) {
        munmap(p, n); /* another thread made it first */
        return (void *)expect;
    }
    return p;
}

/* The slot of address a (make: its tables made as needed); NULL outside 48-bit addresses, for an
 * address never mapped (make false) or out of memory. */
static _Atomic uint64_t *slot_of(uintptr_t a, bool make)
{
    if (a >> 48)
        return NULL;
    _Atomic uintptr_t *mid = table(&root[a >> 34], sizeof(uintptr_t) << L2_BITS, make);
    if (!mid)
        return NULL;
    _Atomic uint64_t *leaf = table(&mid[(a >> 16) & ((1u << L2_BITS) - 1)], sizeof(uint64_t) << LEAF_BITS, make);
    return leaf ? &leaf[(a >> 3) & ((1u << LEAF_BITS) - 1)] : NULL;
}

/* ---- per-thread buffers ---- */
typedef struct tbuf {
    atomic_flag lock;
    uint32_t thread, n;
    struct tbuf *next;
    tb_trace_event ev[BUF_EVENTS];
} tbuf;
static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static tbuf *bufs;
static __thread __attribute__((tls_model("initial-exec"))) tbuf *mine;
static __thread __attribute__((tls_model("initial-exec"))) int busy; /* inside the recorder on this thread: calls pass straight through */

static void flush_locked(tbuf *b)
{
    if (!b->n || atomic_load(&state) != 2)
        return;
    uint32_t h[4] = {TB_TRACE_BLOCK_MAGIC, b->thread, b->n, 0};
    struct iovec v[2] = {{h, sizeof h}, {b->ev, b->n * sizeof b->ev[0]}};
    size_t want = v[0].iov_len + v[1].iov_len;
    ssize_t w = writev(fd, v, 2); /* O_APPEND: blocks of two threads never interleave */
    if (w == (ssize_t)want)
        atomic_fetch_add(&events_written, b->n);
    b->n = 0;
}

static void thread_done(void *p)
{
    tbuf *b = p;
    busy++;
    while (atomic_flag_test_and_set(&b->lock))
        ;
    flush_locked(b);
    atomic_flag_clear(&b->lock);
    busy--; /* the buffer stays on the list (the exit flush finds it empty): no free races */
}

static tbuf *my_buf(void)
{
    if (mine)
        return mine;
    tbuf *b = raw(sizeof *b);
    if (!b)
        return NULL;
    b->thread = atomic_fetch_add(&threads_seen, 1);
    pthread_mutex_lock(&bufs_lock);
    b->next = bufs;
    bufs = b;
    pthread_mutex_unlock(&bufs_lock);
    mine = b;
    pthread_setspecific(buf_key, b);
    return b;
}

static void emit(uint64_t seq, uint64_t id, uint64_t size, uint32_t align, int op)
{
    tbuf *b = my_buf();
    if (!b)
        return;
    while (atomic_flag_test_and_set_explicit(&b->lock, memory_order_acquire))
        ;
    b->ev[b->n++] = (tb_trace_event){.seq = seq, .id = id, .size = size, .align = align, .op = (uint8_t)op};
    if (b->n == BUF_EVENTS)
        flush_locked(b);
    atomic_flag_clear_explicit(&b->lock, memory_order_release);
}

static bool recording(void) { return atomic_load_explicit(&state, memory_order_relaxed) == 2 && !busy; }

static void made(void *p, size_t size, uint32_t align, int op)
{
    if (!p || !recording())
        return;
    busy++;
    _Atomic uint64_t *slot = slot_of((uintptr_t)p, true);
    if (slot) {
        uint64_t seq = atomic_fetch_add(&seq_next, 1);
        atomic_store_explicit(slot, seq, memory_order_relaxed);
        emit(seq, seq, size, align, op);
    }
    busy--;
}

/* The object at p is going: its id (0 if the recorder never saw it), out of the map first. */
static uint64_t going(void *p, uint64_t *seq)
{
    if (!p || !recording())
        return 0;
    _Atomic uint64_t *slot = slot_of((uintptr_t)p, false);
    uint64_t id = slot ? atomic_load_explicit(slot, memory_order_relaxed) : 0;
    if (id) {
        atomic_store_explicit(slot, 0, memory_order_relaxed);
        *seq = atomic_fetch_add(&seq_next, 1);
    }
    return id;
}

static void resolve(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&state, &expect, 1))
        return;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    real_valloc = dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    real_usable = dlsym(RTLD_NEXT, "malloc_usable_size");
    atomic_store(&state, 3);
}

static void child_after_fork(void) { atomic_store(&state, 3); }

static void header(uint32_t flags)
{
    unsigned char h[TB_TRACE_HEADER] = {0};
    memcpy(h, TB_TRACE_MAGIC, 8);
    uint32_t v32[4] = {TB_TRACE_VERSION, flags, atomic_load(&threads_seen), 0};
    uint64_t ev = atomic_load(&events_written);
    char cmd[4096];
    ssize_t n = 0;
    int c = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (c >= 0) {
        n = read(c, cmd, sizeof cmd);
        close(c);
    }
    v32[3] = n > 0 ? (uint32_t)n : 0;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            h[8 + 4 * i + k] = (unsigned char)(v32[i] >> (8 * k));
    for (int k = 0; k < 8; k++)
        h[24 + k] = (unsigned char)(ev >> (8 * k));
    if (flags) { /* the final header: counts only; the command line is already there */
        (void)!pwrite(hfd, h + 8, 24, 8);
        return;
    }
    (void)!write(fd, h, sizeof h);
    if (n > 0)
        (void)!write(fd, cmd, (size_t)n);
}

__attribute__((constructor)) static void start(void)
{
    resolve();
    const char *path = getenv("TMBENCH_TRACE"), *pid = getenv("TMBENCH_TRACE_PID");
    if (!path || !pid || strtol(pid, NULL, 10) != (long)getpid() || !real_malloc || !real_free)
        return;
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    hfd = open(path, O_WRONLY | O_CLOEXEC);
    /* a program that execs another in the same process (a wrapper script, a pyenv shim) ends
     * without its destructor: the trace starts again, and holds the last program of the chain */
    if (fd < 0 || hfd < 0 || ftruncate(hfd, 0) != 0)
        return;
    if (pthread_key_create(&buf_key, thread_done) != 0)
        return;
    pthread_atfork(NULL, NULL, child_after_fork);
    header(0);
    atomic_store(&state, 2);
}

__attribute__((destructor)) static void finish(void)
{
    if (atomic_load(&state) != 2)
        return;
    busy++;
    pthread_mutex_lock(&bufs_lock);
    for (tbuf *b = bufs; b; b = b->next) {
        while (atomic_flag_test_and_set(&b->lock))
            ;
        flush_locked(b);
        atomic_flag_clear(&b->lock);
    }
    header(TB_TRACE_COMPLETE);
    atomic_store(&state, 3); /* calls after this (later destructors) are not recorded */
    pthread_mutex_unlock(&bufs_lock);
    busy--;
}

/* ---- the interposed family ---- */
static bool ready(void)
{
    if (atomic_load_explicit(&state, memory_order_acquire) >= 2)
        return true;
    resolve();
    return atomic_load(&state) >= 2;
}

EXPORT void *malloc(size_t n)
{
    if (!ready())
        return boot_alloc(n, 16);
    void *p = real_malloc(n);
    made(p, n, 0, TB_OP_MALLOC);
    return p;
}

EXPORT void *calloc(size_t k, size_t n)
{
    if (!ready()) {
        if (n && k > SIZE_MAX / n)
            return NULL;
        return boot_alloc(k * n, 16); /* static: already zero */
    }
    void *p = real_calloc(k, n);
    made(p, k * n, 0, TB_OP_CALLOC);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || in_boot(p))
        return;
    uint64_t seq = 0, id = going(p, &seq);
    real_free(p);
    if (id) {
        busy++;
        emit(seq, id, 0, 0, TB_OP_FREE);
        busy--;
    }
}

EXPORT void *realloc(void *p, size_t n)
{
    if (!ready() || in_boot(p)) {
        void *q = ready() ? real_malloc(n) : boot_alloc(n, 16);
        if (q && p) /* from the boot buffer: copy what fits, never free it */
            memcpy(q, p, n < (size_t)(boot + sizeof boot - (unsigned char *)p) ? n : (size_t)(boot + sizeof boot - (unsigned char *)p));
        made(q, n, 0, TB_OP_MALLOC);
        return q;
    }
    if (!p) {
        void *q = real_realloc(NULL, n);
        made(q, n, 0, TB_OP_MALLOC);
        return q;
    }
    uint64_t seq = 0, id = going(p, &seq);
    void *q = real_realloc(p, n);
    if (!id)
        return q;
    busy++;
    if (!q && n) { /* failed: p is still the old object */
        _Atomic uint64_t *slot = slot_of((uintptr_t)p, true);
        if (slot)
            atomic_store_explicit(slot, id, memory_order_relaxed);
    } else if (!q) {
        emit(seq, id, 0, 0, TB_OP_FREE);
    } else {
        _Atomic uint64_t *slot = slot_of((uintptr_t)q, true);
        uint64_t ns = atomic_fetch_add(&seq_next, 1);
        if (slot)
            atomic_store_explicit(slot, ns, memory_order_relaxed);
        emit(slot ? ns : seq, id, n, 0, slot ? TB_OP_REALLOC : TB_OP_FREE);
    }
    busy--;
    return q;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!ready()) {
        *out = boot_alloc(n, align);
        return *out ? 0 : ENOMEM;
    }
    int rc = real_posix_memalign(out, align, n);
    if (rc == 0)
        made(*out, n, (uint32_t)align, TB_OP_ALIGNED);
    return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!ready())
        return boot_alloc(n, align);
    void *p = real_aligned_alloc(align, n);
    made(p, n, (uint32_t)align, TB_OP_ALIGNED);
    return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
    if (!ready())
        return boot_alloc(n, align);
    void *p = real_memalign(align, n);
    made(p, n, (uint32_t)align, TB_OP_ALIGNED);
    return p;
}

EXPORT void *valloc(size_t n)
{
    if (!ready())
        return boot_alloc(n, 4096);
    void *p = real_valloc(n);
    made(p, n, 4096, TB_OP_ALIGNED);
    return p;
}

EXPORT void *pvalloc(size_t n)
{
    if (!ready())
        return boot_alloc(n, 4096);
    void *p = real_pvalloc(n);
    made(p, n, 4096, TB_OP_ALIGNED);
    return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p || in_boot(p) || !ready())
        return 0;
    return real_usable(p);
}
