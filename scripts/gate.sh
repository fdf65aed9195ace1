#!/usr/bin/env bash
# The deterministic performance gate: instructions per op of the `ci` preset (tmempool's
# strategies and the floor, 1 thread, counted in the timed region only) against the baseline
# committed in results/baselines/ci-instructions. A cell more than 2% worse fails the gate.
#
#   scripts/gate.sh            compare this checkout with the baseline (exit 1 on a regression)
#   scripts/gate.sh --format markdown|json|csv   the same, compare's verdicts in that format
#   scripts/gate.sh --refresh  after an intended change: rewrite the baseline, then commit it
# GATE_RUN_DIR=DIR keeps the gate's run there (for tmbench export or plot) instead of a
# temporary directory.
#
# Counts depend on the compiler and its flags, so the baseline is only valid for the machine
# class CI runs on (Debian's gcc); refresh it when the toolchain changes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
tmp_install_deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
tmbench=./build-release/harness/tmbench
baseline=results/baselines/ci-instructions
# A fixed seed: the workloads' random choices, hence their instruction counts, repeat exactly.
args=(--preset ci --measure instructions --seed 1 --reps 2)

if [ "${1:-}" = --refresh ]; then
    rm -rf "$baseline"
    mkdir -p "$(dirname "$baseline")"
    "$tmbench" run "${args[@]}" --out "$baseline"
    echo "baseline rewritten in $baseline: review the change with git diff, then commit it"
    exit 0
fi
if [ ! -f "$baseline/results.csv" ]; then
    echo "gate: no baseline at $baseline (make one with scripts/gate.sh --refresh)" >&2
    exit 2
fi
if [ -n "${GATE_RUN_DIR:-}" ]; then
    run=$GATE_RUN_DIR
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    run=$work/run
fi
# the run's progress to stderr, so that stdout holds compare's verdicts alone
"$tmbench" run "${args[@]}" --out "$run" >/dev/null
"$tmbench" compare "$baseline" "$run" --metric instructions_per_op --threshold 2 "$@"
