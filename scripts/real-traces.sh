#!/usr/bin/env bash
# Records the allocation traces of three real programs from Debian's packages, once per program
# version, into DIR (default results/traces), and prints their paths comma-separated, for
# `tmbench run --workloads replay -p trace=LIST` (scripts/bench.sh --preset real does this):
#   python3  builds and drops dicts, lists and strings (an interpreter's many small objects),
#            with PYTHONMALLOC=malloc
#   sqlite3  inserts 20000 rows into an indexed table in memory and queries them (a database's
#            page cache and statement objects)
#   cc1      GCC's compiler proper at -O2 on one of this project's C files (a compiler's trees
#            and obstacks); the gcc driver forks cc1, and a forked child is not recorded
#   real-traces.sh [DIR]     TB: the tmbench binary (default build-release/harness/tmbench)
#   real-traces.sh --rerun [DIR]   instead: runs each program under glibc, mimalloc, tcmalloc and
#                                  jemalloc (LD_PRELOAD) in ROUNDS (5) interleaved rounds and
#                                  prints each one's whole-program wall time as a median ratio
#                                  to glibc's in the same round, to set beside the replay's
set -euo pipefail
rerun=false
[ "${1:-}" = --rerun ] && { rerun=true; shift; }
here=$(cd "$(dirname "$0")/.." && pwd)
TB=${TB:-$here/build-release/harness/tmbench}
dir=${1:-$here/results/traces}
mkdir -p "$dir"
[ -x "$TB" ] || { echo "real-traces: no tmbench at $TB (build first, or set TB)" >&2; exit 2; }
py_script='
d = {}
for r in range(30):
    d = {str(i) * 3: [i, str(i), (i, i + 1)] for i in range(4000)}
    s = "".join(k for k in d if len(k) % 2)
    del d
print(len(s))'
sql_script="create table t(a integer primary key, b text, c real);
create index tb on t(b);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 20000)
  insert into t select i, hex(randomblob(12)), i * 0.5 from n;
select count(*), sum(length(b)) from t where b > '8';
select b, c from t order by b limit 5;
delete from t where a % 3 = 0;
select count(*) from t;"
cc1=$(gcc -print-prog-name=cc1)
src=$here/allocators/src/pool.c
[ -f "$src" ] || src=$(ls "$here"/allocators/src/*.c | head -1)
key() { printf '%s' "$*" | cksum | cut -d' ' -f1; }
out=()
$rerun && : >"$dir/rerun.txt"
L=/usr/lib/x86_64-linux-gnu
declare -A lib=([glibc]="" [mimalloc]=$L/libmimalloc.so.2 [tcmalloc]=$L/libtcmalloc_minimal.so.4 [jemalloc]=$L/libjemalloc.so.2)
rerun() { # NAME -- CMD...: ROUNDS rounds, the allocators in turn
    local name=$1 r a s e
    shift 2
    for r in $(seq 1 "${ROUNDS:-5}"); do
        for a in glibc mimalloc tcmalloc jemalloc; do
            s=$(date +%s%N)
            LD_PRELOAD=${lib[$a]} "$@" >/dev/null 2>&1
            e=$(date +%s%N)
            echo "$name $r $a $(((e - s) / 1000))"
        done
    done
}
record() { # NAME VERSION -- CMD...
    local name=$1 version=$2
    shift 3
    if $rerun; then
        rerun "$name" -- "$@" >>"$dir/rerun.txt"
        return
    fi
    local f="$dir/$name-$(key "$version" "$*").trace"
    if [ ! -s "$f" ] || ! "$TB" trace-info "$f" >/dev/null 2>&1; then
        rm -f "$f"
        "$TB" record --out "$f" -- "$@" >/dev/null 2>"$dir/$name.log" ||
            { echo "real-traces: recording $name failed: $(tail -3 "$dir/$name.log")" >&2; rm -f "$f"; exit 1; }
    fi
    out+=("$f")
}
# Debian's python3 when it is there; PYTHONMALLOC=malloc sends its small objects to malloc
# instead of its own arenas (pymalloc), so the trace holds the interpreter's whole pattern
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
[ -n "$py" ] && record python3 "$("$py" --version 2>&1)" -- env PYTHONMALLOC=malloc "$py" -c "$py_script"
command -v sqlite3 >/dev/null && record sqlite3 "$(sqlite3 --version)" -- "$(command -v sqlite3)" :memory: "$sql_script"
# cc1 on the preprocessed file: the driver's include paths are not cc1's own
if [ -x "$cc1" ] && gcc -E -D_GNU_SOURCE -I"$here/allocators/include" -I"$here/allocators/src" "$src" -o "$dir/cc1-input.i"; then
    record cc1 "$(gcc -dumpfullversion) $(cksum <"$dir/cc1-input.i")" -- "$cc1" -quiet -O2 -fpreprocessed "$dir/cc1-input.i" -o /dev/null
fi
if $rerun; then # wall time: glibc's over each allocator's in the same round is its speed ratio
    awk '{ t[$1 " " $2 " " $3] = $4 }
         END { for (k in t) { split(k, f, " "); if (f[3] != "glibc" && t[k] > 0)
                   print f[1], f[3], t[f[1] " " f[2] " glibc"] / t[k] } }' "$dir/rerun.txt" |
        sort -k1,1 -k2,2 -k3,3g |
        awk '{ k = $1 " " $2; v[k, ++n[k]] = $3 }
             END { for (k in n) printf "%-22s %.2f [%.2f .. %.2f]\n", k, v[k, int((n[k] + 1) / 2)], v[k, 1], v[k, n[k]] }' | sort
    exit 0
fi
[ ${#out[@]} -gt 0 ] || { echo "real-traces: none of python3, sqlite3 and gcc's cc1 is here" >&2; exit 2; }
(IFS=,; echo "${out[*]}")
