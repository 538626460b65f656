#!/usr/bin/env python3
"""Benchmark inputs (seeded): 1,000,000 x 10 float32 probabilities; 100,000 x 128 float32 embeddings with
100,000 x 10 probabilities. usage: make_data.py OUT"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2)
logits = rng.normal(0, 2, (1_000_000, 10)).astype(np.float32)
p = np.exp(logits - logits.max(1, keepdims=True))
np.save(os.path.join(out, "probs.npy"), (p / p.sum(1, keepdims=True)).astype(np.float32))
np.save(os.path.join(out, "embeddings.npy"), rng.normal(0, 1, (100_000, 128)).astype(np.float32))
logits = rng.normal(0, 2, (100_000, 10)).astype(np.float32)
p = np.exp(logits - logits.max(1, keepdims=True))
np.save(os.path.join(out, "probs100k.npy"), (p / p.sum(1, keepdims=True)).astype(np.float32))
