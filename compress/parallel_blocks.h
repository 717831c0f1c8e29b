// Splitting one large tensor's work across OpenMP threads without changing any result: the range
// is cut into blocks of a fixed size (kBlock elements, never derived from the thread count), each
// block's partial result is kept, and partial results are combined in block order. Integer counts
// and min/max could be combined in any order; floating-point sums could not, and fixed blocks
// make them the same for 1, 2 or 64 threads. Inside an enclosing parallel region (several layers
// compressed at once) OpenMP runs the nested loop on the calling thread.
//
// Depends on OpenMP and the standard library only.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace deepcomp::compress::parallel {

inline constexpr size_t kBlock = size_t{1} << 18;

inline size_t block_count(size_t n) { return (n + kBlock - 1) / kBlock; }

// Calls fn(block, begin, end) for every block of [0, n), blocks spread over the threads. Runs on
// one thread when there is a single block.
template <typename Fn>
void for_each_block(size_t n, Fn&& fn) {
  const int64_t blocks = static_cast<int64_t>(block_count(n));
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t begin = static_cast<size_t>(b) * kBlock;
    fn(static_cast<size_t>(b), begin, std::min(n, begin + kBlock));
  }
}

// Calls fn(piece) once per thread on contiguous pieces of `values` at the same time (a single
// call for short inputs), for results that do not depend on how the values are cut.
template <typename T, typename Fn>
void for_each_piece(std::span<const T> values, Fn&& fn) {
  if (values.size() < kBlock) {
    fn(values);
    return;
  }
#pragma omp parallel
  {
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    const size_t count = static_cast<size_t>(omp_get_num_threads());
    const size_t begin = values.size() * t / count, end = values.size() * (t + 1) / count;
    fn(values.subspan(begin, end - begin));
  }
}

}  // namespace deepcomp::compress::parallel
