"""Seeded inputs for benchmarks/scale: N x K class probabilities (float32 .npy), their ids, and a CSV of given
labels (every item labeled; 10% of labels flipped), as `curate issues` and `curate select` read them.
usage: make_data.py OUT_DIR N K"""
import os
import sys

import numpy as np

out, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
truth = rng.integers(0, k, n)
logits = rng.normal(0, 1, (n, k)).astype(np.float32)
logits[np.arange(n), truth] += rng.uniform(0, 4, n).astype(np.float32)
probs = np.exp(logits - logits.max(1, keepdims=True))
probs /= probs.sum(1, keepdims=True)
np.save(os.path.join(out, "probs.npy"), probs.astype(np.float32))
given = truth.copy()
flip = rng.random(n) < 0.1
given[flip] = (truth[flip] + rng.integers(1, k, flip.sum())) % k
paths = np.char.add(np.char.add("img/", np.char.zfill(np.arange(n).astype(str), 8)), ".png")
with open(os.path.join(out, "ids.txt"), "w") as f:
    f.write("\n".join(paths.tolist()) + "\n")
with open(os.path.join(out, "labels.csv"), "w") as f:
    f.write("path,label\n")
    f.write("\n".join(f"{p},{g}" for p, g in zip(paths.tolist(), given.tolist())) + "\n")
with open(os.path.join(out, "classes.txt"), "w") as f:
    f.write("\n".join(str(c) for c in range(k)) + "\n")
