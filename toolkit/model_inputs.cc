#include "toolkit/model_inputs.h"

#include <filesystem>
#include <set>

#include "data/idx.h"
#include "runtime/batch.h"
#include "toolkit/preprocess.h"

namespace deepcomp::cli {
namespace {

std::string input_list(const std::vector<ValueInfo>& inputs) {
  std::string s;
  for (const ValueInfo& in : inputs) {
    if (!s.empty()) s += ", ";
    s += in.name + " " + declared_type(in);
  }
  return s.empty() ? "none" : s;
}

int find_input(const std::vector<ValueInfo>& inputs, const std::string& name) {
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].name == name) return static_cast<int>(k);
  return -1;
}

runtime::Value value_from_typed(data::TypedArray array) {
  runtime::Value v;
  v.dtype = array.dtype;
  v.shape = std::move(array.shape);
  v.f = std::move(array.f);
  v.i = std::move(array.i);
  return v;
}

// NAME=FILE: the array as the whole tensor of `info`.
Result<runtime::Value> load_named(const InputSpec& spec, const ValueInfo& info) {
  DEEPCOMP_ASSIGN_OR_RETURN(data::TypedArray array, data::read_npy_typed(spec.path));
  if (info.dtype != DType::kUndefined && array.dtype != info.dtype) {
    std::string hint;
    if (is_float_dtype(info.dtype) && is_float_dtype(array.dtype)) {
      hint = " (convert it first, e.g. numpy's a.astype(np." + dtype_name(info.dtype) + "))";
    }
    return Status::Error("input '" + info.name + "' is " + dtype_name(info.dtype) + ", " +
                         spec.path + " holds " + dtype_name(array.dtype) + hint);
  }
  if (!runtime::is_runtime_dtype(array.dtype)) {
    return Status::Error(spec.path + ": dtype " + dtype_name(array.dtype) +
                         " is not supported by the runtime");
  }
  if (!fits_declared(info, array.shape)) {
    return Status::Error("input '" + info.name + "' takes " + dims_string(info) + ", " + spec.path +
                         " is " + array_shape_text(array.shape));
  }
  return value_from_typed(std::move(array));
}

// The plain form: N samples for `info`, batched as `run` always did.
Result<runtime::Value> load_plain(const InputSpec& spec, const ValueInfo& info, int64_t* samples) {
  runtime::Value v;
  std::vector<int64_t> shape;
  if (info.dtype == DType::kUndefined || is_float_dtype(info.dtype)) {
    DEEPCOMP_ASSIGN_OR_RETURN(data::Array array, data::read_array(spec.path));
    shape = std::move(array.shape);
    v.dtype = info.dtype == DType::kUndefined ? DType::kFloat32 : info.dtype;
    v.f = std::move(array.values);
  } else {
    DEEPCOMP_ASSIGN_OR_RETURN(data::TypedArray array, data::read_npy_typed(spec.path));
    if (array.dtype != info.dtype) {
      return Status::Error("input '" + info.name + "' is " + dtype_name(info.dtype) + ", " +
                           spec.path + " holds " + dtype_name(array.dtype));
    }
    shape = std::move(array.shape);
    if (shape.empty()) shape.push_back(1);  // a scalar is one sample of one value
    v.dtype = array.dtype;
    v.i = std::move(array.i);
  }
  if (shape.empty() || shape[0] == 0) {
    return Status::Error(spec.path + ": no samples (shape " + array_shape_text(shape) + ")");
  }
  const std::vector<int64_t> sample(shape.begin() + 1, shape.end());
  auto batch = batch_input_shape(info, sample, shape[0]);
  if (!batch.ok()) return batch.status().WithContext(spec.path);
  v.shape = std::move(*batch);
  runtime::fit_to_dtype(&v);  // float16/bfloat16 inputs get their own precision
  *samples = shape[0];
  return v;
}

}  // namespace

// The declared static dimensions agree with `shape` (free ones match anything).
bool fits_declared(const ValueInfo& info, const std::vector<int64_t>& shape) {
  if (!info.has_shape) return true;
  if (info.dims.size() != shape.size()) return false;
  for (size_t k = 0; k < shape.size(); ++k)
    if (info.dims[k] >= 0 && info.dims[k] != shape[k]) return false;
  return true;
}

