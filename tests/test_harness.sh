#!/usr/bin/env bash
# Harness smoke test: every workload x every allocator available here ends ok (or skipped by
# design) in a short run; the overlapping test allocator is caught as corrupt; bad input exits 2
# and writes nothing; resume neither duplicates nor loses rows and drops a torn last line.
set -euo pipefail
TB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

# 0. the command line: a bare tmbench prints its usage and exits 2 at once (it used to start a
# run); -V and --version say the version; help CMD is CMD --help; an unknown command is exit 2
rc=0; (cd "$T" && timeout 5 "$TB" >"$T/bare.out" 2>"$T/bare.err") || rc=$?
[ $rc -eq 2 ] && matches '^usage: tmbench COMMAND' "$T/bare.err" && [ ! -s "$T/bare.out" ] && [ ! -e "$T/results" ] ||
    fail "bare tmbench: exit $rc, $(head -2 "$T/bare.err")"
for v in -V --version; do "$TB" $v | matches -E '^tmbench [0-9]+\.[0-9]+\.[0-9]+ \(' || fail "tmbench $v"; done
[ "$("$TB" help compare)" = "$("$TB" compare --help)" ] && [ "$("$TB" help run)" = "$("$TB" run --help)" ] || fail "help CMD is not CMD --help"
for bad in "help nosuch" "help __worker" "nosuch"; do
    rc=0; "$TB" $bad >/dev/null 2>"$T/h.err" || rc=$?
    [ $rc -eq 2 ] && matches "unknown command" "$T/h.err" || fail "tmbench $bad: exit $rc"
done

# 1. all x all, 1 and 2 threads, short.
"$TB" run --allocators all --workloads all --threads 1,2 --ops 20000 --reps 1 --seed 7 \
    -p peak=2000 -p rounds=500 -p writes=4 --out "$T/a" >/dev/null 2>"$T/a.log" || { cat "$T/a.log"; fail "run all x all"; }
rows=$(($(wc -l <"$T/a/results.csv") - 1))
# the progress lines: a skipped cell says why, never a bare "ops/s"
! grep -E ' skipped +ops/s' "$T/a.log" >/dev/null && matches -E ' skipped +prodcons pairs threads' "$T/a.log" ||
    fail "progress line of a skipped cell: $(grep -m1 ' skipped ' "$T/a.log")"
# every listed allocator x (every workload + falseshare's second mode, which the preset sweeps)
# x 2 thread counts; the counts come from `tmbench list`, so a new allocator or workload is in
listing=$("$TB" list)
nalloc=$(awk '/^allocators:/ { s = 1; next } /^$/ { s = 0 } s && /^  [^ ]/ { n++ } END { print n }' <<<"$listing")
# (less those that `all` leaves out: replay needs a trace)
nwl=$(awk '/^workloads:/ { s = 1; next } /^$/ { s = 0 } s && /^  [^ ]/ { n++ } s && /not in --workloads all/ { n-- } END { print n }' <<<"$listing")
[ "$nalloc" -ge 9 ] && [ "$nwl" -ge 7 ] || fail "tmbench list shows $nalloc allocators and $nwl workloads"
all_rows=$((nalloc * (nwl + 1) * 2))
[ "$rows" -eq "$all_rows" ] || fail "expected $all_rows rows, got $rows"
n=$(csv_awk 'NR>1 && $col["workload"]=="falseshare" {print $col["params"]}' "$T/a/results.csv" | sort -u | tr '\n' ' ')
[ "$n" = "handoff=no;writes=4 handoff=yes;writes=4 " ] || fail "preset did not run falseshare in both modes: $n"
head -1 "$T/a/results.csv" | matches '^run_id,allocator,allocator_version,workload,params,threads,object_size,rep,status,ops,seconds,ops_per_sec,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,peak_rss_kib,pool_bytes_reserved,lock_waits,error' || fail "header"
csv_awk 'NR>1 && $col["status"]!="ok" && $col["status"]!="skipped" {print; bad=1} END {exit bad}' "$T/a/results.csv" || fail "a cell is not ok"
# ok rows have ops and a positive rate; churn at 2 threads did exactly 2 x 10048 ops (64-op rounds)
csv_awk 'NR>1 && $col["status"]=="ok" && ($col["ops"]<=0 || $col["ops_per_sec"]<=0) {bad=1} END {exit bad}' "$T/a/results.csv" || fail "ok row without ops"
# Exact op counts, --ops 20000 split over the threads and rounded up to each workload's unit:
# churn rounds of 64 per thread; batch whole batches of 1000; falseshare rounds of 16; larson,
# prodcons and xmalloc exactly; footprint fixed by peak: (peak + 0.9 peak + 2 peak) per thread.
# (A workload with no entry here is still run, and must end ok, above.)
csv_awk 'BEGIN { e["churn",1]=20032; e["churn",2]=20096; e["batch",1]=20000; e["batch",2]=20000;
                 e["falseshare",1]=20000; e["falseshare",2]=20000; e["larson",1]=20000; e["larson",2]=20000;
                 e["prodcons",2]=20000; e["xmalloc",2]=20000; e["footprint",1]=7800; e["footprint",2]=15600 }
     NR>1 && $col["status"]=="ok" && (($col["workload"],$col["threads"]) in e) && $col["ops"] != e[$col["workload"],$col["threads"]] { print "op count", $col["allocator"], $col["workload"], $col["threads"], $col["ops"], "want", e[$col["workload"],$col["threads"]]; bad=1 }
     END { exit bad }' "$T/a/results.csv" || fail "exact op counts"
