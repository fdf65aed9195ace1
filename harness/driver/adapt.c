/* --reps auto (adapt.h): which cells still need rounds, judged from the rows written so far. */
#define _GNU_SOURCE
#include "adapt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "stats.h"

/* A distinct cell of the matrix and what its rows say. */
typedef struct cell_state {
    const tb_cell *cell;
    int twin;          /* index of the X / X@tag partner, or -1 */
    unsigned next_rep; /* the next free repetition number */
    double half_pct;   /* the 95% interval's half-width, percent; NAN when not yet reached */
    bool any_ok, converged;
} cell_state;

static bool same_cell(const tb_cell *a, const tb_cell *b) { return tb_cell_same_point(a, b); }

static bool is_twin(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    const char *s = la < lb ? a : b, *l = la < lb ? b : a;
    size_t ls = la < lb ? la : lb;
    return la != lb && strncmp(s, l, ls) == 0 && l[ls] == '@';
}

static bool row_is(const tb_row *r, const tb_cell *c)
{
    return strcmp(tb_row_get(r, TB_COL_allocator), c->alloc->name) == 0 &&
           strcmp(tb_row_get(r, TB_COL_workload), c->wl->name) == 0 &&
           strcmp(tb_row_get(r, TB_COL_params), c->params) == 0 && tb_row_num(r, TB_COL_threads) == c->threads &&
           tb_row_num(r, TB_COL_object_size) == (double)c->size && tb_row_sizes_match(r, &c->sizes);
}

/* ops/s of cell c in each repetition (NAN where not ok), index = rep, up to max; the count of
 * repetitions seen. */
static unsigned rep_values(const tb_table *t, const tb_cell *c, double *v, unsigned max, bool *any_ok)
{
    for (unsigned i = 0; i < max; i++)
        v[i] = NAN;
    unsigned n = 0;
    *any_ok = false;
    for (size_t i = 0; i < t->n; i++) {
        const tb_row *r = &t->rows[i];
        double rep = tb_row_num(r, TB_COL_rep);
        if (!row_is(r, c) || !(rep >= 0) || rep >= max)
            continue;
        if ((unsigned)rep + 1 > n)
            n = (unsigned)rep + 1;
        /* an interleaved row: its median over ABBA quads, the figure compare judges by default */
        int col = tb_row_get(r, TB_COL_slice_ops_per_sec)[0] ? TB_COL_slice_ops_per_sec : TB_COL_ops_per_sec;
        if (tb_row_status(r) == TB_ST_ok && tb_row_num(r, col) > 0) {
            v[(unsigned)rep] = tb_row_num(r, col);
            *any_ok = true;
        }
    }
    return n;
}

/* The distinct cells of the matrix, their twins, and their state after the rows in csv_path. */
static size_t assess(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, cell_state **out)
{
    cell_state *s = calloc(m->n ? m->n : 1, sizeof *s);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = s[j].cell->alloc == m->cells[i].alloc && same_cell(s[j].cell, &m->cells[i]);
        if (!seen)
            s[n++] = (cell_state){.cell = &m->cells[i], .twin = -1, .half_pct = NAN};
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j && same_cell(s[i].cell, s[j].cell) &&
                (is_twin(s[i].cell->alloc->name, s[j].cell->alloc->name) || m->duet_pairs))
                s[i].twin = (int)j; /* X and X@tag, or --duet/--interleave's two allocators */
    tb_table t;
    char err[512];
    bool have = tb_csv_read(csv_path, &t, err, sizeof err) == 0;
    static double v[TB_AUTO_MAX_REPS + 8], w[TB_AUTO_MAX_REPS + 8];
    for (size_t i = 0; have && i < n; i++) {
        unsigned reps = rep_values(&t, s[i].cell, v, TB_AUTO_MAX_REPS + 8, &s[i].any_ok);
        s[i].next_rep = reps;
        double d[TB_AUTO_MAX_REPS + 8];
        size_t nd = 0;
        if (s[i].twin >= 0) {
            bool twin_ok;
            unsigned treps = rep_values(&t, s[s[i].twin].cell, w, TB_AUTO_MAX_REPS + 8, &twin_ok);
            for (unsigned r = 0; r < reps && r < treps; r++)
                if (!isnan(v[r]) && !isnan(w[r]))
                    d[nd++] = log(v[r] / w[r]);
        } else {
            for (unsigned r = 0; r < reps; r++)
                if (!isnan(v[r]))
                    d[nd++] = log(v[r]);
        }
        if (nd < 2)
            continue;
        double lo, hi, est;
        bool reached;
        tb_hl_paired(d, nd, 0.05, &lo, &hi, &est, &reached);
        if (reached) {
            s[i].half_pct = (exp(hi - lo) - 1) / 2 * 100;
            /* a pair is judged by compare's signed-rank test, which needs enough pairs to reach
             * its alpha at all (8 for 0.01): closing earlier would leave compare unpaired */
            s[i].converged = s[i].half_pct <= ad->target_pct &&
                             (s[i].twin < 0 || tb_sr_min_p(nd) <= TB_ALPHA_DEFAULT);
        }
    }
    if (have)
        tb_table_free(&t);
    *out = s;
    return n;
}

