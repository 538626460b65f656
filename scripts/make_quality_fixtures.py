#!/usr/bin/env python3
"""Expected outputs for CurateQuality, made once with cleanlab 2.9 / scikit-learn / statsmodels / krippendorff.

Writes Tests/CurateQualityTests/Fixtures/:
- digits-noisy/: the bundled digits with 10% of labels flipped (seed 7; 70% within fixed class pairs, 30% to a
  uniform other class) as labels.csv, 5-fold out-of-fold logistic-regression probabilities on the pixels as
  predictions.npy (float32, N x 10, rows in ids.txt order), and expected.json: cleanlab's find_label_issues mask
  for every filter, its label-quality scores, its confident joint, and the truly flipped rows.
- agreement.json: ratings with missing values, and Cohen's kappa (scikit-learn), Fleiss' kappa (statsmodels),
  Krippendorff's alpha nominal and interval (krippendorff) on them.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install cleanlab==2.9.0 scikit-learn statsmodels krippendorff
     /tmp/v/bin/python scripts/make_quality_fixtures.py
"""
import csv
import json
import os

import cleanlab
import krippendorff
import numpy as np
from cleanlab.count import compute_confident_joint
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "CurateQualityTests", "Fixtures")
NOISY = os.path.join(OUT, "digits-noisy")
os.makedirs(NOISY, exist_ok=True)

# The bundled digits, pixels from the PNGs themselves.
with open(os.path.join(ROOT, "datasets", "digits", "labels.csv")) as f:
    rows = list(csv.DictReader(f))
paths = [r["path"] for r in rows]
truth = np.array([int(r["label"]) for r in rows])
pixels = np.stack([np.asarray(Image.open(os.path.join(ROOT, "datasets", "digits", p)), dtype=np.float64).ravel() / 255 for p in paths])

