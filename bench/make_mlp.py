#!/usr/bin/python3
"""Writes a random MLP (Gemm layers with transB, ReLU between) as ONNX, for throughput benchmarks.

Usage: bench/make_mlp.py OUT.onnx 4096,9216,4096,1000   (layer widths, input first)
Weights are Laplacian-distributed like trained fc layers; the seed is fixed.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out, widths = sys.argv[1], [int(w) for w in sys.argv[2].split(",")]
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x = "input"
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        w = rng.laplace(0, 0.02, size=(fan_out, fan_in)).astype(np.float32)
        b = np.zeros(fan_out, dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"), numpy_helper.from_array(b, f"fc{i}.bias")]
        y = f"fc{i}"
        nodes.append(helper.make_node("Gemm", [x, f"fc{i}.weight", f"fc{i}.bias"], [y], transB=1, name=y))
        x = y
        if i + 2 < len(widths):
            nodes.append(helper.make_node("Relu", [x], [x + "_relu"], name=x + "_relu"))
            x = x + "_relu"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", widths[0]])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", widths[-1]])], inits)
    model = helper.make_model(graph, producer_name="deepcomp bench/make_mlp.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, out)
    print(out, sum(int(np.prod(t.dims)) for t in inits), "params")


if __name__ == "__main__":
    main()
