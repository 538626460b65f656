#!/usr/bin/env python3
"""Writes datasets/digits from scikit-learn's copy of the UCI optical handwritten digits.

Each of the 1,797 8x8 images becomes a greyscale PNG (0..16 scaled to 0..255, rounded) at
images/<label>/<index>.png, and labels.csv lists `path,label`. The split files list a fixed,
seeded 80/20 split for selection experiments.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install scikit-learn pillow && /tmp/v/bin/python datasets/digits/make_digits.py
"""
import os
import random

from PIL import Image
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    digits = load_digits()
    rows = ["path,label"]
    paths = []
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target)):
        values = bytes(int((v * 255 + 8) // 16) for v in pixels.flatten())
        relative = f"images/{label}/{index:04d}.png"
        os.makedirs(os.path.join(HERE, os.path.dirname(relative)), exist_ok=True)
        Image.frombytes("L", (8, 8), values).save(os.path.join(HERE, relative), optimize=True)
        rows.append(f"{relative},{label}")
        paths.append(relative)
    with open(os.path.join(HERE, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    rng = random.Random(20261126)
    order = paths[:]
    rng.shuffle(order)
    cut = int(len(order) * 0.8)
    with open(os.path.join(HERE, "train.txt"), "w") as f:
        f.write("\n".join(sorted(order[:cut])) + "\n")
    with open(os.path.join(HERE, "test.txt"), "w") as f:
        f.write("\n".join(sorted(order[cut:])) + "\n")


if __name__ == "__main__":
    main()
