/* tmbench merge: joins shard runs into one run, after checking that their meta agree on what
 * must agree (build, machine class, matrix). Rows are copied whole; a cell repetition present in
 * two shards is an error, never silently doubled. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "meta.h"
#include "outdir.h"

/* What the shards of one run share: everything that shaped their cells and measurements. */
static const char *const same_top[][2] = {{"git_commit", NULL}, {"machine", "cpu_model"}};
static const char *const same_matrix[] = {"allocators", "workloads", "threads", "sizes", "seed", "reps", "ops",
                                          "duration", "latency_sample_every", "measure", "count_method",
                                          "params", "pin", "against"};

static const cJSON *item(const cJSON *root, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, a);
    return b && x ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

/* Reads every shard's meta.json and checks that they are the shards of one run, each once.
 * 0 with the first meta in *first; TB_EXIT_USAGE for shards that do not belong together;
 * TB_EXIT_CELLS when some shard is missing (and partial merges are not allowed). */
static int check_shards(int n, char **dirs, bool allow_partial, cJSON **first, char *err, size_t errlen)
{
    unsigned total = 0;
    bool *seen = NULL;
    /* Each shard's yardstick, kept by shard: shards may have run on machines of their own (a
     * scale-out), so no one of them is the merged run's (its speed_probe is left out, and the
     * report and compare then read none) */
    cJSON *probes = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *m = tb_meta_read(dirs[i], err, errlen);
        if (!m) {
            free(seen);
            cJSON_Delete(probes);
            return TB_EXIT_USAGE;
        }
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(m, "speed_probe");
        if (sp) {
            cJSON *one = cJSON_CreateObject();
            cJSON_AddStringToObject(one, "shard", dirs[i]);
            cJSON_AddItemToObject(one, "speed_probe", cJSON_Duplicate(sp, true));
            cJSON_AddItemToArray(probes, one);
        }
        const cJSON *sh = item(m, "matrix", "shard");
        unsigned k = 0, of = 0;
        if (!cJSON_IsString(sh) || sscanf(sh->valuestring, "%u/%u", &k, &of) != 2 || k < 1 || k > of) {
            snprintf(err, errlen, "%s is not a shard (it was not made with `tmbench run --shard K/N --seed S`)", dirs[i]);
            cJSON_Delete(m);
            free(seen);
            cJSON_Delete(probes);
            return TB_EXIT_USAGE;
        }
        if (!*first) {
            *first = m;
            total = of;
            seen = calloc(of + 1, sizeof *seen);
        } else {
            const char *what = NULL;
            for (size_t q = 0; q < sizeof same_top / sizeof *same_top && !what; q++)
                if (!cJSON_Compare(item(*first, same_top[q][0], same_top[q][1]), item(m, same_top[q][0], same_top[q][1]), true))
                    what = same_top[q][1] ? same_top[q][1] : same_top[q][0];
            for (size_t q = 0; q < sizeof same_matrix / sizeof *same_matrix && !what; q++) {
                const cJSON *x = item(*first, "matrix", same_matrix[q]), *y = item(m, "matrix", same_matrix[q]);
                if ((x || y) && !(x && y && cJSON_Compare(x, y, true)))
                    what = same_matrix[q];
            }
            if (!what && of != total)
                what = "the number of shards";
            if (what) {
                snprintf(err, errlen, "%s and %s differ in %s: not shards of one run", dirs[0], dirs[i], what);
                cJSON_Delete(m);
                free(seen);
                cJSON_Delete(probes);
                return TB_EXIT_USAGE;
            }
            cJSON_Delete(m);
        }
        if (seen[k]) {
            snprintf(err, errlen, "shard %u/%u is given twice (%s)", k, total, dirs[i]);
            free(seen);
            cJSON_Delete(probes);
            return TB_EXIT_USAGE;
        }
        seen[k] = true;
    }
    char missing[256] = "";
    size_t used = 0, nmiss = 0;
    for (unsigned k = 1; k <= total; k++)
        if (!seen[k]) {
            nmiss++;
            used += (size_t)snprintf(missing + used, used < sizeof missing ? sizeof missing - used : 0, "%s%u",
                                     used ? ", " : "", k);
        }
    free(seen);
    if (nmiss && !allow_partial) {
        snprintf(err, errlen, "%zu of %u shards are missing (%s): nothing merged; --allow-partial merges what is "
                              "here, and the merged run reads back as incomplete", nmiss, total, missing);
        cJSON_Delete(probes);
        return TB_EXIT_CELLS;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(*first, "speed_probe");
    cJSON_AddItemToObject(*first, "speed_probe_shards", probes);
    cJSON *mat = cJSON_GetObjectItemCaseSensitive(*first, "matrix");
    cJSON_DeleteItemFromObjectCaseSensitive(mat, "shard");
    const cJSON *whole = cJSON_GetObjectItemCaseSensitive(mat, "cells_unsharded");
    if (cJSON_IsNumber(whole))
        cJSON_ReplaceItemInObjectCaseSensitive(mat, "cells", cJSON_CreateNumber(whole->valuedouble));
    cJSON_ReplaceItemInObjectCaseSensitive(*first, "complete", cJSON_CreateBool(nmiss == 0));
    return 0;
}

