/* results.csv: tidy rows, one per cell repetition, written whole and synced so that a killed
 * run never leaves a torn row; read back for resume, merge, plot and compare. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "workload.h"

const char *const tb_col_names[TB_NCOLS] = {
#define X(c, who, kind) #c,
    TB_COLUMNS(X)
#undef X
};

#define CELL false
#define WORKER true
const bool tb_col_from_worker[TB_NCOLS] = {
#define X(c, who, kind) who,
    TB_COLUMNS(X)
#undef X
};
#undef CELL
#undef WORKER

enum col_kind { TEXT, KEY, WHOLE, COUNT, REAL, RATE, SIGNED };
static const enum col_kind col_kind[TB_NCOLS] = {
#define X(c, who, kind) kind,
    TB_COLUMNS(X)
#undef X
};

int tb_col_index(const char *name)
{
    for (int c = 0; c < TB_NCOLS; c++)
        if (strcmp(tb_col_names[c], name) == 0)
            return c;
    return -1;
}

static const struct {
    const char *name, *help;
    bool good;
} statuses[TB_NSTATUS] = {
#define X(s, g, h) [TB_ST_##s] = {#s, h, g},
    TB_STATUSES(X)
#undef X
};

const char *tb_status_name(tb_status s) { return s >= 0 && s < TB_NSTATUS ? statuses[s].name : ""; }
const char *tb_status_help(tb_status s) { return s >= 0 && s < TB_NSTATUS ? statuses[s].help : ""; }
bool tb_status_good(tb_status s) { return s >= 0 && s < TB_NSTATUS && statuses[s].good; }

tb_status tb_status_parse(const char *s)
{
    for (int i = 0; s && i < TB_NSTATUS; i++)
        if (strcmp(statuses[i].name, s) == 0)
            return (tb_status)i;
    return TB_STATUS_NONE;
}

tb_status tb_row_status(const tb_row *r) { return tb_status_parse(tb_row_get(r, TB_COL_status)); }

void tb_row_set(tb_row *r, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->v[col]);
    if (vasprintf(&r->v[col], fmt, ap) < 0)
        r->v[col] = NULL;
    va_end(ap);
}

void tb_row_clear(tb_row *r)
{
    for (int i = 0; i < TB_NCOLS; i++) {
        free(r->v[i]);
        r->v[i] = NULL;
    }
}

const char *tb_row_get(const tb_row *r, int col) { return r->v[col] ? r->v[col] : ""; }

double tb_row_num(const tb_row *r, int col)
{
    const char *s = tb_row_get(r, col);
    if (!*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

void tb_row_key(const tb_row *r, char *buf, size_t len, bool with_rep)
{
    snprintf(buf, len, "%s|%s|%s|%s|%s|%s%s%s", tb_row_get(r, TB_COL_allocator),
             tb_row_get(r, TB_COL_workload), tb_row_get(r, TB_COL_params),
             tb_row_get(r, TB_COL_threads), tb_row_get(r, TB_COL_object_size), tb_row_size_dist(r),
             with_rep ? "|" : "", with_rep ? tb_row_get(r, TB_COL_rep) : "");
}

const char *tb_row_size_dist(const tb_row *r)
{
    const char *s = tb_row_get(r, TB_COL_sizes);
    return strspn(s, "0123456789") == strlen(s) ? "" : s;
}

bool tb_row_sizes_match(const tb_row *r, const tb_sizes *s)
{
    if (s->dist == TB_SIZE_FIXED)
        return !*tb_row_size_dist(r);
    char tok[48];
    tb_sizes_format(s, tok, sizeof tok);
    return strcmp(tok, tb_row_size_dist(r)) == 0;
}

void tb_size_label(size_t object_size, const char *size_dist, char *buf, size_t len)
{
    if (!*size_dist) {
        snprintf(buf, len, "%zuB", object_size);
        return;
    }
    const char *colon = strchr(size_dist, ':');
    if (colon)
        snprintf(buf, len, "%.*sB%s", (int)(colon - size_dist), size_dist, colon);
    else
        snprintf(buf, len, "%sB", size_dist);
}

/* The sizes column against object_size: empty (a file older than the column), the size
 * itself, or a range (sizes.h) whose upper bound it is. NULL when consistent, else why not. */
