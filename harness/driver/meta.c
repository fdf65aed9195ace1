/* meta.json: everything needed to trust and repeat a run, written with cJSON. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <gnu/libc-version.h>
#include <hwloc.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "matrix.h"
#include "meta.h"
#include "tmempool.h"

#ifndef TB_BUILD_TYPE
#define TB_BUILD_TYPE "unknown"
#endif
#ifndef TB_C_FLAGS
#define TB_C_FLAGS ""
#endif

void tb_utc_now(char *buf, size_t len, bool compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void tb_cpu_times(unsigned long long out[2])
{
    out[0] = out[1] = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    unsigned long long v[8] = {0};
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               &v[7]) >= 4)
        for (int i = 0; i < 8; i++)
            out[0] += v[i];
    out[1] = v[7];
    fclose(f);
}

/* The first line of a small /sys file, or NULL. */
static const char *sys_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static void add_machine(cJSON *root)
{
    cJSON *mach = cJSON_AddObjectToObject(root, "machine");
    struct utsname u;
    if (uname(&u) == 0) {
        cJSON_AddStringToObject(mach, "hostname", u.nodename);
        cJSON_AddStringToObject(mach, "kernel", u.release);
        cJSON_AddStringToObject(mach, "arch", u.machine);
    }
    cJSON_AddStringToObject(mach, "glibc", gnu_get_libc_version());
    /* what changes a figure without changing the code: the frequency governor and transparent
     * huge pages (both as the kernel prints them; null where it does not say) */
    char line[256];
    const char *gov = sys_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", line, sizeof line);
    if (gov)
        cJSON_AddStringToObject(mach, "cpufreq_governor", gov);
    else
        cJSON_AddNullToObject(mach, "cpufreq_governor");
    const char *thp = sys_line("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof line);
    if (thp)
        cJSON_AddStringToObject(mach, "transparent_hugepage", thp);
    else
        cJSON_AddNullToObject(mach, "transparent_hugepage");
    /* What the numa strategy sees: TMEMPOOL_TOPOLOGY replaces the machine's layout for it (and
     * is inherited by every worker), so the run records both. */
    const char *topo_env = getenv("TMEMPOOL_TOPOLOGY");
    if (topo_env)
        cJSON_AddStringToObject(mach, "tmempool_topology", topo_env);
    else
        cJSON_AddNullToObject(mach, "tmempool_topology");
    tmp_config cfg;
    tmp_config_init(&cfg, 64, TMP_NUMA);
    tmp_pool *pool;
    tmp_stats st;
    if (tmp_pool_create(&cfg, &pool) == 0) {
        if (tmp_pool_stats(pool, &st) == 0)
            cJSON_AddNumberToObject(mach, "tmempool_numa_nodes", st.nodes);
        tmp_pool_destroy(pool);
    }
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
        hwloc_obj_t root_obj = hwloc_get_root_obj(topo);
        const char *model = hwloc_obj_get_info_by_name(root_obj, "CPUModel");
        if (!model) {
            hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
            model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
        }
        cJSON_AddStringToObject(mach, "cpu_model", model ? model : "unknown");
        cJSON_AddNumberToObject(mach, "packages", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
        cJSON_AddNumberToObject(mach, "cores", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
        cJSON_AddNumberToObject(mach, "pus", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
        cJSON_AddNumberToObject(mach, "numa_nodes", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
        /* the CPUs this run may use (taskset, cgroups): threads beyond them must share one */
        cpu_set_t allowed;
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
            cJSON_AddNumberToObject(mach, "cpus_allowed", CPU_COUNT(&allowed));
        cJSON *caches = cJSON_AddObjectToObject(mach, "caches_kib");
        static const struct { hwloc_obj_type_t t; const char *n; } levels[] = {
            {HWLOC_OBJ_L1CACHE, "L1d"}, {HWLOC_OBJ_L2CACHE, "L2"}, {HWLOC_OBJ_L3CACHE, "L3"}};
        for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
            hwloc_obj_t c = hwloc_get_obj_by_type(topo, levels[i].t, 0);
            if (c && c->attr)
                cJSON_AddNumberToObject(caches, levels[i].n, (double)(c->attr->cache.size / 1024));
        }
        hwloc_topology_destroy(topo);
    }
}

int tb_meta_write(const char *dir, const tb_meta_run *mr, char *err, size_t errlen)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "tmbench");
    cJSON_AddStringToObject(root, "version", TB_VERSION);
    cJSON_AddStringToObject(root, "git_commit", tb_git_commit());
    cJSON_AddStringToObject(root, "run_id", mr->run_id);
    /* A resumed run keeps the command line and start it was made with; each resume is added. */
    const cJSON *pcmd = mr->prev ? cJSON_GetObjectItemCaseSensitive(mr->prev, "command_line") : NULL;
    const cJSON *pstart = mr->prev ? cJSON_GetObjectItemCaseSensitive(mr->prev, "started") : NULL;
    cJSON *now = cJSON_CreateArray();
    for (int i = 0; i < mr->argc; i++)
        cJSON_AddItemToArray(now, cJSON_CreateString(mr->argv[i]));
    if (cJSON_IsArray(pcmd)) {
        cJSON_AddItemToObject(root, "command_line", cJSON_Duplicate(pcmd, true));
        const cJSON *pres = cJSON_GetObjectItemCaseSensitive(mr->prev, "resumed");
        cJSON *res = cJSON_IsArray(pres) ? cJSON_Duplicate(pres, true) : cJSON_CreateArray();
        cJSON *one = cJSON_CreateObject();
        cJSON_AddItemToObject(one, "command_line", now);
        cJSON_AddStringToObject(one, "started", mr->started);
        cJSON_AddItemToArray(res, one);
        cJSON_AddItemToObject(root, "resumed", res);
    } else {
        cJSON_AddItemToObject(root, "command_line", now);
    }
    cJSON *build = cJSON_AddObjectToObject(root, "build");
    cJSON_AddStringToObject(build, "compiler", __VERSION__);
    cJSON_AddStringToObject(build, "build_type", TB_BUILD_TYPE);
    cJSON_AddStringToObject(build, "c_flags", TB_C_FLAGS);
    add_machine(root);
    const tb_matrix *m = mr->m;
    cJSON *mat = cJSON_AddObjectToObject(root, "matrix");
    cJSON_AddStringToObject(mat, "allocators", m->allocators);
    cJSON_AddStringToObject(mat, "workloads", m->workloads);
    cJSON_AddStringToObject(mat, "threads", m->threads);
    cJSON_AddStringToObject(mat, "sizes", m->sizes);
    /* without --sizes, workloads with sizes of their own (larson, falseshare) used those */
    cJSON_AddBoolToObject(mat, "sizes_given", m->sizes_given);
    cJSON_AddBoolToObject(mat, "duration_given", m->duration_given);
    cJSON_AddNumberToObject(mat, "reps", m->reps);
    cJSON *ps = cJSON_AddArrayToObject(mat, "params");
    for (int i = 0; i < m->npset; i++)
        cJSON_AddItemToArray(ps, cJSON_CreateString(m->pset[i]));
    cJSON_AddNumberToObject(mat, "ops", (double)m->ops);
    cJSON_AddNumberToObject(mat, "duration", m->duration);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->seed);
    cJSON_AddStringToObject(mat, "seed", seed); /* a string: JSON numbers lose 64-bit precision */
    cJSON_AddNumberToObject(mat, "cells", (double)m->n);
    cJSON_AddNumberToObject(mat, "cells_unsharded", (double)m->total_unsharded);
    cJSON_AddNumberToObject(mat, "latency_sample_every", m->sample_every);
    cJSON_AddBoolToObject(mat, "pin", mr->pin);
    if (mr->pairing)
        cJSON_AddStringToObject(mat, "pairing", mr->pairing);
    if (mr->pairing && strcmp(mr->pairing, "interleave") == 0)
        cJSON_AddNumberToObject(mat, "slice_ms", mr->slice_ms);
    if (mr->auto_reps) {
        cJSON_AddBoolToObject(mat, "reps_auto", true);
        cJSON_AddNumberToObject(mat, "target_pct", mr->target_pct);
        cJSON_AddNumberToObject(mat, "budget_s", mr->budget_s);
    }
    cJSON_AddNumberToObject(mat, "timeout", mr->timeout);
    if (mr->shard_n > 1) {
        char sh[32];
        snprintf(sh, sizeof sh, "%u/%u", mr->shard_k, mr->shard_n);
        cJSON_AddStringToObject(mat, "shard", sh);
    }
    cJSON_AddStringToObject(mat, "measure", mr->measure ? mr->measure : "time");
    if (mr->count_method)
        cJSON_AddStringToObject(mat, "count_method", mr->count_method);
    if (mr->against)
        cJSON_AddStringToObject(mat, "against", mr->against);
    cJSON *vers = mr->versions_json ? cJSON_Parse(mr->versions_json) : NULL;
    cJSON_AddItemToObject(root, "allocator_versions", vers ? vers : cJSON_CreateObject());
    cJSON *adapt = mr->adaptive_json ? cJSON_Parse(mr->adaptive_json) : NULL;
    if (adapt)
        cJSON_AddItemToObject(root, "adaptive", adapt);
    cJSON *warn = mr->warnings_json ? cJSON_Parse(mr->warnings_json) : NULL;
    cJSON_AddItemToObject(root, "worker_warnings", warn ? warn : cJSON_CreateArray());
    cJSON_AddStringToObject(root, "started", cJSON_IsString(pstart) ? pstart->valuestring : mr->started);
    cJSON_AddStringToObject(root, "ended", mr->ended);
    cJSON_AddBoolToObject(root, "interrupted", mr->interrupted);
    cJSON_AddBoolToObject(root, "complete", mr->complete);
    /* the share of CPU time the hypervisor took from this guest while the run ran */
    if (mr->cpu_after[0] > mr->cpu_before[0]) {
        double steal = (double)(mr->cpu_after[1] - mr->cpu_before[1]) / (double)(mr->cpu_after[0] - mr->cpu_before[0]);
        cJSON_AddNumberToObject(root, "steal_fraction", steal);
    } else {
        cJSON_AddNullToObject(root, "steal_fraction");
    }
    cJSON *sp = cJSON_AddObjectToObject(root, "speed_probe");
    const tb_probe *pr[2] = {&mr->probe_before, &mr->probe_after};
    for (int i = 0; i < 2; i++) {
        cJSON *one = cJSON_AddObjectToObject(sp, i ? "after" : "before");
        if (isnan(pr[i]->cpu_ns) || isnan(pr[i]->mem_ns)) {
            cJSON_AddNullToObject(one, "cpu_ns");
            cJSON_AddNullToObject(one, "mem_ns");
        } else {
            cJSON_AddNumberToObject(one, "cpu_ns", pr[i]->cpu_ns);
            cJSON_AddNumberToObject(one, "mem_ns", pr[i]->mem_ns);
        }
    }
    cJSON *lb = cJSON_AddArrayToObject(root, "loadavg_before");
    cJSON *la = cJSON_AddArrayToObject(root, "loadavg_after");
    for (int i = 0; i < 3; i++) {
        cJSON_AddItemToArray(lb, cJSON_CreateNumber(mr->load_before[i]));
        cJSON_AddItemToArray(la, cJSON_CreateNumber(mr->load_after[i]));
    }
    int rc = tb_meta_write_json(dir, root, err, errlen);
    cJSON_Delete(root);
    return rc;
}

