// Where a model's time goes, per operator type: runs a real-model case (a directory with
// model.txt and in_0.npy ... as scripts/make-real-references.sh writes them) on one thread with
// the Session profile on, and prints the median over the runs of each op type's summed ms, its
// share and node count, then the slowest nodes with their shapes. Not a Google Benchmark
// program (it only shares bench/'s build rule). First it prints the heap allocations (count and
// bytes) and wall time per run with and without recycled output storage
// (SessionOptions::recycle_buffers). Usage: op_profile_bench CASE_DIR [RUNS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "data/npy.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace {

namespace fs = std::filesystem;
using deepcomp::runtime::NodeTiming;
using deepcomp::runtime::Session;
using deepcomp::runtime::SessionOptions;
using deepcomp::runtime::Value;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t;
  for (size_t k = 0; k < s.size(); ++k) t += (k ? "x" : "") + std::to_string(s[k]);
  return t;
}

// Heap allocations made by the timed runs (every operator new of the process while counting).
std::atomic<bool> counting{false};
std::atomic<int64_t> alloc_calls{0}, alloc_bytes{0};

}  // namespace

void* operator new(size_t n) {
  if (counting.load(std::memory_order_relaxed)) {
    alloc_calls.fetch_add(1, std::memory_order_relaxed);
    alloc_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: op_profile_bench CASE_DIR [RUNS]\n";
    return 2;
  }
  const fs::path dir = argv[1];
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 10;
  std::ifstream model_txt(dir / "model.txt");
  std::string model_path;
  std::getline(model_txt, model_path);
  auto model = deepcomp::onnx_io::load_model(model_path);
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";
    return 1;
  }
  std::vector<Value> inputs;
  for (int k = 0; fs::exists(dir / ("in_" + std::to_string(k) + ".npy")); ++k) {
    auto a = deepcomp::data::read_npy_typed((dir / ("in_" + std::to_string(k) + ".npy")).string());
    if (!a.ok()) {
      std::cerr << a.status().message() << "\n";
      return 1;
    }
    Value v;
    v.dtype = a->dtype;
    v.shape = std::move(a->shape);
    v.f = std::move(a->f);
    v.i = std::move(a->i);
    inputs.push_back(std::move(v));
  }
  SessionOptions options;
  options.threads = 1;
  options.profile = true;
  // Allocations and wall time per run, with and without recycled output storage, same run.
  for (bool recycle : {false, true}) {
    options.recycle_buffers = recycle;
    auto s = Session::create(*model, options);
    if (!s.ok()) {
      std::cerr << s.status().message() << "\n";
      return 1;
    }
    std::vector<double> calls, mb, wall;
    for (int r = 0; r <= runs; ++r) {
      alloc_calls = 0, alloc_bytes = 0;
      counting = true;
      const auto t0 = std::chrono::steady_clock::now();
      auto out = s->run(inputs);
      const auto t1 = std::chrono::steady_clock::now();
      counting = false;
      if (!out.ok()) {
        std::cerr << out.status().message() << "\n";
        return 1;
      }
      if (r == 0) continue;  // warm-up
      calls.push_back(static_cast<double>(alloc_calls.load()));
      mb.push_back(alloc_bytes.load() / 1e6);
      wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::printf(
        "recycle_buffers=%d: %.0f allocations, %.1f MB allocated, %.3f ms per run (median)\n",
        recycle ? 1 : 0, median(calls), median(mb), median(wall));
  }
  std::printf("\n");
  options.recycle_buffers = true;
  auto session = Session::create(*model, options);
  if (!session.ok()) {
    std::cerr << session.status().message() << "\n";
    return 1;
  }
  std::map<std::string, std::vector<double>> by_type;  // per run: summed ms
  std::map<std::string, int> count;
  std::map<std::string, std::vector<double>> node_ms;  // per Conv node
  std::map<std::string, std::string> node_shape;
  std::vector<double> total;
  for (int r = 0; r <= runs; ++r) {
    auto out = session->run(inputs);
    if (!out.ok()) {
      std::cerr << out.status().message() << "\n";
      return 1;
    }
    if (r == 0) continue;  // warm-up
    std::map<std::string, double> sum;
    double all = 0;
    for (const NodeTiming& t : session->profile()) {
      sum[t.op_type] += t.ms;
      all += t.ms;
      if (r == 1) ++count[t.op_type];
      node_ms[t.node].push_back(t.ms);
      if (r == 1 && !t.input_shapes.empty() && !t.output_shapes.empty()) {
        std::string in = shape_text(t.input_shapes[0]);
        if (t.input_shapes.size() > 1)
          in += (t.op_type == "Conv" ? " W " : ", ") + shape_text(t.input_shapes[1]);
        node_shape[t.node] = t.op_type + " " + in + " -> " + shape_text(t.output_shapes[0]);
      }
    }
    for (const auto& [op, ms] : sum) by_type[op].push_back(ms);
    total.push_back(all);
  }
  const double all = median(total);
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [op, v] : by_type) rows.push_back({median(v), op});
  std::sort(rows.rbegin(), rows.rend());
  std::printf("| op | nodes | ms | share |\n|---|---|---|---|\n");
  for (const auto& [ms, op] : rows)
    std::printf("| %s | %d | %.3f | %.1f%% |\n", op.c_str(), count[op], ms, 100 * ms / all);
  std::printf("| all | | %.3f | |\n\n", all);
  std::vector<std::pair<double, std::string>> convs;
  for (const auto& [node, v] : node_ms) convs.push_back({median(v), node});
  std::sort(convs.rbegin(), convs.rend());
  std::printf("| slowest node | op, shapes | ms |\n|---|---|---|\n");
  for (size_t k = 0; k < convs.size() && k < 16; ++k) {
    std::printf("| %s | %s | %.3f |\n", convs[k].second.c_str(),
                node_shape[convs[k].second].c_str(), convs[k].first);
  }
  return 0;
}
