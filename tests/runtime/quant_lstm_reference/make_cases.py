#!/usr/bin/python3
"""Writes small com.microsoft DynamicQuantizeLSTM models and their inputs for
tests/runtime/quant_lstm_test.cc: <case>/model.onnx and <case>/in_K.npy (graph input order).
ONNX Runtime's outputs <case>/ort_K.npy then come from bench/ort_reference.js.

Covers forward, reverse and bidirectional; int8 and uint8 weights; per-direction and per-column
scales; bias, initial states, peepholes, clip, input_forget; batch 2. int8 weights stay in
[-64, 63]: ONNX Runtime's u8s8 kernels on AVX2 without VNNI add pairs of u8 * s8 products in
saturating int16, which full-range weights can reach (the runtime computes the exact sums).

Usage (repository root): /usr/bin/python3 tests/runtime/quant_lstm_reference/make_cases.py
then: for d in tests/runtime/quant_lstm_reference/*/; do node bench/ort_reference.js $d/model.onnx $d; done
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIR = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)
T, BATCH, I, H = 5, 2, 6, 4


def weights(dirs, rows, dtype, per_column):
    cols = 4 * H
    if dtype == np.int8:
        w = rng.integers(-64, 64, size=(dirs, rows, cols)).astype(np.int8)
        zp = np.zeros((dirs, cols) if per_column else (dirs,), np.int8)
    else:
        w = rng.integers(0, 256, size=(dirs, rows, cols)).astype(np.uint8)
        zp = np.full((dirs, cols) if per_column else (dirs,), 128, np.uint8)
    scale = rng.uniform(0.002, 0.02, size=zp.shape).astype(np.float32)
    return w, scale, zp


def case(name, direction, dtype, per_column, bias=True, states=False, peep=False, **attrs):
    dirs = 2 if direction == "bidirectional" else 1
    w, ws, wz = weights(dirs, I, dtype, per_column)
    r, rs, rz = weights(dirs, H, dtype, per_column)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "W"), (r, "R"), (ws, "W_scale"), (wz, "W_zero_point"), (rs, "R_scale"),
              (rz, "R_zero_point")]]
    inputs = {"X": rng.normal(0, 1, size=(T, BATCH, I)).astype(np.float32)}
    if bias:
        inits.append(numpy_helper.from_array(rng.normal(0, 0.3, size=(dirs, 8 * H)).astype(np.float32), "B"))
    if states:
        inputs["initial_h"] = rng.normal(0, 0.5, size=(dirs, BATCH, H)).astype(np.float32)
        inputs["initial_c"] = rng.normal(0, 0.5, size=(dirs, BATCH, H)).astype(np.float32)
    if peep:
        inits.append(numpy_helper.from_array(rng.normal(0, 0.3, size=(dirs, 3 * H)).astype(np.float32), "P"))
    node = helper.make_node(
        "DynamicQuantizeLSTM",
        ["X", "W", "R", "B" if bias else "", "", "initial_h" if states else "",
         "initial_c" if states else "", "P" if peep else "", "W_scale", "W_zero_point", "R_scale",
         "R_zero_point"],
        ["Y", "Y_h", "Y_c"], domain="com.microsoft", direction=direction, hidden_size=H, **attrs)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in inputs.items()],
        [onnx.ValueInfoProto(name=n) for n in ["Y", "Y_h", "Y_c"]], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 7
    d = os.path.join(DIR, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for k, a in enumerate(inputs.values()):
        np.save(os.path.join(d, f"in_{k}.npy"), a)


case("forward_s8_tensor", "forward", np.int8, False)
case("reverse_u8_column_states", "reverse", np.uint8, True, states=True)
case("bidirectional_s8_column_peep_clip", "bidirectional", np.int8, True, states=True, peep=True, clip=1.5)
case("forward_u8_input_forget_nobias", "forward", np.uint8, False, bias=False, input_forget=1)
