#!/usr/bin/env python3
"""Writes datasets/digits/crowd.jsonl and gold.csv: simulated annotators labeling the first 400 digits.

The answers are simulated (seed 5) from the true labels in labels.csv, to exercise `curate validate` and
`curate annotators`: each item gets 3 of 8 annotators. ana, ben, cleo and dev are careful (accuracy 0.90-0.97,
about 4 s per item); eli is careful but reads 3 as 8 six times in ten; fay clicks at random; gus always answers 1;
hal answers at random in 0.4 s. gold.csv lists 40 of the items with their true label (honeypots).

Run: python3 datasets/digits/make_crowd.py   (standard library only)
"""
import csv
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(5)
with open(os.path.join(HERE, "labels.csv")) as f:
    rows = list(csv.DictReader(f))[:400]
annotators = {"ana": 0.97, "ben": 0.93, "cleo": 0.90, "dev": 0.95, "eli": 0.95, "fay": None, "gus": None, "hal": None}


def answer(name, truth):
    if name == "fay" or name == "hal":
        return rng.randrange(10)
    if name == "gus":
        return 1
    if name == "eli" and truth == 3 and rng.random() < 0.6:
        return 8
    if rng.random() < annotators[name]:
        return truth
    return rng.choice([k for k in range(10) if k != truth])


lines = [json.dumps({"schema": {"classes": [{"id": k, "name": str(k)} for k in range(10)]}})]
for row in rows:
    truth = int(row["label"])
    labels = []
    for name in rng.sample(sorted(annotators), 3):
        seconds = 0.4 if name == "hal" else round(rng.lognormvariate(1.4, 0.3), 2)
        labels.append({"class": str(answer(name, truth)), "source": f"annotator:{name}", "seconds": seconds})
    lines.append(json.dumps({"path": row["path"], "width": 8, "height": 8, "labels": labels}))
with open(os.path.join(HERE, "crowd.jsonl"), "w") as f:
    f.write("\n".join(lines) + "\n")
gold = rng.sample(rows, 40)
with open(os.path.join(HERE, "gold.csv"), "w") as f:
    f.write("path,label\n" + "".join(f"{r['path']},{r['label']}\n" for r in sorted(gold, key=lambda r: r["path"])))
print(f"{len(rows)} items, {3 * len(rows)} answers, {len(gold)} gold items")
