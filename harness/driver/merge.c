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

int tb_cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            printf("usage: tmbench merge DIR... --out DIR\nJoins shard results (tmbench run --shard K/N --seed S) into one run.\n");
            return 0;
        } else
            return tb_usage_error("merge", "see `tmbench merge --help`");
    }
    if (!out || optind >= argc)
        return tb_usage_error("merge", "want shard directories and --out DIR");
    char err[1024];
    cJSON *first = NULL;
    static const char *must[][2] = {{"git_commit", NULL}, {"machine", "cpu_model"}, {"matrix", "allocators"},
                                    {"matrix", "workloads"}, {"matrix", "threads"}, {"matrix", "sizes"},
                                    {"matrix", "seed"}};
    for (int i = optind; i < argc; i++) {
        cJSON *m = tb_meta_read(argv[i], err, sizeof err);
        if (!m)
            return tb_usage_error("merge", "%s", err);
        if (!first) {
            first = m;
            continue;
        }
        for (size_t k = 0; k < sizeof must / sizeof *must; k++)
            if (strcmp(tb_json_str(first, must[k][0], must[k][1]), tb_json_str(m, must[k][0], must[k][1])) != 0) {
                tb_usage_error("merge", "%s and %s disagree on %s%s%s ('%s' vs '%s'): not shards of one run",
                               argv[optind], argv[i], must[k][0], must[k][1] ? "." : "",
                               must[k][1] ? must[k][1] : "", tb_json_str(first, must[k][0], must[k][1]),
                               tb_json_str(m, must[k][0], must[k][1]));
                cJSON_Delete(m);
                cJSON_Delete(first);
                return TB_EXIT_USAGE;
            }
        cJSON_Delete(m);
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
    fprintf(stderr, "tmbench merge: %zu rows from %d shards into %s\n", total, n, out);
    return 0;
}
