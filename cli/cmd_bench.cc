// `deepcomp bench MODEL`: whole-model and per-layer latency, dense against sparse, for each batch
// size and thread count. .dcz: dense = the decoded weights, sparse = codebook-CSR from the
// compressed streams; .onnx: dense against CSR built from its weights. Inputs are uniform random
// in [0, 1) (fixed seed) of the model's input shape, the batch substituted where the batch
// dimension is free; a batch-1 model runs B single-sample runs for batch B. Integer and bool
// inputs are zeros; --input NAME=FILE.npy gives an input instead, unchanged in every run.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "cli/command.h"
#include "core/file_io.h"
#include "kernels/conv.h"
#include "kernels/isa.h"
#include "kernels/spmm.h"
#include "runtime/session.h"
#include "toolkit/kernel_profile.h"
#include "toolkit/model_inputs.h"
#include "toolkit/model_source.h"
#include "toolkit/preprocess.h"

namespace deepcomp::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::string batches = "1,16";
  std::string threads = "1,2";
  int repeat = 20;
  int warmup = 3;
  bool json = false;
  std::string kernel = "sparse";    // what the second side runs: sparse, auto or dense
  std::vector<std::string> inputs;  // --input NAME=FILE.npy: fixed inputs
  bool calibrate = false;           // measure the dense/sparse crossover, write the profile
  std::string profile;              // kernel profile path ("" = the default location)
};

Result<std::vector<int>> parse_list(const std::string& text, const std::string& option) {
  std::vector<int> values;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < 1 || v > 65536) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      return Status::Error(option + ": '" + item + "' is not a positive integer");
    }
  }
  if (values.empty()) return Status::Error(option + ": empty list");
  return values;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// One batch of work: the session runs `runs` times on `input` (one run when the batch dim is
// free). Times are per repetition: the whole batch (unprofiled), and each node summed over the
// runs of a second, profiled pass.
struct Timings {
  std::vector<double> total_ms;
  std::vector<double> profiled_ms;  // the whole batch again, profiled (what the node times sum to)
  std::map<std::string, std::vector<double>> node_ms;
  std::vector<runtime::NodeTiming> layers;  // the weight layers, in graph order
  std::vector<runtime::NodeTiming> others;  // every other step, in graph order
};

Result<Timings> time_batches(runtime::Session& session, const std::vector<runtime::Value>& inputs,
                             int runs, int warmup, int repeat) {
  Timings t;
  // The batch's runs, their wall time in ms; with `node_sum`, profiled, each node's time added.
  auto run_batch = [&](std::map<std::string, double>* node_sum) -> Result<double> {
    session.set_profile(node_sum != nullptr);
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < runs; ++r) {
      auto out = session.run(inputs);
      if (!out.ok()) return out.status();
      if (!node_sum) continue;
      for (const runtime::NodeTiming& n : session.profile()) (*node_sum)[n.node] += n.ms;
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  for (int rep = -warmup; rep < repeat; ++rep) {
    // The whole batch unprofiled (as `run` and a deployment run it: recording a NodeTiming per
    // node cost about 1% of YOLOX's time), then again profiled for the per-node times.
    DEEPCOMP_ASSIGN_OR_RETURN(const double ms, run_batch(nullptr));
    if (rep < 0) continue;
    t.total_ms.push_back(ms);
    std::map<std::string, double> node_sum;
    DEEPCOMP_ASSIGN_OR_RETURN(const double profiled, run_batch(&node_sum));
    t.profiled_ms.push_back(profiled);
    for (const auto& [node, sum] : node_sum) t.node_ms[node].push_back(sum);
  }
  for (const runtime::NodeTiming& n : session.profile()) {
    (n.weight.empty() ? t.others : t.layers).push_back(n);
  }
  return t;
}

// The steps without a weight (Concat, Slice, pooling, activations left unfused, ...), summed per
// operator type: each node's median over the repetitions, dense and sparse side, the biggest
// first. What the layer table leaves out of the whole model's time.
nlohmann::ordered_json other_ops(const Timings& dense, const Timings& sparse) {
  struct Sum {
    int dense_nodes = 0, sparse_nodes = 0;
    double dense_ms = 0, sparse_ms = 0;
  };
  std::map<std::string, Sum> by_op;
  auto node_median = [](const Timings& t, const std::string& node) {
    const auto it = t.node_ms.find(node);
    return it == t.node_ms.end() ? 0.0 : median(it->second);
  };
  for (const runtime::NodeTiming& n : dense.others) {
    Sum& sum = by_op[n.op_type];
    ++sum.dense_nodes;
    sum.dense_ms += node_median(dense, n.node);
  }
  for (const runtime::NodeTiming& n : sparse.others) {
    Sum& sum = by_op[n.op_type];
    ++sum.sparse_nodes;
    sum.sparse_ms += node_median(sparse, n.node);
  }
  std::vector<std::pair<std::string, Sum>> sorted(by_op.begin(), by_op.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.dense_ms > b.second.dense_ms;
  });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [op, sum] : sorted) {
    nlohmann::ordered_json o;
    o["op"] = op;
    o["nodes"] = std::max(sum.dense_nodes, sum.sparse_nodes);
    o["dense_ms"] = sum.dense_ms;
    o["sparse_ms"] = sum.sparse_ms;
    out.push_back(o);
  }
  return out;
}

