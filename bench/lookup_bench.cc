// Name lookups at scale (issue 18): the cost of a model with N initializers and N nodes, for N =
// 10k, 100k, 300k, 1M, must grow linearly (Google Benchmark fits the complexity: BigO).
//   Parse/N, SessionCreate/N:  in process, onnx_io::parse_model and runtime::Session::create on
//       N one-element initializers feeding a chain of N Add nodes (y = x + c0 + c1 + ...).
//   RunOnnx/N:   `deepcomp run` on that model, the whole command.
//   RunDcz/N:    `deepcomp run --sparse` on N 4x4 MatMul layers compressed to a .dcz (each weight
//       given to the Session in sparse form: the .dcz sparse setup).
//   CompressLayers/N: `deepcomp compress` on those N layers.
//   Energy/N:    `deepcomp energy` on the Add model (a per-node report; one timed run).
// The commands are timed by deepcomp's CPU time (user + sys, /usr/bin/time), reported as the
// iteration time (manual time), with wall time and peak RSS as counters: on a shared machine the
// wall clock mostly measures the run queue. Models are written once to $LOOKUP_BENCH_DIR (default
// /tmp/deepcomp-lookup-bench), the .dcz by `deepcomp compress`.
//
//   build/bench/lookup_bench [--benchmark_filter=SessionCreate] [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace {

namespace fs = std::filesystem;

const std::vector<int64_t> kSizes = {10000, 100000, 300000, 1000000};

std::string work_dir() {
  const char* env = std::getenv("LOOKUP_BENCH_DIR");
  const std::string dir = env && *env ? env : "/tmp/deepcomp-lookup-bench";
  fs::create_directories(dir);
  return dir;
}

// Graph input `in` and output `out`, both float [1, 4].
void add_io(onnx::GraphProto* g, const std::string& in, const std::string& out) {
  auto declare = [](onnx::ValueInfoProto* vi, const std::string& name) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  };
  declare(g->add_input(), in);
  declare(g->add_output(), out);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const char* op, const std::string& a,
                          const std::string& b, const std::string& y, int64_t i) {
  auto* n = g->add_node();
  n->set_name(std::string(op) + std::to_string(i));
  n->set_op_type(op);
  n->add_input(a);
  n->add_input(b);
  n->add_output(y);
  return n;
}

// N one-element initializers c_i and N Add nodes (bench/make_many_initializers.py's model).
std::string add_chain(int64_t n) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("many");
  std::string prev = "x";
  for (int64_t i = 0; i < n; ++i) {
    auto* c = g->add_initializer();
    c->set_name("c" + std::to_string(i));
    c->set_data_type(onnx::TensorProto::FLOAT);
    c->add_dims(1);
    c->add_float_data(0.001f * static_cast<float>(i % 7));
    const std::string y = i + 1 < n ? "v" + std::to_string(i) : "y";
    add_node(g, "Add", prev, c->name(), y, i);
    prev = y;
  }
  add_io(g, "x", "y");
  return m.SerializeAsString();
}

// N MatMul layers x [1, 4] -> x W_i, W_i 4x4 with values that k-means and pruning keep distinct.
std::string matmul_chain(int64_t n) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("layers");
  std::string prev = "x";
  for (int64_t i = 0; i < n; ++i) {
    auto* w = g->add_initializer();
    w->set_name("w" + std::to_string(i));
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(4);
    w->add_dims(4);
    for (int k = 0; k < 16; ++k)
      w->add_float_data(0.05f * static_cast<float>(((i * 16 + k) * 7919) % 41) - 1.0f);
    const std::string y = i + 1 < n ? "v" + std::to_string(i) : "y";
    add_node(g, "MatMul", prev, w->name(), y, i);
    prev = y;
  }
  add_io(g, "x", "y");
  return m.SerializeAsString();
}

std::string add_model_path(int64_t n) {
  const std::string path = work_dir() + "/add" + std::to_string(n) + ".onnx";
  if (!fs::exists(path)) std::ofstream(path, std::ios::binary) << add_chain(n);
  return path;
}

struct Child {
  int exit_code = -1;
  double cpu_s = 0, wall_s = 0;
  long max_rss_kb = 0;
};

