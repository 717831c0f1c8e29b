#!/usr/bin/python3
"""What accuracy LeNet-300-100 can keep on Fashion-MNIST at ~92% sparsity: a PyTorch reference.

Iterative magnitude pruning (per layer, to the paper's rates by default: fc1 92%, fc2 91%,
fc3 74%) in --steps steps, each followed by --epochs of masked fine-tuning (pruned weights
held at 0, their gradients and optimizer state zeroed), from models/lenet-300-100.onnx's
weights. Not part of deepcomp: it tells what the architecture allows, so that deepcomp's own
retraining can be judged against it (bench/RESULTS.md, Retraining).

    /usr/bin/python3 bench/retrain_torch_reference.py --optimizer adam --lr 1e-4 --steps 3 --epochs 2
"""

import argparse
import gzip
import os
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch.nn import functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    x = read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return torch.from_numpy(x.reshape(len(y), 784)), torch.from_numpy(y)


def linear(x, w, b):
    # 1x1 convolution: oneDNN instead of Debian torch's reference BLAS (see models/train.py).
    return F.conv2d(x.reshape(x.shape[0], -1, 1, 1), w.reshape(w.shape[0], w.shape[1], 1, 1), b).flatten(1)


def forward(p, x):
    h = torch.relu(linear(x, p["fc1.weight"], p["fc1.bias"]))
    h = torch.relu(linear(h, p["fc2.weight"], p["fc2.bias"]))
    return linear(h, p["fc3.weight"], p["fc3.bias"])


def accuracy(p, x, y):
    with torch.no_grad():
        return float((forward(p, x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rates", default="0.92,0.91,0.74", help="fc1,fc2,fc3 sparsity")
    ap.add_argument("--cosine", action="store_true", help="cosine learning rate per step")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = load("train")
    xt, yt = load("t10k")
    model = onnx.load(os.path.join(REPO, "models", "lenet-300-100.onnx"))
    p = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).requires_grad_(True)
         for t in model.graph.initializer}
    rates = dict(zip(["fc1.weight", "fc2.weight", "fc3.weight"], map(float, args.rates.split(","))))
    print(f"baseline test top-1 {100 * accuracy(p, xt, yt):.2f}%")
    masks = {k: torch.ones_like(p[k], dtype=torch.bool) for k in rates}
    t0 = time.time()
    for step in range(1, args.steps + 1):
        with torch.no_grad():
            for k, rate in rates.items():
                target = rate * step / args.steps
                w = p[k]
                kth = int(round(target * w.numel()))
                if kth > 0:
                    thr = w.abs().flatten().kthvalue(kth).values
                    masks[k] &= w.abs() > thr
                w.mul_(masks[k])
        pruned = accuracy(p, xt, yt)
        params = list(p.values())
        opt = (torch.optim.Adam(params, lr=args.lr) if args.optimizer == "adam"
               else torch.optim.SGD(params, lr=args.lr, momentum=0.9))
        n = len(y)
        total = args.epochs * ((n + args.batch - 1) // args.batch)
        it = 0
        for e in range(args.epochs):
            perm = torch.randperm(n)
            for b in range(0, n, args.batch):
                if args.cosine:
                    for g in opt.param_groups:
                        g["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * it / total))
                idx = perm[b:b + args.batch]
                opt.zero_grad()
                F.cross_entropy(forward(p, x[idx]), y[idx]).backward()
                for k in masks:
                    p[k].grad.mul_(masks[k])
                opt.step()
                with torch.no_grad():
                    for k in masks:
                        p[k].mul_(masks[k])
                it += 1
        kept = sum(int(m.sum()) for m in masks.values())
        total_w = sum(m.numel() for m in masks.values())
        print(f"step {step}/{args.steps}: sparsity {100 * (1 - kept / total_w):.1f}%, pruned {100 * pruned:.2f}%, "
              f"retrained {100 * accuracy(p, xt, yt):.2f}% ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
