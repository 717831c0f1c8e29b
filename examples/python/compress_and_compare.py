"""Notebook-style tour of the deepcomp Python package: compress a model at a few pruning rates,
run the original and each compressed model on the same inputs, compare, and plot.

    PYTHONPATH=PREFIX/lib/python3/dist-packages python3 compress_and_compare.py MODEL.onnx OUTDIR

Each step is a cell of a notebook; matplotlib is optional (the plot is skipped without it).
"""
import os
import sys

import numpy as np

import deepcomp

model = sys.argv[1] if len(sys.argv) > 1 else os.path.join("models", "lenet-300-100.onnx")
outdir = sys.argv[2] if len(sys.argv) > 2 else "deepcomp-example"
os.makedirs(outdir, exist_ok=True)

# %% What is in the model
summary = deepcomp.inspect(model)
print(f"{model}: {summary['total']['params']} parameters, inputs "
      f"{[(i['name'], i['shape']) for i in summary['inputs']]}")

# %% The reference: the original model on 64 random samples
original = deepcomp.Session(model)
rng = np.random.default_rng(0)
name = original.input_names[0]
shape = [1 if d < 0 else d for d in original.inputs[0]["shape"]]
samples = [rng.random(shape, dtype=np.float32) for _ in range(64)]
reference = [original.run({name: x})[original.output_names[0]] for x in samples]

# %% Compress at several fc pruning rates and compare outputs with the original's
rows = []
for prune in (0.5, 0.8, 0.9, 0.95):
    path = os.path.join(outdir, f"prune{prune}.dcz")
    report = deepcomp.compress(model, path, prune_fc=prune, energy=False, force=True)
    ratio = report["total"]["ratio"]
    compressed = deepcomp.Session(path)  # runs sparse, straight from the .dcz
    outs = [compressed.run({name: x})[compressed.output_names[0]] for x in samples]
    agree = np.mean([np.argmax(o) == np.argmax(r) for o, r in zip(outs, reference)])
    max_abs = max(float(np.max(np.abs(o - r))) for o, r in zip(outs, reference))
    rows.append((prune, ratio, os.path.getsize(path), agree, max_abs))

print(f"{'prune_fc':>8} {'ratio':>7} {'file bytes':>10} {'top-1 agree':>11} {'max |diff|':>10}")
for prune, ratio, size, agree, max_abs in rows:
    print(f"{prune:8.2f} {ratio:7.1f} {size:10d} {agree:11.2%} {max_abs:10.4f}")

# %% The energy model's view of the last setting (no timing)
energy = deepcomp.energy(model, compressed=os.path.join(outdir, "prune0.95.dcz"), measure_latency=False)
per = energy["per_inference"]
print(f"energy per inference: dense {per['dense_pj'] / 1e6:.2f} uJ, "
      f"compressed {per['compressed_pj'] / 1e6:.2f} uJ")

# %% Plot: compression ratio against agreement with the original
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: no plot")
else:
    fig, ax = plt.subplots()
    ax.plot([r[1] for r in rows], [100 * r[3] for r in rows], "o-")
    for prune, ratio, _, agree, _ in rows:
        ax.annotate(f"fc {prune}", (ratio, 100 * agree))
    ax.set_xlabel("compression ratio")
    ax.set_ylabel("top-1 agreement with the original (%)")
    fig.savefig(os.path.join(outdir, "ratio_vs_agreement.png"), dpi=100)
    print(f"wrote {os.path.join(outdir, 'ratio_vs_agreement.png')}")
