#!/usr/bin/env bash
# The benchmark command: installs what is missing, builds a release tmbench, runs it, and draws
# the charts and the report. Without arguments: the quick preset, every available allocator and
# workload, into results/<run-id>/ (results.csv + meta.json), plots in results/<run-id>/plots/.
# Arguments go to `tmbench run` as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
tmp_install_deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
# --preset real replays recorded programs: record them first (once per program version)
extra=()
for a in "$@"; do
    if [ "$a" = real ] && [ "${prev:-}" = --preset ] || [ "$a" = --preset=real ]; then
        traces=$(TB=./build-release/harness/tmbench scripts/real-traces.sh)
        extra=(-p "trace=$traces")
    fi
    prev=$a
done
rc=0
dir=$(./build-release/harness/tmbench run "$@" "${extra[@]}") || rc=$?
[ -n "$dir" ] && echo "$dir"
# Exit 1 means some cell was not ok: the rest is still worth drawing (failed cells are listed).
if [ -n "$dir" ] && [ -f "$dir/results.csv" ] && { [ $rc -eq 0 ] || [ $rc -eq 1 ]; }; then
    ./build-release/harness/tmbench plot "$dir" || rc=$?
fi
exit $rc
