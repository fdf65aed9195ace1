/* tmbench record: runs a program with the recorder preloaded (harness/record/recorder.c) and
 * passes its exit status through; tmbench trace-info: what a trace holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "spawn.h"
#include "trace.h"

/* The recorder library: beside this tmbench (the build tree), else where install put it,
 * relative to the binary (any prefix). */
static bool find_recorder(char *buf, size_t len)
{
    char self[4096];
    if (tb_self_exe(self, sizeof self)) {
        snprintf(buf, len, "%s/libtmbrecord.so", dirname(self));
        if (access(buf, R_OK) == 0)
            return true;
    }
    return tb_installed(TB_RECORDER_REL, buf, len);
}

static void record_usage(FILE *f)
{
    fprintf(f, "usage: tmbench record --out TRACE -- PROGRAM [ARGS...]\n"
               "  runs PROGRAM with tmbench's recorder preloaded and writes its allocation events to TRACE\n"
               "  (a new file; docs/TRACES.md gives the format). The exit status is PROGRAM's (128 + N when a\n"
               "  signal N ended it; its trace is then marked incomplete and is read up to its last whole event).\n"
               "  A program PROGRAM starts, or a child it forks, is not recorded.\n"
               "  exit 2: bad usage, TRACE exists, PROGRAM cannot be started.\n");
}

int tb_cmd_record(int argc, char **argv)
{
    const char *out = NULL;
    static const struct option lo[] = {{"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:h", lo, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            record_usage(stdout);
            return TB_EXIT_OK;
        } else
            return tb_usage_error("record", "unknown option; want --out TRACE -- PROGRAM [ARGS...]");
    }
    if (!out)
        return tb_usage_error("record", "want --out TRACE (a new file), then -- PROGRAM [ARGS...]");
    if (optind >= argc)
        return tb_usage_error("record", "no program to record: want -- PROGRAM [ARGS...] after --out %s", out);
    char lib[4200];
    if (!find_recorder(lib, sizeof lib))
        return tb_usage_error("record", "cannot find libtmbrecord.so beside tmbench or at %s (reinstall tmbench: "
                              "cmake --install puts it there)", lib);
    int tfd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (tfd < 0)
        return tb_usage_error("record", "cannot create %s: %s%s", out, strerror(errno),
                              errno == EEXIST ? " (it would be overwritten: remove it or choose another name)" : "");
    close(tfd);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return tb_usage_error("record", "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return tb_usage_error("record", "fork: %s", strerror(errno));
    if (pid == 0) {
        close(pipefd[0]);
        char pidbuf[32], pre[8400];
        snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
        const char *old = getenv("LD_PRELOAD");
        snprintf(pre, sizeof pre, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
        setenv("TMBENCH_TRACE", out, 1);
        setenv("TMBENCH_TRACE_PID", pidbuf, 1);
        setenv("LD_PRELOAD", pre, 1);
        execvp(argv[optind], argv + optind);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(127);
    }
    close(pipefd[1]);
    int e = 0;
    ssize_t got = read(pipefd[0], &e, sizeof e);
    close(pipefd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof e) {
        unlink(out);
        return tb_usage_error("record", "cannot start '%s': %s", argv[optind], strerror(e));
    }
    tb_trace t;
    char err[600];
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
    if (tb_trace_load(out, &t, err, sizeof err) != 0) {
        fprintf(stderr, "tmbench record: %s exited with %d; its trace: %s\n", argv[optind], rc, err);
        return rc;
    }
    fprintf(stderr, "tmbench record: %s: %" PRIu64 " events of %u thread%s, %s%s\n", out, t.events, t.threads, t.threads == 1 ? "" : "s",
            t.complete ? "complete" : "incomplete (the program did not exit normally)",
            WIFSIGNALED(st) ? "; the program was killed by a signal" : "");
    tb_trace_free(&t);
    return rc;
}

static void human(char *buf, size_t len, double v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4)
        v /= 1024, i++;
    snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

int tb_cmd_trace_info(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: tmbench trace-info TRACE\n  threads, events, sizes, peak live bytes, cross-thread frees and lifetimes of a trace\n"
               "  exit 2: not a readable, whole and consistent trace (the message gives the byte offset or the event)\n");
        return TB_EXIT_OK;
    }
    if (argc != 2)
        return tb_usage_error("trace-info", "want one TRACE (a file written by tmbench record)");
    tb_trace t;
    char err[600];
    if (tb_trace_load(argv[1], &t, err, sizeof err) != 0)
        return tb_usage_error("trace-info", "%s", err);
    char peak[32], maxs[32];
    human(peak, sizeof peak, (double)t.peak_live_bytes);
    human(maxs, sizeof maxs, (double)t.max_size);
    printf("trace      %s (%s)\n", argv[1], t.complete ? "complete" : "incomplete: read up to its last whole event");
    printf("program    %s\n", t.cmd);
    printf("threads    %u\n", t.threads);
    printf("events     %" PRIu64 ":", t.events);
    for (int op = 1; op < 8; op++)
        if (t.by_op[op])
            printf(" %s %" PRIu64, tb_trace_op_name(op), t.by_op[op]);
    printf("\n");
    if (t.dropped)
        printf("dropped    %" PRIu64 " frees of objects whose allocation the killed program never wrote\n", t.dropped);
    printf("objects    %" PRIu64 " made, %" PRIu64 " freed, %" PRIu64 " still live at exit; largest %s\n", t.objects, t.frees,
           t.leaked, maxs);
    printf("peak live  %s requested\n", peak);
    printf("cross-thread frees  %" PRIu64 " of %" PRIu64 " (%.1f%%)\n", t.cross_frees, t.frees,
           t.frees ? 100.0 * (double)t.cross_frees / (double)t.frees : 0.0);
    printf("lifetime   median %.0f events, 90th percentile %.0f (freed objects, in the program's events)\n", t.life_p50, t.life_p90);
    printf("sizes      objects by size:\n");
    for (int i = 0; i < 65; i++)
        if (t.size_log2[i]) {
            char lo[32], hi[32];
            human(lo, sizeof lo, i ? (double)((uint64_t)1 << i) : 0);
            human(hi, sizeof hi, i < 64 ? (double)((uint64_t)1 << (i + 1)) : 18446744073709551616.0);
            printf("  %10s to < %-10s %10" PRIu64 "  %5.1f%%\n", lo, hi, t.size_log2[i],
                   100.0 * (double)t.size_log2[i] / (double)t.objects);
        }
    tb_trace_free(&t);
    return TB_EXIT_OK;
}
