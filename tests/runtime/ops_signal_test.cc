// DFT/STFT/window/mel forms beyond ONNX's backend cases. The FFT is checked against the direct
// sum on every length up to 64; operator outputs against numpy.fft and the ONNX reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <complex>
#include <random>

#include "runtime/dft.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using testing::GraphBuilder;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using testing::single_op;

Value run_one(const Model& model, std::vector<Value> inputs) {
  auto session = Session::create(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto out = session->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out.value()[0] : Value{};
}

TEST(Dft, PlanMatchesTheDirectSumOnEveryLengthUpTo64AndSpeechFrames) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  // 1..64 covers radix-2, the direct sum (<= 32) and Bluestein (33..63); 400 and 1000 are
  // Bluestein at speech frame sizes (25 ms at 16 kHz), 1024 radix-2.
  std::vector<int64_t> lengths = {400, 1000, 1024};
  for (int64_t n = 1; n <= 64; ++n) lengths.push_back(n);
  for (int64_t n : lengths) {
    std::vector<std::complex<double>> x(n), fast(n), slow(n);
    for (auto& v : x) v = {u(rng), u(rng)};
    for (bool inverse : {false, true}) {
      DftPlan(n, inverse).run(x.data(), fast.data());
      dft_direct(x.data(), n, inverse, slow.data());
      for (int64_t k = 0; k < n; ++k) {
        ASSERT_NEAR(std::abs(fast[k] - slow[k]), 0.0, 1e-9) << "n=" << n << " k=" << k;
      }
    }
  }
}

TEST(Dft, InverseUndoesForward) {
  const int64_t n = 12;
  std::vector<std::complex<double>> x(n), f(n), back(n);
  for (int64_t k = 0; k < n; ++k) x[k] = {double(k % 5), double(k % 3) - 1};
  DftPlan(n, false).run(x.data(), f.data());
  DftPlan(n, true).run(f.data(), back.data());
  for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(std::abs(back[k] - x[k]), 0.0, 1e-12);
}

TEST(DftOp, OnesidedWithZeroPaddingMatchesNumpyRfft) {
  // numpy.fft.rfft([1, -2, 3.5, 0.25, 4, -1], n=8)
  GraphBuilder b(17);
  b.input("x", DType::kFloat32).input("n", DType::kInt64);
  b.node("DFT", {"x", "n"}, {"y"}, {attr_i("axis", 1), attr_i("onesided", 1)}).output("y");
  Value y = run_one(b.model(),
                    {Value::floats({1, 6, 1}, {1, -2, 3.5f, 0.25f, 4, -1}), Value::ints({}, {8})});
  EXPECT_THAT(y.shape, ElementsAre(1, 5, 2));
  const std::vector<float> want = {
      5.75f, 0, -3.88388348f, -2.96966991f, 1.5f, 3.25f, -2.11611652f, 4.03033009f, 11.25f, 0};
  EXPECT_THAT(y.f, Pointwise(FloatNear(1e-5f), want));
}

TEST(DftOp, Opset20TakesTheAxisAsAnInputAndTruncates) {
  // numpy.fft.fft([1, -2, 3.5, 0.25, 4, -1], n=4) over axis 0 of a [6, 1] real signal.
  GraphBuilder b(20);
  b.input("x", DType::kFloat32).input("n", DType::kInt64).input("axis", DType::kInt64);
  b.node("DFT", {"x", "n", "axis"}, {"y"}).output("y");
  Value y = run_one(b.model(), {Value::floats({6, 1}, {1, -2, 3.5f, 0.25f, 4, -1}),
                                Value::ints({}, {4}), Value::ints({}, {0})});
  EXPECT_THAT(y.shape, ElementsAre(4, 2));
  EXPECT_THAT(y.f, Pointwise(FloatNear(1e-5f),
                             std::vector<float>{2.75f, 0, -2.5f, 2.25f, 6.25f, 0, -2.5f, -2.25f}));
}

TEST(DftOp, InverseOfComplexInputMatchesNumpyIfft) {
  // numpy.fft.ifft([1+0.5j, -2+1j, 3.5-1j, 0.25+2j])
  Model m = single_op("DFT", 1, {attr_i("axis", 1), attr_i("inverse", 1)}, 17);
  Value y = run_one(m, {Value::floats({1, 4, 2}, {1, 0.5f, -2, 1, 3.5f, -1, 0.25f, 2})});
  EXPECT_THAT(y.f,
              Pointwise(FloatNear(1e-6f), std::vector<float>{0.6875f, 0.625f, -0.375f, -0.1875f,
                                                             1.5625f, -0.875f, -0.875f, 0.9375f}));
}

