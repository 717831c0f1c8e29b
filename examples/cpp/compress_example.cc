// Compresses an ONNX model with the library, runs the .dcz, and prints the compression ratio.
//   compress_example IN.onnx OUT.dcz [prune_fc]
#include <deepcomp/deepcomp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.onnx OUT.dcz [prune_fc]\n", argv[0]);
    return 2;
  }
  deepcomp::CompressOptions options;
  options.overwrite = true;
  if (argc > 3) options.prune_fc = std::atof(argv[3]);
  auto report = deepcomp::compress_file(argv[1], argv[2], options);
  if (!report.ok()) {
    std::fprintf(stderr, "compress_example: %s\n", report.status().message().c_str());
    return 1;
  }
  // The compressed model runs straight from the .dcz; its first input gets zeros here.
  auto session = deepcomp::Session::open(argv[2]);
  if (!session.ok()) {
    std::fprintf(stderr, "compress_example: %s\n", session.status().message().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, deepcomp::Array>> feeds;
  for (const deepcomp::TensorInfo& in : session->inputs()) {
    deepcomp::Array a;
    a.dtype = in.dtype.empty() ? "float32" : in.dtype;
    size_t n = 1;
    for (int64_t d : in.shape) {
      a.shape.push_back(d < 0 ? 1 : d);
      n *= static_cast<size_t>(a.shape.back());
    }
    if (a.dtype.rfind("float", 0) == 0)
      a.f.assign(n, 0.0f);
    else
      a.i.assign(n, 0);
    feeds.emplace_back(in.name, std::move(a));
  }
  auto outputs = session->run(std::move(feeds));
  if (!outputs.ok()) {
    std::fprintf(stderr, "compress_example: %s\n", outputs.status().message().c_str());
    return 1;
  }
  std::printf("outputs %zu, first '%s' with %zu values\n", outputs->size(),
              (*outputs)[0].first.c_str(),
              (*outputs)[0].second.f.size() + (*outputs)[0].second.i.size());
  std::printf("ratio %.17g\n", report->ratio());
  return 0;
}