# skipped only by design: the floor on cross-thread workloads, pairs at 1 thread
csv_awk 'NR>1 && $col["status"]=="skipped" && !($col["allocator"]=="floor" || $col["threads"]==1) {print; bad=1} END {exit bad}' "$T/a/results.csv" || fail "unexpected skip"
grep -qE "\"interrupted\":[[:space:]]*false" "$T/a/meta.json" || fail "meta.json"
# the noise each cell met is recorded: context switches and migrations of its threads, and the
# share of CPU time stolen while it ran (empty for a cell shorter than the kernel's 10 ms tick; a
# workload that starts its own threads, larson, leaves
# the per-thread counts unknown)
csv_awk 'NR>1 && $col["status"]=="ok" && $col["workload"]=="churn" && ($col["invol_switches"] == "" || $col["cpu_migrations"] == "") { print; bad=1 } END { exit bad }' \
    "$T/a/results.csv" || fail "a churn cell without its noise counts"
# page faults in the timed regions: a number for every ok cell, and a footprint cell, whose
# peak is first touches of fresh memory from a cold heap, took some on every tmempool strategy
csv_awk 'NR>1 && $col["status"]=="ok" && $col["page_faults"] !~ /^[0-9]+$/ { print; bad=1 }
         NR>1 && $col["status"]=="ok" && $col["workload"]=="footprint" && $col["allocator"] ~ /^tmempool-/ && $col["page_faults"] == 0 { print; bad=1 }
         END { exit bad }' "$T/a/results.csv" || fail "page_faults missing, or none where a cold heap must fault"
# batched sampling resolves what a single timed call cannot: every ok cell has a batch mean,
# and a sampled percentile is either a value at or above its bound or empty
# (fixed-size cells: larson's own sizes are a range, whose cells have no batch of one size)
csv_awk 'NR>1 && $col["status"]=="ok" && $col["sizes"] ~ /^[0-9]+$/ && ($col["alloc_batch_ns"] == "" || $col["free_batch_ns"] == "") { print; bad=1 } END { exit bad }' \
    "$T/a/results.csv" || fail "an ok cell without its batch means"
grep -qE "\"seed\":[[:space:]]*\"7\"" "$T/a/meta.json" || fail "seed in meta"
# the machine's yardstick, before and after the cells: positive ns a step on the core and on memory
python3 - "$T/a/meta.json" <<'PY' || fail "meta.json's speed_probe"
import json, sys
sp = json.load(open(sys.argv[1]))["speed_probe"]
assert all(0 < sp[w][k] < 1e6 for w in ("before", "after") for k in ("cpu_ns", "mem_ns")), sp
PY
# ... and the report prints it
"$TB" plot "$T/a" >/dev/null 2>&1 || fail "plot of the first run"
grep -qE '^\| machine.s yardstick \| a multiply chain [0-9.]+ / [0-9.]+ ns a step, a chase through 4 MiB [0-9.]+ / [0-9.]+ ns' "$T/a/plots/report.md" ||
    fail "the report's yardstick: $(grep yardstick "$T/a/plots/report.md")"
