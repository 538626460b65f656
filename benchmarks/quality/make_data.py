#!/usr/bin/env python3
"""Benchmark inputs (seeded): 1,000,000 x 10 float32 probabilities with noisy labels; the 20,000-task crowd of
scripts/make_quality_fixtures.py; 100,000 items x 5 raters with 10% missing.

usage: make_data.py OUT
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
n, k = 1_000_000, 10
truth = rng.integers(0, k, n)
logits = rng.normal(0, 1, (n, k)).astype(np.float32)
logits[np.arange(n), truth] += 3
probs = np.exp(logits)
probs /= probs.sum(axis=1, keepdims=True)
labels = truth.copy()
flip = rng.random(n) < 0.1
labels[flip] = rng.integers(0, k, flip.sum())
np.save(os.path.join(out, "probs.npy"), probs.astype(np.float32))
np.save(os.path.join(out, "labels.npy"), labels.astype(np.int64))

items, raters = 100_000, 5
true = rng.integers(0, 4, items)
ratings = np.where(rng.random((raters, items)) < 0.7, true, rng.integers(0, 4, (raters, items))).astype(float)
ratings[rng.random((raters, items)) < 0.1] = np.nan
np.save(os.path.join(out, "ratings.npy"), ratings)
