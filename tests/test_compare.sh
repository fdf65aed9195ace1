#!/usr/bin/env bash
# tmbench compare on synthetic runs built here: verdicts for identical, 10% slower, noisy,
# missing and counted (instruction) cells; exit codes; each output format; bad input.
set -euo pipefail
tmbench=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

header="run_id,allocator,allocator_version,workload,params,threads,object_size,rep,status,ops,seconds,ops_per_sec,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,peak_rss_kib,pool_bytes_reserved,lock_waits,error,instructions_per_op"
# make_run DIR ALLOC WORKLOAD SCALE SPREAD [INSTR]: 9 repetitions of ops/s around 1e8*SCALE,
# spread by +-SPREAD (a fixed zig-zag, so the test is deterministic); INSTR per op if given.
make_run() {
    mkdir -p "$1"
    [ -f "$1/results.csv" ] || echo "$header" > "$1/results.csv"
    awk -v a="$2" -v w="$3" -v s="$4" -v sp="$5" -v ins="${6:-}" 'BEGIN {
        split("0 0.5 -0.5 1 -1 0.25 -0.25 0.75 -0.75", z, " ");
        for (r = 0; r < 9; r++) {
            v = 1e8 * s * (1 + sp * z[r + 1]);
            printf "x,%s,1,%s,live=1,1,64,%d,ok,1000000,0.01,%.1f,%.3f,,,,1000,,,,%s\n", a, w, r, v, 1e9 / v, ins
        }
    }' >> "$1/results.csv"
}

# identical apart from noise, shifted 10% slower, very noisy, and one cell only in NEW
make_run "$dir/base" A churn 1 0.01
make_run "$dir/base" B churn 1 0.01
make_run "$dir/base" C churn 1 0.01
make_run "$dir/new" A churn 1.002 0.01
make_run "$dir/new" B churn 0.90 0.01
make_run "$dir/new" C churn 1 0.60
make_run "$dir/new" D churn 1 0.01

rc=0; out=$("$tmbench" compare "$dir/base" "$dir/new" --format csv) || rc=$?
[ $rc -eq 1 ] || fail "a 10% slowdown must exit 1, got $rc"
verdict() { csv_awk -v a="$1" 'FNR > 1 && $col["allocator"] == a { print $col["verdict"] }' <(echo "$out"); }
[ "$(verdict A)" = same ] || fail "A (identical) is $(verdict A), want same"
[ "$(verdict B)" = slower ] || fail "B (10% slower) is $(verdict B), want slower"
[ "$(verdict C)" = noisy ] || fail "C (60% spread) is $(verdict C), want noisy"
[ "$(verdict D)" = missing ] || fail "D (only in NEW) is $(verdict D), want missing"
echo "$out" | head -1 | matches '^allocator,baseline,workload,params,threads,object_size,metric' || fail "csv header"
# --format json: the same verdicts, the same exit code, one object that a JSON parser reads
rc=0; "$tmbench" compare "$dir/base" "$dir/new" --format json > "$dir/c.json" || rc=$?
[ $rc -eq 1 ] || fail "json: a 10% slowdown must exit 1, got $rc"
python3 - "$dir/c.json" <<'PY' || fail "compare --format json: $(head -c 600 "$dir/c.json")"
import json, sys
d = json.load(open(sys.argv[1]))
v = {c["allocator"]: c["verdict"] for c in d["cells"]}
assert v == {"A": "same", "B": "slower", "C": "noisy", "D": "missing"}, v
b = [c for c in d["cells"] if c["allocator"] == "B"][0]
assert 0.85 < b["ratio"] < 0.95 and b["ci_low"] <= b["ratio"] <= b["ci_high"], b
assert [c for c in d["cells"] if c["allocator"] == "D"][0]["ratio"] is None
assert d["metric"] == "ops_per_sec" and d["summary"]["slower"] == 1 and d["summary"]["regression"] is True, d["summary"]
PY

