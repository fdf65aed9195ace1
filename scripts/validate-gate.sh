#!/usr/bin/env bash
# Measures what the regression gate catches on this machine (docs/BENCHMARKING.md, "Validating the gates").
#   false alarms: the ci preset run twice on one build, PAIRS times, wall-clock; and the
#                 recommended wall-clock gate (both builds in one run, --against, longer cells)
#                 with the same build on both sides
#   sensitivity:  builds with the test-only TMP_TEST_SLOWDOWN=N, each run against a normal
#                 build in one run, in wall-clock (the recommended gate) and instruction mode
# Writes everything under OUT (default /tmp/tmbench-gate) and prints one summary line per check.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tmbench-gate}
PAIRS=${PAIRS:-10}
SLOWDOWNS=${SLOWDOWNS:-"1 4 16"}
# the recommended wall-clock gate: both builds in one run, cells long enough to time
WALL=(--preset ci --duration 0.3 --reps 9)
mkdir -p "$OUT"
nproc=$(nproc 2>/dev/null || echo 2)
# Build from a snapshot of HEAD, so that edits made while this runs cannot leak into one build.
rm -rf "$OUT/src" && mkdir -p "$OUT/src" && git archive HEAD | tar -x -C "$OUT/src"
build() { # dir [cmake args]
    local d=$1; shift
    cmake -S "$OUT/src" -B "$d" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "$@" >/dev/null 2>&1
    cmake --build "$d" -j "$nproc" >/dev/null
}
summary() { grep -E '^[0-9]+ cells:' | sed "s|^|$1: |"; }

build "$OUT/build-base"
tb="$OUT/build-base/harness/tmbench"
for i in $(seq 1 "$PAIRS"); do
    [ "${SKIP_PAIRS:-0}" = 1 ] && break
    rm -rf "$OUT/fa-$i-a" "$OUT/fa-$i-b" "$OUT/fi-$i"
    "$tb" run --preset ci --out "$OUT/fa-$i-a" >/dev/null 2>&1
    "$tb" run --preset ci --out "$OUT/fa-$i-b" >/dev/null 2>&1
    "$tb" compare "$OUT/fa-$i-a" "$OUT/fa-$i-b" | summary "two runs, pair $i" || true
    "$tb" run "${WALL[@]}" --against "$OUT/build-base" --out "$OUT/fi-$i" >/dev/null 2>&1
    "$tb" compare "$OUT/fi-$i" --baseline @base | summary "one run --against, $i" || true
done
for n in $SLOWDOWNS; do
    build "$OUT/build-slow-$n" -DTMP_TEST_SLOWDOWN="$n"
    ts="$OUT/build-slow-$n/harness/tmbench"
    rm -rf "$OUT/sw-$n" "$OUT/si-$n"
    "$ts" run "${WALL[@]}" --against "$OUT/build-base" --out "$OUT/sw-$n" >/dev/null 2>&1
    "$ts" compare "$OUT/sw-$n" --baseline @base --format csv > "$OUT/sw-$n.csv" || true
    "$ts" compare "$OUT/sw-$n" --baseline @base | summary "slowdown $n, wall-clock" || true
    "$ts" run --preset ci --measure instructions --seed 1 --reps 2 --against "$OUT/build-base" --out "$OUT/si-$n" >/dev/null 2>&1
    "$ts" compare "$OUT/si-$n" --baseline @base --metric instructions_per_op --threshold 2 --format csv > "$OUT/si-$n.csv" || true
    "$ts" compare "$OUT/si-$n" --baseline @base --metric instructions_per_op --threshold 2 | summary "slowdown $n, instructions" || true
done
