#!/usr/bin/env bash
# The fault suite: tmbench as a careless or hostile user meets it. Each block is one class of
# "nothing lost, nothing faked": a killed driver leaves no worker behind and its run reads back
# as incomplete; ...
set -euo pipefail
TB=$1
T=$(mktemp -d)
trap 'pkill -KILL -f "live=7[0-9][0-9][0-9]" 2>/dev/null || true; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; false on time out
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
rows() { [ -f "$1/results.csv" ] && echo $(($(wc -l <"$1/results.csv") - 1)) || echo 0; }
has_rows() { [ "$(rows "$1")" -ge "$2" ]; }
no_workers() { ! pgrep -f "__worker.*live=$1" >/dev/null; }

# 1. a worker never outlives its driver. The cell's params carry a marker, so that pgrep finds
# this test's workers only (ctest runs other tests beside this one).
workers() { pgrep -f "__worker.*live=$1" >/dev/null; }
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 30 --timeout 60 --reps 1 \
    -p live=7001 --out "$T/long" >/dev/null 2>&1 &
drv=$!
wait_for 10 workers 7001 || fail "no worker started"
kill -KILL $drv
wait $drv 2>/dev/null || true
wait_for 3 no_workers 7001 || fail "a worker outlived its kill -9'ed driver"
# ... and the killed run reads back as incomplete
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 0.4 --timeout 60 --reps 4 \
    -p live=7003 --out "$T/k" >/dev/null 2>&1 &
drv=$!
wait_for 20 has_rows "$T/k" 1 || fail "the run made no row"
kill -KILL $drv
wait $drv 2>/dev/null || true
grep -qE '"complete":[[:space:]]*false' "$T/k/meta.json" || fail "a killed run's meta.json does not say incomplete"
"$TB" plot "$T/k" >/dev/null 2>&1 || fail "plot of a killed run"
grep -q "complete | NO: $(rows "$T/k") of 4 cell repetitions" "$T/k/plots/report.md" || fail "report does not say the run is incomplete"
"$TB" compare "$T/k" "$T/k" 2>&1 >/dev/null | grep -q "incomplete run" || fail "compare does not say the run is incomplete"
# SIGHUP (a closed terminal) ends a run like Ctrl-C: exit 130, rows kept, no worker left
"$TB" run --allocators tmempool-tcache --workloads churn --threads 1 --duration 20 --timeout 60 --reps 1 \
    -p live=7002 --out "$T/h" >/dev/null 2>&1 &
drv=$!
wait_for 10 workers 7002 || fail "no worker started"
kill -HUP $drv
rc=0; wait $drv || rc=$?
[ $rc -eq 130 ] || fail "SIGHUP: exit $rc, want 130"
grep -qE '"interrupted":[[:space:]]*true' "$T/h/meta.json" || fail "SIGHUP: meta.json does not say interrupted"
wait_for 3 no_workers 7002 || fail "a worker outlived SIGHUP"

echo "test_faults: all passed"
