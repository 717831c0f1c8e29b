"""deepcomp: Deep Compression (pruning, k-means weight sharing, Huffman coding) for ONNX models.

The functions mirror the ``deepcomp`` command (docs/CLI.md) and return what its JSON outputs hold:

    >>> import deepcomp
    >>> report = deepcomp.compress("model.onnx", "model.dcz", prune_fc=0.9, bits_fc=4)
    >>> report["total"]["ratio"]       # the compression ratio
    >>> s = deepcomp.Session("model.dcz")                               # runs sparse, never dense
    >>> out = s.run({s.input_names[0]: x})                              # {output name: ndarray}
    >>> rows = deepcomp.sweep("model.onnx", images="x.npy", labels="y.npy")  # [{...}, ...]

Errors of the library raise deepcomp.Error carrying the command's one-line message; bad
arguments raise TypeError or ValueError naming the argument. Long work runs with the GIL released.
docs/PYTHON.md has the details.
"""

import json as _json
import numbers as _numbers
import os as _os
import re as _re

from . import _deepcomp

__all__ = ["Error", "compress", "decompress", "inspect", "energy", "sweep", "sensitivity",
           "Session"]
__version__ = "0.1.0"


class Error(RuntimeError):
    """A failure of the library (unreadable model, existing output without force, ...)."""


_deepcomp._set_error(Error)


def _path(name, value):
    if isinstance(value, _os.PathLike):
        value = _os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a path (str or os.PathLike), not {type(value).__name__}")
    return value


