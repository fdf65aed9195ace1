/* meta.json, the other half of a run's data: what ran, where, with which build, and whether it
 * finished. Written by run (and merge), read by resume, merge, plot and compare. */
#ifndef TB_META_H
#define TB_META_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>


struct tb_matrix; /* matrix.h: only the writer needs it */

typedef struct tb_meta_run {
    const char *run_id, *out_dir;
    int argc;
    char **argv;
    const struct tb_matrix *m;
    double load_before[3], load_after[3];
    char started[32], ended[32];
    bool interrupted;
    const char *versions_json; /* allocator -> version, as a JSON object text */
    const char *measure;       /* "time" or "instructions" */
    const char *count_method;  /* instructions: "perf" or "callgrind" */
    const char *against;       /* run --against: the other build's libtmempool */
} tb_meta_run;

int tb_meta_write(const char *dir, const tb_meta_run *mr, char *err, size_t errlen);
/* DIR/meta.json, or NULL when missing or not JSON (why, in err if not NULL). */
cJSON *tb_meta_read(const char *dir, char *err, size_t errlen);
/* root[a][b] (b may be NULL) when it is a string, else "". */
const char *tb_json_str(const cJSON *root, const char *a, const char *b);
void tb_utc_now(char *buf, size_t len, bool compact);

#endif
