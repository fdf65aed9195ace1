/* One cell repetition of `tmbench run`: the worker's arguments (proto.h), the worker itself
 * (spawn.h), under callgrind when instructions are counted that way, and the row its reply
 * makes, with a status that says how it ended. A crash, a hang or garbage costs this cell only. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "run.h"
#include "spawn.h"

static void worker_args(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *c, bool callgrind,
                        tb_wargs *a)
{
    tb_wargs_init(a);
    tb_wargs_add(a, TB_WOPT_allocator, c->alloc->name);
    tb_wargs_add(a, TB_WOPT_workload, c->wl->name);
    tb_wargs_add(a, TB_WOPT_params, c->params);
    tb_wargs_addf(a, TB_WOPT_threads, "%u", c->threads);
    tb_wargs_addf(a, TB_WOPT_size, "%zu", c->size);
    if (c->sizes.dist != TB_SIZE_FIXED) {
        char sizes[48];
        tb_sizes_format(&c->sizes, sizes, sizeof sizes);
        tb_wargs_addf(a, TB_WOPT_sizes, "%s", sizes);
    }
    tb_wargs_addf(a, TB_WOPT_sample, "%u", rc->sample);
    tb_wargs_addf(a, TB_WOPT_seed, "%llu", (unsigned long long)(rc->seed + c->rep));
    if (m->duration > 0)
        tb_wargs_addf(a, TB_WOPT_duration, "%.6f", tb_cell_seconds(m, c->wl));
    else
        tb_wargs_addf(a, TB_WOPT_ops, "%llu", (unsigned long long)m->ops);
    if (rc->pin)
        tb_wargs_add(a, TB_WOPT_pin, NULL);
    for (int i = 0; i < rc->nusers; i++)
        tb_wargs_add(a, TB_WOPT_user, rc->users[i]);
    if (rc->against)
        tb_wargs_add(a, TB_WOPT_against, rc->against);
    if (rc->instructions && (rc->perf || callgrind))
        tb_wargs_add(a, TB_WOPT_count, rc->perf ? "perf" : "callgrind");
}

/* Sums the instructions callgrind counted in the workload's threads (files cg.out-02 and on:
 * thread 1 is the worker's main thread, which only starts and joins) and removes the files. */
static void callgrind_result(const char *cgout, tb_status st, tb_row *row)
{
    double total = 0;
    bool found = false;
    for (int t = 1; t < 4096; t++) {
        char path[4300];
        snprintf(path, sizeof path, "%s-%02d", cgout, t);
        FILE *f = fopen(path, "r");
        if (!f) {
            if (t > 2)
                break;
            continue;
        }
        char line[512];
        double v = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "totals: %lf", &v) == 1)
                break;
        fclose(f);
        unlink(path);
        if (t >= 2) {
            total += v;
            found = true;
        }
    }
    unlink(cgout); /* callgrind leaves an empty file under the plain name too */
    double nops = tb_row_num(row, TB_COL_ops);
    if (st != TB_ST_ok || !found || !(nops > 0))
        return;
    tb_row_set(row, TB_COL_instructions_per_op, "%.4f", total / nops);
    tb_row_set(row, TB_COL_count_method, "callgrind");
}

/* How the worker ended, when it did not say itself. */
static tb_status classify(const tb_run_ctx *rc, const tb_spawn_result *sr, tb_status said, tb_row *row)
{
    int st = sr->wait_status;
    if (sr->timed_out) {
        tb_row_set(row, TB_COL_error, "killed after --timeout %.0f s", rc->timeout);
        return TB_ST_timeout;
    }
    if (sr->stopped && said == TB_STATUS_NONE)
        return TB_ST_interrupted;
    if (WIFSIGNALED(st)) {
        const char *sig = sigabbrev_np(WTERMSIG(st));
        tb_row_set(row, TB_COL_error, "killed by SIG%s: %.180s", sig ? sig : "?", sr->stderr_tail);
        return TB_ST_crashed;
    }
    if (said == TB_STATUS_NONE) {
        tb_row_set(row, TB_COL_error, "worker exited with status %d and no result: %.180s",
                   WIFEXITED(st) ? WEXITSTATUS(st) : -1, sr->stderr_tail);
        return TB_ST_failed;
    }
    return said;
}

