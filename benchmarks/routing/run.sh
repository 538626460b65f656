#!/usr/bin/env bash
# Routing: (1) on the bundled digits with an oracle, 3 seeds × 5 batches at target 0.95 — accuracy of the
# auto-accepted labels in every round, and their number against what an oracle-chosen threshold would allow;
# (2) the time to route 1,000,000 synthetic predictions (threshold choice and every item's decision).
# usage: benchmarks/routing/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
(cd "$ROOT" && swift build -c release --product curate-bench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate-bench"   # in-process throughput, not in the product
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# People label 60 (20%) or 90 (30%) random items of each ~300-item batch for validation.
for v in 60 90; do
  echo "validation items per batch: $v"
  "$BENCH" routing simulate --labels "$ROOT/datasets/digits/labels.csv" --format csv --images "$ROOT/datasets/digits" \
    --seeds 3 --rounds 5 --target 0.95 --validation-per-batch $v | python3 "$HERE/summarize.py"
done
"$BENCH" routing plan --count 1000000 --classes 10 --validation 10000 | python3 "$HERE/summarize.py"
