// Internal to runtime/: the discrete Fourier transform of one complex line, for DFT and STFT.
// Radix-2 FFT when the length is a power of two, the direct sum over a twiddle table otherwise;
// dft_direct is the plain reference both are tested against. Depends on the standard library only.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace deepcomp::runtime {

// Longest transform the operators accept (the twiddle table holds one entry per point).
inline constexpr int64_t kMaxDftLength = int64_t{1} << 24;

// out[k] = s * sum_j in[j] * exp(-+ 2 pi i j k / n), k < n: forward with the minus sign and s = 1,
// inverse with the plus sign and s = 1 / n.
class DftPlan {
 public:
  DftPlan(int64_t length, bool inverse);
  // `in` and `out` hold `length` points each and must not overlap.
  void run(const std::complex<double>* in, std::complex<double>* out) const;

 private:
  int64_t n_;
  bool inverse_;
  bool power_of_two_;
  std::vector<std::complex<double>> twiddle_;  // exp(-+ 2 pi i m / n), m < n
};

// The same transform by the textbook double sum, each term's angle computed afresh.
void dft_direct(const std::complex<double>* in, int64_t n, bool inverse, std::complex<double>* out);

}  // namespace deepcomp::runtime
