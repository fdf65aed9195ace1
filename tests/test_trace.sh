#!/usr/bin/env bash
# Traces: the reader refuses truncated, foreign, future, corrupt and inconsistent traces with exit
# 2 and the byte offset or event, reads a killed program's trace up to its last whole event, and
# survives mutated traces; where workers run (PROG given, not "-"), tmbench record records a
# threaded program (exit status passed through, a forked child left out, a killed run marked
# incomplete) and every allocator replays it with verification on, with equal instruction
# counts for a one-thread trace replayed twice.
#   test_trace.sh TMBENCH TRACE_FORGE MUTATE PROG|-
set -uo pipefail
TB=$(readlink -f "$1") FORGE=$(readlink -f "$2") MUT=$(readlink -f "$3")
PROG=$4
[ "$PROG" = - ] || PROG=$(readlink -f "$PROG")
. "$(dirname "$0")/csv.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export ASAN_OPTIONS=exitcode=99:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:exitcode=98 TSAN_OPTIONS=exitcode=97

# 1. forged traces
"$FORGE" valid "$T/valid" || fail "forge"
"$TB" trace-info "$T/valid" >"$T/info" 2>&1 || fail "trace-info of a valid trace: $(cat "$T/info")"
matches -x "threads    2" "$T/info" && matches "cross-thread frees  200 of 300 (66.7%)" "$T/info" &&
    matches "objects    350 made, 300 freed, 50 still live at exit" "$T/info" && matches "(complete)" "$T/info" ||
    fail "trace-info: $(cat "$T/info")"
bad() { # KIND FILE WANT: trace-info and a replay run exit 2, saying WANT; nothing written
    local rc=0
    "$TB" trace-info "$2" >/dev/null 2>"$T/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$1: trace-info exit $rc, want 2"
    matches -- "$3" "$T/err" || fail "$1: trace-info said: $(cat "$T/err")"
    rc=0
    "$TB" run --allocators glibc --workloads replay -p trace="$2" --threads 2 --reps 1 --out "$T/r-$1" >/dev/null 2>"$T/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$1: replay run exit $rc, want 2"
    matches -- "$3" "$T/err" || fail "$1: replay run said: $(cat "$T/err")"
    [ ! -e "$T/r-$1/results.csv" ] || [ "$(wc -l <"$T/r-$1/results.csv")" -le 1 ] || fail "$1: replay run wrote rows"
}
for k in unknown twice future badcount; do "$FORGE" $k "$T/$k" || fail "forge $k"; done
bad unknown "$T/unknown" "inconsistent: event seq [0-9]* (thread 0, its event 400) is a free of object 999999"
bad twice "$T/twice" "inconsistent: event seq [0-9]* (thread 0, its event 400) is a free of object 1,"
bad future "$T/future" "byte 8: version 2, this tmbench reads version 1 (a newer tmbench wrote it)"
bad badcount "$T/badcount" "the header says 599 events"
printf 'hello, not a trace at all\n%.0s' 1 2 3 >"$T/foreign"
bad foreign "$T/foreign" "not a tmbench trace: bytes 0-7"
head -c 30 "$T/valid" >"$T/short"
bad short "$T/short" "truncated: 30 bytes, want a header of 40"
head -c 2000 "$T/valid" >"$T/cut"
bad cut "$T/cut" "truncated at byte"
: >"$T/empty"
bad empty "$T/empty" "truncated: 0 bytes"
bad missing "$T/nosuch" "nosuch: No such file"
rc=0; "$TB" trace-info >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "want one TRACE" "$T/err" || fail "trace-info without a trace: $rc $(cat "$T/err")"
msg=$("$TB" run --allocators glibc --workloads replay --threads 2 --reps 1 --out "$T/r-none" 2>&1); rc=$?
[ "$rc" -eq 2 ] && matches "want -p trace=FILE" <<<"$msg" || fail "replay without a trace: $rc $msg"
# a killed program's trace: read up to its last whole event
"$FORGE" torn "$T/torn" || fail "forge torn"
"$TB" trace-info "$T/torn" >"$T/info" 2>&1 || fail "trace-info of a torn trace: $(cat "$T/info")"
matches "incomplete: read up to its last whole event" "$T/info" && matches "events     599" "$T/info" ||
    fail "torn trace: $(cat "$T/info")"