# the same run against itself: nothing flagged, exit 0; text and markdown tables
"$tmbench" compare "$dir/base" "$dir/base" > "$dir/t.txt" || fail "a run against itself must exit 0"
grep -q "3 cells: 0 slower, 0 faster, 3 same" "$dir/t.txt" || fail "summary line: $(tail -3 "$dir/t.txt")"
"$tmbench" compare "$dir/base" "$dir/new" --format markdown > "$dir/t.md" && fail "markdown run must exit 1"
grep -q '^| allocator' "$dir/t.md" && grep -q '^|---' "$dir/t.md" || fail "markdown table"
grep -q 'regressions (1)' "$dir/t.md" || fail "regressions listed"
# faster: NEW 10% quicker is `faster`, not a regression (D, only in BASE now, is lost on the NEW
# side: allowed here, and by default a failure, below)
"$tmbench" compare "$dir/new" "$dir/base" --allow-missing --format csv > "$dir/f.csv" || fail "faster is not a regression: exit 0"
grep -q '^B,.*,faster,' "$dir/f.csv" || fail "B reversed must be faster"
# a cell lost on the NEW side (absent, or a failed repetition) is a regression: exit 1, listed
rc=0; "$tmbench" compare "$dir/new" "$dir/base" > "$dir/lost.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "lost on the NEW side (1)" "$dir/lost.txt" || fail "a cell missing from NEW: exit $rc"
cp -r "$dir/base" "$dir/crash"
sed -i '0,/^x,A,1,churn,live=1,1,64,3,ok,/s//x,A,1,churn,live=1,1,64,3,crashed,/' "$dir/crash/results.csv"
rc=0; "$tmbench" compare "$dir/base" "$dir/crash" > "$dir/crash.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "lost on the NEW side (1)" "$dir/crash.txt" || fail "a crashed repetition on NEW: exit $rc"
"$tmbench" compare "$dir/base" "$dir/crash" --allow-missing >/dev/null || fail "--allow-missing: a crash on NEW is listed, not a failure"

# lower-is-better metric: ns_per_op of B rises 11%: slower as well
rc=0; "$tmbench" compare "$dir/base" "$dir/new" --metric ns_per_op --format csv > "$dir/ns.csv" || rc=$?
[ $rc -eq 1 ] && grep -q '^B,.*,slower,' "$dir/ns.csv" || fail "ns_per_op direction"

# --threshold: a 10% change under a 15% threshold is not slower
rc=0; "$tmbench" compare "$dir/base" "$dir/new" --threshold 15 --format csv > "$dir/t15.csv" || rc=$?
[ $rc -eq 0 ] && ! grep -q ',slower,' "$dir/t15.csv" || fail "--threshold 15 must not flag 10%"

# counted metric: no spread, judged on the ratio alone at 2%
make_run "$dir/ib" P churn 1 0.01 100.0
make_run "$dir/in" P churn 1 0.01 103.0
rc=0; "$tmbench" compare "$dir/ib" "$dir/in" --metric instructions_per_op --threshold 2 --format csv > "$dir/i.csv" || rc=$?
[ $rc -eq 1 ] && grep -q '^P,.*,slower,' "$dir/i.csv" || fail "3% more instructions must be slower at 2%"
make_run "$dir/in2" P churn 1 0.01 101.0
"$tmbench" compare "$dir/ib" "$dir/in2" --metric instructions_per_op --threshold 2 >/dev/null || fail "1% more instructions is same at 2%"

# --baseline within one run
make_run "$dir/one" glibc churn 1 0.01
make_run "$dir/one" pool churn 0.5 0.01
rc=0; "$tmbench" compare "$dir/one" --baseline glibc --format csv > "$dir/b.csv" || rc=$?
[ $rc -eq 1 ] && grep -q '^pool,glibc,churn,.*,slower,' "$dir/b.csv" || fail "--baseline glibc"

