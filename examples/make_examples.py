#!/usr/bin/env python3
"""Writes the example inputs the README's commands use (model outputs that no command of Curate makes):

  examples/digits/ids.txt          the bundled digits' paths, one per line (the rows of the .npy files)
  examples/digits/probs.npy        float32 1797 x 10: 5-fold out-of-fold logistic-regression probabilities on the
                                   pixels, trained on noisy-labels.csv (so issues has real label errors to find)
  examples/digits/emb.npy          float32 1797 x 16: the pixels' first 16 principal components (an embedding)
  examples/digits/noisy-labels.csv the digits with 10% of labels flipped (seed 7), as Tests/CurateQualityTests
                                   uses them

Run once (CI does not need it): python3 -m venv examples/.venv && examples/.venv/bin/pip install numpy \
scikit-learn pillow && examples/.venv/bin/python examples/make_examples.py
"""
import csv
import os

import numpy as np
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "digits")
rows = list(csv.reader(open(os.path.join(ROOT, "datasets", "digits", "labels.csv"))))[1:]
paths = [r[0] for r in rows]
truth = np.array([int(r[1]) for r in rows])
pixels = np.stack([np.asarray(Image.open(os.path.join(ROOT, "datasets", "digits", p)), dtype=np.float64).ravel() / 255 for p in paths])
rng = np.random.default_rng(7)
noisy = truth.copy()
for i in rng.choice(len(paths), size=len(paths) // 10, replace=False):
    noisy[i] = (truth[i] + 1 + rng.integers(9)) % 10
model = LogisticRegression(max_iter=2000)
probs = cross_val_predict(model, pixels, noisy, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
os.makedirs(OUT, exist_ok=True)
np.save(os.path.join(OUT, "probs.npy"), probs.astype(np.float32))
np.save(os.path.join(OUT, "emb.npy"), PCA(16, random_state=0).fit_transform(pixels).astype(np.float32))
with open(os.path.join(OUT, "ids.txt"), "w") as f:
    f.write("\n".join(paths) + "\n")
with open(os.path.join(OUT, "noisy-labels.csv"), "w") as f:
    f.write("path,label\n" + "".join(f"{p},{k}\n" for p, k in zip(paths, noisy)))
print(f"wrote {OUT}: {len(paths)} rows, {int((noisy != truth).sum())} flipped labels")