struct Plan {
  std::vector<runtime::Value> inputs;  // every graph input, in order
  int runs = 1;
};

// A generated input: floats uniform in [0, 1), integers and bools zero (always a valid index).
// A free leading dimension becomes `batch` (*free = true); a fixed one keeps the declared shape,
// and *runs is how many runs would make the batch (0 when that leading dimension does not divide
// it). Errors name the model and the input.
Result<runtime::Value> make_input(const ValueInfo& info, int batch, const std::string& model,
                                  bool* free, int* runs) {
  const DType dtype = info.dtype == DType::kUndefined ? DType::kFloat32 : info.dtype;
  if (!runtime::is_runtime_dtype(dtype)) {
    return Status::Error(model + ": input '" + info.name + "' is " + dtype_name(dtype) +
                         ", which bench cannot generate");
  }
  if (!info.has_shape || info.dims.empty()) {
    return Status::Error(model + ": input '" + info.name +
                         "' has no declared shape (give it with --input " + info.name +
                         "=FILE.npy)");
  }
  for (size_t k = 1; k < info.dims.size(); ++k) {
    if (info.dims[k] < 0) {
      return Status::Error(model + ": input '" + info.name + "' " + dims_string(info) +
                           " has free non-batch dimensions (give it with --input " + info.name +
                           "=FILE.npy)");
    }
  }
  std::vector<int64_t> shape = info.dims;
  *free = shape[0] < 0;
  *runs = 1;
  if (*free) {
    shape[0] = batch;
  } else {
    *runs = shape[0] > 0 && batch % shape[0] == 0 ? batch / static_cast<int>(shape[0]) : 0;
  }
  runtime::Value v = runtime::zeros_like_dtype(dtype, shape);
  std::mt19937 rng(20160201);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (float& x : v.f) x = uniform(rng);
  runtime::fit_to_dtype(&v);
  return v;
}

// The inputs of one batch: the --input arrays as given, every other input generated
// (make_input). Inputs with a free leading dimension carry the batch in one run; when none has
// one, the batch is that many runs of the first generated input whose fixed leading dimension
// divides it (a batch-1 model runs B times), else once. Every input given: the given tensors, run
// once.
Result<Plan> plan_batch(const std::vector<ValueInfo>& infos,
                        const std::vector<std::optional<runtime::Value>>& given, int batch,
                        const std::string& model) {
  Plan plan;
  bool any_free = false, any_generated = false;
  int fixed_runs = 0;
  std::string first_fixed;
  for (size_t k = 0; k < infos.size(); ++k) {
    if (given[k]) {
      plan.inputs.push_back(*given[k]);
      continue;
    }
    bool free = false;
    int runs = 0;
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Value v, make_input(infos[k], batch, model, &free, &runs));
    any_generated = true;
    any_free |= free;
    if (!free && fixed_runs == 0) fixed_runs = runs;
    if (!free && first_fixed.empty())
      first_fixed = "'" + infos[k].name + "' " + dims_string(infos[k]);
    plan.inputs.push_back(std::move(v));
  }
  if (!any_generated || any_free) return plan;
  if (fixed_runs == 0 && infos.size() == 1) {
    return Status::Error(model + ": input " + first_fixed +
                         " has a fixed batch that does not divide " + std::to_string(batch));
  }
  // Several inputs, none of whose fixed leading dimensions divides the batch: the declared
  // shapes are run as they are, once per batch.
  if (fixed_runs == 0) fixed_runs = 1;
  plan.runs = fixed_runs;
  return plan;
}

