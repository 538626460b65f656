#!/usr/bin/env python3
"""Curate vs DVC vs aws s3 sync against one moto_server (signatures enforced), same data: wall seconds and HTTP
requests per phase. The server log has one line per request, so requests are counted from it. "status vs remote"
is `curate status --remote` against `dvc status -c`; "fetch (nothing new)" compares curate fetch with the same
`dvc status -c` (what DVC does to learn that nothing is new).

usage: bench.py CURATE N
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
VENV = os.path.join(HERE, ".venv/bin")
MOTO = os.path.join(ROOT, "Tests/.venv/bin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, work):
        self.port = free_port()
        self.log = os.path.join(work, "moto.log")
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.proc = subprocess.Popen([os.path.join(MOTO, "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        out = subprocess.run([os.path.join(MOTO, "python"), os.path.join(ROOT, "scripts/moto-setup.py"), str(self.port)],
                             check=True, capture_output=True, text=True).stdout.split()
        self.key, self.secret = out
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=self.key, AWS_SECRET_ACCESS_KEY=self.secret, AWS_REGION="us-east-1",
                        AWS_DEFAULT_REGION="us-east-1")
        subprocess.run([os.path.join(VENV, "aws"), "s3", "mb", "s3://bench", "--endpoint-url", self.endpoint], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def requests(self):
        with open(self.log) as f:
            return sum(1 for line in f if "HTTP/1.1\"" in line)

    def stop(self):
        self.proc.kill()


def timed(server, cmd, cwd):
    before = server.requests()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-800:]}")
    time.sleep(0.3)  # the server writes its log line after answering
    return wall, server.requests() - before


def main():
    curate, n = sys.argv[1], int(sys.argv[2])
    work = tempfile.mkdtemp(prefix="curate-remote-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    base = os.path.join(work, "base")
    os.makedirs(base)
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks/versioning/make_data.py"), base, str(n)], check=True)
    server = Server(work)
    rows = []
    try:
        # curate
        d = os.path.join(work, "curate")
        shutil.copytree(base, d)
        for cmd in [["init"], ["add", "data", "--labels", "labels.csv", "--format", "csv", "--images", "."], ["commit", "-m", "b", "--author", "b"],
                    ["remote", "add", "origin", "s3://bench/curate", "--endpoint", server.endpoint]]:
            subprocess.run([curate] + cmd, cwd=d, check=True, stdout=subprocess.DEVNULL, env=server.env)
        c_push = timed(server, [curate, "push", "-q"], d)
        c_noop = timed(server, [curate, "push", "-q"], d)
        c_status = timed(server, [curate, "status", "--remote", "origin"], d)
        c_fetch = timed(server, [curate, "fetch", "-q"], d)
        c_clone = timed(server, [curate, "clone", "-q", "s3://bench/curate", os.path.join(work, "curate-clone"), "--endpoint", server.endpoint], work)
        # dvc
        d = os.path.join(work, "dvc")
        shutil.copytree(base, d)
        dvc = os.path.join(VENV, "dvc")
        for cmd in [["git", "init", "-q"], [dvc, "init", "-q"], [dvc, "add", "-q", "data"], [dvc, "remote", "add", "-d", "s3", "s3://bench/dvc"],
                    [dvc, "remote", "modify", "s3", "endpointurl", server.endpoint]]:
            subprocess.run(cmd, cwd=d, check=True, stdout=subprocess.DEVNULL, env=server.env)
        d_push = timed(server, [dvc, "push", "-q"], d)
        d_noop = timed(server, [dvc, "push", "-q"], d)
        d_status = timed(server, [dvc, "status", "-c", "-q"], d)
        # A clone: the repository's metadata without data or cache, then dvc pull.
        c = os.path.join(work, "dvc-clone")
        shutil.copytree(d, c, ignore=shutil.ignore_patterns("cache", "tmp"))
        shutil.rmtree(os.path.join(c, "data"))
        d_clone = timed(server, [dvc, "pull", "-q"], c)
        # aws s3 sync
        a_push = timed(server, [os.path.join(VENV, "aws"), "s3", "sync", "--only-show-errors", os.path.join(base, "data"), "s3://bench/sync",
                                "--endpoint-url", server.endpoint], work)
        a_noop = timed(server, [os.path.join(VENV, "aws"), "s3", "sync", "--only-show-errors", os.path.join(base, "data"), "s3://bench/sync",
                                "--endpoint-url", server.endpoint], work)
        a_clone = timed(server, [os.path.join(VENV, "aws"), "s3", "sync", "--only-show-errors", "s3://bench/sync", os.path.join(work, "sync-down"),
                                 "--endpoint-url", server.endpoint], work)
    finally:
        server.stop()
    print(f"\n{n} files x 8 KiB with labels ({n * 8 // 1024} MiB), moto {server.endpoint}")
    print(f"{'phase':<28}{'curate s':>10}{'dvc s':>10}{'aws sync s':>12}{'dvc / curate':>14}{'sync / curate':>15}   requests curate / dvc / sync")
    for name, cu, dv, aw in [("push", c_push, d_push, a_push), ("push (nothing new)", c_noop, d_noop, a_noop),
                             ("status vs remote", c_status, d_status, None), ("fetch (nothing new)", c_fetch, d_status, None),
                             ("clone / pull", c_clone, d_clone, a_clone)]:
        aws_s = f"{aw[0]:>12.2f}" if aw else f"{'-':>12}"
        ratio_a = f"{aw[0] / cu[0]:>14.1f}x" if aw else f"{'-':>15}"
        print(f"{name:<28}{cu[0]:>10.2f}{dv[0]:>10.2f}{aws_s}{dv[0] / cu[0]:>13.1f}x{ratio_a}   {cu[1]} / {dv[1]} / {aw[1] if aw else '-'}")
    per = lambda r: r * 1000 / n
    print(f"requests per 1,000 files pushed: curate {per(c_push[1]):.1f}, dvc {per(d_push[1]):.1f}, aws s3 sync {per(a_push[1]):.1f}")
    shutil.rmtree(work, ignore_errors=True)


main()
