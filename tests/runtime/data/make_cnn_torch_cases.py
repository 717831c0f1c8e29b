#!/usr/bin/env python3
"""Writes cnn_torch_cases.json: single-operator cases whose expected outputs come from PyTorch
(an implementation independent of deepcomp), for what the ONNX backend node tests do not cover:
Conv 3-D with groups/strides/dilations/pads, ConvTranspose 1-D/3-D with groups, dilations,
output_padding, GroupNormalization (opset 21, per-channel scale = torch.group_norm),
InstanceNormalization, LRN, Resize against torch.nn.functional.interpolate, GridSample.

Run from the repository root: python3 tests/runtime/data/make_cnn_torch_cases.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(7)
cases = []


def tensor(t):
    if t is None:
        return None
    dtype = "int64" if t.dtype == torch.int64 else "float32"
    return {"shape": list(t.shape), "dtype": dtype,
            "data": [round(float(v), 7) if dtype == "float32" else int(v) for v in t.flatten().tolist()]}


def attr(v):
    if isinstance(v, str):
        return {"s": v}
    if isinstance(v, float):
        return {"f": v}
    if isinstance(v, int):
        return {"i": v}
    if all(isinstance(e, float) for e in v):
        return {"floats": v}
    return {"ints": v}


def add(name, op, inputs, outputs, attrs=None, opset=13, tol=1e-4):
    cases.append({"name": name, "op": op, "opset": opset, "tol": tol,
                  "attrs": {k: attr(v) for k, v in (attrs or {}).items()},
                  "inputs": [tensor(t) for t in inputs], "outputs": [tensor(t) for t in outputs]})


def rnd(*shape):
    return torch.randn(*shape)


# Conv 3-D.
x, w, b = rnd(2, 4, 5, 6, 5), rnd(6, 2, 3, 2, 3), rnd(6)
add("conv3d_groups_stride_dilation_pads", "Conv", [x, w, b],
    [F.conv3d(F.pad(x, (1, 0, 0, 2, 1, 1)), w, b, stride=(2, 1, 2), dilation=(1, 2, 1), groups=2)],
    {"group": 2, "strides": [2, 1, 2], "dilations": [1, 2, 1], "pads": [1, 0, 1, 1, 2, 0]})
x, w = rnd(1, 3, 4, 4, 4), rnd(5, 3, 1, 1, 1)
add("conv3d_pointwise", "Conv", [x, w], [F.conv3d(x, w)])

# ConvTranspose.
x, w, b = rnd(2, 4, 7), rnd(4, 3, 3), rnd(6)
add("convtranspose1d_groups_dilation_output_padding", "ConvTranspose", [x, w, b],
    [F.conv_transpose1d(x, w, b, stride=3, padding=2, output_padding=1, groups=2, dilation=2)],
    {"group": 2, "strides": [3], "pads": [2, 2], "output_padding": [1], "dilations": [2]})
x, w, b = rnd(1, 4, 3, 4, 3), rnd(4, 2, 2, 3, 2), rnd(4)
add("convtranspose3d_groups_strides_pads", "ConvTranspose", [x, w, b],
    [F.conv_transpose3d(x, w, b, stride=(2, 1, 2), padding=(1, 1, 0), output_padding=(1, 0, 1), groups=2)],
    {"group": 2, "strides": [2, 1, 2], "pads": [1, 1, 0, 1, 1, 0], "output_padding": [1, 0, 1]})
x, w = rnd(2, 6, 5, 5), rnd(6, 1, 3, 3)
add("convtranspose2d_depthwise", "ConvTranspose", [x, w],
    [F.conv_transpose2d(x, w, stride=2, padding=1, groups=6)],
    {"group": 6, "strides": [2, 2], "pads": [1, 1, 1, 1]})

# Normalizations.
x, s, b = rnd(2, 6, 3, 4), rnd(6), rnd(6)
add("groupnorm21_per_channel", "GroupNormalization", [x, s, b],
    [F.group_norm(x, 3, s, b, eps=1e-3)], {"num_groups": 3, "epsilon": 1e-3}, opset=21)
x, s, b = rnd(2, 3, 4, 5, 2), rnd(3), rnd(3)
add("instancenorm_3d", "InstanceNormalization", [x, s, b], [F.instance_norm(x, weight=s, bias=b, eps=1e-5)])
x = rnd(2, 7, 3, 3)
add("lrn_size5", "LRN", [x], [F.local_response_norm(x, 5, alpha=0.01, beta=0.6, k=1.5)],
    {"size": 5, "alpha": 0.01, "beta": 0.6, "bias": 1.5})

# Resize: torch's interpolate with sizes (torch computes with the size ratio).
x = rnd(1, 2, 5, 7)
for mode, tmode, ctm in [("linear", "bilinear", "half_pixel"), ("cubic", "bicubic", "half_pixel"),
                         ("linear", "bilinear", "align_corners")]:
    for size in [(8, 11), (3, 4)]:
        align = ctm == "align_corners"
        y = F.interpolate(x, size=size, mode=tmode, align_corners=align)
        add(f"resize_{mode}_{ctm}_{size[0]}x{size[1]}", "Resize",
            [x, None, None, torch.tensor([1, 2, size[0], size[1]])], [y],
            {"mode": mode, "coordinate_transformation_mode": ctm})
y = F.interpolate(x, size=(9, 4), mode="nearest")
add("resize_nearest_asymmetric_floor", "Resize", [x, None, None, torch.tensor([1, 2, 9, 4])], [y],
    {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"})
x = rnd(1, 2, 3, 4, 5)
y = F.interpolate(x, size=(5, 6, 4), mode="trilinear", align_corners=False)
add("resize_trilinear_axes", "Resize", [x, None, None, torch.tensor([5, 6, 4])], [y],
    {"mode": "linear", "axes": [2, 3, 4]}, opset=18)

# GridSample.
x, g = rnd(2, 3, 4, 5), torch.rand(2, 3, 6, 2) * 2.6 - 1.3
for mode in ["bilinear", "nearest", "bicubic"]:
    for pad in ["zeros", "border", "reflection"]:
        for align in [0, 1]:
            y = F.grid_sample(x, g, mode=mode, padding_mode=pad, align_corners=bool(align))
            add(f"gridsample_{mode}_{pad}_align{align}", "GridSample", [x, g], [y],
                {"mode": mode, "padding_mode": pad, "align_corners": align}, opset=16)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cnn_torch_cases.json")
with open(out, "w") as f:
    json.dump({"generator": "tests/runtime/data/make_cnn_torch_cases.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
print(f"{len(cases)} cases -> {out}")
