/* What a thread did inside its timed region besides time: instructions retired, for the
 * deterministic CI gate, and page faults. Instructions two ways: a perf_event_open counter per
 * thread (user-space instructions only) where the kernel allows it, or callgrind, which the
 * driver runs the worker under with instrumentation off until a timed region starts; the client
 * requests below switch it on and off (the driver then reads the totals callgrind writes). Page
 * faults from getrusage, read outside the instruction count. Nothing here runs inside the timed
 * loops. */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "workload.h"

static int perf_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1, -1, 0);
}

bool tb_count_perf_works(void)
{
    int fd = perf_open();
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* A first touch of fresh memory is a fault: on the 2-core VM 1-5 us each, a third of a cold-heap
 * replay's time, and the same call to the allocator costs a fault or none depending on what
 * its heap already had faulted in. */
static uint64_t thread_faults(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt : UINT64_MAX;
}

void tb_count_begin(tb_run *r, tb_thread_out *me)
{
    me->faults_at = thread_faults();
    if (r->count_mode == TB_COUNT_PERF) {
        me->perf_fd = perf_open();
        if (me->perf_fd >= 0)
            ioctl(me->perf_fd, PERF_EVENT_IOC_ENABLE, 0);
        else
            me->instructions = UINT64_MAX; /* this thread could not count: no figure for the cell */
    } else if (r->count_mode == TB_COUNT_CALLGRIND) {
        if (atomic_fetch_add(&r->counting, 1) == 0)
            CALLGRIND_START_INSTRUMENTATION;
    }
}

void tb_count_end(tb_run *r, tb_thread_out *me)
{
    if (r->count_mode == TB_COUNT_PERF) {
        if (me->perf_fd >= 0 && me->instructions != UINT64_MAX) {
            ioctl(me->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
            uint64_t v = 0;
            if (read(me->perf_fd, &v, sizeof v) == (ssize_t)sizeof v)
                me->instructions += v;
            close(me->perf_fd);
            me->perf_fd = -1;
        }
    } else if (r->count_mode == TB_COUNT_CALLGRIND) {
        if (atomic_fetch_sub(&r->counting, 1) == 1)
            CALLGRIND_STOP_INSTRUMENTATION;
    }
    uint64_t f = thread_faults();
    if (f == UINT64_MAX || me->faults_at == UINT64_MAX || f < me->faults_at)
        me->faults_bad = true;
    else
        me->faults += f - me->faults_at;
    me->faults_seen = true;
}
