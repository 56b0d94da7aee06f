#!/bin/bash
# Submits a list of job files as one Slurm array and a merge/publish step that runs only when
# every task succeeded (a failed task cancels it: --kill-on-invalid-dep=yes).
#   scripts/slurm/submit-array.sh JOBS.txt OUT_ROOT [MERGE_COMMAND...]
# MERGE_COMMAND runs in the merge step with OUT_ROOT as its working folder; default: a listing of
# every output with its SHA-256 (OUT_ROOT/manifest.sha256). Extra sbatch options: $SBATCH_OPTS.
set -euo pipefail
LIST=${1:?usage: submit-array.sh JOBS.txt OUT_ROOT [MERGE_COMMAND...]}
OUT_ROOT=${2:?usage: submit-array.sh JOBS.txt OUT_ROOT [MERGE_COMMAND...]}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
N=$(grep -c . "$LIST")
[ "$N" -gt 0 ] || { echo "submit-array: $LIST lists no job" >&2; exit 2; }
MERGE=${*:-"find . -name '*.tif' -o -name '*.gpkg' -o -name '*.csv' | sort | xargs -r sha256sum > manifest.sha256"}
# shellcheck disable=SC2086
ARRAY=$(sbatch --parsable ${SBATCH_OPTS:-} --array=0-$((N - 1)) "$HERE/qinling-array.sbatch" "$LIST" "$OUT_ROOT")
# shellcheck disable=SC2086
MERGED=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=qinling-merge --dependency=afterok:"$ARRAY" \
  --kill-on-invalid-dep=yes --ntasks=1 --output=qinling-merge-%j.log --chdir="$OUT_ROOT" --wrap "$MERGE")
echo "array $ARRAY ($N jobs), merge $MERGED"
