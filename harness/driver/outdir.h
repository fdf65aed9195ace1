/* A results directory as its one writer holds it: a new directory for a new run (never one that
 * holds a run already), and the lock that run, resume and merge take on it. */
#ifndef TB_OUTDIR_H
#define TB_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Takes DIR's writer lock (DIR/.tmbench.lock, an flock held until this process exits, so a
 * killed writer never leaves it stale). 0, or -1 with a message naming the process that holds
 * it, or what failed. `what` names this writer in the lock file ("run", "merge"). */
int tb_outdir_lock(const char *dir, const char *what, char *err, size_t errlen);

/* Makes a directory for a new run: DIR as given (it may exist, but not hold a run: no
 * results.csv with rows or header, no meta.json), or, with dir NULL, results/<stamp>-<host>,
 * with -2, -3 ... added when that exists (two runs started in the same second), and takes its
 * lock. Writes the path to out and the run id to id. 0, or -1 with a message. */
int tb_outdir_new(const char *dir, char *out, size_t outlen, char *id, size_t idlen, char *err, size_t errlen);

#endif
