/* The worker contract, defined once: the options the driver (run, list) passes to
 * `tmbench __worker` and the worker parses, both from TB_WORKER_OPTS; and the worker's reply,
 * one "column=value" line per results.csv column it fills (csv.h's WORKER columns). */
#ifndef TB_PROTO_H
#define TB_PROTO_H

#include <getopt.h>
#include <stdio.h>

#include "csv.h"

/* name, takes a value (1) or is a flag (0) */
#define TB_WORKER_OPTS(X)                                                                       \
    X(allocator, 1) X(workload, 1) X(params, 1) X(threads, 1) X(size, 1) X(ops, 1)              \
    X(duration, 1) X(sample, 1) X(seed, 1) X(pin, 0) X(user, 1) X(against, 1) X(probe, 0)       \
    X(count, 1) X(cpus, 1) X(partner, 1) X(slice, 1) X(sizes, 1)

enum {
#define X(n, arg) TB_WOPT_##n,
    TB_WORKER_OPTS(X)
#undef X
        TB_NWOPTS
};
/* getopt_long returns TB_WOPT_VAL(i) for option i: clear of every single-letter code. */
#define TB_WOPT_VAL(i) (256 + (i))
extern const struct option tb_worker_longopts[TB_NWOPTS + 1];

/* The driver's side: argv for one worker, "tmbench __worker --opt value ...". */
typedef struct tb_wargs {
    const char *argv[96];
    int n;
    char store[32][64]; /* formatted values */
    int nstore;
} tb_wargs;
void tb_wargs_init(tb_wargs *a);
void tb_wargs_add(tb_wargs *a, int opt, const char *value); /* value NULL for a flag */
void tb_wargs_addf(tb_wargs *a, int opt, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The worker's side: one reply line for a column. */
void tb_reply_put(FILE *f, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The driver's side: the reply text (changed in place) into row's WORKER columns. Returns the
 * number of lines that named no such column (a worker from another build). */
int tb_reply_parse(char *text, tb_row *row);

/* An interleaved worker (--partner) replies for two sides: the first side's lines, this line,
 * then the partner's. A reader that does not know it skips it (it has no '='). */
#define TB_REPLY_NEXT_SIDE "--- partner ---"
void tb_reply_next_side(FILE *f);
/* Splits text at that line (in place): returns the partner's part, or NULL when there is none. */
char *tb_reply_split(char *text);

#endif
