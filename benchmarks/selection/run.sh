#!/usr/bin/env bash
# Selection: curate vs NumPy and modAL on the same arrays, one run. usage: benchmarks/selection/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q numpy modAL-python scikit-learn
fi
PY="$HERE/.venv/bin/python"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
(cd "$ROOT" && swift build -c release --product curate-bench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate-bench"   # in-process throughput, not in the product
DATA="$ROOT/.build/bench-selection"
[ -f "$DATA/probs.npy" ] || "$PY" "$HERE/make_data.py" "$DATA"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ent=$("$BENCH" selection entropy --probs "$DATA/probs.npy" --budget 10000)
entp=$(cd "$HERE" && "$PY" peers.py "$DATA" entropy 10000)
kc=$("$BENCH" selection k-center --embeddings "$DATA/embeddings.npy" --budget 1000)
kcp=$(cd "$HERE" && "$PY" peers.py "$DATA" k-center 1000)
bd=$("$BENCH" selection badge --probs "$DATA/probs100k.npy" --embeddings "$DATA/embeddings.npy" --budget 1000)
"$PY" - "$ent" "$entp" "$kc" "$kcp" "$bd" <<'PYEOF'
import json, sys
ent, entp, kc, kcp, bd = map(json.loads, sys.argv[1:])
print(f"entropy top-10,000 of 1M x 10: curate {ent['cpu_seconds']:.3f} CPU-s ({ent['seconds']:.3f} s), numpy {entp['numpy']['cpu_seconds']:.3f}, modAL {entp['modAL']['cpu_seconds']:.3f}; first 20 picks equal to numpy: {ent['rows'] == entp['numpy']['rows']}")
print(f"k-center 1,000 of 100k x 128: curate {kc['seconds']:.2f} s wall ({kc['cpu_seconds']:.2f} CPU-s), numpy {kcp['numpy']['seconds']:.2f} s ({kcp['numpy']['cpu_seconds']:.2f} CPU-s): {kcp['numpy']['seconds'] / kc['seconds']:.1f}x wall; first 20 picks equal: {kc['rows'] == kcp['numpy']['rows']}")
print(f"BADGE 1,000 of 100k x 128: curate {bd['seconds']:.2f} s wall ({bd['cpu_seconds']:.2f} CPU-s)")
PYEOF