static const char *bad_sizes(const tb_row *r)
{
    const char *s = tb_row_get(r, TB_COL_sizes), *os = tb_row_get(r, TB_COL_object_size);
    if (!*s)
        return NULL;
    tb_sizes v;
    char why[400];
    if (tb_sizes_parse(s, &v, why, sizeof why) != 0)
        return "is not a size or a range of sizes (8-1000, 8-1000:log)";
    char hi[24];
    snprintf(hi, sizeof hi, "%u", v.hi);
    return strcmp(hi, os) == 0 ? NULL : "does not agree with object_size (a size, or a range whose upper bound it is)";
}

/* Quotes a field when it holds a separator, a quote or a newline (RFC 4180). */
static void put_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* The settings as columns of their own, after TB_COLUMNS: p_<key> for every parameter key of
 * every registered workload, sorted, so that pandas, R or seaborn can facet on a swept setting
 * without parsing `params`. Derived from params at write time; readers take them as they come. */
enum { MAX_PKEYS = 64 };
static size_t param_keys(const char **out)
{
    size_t n = 0;
    for (int w = 0; tb_workloads[w]; w++)
        for (int k = 0; tb_workloads[w]->params[k].key; k++) {
            const char *key = tb_workloads[w]->params[k].key;
            size_t at = 0;
            while (at < n && strcmp(out[at], key) < 0)
                at++;
            if ((at < n && strcmp(out[at], key) == 0) || n == MAX_PKEYS)
                continue;
            memmove(out + at + 1, out + at, (n - at) * sizeof *out);
            out[at] = key;
            n++;
        }
    return n;
}

/* The value of key in a params string "k=v;k=v", into buf ("" when absent). */
static const char *param_value(const char *params, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *s = params; *s;) {
        size_t l = strcspn(s, ";");
        if (l > kl && strncmp(s, key, kl) == 0 && s[kl] == '=') {
            snprintf(buf, len, "%.*s", (int)(l - kl - 1), s + kl + 1);
            break;
        }
        s += l + (s[l] == ';');
    }
    return buf;
}

/* The header line, as this tmbench writes it. */
static void header_line(char *buf, size_t len)
{
    size_t used = 0;
    for (int i = 0; i < TB_NCOLS && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", tb_col_names[i]);
    const char *keys[MAX_PKEYS];
    size_t nk = param_keys(keys);
    for (size_t i = 0; i < nk && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, ",p_%s", keys[i]);
}

int tb_csv_write_header(FILE *f)
{
    char h[2048];
    header_line(h, sizeof h);
    fputs(h, f);
    fputc('\n', f);
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

int tb_csv_append_row(FILE *f, const tb_row *r)
{
    /* Build the whole line first so that one write puts it down. */
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (!m)
        return -1;
    for (int i = 0; i < TB_NCOLS; i++) {
        if (i)
            fputc(',', m);
        put_field(m, tb_row_get(r, i));
    }
    const char *keys[MAX_PKEYS];
    size_t nk = param_keys(keys);
    const tb_workload *wl = tb_workload_find(tb_row_get(r, TB_COL_workload));
    for (size_t i = 0; i < nk; i++) {
        char v[256];
        fputc(',', m);
        param_value(tb_row_get(r, TB_COL_params), keys[i], v, sizeof v);
        if (!v[0] && wl) { /* a quiet key at its default is not in params: its column says it */
            int k = tb_param_index(wl, keys[i]);
            if (k >= 0 && wl->params[k].quiet)
                snprintf(v, sizeof v, "%s", wl->params[k].def);
        }
        put_field(m, v);
    }
    fputc('\n', m);
    fclose(m);
    off_t at = ftello(f);
    size_t w = fwrite(line, 1, len, f);
    free(line);
    if (w == len && fflush(f) == 0 && fsync(fileno(f)) == 0)
        return 0;
    /* A row is written whole or not at all: cut back to the last whole one. */
    int e = errno ? errno : EIO;
    clearerr(f);
    if (at >= 0 && ftruncate(fileno(f), at) == 0)
        fseeko(f, at, SEEK_SET);
    errno = e;
    return -1;
}

/* Splits one CSV record (no embedded newlines: the writer never emits them). */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return n + 1; /* too many */
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (!*p) {
                    break;
                } else {
                    *out++ = *p++;
                }
            }
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        char sep = *p;
        *out = '\0';
        fields[n++] = start;
        if (sep != ',')
            return n;
        p++;
    }
}

