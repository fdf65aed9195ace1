/* The run matrix: presets (data, one table), flags over them, the cell list in run order
 * (repetitions outer, a seeded shuffle inside each round so that machine drift falls evenly on
 * every allocator), and the deterministic shard slice. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "matrix.h"

typedef struct preset {
    const char *name, *desc;
    const char *allocators, *workloads, *threads, *sizes;
    int reps;
    uint64_t ops;
    double duration;
    /* -p settings the preset adds for keys the user did not set (sweeps: see expand below) */
    const char *params[4];
} preset;

/* falseshare runs in both of Hoard's modes: the two fail in different designs (a shared free
 * list hands a just-freed object to another thread; a cache keeps its own) */
#define BOTH_FALSESHARE_MODES {"handoff=yes,no"}

static const preset presets[] = {
    /* 0.1 s cells, not a fixed op count: 1M ops made a churn cell about 5 ms at 2 threads, short
     * enough that one stall of the VM's other CPU halved some repetitions (tcache 104-208 Mops/s
     * in one run), while a falseshare cell took 0.26 s; the total time is about the same */
    {.name = "quick",
     .desc = "every allocator and workload (falseshare in both modes), 1 and 2 threads, 64 B (larson and falseshare: their own sizes), 5 reps, 0.1 s a cell (larson, xmalloc: 0.5 s)",
     .allocators = "all", .workloads = "all", .threads = "1,2", .sizes = "64", .reps = 5, .duration = 0.1,
     .params = BOTH_FALSESHARE_MODES},
    {.name = "ci", .desc = "tmempool strategies and the floor, 1 thread, 64 B (larson, falseshare: their own), 5 reps, 200k ops: the CI gate",
     .allocators = "tmempool-global,tmempool-striped,tmempool-tcache,tmempool-numa,floor", .workloads = "all",
     .threads = "1", .sizes = "64", .reps = 5, .ops = 200000,
     .params = {"writes=100"}}, /* falseshare's 2000000 passes an object would take hours under callgrind */
    /* the trace list comes from scripts/bench.sh --preset real (scripts/real-traces.sh); the
     * op count is not used: a replay runs its trace once */
    {.name = "real",
     .desc = "replay of recorded programs (./scripts/bench.sh --preset real records python3, sqlite3 and cc1): every allocator, 1 thread, 5 reps",
     .allocators = "all", .workloads = "replay", .threads = "1", .sizes = "1-1048576", .reps = 5, .ops = 1},
    {.name = "full",
     .desc = "every allocator and workload (falseshare in both modes), 1..ncpu threads, 16/64/256 B (larson, falseshare: their own), 9 reps, 0.5 s a cell",
     .allocators = "all", .workloads = "all", .threads = "1,2,4,8,ncpu", .sizes = "16,64,256", .reps = 9,
     .duration = 0.5, .params = BOTH_FALSESHARE_MODES},
    {.name = NULL},
};

uint64_t tb_parse_ops(const char *s, bool *ok)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1e6, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1e9, end++;
    *ok = end != s && !*end && !errno && v * mul >= 1 && v * mul < 1e15;
    return *ok ? (uint64_t)(v * mul) : 0;
}

