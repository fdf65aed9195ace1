/* The trace reader: checks the header, every block and every event against the format in
 * trace.h, then replays the events in the program's order (by seq) to check that every free
 * names a live object, renumbers objects densely and works out what the pattern is. */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "trace.h"

const char *tb_trace_op_name(int op)
{
    switch (op) {
#define X(name, code, text) case code: return text;
        TB_TRACE_OPS(X)
#undef X
    }
    return "?";
}

static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* An open-addressing map from an object's id (its allocation's seq, never 0) to its dense
 * number, with deletion by tombstone. */
typedef struct { uint64_t *key, *val; size_t cap, used; } idmap;
/* Bulk memory (trace.h): a mapping each, its size in a header a cache line long. Sanitizer
 * builds take libc's heap instead, so that ASan checks the reader's every access (the fuzz
 * pass reads mutated traces there); they run no replay cells to be warmed. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
void *tb_bulk_alloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }
void *tb_bulk_calloc(size_t n, size_t each) { return calloc(n ? n : 1, each ? each : 1); }
void *tb_bulk_realloc(void *p, size_t bytes) { return realloc(p, bytes ? bytes : 1); }
void tb_bulk_free(void *p) { free(p); }
#else
#define BULK_HDR 64

void *tb_bulk_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - BULK_HDR - 4096)
        return NULL;
    size_t len = (bytes + BULK_HDR + 4095) & ~(size_t)4095;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = len;
    return p + BULK_HDR;
}

void *tb_bulk_calloc(size_t n, size_t each)
{
    return each && n > SIZE_MAX / each ? NULL : tb_bulk_alloc(n * each); /* fresh pages are zero */
}

void *tb_bulk_realloc(void *old, size_t bytes)
{
    if (!old)
        return tb_bulk_alloc(bytes);
    if (bytes > SIZE_MAX - BULK_HDR - 4096)
        return NULL;
    char *h = (char *)old - BULK_HDR;
    size_t len = (bytes + BULK_HDR + 4095) & ~(size_t)4095;
    char *p = mremap(h, *(size_t *)h, len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = len;
    return p + BULK_HDR;
}

void tb_bulk_free(void *p)
{
    if (p) {
        char *h = (char *)p - BULK_HDR;
        munmap(h, *(size_t *)h);
    }
}
#endif

#define IDMAP_DEAD UINT64_MAX

static size_t idmap_slot(const idmap *m, uint64_t k)
{
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int idmap_init(idmap *m, uint64_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 16)
        m->cap <<= 1;
    m->used = 0;
    m->key = tb_bulk_calloc(m->cap, sizeof *m->key);
    m->val = tb_bulk_calloc(m->cap, sizeof *m->val);
    return m->key && m->val ? 0 : -1;
}

typedef struct { uint64_t seq; uint32_t thread; uint32_t pad; uint64_t index; } order_ent;
_Static_assert(offsetof(order_ent, seq) == 0, "sort_by_key sorts by the leading uint64_t");

/* Sorts n records of `size` bytes by the uint64_t each starts with (order_ent.seq, a lifetime):
 * an LSD radix sort, a byte a pass, skipping the bytes every key shares. Not qsort: glibc's takes
 * a scratch copy of the array from malloc, which for a preloaded baseline is the allocator under
 * test, and the megabytes it frees stay in that allocator's heap, faulted in, for the replay that
 * follows (tcmalloc's resident set before a cc1 replay was 16.6 MiB against tmempool's 9.8).
 * The scratch here is bulk memory, like every buffer of the reader. -1 when there is none. */
static int sort_by_key(void *base, size_t n, size_t size)
{
    if (n < 2)
        return 0;
    unsigned char *a = base, *b = tb_bulk_alloc(n * size);
    if (!b)
        return -1;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k;
        memcpy(&k, a + i * size, sizeof k);
        lo &= k;
        hi |= k;
    }
    uint64_t varies = lo ^ hi; /* the bits that differ between some two keys */
    for (unsigned shift = 0; shift < 64; shift += 8) {
        if (!((varies >> shift) & 0xff))
            continue;
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) {
            uint64_t k;
            memcpy(&k, a + i * size, sizeof k);
            count[((k >> shift) & 0xff) + 1]++;
        }
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++) {
            uint64_t k;
            memcpy(&k, a + i * size, sizeof k);
            memcpy(b + count[(k >> shift) & 0xff]++ * size, a + i * size, size);
        }
        unsigned char *t = a;
        a = b;
        b = t;
    }
    if (a != base) { /* an odd number of passes: the sorted copy is the scratch */
        memcpy(base, a, n * size);
        b = a;
    }
    tb_bulk_free(b);
    return 0;
}

