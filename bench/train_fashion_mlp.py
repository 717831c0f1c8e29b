#!/usr/bin/python3
"""Trains a ~1.07M-parameter MLP (784-1024-256-10, ReLU) on Fashion-MNIST and writes it as ONNX
with a free batch dimension: the "1M-parameter model" of the sensitivity timing (issue 15).
Seeded; Adam (lr 1e-3, batch 128) on the first LIMIT training images (default 20000: the
shared 2-core machine trained 3 epochs of the 60k for over 9 CPU minutes without finishing),
EPOCHS times (default 1), pixels / 255. The test top-1 is printed.

Usage: /usr/bin/python3 bench/train_fashion_mlp.py FASHION_DIR OUT.onnx [EPOCHS [LIMIT]]
"""
import gzip
import sys

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    root, out = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x = torch.tensor(idx(f"{root}/train-images-idx3-ubyte.gz")[:limit].reshape(-1, 784) / 255.0,
                     dtype=torch.float32)
    y = torch.tensor(idx(f"{root}/train-labels-idx1-ubyte.gz")[:limit].astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(),
                                torch.nn.Linear(1024, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = perm[i:i + 128]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            opt.step()
    tx = torch.tensor(idx(f"{root}/t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0,
                      dtype=torch.float32)
    ty = idx(f"{root}/t10k-labels-idx1-ubyte.gz")
    with torch.no_grad():
        acc = (model(tx).argmax(1).numpy() == ty).mean()
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} parameters, test top-1 {acc:.4f}")
    torch.onnx.export(model, torch.zeros(1, 784), out, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      opset_version=13)


if __name__ == "__main__":
    main()
