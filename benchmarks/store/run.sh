#!/usr/bin/env bash
# The labeling store under a team's load: 32 annotators on their own connections working one queue (lease → answer
# → next lease), on PostgreSQL over loopback and on the embedded SQLite file; and making a 1,000,000-item queue.
# Starts its own PostgreSQL cluster (Debian's postgresql package: scripts/install-system-deps) with the server's
# default durability (fsync, synchronous_commit on), in benchmarks/store/.pg, stopped at the end.
# Usage: benchmarks/store/run.sh [SECONDS=20] [CLIENTS=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-20}
CLIENTS=${2:-32}
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product curate-bench >/dev/null
BENCH=.build/release/curate-bench

HERE=benchmarks/store
source "$HERE/pg.sh"
URL=$PG_URL
SQLITE=$(mktemp -d)
trap 'pg_stop; rm -rf "$SQLITE"' EXIT

row() { python3 "$HERE/row.py" "$@"; }
echo "| store, pacing | clients | answers | answers/min | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
# PostgreSQL: 32 annotators paced to 6,000 answers/minute in all, then as fast as they can.
"$BENCH" store --store "$URL" --clients "$CLIENTS" --rate 100 --seconds "$SECONDS_PER_RUN" | row "PostgreSQL, paced to 6000/min"
"$BENCH" store --store "$URL" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" | row "PostgreSQL, unpaced"
# SQLite has one writer at a time, each answer fsynced twice (about 80 round trips/s here): 32 sessions paced to
# 2,000/minute, then one session as fast as it can (several unpaced writers can starve one another past the 10 s
# busy timeout: SQLite's lock is not fair).
"$BENCH" store --store "sqlite:$SQLITE" --clients "$CLIENTS" --rate 33.3 --seconds "$SECONDS_PER_RUN" | row "SQLite, paced to 2000/min"
"$BENCH" store --store "sqlite:$SQLITE" --clients 1 --seconds "$SECONDS_PER_RUN" | row "SQLite, unpaced"
echo
echo "making a 1,000,000-item queue:"
"$BENCH" store --store "$URL" --items 1000000 --clients 1 --seconds 0 | row PostgreSQL create
"$BENCH" store --store "sqlite:$SQLITE" --items 1000000 --clients 1 --seconds 0 | row SQLite create
