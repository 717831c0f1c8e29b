#!/usr/bin/python3
"""Writes the backend-node-test sections of docs/OPERATORS.md from a run of the test binary.

Runs `deepcomp_runtime_tests --gtest_filter=Onnx/BackendNodeTest.*`, reads which cases passed and
why the others were skipped, and prints Markdown: the tally, the passing cases by operator (each
case under every operator its model uses, read with python3-onnx), and the skipped cases by
reason. The lead pastes it below the "Validation against ONNX's backend node tests" heading.

Usage: /usr/bin/python3 tests/scripts/backend_report.py BUILD/tests/deepcomp_runtime_tests > /tmp/backend.md
"""
import collections
import os
import re
import subprocess
import sys

import onnx

DATA = "/usr/share/libonnx-testdata/data"
PREFIXES = {"node_": "node", "pyconv_": "pytorch-converted", "pyop_": "pytorch-operator"}


def case_dir(name):
    for prefix, folder in PREFIXES.items():
        if name.startswith(prefix):
            root = os.path.join(DATA, folder)
            # Case names replace non-alphanumerics by '_'; find the folder that maps to it.
            for entry in os.listdir(root):
                if prefix + re.sub(r"[^0-9A-Za-z]", "_", entry) == name:
                    return os.path.join(root, entry)
    return None


def ops_of(path):
    model = onnx.load(os.path.join(path, "model.onnx"))
    ops = set()

    def walk(graph):
        for n in graph.node:
            ops.add(n.op_type if n.domain in ("", "ai.onnx") else n.domain + "." + n.op_type)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for g in a.graphs:
                    walk(g)

    walk(model.graph)
    return ops


def main():
    binary = sys.argv[1]
    out = subprocess.run([binary, "--gtest_filter=Onnx/BackendNodeTest.*"], capture_output=True,
                         text=True).stdout.splitlines()
    passed, failed, skipped = [], [], collections.defaultdict(list)
    reason = None
    for line in out:
        if line.startswith("[==========]") and (passed or skipped or failed):
            break  # the summary after this repeats the skipped and failed names
        m = re.match(r"\[\s+(OK|SKIPPED|FAILED)\s+\] Onnx/BackendNodeTest\.MatchesExpectedOutputs/(\S+)", line)
        if m:
            kind, name = m.groups()
            if kind == "OK":
                passed.append(name)
            elif kind == "FAILED":
                failed.append(name)
            else:
                skipped[reason or "unknown"].append(name)
            reason = None
            continue
        if line.startswith("out of scope: ") or line.startswith("excluded: "):
            reason = line.split(": ", 1)[1] if line.startswith("out of scope") else line
            # Operators' messages carry the node name; keep the part after it, so cases group.
            reason = re.sub(r"^node '[^']*' \(", "(", reason)
    failed = sorted(set(failed))
    print(f"Result: **{len(passed)} passed, {len(failed)} failed, "
          f"{sum(len(v) for v in skipped.values())} skipped**.\n")
    if failed:
        print("Failing: " + ", ".join(f"`{n}`" for n in failed) + "\n")
    by_op = collections.defaultdict(list)
    for name in passed:
        path = case_dir(name)
        for op in ops_of(path) if path else ["?"]:
            by_op[op].append(name)
    print("## Passing backend test cases, by operator\n")
    print("Each case is listed under every operator its model uses (case names: `node_`, "
          "`pyconv_`, `pyop_` + the folder name).\n")
    for op in sorted(by_op):
        names = sorted(by_op[op])
        print(f"- **{op}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    print("\n## Out-of-scope cases (skipped), by reason\n")
    for why, names in sorted(skipped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(f"- {why} ({len(names)}): " + ", ".join(f"`{n}`" for n in sorted(names)))


if __name__ == "__main__":
    main()
