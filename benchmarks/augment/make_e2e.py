#!/usr/bin/env python3
"""The end-to-end corpus: COPIES × the 14 bundled photos as 512x512 JPEGs (quality 90, 4:2:0; each copy mirrored
and shifted in colour so no two files are alike) with 3 seeded COCO boxes per image.

usage: make_e2e.py OUT_DIR COPIES
"""
import json
import os
import random
import sys

from PIL import Image, ImageOps

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out, copies = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(out, "images"), exist_ok=True)
photos = os.path.join(root, "datasets", "photos", "images")
rng = random.Random(1)
images, annotations = [], []
for copy in range(copies):
    for name in sorted(os.listdir(photos)):
        im = ImageOps.exif_transpose(Image.open(os.path.join(photos, name))).convert("RGB").resize((512, 512), Image.Resampling.LANCZOS)
        if copy % 2:
            im = ImageOps.mirror(im)
        im = im.point(lambda v, s=copy: min(255, v + s % 7))
        file = f"{os.path.splitext(name)[0]}-{copy:03d}.jpg"
        im.save(os.path.join(out, "images", file), quality=90, subsampling=2)
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": "images/" + file, "width": 512, "height": 512})
        for k in range(3):
            x, y = rng.randrange(0, 384), rng.randrange(0, 384)
            w, h = rng.randrange(16, 512 - x), rng.randrange(16, 512 - y)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": k + 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
coco = {"images": images, "annotations": annotations,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]}
json.dump(coco, open(os.path.join(out, "labels.coco.json"), "w"))
