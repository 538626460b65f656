#!/usr/bin/env python3
"""The peers on the same inputs: cleanlab find_label_issues, crowd-kit DawidSkene and MACE, krippendorff.alpha.
Prints one JSON object per task: seconds (wall), cpu_seconds, and the peak-RSS growth in MiB.

usage: peers.py DATA CROWD.npy TASK
"""
import json
import resource
import sys
import time

import numpy as np

data, crowd_path, task = sys.argv[1], sys.argv[2], sys.argv[3]


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(fn):
    before = rss()
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return {"task": task, "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
            "rss_growth_mb": rss() - before, "max_rss_mb": rss(), **result}


if task == "issues":
    from cleanlab.filter import find_label_issues
    probs, labels = np.load(f"{data}/probs.npy"), np.load(f"{data}/labels.npy")
    out = run(lambda: {"flagged": int(find_label_issues(labels, probs, n_jobs=1).sum())})
elif task in ("dawid-skene", "mace"):
    import pandas as pd
    from crowdkit.aggregation import MACE, DawidSkene
    crowd = np.load(crowd_path)
    frame = pd.DataFrame({"task": np.repeat(np.arange(crowd.shape[0]), crowd.shape[1]), "worker": crowd[:, :, 0].ravel().astype(int),
                          "label": crowd[:, :, 1].ravel().astype(int)})
    model = DawidSkene(n_iter=100) if task == "dawid-skene" else MACE(n_iter=50)
    out = run(lambda: {"labels": model.fit_predict(frame).sort_index().tolist()})
else:
    import krippendorff
    ratings = np.load(f"{data}/ratings.npy")
    out = run(lambda: {"alpha": krippendorff.alpha(reliability_data=ratings, level_of_measurement="nominal")})
print(json.dumps(out))
