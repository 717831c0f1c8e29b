// Times deepcomp's runtime on the real-model cases of scripts/make-real-references.sh, on their
// real inputs (any number of inputs, any dtype), one thread: the original .onnx with dense
// kernels, and the .dcz decoded with every Gemm/MatMul/Conv weight given to the runtime in CSR
// form under --kernel auto (sparse where the layer is sparse enough, runtime/kernel_choice.h).
// bench/real_models.sh puts these beside ONNX Runtime's times on the same inputs.
// Usage: real_models_bench CASES_DIR [--benchmark_format=json ...]
// A case the runtime cannot build (a missing operator) is listed on stderr and not registered.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "data/npy.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace {

namespace fs = std::filesystem;
using deepcomp::Model;
using deepcomp::Result;
using deepcomp::runtime::Session;
using deepcomp::runtime::SessionOptions;
using deepcomp::runtime::Value;

Result<Model> load_dcz_dense(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(deepcomp::compress::Container c,
                            deepcomp::compress::read_container(path));
  std::vector<deepcomp::Tensor> tensors;
  for (const deepcomp::compress::EncodedTensor& e : c.tensors) {
    DEEPCOMP_ASSIGN_OR_RETURN(deepcomp::Tensor t, deepcomp::compress::decode_tensor(e));
    tensors.push_back(std::move(t));
  }
  return deepcomp::onnx_io::model_from_skeleton(c.skeleton, std::move(tensors), path);
}

// Inputs in_0.npy, in_1.npy ... of a case; empty with a message on stderr when one is unreadable.
std::vector<Value> read_inputs(const std::string& dir) {
  std::vector<Value> inputs;
  for (int k = 0; fs::exists(dir + "/in_" + std::to_string(k) + ".npy"); ++k) {
    auto a = deepcomp::data::read_npy_typed(dir + "/in_" + std::to_string(k) + ".npy");
    if (!a.ok()) {
      std::cerr << a.status().message() << "\n";
      return {};
    }
    Value v;
    v.dtype = a->dtype;
    v.shape = std::move(a->shape);
    v.f = std::move(a->f);
    v.i = std::move(a->i);
    inputs.push_back(std::move(v));
  }
  return inputs;
}

// Builds the Session and checks one run before registering the benchmark.
void register_case(const std::string& name, const Result<Model>& model, SessionOptions options,
                   const std::shared_ptr<const std::vector<Value>>& inputs) {
  if (!model.ok()) {
    std::cerr << name << ": " << model.status().message() << "\n";
    return;
  }
  options.threads = 1;
  auto session = Session::create(*model, options);
  if (!session.ok()) {
    std::cerr << name << ": " << session.status().message() << "\n";
    return;
  }
  auto shared = std::make_shared<Session>(std::move(session).value());
  if (auto first = shared->run(*inputs); !first.ok()) {
    std::cerr << name << ": " << first.status().message() << "\n";
    return;
  }
  benchmark::RegisterBenchmark(name.c_str(),
                               [shared, inputs](benchmark::State& state) {
                                 for (auto _ : state) {
                                   auto out = shared->run(*inputs);
                                   if (!out.ok())
                                     state.SkipWithError(out.status().message().c_str());
                                   benchmark::DoNotOptimize(out);
                                 }
                               })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc != 2) {
    std::cerr << "usage: real_models_bench CASES_DIR [--benchmark_...]\n";
    return 2;
  }
  std::vector<fs::path> cases;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(argv[1], ec)) {
    if (fs::exists(e.path() / "model.txt")) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    std::ifstream in(dir / "model.txt");
    std::string model_path;
    std::getline(in, model_path);
    auto inputs = std::make_shared<const std::vector<Value>>(read_inputs(dir.string()));
    if (inputs->empty()) continue;
    register_case(name + "/onnx_dense", deepcomp::onnx_io::load_model(model_path), {}, inputs);
    if (fs::exists(dir / "model.dcz")) {
      SessionOptions sparse;
      sparse.sparse_from_dense = true;
      sparse.kernel = deepcomp::runtime::KernelChoice::kAuto;
      register_case(name + "/dcz_csr_auto", load_dcz_dense((dir / "model.dcz").string()), sparse,
                    inputs);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
