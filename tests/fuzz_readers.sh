#!/usr/bin/env bash
# Fuzz pass over the readers of a run's data: seeded mutations of a real results.csv and a real
# meta.json (truncation, bit flips, NUL bytes, a huge line, duplicated and missing lines, junk
# tokens), each read by compare and merge. Every input must end with a verdict (0, 1) or an
# input error (2) within the time limit, never a crash, a sanitizer report or a hang. Run under
# ASan+UBSan and TSan in CI like every other test.
#   fuzz_readers.sh TMBENCH MUTATE [N]
set -uo pipefail
TB=$(readlink -f "$1")
MUT=$(readlink -f "$2")
N=${3:-150}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export ASAN_OPTIONS=exitcode=99:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:exitcode=98 TSAN_OPTIONS=exitcode=97

# The seed run: a real one, made by the fixture below without running workers (the sanitizer
# builds cannot run preloaded workers), in the shape tmbench writes.
mkdir -p "$T/seed1" "$T/seed2"
cols="run_id,allocator,allocator_version,workload,params,threads,object_size,rep,status,ops,seconds,ops_per_sec,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,peak_rss_kib,pool_bytes_reserved,lock_waits,error,free_p50_ns,free_p99_ns,free_p999_ns,base_rss_kib,end_rss_kib,mark_rss_kib,mark_pool_bytes,cache_hits,cache_misses,remote_frees,instructions_per_op,count_method,seed"
for s in 1 2; do
    { echo "$cols"
      for a in glibc tmempool-tcache; do for r in 0 1 2 3 4; do
          v=$((100000000 + r * 1000000 + s))
          echo "x,$a,1,churn,live=1,1,64,$(((s - 1) * 5 + r)),ok,1000000,0.01,$v,10.5,9.5,30.1,120.0,2048,131072,3,,8.0,20.0,90.0,1900,2000,,,100,5,0,,,$r"
      done; done
      echo "x,floor,,prodcons,ring=256,2,64,$((s - 1)),skipped,,,,,,,,,,,this allocator is only correct when the allocating thread frees,,,,,,,,,,,,,0"
    } >"$T/seed$s/results.csv"
    cat >"$T/seed$s/meta.json" <<JSON
{"tool":"tmbench","version":"0.1.0","git_commit":"abc","run_id":"x","command_line":["tmbench","run"],
 "machine":{"hostname":"h","cpu_model":"cpu","pus":2,"numa_nodes":1},
 "matrix":{"allocators":"glibc,tmempool-tcache,floor","workloads":"churn,prodcons","threads":"1,2","sizes":"64",
           "reps":10,"params":[],"ops":1000000,"duration":0,"seed":"7","cells":11,"cells_unsharded":22,
           "latency_sample_every":1024,"pin":false,"timeout":60,"measure":"time","shard":"$s/2"},
 "allocator_versions":{},"worker_warnings":[],"started":"s","ended":"e","interrupted":false,"complete":true}
JSON
done
"$TB" compare "$T/seed1" "$T/seed2" >/dev/null || fail "the fixture itself does not compare"
"$TB" merge "$T/seed1" "$T/seed2" --out "$T/merged" >/dev/null 2>&1 || fail "the fixture itself does not merge"

check() { # WHAT CMD...: exit 0, 1 or 2 in time
    local what=$1 rc=0
    shift
    timeout 5 "$@" >/dev/null 2>"$T/err" || rc=$?
    case $rc in
        0|1|2) seen[$rc]=$((${seen[$rc]:-0} + 1)) ;;
        124) fail "$what: a hang (over 5 s), input $i: $(head -c 300 "$T/err")" ;;
        *) fail "$what: exit $rc (a crash or a sanitizer report), input $i: $(head -c 600 "$T/err")" ;;
    esac
}
declare -A seen
start=$SECONDS
for i in $(seq 1 "$N"); do
    rm -rf "$T/m" "$T/out"; mkdir -p "$T/m"
    if [ $((i % 3)) -eq 0 ]; then
        cp "$T/seed1/results.csv" "$T/m/"; "$MUT" "$i" <"$T/seed1/meta.json" >"$T/m/meta.json"
    else
        cp "$T/seed1/meta.json" "$T/m/"; "$MUT" "$i" <"$T/seed1/results.csv" >"$T/m/results.csv"
    fi
    check compare "$TB" compare "$T/seed2" "$T/m"
    check compare "$TB" compare "$T/m" --baseline glibc
    check merge "$TB" merge "$T/m" "$T/seed2" --out "$T/out"
done
[ "${seen[2]:-0}" -gt 0 ] || fail "no mutation was caught as an input error: the mutator does nothing"
echo "fuzz_readers: $N mutated inputs x 3 readers in $((SECONDS - start)) s: exit 0 ${seen[0]:-0}, 1 ${seen[1]:-0}, 2 ${seen[2]:-0}; no crash, no hang"