# inside one run, the sides are paired by round: a 3% slowdown under a machine whose speed swings
# +-30% from round to round is invisible to the unpaired test but clear per round
mkdir -p "$dir/pr"; echo "$header" > "$dir/pr/results.csv"
awk 'BEGIN { split("1 1.3 0.7 1.2 0.8 1.25 0.75 1.1 0.9", f, " ");
             for (r = 0; r < 9; r++) for (k = 0; k < 2; k++) {
                 a = k ? "slow" : "fast"; v = 1e8 * f[r + 1] * (k ? 0.97 * (1 + 0.003 * ((r * 7) % 5 - 2)) : 1);
                 printf "x,%s,1,churn,live=1,1,64,%d,ok,1000000,0.01,%.1f,%.3f,,,,1000,,,,\n", a, r, v, 1e9 / v } }' >> "$dir/pr/results.csv"
rc=0; "$tmbench" compare "$dir/pr" --baseline fast --threshold 2 --format csv > "$dir/pr.csv" || rc=$?
[ $rc -eq 1 ] && csv_awk 'FNR > 1 && $col["allocator"] == "slow" && $col["verdict"] == "slower" && $col["design"] == "paired" { ok = 1 } END { exit !ok }' "$dir/pr.csv" ||
    fail "paired by round: a 3% slowdown under +-30% rounds must be slower (exit $rc): $(cat "$dir/pr.csv")"
# the same values as two separate runs (no pairing): noisy
mkdir -p "$dir/pa" "$dir/pb"; for x in a b; do echo "$header" > "$dir/p$x/results.csv"; done
csv_awk 'FNR > 1 && $col["allocator"] == "fast"' "$dir/pr/results.csv" | sed 's/,fast,/,P,/' >> "$dir/pa/results.csv"
csv_awk 'FNR > 1 && $col["allocator"] == "slow"' "$dir/pr/results.csv" | sed 's/,slow,/,P,/' >> "$dir/pb/results.csv"
"$tmbench" compare "$dir/pa" "$dir/pb" --threshold 2 --format csv > "$dir/pu.csv" || fail "unpaired compare of the same values"
grep -q ',noisy,.*,unpaired$' "$dir/pu.csv" || fail "unpaired: the 3% change should be noisy: $(cat "$dir/pu.csv")"

# too few repetitions: say how many are needed
head -4 "$dir/base/results.csv" > "$dir/few.csv"
mkdir -p "$dir/few"; cp "$dir/few.csv" "$dir/few/results.csv"
"$tmbench" compare "$dir/few" "$dir/few" | matches "Want at least 5 a side" || fail "too-few-reps note"

# bad input: exit 2, one message
expect2() { local rc=0; "$@" >/dev/null 2>"$dir/err" || rc=$?; [ $rc -eq 2 ] || fail "exit $rc for: $* ($(cat "$dir/err"))"; [ -s "$dir/err" ] || fail "no message for: $*"; }
expect2 "$tmbench" compare "$dir/base" "$dir/nope"
expect2 "$tmbench" compare "$dir/base" "$dir/new" --metric bogus
expect2 "$tmbench" compare "$dir/base" "$dir/new" --threshold -3
expect2 "$tmbench" compare "$dir/base" "$dir/new" --format pdf
expect2 "$tmbench" compare "$dir/base"
expect2 "$tmbench" compare "$dir/one" --baseline jemalloc
expect2 "$tmbench" compare "$dir/one" --baseline @base
expect2 "$tmbench" compare "$dir/base" "$dir/new" --metric lat_p99_ns   # no values
mkdir -p "$dir/mal"; printf 'this,is,not\n1,2,3\n' > "$dir/mal/results.csv"
expect2 "$tmbench" compare "$dir/base" "$dir/mal"
mkdir -p "$dir/cols"; sed '1s/,instructions_per_op$//; 2,$s/,[^,]*$//' "$dir/base/results.csv" > "$dir/cols/results.csv"
expect2 "$tmbench" compare "$dir/base" "$dir/cols"
mkdir -p "$dir/other"; make_run "$dir/other" Z batch 1 0.01
expect2 "$tmbench" compare "$dir/base" "$dir/other"
# values a tmbench never writes are input errors naming the file, the line and the column, and
# compare ends quickly on every one of them (a negative value once looped forever)
for bad in nan inf -5 0 abc 1e999; do
    mkdir -p "$dir/v"; awk -F, -v OFS=, -v b="$bad" 'NR == 3 { $12 = b } { print }' "$dir/base/results.csv" > "$dir/v/results.csv"
    rc=0; timeout 10 "$tmbench" compare "$dir/base" "$dir/v" >/dev/null 2>"$dir/err" || rc=$?
    [ $rc -eq 2 ] && grep -q "results.csv:3: column ops_per_sec" "$dir/err" || fail "ops_per_sec=$bad: exit $rc, $(cat "$dir/err")"