int tb_meta_write_json(const char *dir, const cJSON *root, char *err, size_t errlen)
{
    char *text = cJSON_Print(root);
    if (!text) {
        snprintf(err, errlen, "cannot format %s/meta.json: out of memory", dir);
        return -1;
    }
    /* Write beside, sync, then rename: a reader never sees half a file, and a full disk leaves
     * the old meta.json in place. */
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    free(text);
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
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

const char *tb_json_str(const cJSON *root, const char *a, const char *b)
{
    const cJSON *x = root ? cJSON_GetObjectItemCaseSensitive(root, a) : NULL;
    if (b)
        x = x ? cJSON_GetObjectItemCaseSensitive(x, b) : NULL;
    return cJSON_IsString(x) ? x->valuestring : "";
}


bool tb_meta_complete(const cJSON *meta, size_t rows, size_t *cells)
{
    const cJSON *mat = meta ? cJSON_GetObjectItemCaseSensitive(meta, "matrix") : NULL;
    const cJSON *n = mat ? cJSON_GetObjectItemCaseSensitive(mat, "cells") : NULL;
    *cells = cJSON_IsNumber(n) && n->valuedouble > 0 ? (size_t)n->valuedouble : 0;
    if (!meta)
        return true; /* nothing to say it is not */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "interrupted")))
        return false;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(meta, "complete");
    if (cJSON_IsBool(c))
        return cJSON_IsTrue(c);
    return *cells == 0 || rows >= *cells;
}
