"""The Python package against the `deepcomp` command (DEEPCOMP_BINARY): the same report, the same
outputs, the same documents; bad arguments raise TypeError / ValueError naming them; and a loop of
Session.run keeps memory flat (the weights are loaded once, never copied per call)."""
import json
import os
import subprocess

import numpy as np
import pytest

import deepcomp

SOURCE = os.environ.get("DEEPCOMP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ["DEEPCOMP_BINARY"]
LENET = os.path.join(SOURCE, "models", "lenet-300-100.onnx")
LENET5 = os.path.join(SOURCE, "models", "lenet-5.onnx")


def cli(*args):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def without_seconds(report):
    report = dict(report)
    report["total"] = {k: v for k, v in report["total"].items() if k != "seconds"}
    report["layers"] = [{k: v for k, v in layer.items() if k != "seconds"} for layer in report["layers"]]
    return report


def test_compress_gives_the_cli_report_and_file(tmp_path):
    cli("compress", LENET, "-o", str(tmp_path / "cli.dcz"), "--prune-fc", "0.9", "--bits-fc", "4",
        "--init", "density", "-q", "--no-energy", "--report-json", str(tmp_path / "cli.json"))
    want = json.loads((tmp_path / "cli.json").read_text())
    got = deepcomp.compress(LENET, tmp_path / "py.dcz", prune_fc=0.9, bits_fc=4, init="density",
                            energy=False)
    assert set(got) == set(want)
    assert without_seconds(got) == without_seconds(want)
    assert got["total"]["ratio"] > 5
    assert (tmp_path / "py.dcz").read_bytes() == (tmp_path / "cli.dcz").read_bytes()


def test_compress_report_has_the_energy_section_by_default(tmp_path):
    got = deepcomp.compress(LENET, str(tmp_path / "m.dcz"))
    assert "energy" in got and "per_inference" in got["energy"], got.get("energy")


def test_compress_refuses_an_existing_output_unless_forced(tmp_path):
    out = tmp_path / "m.dcz"
    out.write_bytes(b"keep")
    with pytest.raises(deepcomp.Error, match="exists"):
        deepcomp.compress(LENET, out)
    assert out.read_bytes() == b"keep"
    deepcomp.compress(LENET, out, force=True, energy=False)
    assert out.read_bytes()[:3] == b"DCZ"
    with pytest.raises(deepcomp.Error, match="missing.onnx"):
        deepcomp.compress(tmp_path / "missing.onnx", tmp_path / "x.dcz")


def test_compress_bad_arguments_name_the_argument(tmp_path):
    out = str(tmp_path / "x.dcz")
    with pytest.raises(TypeError, match="prun"):
        deepcomp.compress(LENET, out, prun=0.5)  # unknown keyword
    with pytest.raises(TypeError, match="bits_fc"):
        deepcomp.compress(LENET, out, bits_fc="4")
    with pytest.raises(TypeError, match="prune"):
        deepcomp.compress(LENET, out, prune="high")
    with pytest.raises(TypeError, match="force"):
        deepcomp.compress(LENET, out, force=1)
    with pytest.raises(TypeError, match="in_path"):
        deepcomp.compress(None, out)
    with pytest.raises(TypeError, match="layers"):
        deepcomp.compress(LENET, out, layers="fc1=skip")
    with pytest.raises(ValueError, match="bits_fc"):
        deepcomp.compress(LENET, out, bits_fc=17)
    with pytest.raises(ValueError, match="init"):
        deepcomp.compress(LENET, out, init="nonsense")
    with pytest.raises(ValueError, match="seed"):
        deepcomp.compress(LENET, out, seed=-1)
    assert not os.path.exists(out)


def test_decompress_and_inspect_match_the_cli(tmp_path):
    deepcomp.compress(LENET5, tmp_path / "m.dcz", energy=False)
    deepcomp.decompress(tmp_path / "m.dcz", tmp_path / "py.onnx")
    cli("decompress", str(tmp_path / "m.dcz"), "-o", str(tmp_path / "cli.onnx"))
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()
    with pytest.raises(deepcomp.Error, match="exists"):
        deepcomp.decompress(tmp_path / "m.dcz", tmp_path / "py.onnx")
    deepcomp.decompress(tmp_path / "m.dcz", tmp_path / "py.onnx", force=True)
    for path in (str(tmp_path / "m.dcz"), LENET5):
        assert deepcomp.inspect(path) == json.loads(cli("inspect", path, "--json"))


def test_energy_per_inference_matches_the_cli(tmp_path):
    deepcomp.compress(LENET, tmp_path / "m.dcz", energy=False)
    got = deepcomp.energy(LENET, compressed=tmp_path / "m.dcz", measure_latency=False)
    want = json.loads(cli("energy", LENET, "--compressed", str(tmp_path / "m.dcz"), "--json",
                          "--runs", "1", "--max-seconds", "0.01"))
    assert got["per_inference"] == want["per_inference"]
    with pytest.raises(TypeError, match="runs"):
        deepcomp.energy(LENET, runs=1.5)


def sample(session, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {}
    for info in session.inputs:
        shape = [1 if d < 0 else d for d in info["shape"]]
        feeds[info["name"]] = rng.random(shape, dtype=np.float32)
    return feeds


def read_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("kind", ["onnx", "dcz"])
def test_session_run_matches_deepcomp_run(tmp_path, kind):
    path = LENET5
    if kind == "dcz":
        path = str(tmp_path / "m.dcz")
        deepcomp.compress(LENET5, path, energy=False)
    s = deepcomp.Session(path)
    assert s.input_names == [i["name"] for i in s.inputs]
    feeds = sample(s)
    args = []
    for name, array in feeds.items():
        np.save(tmp_path / f"{name}.npy", array)
        args += ["--input", f"{name}={tmp_path / (name + '.npy')}"]
    cli("run", path, *args, "-o", str(tmp_path / "out.npz"))
    want = read_npz(tmp_path / "out.npz")
    got = s.run(feeds)
    assert list(got) == s.output_names == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype
        assert got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6)


def test_session_outputs_are_handed_over_without_a_copy():
    s = deepcomp.Session(LENET)
    out = s.run(sample(s))[s.output_names[0]]
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert out.base is not None  # owned by the capsule holding the runtime's buffer
    out[...] = 0  # writable, and ours


def test_session_accepts_non_contiguous_arrays_and_lists():
    s = deepcomp.Session(LENET)
    feeds = sample(s)
    name = s.input_names[0]
    want = s.run(feeds)[s.output_names[0]]
    x = feeds[name]
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=np.float32)
    wide[..., ::2] = x
    strided = wide[..., ::2]
    assert not strided.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(s.run({name: strided})[s.output_names[0]], want)
    np.testing.assert_array_equal(s.run({name: x.tolist()})[s.output_names[0]].shape, want.shape)


