/* Starting one worker process and collecting what it says: the one place that forks, execs,
 * supervises (timeout, interruption) and reads a worker's reply and stderr. run and list. */
#ifndef TB_SPAWN_H
#define TB_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct tb_spawn {
    const char *path;              /* what to exec: this tmbench, or valgrind in front of it */
    const char *const *argv;       /* NULL-terminated */
    const char *preload;           /* LD_PRELOAD for the worker; NULL: none (it is unset) */
    const char *const *env;        /* extra NAME=VALUE settings, NULL-terminated, or NULL */
    double timeout;                /* seconds; 0: none */
    volatile sig_atomic_t *stop;   /* when it becomes non-zero: kill the worker, return */
    volatile pid_t *child;         /* the running worker's pid, for a signal handler; or NULL */
} tb_spawn;

typedef struct tb_spawn_result {
    char reply[16384];      /* what the worker wrote to fd 3, NUL-terminated */
    char stderr_tail[400];  /* the last of its stderr, on one line, commas blanked */
    char stderr_text[4096]; /* the last of its stderr as it was */
    int wait_status;        /* waitpid's */
    bool timed_out, stopped;
    char why[200];          /* when tb_spawn_worker returns -1: what could not be done */
} tb_spawn_result;

/* Runs the worker to its end (or the timeout, or *stop). 0, or -1 when it could not be
 * started (pipe or fork failed; why says which). */
int tb_spawn_worker(const tb_spawn *s, tb_spawn_result *r);

/* Runs n workers at once (a duet: both sides of a pair at the same time), to the end of all, the
 * timeout of s[0], or *s[0]->stop. 0, or -1 when one could not be started (then none runs on). */
#define TB_SPAWN_MAX 2
int tb_spawn_workers(const tb_spawn *const *s, tb_spawn_result *const *r, size_t n);

/* This executable's path (for re-executing it as a worker); false when /proc cannot say. */
bool tb_self_exe(char *buf, size_t len);

#endif
