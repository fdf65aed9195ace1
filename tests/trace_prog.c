/* A program for tmbench record to record (tests/test_trace.sh):
 *   trace_prog STATUS [kill|single]
 * Four threads: each makes 1000 objects of the whole malloc family; the main thread frees
 * another thread's half (cross-thread frees) and reallocs some; a forked child allocates too
 * (and must not be recorded). Exits with STATUS, or with "kill" raises SIGKILL midway; "single"
 * runs the four threads' work one after another on the main thread, and forks nothing. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER 1000
static void *objs[4][PER];

static void *work(void *arg)
{
    void **o = arg;
    for (int i = 0; i < PER; i++) {
        switch (i % 6) {
        case 0: o[i] = malloc(16 + i); break;
        case 1: o[i] = calloc(3, 40); break;
        case 2: if (posix_memalign(&o[i], 64, 200)) o[i] = NULL; break;
        case 3: o[i] = aligned_alloc(32, 96); break;
        case 4: o[i] = memalign(128, 300); break;
        default: o[i] = valloc(100); break;
        }
        if (o[i])
            memset(o[i], 1, 16);
    }
    for (int i = PER / 2; i < PER; i++) /* its own second half */
        free(o[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 0;
    bool single = argc > 2 && strcmp(argv[2], "single") == 0;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (single)
            work(objs[i]);
        else
            pthread_create(&t[i], NULL, work, objs[i]);
    for (int i = 0; i < 4 && !single; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < PER / 2; k++) {
            if (k % 10 == 0)
                objs[i][k] = realloc(objs[i][k], 5000);
            free(objs[i][k]);
        }
    pid_t c = single ? 1 : fork();
    if (c == 0) {
        for (int i = 0; i < 1000; i++)
            free(malloc(64));
        _exit(0);
    }
    if (!single)
        waitpid(c, NULL, 0);
    void *leak = malloc(77);
    (void)leak;
    if (argc > 2 && strcmp(argv[2], "kill") == 0)
        raise(SIGKILL);
    return status;
}
