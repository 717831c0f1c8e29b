#!/usr/bin/python3
"""Trains the project's two default models on Fashion-MNIST and exports them to ONNX.

Holds: an IDX reader (gzip + numpy), the LeNet-300-100 and LeNet-5 (Caffe variant)
definitions, a seeded training loop, the ONNX export and the accuracy checks
(PyTorch, then ONNX Runtime through bench/ort_eval.js).
Must not depend on: torchvision or any download; deepcomp itself (the models it
writes are deepcomp's *input*, so they are produced independently of it).

Run with Debian's Python (the pyenv `python3` on PATH has no torch):
    /usr/bin/python3 models/train.py
Inputs are pixel / 255 in [0, 1] with no mean/std normalization, so deepcomp eval
needs only `--scale 1/255` (0.00392156862745098) for these models.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 20160201  # arbitrary, fixed; the ICLR 2016 publication month

# IDX element-type codes (third byte of the magic number) -> numpy big-endian dtype.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Reads a (gzipped) IDX file into a numpy array, checking the header against the size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dims)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: dims {dims} need {expected} data bytes, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def load_split(split):
    images = read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz"))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{split}: images {images.shape} do not match labels {labels.shape}")
    # pixel / 255 only: no mean/std, so the exported model's preprocessing is just --scale 1/255.
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class Linear(nn.Linear):
    """nn.Linear that trains through oneDNN but exports as a plain Gemm.

    Debian's torch links the reference (netlib) BLAS, which makes F.linear ~10x slower than
    the same product run as a 1x1 convolution through oneDNN (MKL-DNN). Outside ONNX export
    the product is therefore computed as conv2d([N,in,1,1], [out,in,1,1]); the parameters, the
    maths and the exported graph (Gemm, transB=1) are those of nn.Linear.
    """

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return F.linear(x, self.weight, self.bias)
        w = self.weight.reshape(self.out_features, self.in_features, 1, 1)
        return F.conv2d(x.reshape(x.shape[0], self.in_features, 1, 1), w, self.bias).flatten(1)


class LeNet300100(nn.Module):
    """784-300-100-10 MLP with ReLU; takes [N,1,28,28] and flattens inside the graph."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten(1)
        self.fc1 = Linear(784, 300)
        self.fc2 = Linear(300, 100)
        self.fc3 = Linear(100, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """Caffe's LeNet (examples/mnist/lenet.prototxt), the paper's LeNet-5.

    conv 20@5x5 -> maxpool 2 -> conv 50@5x5 -> maxpool 2 -> fc 500 -> ReLU -> fc 10.
    Like Caffe, there is no ReLU after the convolutions (the only non-linearities are the
    max-pools and the ReLU after fc 500).
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten(1)
        self.fc1 = Linear(50 * 4 * 4, 500)
        self.fc2 = Linear(500, 10)

    def forward(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = torch.relu(self.fc1(self.flatten(x)))
        return self.fc2(x)


def deepcomp_holdout(n, seed, fraction=0.1):
    """The indices `compress --retrain` holds out when no validation set is given.

    Mirrors train::split_holdout: the first floor(n * fraction) entries of train::epoch_order(n,
    seed, 0) (a Fisher-Yates shuffle with std::mt19937_64, reproduced in bench/train_vs_torch.py).
    """
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from train_vs_torch import epoch_order  # noqa: E402 (needs torch and numpy, as this script)
    return np.array(sorted(epoch_order(n, seed, 0)[:int(np.floor(n * fraction))]), dtype=np.int64)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct


def train(model, x, y, epochs, lr, batch, seed):
    # The shuffling generator is separate from the global one so that the order of batches
    # depends only on the seed, not on how many random numbers initialization consumed.
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        t0 = time.time()
        for i in range(0, x.shape[0], batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * idx.numel()
        print(f"  epoch {epoch + 1}/{epochs}: mean loss {total / x.shape[0]:.4f} "
              f"({time.time() - t0:.1f} s)", flush=True)


def export(model, path):
    """Exports with opset 13 and a symbolic batch axis 'N'; returns the sha256 of the file."""
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), buf, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True, export_params=True)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def ort_accuracy(onnx_path):
    """Runs the exported file with ONNX Runtime via bench/ort_eval.js; None when unavailable."""
    script = os.path.join(REPO, "bench", "ort_eval.js")
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(REPO, "bench", "node_modules", "onnxruntime-node")):
        print("  ONNX Runtime check skipped: needs node and `npm install` in bench/", flush=True)
        return None
    cmd = [node, script, onnx_path,
           "--images", os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"),
           "--labels", os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz"),
           "--scale", "0.00392156862745098", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(REPO, "models"))
    parser.add_argument("--only", choices=["lenet-300-100", "lenet-5"], default=None)
    parser.add_argument("--without-holdout", type=int, metavar="SEED", default=None,
                        help="train without the 10%% of the training set that `deepcomp compress "
                        "--retrain --train-seed SEED` holds out for validation (deepcomp's default "
                        "seed is 0), and write NAME-split.onnx: a model that never saw the images "
                        "its compression budget is measured on")
    args = parser.parse_args()

    # Reproducibility: fixed seeds everywhere, deterministic kernels, fixed thread count
    # (float reductions can split differently with another thread count; one thread also
    # behaves far better than two OpenMP threads when the 2-core machine is shared).
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # Adam's moment estimates for weights that never get a gradient (the always-zero border
    # pixels of Fashion-MNIST) decay geometrically into subnormal floats after ~2 epochs, and
    # subnormal arithmetic made each epoch ~50x slower. Flushing them to zero removes that.
    if not torch.set_flush_denormal(True):
        print("note: this CPU cannot flush subnormals; training may be slow", file=sys.stderr)
    random.seed(SEED)
    np.random.seed(SEED)

    t_start = time.time()
    x_train, y_train = load_split("train")
    x_test, y_test = load_split("t10k")
    suffix = ""
    if args.without_holdout is not None:
        held = deepcomp_holdout(x_train.shape[0], args.without_holdout)
        keep = np.ones(x_train.shape[0], dtype=bool)
        keep[held] = False
        x_train, y_train = x_train[torch.from_numpy(keep)], y_train[torch.from_numpy(keep)]
        suffix = "-split"
        print(f"holding out {len(held)} training images (deepcomp's seed {args.without_holdout}; "
              f"first indices {held[:5].tolist()})", flush=True)
    print(f"Fashion-MNIST: train {tuple(x_train.shape)}, test {tuple(x_test.shape)}; "
          f"torch {torch.__version__}, onnx {onnx.__version__}, seed {SEED}", flush=True)

    configs = [
        # name, class, epochs, Adam lr, batch size
        ("lenet-300-100", LeNet300100, 15, 1e-3, 128),
        ("lenet-5", LeNet5, 12, 1e-3, 128),
    ]
    summary = []
    for name, cls, epochs, lr, batch in configs:
        if args.only and args.only != name:
            continue
        torch.manual_seed(SEED)
        model = cls()
        t0 = time.time()
        print(f"{name}: {count_params(model)} params; Adam lr {lr}, batch {batch}, "
              f"{epochs} epochs", flush=True)
        train(model, x_train, y_train, epochs, lr, batch, SEED)
        train_s = time.time() - t0
        torch_correct = accuracy(model, x_test, y_test)
        path = os.path.join(args.out_dir, f"{name}{suffix}.onnx")
        digest = export(model, path)
        ort = ort_accuracy(path)
        row = {"model": name, "params": count_params(model), "epochs": epochs, "lr": lr,
               "batch": batch, "seed": SEED, "train_seconds": round(train_s, 1),
               "torch_top1_correct": torch_correct, "torch_top1": torch_correct / len(y_test),
               "onnx_bytes": os.path.getsize(path), "onnx_sha256_16": digest[:16]}
        if ort is not None:
            row.update({"ort_top1_correct": ort["top1_correct"], "ort_top1": ort["top1"],
                        "ort_top5": ort["top5"]})
        summary.append(row)
        print(f"  wrote {path} ({row['onnx_bytes']} bytes, sha256 {digest[:16]})")
        print(f"  PyTorch test top-1: {torch_correct}/{len(y_test)} = {torch_correct / len(y_test):.4f}")
        if ort is not None:
            print(f"  ONNX Runtime test top-1: {ort['top1_correct']}/{ort['count']} = "
                  f"{ort['top1']:.4f}, top-5 {ort['top5']:.4f}", flush=True)
            if ort["top1_correct"] != torch_correct:
                print("  WARNING: PyTorch and ONNX Runtime disagree on the correct count",
                      file=sys.stderr)
    print(f"total time {time.time() - t_start:.1f} s")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