# 2. mutated traces: exit 0 or 2, never a crash or a hang
declare -A seen
for i in $(seq 1 150); do
    "$MUT" "$i" <"$T/valid" >"$T/m"
    rc=0
    timeout 5 "$TB" trace-info "$T/m" >/dev/null 2>"$T/err" || rc=$?
    case $rc in
        0|2) seen[$rc]=$((${seen[$rc]:-0} + 1)) ;;
        *) fail "mutated trace $i: exit $rc: $(head -c 600 "$T/err")" ;;
    esac
done
[ "${seen[2]:-0}" -gt 0 ] || fail "no mutated trace was refused"
echo "test_trace: 150 mutated traces: exit 0 ${seen[0]:-0}, 2 ${seen[2]:-0}"

[ "$PROG" = - ] && { echo "test_trace: recording and replay need workers: not in a sanitizer build"; exit 0; }

# 3. record: status passed through, threads and cross-thread frees seen, the fork's child left out
rc=0
"$TB" record --out "$T/p.trace" -- "$PROG" 3 >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 3 ] || fail "record: exit $rc, want the program's 3: $(cat "$T/err")"
"$TB" trace-info "$T/p.trace" >"$T/info" 2>&1 || fail "trace-info of a recording: $(cat "$T/info")"
matches -x "threads    5" "$T/info" && matches "(complete)" "$T/info" || fail "recording: $(cat "$T/info")"
# 4000 objects made by the workers, 2000 of them freed by the main thread (1800 frees and 200
# reallocs); the child's 1000 mallocs are not there
cross=$(sed -n 's/^cross-thread frees  \([0-9]*\) of.*/\1/p' "$T/info")
[ "$cross" = 2000 ] || fail "cross-thread frees: $cross, want 2000: $(cat "$T/info")"
made=$(sed -n 's/^objects    \([0-9]*\) made.*/\1/p' "$T/info")
[ "$made" -ge 4201 ] && [ "$made" -lt 5000 ] || fail "objects made: $made, want 4201 and a few of libc's (the child's 1000 left out)"
matches "aligned 2664" "$T/info" && matches "calloc [0-9]" "$T/info" && matches "realloc 200" "$T/info" ||
    fail "the family's calls: $(cat "$T/info")"
# every allocator replays it, verification on
"$TB" run --allocators all --workloads replay -p trace="$T/p.trace" --threads 5 --reps 1 --out "$T/rp" >/dev/null 2>&1 ||
    fail "replay on every allocator: $(csv_awk 'NR>1 && $col["status"]!="ok" {print $col["allocator"], $col["status"], $col["error"]}' "$T/rp/results.csv")"
n=$(csv_count '$col["status"]=="ok" && $col["ops"] > 8000' "$T/rp/results.csv")
[ "$n" -ge 5 ] || fail "replay: $n ok cells with every event"
# warm=yes: the trace once untimed, what it left live freed, then the timed pass, cross-thread
# frees and all: the same events timed as a cold cell's, the pool's counters over both passes
# (the untimed one ran), the key in params and p_warm; a cold cell's params stay as they were
"$TB" run --allocators glibc,tmempool-tcache --workloads replay -p trace="$T/p.trace" -p warm=no,yes --threads 5 \
    --reps 1 --out "$T/rw" >/dev/null 2>&1 ||
    fail "warm replay: $(csv_awk 'NR>1 && $col["status"]!="ok" {print $col["allocator"], $col["status"], $col["error"]}' "$T/rw/results.csv")"