// Runs deepcomp ARGS under /usr/bin/time, stdout and stderr discarded: CPU time and peak RSS are
// deepcomp's own (a forked child's peak RSS from wait4 would count this process's image).
Child run_deepcomp(const std::vector<std::string>& args) {
  const std::string time_path = work_dir() + "/time.txt";
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<std::string> argv_s = {"/usr/bin/time", "-q",           "-f", "%U %S %M", "-o",
                                       time_path,       DEEPCOMP_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  Child c;
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  double user = 0, sys = 0;
  std::ifstream(time_path) >> user >> sys >> c.max_rss_kb;
  c.cpu_s = user + sys;
  return c;
}

std::string input_npy() {
  const std::string path = work_dir() + "/x.npy";
  if (!fs::exists(path)) {
    std::ofstream(path, std::ios::binary)
        << deepcomp::data::npy_bytes({1, 4}, {1.0f, 0.5f, -0.25f, 2.0f});
  }
  return path;
}

// Times one deepcomp command per iteration by its CPU time.
void time_command(benchmark::State& state, const std::vector<std::string>& args) {
  double wall = 0;
  long rss = 0;
  for (auto _ : state) {
    const Child c = run_deepcomp(args);
    if (c.exit_code != 0) {
      state.SkipWithError(("deepcomp " + args[0] + " failed").c_str());
      return;
    }
    state.SetIterationTime(c.cpu_s);
    wall += c.wall_s;
    rss = std::max(rss, c.max_rss_kb);
  }
  state.counters["wall_s"] = benchmark::Counter(wall, benchmark::Counter::kAvgIterations);
  state.counters["peak_MB"] = static_cast<double>(rss) / 1024.0;
  state.SetComplexityN(state.range(0));
}

void BM_Parse(benchmark::State& state) {
  const std::string bytes = add_chain(state.range(0));
  for (auto _ : state) {
    auto m = deepcomp::onnx_io::parse_model(bytes, "add.onnx", "");
    if (!m.ok()) {
      state.SkipWithError(m.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(m->tensors.data());
  }
  state.SetComplexityN(state.range(0));
}

void BM_SessionCreate(benchmark::State& state) {
  auto m = deepcomp::onnx_io::parse_model(add_chain(state.range(0)), "add.onnx", "");
  if (!m.ok()) {
    state.SkipWithError(m.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto s = deepcomp::runtime::Session::create(*m);
    if (!s.ok()) {
      state.SkipWithError(s.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(&*s);
  }
  state.SetComplexityN(state.range(0));
}

void BM_RunOnnx(benchmark::State& state) {
  const std::string out = work_dir() + "/y.npy";
  time_command(
      state, {"run", add_model_path(state.range(0)), "--input", input_npy(), "-o", out, "--force"});
}

void BM_RunDcz(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::string dcz = work_dir() + "/layers" + std::to_string(n) + ".dcz";
  if (!fs::exists(dcz)) {
    const std::string onnx_path = work_dir() + "/layers" + std::to_string(n) + ".onnx";
    std::ofstream(onnx_path, std::ios::binary) << matmul_chain(n);
    if (run_deepcomp({"compress", onnx_path, "-o", dcz, "-q", "--prune", "0.5"}).exit_code != 0) {
      state.SkipWithError("deepcomp compress failed");
      return;
    }
  }
  time_command(state, {"run", dcz, "--sparse", "--input", input_npy(), "-o", work_dir() + "/y.npy",
                       "--force"});
}

// compress on N 4x4 MatMul layers (its energy estimate once searched the graph per layer).
void BM_CompressLayers(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::string onnx_path = work_dir() + "/layers" + std::to_string(n) + ".onnx";
  if (!fs::exists(onnx_path)) std::ofstream(onnx_path, std::ios::binary) << matmul_chain(n);
  time_command(state, {"compress", onnx_path, "-o", work_dir() + "/compressed.dcz", "-q", "--prune",
                       "0.5", "--force"});
}

void BM_Energy(benchmark::State& state) {
  time_command(state, {"energy", add_model_path(state.range(0)), "--max-seconds", "0.001"});
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kSizes) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->Iterations(1)->Complexity(benchmark::oN);
}

BENCHMARK(BM_Parse)->Apply(sizes);
BENCHMARK(BM_SessionCreate)->Apply(sizes);
BENCHMARK(BM_RunOnnx)->Apply(sizes)->UseManualTime();
BENCHMARK(BM_RunDcz)->Apply(sizes)->UseManualTime();
BENCHMARK(BM_CompressLayers)->Apply(sizes)->UseManualTime();
BENCHMARK(BM_Energy)->Apply(sizes)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
