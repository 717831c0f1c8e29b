#!/usr/bin/python3
"""Accuracy-budget targets (issue 15), without retraining: on a real pretrained MNIST MLP,
`compress --max-loss 1.0` tuned on validation images against the best uniform setting (the same
prune rate and bits for every layer, from `deepcomp sweep` on the same images) that stays within
1 point, and both measured on held-out images never used for tuning.

Validation: the first 5000 images of the MNIST test set in ../shared/data/mnist; held-out: the
last 5000. Writes .npy copies in a temporary directory. Prints a Markdown summary.

Usage: /usr/bin/python3 bench/budget_targets.py DEEPCOMP SHARED_DIR [MODEL ...]
"""
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def run(cmd):
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out, time.time() - t0


def top1(cli, model, images, labels):
    out, _ = run([cli, "eval", model, "--images", images, "--labels", labels, "--json"])
    return json.loads(out)["top1"]


def main():
    cli, shared = sys.argv[1], sys.argv[2]
    models = sys.argv[3:] or [f"{shared}/models/mnist-net_256x2.onnx"]
    x = idx(f"{shared}/data/mnist/images-idx3-ubyte.gz")
    y = idx(f"{shared}/data/mnist/labels-idx1-ubyte.gz")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, sl in (("val", slice(0, 5000)), ("held", slice(5000, 10000))):
            files[name] = (f"{tmp}/{name}_x.npy", f"{tmp}/{name}_y.npy")
            np.save(files[name][0], x[sl].astype(np.float32))
            np.save(files[name][1], y[sl].astype(np.float32))
        print("| model | setting | ratio | validation top-1 | held-out top-1 | held-out loss (points) | seconds |")
        print("|---|---|---|---|---|---|---|")
        for model in models:
            base_val = top1(cli, model, *files["val"])
            base_held = top1(cli, model, *files["held"])
            name = os.path.basename(model)
            print(f"| {name} | uncompressed | 1.0 | {100 * base_val:.2f} | {100 * base_held:.2f} | 0 | |")
            # Best uniform setting within 1 point on the validation images: the 60-setting grid
            # of the target, then a finer one (2.5% rate steps) so the per-layer search is not
            # judged against a coarser baseline than its own.
            grids = (("0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "8,6,5,4,3,2"),
                     (",".join(f"{0.6 + 0.025 * k:.3f}" for k in range(13)), "5,4,3,2"))
            best = fine_best = None
            for prunes, bits in grids:
                _, sweep_s = run([cli, "sweep", model, "--images", files["val"][0], "--labels",
                                  files["val"][1], "--prune", prunes, "--bits", bits, "--init",
                                  "linear", "-o", f"{tmp}/sweep.csv", "-q", "--force"])
                rows = list(csv.DictReader(open(f"{tmp}/sweep.csv")))[1:]
                ok = [r for r in rows if float(r["top1"]) >= base_val - 0.01 - 1e-12]
                if not ok:
                    print(f"| {name} | uniform, {len(rows)} settings: none within 1 point | | | "
                          f"| | {sweep_s:.0f} (sweep) |")
                    continue
                grid_best = max(ok, key=lambda r: float(r["ratio"]))
                uni = f"{tmp}/uniform.dcz"
                run([cli, "compress", model, "-o", uni, "--force", "-q", "--no-energy", "--prune",
                     grid_best["prune"], "--bits-fc", grid_best["bits"], "--bits-conv",
                     grid_best["bits"]])
                uni_held = top1(cli, uni, *files["held"])
                print(f"| {name} | best uniform: prune {grid_best['prune']}, bits "
                      f"{grid_best['bits']} ({len(rows)} settings swept) | "
                      f"{float(grid_best['ratio']):.2f} | {100 * float(grid_best['top1']):.2f} | "
                      f"{100 * uni_held:.2f} | {100 * (base_held - uni_held):.2f} | "
                      f"{sweep_s:.0f} (sweep) |")
                if best is None:
                    best = grid_best  # the target's baseline: the 60-setting grid
                if float(grid_best["ratio"]) >= float(best["ratio"]):
                    fine_best = grid_best
            out = f"{tmp}/budget.dcz"
            stdout, secs = run([cli, "compress", model, "-o", out, "--force", "--no-energy",
                                "--report-json", f"{tmp}/budget.json", "--max-loss", "1.0",
                                "--val-images", files["val"][0], "--val-labels", files["val"][1]])
            s = json.load(open(f"{tmp}/budget.json"))["search"]
            held = top1(cli, out, *files["held"])
            settings = ", ".join(f"{l['name']} {l['prune']:g}/{l['bits']}" for l in s["layers"])
            print(f"| {name} | --max-loss 1.0: {settings} | {s['ratio']:.2f} | "
                  f"{100 * s['score']:.2f} | {100 * held:.2f} | {100 * (base_held - held):.2f} | "
                  f"{secs:.0f} |")
            print(f"\n{name}: budget/uniform ratio = {s['ratio'] / float(best['ratio']):.2f}x "
                  f"(against the finer uniform grid {s['ratio'] / float(fine_best['ratio']):.2f}x); "
                  f"{len(s['verifications'])} scored settings "
                  f"({sum(v['passed'] for v in s['verifications'])} passed); sensitivity "
                  f"{s['sensitivity_evaluations']} points, {s['sensitivity_full_evaluations']} on "
                  f"all {s['samples']} images\n")


if __name__ == "__main__":
    main()