def test_session_bad_feeds_name_the_input():
    s = deepcomp.Session(LENET)
    name = s.input_names[0]
    feeds = sample(s)
    with pytest.raises(ValueError, match=f"input '{name}'"):
        s.run({})
    with pytest.raises(ValueError, match="no input 'nope'"):
        s.run({**feeds, "nope": feeds[name]})
    with pytest.raises(TypeError, match=f"input '{name}' is None"):
        s.run({name: None})
    with pytest.raises(TypeError, match="float32"):
        s.run({name: feeds[name].astype(np.float64)})
    with pytest.raises(TypeError, match="dtype"):
        s.run({name: np.array(["a"] * feeds[name].size).reshape(feeds[name].shape)})
    with pytest.raises(TypeError, match="feeds"):
        s.run([feeds[name]])
    with pytest.raises(deepcomp.Error, match=name):
        s.run({name: feeds[name].reshape(-1)})  # wrong rank for the declared shape
    with pytest.raises(TypeError, match="kernel"):
        deepcomp.Session(LENET, kernel=3)
    with pytest.raises(deepcomp.Error, match="missing.onnx"):
        deepcomp.Session("missing.onnx")
    assert s.run(feeds)  # still usable


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def test_run_does_not_copy_the_weights():
    # The peak RSS while running (VmHWM, reset through /proc/self/clear_refs) stays within
    # 256 KB of the RSS before: a copy of the 1.07 MB of weights (mmap'd, so counted) would not.
    s = deepcomp.Session(LENET)
    feeds = sample(s)
    s.run(feeds)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError as e:
        pytest.skip(f"cannot reset the peak RSS: {e}")
    before = status_kb("VmRSS")
    for _ in range(50):
        s.run(feeds)
    peak = status_kb("VmHWM")
    assert peak - before < 256, f"peak RSS {peak - before} KB above the RSS before the runs"


def test_run_in_a_loop_keeps_memory_flat():
    # lenet-300-100 holds 266k float32 weights (1.07 MB): copying them per call, or leaking an
    # output per call, would add 1 MB (or 200 x 40 B) over the loop; the RSS must stay within
    # 1 MB after a warm-up.
    s = deepcomp.Session(LENET)
    feeds = sample(s)
    for _ in range(20):
        s.run(feeds)
    before = rss_bytes()
    for _ in range(500):
        out = s.run(feeds)
    grown = rss_bytes() - before
    assert grown < 1 << 20, f"RSS grew by {grown} bytes over 500 runs"
    assert out[s.output_names[0]].shape[0] == 1


def test_docstrings():
    for f in (deepcomp.compress, deepcomp.decompress, deepcomp.inspect, deepcomp.energy,
              deepcomp.Session, deepcomp.Session.run):
        assert f.__doc__ and len(f.__doc__) > 40


def test_compress_onnx_compact_writes_the_cli_file(tmp_path):
    cli("compress", LENET, "-o", str(tmp_path / "cli.dcz"), "--onnx-compact",
        str(tmp_path / "cli.onnx"), "--prune-fc", "0.8", "-q", "--no-energy")
    deepcomp.compress(LENET, tmp_path / "py.dcz", prune_fc=0.8, onnx_compact=tmp_path / "py.onnx",
                      energy=False)
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()
    assert (tmp_path / "py.dcz").read_bytes() == (tmp_path / "cli.dcz").read_bytes()
    with pytest.raises(TypeError, match="onnx_compact"):
        deepcomp.compress(LENET, tmp_path / "x.dcz", onnx_compact=3)
    with pytest.raises(ValueError, match="quant_bits_conv"):
        deepcomp.compress(LENET, tmp_path / "x.dcz", quant_bits_conv=0)
