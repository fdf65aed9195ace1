/* The results directory and its writer lock (outdir.h). */
#define _GNU_SOURCE
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"

int tb_outdir_lock(const char *dir, const char *what, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.tmbench.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the lock %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[128] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        snprintf(err, errlen, "%s is being written by another tmbench (%s): wait for it to end, or "
                              "write to another directory", dir, holder[0] ? holder : "pid unknown");
        close(fd);
        return -1;
    }
    char me[128];
    int len = snprintf(me, sizeof me, "pid %ld, tmbench %s\n", (long)getpid(), what);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, me, (size_t)len, 0) != len) {
        snprintf(err, errlen, "cannot write the lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0; /* fd stays open: the lock lives as long as this process */
}

static bool holds_run(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (stat(path, &st) == 0 && st.st_size > 0)
        return true;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    return stat(path, &st) == 0;
}

int tb_outdir_new(const char *dir, char *out, size_t outlen, char *id, size_t idlen, char *err, size_t errlen)
{
    char stamp[32], host[64] = "host";
    tb_utc_now(stamp, sizeof stamp, true);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    host[strcspn(host, ".")] = '\0';
    if (dir) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
        if (tb_outdir_lock(dir, "run", err, errlen) != 0)
            return -1;
        if (holds_run(dir)) {
            snprintf(err, errlen, "%s holds a run already: `tmbench run --resume %s` continues it; a new run "
                                  "wants another --out", dir, dir);
            return -1;
        }
        snprintf(out, outlen, "%s", dir);
        snprintf(id, idlen, "%s-%s", stamp, host);
        return 0;
    }
    mkdir("results", 0755);
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(id, idlen, "%s-%s", stamp, host);
        else
            snprintf(id, idlen, "%s-%s-%d", stamp, host, k);
        snprintf(out, outlen, "results/%s", id);
        if (mkdir(out, 0755) == 0) /* made here: no other run can have it */
            return tb_outdir_lock(out, "run", err, errlen);
        if (errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", out, strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "results/%s-%s: a thousand runs this second already", stamp, host);
    return -1;
}