int tb_parse_sizes(const char *s, tb_sizes *out, int max, char *err, size_t errlen)
{
    int n = 0;
    for (const char *p = s;;) { /* an empty item ("64,,256") is an error, not skipped */
        size_t len = strcspn(p, ",");
        char tok[48], why[400];
        snprintf(tok, sizeof tok, "%.*s", (int)(len < 47 ? len : 47), p);
        tb_sizes v;
        if (len == 0 || len > 40 || tb_sizes_parse(tok, &v, why, sizeof why) != 0) {
            if (len == 0 || len > 40)
                snprintf(why, sizeof why, "%s; want a comma-separated list of sizes in bytes and ranges, e.g. 16,64,8-1000,16-4096:log",
                         len ? "an item is too long" : "an empty item");
            snprintf(err, errlen, "--sizes '%s': %s", s, why);
            return -1;
        }
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup |= tb_sizes_equal(&out[i], &v);
        if (!dup) {
            if (n == max) {
                snprintf(err, errlen, "--sizes '%s': at most %d values", s, max);
                return -1;
            }
            out[n++] = v;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    return n;
}

bool tb_cell_same_point(const tb_cell *a, const tb_cell *b)
{
    return a->wl == b->wl && a->threads == b->threads && a->size == b->size &&
           tb_sizes_equal(&a->sizes, &b->sizes) && strcmp(a->params, b->params) == 0;
}

int tb_parse_list_u(const char *s, unsigned *out, int max, const char *what, char *err, size_t errlen)
{
    bool threads = strcmp(what, "threads") == 0;
    const char *want = threads ? "a comma-separated list of thread counts from 1 to 4096, or ncpu (e.g. 1,2,4,ncpu)"
                               : "a comma-separated list of object sizes in bytes, from 1 to 1073741824 (e.g. 16,64,256)";
    int n = 0;
    /* split by hand: an empty item ("1,,2") is an error, not skipped */
    for (const char *p = s;; ) {
        size_t len = strcspn(p, ",");
        char tok[32];
        snprintf(tok, sizeof tok, "%.*s", (int)(len < 31 ? len : 31), p);
        uint64_t v = 0;
        bool ok = len > 0 && len < 31;
        if (ok && threads && strcmp(tok, "ncpu") == 0) {
            long c = sysconf(_SC_NPROCESSORS_ONLN);
            v = c > 0 ? (uint64_t)c : 1;
        } else if (ok) {
            ok = tb_parse_u64(tok, 1, threads ? 4096 : (1u << 30), &v);
        }
        if (!ok) {
            snprintf(err, errlen, "--%s '%s': %s%.*s%s; want %s", what, s, len ? "'" : "an empty item",
                     len ? (int)len : 0, p, len ? "' is not valid" : "", want);
            return -1;
        }
        bool dup_v = false;
        for (int i = 0; i < n; i++)
            dup_v |= out[i] == v;
        if (!dup_v) {
            if (n == max) {
                snprintf(err, errlen, "--%s '%s': at most %d values", what, s, max);
                return -1;
            }
            out[n++] = (unsigned)v;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    return n;
}

static size_t key_len(const char *setting)
{
    const char *eq = strchr(setting, '=');
    return eq ? (size_t)(eq - setting) : strlen(setting);
}

/* The index in w of the key of a "key=value" setting, or -1. */
static int setting_index(const tb_workload *w, const char *setting)
{
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)key_len(setting), setting);
    return tb_param_index(w, key);
}

int tb_params_canon(const tb_workload *w, const char *const *pset, int npset, char *out,
                    size_t outlen, char *err, size_t errlen)
{
    const char *val[TB_MAX_PARAMS] = {0};
    for (int i = 0; i < npset; i++) {
        int idx = setting_index(w, pset[i]);
        if (idx < 0)
            continue; /* checked against all chosen workloads by tb_matrix_build */
        const char *eq = strchr(pset[i], '=');
        val[idx] = eq ? eq + 1 : "";
    }
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; w->params[k].key; k++) {
        const char *v = val[k] ? val[k] : w->params[k].def;
        if (tb_param_check(w, k, v, err, errlen) != 0)
            return -1;
        if (strpbrk(v, ";,\"=\n")) {
            snprintf(err, errlen, "-p %s=%s: values may not hold ; , = or quotes (a comma lists values to sweep)", w->params[k].key, v);
            return -1;
        }
        if (w->params[k].quiet && strcmp(v, w->params[k].def) == 0)
            continue;
        int wrote = snprintf(out + used, outlen - used, "%s%s=%s", used ? ";" : "", w->params[k].key, v);
        if (wrote < 0 || (size_t)wrote >= outlen - used) {
            snprintf(err, errlen, "the parameters of %s make %s: more than %zu characters (a file name: give a shorter path)", w->name, out, outlen - 1);
            return -1;
        }
        used += (size_t)wrote;
    }
    if (w->check) {
        char buf[256];
        tb_run r = {0};
        snprintf(buf, sizeof buf, "%s", out);
        if (tb_params_parse(w, buf, &r, err, errlen) != 0 || w->check(&r, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int alloc_ok(const char *n) { return tb_alloc_find(n) != NULL; }

static void valid_allocs(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const tb_allocator *a = tb_allocators; a->name; a++)
        if (!a->hidden)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", a->name);
    const tb_allocator *ex[32];
    size_t ne = tb_alloc_extra(ex, 32);
    for (size_t i = 0; i < ne && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, ", %s", ex[i]->name);
}

static void valid_wls(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; tb_workloads[i]; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", tb_workloads[i]->name);
}

/* Fisher-Yates with a splitmix64 stream: the same seed gives the same order on any machine. */
uint64_t tb_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* X and X@tag (run --against) run back to back, in the shuffled order of whichever came first,
 * so that the machine's drift between the two builds' measurements is as small as it can be. */
/* Partners run side by side: X and X@tag (run --against), or, with any_pair (--duet with two
 * allocators), the two allocators' cells of the same workload, params, threads and size. */
static bool twins(const tb_cell *a, const tb_cell *b, bool any_pair)
{
    size_t la = strlen(a->alloc->name), lb = strlen(b->alloc->name);
    const char *s = la < lb ? a->alloc->name : b->alloc->name, *l = la < lb ? b->alloc->name : a->alloc->name;
    size_t ls = la < lb ? la : lb;
    bool same = tb_cell_same_point(a, b);
    return same && (any_pair ? a->alloc != b->alloc : strncmp(s, l, ls) == 0 && l[ls] == '@');
}

void tb_matrix_pair_twins(tb_cell *round, size_t n, bool any_pair)
{
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (twins(&round[i], &round[j], any_pair)) {
                tb_cell t = round[j];
                memmove(&round[i + 2], &round[i + 1], (j - i - 1) * sizeof *round);
                round[i + 1] = t;
                i++;
                break;
            }
}

enum { MAX_VARIANTS = 64 };

/* The variants of workload w: a -p value may list several, comma-separated (-p handoff=yes,no),
 * and w runs every combination of the values of its own keys. Writes up to MAX_VARIANTS
 * canonical parameter strings (duplicates dropped); returns their count or -1. */
static int expand(const tb_workload *w, const char *const *pset, int npset, char (*out)[256],
                  char *err, size_t errlen)
{
    char vals[TB_MAX_PARAMS][256];
    const char *key[TB_MAX_PARAMS];
    size_t kl[TB_MAX_PARAMS];
    int nval[TB_MAX_PARAMS], pick[TB_MAX_PARAMS], nk = 0;
    char *each[TB_MAX_PARAMS][MAX_VARIANTS];
    for (int i = 0; i < npset; i++) {
        if (setting_index(w, pset[i]) < 0 || nk == TB_MAX_PARAMS)
            continue;
        key[nk] = pset[i];
        kl[nk] = key_len(pset[i]);
        const char *eq = strchr(pset[i], '=');
        snprintf(vals[nk], sizeof vals[nk], "%s", eq ? eq + 1 : "");
        nval[nk] = 0;
        /* split by hand: an empty value ("yes,,no") must reach the range check, not vanish */
        for (char *v = vals[nk], *c;; v = c + 1) {
            if (nval[nk] == MAX_VARIANTS) {
                snprintf(err, errlen, "-p %s: more than %d values", pset[i], MAX_VARIANTS);
                return -1;
            }
            each[nk][nval[nk]++] = v;
            if (!(c = strchr(v, ',')))
                break;
            *c = '\0';
        }
        pick[nk++] = 0;
    }
    int n = 0;
    for (;;) {
        char one[TB_MAX_PARAMS][300];
        const char *combo[TB_MAX_PARAMS];
        for (int k = 0; k < nk; k++) {
            snprintf(one[k], sizeof one[k], "%.*s=%s", (int)kl[k], key[k], each[k][pick[k]]);
            combo[k] = one[k];
        }
        char canon[256];
        if (tb_params_canon(w, combo, nk, canon, sizeof canon, err, errlen) != 0)
            return -1;
        bool dup = false;
        for (int i = 0; i < n && !dup; i++)
            dup = strcmp(out[i], canon) == 0;
        if (!dup) {
            if (n == MAX_VARIANTS) {
                snprintf(err, errlen, "%s: the -p values make more than %d combinations", w->name, MAX_VARIANTS);
                return -1;
            }
            snprintf(out[n++], 256, "%s", canon);
        }
        int k = 0; /* odometer over the value lists */
        while (k < nk && ++pick[k] == nval[k])
            pick[k++] = 0;
        if (k == nk)
            return n;
    }
}

/* The allocators named in m->allocators ("all", or a list; with run --against each named
 * tmempool strategy brings its twin). Their count, or -1 with a message. */
static int choose_allocators(const tb_matrix *m, const tb_allocator **allocs, int max, char *err, size_t errlen)
{
    int na = 0;
    if (strcmp(m->allocators, "all") == 0) {
        for (const tb_allocator *a = tb_allocators; a->name && na < max; a++)
            if (!a->hidden)
                allocs[na++] = a;
        const tb_allocator *ex[32];
        size_t ne = tb_alloc_extra(ex, 32);
        for (size_t i = 0; i < ne && na < max; i++)
            allocs[na++] = ex[i];
        return na;
    }
    char *dup = strdup(m->allocators), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!alloc_ok(t)) {
            char valid[1024];
            valid_allocs(valid, sizeof valid);
            snprintf(err, errlen, "unknown allocator '%s' (valid: %s, all, or NAME=/path/lib.so)", t, valid);
            free(dup);
            return -1;
        }
        for (int i = 0; i < na; i++)
            if (allocs[i] == tb_alloc_find(t)) {
                snprintf(err, errlen, "--allocators names %s twice: each allocator runs once per cell", t);
                free(dup);
                return -1;
            }
        if (na < max)
            allocs[na++] = tb_alloc_find(t);
        char twin[160];
        snprintf(twin, sizeof twin, "%s@base", t);
        const tb_allocator *tw = tb_alloc_find(twin);
        bool listed = strstr(m->allocators, twin) != NULL;
        if (tw && !listed && na < max)
            allocs[na++] = tw;
    }
    free(dup);
    return na;
}

static int choose_workloads(const tb_matrix *m, const tb_workload **wls, int max, char *err, size_t errlen)
{
    int nw = 0;
    if (strcmp(m->workloads, "all") == 0) {
        for (int i = 0; tb_workloads[i] && nw < max; i++)
            if (!tb_workloads[i]->explicit_only)
                wls[nw++] = tb_workloads[i];
        return nw;
    }
    char *dup = strdup(m->workloads), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const tb_workload *w = tb_workload_find(t);
        if (!w) {
            char valid[512];
            valid_wls(valid, sizeof valid);
            snprintf(err, errlen, "unknown workload '%s' (valid: %s, all)", t, valid);
            free(dup);
            return -1;
        }
        for (int i = 0; i < nw; i++)
            if (wls[i] == w) {
                snprintf(err, errlen, "--workloads names %s twice: each workload runs once per cell "
                                      "(-p key=v1,v2 runs a workload with several settings)", t);
                free(dup);
                return -1;
            }
        if (nw < max)
            wls[nw++] = w;
    }
    free(dup);
    return nw;
}

/* Every -p key must belong to at least one chosen workload. */
static int check_settings(const tb_matrix_opts *o, const tb_workload *const *wls, int nw, char *err, size_t errlen)
{
    for (int i = 0; i < o->npset; i++) {
        const char *eq = strchr(o->pset[i], '=');
        if (!eq || eq == o->pset[i]) {
            snprintf(err, errlen, "-p '%s': want key=value", o->pset[i]);
            return -1;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->pset[i]), o->pset[i]);
        bool found = false;
        for (int w = 0; w < nw; w++)
            found |= setting_index(wls[w], o->pset[i]) >= 0;
        if (!found) {
            char valid[512] = "";
            size_t used = 0;
            for (int w = 0; w < nw; w++)
                for (int k = 0; wls[w]->params[k].key; k++)
                    used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s.%s",
                                             used ? ", " : "", wls[w]->name, wls[w]->params[k].key);
            snprintf(err, errlen, "-p %s: no chosen workload has the key '%s' (valid: %s)", o->pset[i],
                     key, used ? valid : "none: the chosen workloads take no parameters");
            return -1;
        }
    }
    return 0;
}

