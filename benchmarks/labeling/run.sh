#!/usr/bin/env bash
# Labeling latency through a pseudo-terminal: key press → answer stored → next item leased, decoded, drawn by the
# real `curate label` (chafa, 120x40 truecolor), with 0.3 s of "looking" between keys (prefetch works then) and
# with none (nothing prefetched in time: the worst case).
# With STORE=postgres the queues live in a throwaway PostgreSQL cluster (benchmarks/store/pg.sh) instead of the
# repository's SQLite file: every answer and lease is a round trip to the server.
# usage: benchmarks/labeling/run.sh            STORE=postgres benchmarks/labeling/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [ "${STORE:-sqlite}" = postgres ]; then
  source "$ROOT/benchmarks/store/pg.sh"
  # Two repositories share the server: one database each.
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres photos
  DIGITS_STORE=$PG_URL
  PHOTOS_STORE=${PG_URL/\/bench?/\/photos?}
fi
export PATH="$PATH:/opt/swift/usr/bin"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
WORK="$ROOT/.build/bench-labeling"
rm -rf "$WORK" && mkdir -p "$WORK/digits" "$WORK/photos"
# 200 digits, classes from the first ten.
(cd "$WORK/digits" && export CURATE_STORE=${DIGITS_STORE:-sqlite} && head -201 "$ROOT/datasets/digits/labels.csv" | tail -200 | cut -d, -f1 | while read -r p; do
   mkdir -p "$(dirname "$p")"; cp "$ROOT/datasets/digits/$p" "$p"; done
 head -11 "$ROOT/datasets/digits/labels.csv" > labels.csv
 "$CURATE" init >/dev/null && "$CURATE" add images --labels labels.csv --format csv >/dev/null && "$CURATE" commit -m d --author b >/dev/null
 "$CURATE" queue create bench --paths images >/dev/null
 "$CURATE" queue create cold --paths images >/dev/null)
# The 14 photos (up to 512 px), classes from their COCO labels; overlap 14 so 14 annotators give 196 items.
(cd "$WORK/photos" && export CURATE_STORE=${PHOTOS_STORE:-sqlite} && cp -r "$ROOT/datasets/photos/images" . && cp "$ROOT/datasets/photos/labels.coco.json" .
 "$CURATE" init >/dev/null && "$CURATE" add images --labels labels.coco.json --format coco >/dev/null && "$CURATE" commit -m p --author b >/dev/null
 "$CURATE" queue create bench --paths images --overlap 14 >/dev/null
 "$CURATE" queue create cold --paths images --overlap 14 >/dev/null)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for think in 0.3 0; do
  queue=$([ "$think" = 0 ] && echo cold || echo bench)
  echo "think time $think s:"
  echo "  digits (8x8 PNG): $(CURATE_STORE=${DIGITS_STORE:-sqlite} python3 "$HERE/pty_bench.py" "$CURATE" "$WORK/digits" $queue ana 200 --think $think)"
  for a in $(seq 1 14); do CURATE_STORE=${PHOTOS_STORE:-sqlite} python3 "$HERE/pty_bench.py" "$CURATE" "$WORK/photos" $queue "a$a" 14 --think $think; done > "$WORK/photos-$think.jsonl"
  python3 - "$WORK/photos-$think.jsonl" <<'PYEOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"  photos (up to 512 px JPEG/PNG): {sum(r['items'] for r in runs)} items in {len(runs)} sessions, median of medians {sorted(r['median_ms'] for r in runs)[len(runs)//2]:.1f} ms, worst p99 {max(r['p99_ms'] for r in runs):.1f} ms, peak {max(r['max_rss_mb'] for r in runs):.0f} MB")
PYEOF
done
