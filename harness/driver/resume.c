/* tmbench run --resume: the run recorded in DIR's meta.json, read back and checked, so that the
 * rest of the run is run as its start was (run.h). Also the --shard K/N syntax both share. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "meta.h"
#include "run.h"

bool tb_parse_shard(const char *s, unsigned *k, unsigned *n)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s)
        return false;
    char kb[24];
    snprintf(kb, sizeof kb, "%.*s", (int)(slash - s < 23 ? slash - s : 23), s);
    uint64_t kv, nv;
    if (!tb_parse_u64(kb, 1, 100000, &kv) || !tb_parse_u64(slash + 1, 1, 100000, &nv) || kv > nv)
        return false;
    *k = (unsigned)kv;
    *n = (unsigned)nv;
    return true;
}

/* One required setting of a resumed matrix: a string, or a number within [lo, hi]. */
static const char *meta_str(const cJSON *m, const char *key, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(m, key);
    if (cJSON_IsString(it) && it->valuestring[0])
        return strdup(it->valuestring);
    snprintf(err, errlen, "meta.json's matrix has no %s", key);
    return NULL;
}

static bool meta_num(const cJSON *m, const char *key, double lo, double hi, double *out, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(m, key);
    if (cJSON_IsNumber(it) && it->valuedouble >= lo && it->valuedouble <= hi) {
        *out = it->valuedouble;
        return true;
    }
    snprintf(err, errlen, "meta.json's matrix.%s is %s (want a number from %g to %g)", key,
             it ? "out of range or not a number" : "missing", lo, hi);
    return false;
}

/* Loads the recorded run of DIR's meta.json into the options (resume): the matrix and every
 * setting that shaped its cells, so that the rest of the run is run as the start was. A meta.json
 * whose matrix is missing or absurd is an error, never the default preset. The meta is kept in
 * *prev, for the original command line and start time. */
int tb_resume_opts(const char *dir, run_opts *ro, tb_run_ctx *rc, cJSON **prev, char *err, size_t errlen)
{
    char why[512];
    cJSON *root = tb_meta_read(dir, why, sizeof why);
    if (!root) {
        snprintf(err, errlen, "--resume %s: %s", dir, why);
        return -1;
    }
    why[0] = '\0';
    cJSON *m = cJSON_GetObjectItem(root, "matrix");
    tb_matrix_opts *o = &ro->o;
    double reps, ops = 0, duration = 0, sample = 1024, timeout = rc->timeout;
    bool ok = cJSON_IsObject(m) && (o->allocators = meta_str(m, "allocators", why, sizeof why)) &&
              (o->workloads = meta_str(m, "workloads", why, sizeof why)) &&
              (o->threads = meta_str(m, "threads", why, sizeof why)) &&
              (o->sizes = meta_str(m, "sizes", why, sizeof why)) &&
              meta_num(m, "reps", 1, 10000, &reps, why, sizeof why) &&
              meta_num(m, "ops", 0, 1e15, &ops, why, sizeof why) &&
              meta_num(m, "duration", 0, 86400, &duration, why, sizeof why) &&
              (ops > 0) != (duration > 0) &&
              meta_num(m, "latency_sample_every", 0, 1u << 30, &sample, why, sizeof why);
    /* a run without --sizes: the workloads' own sizes again (files older than the key had none) */
    o->sizes_from_preset = ok && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "sizes_given"));
    /* the same for the cells' lengths (older files: every cell as long as duration) */
    o->duration_from_preset = ok && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "duration_given"));
    if (!cJSON_IsObject(m))
        snprintf(why, sizeof why, "it has no matrix: not a tmbench meta file");
    else if (ok == false && !why[0])
        snprintf(why, sizeof why, "its matrix has both or neither of ops and duration");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(m, "seed");
    if (ok && !(cJSON_IsString(seed) && tb_parse_u64(seed->valuestring, 0, UINT64_MAX, &o->seed))) {
        snprintf(why, sizeof why, "meta.json's matrix.seed is missing or not a whole number");
        ok = false;
    }
    if (!ok) {
        snprintf(err, errlen, "--resume %s: %s; nothing was run", dir, why);
        cJSON_Delete(root);
        return -1;
    }
    o->seed_set = true;
    o->reps = (int)reps;
    o->ops = (uint64_t)ops;
    o->duration = duration;
    rc->sample = (unsigned)sample;
    ro->sample_set = true;
    if (cJSON_GetObjectItemCaseSensitive(m, "timeout") && meta_num(m, "timeout", 1e-9, 7 * 86400, &timeout, why, sizeof why))
        rc->timeout = timeout;
    rc->pin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "pin"));
    const cJSON *pairing = cJSON_GetObjectItemCaseSensitive(m, "pairing");
    if (cJSON_IsString(pairing) && strcmp(pairing->valuestring, "duet") == 0) {
        ro->duet = rc->duet = true;
    } else if (cJSON_IsString(pairing) && strcmp(pairing->valuestring, "interleave") == 0) {
        double ms;
        if (!meta_num(m, "slice_ms", 0.05, 10000, &ms, why, sizeof why)) {
            snprintf(err, errlen, "--resume %s: %s; nothing was run", dir, why);
            cJSON_Delete(root);
            return -1;
        }
        ro->interleave_ms = ms;
        rc->slice_s = ms / 1e3;
    } else if (pairing) {
        snprintf(err, errlen, "--resume %s: meta.json's matrix.pairing is not duet or interleave; nothing was run", dir);
        cJSON_Delete(root);
        return -1;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "reps_auto"))) {
        ro->auto_reps = true; /* the rounds go on from the rows there; the budget starts again */
        double v;
        if (meta_num(m, "target_pct", 1e-9, 99.999999, &v, why, sizeof why))
            ro->target_pct = v;
        if (meta_num(m, "budget_s", 1e-9, 7 * 86400, &v, why, sizeof why))
            ro->budget_s = v;
    }
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(m, "shard");
    if (cJSON_IsString(sh) && !tb_parse_shard(sh->valuestring, &o->shard_k, &o->shard_n)) {
        snprintf(err, errlen, "--resume %s: meta.json's matrix.shard '%s' is not K/N; nothing was run", dir, sh->valuestring);
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(m, "params"), *it;
    o->npset = 0;
    o->pset_no_preset = true;
    for (int i = 0; i < cJSON_GetArraySize(ps) && o->npset < 32; i++) {
        const cJSON *x = cJSON_GetArrayItem(ps, i);
        if (cJSON_IsString(x))
            o->pset[o->npset++] = strdup(x->valuestring);
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(m, "measure")) && cJSON_IsString(it))
        ro->measure = strdup(it->valuestring);
    if ((it = cJSON_GetObjectItemCaseSensitive(m, "against")) && cJSON_IsString(it))
        ro->against = strdup(it->valuestring);
    *prev = root;
    return 0;
}

