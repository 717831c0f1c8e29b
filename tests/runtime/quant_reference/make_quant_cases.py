#!/usr/bin/python3
"""Writes small quantized ONNX models and float inputs for tests/runtime/quant_ops_test.cc.

Every model takes float32 inputs and ends in float32 outputs (DequantizeLinear or Cast), so the
expected outputs from ONNX Runtime (ort_quant_cases.js) compare bit for bit: equal floats mean
equal integers inside. Covers what the backend node data leaves thin: per-channel QLinearConv
(int8 and uint8 weights, bias, groups, dilations, strides, pads), ConvInteger and MatMulInteger
behind DynamicQuantizeLinear (ONNX Runtime's dynamic quantizer form), per-column QLinearMatMul,
per-axis and blocked (opset 21) QuantizeLinear/DequantizeLinear, int16, and a QDQ Conv.

Usage (repository root): /usr/bin/python3 tests/runtime/quant_reference/make_quant_cases.py
then: NODE_PATH=bench/node_modules node tests/runtime/quant_reference/ort_quant_cases.js
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIR = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(19)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(name, nodes, inits, inputs, outputs, opset=13):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [onnx.ValueInfoProto(name=n) for n in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 21 else 10
    onnx.save(model, os.path.join(DIR, name + ".onnx"))
    for k, (_, shape) in enumerate(inputs):
        # Values on a grid finer than the scales, with exact ties (k + 0.5) * scale in the mix.
        x = rng.normal(0, 1.2, size=shape).astype(np.float32)
        np.save(os.path.join(DIR, f"{name}_in{k}.npy"), x)


def qlinearconv(name, wdtype, group, dil, stride, pads, xshape, m, kshape, per_channel_zp):
    c = xshape[1]
    # int8 weights stay in [-64, 63] (ONNX Runtime's reduce_range): on AVX2 without VNNI its u8s8
    # kernels add pairs of u8 * s8 products in saturating int16 (vpmaddubsw), so full-range int8
    # weights give results that differ from the ONNX definition (the runtime follows ONNX).
    w = rng.integers(-64 if wdtype == np.int8 else 0, 64 if wdtype == np.int8 else 256,
                     size=(m, c // group) + kshape).astype(wdtype)
    w_scale = rng.uniform(0.002, 0.01, size=m).astype(np.float32)
    # ONNX Runtime wants one w zero point value even per channel (0 for int8).
    w_zp = np.full(m, 0 if wdtype == np.int8 else per_channel_zp, dtype=wdtype)
    bias = rng.integers(-2000, 2000, size=m).astype(np.int32)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"],
                         group=group, dilations=[dil] * len(kshape), strides=[stride] * len(kshape),
                         pads=pads),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]),
    ]
    inits = [init("xs", np.float32(0.025)), init("xz", np.uint8(120)), init("w", w),
             init("ws", w_scale), init("wz", w_zp), init("ys", np.float32(0.05)),
             init("yz", np.uint8(131)), init("b", bias)]
    save(name, nodes, inits, [("x", list(xshape))], ["y"])


qlinearconv("qlinearconv_s8_perchannel", np.int8, 1, 1, 2, [1, 1, 1, 1], (1, 3, 11, 9), 5, (3, 3), 0)
qlinearconv("qlinearconv_u8_group_dilated", np.uint8, 2, 2, 1, [2, 1, 0, 2], (2, 4, 10, 10), 6,
            (3, 2), 121)
qlinearconv("qlinearconv_s8_1d", np.int8, 1, 1, 1, [1, 1], (1, 2, 17), 3, (4,), 0)

# ONNX Runtime's dynamic quantizer form: DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul.
w = rng.integers(0, 256, size=(4, 3, 3, 3)).astype(np.uint8)
nodes = [
    helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
    helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], pads=[1, 0, 1, 2]),
    helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
    helper.make_node("Mul", ["xs", "wsc"], ["s"]),
    helper.make_node("Mul", ["accf", "s"], ["y"]),
    helper.make_node("Cast", ["xz"], ["y_zp"], to=TensorProto.FLOAT),
]
save("convinteger_dynamic", nodes, [init("w", w), init("wz", np.uint8(117)),
                                    init("wsc", np.float32(0.004))],
     [("x", [1, 3, 8, 7])], ["y", "xs", "y_zp"])

b = rng.integers(-64, 64, size=(7, 6)).astype(np.int8)
nodes = [
    helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
    helper.make_node("MatMulInteger", ["xq", "b", "xz"], ["acc"]),
    helper.make_node("Cast", ["acc"], ["y"], to=TensorProto.FLOAT),
]
save("matmulinteger_dynamic", nodes, [init("b", b)], [("x", [2, 5, 7])], ["y"])

b = rng.integers(-64, 64, size=(9, 4)).astype(np.int8)
nodes = [
    helper.make_node("QuantizeLinear", ["x", "as", "az"], ["aq"]),
    helper.make_node("QLinearMatMul", ["aq", "as", "az", "b", "bs", "bz", "ys", "yz"], ["yq"]),
    helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]),
]
save("qlinearmatmul_percolumn", nodes,
     [init("as", np.float32(0.02)), init("az", np.int8(-3)), init("b", b),
      init("bs", rng.uniform(0.005, 0.02, size=4).astype(np.float32)),
      init("bz", np.zeros(4, np.int8)), init("ys", np.float32(0.3)), init("yz", np.int8(5))],
     [("x", [3, 9])], ["y"])

# Per-axis QuantizeLinear -> DequantizeLinear (uint8 and int16), and the opset 21 blocked form.
nodes = [
    helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1),
    helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1),
]
save("qdq_per_axis", nodes,
     [init("s", np.array([0.01, 0.02, 0.005], np.float32)), init("z", np.array([10, 128, 250], np.uint8))],
     [("x", [2, 3, 4])], ["y"])
# Opset 21: int16 per axis, and the blocked form.
nodes = [
    helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1, block_size=3),
    helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1, block_size=3),
    helper.make_node("QuantizeLinear", ["x", "s16", "z16"], ["q16"], axis=-1),
    helper.make_node("DequantizeLinear", ["q16", "s16", "z16"], ["y16"], axis=-1),
]
save("qdq_blocked_int16", nodes,
     [init("s", rng.uniform(0.01, 0.03, size=(2, 3, 4)).astype(np.float32)),
      init("z", rng.integers(-20, 20, size=(2, 3, 4)).astype(np.int8)),
      init("s16", np.array([1e-4, 3e-5, 2e-4, 7e-5], np.float32)),
      init("z16", np.array([-7, 0, 100, -300], np.int16))],
     [("x", [2, 8, 4])], ["y", "y16"], opset=21)

# A QDQ Conv as ONNX Runtime's static quantizer writes it (per-channel int8 weight, axis 0).
w = rng.integers(-64, 64, size=(4, 2, 3, 3)).astype(np.int8)
nodes = [
    helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
    helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
    helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
    helper.make_node("Conv", ["xd", "wd"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
    helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["y"]),
]
save("qdq_conv", nodes,
     [init("xs", np.float32(0.02)), init("xz", np.uint8(128)), init("w", w),
      init("ws", rng.uniform(0.002, 0.01, size=4).astype(np.float32)), init("wz", np.zeros(4, np.int8)),
      init("ys", np.float32(0.04)), init("yz", np.uint8(100))],
     [("x", [1, 2, 6, 6])], ["y"])
print("wrote", DIR)
