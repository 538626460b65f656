#!/usr/bin/env python3
"""Prints the JSON of `curate bench routing simulate|plan` (stdin) as the lines recorded in benchmarks/README.md."""
import json, sys

d = json.load(sys.stdin)
if "rounds" in d:
    for r in d["rounds"]:
        acc = "-" if r["accuracy"] < 0 else "%.4f" % r["accuracy"]
        thr = "-" if r["threshold"] < 0 else "%.3f" % r["threshold"]
        print("  seed %d batch %d: threshold %s, validation %d, auto-accepted %d (oracle %d), accuracy %s"
              % (r["seed"], r["round"], thr, r["validation"], r["accepted"], r["oracle"], acc))
    print("digits, target %s, penalty %s: worst round accuracy %.4f; auto-accepted %d = %.1f%% of the oracle threshold's %d"
          % (d["target"], d["penalty"], d["worst_round_accuracy"], d["accepted"], 100 * d["share_of_oracle"], d["oracle"]))
else:
    print("%d predictions x 10 classes: %.2f s (%.2f CPU-s), %d auto-accepted at %.3f, peak %.0f MB"
          % (d["items"], d["seconds"], d["cpu_seconds"], d["accepted"], d["threshold"], d["max_rss_mb"]))
