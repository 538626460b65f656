#!/usr/bin/env python3
"""Curate vs git vs DVC on the same data, in one run: CPU seconds (user+sys of the command and its children)
and wall seconds for add+commit, clean status, status after a 1% change, commit of the change and diff.

usage: bench.py CURATE DVC N [--skip-dvc] [--skip-git]
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(cmd, cwd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def steps(total):
    cpu = sum(s[0] for s in total)
    wall = sum(s[1] for s in total)
    return cpu, wall


def run(curate, dvc, n, skip_dvc, skip_git):
    work = tempfile.mkdtemp(prefix="curate-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    base = os.path.join(work, "base")
    os.makedirs(base)
    subprocess.run([sys.executable, os.path.join(HERE, "make_data.py"), base, str(n)], check=True)
    results = {}
    git_env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    tools = ["curate"] + ([] if skip_git else ["git"]) + ([] if skip_dvc else ["dvc"])
    for tool in tools:
        d = os.path.join(work, tool)
        shutil.copytree(base, d)
        r = {}
        if tool == "curate":
            measure([curate, "init"], d)
            r["add+commit"] = steps([measure([curate, "add", "data", "--labels", "labels.csv", "--format", "csv", "--images", "."], d),
                                     measure([curate, "commit", "-m", "base", "--author", "b"], d)])
            r["status (clean)"] = min((measure([curate, "status"], d) for _ in range(5)))
            subprocess.run([sys.executable, os.path.join(HERE, "make_data.py"), "--change", d, str(n)], check=True)
            r["status (1% changed)"] = measure([curate, "status"], d)
            r["add+commit (1% changed, 200 labels)"] = steps([measure([curate, "add", "--labels", "labels.csv", "--format", "csv", "--images", "."], d),
                                                           measure([curate, "commit", "-m", "change", "--author", "b"], d)])
            r["diff (1% change)"] = min((measure([curate, "diff", "HEAD~1", "HEAD"], d) for _ in range(3)))
        elif tool == "git":
            measure(["git", "init", "-q"], d)
            r["add+commit"] = steps([measure(["git", "add", "-A"], d), measure(["git", "commit", "-q", "-m", "base"], d, git_env)])
            r["status (clean)"] = min((measure(["git", "status", "--porcelain"], d) for _ in range(5)))
            subprocess.run([sys.executable, os.path.join(HERE, "make_data.py"), "--change", d, str(n)], check=True)
            r["status (1% changed)"] = measure(["git", "status", "--porcelain"], d)
            r["add+commit (1% changed, 200 labels)"] = steps([measure(["git", "add", "-A"], d), measure(["git", "commit", "-q", "-m", "change"], d, git_env)])
            r["diff (1% change)"] = min((measure(["git", "diff", "--name-status", "-M", "HEAD~1", "HEAD"], d) for _ in range(3)))
        else:
            measure(["git", "init", "-q"], d)
            measure([dvc, "init", "-q"], d)
            r["add+commit"] = steps([measure([dvc, "add", "-q", "data", "labels.csv"], d),
                                     measure(["git", "add", "data.dvc", "labels.csv.dvc", ".gitignore"], d),
                                     measure(["git", "commit", "-q", "-m", "base"], d, git_env)])
            r["status (clean)"] = min((measure([dvc, "status", "-q"], d) for _ in range(3)))
            subprocess.run([sys.executable, os.path.join(HERE, "make_data.py"), "--change", d, str(n)], check=True)
            r["status (1% changed)"] = measure([dvc, "status"], d)
            r["add+commit (1% changed, 200 labels)"] = steps([measure([dvc, "add", "-q", "data", "labels.csv"], d),
                                                           measure(["git", "commit", "-q", "-am", "change"], d, git_env)])
            r["diff (1% change)"] = min((measure([dvc, "diff", "HEAD~1"], d) for _ in range(3)))
        results[tool] = r
        shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return results


def report(results, n):
    print(f"\n{n:,} files x 8 KiB in {max(1, n // 100)} folders + labels.csv; CPU s (user+sys) / wall s; ratio = peer CPU / curate CPU")
    tasks = list(results["curate"].keys())
    header = f"{'task':<38}" + "".join(f"{t:>18}" for t in results) + "".join(f"{'vs ' + t:>10}" for t in results if t != "curate")
    print(header)
    for task in tasks:
        row = f"{task:<38}"
        for tool in results:
            cpu, wall = results[tool][task]
            row += f"{cpu:>9.3f} /{wall:>6.3f}"
        for tool in results:
            if tool == "curate":
                continue
            row += f"{results[tool][task][0] / max(results['curate'][task][0], 1e-9):>9.1f}x"
        print(row)


if __name__ == "__main__":
    curate, dvc, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    results = run(curate, dvc, n, "--skip-dvc" in sys.argv, "--skip-git" in sys.argv)
    report(results, n)
    print(json.dumps({"files": n, "results": results}))