static void identity(tb_row *row, const tb_run_ctx *rc, const tb_cell *c)
{
    tb_row_set(row, TB_COL_allocator, "%s", c->alloc->name);
    tb_row_set(row, TB_COL_workload, "%s", c->wl->name);
    tb_row_set(row, TB_COL_params, "%s", c->params);
    tb_row_set(row, TB_COL_threads, "%u", c->threads);
    tb_row_set(row, TB_COL_object_size, "%zu", c->size);
    char sizes[48];
    tb_sizes_format(&c->sizes, sizes, sizeof sizes);
    tb_row_set(row, TB_COL_sizes, "%s", sizes);
    tb_row_set(row, TB_COL_rep, "%u", c->rep);
    tb_row_set(row, TB_COL_seed, "%llu", (unsigned long long)(rc->seed + c->rep));
}

/* One worker about to run: its arguments, and what spawning it takes. */
typedef struct job {
    tb_wargs a;
    bool callgrind;
    char cgout[4200], cgopt[4300];
    const char *cgargv[120];
    tb_spawn sp;
} job;

/* Builds the worker's command for cell c; cpus ("0" or "0,1"), when given, is the duet side's
 * CPU set. */
static void prepare(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *c, const char *cpus,
                    volatile pid_t *child, job *j)
{
    j->callgrind = rc->instructions && !rc->perf && c->threads == 1;
    worker_args(rc, m, c, j->callgrind, &j->a);
    if (cpus)
        tb_wargs_add(&j->a, TB_WOPT_cpus, cpus);
    /* callgrind: the worker under valgrind, instrumentation off until a timed region starts;
     * one output file per thread so that only the workload's threads are summed. */
    snprintf(j->cgout, sizeof j->cgout, "%s/cg.out", rc->tmpdir ? rc->tmpdir : "/tmp");
    if (j->callgrind) {
        snprintf(j->cgopt, sizeof j->cgopt, "--callgrind-out-file=%s", j->cgout);
        int k = 0;
        static const char *const pre[] = {"valgrind", "--tool=callgrind", "--quiet", "--instr-atstart=no",
                                          "--separate-threads=yes"};
        for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
            j->cgargv[k++] = pre[i];
        j->cgargv[k++] = j->cgopt;
        j->cgargv[k++] = rc->self;
        for (int i = 1; i <= j->a.n; i++) /* the worker's argv less its argv[0], and the NULL */
            j->cgargv[k++] = j->a.argv[i];
    }
    static const char *const cg_env[] = {"TMEMPOOL_VALGRIND=0", NULL}; /* count the pool's fast path, not its checks */
    j->sp = (tb_spawn){.path = j->callgrind ? rc->valgrind : rc->self,
                       .argv = j->callgrind ? j->cgargv : j->a.argv,
                       .preload = tb_alloc_library(c->alloc),
                       .env = j->callgrind ? cg_env : NULL,
                       .timeout = rc->timeout,
                       .stop = rc->stop,
                       .child = child};
}

/* The row of a worker that ran (or could not start: started false); reply is the part of its
 * reply that is this row's (all of it, but for an interleaved worker's two sides). */
static tb_status conclude(const tb_run_ctx *rc, const job *j, const tb_spawn_result *sr, const char *reply,
                          bool started, tb_row *row, char *said, size_t saidlen)
{
    tb_status st;
    said[0] = '\0';
    if (!started) {
        tb_row_set(row, TB_COL_error, "%s", sr->why);
        st = TB_ST_failed;
    } else {
        char *copy = strdup(reply);
        if (copy)
            tb_reply_parse(copy, row);
        free(copy);
        st = classify(rc, sr, tb_row_status(row), row);
        snprintf(said, saidlen, "%s", sr->stderr_text);
    }
    if (j->callgrind)
        callgrind_result(j->cgout, st, row);
    tb_row_set(row, TB_COL_status, "%s", tb_status_name(st));
    if (st != TB_ST_ok) { /* a failed cell has no trustworthy figures */
        tb_row_set(row, TB_COL_ops_per_sec, "%s", "");
        tb_row_set(row, TB_COL_ns_per_op, "%s", "");
    }
    return st;
}

