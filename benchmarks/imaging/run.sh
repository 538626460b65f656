#!/usr/bin/env bash
# Decode throughput, one thread, 512x512 RGB: curate vs Pillow and OpenCV on the same files in one run.
# usage: benchmarks/imaging/run.sh [REPEAT]     (default 30 passes over 14 JPEGs and 14 PNGs)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REPEAT="${1:-30}"
export PATH="$PATH:/opt/swift/usr/bin"

if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q pillow opencv-python-headless numpy
fi
PY="$HERE/.venv/bin/python"

(cd "$ROOT" && swift build -c release --product curate >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
(cd "$ROOT" && swift build -c release --product curate-bench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate-bench"   # in-process throughput, not in the product
CORPUS="$ROOT/.build/bench-imaging"
"$PY" "$HERE/make_corpus.py" "$CORPUS"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "corpus: $(ls "$CORPUS/jpeg" | wc -l) JPEG + $(ls "$CORPUS/png" | wc -l) PNG, 512x512 RGB, $REPEAT passes each"

curate_jpeg=$("$BENCH" decode --repeat "$REPEAT" "$CORPUS"/jpeg/*.jpg)
curate_png=$("$BENCH" decode --repeat "$REPEAT" "$CORPUS"/png/*.png)
curate_q=$("$BENCH" decode --repeat "$REPEAT" --scale 4 "$CORPUS"/jpeg/*.jpg)
peers=$("$PY" "$HERE/peers.py" "$CORPUS" "$REPEAT")

"$PY" - "$curate_jpeg" "$curate_png" "$curate_q" "$peers" <<'PYEOF'
import json, sys
cj, cp, cq, peers = (json.loads(a) for a in sys.argv[1:])
print(f"peers: Pillow {peers['pillow']}, OpenCV {peers['opencv']}")
rows = [
    ("JPEG decode, full size", cj["images_per_second"], [("OpenCV", peers["jpeg_full"]["opencv"]), ("Pillow", peers["jpeg_full"]["pillow"])]),
    ("PNG decode, full size", cp["images_per_second"], [("OpenCV", peers["png_full"]["opencv"]), ("Pillow", peers["png_full"]["pillow"])]),
    ("JPEG to 1/4 size", cq["images_per_second"], [("Pillow decode+resize", peers["jpeg_quarter"]["pillow_decode_resize"]),
                                                  ("Pillow draft", peers["jpeg_quarter"]["pillow_draft"]),
                                                  ("OpenCV REDUCED_4", peers["jpeg_quarter"]["opencv_reduced"])]),
]
print(f"{'task':<24}{'curate img/s':>14}  peer: img/s (curate ÷ peer)")
for task, ours, others in rows:
    print(f"{task:<24}{ours:>14.0f}  " + "; ".join(f"{name}: {v:.0f} ({ours / v:.2f}x)" for name, v in others))
PYEOF