int tb_cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"out", 1, 0, 'o'}, {"allow-partial", 0, 0, 'p'}, {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    bool allow_partial = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'p')
            allow_partial = true;
        else if (c == 'h') {
            printf("usage: tmbench merge DIR... --out DIR [--allow-partial]\nJoins shard results (tmbench run --shard K/N --seed S) into one run,\n"
                   "after checking that they are shards of one run (build, machine, matrix, seed, measurement), each once.\n"
                   "exit: 0 merged, 1 a shard is missing (nothing merged; --allow-partial merges what is there),\n"
                   "      2 usage or input error, 4 an output file could not be written\n");
            return 0;
        } else
            return tb_usage_error("merge", "see `tmbench merge --help`");
    }
    if (!out || optind >= argc)
        return tb_usage_error("merge", "want shard directories and --out DIR");
    char err[1024];
    cJSON *first = NULL;
    int rc = check_shards(argc - optind, argv + optind, allow_partial, &first, err, sizeof err);
    if (rc != 0) {
        cJSON_Delete(first);
        if (rc == TB_EXIT_CELLS)
            fprintf(stderr, "tmbench merge: %s\n", err);
        else
            tb_usage_error("merge", "%s", err);
        return rc;
    }
    /* Read every shard before writing anything. */
    int n = argc - optind;
    tb_table *tabs = calloc((size_t)n, sizeof *tabs);
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/results.csv", argv[optind + i]);
        if (tb_csv_read(path, &tabs[i], err, sizeof err) != 0 || tb_table_check(&tabs[i], path, err, sizeof err) != 0)
            return tb_usage_error("merge", "%s", err);
    }
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += tabs[i].n;
    char **keys = calloc(total + 1, sizeof *keys);
    size_t nk = 0;
    for (int i = 0; i < n; i++)
        for (size_t r = 0; r < tabs[i].n; r++) {
            char key[1024];
            tb_row_key(&tabs[i].rows[r], key, sizeof key, true);
            for (size_t k = 0; k < nk; k++)
                if (strcmp(keys[k], key) == 0)
                    return tb_usage_error("merge", "cell %s appears in more than one shard", key);
            keys[nk++] = strdup(key);
        }
    char outdir[4200], id[128];
    if (tb_outdir_new(out, outdir, sizeof outdir, id, sizeof id, err, sizeof err) != 0)
        return tb_usage_error("merge", "%s", err);
    /* The merged run is new: on any failed write it is removed, never left half written. */
    char path[4200], mpath[4200];
    snprintf(path, sizeof path, "%s/results.csv", out);
    snprintf(mpath, sizeof mpath, "%s/meta.json", out);
    FILE *f = fopen(path, "w");
    bool ok = f && tb_csv_write_header(f) == 0;
    for (int i = 0; ok && i < n; i++)
        for (size_t r = 0; ok && r < tabs[i].n; r++)
            ok = tb_csv_append_row(f, &tabs[i].rows[r]) == 0;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    cJSON *shards = cJSON_AddArrayToObject(first, "merged_from");
    for (int i = optind; i < argc; i++)
        cJSON_AddItemToArray(shards, cJSON_CreateString(argv[i]));
    if (ok && tb_meta_write_json(out, first, err, sizeof err) != 0) {
        fprintf(stderr, "tmbench merge: %s; nothing merged\n", err);
        unlink(path);
        cJSON_Delete(first);
        return TB_EXIT_IO;
    }
    cJSON_Delete(first);
    if (!ok) {
        fprintf(stderr, "tmbench merge: cannot write %s: %s; nothing merged\n", path, strerror(e));
        unlink(path);
        unlink(mpath);
        return TB_EXIT_IO;
    }
    fprintf(stderr, "tmbench merge: %zu rows from %d shard%s into %s\n", total, n, n == 1 ? "" : "s", out);
    return 0;
}
