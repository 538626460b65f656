#!/usr/bin/env python3
"""curate status on 1,000,000 files (64 bytes each, 10,000 folders): wall seconds and peak memory.

usage: million.py CURATE
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

curate = os.path.abspath(sys.argv[1])
n = int(os.environ.get("FILES", "1000000"))
work = tempfile.mkdtemp(prefix="curate-million-", dir=os.environ.get("BENCH_DIR", "/tmp"))
try:
    start = time.perf_counter()
    for i in range(n):
        folder = os.path.join(work, "data", f"d{i % 10000:05d}")
        if i < 10000:
            os.makedirs(folder)
        with open(os.path.join(folder, f"f{i:07d}.bin"), "wb") as f:
            f.write(i.to_bytes(8, "little") * 8)
    print(f"made {n:,} files in {time.perf_counter() - start:.1f} s")

    def timed(args):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([curate] + args, cwd=work, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu, after.ru_maxrss / 1024

    subprocess.run([curate, "init"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    wall, cpu, _ = timed(["add", "data"])
    print(f"curate add: {wall:.1f} s wall, {cpu:.1f} s CPU")
    wall, cpu, _ = timed(["commit", "-m", "million", "--author", "b"])
    print(f"curate commit: {wall:.1f} s wall, {cpu:.1f} s CPU")
    walls = []
    for _ in range(3):
        wall, cpu, rss = timed(["status"])
        walls.append((wall, cpu))
    best = min(walls)
    # ru_maxrss of children is the largest child so far; status is the last and smallest of add/commit/status,
    # so measure it alone with /usr/bin/time when available.
    peak = None
    if shutil.which("/usr/bin/time"):
        out = subprocess.run(["/usr/bin/time", "-f", "%M", curate, "status"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak = int(out.stderr.strip().splitlines()[-1]) / 1024
    print(f"curate status (clean) on {n:,} files: {best[0]:.2f} s wall, {best[1]:.2f} s CPU, peak memory {peak:.0f} MiB" if peak else
          f"curate status (clean) on {n:,} files: {best[0]:.2f} s wall, {best[1]:.2f} s CPU")
finally:
    shutil.rmtree(work, ignore_errors=True)