# where the threads ran: two threads held to one CPU say so, and spread over two say 2
if [ "$(nproc)" -ge 2 ]; then
    first_cpu=$(taskset -pc $$ | sed 's/.*: //; s/[,-].*//')
    taskset -c "$first_cpu" "$TB" run --allocators glibc --workloads xmalloc --threads 2 --ops 20000 --reps 1 --out "$T/cpu1" >/dev/null 2>&1 ||
        fail "xmalloc on one CPU"
    "$TB" run --allocators glibc --workloads churn --threads 2 --ops 20000 --reps 1 --pin --out "$T/cpu2" >/dev/null 2>&1 ||
        fail "churn pinned"
    [ "$(csv_count '$col["cpus_used"] == 1' "$T/cpu1/results.csv")" -eq 1 ] &&
        [ "$(csv_count '$col["cpus_used"] == 2' "$T/cpu2/results.csv")" -eq 1 ] || fail "cpus_used does not say where the threads ran"
    # held to one CPU by taskset, the run could not spread: nothing to flag. The same rows from
    # a run that had two CPUs are listed by the report, and compare notes them.
    "$TB" plot "$T/cpu1" >/dev/null 2>&1 || fail "plot of the one-CPU run"
    grep -q "Threads that shared a CPU" "$T/cpu1/plots/report.md" && fail "a run held to one CPU flagged as shared"
    cp -r "$T/cpu1" "$T/cpu1x" && rm -rf "$T/cpu1x/plots"
    sed -i 's/"cpus_allowed":[[:space:]]*1/"cpus_allowed": 2/' "$T/cpu1x/meta.json"
    grep -q '"cpus_allowed": 2' "$T/cpu1x/meta.json" || fail "meta.json has no cpus_allowed"
    "$TB" plot "$T/cpu1x" >/dev/null 2>&1 || fail "plot of the shared-CPU run"
    grep -A4 "Threads that shared a CPU" "$T/cpu1x/plots/report.md" | matches '\| glibc \| xmalloc \|' ||
        fail "the report does not list the repetition whose threads shared a CPU"
    "$TB" compare "$T/cpu1x" "$T/cpu1x" 2>&1 >/dev/null | matches "1 ok repetitions ran with two of their threads on one CPU" ||
        fail "compare does not note threads that shared a CPU"
fi

# 2. overlapping objects are caught by every workload that keeps more than one alive, the
# cross-thread ones too (xmalloc's consumer reads only one object in 16: still caught)
rc=0
"$TB" run --allocators test-overlap --workloads churn,batch,footprint --threads 1 --ops 2000 --reps 1 \
    -p live=4 -p peak=100 --out "$T/o" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "overlap run should exit 1, got $rc"
n=$(csv_awk 'NR>1 && $col["status"]=="corrupt"' "$T/o/results.csv" | wc -l)
[ "$n" -eq 3 ] || fail "overlap: expected 3 corrupt cells, got $n"
rc=0
"$TB" run --allocators test-overlap --workloads xmalloc,prodcons,larson --threads 2 --ops 20000 --reps 1 \
    --out "$T/o2" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "cross-thread overlap run should exit 1, got $rc"
n=$(csv_awk 'NR>1 && $col["status"]=="corrupt"' "$T/o2/results.csv" | wc -l)
[ "$n" -eq 3 ] || fail "cross-thread overlap: expected 3 corrupt cells, got $n"
# xmalloc's departures from the original run too, each with the exact op count
"$TB" run --allocators glibc,tmempool-tcache --workloads xmalloc --threads 2 --ops 20000 --reps 1 -p order=fifo -p lag=2 \
    -p containers=pre -p wait=spin -p batch=100 -p depth=8 --out "$T/xv" >/dev/null 2>&1 || fail "xmalloc fifo/pre/spin"
