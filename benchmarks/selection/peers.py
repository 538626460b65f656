#!/usr/bin/env python3
"""NumPy and modAL on the same arrays: entropy top-k, k-center greedy. Prints JSON per task.
usage: peers.py DATA TASK BUDGET"""
import json
import sys
import time

import numpy as np

data, task, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    rows = fn()
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu, "rows": [int(r) for r in rows[:20]]}


if task == "entropy":
    p = np.load(f"{data}/probs.npy")

    def numpy_entropy():
        h = -(p * np.log(np.clip(p, 1e-30, None))).sum(1)
        top = np.argpartition(-h, budget - 1)[:budget]
        return top[np.argsort(-h[top], kind="stable")]

    from modAL.uncertainty import entropy_sampling

    class Fixed:
        def predict_proba(self, X):
            return p

    out = {"numpy": timed(numpy_entropy), "modAL": timed(lambda: entropy_sampling(Fixed(), np.zeros((len(p), 1)), n_instances=budget)[0])}
else:
    x = np.load(f"{data}/embeddings.npy")

    def splitmix64(seed):  # Curate's generator, so both start from the same seeded first center
        m = (1 << 64) - 1
        z = (seed + 0x9E3779B97F4A7C15) & m
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        return z ^ (z >> 31)

    def kcenter():
        first = splitmix64(1) % len(x)
        nearest = ((x - x[first]) ** 2).sum(1)
        picks = [first]
        for _ in range(budget - 1):
            best = int(np.argmax(nearest))
            picks.append(best)
            nearest = np.minimum(nearest, ((x - x[best]) ** 2).sum(1))
        return picks

    out = {"numpy": timed(kcenter)}
print(json.dumps(out))