def _check(name, value, kind, optional=False):
    """`value` of argument `name` as `kind` ('real', 'int', 'bool', 'str'); TypeError otherwise."""
    if value is None and optional:
        return None
    ok = {
        "real": isinstance(value, _numbers.Real) and not isinstance(value, bool),
        "int": isinstance(value, _numbers.Integral) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        what = {"real": "a number", "int": "an integer", "bool": "True or False", "str": "a str"}
        none = " or None" if optional else ""
        raise TypeError(f"{name} must be {what[kind]}{none}, not {type(value).__name__}")
    return float(value) if kind == "real" else int(value) if kind == "int" else value


def _flag_to_argument(message):
    # The library names the command's flags (--bits-fc); Python callers know the keywords.
    return _re.sub(r"--([a-z][a-z0-9-]*)", lambda m: m.group(1).replace("-", "_"), message)


def compress(in_path, out_path, *, prune=None, prune_std=None, prune_global=None,
             prune_conv=None, prune_fc=None, no_prune=False, bits_conv=8, bits_fc=5,
             quant_bits_conv=4, quant_bits_fc=5, quant_flat_bits=False, init="linear",
             empty_clusters="split", iters=100, seed=0, share=True,
             index_bits_conv=8, index_bits_fc=5, huffman=True, include_biases=False, layers=(),
             in_memory=False, onnx_compact=None, energy=True, energy_latency=False,
             force=False):
    """Compress the ONNX model ``in_path`` into the .dcz file ``out_path``.

    Keywords are ``deepcomp compress``'s flags (docs/CLI.md): ``prune`` (one sparsity for every
    compressible layer), ``prune_std``, ``prune_global``, ``prune_conv`` / ``prune_fc`` (defaults
    0.2 / 0.3), ``no_prune``; ``bits_conv`` / ``bits_fc`` (1..16), ``quant_bits_conv`` /
    ``quant_bits_fc`` (layers already 8-bit), ``quant_flat_bits``, ``init`` (linear, density,
    random, kmeans++, optimal), ``empty_clusters`` (split, drop), ``iters``, ``seed``, ``share``;
    ``index_bits_conv`` / ``index_bits_fc``, ``huffman``, ``include_biases``; ``layers``: a list
    of --layer overrides such as "fc1.weight=prune:0.9,bits:4"; ``in_memory``; ``onnx_compact``:
    also write a plain-ONNX model with codebook + index weights to this path; ``energy`` (the
    report's energy section) and ``energy_latency``; ``force`` replaces an existing output.

    Returns the report as a dict with the keys of ``deepcomp compress --report-json``; the
    compression ratio is ``report["total"]["ratio"]``.
    Raises deepcomp.Error when compression fails.
    """
    kw = {
        "prune": _check("prune", prune, "real", True),
        "prune_std": _check("prune_std", prune_std, "real", True),
        "prune_global": _check("prune_global", prune_global, "real", True),
        "prune_conv": _check("prune_conv", prune_conv, "real", True),
        "prune_fc": _check("prune_fc", prune_fc, "real", True),
        "no_prune": _check("no_prune", no_prune, "bool"),
        "bits_conv": _check("bits_conv", bits_conv, "int"),
        "bits_fc": _check("bits_fc", bits_fc, "int"),
        "quant_bits_conv": _check("quant_bits_conv", quant_bits_conv, "int"),
        "quant_bits_fc": _check("quant_bits_fc", quant_bits_fc, "int"),
        "quant_flat_bits": _check("quant_flat_bits", quant_flat_bits, "bool"),
        "onnx_compact": "" if onnx_compact is None else _path("onnx_compact", onnx_compact),
        "init": _check("init", init, "str"),
        "empty_clusters": _check("empty_clusters", empty_clusters, "str"),
        "iters": _check("iters", iters, "int"),
        "seed": _check("seed", seed, "int"),
        "share": _check("share", share, "bool"),
        "index_bits_conv": _check("index_bits_conv", index_bits_conv, "int"),
        "index_bits_fc": _check("index_bits_fc", index_bits_fc, "int"),
        "huffman": _check("huffman", huffman, "bool"),
        "include_biases": _check("include_biases", include_biases, "bool"),
        "in_memory": _check("in_memory", in_memory, "bool"),
        "energy": _check("energy", energy, "bool"),
        "energy_latency": _check("energy_latency", energy_latency, "bool"),
        "force": _check("force", force, "bool"),
    }
    if isinstance(layers, str) or not all(isinstance(x, str) for x in layers):
        raise TypeError("layers must be a list of str overrides, e.g. ['fc1.weight=skip']")
    kw["layers"] = list(layers)
    if kw["seed"] < 0 or kw["seed"] >= 2**64:
        raise ValueError("seed must be in [0, 2**64)")
    for name in ("bits_conv", "bits_fc", "quant_bits_conv", "quant_bits_fc", "iters",
                 "index_bits_conv", "index_bits_fc"):
        if not -2**31 <= kw[name] < 2**31:
            raise ValueError(f"{name} is out of range")
    try:
        _deepcomp.check_compress_options(kw)
    except ValueError as e:
        raise ValueError(_flag_to_argument(str(e))) from None
    return _json.loads(_deepcomp.compress(_path("in_path", in_path), _path("out_path", out_path), kw))


def decompress(in_path, out_path, *, force=False, external_data=False):
    """Restore the dense ONNX model of the .dcz ``in_path`` into ``out_path``.

    ``force`` replaces an existing output; ``external_data`` writes the weights to
    OUT.data beside the model, one tensor at a time. Raises deepcomp.Error on failure.
    """
    _deepcomp.decompress(_path("in_path", in_path), _path("out_path", out_path),
                         _check("force", force, "bool"),
                         _check("external_data", external_data, "bool"))


def inspect(path):
    """What is in an .onnx or .dcz file: the dict ``deepcomp inspect PATH --json`` prints."""
    return _json.loads(_deepcomp.inspect(_path("path", path)))


def energy(model, *, compressed=None, inputs=None, measure_latency=True, runs=10,
           max_seconds=10.0, threads=1):
    """The energy report of ``deepcomp energy MODEL --json`` as a dict (docs/ENERGY.md).

    ``compressed``: its .dcz (default: compressed in memory with the default settings);
    ``inputs``: {input name: .npy path} for inputs whose shapes are not static;
    ``measure_latency=False`` times nothing (no deployment section); ``runs``, ``max_seconds``
    and ``threads`` as the command's flags.
    """
    inputs = {} if inputs is None else inputs
    if not isinstance(inputs, dict):
        raise TypeError(f"inputs must be a dict {{name: .npy path}}, not {type(inputs).__name__}")
    paths = {}
    for name, path in inputs.items():
        if not isinstance(name, str):
            raise TypeError(f"inputs: names must be str, not {type(name).__name__}")
        paths[name] = _path(f"inputs['{name}']", path)
    return _json.loads(_deepcomp.energy(
        _path("model", model), "" if compressed is None else _path("compressed", compressed),
        paths, _check("measure_latency", measure_latency, "bool"), _check("runs", runs, "int"),
        _check("max_seconds", max_seconds, "real"), _check("threads", threads, "int")))


def _list(name, values, kind):
    """A list or tuple of `kind` values (a single value is a one-item list)."""
    if isinstance(values, (list, tuple)):
        items = list(values)
    elif kind == "str" and isinstance(values, str):
        items = [values]
    elif kind != "str" and isinstance(values, _numbers.Real) and not isinstance(values, bool):
        items = [values]
    else:
        raise TypeError(f"{name} must be a list of {'str' if kind == 'str' else 'numbers'}, "
                        f"not {type(values).__name__}")
    return [_check(f"{name}[{k}]", v, kind) for k, v in enumerate(items)]


def _validation(images, labels, inputs, scale, mean, std, pad, layout, limit):
    """The scoring data keywords of sweep and sensitivity as the native module takes them."""
    if inputs is None:
        specs = []
    elif isinstance(inputs, dict):
        specs = []
        for name, path in inputs.items():
            if not isinstance(name, str) or not name:
                raise TypeError("inputs: names must be non-empty str")
            specs.append(f"{name}={_path(f'inputs[{name!r}]', path)}")
    else:  # one file with samples along its first axis
        specs = [_path("inputs", inputs)]
    return {
        "images": "" if images is None else _path("images", images),
        "labels": "" if labels is None else _path("labels", labels),
        "inputs": specs,
        "scale": _check("scale", scale, "real"),
        "mean": _check("mean", mean, "real"),
        "std": _check("std", std, "real"),
        "pad": _check("pad", pad, "int"),
        "layout": _check("layout", layout, "str"),
        "limit": _check("limit", limit, "int"),
    }


def _check_options(check, kw):
    """The library's checks of the settings, as ValueError naming the keyword."""
    try:
        check(kw)
    except ValueError as e:
        raise ValueError(_flag_to_argument(str(e))) from None


def _count(name, value, low, high):
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]")
    return value