void tb_table_free(tb_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        tb_row_clear(&t->rows[i]);
    free(t->rows);
    free(t->line);
    for (size_t i = 0; i < t->ncols_file; i++)
        free(t->header[i]);
    free(t->header);
    memset(t, 0, sizeof *t);
}

int tb_csv_read(const char *path, tb_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    enum { MAXF = TB_NCOLS + MAX_PKEYS + 8 };
    int map[MAXF];
    size_t lineno = 0;
    char *fields[MAXF + 1];
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bool complete = len > 0 && line[len - 1] == '\n';
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!complete && lineno > 1)
            break; /* a torn last row from a killed run: not data */
        if (len == 0)
            continue;
        size_t nf = split(line, fields, MAXF);
        if (lineno == 1) {
            if (nf > MAXF) {
                snprintf(err, errlen, "%s: header has too many columns", path);
                goto bad;
            }
            t->header = calloc(nf, sizeof *t->header);
            t->ncols_file = nf;
            for (size_t i = 0; i < nf; i++) {
                t->header[i] = strdup(fields[i]);
                map[i] = tb_col_index(fields[i]);
                if (map[i] < 0 && strncmp(fields[i], "p_", 2) == 0)
                    continue; /* a setting as its own column: derived from params, not read */
                if (map[i] < 0) {
                    snprintf(err, errlen,
                             "%s: unknown column '%s' in the header (a tmbench results.csv starts "
                             "with run_id,allocator,allocator_version,...)",
                             path, fields[i]);
                    goto bad;
                }
            }
            for (int c = 0; c <= TB_COL_error; c++) {
                bool found = false;
                for (size_t i = 0; i < nf; i++)
                    found |= map[i] == c;
                if (!found) {
                    snprintf(err, errlen, "%s: the header lacks the column '%s'", path,
                             tb_col_names[c]);
                    goto bad;
                }
            }
            continue;
        }
        if (nf != t->ncols_file) {
            snprintf(err, errlen, "%s:%zu: %zu fields where the header has %zu", path, lineno, nf,
                     t->ncols_file);
            goto bad;
        }
        if (t->n == t->cap) {
            size_t ncap = t->cap ? t->cap * 2 : 256;
            tb_row *rows = realloc(t->rows, ncap * sizeof *rows);
            if (rows)
                t->rows = rows;
            size_t *lines = rows ? realloc(t->line, ncap * sizeof *lines) : NULL;
            if (!lines) {
                snprintf(err, errlen, "%s: out of memory at line %zu", path, lineno);
                goto bad;
            }
            t->line = lines;
            t->cap = ncap;
        }
        t->line[t->n] = lineno;
        tb_row *r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        for (size_t i = 0; i < nf; i++)
            if (fields[i][0] && map[i] >= 0 && !r->v[map[i]])
                r->v[map[i]] = strdup(fields[i]);
    }
    free(line);
    fclose(f);
    if (lineno == 0) {
        snprintf(err, errlen, "%s is empty: no header, no rows", path);
        tb_table_free(t);
        return -1;
    }
    return 0;
bad:
    free(line);
    fclose(f);
    tb_table_free(t);
    return -1;
}

