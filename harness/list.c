/* tmbench list: what can be measured here. For preloaded allocators, availability and version
 * come from a real worker probe, so `list` proves the same thing a run would. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb.h"

void tb_presets_print(FILE *f);

/* Runs `tmbench __worker --probe` for a; fills version or why. Returns true when available. */
static bool probe(const tb_allocator *a, char *version, size_t vlen, char *why, size_t wlen)
{
    version[0] = why[0] = '\0';
    if (!tb_alloc_available(a, why, wlen))
        return false;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return true;
    self[sl] = '\0';
    int p[2];
    if (pipe(p) != 0)
        return true;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 3);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        const char *lib = tb_alloc_library(a);
        if (lib)
            setenv("LD_PRELOAD", lib, 1);
        else
            unsetenv("LD_PRELOAD");
        execl(self, "tmbench", "__worker", "--probe", "--allocator", a->name, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[2048];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    buf[n > 0 ? n : 0] = '\0';
    char *v = strstr(buf, "version="), *s = strstr(buf, "status="), *e = strstr(buf, "error=");
    if (v)
        snprintf(version, vlen, "%.*s", (int)strcspn(v + 8, "\n"), v + 8);
    if (s && strncmp(s + 7, "ok", 2) == 0)
        return true;
    snprintf(why, wlen, "%.*s", e ? (int)strcspn(e + 6, "\n") : 20, e ? e + 6 : "probe failed");
    return false;
}

int tb_cmd_list(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: tmbench list\nLists allocators (with availability and version here), workloads\n"
               "(with what one op is and their parameters) and presets.\n");
        return 0;
    }
    if (argc > 1)
        return tb_usage_error("list", "unexpected argument '%s' (list takes none)", argv[1]);
    printf("allocators:\n");
    for (const tb_allocator *a = tb_allocators; a->name; a++) {
        if (a->hidden)
            continue;
        char version[128], why[512];
        bool ok = probe(a, version, sizeof version, why, sizeof why);
        printf("  %-18s %-13s %-10s %s%s%s\n", a->name, ok ? "available" : "UNAVAILABLE",
               version[0] ? version : "-", a->desc, ok ? "" : " -- ", ok ? "" : why);
    }
    printf("\nworkloads:\n");
    for (int i = 0; tb_workloads[i]; i++) {
        const tb_workload *w = tb_workloads[i];
        printf("  %-11s %s\n", w->name, w->desc);
        printf("  %-11s one op: %s; threads: %s%s\n", "", w->op, w->threads_note,
               w->cross_thread ? "; frees across threads" : "");
        for (int k = 0; w->params[k].key; k++) {
            const tb_param *q = &w->params[k];
            char valid[96];
            if (q->choices)
                snprintf(valid, sizeof valid, "%s", q->choices);
            else
                snprintf(valid, sizeof valid, "%.15g..%.15g", q->lo, q->hi);
            printf("  %-11s -p %s=%s  %s (%s)\n", "", q->key, q->def, q->help, valid);
        }
    }
    printf("\npresets:\n");
    tb_presets_print(stdout);
    return 0;
}
