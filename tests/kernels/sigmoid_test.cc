// kernels/sigmoid.h against the correctly rounded values (computed in double), over a dense sweep
// of inputs and the special ones; the array kernels (SIMD clones, scalar tail) give the bits of
// the scalar function for every element, in place too.
#include "kernels/sigmoid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/isa.h"

namespace deepcomp::kernels {
namespace {

// Distance in units in the last place between two finite floats of the same sign.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

std::vector<float> sweep() {
  std::vector<float> x;
  for (int k = -2000000; k <= 2000000; k += 3) x.push_back(k * 1e-5f);      // [-20, 20]
  for (int k = -11000; k <= 11000; k += 7) x.push_back(k * 1e-2f);          // [-110, 110]
  for (float v = 1e-38f; v < 1e3f; v *= 1.01f) x.insert(x.end(), {v, -v});  // magnitudes
  const float inf = std::numeric_limits<float>::infinity();
  x.insert(x.end(), {0.0f, -0.0f, inf, -inf, 88.72f, -88.72f, 103.9f, -103.9f, 1e-45f, 89.5f});
  return x;
}

TEST(Sigmoid, WithinTwoUlpOfTheCorrectlyRoundedValue) {
  int64_t worst = 0;
  for (float x : sweep()) {
    const float want = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x))));
    const float got = sigmoid(x);
    if (want < 1e-37f) {  // subnormal results: an absolute bound
      EXPECT_NEAR(got, want, 1e-44f) << x;
      continue;
    }
    const int64_t d = ulps(got, want);
    worst = std::max(worst, d);
    ASSERT_LE(d, 2) << "x = " << x << ": " << got << " vs " << want;
  }
  EXPECT_LE(worst, 2);
}

TEST(Sigmoid, ExpWithinTwoUlpAndOverflowsAndUnderflowsLikeExp) {
  for (float x : sweep()) {
    const double want = std::exp(static_cast<double>(x));
    const float got = exp_approx(x);
    if (want > std::numeric_limits<float>::max()) {
      EXPECT_EQ(got, std::numeric_limits<float>::infinity()) << x;
    } else if (want < std::numeric_limits<float>::min()) {
      EXPECT_NEAR(got, want, 1e-45) << x;  // subnormal or zero
    } else {
      ASSERT_LE(ulps(got, static_cast<float>(want)), 2) << x;
    }
  }
}

TEST(Sigmoid, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(sigmoid(0.0f), 0.5f);
  EXPECT_EQ(sigmoid(inf), 1.0f);
  EXPECT_EQ(sigmoid(-inf), 0.0f);
  EXPECT_TRUE(std::isnan(sigmoid(std::nanf(""))));
  EXPECT_TRUE(std::isnan(exp_approx(std::nanf(""))));
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_EQ(exp_approx(-inf), 0.0f);
  EXPECT_EQ(exp_approx(inf), inf);
}

// The arrays, whole and in place, against the scalar function.
void check_arrays() {
  std::vector<float> x = sweep();
  x.push_back(std::nanf(""));
  x.push_back(1.0f);  // a length that leaves a scalar tail
  ASSERT_NE(x.size() % 8, 0u);
  std::vector<float> y(x.size()), s(x.size());
  sigmoid(x.data(), y.data(), static_cast<int64_t>(x.size()));
  silu(x.data(), s.data(), static_cast<int64_t>(x.size()));
  for (size_t k = 0; k < x.size(); ++k) {
    ASSERT_EQ(bits(y[k]), bits(sigmoid(x[k]))) << k << ": " << x[k];
    ASSERT_EQ(bits(s[k]), bits(x[k] * sigmoid(x[k]))) << k << ": " << x[k];
  }
  // In place.
  std::vector<float> z = x;
  sigmoid(z.data(), z.data(), static_cast<int64_t>(z.size()));
  EXPECT_EQ(std::memcmp(z.data(), y.data(), z.size() * 4), 0);
}

// On every instruction set this CPU has (kernels/isa.h): the same scalar bits.
TEST(Sigmoid, ArraysGiveTheScalarBitsOnEveryElement) {
  for (const Isa level : {Isa::kSse2, Isa::kAvx2, Isa::kAvx512}) {
    if (set_isa_for_test(level) != level) continue;
    SCOPED_TRACE(isa_name(level));
    check_arrays();
  }
  set_isa_for_test(std::nullopt);
}

}  // namespace
}  // namespace deepcomp::kernels
