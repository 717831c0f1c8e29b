#!/usr/bin/python3
"""Writes the small committed seed corpus tests/fuzz/corpus/<target>/ (deterministic).

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py DEEPCOMP_BINARY [OUT_DIR]
Tiny ONNX models (made here with onnx.helper), their .dcz files (written by the deepcomp binary),
hand-made symbol streams / index codes in the byte layouts tests/fuzz/targets.h reads, small .npy
and IDX arrays, and random floats for the round-trip target. bench/fuzz.sh adds the big models.
"""
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

binary = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "corpus")
rng = np.random.default_rng(0)


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    return os.path.join(d, name)


def mlp(sizes):
    nodes, inits = [], []
    prev = "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 0.1, (b, a)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"),
                  numpy_helper.from_array(np.zeros(b, np.float32), f"fc{i}.bias")]
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [f"h{i}"],
                                      name=f"fc{i}", transB=1))
        prev = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", sizes[-1]])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_corpus")


def convnet():
    w = rng.normal(0, 0.1, (4, 1, 3, 3)).astype(np.float32)
    fc = rng.normal(0, 0.1, (10, 4 * 4 * 4)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "fc.weight"], ["y"], name="fc")]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                          [numpy_helper.from_array(w, "conv.weight"), numpy_helper.from_array(fc.T.copy(), "fc.weight")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_corpus")


tmp = os.path.join(out, "..", "_tmp")
os.makedirs(tmp, exist_ok=True)
for name, model in [("mlp_16_8_4", mlp([16, 8, 4])), ("mlp_64_32_10", mlp([64, 32, 10])), ("conv", convnet())]:
    data = model.SerializeToString()
    path = put("onnx_parse", name + ".onnx", data)
    for flags, tag in [("--prune 0.5", "p50"), ("--prune 0.9 --init kmeans++", "p90"),
                       ("--no-prune --layer '*=bits:2'", "dense")]:
        dcz = os.path.join(tmp, f"{name}_{tag}.dcz")
        subprocess.run(f"'{binary}' compress '{path}' -o '{dcz}' --force -q {flags}", shell=True, check=True)
        put("container", f"{name}_{tag}.dcz", open(dcz, "rb").read())
        os.remove(dcz)
os.rmdir(tmp)

# symbol_stream: mode, alphabet u16, count u32, then lengths (u16 count + bytes) or fixed width, bits.
put("symbol_stream", "fixed4", struct.pack("<BHIB", 0, 16, 6, 4) + bytes([0x21, 0x43, 0x65]))
put("symbol_stream", "huffman3", struct.pack("<BHIH", 1, 3, 4, 3) + bytes([1, 2, 2]) + bytes([0b01101100]))
put("symbol_stream", "huffman_empty", struct.pack("<BHIH", 1, 2, 0, 2) + bytes([0, 0]))
put("symbol_stream", "huge_count", struct.pack("<BHIB", 2, 4, 0xFFFFFFF0, 2) + bytes(8))
# relative_index: bits u8, numel u64, shift u8, nnz u32, codes u16 each.
put("relative_index", "gaps", struct.pack("<BQBI", 3, 20, 0, 3) + struct.pack("<3H", 1, 2, 3))
put("relative_index", "filler", struct.pack("<BQBI", 2, 16, 0, 1) + struct.pack("<4H", 0, 0, 0, 2))
put("relative_index", "huge_numel", struct.pack("<BQBI", 8, 1 << 62, 0, 2) + struct.pack("<2H", 5, 255))
# array: .npy and IDX.
def npy(a):
    import io
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()
put("array", "f4.npy", npy(rng.normal(size=(3, 4)).astype(np.float32)))
put("array", "u1.npy", npy(np.arange(12, dtype=np.uint8).reshape(2, 2, 3)))
put("array", "i8.npy", npy(np.arange(5, dtype=np.int64)))
put("array", "images.idx", struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(18)))
put("array", "labels.idx", struct.pack(">II", 0x801, 4) + bytes([1, 2, 3, 9]))
put("array", "float.idx", struct.pack(">II", 0x0D01, 2) + struct.pack(">2f", 1.5, -2.0))
# roundtrip: flags, prune, bits, index bits, init, iters, seed, cols, then float32 words.
for i in range(4):
    header = bytes([i, 50 + 10 * i, 3 + i, 2 + i, i, 5, 7, 8 + i])
    put("roundtrip", f"floats{i}", header + rng.normal(0, 1, 64 + 32 * i).astype(np.float32).tobytes())
# dcz_writer_reader: a settings byte (prune, bits, huffman, share), then each model above.
for name in ["mlp_16_8_4", "mlp_64_32_10", "conv"]:
    data = open(os.path.join(out, "onnx_parse", name + ".onnx"), "rb").read()
    for knobs in (0x00, 0x15, 0x36):
        put("dcz_writer_reader", f"{name}_{knobs:02x}", bytes([knobs]) + data)