def sweep(model, *, prune=(0.5, 0.7, 0.8, 0.9, 0.95), bits=(8, 6, 5, 4, 3),
          init=("linear", "density", "random"), images=None, labels=None, inputs=None,
          scale=1.0 / 255.0, mean=0.0, std=1.0, pad=0, layout="nchw", limit=0, seed=0, threads=0,
          shard=None):
    """Compress ``model`` at every combination of ``prune`` x ``bits`` x ``init`` and score each.

    As ``deepcomp sweep`` (docs/CLI.md): scored by top-1/top-5 accuracy on ``images`` and
    ``labels`` (IDX or .npy; preprocessed by ``scale``, ``mean``, ``std``, ``pad``, ``layout``;
    ``limit`` keeps the first N), or with ``inputs`` instead ({input name: .npy path}, or one .npy
    path with samples along its first axis) by the agreement of the first output with the
    original model's. ``seed`` of the random/kmeans++ inits; ``threads`` settings in parallel
    (0 = OpenMP's default); ``shard=(K, N)`` evaluates grid positions K, K+N, ... only.

    Returns the rows as a list of dicts, the objects of ``deepcomp sweep --json``: the baseline
    (the uncompressed model, setting 0) first, then the settings in grid order.
    Bad settings raise ValueError naming the keyword; deepcomp.Error when the sweep fails (bad
    files, a setting that fails).
    """
    kw = _validation(images, labels, inputs, scale, mean, std, pad, layout, limit)
    kw["prune"] = _list("prune", prune, "real")
    kw["bits"] = [_count(f"bits[{k}]", b, -2**31, 2**31 - 1)
                  for k, b in enumerate(_list("bits", bits, "int"))]
    kw["init"] = _list("init", init, "str")
    kw["seed"] = _count("seed", _check("seed", seed, "int"), 0, 2**64 - 1)
    kw["threads"] = _count("threads", _check("threads", threads, "int"), 0, 2**31 - 1)
    if shard is None:
        shard = (1, 1)
    if not isinstance(shard, (tuple, list)) or len(shard) != 2:
        raise TypeError("shard must be a pair (K, N), e.g. (2, 8)")
    kw["shard_index"] = _count("shard", _check("shard[0]", shard[0], "int"), -2**63, 2**63 - 1)
    kw["shard_count"] = _count("shard", _check("shard[1]", shard[1], "int"), -2**63, 2**63 - 1)
    for key in ("pad", "limit"):
        _count(key, kw[key], -2**63, 2**63 - 1)
    _check_options(_deepcomp.check_sweep_options, kw)
    return _json.loads(_deepcomp.sweep(_path("model", model), kw))


