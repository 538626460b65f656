#!/usr/bin/env bash
# End to end on both cores: a folder of 512-px JPEGs with COCO boxes → flip + brightness/contrast + resize 256 →
# JPEG files (quality 95) and COCO labels on disk. curate augment (2 workers) vs albumentations + OpenCV driven by
# a 2-process multiprocessing.Pool writing the same outputs. Best of RUNS, wall and CPU (user + sys, children),
# both measured from process start to exit.
# usage: benchmarks/augment/end_to_end.sh [COPIES] [RUNS]     (COPIES × 14 images; default 20 × 14 = 280)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COPIES="${1:-20}"
RUNS="${2:-3}"
source "$HERE/setup.sh"
WORK="$ROOT/.build/bench-augment-e2e"
rm -rf "$WORK" && mkdir -p "$WORK"
"$PY" "$HERE/make_e2e.py" "$WORK/in" "$COPIES"
printf 'transforms:\n  - Resize: {height: 256, width: 256, p: 1}\n  - HorizontalFlip: {p: 0.5}\n  - BrightnessContrast: {p: 1}\n' > "$WORK/resize-first.yaml"
printf 'transforms:\n  - HorizontalFlip: {p: 0.5}\n  - BrightnessContrast: {p: 1}\n  - Resize: {height: 256, width: 256, p: 1}\n' > "$WORK/resize-last.yaml"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$CURATE" --version); $(ls "$WORK/in/images" | wc -l) JPEGs, best of $RUNS"
measure() {  # prints {"wall":…, "cpu":…} of the command (its children's CPU)
  "$PY" - "$@" <<'PYEOF'
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": r.ru_utime + r.ru_stime}))
PYEOF
}
best() { "$PY" -c "import json,sys; rs=[json.loads(l) for l in sys.stdin if l.strip()]; print(json.dumps({'wall': min(r['wall'] for r in rs), 'cpu': min(r['cpu'] for r in rs)}))"; }
printf "%-14s %22s %22s %8s %8s\n" order "curate wall/CPU s" "albumentations wall/CPU" "wall ×" "CPU ÷"
for order in resize-first resize-last; do
  ours=$(for i in $(seq "$RUNS"); do rm -rf "$WORK/out-curate"; measure "$CURATE" augment --labels "$WORK/in/labels.coco.json" --format coco --images "$WORK/in" \
    --pipeline "$WORK/$order.yaml" --seed 1 --out "$WORK/out-curate" --out-format coco; done | best)
  # The peer measured the same way, from process start to exit (interpreter and imports included, as a run costs).
  theirs=$(for i in $(seq "$RUNS"); do rm -rf "$WORK/out-peer"; measure "$PY" "$HERE/e2e_peer.py" "$WORK/in" "$WORK/out-peer" "$order"; done | best)
  "$PY" -c "
import json; a=json.loads('$ours'); b=json.loads('$theirs')
print(f\"{'$order':<14} {a['wall']:10.2f} / {a['cpu']:9.2f} {b['wall']:10.2f} / {b['cpu']:9.2f} {b['wall']/a['wall']:7.2f}x {a['cpu']/b['cpu']:7.2f}\")"
  [ "$(ls "$WORK/out-curate/images" 2>/dev/null | wc -l)" -gt 0 ] || ls "$WORK/out-curate"
done
