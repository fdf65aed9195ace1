/* What every tmbench subcommand shares, and nothing more: the version, the exit codes, the
 * one-line usage error, finding a program on PATH, and the subcommands' entry points that
 * main.c dispatches to. */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_VERSION "0.1.0"

/* Exit codes, for every subcommand (documented in docs/BENCHMARKING.md and each --help). */
#define TB_EXIT_OK 0
#define TB_EXIT_CELLS 1 /* some cell is not ok or skipped; for compare: a regression */
#define TB_EXIT_USAGE 2
#define TB_EXIT_IO 4    /* an output file could not be written (disk full, I/O error); what was
                         * written before is whole, the run is incomplete */
#define TB_EXIT_INTERRUPTED 130

/* One message to stderr, "tmbench CMD: ...", and TB_EXIT_USAGE to return. */
int tb_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The commit this tmbench was built from, read at build time by harness/commit.cmake: "unknown"
 * outside git, with "-dirty" when tracked files differ from it. */
const char *tb_git_commit(void);

/* Strict numbers from the command line: the whole string, digits only for a whole number (no
 * sign, no space, no wrap past 2^64), a finite decimal for seconds; within [lo, hi]. */
bool tb_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
bool tb_parse_seconds(const char *s, double lo_exclusive, double hi, double *out);

/* NAME's path in $PATH (a static buffer), or NULL. */
const char *tb_find_in_path(const char *name);

/* Where this tmbench's installed files are, relative to the binary, so that an installed tree
 * works under any prefix and after a move (CMake fills in the relative paths): the chart
 * templates and the recorder. tb_installed writes <dir of /proc/self/exe>/<rel> into buf and
 * says whether it is readable. */
#ifndef TB_PLOTS_REL
#define TB_PLOTS_REL "../share/tmempool/plots"
#endif
#ifndef TB_RECORDER_REL
#define TB_RECORDER_REL "../lib/tmbench/libtmbrecord.so"
#endif
bool tb_installed(const char *rel, char *buf, size_t len);

/* The subcommands: driver/ (list, run, merge, __worker) and analysis/ (compare, plot). */
int tb_cmd_list(int argc, char **argv);
int tb_cmd_run(int argc, char **argv);
int tb_cmd_worker(int argc, char **argv);
int tb_cmd_merge(int argc, char **argv);
int tb_cmd_compare(int argc, char **argv);
int tb_cmd_plot(int argc, char **argv);
int tb_cmd_export(int argc, char **argv);
int tb_cmd_record(int argc, char **argv);
int tb_cmd_trace_info(int argc, char **argv);

#endif
