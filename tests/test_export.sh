#!/usr/bin/env bash
# tmbench export on a synthetic run built here (no workers: under the sanitizers too): the
# fields github-action-benchmark's googlecpp tool and Bencher's cpp_google and json adapters
# read, the medians and intervals they carry, and bad input (incomplete or malformed runs,
# unknown formats and metrics: exit 2, nothing written, an existing --out left whole).
#   test_export.sh TMBENCH
set -uo pipefail
TB=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"
export ASAN_OPTIONS=exitcode=99:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:exitcode=98 TSAN_OPTIONS=exitcode=97

header="run_id,allocator,allocator_version,workload,params,threads,object_size,rep,status,ops,seconds,ops_per_sec,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,peak_rss_kib,pool_bytes_reserved,lock_waits,error,instructions_per_op,lat_bound_ns"
mkdir -p "$T/run"
{
    echo "$header"
    # A: 9 ok repetitions, ns per op 10..18 (median 14), latency p50 below the timer (a bound only)
    for r in 0 1 2 3 4 5 6 7 8; do
        ns=$((10 + r))
        echo "x,A,1,churn,live=1,1,64,$r,ok,1000000,0.01,$(awk -v n=$ns 'BEGIN{printf "%.1f", 1e9/n}'),$ns,,90,200,1000,,,,,40"
    done
    # B at 2 threads: 9 ok, ns per op 20 each, p50 30
    for r in 0 1 2 3 4 5 6 7 8; do echo "x,B,1,churn,live=1,2,64,$r,ok,2000000,0.01,50000000.0,20,30,90,200,2000,,,,,"; done
    # C: every repetition skipped
    for r in 0 1 2 3 4 5 6 7 8; do echo "x,C,1,churn,live=1,2,64,$r,skipped,,,,,,,,,,,does not apply,,"; done
} >"$T/run/results.csv"
cat >"$T/run/meta.json" <<'JSON'
{"tool": "tmbench", "version": "0.1.0", "git_commit": "abc", "run_id": "x", "started": "2026-12-02T00:00:00Z",
 "machine": {"hostname": "h", "pus": 2, "caches_kib": {"L1d": 48, "L2": 1024}}, "build": {"build_type": "Release"},
 "matrix": {"cells": 27}, "loadavg_before": [0.1, 0.2, 0.3], "interrupted": false, "complete": true,
 "speed_probe": {"before": {"cpu_ns": 1.25, "mem_ns": 30}, "after": {"cpu_ns": 1.75, "mem_ns": null}}}
JSON

# 1. Google Benchmark JSON
"$TB" export "$T/run" --format gbench-json >"$T/g.json" 2>"$T/err" || fail "gbench-json: $(cat "$T/err")"
matches "1 cell left out: no ok repetition" "$T/err" || fail "skipped cell not counted: $(cat "$T/err")"
python3 - "$T/g.json" <<'PY' || fail "gbench-json: $(head -c 800 "$T/g.json")"
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for k in ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches", "load_avg",
          "library_build_type"):
    assert k in ctx, k
assert ctx["num_cpus"] == 2 and ctx["caches"][1]["size"] == 1024 * 1024, ctx
# the machine's yardstick: the mean of before and after where both were taken, else the one
assert ctx["tmbench_probe_cpu_ns"] == 1.5 and ctx["tmbench_probe_mem_ns"] == 30, ctx
b = {x["name"]: x for x in d["benchmarks"]}
assert set(b) == {"churn[live=1]/A/size:64B/threads:1", "churn[live=1]/B/size:64B/threads:2"}, list(b)
for x in b.values():  # what googlecpp and cpp_google read from each entry
    for k in ("name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit", "threads",
              "repetitions", "family_index", "per_family_instance_index"):
        assert k in x, (k, x)
    assert x["time_unit"] == "ns" and x["run_type"] == "iteration"
a = b["churn[live=1]/A/size:64B/threads:1"]
assert a["real_time"] == 14 and a["repetitions"] == 9 and a["threads"] == 1 and a["iterations"] == 1000000, a
assert a["min"] == 10 and a["max"] == 18 and 10 <= a["ci95_lo"] < 14 < a["ci95_hi"] <= 18, a
assert abs(a["items_per_second"] - 1e9 / 14) < 1e3, a
assert b["churn[live=1]/B/size:64B/threads:2"]["real_time"] == 20
PY
# --metric: a latency; the cell whose p50 is only a bound is left out, and said so
"$TB" export "$T/run" --format gbench-json --metric lat_p50_ns >"$T/g50.json" 2>"$T/err" || fail "gbench lat_p50_ns"
matches "1 cell left out of lat_p50_ns: no value" "$T/err" || fail "bound not counted: $(cat "$T/err")"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"]; assert [x["real_time"] for x in b] == [30], b' \
    "$T/g50.json" || fail "gbench lat_p50_ns values"

