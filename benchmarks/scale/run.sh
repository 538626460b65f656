#!/usr/bin/env bash
# Algorithms at a million items, Curate beside its peers on the same data in one run (see benchmarks/README.md):
#   1. near duplicates by perceptual hash: 1,000,000 hashes, radius 6 (multi-index hashing; all pairs on 50,000);
#   2. k-NN (k = 5) and near duplicates on embeddings, N × 128 float32, with recall@5 against exact search, beside
#      scikit-learn NearestNeighbors (brute force, cosine: cleanlab Datalab's default) and faiss (exact and IVF);
#   3. triage of the same embeddings (k estimated, redundancy, 5-NN outliers);
#   4. issues and select sharded 4 ways versus unsharded: total CPU of the shards and the merge.
# usage: benchmarks/scale/run.sh [N_EMBEDDINGS (1000000)] [N_PREDICTIONS (1000000)]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
N_EMB=${1:-1000000}
N_PRED=${2:-1000000}
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q numpy scikit-learn faiss-cpu
fi
PY="$HERE/.venv/bin/python"
if [ -z "${CURATE_SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && swift build -c release --product curate-bench >/dev/null && swift build -c release --product curate --static-swift-stdlib >/dev/null)
fi
BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"
DATA="$ROOT/.build/bench-scale"
mkdir -p "$DATA"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== near duplicates by perceptual hash"
"$BIN/curate-bench" scale near-duplicates --count 1000000 --radius 6

echo "== nearest neighbours on embeddings"
for n in 100000 "$N_EMB"; do
  [ -f "$DATA/emb-$n.npy" ] || "$PY" "$HERE/make_embeddings.py" "$DATA/emb-$n.npy" "$n"
  /usr/bin/time -f "curate peak RSS %M KB" "$BIN/curate-bench" scale neighbours --embeddings "$DATA/emb-$n.npy" --neighbours-out "$DATA/nb-$n.npy"
  "$PY" "$HERE/peers.py" "$DATA/emb-$n.npy" "$DATA/nb-$n.npy" recall
  "$PY" "$HERE/peers.py" "$DATA/emb-$n.npy" - faiss-ivf
  /usr/bin/time -f "curate triage peak RSS %M KB" "$BIN/curate-bench" scale triage --embeddings "$DATA/emb-$n.npy"
  if [ "$n" -le 100000 ]; then
    "$PY" "$HERE/peers.py" "$DATA/emb-$n.npy" - faiss-flat
    "$PY" "$HERE/peers.py" "$DATA/emb-$n.npy" - sklearn
  fi
done

echo "== issues and select, $N_PRED × 10, unsharded and in 4 shards (CPU seconds: user + system of every process)"
P="$DATA/pred-$N_PRED"
[ -f "$P/probs.npy" ] || python3 "$HERE/make_data.py" "$P" "$N_PRED" 10
# Label files name their images: every item needs a file (empty ones do).
if [ ! -f "$P/images/.done" ]; then
  python3 - "$P" <<'PYEOF'
import os, sys
root = sys.argv[1]
os.makedirs(os.path.join(root, "images", "img"), exist_ok=True)
for line in open(os.path.join(root, "ids.txt")):
    open(os.path.join(root, "images", line.strip()), "w").close()
open(os.path.join(root, "images", ".done"), "w").close()
PYEOF
fi
cpu() {  # prints the user+system seconds of the command (children included)
  /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'
}
for verb in issues select; do
  args=(--predictions "$P/probs.npy" --ids "$P/ids.txt" --labels "$P/labels.csv" --format csv --images "$P/images")
  [ "$verb" = select ] && args+=(--strategy margin --budget 1000)
  whole=$(cpu "$BIN/curate" "$verb" "${args[@]}")
  rm -rf "$P/parts-$verb"
  total=0
  for i in 0 1 2 3; do
    t=$(cpu "$BIN/curate" "$verb" "${args[@]}" --parts "$P/parts-$verb" --shard "$i/4")
    total=$(echo "$total + $t" | bc)
  done
  merge=$(cpu "$BIN/curate" merge "$P/parts-$verb")
  echo "$verb: unsharded $whole s CPU; 4 shards $total s + merge $merge s = $(echo "$total + $merge" | bc) s ($(echo "scale=2; ($total + $merge) / $whole" | bc)x)"
done
