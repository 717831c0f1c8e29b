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

// Above this density `kAuto` expands a layer. Measured with bench/spmm_bench.cc
// (BM_Crossover*) on the shared MNIST MLPs' layer shapes at batch 1, 1 thread: the sparse
// kernels are faster below it on every shape measured, the dense one above.
inline constexpr double kDefaultDenseAboveDensity = 0.2;

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
