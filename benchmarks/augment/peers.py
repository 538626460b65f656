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

from cases import CASES  # noqa: E402

folder, repeat = sys.argv[1], int(sys.argv[2])
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
print(json.dumps(results))
