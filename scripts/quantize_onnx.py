#!/usr/bin/python3
"""Quantizes the weights of a float ONNX model to 8 bits, per output channel, in one of two forms.

  --form qdq      every Conv / Gemm / MatMul weight becomes DequantizeLinear(W_q, scale, zp, axis)
                  feeding the unchanged layer (the weight-only QDQ form of ONNX Runtime's
                  quantizer; activations stay float);
  --form integer  ONNX Runtime's dynamic-quantization form: DynamicQuantizeLinear on the layer
                  input, ConvInteger / MatMulInteger on the 8-bit codes, Cast to float, Mul by
                  x_scale * w_scale (per output channel), Add the float bias.

  --scheme sym    int8, zero point 0, scale = max|w| / 127 per channel (codes in [-127, 127]);
                  With --reduce-range the codes stay in [-63, 63] (ONNX Runtime's reduce_range):
                  its u8s8 integer kernels on AVX2 without VNNI add pairs of products in
                  saturating int16, so with full-range int8 weights ONNX Runtime's ConvInteger /
                  MatMulInteger results differ from the ONNX definition (deepcomp's runtime
                  follows the definition); 7-bit codes make both agree bit for bit.
  --scheme asym   uint8, range widened to include 0, scale = (max - min) / 255, zero point
                  round(-min / scale) per channel.

The integer form keeps one zero point per tensor for ConvInteger (ONNX Runtime accepts no other),
so `--form integer --scheme asym` quantizes Conv weights per channel with the zero point of the
channel-wide range (shared by all channels): scale per channel, zero point per tensor.
Gemm needs alpha = beta = 1 and transA = 0; other layers are left float. Models below opset 13
are raised to 13 (per-axis DequantizeLinear) when they use no operator whose form changed.

Usage: /usr/bin/python3 scripts/quantize_onnx.py IN.onnx OUT.onnx --form qdq|integer --scheme sym|asym [--reduce-range]
Needs python3-onnx and numpy (Debian's /usr/bin/python3).
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Operators whose inputs or attributes differ between opsets 9 and 13.
CHANGED_BY_13 = {"Squeeze", "Unsqueeze", "Split", "ReduceSum", "Pad", "Upsample", "Resize", "Slice",
                 "Clip", "Dropout", "BatchNormalization", "TopK", "Scatter", "Softmax", "LogSoftmax",
                 "Hardmax", "Reshape", "Gather", "OneHot"}


def quantize_weight(w, axis, scheme, shared_zp=False, qmax=127):
    """Returns (codes, scale [channels], zero_point [channels]) quantizing w per slice of `axis`."""
    moved = np.moveaxis(w.astype(np.float64), axis, 0).reshape(w.shape[axis], -1)
    if scheme == "sym":
        scale = np.abs(moved).max(axis=1) / qmax
        scale[scale == 0] = 1.0
        scale = scale.astype(np.float32)
        zp = np.zeros(len(scale), np.int8)
        q = np.clip(np.rint(moved / scale[:, None].astype(np.float64)), -qmax, qmax).astype(np.int8)
    else:
        lo = np.minimum(moved.min(axis=1), 0)
        hi = np.maximum(moved.max(axis=1), 0)
        if shared_zp:
            # One zero point for every channel: the channel ranges widened to a common ratio.
            glo, ghi = lo.min(), hi.max()
            zp0 = 0 if ghi == glo else int(np.clip(np.rint(-glo / (ghi - glo) * 255), 0, 255))
            zp = np.full(len(lo), zp0)
            neg = np.where(zp0 > 0, -lo / max(zp0, 1), 0)
            pos = np.where(zp0 < 255, hi / max(255 - zp0, 1), 0)
            scale = np.maximum(neg, pos)
        else:
            scale = (hi - lo) / 255.0
            scale[scale == 0] = 1.0
            zp = np.clip(np.rint(-lo / scale), 0, 255)
        scale[scale == 0] = 1.0
        scale = scale.astype(np.float32)
        zp = zp.astype(np.uint8)
        q = np.clip(np.rint(moved / scale[:, None].astype(np.float64)) + zp[:, None].astype(np.float64),
                    0, 255).astype(np.uint8)
    moved_shape = (w.shape[axis],) + tuple(np.delete(np.array(w.shape), axis))
    codes = np.moveaxis(q.reshape(moved_shape), 0, axis)
    return np.ascontiguousarray(codes), scale, zp


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--form", choices=["qdq", "integer"], required=True)
    p.add_argument("--scheme", choices=["sym", "asym"], required=True)
    p.add_argument("--reduce-range", action="store_true", help="sym codes in [-63, 63]")
    args = p.parse_args()

    model = onnx.load(args.input)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    readers = {}
    for n in graph.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1

    opset = next((o for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset.version < 13:
        changed = sorted({n.op_type for n in graph.node} & CHANGED_BY_13)
        if changed:
            sys.exit(f"quantize_onnx.py: opset {opset.version} model uses {', '.join(changed)}; "
                     "raise it to opset 13 first")
        opset.version = 13
        model.ir_version = max(model.ir_version, 7)

    new_nodes, new_inits, removed = [], [], set()
    done = 0
    qmax = 63 if args.reduce_range else 127

    def add(name, array):
        new_inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    for node in graph.node:
        op = node.op_type
        wi = 1
        if op not in ("Conv", "Gemm", "MatMul") or len(node.input) < 2 or node.input[wi] not in inits \
                or readers.get(node.input[wi], 0) != 1:
            new_nodes.append(node)
            continue
        if op == "Gemm" and (attr(node, "transA", 0) or attr(node, "alpha", 1.0) != 1.0 or
                             attr(node, "beta", 1.0) != 1.0):
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[wi]]).astype(np.float32)
        if op == "MatMul" and w.ndim != 2:
            new_nodes.append(node)
            continue
        trans_b = op == "Gemm" and attr(node, "transB", 0)
        axis = 0 if op == "Conv" or trans_b else 1  # the output-channel axis of W
        base = node.input[wi]
        removed.add(base)
        done += 1
        if args.form == "qdq":
            codes, scale, zp = quantize_weight(w, axis, args.scheme, qmax=qmax)
            add(base + "_quantized", codes)
            add(base + "_scale", scale)
            add(base + "_zero_point", zp)
            new_nodes.append(helper.make_node(
                "DequantizeLinear", [base + "_quantized", base + "_scale", base + "_zero_point"],
                [base + "_dequantized"], axis=axis, name=base + "_DequantizeLinear"))
            inputs = list(node.input)
            inputs[wi] = base + "_dequantized"
            del node.input[:]
            node.input.extend(inputs)
            new_nodes.append(node)
            continue
        # Integer form.
        x, y = node.input[0], node.output[0]
        pre = (node.name or base) + "_"
        new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x],
                                          [pre + "xq", pre + "xs", pre + "xz"],
                                          name=pre + "DynamicQuantizeLinear"))
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if op == "Conv":
            codes, scale, zp = quantize_weight(w, 0, args.scheme, shared_zp=True, qmax=qmax)
            add(base + "_quantized", codes)
            add(base + "_zero_point", zp[:1].reshape(()))
            conv_attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            new_nodes.append(helper.make_node(
                "ConvInteger", [pre + "xq", base + "_quantized", pre + "xz", base + "_zero_point"],
                [pre + "acc"], name=pre + "ConvInteger", **conv_attrs))
            bshape = [1, len(scale)] + [1] * (w.ndim - 2)
        else:
            # MatMulInteger wants B as [K, N]: a transB Gemm weight is stored transposed.
            wk = w.T if trans_b else w
            codes, scale, zp = quantize_weight(wk, 1, args.scheme, qmax=qmax)
            add(base + "_quantized", codes)
            add(base + "_zero_point", zp)
            new_nodes.append(helper.make_node(
                "MatMulInteger", [pre + "xq", base + "_quantized", pre + "xz", base + "_zero_point"],
                [pre + "acc"], name=pre + "MatMulInteger"))
            bshape = [len(scale)]
        add(base + "_scale", scale.reshape(bshape))
        new_nodes.append(helper.make_node("Cast", [pre + "acc"], [pre + "accf"], to=TensorProto.FLOAT,
                                          name=pre + "Cast"))
        new_nodes.append(helper.make_node("Mul", [pre + "xs", base + "_scale"], [pre + "s"],
                                          name=pre + "MulScales"))
        out = pre + "scaled" if bias else y
        new_nodes.append(helper.make_node("Mul", [pre + "accf", pre + "s"], [out], name=pre + "Mul"))
        if bias:
            b = numpy_helper.to_array(inits[bias]) if bias in inits else None
            bname = bias
            if op == "Conv" and b is not None:
                bname = add(bias + "_reshaped", b.reshape(bshape))
                removed.add(bias) if readers.get(bias, 0) == 1 else None
            new_nodes.append(helper.make_node("Add", [out, bname], [y], name=pre + "AddBias"))

    kept = [t for t in graph.initializer if t.name not in removed]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    del graph.node[:]
    graph.node.extend(new_nodes)
    # Drop stale value_info of removed tensors (shape inference may re-add them).
    for vi in list(graph.input):
        if vi.name in removed:
            graph.input.remove(vi)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f"{args.output}: {done} layers quantized ({args.form}, {args.scheme})")


if __name__ == "__main__":
    main()
