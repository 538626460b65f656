#!/usr/bin/env python3
"""Key press → next item fully drawn, measured through a pseudo-terminal on the real `curate label`.

usage: pty_bench.py CURATE REPO_DIR QUEUE ANNOTATOR ITEMS [--think SECONDS] [--columns N --rows N]

Starts `curate label` on a pty of the given size (COLORTERM=truecolor), waits for the first frame, then for each
item: waits the think time (an annotator looks at the image before pressing a key; the session prefetches the next
items meanwhile), presses the first class key and times until the new frame's status line has been read. Prints one
JSON line: items, median/p99/max latency in ms, peak resident memory (VmHWM) of the session in MB.
"""
import argparse, fcntl, json, os, pty, select, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("curate"); ap.add_argument("repo"); ap.add_argument("queue"); ap.add_argument("annotator")
ap.add_argument("items", type=int)
ap.add_argument("--think", type=float, default=0.3)
ap.add_argument("--columns", type=int, default=120); ap.add_argument("--rows", type=int, default=40)
ap.add_argument("--key", default="0")
a = ap.parse_args()

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.columns, 0, 0))
    os.chdir(a.repo)
    env = dict(os.environ, COLORTERM="truecolor", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    os.execve(a.curate, [a.curate, "label", "--queue", a.queue, "--annotator", a.annotator], env)

END = b"q quit"
def read_frame(timeout=10.0):
    """Reads until a frame's status line (or the end-of-queue screen) has arrived; returns the bytes."""
    buf = b""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if END in buf or b"press q to quit" in buf:
                return buf
    sys.exit(f"pty_bench: no frame within {timeout} s; last output: {buf[-300:]!r}")

read_frame()
latencies = []
finished = False
for _ in range(a.items):
    time.sleep(a.think)
    t0 = time.perf_counter()
    os.write(fd, a.key.encode())
    frame = read_frame()
    latencies.append((time.perf_counter() - t0) * 1000)
    if b"Nothing left to label" in frame:
        finished = True
        break
hwm = 0
with open(f"/proc/{pid}/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
os.write(fd, b"q")
os.waitpid(pid, 0)
s = sorted(latencies)
pct = lambda p: s[min(len(s) - 1, int((len(s) - 1) * p))]
print(json.dumps({"items": len(s), "median_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2), "max_ms": round(s[-1], 2),
                  "worst": [round(x, 1) for x in s[-6:]], "max_rss_mb": round(hwm, 1), "queue_finished": finished}))
