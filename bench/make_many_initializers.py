#!/usr/bin/python3
"""Writes an ONNX model with N one-element initializers and N nodes (y = x + c0 + c1 + ... as a
chain of Add nodes), for the lookup scale check (bench/lookup_scale.sh).
Usage: make_many_initializers.py OUT.onnx N"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, n = sys.argv[1], int(sys.argv[2])
inits, nodes = [], []
prev = "x"
for i in range(n):
    c = f"c{i}"
    inits.append(numpy_helper.from_array(np.array([0.001 * (i % 7)], dtype=np.float32), c))
    y = f"v{i}" if i < n - 1 else "y"
    nodes.append(helper.make_node("Add", [prev, c], [y], name=f"add{i}"))
    prev = y
graph = helper.make_graph(
    nodes, "many", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, out)