/* File names in text parameters (replay's trace) made absolute where the file exists, so the
 * cells, meta.json, --resume and tmbench plot find the same file from any directory. A name
 * that does not resolve stays as given: the workload's check then says what is wrong. */
static void absolute_paths(const char **pset, int npset, const tb_workload *const *wls, int nw)
{
    for (int i = 0; i < npset; i++) {
        bool text = false;
        for (int w = 0; w < nw && !text; w++) {
            int k = setting_index(wls[w], pset[i]);
            text = k >= 0 && wls[w]->params[k].text;
        }
        const char *eq = strchr(pset[i], '=');
        if (!text || !eq)
            continue;
        size_t cap = strlen(pset[i]) + 1, used = (size_t)(eq - pset[i]) + 1;
        char *out = malloc(cap);
        if (!out)
            return;
        memcpy(out, pset[i], used);
        for (const char *v = eq + 1;;) {
            size_t vl = strcspn(v, ",");
            char name[4096], abs[PATH_MAX];
            snprintf(name, sizeof name, "%.*s", (int)vl, v);
            const char *use = name[0] && realpath(name, abs) ? abs : name;
            size_t ul = strlen(use);
            if (used + ul + 2 > cap) {
                char *grown = realloc(out, cap = (used + ul + 2) * 2);
                if (!grown) {
                    free(out);
                    return;
                }
                out = grown;
            }
            memcpy(out + used, use, ul);
            used += ul;
            if (!v[vl])
                break;
            out[used++] = ',';
            v += vl + 1;
        }
        out[used] = '\0';
        pset[i] = out; /* the run's lifetime, as the list itself */
    }
}

