# Sourced by the augment benchmarks: the peer's venv (albumentations 2.0.8 + OpenCV, under this folder), and the
# release build of curate (static runtime, as scripts/bootstrap builds it). CURATE_SKIP_BUILD=1 reuses the build.
# Sets PY and CURATE; expects HERE and ROOT.
export PATH="$PATH:/opt/swift/usr/bin"
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q albumentations==2.0.8 opencv-python-headless pillow
fi
PY="$HERE/.venv/bin/python"
[ -n "${CURATE_SKIP_BUILD:-}" ] || (cd "$ROOT" && swift build -c release --product curate --static-swift-stdlib >/dev/null)
CURATE="$(cd "$ROOT" && swift build -c release --show-bin-path)/curate"
