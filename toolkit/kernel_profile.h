// The per-machine kernel profile: the densities above which `--kernel auto` expands a sparse
// layer to dense (fc layers; Conv layers), measured by `deepcomp bench --calibrate` on this
// machine instead of the built-in runtime::kDefaultDenseAboveDensity and
// kDefaultConvDenseAboveDensity. A small JSON file (docs/CLI.md "Kernel profile"):
//   {"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0.15,
//    "conv_dense_above_density": 0.4, "simd_path": "AVX2", "threads": 1, "repeat": 20,
//    "shapes": [{"rows": 256, "cols": 784, "crossover": 0.15,
//                "points": [{"density": 0.05, "dense_ms": .., "sparse_ms": ..}, ...]}],
//    "conv_shapes": [{"name": "1x1 48->48 48x96", "crossover": 0.5, "points": [...]}]}
// conv_dense_above_density and conv_shapes came later within version 1: a profile without them
// keeps the built-in Conv crossover.
// Location: $DEEPCOMP_KERNEL_PROFILE when set ("none" or empty: no profile), else
// $XDG_CACHE_HOME/deepcomp/kernel-profile.json, else $HOME/.cache/deepcomp/kernel-profile.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/kernel_choice.h"

namespace deepcomp::cli {

struct KernelProfile {
  struct Point {
    double density = 0;
    double dense_ms = 0;
    double sparse_ms = 0;
  };
  struct Shape {
    int64_t rows = 0, cols = 0;
    double crossover = 0;  // largest measured density at which sparse beat dense (0: none)
    std::vector<Point> points;
  };
  // A Conv layer measured (batch 1): its description, e.g. "3x3 96->24 48x96".
  struct ConvShape {
    std::string name;
    double crossover = 0;
    std::vector<Point> points;
  };
  double dense_above_density = 0;
  double conv_dense_above_density = runtime::kDefaultConvDenseAboveDensity;
  std::string simd_path;
  int repeat = 0;
  std::vector<Shape> shapes;
  std::vector<ConvShape> conv_shapes;
};

// Where the profile is read and written by default (see above); "" when disabled or no home.
std::string default_kernel_profile_path();

// The profile at `path`; nullopt when there is no such file. A file that is not a valid profile
// is an error naming it.
Result<std::optional<KernelProfile>> read_kernel_profile(const std::string& path);

// Writes the profile (temp file + rename), creating its folder; replaces an older profile.
Status write_kernel_profile(const std::string& path, const KernelProfile& profile);

// Measures dense against codebook-CSR (the layout .dcz layers run on) at batch 1, one thread, on
// a few fc layer shapes over densities from 2% to 70% and a few Conv layers from 10% to 80%:
// `repeat` timed runs each, medians compared. dense_above_density and conv_dense_above_density
// are the medians of their shapes' crossovers.
KernelProfile calibrate_kernels(int repeat);

}  // namespace deepcomp::cli
