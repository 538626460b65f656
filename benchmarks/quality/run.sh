#!/usr/bin/env bash
# Quality computations: curate vs cleanlab 2.9, crowd-kit 1.4 and krippendorff, same inputs, one run.
# usage: benchmarks/quality/run.sh [--skip-mace]   (crowd-kit's MACE takes minutes)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q cleanlab==2.9.0 crowd-kit==1.4.1 krippendorff scikit-learn
fi
PY="$HERE/.venv/bin/python"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
(cd "$ROOT" && swift build -c release --product curate-bench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate-bench"   # in-process throughput, not in the product
DATA="$ROOT/.build/bench-quality"
[ -f "$DATA/probs.npy" ] || "$PY" "$HERE/make_data.py" "$DATA"
CROWD="$ROOT/Tests/CurateQualityTests/Fixtures/crowd.npy"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf "%-12s %10s %10s %10s %10s %8s %s\n" task curate-s peer-s curate-MB peer-MB ratio agreement
tasks="issues dawid-skene alpha mace"
[ "${1:-}" = "--skip-mace" ] && tasks="issues dawid-skene alpha"
for task in $tasks; do
  ours=$("$BENCH" quality "$task" --probs "$DATA/probs.npy" --labels "$DATA/labels.npy" --crowd "$CROWD" --ratings "$DATA/ratings.npy")
  theirs=$(cd "$HERE" && "$PY" peers.py "$DATA" "$CROWD" "$task")
  "$PY" - "$ours" "$theirs" <<'PYEOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
task = a["task"]
if "labels" in a:
    same = sum(x == y for x, y in zip(a["labels"], b["labels"])) / len(a["labels"])
    agreement = f"labels agree on {same:.4f}"
elif "flagged" in a:
    agreement = f"flagged {a['flagged']} vs {b['flagged']}"
else:
    agreement = f"alpha {a['alpha']:.12f} vs {b['alpha']:.12f}"
print(f"{task:<12} {a['cpu_seconds']:10.3f} {b['cpu_seconds']:10.3f} {a['rss_growth_mb']:10.1f} {b['rss_growth_mb']:10.1f} {b['cpu_seconds'] / a['cpu_seconds']:7.1f}x {agreement}")
PYEOF
done
