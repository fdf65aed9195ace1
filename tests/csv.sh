# Sourced by the shell tests: awk over CSV files (results.csv, compare --format csv) with the
# columns found by name in each file's header, never by position, so a column added or moved
# cannot make a test read the wrong one.
#   csv_awk [-v NAME=VALUE]... 'PROGRAM' FILE...   in PROGRAM, $col["status"] is the status field
#   csv_count 'CONDITION' FILE                     data rows for which CONDITION holds
csv_awk() {
    local vars=()
    while [ "${1:-}" = -v ]; do vars+=(-v "$2"); shift 2; done
    local prog=$1
    shift
    awk -F, "${vars[@]}" 'FNR == 1 { delete col; for (i = 1; i <= NF; i++) col[$i] = i }
        '"$prog" "$@"
}
csv_count() { csv_awk "FNR > 1 && ($1) { n++ } END { print n + 0 }" "$2"; }

# matches GREP-ARGS...: grep -q that reads its input to the end. grep -q exits at the first
# match, and a writer still writing then dies of SIGPIPE, which set -o pipefail reports as a
# failed pipeline: a flaky test whenever the writer prints more after the matching line.
matches() { grep "$@" >/dev/null; }
