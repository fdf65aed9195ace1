#!/usr/bin/env bash
# tmbench plot on a small run this test makes (with failing cells from the overlap allocator):
# every chart exists with sensible pixel dimensions, the baseline's relative bars are exactly 1,
# the report names every cell and every failed cell; bad input exits 2 and writes nothing.
set -euo pipefail
TB=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

"$TB" run --allocators tmempool-tcache,tmempool-global,glibc,test-overlap --workloads churn,batch,footprint \
    --threads 1,2 --ops 20000 --reps 2 -p peak=2000 --seed 5 --out "$T/r" >/dev/null 2>&1 && fail "overlap cells must make the run exit 1"
"$TB" plot "$T/r" --format both >/dev/null 2>"$T/plot.log" || { cat "$T/plot.log"; fail "plot"; }
P="$T/r/plots"
png_dims() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'; }
for c in scaling_churn_64 scaling_batch_64 scaling_footprint_64 relative latency memory; do
    [ -s "$P/$c.png" ] || fail "$c.png missing"
    [ -s "$P/$c.svg" ] || fail "$c.svg missing"
    [ "$(head -c 8 "$P/$c.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$c.png is not a PNG"
    read -r w h <<<"$(png_dims "$P/$c.png")"
    [ "$w" -ge 800 ] && [ "$w" -le 4000 ] && [ "$h" -ge 500 ] && [ "$h" -le 4000 ] || fail "$c.png is ${w}x$h"
    grep -q '<svg' "$P/$c.svg" || fail "$c.svg is not SVG"
done
# the baseline (glibc by default) is exactly 1 in every row of the relative data
col=$(awk -F'\t' '/^# row/ { for (i = 1; i <= NF; i++) if ($i == "glibc") print i }' "$P/relative.dat")
[ -n "$col" ] || fail "glibc column missing in relative.dat"
awk -F'\t' -v c="$col" '!/^#/ && $c != "1.000000" { print; bad = 1 } END { exit bad }' "$P/relative.dat" || fail "baseline bars not exactly 1"
# with another baseline, that one is 1
"$TB" plot "$T/r" --baseline tmempool-global --out "$T/p2" >/dev/null 2>&1 || fail "plot --baseline tmempool-global"
col=$(awk -F'\t' '/^# row/ { for (i = 1; i <= NF; i++) if ($i == "tmempool-global") print i }' "$T/p2/relative.dat")
awk -F'\t' -v c="$col" '!/^#/ && $c != "1.000000" { bad = 1 } END { exit bad }' "$T/p2/relative.dat" || fail "--baseline bars not 1"
# "against the fastest baseline": glibc is the only baseline here, so the tcache figure for churn
# at 1 thread is the median over the two rounds of tcache's throughput over glibc's in the same
# round (2 reps: the mean of the two ratios), recomputed from the CSV
med() { csv_awk -v a="$1" '$col["allocator"]==a && $col["workload"]=="churn" && $col["threads"]==1 && $col["status"]=="ok" { s += $col["ops_per_sec"]; n++ } END { if (n == 2) printf "%.6f", s / 2 }' "$T/r/results.csv"; }
want=$(csv_awk '$col["workload"]=="churn" && $col["threads"]==1 && $col["status"]=="ok" && ($col["allocator"]=="tmempool-tcache" || $col["allocator"]=="glibc") { v[$col["allocator"], $col["rep"]] = $col["ops_per_sec"] }
               END { printf "%.2f", (v["tmempool-tcache", 0] / v["glibc", 0] + v["tmempool-tcache", 1] / v["glibc", 1]) / 2 }' "$T/r/results.csv")
got=$(sed -n '/^## Against the fastest baseline/,/^## Charts/p' "$P/report.md" | awk -F' *[|] *' '$2=="churn" && $3=="1" { split($6, v, " "); print $4 "|" v[1] }')
# the rate as the report writes one: three significant digits, one decimal at least, and ops/s
# with its unit under 10,000 ops/s
rate() { awk -v y="$1" 'BEGIN { x = y / 1e6
    if (y > 0 && y < 1e4) { printf (y >= 100 ? "%.0f ops/s" : "%.3g ops/s"), y; exit }
    l = log(x) / log(10); f = int(l); if (f > l) f--
    d = (x >= 100 || x <= 0) ? 1 : 2 - f; if (d < 1) d = 1; printf "%.*f", d, x }'; }
[ "$got" = "glibc ($(rate "$(med glibc)"))|$want" ] || fail "ratio to the fastest baseline: got '$got', want glibc and $want"
# variants of one workload (the quick preset sweeps falseshare's two modes; 8-byte objects, its own) get a chart each,
# named by the setting that tells them apart (only that one: writes=2 is common to both), and
# separate rows in the report
"$TB" run --allocators tmempool-tcache,glibc --workloads falseshare --threads 1 --ops 4000 --reps 1 \
    -p writes=2 --out "$T/v" >/dev/null 2>&1 || fail "falseshare variants run"
"$TB" plot "$T/v" >/dev/null 2>&1 || fail "plot of variants"
for m in yes no; do
    [ -s "$T/v/plots/scaling_falseshare-handoff-${m}_8.png" ] || fail "no chart for handoff=$m"
    grep -q "handoff=$m;writes=2" "$T/v/plots/scaling_falseshare-handoff-${m}_8.dat" || fail "handoff=$m chart data"
    sed -n '/^## Against the fastest baseline/,/^## Charts/p' "$T/v/plots/report.md" |
        matches "^| falseshare handoff=$m | 1 |" || fail "no report row for handoff=$m"
    # a slow workload's baseline rate is a figure, never "(0.0)"
    sed -n '/^## Against the fastest baseline/,/^## Charts/p' "$T/v/plots/report.md" |
        grep "^| falseshare handoff=$m | 1 |" | grep -Eq '\((0\.0+|0)\)' && fail "handoff=$m: the baseline's rate printed as zero"
done
# ...and that figure is paired by round, not a ratio of medians: with a slow second round for
# both (tcache 100 then 10 Mops/s, glibc 50 then 20) it is (2.0 + 0.5) / 2 = 1.25, where the
# medians would say 55 / 35 = 1.57
mkdir -p "$T/syn"
csv_awk -v OFS=, 'NR==1 || ($col["workload"]=="churn" && $col["threads"]==1 && ($col["allocator"]=="tmempool-tcache" || $col["allocator"]=="glibc")) {
        if (NR > 1) $col["ops_per_sec"] = ($col["allocator"]=="glibc" ? ($col["rep"]==0 ? 50e6 : 20e6) : ($col["rep"]==0 ? 100e6 : 10e6)); print }' \
    "$T/r/results.csv" >"$T/syn/results.csv"
"$TB" plot "$T/syn" --out "$T/synp" >/dev/null 2>&1 || fail "plot of the synthetic run"
got=$(sed -n '/^## Against the fastest baseline/,/^## Charts/p' "$T/synp/report.md" | awk -F' *[|] *' '$2=="churn" && $3=="1" { split($5, v, " "); print v[1] }')
[ "$got" = "1.25" ] || fail "paired ratio: got '$got', want 1.25"
col=$(awk -F'\t' '/^# row/ { for (i = 1; i <= NF; i++) if ($i == "tmempool-tcache") print i }' "$T/synp/relative.dat")
awk -F'\t' -v c="$col" '!/^#/ { printf "%.2f\n", $c }' "$T/synp/relative.dat" | matches -x 1.25 || fail "relative chart not paired by round"
# one estimator: every ratio in the report's Summary is the relative chart's, to the digit
summary_vs_relative() { # DIR_WITH_REPORT_AND_DAT
    local d=$1
    sed -n '/^## Summary/,/^## Against/p' "$d/report.md" | awk -F' *[|] *' -v dat="$d/relative.dat" '
        BEGIN { while ((getline l < dat) > 0) { n = split(l, f, "\t")
                    if (f[1] == "# row") for (i = 2; i <= n; i++) name[i] = f[i]
                    else if (l !~ /^#/) { sub(/ \(t=[0-9]+\)$/, "", f[1]); for (i = 2; i <= n; i++) rel[f[1], name[i]] = f[i] } } }
        /^\| allocator/ { for (i = 3; i < NF; i++) { w = $i; sub(/ t=[0-9]+$/, "", w); wl[i] = w }; next }
        /^\| [a-z]/ && wl[3] != "" { for (i = 3; i < NF; i++) if (match($i, /\([0-9.]+ /)) {
                 got = substr($i, RSTART + 1, RLENGTH - 2); want = sprintf("%.2f", rel[wl[i], $2]); checked++
                 if (got != want) { print "summary " $2 " " wl[i] ": " got ", relative chart: " want; bad = 1 } } }
        END { if (!checked) { print "no ratio checked"; bad = 1 }; exit bad }'
}
summary_vs_relative "$P" || fail "Summary and relative chart disagree"
summary_vs_relative "$T/synp" || fail "Summary and relative chart disagree on the synthetic run"
grep -q '^| tmempool-tcache | [^|]*(1.25 ' "$T/synp/report.md" || fail "Summary not paired by round on the synthetic run"
# ... with its interval, in the table and in the chart's data: 2 rounds are too few for 95%, so
# the whole range of the per-round ratios, 0.5 to 2.0
grep -q '^| tmempool-tcache | [^|]*(1.25 \[0.50 \.\. 2.00\])' "$T/synp/report.md" || fail "Summary without the interval"
col=$(awk -F'\t' '/^# row/ { for (i = 1; i <= NF; i++) if ($i == "tmempool-tcache_lo") print i }' "$T/synp/relative.dat")
awk -F'\t' -v c="$col" '!/^#/ { printf "%.2f %.2f\n", $c, $(c + 1) }' "$T/synp/relative.dat" | matches -x "0.50 2.00" ||
    fail "relative.dat without the interval"
# names are data, never code: an allocator name and a CPU model holding backquoted commands are
# drawn as text (gnuplot runs `...` inside double-quoted strings), and a name with spaces stays
# one legend entry
mkdir -p "$T/inj"
csv_awk -v OFS=, -v evil="x\`touch $T/pwned\`'q\" two words" 'FNR == 1 || $col["allocator"] != "test-overlap" {
        if (FNR > 1 && $col["allocator"] == "tmempool-global") $col["allocator"] = evil; print }' \
    "$T/r/results.csv" >"$T/inj/results.csv"
sed "s|\"cpu_model\":[[:space:]]*\"[^\"]*\"|\"cpu_model\": \"\`touch $T/pwned2\`\"|" "$T/r/meta.json" >"$T/inj/meta.json"
grep -q pwned2 "$T/inj/meta.json" || fail "the injection fixture has no CPU model to poison"
"$TB" plot "$T/inj" --format svg >/dev/null 2>"$T/inj.log" || { cat "$T/inj.log"; fail "plot of a run with hostile names"; }
[ ! -e "$T/pwned" ] && [ ! -e "$T/pwned2" ] || fail "gnuplot ran a command from the data"
grep -q "two words" "$T/inj/plots/relative.svg" || fail "a name with spaces is not drawn whole"
grep -q "touch $T/pwned2" "$T/inj/plots/relative.svg" || fail "the CPU model is not drawn as text"
# nothing below the instrument's resolution: every latency in the CSV is at least its row's
# bound (two timer steps), the rest are empty with the bound given; the chart data never holds a
# value below its bound; the report writes "< B"
csv_awk 'FNR > 1 && $col["status"] == "ok" { b = $col["lat_bound_ns"]; if (b == "") { print "no bound: " FNR; bad = 1 }
        split("lat_p50_ns lat_p99_ns lat_p999_ns free_p50_ns free_p99_ns free_p999_ns", c, " ")
        for (i in c) { v = $col[c[i]]; if (v != "" && v + 0 < b + 0) { print c[i] " " v " below " b; bad = 1 } } }
        END { exit bad }' "$T/r/results.csv" || fail "a latency below the timer's resolution is written as a value"
awk -F'\t' '!/^#/ { for (i = 3; i <= 5; i++) if ($i != "NaN" && $(i + 3) != "NaN") { print; bad = 1 } } END { exit bad }' \
    "$P/latency_alloc.dat" "$P/latency_free.dat" || fail "latency chart data holds both a value and a bound"
grep -q "^| timer | TSC, its step" "$P/report.md" || fail "the report does not state the timer's resolution"
# a busy machine is said at the top of the report
mkdir -p "$T/busy"; cp "$T/r/results.csv" "$T/busy/"
sed 's/"loadavg_before":[^]]*]/"loadavg_before": [7.5, 6, 5]/' "$T/r/meta.json" >"$T/busy/meta.json"
"$TB" plot "$T/busy" >/dev/null 2>&1 || fail "plot of the busy run"
sed -n '1,4p' "$T/busy/plots/report.md" | matches "WARNING: the machine was busy while this run ran (the load average reached 7.50" ||
    fail "no busy-machine warning at the top of the report"
# ... and so is a machine whose speed changed under the run (the core's yardstick 1.5x slower at
# the end), which load and steal do not see
yardstick() { # IN OUT BEFORE AFTER: meta.json with the core's yardstick set, the rest as it was
    python3 - "$@" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["speed_probe"] = {"before": {"cpu_ns": float(sys.argv[3]), "mem_ns": 30.0}, "after": {"cpu_ns": float(sys.argv[4]), "mem_ns": 30.0}}
json.dump(m, open(sys.argv[2], "w"))
PY
}
mkdir -p "$T/drift"; cp "$T/r/results.csv" "$T/drift/"
sed 's/"loadavg_before":[^]]*]/"loadavg_before": [0.1, 0.1, 0.1]/; s/"loadavg_after":[^]]*]/"loadavg_after": [0.2, 0.1, 0.1]/; s/"steal_fraction":[^,]*/"steal_fraction": 0/' \
    "$T/r/meta.json" >"$T/drift/m.json"
yardstick "$T/drift/m.json" "$T/drift/meta.json" 1.4 2.1 || fail "yardstick edit"
"$TB" plot "$T/drift" >/dev/null 2>&1 || fail "plot of the drifting run"
sed -n '1,4p' "$T/drift/plots/report.md" | matches "WARNING: the machine was busy while this run ran (the core's yardstick took 1.50x the time a step at the end" ||
    fail "no warning for a machine that slowed under the run"
mkdir -p "$T/quiet"; cp "$T/r/results.csv" "$T/quiet/"
yardstick "$T/drift/m.json" "$T/quiet/meta.json" 1.4 1.41 || fail "yardstick edit"
"$TB" plot "$T/quiet" >/dev/null 2>&1 || fail "plot of the quiet run"
! grep -q "WARNING: the machine was busy" "$T/quiet/plots/report.md" || fail "a busy warning on a quiet run"
# a workload run at one thread count gets a strip plot of its repetitions, not a one-point line
"$TB" run --allocators tmempool-tcache,glibc --workloads prodcons --threads 2 --ops 4000 --reps 3 --out "$T/one" >/dev/null 2>&1 ||
    fail "prodcons run"
"$TB" plot "$T/one" >/dev/null 2>&1 || fail "plot of a one-thread-count run"
grep -q "ops/s of each ok repetition" "$T/one/plots/scaling_prodcons_64.dat" || fail "no strip plot for a one-thread-count workload"
[ "$(grep -vc '^#\|^$' "$T/one/plots/scaling_prodcons_64.dat")" -eq 6 ] || fail "the strip plot does not hold every repetition"
# the overlap allocator's cells are failed: never in the chart data, all in the report
! grep -q test-overlap "$P/scaling_batch_64.dat" || fail "a failed cell was drawn"
grep -q "not ok, left out" "$P/scaling_batch_64.svg" || fail "failed cells not listed under the chart"
# the report names every cell (allocator, workload, threads) and every failed repetition
for f in report.md report.html; do [ -s "$P/$f" ] || fail "$f missing"; done
csv_awk 'NR > 1 { print $col["allocator"] "|" $col["workload"] "|" $col["threads"] }' "$T/r/results.csv" | sort -u | while IFS='|' read -r a w t; do
    grep -qE "^\| $a \| $w \| [^|]* \| $t \|" "$P/report.md" || fail "report.md lacks cell $a $w t=$t"
done
nfail=$(csv_awk 'NR > 1 && $col["status"] != "ok" && $col["status"] != "skipped"' "$T/r/results.csv" | wc -l)
[ "$nfail" -gt 0 ] || fail "the fixture has no failed cells"
nrep=$(sed -n '/^## Failed cells/,$p' "$P/report.md" | grep -c '^| test-overlap |')
[ "$nrep" -eq "$nfail" ] || fail "report lists $nrep failed repetitions, the run has $nfail"
grep -q '<img alt=' "$P/report.html" && grep -q 'data:image/png;base64,' "$P/report.html" || fail "report.html images"

# bad input: exit 2, one message, nothing written
expect2() {
    local out=$1; shift
    local rc=0
    "$@" >/dev/null 2>"$T/err" || rc=$?
    [ $rc -eq 2 ] || fail "exit $rc for: $*"
    [ "$(wc -l <"$T/err")" -ge 1 ] || fail "no message for: $*"
    [ ! -e "$out" ] || fail "$* wrote $out"
}
expect2 "$T/none/plots" "$TB" plot "$T/none"
mkdir -p "$T/mal"; printf 'run_id,allocator\n"x,y\n' > "$T/mal/results.csv"
expect2 "$T/mal/plots" "$TB" plot "$T/mal"
mkdir -p "$T/unk"; sed '1s/^run_id/runid/' "$T/r/results.csv" > "$T/unk/results.csv"
expect2 "$T/unk/plots" "$TB" plot "$T/unk"
mkdir -p "$T/nook"; csv_awk 'NR == 1 || $col["status"] != "ok"' "$T/r/results.csv" > "$T/nook/results.csv"
expect2 "$T/nook/plots" "$TB" plot "$T/nook"
expect2 "$T/p3" "$TB" plot "$T/r" --baseline jemalloc --out "$T/p3"
expect2 "$T/p4" "$TB" plot "$T/r" --format gif --out "$T/p4"
rc=0; PATH=/nonexistent "$TB" plot "$T/r" --out "$T/p5" 2>"$T/err" >/dev/null || rc=$?
[ $rc -eq 2 ] && grep -q gnuplot-nox "$T/err" && [ ! -e "$T/p5" ] || fail "missing gnuplot must name gnuplot-nox and exit 2"
echo "test_plot: ok"
