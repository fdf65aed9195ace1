#!/usr/bin/env bash
# Side by side with mimalloc-bench's own programs: builds its larson, xmalloc-test, cache-scratch
# and cache-thrash in a scratch directory (never in this repository), runs them and tmbench's
# workloads of the same names in alternating rounds, and prints each allocator's ratio to glibc
# per round, peer beside tmbench.
#
#   scripts/peer/side-by-side.sh MIMALLOC_BENCH_DIR   a checkout (or a bare git dir) of
#                                                     github.com/daanx/mimalloc-bench
# Environment: ROUNDS (2), THREADS ("1 2"), XTHREADS ("2 4": xmalloc's threads, half of them
# producers; the peer's -w is half of it), SECS (2: larson's and xmalloc-test's seconds, tmbench's
# cell length),
# ITER (200: cache-* objects a thread), SCRATCH (a temporary directory), TB (the tmbench binary,
# default build-release/harness/tmbench).
#
# mimalloc-bench's cache-scratch.cpp and cache-thrash.cpp, compiled by GCC 12 at -O2, contain no
# allocator call at all (the heap object is a plain char * that the compiler keeps in a
# register); the copies built here declare it `volatile char *`, which keeps the calls and the
# byte traffic. Nothing else is changed.
set -euo pipefail
src=${1:?usage: $0 MIMALLOC_BENCH_DIR (a checkout or bare git directory of daanx/mimalloc-bench)}
here=$(cd "$(dirname "$0")/../.." && pwd)
TB=${TB:-$here/build-release/harness/tmbench}
ROUNDS=${ROUNDS:-2} THREADS=${THREADS:-"1 2"} XTHREADS=${XTHREADS:-"2 4"} SECS=${SECS:-2} ITER=${ITER:-200}
work=${SCRATCH:-$(mktemp -d)}
[ -x "$TB" ] || { echo "side-by-side: no tmbench at $TB (build first, or set TB)" >&2; exit 2; }
show() { # show PATH: the file from a work tree or a bare git directory
    if [ -f "$src/$1" ]; then cat "$src/$1"; else git -C "$src" show "HEAD:$1"; fi
}
for b in larson cache-scratch cache-thrash; do
    show "bench/$b/$b.cpp" >"$work/$b.cpp" || { echo "side-by-side: $src has no bench/$b/$b.cpp" >&2; exit 2; }
done
for b in cache-scratch cache-thrash; do
    sed -i 's/^\(\s*\)char \* obj = new char\[w1._objSize\];/\1volatile char * obj = new char[w1._objSize];/;
            s/delete \[\] obj;/delete [] (char *) obj;/' "$work/$b.cpp"
    grep -q 'volatile char \* obj' "$work/$b.cpp" || { echo "side-by-side: $b.cpp changed upstream; fix the sed" >&2; exit 2; }
done
for b in larson cache-scratch cache-thrash; do g++ -O2 -pthread -w -o "$work/$b" "$work/$b.cpp"; done
show bench/xmalloc-test/xmalloc-test.c >"$work/xmalloc-test.c" && show bench/xmalloc-test/random.h >"$work/random.h" ||
    { echo "side-by-side: $src has no bench/xmalloc-test" >&2; exit 2; }
gcc -O2 -pthread -w -o "$work/xmalloc-test" "$work/xmalloc-test.c"
L=/usr/lib/x86_64-linux-gnu
declare -A lib=([glibc]="" [tcmalloc]=$L/libtcmalloc_minimal.so.4 [jemalloc]=$L/libjemalloc.so.2 [mimalloc]=$L/libmimalloc.so.2)
allocs="glibc tcmalloc jemalloc mimalloc"
out="$work/peer.txt"
: >"$out"
for r in $(seq 1 "$ROUNDS"); do
    for t in $THREADS; do
        for a in $allocs; do
            v=$(LD_PRELOAD=${lib[$a]} "$work/larson" "$SECS" 8 1000 5000 100 4141 "$t" 2>&1 | sed -n 's/^Throughput = \([0-9]*\).*/\1/p')
            echo "$r larson $t $a $v" >>"$out"
            for b in cache-scratch cache-thrash; do
                s=$(date +%s.%N)
                LD_PRELOAD=${lib[$a]} "$work/$b" "$t" "$ITER" 8 2000000 "$t" >/dev/null
                e=$(date +%s.%N)
                echo "$r $b $t $a $(awk -v s="$s" -v e="$e" -v n="$ITER" -v t="$t" 'BEGIN { print n * t / (e - s) }')" >>"$out"
            done
        done
    done
    for t in $XTHREADS; do
        for a in $allocs; do
            v=$(LD_PRELOAD=${lib[$a]} "$work/xmalloc-test" -w $((t / 2)) -t "$SECS" -s 64 | sed -n 's/.*free\/sec: \([0-9.]*\) M.*/\1/p')
            echo "$r xmalloc $t $a $v" >>"$out"
        done
    done
    "$TB" run --allocators "${allocs// /,}" --workloads xmalloc --threads "${XTHREADS// /,}" --reps 1 \
        --duration "$SECS" --seed "$r" --out "$work/tbx-$r" >/dev/null 2>&1 || true
    "$TB" run --allocators "${allocs// /,}" --workloads larson,falseshare --threads "${THREADS// /,}" --reps 1 \
        --duration "$SECS" --seed "$r" --out "$work/tb-$r" >/dev/null 2>&1 || true
    awk -F, -v r="$r" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["status"] == "ok" { w = $c["workload"]; if (w == "falseshare") w = ($c["params"] ~ /handoff=yes/) ? "cache-scratch" : "cache-thrash";
                               print r, w, $c["threads"], $c["allocator"], $c["ops_per_sec"] }' "$work/tb-$r/results.csv" "$work/tbx-$r/results.csv" |
        sed 's/^\([0-9]*\) /\1 tb:/' >>"$out"
done
# ratio to glibc in the same round, program and thread count
awk '{ k = $1 " " $2 " " $3; v[k " " $4] = $5; keys[$2 " " $3] = 1; rounds[$1] = 1 }
     END { printf "%-22s %-3s %-9s %s\n", "benchmark", "thr", "allocator", "ratio to glibc per round: peer | tmbench"
           n = split("tcmalloc jemalloc mimalloc", al, " ")
           for (kk in keys) { split(kk, p, " "); if (p[1] ~ /^tb:/) continue
               for (i = 1; i <= n; i++) { line = ""; tline = ""
                   for (r in rounds) { g = v[r " " kk " glibc"]; x = v[r " " kk " " al[i]]
                       tg = v[r " tb:" kk " glibc"]; tx = v[r " tb:" kk " " al[i]]
                       line = line sprintf(" %.2f", g > 0 ? x / g : 0); tline = tline sprintf(" %.2f", tg > 0 ? tx / tg : 0) }
                   printf "%-22s %-3s %-9s%s |%s\n", p[1], p[2], al[i], line, tline } } }' "$out" | sort
echo "raw figures: $out"