[ "$(csv_count '$col["status"] == "ok" && $col["ops"] == 20000' "$T/xv/results.csv")" -eq 2 ] || fail "xmalloc fifo/pre/spin op counts"

# 3. bad input: exit 2, a message naming what is valid, nothing written
for args in "-p bogus=1" "--allocators nosuch" "--workloads nosuch" "--threads 0" "--ops -5" "-p order=sideways --workloads batch" \
            "-p live=0 --workloads churn" "-p fraction=1.5 --workloads footprint" \
            "-p lag=64 --workloads xmalloc --threads 2" "-p order=fifo -p lag=100 --workloads xmalloc --threads 2" \
            "--sizes 8-1000000 --workloads xmalloc --threads 2" "-p peak=60000000 --threads 1 --workloads footprint --sizes 4096"; do
  rc=0
  "$TB" run $args --out "$T/bad" >/dev/null 2>"$T/bad.log" || rc=$?
  [ "$rc" -eq 2 ] || fail "'$args' should exit 2, got $rc"
  [ ! -e "$T/bad/results.csv" ] || [ "$(wc -l <"$T/bad/results.csv")" -le 1 ] || fail "'$args' wrote rows"
  rm -rf "$T/bad"
done
msg=$("$TB" run -p bogus=1 2>&1 || true)
grep -q "valid: churn.live" <<<"$msg" || fail "bad -p does not list valid keys: $msg"
msg=$("$TB" run -p order=fifo -p lag=100 --workloads xmalloc --threads 2 2>&1 || true)
grep -q "want lag less than depth" <<<"$msg" || fail "lag >= depth not explained: $msg"
msg=$("$TB" run -p lag=64 --workloads xmalloc --threads 2 2>&1 || true)
grep -q "applies to order=fifo" <<<"$msg" || fail "lag with lifo not explained: $msg"
msg=$("$TB" run --sizes 8-1000000 --workloads xmalloc --threads 2 2>&1 || true)
grep -q "more than half of this machine's" <<<"$msg" || fail "a cell too big for memory not explained: $msg"
msg=$("$TB" run --allocators nosuch 2>&1 || true)
grep -q "valid: tmempool-global" <<<"$msg" || fail "unknown allocator does not list valid ones: $msg"

# 3b. sweeps: a -p value listing several runs each, every combination of one workload's keys;
# a user's setting replaces the preset's sweep; a bad value anywhere in a list is a usage error
"$TB" run --allocators floor --workloads falseshare,churn --threads 1 --ops 2000 --reps 1 \
    -p writes=1,3 -p handoff=no -p live=1,2 --out "$T/s" >/dev/null 2>&1 || fail "sweep run"
got=$(csv_awk 'NR>1 {print $col["workload"] "/" $col["params"]}' "$T/s/results.csv" | sort | tr '\n' ' ')
[ "$got" = "churn/live=1 churn/live=2 falseshare/handoff=no;writes=1 falseshare/handoff=no;writes=3 " ] ||
    fail "sweep cells: $got"
# ... and every setting is a column of its own too (p_<key>), so a plot can facet on it
got=$(csv_awk 'NR>1 {print $col["workload"] "/" $col["p_live"] "/" $col["p_writes"] "/" $col["p_handoff"]}' "$T/s/results.csv" | sort | tr '\n' ' ')
[ "$got" = "churn/1// churn/2// falseshare//1/no falseshare//3/no " ] || fail "settings as columns: $got"
for args in "-p handoff=yes,maybe" "-p handoff=yes,,no" "-p writes=1,0"; do
  rc=0
  "$TB" run --allocators floor --workloads falseshare --threads 1 --ops 1000 $args --out "$T/bad" >/dev/null 2>"$T/bad.log" || rc=$?
  [ "$rc" -eq 2 ] || fail "'$args' should exit 2, got $rc"
  [ ! -e "$T/bad/results.csv" ] || fail "'$args' wrote results"
  grep -q "not valid for falseshare" "$T/bad.log" || fail "'$args': $(cat "$T/bad.log")"
done

