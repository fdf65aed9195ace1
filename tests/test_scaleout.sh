#!/usr/bin/env bash
# Scale-out as documented (docs/BENCHMARKING.md, "Scaling out"), run for real on this machine:
# GNU parallel runs two shards of one seeded run as two local jobs, scripts/slurm-array.sh runs
# as two array tasks with Slurm's variables set by hand, and in both cases `tmbench merge` gives
# a run whose cells are exactly those of the unsharded run with the same seed.
#   test_scaleout.sh TMBENCH
set -uo pipefail
TB=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/csv.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$T" || exit 1
args=(--allocators glibc,tmempool-tcache --workloads churn,batch,prodcons --threads 1,2 --reps 2 --ops 20000)
cells() { csv_awk 'NR > 1 { print $col["allocator"], $col["workload"], $col["params"], $col["threads"], $col["object_size"], $col["rep"], $col["seed"] }' "$1/results.csv" | sort; }

"$TB" run "${args[@]}" --seed 42 --out whole >/dev/null 2>&1 || fail "the unsharded run"
[ "$(cells whole | wc -l)" -eq 24 ] || fail "the unsharded run has $(cells whole | wc -l) cells, want 24"

# 1. GNU parallel, two local jobs (the documented recipe, with -j 2 in place of -S hosts)
parallel --will-cite -j 2 "$TB" run "${args[@]}" --seed 42 --shard {}/2 --out shard-{} ::: 1 2 >/dev/null 2>"$T/err" ||
    fail "parallel: $(cat "$T/err")"
"$TB" merge shard-* --out merged >/dev/null 2>"$T/err" || fail "merge of parallel's shards: $(cat "$T/err")"
[ "$(cells merged)" = "$(cells whole)" ] || fail "parallel: merged cells differ: $(diff <(cells merged) <(cells whole) | head)"
[ "$(csv_count '$col["status"] != "ok" && $col["status"] != "skipped"' merged/results.csv)" -eq 0 ] || fail "parallel: cells not ok"

# a merge of one shard of two, allowed partial, is not exported as if whole
"$TB" merge shard-1 --out partial --allow-partial >/dev/null 2>&1 || fail "partial merge"
rc=0; "$TB" export partial --format bmf >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "is a partial merge (12 of 24 cells): finish the missing shards" "$T/err" && [ ! -s "$T/out" ] ||
    fail "export of a partial merge: $rc $(cat "$T/err")"

# 2. the Slurm job-array script, two tasks with the array's variables set by hand, then --merge
for k in 1 2; do
    SLURM_ARRAY_JOB_ID=77 SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 TMBENCH=$TB \
        RUN_DIR=slurm "$HERE/../scripts/slurm-array.sh" "${args[@]}" >/dev/null 2>"$T/err" || fail "slurm task $k: $(cat "$T/err")"
done
RUN_DIR=slurm TMBENCH=$TB "$HERE/../scripts/slurm-array.sh" --merge >/dev/null 2>"$T/err" || fail "slurm --merge: $(cat "$T/err")"
[ "$(cells slurm/merged)" = "$(cells whole)" ] || fail "slurm: merged cells differ: $(diff <(cells slurm/merged) <(cells whole) | head)"
# a requeued task continues its shard instead of failing on the existing directory
SLURM_ARRAY_JOB_ID=77 SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 TMBENCH=$TB \
    RUN_DIR=slurm "$HERE/../scripts/slurm-array.sh" "${args[@]}" >/dev/null 2>"$T/err" || fail "requeued task: $(cat "$T/err")"
# outside an array, or with a flag the script owns: exit 2, saying why
rc=0; TMBENCH=$TB "$HERE/../scripts/slurm-array.sh" "${args[@]}" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "not a job-array task" "$T/err" || fail "outside an array: $rc $(cat "$T/err")"
rc=0; SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 TMBENCH=$TB "$HERE/../scripts/slurm-array.sh" --seed 3 >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "sets --shard, --seed and --out itself" "$T/err" || fail "--seed given: $rc $(cat "$T/err")"
echo "test_scaleout: ok"
