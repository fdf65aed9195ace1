/* One worker process: fork, exec, supervise, collect (spawn.h). The reply comes over fd 3 so
 * that nothing the allocator or workload prints to stdout can be mistaken for it; stderr is
 * kept as a tail, since the last words of a crash matter most. */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool tb_self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* The worker never outlives its driver: it dies with it (parent-death signal, checked against
 * the race with a parent that died before the call), and it leads its own process group, so
 * that every kill reaches whatever it started too. Left running, an orphan takes a CPU from
 * every cell after it: tcache measured 31-35 instead of 76-82 Mops/s beside one. */
static void child(const tb_spawn *s, int res, int err, pid_t parent)
{
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    dup2(res, 3);
    dup2(err, 2);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
        dup2(devnull, 1);
    if (s->preload)
        setenv("LD_PRELOAD", s->preload, 1);
    else
        unsetenv("LD_PRELOAD");
    for (const char *const *e = s->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
            setenv(name, eq + 1, 1);
        }
    }
    signal(SIGINT, SIG_IGN); /* the driver decides; it kills the worker on Ctrl-C */
    execv(s->path, (char *const *)s->argv);
    dprintf(2, "exec %s: %s\n", s->path, strerror(errno));
    _exit(127);
}

/* Appends r bytes to a tail buffer of cap bytes that keeps the newest ones. */
static void keep_tail(char *buf, size_t cap, size_t *got, const char *in, size_t r)
{
    if (*got + r > cap) {
        size_t drop = *got + r - cap;
        if (drop > *got)
            drop = *got;
        memmove(buf, buf + drop, *got - drop);
        *got -= drop;
    }
    size_t take = r < cap ? r : cap;
    memcpy(buf + *got, in + r - take, take);
    *got += take;
}

/* One running worker: its pipes and what it has said so far. */
typedef struct running {
    pid_t pid;
    struct pollfd pf[2];
    int open_fds;
    size_t got, egot;
    char ebuf[4096];
    bool live;
} running;

static int start(const tb_spawn *s, tb_spawn_result *r, running *w)
{
    memset(r, 0, sizeof *r);
    memset(w, 0, sizeof *w);
    int res[2], errp[2];
    if (pipe2(res, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        snprintf(r->why, sizeof r->why, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(s, res[1], errp[1], parent);
    if (pid > 0)
        setpgid(pid, pid); /* also here, so that a kill right after fork finds the group */
    close(res[1]);
    close(errp[1]);
    if (pid < 0) {
        snprintf(r->why, sizeof r->why, "fork: %s", strerror(errno));
        close(res[0]);
        close(errp[0]);
        return -1;
    }
    if (s->child)
        *s->child = pid;
    w->pid = pid;
    w->pf[0] = (struct pollfd){res[0], POLLIN, 0};
    w->pf[1] = (struct pollfd){errp[0], POLLIN, 0};
    w->open_fds = 2;
    w->live = true;
    return 0;
}

static void drain(running *w, tb_spawn_result *r)
{
    for (int i = 0; i < 2; i++) {
        if (w->pf[i].fd < 0 || !(w->pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char tmp[4096];
        ssize_t n = read(w->pf[i].fd, tmp, sizeof tmp);
        if (n <= 0) {
            close(w->pf[i].fd);
            w->pf[i].fd = -1;
            w->open_fds--;
        } else if (i == 0) {
            size_t take = (size_t)n < sizeof r->reply - 1 - w->got ? (size_t)n : sizeof r->reply - 1 - w->got;
            memcpy(r->reply + w->got, tmp, take);
            w->got += take;
        } else {
            keep_tail(w->ebuf, sizeof w->ebuf, &w->egot, tmp, (size_t)n);
        }
    }
}

static void finish(const tb_spawn *s, tb_spawn_result *r, running *w)
{
    for (int i = 0; i < 2; i++)
        if (w->pf[i].fd >= 0)
            close(w->pf[i].fd);
    waitpid(w->pid, &r->wait_status, 0);
    if (s->child)
        *s->child = 0;
    r->reply[w->got] = '\0';
    size_t k = 0;
    for (size_t i = w->egot > 300 ? w->egot - 300 : 0; i < w->egot && k < sizeof r->stderr_tail - 1; i++)
        r->stderr_tail[k++] = w->ebuf[i] == '\n' || w->ebuf[i] == ',' ? ' ' : w->ebuf[i];
    r->stderr_tail[k] = '\0';
    size_t keep = w->egot < sizeof r->stderr_text - 1 ? w->egot : sizeof r->stderr_text - 1;
    memcpy(r->stderr_text, w->ebuf, keep);
    r->stderr_text[keep] = '\0';
}

int tb_spawn_workers(const tb_spawn *const *s, tb_spawn_result *const *r, size_t n)
{
    running w[TB_SPAWN_MAX];
    if (n > TB_SPAWN_MAX)
        return -1;
    size_t started = 0;
    for (; started < n; started++)
        if (start(s[started], r[started], &w[started]) != 0)
            break;
    if (started < n) { /* could not start them all: the ones running are stopped, every side fails */
        for (size_t i = 0; i < started; i++) {
            kill(-w[i].pid, SIGKILL);
            finish(s[i], r[i], &w[i]);
            snprintf(r[i]->why, sizeof r[i]->why, "%s", r[started]->why);
        }
        return -1;
    }
    const tb_spawn *s0 = s[0]; /* timeout and stop are the same for all */
    uint64_t deadline = s0->timeout > 0 ? now_ns() + (uint64_t)(s0->timeout * 1e9) : UINT64_MAX;
    for (;;) {
        struct pollfd pf[TB_SPAWN_MAX * 2];
        int np = 0, open_fds = 0;
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < 2; j++, np++) {
                pf[np] = w[i].pf[j];
                open_fds += w[i].pf[j].fd >= 0;
            }
        if (open_fds == 0 || (s0->stop && *s0->stop))
            break;
        uint64_t now = now_ns();
        if (now >= deadline) {
            for (size_t i = 0; i < n; i++)
                if (w[i].open_fds) {
                    r[i]->timed_out = true;
                    kill(-w[i].pid, SIGKILL);
                }
            break;
        }
        uint64_t left_ms = (deadline - now) / 1000000 + 1;
        if (poll(pf, (nfds_t)np, left_ms > 200 ? 200 : (int)left_ms) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < n; i++) {
            w[i].pf[0].revents = pf[2 * i].revents;
            w[i].pf[1].revents = pf[2 * i + 1].revents;
            drain(&w[i], r[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (s0->stop && *s0->stop) {
            r[i]->stopped = true;
            kill(-w[i].pid, SIGKILL);
        }
        finish(s[i], r[i], &w[i]);
    }
    return 0;
}

int tb_spawn_worker(const tb_spawn *s, tb_spawn_result *r)
{
    const tb_spawn *ss[1] = {s};
    tb_spawn_result *rr[1] = {r};
    return tb_spawn_workers(ss, rr, 1);
}