/* The preset's own settings join the user's, for keys the user left alone and some chosen
 * workload has; the merged list is what meta.json records, so --resume rebuilds it. */
static void merge_preset_settings(const tb_matrix_opts *o, const preset *p, const tb_workload *const *wls,
                                  int nw, tb_matrix *m)
{
    const char **eff = calloc((size_t)o->npset + 8, sizeof *eff);
    int neff = 0;
    for (int i = 0; i < o->npset; i++)
        eff[neff++] = o->pset[i];
    for (int i = 0; i < 4 && p->params[i] && !o->pset_no_preset; i++) {
        bool set = false, wanted = false;
        for (int j = 0; j < o->npset && !set; j++)
            set = key_len(o->pset[j]) == key_len(p->params[i]) &&
                  strncmp(o->pset[j], p->params[i], key_len(p->params[i])) == 0;
        for (int w = 0; w < nw && !wanted; w++)
            wanted = setting_index(wls[w], p->params[i]) >= 0;
        if (!set && wanted)
            eff[neff++] = p->params[i];
    }
    absolute_paths(eff, neff, wls, nw);
    m->pset = eff;
    m->npset = neff;
}

/* The repetitions: each a seeded shuffle of one round of cells, twins put side by side, then
 * the shard's slice. Fills m->cells. */