// `bench --calibrate`: measures this machine's dense/sparse crossover and writes the profile
// --kernel auto reads (toolkit/kernel_profile.h).
int run_calibrate(const BenchArgs& args) {
  const std::string path = args.profile.empty() ? default_kernel_profile_path() : args.profile;
  if (path.empty()) {
    return print_error("--calibrate: no profile path; give --profile PATH (or set HOME)");
  }
  const KernelProfile profile = calibrate_kernels(args.repeat);
  if (Status written = write_kernel_profile(path, profile); !written.ok()) {
    return print_error(written);
  }
  if (args.json) {
    auto text = read_file(path);
    if (!text.ok()) return print_error(text.status());
    std::cout << *text;
    return 0;
  }
  std::cout << "kernel profile: " << path << "\nsimd:   " << profile.simd_path
            << "\nbatch 1, 1 thread, median of " << args.repeat << " runs; ms (dense / sparse)\n";
  for (const auto& s : profile.shapes) {
    std::cout << fmt::format("  {}x{}: crossover {:g}%\n", s.rows, s.cols, 100 * s.crossover);
    for (const auto& q : s.points) {
      std::cout << fmt::format("    {:>5.1f}%  {:>9.4f} {:>9.4f}\n", 100 * q.density, q.dense_ms,
                               q.sparse_ms);
    }
  }
  for (const auto& s : profile.conv_shapes) {
    std::cout << fmt::format("  Conv {}: crossover {:g}%\n", s.name, 100 * s.crossover);
    for (const auto& q : s.points) {
      std::cout << fmt::format("    {:>5.1f}%  {:>9.4f} {:>9.4f}\n", 100 * q.density, q.dense_ms,
                               q.sparse_ms);
    }
  }
  std::cout << fmt::format(
      "--kernel auto: dense above {:g}% density (was {:g}% built in), "
      "Conv above {:g}% (was {:g}%)\n",
      100 * profile.dense_above_density, 100 * runtime::kDefaultDenseAboveDensity,
      100 * profile.conv_dense_above_density, 100 * runtime::kDefaultConvDenseAboveDensity);
  return 0;
}

