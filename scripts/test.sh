#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole suite three times:
# a release build, ASan+UBSan, and TSan, each with -Werror. Exit 0 only if all three pass.
#   scripts/test.sh            all three (what CI runs)
#   scripts/test.sh release    one of: release asan tsan
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
tmp_install_deps

jobs=$(nproc 2>/dev/null || echo 2)
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(release asan tsan)
for v in "${variants[@]}"; do
  case "$v" in
    release) san="";      type=Release ;;
    asan)    san=address; type=RelWithDebInfo ;;
    tsan)    san=thread;  type=RelWithDebInfo ;;
    *) echo "test.sh: unknown variant '$v' (valid: release asan tsan)" >&2; exit 2 ;;
  esac
  dir="build-test-$v"
  echo "== $v: configure, build, ctest ($dir)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DTMP_SANITIZE="$san" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
done
echo "== all passed: ${variants[*]}"
