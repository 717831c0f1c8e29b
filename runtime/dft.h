// Internal to runtime/: the discrete Fourier transform of one complex line, for DFT and STFT.
// Power-of-two lengths run a radix-2 FFT; other lengths up to kDirectMaxLength the direct sum
// over a twiddle table, longer ones Bluestein's chirp-z (the transform as a convolution done by
// power-of-two FFTs), so a 400-point speech frame costs O(n log n). dft_direct is the plain
// reference all three are tested against. Depends on the standard library only.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace deepcomp::runtime {

// Longest transform the operators accept (the tables hold a few entries per point).
inline constexpr int64_t kMaxDftLength = int64_t{1} << 20;
// Non-power-of-two lengths up to this use the direct sum (cheaper than Bluestein's setup).
inline constexpr int64_t kDirectMaxLength = 32;

// out[k] = s * sum_j in[j] * exp(-+ 2 pi i j k / n), k < n: forward with the minus sign and s = 1,
// inverse with the plus sign and s = 1 / n.
class DftPlan {
 public:
  DftPlan(int64_t length, bool inverse);
  // `in` and `out` hold `length` points each and must not overlap.
  void run(const std::complex<double>* in, std::complex<double>* out) const;

 private:
  enum class Method { kRadix2, kDirect, kBluestein };
  int64_t n_;
  bool inverse_;
  Method method_;
  std::vector<std::complex<double>> twiddle_;  // exp(-+ 2 pi i m / n), m < n (radix-2, direct)
  // Bluestein: chirp_[k] = exp(-+ pi i k^2 / n); kernel_ = FFT of the conjugate chirp laid out
  // for a circular convolution of power-of-two length m_; m-point forward/inverse twiddles.
  int64_t m_ = 0;
  std::vector<std::complex<double>> chirp_, kernel_, forward_m_, inverse_m_;
};

// The same transform by the textbook double sum, each term's angle computed afresh.
void dft_direct(const std::complex<double>* in, int64_t n, bool inverse, std::complex<double>* out);

}  // namespace deepcomp::runtime
