// The native half of the Python package (python/deepcomp/__init__.py is the other): the public
// C++ API (include/deepcomp/deepcomp.h) over pybind11. Argument checking with Python's own
// exceptions happens in __init__.py; here arrays are converted and the GIL is released while the
// library works. Library errors raise deepcomp.Error (set by __init__.py) with the one-line
// message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>

#include "core/dtype.h"
#include "deepcomp/deepcomp.h"

namespace py = pybind11;

namespace {

py::object g_error;  // deepcomp.Error, registered by __init__.py

[[noreturn]] void raise(const deepcomp::Status& status) {
  PyErr_SetString(g_error ? g_error.ptr() : PyExc_RuntimeError, status.message().c_str());
  throw py::error_already_set();
}

template <typename T>
T value_or_raise(deepcomp::Result<T> r) {
  if (!r.ok()) raise(r.status());
  return std::move(*r);
}

// The ONNX dtype name of a NumPy array's dtype ("" when the runtime has no such dtype).
std::string onnx_dtype(const py::array& a) {
  const char kind = a.dtype().kind();
  const size_t size = static_cast<size_t>(a.itemsize());
  if (kind == 'f')
    return size == 2 ? "float16" : size == 4 ? "float32" : size == 8 ? "float64" : "";
  if (kind == 'b') return "bool";
  if (kind == 'i' || kind == 'u') {
    const std::string bits = std::to_string(8 * size);
    return (kind == 'i' ? "int" : "uint") + bits;
  }
  return "";
}

// A C-contiguous NumPy array (checked by __init__.py) as a deepcomp::Array: floats into `f`
// (float16 widened, float64 narrowed, as the runtime stores them), integers and bool into `i`.
deepcomp::Array to_array(const std::string& name, const py::array& a) {
  deepcomp::Array out;
  out.dtype = onnx_dtype(a);
  if (out.dtype.empty())
    throw py::type_error("input '" + name + "': unsupported array dtype " +
                         std::string(py::str(a.dtype())));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error("input '" + name + "': the array is not C-contiguous");
  for (py::ssize_t d = 0; d < a.ndim(); ++d) out.shape.push_back(a.shape(d));
  const size_t n = static_cast<size_t>(a.size());
  const char* p = static_cast<const char*>(a.data());
  if (out.dtype == "float32") {
    out.f.resize(n);
    if (n) std::memcpy(out.f.data(), p, n * sizeof(float));
  } else if (out.dtype == "float64") {
    out.f.resize(n);
    for (size_t k = 0; k < n; ++k)
      out.f[k] = static_cast<float>(reinterpret_cast<const double*>(p)[k]);
  } else if (out.dtype == "float16") {
    out.f.resize(n);
    for (size_t k = 0; k < n; ++k)
      out.f[k] = deepcomp::half_to_float(reinterpret_cast<const uint16_t*>(p)[k]);
  } else {
    out.i.resize(n);
    const size_t size = static_cast<size_t>(a.itemsize());
    const bool is_signed = a.dtype().kind() == 'i';
    for (size_t k = 0; k < n; ++k) {
      const char* e = p + k * size;
      int64_t v = 0;
      if (out.dtype == "bool")
        v = *reinterpret_cast<const uint8_t*>(e) != 0;
      else if (size == 1)
        v = is_signed ? *reinterpret_cast<const int8_t*>(e) : *reinterpret_cast<const uint8_t*>(e);
      else if (size == 2)
        v = is_signed ? *reinterpret_cast<const int16_t*>(e)
                      : *reinterpret_cast<const uint16_t*>(e);
      else if (size == 4)
        v = is_signed ? *reinterpret_cast<const int32_t*>(e)
                      : *reinterpret_cast<const uint32_t*>(e);
      else
        std::memcpy(&v, e, 8);
      out.i[k] = v;
    }
  }
  return out;
}

// A vector handed to NumPy without a copy: the array's base is a capsule that owns it.
template <typename T>
py::array adopt(std::vector<T>&& data, const std::vector<int64_t>& shape) {
  auto* owned = new std::vector<T>(std::move(data));
  py::capsule base(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<T>(dims, owned->data(), base);
}

// An output as NumPy: float32 and int64 without a copy; other dtypes converted to their own NumPy
// dtype (float16, float64, int8..uint64, bool) from the runtime's storage.
py::array to_numpy(deepcomp::Array&& a) {
  const bool is_float =
      a.dtype == "float32" || a.dtype == "float16" || a.dtype == "float64" || a.dtype == "bfloat16";
  py::array base = is_float ? adopt(std::move(a.f), a.shape) : adopt(std::move(a.i), a.shape);
  if (a.dtype == "float32" || a.dtype == "int64") return base;
  if (a.dtype == "bfloat16") return base;  // NumPy has no bfloat16: float32, as `run` writes it
  return base.attr("astype")(a.dtype == "bool" ? "bool" : a.dtype);
}

deepcomp::CompressOptions compress_options(const py::dict& kw) {
  deepcomp::CompressOptions o;
  auto opt = [&](const char* key, std::optional<double>* out) {
    if (kw.contains(key) && !kw[key].is_none()) *out = kw[key].cast<double>();
  };
  opt("prune", &o.prune);
  opt("prune_std", &o.prune_std);
  opt("prune_global", &o.prune_global);
  opt("prune_conv", &o.prune_conv);
  opt("prune_fc", &o.prune_fc);
  auto set = [&](const char* key, auto* out) {
    if (kw.contains(key)) *out = kw[key].cast<std::remove_pointer_t<decltype(out)>>();
  };
  set("no_prune", &o.no_prune);
  set("bits_conv", &o.bits_conv);
  set("bits_fc", &o.bits_fc);
  set("quant_bits_conv", &o.quant_bits_conv);
  set("quant_bits_fc", &o.quant_bits_fc);
  set("quant_flat_bits", &o.quant_flat_bits);
  set("onnx_compact", &o.onnx_compact);
  set("init", &o.init);
  set("empty_clusters", &o.empty_clusters);
  set("iters", &o.iters);
  set("seed", &o.seed);
  set("share", &o.share);
  set("index_bits_conv", &o.index_bits_conv);
  set("index_bits_fc", &o.index_bits_fc);
  set("huffman", &o.huffman);
  set("include_biases", &o.include_biases);
  set("layers", &o.layers);
  set("force", &o.overwrite);
  set("in_memory", &o.in_memory);
  set("energy", &o.energy);
  set("energy_latency", &o.energy_latency);
  return o;
}

// Validation data from the keywords __init__.py checked: images, labels, inputs (--input specs),
// scale, mean, std, pad, layout, limit.
deepcomp::Validation validation(const py::dict& kw) {
  deepcomp::Validation v;
  v.images = kw["images"].cast<std::string>();
  v.labels = kw["labels"].cast<std::string>();
  v.inputs = kw["inputs"].cast<std::vector<std::string>>();
  v.scale = kw["scale"].cast<double>();
  v.mean = kw["mean"].cast<double>();
  v.std = kw["std"].cast<double>();
  v.pad = kw["pad"].cast<int64_t>();
  v.layout = kw["layout"].cast<std::string>();
  v.limit = kw["limit"].cast<int64_t>();
  return v;
}

py::dict sensitivity_row(const deepcomp::SensitivityRow& r) {
  py::dict d;
  d["layer"] = r.layer;
  d["kind"] = r.kind;
  d["params"] = r.params;
  d["original_bytes"] = r.original_bytes;
  d["curve"] = r.curve;
  d["prune"] = r.prune;
  d["bits"] = r.bits;
  d["score"] = r.score;
  d["loss_points"] = r.loss_points;
  d["samples"] = r.samples;
  d["bytes"] = r.bytes;
  return d;
}

deepcomp::SweepOptions sweep_options(const py::dict& kw) {
  deepcomp::SweepOptions o;
  o.prune = kw["prune"].cast<std::vector<double>>();
  o.bits = kw["bits"].cast<std::vector<int>>();
  o.init = kw["init"].cast<std::vector<std::string>>();
  o.validation = validation(kw);
  o.seed = kw["seed"].cast<uint64_t>();
  o.threads = kw["threads"].cast<int>();
  o.shard_index = kw["shard_index"].cast<int64_t>();
  o.shard_count = kw["shard_count"].cast<int64_t>();
  return o;
}

deepcomp::SensitivityOptions sensitivity_options(const py::dict& kw) {
  deepcomp::SensitivityOptions o;
  o.rates = kw["rates"].cast<std::vector<double>>();
  o.bits = kw["bits"].cast<std::vector<int>>();
  o.validation = validation(kw);
  o.subset = kw["subset"].cast<int64_t>();
  o.refine = kw["refine"].cast<int>();
  o.max_loss = kw["max_loss"].cast<double>();
  o.init = kw["init"].cast<std::string>();
  o.seed = kw["seed"].cast<uint64_t>();
  o.threads = kw["threads"].cast<int>();
  return o;
}

}  // namespace

PYBIND11_MODULE(_deepcomp, m) {
  m.doc() = "Native part of the deepcomp package; use `import deepcomp`.";
  m.def("_set_error", [](py::object error) { g_error = error; });

  m.def("check_compress_options", [](const py::dict& kw) {
    deepcomp::Status s = deepcomp::validate_compress_options(compress_options(kw));
    if (!s.ok()) throw py::value_error(s.message());
  });
  m.def("compress", [](const std::string& in, const std::string& out, const py::dict& kw) {
    const deepcomp::CompressOptions o = compress_options(kw);
    deepcomp::Result<std::string> r = deepcomp::Status::Error("not run");
    {
      py::gil_scoped_release release;
      r = deepcomp::compress_file_json(in, out, o);
    }
    return value_or_raise(std::move(r));
  });
  m.def("decompress",
        [](const std::string& in, const std::string& out, bool force, bool external_data) {
          deepcomp::DecompressOptions o;
          o.overwrite = force;
          o.external_data = external_data;
          deepcomp::Status s;
          {
            py::gil_scoped_release release;
            s = deepcomp::decompress_file(in, out, o);
          }
          if (!s.ok()) raise(s);
        });
  m.def("inspect", [](const std::string& path) {
    deepcomp::Result<std::string> r = deepcomp::Status::Error("not run");
    {
      py::gil_scoped_release release;
      r = deepcomp::inspect(path);
    }
    return value_or_raise(std::move(r));
  });
  m.def("energy", [](const std::string& model, const std::string& compressed,
                     const std::map<std::string, std::string>& inputs, bool measure_latency,
                     int runs, double max_seconds, int threads) {
    deepcomp::EnergyOptions o;
    o.compressed = compressed;
    o.inputs = inputs;
    o.measure_latency = measure_latency;
    o.runs = runs;
    o.max_seconds = max_seconds;
    o.threads = threads;
    deepcomp::Result<std::string> r = deepcomp::Status::Error("not run");
    {
      py::gil_scoped_release release;
      r = deepcomp::energy(model, o);
    }
    return value_or_raise(std::move(r));
  });

  m.def("check_sweep_options", [](const py::dict& kw) {
    deepcomp::Status s = deepcomp::validate_sweep_options(sweep_options(kw));
    if (!s.ok()) throw py::value_error(s.message());
  });
  m.def("check_sensitivity_options", [](const py::dict& kw) {
    deepcomp::Status s = deepcomp::validate_sensitivity_options(sensitivity_options(kw));
    if (!s.ok()) throw py::value_error(s.message());
  });
  m.def("sweep", [](const std::string& model, const py::dict& kw) {
    const deepcomp::SweepOptions o = sweep_options(kw);
    deepcomp::Result<deepcomp::SweepResult> r = deepcomp::Status::Error("not run");
    {
      py::gil_scoped_release release;
      r = deepcomp::sweep(model, o);
    }
    return value_or_raise(std::move(r)).json;
  });
  m.def("sensitivity", [](const std::string& model, const py::dict& kw) {
    const deepcomp::SensitivityOptions o = sensitivity_options(kw);
    deepcomp::Result<deepcomp::SensitivityResult> r = deepcomp::Status::Error("not run");
    {
      py::gil_scoped_release release;
      r = deepcomp::sensitivity(model, o);
    }
    const deepcomp::SensitivityResult result = value_or_raise(std::move(r));
    py::list rows;
    for (const deepcomp::SensitivityRow& row : result.rows) rows.append(sensitivity_row(row));
    return rows;
  });

  py::class_<deepcomp::Session>(m, "Session")
      .def(py::init([](const std::string& path, const std::string& kernel, int threads) {
        deepcomp::SessionOptions o;
        o.kernel = kernel;
        o.threads = threads;
        deepcomp::Result<deepcomp::Session> r = deepcomp::Status::Error("not run");
        {
          py::gil_scoped_release release;
          r = deepcomp::Session::open(path, o);
        }
        return std::make_unique<deepcomp::Session>(value_or_raise(std::move(r)));
      }))
      .def_property_readonly("input_names", &deepcomp::Session::input_names)
      .def_property_readonly("output_names", &deepcomp::Session::output_names)
      .def_property_readonly("inputs",
                             [](const deepcomp::Session& s) {
                               py::list out;
                               for (const deepcomp::TensorInfo& t : s.inputs()) {
                                 py::dict d;
                                 d["name"] = t.name;
                                 d["dtype"] = t.dtype;
                                 d["shape"] = t.has_shape ? py::cast(t.shape) : py::none();
                                 out.append(d);
                               }
                               return out;
                             })
      .def("run", [](deepcomp::Session& s, const py::list& feeds) {
        std::vector<std::pair<std::string, deepcomp::Array>> inputs;
        for (py::handle item : feeds) {
          auto pair = item.cast<py::tuple>();
          const std::string name = pair[0].cast<std::string>();
          deepcomp::Array array = to_array(name, pair[1].cast<py::array>());
          // NumPy has no bfloat16: a bfloat16 input takes float32 values, rounded by the run.
          for (const deepcomp::TensorInfo& in : s.inputs())
            if (in.name == name && in.dtype == "bfloat16" && array.dtype == "float32")
              array.dtype = "bfloat16";
          inputs.emplace_back(name, std::move(array));
        }
        deepcomp::Result<std::vector<std::pair<std::string, deepcomp::Array>>> r =
            deepcomp::Status::Error("not run");
        {
          py::gil_scoped_release release;
          r = s.run(std::move(inputs));
        }
        auto outs = value_or_raise(std::move(r));
        py::dict result;
        for (auto& [name, array] : outs) result[py::str(name)] = to_numpy(std::move(array));
        return result;
      });
}
