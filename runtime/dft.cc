// DFT of one line: iterative radix-2 FFT or the direct sum over a twiddle table.
#include "runtime/dft.h"

#include <cmath>

namespace deepcomp::runtime {

namespace {

constexpr double kTwoPi = 6.28318530717958647692;

}  // namespace

DftPlan::DftPlan(int64_t length, bool inverse)
    : n_(length), inverse_(inverse), power_of_two_(length > 0 && (length & (length - 1)) == 0) {
  const double sign = inverse ? 1.0 : -1.0;
  twiddle_.resize(n_);
  // Each entry from its own angle (not by repeated multiplication) so errors do not accumulate.
  for (int64_t m = 0; m < n_; ++m) {
    twiddle_[m] = std::polar(1.0, sign * kTwoPi * static_cast<double>(m) / static_cast<double>(n_));
  }
}

void DftPlan::run(const std::complex<double>* in, std::complex<double>* out) const {
  const int64_t n = n_;
  if (power_of_two_) {
    // Bit-reversed copy, then log2(n) passes of butterflies over blocks of doubling length.
    int bits = 0;
    while ((int64_t{1} << bits) < n) ++bits;
    for (int64_t k = 0; k < n; ++k) {
      int64_t r = 0;
      for (int b = 0; b < bits; ++b) r |= ((k >> b) & 1) << (bits - 1 - b);
      out[r] = in[k];
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
      const int64_t half = len / 2, step = n / len;
      for (int64_t start = 0; start < n; start += len) {
        for (int64_t j = 0; j < half; ++j) {
          const std::complex<double> t = twiddle_[j * step] * out[start + j + half];
          out[start + j + half] = out[start + j] - t;
          out[start + j] += t;
        }
      }
    }
  } else {
    for (int64_t k = 0; k < n; ++k) {
      std::complex<double> acc = 0;
      int64_t m = 0;  // (j * k) mod n, kept incrementally so it never overflows
      for (int64_t j = 0; j < n; ++j) {
        acc += in[j] * twiddle_[m];
        m += k;
        if (m >= n) m -= n;
      }
      out[k] = acc;
    }
  }
  if (inverse_) {
    const double scale = 1.0 / static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) out[k] *= scale;
  }
}

void dft_direct(const std::complex<double>* in, int64_t n, bool inverse,
                std::complex<double>* out) {
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < n; ++k) {
    std::complex<double> acc = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double angle =
          sign * kTwoPi * static_cast<double>((j * k) % n) / static_cast<double>(n);
      acc += in[j] * std::polar(1.0, angle);
    }
    out[k] = inverse ? acc / static_cast<double>(n) : acc;
  }
}

}  // namespace deepcomp::runtime
