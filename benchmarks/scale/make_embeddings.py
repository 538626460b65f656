"""Seeded embeddings for benchmarks/scale: N x 128 float32, members of 2,000 Gaussian clusters (unit centres'
scale 1, members' noise 0.7 per dimension) and 0.3% planted near duplicates (a member times 1 + 1% noise), as
NearestNeighboursTests builds them. usage: make_embeddings.py OUT.npy N"""
import sys

import numpy as np

out, n = sys.argv[1], int(sys.argv[2])
d, clusters = 128, 2000
rng = np.random.default_rng(5)
centres = rng.normal(0, 1, (clusters, d)).astype(np.float32)
x = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.7, (n, d)).astype(np.float32)
dups = n * 3 // 1000
src = rng.integers(0, n - dups, dups)
x[n - dups:] = x[src] * (1 + 0.01 * rng.normal(0, 1, (dups, d)).astype(np.float32))
np.save(out, x.astype(np.float32))