# 2. Bencher Metric Format, to a file
"$TB" export "$T/run" --format bmf --out "$T/b.json" 2>"$T/err" || fail "bmf: $(cat "$T/err")"
python3 - "$T/b.json" <<'PY' || fail "bmf: $(head -c 800 "$T/b.json")"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"churn[live=1]/A/size:64B/threads:1", "churn[live=1]/B/size:64B/threads:2"}, list(d)
for name, measures in d.items():
    for slug, m in measures.items():
        assert re.fullmatch(r"[a-z0-9-]+", slug), slug
        assert set(m) == {"value", "lower_value", "upper_value"}, m
        assert m["lower_value"] <= m["value"] <= m["upper_value"], (name, slug, m)
a = d["churn[live=1]/A/size:64B/threads:1"]
assert a["latency"]["value"] == 14 and "throughput" in a and "lat-p99-ns" in a and "lat-p50-ns" not in a, a
assert d["churn[live=1]/B/size:64B/threads:2"]["lat-p50-ns"]["value"] == 30
PY
"$TB" export "$T/run" --format bmf --metric peak_rss_kib 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(list(m) == ["peak-rss-kib"] for m in d.values()), d' ||
    fail "bmf --metric exports only that metric"

# 3. bad input: exit 2, one line naming export, nothing written, an existing --out kept whole
cp "$T/b.json" "$T/keep.json"
bad() { # WANT ARGS...: exit 2, a message holding WANT, --out untouched
    local want=$1 rc=0
    shift
    "$TB" export "$@" --out "$T/keep.json" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "export $*: exit $rc, want 2"
    [ "$(wc -l <"$T/err")" -eq 1 ] && matches "^tmbench export: .*$want" "$T/err" || fail "export $*: said $(cat "$T/err")"
    [ ! -s "$T/out" ] && cmp -s "$T/keep.json" "$T/b.json" || fail "export $*: wrote something"
    ! ls "$T"/keep.json.tmp.* >/dev/null 2>&1 || fail "export $*: left a temporary file"
}
bad "want gbench-json (Google Benchmark JSON) or bmf" "$T/run" --format xml
bad "want --format gbench-json or --format bmf" "$T/run"
bad "is not a metric of tmbench; valid: ops_per_sec" "$T/run" --format bmf --metric speed
bad "real_time is a time; want ns_per_op" "$T/run" --format gbench-json --metric ops_per_sec
bad "want one results directory" --format bmf
mkdir -p "$T/partial" && cp "$T/run/results.csv" "$T/partial/" &&
    sed 's/"complete": true/"complete": false/' "$T/run/meta.json" >"$T/partial/meta.json"
bad "is an incomplete run (27 of 27 cells): finish it with .tmbench run --resume" "$T/partial" --format bmf
sed 's/"interrupted": false/"interrupted": true/' "$T/partial/meta.json" >"$T/partial/m" && mv "$T/partial/m" "$T/partial/meta.json"
bad "incomplete run .*interrupted" "$T/partial" --format gbench-json
mkdir -p "$T/nometa" && cp "$T/run/results.csv" "$T/nometa/"
bad "want a run's directory with its meta.json" "$T/nometa" --format bmf
mkdir -p "$T/broken" && cp "$T/run/meta.json" "$T/broken/" && { echo "$header"; echo "x,A,1,churn,live=1,one,64,0,ok"; } >"$T/broken/results.csv"
bad "results.csv:2" "$T/broken" --format bmf
bad "" "$T/no-such-run" --format bmf
# an unknown flag: getopt's own words, and they too name the subcommand first
for sub in export run compare plot merge record; do
    rc=0; "$TB" $sub --bogus >/dev/null 2>"$T/err" || rc=$?
    [ "$rc" -eq 2 ] && head -1 "$T/err" | matches "^tmbench $sub: unrecognized option '--bogus'" || fail "$sub --bogus: $rc $(cat "$T/err")"
done
rc=0; "$TB" frobnicate >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "valid: list, run, merge, plot, compare, export, record, trace-info;" "$T/err" ||
    fail "unknown command: $rc $(cat "$T/err")"
# an unwritable --out: exit 4, nothing left behind
rc=0; "$TB" export "$T/run" --format bmf --out "$T/no-such-dir/x.json" 2>"$T/err" || rc=$?
[ "$rc" -eq 4 ] && matches "cannot create" "$T/err" || fail "unwritable --out: $rc $(cat "$T/err")"
# 4. the example GitHub workflow parses, and every tmbench command in it uses flags tmbench has
python3 - "$(dirname "$0")/../docs/ci/github-actions.yml" >"$T/cmds" <<'PY' || fail "docs/ci/github-actions.yml does not parse"
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
steps = wf["jobs"]["gate"]["steps"]
assert any(s.get("with", {}).get("tool") == "googlecpp" for s in steps), "no github-action-benchmark step"
for s in steps:
    for line in s.get("run", "").replace("\\\n", " ").splitlines():
        words = line.split()
        if "$tb" in words:
            print(" ".join(words[words.index("$tb") + 1:]))
PY
[ "$(wc -l <"$T/cmds")" -ge 4 ] || fail "the workflow runs tmbench $(wc -l <"$T/cmds") times"
while read -r sub rest; do
    for f in $(grep -oE -- '--[a-z][a-z-]+' <<<"$rest"); do
        "$TB" help "$sub" | matches -- "$f" || fail "the workflow's tmbench $sub uses $f, which it does not have"
    done
done <"$T/cmds"
echo "test_export: ok"
