"""Formats one `curate-bench store` JSON result (stdin) as a Markdown table row labelled by argv[1]."""
import json
import sys

r = json.loads(sys.stdin.read())
if len(sys.argv) > 2 and sys.argv[2] == "create":
    print(f"{sys.argv[1]}: {r['items']:,} items in {r['create_s']:.1f} s")
else:
    print(f"| {sys.argv[1]} | {r['clients']} | {r['answers']} | {r['answers_per_minute']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
