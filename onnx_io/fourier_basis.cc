// Recognizes a fixed Fourier basis stored as a Conv / ConvTranspose weight (an STFT or DFT front
// end exported as a convolution): every kernel slice is a window times a sinusoid of one of the
// DFT frequencies. Such a weight is computed, not learned, so roles.cc gives it the "basis" role
// and the pipeline keeps it lossless unless asked otherwise. Depends only on core/.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "onnx_io/internal.h"

namespace deepcomp::onnx_io::internal {

namespace {

// Slices shorter than this are too short to tell a sinusoid from a learned filter.
constexpr int64_t kMinPeriod = 8;
// Tensors above this many elements are not examined (no STFT front end is that large).
constexpr int64_t kMaxElements = int64_t{1} << 24;

// Fits one slice as window * (a cos + b sin) of 2 pi k n / period.
class SinusoidFit {
 public:
  SinusoidFit(const std::vector<double>& window, int64_t period)
      : window_(window), period_(period), cos_(period), sin_(period) {
    for (int64_t j = 0; j < period; ++j) {
      const double angle = 2 * std::numbers::pi * static_cast<double>(j) / period;
      cos_[j] = std::cos(angle);
      sin_[j] = std::sin(angle);
    }
  }

  // Least squares over a and b; true when the largest residual is at most `tol`.
  bool fits(const float* row, int64_t k, double tol) const {
    const int64_t n = static_cast<int64_t>(window_.size());
    double uu = 0, uv = 0, vv = 0, ur = 0, vr = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = (k * i) % period_;
      const double u = window_[i] * cos_[j], v = window_[i] * sin_[j];
      uu += u * u;
      uv += u * v;
      vv += v * v;
      ur += u * row[i];
      vr += v * row[i];
    }
    double a = 0, b = 0;
    const double det = uu * vv - uv * uv;
    // k = 0 and k = N/2 have no sine part: a one-parameter fit.
    if (vv <= 1e-12 * uu || det <= 1e-12 * uu * vv) {
      a = uu > 0 ? ur / uu : 0;
    } else {
      a = (ur * vv - vr * uv) / det;
      b = (vr * uu - ur * uv) / det;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = (k * i) % period_;
      const double fit = window_[i] * (a * cos_[j] + b * sin_[j]);
      if (std::fabs(row[i] - fit) > tol) return false;
    }
    return true;
  }

 private:
  const std::vector<double>& window_;
  int64_t period_;
  std::vector<double> cos_, sin_;
};

// The window: the first nonzero slice whose entries all have one sign (the k = 0 row of the
// basis, which is the window itself up to scale).
bool find_window(const std::vector<float>& v, int64_t slices, int64_t n, double tol,
                 std::vector<double>* window) {
  for (int64_t s = 0; s < slices; ++s) {
    const float* row = v.data() + s * n;
    bool pos = false, neg = false;
    double peak = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (row[i] > tol) pos = true;
      if (row[i] < -tol) neg = true;
      peak = std::max(peak, std::fabs(double{row[i]}));
    }
    if (pos == neg) continue;  // mixed signs, or all (near) zero
    window->resize(n);
    for (int64_t i = 0; i < n; ++i) (*window)[i] = std::fabs(double{row[i]}) / peak;
    return true;
  }
  return false;
}

bool matches_period(const std::vector<float>& v, int64_t slices, int64_t n, int64_t period,
                    const std::vector<double>& window, double tol) {
  const SinusoidFit fit(window, period);
  const int64_t top = period / 2;  // k and period - k give the same sinusoids
  std::vector<bool> seen(top + 1, false);
  int64_t distinct = 0, prev = 0;
  for (int64_t s = 0; s < slices; ++s) {
    const float* row = v.data() + s * n;
    double peak = 0;
    for (int64_t i = 0; i < n; ++i) peak = std::max(peak, std::fabs(double{row[i]}));
    if (peak <= tol) continue;  // the sine rows of k = 0 and N/2 are zero
    // Banks list frequencies in order, cosines then sines: try the likely k first.
    const int64_t likely[] = {prev + 1, prev, s, s - (top + 1), s - top, 0};
    int64_t found = -1;
    for (int64_t k : likely) {
      if (k >= 0 && k <= top && fit.fits(row, k, tol)) {
        found = k;
        break;
      }
    }
    for (int64_t k = 0; found < 0 && k <= top; ++k)
      if (fit.fits(row, k, tol)) found = k;
    if (found < 0) return false;
    if (found > 0 && !seen[found]) ++distinct;
    seen[found] = true;
    prev = found;
  }
  return distinct >= 2;
}

}  // namespace

namespace {

// Slices of `n` taps, `slices` of them, in `v`.
bool fourier_slices(const std::vector<float>& v, int64_t slices, int64_t n) {
  if (slices < 3 || n < kMinPeriod) return false;
  double peak = 0;
  for (float x : v) {
    if (!std::isfinite(x)) return false;
    peak = std::max(peak, std::fabs(double{x}));
  }
  if (peak == 0) return false;
  const double tol = 1e-4 * peak;
  std::vector<double> window;
  if (!find_window(v, slices, n, tol, &window)) return false;
  // The period is the kernel length, or the next power of two when the kernel is shorter than
  // the FFT size it was cut from.
  int64_t pow2 = 1;
  while (pow2 < n) pow2 *= 2;
  if (matches_period(v, slices, n, n, window, tol)) return true;
  return pow2 != n && matches_period(v, slices, n, pow2, window, tol);
}

bool examinable(const Tensor& t) {
  if (!is_float_dtype(t.dtype) || t.shape.size() < 3 || t.shape[0] <= 0 || t.shape[1] <= 0)
    return false;
  const int64_t numel = t.numel();
  return numel > 0 && numel <= kMaxElements && t.values.size() == static_cast<size_t>(numel);
}

}  // namespace

bool is_fourier_basis(const Tensor& t) {
  if (!examinable(t)) return false;
  const int64_t slices = t.shape[0] * t.shape[1];
  return fourier_slices(t.values, slices, t.numel() / slices);
}

bool is_fourier_basis_pair(const Tensor& a, const Tensor& b) {
  if (!examinable(a) || !examinable(b) || a.shape != b.shape) return false;
  std::vector<float> both = a.values;
  both.insert(both.end(), b.values.begin(), b.values.end());
  const int64_t slices = a.shape[0] * a.shape[1];
  return fourier_slices(both, 2 * slices, a.numel() / slices);
}

}  // namespace deepcomp::onnx_io::internal
