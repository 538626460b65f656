#!/usr/bin/env bash
# Submits a sharded job array and its merge, which starts only when every task succeeded.
#   examples/slurm/submit.sh issues     (or: augment)
set -euo pipefail
verb=${1:?usage: submit.sh issues|augment}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p out
array=$(sbatch --parsable "$here/$verb.sbatch")
sbatch --dependency=afterok:"$array" "$here/merge-$verb.sbatch"
