#!/usr/bin/env bash
# Live vetting of a labeling team.
# 1. curate watch's refresh on a 1,000,000-item queue with 50 annotators (200,000 answers already given), on the
#    embedded SQLite store and on PostgreSQL: each refresh follows one new answer per annotator, applies the
#    standard policy and builds the view; `queue show`'s full read for contrast.
# 2. Detection delay: the simulated crowd (8 annotators, 3 frauds, 1 honest confusion) on a 400-item queue, over
#    SEEDS seeds, under Curate's standard policy and under Appen/Figure Eight's fixed rule (block below 70%
#    accuracy on test questions once 10 are answered, at the queue's fixed 10% gold rate): answers each fraud
#    gives before the block, honest annotators blocked, gold share.
# Starts its own PostgreSQL cluster (Debian's postgresql: scripts/install-system-deps) in benchmarks/store/.pg.
# Usage: benchmarks/vetting/run.sh [SEEDS=20] [ITEMS=1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=${1:-20}
ITEMS=${2:-1000000}
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product curate-bench >/dev/null
BENCH=.build/release/curate-bench
source benchmarks/store/pg.sh
SQLITE=$(mktemp -d)
trap 'pg_stop; rm -rf "$SQLITE"' EXIT

echo "watch refresh, $ITEMS items, 50 annotators:"
"$BENCH" watch --store "sqlite:$SQLITE" --items "$ITEMS" --annotators 50 --answers 200000 --refreshes 20
"$BENCH" watch --store "$PG_URL" --items "$ITEMS" --annotators 50 --answers 200000 --refreshes 20
echo
echo "detection delay over $SEEDS seeds:"
"$BENCH" vetting --policy standard --seeds "$SEEDS"
"$BENCH" vetting --policy appen --seeds "$SEEDS"