void tb_trace_free(tb_trace *t)
{
    if (t->ev)
        for (unsigned i = 0; i < t->threads; i++)
            tb_bulk_free(t->ev[i]);
    tb_bulk_free(t->ev);
    tb_bulk_free(t->nev);
    tb_bulk_free(t->obj_size);
    tb_bulk_free(t->obj_thread);
    memset(t, 0, sizeof *t);
}

static int fail(tb_trace *t, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(tb_trace *t, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    tb_trace_free(t);
    return -1;
}

static unsigned char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "trace %s: %s", path, !f ? strerror(errno) : "not a regular file");
        if (f)
            fclose(f);
        return NULL;
    }
    unsigned char *buf = tb_bulk_alloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        snprintf(err, errlen, "trace %s: cannot read it (%s)", path, buf ? "short read" : "out of memory");
        tb_bulk_free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Pass 1: header and blocks, each event checked on its own; events copied per thread. */
static int parse(const unsigned char *b, size_t len, const char *path, tb_trace *t, char *err, size_t errlen)
{
    if (len < TB_TRACE_HEADER)
        return fail(t, err, errlen, "trace %s: truncated: %zu bytes, want a header of %u", path, len, TB_TRACE_HEADER);
    if (memcmp(b, TB_TRACE_MAGIC, 8) != 0)
        return fail(t, err, errlen, "trace %s: not a tmbench trace: bytes 0-7 are not \"%s\"", path, TB_TRACE_MAGIC);
    uint32_t version = rd32(b + 8), flags = rd32(b + 12), threads = rd32(b + 16), cmd_len = rd32(b + 20);
    uint64_t events = rd64(b + 24);
    if (version != TB_TRACE_VERSION)
        return fail(t, err, errlen, "trace %s: byte 8: version %" PRIu32 ", this tmbench reads version %u%s", path,
                    version, TB_TRACE_VERSION, version > TB_TRACE_VERSION ? " (a newer tmbench wrote it)" : "");
    if (flags & ~TB_TRACE_COMPLETE)
        return fail(t, err, errlen, "trace %s: byte 12: unknown flags 0x%" PRIx32 ", want 0 or 1", path, flags);
    if (threads > TB_TRACE_MAX_THREADS)
        return fail(t, err, errlen, "trace %s: byte 16: %" PRIu32 " threads, at most %u", path, threads, TB_TRACE_MAX_THREADS);
    if (cmd_len > len - TB_TRACE_HEADER)
        return fail(t, err, errlen, "trace %s: truncated at byte %u: a command line of %" PRIu32 " bytes does not fit", path,
                    TB_TRACE_HEADER, cmd_len);
    t->complete = flags & TB_TRACE_COMPLETE;
    size_t c = 0;
    for (uint32_t i = 0; i < cmd_len && c + 1 < sizeof t->cmd; i++) {
        unsigned char ch = b[TB_TRACE_HEADER + i];
        t->cmd[c++] = ch == 0 ? ' ' : (ch < 32 || ch == 127) ? '?' : (char)ch;
    }
    while (c && t->cmd[c - 1] == ' ')
        c--;
    t->cmd[c] = '\0';
    uint64_t cap[TB_TRACE_MAX_THREADS] = {0};
    t->nev = tb_bulk_calloc(TB_TRACE_MAX_THREADS, sizeof *t->nev);
    t->ev = tb_bulk_calloc(TB_TRACE_MAX_THREADS, sizeof *t->ev);
    if (!t->nev || !t->ev)
        return fail(t, err, errlen, "trace %s: out of memory", path);
    t->threads = TB_TRACE_MAX_THREADS; /* for tb_trace_free until the real count is known */
    unsigned top = 0;
    uint64_t total = 0;
    for (size_t off = TB_TRACE_HEADER + cmd_len; off < len;) {
        if (len - off < TB_TRACE_BLOCK) {
            if (t->complete)
                return fail(t, err, errlen, "trace %s: truncated at byte %zu: want a block header of %u bytes, %zu left",
                            path, off, TB_TRACE_BLOCK, len - off);
            break;
        }
        uint32_t magic = rd32(b + off), th = rd32(b + off + 4), n = rd32(b + off + 8), res = rd32(b + off + 12);
        if (magic != TB_TRACE_BLOCK_MAGIC || res != 0)
            return fail(t, err, errlen, "trace %s: corrupt at byte %zu: want a block header (\"TMBK\", thread, count, 0)",
                        path, off);
        if (th >= TB_TRACE_MAX_THREADS || (t->complete && th >= threads))
            return fail(t, err, errlen, "trace %s: corrupt at byte %zu: thread %" PRIu32 ", the header says %" PRIu32 " threads",
                        path, off + 4, th, threads);
        off += TB_TRACE_BLOCK;
        size_t whole = (len - off) / TB_TRACE_EVENT;
        if (n > whole) {
            if (t->complete)
                return fail(t, err, errlen, "trace %s: truncated at byte %zu: a block of %" PRIu32 " events, %zu whole ones left",
                            path, off, n, whole);
            n = (uint32_t)whole; /* a killed program: up to its last whole event */
        }
        if (t->nev[th] + n > cap[th]) {
            uint64_t nc = cap[th] ? cap[th] * 2 : 1024;
            while (nc < t->nev[th] + n)
                nc *= 2;
            tb_trace_event *ne = tb_bulk_realloc(t->ev[th], nc * sizeof *ne);
            if (!ne)
                return fail(t, err, errlen, "trace %s: out of memory for %" PRIu64 " events", path, nc);
            t->ev[th] = ne, cap[th] = nc;
        }
        for (uint32_t i = 0; i < n; i++, off += TB_TRACE_EVENT) {
            const unsigned char *p = b + off;
            tb_trace_event e = {.seq = rd64(p), .id = rd64(p + 8), .size = rd64(p + 16), .align = rd32(p + 24), .op = p[28]};
            const char *bad = NULL;
            if (strcmp(tb_trace_op_name(e.op), "?") == 0 || p[29] || p[30] || p[31])
                bad = "an op of 1-5 and three zero bytes";
            else if (e.seq == 0 || (t->nev[th] && e.seq <= t->ev[th][t->nev[th] - 1].seq))
                bad = "a seq above the thread's previous one";
            else if ((e.op != TB_OP_FREE && e.op != TB_OP_REALLOC) != (e.id == e.seq) || e.id == 0)
                bad = "an allocation's id equal to its seq, a free's that of an earlier event";
            else if (e.size > ((uint64_t)1 << 40) || (e.align & (e.align - 1)))
                bad = "a size up to 2^40 and an alignment of 0 or a power of two";
            if (bad)
                return fail(t, err, errlen, "trace %s: corrupt event at byte %zu (thread %" PRIu32 "): want %s", path, off, th, bad);
            t->ev[th][t->nev[th]++] = e;
        }
        total += n;
        if (th + 1 > top)
            top = th + 1;
    }
    if (t->complete && (events != total || threads < top))
        return fail(t, err, errlen, "trace %s: corrupt: the header says %" PRIu64 " events of %" PRIu32 " threads, the blocks hold %" PRIu64 " of %u",
                    path, events, threads, total, top);
    for (unsigned i = top; i < TB_TRACE_MAX_THREADS; i++)
        tb_bulk_free(t->ev[i]), t->ev[i] = NULL;
    t->threads = t->complete ? threads : top;
    t->events = total;
    if (t->threads == 0)
        return fail(t, err, errlen, "trace %s: holds no events", path);
    return 0;
}

