// kernels/isa.h. Depends on Highway (its dispatch is capped here) and the standard library.
#include "kernels/isa.h"

#include <hwy/targets.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace deepcomp::kernels {
namespace {

Isa detect() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  if (__builtin_cpu_supports("x86-64-v4")) return Isa::kAvx512;
  if (__builtin_cpu_supports("x86-64-v3")) return Isa::kAvx2;
  if (__builtin_cpu_supports("x86-64-v2")) return Isa::kSse4;
#elif defined(__x86_64__) && defined(__clang__)
  // Clang (the fuzzing builds) has no level names here; its kernels have no per-level variants
  // either, so the level only caps Highway.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
  if (__builtin_cpu_supports("sse4.2")) return Isa::kSse4;
#endif
  return Isa::kSse2;
}

Isa capped() {
  const Isa cpu = cpu_isa();
  const char* env = std::getenv("DEEPCOMP_MAX_CPU_ISA");
  if (env == nullptr || *env == '\0') return cpu;
  std::string want(env);
  std::transform(want.begin(), want.end(), want.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Isa level : {Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kSse2}) {
    if (want != isa_name(level)) continue;
    const Isa use = std::min(cpu, level);
#if defined(__x86_64__)
    // Highway's targets better than the cap (a lower bit is a better target); below SSE4 its
    // portable fallback runs, as on a CPU without SSSE3.
    const int64_t worse_than = use == Isa::kAvx2   ? HWY_AVX2
                               : use == Isa::kSse4 ? HWY_SSE4
                                                   : HWY_SSSE3 << 1;
    if (use < Isa::kAvx512) hwy::DisableTargets(worse_than - 1);
#endif
    return use;
  }
  throw std::invalid_argument("DEEPCOMP_MAX_CPU_ISA=" + std::string(env) +
                              ": expected avx512, avx2, sse4 or sse2");
}

// The level set_isa_for_test chose, or -1.
std::atomic<int>& forced() {
  static std::atomic<int> level{-1};
  return level;
}

}  // namespace

Isa cpu_isa() {
  static const Isa level = detect();
  return level;
}

Isa isa() {
  static const Isa level = capped();
  const int test = forced().load(std::memory_order_relaxed);
  return test < 0 ? level : static_cast<Isa>(test);
}

Isa set_isa_for_test(std::optional<Isa> level) {
  forced().store(level ? static_cast<int>(std::min(*level, cpu_isa())) : -1,
                 std::memory_order_relaxed);
  return isa();
}

const char* isa_name(Isa level) {
  switch (level) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kSse4:
      return "sse4";
    case Isa::kSse2:
      return "sse2";
  }
  return "sse2";
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    if (start != std::string::npos) return line.substr(start);
  }
  return "unknown CPU";
}

}  // namespace deepcomp::kernels
