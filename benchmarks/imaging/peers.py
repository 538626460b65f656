#!/usr/bin/env python3
"""Decodes the corpus with Pillow and OpenCV on one thread, from bytes in memory, and prints images/s as JSON.

usage: peers.py DIR REPEAT
"""
import glob
import io
import json
import os
import sys
import time

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)
folder, repeat = sys.argv[1], int(sys.argv[2])


def load(ext):
    return [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(folder, ext, "*")))]


def measure(fn, blobs):
    for b in blobs:  # warm-up, as the Swift side does
        fn(b)
    start = time.perf_counter()
    for _ in range(repeat):
        for b in blobs:
            fn(b)
    seconds = time.perf_counter() - start
    return len(blobs) * repeat / seconds


def pillow_full(b):
    im = Image.open(io.BytesIO(b))
    im.load()
    return im.convert("RGB") if im.mode != "RGB" else im


def pillow_quarter(b):
    im = pillow_full(b)
    return im.resize((im.width // 4, im.height // 4), Image.Resampling.BILINEAR)


def pillow_draft_quarter(b):
    # Pillow's own DCT scaling (draft mode), for reference.
    im = Image.open(io.BytesIO(b))
    im.draft("RGB", (im.width // 4, im.height // 4))
    im.load()
    return im


def opencv_full(b):
    return cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)


def opencv_quarter(b):
    return cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_REDUCED_COLOR_4)


jpeg, png = load("jpeg"), load("png")
print(json.dumps({
    "pillow": Image.__version__, "opencv": cv2.__version__,
    "jpeg_full": {"pillow": measure(pillow_full, jpeg), "opencv": measure(opencv_full, jpeg)},
    "png_full": {"pillow": measure(pillow_full, png), "opencv": measure(opencv_full, png)},
    "jpeg_quarter": {"pillow_decode_resize": measure(pillow_quarter, jpeg),
                     "pillow_draft": measure(pillow_draft_quarter, jpeg),
                     "opencv_reduced": measure(opencv_quarter, jpeg)},
}))
