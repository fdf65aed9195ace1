/* A malloc with a known wall-clock slowdown, for measuring what --duet can see between malloc
 * baselines (scripts/validate-gate.sh builds it; it is never part of a run by default). Every call
 * goes to jemalloc through its own non-standard API (mallocx and friends, so no dlsym and no
 * recursion at start-up); every 1024th allocation of a thread then waits 1024 * STALL_NS
 * nanoseconds on the clock: STALL_NS per allocation on average, time the core cannot overlap with
 * other work. Built with -DSTALL_NS=0 it is the same layer without the wait, the fair baseline.
 *
 *   cc -O2 -shared -fPIC -DSTALL_NS=0.3 -o libstall.so tests/stallmalloc.c -ljemalloc
 *   tmbench run --duet --allocators je0=/tmp/libstall0.so,je3=/tmp/libstall.so ...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <time.h>

#ifndef STALL_NS
#define STALL_NS 0
#endif

static __thread unsigned count __attribute__((tls_model("initial-exec")));

static void stall(void)
{
    if (!(STALL_NS > 0) || (++count & 1023u) != 0)
        return;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const long want = (long)(1024.0 * STALL_NS);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < want);
}

void *malloc(size_t n)
{
    stall();
    return mallocx(n ? n : 1, 0);
}

void free(void *p)
{
    if (p)
        dallocx(p, 0);
}

void *calloc(size_t n, size_t m)
{
    size_t b;
    if (__builtin_mul_overflow(n, m, &b)) {
        errno = ENOMEM;
        return NULL;
    }
    stall();
    return mallocx(b ? b : 1, MALLOCX_ZERO);
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (!n) {
        dallocx(p, 0);
        return NULL;
    }
    stall();
    return rallocx(p, n, 0);
}

static void *aligned(size_t al, size_t n)
{
    if (!al || (al & (al - 1)))
        return NULL;
    stall();
    return mallocx(n ? n : 1, MALLOCX_ALIGN(al));
}

int posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    void *p = aligned(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t al, size_t n) { return aligned(al, n); }
void *memalign(size_t al, size_t n) { return aligned(al, n); }
size_t malloc_usable_size(void *p) { return p ? sallocx(p, 0) : 0; }