cold=$(csv_awk 'NR>1 && $col["p_warm"]=="no" {print $col["allocator"], $col["ops"]}' "$T/rw/results.csv" | sort)
warm=$(csv_awk 'NR>1 && $col["p_warm"]=="yes" {print $col["allocator"], $col["ops"]}' "$T/rw/results.csv" | sort)
[ "$(wc -l <<<"$cold")" -eq 2 ] && [ "$cold" = "$warm" ] || fail "warm replay timed other events: $cold / $warm"
hits=$(csv_awk 'NR>1 && $col["allocator"]=="tmempool-tcache" {print $col["p_warm"], $col["cache_hits"] + $col["cache_misses"]}' "$T/rw/results.csv" | sort)
awk '$1=="no" {c=$2} $1=="yes" {w=$2} END {exit !(c > 0 && w > 1.9 * c && w < 2.1 * c)}' <<<"$hits" ||
    fail "warm replay: the untimed pass did not run (cache hits and misses: $hits)"
[ "$(csv_awk 'NR>1 {print $col["p_warm"], $col["params"]}' "$T/rw/results.csv" | sort -u |
    sed "s|$T/p.trace|P|")" = "$(printf 'no trace=P\nyes trace=P;warm=yes')" ] ||
    fail "warm replay params: $(csv_awk 'NR>1 {print $col["p_warm"], $col["params"]}' "$T/rw/results.csv" | sort -u)"
rc=0
"$TB" run --allocators glibc --workloads replay -p trace="$T/p.trace" -p warm=maybe --threads 5 --reps 1 --out "$T/rwb" \
    >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "no|yes" "$T/err" && [ ! -e "$T/rwb/results.csv" ] || fail "warm=maybe: exit $rc, $(cat "$T/err")"
# a replay at another thread count is skipped, saying which
"$TB" run --allocators glibc --workloads replay -p trace="$T/p.trace" --threads 2 --reps 1 --out "$T/rp2" >/dev/null 2>&1
csv_awk 'NR>1 {print $col["status"], $col["error"]}' "$T/rp2/results.csv" | matches "^skipped the trace has 5 threads: replay it with --threads 5" ||
    fail "replay at the wrong thread count"
# the overlap allocator is caught in a replay
rc=0
"$TB" run --allocators test-overlap --workloads replay -p trace="$T/p.trace" --threads 5 --reps 1 --out "$T/ro" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] && [ "$(csv_count '$col["status"]=="corrupt"' "$T/ro/results.csv")" -eq 1 ] || fail "overlap not caught in a replay"

# 4. a killed program: 128 + 9, its trace incomplete and still replayable
rc=0
"$TB" record --out "$T/k.trace" -- "$PROG" 0 kill >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || fail "record of a killed program: exit $rc, want 137"
"$TB" trace-info "$T/k.trace" 2>&1 | matches "incomplete" || fail "a killed program's trace is not marked incomplete"
"$TB" run --allocators glibc --workloads replay -p trace="$T/k.trace" --threads 5 --reps 1 --out "$T/rk" >/dev/null 2>&1 ||
    fail "replay of a killed program's trace"

# 5. bad usage: a program that cannot start, an existing trace, no program
rc=0
"$TB" record --out "$T/n.trace" -- "$T/no-such-program" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "cannot start '$T/no-such-program': No such file" "$T/err" && [ ! -e "$T/n.trace" ] ||
    fail "record of a missing program: $rc $(cat "$T/err")"
rc=0
"$TB" record --out "$T/p.trace" -- "$PROG" 0 >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && matches "would be overwritten" "$T/err" || fail "record over an existing trace: $rc"
"$TB" trace-info "$T/p.trace" >/dev/null 2>&1 || fail "the existing trace was damaged"
rc=0
"$TB" record --out "$T/x.trace" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "record without a program: $rc"

