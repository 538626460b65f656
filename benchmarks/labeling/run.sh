#!/usr/bin/env bash
# Labeling latency: key press → answer stored → next item leased, decoded, drawn (chafa, 120x40 truecolor).
# usage: benchmarks/labeling/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
WORK="$ROOT/.build/bench-labeling"
rm -rf "$WORK" && mkdir -p "$WORK/digits" "$WORK/photos"
# 200 digits, classes from the first ten.
(cd "$WORK/digits" && head -201 "$ROOT/datasets/digits/labels.csv" | tail -200 | cut -d, -f1 | while read -r p; do
   mkdir -p "$(dirname "$p")"; cp "$ROOT/datasets/digits/$p" "$p"; done
 head -11 "$ROOT/datasets/digits/labels.csv" > labels.csv
 "$CURATE" init >/dev/null && "$CURATE" add images --labels labels.csv --format csv >/dev/null && "$CURATE" commit -m d --author b >/dev/null
 "$CURATE" queue create bench --paths images >/dev/null)
# The 14 photos (up to 512 px), classes from their COCO labels; overlap 14 so 14 annotators give 196 items.
(cd "$WORK/photos" && cp -r "$ROOT/datasets/photos/images" . && cp "$ROOT/datasets/photos/labels.coco.json" .
 "$CURATE" init >/dev/null && "$CURATE" add images --labels labels.coco.json --format coco >/dev/null && "$CURATE" commit -m p --author b >/dev/null
 "$CURATE" queue create bench --paths images --overlap 14 >/dev/null)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "digits (8x8 PNG): $(cd "$WORK/digits" && "$CURATE" bench label --queue bench --items 200)"
for a in $(seq 1 14); do (cd "$WORK/photos" && "$CURATE" bench label --queue bench --annotator "a$a" --items 14) ; done > "$WORK/photos.jsonl"
python3 - "$WORK/photos.jsonl" <<'PYEOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"photos (up to 512 px JPEG/PNG): {sum(r['items'] for r in runs)} items in {len(runs)} sessions, median of medians {sorted(r['median_ms'] for r in runs)[len(runs)//2]:.1f} ms, worst p99 {max(r['p99_ms'] for r in runs):.1f} ms, peak {max(r['max_rss_mb'] for r in runs):.0f} MB")
PYEOF
