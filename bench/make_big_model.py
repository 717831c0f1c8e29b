#!/usr/bin/python3
"""Writes a large MLP (float32 weights in an external data file) for bench/big_model.sh.

Usage: /usr/bin/python3 bench/make_big_model.py OUT.onnx [--width 16384] [--layers 3]
Default: 3 Gemm layers of 16384 x 16384 = 3 x 1 GiB = 3 GiB of weights in OUT.onnx.data.
Weights are N(0, 0.02) from a fixed seed, written one layer at a time so this script itself
needs about one layer of memory.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--width", type=int, default=16384)
p.add_argument("--layers", type=int, default=3)
a = p.parse_args()

data_name = os.path.basename(a.out) + ".data"
data_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), data_name)
rng = np.random.default_rng(0)
inits, nodes = [], []
prev = "x"
offset = 0
with open(data_path, "wb") as f:
    for i in range(a.layers):
        w = rng.standard_normal((a.width, a.width), dtype=np.float32) * np.float32(0.02)
        raw = w.tobytes()
        f.write(raw)
        t = onnx.TensorProto()
        t.name, t.data_type = f"fc{i}.weight", TensorProto.FLOAT
        t.dims.extend([a.width, a.width])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        offset += len(raw)
        del w, raw
        inits.append(t)
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight"], [f"h{i}"], name=f"fc{i}", transB=1))
        prev = f"h{i}"
        if i + 1 < a.layers:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
g = helper.make_graph(nodes, "big_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", a.width])],
                      [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", a.width])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_big_model")
with open(a.out, "wb") as f:
    f.write(m.SerializeToString())
print(f"wrote {a.out} and {data_path} ({offset / 2**30:.2f} GiB of weights)")