int run_bench(const BenchArgs& args) {
  if (args.calibrate) return run_calibrate(args);
  if (args.model.empty()) return print_error("bench: give a model (or --calibrate)");
  auto batches = parse_list(args.batches, "--batch");
  if (!batches.ok()) return print_error(batches.status());
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/false);
  if (!specs.ok()) return print_error(specs.status());
  auto thread_counts = parse_list(args.threads, "--threads");
  if (!thread_counts.ok()) return print_error(thread_counts.status());
  auto dense = open_model(args.model, Mode::kDense);
  if (!dense.ok()) return print_error(dense.status());
  const auto kernel = runtime::parse_kernel_choice(args.kernel);
  if (!kernel) return print_error("--kernel: '" + args.kernel + "' is not auto, sparse or dense");
  auto sparse = open_model_for_kernel(args.model, *kernel, args.profile);
  if (!sparse.ok()) return print_error(sparse.status());

  nlohmann::ordered_json result;
  result["model"] = args.model;
  result["dense"] = dense->description;
  result["sparse"] = sparse->description;
  result["kernel"] = args.kernel;
  result["cpu"] = kernels::cpu_name();
  result["cpu_isa"] = kernels::isa_name(kernels::cpu_isa());  // the best this CPU has
  result["isa"] = kernels::isa_name(kernels::isa());  // what ran (DEEPCOMP_MAX_CPU_ISA may cap it)
  result["simd_path"] = kernels::simd_path_name();    // the SIMD target the sparse kernels ran on
  result["conv_simd_path"] = kernels::conv_simd_path_name();  // the convolution kernels' variant
  result["repeat"] = args.repeat;
  result["warmup"] = args.warmup;
  result["runs"] = nlohmann::ordered_json::array();
  std::map<std::string, runtime::LayerKernel> layer_choice;  // node -> the sparse side's kernel
  for (int threads : *thread_counts) {
    dense->options.threads = sparse->options.threads = threads;
    dense->options.profile = sparse->options.profile = true;
    auto dense_session = runtime::Session::create(dense->model, dense->options);
    if (!dense_session.ok()) return print_error(dense_session.status().WithContext(args.model));
    auto sparse_session = runtime::Session::create(sparse->model, sparse->options);
    if (!sparse_session.ok()) return print_error(sparse_session.status().WithContext(args.model));
    if (result.find("sparse_kernels") == result.end()) {
      result["sparse_kernels"] = kernel_summary(*sparse_session, sparse->options);
      // Which kernel each layer of the second side was compiled to, and its weight's density.
      for (const runtime::LayerKernel& layer : sparse_session->layer_kernels()) {
        layer_choice[layer.node] = layer;
      }
    }
    auto given = load_named_inputs(*specs, dense_session->inputs());
    if (!given.ok()) return print_error(given.status().WithContext(args.model));
    const bool all_given =
        std::all_of(given->begin(), given->end(), [](const auto& v) { return v.has_value(); });
    for (int listed : *batches) {
      if (all_given && listed != batches->front()) continue;  // the batch is the given tensors
      const int batch = all_given ? 1 : listed;
      auto plan = plan_batch(dense_session->inputs(), *given, batch, args.model);
      if (!plan.ok()) return print_error(plan.status());
      auto d = time_batches(*dense_session, plan->inputs, plan->runs, args.warmup, args.repeat);
      if (!d.ok()) return print_error(d.status().WithContext(args.model + " (dense)"));
      auto s = time_batches(*sparse_session, plan->inputs, plan->runs, args.warmup, args.repeat);
      if (!s.ok()) return print_error(s.status().WithContext(args.model + " (sparse)"));
      const double dense_ms = median(d->total_ms), sparse_ms = median(s->total_ms);
      nlohmann::ordered_json run;
      run["batch"] = batch;
      run["threads"] = threads;
      run["dense_ms"] = dense_ms;
      run["sparse_ms"] = sparse_ms;
      run["speedup"] = sparse_ms > 0 ? dense_ms / sparse_ms : 0.0;
      run["dense_samples_per_s"] = dense_ms > 0 ? 1000.0 * batch / dense_ms : 0.0;
      run["sparse_samples_per_s"] = sparse_ms > 0 ? 1000.0 * batch / sparse_ms : 0.0;
      // The profiled passes' whole times: each layer's and operator's time is part of them.
      run["dense_profiled_ms"] = median(d->profiled_ms);
      run["sparse_profiled_ms"] = median(s->profiled_ms);
      run["layers"] = nlohmann::ordered_json::array();
      for (const runtime::NodeTiming& layer : d->layers) {
        nlohmann::ordered_json l;
        const double ld = median(d->node_ms[layer.node]);
        const double ls = s->node_ms.count(layer.node) ? median(s->node_ms[layer.node]) : 0.0;
        l["node"] = layer.node;
        l["op"] = layer.op_type;
        l["weight"] = layer.weight;
        l["dense_ms"] = ld;
        l["sparse_ms"] = ls;
        l["speedup"] = ls > 0 ? ld / ls : 0.0;
        if (auto it = layer_choice.find(layer.node); it != layer_choice.end()) {
          l["density"] = it->second.density;
          l["runs_sparse"] = it->second.sparse;
          if (!it->second.layout.empty()) l["layout"] = it->second.layout;
        }
        run["layers"].push_back(l);
      }
      run["other_ops"] = other_ops(*d, *s);
      result["runs"].push_back(run);
    }
  }
  if (args.json) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::cout << "model:  " << args.model << "\n";
  std::cout << "dense:  " << dense->description << "\nsparse: " << sparse->description << "\n";
  std::cout << "        " << result["sparse_kernels"].get<std::string>() << "\n";
  std::cout << "cpu:    " << result["cpu"].get<std::string>() << " ("
            << result["cpu_isa"].get<std::string>()
            << (result["isa"] == result["cpu_isa"]
                    ? ")\n"
                    : "; kernels capped at " + result["isa"].get<std::string>() +
                          " by DEEPCOMP_MAX_CPU_ISA)\n");
  std::cout << "simd:   " << result["simd_path"].get<std::string>() << " (fc kernels), "
            << result["conv_simd_path"].get<std::string>() << " (convolutions)\n";
  std::cout << fmt::format("median of {} repetitions after {} warm-up; ms per batch\n\n",
                           args.repeat, args.warmup);
  std::cout << fmt::format("{:>6} {:>7} {:>10} {:>10} {:>8} {:>13} {:>13}\n", "batch", "threads",
                           "dense ms", "sparse ms", "speedup", "dense samp/s", "sparse samp/s");
  for (const auto& run : result["runs"]) {
    std::cout << fmt::format("{:>6} {:>7} {:>10.4f} {:>10.4f} {:>7.2f}x {:>13.0f} {:>13.0f}\n",
                             run["batch"].get<int>(), run["threads"].get<int>(),
                             run["dense_ms"].get<double>(), run["sparse_ms"].get<double>(),
                             run["speedup"].get<double>(), run["dense_samples_per_s"].get<double>(),
                             run["sparse_samples_per_s"].get<double>());
  }
  for (const auto& run : result["runs"]) {
    std::cout << fmt::format("\nlayers, batch {}, threads {}:\n", run["batch"].get<int>(),
                             run["threads"].get<int>());
    std::cout << fmt::format("  {:<24} {:<7} {:<24} {:>10} {:>10} {:>8}  {}\n", "node", "op",
                             "weight", "dense ms", "sparse ms", "speedup", "sparse layout");
    for (const auto& l : run["layers"]) {
      std::cout << fmt::format("  {:<24} {:<7} {:<24} {:>10.4f} {:>10.4f} {:>7.2f}x  {}\n",
                               l["node"].get<std::string>(), l["op"].get<std::string>(),
                               l["weight"].get<std::string>(), l["dense_ms"].get<double>(),
                               l["sparse_ms"].get<double>(), l["speedup"].get<double>(),
                               l.value("layout", std::string()));
    }
    if (run["other_ops"].empty()) continue;
    std::cout << "  other operators (no weight), by type:\n";
    for (const auto& o : run["other_ops"]) {
      std::cout << fmt::format("  {:<24} {:<7} {:<24} {:>10.4f} {:>10.4f}\n",
                               o["op"].get<std::string>(),
                               std::to_string(o["nodes"].get<int>()) + "x", "",
                               o["dense_ms"].get<double>(), o["sparse_ms"].get<double>());
    }
  }
  return 0;
}

