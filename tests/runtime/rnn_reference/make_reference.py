#!/usr/bin/env python3
"""Writes the PyTorch references that tests/runtime/rnn_torch_test.cc checks the runtime against.

For each of torch.nn.LSTM, GRU and RNN (2 layers, bidirectional, input 5, hidden 4; seed fixed) it
exports NAME.onnx (opset 14, constants folded so W, R and B are initializers) and saves the input,
the initial states and torch's outputs as .npy: NAME_x.npy [7, 3, 5] (seq, batch, input),
NAME_h0.npy / NAME_c0.npy [4, 3, 4], NAME_y.npy [7, 3, 8], NAME_hn.npy (and NAME_cn.npy) [4, 3, 4].
The GRU is batch_first (x [3, 7, 5], y [3, 7, 8]), so the exporter's transposes are covered too.

Run from the repository root: python3 tests/runtime/rnn_reference/make_reference.py
(needs torch and onnx; the generated files are committed, a few KB each).
"""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SEQ, BATCH, INPUT, HIDDEN, LAYERS = 7, 3, 5, 4, 2


def save(name, array):
    np.save(os.path.join(HERE, name + ".npy"), np.ascontiguousarray(array, dtype=np.float32))


def export(name, module, batch_first):
    torch.manual_seed({"lstm": 1, "gru": 2, "rnn": 3}[name])
    for p in module.parameters():
        torch.nn.init.uniform_(p, -0.6, 0.6)
    shape = (BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT)
    x = torch.randn(*shape)
    h0 = torch.randn(LAYERS * 2, BATCH, HIDDEN)
    states = (h0, torch.randn(LAYERS * 2, BATCH, HIDDEN)) if name == "lstm" else h0
    with torch.no_grad():
        y, final = module(x, states)
    inputs = ["x", "h0", "c0"] if name == "lstm" else ["x", "h0"]
    outputs = ["y", "hn", "cn"] if name == "lstm" else ["y", "hn"]
    torch.onnx.export(module, (x, states), os.path.join(HERE, name + ".onnx"), opset_version=14,
                      do_constant_folding=True, input_names=inputs, output_names=outputs)
    save(name + "_x", x.numpy())
    save(name + "_h0", h0.numpy())
    save(name + "_y", y.numpy())
    if name == "lstm":
        save(name + "_c0", states[1].numpy())
        save(name + "_hn", final[0].numpy())
        save(name + "_cn", final[1].numpy())
    else:
        save(name + "_hn", final.numpy())


def main():
    common = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=LAYERS, bidirectional=True)
    export("lstm", torch.nn.LSTM(**common), batch_first=False)
    export("gru", torch.nn.GRU(batch_first=True, **common), batch_first=True)
    export("rnn", torch.nn.RNN(nonlinearity="tanh", **common), batch_first=False)


if __name__ == "__main__":
    main()