static void order_rounds(const tb_matrix_opts *o, tb_matrix *m, tb_cell *round, size_t per_round)
{
    m->cells = calloc(per_round * (size_t)m->reps, sizeof *m->cells);
    uint64_t rng = m->seed;
    size_t idx = 0;
    for (int rep = 0; rep < m->reps; rep++) {
        for (size_t i = per_round; i > 1; i--) {
            size_t j = (size_t)(tb_splitmix(&rng) % i);
            tb_cell tmp = round[i - 1];
            round[i - 1] = round[j];
            round[j] = tmp;
        }
        tb_matrix_pair_twins(round, per_round, o->duet_pairs);
        for (size_t i = 0; i < per_round; i++) {
            size_t global = (size_t)rep * per_round + i;
            if (o->shard_n > 1 && global % o->shard_n != o->shard_k - 1)
                continue;
            m->cells[idx] = round[i];
            m->cells[idx].rep = (unsigned)rep;
            idx++;
        }
    }
    m->n = idx;
    m->total_unsharded = per_round * (size_t)m->reps;
}

/* The matrix's own fields from the preset and the flags over it. */
static const preset *take_preset(const tb_matrix_opts *o, tb_matrix *m, char *err, size_t errlen)
{
    const preset *p = NULL;
    const char *pname = o->preset ? o->preset : "quick";
    for (const preset *q = presets; q->name; q++)
        if (strcmp(q->name, pname) == 0)
            p = q;
    if (!p) {
        snprintf(err, errlen, "unknown preset '%s' (valid: quick, ci, real, full)", pname);
        return NULL;
    }
    snprintf(m->allocators, sizeof m->allocators, "%s", o->allocators ? o->allocators : p->allocators);
    snprintf(m->workloads, sizeof m->workloads, "%s", o->workloads ? o->workloads : p->workloads);
    snprintf(m->threads, sizeof m->threads, "%s", o->threads ? o->threads : p->threads);
    snprintf(m->sizes, sizeof m->sizes, "%s", o->sizes ? o->sizes : p->sizes);
    m->sizes_given = o->sizes && !o->sizes_from_preset;
    m->duration_given = o->duration > 0 && !o->duration_from_preset;
    m->reps = o->reps > 0 ? o->reps : p->reps;
    m->duration = o->duration > 0 ? o->duration : (o->ops ? 0 : p->duration);
    m->ops = o->ops ? o->ops : (m->duration > 0 ? 0 : p->ops);
    m->seed = o->seed_set ? o->seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    m->sample_every = 1024;
    m->pset = o->pset;
    m->npset = o->npset;
    m->duet_pairs = o->duet_pairs;
    return p;
}

