#!/usr/bin/env python3
"""Cross-check fixtures for CurateCore's label formats, made once with globox (a PyPI converter).

globox reads datasets/photos/labels.coco.json and writes it as YOLO (darknet) and Pascal VOC under
Tests/CurateCoreTests/Fixtures/globox/. The Swift tests convert the same COCO file with Curate and
compare box arithmetic: YOLO must agree to 1e-6; for VOC, globox writes continuous corners
(xmin = x) while Curate follows the VOC devkit's 1-based inclusive pixel corners (xmin = x + 1,
xmax = x + width), so the tests expect exactly that offset of 1 on xmin/ymin and none on xmax/ymax.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install globox && /tmp/v/bin/python scripts/make_label_fixtures.py
"""
import json
import os
import shutil

from globox import AnnotationSet

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "CurateCoreTests", "Fixtures", "globox")


def main():
    coco_path = os.path.join(ROOT, "datasets", "photos", "labels.coco.json")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    annotations = AnnotationSet.from_coco(coco_path)
    with open(coco_path) as f:
        categories = [c["name"] for c in sorted(json.load(f)["categories"], key=lambda c: c["id"])]
    label_to_id = {name: index for index, name in enumerate(categories)}
    for sub in ("yolo/images", "voc/images"):
        os.makedirs(os.path.join(OUT, sub))
    annotations.save_yolo_darknet(os.path.join(OUT, "yolo"), label_to_id=label_to_id)
    annotations.save_pascal_voc(os.path.join(OUT, "voc"))
    with open(os.path.join(OUT, "yolo", "classes.txt"), "w") as f:
        f.write("\n".join(categories) + "\n")
    rle_fixture()
    from importlib.metadata import version
    with open(os.path.join(OUT, "VERSION"), "w") as f:
        f.write(f"globox {version('globox')}\npycocotools {version('pycocotools')}\n")


def rle_fixture():
    """Masks encoded by pycocotools: compressed counts, area and bbox for the Swift RLE code to match."""
    import numpy as np
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(7)
    cases = []
    for height, width in [(5, 7), (16, 9), (31, 40), (64, 64)]:
        m = np.zeros((height, width), dtype=np.uint8, order="F")
        y0, x0 = rng.integers(0, height // 2), rng.integers(0, width // 2)
        m[y0:y0 + height // 2, x0:x0 + width // 3 + 1] = 1
        m[rng.random((height, width)) < 0.05] = 1
        rle = mask_utils.encode(np.asfortranarray(m))
        flat = m.flatten(order="F")
        runs, current, length = [], 0, 0
        for v in flat:
            if v == current:
                length += 1
            else:
                runs.append(length)
                current, length = v, 1
        runs.append(length)
        cases.append({
            "size": [height, width],
            "counts": rle["counts"].decode("ascii"),
            "runs": [int(r) for r in runs],
            "area": int(mask_utils.area(rle)),
            "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        })
    with open(os.path.join(OUT, "rle.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main()
