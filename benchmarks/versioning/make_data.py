#!/usr/bin/env python3
"""Benchmark data for versioning: N files of SIZE random bytes in N/100 folders, and labels.csv (path,label).

usage: make_data.py DIR N [SIZE]     (SIZE default 8192; labels cycle through 10 classes)
       make_data.py --change DIR N   (1% modified, 1% added, 1% deleted, 200 labels changed)
"""
import os
import random
import sys


def files(n):
    folders = max(1, n // 100)
    return [f"data/d{i % folders:04d}/f{i:07d}.bin" for i in range(n)]


def make(root, n, size):
    rng = random.Random(1)
    rows = ["path,label"]
    for i, path in enumerate(files(n)):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(rng.randbytes(size))
        rows.append(f"{path},c{i % 10}")
    with open(os.path.join(root, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def change(root, n):
    rng = random.Random(2)
    paths = files(n)
    k = max(1, n // 100)
    picked = rng.sample(range(n), 2 * k)
    modified, deleted = picked[:k], picked[k:]
    size = os.path.getsize(os.path.join(root, paths[0]))
    for i in modified:
        with open(os.path.join(root, paths[i]), "wb") as f:
            f.write(rng.randbytes(size))
    for i in deleted:
        os.remove(os.path.join(root, paths[i]))
    for j in range(k):
        full = os.path.join(root, f"data/new/n{j:06d}.bin")
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(rng.randbytes(size))
    gone = {paths[i] for i in deleted}
    relabel = set(rng.sample([i for i in range(n) if paths[i] not in gone], 200))
    rows = ["path,label"]
    for i, path in enumerate(paths):
        if path in gone:
            continue
        label = f"c{(i + 1) % 10}" if i in relabel else f"c{i % 10}"
        rows.append(f"{path},{label}")
    with open(os.path.join(root, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--change":
        change(sys.argv[2], int(sys.argv[3]))
    else:
        make(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8192)