FILE *tb_csv_open_append(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0) {
        FILE *f = fopen(path, "w");
        if (!f || tb_csv_write_header(f) != 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            if (f)
                fclose(f);
            return NULL;
        }
        return f;
    }
    FILE *f = fopen(path, "r+");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* Rows go only under this tmbench's own, whole header: under another version's columns or
     * a torn header they would be rows no reader could place. */
    char want[2048], *line = NULL;
    size_t cap = 0;
    header_line(want, sizeof want);
    ssize_t n = getline(&line, &cap, f);
    bool whole = n > 0 && line[n - 1] == '\n';
    if (whole)
        line[--n] = '\0';
    bool same = whole && strcmp(line, want) == 0;
    free(line);
    if (!same) {
        snprintf(err, errlen, "%s: %s; nothing was written (run into a new --out, or compare the runs "
                              "as they are)", path,
                 !whole ? "its header line is torn or missing" : "its header is not this tmbench's columns");
        fclose(f);
        return NULL;
    }
    /* Drop a torn last line: keep everything up to the last newline. */
    off_t keep = st.st_size;
    char c;
    while (keep > 0) {
        fseeko(f, keep - 1, SEEK_SET);
        if (fread(&c, 1, 1, f) != 1 || c == '\n')
            break;
        keep--;
    }
    if (keep != st.st_size) {
        fflush(f);
        if (ftruncate(fileno(f), keep) != 0) {
            snprintf(err, errlen, "cannot drop the torn last line of %s: %s", path, strerror(errno));
            fclose(f);
            return NULL;
        }
    }
    fseeko(f, 0, SEEK_END);
    return f;
}

/* Why v is not a value of kind k, or NULL when it is. */
static const char *bad_value(enum col_kind k, const char *v)
{
    if (k == TEXT || (k != KEY && !*v))
        return NULL; /* empty = unknown, except for the cell's identity */
    if (k == KEY)
        return *v ? NULL : "is empty; it names the cell";
    if (k == WHOLE || k == COUNT) {
        if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 20)
            return k == COUNT ? "is not a whole number from 1" : "is not a whole number";
        if (k == COUNT && strspn(v, "0") == strlen(v))
            return "is 0; want a whole number from 1";
        return NULL;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || errno == ERANGE || !isfinite(d) || strspn(v, "0123456789.eE+-") != strlen(v))
        return "is not a finite number";
    if (k == REAL && d < 0)
        return "is negative";
    if (k == RATE && !(d > 0))
        return "is not above 0";
    return NULL;
}

static int cmp_key(const void *a, const void *b, void *ctx)
{
    char **keys = ctx;
    int c = strcmp(keys[*(const size_t *)a], keys[*(const size_t *)b]);
    return c ? c : (*(const size_t *)a < *(const size_t *)b ? -1 : 1);
}

int tb_table_check(const tb_table *t, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < TB_NCOLS; c++) {
            const char *v = tb_row_get(&t->rows[i], c);
            const char *why = bad_value(col_kind[c], v);
            if (!why && c == TB_COL_status && tb_status_parse(v) == TB_STATUS_NONE)
                why = "is not a status tmbench writes (tmbench list names them)";
            if (!why && c == TB_COL_sizes)
                why = bad_sizes(&t->rows[i]);
            if (why) {
                snprintf(err, errlen, "%s:%zu: column %s: '%.40s' %s", path, t->line[i], tb_col_names[c], v, why);
                return -1;
            }
        }
    /* No cell repetition twice: a duplicate would count as one more repetition. */
    char **keys = malloc((t->n ? t->n : 1) * sizeof *keys);
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
    int rc = 0;
    if (!keys || !idx) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
        t = NULL;
    }
    for (size_t i = 0; t && i < t->n; i++) {
        char k[1024];
        tb_row_key(&t->rows[i], k, sizeof k, true);
        keys[i] = strdup(k);
        idx[i] = i;
    }
    if (t) {
        qsort_r(idx, t->n, sizeof *idx, cmp_key, keys);
        for (size_t i = 1; i < t->n && rc == 0; i++)
            if (strcmp(keys[idx[i]], keys[idx[i - 1]]) == 0) {
                const tb_row *r = &t->rows[idx[i]];
                char label[64];
                tb_size_label((size_t)tb_row_num(r, TB_COL_object_size), tb_row_size_dist(r), label, sizeof label);
                snprintf(err, errlen, "%s:%zu: %s %s %s t=%s %s rep %s appears twice (also line %zu): a "
                                      "repetition is one row", path, t->line[idx[i]], tb_row_get(r, TB_COL_allocator),
                         tb_row_get(r, TB_COL_workload), tb_row_get(r, TB_COL_params), tb_row_get(r, TB_COL_threads),
                         label, tb_row_get(r, TB_COL_rep), t->line[idx[i - 1]]);
                rc = -1;
            }
        for (size_t i = 0; i < t->n; i++)
            free(keys[i]);
    }
    free(keys);
    free(idx);
    return rc;
}
