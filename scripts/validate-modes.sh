#!/usr/bin/env bash
# Measures what each way of comparing two builds can see on this machine: the detection-rate
# table of docs/BENCHMARKING.md, "What each mode can see". For every mode and every slowdown,
# TRIALS trials of the same command, each judged by compare at a 2% threshold:
#   modes:     interleave (--interleave 5, one worker, ABBA slices), against (whole cells, twins
#              back to back), two-runs (one run per build, 9 repetitions, compared unpaired), duet (--duet, both at once on their own CPUs: 1-thread cells),
#              malloc-duet (--duet between two malloc shims in front of jemalloc, 1 thread)
#   slowdowns: A/A (the same build on both sides), and builds with the test-only
#              TMP_TEST_STALL_NS=X (X ns added to every tmp_alloc on average: a wait on the clock,
#              which the core cannot overlap); the shims get the same wait (tests/stallmalloc.c)
# Each trial is the issue's command: tmempool-tcache and tmempool-striped, churn, batch and
# prodcons, --reps auto --target 1 --budget BUDGET. Prints one line per cell, mode and slowdown:
# the trials' verdicts, the median ratio, and the ratio the stall should give (measured ns per op
# of the base side against X). Writes everything under OUT.
#   OUT=/tmp/tmbench-modes TRIALS=3 STALLS="0.2 0.3 0.5" MODES="interleave against two-runs duet malloc-duet" BUDGET=90
#   TABLE_ONLY=1: only the table, from the trials already under OUT
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tmbench-modes}
TRIALS=${TRIALS:-3}
STALLS=${STALLS:-"0.2 0.3 0.5"}
MODES=${MODES:-"interleave against two-runs duet malloc-duet"}
BUDGET=${BUDGET:-90}
nproc=$(nproc 2>/dev/null || echo 2)
mkdir -p "$OUT"
if [ "${TABLE_ONLY:-0}" != 1 ]; then
rm -rf "$OUT/src" && mkdir -p "$OUT/src" && git archive HEAD | tar -x -C "$OUT/src"
build() { # dir [cmake args]
    local d=$1; shift
    [ -x "$d/harness/tmbench" ] && return 0
    cmake -S "$OUT/src" -B "$d" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "$@" >/dev/null 2>&1
    cmake --build "$d" -j "$nproc" >/dev/null
}
build "$OUT/b-base"
for x in $STALLS; do build "$OUT/b-stall$x" -DTMP_TEST_STALL_NS="$x"; done
for x in 0 $STALLS; do
    cc -O2 -shared -fPIC -DSTALL_NS="$x" -o "$OUT/libstall$x.so" "$OUT/src/tests/stallmalloc.c" -ljemalloc
done
cp "$OUT/libstall0.so" "$OUT/libstall0b.so" # A/A between shims: the same code under two names

