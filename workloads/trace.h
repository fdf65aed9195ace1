/* Allocation traces: the file format (version 1, defined here once: the recorder writes it, the
 * replay workload and `tmbench trace-info` read it) and a reader that checks every byte.
 *
 *   header, TB_TRACE_HEADER bytes: magic "TMBTRACE", then little-endian
 *     u32 version, u32 flags (TB_TRACE_COMPLETE), u32 threads, u32 cmd_len,
 *     u64 events, u64 reserved; then cmd_len bytes of the command line, NUL-separated
 *   blocks, each one thread's buffered events, in the order they were written:
 *     u32 TB_TRACE_BLOCK_MAGIC, u32 thread, u32 count, u32 reserved (0),
 *     then count events of TB_TRACE_EVENT bytes:
 *       u64 seq   a number from one counter over the whole program, taken at the call:
 *                 the events of one thread have increasing seq; an object's id is the seq of
 *                 the event that made it
 *       u64 id    the object freed or reallocated (free, realloc), or seq (allocations)
 *       u64 size  bytes asked for (realloc: the new size)
 *       u32 align alignment asked for (0: malloc's own)
 *       u8  op    a tb_trace_op
 *       u8 pad[3]
 *
 * threads and events are written when the program exits; a program killed midway leaves
 * TB_TRACE_COMPLETE clear, and its trace is read up to its last whole event. */
#ifndef TB_TRACE_H
#define TB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_TRACE_MAGIC "TMBTRACE"
#define TB_TRACE_VERSION 1u
#define TB_TRACE_HEADER 40u
#define TB_TRACE_BLOCK_MAGIC 0x4b424d54u /* "TMBK" */
#define TB_TRACE_BLOCK 16u
#define TB_TRACE_EVENT 32u
#define TB_TRACE_COMPLETE 1u
#define TB_TRACE_MAX_THREADS 1024u

#define TB_TRACE_OPS(X) X(MALLOC, 1, "malloc") X(CALLOC, 2, "calloc") X(REALLOC, 3, "realloc") \
    X(FREE, 4, "free") X(ALIGNED, 5, "aligned")
typedef enum tb_trace_op {
#define X(name, code, text) TB_OP_##name = code,
    TB_TRACE_OPS(X)
#undef X
} tb_trace_op;
const char *tb_trace_op_name(int op);

typedef struct tb_trace_event {
    uint64_t seq, id, size;
    uint32_t align;
    uint8_t op;
    uint8_t pad[3];
} tb_trace_event;
_Static_assert(sizeof(tb_trace_event) == TB_TRACE_EVENT, "the event record is the file's");

/* A trace read into memory and checked: each thread's events in its order. Object ids are
 * renumbered densely (0 .. objects-1) in obj, by the reader. */
typedef struct tb_trace {
    bool complete;
    unsigned threads;
    char cmd[512];            /* the command line, spaces between the words */
    uint64_t events;          /* kept */
    uint64_t dropped;         /* incomplete traces: frees of objects whose allocation was never written */
    uint64_t objects;
    uint64_t *nev;            /* per thread */
    tb_trace_event **ev;      /* per thread; ev[t][i].id is the dense object number */
    uint64_t *obj_size;       /* per object: the size it was made with (the latest, after realloc) */
    unsigned *obj_thread;     /* per object: the thread that made it */
    uint64_t max_size;
    /* what the pattern is (trace-info, the replay's mark) */
    uint64_t peak_live_bytes, peak_seq, cross_frees, frees, leaked;
    uint64_t by_op[8];
    uint64_t size_log2[65];   /* objects by floor(log2(size)) (size 0 counted at 0) */
    double life_p50, life_p90; /* lifetimes in events of the whole program, freed objects */
} tb_trace;

/* Memory for a trace and what its replay keeps beside it (events, per-object arrays), straight
 * from the OS, zeroed: never from the allocator a cell measures. Through that allocator the
 * setup's megabytes warm its heap: tcmalloc kept the trace loader's freed memory and replayed
 * sqlite3 with 40 page faults in its timed region, where every other allocator met 800-1100. */
void *tb_bulk_alloc(size_t bytes);
void *tb_bulk_calloc(size_t n, size_t each);
void *tb_bulk_realloc(void *p, size_t bytes);
void tb_bulk_free(void *p);

/* Reads and checks path. 0; -1 with a message that gives the byte offset and what was expected
 * (truncated, foreign, corrupt, future version), or names the inconsistent event. */
int tb_trace_load(const char *path, tb_trace *t, char *err, size_t errlen);
void tb_trace_free(tb_trace *t);

#endif