TEST(Windows, OnePointSymmetricWindowIsOneAndOutputDatatypeIsHonoured) {
  Model hann =
      single_op("HannWindow", 1, {attr_i("periodic", 0), attr_i("output_datatype", 11)}, 17);
  Value one = run_one(hann, {Value::ints({}, {1})});
  EXPECT_EQ(one.dtype, DType::kFloat64);
  EXPECT_THAT(one.f, ElementsAre(1));
  // numpy.hanning(5)
  Value five = run_one(hann, {Value::ints({}, {5})});
  EXPECT_THAT(five.f, Pointwise(FloatNear(1e-7f), std::vector<float>{0, 0.5f, 1, 0.5f, 0}));
}

TEST(MelWeightMatrix, MatchesTheOnnxReferenceAtSpeechSettings) {
  // ONNX's reference (onnx/backend/test/case/node/melweightmatrix.py) with 4 mel bins,
  // dft_length 32, 16 kHz, 100..8000 Hz: filter edges fall on bins 0 1 2 3 6 10.
  Model m = single_op("MelWeightMatrix", 5, {}, 17);
  Value y = run_one(m, {Value::ints({}, {4}), Value::ints({}, {32}), Value::ints({}, {16000}),
                        Value::floats({}, {100}), Value::floats({}, {8000})});
  ASSERT_EQ(y.shape, (std::vector<int64_t>{17, 4}));
  std::vector<float> want(17 * 4, 0.0f);
  auto at = [&](int r, int c) -> float& { return want[r * 4 + c]; };
  at(1, 0) = 1;
  at(2, 1) = 1;
  at(3, 2) = 1;
  at(4, 2) = 2.0f / 3;
  at(4, 3) = 1.0f / 3;
  at(5, 2) = 1.0f / 3;
  at(5, 3) = 2.0f / 3;
  at(6, 3) = 1;
  at(7, 3) = 0.75f;
  at(8, 3) = 0.5f;
  at(9, 3) = 0.25f;
  EXPECT_THAT(y.f, Pointwise(FloatNear(1e-6f), want));
}

TEST(SignalOps, BadSizesAreErrors) {
  auto error_of = [](const Model& m, std::vector<Value> in) {
    auto s = Session::create(m);
    if (!s.ok()) return s.status().message();
    auto out = s->run(in);
    return out.ok() ? std::string() : out.status().message();
  };
  GraphBuilder dft(17);
  dft.input("x", DType::kFloat32).input("n", DType::kInt64);
  dft.node("DFT", {"x", "n"}, {"y"}, {attr_i("axis", 1)}).output("y");
  EXPECT_THAT(error_of(dft.model(), {Value::floats({1, 2, 1}, {1, 2}), Value::ints({}, {0})}),
              HasSubstr("dft_length must be positive"));
  EXPECT_THAT(
      error_of(single_op("DFT", 1, {attr_i("axis", 2)}, 17), {Value::floats({1, 2, 1}, {1, 2})}),
      HasSubstr("must name a signal dimension"));
  GraphBuilder stft(17);
  stft.input("x", DType::kFloat32).input("step", DType::kInt64).input("len", DType::kInt64);
  stft.node("STFT", {"x", "step", "", "len"}, {"y"}).output("y");
  EXPECT_THAT(error_of(stft.model(), {Value::floats({1, 4, 1}, {1, 2, 3, 4}), Value::ints({}, {1}),
                                      Value::ints({}, {8})}),
              HasSubstr("frame_length 8 must be in [1, 4]"));
  // 16 kHz with dft_length 32 has 17 bins up to 8 kHz; a 50 kHz upper edge puts the last
  // filter's centre (about 11.5 kHz) past them, where the ONNX reference would index out of range.
  EXPECT_THAT(error_of(single_op("MelWeightMatrix", 5, {}, 17),
                       {Value::ints({}, {4}), Value::ints({}, {32}), Value::ints({}, {16000}),
                        Value::floats({}, {0}), Value::floats({}, {50000})}),
              HasSubstr("beyond the spectrogram"));
}

}  // namespace
}  // namespace deepcomp::runtime