CLI::Option* add_input_option(CLI::App* cmd, std::vector<std::string>* values,
                              const std::string& help) {
  return cmd->add_option("-i,--input", *values, help)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("NAME=FILE");
}

Result<std::vector<InputSpec>> parse_input_specs(const std::vector<std::string>& values,
                                                 bool allow_plain) {
  std::vector<InputSpec> specs;
  std::set<std::string> names;
  bool plain = false;
  for (const std::string& value : values) {
    const size_t eq = value.find('=');
    std::error_code ec;
    InputSpec spec;
    if (eq == std::string::npos || std::filesystem::is_regular_file(value, ec)) {
      spec.path = value;
    } else {
      spec.name = value.substr(0, eq);
      spec.path = value.substr(eq + 1);
      if (spec.name.empty()) return Status::Error("--input '" + value + "': empty input name");
    }
    if (spec.path.empty()) return Status::Error("--input '" + value + "': no file");
    if (spec.name.empty()) {
      if (!allow_plain) {
        return Status::Error("--input '" + value +
                             "': this command takes NAME=FILE.npy (one whole tensor per input)");
      }
      if (plain) {
        return Status::Error("--input '" + value +
                             "': only one --input without NAME= (it feeds the first input)");
      }
      plain = true;
    } else if (!names.insert(spec.name).second) {
      return Status::Error("--input: input '" + spec.name + "' given twice");
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::string declared_type(const ValueInfo& input) {
  const std::string dtype = input.dtype == DType::kUndefined ? "any" : dtype_name(input.dtype);
  return dtype + dims_string(input);
}

std::string missing_input_message(const ValueInfo& input) {
  return "input '" + input.name + "' (" + declared_type(input) + ") is not given: add --input " +
         input.name + "=FILE.npy";
}

Result<std::vector<std::optional<runtime::Value>>> load_named_inputs(
    const std::vector<InputSpec>& specs, const std::vector<ValueInfo>& inputs) {
  std::vector<std::optional<runtime::Value>> values(inputs.size());
  // Names first, so that a misspelled name is reported before any file is read.
  for (const InputSpec& spec : specs) {
    if (!spec.name.empty() && find_input(inputs, spec.name) < 0) {
      return Status::Error("--input " + spec.name + "=" + spec.path + ": the model has no input '" +
                           spec.name + "' (its inputs: " + input_list(inputs) + ")");
    }
  }
  for (const InputSpec& spec : specs) {
    if (spec.name.empty()) continue;
    const size_t k = static_cast<size_t>(find_input(inputs, spec.name));
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Value v, load_named(spec, inputs[k]));
    values[k] = std::move(v);
  }
  return values;
}

Result<ModelInputs> load_model_inputs(const std::vector<InputSpec>& specs,
                                      const std::vector<ValueInfo>& inputs) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto named, load_named_inputs(specs, inputs));
  ModelInputs result;
  for (const InputSpec& spec : specs) {
    if (!spec.name.empty()) continue;
    if (inputs.empty()) return Status::Error("--input " + spec.path + ": the model has no inputs");
    if (named[0]) {
      return Status::Error("--input " + spec.path + " feeds the first input '" + inputs[0].name +
                           "', which --input " + inputs[0].name + "= also gives");
    }
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Value v, load_plain(spec, inputs[0], &result.samples));
    named[0] = std::move(v);
    result.batched = 0;
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!named[k]) return Status::Error(missing_input_message(inputs[k]));
    result.values.push_back(std::move(*named[k]));
  }
  return result;
}

Result<std::vector<runtime::Value>> run_on_inputs(runtime::Session& session,
                                                  const ModelInputs& inputs) {
  if (!inputs.batched) return session.run(inputs.values);
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::BatchRun run,
                            runtime::run_batch(session, inputs.values, *inputs.batched));
  return std::move(run.outputs);
}

data::TypedArray typed_array_from_value(runtime::Value value) {
  data::TypedArray a;
  a.dtype = value.dtype;
  a.shape = std::move(value.shape);
  a.f = std::move(value.f);
  a.i = std::move(value.i);
  return a;
}

}  // namespace deepcomp::cli
