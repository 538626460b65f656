#!/usr/bin/env bash
# Makes the peer fixtures of the Label Studio and CVAT formats, once, with the tools' own converters (CI does not
# need them): label-studio-converter 0.0.59 (Label Studio's) and datumaro 1.x (which CVAT uses for its formats).
#   ls-import-photos.json              label-studio-converter import coco: the photo labels as Label Studio tasks
#   ls-import-photos-predictions.json  the same as predictions
#   cvat-photos.xml                    datum convert coco_instances -> cvat: the photo labels as CVAT for images 1.1
#   ls-export-of-curate.coco.json      what Curate writes as Label Studio JSON, read back by label-studio-converter
#                                      export -f COCO (so Label Studio's own converter reads Curate's output)
# Usage: Tests/CurateCoreTests/Fixtures/peers/make_peer_fixtures.sh   (from the repository root, curate built)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
curate="${CURATE:-$root/.build/debug/curate}"
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q 'label-studio-converter==0.0.59' 'datumaro[cli]'
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
photos="$root/datasets/photos"

cd "$work"
"$venv/bin/label-studio-converter" import coco -i "$photos/labels.coco.json" -o ls.json --image-root-url "/data/local-files/?d=" > /dev/null
"$venv/bin/label-studio-converter" import coco -i "$photos/labels.coco.json" -o lsp.json --image-root-url "/data/local-files/?d=" --out-type predictions > /dev/null
# The converter's random result ids change every run: replace them with their order, so the fixtures are stable.
for pair in "ls.json ls-import-photos.json" "lsp.json ls-import-photos-predictions.json"; do
  set -- $pair
  python3 - "$1" "$here/$2" <<'PY'
import json, sys
tasks = json.load(open(sys.argv[1]))
n = 0
for t in tasks:
    for key in ("annotations", "predictions"):
        for a in t.get(key, []):
            for r in a.get("result", []):
                n += 1
                r["id"] = f"r{n}"
json.dump(tasks, open(sys.argv[2], "w"), indent=1)
PY
done

mkdir -p dm/annotations && cp "$photos/labels.coco.json" dm/annotations/instances_default.json && cp -r "$photos/images" dm/images
"$venv/bin/datum" convert -if coco_instances -i dm -f cvat -o cvat > /dev/null 2>&1
cp cvat/default.xml "$here/cvat-photos.xml"

"$curate" labels convert "$photos/labels.coco.json" --from coco --to labelstudio --images "$photos" --out curate-ls.json > /dev/null
python3 - "$photos/labels.coco.json" <<'PY'
import json, sys
names = [c["name"] for c in json.load(open(sys.argv[1]))["categories"]]
open("config.xml", "w").write('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                              + "".join(f'<Label value="{n}"/>' for n in names) + "</RectangleLabels></View>")
PY
mkdir -p export && cp -r "$photos/images" export/images
"$venv/bin/label-studio-converter" export -i curate-ls.json -c config.xml -o export -f COCO > /dev/null
python3 -c "import json,sys; d=json.load(open('export/result.json')); d.pop('info', None); json.dump(d, open(sys.argv[1], 'w'), indent=1)" "$here/ls-export-of-curate.coco.json"
echo "fixtures written to $here"