# 4. resume: nothing duplicated; a torn last line is dropped and its cell re-run
"$TB" run --resume "$T/a" >/dev/null 2>&1 || fail "resume of a finished run"
[ $(($(wc -l <"$T/a/results.csv") - 1)) -eq "$all_rows" ] || fail "resume duplicated rows"
head -c -1 "$T/a/results.csv" >"$T/x" && sed '$ s/,[^,]*$//' "$T/x" >"$T/a/results.csv"   # tear the last row
"$TB" run --resume "$T/a" >/dev/null 2>&1 || fail "resume after a torn row"
[ $(($(wc -l <"$T/a/results.csv") - 1)) -eq "$all_rows" ] || fail "torn row not replaced exactly once"
csv_awk 'NR>1 && NF < 20 {bad=1} END {exit bad}' "$T/a/results.csv" || fail "a torn row survived"

# 5. shards merge back into the whole matrix
"$TB" run --allocators tmempool-tcache,glibc --workloads churn --threads 1 --ops 2000 --reps 2 --seed 3 --shard 1/2 --out "$T/s1" >/dev/null 2>&1
"$TB" run --allocators tmempool-tcache,glibc --workloads churn --threads 1 --ops 2000 --reps 2 --seed 3 --shard 2/2 --out "$T/s2" >/dev/null 2>&1
"$TB" merge "$T/s1" "$T/s2" --out "$T/m" 2>/dev/null || fail "merge"
[ $(($(wc -l <"$T/m/results.csv") - 1)) -eq 4 ] || fail "merge row count"
# 6. duration mode: every workload stops on time (larson runs its own threads and was once
# left running until the cell's timeout); footprint's length is fixed by peak, by design
"$TB" run --allocators tmempool-tcache --workloads all --threads 1,2 --duration 0.05 --reps 1 \
    -p peak=2000 --timeout 20 --out "$T/d" >/dev/null 2>&1 || fail "duration run"
csv_awk 'NR>1 && $col["status"]=="ok" && $col["workload"]!="footprint" && ($col["seconds"] < 0.04 || $col["seconds"] > 1.0) {print; bad=1} END {exit bad}' "$T/d/results.csv" || fail "duration not kept"
# under a preset, the cross-thread workloads get cells of at least their min_seconds
"$TB" run --allocators glibc --workloads churn,xmalloc --threads 2 --reps 1 --out "$T/len" >/dev/null 2>&1 || fail "quick-preset lengths"
[ "$(csv_count '$col["workload"] == "xmalloc" && $col["seconds"] >= 0.45' "$T/len/results.csv")" -eq 1 ] &&
    [ "$(csv_count '$col["workload"] == "churn" && $col["seconds"] < 0.3' "$T/len/results.csv")" -eq 1 ] ||
    fail "the preset's cells do not fit their workloads: $(csv_awk 'NR>1 {print $col["workload"], $col["seconds"]}' "$T/len/results.csv")"
csv_awk 'NR>1 && $col["status"]!="ok" && $col["status"]!="skipped" {print; bad=1} END {exit bad}' "$T/d/results.csv" || fail "duration run has failed cells"

# 7. --against: a second copy of the library (another path, so the loader keeps both) runs as
# X@base beside X, sealed from the first (it once bound to the first build's internals and hung)
LIB=$(dirname "$TB")/../allocators/libtmempool.so
mkdir -p "$T/other/allocators" && cp "$(readlink -f "$LIB")" "$T/other/allocators/libtmempool.so"
"$TB" run --against "$T/other" --allocators tmempool-tcache,tmempool-numa --workloads larson,churn --threads 2 \
    --duration 0.1 --reps 2 --timeout 20 --out "$T/ag" >/dev/null 2>&1 || fail "--against run"
[ "$(csv_awk 'NR>1 && $col["allocator"] ~ /@base$/ && $col["status"]=="ok"' "$T/ag/results.csv" | wc -l)" -eq 8 ] || fail "--against twins not all ok"
[ "$(csv_awk 'NR>1 && $col["status"]=="ok"' "$T/ag/results.csv" | wc -l)" -eq 16 ] || fail "--against cells not all ok"
rc=0; "$TB" compare "$T/ag" --baseline @base >/dev/null 2>&1 || rc=$?
[ $rc -le 1 ] || fail "compare --baseline @base exit $rc"