/* A cell whose objects alone could take more than half of this machine's memory is refused
 * before any cell runs: it would fail midway, or push the machine into swap and slow every cell
 * after it. */
static int check_memory(const tb_workload *w, const char *params, unsigned threads,
                        const tb_sizes *sz, char *err, size_t errlen)
{
    if (!w->live_max)
        return 0;
    char buf[256];
    tb_run r = {.threads = threads, .size = sz->hi, .sizes = *sz};
    snprintf(buf, sizeof buf, "%s", params);
    if (tb_params_parse(w, buf, &r, err, errlen) != 0)
        return -1;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return 0;
    double ram = (double)pages * (double)page, live = (double)w->live_max(&r);
    double bytes = live * (double)sz->hi;
    if (bytes <= ram / 2)
        return 0;
    char label[64];
    tb_sizes_format(sz, label, sizeof label);
    snprintf(err, errlen,
             "%s with %s at %u threads and objects up to %zu bytes (--sizes %s) may hold %.0f objects, %.1f GiB, "
             "alive at once: more than half of this machine's %.1f GiB; lower the workload's live count "
             "(see tmbench list), the threads or the sizes",
             w->name, params[0] ? params : "its defaults", threads, (size_t)sz->hi, label, live, bytes / 1073741824.0,
             ram / 1073741824.0);
    return -1;
}

