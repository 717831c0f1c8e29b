#!/usr/bin/env python3
"""Writes single-node LSTM / GRU / RNN models that cover the attributes the PyTorch references do
not (reverse, sequence_lens, peepholes, clip, input_forget, activation lists with alpha / beta,
omitted outputs), with random inputs as .npy. (Layout 1 is covered by the ONNX backend tests
lstm/gru/simple_rnn_batchwise: ONNX Runtime does not implement it.) ONNX Runtime computes their expected
outputs (ort_variants.js); tests/runtime/rnn_variants_test.cc checks the runtime against them.

W, R, B, P and sequence_lens are initializers (so the runtime's constant and sparse weight paths
run); X and the initial states are float32 graph inputs, saved as NAME_in0.npy, NAME_in1.npy, ...
in graph input order. Run from the repository root, then ort_variants.js:
  python3 tests/runtime/rnn_reference/make_variants.py
  NODE_PATH=bench/node_modules node tests/runtime/rnn_reference/ort_variants.js
"""
import os
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def variant(name, op, seq, batch, inp, hidden, attrs, seq_lens=None, peepholes=False,
            states=("h",), outputs=None):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    layout = attrs.get("layout", 0)  # kept general, though ONNX Runtime runs layout 0 only
    g = GATES[op]
    inits = [
        numpy_helper.from_array(rng.uniform(-0.7, 0.7, (dirs, g * hidden, inp)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.uniform(-0.7, 0.7, (dirs, g * hidden, hidden)).astype(np.float32), "R"),
        numpy_helper.from_array(rng.uniform(-0.5, 0.5, (dirs, 2 * g * hidden)).astype(np.float32), "B"),
    ]
    node_inputs = ["X", "W", "R", "B", "", "", "", ""]
    x_shape = (seq, batch, inp) if layout == 0 else (batch, seq, inp)
    state_shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
    graph_inputs = [("X", x_shape)]
    if seq_lens is not None:
        inits.append(numpy_helper.from_array(np.array(seq_lens, dtype=np.int32), "seq_lens"))
        node_inputs[4] = "seq_lens"
    if "h" in states:
        node_inputs[5] = "initial_h"
        graph_inputs.append(("initial_h", state_shape))
    if "c" in states:
        node_inputs[6] = "initial_c"
        graph_inputs.append(("initial_c", state_shape))
    if peepholes:
        inits.append(numpy_helper.from_array(rng.uniform(-0.5, 0.5, (dirs, 3 * hidden)).astype(np.float32), "P"))
        node_inputs[7] = "P"
    while node_inputs and node_inputs[-1] == "":
        node_inputs.pop()
    node_outputs = list(outputs or (("Y", "Y_h", "Y_c") if op == "LSTM" else ("Y", "Y_h")))
    y_shape = (seq, dirs, batch, hidden) if layout == 0 else (batch, seq, dirs, hidden)
    node = helper.make_node(op, node_inputs, node_outputs, hidden_size=hidden, **attrs)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in graph_inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, y_shape if n == "Y" else state_shape)
         for n in node_outputs if n],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))
    for k, (n, s) in enumerate(graph_inputs):
        np.save(os.path.join(HERE, f"{name}_in{k}.npy"), rng.standard_normal(s).astype(np.float32))


def main():
    variant("lstm_reverse_seqlens_peepholes", "LSTM", 5, 3, 3, 4, {"direction": "reverse"},
            seq_lens=[5, 2, 4], peepholes=True, states=("h", "c"))
    variant("lstm_bidir_clip_forget_acts", "LSTM", 4, 2, 3, 3,
            {"direction": "bidirectional", "clip": 0.8, "input_forget": 1,
             "activations": ["HardSigmoid", "LeakyRelu", "Softsign", "Sigmoid", "Elu", "Softplus"],
             "activation_alpha": [0.3, 0.05, 0.9], "activation_beta": [0.4]},
            seq_lens=[3, 4], peepholes=True, states=("h",))
    variant("gru_bidir_seqlens_acts", "GRU", 6, 3, 4, 3,
            {"direction": "bidirectional",
             "activations": ["Sigmoid", "ScaledTanh", "HardSigmoid", "Affine"],
             "activation_alpha": [1.2, 0.25, 0.9], "activation_beta": [0.7, 0.45, 0.1]},
            seq_lens=[6, 1, 3])
    variant("gru_reverse_lbr_clip_yh_only", "GRU", 5, 2, 3, 4,
            {"direction": "reverse", "linear_before_reset": 1, "clip": 1.1},
            seq_lens=[4, 5], outputs=("", "Y_h"))
    variant("rnn_bidir_relu_seqlens", "RNN", 5, 3, 3, 4,
            {"direction": "bidirectional", "activations": ["Relu", "ThresholdedRelu"],
             "activation_alpha": [0.1]},
            seq_lens=[2, 5, 3])
    variant("rnn_reverse_clip_no_states", "RNN", 4, 2, 3, 2, {"direction": "reverse", "clip": 0.6},
            states=())


if __name__ == "__main__":
    main()
