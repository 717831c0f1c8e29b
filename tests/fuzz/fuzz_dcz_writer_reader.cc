// libFuzzer driver for deepcomp::fuzz::dcz_writer_reader_target (tests/fuzz/targets.h): aborts on a
// broken invariant so that libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = deepcomp::fuzz::dcz_writer_reader_target(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_dcz_writer_reader: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
