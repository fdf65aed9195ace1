/* Reading a finished run back for plot and compare: find results.csv and meta.json from a
 * directory or a file, and gather the repetitions of each cell. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results.h"

int tb_results_read(const char *arg, tb_table *t, char *dir, size_t dirlen, char *err, size_t errlen)
{
    struct stat st;
    char path[4200];
    if (stat(arg, &st) != 0) {
        snprintf(err, errlen, "%s: %s (want a results directory or its results.csv)", arg, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/results.csv", arg);
        snprintf(dir, dirlen, "%s", arg);
    } else {
        snprintf(path, sizeof path, "%s", arg);
        const char *slash = strrchr(arg, '/');
        snprintf(dir, dirlen, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
    }
    if (tb_csv_read(path, t, err, errlen) != 0)
        return -1;
    if (t->n == 0) {
        snprintf(err, errlen, "%s has a header but no rows: nothing to read", path);
        tb_table_free(t);
        return -1;
    }
    return 0;
}

cJSON *tb_meta_read(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (err)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *more = realloc(text, cap);
            if (!more) {
                free(text);
                fclose(f);
                if (err)
                    snprintf(err, errlen, "%s: out of memory reading it", path);
                return NULL;
            }
            text = more;
        }
        size_t got = fread(text + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j && err)
        snprintf(err, errlen, "%s: not valid JSON", path);
    return j;
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

const char *tb_json_str(const cJSON *root, const char *a, const char *b)
{
    const cJSON *x = root ? cJSON_GetObjectItemCaseSensitive(root, a) : NULL;
    if (b)
        x = x ? cJSON_GetObjectItemCaseSensitive(x, b) : NULL;
    return cJSON_IsString(x) ? x->valuestring : "";
}

static int cmp_idx(const void *a, const void *b, void *ctx)
{
    const tb_table *t = ctx;
    const tb_row *x = &t->rows[*(const size_t *)a], *y = &t->rows[*(const size_t *)b];
    static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params};
    for (size_t i = 0; i < 3; i++) {
        int c = strcmp(tb_row_get(x, cols[i]), tb_row_get(y, cols[i]));
        if (c)
            return c;
    }
    double a1 = tb_row_num(x, TB_COL_threads), b1 = tb_row_num(y, TB_COL_threads);
    if (a1 != b1)
        return a1 < b1 ? -1 : 1;
    double a2 = tb_row_num(x, TB_COL_object_size), b2 = tb_row_num(y, TB_COL_object_size);
    if (a2 != b2)
        return a2 < b2 ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static bool same_cell(const tb_row *a, const tb_row *b)
{
    static const int cols[] = {TB_COL_allocator, TB_COL_workload, TB_COL_params, TB_COL_threads,
                               TB_COL_object_size};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        if (strcmp(tb_row_get(a, cols[i]), tb_row_get(b, cols[i])) != 0)
            return false;
    return true;
}

size_t tb_group_rows(const tb_table *t, int metric, tb_group **out)
{
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
    for (size_t i = 0; i < t->n; i++)
        idx[i] = i;
    qsort_r(idx, t->n, sizeof *idx, cmp_idx, (void *)t);
    tb_group *g = calloc(t->n ? t->n : 1, sizeof *g);
    size_t ng = 0;
    /* rows of a cell are adjacent once sorted: each group gets arrays of its own size */
    for (size_t start = 0, end; start < t->n; start = end) {
        const tb_row *first = &t->rows[idx[start]];
        for (end = start + 1; end < t->n && same_cell(first, &t->rows[idx[end]]); end++)
            ;
        tb_group *cur = &g[ng++];
        cur->allocator = tb_row_get(first, TB_COL_allocator);
        cur->workload = tb_row_get(first, TB_COL_workload);
        cur->params = tb_row_get(first, TB_COL_params);
        cur->threads = (unsigned)tb_row_num(first, TB_COL_threads);
        cur->size = (size_t)tb_row_num(first, TB_COL_object_size);
        cur->rows = malloc((end - start) * sizeof *cur->rows);
        cur->v = malloc((end - start) * sizeof *cur->v);
        for (size_t k = start; k < end; k++) {
            const tb_row *r = &t->rows[idx[k]];
            cur->rows[cur->nrows++] = r;
            const char *st = tb_row_get(r, TB_COL_status);
            if (strcmp(st, "ok") == 0) {
                double v = metric >= 0 ? tb_row_num(r, metric) : NAN;
                if (!isnan(v))
                    cur->v[cur->n++] = v;
                cur->nok++;
            } else if (strcmp(st, "skipped") == 0) {
                cur->nskipped++;
            } else if (!cur->nbad++) {
                cur->bad = r;
            }
        }
    }
    free(idx);
    *out = g;
    return ng;
}

void tb_groups_free(tb_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].rows);
        free(g[i].v);
    }
    free(g);
}

const tb_group *tb_group_find(const tb_group *g, size_t n, const char *allocator, const tb_group *like)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].allocator, allocator) == 0 && strcmp(g[i].workload, like->workload) == 0 &&
            strcmp(g[i].params, like->params) == 0 && g[i].threads == like->threads &&
            g[i].size == like->size)
            return &g[i];
    return NULL;
}
