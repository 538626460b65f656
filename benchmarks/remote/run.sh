#!/usr/bin/env bash
# Remotes: curate push/clone vs dvc push/pull vs aws s3 sync, on one S3-compatible server (moto, signatures enforced),
# same data, one run; wall seconds and HTTP requests (counted from the server's log).
# usage: benchmarks/remote/run.sh [N ...]        (default: 20000 100000)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"
# The peers in this folder's virtual environment; the server is the tests' moto (Tests/.venv, from install-system-deps).
if [ ! -x "$HERE/.venv/bin/dvc" ] || [ ! -x "$HERE/.venv/bin/aws" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q "dvc[s3]" awscli
fi
[ -x "$ROOT/Tests/.venv/bin/moto_server" ] || "$ROOT/scripts/install-system-deps"
(cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); dvc $("$HERE/.venv/bin/dvc" --version); $("$HERE/.venv/bin/aws" --version 2>&1 | cut -d' ' -f1)"
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then SIZES=(20000 100000); fi
for n in "${SIZES[@]}"; do
  "$HERE/.venv/bin/python" "$HERE/bench.py" "$CURATE" "$n"
done
