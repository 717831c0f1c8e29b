#!/usr/bin/python3
"""Empty-cluster handling at equal bits: deepcomp's linear init with empty clusters dropped
(--empty-clusters drop, the old behaviour) or re-seeded by splitting (split, the default), against
scikit-learn's KMeans on the same surviving weights (k-means++ with n_init=1, and the same linear
init given as an array; both relocate empty clusters). Prints per-layer clusters kept and SSE,
then top-1 accuracy of the compressed models (drop vs split) where labelled data exists.

The surviving weights are the original weights at the positions the compressed model keeps
(deepcomp decompress, nonzero entries), so both sides cluster exactly the same values.

Usage: /usr/bin/python3 bench/kmeans_empty_clusters.py DEEPCOMP SHARED_DIR SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from sklearn.cluster import KMeans


def initializers(path):
    return {t.name: numpy_helper.to_array(t).astype(np.float32) for t in onnx.load(path).graph.initializer}


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def compress(cli, model, out, mode, extra):
    run([cli, "compress", model, "-o", out + ".dcz", "--report-json", out + ".json", "--force",
         "--quiet", "--empty-clusters", mode] + extra)
    run([cli, "decompress", out + ".dcz", "-o", out + ".onnx", "--force"])
    import json
    return json.load(open(out + ".json"))


def sse(x, centroids):
    c = np.sort(np.asarray(centroids, dtype=np.float64))
    idx = np.clip(np.searchsorted(c, x), 1, len(c) - 1) if len(c) > 1 else np.zeros(len(x), int)
    if len(c) == 1:
        return float(np.sum((x - c[0]) ** 2))
    d = np.minimum(np.abs(x - c[idx - 1]), np.abs(x - c[idx]))
    return float(np.sum(d * d))


def layer_table(cli, model, tmp, extra):
    orig = initializers(model)
    reports = {m: compress(cli, model, os.path.join(tmp, m), m, extra) for m in ("drop", "split")}
    dec = initializers(os.path.join(tmp, "split.onnx"))
    print(f"\n{os.path.basename(model)} ({' '.join(extra) or 'default settings'})\n")
    print("| layer | kept | k | drop clusters | drop SSE | split clusters | split SSE | sklearn k-means++ SSE | sklearn linear-init SSE | drop/split | split/sklearn++ |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for d, s in zip(reports["drop"]["layers"], reports["split"]["layers"]):
        if not s.get("compressed") or s.get("clusters", 0) == 0:
            continue
        name, k = s["name"], 1 << s["bits"]
        w = orig[name].ravel().astype(np.float64)
        x = w[dec[name].ravel() != 0]
        if len(np.unique(x)) <= k:
            continue  # every value its own centroid: SSE 0 on every side
        km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(x.reshape(-1, 1))
        lin = np.linspace(x.min(), x.max(), k).reshape(-1, 1)
        kl = KMeans(n_clusters=k, init=lin, n_init=1).fit(x.reshape(-1, 1))
        sk, skl = sse(x, km.cluster_centers_.ravel()), sse(x, kl.cluster_centers_.ravel())
        print(f"| {name} | {len(x)} | {k} | {d['clusters']} | {d['sse']:.4g} | {s['clusters']} | "
              f"{s['sse']:.4g} | {sk:.4g} | {skl:.4g} | {d['sse'] / s['sse']:.2f} | {s['sse'] / sk:.2f} |")
        rows.append((d["sse"], s["sse"], sk))
    return rows


def accuracy(cli, model, images, labels, tmp, extra, eval_extra=()):
    out = []
    for mode in ("drop", "split"):
        compress(cli, model, os.path.join(tmp, "acc_" + mode), mode, extra)
        r = run([cli, "eval", os.path.join(tmp, "acc_" + mode + ".dcz"), "--images", images,
                 "--labels", labels, "--json"] + list(eval_extra))
        import json
        out.append(json.loads(r)["top1"])
    base = json.loads(run([cli, "eval", model, "--images", images, "--labels", labels, "--json"] + list(eval_extra)))["top1"]
    print(f"| {os.path.basename(model)} | {' '.join(extra)} | {base:.4f} | {out[0]:.4f} | {out[1]:.4f} |")


def main():
    cli, shared, src = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        for model, extra in [(f"{shared}/models/resnet_2b.onnx", []),
                             (f"{shared}/models/resnet_2b.onnx", ["--bits-conv", "4", "--bits-fc", "4"]),
                             (f"{shared}/models/mnist-net_256x2.onnx", ["--prune-fc", "0.9", "--bits-fc", "4"])]:
            layer_table(cli, model, tmp, extra)
        print("\n| model | settings | uncompressed top-1 | drop top-1 | split top-1 |")
        print("|---|---|---|---|---|")
        mnist = (f"{shared}/data/mnist/images-idx3-ubyte.gz", f"{shared}/data/mnist/labels-idx1-ubyte.gz")
        fashion = ("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                   "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        for bits in ("2", "3", "4"):
            accuracy(cli, f"{shared}/models/mnist-net_256x2.onnx", *mnist, tmp,
                     ["--prune-fc", "0.9", "--bits-fc", bits])
        for bits in ("2", "3", "4"):
            accuracy(cli, f"{src}/models/lenet-300-100.onnx", *fashion, tmp,
                     ["--prune-fc", "0.5", "--bits-fc", bits])
            accuracy(cli, f"{src}/models/lenet-5.onnx", *fashion, tmp,
                     ["--prune-conv", "0.5", "--prune-fc", "0.5", "--bits-conv", bits, "--bits-fc", bits])


if __name__ == "__main__":
    main()
