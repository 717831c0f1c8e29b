#!/usr/bin/python3
"""deepcomp's training against PyTorch: gradients of every trainable operator, and whole epochs.

1. Gradients: small ONNX models built here that use every operator deepcomp can differentiate
   (Gemm with alpha/beta/transB, MatMul, Conv with groups/strides/pads/dilations/auto_pad,
   MaxPool, AveragePool with and without count_include_pad, Add, Sub, Div, Relu, Flatten,
   Reshape, Pad, Identity, Dropout), plus models/lenet-300-100.onnx and models/lenet-5.onnx.
   `deepcomp train MODEL --gradients DIR` writes the mean cross-entropy gradient of one batch
   per parameter; PyTorch computes the same through its own operators (a small interpreter of
   the ONNX graph below, which shares no code with deepcomp) with autograd.
2. Epochs: `deepcomp train models/lenet-300-100.onnx -o OUT.onnx` on Fashion-MNIST against
   torch.optim.SGD / torch.optim.Adam from the same weights, in the same batch order
   (train::epoch_order: Fisher-Yates with mt19937_64(seed + epoch), reimplemented below), with
   the same learning rate schedule. The trained weights must agree within --tol with PyTorch's
   float32 run or with the same run in float64 (whose distance to the float32 run is printed:
   the float rounding floor).

Run with Debian's Python (the `python3` on PATH has no torch):
    /usr/bin/python3 bench/train_vs_torch.py [--deepcomp build/deepcomp] [--quick]
--quick trains on the first 3,000 samples instead of 60,000 (for ctest). Exit 0 when every
check passes, 1 otherwise; 77 when torch/onnx or the data are missing (a skip).
"""

import argparse
import gzip
import math
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import onnx
    import torch
    from onnx import helper, numpy_helper, TensorProto
    from torch.nn import functional as F
except ImportError as e:  # pragma: no cover - environment without torch
    print(f"skip: {e}")
    sys.exit(77)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
