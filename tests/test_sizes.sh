#!/usr/bin/env bash
# Many sizes through the harness: every workload runs with a uniform and a log-uniform range on
# every allocator here; the sizes column and object_size say what ran; every allocator is asked
# for the same sizes (footprint's live bytes agree to the byte); the overlap allocator is caught
# with sizes too; interleaved cells run them; footprint reports bytes held per byte requested; compare keeps cells of one
# upper bound but different laws apart; bad --sizes exits 2 and writes nothing; a results.csv
# whose sizes disagree with object_size is refused.
set -euo pipefail
TB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/csv.sh"

# 1. all x all x {8-1000, 8-1000:log}, 1 and 2 threads
"$TB" run --allocators all --workloads all --threads 1,2 --sizes 8-1000,8-1000:log --ops 20000 --reps 1 --seed 3 \
    -p peak=2000 -p rounds=500 -p writes=4 --out "$T/a" >/dev/null 2>"$T/a.log" || { cat "$T/a.log"; fail "run all x all with sizes"; }
csv_awk 'NR>1 && $col["status"]!="ok" && $col["status"]!="skipped" { print; bad=1 } END { exit bad }' "$T/a/results.csv" ||
    fail "a cell with sizes neither ok nor skipped"
listing=$("$TB" list)
nalloc=$(awk '/^allocators:/ { s = 1; next } /^$/ { s = 0 } s && /^  [^ ]/ { n++ } END { print n }' <<<"$listing")
# (less those that `all` leaves out: replay needs a trace)
nwl=$(awk '/^workloads:/ { s = 1; next } /^$/ { s = 0 } s && /^  [^ ]/ { n++ } s && /not in --workloads all/ { n-- } END { print n }' <<<"$listing")
rows=$(($(wc -l <"$T/a/results.csv") - 1))
[ "$rows" -eq $((nalloc * (nwl + 1) * 2 * 2)) ] || fail "expected $((nalloc * (nwl + 1) * 4)) rows, got $rows"
# each workload ran ok with each law on at least the pools and glibc (the floor and pairs skip by design)
for w in churn batch prodcons xmalloc larson falseshare footprint; do
    for law in 8-1000 8-1000:log; do
        n=$(csv_count "\$col[\"workload\"]==\"$w\" && \$col[\"sizes\"]==\"$law\" && \$col[\"status\"]==\"ok\" && \$col[\"object_size\"]==1000" "$T/a/results.csv")
        [ "$n" -ge 5 ] || fail "$w with --sizes $law: $n ok cells with object_size 1000"
    done
done
# the batch means are of one size: empty in a many-size cell, never a figure of the largest size
csv_awk 'NR>1 && $col["status"]=="ok" && $col["alloc_batch_ns"] != "" { print; bad=1 } END { exit bad }' "$T/a/results.csv" ||
    fail "a many-size cell has batch means"
# the same sizes for every allocator: footprint's live bytes at the mark agree across allocators
n=$(csv_awk 'NR>1 && $col["status"]=="ok" && $col["workload"]=="footprint" { print $col["sizes"], $col["threads"], $col["mark_live_bytes"] }' \
    "$T/a/results.csv" | sort -u | wc -l)
[ "$n" -eq 4 ] || fail "footprint's live bytes differ between allocators of one cell ($n distinct for 4 cells)"
# bytes held per byte requested: every footprint cell has the RSS ratio, pools the reserve ratio, above 1
csv_awk 'NR>1 && $col["status"]=="ok" && $col["workload"]=="footprint" && ($col["mark_rss_ratio"] == "" ||
        ($col["allocator"] ~ /^tmempool-/ && !($col["mark_reserve_ratio"] >= 1))) { print; bad=1 } END { exit bad }' \
    "$T/a/results.csv" || fail "a footprint cell without its bytes held per byte requested"
# and a fixed-size footprint's live bytes are exactly peak x threads x size
"$TB" run --allocators tmempool-tcache,glibc --workloads footprint --threads 2 --sizes 48 --ops 1000 --reps 1 -p peak=3000 \
    --out "$T/f" >/dev/null 2>&1 || fail "fixed footprint"
