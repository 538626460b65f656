#!/usr/bin/env python3
"""albumentations on the same images, one thread, decoded once; prints images/s per case as JSON.

usage: peers.py DIR REPEAT
"""
import glob
import json
import os
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
import albumentations as A  # noqa: E402

from cases import CASES, pipeline  # noqa: E402

folder, repeat = sys.argv[1], int(sys.argv[2])
jpegs = sys.argv[3] if len(sys.argv) > 3 else None
images = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in sorted(glob.glob(os.path.join(folder, "*.png")))]
results = {"albumentations": A.__version__, "opencv": cv2.__version__}
for name, _, make in CASES:
    t = A.Compose([make()], seed=1)
    for im in images:
        t(image=im)
    start = time.perf_counter()
    for _ in range(repeat):
        for im in images:
            t(image=im)
    results[name] = len(images) * repeat / (time.perf_counter() - start)

# The pipeline with 3 boxes per image (pascal_voc, a quarter of the image each), as `curate bench augment --boxes 3`.
t = A.Compose(pipeline(), bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]), seed=1)
rng = np.random.default_rng(1)
boxes = []
for im in images:
    h, w = im.shape[:2]
    bs = []
    for _ in range(3):
        x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
        bs.append([x, y, x + w / 4, y + h / 4])
    boxes.append(bs)
start = time.perf_counter()
for _ in range(repeat):
    for im, bs in zip(images, boxes):
        t(image=im, bboxes=bs, labels=[0, 1, 2])
results["Pipeline+3boxes"] = len(images) * repeat / (time.perf_counter() - start)

# From JPEG bytes: decode (cv2.imdecode, to RGB) and the same pipeline with boxes.
if jpegs:
    encoded = [np.frombuffer(open(p, "rb").read(), np.uint8) for p in sorted(glob.glob(os.path.join(jpegs, "*.jpg")))]
    start = time.perf_counter()
    for _ in range(repeat):
        for data, bs in zip(encoded, boxes):
            im = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            t(image=im, bboxes=bs, labels=[0, 1, 2])
    results["JPEGbytes+Pipeline"] = len(encoded) * repeat / (time.perf_counter() - start)
print(json.dumps(results))