rng = np.random.default_rng(7)
n = len(truth)
flip = rng.choice(n, size=n // 10, replace=False)
pairs = {0: 6, 6: 0, 1: 7, 7: 1, 3: 8, 8: 3, 4: 9, 9: 4, 2: 5, 5: 2}
noisy = truth.copy()
for i in flip:
    if rng.random() < 0.7:
        noisy[i] = pairs[truth[i]]
    else:
        noisy[i] = rng.choice([k for k in range(10) if k != truth[i]])

model = LogisticRegression(max_iter=2000, C=1.0)
probs = cross_val_predict(model, pixels, noisy, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba").astype(np.float32)
np.save(os.path.join(NOISY, "predictions.npy"), probs)
with open(os.path.join(NOISY, "ids.txt"), "w") as f:
    f.write("\n".join(paths) + "\n")
with open(os.path.join(NOISY, "labels.csv"), "w") as f:
    f.write("path,label\n" + "".join(f"{p},{k}\n" for p, k in zip(paths, noisy)))

p64 = probs.astype(np.float64)
filters = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
           "low_normalized_margin", "low_self_confidence"]
expected = {
    "cleanlab": cleanlab.__version__,
    "flipped": sorted(int(i) for i in flip),
    "confident_joint": compute_confident_joint(noisy, p64).tolist(),
    "issues": {f: np.flatnonzero(find_label_issues(noisy, p64, filter_by=f)).tolist() for f in filters},
    "self_confidence": get_label_quality_scores(noisy, p64, method="self_confidence").tolist(),
    "normalized_margin": get_label_quality_scores(noisy, p64, method="normalized_margin").tolist(),
}
with open(os.path.join(NOISY, "expected.json"), "w") as f:
    json.dump(expected, f)
found = set(expected["issues"]["prune_by_noise_rate"])
tp = len(found & set(flip.tolist()))
print(f"cleanlab default: {len(found)} flagged, precision {tp / len(found):.3f}, recall {tp / len(flip):.3f}")

# Agreement: 200 items x 4 raters, 4 categories, 10% missing; 2 raters complete for Cohen's kappa.
rng = np.random.default_rng(3)
items, raters, k = 200, 4, 4
true = rng.integers(0, k, items)
ratings = np.where(rng.random((raters, items)) < 0.7, true, rng.integers(0, k, (raters, items))).astype(float)
missing = rng.random((raters, items)) < 0.1
missing[:2] = False
ratings[missing] = np.nan
complete = ~np.isnan(ratings).any(axis=0)
table, _ = aggregate_raters(ratings[:, complete].T.astype(int), n_cat=k)
agreement = {
    "ratings": [[None if np.isnan(v) else int(v) for v in row] for row in ratings],
    "cohen_kappa_0_1": cohen_kappa_score(ratings[0], ratings[1]),
    "fleiss_kappa_complete": fleiss_kappa(table, method="fleiss"),
    "alpha_nominal": krippendorff.alpha(reliability_data=ratings, level_of_measurement="nominal"),
    "alpha_interval": krippendorff.alpha(reliability_data=ratings, level_of_measurement="interval"),
}
# Real ratings: Fleiss (1971), 30 patients x 6 psychiatrists, 5 diagnoses (the table statsmodels tests with; R's
# irr::kappam.fleiss gives 0.4302445).
from statsmodels.stats.tests.test_inter_rater import diagnoses  # noqa: E402
with open(os.path.join(OUT, "fleiss1971.csv"), "w") as f:
    f.write("\n".join(",".join(str(int(v)) for v in row) for row in diagnoses) + "\n")
agreement["fleiss1971_kappa"] = fleiss_kappa(aggregate_raters(diagnoses)[0], method="fleiss")
agreement["fleiss1971_alpha_nominal"] = krippendorff.alpha(reliability_data=diagnoses.T.astype(float), level_of_measurement="nominal")
with open(os.path.join(OUT, "agreement.json"), "w") as f:
    json.dump(agreement, f)
print(json.dumps({k: v for k, v in agreement.items() if k != "ratings"}))

# A simulated crowd: 20,000 tasks x 5 labels from 50 annotators (40 honest with accuracy 0.65-0.95 whose errors
# go 70% to the next class, 5 answering uniformly at random, 5 always answering one class), 4 classes with priors
# 0.4/0.3/0.2/0.1. crowd-kit's DawidSkene and MajorityVote on it.
import time  # noqa: E402

import pandas as pd  # noqa: E402
from crowdkit.aggregation import DawidSkene, MajorityVote  # noqa: E402

rng = np.random.default_rng(11)
tasks, per_task, workers, k = 20000, 5, 50, 4
kinds = ["honest"] * 40 + ["random"] * 5 + ["constant"] * 5
accuracy = rng.uniform(0.65, 0.95, workers)
constant = rng.integers(0, k, workers)
truth = rng.choice(k, size=tasks, p=[0.4, 0.3, 0.2, 0.1])
crowd = np.zeros((tasks, per_task, 2), dtype=np.uint8)
for t in range(tasks):
    chosen = rng.choice(workers, size=per_task, replace=False)
    for s, w in enumerate(chosen):
        if kinds[w] == "random":
            label = rng.integers(0, k)
        elif kinds[w] == "constant":
            label = constant[w]
        elif rng.random() < accuracy[w]:
            label = truth[t]
        elif rng.random() < 0.7:
            label = (truth[t] + 1) % k
        else:
            label = rng.choice([c for c in range(k) if c != truth[t]])
        crowd[t, s] = (w, label)
frame = pd.DataFrame({"task": np.repeat(np.arange(tasks), per_task), "worker": crowd[:, :, 0].ravel().astype(int),
                      "label": crowd[:, :, 1].ravel().astype(int)})
start = time.perf_counter()
ds = DawidSkene(n_iter=100).fit_predict(frame).sort_index().to_numpy()
ds_seconds = time.perf_counter() - start
mv = MajorityVote().fit_predict(frame).sort_index().to_numpy()
np.save(os.path.join(OUT, "crowd.npy"), crowd)
np.save(os.path.join(OUT, "crowd-expected.npy"), np.stack([truth, ds, mv]).astype(np.uint8))
with open(os.path.join(OUT, "crowd.json"), "w") as f:
    json.dump({"kinds": kinds, "accuracy": accuracy.tolist(), "classes": k, "crowdkit_seconds": ds_seconds,
               "ds_accuracy": float((ds == truth).mean()), "mv_accuracy": float((mv == truth).mean())}, f)
print(f"crowd-kit DawidSkene: accuracy {(ds == truth).mean():.4f} in {ds_seconds:.1f} s; majority vote {(mv == truth).mean():.4f}")
