#!/usr/bin/python3
"""Describes ONNX models for models/real/PROVENANCE.tsv: opset, parameter count, the operators used
(with counts, including those inside If/Loop/Scan subgraphs), and every graph input and output with
its dtype and shape. Usage: describe_onnx.py MODEL.onnx [...] [--tsv]"""
import collections
import sys

import numpy as np
import onnx
from onnx import mapping


def walk_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from walk_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from walk_nodes(g)


def walk_initializers(graph):
    yield from graph.initializer
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    yield attr.t
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from walk_initializers(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from walk_initializers(g)


def value_info_text(vi):
    t = vi.type.tensor_type
    dtype = mapping.TENSOR_TYPE_TO_NP_TYPE[t.elem_type].name if t.elem_type else "?"
    dims = [d.dim_param if d.dim_param else (str(d.dim_value) if d.HasField("dim_value") else "?")
            for d in t.shape.dim]
    return f"{vi.name}:{dtype}[{','.join(dims)}]"


def describe(path):
    model = onnx.load(path)
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    inputs = [value_info_text(v) for v in graph.input if v.name not in init_names]
    outputs = [value_info_text(v) for v in graph.output]
    ops = collections.Counter(n.op_type if not n.domain or n.domain == "ai.onnx"
                              else f"{n.domain}.{n.op_type}" for n in walk_nodes(graph))
    params = sum(int(np.prod(t.dims)) for t in walk_initializers(graph))
    opset = ",".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
    return {"opset": opset, "params": params, "nodes": sum(ops.values()),
            "ops": " ".join(f"{k}x{v}" for k, v in sorted(ops.items())),
            "inputs": " ".join(inputs), "outputs": " ".join(outputs)}


def main(argv):
    tsv = "--tsv" in argv
    paths = [a for a in argv if a != "--tsv"]
    if not paths:
        sys.exit(__doc__)
    for p in paths:
        d = describe(p)
        if tsv:
            print("\t".join([p, d["opset"], str(d["params"]), d["ops"], d["inputs"], d["outputs"]]))
        else:
            print(f"== {p}\n  opset {d['opset']}  params {d['params']:,}  nodes {d['nodes']}\n"
                  f"  in  {d['inputs']}\n  out {d['outputs']}\n  ops {d['ops']}")


if __name__ == "__main__":
    main(sys.argv[1:])