done
mkdir -p "$dir/dup"; { cat "$dir/base/results.csv"; sed -n 2p "$dir/base/results.csv"; } > "$dir/dup/results.csv"
rc=0; "$tmbench" compare "$dir/base" "$dir/dup" >/dev/null 2>"$dir/err" || rc=$?
[ $rc -eq 2 ] && grep -q "appears twice (also line 2)" "$dir/err" || fail "a duplicated repetition: exit $rc, $(cat "$dir/err")"
mkdir -p "$dir/st"; sed '2s/,ok,/,fine,/' "$dir/base/results.csv" > "$dir/st/results.csv"
rc=0; "$tmbench" compare "$dir/base" "$dir/st" >/dev/null 2>"$dir/err" || rc=$?
[ $rc -eq 2 ] && grep -q "column status" "$dir/err" || fail "an unknown status: exit $rc"
# two runs on machines of different speed: compare says so once, with the yardsticks' ratios;
# the same speed, or a run without a yardstick (older tmbench), says nothing
probe() { # DIR CPU_NS MEM_NS: a meta.json with only a yardstick
    printf '{"speed_probe": {"before": {"cpu_ns": %s, "mem_ns": %s}, "after": {"cpu_ns": %s, "mem_ns": %s}}}\n' \
        "$2" "$3" "$2" "$3" > "$1/meta.json"
}
for d in sb sn; do mkdir -p "$dir/$d"; cp "$dir/base/results.csv" "$dir/$d/"; done
probe "$dir/sb" 1.40 30
probe "$dir/sn" 2.80 30
"$tmbench" compare "$dir/sb" "$dir/sn" >/dev/null 2>"$dir/err" || true
grep -q "note: the machine's speed differed between the runs: its yardstick (meta.json speed_probe) took 2.00x the time on the core and 1.00x on memory" "$dir/err" ||
    fail "a machine twice as slow on the core: $(cat "$dir/err")"
probe "$dir/sn" 1.41 36   # 1% on the core, 20% on memory: within what the chase moves by itself
"$tmbench" compare "$dir/sb" "$dir/sn" >/dev/null 2>"$dir/err" || true
! grep -q "speed differed" "$dir/err" || fail "the same machine flagged: $(cat "$dir/err")"
probe "$dir/sn" 1.41 60
"$tmbench" compare "$dir/sb" "$dir/sn" >/dev/null 2>"$dir/err" || true
grep -q "took 1.01x the time on the core and 2.00x on memory" "$dir/err" || fail "memory twice as slow: $(cat "$dir/err")"
rm "$dir/sn/meta.json"
"$tmbench" compare "$dir/sb" "$dir/sn" >/dev/null 2>"$dir/err" || true
! grep -q "speed differed" "$dir/err" || fail "a run without a yardstick flagged"
echo "test_compare: ok"
