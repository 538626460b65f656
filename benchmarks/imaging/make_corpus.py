#!/usr/bin/env python3
"""Makes the imaging benchmark corpus: every bundled photo as a 512x512 RGB image, as JPEG
(quality 90, 4:2:0, baseline) and PNG (zlib level 6)."""
import os
import sys

from PIL import Image, ImageOps

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = sys.argv[1]
os.makedirs(os.path.join(out, "jpeg"), exist_ok=True)
os.makedirs(os.path.join(out, "png"), exist_ok=True)
photos = os.path.join(root, "datasets", "photos", "images")
for name in sorted(os.listdir(photos)):
    im = ImageOps.exif_transpose(Image.open(os.path.join(photos, name))).convert("RGB")
    im = im.resize((512, 512), Image.Resampling.LANCZOS)
    stem = os.path.splitext(name)[0]
    im.save(os.path.join(out, "jpeg", stem + ".jpg"), quality=90, subsampling=2)
    im.save(os.path.join(out, "png", stem + ".png"), compress_level=6)