MASK64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64 (the C++ standard's parameters); numpy's MT19937 is the 32-bit one."""

    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            y = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            v = mt[(i + 156) % 312] ^ (y >> 1)
            if y & 1:
                v ^= 0xB5026F5AA96619E9
            mt[i] = v
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def epoch_order(n, seed, epoch):
    """train::epoch_order: Fisher-Yates, j = rng() % (i + 1) for i = n-1 .. 1."""
    rng = MT19937_64(seed + epoch)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


# ---------------------------------------------------------------- ONNX graph in PyTorch
def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pads_2d(node, a, x_hw, kernel, strides, dilations):
    """ONNX pads [top, left, bottom, right] for a 2-D window, resolving auto_pad."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for d in range(2):
            out = -(-x_hw[d] // strides[d])
            total = max(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - x_hw[d])
            small, big = total // 2, total - total // 2
            pads[d], pads[d + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        return pads
    if auto == "VALID":
        return [0, 0, 0, 0]
    return list(a.get("pads", [0, 0, 0, 0]))


def _gemm2d(a, b):
    """a [M,K] @ b [K,N] as a 1x1 convolution (oneDNN; Debian's torch has a slow reference BLAS)."""
    m, k = a.shape
    return F.conv2d(a.reshape(m, k, 1, 1), b.t().reshape(b.shape[1], k, 1, 1)).reshape(m, -1)


def run_graph(model, x, params):
    """Runs the main graph on input x; params: initializer name -> torch tensor."""
    g = model.graph
    vals = dict(params)
    vals[g.input[0].name] = x
    for node in g.node:
        a = _attrs(node)
        ins = [vals[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.t()
            if a.get("transB", 0):
                B = B.t()
            y = a.get("alpha", 1.0) * _gemm2d(A, B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            A, B = ins
            y = _gemm2d(A.reshape(-1, A.shape[-1]), B).reshape(*A.shape[:-1], B.shape[1])
        elif op == "Conv":
            w = ins[1]
            kernel = list(w.shape[2:])
            strides = list(a.get("strides", [1, 1]))
            dil = list(a.get("dilations", [1, 1]))
            p = _pads_2d(node, a, list(ins[0].shape[2:]), kernel, strides, dil)
            xin = F.pad(ins[0], (p[1], p[3], p[0], p[2]))
            y = F.conv2d(xin, w, ins[2] if len(ins) > 2 else None, stride=strides, dilation=dil,
                         groups=a.get("group", 1))
        elif op in ("MaxPool", "AveragePool"):
            kernel = list(a["kernel_shape"])
            strides = list(a.get("strides", [1, 1]))
            p = _pads_2d(node, a, list(ins[0].shape[2:]), kernel, strides, [1, 1])
            symmetric = p[0] == p[2] and p[1] == p[3] and p[0] * 2 <= kernel[0] and p[1] * 2 <= kernel[1]
            if op == "MaxPool":
                if symmetric:
                    y = F.max_pool2d(ins[0], kernel, strides, (p[0], p[1]), ceil_mode=bool(a.get("ceil_mode", 0)))
                else:
                    y = F.max_pool2d(F.pad(ins[0], (p[1], p[3], p[0], p[2]), value=-math.inf), kernel, strides)
            elif a.get("count_include_pad", 0):
                y = F.avg_pool2d(F.pad(ins[0], (p[1], p[3], p[0], p[2])), kernel, strides)
            else:
                assert symmetric, "count_include_pad=0 with asymmetric pads is not modelled"
                y = F.avg_pool2d(ins[0], kernel, strides, (p[0], p[1]), count_include_pad=False)
        elif op == "Relu":
            y = torch.relu(ins[0])
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Sub":
            y = ins[0] - ins[1]
        elif op == "Div":
            y = ins[0] / ins[1]
        elif op in ("Identity", "Dropout"):
            y = ins[0]
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == "Reshape":
            shape = [int(v) for v in ins[1]]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            y = ins[0].reshape(shape)
        elif op == "Pad":
            pads = [int(v) for v in ins[1]]
            r = len(pads) // 2
            value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
            torch_pads = []
            for d in range(r - 1, -1, -1):
                torch_pads += [pads[d], pads[d + r]]
            y = F.pad(ins[0], torch_pads, value=value)
        elif op == "Constant":
            y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        else:
            raise ValueError(f"node {node.name}: op {op} not modelled")
        vals[node.output[0]] = y
    return vals[g.output[0].name]


def torch_params(model, dtype=torch.float32):
    out = {}
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t).copy()
        ten = torch.from_numpy(arr)
        if arr.dtype == np.float32:
            ten = ten.to(dtype).requires_grad_(True)
        out[t.name] = ten
    return out


# ---------------------------------------------------------------- the small test models
def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def dense_ops_model(rng):
    """Flatten, Gemm (alpha, beta), Relu, Reshape, MatMul, Add, Identity, Dropout, Sub, Div, Gemm(transB)."""
    r = lambda *s: rng.standard_normal(s).astype(np.float32) * 0.4
    inits = [_init("W1", r(24, 16)), _init("b1", r(16)), _init("shape1", np.array([-1, 4, 4], np.int64)),
             _init("W2", r(4, 5)), _init("b2", r(5)), _init("shape2", np.array([0, 20], np.int64)),
             _init("c", r(20)), _init("two", np.array(2.0, np.float32)),
             _init("W3", r(10, 20)), _init("b3", r(10))]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W1", "b1"], ["g1"], alpha=0.5, beta=2.0),
             helper.make_node("Relu", ["g1"], ["r1"]),
             helper.make_node("Reshape", ["r1", "shape1"], ["s1"]),
             helper.make_node("MatMul", ["s1", "W2"], ["m"]),
             helper.make_node("Add", ["m", "b2"], ["a"]),
             helper.make_node("Identity", ["a"], ["i"]),
             helper.make_node("Dropout", ["i"], ["d"]),
             helper.make_node("Reshape", ["d", "shape2"], ["s2"]),
             helper.make_node("Sub", ["s2", "c"], ["sub"]),
             helper.make_node("Div", ["sub", "two"], ["div"]),
             helper.make_node("Gemm", ["div", "W3", "b3"], ["logits"], transB=1)]
    return _model("dense_ops", nodes, inits, [2, 3, 4])


def conv_ops_model(rng):
    """Pad, Conv (plain, grouped+strided+padded+dilated, auto_pad SAME_UPPER without bias), Relu,
    MaxPool (padded), AveragePool (count_include_pad 1 with asymmetric pads, and 0), Flatten, Gemm."""
    r = lambda *s: rng.standard_normal(s).astype(np.float32) * 0.4
    inits = [_init("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)),
             _init("pad_value", np.array(0.25, np.float32)),
             _init("W1", r(4, 1, 3, 3)), _init("b1", r(4)),
             _init("W2", r(6, 2, 3, 3)), _init("b2", r(6)),
             _init("W3", r(5, 6, 2, 2)),
             _init("W4", r(10, 30)), _init("b4", r(10))]
    nodes = [helper.make_node("Pad", ["x", "pads", "pad_value"], ["p"], mode="constant"),
             helper.make_node("Conv", ["p", "W1", "b1"], ["c1"]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "W2", "b2"], ["c2"], group=2, strides=[2, 2],
                              pads=[1, 0, 1, 1], dilations=[1, 2]),
             helper.make_node("MaxPool", ["c2"], ["mp"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["mp", "W3"], ["c3"], auto_pad="SAME_UPPER"),
             helper.make_node("AveragePool", ["c3"], ["ap1"], kernel_shape=[2, 2], strides=[1, 1],
                              pads=[1, 1, 0, 0], count_include_pad=1),
             helper.make_node("AveragePool", ["ap1"], ["ap2"], kernel_shape=[3, 3], strides=[1, 1],
                              pads=[1, 1, 1, 1], count_include_pad=0),
             helper.make_node("Flatten", ["ap2"], ["f"]),
             helper.make_node("Gemm", ["f", "W4", "b4"], ["logits"], transB=1)]
    return _model("conv_ops", nodes, inits, [1, 10, 10])


def _model(name, nodes, inits, sample_shape):
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + sample_shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def file_safe(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


# ---------------------------------------------------------------- checks
def check_gradients(deepcomp, name, model_path, x, y, tmp, tol):
    """deepcomp's one-batch gradients against autograd; returns (ok, rows)."""
    model = onnx.load(model_path)
    xp, yp = os.path.join(tmp, f"{name}.x.npy"), os.path.join(tmp, f"{name}.y.npy")
    np.save(xp, x.astype(np.float32))
    np.save(yp, y.astype(np.int64))
    gdir = os.path.join(tmp, f"{name}.grads")
    os.makedirs(gdir, exist_ok=True)
    run([deepcomp, "train", model_path, "--gradients", gdir, "--train-images", xp,
         "--train-labels", yp, "--scale", "1", "--batch", str(len(y)), "--force"])
    params = torch_params(model)
    logits = run_graph(model, torch.from_numpy(x.astype(np.float32)), params)
    F.cross_entropy(logits, torch.from_numpy(y.astype(np.int64))).backward()
    ok, rows = True, []
    float_inits = [t.name for t in model.graph.initializer if t.data_type == TensorProto.FLOAT and len(t.dims) > 0]
    for pname in float_inits:
        path = os.path.join(gdir, file_safe(pname) + ".npy")
        if not os.path.exists(path):
            continue  # a constant for deepcomp (e.g. Sub's operand): not a trained parameter
        ours = np.load(path)
        ref = params[pname].grad.numpy()
        diff = float(np.max(np.abs(ours - ref))) if ours.size else 0.0
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        good = ours.shape == ref.shape and diff <= tol
        ok &= good
        rows.append((name, pname, list(ref.shape), diff, scale, good))
    trained = {r[1] for r in rows}
    for node in model.graph.node:  # every layer weight must have been compared
        if node.op_type in ("Gemm", "MatMul", "Conv") and node.input[1] not in trained:
            ok = False
            rows.append((name, node.input[1], [], float("nan"), 0.0, False))
    return ok, rows


def torch_epochs(model, x, y, epochs, opt_name, lr, momentum, wd, batch, seed, schedule,
                 dtype=torch.float32):
    """Plain training as `deepcomp train` does it, with torch.optim (in float64 for dtype=float64)."""
    params = torch_params(model, dtype)
    x = x.to(dtype)
    trainable = [p for p in params.values() if p.requires_grad]
    if opt_name == "sgd":
        opt = torch.optim.SGD(trainable, lr=lr, momentum=momentum, weight_decay=wd)
    else:
        opt = torch.optim.Adam(trainable, lr=lr, weight_decay=wd)
    n = x.shape[0]
    steps = -(-n // batch)
    total, step = epochs * steps, 0
    for e in range(epochs):
        order = torch.tensor(epoch_order(n, seed, e))
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            if schedule == "cosine":
                rate = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            elif schedule == "step":
                rate = lr if 2 * step < total else (lr * 0.1 if 4 * step < 3 * total else lr * 0.01)
            else:
                rate = lr
            for group in opt.param_groups:
                group["lr"] = rate
            opt.zero_grad()
            F.cross_entropy(run_graph(model, x[idx], params), y[idx]).backward()
            opt.step()
            step += 1
    return params


def check_epochs(deepcomp, tmp, limit, tol, setting):
    opt_name, lr, momentum, wd, batch, seed, epochs, schedule = setting
    model_path = os.path.join(REPO, "models", "lenet-300-100.onnx")
    images = os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")
    labels = os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz")
    out = os.path.join(tmp, f"trained_{opt_name}_{schedule}.onnx")
    cmd = [deepcomp, "train", model_path, "-o", out, "--train-images", images, "--train-labels", labels,
           "--optimizer", opt_name, "--lr", str(lr), "--momentum", str(momentum), "--weight-decay", str(wd),
           "--batch", str(batch), "--train-seed", str(seed), "--epochs", str(epochs),
           "--lr-schedule", schedule, "--force"]
    if limit:
        cmd += ["--limit", str(limit)]
    t0 = time.time()
    run(cmd)
    t_dc = time.time() - t0
    pix = read_idx(images)
    lab = read_idx(labels)
    n = limit or pix.shape[0]
    # deepcomp's preprocessing: float((pixel * (1/255) - 0) / 1) computed in double.
    x = torch.from_numpy((pix[:n].astype(np.float64) * (1.0 / 255.0)).astype(np.float32).reshape(n, 1, 28, 28))
    y = torch.from_numpy(lab[:n].astype(np.int64))
    t0 = time.time()
    ref = torch_epochs(onnx.load(model_path), x, y, epochs, opt_name, lr, momentum, wd, batch, seed, schedule)
    t_torch = time.time() - t0
    # The float rounding floor: the same PyTorch run in float64. Different summation orders
    # (Eigen vs oneDNN) differ by ~1e-7 per step; a ReLU input that close to 0 flips in one run
    # and not the other, and the runs drift apart from there at large learning rates.
    ref64 = torch_epochs(onnx.load(model_path), x, y, epochs, opt_name, lr, momentum, wd, batch, seed,
                         schedule, torch.float64)
    ours = {t.name: numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer}
    start = {t.name: numpy_helper.to_array(t) for t in onnx.load(model_path).graph.initializer}
    ok, rows = True, []
    for name, p in ref.items():
        if not p.requires_grad:
            continue
        r = p.detach().numpy()
        r64 = ref64[name].detach().numpy()
        diff = float(np.max(np.abs(ours[name] - r)))
        floor = float(np.max(np.abs(r.astype(np.float64) - r64)))
        diff64 = float(np.max(np.abs(ours[name].astype(np.float64) - r64)))
        moved = float(np.max(np.abs(r - start[name])))
        # Agreement with either PyTorch run passes: where float32 rounding alone moves PyTorch's
        # own result (Adam turns rounding-level gradients into full-size steps), the float64 run
        # is the better truth.
        good = diff <= tol or diff64 <= tol
        ok &= good
        rows.append((name, diff, floor, diff64, moved, good))
    return ok, rows, t_dc, t_torch, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deepcomp", default=os.path.join(REPO, "build", "deepcomp"))
    ap.add_argument("--quick", action="store_true", help="train on 3,000 samples, not 60,000")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if not os.path.exists(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")):
        print(f"skip: {DATA_DIR} is absent")
        return 77
    all_ok = True
    rng = np.random.default_rng(20160201)
    with tempfile.TemporaryDirectory() as tmp:
        print("## Gradients (one batch; max |deepcomp - PyTorch| per parameter)")
        print("| model | parameter | shape | max abs diff | max abs grad | ok |")
        print("|---|---|---|---|---|---|")
        pix = read_idx(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz"))
        lab = read_idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz"))
        real_x = (pix[:64].astype(np.float64) / 255.0).astype(np.float32).reshape(64, 1, 28, 28)
        cases = []
        for builder, shape in ((dense_ops_model, [2, 3, 4]), (conv_ops_model, [1, 10, 10])):
            m = builder(rng)
            path = os.path.join(tmp, m.graph.name + ".onnx")
            onnx.save(m, path)
            cases.append((m.graph.name, path, rng.standard_normal([37] + shape).astype(np.float32),
                          rng.integers(0, 10, 37)))
        for name in ("lenet-300-100", "lenet-5"):
            cases.append((name, os.path.join(REPO, "models", name + ".onnx"), real_x, lab[:64].astype(np.int64)))
        for name, path, x, y in cases:
            ok, rows = check_gradients(args.deepcomp, name, path, x, y, tmp, args.tol)
            all_ok &= ok
            for r in rows:
                print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3g} | {r[4]:.3g} | {'yes' if r[5] else 'NO'} |")
        # (optimizer, lr, momentum, weight decay, batch, seed, epochs, schedule, gating). The
        # non-gating rows use learning rates at which float rounding alone (PyTorch float32 vs
        # float64) moves the weights by more than the tolerance: shown, not judged.
        settings = [("sgd", 0.001, 0.9, 5e-4, 64, 0, 1, "constant", True),
                    ("adam", 1e-4, 0.0, 1e-4, 64, 3, 1, "cosine", True),
                    ("sgd", 0.01, 0.9, 5e-4, 64, 0, 1, "constant", False),
                    ("adam", 1e-3, 0.0, 0.0, 64, 3, 1, "step", False)]
        for s in settings:
            ok, rows, t_dc, t_torch, n = check_epochs(args.deepcomp, tmp, 3000 if args.quick else 0, args.tol, s[:8])
            if s[8] or args.quick:
                all_ok &= ok
            else:
                print("\n(not gating: see the float64 column)")
            print(f"\n## {s[6]} epoch(s) of {s[0]} (lr {s[1]}, momentum {s[2]}, weight decay {s[3]}, batch {s[4]}, "
                  f"seed {s[5]}, {s[7]} schedule) on {n} samples: deepcomp {t_dc:.1f} s, PyTorch {t_torch:.1f} s")
            print("| parameter | deepcomp vs PyTorch | PyTorch float32 vs float64 | deepcomp vs PyTorch float64 "
                  "| max abs change from start | ok |")
            print("|---|---|---|---|---|---|")
            for r in rows:
                print(f"| {r[0]} | {r[1]:.3g} | {r[2]:.3g} | {r[3]:.3g} | {r[4]:.3g} | {'yes' if r[5] else 'NO'} |")
    print("\nall checks passed" if all_ok else "\nSOME CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