# 7b. --reps auto: 6 rounds, then more only for the cells still wider than the target, within
# the budget; meta.json says how many each took and whether it converged; compare pairs them
"$TB" run --against "$T/other" --allocators tmempool-tcache --workloads churn,batch --threads 1 --duration 0.02 \
    --reps auto --target 30 --budget 60 --timeout 20 --out "$T/auto" >/dev/null 2>"$T/auto.log" || { cat "$T/auto.log"; fail "--reps auto"; }
m=$(tr -d '\n\t ' <"$T/auto/meta.json")
grep -qF '"reps_auto":true' <<<"$m" && grep -qF '"adaptive":{"target_pct":30' <<<"$m" || fail "meta.json lacks the adaptive record"
csv_awk 'FNR > 1 { n[$col["allocator"] "|" $col["workload"]]++ } END { for (k in n) if (n[k] < 6) { print k, n[k]; bad = 1 }; exit bad }' \
    "$T/auto/results.csv" || fail "--reps auto ran fewer than 6 rounds of a cell"
grep -q "cells within +-30%" "$T/auto.log" || fail "--reps auto does not say how many cells converged"
# exit 1 is a verdict, not an error: an A/A pair judged slower by chance at alpha 0.05 (it
# failed CI once through pipefail while the output was paired)
rc=0; "$TB" compare "$T/auto" --baseline @base --alpha 0.05 --format csv >"$T/auto.csv" || rc=$?
[ $rc -le 1 ] || fail "compare of an auto run exit $rc"
matches ',paired$' <"$T/auto.csv" || fail "compare of an auto run is not paired"

# 7c. --duet: the two allocators' cells run at once, each on its own CPU; each row names its
# partner, and the pairs share their repetition numbers, so compare judges them paired
"$TB" run --duet --allocators glibc,floor --workloads churn,batch --threads 1 --duration 0.05 --reps 3 \
    --out "$T/duet" >/dev/null 2>"$T/duet.log" || { cat "$T/duet.log"; fail "--duet run"; }
csv_awk 'FNR > 1 { if ($col["status"] != "ok" || $col["duet"] == "" || $col["duet"] == $col["allocator"]) { print; bad = 1 }
                   n[$col["workload"] "|" $col["rep"]]++ }
         END { for (k in n) if (n[k] != 2) { print "pair " k " has " n[k] " rows"; bad = 1 }; exit bad }' \
    "$T/duet/results.csv" || fail "--duet rows"

# 7d. --interleave: the two sides of each pair in one worker, in ABBA slices. Each row names its
# partner, counts its slices (an even number: two a quad), and has the median over quads beside
# its totals; a pair that does not apply is skipped on both sides; every workload runs
# interleaved with its op count checked (a workload whose setup leaked or whose state carried
# from one slice to the next would fail its pattern checks or its count); --against twins
# interleave too; compare judges the quads' medians, paired; meta.json and --resume keep it.
"$TB" run --interleave 2 --allocators tmempool-tcache,tmempool-striped --workloads all --threads 1,2 \
    --duration 0.02 --reps 2 --sample 1024 --seed 12345678901234 --timeout 30 --out "$T/il" >/dev/null 2>"$T/il.log" ||
    { cat "$T/il.log"; fail "--interleave run"; }
# (the columns after error are read on ok rows only: a skipped row's error may hold a comma)
csv_awk 'FNR > 1 { other = $col["allocator"] == "tmempool-tcache" ? "tmempool-striped" : "tmempool-tcache"
                   if ($col["status"] == "ok" && $col["interleaved"] != other) { print "partner", $0; bad = 1 }
                   if ($col["status"] == "ok" && ($col["slices"] < 2 || $col["slices"] % 2 || !($col["slice_ops_per_sec"] > 0) ||
                       !($col["slice_ms"] > 0) || $col["ops"] < $col["slices"])) { print "slices", $0; bad = 1 }
                   if ($col["status"] != "ok" && $col["status"] != "skipped") { print "status", $0; bad = 1 }
                   if ($col["peak_rss_kib"] != "") { print "rss of both sides given as one side s", $0; bad = 1 }
                   k = $col["workload"] "|" $col["params"] "|" $col["threads"] "|" $col["rep"]; n[k]++; st[k] = st[k] $col["status"] " " }
         END { for (k in n) if (n[k] != 2 || (st[k] != "ok ok " && st[k] != "skipped skipped ")) { print "pair", k, n[k], st[k]; bad = 1 }; exit bad }' \
    "$T/il/results.csv" || fail "--interleave rows"
