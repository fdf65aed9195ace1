#!/usr/bin/env bash
# A tmbench matrix as a Slurm job array: task K of N runs shard K/N of one seeded run; a job
# that depends on the array merges the shards.
#
#   jid=$(sbatch --parsable --array=1-8 scripts/slurm-array.sh --preset full)
#   sbatch --dependency=afterok:$jid --export=ALL,RUN_DIR=results/slurm-$jid scripts/slurm-array.sh --merge
#
# Any `tmbench run` flags follow (not --shard, --seed or --out: the script sets them). Settings
# from the environment:
#   TMBENCH   the tmbench to run (default: tmbench on PATH, else ./build-release/harness/tmbench)
#   SEED      the seed every shard shares (default 42)
#   RUN_DIR   where the shards go (default results/slurm-$SLURM_ARRAY_JOB_ID); the merged run
#             lands in RUN_DIR/merged
# Slurm sets SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT; set them by hand to run one task outside Slurm (tests/test_scaleout.sh
# does). Exit: tmbench's own.
#SBATCH --job-name=tmbench
#SBATCH --exclusive
#SBATCH --output=tmbench-%A_%a.log
set -euo pipefail
tb=${TMBENCH:-$(command -v tmbench || echo ./build-release/harness/tmbench)}
seed=${SEED:-42}
die() { echo "slurm-array.sh: $*" >&2; exit 2; }

if [ "${1:-}" = --merge ]; then
    [ -n "${RUN_DIR:-}" ] || die "--merge needs RUN_DIR, the directory of the shards (results/slurm-JOBID)"
    exec "$tb" merge "$RUN_DIR"/shard-* --out "$RUN_DIR/merged"
fi
for a in "$@"; do
    case $a in --shard* | --seed* | --out* | --resume*) die "$a: the script sets --shard, --seed and --out itself" ;; esac
done
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] && [ -n "${SLURM_ARRAY_TASK_COUNT:-}" ] ||
    die "not a job-array task: submit with sbatch --array=1-N, or set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT"
k=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))
n=$SLURM_ARRAY_TASK_COUNT
run_dir=${RUN_DIR:-results/slurm-${SLURM_ARRAY_JOB_ID:-local}}
mkdir -p "$run_dir"
# a task that Slurm requeues continues its own shard instead of refusing the existing directory
if [ -f "$run_dir/shard-$k/meta.json" ]; then
    exec "$tb" run --resume "$run_dir/shard-$k"
fi
exec "$tb" run "$@" --seed "$seed" --shard "$k/$n" --out "$run_dir/shard-$k"