tb_status tb_run_cell(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *c, tb_row *row,
                      char *said, size_t saidlen)
{
    job *j = malloc(sizeof *j);
    tb_spawn_result *sr = malloc(sizeof *sr);
    identity(row, rc, c);
    if (!j || !sr) {
        free(j);
        free(sr);
        tb_row_set(row, TB_COL_error, "out of memory");
        tb_row_set(row, TB_COL_status, "%s", tb_status_name(TB_ST_failed));
        said[0] = '\0';
        return TB_ST_failed;
    }
    prepare(rc, m, c, NULL, rc->child, j);
    bool started = tb_spawn_worker(&j->sp, sr) == 0;
    tb_status st = conclude(rc, j, sr, sr->reply, started, row, said, saidlen);
    free(j);
    free(sr);
    return st;
}

/* A pair's two rows: their identity and the column (duet, interleaved) that names the partner.
 * false, both rows failed, when ok is false (the jobs could not be allocated). */
static bool pair_rows(const tb_run_ctx *rc, const tb_cell *const c[2], int partner_col, bool ok, tb_row *row[2],
                      char *said[2], tb_status st[2])
{
    for (int i = 0; i < 2; i++) {
        identity(row[i], rc, c[i]);
        tb_row_set(row[i], partner_col, "%s", c[1 - i]->alloc->name);
        if (!ok) {
            tb_row_set(row[i], TB_COL_error, "out of memory");
            tb_row_set(row[i], TB_COL_status, "%s", tb_status_name(st[i] = TB_ST_failed));
            said[i][0] = '\0';
        }
    }
    return ok;
}

void tb_run_duet(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *const c[2], const char *const cpus[2],
                 tb_row *row[2], char *said[2], size_t saidlen, tb_status st[2])
{
    job *j = calloc(2, sizeof *j);
    tb_spawn_result *sr = calloc(2, sizeof *sr);
    if (!pair_rows(rc, c, TB_COL_duet, j && sr, row, said, st)) {
        free(j);
        free(sr);
        return;
    }
    for (int i = 0; i < 2; i++)
        prepare(rc, m, c[i], cpus[i], i == 0 ? rc->child : rc->child2, &j[i]);
    const tb_spawn *ss[2] = {&j[0].sp, &j[1].sp};
    tb_spawn_result *rr[2] = {&sr[0], &sr[1]};
    bool started = tb_spawn_workers(ss, rr, 2) == 0;
    for (int i = 0; i < 2; i++)
        st[i] = conclude(rc, &j[i], &sr[i], sr[i].reply, started, row[i], said[i], saidlen);
    free(j);
    free(sr);
}

void tb_run_interleaved(const tb_run_ctx *rc, const tb_matrix *m, const tb_cell *const c[2], tb_row *row[2],
                        char *said[2], size_t saidlen, tb_status st[2])
{
    job *j = malloc(sizeof *j);
    tb_spawn_result *sr = malloc(sizeof *sr);
    if (!pair_rows(rc, c, TB_COL_interleaved, j && sr, row, said, st)) {
        free(j);
        free(sr);
        return;
    }
    prepare(rc, m, c[0], NULL, rc->child, j);
    tb_wargs_add(&j->a, TB_WOPT_partner, c[1]->alloc->name);
    tb_wargs_addf(&j->a, TB_WOPT_slice, "%.6f", rc->slice_s);
    bool started = tb_spawn_worker(&j->sp, sr) == 0;
    /* the partner's part; a worker that ended before it split its reply said one thing for both */
    char *second = started ? tb_reply_split(sr->reply) : NULL;
    st[0] = conclude(rc, j, sr, sr->reply, started, row[0], said[0], saidlen);
    if (second || !started) {
        st[1] = conclude(rc, j, sr, second ? second : "", started, row[1], said[1], saidlen);
    } else if (st[0] == TB_ST_skipped) { /* the pair does not apply: nor does its second side */
        tb_row_set(row[1], TB_COL_error, "%s", tb_row_get(row[0], TB_COL_error));
        tb_row_set(row[1], TB_COL_status, "%s", tb_status_name(st[1] = TB_ST_skipped));
    } else { /* ended before its second side began: that side has no figures of its own */
        tb_row_set(row[1], TB_COL_error, "its interleaved partner %s ended %s: %.300s", c[0]->alloc->name,
                   tb_status_name(st[0]), tb_row_get(row[0], TB_COL_error));
        bool process = st[0] == TB_ST_crashed || st[0] == TB_ST_timeout || st[0] == TB_ST_interrupted;
        tb_row_set(row[1], TB_COL_status, "%s", tb_status_name(st[1] = process ? st[0] : TB_ST_failed));
    }
    said[1][0] = '\0'; /* one worker, one stderr: said once */
    free(j);
    free(sr);
}
