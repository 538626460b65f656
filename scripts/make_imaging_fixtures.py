#!/usr/bin/env python3
"""Makes the CurateImaging test fixtures once; the Swift tests compare against them.

- pngsuite-rgba.tsv: for every PngSuite file, width, height and the SHA-256 of its pixels
  as 8-bit RGBA, decoded by pypng (a pure-Python reference decoder, independent of libpng).
  Samples of depth d are scaled to 8 bits as round(v * 255 / (2^d - 1)); tRNS becomes alpha.
- exif/orientation-N.jpg: one upright 64x48 test card stored eight ways, each with the EXIF
  orientation tag that turns it back upright (made with Pillow); exif/upright.png is the card.
- jpeg/: baseline, progressive, greyscale and CMYK JPEGs of the same card, and
  jpeg-reference.tsv with Pillow's RGB decode digests for comparison.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install pypng pillow && /tmp/v/bin/python scripts/make_imaging_fixtures.py
"""
import hashlib
import io
import os
import sys

import png  # pypng
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CurateImagingTests", "Fixtures")


def pngsuite():
    folder = os.path.join(ROOT, "pngsuite")
    lines = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".png"):
            continue
        width, height, rows, info = png.Reader(filename=os.path.join(folder, name)).asRGBA()
        maxval = (1 << info["bitdepth"]) - 1
        out = bytearray()
        for row in rows:
            out.extend((v * 255 + maxval // 2) // maxval for v in row)
        assert len(out) == width * height * 4
        lines.append(f"{name}\t{width}\t{height}\t{hashlib.sha256(out).hexdigest()}")
    with open(os.path.join(ROOT, "pngsuite-rgba.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def test_card():
    """A 64x48 card with four differently coloured quadrants and a marker: any wrong turn shows."""
    im = Image.new("RGB", (64, 48))
    px = im.load()
    for y in range(48):
        for x in range(64):
            quadrant = (x >= 32) + 2 * (y >= 24)
            px[x, y] = [(220, 40, 40), (40, 200, 40), (40, 40, 220), (230, 230, 40)][quadrant]
    for y in range(4, 12):
        for x in range(4, 20):
            px[x, y] = (255, 255, 255)
    return im


# Pillow transposes that undo each orientation (exif_transpose applies the inverse of these).
STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,   # stored turned 90 CCW; viewer turns it 90 CW
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_fixtures():
    folder = os.path.join(ROOT, "exif")
    os.makedirs(folder, exist_ok=True)
    card = test_card()
    card.save(os.path.join(folder, "upright.png"))
    for orientation, op in STORE.items():
        stored = card if op is None else card.transpose(op)
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = os.path.join(folder, f"orientation-{orientation}.jpg")
        stored.save(path, quality=95, subsampling=0, exif=exif.tobytes())
        # Check that Pillow's viewer logic turns it back upright.
        from PIL import ImageOps
        upright = ImageOps.exif_transpose(Image.open(path))
        assert upright.size == card.size, (orientation, upright.size)


def jpeg_fixtures():
    folder = os.path.join(ROOT, "jpeg")
    os.makedirs(folder, exist_ok=True)
    card = test_card().resize((256, 192), Image.Resampling.BICUBIC)
    card.save(os.path.join(folder, "baseline.jpg"), quality=90)
    card.save(os.path.join(folder, "progressive.jpg"), quality=90, progressive=True)
    card.convert("L").save(os.path.join(folder, "grey.jpg"), quality=90)
    card.convert("CMYK").save(os.path.join(folder, "cmyk.jpg"), quality=95)
    lines = []
    for name in ["baseline.jpg", "progressive.jpg", "grey.jpg", "cmyk.jpg"]:
        im = Image.open(os.path.join(folder, name))
        mode = im.mode
        rgb = im.convert("RGB")
        lines.append(f"{name}\t{mode}\t{rgb.width}\t{rgb.height}\t{hashlib.sha256(rgb.tobytes()).hexdigest()}")
        rgb.save(os.path.join(folder, name.replace(".jpg", ".pillow.png")))
    with open(os.path.join(ROOT, "jpeg-reference.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    pngsuite()
    exif_fixtures()
    jpeg_fixtures()
    print("fixtures written to", os.path.normpath(ROOT), file=sys.stderr)
