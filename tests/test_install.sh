#!/usr/bin/env bash
# The install works from its prefix alone, and after the prefix is moved: `cmake --install`
# into a temporary prefix, the tree moved elsewhere, then two consumers of the README's example
# built there (pkg-config, shared and static; find_package, shared, static and the default
# target), and the installed tmbench's list, a tiny run, plot (with the installed templates),
# record, the man pages and the bash completion.
#   test_install.sh BUILD_DIR README_EXAMPLE.c
set -uo pipefail
BUILD=$(readlink -f "$1") EXAMPLE=$(readlink -f "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/csv.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$T/first" >"$T/log" 2>&1 || fail "cmake --install: $(cat "$T/log")"
mv "$T/first" "$T/p" # nothing may remember where it was installed
P=$T/p
for f in bin/tmbench include/tmempool.h lib/libtmempool.so lib/libtmempool.a lib/pkgconfig/tmempool.pc \
    lib/cmake/tmempool/tmempoolConfig.cmake lib/tmbench/libtmbrecord.so share/tmempool/plots/scaling.gp \
    share/man/man1/tmbench.1 share/man/man3/tmempool.3 share/bash-completion/completions/tmbench; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
! grep -rl "$T/first" "$P" >/dev/null || fail "files that name the first prefix: $(grep -rl "$T/first" "$P")"
want="^1 allocation\(s\), [0-9]+ bytes reserved"

# 1. pkg-config, from the moved tree
export PKG_CONFIG_PATH=$P/lib/pkgconfig
[ "$(pkg-config --modversion tmempool)" = "$(sed -n 's/^Version: //p' "$P/lib/pkgconfig/tmempool.pc")" ] || fail "pkg-config"
# shellcheck disable=SC2046
cc -o "$T/pc_shared" "$EXAMPLE" $(pkg-config --cflags --libs tmempool) -Wl,-rpath,"$P/lib" 2>"$T/log" ||
    fail "pkg-config shared build: $(cat "$T/log")"
"$T/pc_shared" | matches -E "$want" || fail "pkg-config shared consumer"
ldd "$T/pc_shared" | matches "libtmempool.so.0 => $P/lib/" || fail "pkg-config shared: $(ldd "$T/pc_shared")"
# static: the archive, and its dependencies as shared libraries (pkg-config --static would ask
# for hwloc's own static dependencies too, libudev's among them, which a shared hwloc does not need)
# shellcheck disable=SC2046
cc -o "$T/pc_static" "$EXAMPLE" $(pkg-config --cflags tmempool) "$P/lib/libtmempool.a" $(pkg-config --libs hwloc) \
    -pthread 2>"$T/log" || fail "pkg-config static build: $(cat "$T/log")"
"$T/pc_static" | matches -E "$want" || fail "pkg-config static consumer"
! ldd "$T/pc_static" | matches libtmempool || fail "the static consumer needs libtmempool.so"

# 2. find_package, from the moved tree
cp "$HERE/consumer/CMakeLists.txt" "$EXAMPLE" "$T/" && mkdir -p "$T/src" && mv "$T/CMakeLists.txt" "$T/src/" &&
    mv "$T/$(basename "$EXAMPLE")" "$T/src/example.c"
cmake -S "$T/src" -B "$T/cb" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release >"$T/log" 2>&1 ||
    fail "find_package configure: $(cat "$T/log")"
cmake --build "$T/cb" >"$T/log" 2>&1 || fail "find_package build: $(cat "$T/log")"
for e in with_shared with_static with_default; do
    "$T/cb/$e" | matches -E "$want" || fail "find_package consumer $e"
done
ldd "$T/cb/with_shared" | matches "libtmempool.so.0 => $P/lib/" || fail "with_shared: $(ldd "$T/cb/with_shared")"
! ldd "$T/cb/with_static" | matches libtmempool || fail "with_static needs libtmempool.so"
cmake -S "$T/src" -B "$T/cs" -DCMAKE_PREFIX_PATH="$P" -Dtmempool_USE_STATIC=ON >"$T/log" 2>&1 &&
    cmake --build "$T/cs" --target with_default >"$T/log" 2>&1 || fail "tmempool_USE_STATIC: $(cat "$T/log")"
! ldd "$T/cs/with_default" | matches libtmempool || fail "tmempool_USE_STATIC left the default shared"

# 3. the installed tmbench, run from elsewhere with nothing of the build tree on its paths
cd "$T" || exit 1
env -u TMBENCH_PLOTS LD_LIBRARY_PATH= "$P/bin/tmbench" list >"$T/list" 2>&1 || fail "installed list: $(cat "$T/list")"
matches -E "tmempool-tcache +available" "$T/list" || fail "installed list: $(cat "$T/list")"
env -u TMBENCH_PLOTS "$P/bin/tmbench" run --allocators glibc,tmempool-tcache --workloads churn --threads 1 --reps 1 \
    --ops 20000 --out "$T/run" >/dev/null 2>"$T/log" || fail "installed run: $(cat "$T/log")"
[ "$(csv_count '$col["status"]=="ok"' "$T/run/results.csv")" -eq 2 ] || fail "installed run: not 2 ok cells"
# the installed templates are the ones drawn with: a mark put into the installed style shows in the SVG
echo 'set label 98 "installed-template-mark" at screen 0.5, screen 0.99' >>"$P/share/tmempool/plots/common.gp"
env -u TMBENCH_PLOTS "$P/bin/tmbench" plot "$T/run" --format svg >/dev/null 2>"$T/log" || fail "installed plot: $(cat "$T/log")"
matches installed-template-mark "$T/run/plots/relative.svg" || fail "plot did not use the installed templates"
"$P/bin/tmbench" record --out "$T/t.trace" -- python3 -c 'x = [str(i) for i in range(1000)]' >/dev/null 2>"$T/log" ||
    fail "installed record: $(cat "$T/log")"
"$P/bin/tmbench" trace-info "$T/t.trace" | matches "^threads    1" || fail "installed record's trace"

# 4. the man pages render without a warning, and name every flag and subcommand of the help
for m in man1/tmbench.1 man3/tmempool.3; do
    groff -man -Tutf8 -ww -z "$P/share/man/$m" 2>"$T/log" && [ ! -s "$T/log" ] || fail "$m: $(cat "$T/log")"
done
groff -man -Tutf8 "$P/share/man/man1/tmbench.1" 2>/dev/null | col -bx >"$T/man1"
for cmd in list run merge compare plot export record trace-info; do
    matches -E "^ *tmbench $cmd" "$T/man1" || fail "tmbench(1) has no section for $cmd"
    for f in $("$P/bin/tmbench" help "$cmd" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        matches -- "$f" "$T/man1" || fail "tmbench(1) does not document $cmd $f"
    done
done
groff -man -Tutf8 "$P/share/man/man3/tmempool.3" 2>/dev/null | col -bx >"$T/man3"
for fn in $(grep -oE 'TMP_API [^;(]*\(' "$P/include/tmempool.h" | grep -oE 'tmp_[a-z_]+' | sort -u); do
    matches -w "$fn" "$T/man3" || fail "tmempool(3) does not document $fn"
done

# 5. the completion completes subcommands, flags and names
comp() { # WORDS...: the completions bash would offer for the command line WORDS (the last is the one completed)
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; _tmbench; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$P/share/bash-completion/completions/tmbench" "$@"
}
export PATH=$P/bin:$PATH
comp tmbench "" | matches -x "trace-info" || fail "completion of subcommands: $(comp tmbench "")"
comp tmbench run --th | matches -x -- "--threads" || fail "completion of run's flags: $(comp tmbench run --th)"
comp tmbench run --allocators tmempool-t | matches -x "tmempool-tcache" || fail "completion of allocators"
comp tmbench run --workloads lar | matches -x "larson" || fail "completion of workloads: $(comp tmbench run --workloads lar)"
comp tmbench export r --format "" | matches -x "gbench-json" || fail "completion of export's formats"
echo "test_install: ok"
