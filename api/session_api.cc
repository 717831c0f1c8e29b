// deepcomp::Session (include/deepcomp/session.h): a model opened as `deepcomp run` opens it
// (toolkit/model_source.h: a .dcz sparse from its compressed streams, --kernel auto), and run on
// named arrays checked as `run --input NAME=FILE.npy` checks them. The arrays' storage is moved
// into the runtime's Values and the outputs' storage moved back out: no element is copied.
#include <mutex>
#include <set>

#include "core/dtype.h"
#include "deepcomp/session.h"
#include "runtime/session.h"
#include "runtime/value.h"
#include "toolkit/model_inputs.h"
#include "toolkit/model_source.h"

namespace deepcomp {
namespace {

TensorInfo public_info(const ValueInfo& v) {
  TensorInfo info;
  info.name = v.name;
  info.dtype = v.dtype == DType::kUndefined ? "" : dtype_name(v.dtype);
  info.shape = v.dims;
  info.has_shape = v.has_shape;
  return info;
}

// The DType named `name` ("float32", "int64", ...), among those a Value holds.
Result<DType> parse_dtype(const std::string& name) {
  for (int32_t code = 1; code <= 16; ++code) {
    const DType d = static_cast<DType>(code);
    if (runtime::is_runtime_dtype(d) && dtype_name(d) == name) return d;
  }
  return Status::Error("unknown or unsupported dtype '" + name + "'");
}

// `array` as the Value of graph input `info`, checked; its storage is moved.
Result<runtime::Value> input_value(const ValueInfo& info, Array&& array) {
  const std::string what = "input '" + info.name + "'";
  auto dtype = parse_dtype(array.dtype);
  if (!dtype.ok()) return dtype.status().WithContext(what);
  if (info.dtype != DType::kUndefined && *dtype != info.dtype) {
    return Status::Error(what + " is " + dtype_name(info.dtype) + ", the array given is " +
                         array.dtype);
  }
  int64_t numel = 0;
  if (!runtime::checked_numel(array.shape, &numel))
    return Status::Error(what + ": bad shape " + runtime::shape_string(array.shape));
  if (!cli::fits_declared(info, array.shape)) {
    return Status::Error(what + " takes " + cli::declared_type(info) + ", the array given is " +
                         runtime::shape_string(array.shape));
  }
  runtime::Value v;
  v.dtype = *dtype;
  v.shape = std::move(array.shape);
  const bool is_float = is_float_dtype(*dtype);
  const size_t stored = is_float ? array.f.size() : array.i.size();
  if (stored != static_cast<size_t>(numel) || (is_float ? !array.i.empty() : !array.f.empty())) {
    return Status::Error(what + ": " + std::to_string(stored) + " elements for shape " +
                         runtime::shape_string(v.shape));
  }
  v.f = std::move(array.f);
  v.i = std::move(array.i);
  runtime::fit_to_dtype(&v);  // float16 / bfloat16 / narrow integers get their own range
  return v;
}

}  // namespace

struct Session::Impl {
  runtime::Session session;
  std::vector<TensorInfo> inputs, outputs;
  std::mutex mutex;  // runtime::Session::run is not reentrant
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::open(const std::string& path, const SessionOptions& options) {
  cli::KernelFlags flags;
  flags.kernel = options.kernel;
  if (options.threads < 0) return Status::Error("threads must be >= 0");
  DEEPCOMP_ASSIGN_OR_RETURN(cli::LoadedModel loaded,
                            cli::load_for_kernel_flags(path, flags, options.threads));
  auto impl = std::unique_ptr<Impl>(new Impl{std::move(loaded.session), {}, {}, {}});
  for (const ValueInfo& v : impl->session.inputs()) impl->inputs.push_back(public_info(v));
  for (const ValueInfo& v : impl->session.outputs()) impl->outputs.push_back(public_info(v));
  return Session(std::move(impl));
}

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> names;
  for (const TensorInfo& t : impl_->inputs) names.push_back(t.name);
  return names;
}

std::vector<std::string> Session::output_names() const {
  std::vector<std::string> names;
  for (const TensorInfo& t : impl_->outputs) names.push_back(t.name);
  return names;
}

Result<std::vector<std::pair<std::string, Array>>> Session::run(
    std::vector<std::pair<std::string, Array>> inputs) {
  const std::vector<ValueInfo>& declared = impl_->session.inputs();
  std::vector<std::optional<runtime::Value>> values(declared.size());
  std::set<std::string> seen;
  for (auto& [name, array] : inputs) {
    if (!seen.insert(name).second) return Status::Error("input '" + name + "' given twice");
    size_t k = 0;
    while (k < declared.size() && declared[k].name != name) ++k;
    if (k == declared.size()) {
      std::string list;
      for (const ValueInfo& v : declared) list += (list.empty() ? "" : ", ") + v.name;
      return Status::Error("the model has no input '" + name +
                           "' (its inputs: " + (list.empty() ? "none" : list) + ")");
    }
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Value v, input_value(declared[k], std::move(array)));
    values[k] = std::move(v);
  }
  std::vector<runtime::Value> ordered;
  for (size_t k = 0; k < declared.size(); ++k) {
    if (!values[k]) {
      return Status::Error("input '" + declared[k].name + "' (" + cli::declared_type(declared[k]) +
                           ") is not given");
    }
    ordered.push_back(std::move(*values[k]));
  }
  std::vector<runtime::Value> outs;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    DEEPCOMP_ASSIGN_OR_RETURN(outs, impl_->session.run(ordered));
  }
  std::vector<std::pair<std::string, Array>> result;
  for (size_t k = 0; k < outs.size(); ++k) {
    Array a;
    a.dtype = dtype_name(outs[k].dtype);
    a.shape = std::move(outs[k].shape);
    a.f = std::move(outs[k].f);
    a.i = std::move(outs[k].i);
    result.emplace_back(impl_->outputs.at(k).name, std::move(a));
  }
  return result;
}

}  // namespace deepcomp
