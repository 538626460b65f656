#!/usr/bin/env python3
"""Reference outputs for CurateRouting's tests: calibrated thresholds (NumPy, vectorised, written independently of
the Swift code) on seeded random validation scores, and Wilson intervals from statsmodels.

usage: /path/to/venv/bin/python scripts/make_routing_fixtures.py   (numpy, statsmodels)
writes Tests/CurateRoutingTests/Fixtures/routing.json
"""
import json, os
import numpy as np
from statsmodels.stats.proportion import proportion_confint

def threshold(conf, correct, target, c, minimum):
    """Lowest t among the confidences with error(t) + c*sqrt(1/n(t)) <= 1 - target and n(t) >= minimum."""
    conf = np.asarray(conf); correct = np.asarray(correct, bool)
    best = None
    for t in np.unique(conf):                      # every candidate, no running sums: a different route to the answer
        mask = conf >= t
        n = int(mask.sum()); errors = int((~correct[mask]).sum())
        bound = errors / n + c * np.sqrt(1.0 / n)
        if n >= minimum and bound <= 1 - target + 1e-12 and (best is None or t < best["value"]):
            best = {"value": float(t), "covered": n, "errors": errors, "bound": float(bound)}
    return best

rng = np.random.default_rng(20261126)
cases = []
for i, (n, target, c, minimum) in enumerate([(300, 0.95, 0.25, 30), (1000, 0.9, 0.5, 30), (200, 0.98, 0.25, 50),
                                              (500, 0.95, 0.0, 1), (60, 0.99, 0.25, 30), (400, 0.95, 0.25, 30)]):
    conf = rng.beta(5, 1.5, size=n)
    if i == 5:
        conf = np.round(conf, 2)                   # ties: a threshold cannot split them
    correct = rng.random(n) < np.clip(conf + 0.05, 0, 1)
    cases.append({"confidences": conf.tolist(), "correct": correct.tolist(), "target": target, "penalty": c, "minimum": minimum,
                  "expected": threshold(conf, correct, target, c, minimum)})

wilson = []
for successes, trials in [(0, 10), (10, 10), (72, 77), (6, 8), (950, 1000), (1, 1), (45, 50)]:
    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    wilson.append({"successes": successes, "trials": trials, "low": float(low), "high": float(high)})

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "CurateRoutingTests", "Fixtures", "routing.json")
with open(out, "w") as f:
    json.dump({"thresholds": cases, "wilson": wilson}, f)
print("wrote", out, [c["expected"] and c["expected"]["value"] for c in cases])