# a slice is an op a thread at least, not more: falseshare's ops take ~20 ms, and a floor of 64
# ops a slice once made its 2 ms slices 1.4 s long
csv_awk 'FNR > 1 && $col["workload"] == "falseshare" && $col["status"] == "ok" && $col["slice_ms"] > 500 { print; bad = 1 } END { exit bad }' \
    "$T/il/results.csv" || fail "falseshare's interleaved slices far past their 2 ms"
[ "$(csv_count '$col["workload"] == "prodcons" && $col["threads"] == 1 && $col["status"] == "skipped"' "$T/il/results.csv")" -eq 4 ] ||
    fail "a 1-thread prodcons pair is not skipped on both sides"
grep -qE '"pairing":[[:space:]]*"interleave"' "$T/il/meta.json" && grep -qE '"slice_ms":[[:space:]]*2' "$T/il/meta.json" ||
    fail "meta.json does not record the interleaving"
"$TB" compare "$T/il" --baseline tmempool-striped --alpha 0.4 --format csv 2>"$T/ilc.log" >"$T/ilc.csv" || true
matches "judged on slice_ops_per_sec" "$T/ilc.log" && matches ',slice_ops_per_sec,' "$T/ilc.csv" || fail "compare of an interleaved run: $(cat "$T/ilc.log")"
"$TB" run --interleave 2 --against "$T/other" --allocators tmempool-tcache --workloads churn --threads 2 --duration 0.02 \
    --reps 2 --timeout 20 --out "$T/ila" >/dev/null 2>&1 || fail "--interleave --against run"
[ "$(csv_count '$col["status"] == "ok" && $col["interleaved"] != "" && $col["interleaved"] != $col["allocator"]' "$T/ila/results.csv")" -eq 4 ] ||
    fail "--interleave --against: the twins are not interleaved"
# its charts and report: no RSS to draw (the memory chart is left out), the pairing said, and the
# whole command line, not one cut at a cell's width
"$TB" plot "$T/il" >/dev/null 2>"$T/ilp.log" || fail "plot of an interleaved run: $(cat "$T/ilp.log")"
matches '^| pairing | interleaved in one worker, slices of 2 ms' "$T/il/plots/report.md" || fail "report does not say the run was interleaved"
matches -F -- "--timeout 30 --out $T/il |" "$T/il/plots/report.md" || fail "report's command line is cut"
# a resumed interleaved run goes on interleaved
"$TB" run --interleave 2 --allocators tmempool-tcache,tmempool-striped --workloads churn --threads 1 --duration 0.02 \
    --reps 3 --seed 5 --out "$T/ilr" >/dev/null 2>&1 || fail "--interleave run to resume"
awk 'NR <= 3' "$T/ilr/results.csv" >"$T/ilr/cut" && mv "$T/ilr/cut" "$T/ilr/results.csv"
"$TB" run --resume "$T/ilr" >/dev/null 2>&1 || fail "--resume of an interleaved run"
[ "$(csv_count '$col["interleaved"] != ""' "$T/ilr/results.csv")" -eq 6 ] || fail "--resume dropped the interleaving"
# what --interleave cannot do: exit 2, nothing run
for bad in "--allocators tmempool-tcache,mimalloc" "--allocators tmempool-tcache,tmempool-striped --ops 1000" \
           "--allocators tmempool-tcache,tmempool-striped --duet" "--allocators tmempool-tcache" \
           "--allocators tmempool-tcache,tmempool-striped,floor" "--allocators tmempool-tcache,tmempool-striped --duration 0.003" \
           "--allocators tmempool-tcache,tmempool-striped --measure instructions"; do
    rc=0; "$TB" run --interleave 2 $bad --workloads churn --threads 1 --reps 1 --out "$T/ilbad" >/dev/null 2>"$T/ilbad.err" || rc=$?
    [ $rc -eq 2 ] && [ ! -e "$T/ilbad" ] && [ "$(wc -l <"$T/ilbad.err")" -eq 1 ] || fail "--interleave with $bad: exit $rc, $(cat "$T/ilbad.err")"
