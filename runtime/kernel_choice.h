// Which kernel a layer with a sparse weight runs on: the sparse form (CSR / codebook-CSR), or the
// dense kernel on the weight expanded once when the Session is created. At batch 1 on small
// layers the sparse kernels only pay below a density crossover (bench/RESULTS.md, "Sparse or
// dense per layer"), so `kAuto` decides per layer. Depends on nothing.
#pragma once

#include <optional>
#include <string>

namespace deepcomp::runtime {

enum class KernelChoice {
  kSparse,  // every sparse form runs sparse, whatever its density
  kDense,   // every sparse form is expanded to dense
  kAuto,    // dense when the weight's density (nonzero / elements) is above the crossover
};

// Above this density `kAuto` expands a layer. Measured with bench/spmm_bench.cc (BM_Crossover*,
// bench/RESULTS.md) on the layer shapes of the shared MNIST MLPs and LeNet-300-100 at batch 1, one
// thread: CSR and codebook-CSR beat dense up to 10% density on the 784-wide layers (0.55-0.91x
// dense time) and lose from 15% (1.06-1.30x); small square layers (200x200, 256x256) win only
// near 5%, the 10-output layer up to 50%. The 784-wide layers dominate the time, hence 10%.
inline constexpr double kDefaultDenseAboveDensity = 0.1;

// The same for Conv layers, whose sparse kernel (kernels/conv_direct.h: one output channel's
// nonzeros over 64 outputs at a time) reuses each weight across a whole row of outputs and so
// pays at far higher densities. Measured with bench/conv_bench.cc (CodebookKept) on the ten
// layer shapes of ocr_det and BlazeFace, batch 1, one thread, AVX2: sparse beat dense on all ten
// at 30% kept (0.37-0.79x dense time) and on nine at 40%; at 50% on six.
inline constexpr double kDefaultConvDenseAboveDensity = 0.4;

inline const char* kernel_choice_name(KernelChoice k) {
  return k == KernelChoice::kSparse ? "sparse" : k == KernelChoice::kDense ? "dense" : "auto";
}

inline std::optional<KernelChoice> parse_kernel_choice(const std::string& name) {
  if (name == "sparse") return KernelChoice::kSparse;
  if (name == "dense") return KernelChoice::kDense;
  if (name == "auto") return KernelChoice::kAuto;
  return std::nullopt;
}

// Whether a layer whose weight has `density` runs on its sparse form.
inline bool runs_sparse(KernelChoice k, double density, double dense_above_density) {
  if (k == KernelChoice::kSparse) return true;
  if (k == KernelChoice::kDense) return false;
  return density <= dense_above_density;
}

}  // namespace deepcomp::runtime
