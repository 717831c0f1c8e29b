// DFT of one line: iterative radix-2 FFT, the direct sum over a twiddle table, or Bluestein.
#include "runtime/dft.h"

#include <cmath>
#include <utility>

namespace deepcomp::runtime {

namespace {

constexpr double kTwoPi = 6.28318530717958647692;

// table[m] = exp(sign 2 pi i m / n), each entry from its own angle so errors do not accumulate.
std::vector<std::complex<double>> twiddles(int64_t n, double sign) {
  std::vector<std::complex<double>> t(n);
  for (int64_t m = 0; m < n; ++m) {
    t[m] = std::polar(1.0, sign * kTwoPi * static_cast<double>(m) / static_cast<double>(n));
  }
  return t;
}

// In place, unscaled, on n = 2^b points with `tw` from twiddles(n, sign): bit-reversal
// permutation, then log2(n) passes of butterflies over blocks of doubling length.
void fft_radix2(std::complex<double>* a, int64_t n, const std::vector<std::complex<double>>& tw) {
  for (int64_t k = 1, r = 0; k < n; ++k) {
    int64_t bit = n >> 1;
    for (; r & bit; bit >>= 1) r ^= bit;
    r |= bit;
    if (k < r) std::swap(a[k], a[r]);
  }
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t half = len / 2, step = n / len;
    for (int64_t start = 0; start < n; start += len) {
      for (int64_t j = 0; j < half; ++j) {
        const std::complex<double> t = tw[j * step] * a[start + j + half];
        a[start + j + half] = a[start + j] - t;
        a[start + j] += t;
      }
    }
  }
}

}  // namespace

DftPlan::DftPlan(int64_t length, bool inverse) : n_(length), inverse_(inverse) {
  const double sign = inverse ? 1.0 : -1.0;
  const bool power_of_two = n_ > 0 && (n_ & (n_ - 1)) == 0;
  method_ = power_of_two ? Method::kRadix2
                         : (n_ <= kDirectMaxLength ? Method::kDirect : Method::kBluestein);
  if (method_ != Method::kBluestein) {
    twiddle_ = twiddles(n_, sign);
    return;
  }
  // j k = (j^2 + k^2 - (k - j)^2) / 2 turns the transform into a convolution with the chirp.
  m_ = 1;
  while (m_ < 2 * n_ - 1) m_ <<= 1;
  chirp_.resize(n_);
  for (int64_t k = 0; k < n_; ++k) {
    // k^2 mod 2n keeps the angle small (exact in double) for long transforms.
    const int64_t q = (k * k) % (2 * n_);
    chirp_[k] =
        std::polar(1.0, sign * kTwoPi * 0.5 * static_cast<double>(q) / static_cast<double>(n_));
  }
  forward_m_ = twiddles(m_, -1.0);
  inverse_m_ = twiddles(m_, 1.0);
  kernel_.assign(m_, {});
  kernel_[0] = std::conj(chirp_[0]);
  for (int64_t k = 1; k < n_; ++k) kernel_[k] = kernel_[m_ - k] = std::conj(chirp_[k]);
  fft_radix2(kernel_.data(), m_, forward_m_);
}

void DftPlan::run(const std::complex<double>* in, std::complex<double>* out) const {
  const int64_t n = n_;
  switch (method_) {
    case Method::kRadix2:
      for (int64_t k = 0; k < n; ++k) out[k] = in[k];
      fft_radix2(out, n, twiddle_);
      break;
    case Method::kDirect:
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
      break;
    case Method::kBluestein: {
      std::vector<std::complex<double>> a(m_);
      for (int64_t j = 0; j < n; ++j) a[j] = in[j] * chirp_[j];
      fft_radix2(a.data(), m_, forward_m_);
      for (int64_t k = 0; k < m_; ++k) a[k] *= kernel_[k];
      fft_radix2(a.data(), m_, inverse_m_);
      const double scale = 1.0 / static_cast<double>(m_);
      for (int64_t k = 0; k < n; ++k) out[k] = a[k] * scale * chirp_[k];
      break;
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