/* Pass 2: the program's order. Every free names a live object; objects renumbered densely. */
static int follow(const char *path, tb_trace *t, char *err, size_t errlen)
{
    order_ent *ord = tb_bulk_alloc((t->events ? t->events : 1) * sizeof *ord);
    uint64_t *life = tb_bulk_alloc((t->events ? t->events : 1) * sizeof *life);
    idmap m;
    if (!ord || !life || idmap_init(&m, t->events) != 0) {
        tb_bulk_free(ord), tb_bulk_free(life);
        return fail(t, err, errlen, "trace %s: out of memory", path);
    }
    size_t k = 0;
    for (unsigned th = 0; th < t->threads; th++)
        for (uint64_t i = 0; i < t->nev[th]; i++)
            ord[k++] = (order_ent){.seq = t->ev[th][i].seq, .thread = th, .index = i};
    if (sort_by_key(ord, k, sizeof *ord) != 0) {
        tb_bulk_free(ord), tb_bulk_free(life), tb_bulk_free(m.key), tb_bulk_free(m.val);
        return fail(t, err, errlen, "trace %s: out of memory", path);
    }
    uint64_t *born = tb_bulk_alloc((t->events ? t->events : 1) * sizeof *born);
    t->obj_size = tb_bulk_alloc((t->events ? t->events : 1) * sizeof *t->obj_size);
    t->obj_thread = tb_bulk_alloc((t->events ? t->events : 1) * sizeof *t->obj_thread);
    if (!born || !t->obj_size || !t->obj_thread) {
        tb_bulk_free(ord), tb_bulk_free(life), tb_bulk_free(born), tb_bulk_free(m.key), tb_bulk_free(m.val);
        return fail(t, err, errlen, "trace %s: out of memory", path);
    }
    uint64_t live = 0, nlife = 0, objects = 0;
    int rc = 0;
    for (size_t j = 0; j < k && !rc; j++) {
        tb_trace_event *e = &t->ev[ord[j].thread][ord[j].index];
        if (j && ord[j].seq == ord[j - 1].seq) {
            rc = fail(t, err, errlen, "trace %s: corrupt: two events have seq %" PRIu64 " (threads %u and %u)", path,
                      ord[j].seq, ord[j - 1].thread, ord[j].thread);
            break;
        }
        uint64_t old = UINT64_MAX;
        if (e->op == TB_OP_FREE || e->op == TB_OP_REALLOC) {
            size_t s = idmap_slot(&m, e->id);
            if (!m.key[s]) {
                if (t->complete) {
                    rc = fail(t, err, errlen, "trace %s: inconsistent: event seq %" PRIu64 " (thread %u, its event %" PRIu64
                              ") is a %s of object %" PRIu64 ", which no earlier event made or which was freed before",
                              path, e->seq, ord[j].thread, ord[j].index, tb_trace_op_name(e->op), e->id);
                    break;
                }
                e->op = 0; /* dropped below */
                t->dropped++;
                continue;
            }
            old = m.val[s];
            m.key[s] = IDMAP_DEAD;
            live -= t->obj_size[old];
            life[nlife++] = e->seq - born[old];
            t->frees++;
            t->cross_frees += t->obj_thread[old] != ord[j].thread;
        }
        if (e->op != TB_OP_FREE) {
            size_t s = idmap_slot(&m, e->seq);
            if (m.used + 1 > m.cap / 2) { /* cannot happen: sized for every event */
                rc = fail(t, err, errlen, "trace %s: internal: id map full", path);
                break;
            }
            m.key[s] = e->seq;
            m.val[s] = objects;
            m.used++;
            born[objects] = e->seq;
            t->obj_size[objects] = e->size;
            t->obj_thread[objects] = ord[j].thread;
            live += e->size;
            if (live > t->peak_live_bytes)
                t->peak_live_bytes = live, t->peak_seq = e->seq;
            if (e->size > t->max_size)
                t->max_size = e->size;
            unsigned lg = 0;
            while (lg < 63 && (e->size >> (lg + 1)))
                lg++;
            t->size_log2[e->size ? lg : 0]++;
            /* from here on: id = the object concerned (dense), seq = a realloc's new object */
            if (e->op == TB_OP_REALLOC)
                e->id = old, e->seq = objects;
            else
                e->id = objects;
            objects++;
        } else {
            e->id = old;
        }
        t->by_op[e->op]++;
    }
    tb_bulk_free(ord), tb_bulk_free(born), tb_bulk_free(m.key), tb_bulk_free(m.val);
    if (rc) {
        tb_bulk_free(life);
        return rc;
    }
    t->objects = objects;
    t->leaked = objects - t->frees;
    if (nlife) {
        if (sort_by_key(life, nlife, sizeof *life) != 0) {
            tb_bulk_free(life);
            return fail(t, err, errlen, "trace %s: out of memory", path);
        }
        t->life_p50 = (double)life[nlife / 2];
        t->life_p90 = (double)life[(nlife * 9) / 10];
    }
    tb_bulk_free(life);
    if (t->dropped) { /* compact the threads' streams */
        for (unsigned th = 0; th < t->threads; th++) {
            uint64_t w = 0;
            for (uint64_t i = 0; i < t->nev[th]; i++)
                if (t->ev[th][i].op)
                    t->ev[th][w++] = t->ev[th][i];
            t->nev[th] = w;
        }
        t->events -= t->dropped;
    }
    return 0;
}

int tb_trace_load(const char *path, tb_trace *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    size_t len;
    unsigned char *b = slurp(path, &len, err, errlen);
    if (!b)
        return -1;
    int rc = parse(b, len, path, t, err, errlen);
    tb_bulk_free(b);
    return rc ? rc : follow(path, t, err, errlen);
}
