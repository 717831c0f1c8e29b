// libFuzzer driver for deepcomp::fuzz::symbol_stream_target (tests/fuzz/targets.h): aborts on a broken
// invariant so that libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = deepcomp::fuzz::symbol_stream_target(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_symbol_stream: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
