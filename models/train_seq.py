#!/usr/bin/python3
"""Trains two small sequence models on Fashion-MNIST (each image read as a sequence of its 28
rows of 28 pixels) and exports them to ONNX: a transformer encoder classifier and an LSTM
classifier. They give deepcomp's runtime and compressor real attention and recurrent graphs with
trained weights, small enough to commit (< 1 MB each).

Holds: the two model definitions, the seeded training loop, the export and the accuracy checks
(PyTorch, then ONNX Runtime through bench/ort_eval.js). The IDX reader, the seeds and the ORT check
come from train.py.
Must not depend on: torchvision or any download; deepcomp itself.

Run with Debian's Python (the pyenv `python3` on PATH has no torch):
    /usr/bin/python3 models/train_seq.py [--only seq-transformer|seq-lstm] [--out-dir DIR]
Same interface as the LeNets: input float32 [N,1,28,28] = pixel / 255, output logits [N,10].
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import REPO, SEED, accuracy, count_params, load_split, ort_accuracy  # noqa: E402

ROWS, COLS = 28, 28


class SeqLinear(nn.Linear):
    """nn.Linear over the last axis of [N, T, in] that trains through oneDNN, exports as MatMul.

    As in train.py's Linear: Debian's torch uses the reference BLAS, so the product runs as a 1x1
    convolution while training; the export sees the plain F.linear (MatMul + Add).
    """

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return F.linear(x, self.weight, self.bias)
        lead = x.shape[:-1]
        w = self.weight.reshape(self.out_features, self.in_features, 1, 1)
        y = F.conv2d(x.reshape(-1, self.in_features, 1, 1), w, self.bias)
        return y.reshape(*lead, self.out_features)


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: x + MHA(LN(x)), then x + FFN(LN(x)), GELU in the FFN.

    Written out (rather than nn.TransformerEncoderLayer) so that the exported graph is the plain
    MatMul / Softmax / LayerNorm-decomposition / Erf form that most exported transformers have.
    """

    def __init__(self, dim, heads, ff):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = SeqLinear(dim, 3 * dim)
        self.proj = SeqLinear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = SeqLinear(dim, ff)
        self.ff2 = SeqLinear(ff, dim)

    def forward(self, x):
        n, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.norm1(x)).reshape(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(n, t, d))
        return x + self.ff2(F.gelu(self.ff1(self.norm2(x))))


class SeqTransformer(nn.Module):
    """Rows -> linear embedding + learned positions -> 2 encoder layers -> LN -> mean -> 10."""

    def __init__(self, dim=64, heads=4, ff=128, layers=2):
        super().__init__()
        self.embed = SeqLinear(COLS, dim)
        self.pos = nn.Parameter(torch.randn(1, ROWS, dim) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = SeqLinear(dim, 10)

    def forward(self, x):
        x = self.embed(x.reshape(-1, ROWS, COLS)) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=1))


class SeqLSTM(nn.Module):
    """Rows -> one LSTM layer (hidden 96) -> last hidden state -> 10."""

    def __init__(self, hidden=96):
        super().__init__()
        self.lstm = nn.LSTM(COLS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x.reshape(-1, ROWS, COLS))
        return self.head(h[-1])


def train(model, x, y, epochs, lr, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(x.shape[0] / batch)
    # Cosine decay to zero: a few epochs reach a better accuracy than a constant rate.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        t0 = time.time()
        for i in range(0, x.shape[0], batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.numel()
        print(f"  epoch {epoch + 1}/{epochs}: mean loss {total / x.shape[0]:.4f} "
              f"({time.time() - t0:.1f} s)", flush=True)


def export(model, path):
    """Opset 13, symbolic batch 'N'; returns the sha256 of the file."""
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, ROWS, COLS), buf, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True, export_params=True)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(REPO, "models"))
    parser.add_argument("--only", choices=["seq-transformer", "seq-lstm"], default=None)
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if not torch.set_flush_denormal(True):
        print("note: this CPU cannot flush subnormals; training may be slow", file=sys.stderr)
    random.seed(SEED)
    np.random.seed(SEED)

    t_start = time.time()
    x_train, y_train = load_split("train")
    x_test, y_test = load_split("t10k")
    configs = [
        # name, class, epochs, Adam lr, batch size
        ("seq-transformer", SeqTransformer, 3, 2e-3, 128),
        ("seq-lstm", SeqLSTM, 1, 3e-3, 128),
    ]
    summary = []
    for name, cls, epochs, lr, batch in configs:
        if args.only and args.only != name:
            continue
        epochs = args.epochs or epochs
        torch.manual_seed(SEED)
        model = cls()
        print(f"{name}: {count_params(model)} params; Adam lr {lr} (cosine), batch {batch}, "
              f"{epochs} epochs", flush=True)
        t0 = time.time()
        train(model, x_train, y_train, epochs, lr, batch, SEED)
        train_s = time.time() - t0
        torch_correct = accuracy(model, x_test, y_test)
        path = os.path.join(args.out_dir, f"{name}.onnx")
        digest = export(model, path)
        ort = ort_accuracy(path)
        row = {"model": name, "params": count_params(model), "epochs": epochs, "lr": lr,
               "batch": batch, "seed": SEED, "train_seconds": round(train_s, 1),
               "torch_top1_correct": torch_correct, "onnx_bytes": os.path.getsize(path),
               "onnx_sha256": digest}
        if ort is not None:
            row.update({"ort_top1_correct": ort["top1_correct"], "ort_top5": ort["top5"]})
        summary.append(row)
        print(f"  wrote {path} ({row['onnx_bytes']} bytes); PyTorch top-1 {torch_correct}/"
              f"{len(y_test)}" + (f", ORT top-1 {ort['top1_correct']}" if ort else ""), flush=True)
    print(f"total time {time.time() - t_start:.1f} s")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
