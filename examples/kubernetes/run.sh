#!/usr/bin/env bash
# Runs a sharded job and then its merge: Kubernetes has no dependency between Jobs, so this waits for the
# Indexed Job to complete before applying the merge Job.
#   examples/kubernetes/run.sh issues     (or: augment)
set -euo pipefail
verb=${1:?usage: run.sh issues|augment}
here=$(cd "$(dirname "$0")" && pwd)
kubectl apply -f "$here/$verb-job.yaml"
kubectl wait --for=condition=complete --timeout=24h "job/curate-$verb"
kubectl apply -f "$here/$verb-merge-job.yaml"
kubectl wait --for=condition=complete --timeout=24h "job/curate-$verb-merge"
kubectl logs "job/curate-$verb-merge"