static bool open_cell(const cell_state *s)
{
    return s->any_ok && !s->converged && s->next_rep < TB_AUTO_MAX_REPS;
}

size_t tb_adapt_round(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, uint64_t *rng, tb_cell *out)
{
    cell_state *s;
    size_t n = assess(ad, m, csv_path, &s), k = 0;
    for (size_t i = 0; i < n; i++) {
        bool want = open_cell(&s[i]) || (s[i].twin >= 0 && open_cell(&s[s[i].twin]));
        if (!want || (!s[i].any_ok && s[i].twin < 0))
            continue;
        out[k] = *s[i].cell;
        out[k].rep = s[i].next_rep;
        k++;
    }
    free(s);
    for (size_t i = k; i > 1; i--) {
        size_t j = (size_t)(tb_splitmix(rng) % i);
        tb_cell tmp = out[i - 1];
        out[i - 1] = out[j];
        out[j] = tmp;
    }
    tb_matrix_pair_twins(out, k, m->duet_pairs);
    return k;
}

cJSON *tb_adapt_summary(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, unsigned rounds)
{
    cell_state *s;
    size_t n = assess(ad, m, csv_path, &s);
    cJSON *root = cJSON_CreateObject(), *cells = cJSON_CreateArray();
    cJSON_AddNumberToObject(root, "target_pct", ad->target_pct);
    cJSON_AddNumberToObject(root, "budget_s", ad->budget_s);
    cJSON_AddNumberToObject(root, "extra_rounds", rounds);
    size_t conv = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "allocator", s[i].cell->alloc->name);
        cJSON_AddStringToObject(c, "workload", s[i].cell->wl->name);
        cJSON_AddStringToObject(c, "params", s[i].cell->params);
        cJSON_AddNumberToObject(c, "threads", s[i].cell->threads);
        cJSON_AddNumberToObject(c, "object_size", (double)s[i].cell->size);
        char sizes[48];
        tb_sizes_format(&s[i].cell->sizes, sizes, sizeof sizes);
        cJSON_AddStringToObject(c, "sizes", sizes);
        cJSON_AddNumberToObject(c, "reps", s[i].next_rep);
        if (isnan(s[i].half_pct))
            cJSON_AddNullToObject(c, "half_width_pct");
        else
            cJSON_AddNumberToObject(c, "half_width_pct", s[i].half_pct);
        cJSON_AddBoolToObject(c, "converged", s[i].converged);
        cJSON_AddStringToObject(c, "judged_on", s[i].twin >= 0 ? "its partner, paired by round" : "its own throughput");
        cJSON_AddItemToArray(cells, c);
        conv += s[i].converged;
    }
    cJSON_AddNumberToObject(root, "converged", (double)conv);
    cJSON_AddNumberToObject(root, "cells", (double)n);
    cJSON_AddItemToObject(root, "per_cell", cells);
    free(s);
    return root;
}