def sensitivity(model, *, rates=(0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97),
                bits=(8, 6, 5, 4, 3, 2), images=None, labels=None, inputs=None,
                scale=1.0 / 255.0, mean=0.0, std=1.0, pad=0, layout="nchw", limit=0,
                subset=1000, refine=2, max_loss=1.0, init="linear", seed=0, threads=0):
    """Each layer of ``model`` compressed alone: pruned at ``rates``, shared at ``bits``, scored.

    As ``deepcomp sensitivity`` (docs/CLI.md); the scoring keywords are sweep's. ``subset``:
    samples each point is scored on first (all of them near the ``max_loss`` edge, in points);
    ``refine``: extra rates per layer where the curve crosses the edge; ``init``, ``seed``;
    ``threads`` per evaluation (0 = OpenMP's default).

    Returns the points as a list of dicts with keys layer, kind, params, original_bytes, curve
    ("prune", "share"), prune, bits, score, loss_points, samples, bytes: the points of
    ``deepcomp sensitivity --json`` layer by layer, after a first row for the uncompressed model
    (layer "(uncompressed)", curve "none", score = its score on every sample).
    """
    kw = _validation(images, labels, inputs, scale, mean, std, pad, layout, limit)
    kw["rates"] = _list("rates", rates, "real")
    kw["bits"] = [_count(f"bits[{k}]", b, -2**31, 2**31 - 1)
                  for k, b in enumerate(_list("bits", bits, "int"))]
    kw["subset"] = _count("subset", _check("subset", subset, "int"), -2**63, 2**63 - 1)
    kw["refine"] = _count("refine", _check("refine", refine, "int"), -2**31, 2**31 - 1)
    kw["max_loss"] = _check("max_loss", max_loss, "real")
    kw["init"] = _check("init", init, "str")
    kw["seed"] = _count("seed", _check("seed", seed, "int"), 0, 2**64 - 1)
    kw["threads"] = _count("threads", _check("threads", threads, "int"), 0, 2**31 - 1)
    for key in ("pad", "limit"):
        _count(key, kw[key], -2**63, 2**63 - 1)
    _check_options(_deepcomp.check_sensitivity_options, kw)
    return _deepcomp.sensitivity(_path("model", model), kw)


class Session:
    """A model opened to run: an .onnx, or a .dcz run straight from its compressed form.

    ``Session(path, kernel="auto", threads=1)`` opens it as ``deepcomp run`` does (``kernel``:
    auto, sparse or dense). The weights are loaded once; ``run`` never copies them.
    """

    def __init__(self, path, *, kernel="auto", threads=1):
        self._native = _deepcomp.Session(_path("path", path), _check("kernel", kernel, "str"),
                                         _check("threads", threads, "int"))

    @property
    def input_names(self):
        """The graph inputs' names, in graph order."""
        return self._native.input_names

    @property
    def output_names(self):
        """The graph outputs' names, in graph order."""
        return self._native.output_names

    @property
    def inputs(self):
        """The graph inputs: dicts with name, dtype ("" if undeclared) and shape (-1 = free)."""
        return self._native.inputs

    def run(self, feeds):
        """Run the model once on ``feeds``, a dict {input name: array}; returns {output name: array}.

        Every input must be given, with the model's dtype (float32 for a float32 input: no
        silent conversion of arrays) and a shape fitting the declared one. Lists and other
        array-likes are converted with numpy.asarray to the input's dtype; a non-contiguous array is copied to a contiguous one. float32
        and int64 outputs are handed over without a copy; other dtypes come back in their own
        NumPy dtype. Raises TypeError for a bad feed, deepcomp.Error for a failed run.
        """
        import numpy as np

        if not isinstance(feeds, dict):
            raise TypeError(f"feeds must be a dict {{input name: array}}, not {type(feeds).__name__}")
        declared = {i["name"]: i for i in self.inputs}
        arrays = []
        for name, value in feeds.items():
            if not isinstance(name, str):
                raise TypeError(f"feeds: input names must be str, not {type(name).__name__}")
            if name not in declared:
                raise ValueError(f"the model has no input '{name}' (its inputs: "
                                 f"{', '.join(declared) or 'none'})")
            if value is None:
                raise TypeError(f"input '{name}' is None: pass a numpy array")
            want = declared[name]["dtype"]
            if isinstance(value, np.ndarray):
                array = value
            else:  # a list or other array-like takes the input's dtype
                array = np.asarray(value, dtype=np.float32 if want == "bfloat16" else (want or None))
            if array.dtype == object or array.dtype.kind not in "fiub":
                raise TypeError(f"input '{name}': unsupported array dtype {array.dtype}")
            if want and str(array.dtype) != want and not (want == "bfloat16" and array.dtype == np.float32):
                raise TypeError(f"input '{name}' is {want}, the array given is {array.dtype} "
                                f"(convert it with .astype(numpy.{want}))")
            arrays.append((name, np.ascontiguousarray(array)))
        missing = [n for n in declared if n not in feeds]
        if missing:
            raise ValueError(f"input '{missing[0]}' is not given")
        return self._native.run(arrays)