common=(--workloads churn,batch,prodcons --reps auto --target 1 --budget "$BUDGET")
trial() { # name mode level: runs it unless its compare csv is there
    local name=$1 mode=$2 x=$3 new base d="$OUT/$1"
    [ -s "$d.csv" ] && return 0
    rm -rf "$d"
    if [ "$mode" = malloc-duet ]; then
        local b="$OUT/libstall0b.so" n="$OUT/libstall$x.so"
        [ "$x" = aa ] && n="$OUT/libstall0.so"
        "$OUT/b-base/harness/tmbench" run --duet --allocators "base=$b,new=$n" --threads 1 "${common[@]}" \
            --out "$d" >/dev/null 2>"$d.log" || true
        "$OUT/b-base/harness/tmbench" compare "$d" --baseline base --threshold 2 --format csv >"$d.csv" 2>>"$d.log" || true
        return 0
    fi
    base="$OUT/b-base"; new="$OUT/b-base"
    [ "$x" != aa ] && new="$OUT/b-stall$x"
    if [ "$mode" = two-runs ]; then # no pairing: one run of each build, one after the other, 9 reps
        local one=(--allocators tmempool-tcache,tmempool-striped --workloads churn,batch,prodcons --threads 1,2 --reps 9)
        rm -rf "$d-base"
        "$base/harness/tmbench" run "${one[@]}" --out "$d-base" >/dev/null 2>"$d.log" || true
        "$new/harness/tmbench" run "${one[@]}" --out "$d" >/dev/null 2>>"$d.log" || true
        "$new/harness/tmbench" compare "$d-base" "$d" --threshold 2 --format csv >"$d.csv" 2>>"$d.log" || true
        return 0
    fi
    local flags=(--allocators tmempool-tcache,tmempool-striped --threads 1,2)
    case $mode in
        interleave) flags+=(--interleave 5) ;;
        duet) flags=(--allocators tmempool-tcache,tmempool-striped --threads 1 --duet) ;;
    esac
    "$new/harness/tmbench" run --against "$base" "${flags[@]}" "${common[@]}" --out "$d" >/dev/null 2>"$d.log" || true
    "$new/harness/tmbench" compare "$d" --baseline @base --threshold 2 --format csv >"$d.csv" 2>>"$d.log" || true
}
for t in $(seq 1 "$TRIALS"); do
    for mode in $MODES; do
        for x in aa $STALLS; do trial "$mode-$x-$t" "$mode" "$x"; done
    done
done
fi

# The table: per mode, slowdown and cell, the verdicts over the trials and the ratios, beside
# the ratio the stall should give: t / (t + X), t the base side's ns per op in that cell (for
# prodcons, per op of a producer: both threads of a pair count in ns_per_op, one allocates).
for mode in $MODES; do
    for x in aa $STALLS; do
        for f in "$OUT/$mode-$x-"*.csv; do
            [ -s "$f" ] || continue
            d=${f%.csv}
            awk -F, -v mode="$mode" -v x="$x" -v trial="$f" '
                FNR == 1 { delete col; for (i = 1; i <= NF; i++) col[$i] = i; next }
                FILENAME ~ /results\.csv$/ {
                    if ($col["status"] != "ok") next
                    a = $col["allocator"]; sub(/@base$/, "", a)
                    if ($col["allocator"] !~ /@base$/ && $col["allocator"] != "base" && FILENAME !~ /-base\/results\.csv$/) next
                    if (a == "base") a = "new"
                    k = a "|" $col["workload"] "|" $col["threads"]
                    ns[k] += $col["ns_per_op"]; nn[k]++; next }
                { k = $col["allocator"] "|" $col["workload"] "|" $col["threads"]
                  t = nn[k] ? ns[k] / nn[k] : 0
                  if ($col["workload"] == "prodcons") t = t / 2
                  want = (x == "aa" || !t) ? 1 : t / (t + x)
                  printf "%s\t%s\t%s\t%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%s\n", mode, x, $col["allocator"], $col["workload"],
                         $col["threads"], $col["ratio"], $col["ci_low"], $col["ci_high"], want, $col["verdict"] }
            ' "$([ -d "$d-base" ] && echo "$d-base" || echo "$d")/results.csv" "$f"
        done
    done
done | sort -t$'\t' -k1,1 -k2,2 -k3,3 -k4,4 -k5,5n | awk -F'\t' '
    { k = $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5; if (!(k in n)) order[++m] = k
      n[k]++; v[k, $10]++; r[k] = r[k] sprintf(" %.3f", $6); w[k] += $9; wd[k] += $8 - $7 }
    END { printf "mode\tslowdown\tallocator\tworkload\tthreads\ttrials\tslower\tsame\tnoisy\tfaster\texpected\tmean width\tratios\n"
          for (i = 1; i <= m; i++) { k = order[i]
              printf "%s\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%s\n", k, n[k], v[k, "slower"], v[k, "same"], v[k, "noisy"],
                     v[k, "faster"], w[k] / n[k], wd[k] / n[k], r[k] } }' | tee "$OUT/table.tsv"
