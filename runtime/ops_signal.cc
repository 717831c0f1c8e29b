// Signal operators of audio front ends: DFT (opset 17 axis attribute, opset 20 axis input), STFT,
// HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix. Complex tensors are float tensors
// whose last dimension is 2 (real, imaginary); real input may have a last dimension of 1.
// Transforms run in double: radix-2 FFT for power-of-two lengths, the direct sum otherwise
// (runtime/dft.h, both tested against each other).
#include <algorithm>
#include <cmath>
#include <complex>

#include "runtime/dft.h"
#include "runtime/ops.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

namespace {

constexpr double kPi = 3.14159265358979323846;

Status check_output_dtype(int64_t code, DType* out) {
  const auto d = static_cast<DType>(code);
  if (!is_known_dtype(static_cast<int32_t>(code)) || !is_runtime_dtype(d)) {
    return Status::Error("output_datatype " + std::to_string(code) + " is not supported");
  }
  *out = d;
  return Status::Ok();
}

void store(Value* y, int64_t k, double v) {
  if (y->is_float()) {
    y->f[k] = static_cast<float>(v);
  } else {
    y->i[k] = static_cast<int64_t>(v);
  }
}

Status check_signal(const Value* x, const char* what) {
  DEEPCOMP_RETURN_IF_ERROR(require_float(x, what));
  const int64_t last = x->rank() > 0 ? x->shape.back() : 0;
  if (x->rank() < 2 || (last != 1 && last != 2)) {
    return Status::Error(std::string(what) + " " + describe(*x) +
                         " must have rank >= 2 and a last dimension of 1 (real) or 2 (complex)");
  }
  return Status::Ok();
}

Result<CompiledOp> build_dft(const BuildContext& ctx) {
  const bool axis_input = ctx.opset >= 20;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, axis_input ? 3 : 2, 1));
  if (axis_input) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"inverse", "onesided"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis", "inverse", "onesided"}));
  }
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 1);
  const bool inverse = attr_int(*ctx.node, "inverse", 0) != 0;
  const bool onesided = attr_int(*ctx.node, "onesided", 0) != 0;
  if (inverse && onesided) return Status::Error("onesided=1 with inverse=1 is not supported");
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(check_signal(in[0], "input"));
    const Value& x = *in[0];
    const int64_t r = x.rank();
    int64_t axis_value = axis_input ? -2 : axis_attr;
    if (axis_input && input_at(in, 2))
      DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[2], "axis", &axis_value));
    int64_t axis = 0;
    if (!normalize_axis(axis_value, r, &axis) || axis == r - 1) {
      return Status::Error("axis " + std::to_string(axis_value) +
                           " must name a signal dimension of " + describe(x));
    }
    const int64_t n_in = x.shape[axis];
    int64_t length = n_in;
    if (const Value* len = input_at(in, 1)) {
      DEEPCOMP_RETURN_IF_ERROR(scalar_int(len, "dft_length", &length));
      if (length < 1)
        return Status::Error("dft_length must be positive, is " + std::to_string(length));
    }
    if (length < 1) return Status::Error("the signal dimension of " + describe(x) + " is empty");
    const int64_t n_out = onesided ? length / 2 + 1 : length;
    std::vector<int64_t> shape = x.shape;
    shape[axis] = n_out;
    shape.back() = 2;
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape(shape, "output"));
    if (length > kMaxDftLength)
      return Status::Error("dft_length " + std::to_string(length) + " is too large");
    const int64_t comp = x.shape.back();
    const int64_t outer = dims_product(x.shape, 0, axis);
    const int64_t inner = dims_product(x.shape, axis + 1, r - 1);
    Value y = zeros_of(x.dtype, shape);
    const DftPlan plan(length, inverse);
    std::vector<std::complex<double>> line(length), spectrum(length);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t e = 0; e < inner; ++e) {
        // Truncate or zero-pad the line to dft_length.
        std::fill(line.begin(), line.end(), std::complex<double>());
        for (int64_t j = 0; j < std::min(n_in, length); ++j) {
          const int64_t src = ((o * n_in + j) * inner + e) * comp;
          line[j] = {x.f[src], comp == 2 ? x.f[src + 1] : 0.0};
        }
        plan.run(line.data(), spectrum.data());
        for (int64_t k = 0; k < n_out; ++k) {
          const int64_t dst = ((o * n_out + k) * inner + e) * 2;
          y.f[dst] = static_cast<float>(spectrum[k].real());
          y.f[dst + 1] = static_cast<float>(spectrum[k].imag());
        }
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_stft(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 4, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"onesided"}));
  const bool onesided = attr_int(*ctx.node, "onesided", 1) != 0;
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(check_signal(in[0], "signal"));
    const Value& x = *in[0];
    if (x.rank() != 3)
      return Status::Error("signal must be [batch, length, 1|2], is " + describe(x));
    const int64_t comp = x.shape[2];
    if (onesided && comp == 2)
      return Status::Error("onesided=1 needs a real signal, is " + describe(x));
    int64_t step = 0;
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[1], "frame_step", &step));
    if (step < 1) return Status::Error("frame_step must be positive, is " + std::to_string(step));
    const Value* window = input_at(in, 2);
    int64_t frame = -1;
    if (window) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(window, "window"));
      if (window->rank() != 1) return Status::Error("window must be 1-D, is " + describe(*window));
      frame = window->numel();
    }
    if (const Value* fl = input_at(in, 3)) {
      int64_t given = 0;
      DEEPCOMP_RETURN_IF_ERROR(scalar_int(fl, "frame_length", &given));
      if (frame >= 0 && given != frame) {
        return Status::Error("frame_length " + std::to_string(given) +
                             " differs from the window's " + std::to_string(frame));
      }
      frame = given;
    }
    if (frame < 0) return Status::Error("needs a window or a frame_length");
    const int64_t batch = x.shape[0], length = x.shape[1];
    if (frame < 1 || frame > length || frame > kMaxDftLength) {
      return Status::Error("frame_length " + std::to_string(frame) + " must be in [1, " +
                           std::to_string(length) + "]");
    }
    const int64_t frames = (length - frame) / step + 1;
    const int64_t bins = onesided ? frame / 2 + 1 : frame;
    const std::vector<int64_t> shape = {batch, frames, bins, 2};
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape(shape, "output"));
    Value y = zeros_of(x.dtype, shape);
    const DftPlan plan(frame, false);
    std::vector<std::complex<double>> line(frame), spectrum(frame);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t f = 0; f < frames; ++f) {
        for (int64_t j = 0; j < frame; ++j) {
          const int64_t src = (b * length + f * step + j) * comp;
          const double w = window ? window->f[j] : 1.0;
          line[j] = {x.f[src] * w, comp == 2 ? x.f[src + 1] * w : 0.0};
        }
        plan.run(line.data(), spectrum.data());
        for (int64_t k = 0; k < bins; ++k) {
          const int64_t dst = ((b * frames + f) * bins + k) * 2;
          y.f[dst] = static_cast<float>(spectrum[k].real());
          y.f[dst + 1] = static_cast<float>(spectrum[k].imag());
        }
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// Generalized cosine windows: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), with N = size
// (periodic) or size - 1 (symmetric).
struct CosineWindow {
  double a0, a1, a2;
};

Result<CompiledOp> build_window(const BuildContext& ctx, CosineWindow coef) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"periodic", "output_datatype"}));
  const bool periodic = attr_int(*ctx.node, "periodic", 1) != 0;
  DType dtype = DType::kFloat32;
  DEEPCOMP_RETURN_IF_ERROR(check_output_dtype(attr_int(*ctx.node, "output_datatype", 1), &dtype));
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[0], "size"));
    int64_t size = 0;
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[0], "size", &size));
    if (size < 0) return Status::Error("size must not be negative, is " + std::to_string(size));
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape({size}, "output"));
    Value y = zeros_of(dtype, {size});
    const double n_div = static_cast<double>(periodic ? size : size - 1);
    for (int64_t n = 0; n < size; ++n) {
      // A one-point symmetric window has N = 0: numpy.hanning(1) is [1].
      const double t = n_div > 0 ? 2 * kPi * static_cast<double>(n) / n_div : 0.0;
      const double w =
          n_div > 0 ? coef.a0 - coef.a1 * std::cos(t) + coef.a2 * std::cos(2 * t) : 1.0;
      store(&y, n, w);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// Triangular mel filters as ONNX's reference builds them: num_mel_bins + 2 points equally spaced
// in mel (note: the step divides by num_mel_bins + 2, as the reference and ONNX Runtime do),
// mapped to spectrogram bins floor((dft_length + 1) * hz / sample_rate).
Result<CompiledOp> build_mel_weight_matrix(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 5, 5, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"output_datatype"}));
  DType dtype = DType::kFloat32;
  DEEPCOMP_RETURN_IF_ERROR(check_output_dtype(attr_int(*ctx.node, "output_datatype", 1), &dtype));
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[0], "num_mel_bins", &mel_bins));
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[1], "dft_length", &dft_length));
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[2], "sample_rate", &sample_rate));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[3], "lower_edge_hertz"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[4], "upper_edge_hertz"));
    if (in[3]->numel() != 1 || in[4]->numel() != 1) {
      return Status::Error("lower_edge_hertz and upper_edge_hertz must be scalars");
    }
    const double lower = in[3]->f[0], upper = in[4]->f[0];
    if (mel_bins < 1 || dft_length < 1 || sample_rate < 1) {
      return Status::Error("num_mel_bins, dft_length and sample_rate must be positive");
    }
    if (!(lower >= 0 && lower <= upper)) {
      return Status::Error("needs 0 <= lower_edge_hertz <= upper_edge_hertz");
    }
    const int64_t spectrogram_bins = dft_length / 2 + 1;
    const std::vector<int64_t> shape = {spectrogram_bins, mel_bins};
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape(shape, "output"));
    auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    const double low_mel = to_mel(lower), high_mel = to_mel(upper);
    const double mel_step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> bin(mel_bins + 2);
    for (int64_t p = 0; p < mel_bins + 2; ++p) {
      const double hz = 700.0 * (std::pow(10.0, (p * mel_step + low_mel) / 2595.0) - 1.0);
      const double b = std::floor((dft_length + 1) * hz / sample_rate);
      // Only the last point may lie past the spectrogram (it bounds the last filter's slope).
      if (!(b >= 0 && (b < spectrogram_bins || (p == mel_bins + 1 && b < 9e18)))) {
        return Status::Error("upper_edge_hertz " + std::to_string(upper) +
                             " lies beyond the spectrogram's " + std::to_string(spectrogram_bins) +
                             " bins");
      }
      bin[p] = static_cast<int64_t>(b);
    }
    Value y = zeros_of(dtype, shape);
    for (int64_t m = 0; m < mel_bins; ++m) {
      const int64_t left = bin[m], center = bin[m + 1], right = bin[m + 2];
      if (center == left) {
        store(&y, center * mel_bins + m, 1.0);
      } else {
        for (int64_t j = left; j <= center; ++j) {
          store(&y, j * mel_bins + m,
                static_cast<double>(j - left) / static_cast<double>(center - left));
        }
      }
      for (int64_t j = center; j < std::min(right, spectrogram_bins); ++j) {
        store(&y, j * mel_bins + m,
              static_cast<double>(right - j) / static_cast<double>(right - center));
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_signal_ops(Table* t) {
  (*t)["DFT"] = build_dft;
  (*t)["STFT"] = build_stft;
  (*t)["HannWindow"] = [](const BuildContext& c) { return build_window(c, {0.5, 0.5, 0.0}); };
  // ONNX's Hamming coefficients are 25/46 and 21/46 (not the rounded 0.54 / 0.46).
  (*t)["HammingWindow"] = [](const BuildContext& c) {
    return build_window(c, {25.0 / 46.0, 21.0 / 46.0, 0.0});
  };
  (*t)["BlackmanWindow"] = [](const BuildContext& c) { return build_window(c, {0.42, 0.5, 0.08}); };
  (*t)["MelWeightMatrix"] = build_mel_weight_matrix;
}

}  // namespace deepcomp::runtime::ops
