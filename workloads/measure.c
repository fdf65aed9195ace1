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

bool tb_check_slow(tb_run *r, const void *p, uint64_t tag, size_t size) /* size: the bytes checked */
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&r->corrupt, &expected, 1)) {
        const unsigned char *b = p;
        size_t at = 0;
        while (at < size && b[at] == ((const unsigned char *)&tag)[at % 8])
            at++;
        snprintf(r->corrupt_msg, sizeof r->corrupt_msg,
                 "object %p: byte %zu of its %zu-byte pattern changed between fill and free (overlap or stray write)",
                 p, at, size);
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

const char *tb_param_get(const tb_run *r, const char *key)
{
    const tb_workload *w = r->wl;
    int i = tb_param_index(w, key);
    if (i < 0)
        return NULL;
    return r->pval[i] ? r->pval[i] : w->params[i].def;
}

int tb_param_check(const tb_workload *w, int k, const char *v, char *err, size_t errlen)
{
    if (w->params[k].text)
        return 0; /* its workload's check says what it needs */
    const tb_param *p = &w->params[k];
    if (p->choices) {
        size_t vl = strlen(v);
        for (const char *q = p->choices; *q;) {
            size_t ql = strcspn(q, "|");
            if (ql == vl && vl && strncmp(q, v, vl) == 0)
                return 0;
            q += ql + (q[ql] ? 1 : 0);
        }
        snprintf(err, errlen, "-p %s=%s is not valid for %s: want %s", p->key, v, w->name, p->choices);
        return -1;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    bool whole = strspn(v, "0123456789") == strlen(v);
    if (!*v || *end || errno || !(d >= p->lo && d <= p->hi) || (!p->real && !whole)) {
        snprintf(err, errlen, "-p %s=%s is not valid for %s: want a %s from %.15g to %.15g", p->key, v,
                 w->name, p->real ? "number" : "whole number", p->lo, p->hi);
        return -1;
    }
    return 0;
}

int tb_param_f64(const tb_run *r, const char *key, double *out, char *err, size_t errlen)
{
    const tb_workload *w = r->wl;
    int k = tb_param_index(w, key);
    if (k < 0) {
        snprintf(err, errlen, "%s has no parameter '%s'", w->name, key);
        return -1;
    }
    const char *s = tb_param_get(r, key);
    if (tb_param_check(w, k, s, err, errlen) != 0)
        return -1;
    *out = strtod(s, NULL);
    return 0;
}

int tb_param_u64(const tb_run *r, const char *key, uint64_t *out, char *err, size_t errlen)
{
    double d;
    if (tb_param_f64(r, key, &d, err, errlen) != 0)
        return -1;
    *out = (uint64_t)d; /* checked whole and within bounds, all below 2^53: exact */
    return 0;
}

uint64_t tb_param_or0(const tb_run *r, const char *key)
{
    uint64_t v;
    char err[8];
    return tb_param_u64(r, key, &v, err, sizeof err) == 0 ? v : 0;
}

int tb_params_parse(const tb_workload *w, char *canon, tb_run *r, char *err, size_t errlen)
{
    r->wl = w;
    char *save = NULL;
    for (char *kv = strtok_r(canon, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        int i = tb_param_index(w, kv);
        if (i < 0) {
            snprintf(err, errlen, "%s has no parameter '%s'", w->name, kv);
            return -1;
        }
        r->pval[i] = eq + 1;
    }
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
    r->mark_live_bytes = 0;
    for (unsigned i = 0; i < r->threads; i++)
        r->mark_live_bytes += (long long)r->out[i].live_bytes;
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

void tb_out_of_memory(tb_run *r) { atomic_store_explicit(&r->oom, 1, memory_order_relaxed); }

void *tb_scratch(size_t n, size_t each)
{
    volatile char *p = calloc(n ? n : 1, each ? each : 1);
    size_t bytes = n * each; /* calloc refused an overflowing product */
    for (size_t i = 0; p && i < bytes; i += 4096)
        p[i] = 0; /* volatile: a store the compiler keeps, though calloc's memory is zero */
    return (void *)p;
}