int tb_matrix_build(const tb_matrix_opts *o, tb_matrix *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    const preset *p = take_preset(o, m, err, errlen);
    if (!p)
        return -1;
    const tb_allocator *allocs[64];
    const tb_workload *wls[32];
    int na = choose_allocators(m, allocs, 64, err, errlen);
    int nw = na < 0 ? -1 : choose_workloads(m, wls, 32, err, errlen);
    if (na < 0 || nw < 0)
        return -1;
    if (na == 0 || nw == 0) {
        snprintf(err, errlen, "no allocators or no workloads chosen");
        return -1;
    }
    if (check_settings(o, wls, nw, err, errlen) != 0)
        return -1;
    merge_preset_settings(o, p, wls, nw, m);

    unsigned threads[32];
    tb_sizes sizes[32][32]; /* each workload's */
    int nt = tb_parse_list_u(m->threads, threads, 32, "threads", err, errlen);
    if (nt < 0)
        return -1;
    int ns[32];
    for (int w = 0; w < nw; w++) {
        const char *own = m->sizes_given ? NULL : wls[w]->sizes;
        if ((ns[w] = tb_parse_sizes(own ? own : m->sizes, sizes[w], 32, err, errlen)) < 0)
            return -1;
    }

    char(*variants)[MAX_VARIANTS][256] = calloc((size_t)nw, sizeof *variants);
    int nvar[32];
    size_t per_round = 0;
    for (int w = 0; w < nw; w++) {
        if ((nvar[w] = expand(wls[w], m->pset, m->npset, variants[w], err, errlen)) < 0) {
            free(variants);
            return -1;
        }
        per_round += (size_t)na * (size_t)nvar[w] * (size_t)nt * (size_t)ns[w];
    }
    for (int w = 0; w < nw; w++)
        for (int v = 0; v < nvar[w]; v++)
            for (int t = 0; t < nt; t++)
                for (int s = 0; s < ns[w]; s++)
                    if (check_memory(wls[w], variants[w][v], threads[t], &sizes[w][s], err, errlen) != 0) {
                        free(variants);
                        return -1;
                    }
    tb_cell *round = calloc(per_round, sizeof *round);
    size_t k = 0;
    for (int w = 0; w < nw; w++)
        for (int v = 0; v < nvar[w]; v++)
            for (int a = 0; a < na; a++)
                for (int t = 0; t < nt; t++)
                    for (int s = 0; s < ns[w]; s++)
                        round[k++] = (tb_cell){.alloc = allocs[a], .wl = wls[w], .threads = threads[t],
                                               .size = sizes[w][s].hi, .sizes = sizes[w][s],
                                               .variant = nvar[w] > 1};
    k = 0;
    for (int w = 0; w < nw; w++)
        for (int v = 0; v < nvar[w]; v++)
            for (size_t i = 0; i < (size_t)na * (size_t)nt * (size_t)ns[w]; i++)
                snprintf(round[k++].params, sizeof round[0].params, "%s", variants[w][v]);
    free(variants);
    order_rounds(o, m, round, per_round);
    free(round);
    return 0;
}

double tb_cell_seconds(const tb_matrix *m, const tb_workload *w)
{
    if (!(m->duration > 0))
        return 0;
    return !m->duration_given && w->min_seconds > m->duration ? w->min_seconds : m->duration;
}

/* For `list` and --help. */
void tb_presets_print(FILE *f)
{
    for (const preset *q = presets; q->name; q++)
        fprintf(f, "  %-6s %s\n", q->name, q->desc);
}
