/* Measurement helpers shared by every workload: the start barrier and clocks, the corrupt-object
 * report, parameter access, RSS, and the workload registry lookups. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

uint64_t tb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tb_begin(tb_run *r, tb_thread_out *me)
{
    pthread_barrier_wait(&r->start);
    tb_count_begin(r, me);
    me->t0 = tb_now_ns();
}

void tb_end(tb_run *r, tb_thread_out *me, uint64_t ops)
{
    me->t1 = tb_now_ns();
    tb_count_end(r, me);
    me->ops = ops;
}

bool tb_check_slow(tb_run *r, const void *p, uint64_t tag)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&r->corrupt, &expected, 1)) {
        const unsigned char *b = p;
        size_t at = 0;
        while (at < r->size && b[at] == ((const unsigned char *)&tag)[at % 8])
            at++;
        snprintf(r->corrupt_msg, sizeof r->corrupt_msg,
                 "object %p of %zu bytes: byte %zu changed between fill and free (overlap or stray write)",
                 p, r->size, at);
    }
    return false;
}

int tb_param_index(const tb_workload *w, const char *key)
{
    for (int i = 0; w->params[i].key; i++)
        if (strcmp(w->params[i].key, key) == 0)
            return i;
    return -1;
}

const char *tb_param_get(const tb_run *r, const tb_workload *w, const char *key)
{
    int i = tb_param_index(w, key);
    if (i < 0)
        return NULL;
    return r->pval[i] ? r->pval[i] : w->params[i].def;
}

int tb_param_u64(const tb_run *r, const tb_workload *w, const char *key, uint64_t lo, uint64_t hi,
                 uint64_t *out, char *err, size_t errlen)
{
    const char *s = tb_param_get(r, w, key);
    char *end;
    errno = 0;
    unsigned long long v = s && *s && *s != '-' ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *s == '-' || *end || errno || v < lo || v > hi) {
        snprintf(err, errlen, "%s: -p %s=%s is not valid: want a whole number from %" PRIu64 " to %" PRIu64,
                 w->name, key, s ? s : "", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

long tb_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long size, rss;
    int ok = fscanf(f, "%ld %ld", &size, &rss) == 2;
    fclose(f);
    return ok ? rss * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

void tb_mark(tb_run *r)
{
    r->mark_rss_kib = tb_rss_kib();
    tb_heap_stats st;
    if (r->heap->stats && r->heap->stats(r->heap->ctx, &st) == 0)
        r->mark_pool_bytes = (long long)st.bytes_reserved;
}

const tb_workload *tb_workload_find(const char *name)
{
    for (int i = 0; tb_workloads[i]; i++)
        if (strcmp(tb_workloads[i]->name, name) == 0)
            return tb_workloads[i];
    return NULL;
}
