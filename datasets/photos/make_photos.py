#!/usr/bin/env python3
"""Writes datasets/photos from the photographs that ship inside scikit-image's `skimage.data`.

Colour photographs become JPEG (quality 90), greyscale ones stay PNG. One extra file,
`images/chelsea-exif6.jpg`, stores the cat photo turned 90 degrees counter-clockwise with EXIF
orientation 6, so a viewer (and Curate) shows it upright: its boxes are in upright coordinates.

Boxes were drawn by hand on a coordinate grid and checked by eye on `preview/` overlays
(`--preview` writes them); the coin boxes come from scikit-image's classic coins watershed
segmentation and were checked the same way. Boxes are COCO [x, y, width, height] in pixels.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install scikit-image pillow scipy && /tmp/v/bin/python datasets/photos/make_photos.py
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage import data, filters, measure, segmentation

HERE = os.path.dirname(os.path.abspath(__file__))

CLASSES = ["person", "cat", "cup", "spoon", "camera", "tripod", "rocket", "helmet", "coin",
           "motorcycle", "bicycle", "clock"]

# name -> (loader, output file, [(class, x0, y0, x1, y1)]) with corners as pixel edges.
PHOTOS = [
    ("astronaut", data.astronaut, "astronaut.jpg",
     [("person", 22, 14, 366, 512), ("helmet", 276, 342, 500, 512), ("rocket", 352, 0, 476, 280)]),
    ("camera", data.camera, "camera.png",
     [("person", 0, 62, 334, 512), ("camera", 256, 138, 326, 192), ("tripod", 226, 188, 410, 512)]),
    ("chelsea", data.chelsea, "chelsea.jpg", [("cat", 0, 0, 416, 300)]),
    ("coffee", data.coffee, "coffee.jpg", [("cup", 172, 18, 412, 296), ("spoon", 318, 64, 426, 326)]),
    ("rocket", data.rocket, "rocket.jpg", [("rocket", 298, 124, 342, 406)]),
    ("motorcycle", lambda: data.stereo_motorcycle()[0], "motorcycle.jpg",
     [("motorcycle", 92, 94, 686, 452), ("bicycle", 0, 140, 46, 232)]),
    ("clock", data.clock, "clock.png", [("clock", 140, 92, 290, 216)]),
    ("coins", data.coins, "coins.png", None),  # boxes from segmentation below
    ("hubble", data.hubble_deep_field, "hubble_deep_field.jpg", []),
    ("moon", data.moon, "moon.png", []),
    ("brick", data.brick, "brick.png", []),
    ("grass", data.grass, "grass.png", []),
    ("gravel", data.gravel, "gravel.png", []),
]


def coin_boxes():
    coins = data.coins()
    elevation = filters.sobel(coins)
    markers = np.zeros_like(coins)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    filled = ndi.binary_fill_holes(segmentation.watershed(elevation, markers) - 1)
    labels, _ = ndi.label(filled)
    boxes = []
    for region in measure.regionprops(labels):
        if region.area < 200:
            continue
        y0, x0, y1, x1 = region.bbox
        boxes.append(("coin", x0, y0, x1, y1))
    return sorted(boxes, key=lambda b: (b[2] // 60, b[1]))


def main(preview=False):
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    images, annotations = [], []
    category = {name: i + 1 for i, name in enumerate(CLASSES)}

    def add(file_name, width, height, boxes):
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": f"images/{file_name}", "width": width, "height": height})
        for cls, x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (file_name, cls)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category[cls],
                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0,
            })

    for name, loader, file_name, boxes in PHOTOS:
        array = loader()
        im = Image.fromarray(array)
        if im.mode == "RGBA":
            im = im.convert("RGB")
        path = os.path.join(HERE, "images", file_name)
        if file_name.endswith(".jpg"):
            im.save(path, quality=90)
        else:
            im.save(path, optimize=True)
        add(file_name, im.width, im.height, coin_boxes() if boxes is None else boxes)

    # The cat again, stored sideways with EXIF orientation 6 (the viewer turns it 90 degrees clockwise).
    cat = Image.fromarray(data.chelsea())
    exif = Image.Exif()
    exif[0x0112] = 6
    cat.transpose(Image.Transpose.ROTATE_90).save(
        os.path.join(HERE, "images", "chelsea-exif6.jpg"), quality=90, exif=exif.tobytes())
    add("chelsea-exif6.jpg", cat.width, cat.height, [("cat", 0, 0, 416, 300)])

    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": category[c], "name": c, "supercategory": "object"} for c in CLASSES],
    }
    with open(os.path.join(HERE, "labels.coco.json"), "w") as f:
        json.dump(coco, f, indent=1)
        f.write("\n")

    if preview:
        from PIL import ImageOps
        os.makedirs(os.path.join(HERE, "preview"), exist_ok=True)
        for image in images:
            im = ImageOps.exif_transpose(Image.open(os.path.join(HERE, image["file_name"]))).convert("RGB")
            draw = ImageDraw.Draw(im)
            for a in annotations:
                if a["image_id"] == image["id"]:
                    x, y, w, h = a["bbox"]
                    draw.rectangle([x, y, x + w - 1, y + h - 1], outline=(255, 0, 0), width=2)
                    draw.text((x + 3, y + 3), CLASSES[a["category_id"] - 1], fill=(255, 255, 0))
            im.save(os.path.join(HERE, "preview", os.path.basename(image["file_name"]) + ".png"))


if __name__ == "__main__":
    main(preview="--preview" in sys.argv)