done
for v in 0 -1 x 20000; do
    rc=0; "$TB" run --interleave "$v" --allocators glibc,floor --workloads churn --reps 1 --out "$T/ilbad" >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] && [ ! -e "$T/ilbad" ] || fail "--interleave $v: exit $rc"
done

# 8. instruction counting: the same 1-thread cell counts the same instructions twice
for i in 1 2; do
  "$TB" run --measure instructions --allocators tmempool-tcache --workloads churn,batch --threads 1 \
      --ops 20000 --reps 1 --seed 11 --out "$T/i$i" >/dev/null 2>"$T/i.log" || { cat "$T/i.log"; fail "instructions run"; }
done
c1=$(csv_awk 'NR>1 {print $col["workload"], $col["instructions_per_op"], $col["count_method"]}' "$T/i1/results.csv" | sort)
c2=$(csv_awk 'NR>1 {print $col["workload"], $col["instructions_per_op"], $col["count_method"]}' "$T/i2/results.csv" | sort)
grep -qE '^churn [0-9.]+ (callgrind|perf)$' <<<"$c1" || fail "no instruction count: $c1"
[ "$c1" = "$c2" ] || fail "instruction counts differ between two runs: $c1 / $c2"

# 9. progress: on a terminal one line updated in place that never passes the terminal's width
# (captured through script(1) at 60 and 160 columns); off a terminal plain lines with elapsed
# time and eta every 10 cells; the end-of-run summary either way
for cols in 60 160; do
    script -qfec "stty cols $cols; '$TB' run --allocators glibc,tmempool-tcache --workloads churn,prodcons --threads 1,2 \
        --reps 2 --ops 20000 --out '$T/tty$cols'" "$T/tty$cols.log" >/dev/null 2>&1 || fail "run under script at $cols columns"
    # every in-place update: what follows "\r ESC[K" up to the next \r or newline
    long=$(tr '\r' '\n' <"$T/tty$cols.log" | sed -n 's/^\x1b\[K\(\[[0-9]*\/16\].*\)$/\1/p' | awk -v w="$cols" 'length($0) >= w')
    n=$(tr '\r' '\n' <"$T/tty$cols.log" | grep -c $'^\x1b\\[K\\[[0-9]*/16\\]')
    [ "$n" -ge 16 ] && [ -z "$long" ] || fail "progress at $cols columns: $n updates, too long: $long"
    matches "16 of 16 cells run in 0:00:[0-9][0-9]: 12 ok, 4 skipped, 0 not ok; done" "$T/tty$cols.log" ||
        fail "no summary at $cols columns: $(tail -3 "$T/tty$cols.log")"
done
"$TB" run --allocators glibc,tmempool-tcache --workloads churn,prodcons --threads 1,2 --reps 3 --ops 20000 \
    --out "$T/plain" >/dev/null 2>"$T/plain.log" || fail "plain run"
[ "$(grep -cE '^tmbench run: (10|20) of 24 cells, 0 not ok, elapsed [0-9]+:[0-9]{2}:[0-9]{2}, eta [0-9]+:[0-9]{2}:[0-9]{2}$' "$T/plain.log")" -eq 2 ] ||
    fail "off a terminal, no elapsed/eta lines: $(cat "$T/plain.log")"
! matches -E 'skipped +ops/s|\x1b' "$T/plain.log" || fail "off a terminal: escapes or a bare ops/s"
matches -x "tmbench run: charts and report: tmbench plot $T/plain" "$T/plain.log" || fail "no plot hint: $(tail -3 "$T/plain.log")"

echo "test_harness: all passed"
