#!/usr/bin/python3
"""Writes a large MLP (float32 weights in an external data file) for bench/big_model.sh.

Usage: /usr/bin/python3 bench/make_big_model.py OUT.onnx [--width 16384] [--layers 3]
                                                [--dtype float32|float16|bfloat16] [--data NAME]
Default: 3 Gemm layers of 16384 x 16384 = 3 x 1 GiB = 3 GiB of weights in OUT.onnx.data.
Weights are N(0, 0.02) from a fixed seed, written one layer at a time so this script itself
needs about one layer of memory. --data NAME: point at an existing data file NAME beside OUT
written by a run with as many layers or more (the same seed gives the same first layers), and
write only OUT: models of several sizes then share one data file.
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
p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
p.add_argument("--data")
a = p.parse_args()

data_name = a.data or os.path.basename(a.out) + ".data"
data_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), data_name)
onnx_type = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16,
             "bfloat16": TensorProto.BFLOAT16}[a.dtype]


def to_bytes(w):
    if a.dtype == "float32":
        return w.tobytes()
    if a.dtype == "float16":
        return w.astype(np.float16).tobytes()
    # bfloat16: round to nearest even on the high 16 bits of the float32 pattern
    u = w.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).tobytes()


if a.data:
    need = 0
    for i in range(a.layers):
        need += a.width * a.width * {"float32": 4}.get(a.dtype, 2)
    assert os.path.getsize(data_path) >= need, f"{data_path} is shorter than {a.layers} layers"
rng = np.random.default_rng(0)
inits, nodes = [], []
prev = "x"
offset = 0
with open(os.devnull if a.data else data_path, "wb") as f:
    for i in range(a.layers):
        if a.data:
            raw_len = a.width * a.width * {"float32": 4}.get(a.dtype, 2)
        else:
            w = rng.standard_normal((a.width, a.width), dtype=np.float32) * np.float32(0.02)
            raw = to_bytes(w)
            raw_len = len(raw)
            f.write(raw)
            del w, raw
        t = onnx.TensorProto()
        t.name, t.data_type = f"fc{i}.weight", onnx_type
        t.dims.extend([a.width, a.width])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(raw_len))):
            e = t.external_data.add()
            e.key, e.value = k, v
        offset += raw_len
        inits.append(t)
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight"], [f"h{i}"], name=f"fc{i}", transB=1))
        prev = f"h{i}"
        if i + 1 < a.layers:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
g = helper.make_graph(nodes, "big_mlp", [helper.make_tensor_value_info("x", onnx_type, ["N", a.width])],
                      [helper.make_tensor_value_info(prev, onnx_type, ["N", a.width])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_big_model")
with open(a.out, "wb") as f:
    f.write(m.SerializeToString())
print(f"wrote {a.out} and {data_path} ({offset / 2**30:.2f} GiB of weights)")
