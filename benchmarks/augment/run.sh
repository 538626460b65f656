#!/usr/bin/env bash
# Augmentation throughput, one thread, 512x512 RGB: curate vs albumentations 2.0.8 + OpenCV, same images, one run.
# usage: [CURATE_CPU=baseline|avx2|avx512] benchmarks/augment/run.sh [REPEAT]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REPEAT="${1:-10}"
source "$HERE/setup.sh"
[ -n "${CURATE_SKIP_BUILD:-}" ] || (cd "$ROOT" && swift build -c release --product curate-bench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate-bench"   # in-process throughput, not in the product
CORPUS="$ROOT/.build/bench-imaging"
"$PY" "$ROOT/benchmarks/imaging/make_corpus.py" "$CORPUS"
PIPES="$ROOT/.build/bench-augment"
mkdir -p "$PIPES"
"$PY" - "$PIPES" <<'PYEOF'
import sys, os
sys.path.insert(0, os.path.join(os.environ.get("HERE", "."), ""))
PYEOF
(cd "$HERE" && "$PY" -c "
import sys
from cases import CASES, PIPELINE_YAML
for name, yaml, _ in CASES:
    open('$PIPES/' + name + '.yaml', 'w').write('transforms:\n  ' + yaml + '\n')
open('$PIPES/pipeline.yaml', 'w').write('transforms:\n  ' + PIPELINE_YAML + '\n')
")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$CURATE" --version) (CURATE_CPU=baseline|avx2|avx512 forces a path); $REPEAT passes over $(ls "$CORPUS"/png | wc -l) 512x512 RGB images"
peers=$(cd "$HERE" && "$PY" peers.py "$CORPUS/png" "$REPEAT" "$CORPUS/jpeg")
printf "%-22s %12s %16s %8s\n" case curate-img/s albumentations ratio
row() {  # name, then the curate-bench arguments
  local name="$1"; shift
  ours=$("$BENCH" augment --repeat "$REPEAT" "$@" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['images_per_second'])")
  theirs=$(echo "$peers" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$name'])")
  "$PY" -c "print(f'{\"$name\":<22} {$ours:12.0f} {$theirs:16.0f} {$ours/$theirs:7.2f}x')"
}
for yaml in "$PIPES"/*.yaml; do
  name=$(basename "$yaml" .yaml)
  [ "$name" = pipeline ] && continue
  row "$name" --pipeline "$yaml" "$CORPUS"/png/*.png
done
row "Pipeline+3boxes" --pipeline "$PIPES/pipeline.yaml" --boxes 3 "$CORPUS"/png/*.png
row "JPEGbytes+Pipeline" --pipeline "$PIPES/pipeline.yaml" --boxes 3 --from-bytes "$CORPUS"/jpeg/*.jpg
