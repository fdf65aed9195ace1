/* The worker contract (proto.h): one option table for both sides, and the reply codec. */
#define _GNU_SOURCE
#include "proto.h"

#include <stdarg.h>
#include <string.h>

const struct option tb_worker_longopts[TB_NWOPTS + 1] = {
#define X(n, arg) {#n, arg, 0, TB_WOPT_VAL(TB_WOPT_##n)},
    TB_WORKER_OPTS(X)
#undef X
    {0, 0, 0, 0},
};

static const char *const flags[TB_NWOPTS] = {
#define X(n, arg) "--" #n,
    TB_WORKER_OPTS(X)
#undef X
};

void tb_wargs_init(tb_wargs *a)
{
    memset(a, 0, sizeof *a);
    a->argv[a->n++] = "tmbench";
    a->argv[a->n++] = "__worker";
}

void tb_wargs_add(tb_wargs *a, int opt, const char *value)
{
    if (a->n + 3 > (int)(sizeof a->argv / sizeof *a->argv))
        return; /* far more than the table has options: cannot happen */
    a->argv[a->n++] = flags[opt];
    if (tb_worker_longopts[opt].has_arg)
        a->argv[a->n++] = value ? value : "";
    a->argv[a->n] = NULL;
}

void tb_wargs_addf(tb_wargs *a, int opt, const char *fmt, ...)
{
    if (a->nstore == (int)(sizeof a->store / sizeof *a->store))
        return;
    char *buf = a->store[a->nstore++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof a->store[0], fmt, ap);
    va_end(ap);
    tb_wargs_add(a, opt, buf);
}

void tb_reply_put(FILE *f, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "%s=", tb_col_names[col]);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
}

int tb_reply_parse(char *text, tb_row *row)
{
    int unknown = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        int col = tb_col_index(line);
        if (col < 0 || !tb_col_from_worker[col]) {
            unknown++;
            continue;
        }
        tb_row_set(row, col, "%s", eq + 1);
    }
    return unknown;
}

void tb_reply_next_side(FILE *f) { fputs(TB_REPLY_NEXT_SIDE "\n", f); }

char *tb_reply_split(char *text)
{
    size_t n = strlen(TB_REPLY_NEXT_SIDE);
    for (char *p = text; (p = strstr(p, TB_REPLY_NEXT_SIDE)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
            *p = '\0';
            return p + n + (p[n] == '\n');
        }
    return NULL;
}
