/* Writes traces in the format of workloads/trace.h for the tests, without recording anything
 * (so the sanitizer builds, which cannot preload the recorder, test the reader too):
 *   trace_forge KIND FILE
 * valid       two threads: thread 0 makes 300 objects, thread 1 frees 200 of them (cross-thread),
 *             thread 0 reallocs 50 of its own and frees them; 50 left live; complete
 * unknown     valid, plus a free of an object no event made
 * twice       valid, plus a second free of an object
 * future      valid, with version 2
 * torn        valid but incomplete (killed), its last block cut in the middle of an event
 * badcount    complete, but the header's event count is one short */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

typedef struct { uint32_t thread; tb_trace_event ev[1024]; uint32_t n; } blk;

static void put32(FILE *f, uint32_t v) { for (int i = 0; i < 4; i++) fputc((int)(v >> (8 * i)) & 255, f); }
static void put64(FILE *f, uint64_t v) { put32(f, (uint32_t)v); put32(f, (uint32_t)(v >> 32)); }

static void block(FILE *f, const blk *b, uint32_t keep_bytes_of_last)
{
    put32(f, TB_TRACE_BLOCK_MAGIC), put32(f, b->thread), put32(f, b->n), put32(f, 0);
    for (uint32_t i = 0; i < b->n; i++) {
        const tb_trace_event *e = &b->ev[i];
        unsigned char rec[TB_TRACE_EVENT];
        memset(rec, 0, sizeof rec);
        for (int k = 0; k < 8; k++) {
            rec[k] = (unsigned char)(e->seq >> (8 * k));
            rec[8 + k] = (unsigned char)(e->id >> (8 * k));
            rec[16 + k] = (unsigned char)(e->size >> (8 * k));
        }
        for (int k = 0; k < 4; k++)
            rec[24 + k] = (unsigned char)(e->align >> (8 * k));
        rec[28] = e->op;
        fwrite(rec, 1, i + 1 == b->n && keep_bytes_of_last ? keep_bytes_of_last : sizeof rec, f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: trace_forge valid|unknown|twice|future|torn|badcount FILE\n");
        return 2;
    }
    const char *kind = argv[1];
    static blk b0 = {.thread = 0}, b1 = {.thread = 1}, b2 = {.thread = 0};
    uint64_t seq = 1, ids[300];
    for (int i = 0; i < 300; i++) {
        ids[i] = seq;
        b0.ev[b0.n++] = (tb_trace_event){.seq = seq, .id = seq, .size = (uint64_t)(8 + (i * 37) % 2000), .op = TB_OP_MALLOC};
        seq++;
    }
    for (int i = 0; i < 200; i++)
        b1.ev[b1.n++] = (tb_trace_event){.seq = seq++, .id = ids[i], .op = TB_OP_FREE};
    for (int i = 200; i < 250; i++) {
        uint64_t s = seq++;
        b2.ev[b2.n++] = (tb_trace_event){.seq = s, .id = ids[i], .size = 3000, .op = TB_OP_REALLOC};
        b2.ev[b2.n++] = (tb_trace_event){.seq = seq++, .id = s, .op = TB_OP_FREE};
    }
    if (!strcmp(kind, "unknown"))
        b2.ev[b2.n++] = (tb_trace_event){.seq = seq++, .id = 999999, .op = TB_OP_FREE};
    if (!strcmp(kind, "twice"))
        b2.ev[b2.n++] = (tb_trace_event){.seq = seq++, .id = ids[0], .op = TB_OP_FREE};
    FILE *f = fopen(argv[2], "wb");
    if (!f)
        return 1;
    const char cmd[] = "forged\0trace";
    fwrite(TB_TRACE_MAGIC, 1, 8, f);
    put32(f, !strcmp(kind, "future") ? 2 : TB_TRACE_VERSION);
    put32(f, !strcmp(kind, "torn") ? 0 : TB_TRACE_COMPLETE);
    put32(f, 2);
    put32(f, sizeof cmd);
    put64(f, b0.n + b1.n + b2.n - !strcmp(kind, "badcount"));
    put64(f, 0);
    fwrite(cmd, 1, sizeof cmd, f);
    block(f, &b0, 0);
    block(f, &b1, 0);
    block(f, &b2, !strcmp(kind, "torn") ? 13 : 0);
    return fclose(f) ? 1 : 0;
}
