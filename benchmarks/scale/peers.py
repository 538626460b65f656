"""Peers for benchmarks/scale/run.sh on the same embeddings: scikit-learn NearestNeighbors (brute force, cosine:
cleanlab Datalab's default) and faiss (exact inner product, and IVF-Flat with Curate's lists and probes). Prints
JSON: seconds (wall), cpu_seconds, and the recall@5 of Curate's neighbours (its .npy) against exact search on
1,000 seeded queries.  usage: peers.py EMB.npy CURATE_NEIGHBOURS.npy TASK"""
import json
import resource
import sys
import time

import numpy as np

emb_path, ours_path, task = sys.argv[1], sys.argv[2], sys.argv[3]
x = np.load(emb_path).astype(np.float32)
x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
n, k = len(x), 5


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(f):
    t, c = time.perf_counter(), cpu()
    result = f()
    return result, time.perf_counter() - t, cpu() - c


out = {"task": task, "count": n}
if task == "recall":
    import faiss
    rng = np.random.default_rng(9)
    queries = rng.choice(n, 1000, replace=False)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    _, ids = index.search(x[queries], k + 1)
    ours = np.load(ours_path)
    hits = 0
    for t, q in enumerate(queries):
        truth = [i for i in ids[t] if i != q][:k]
        hits += len(set(truth) & set(ours[q].tolist()))
    out["recall_at_5"] = hits / (len(queries) * k)
elif task == "sklearn":
    from sklearn.neighbors import NearestNeighbors
    (_, _), wall, used = run(lambda: NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x).kneighbors(x))
    out.update(seconds=wall, cpu_seconds=used)
elif task == "faiss-flat":
    import faiss
    def flat():
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        return index.search(x, k + 1)
    _, wall, used = run(flat)
    out.update(seconds=wall, cpu_seconds=used)
elif task == "faiss-ivf":
    import faiss
    lists = max(1, min(4096, round((8 * n) ** 0.5)))
    def ivf():
        quantizer = faiss.IndexFlatIP(x.shape[1])
        index = faiss.IndexIVFFlat(quantizer, x.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(1)
        index.train(x[rng.choice(n, min(n, max(lists * 32, 10_000)), replace=False)])
        index.add(x)
        index.nprobe = 8
        return index.search(x, k + 1)
    (_, ids), wall, used = run(ivf)
    rng = np.random.default_rng(9)
    queries = rng.choice(n, 1000, replace=False)
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    _, truth = exact.search(x[queries], k + 1)
    hits = sum(len(set(i for i in truth[t] if i != q) & set(i for i in ids[q] if i != q)) for t, q in enumerate(queries))
    out.update(seconds=wall, cpu_seconds=used, recall_at_5=hits / (len(queries) * k))
print(json.dumps(out))