[ "$(csv_count '$col["mark_live_bytes"]==3000*2*48 && $col["sizes"]=="48"' "$T/f/results.csv")" -eq 2 ] ||
    fail "fixed footprint's live bytes: $(csv_awk 'NR>1 { print $col["mark_live_bytes"] }' "$T/f/results.csv")"

# 2. the overlap allocator is caught with sizes as without
rc=0
"$TB" run --allocators test-overlap --workloads churn,batch,footprint --threads 1 --sizes 64-256 --ops 2000 --reps 1 \
    -p live=4 -p peak=100 --out "$T/o" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] && [ "$(csv_count '$col["status"]=="corrupt"' "$T/o/results.csv")" -eq 3 ] || fail "overlap with sizes: exit $rc"

# 2b. interleaved: both sides' sets in one worker, slices of many sizes
"$TB" run --allocators tmempool-tcache,tmempool-global --workloads churn,larson,footprint --threads 1,2 --sizes 8-1000:log \
    --interleave 5 --reps 1 --duration 0.05 -p peak=2000 --out "$T/i" >/dev/null 2>"$T/i.log" || { cat "$T/i.log"; fail "interleaved with sizes"; }
[ "$(csv_count '$col["status"]=="ok" && $col["slices"] > 0 && $col["sizes"]=="8-1000:log"' "$T/i/results.csv")" -eq 12 ] ||
    fail "interleaved with sizes: not 12 ok rows with slices"

# 3. the plot and the report name the laws, and compare keeps the two laws of one bound apart
"$TB" plot "$T/a" >/dev/null 2>&1 || fail "plot of a many-size run"
matches 'churn 8-1000B:log' "$T/a/plots/report.md" && matches 'objects of 8-1000 bytes, log-uniform' "$T/a/plots/report.md" &&
    matches '^## Memory per byte requested' "$T/a/plots/report.md" || fail "report does not name the sizes"
"$TB" compare "$T/a" --baseline glibc --format csv >"$T/c.csv" 2>/dev/null || true
for law in 8-1000 8-1000:log; do
    [ "$(csv_count "\$col[\"allocator\"]==\"tmempool-tcache\" && \$col[\"workload\"]==\"churn\" && \$col[\"threads\"]==1 && \$col[\"sizes\"]==\"$law\"" "$T/c.csv")" -eq 1 ] ||
        fail "compare: tcache churn t=1 $law is not one row"
done

# 4. bad --sizes: exit 2, one message naming what would be right, nothing written
for bad in 1000-8 8- 0-100 64-64 8-2000000 8-1000:exp 64,,128 0 "8-1000;x"; do
    rc=0
    "$TB" run --allocators glibc --workloads churn --sizes "$bad" --ops 1000 --reps 1 --out "$T/bad" >/dev/null 2>"$T/bad.err" || rc=$?
    [ $rc -eq 2 ] && matches -e "--sizes" "$T/bad.err" && matches "want" "$T/bad.err" && [ ! -e "$T/bad" ] ||
        fail "--sizes '$bad': exit $rc, $(cat "$T/bad.err")"
done

# 5. a results.csv whose sizes disagree with object_size is an input error, not a figure
mkdir -p "$T/x"
cp "$T/f/results.csv" "$T/x/results.csv"
cp "$T/f/meta.json" "$T/x/meta.json"
csv_awk 'BEGIN { OFS = "," } FNR > 1 { $col["sizes"] = "8-1000" } { print }' "$T/f/results.csv" >"$T/x/results.csv"
rc=0; "$TB" compare "$T/f" "$T/x" >/dev/null 2>"$T/x.err" || rc=$?
[ $rc -eq 2 ] && matches "column sizes" "$T/x.err" || fail "a sizes column that disagrees with object_size: exit $rc, $(cat "$T/x.err")"
echo "sizes: ok"
