/* The conventions every subcommand shares (cli.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TB_GIT_COMMIT
#define TB_GIT_COMMIT "unknown"
#endif

const char *tb_git_commit(void) { return TB_GIT_COMMIT; }

int tb_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tmbench %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return TB_EXIT_USAGE;
}

const char *tb_find_in_path(const char *name)
{
    static char buf[4200];
    const char *path = getenv("PATH");
    char *dup = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof buf, "%s/%s", d, name);
        if (access(buf, X_OK) == 0) {
            free(dup);
            return buf;
        }
    }
    free(dup);
    return NULL;
}