# 6. a one-thread trace replayed twice counts the same instructions
if command -v valgrind >/dev/null; then
    "$TB" record --out "$T/s.trace" -- "$PROG" 0 single >/dev/null 2>&1 || fail "record single"
    for i in 1 2; do
        "$TB" run --allocators tmempool-tcache,glibc --workloads replay -p trace="$T/s.trace" --threads 1 --reps 1 \
            --measure instructions --out "$T/c$i" >/dev/null 2>&1 || fail "replay under the counter"
    done
    a=$(csv_awk 'NR>1 {print $col["allocator"], $col["instructions_per_op"]}' "$T/c1/results.csv" | sort)
    b=$(csv_awk 'NR>1 {print $col["allocator"], $col["instructions_per_op"]}' "$T/c2/results.csv" | sort)
    [ -n "$a" ] && [ "$a" = "$b" ] && ! matches ' $' <<<"$a" || fail "instruction counts differ or are missing: $a / $b"
fi
# 7. the real preset's recordings: python3, sqlite3 and cc1 from Debian's packages, replayed
rt=$(TB="$TB" "$(dirname "$0")/../scripts/real-traces.sh" "$T/rt" 2>"$T/err") || fail "real-traces.sh: $(cat "$T/err")"
[ "$(tr , '\n' <<<"$rt" | wc -l)" -eq 3 ] || fail "real-traces.sh recorded: $rt"
"$TB" run --allocators glibc,tmempool-tcache --workloads replay -p trace="$rt" --threads 1 --reps 1 --out "$T/real" >/dev/null 2>&1 ||
    fail "replay of the real traces"
[ "$(csv_count '$col["status"]=="ok"' "$T/real/results.csv")" -eq 6 ] || fail "real traces: not every cell ok"
# the report says what each trace is, one row a trace
"$TB" plot "$T/real" >/dev/null 2>&1 || fail "plot of the real replays"
[ "$(sed -n '/^## Traces replayed/,/^## /p' "$T/real/plots/report.md" | grep -cE '^\| (python3|sqlite3|cc1)-[0-9]+\.trace \| /')" -eq 3 ] ||
    fail "the report's traces: $(sed -n '/^## Traces replayed/,/^## /p' "$T/real/plots/report.md")"
# the chart of sizes has a column per trace and a row per power of two from the smallest to the largest
[ "$(head -2 "$T/real/plots/traces.dat" | tail -1 | tr '\t' '\n' | grep -c '\.trace (')" -eq 3 ] &&
    [ -s "$T/real/plots/traces.png" ] && matches '!\[objects by size in the replayed traces\]' "$T/real/plots/report.md" ||
    fail "the traces chart: $(head -3 "$T/real/plots/traces.dat")"
# a replay's sizes are the trace's: its charts say so, and never that they were drawn uniform
matches "at 1 thread: throughput of each repetition (the trace's object sizes, up to 1048576 bytes" "$T/real/plots/report.md" &&
    ! matches "replay.*uniform" "$T/real/plots/report.md" || fail "the replay charts' sizes: $(grep '^### replay' "$T/real/plots/report.md")"
# a trace named relative to the directory of the run is stored absolute: plot from elsewhere reads it
first=${rt%%,*}
ln -s "$first" "$T/rel.trace"
(cd "$T" && "$TB" run --allocators glibc --workloads replay -p trace=rel.trace --threads 1 --reps 1 --out rel-run >/dev/null 2>&1) ||
    fail "replay of a relative path"
csv_awk 'NR>1 {print $col["params"]}' "$T/rel-run/results.csv" | matches "^trace=$first\$" ||
    fail "relative trace stored as: $(csv_awk 'NR>1 {print $col["params"]}' "$T/rel-run/results.csv")"
(cd / && "$TB" plot "$T/rel-run" >/dev/null 2>&1) && ! matches "not readable now" "$T/rel-run/plots/report.md" ||
    fail "plot from another directory lost the trace"
# a second call records nothing again: the same files, cached by program version
[ "$(TB="$TB" "$(dirname "$0")/../scripts/real-traces.sh" "$T/rt" 2>/dev/null)" = "$rt" ] || fail "real traces not cached"
echo "test_trace: ok"
