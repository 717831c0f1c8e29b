#!/usr/bin/python3
"""Times scikit-learn's KMeans against deepcomp's 1-D k-means on the same pruned weights.

Values: the surviving weights (|w| >= the 90%-sparsity magnitude threshold) of the first fc
layer of mnist-net_256x2.onnx (256x784), and a larger case: the surviving weights of every
2-D+ weight tensor of all shared models, concatenated (tiled to about 1M values). deepcomp runs
through the kmeans_cli_bench driver (best of several runs); scikit-learn runs with n_init=1 and
the same k, best of several runs too. Prints a Markdown table.

Usage: /usr/bin/python3 bench/kmeans_vs_sklearn.py [--same-init-only] BUILD_DIR [SHARED_DIR]
  --same-init-only: only deepcomp's kmeans++ against sklearn's k-means++ and random against
  random (the 50x target's pairs), skipping sklearn's random init at 1M x k=256 (minutes).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper
from sklearn.cluster import KMeans


def surviving(w, sparsity=0.9):
    a = np.abs(w.ravel())
    t = np.sort(a)[int(round(sparsity * a.size))]
    return w.ravel()[a >= t].astype(np.float32)


def weights(path):
    m = onnx.load(path)
    return [numpy_helper.to_array(t).astype(np.float32) for t in m.graph.initializer
            if len(t.dims) >= 2 and t.data_type == onnx.TensorProto.FLOAT]


def time_sklearn(x, k, init, repeats, seed=0):
    best, inertia, iters = 1e300, None, None
    for r in range(repeats):
        km = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed + r)
        t0 = time.perf_counter()
        km.fit(x.reshape(-1, 1).astype(np.float64))
        best = min(best, time.perf_counter() - t0)
        if inertia is None or km.inertia_ < inertia:
            inertia, iters = km.inertia_, km.n_iter_
    return best, inertia, iters


def time_deepcomp(cli, path, k, init, repeats):
    out = subprocess.run([cli, path, str(k), init, str(repeats), "300"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    args = [a for a in sys.argv[1:] if a != "--same-init-only"]
    same_only = len(args) != len(sys.argv) - 1
    build = args[0] if len(args) > 0 else "build"
    shared = args[1] if len(args) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
    cli = os.path.join(build, "kmeans_cli_bench")
    first = surviving(weights(os.path.join(shared, "models", "mnist-net_256x2.onnx"))[0])
    pool = np.concatenate([surviving(w) for p in sorted(glob.glob(os.path.join(shared, "models", "*.onnx")))
                           for w in weights(p)])
    big = np.resize(pool, 1_000_000) if pool.size < 1_000_000 else pool[:1_000_000]
    # Tiling repeats values; perturb each copy by a tiny multiplicative jitter so that the large
    # case has ~1M distinct values like a real large layer.
    rng = np.random.default_rng(0)
    big = (big * (1 + 1e-4 * rng.standard_normal(big.size))).astype(np.float32)
    cases = [("mnist fc1 256x784, 90% pruned", first, 5), ("all models tiled, ~1M", big, 1)]
    print("| values | n | k | sklearn init | sklearn s | sklearn inertia | deepcomp init | deepcomp s "
          "| deepcomp inertia | speedup | inertia ratio (dc/sk) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, x, reps in cases:
            path = os.path.join(tmp, "values.f32")
            x.astype("<f4").tofile(path)
            for k in (32, 256):
                for sk_init, dc_inits in (("k-means++", ("kmeans++", "linear")),
                                          ("random", ("random", "linear"))):
                    if same_only and sk_init == "random" and x.size > 100000 and k > 32:
                        continue
                    s_t, s_in, _ = time_sklearn(x, k, sk_init, reps)
                    for dc_init in (dc_inits[:1] if same_only else dc_inits + ("optimal",)):
                        d = time_deepcomp(cli, path, k, dc_init, 5 if reps > 1 else 2)
                        print(f"| {name} | {x.size} | {k} | {sk_init} | {s_t:.4f} | {s_in:.6g} | "
                              f"{dc_init} | {d['seconds']:.5f} | {d['inertia']:.6g} | "
                              f"{s_t / d['seconds']:.0f}x | {d['inertia'] / s_in:.4f} |", flush=True)


if __name__ == "__main__":
    main()
