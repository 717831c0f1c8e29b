#!/usr/bin/env python3
"""Cross-checks deepcomp's indexing, Einsum, loss and signal operators against ONNX Runtime on
random inputs, in forms ONNX's backend node cases do not cover (opset 18 scatter reductions,
GatherND batch_dims, ellipsis Einsum, inverse and onesided DFT with padding, a 16 kHz log-mel front
end: HannWindow(400) -> STFT(step 160) -> |.|^2 -> MelWeightMatrix(80) -> log).

Each case is a small model built here (onnx.helper) with one float input; both runtimes run it
(bench/ort_run.js and `deepcomp run`) and the outputs must agree within atol + rtol * |ort|.
Usage: tests/scripts/ort_index_signal_check.py [BUILD_DIR (default build)]
Exit 0 = all agree, 1 = a mismatch, 77 = skipped (no node, no bench/node_modules, no deepcomp).
Needs python3 with numpy and onnx; node with bench/node_modules (cd bench && npm install).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

try:
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh
except ImportError:
    print("SKIP: needs the onnx Python package")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def ints(a, name, dtype=np.int64):
    return nh.from_array(np.array(a, dtype=dtype), name)


def floats(a, name):
    return nh.from_array(np.array(a, dtype=np.float32), name)


def cases(rng):
    """(name, input shape, nodes, initializers, opset, atol, rtol); the graph output is 'y'."""
    idx_nd = np.stack([np.zeros((7, 1), np.int64), rng.integers(-4, 4, (7, 1))], axis=-1)
    upd_nd = rng.standard_normal((7, 1, 5, 6))
    mel = [
        h.make_node("HannWindow", ["wsize"], ["win"]),
        h.make_node("STFT", ["x", "step", "win"], ["spec"]),
        h.make_node("Mul", ["spec", "spec"], ["sq"]),
        h.make_node("ReduceSum", ["sq", "axes"], ["pow"], keepdims=0),
        h.make_node("MelWeightMatrix", ["nmel", "nfft", "sr", "lo", "hi"], ["mel"]),
        h.make_node("MatMul", ["pow", "mel"], ["m"]),
        h.make_node("Add", ["m", "eps"], ["m2"]),
        h.make_node("Log", ["m2"], ["y"]),
    ]
    mel_inits = [ints(400, "wsize", np.int32), ints(160, "step"), ints(80, "nmel", np.int32),
                 ints(400, "nfft", np.int32), ints(16000, "sr", np.int32), floats(0, "lo"),
                 floats(8000, "hi"), ints([-1], "axes"), floats(1e-6, "eps")]
    return [
        ("scatternd_max", (1, 4, 5, 6),
         [h.make_node("ScatterND", ["x", "i", "u"], ["y"], reduction="max")],
         [nh.from_array(idx_nd, "i"), floats(upd_nd, "u")], 18, 0, 0),
        ("scatternd_min", (1, 4, 5, 6),
         [h.make_node("ScatterND", ["x", "i", "u"], ["y"], reduction="min")],
         [nh.from_array(idx_nd, "i"), floats(upd_nd, "u")], 18, 0, 0),
        ("scatterelements_min", (1, 6, 5),
         [h.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1, reduction="min")],
         [ints(rng.integers(-6, 6, (1, 9, 5)), "i"), floats(rng.standard_normal((1, 9, 5)), "u")],
         18, 0, 0),
        ("gathernd_batch_dims", (1, 3, 4, 5),
         [h.make_node("GatherND", ["x", "i"], ["y"], batch_dims=1)],
         [ints(rng.integers(-3, 3, (1, 6, 2)), "i")], 17, 0, 0),
        ("gatherelements", (1, 3, 4, 5),
         [h.make_node("GatherElements", ["x", "i"], ["y"], axis=-2)],
         [ints(rng.integers(-4, 4, (1, 3, 7, 5)), "i")], 17, 0, 0),
        ("einsum_ellipsis", (1, 2, 3, 4),
         [h.make_node("Einsum", ["x", "w"], ["y"], equation="...ij,jk->...ki")],
         [floats(rng.standard_normal((4, 5)), "w")], 17, 1e-5, 1e-5),
        ("einsum_batch_diagonal", (1, 3, 3),
         [h.make_node("Einsum", ["x"], ["y"], equation="bii->bi")], [], 17, 0, 0),
        ("softmax_cross_entropy", (1, 5, 3, 4),
         [h.make_node("SoftmaxCrossEntropyLoss", ["x", "t", "w"], ["y"], ignore_index=2)],
         [ints(rng.integers(0, 5, (1, 3, 4)), "t"), floats(rng.random(5), "w")], 17, 1e-5, 1e-5),
        ("trilu_upper_k", (1, 4, 6),
         [h.make_node("Trilu", ["x", "k"], ["y"], upper=1)], [ints(-1, "k")], 17, 0, 0),
        ("dft_inverse_padded", (1, 12, 7, 2),
         [h.make_node("DFT", ["x", "n"], ["y"], axis=1, inverse=1)], [ints(20, "n")], 17,
         1e-5, 1e-4),
        ("dft_onesided", (1, 12, 7, 1),
         [h.make_node("DFT", ["x"], ["y"], axis=-2, onesided=1)], [], 17, 1e-5, 1e-4),
        ("split_concat", (1, 8, 3),
         [h.make_node("Split", ["x", "s"], ["a", "b"], axis=1),
          h.make_node("Concat", ["b", "a"], ["y"], axis=1)], [ints([3, 5], "s")], 17, 0, 0),
        ("onehot", (1, 6),
         [h.make_node("Cast", ["x"], ["xi"], to=7),
          h.make_node("OneHot", ["xi", "d", "v"], ["y"], axis=1)],
         [ints(4, "d"), floats([-1, 2], "v")], 17, 0, 0),
        ("compress", (1, 5, 4),
         [h.make_node("Compress", ["x", "c"], ["y"], axis=2)],
         [nh.from_array(np.array([1, 0, 1], dtype=bool), "c")], 17, 0, 0),
        ("log_mel_16k", (1, 16000, 1), mel, mel_inits, 17, 1e-3, 1e-3),
    ]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    deepcomp = os.path.join(build, "deepcomp")
    ort_run = os.path.join(ROOT, "bench", "ort_run.js")
    if (shutil.which("node") is None or not os.path.isdir(
            os.path.join(ROOT, "bench", "node_modules", "onnxruntime-node")) or
            not os.path.exists(deepcomp)):
        print("SKIP: needs node, bench/node_modules (npm install) and " + deepcomp)
        return 77
    rng = np.random.default_rng(3)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape, nodes, inits, opset, atol, rtol in cases(rng):
            x = rng.standard_normal(shape).astype(np.float32)
            if name == "log_mel_16k":
                x *= 0.1
            graph = h.make_graph(nodes, name, [h.make_tensor_value_info("x", T.FLOAT, list(shape))],
                                 [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
            model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
            model.ir_version = 8
            path = os.path.join(tmp, name + ".onnx")
            onnx.save(model, path)
            xin, want_path, got_path = (os.path.join(tmp, name + s) for s in
                                        ("_x.npy", "_ort.npy", "_dc.npy"))
            np.save(xin, x)
            subprocess.run(["node", ort_run, path, xin, want_path], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            run = subprocess.run([deepcomp, "run", path, "--input", xin, "-o", got_path],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {name}: deepcomp: {run.stderr.strip()}")
                failed += 1
                continue
            want, got = np.load(want_path), np.load(got_path)
            if want.size == got.size == 1:  # ort_run.js stacks a scalar output into [1]
                want, got = want.reshape(()), got.reshape(())
            if want.shape != got.shape:
                print(f"FAIL {name}: shape {got.shape}, ONNX Runtime {want.shape}")
                failed += 1
                continue
            err = np.abs(got.astype(np.float64) - want)
            bad = int((err > atol + rtol * np.abs(want)).sum())
            print(f"{'FAIL' if bad else 'ok  '} {name}: {list(want.shape)}, max abs diff "
                  f"{err.max() if err.size else 0:.3g}" + (f", {bad} elements out of tolerance"
                                                             if bad else ""))
            failed += bad > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
