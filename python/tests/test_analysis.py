"""deepcomp.sweep and deepcomp.sensitivity against `deepcomp sweep` / `deepcomp sensitivity` run
on the same settings (DEEPCOMP_BINARY): the same rows, value for value; bad arguments raise
TypeError / ValueError naming the keyword. The commands' own numbers are pinned by the C++ CLI
tests against independent runs."""
import json
import os
import subprocess

import numpy as np
import pytest

import deepcomp

SOURCE = os.environ.get("DEEPCOMP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ["DEEPCOMP_BINARY"]
LENET = os.path.join(SOURCE, "models", "lenet-300-100.onnx")
IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
need_data = pytest.mark.skipif(not (os.path.exists(IMAGES) and os.path.exists(LABELS)),
                               reason="Fashion-MNIST test set absent")


def cli(*args):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


@need_data
def test_sweep_rows_are_the_cli_json_rows(tmp_path):
    cli("sweep", LENET, "--images", IMAGES, "--labels", LABELS, "--limit", "200", "--prune",
        "0.5,0.9", "--bits", "5,3", "--init", "linear,kmeans++", "--seed", "3", "--threads", "2",
        "-q", "--json", "-o", str(tmp_path / "s.csv"))
    want = json.loads((tmp_path / "s.json").read_text())
    got = deepcomp.sweep(LENET, prune=[0.5, 0.9], bits=(5, 3), init=["linear", "kmeans++"],
                         images=IMAGES, labels=LABELS, limit=200, seed=3, threads=2)
    assert isinstance(got, list) and all(isinstance(r, dict) for r in got)
    assert len(got) == 1 + 2 * 2 * 2
    assert got == want
    assert got[0]["setting"] == 0 and got[0]["top1"] > 0.5
    assert [r["setting"] for r in got[1:]] == list(range(1, 9))


@need_data
def test_unlabelled_sweep_rows_are_the_cli_json_rows(tmp_path):
    import gzip
    with gzip.open(IMAGES, "rb") as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[:100 * 784]
    np.save(tmp_path / "x.npy", (pixels.reshape(100, 784) / 255.0).astype(np.float32))
    cli("sweep", LENET, "--input", str(tmp_path / "x.npy"), "--prune", "0.8", "--bits", "4,2",
        "--init", "density", "--shard", "1/2", "-q", "--json", "-o", str(tmp_path / "s.csv"))
    want = json.loads((tmp_path / "s.json").read_text())
    got = deepcomp.sweep(LENET, prune=0.8, bits=[4, 2], init="density",
                         inputs=tmp_path / "x.npy", shard=(1, 2))
    assert got == want
    assert len(got) == 2 and got[0]["top1_agreement"] == 1.0


@need_data
def test_sensitivity_points_are_the_cli_json_points(tmp_path):
    cli("sensitivity", LENET, "--images", IMAGES, "--labels", LABELS, "--limit", "200",
        "--rates", "0.6,0.95", "--bits", "3", "--subset", "100", "--threads", "2", "-q", "--json",
        "-o", str(tmp_path / "s.csv"))
    doc = json.loads((tmp_path / "s.json").read_text())
    want = [{"layer": "(uncompressed)", "kind": "", "params": 0, "original_bytes": 0.0,
             "curve": "none", "prune": 0.0, "bits": 32, "score": doc["base_score"],
             "loss_points": 0.0, "samples": doc["samples"], "bytes": 0.0}]
    for layer in doc["layers"]:
        for curve in ("prune", "share"):
            for p in layer[curve]:
                want.append({"layer": layer["name"], "kind": layer["kind"],
                             "params": layer["params"], "original_bytes": layer["original_bytes"],
                             "curve": curve, **p})
    got = deepcomp.sensitivity(LENET, rates=(0.6, 0.95), bits=[3], images=IMAGES, labels=LABELS,
                               limit=200, subset=100, threads=2)
    assert got == want
    assert len(got) >= 1 + 3 * 3


def test_analysis_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="prune"):
        deepcomp.sweep(LENET, prune=[1.5], images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="bits"):
        deepcomp.sweep(LENET, bits=[0], images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="init"):
        deepcomp.sweep(LENET, init=["nonsense"], images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="shard"):
        deepcomp.sweep(LENET, shard=(3, 2), images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="images"):
        deepcomp.sweep(LENET)
    with pytest.raises(ValueError, match="exclude"):
        deepcomp.sweep(LENET, images=IMAGES, labels=LABELS, inputs=tmp_path / "x.npy")
    with pytest.raises(TypeError, match="prune"):
        deepcomp.sweep(LENET, prune="0.5", images=IMAGES, labels=LABELS)
    with pytest.raises(TypeError, match="bits"):
        deepcomp.sweep(LENET, bits=[4.5], images=IMAGES, labels=LABELS)
    with pytest.raises(TypeError, match="shard"):
        deepcomp.sweep(LENET, shard="1/2", images=IMAGES, labels=LABELS)
    with pytest.raises(TypeError, match="images"):
        deepcomp.sweep(LENET, images=3, labels=LABELS)
    with pytest.raises(TypeError, match="unexpected keyword"):
        deepcomp.sweep(LENET, prunes=[0.5])
    with pytest.raises(ValueError, match="rates"):
        deepcomp.sensitivity(LENET, rates=[0], images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="max_loss"):
        deepcomp.sensitivity(LENET, max_loss=-1, images=IMAGES, labels=LABELS)
    with pytest.raises(TypeError, match="subset"):
        deepcomp.sensitivity(LENET, subset=None, images=IMAGES, labels=LABELS)
    with pytest.raises(deepcomp.Error, match="missing.onnx"):
        deepcomp.sweep(tmp_path / "missing.onnx", images=IMAGES, labels=LABELS)
    assert deepcomp.sweep.__doc__ and deepcomp.sensitivity.__doc__
