#!/usr/bin/env bash
# Versioning: curate vs git vs DVC on the same data in one run (CPU and wall seconds), plus curate status on 1,000,000 files.
# usage: benchmarks/versioning/run.sh [N ...]        (default: 20000 100000; set MILLION=1 for the 1,000,000-file status)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
if [ ! -x "$HERE/.venv/bin/dvc" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q dvc
fi
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(git --version); dvc $("$HERE/.venv/bin/dvc" --version)"
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then SIZES=(20000 100000); fi
for n in "${SIZES[@]}"; do
  "$HERE/.venv/bin/python" "$HERE/bench.py" "$CURATE" "$HERE/.venv/bin/dvc" "$n" | grep -v '^{'
done
if [ "${MILLION:-0}" = 1 ]; then
  "$HERE/.venv/bin/python" "$HERE/million.py" "$CURATE"
fi