std::function<int()> setup_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Latency of a model (.onnx or .dcz) dense vs sparse, whole and per layer.");
  cmd->add_option("model", args->model, "Model: .onnx or .dcz (not with --calibrate)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch", args->batches, "Batch sizes, comma-separated (default 1,16)");
  cmd->add_option("--threads", args->threads,
                  "OpenMP thread counts, comma-separated (default 1,2)");
  cmd->add_option("--repeat", args->repeat,
                  "Timed repetitions; the median is reported (default 20)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--warmup", args->warmup, "Untimed repetitions first (default 3)")
      ->check(CLI::Range(0, 100000));
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  add_input_option(cmd, &args->inputs,
                   "Repeatable, NAME=FILE.npy: a fixed array for input NAME (its dtype, a shape "
                   "fitting the declared one). Inputs left out are generated for each batch "
                   "(floats uniform in [0,1), integers and bools zero). When every input is "
                   "given, one batch (the given tensors) is timed per thread count and --batch "
                   "is ignored");
  cmd->add_option("--kernel", args->kernel,
                  "What the sparse side runs: sparse (default: every weight that can), auto "
                  "(dense above the density crossover, as run/eval do by default) or dense")
      ->check(CLI::IsMember({"auto", "sparse", "dense"}));
  cmd->add_flag("--calibrate", args->calibrate,
                "Measure this machine's dense/sparse crossover density (batch 1, one thread, a "
                "few layer shapes; --repeat runs each) and write the kernel profile that "
                "--kernel auto then uses");
  cmd->add_option("--profile", args->profile,
                  "Kernel profile file written by --calibrate and read by --kernel auto "
                  "(default $DEEPCOMP_KERNEL_PROFILE, else $XDG_CACHE_HOME/deepcomp/"
                  "kernel-profile.json, else ~/.cache/deepcomp/kernel-profile.json)");
  return [args] { return run_bench(*args); };
}

DEEPCOMP_REGISTER_COMMAND(bench_command, "bench", 60, setup_bench);

}  // namespace
}  // namespace deepcomp::cli
