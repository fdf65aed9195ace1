#!/usr/bin/env bash
# The benchmark command: installs what is missing, builds a release tmbench, and runs it.
# Without arguments: the quick preset, every available allocator and workload, into
# results/<run-id>/ (results.csv + meta.json). Arguments go to `tmbench run` as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
tmp_install_deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
rc=0
./build-release/harness/tmbench run "$@" || rc=$?
exit $rc
