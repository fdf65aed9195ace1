#!/usr/bin/env bash
# The fault suite: tmbench as a careless or hostile user meets it. Each block is one class of
# "nothing lost, nothing faked": a killed driver leaves no worker behind and its run reads back
# as incomplete; ...
set -euo pipefail
TB=$(readlink -f "$1")
T=$(mktemp -d)
cleanup() {
    pkill -KILL -f "__worker.*live=7[0-9][0-9][0-9]" 2>/dev/null || true
    mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "test_faults: a command failed at line $LINENO: $BASH_COMMAND" >&2' ERR
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; false on time out
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
rows() { [ -f "$1/results.csv" ] && echo $(($(wc -l <"$1/results.csv") - 1)) || echo 0; }
has_rows() { [ "$(rows "$1")" -ge "$2" ]; }
no_workers() { ! pgrep -f "__worker.*live=$1" >/dev/null; }

# 1. a worker never outlives its driver. The cell's params carry a marker, so that pgrep finds
# this test's workers only (ctest runs other tests beside this one).
workers() { pgrep -f "__worker.*live=$1" >/dev/null; }
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 30 --timeout 60 --reps 1 \
    -p live=7001 --out "$T/long" >/dev/null 2>&1 &
drv=$!
wait_for 10 workers 7001 || fail "no worker started"
kill -KILL $drv 2>/dev/null || true
wait $drv 2>/dev/null || true
wait_for 10 no_workers 7001 || fail "a worker outlived its kill -9'ed driver"
# ... and the killed run reads back as incomplete
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 0.4 --timeout 60 --reps 4 \
    -p live=7003 --out "$T/k" >/dev/null 2>&1 &
drv=$!
wait_for 20 has_rows "$T/k" 1 || fail "the run made no row"
kill -KILL $drv 2>/dev/null || true
wait $drv 2>/dev/null || true
grep -qE '"complete":[[:space:]]*false' "$T/k/meta.json" || fail "a killed run's meta.json does not say incomplete"
"$TB" plot "$T/k" >/dev/null 2>&1 || fail "plot of a killed run"
grep -q "complete | NO: $(rows "$T/k") of 4 cell repetitions" "$T/k/plots/report.md" || fail "report does not say the run is incomplete"
"$TB" compare "$T/k" "$T/k" 2>&1 >/dev/null | matches "incomplete run" || fail "compare does not say the run is incomplete"
# SIGHUP (a closed terminal) ends a run like Ctrl-C: exit 130, rows kept, no worker left
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 20 --timeout 60 --reps 1 \
    -p live=7002 --out "$T/h" >/dev/null 2>&1 &
drv=$!
wait_for 10 workers 7002 || fail "no worker started"
kill -HUP $drv
rc=0; wait $drv || rc=$?
[ $rc -eq 130 ] || fail "SIGHUP: exit $rc, want 130"
grep -qE '"interrupted":[[:space:]]*true' "$T/h/meta.json" || fail "SIGHUP: meta.json does not say interrupted"
wait_for 10 no_workers 7002 || fail "a worker outlived SIGHUP"

# 2. one writer per results directory: a second run into a directory being written is exit 2
# and names the holder; a finished run's directory is never appended to by a new run
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 20 --timeout 60 --reps 1 \
    -p live=7004 --out "$T/c" >/dev/null 2>&1 &
drv=$!
wait_for 10 workers 7004 || fail "no worker started"
rc=0; "$TB" run --allocators glibc --workloads churn --threads 1 --ops 1000 --reps 1 --out "$T/c" >/dev/null 2>"$T/c.err" || rc=$?
[ $rc -eq 2 ] && grep -q "being written by another tmbench (pid $drv" "$T/c.err" || fail "second writer: exit $rc, $(cat "$T/c.err")"
kill -TERM $drv 2>/dev/null || true; wait $drv 2>/dev/null || true
"$TB" run --allocators glibc --workloads churn --threads 1 --ops 1000 --reps 1 --out "$T/done" >/dev/null 2>&1 || fail "a small run"
sum=$(md5sum <"$T/done/results.csv")
rc=0; "$TB" run --allocators glibc --workloads churn --threads 1 --ops 1000 --reps 1 --out "$T/done" >/dev/null 2>"$T/d.err" || rc=$?
[ $rc -eq 2 ] && grep -q "holds a run already" "$T/d.err" || fail "--out into a finished run: exit $rc, $(cat "$T/d.err")"
[ "$(md5sum <"$T/done/results.csv")" = "$sum" ] || fail "--out into a finished run changed its results.csv"
# two runs in the same second without --out get different directories
mkdir -p "$T/cwd/results"
host=$(hostname); host=${host%%.*}
now=$(date -u +%s)
for d in 0 1 2 3 4 5 6 7 8 9; do mkdir -p "$T/cwd/results/$(date -u -d "@$((now + d))" +%Y%m%dT%H%M%SZ)-$host"; done
got=$(cd "$T/cwd" && "$TB" run --allocators glibc --workloads churn --threads 1 --ops 1000 --reps 1 2>/dev/null) || fail "a run beside existing directories"
case "$got" in results/*-"$host"-2) ;; *) fail "a run took '$got', want a new -2 directory" ;; esac
[ "$(ls "$T/cwd/$got")" ] && [ -s "$T/cwd/$got/results.csv" ] || fail "the new directory has no results"
# a results.csv with a torn or foreign header is never written under (resume refuses, exit 2)
for hdr in "run_id,allocator" "run_id,allocator,allocator_version,workload,params"; do
    mkdir -p "$T/torn"; cp "$T/done/meta.json" "$T/torn/"
    if [ "$hdr" = run_id,allocator ]; then printf '%s' "$hdr" >"$T/torn/results.csv"; else printf '%s\n' "$hdr" >"$T/torn/results.csv"; fi
    sum=$(md5sum <"$T/torn/results.csv")
    rc=0; "$TB" run --resume "$T/torn" >/dev/null 2>"$T/t.err" || rc=$?
    [ $rc -eq 2 ] && grep -qE "nothing was (written|run)" "$T/t.err" || fail "resume under header '$hdr': exit $rc, $(cat "$T/t.err")"
    [ "$(md5sum <"$T/torn/results.csv")" = "$sum" ] || fail "resume changed a results.csv with header '$hdr'"
    rm -rf "$T/torn"
done

# a malformed row makes resume exit 2 with the line named; nothing reruns
cp -r "$T/done" "$T/mal"
csv_awk -v OFS=, 'FNR == 2 { print; $col["rep"] = 1; $col["ops_per_sec"] = "-3" } { print }' "$T/done/results.csv" >"$T/mal/results.csv"
sum=$(md5sum <"$T/mal/results.csv")
rc=0; "$TB" run --resume "$T/mal" >/dev/null 2>"$T/mal.err" || rc=$?
[ $rc -eq 2 ] && grep -q "results.csv:3: column ops_per_sec" "$T/mal.err" || fail "resume over a malformed row: exit $rc, $(cat "$T/mal.err")"
[ "$(md5sum <"$T/mal/results.csv")" = "$sum" ] || fail "resume over a malformed row wrote to it"

# 5. a cell is ok only if it did what it reports: an allocation that fails partway (here under an
# address-space limit) makes the cell failed with the reason, for every allocator
(ulimit -v 400000; "$TB" run --allocators tmempool-tcache,glibc --workloads footprint --threads 1 -p peak=20000000 \
    --reps 1 --timeout 60 --out "$T/oom" >/dev/null 2>&1) && fail "a run whose allocations failed exited 0"
[ "$(csv_count '$col["status"] == "failed" && $col["error"] ~ /returned NULL/' "$T/oom/results.csv")" -eq 2 ] ||
    fail "allocation failures not reported as failed: $(cat "$T/oom/results.csv")"

# a preloaded library counts only if it is an allocator: one that forwards to glibc's
# __libc_malloc, and one that leaves calloc and realloc to glibc, are unavailable, with the reason
cat >"$T/fwd.c" <<'C'
#include <stddef.h>
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { __libc_free(p); }
void *calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
C
cat >"$T/half.c" <<'C'
#include <stddef.h>
static char pool[1 << 24];
static size_t used;
void *malloc(size_t n) { n = (n + 15) & ~(size_t)15; if (used + n > sizeof pool) return 0; used += n; return pool + used - n; }
void free(void *p) { (void)p; }
C
cc -shared -fPIC -O2 -o "$T/fwd.so" "$T/fwd.c" && cc -shared -fPIC -O2 -o "$T/half.so" "$T/half.c" || fail "cc"
"$TB" run --allocators "fwd=$T/fwd.so,half=$T/half.so,glibc" --workloads churn --threads 1 --ops 2000 --reps 1 \
    --out "$T/fwd" >/dev/null 2>&1 && fail "a run with fake allocators exited 0"
csv_awk 'FNR > 1 { print $col["allocator"], $col["status"] }' "$T/fwd/results.csv" | sort >"$T/fwd.got"
printf 'fwd unavailable\nglibc ok\nhalf unavailable\n' | diff - "$T/fwd.got" >/dev/null || fail "fake allocators: $(cat "$T/fwd.got")"
grep -q "forwards to glibc" "$T/fwd/results.csv" && grep -q "calloc still resolves into libc" "$T/fwd/results.csv" ||
    fail "fake allocators without the reason"
for spec in "all=$T/fwd.so" "my lib=$T/fwd.so" "x=$T/my dir/fwd.so" "x=$T/a:b.so"; do
    rc=0; "$TB" run --allocators "$spec" --workloads churn --out "$T/ua" >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] && [ ! -e "$T/ua" ] || fail "--allocators '$spec': exit $rc"
done

# 6. resume restores the run exactly: its shard, sampling, pinning and timeout, and its original
# command line and start (the resume is added); an empty or absurd matrix is exit 2
"$TB" run --allocators glibc,floor --workloads churn,batch --threads 1 --ops 2000 --reps 3 --seed 3 --shard 1/2 \
    --pin --sample 7 --timeout 33 --out "$T/rs" >/dev/null 2>&1 || fail "a sharded run"
want=$(rows "$T/rs")
started=$(grep -o '"started":[[:space:]]*"[^"]*"' "$T/rs/meta.json")
head -n -2 "$T/rs/results.csv" >"$T/x" && mv "$T/x" "$T/rs/results.csv"
"$TB" run --resume "$T/rs" >/dev/null 2>&1 || fail "resume of a sharded run"
[ "$(rows "$T/rs")" -eq "$want" ] || fail "resume of shard 1/2 made $(rows "$T/rs") rows, want $want"
m=$(tr -d '\n\t ' <"$T/rs/meta.json")
for f in '"pin":true' '"timeout":33' '"latency_sample_every":7' '"shard":"1/2"' '"resumed":[{"command_line":["' '"--pin"'; do
    grep -qF "$f" <<<"$m" || fail "resumed meta.json lacks $f"
done
grep -qF "$(tr -d '\t ' <<<"$started")" <<<"$m" || fail "resume replaced the run's start time"
for bad in '{"matrix":{}}' '{"tool":"x"}' "$(sed 's/"reps":[[:space:]]*3/"reps": 1e12/' "$T/rs/meta.json")"; do
    mkdir -p "$T/bm"; printf '%s\n' "$bad" >"$T/bm/meta.json"
    rc=0; "$TB" run --resume "$T/bm" >/dev/null 2>"$T/bm.err" || rc=$?
    [ $rc -eq 2 ] && [ ! -e "$T/bm/results.csv" ] || fail "resume of meta '${bad:0:30}': exit $rc, $(cat "$T/bm.err")"
    rm -rf "$T/bm"
done

# 7. merge joins only the shards of one run, each once: a lone shard is exit 1 (missing shards
# named) unless --allow-partial, and then reads back as incomplete; shards of runs with another
# cell length, another seed, a shard twice, or a run that is not a shard are exit 2
mk() { "$TB" run --allocators glibc,floor --workloads churn --threads 1 --reps 2 "$@" >/dev/null 2>&1 || fail "shard run $*"; }
mk --ops 2000 --seed 5 --shard 1/2 --out "$T/g1"
mk --ops 2000 --seed 5 --shard 2/2 --out "$T/g2"
mk --ops 3000 --seed 5 --shard 2/2 --out "$T/len"
mk --ops 2000 --seed 6 --shard 2/2 --out "$T/seed"
mk --ops 2000 --seed 5 --out "$T/whole"
rc=0; "$TB" merge "$T/g1" --out "$T/mm1" >/dev/null 2>"$T/mm.err" || rc=$?
[ $rc -eq 1 ] && grep -q "1 of 2 shards are missing (2)" "$T/mm.err" && [ ! -e "$T/mm1/results.csv" ] || fail "a lone shard: exit $rc, $(cat "$T/mm.err")"
"$TB" merge "$T/g1" --allow-partial --out "$T/mm2" >/dev/null 2>&1 || fail "merge --allow-partial"
grep -qE '"complete":[[:space:]]*false' "$T/mm2/meta.json" || fail "a partial merge does not read back as incomplete"
for other in len seed whole g1; do
    rc=0; "$TB" merge "$T/g1" "$T/$other" --out "$T/mm-$other" >/dev/null 2>"$T/mm.err" || rc=$?
    [ $rc -eq 2 ] && [ ! -e "$T/mm-$other/results.csv" ] || fail "merge with $other: exit $rc, $(cat "$T/mm.err")"
done
"$TB" merge "$T/g1" "$T/g2" --out "$T/mm" >/dev/null 2>&1 || fail "merge of two shards"
grep -qE '"complete":[[:space:]]*true' "$T/mm/meta.json" && [ "$(rows "$T/mm")" -eq 4 ] || fail "the merged run"
# each shard's yardstick is kept by shard, and none stands for the merged run's machine
python3 - "$T/mm/meta.json" "$T/g1" "$T/g2" <<'PY' || fail "the merged run's yardsticks: $(grep -A3 speed_probe "$T/mm/meta.json")"
import json, sys
m = json.load(open(sys.argv[1]))
assert "speed_probe" not in m, m.keys()
assert [x["shard"] for x in m["speed_probe_shards"]] == sys.argv[2:], m["speed_probe_shards"]
assert all(x["speed_probe"]["after"]["cpu_ns"] > 0 for x in m["speed_probe_shards"])
PY

# 8. plot works for any run: one allocator and one cell, no tmempool allocator at all; an
# unknown --latency-workload and an --out that is a file are exit 2 with nothing written
"$TB" run --allocators glibc --workloads churn --threads 1 --ops 2000 --reps 1 --out "$T/p1" >/dev/null 2>&1 || fail "one-cell run"
"$TB" run --allocators glibc,mimalloc --workloads churn,batch --threads 1,2 --ops 2000 --reps 2 --out "$T/p2" >/dev/null 2>&1 ||
    fail "a run without a pool"
for d in p1 p2; do
    "$TB" plot "$T/$d" >/dev/null 2>"$T/p.err" || fail "plot of $d: $(cat "$T/p.err")"
    [ -s "$T/$d/plots/memory.png" ] && [ -s "$T/$d/plots/report.html" ] || fail "plot of $d: no memory chart or report"
done
rc=0; "$TB" plot "$T/p2" --latency-workload nosuch --out "$T/p3" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/p3" ] || fail "unknown --latency-workload: exit $rc"
touch "$T/afile"
rc=0; "$TB" plot "$T/p2" --out "$T/afile" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--out naming a file: exit $rc"

# 9. meta.json records what shaped the run: --pin, --timeout, TMEMPOOL_TOPOLOGY and the node count
# it gave, and every distinct line a worker wrote to stderr (here hwloc's topology refused)
TMEMPOOL_TOPOLOGY="node:100000" "$TB" run --allocators tmempool-numa --workloads churn --threads 1 --ops 2000 \
    --reps 2 --timeout 41 --out "$T/meta" >/dev/null 2>"$T/meta.err" || fail "a run under TMEMPOOL_TOPOLOGY"
m=$(tr -d '\n\t ' <"$T/meta/meta.json")
for f in '"tmempool_topology":"node:100000"' '"tmempool_numa_nodes":' '"timeout":41' '"pin":false' '"worker_warnings":["tmempool:TMEMPOOL_TOPOLOGY='; do
    grep -qF "$f" <<<"$m" || fail "meta.json lacks $f"
done
[ "$(grep -o 'describesmore' <<<"$m" | wc -l)" -eq 1 ] || fail "a worker's warning is not recorded exactly once"
grep -q "a worker said: tmempool: TMEMPOOL_TOPOLOGY" "$T/meta.err" || fail "a worker's warning does not reach the run's output"

# 4. numbers on the command line never wrap or truncate, lists have no empty or repeated items:
# each of these is exit 2, one message naming what is valid, and nothing written
while IFS= read -r args; do
    rc=0
    eval "\"\$TB\" run $args --out \"\$T/num\"" >/dev/null 2>"$T/num.err" || rc=$?
    [ $rc -eq 2 ] || fail "'$args': exit $rc, want 2"
    grep -qE "want|twice" "$T/num.err" || fail "'$args': no message saying what is valid: $(cat "$T/num.err")"
    [ ! -e "$T/num" ] || fail "'$args' wrote $T/num"
done <<'CASES'
--reps 4294967297
--reps 0
--timeout inf
--timeout 2e10
--timeout nan
--duration 5 --timeout 3
--seed -1
--seed 18446744073709551616
--sample -1
--sample 4294967296
--shard 1/2junk
--shard 3/2
--shard -1/2 --seed 1
--threads 1,,2
--threads 1,2,
--threads 4097
--sizes ncpu
--sizes 0
--ops -5
--ops 1e20
--allocators glibc,glibc
--workloads churn,churn
--reps auto --target 0
--reps auto --target 100
--reps auto --budget 0
--reps auto --duration 1 --budget 2
--target 1
--budget 60
--reps auto --shard 1/2 --seed 1
--reps sometimes
--duet --allocators glibc,jemalloc --threads 4097
--duet --allocators glibc,jemalloc,mimalloc --threads 1
--duet --allocators glibc --threads 1
--duet --allocators glibc,jemalloc --threads 1 --measure instructions
CASES

# 3. a failed write is a failure: a disk that fills mid-run stops the run with exit 4 and a
# message naming the file; every row written is whole. (Needs root, for a small tmpfs.)
mkdir -p "$T/full"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=16k tmpfs "$T/full" 2>/dev/null; then
    rc=0; "$TB" run --allocators floor --workloads churn --threads 1 --ops 1000 --reps 200 --out "$T/full/r" \
        >/dev/null 2>"$T/full.err" || rc=$?
    [ $rc -eq 4 ] && grep -q "cannot append to $T/full/r/results.csv: No space left on device" "$T/full.err" ||
        fail "full disk: exit $rc, $(tail -2 "$T/full.err")"
    n=$(rows "$T/full/r")
    [ "$n" -gt 0 ] && [ "$n" -lt 200 ] || fail "full disk: $n rows"
    csv_awk 'FNR > 1 && NF != length(col) { print "torn row " FNR; bad = 1 } END { exit bad }' "$T/full/r/results.csv" ||
        fail "full disk left a torn row"
    grep -qE '"complete":[[:space:]]*false' "$T/full/r/meta.json" || fail "full disk: meta.json claims a complete run"
    # merge onto a full disk: exit 4, nothing left half written
    rm -rf "$T/full/r"
    "$TB" run --allocators glibc,floor --workloads churn,batch --threads 1 --ops 1000 --reps 20 --seed 9 --shard 1/2 \
        --out "$T/m1" >/dev/null 2>&1 && "$TB" run --allocators glibc,floor --workloads churn,batch --threads 1 --ops 1000 \
        --reps 20 --seed 9 --shard 2/2 --out "$T/m2" >/dev/null 2>&1 || fail "shards for the merge"
    dd if=/dev/zero of="$T/full/fill" bs=1k count=8 2>/dev/null || true
    rc=0; "$TB" merge "$T/m1" "$T/m2" --out "$T/full/m" >/dev/null 2>"$T/m.err" || rc=$?
    [ $rc -eq 4 ] || fail "merge onto a full disk: exit $rc, $(cat "$T/m.err")"
    [ ! -e "$T/full/m/results.csv" ] && [ ! -e "$T/full/m/meta.json" ] || fail "merge left a partial run on a full disk"
    # plot onto a full disk: exit 4 naming the file, not a complaint about the data
    rc=0; "$TB" plot "$T/m1" --out "$T/full/p" >/dev/null 2>"$T/p.err" || rc=$?
    [ $rc -eq 4 ] && grep -q "No space left on device" "$T/p.err" || fail "plot onto a full disk: exit $rc, $(cat "$T/p.err")"
    umount "$T/full"
else
    echo "test_faults: the full-disk checks need root and a tmpfs mount: skipped here" >&2
fi

echo "test_faults: all passed"
