#!/usr/bin/env python3
"""Expected outputs for CurateSelection, made once with modAL 0.4 / NumPy / scikit-learn.

Writes Tests/CurateSelectionTests/Fixtures/: probs.npy (400 x 6 probabilities), committee.npy (4 x 400 x 6),
embeddings.npy (300 x 8), and expected.json: modAL's uncertainty_sampling / margin_sampling / entropy_sampling
picks (top 25), NumPy references for vote entropy, mean KL and BALD (top 25), the NumPy k-center greedy picks
(15 centers, rows 0-9 labeled), and scikit-learn LogisticRegression's test accuracy on the bundled digits split
(pixels of the PNGs / 255, C = 1, fitted to convergence).

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install modAL-python scikit-learn pillow && /tmp/v/bin/python scripts/make_selection_fixtures.py
"""
import json
import os

import numpy as np
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling
from PIL import Image
from scipy.stats import entropy
from sklearn.linear_model import LogisticRegression

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "CurateSelectionTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(21)
n, k, m = 400, 6, 4
probs = rng.dirichlet(np.full(k, 0.6), n)
committee = np.stack([rng.dirichlet(np.full(k, 0.6), n) * 0.5 + probs * 0.5 for _ in range(m)])
embeddings = rng.normal(0, 1, (300, 8))
np.save(os.path.join(OUT, "probs.npy"), probs)
np.save(os.path.join(OUT, "committee.npy"), committee)
np.save(os.path.join(OUT, "embeddings.npy"), embeddings)


class Fixed:  # a "classifier" whose probabilities are the fixture's
    def predict_proba(self, X):
        return probs[X.ravel().astype(int)]


X = np.arange(n).reshape(-1, 1)
budget = 25
expected = {
    "least-confidence": sorted(int(i) for i in uncertainty_sampling(Fixed(), X, n_instances=budget)[0]),
    "margin": sorted(int(i) for i in margin_sampling(Fixed(), X, n_instances=budget)[0]),
    "entropy": sorted(int(i) for i in entropy_sampling(Fixed(), X, n_instances=budget)[0]),
}
votes = committee.argmax(axis=2)
p_vote = np.stack([(votes == c).mean(axis=0) for c in range(k)], axis=1)
mean = committee.mean(axis=0)
kl = np.mean([np.sum(np.where(committee[i] > 0, committee[i] * np.log(committee[i] / mean), 0), axis=1) for i in range(m)], axis=0)
bald = entropy(mean, axis=1) - np.mean([entropy(committee[i], axis=1) for i in range(m)], axis=0)
for name, scores in [("vote-entropy", entropy(p_vote, axis=1)), ("mean-kl", kl), ("bald", bald)]:
    expected[name] = sorted(int(i) for i in np.argsort(-scores, kind="stable")[:budget])

labeled = list(range(10))
pool = [i for i in range(300) if i not in labeled]
nearest = np.min(((embeddings[pool][:, None, :] - embeddings[labeled][None, :, :]) ** 2).sum(-1), axis=1)
picks = []
for _ in range(15):
    best = int(np.argmax(nearest))
    picks.append(pool[best])
    nearest = np.minimum(nearest, ((embeddings[pool] - embeddings[pool[best]]) ** 2).sum(-1))
expected["k-center"] = picks

digits = os.path.join(ROOT, "datasets", "digits")
label_of = {line.split(",")[0]: int(line.split(",")[1]) for line in open(os.path.join(digits, "labels.csv")).read().split("\n")[1:] if line}


def load(split):
    paths = [p for p in open(os.path.join(digits, split)).read().split("\n") if p]
    return np.stack([np.asarray(Image.open(os.path.join(digits, p)), dtype=np.float64).ravel() / 255 for p in paths]), np.array([label_of[p] for p in paths])


xtr, ytr = load("train.txt")
xte, yte = load("test.txt")
model = LogisticRegression(C=1.0, max_iter=10000, tol=1e-8).fit(xtr, ytr)
expected["sklearn_accuracy"] = float((model.predict(xte) == yte).mean())
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("sklearn LogisticRegression accuracy on the digits split:", expected["sklearn_accuracy"])
