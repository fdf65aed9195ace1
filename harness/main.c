/* tmbench: parses the subcommand and dispatches. Nothing else lives here. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name, *help;
    int (*fn)(int, char **);
    bool hidden;
} commands[] = {
    {.name = "list", .help = "allocators and workloads, their parameters, availability here", .fn = tb_cmd_list, .hidden = false},
    {.name = "run", .help = "run the benchmark matrix into results/<run-id>/", .fn = tb_cmd_run, .hidden = false},
    {.name = "merge", .help = "join the results of shards into one run", .fn = tb_cmd_merge, .hidden = false},
    {.name = "plot", .help = "charts (gnuplot) and report.md/report.html from a run", .fn = tb_cmd_plot, .hidden = false},
    {.name = "compare", .help = "statistics between two runs, or allocators of one run; exit 1 on a regression", .fn = tb_cmd_compare, .hidden = false},
    {.name = "export", .help = "a run as Google Benchmark JSON or Bencher Metric Format, for CI services", .fn = tb_cmd_export, .hidden = false},
    {.name = "record", .help = "run a program and record its allocations into a trace (the replay workload)", .fn = tb_cmd_record, .hidden = false},
    {.name = "trace-info", .help = "what a recorded trace holds: threads, sizes, peak live bytes, lifetimes", .fn = tb_cmd_trace_info, .hidden = false},
    {.name = "__worker", .help = "internal: one cell in a fresh process", .fn = tb_cmd_worker, .hidden = true},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tmbench COMMAND [options]   (tmbench COMMAND --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!commands[i].hidden)
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`tmbench help COMMAND` is `tmbench COMMAND --help`; `tmbench --version` (or -V) the version.\n"
               "exit codes: 0 success, 1 some cell not ok (run) or a regression (compare),\n"
               "            2 usage or input error, 4 an output file could not be written, 130 interrupted\n");
}

static int find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            return (int)i;
    return -1;
}

static int unknown(const char *what)
{
    fprintf(stderr, "tmbench: unknown command '%s' (valid:", what);
    for (size_t i = 0, n = 0; i < sizeof commands / sizeof *commands; i++)
        if (!commands[i].hidden)
            fprintf(stderr, "%s %s", n++ ? "," : "", commands[i].name);
    fprintf(stderr, "; tmbench --help)\n");
    return TB_EXIT_USAGE;
}

/* Runs command i on argv (argv[0] its name): getopt's own messages ("unrecognized option") then
 * start "tmbench CMD:", as every other error of the subcommand does. */
static int dispatch(size_t i, int argc, char **argv)
{
    static char name[64];
    snprintf(name, sizeof name, "tmbench %s", commands[i].name);
    argv[0] = name;
    return commands[i].fn(argc, argv);
}

int main(int argc, char **argv)
{
    /* A bare tmbench says what it can do, at once: it used to start a minute-long run. */
    if (argc < 2) {
        usage(stderr);
        return TB_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || (strcmp(argv[1], "help") == 0 && argc == 2)) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) { /* help COMMAND: that command's --help */
        int i = find(argv[2]);
        if (i < 0 || commands[i].hidden)
            return unknown(argv[2]);
        char *args[] = {argv[2], "--help", NULL};
        return dispatch((size_t)i, 2, args);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("tmbench %s (%s)\n", TB_VERSION, tb_git_commit());
        return 0;
    }
    int i = find(argv[1]);
    if (i >= 0)
        return dispatch((size_t)i, argc - 1, argv + 1);
    if (argv[1][0] == '-') /* flags alone: a run */
        return dispatch((size_t)find("run"), argc, argv);
    return unknown(argv[1]);
}
