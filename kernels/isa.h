// Which x86 instruction set the kernels run with: the best one this CPU has, or a lower one the
// user asked for with DEEPCOMP_MAX_CPU_ISA (as oneDNN's ONEDNN_MAX_CPU_ISA and OpenBLAS's
// OPENBLAS_CORETYPE do), so that an AVX-512 machine can measure the AVX2 or SSE4 code paths that
// other CPUs run. Every path gives the same bits; only speed changes.
#pragma once

#include <optional>
#include <string>

namespace deepcomp::kernels {

// Ordered: a higher level may use every instruction of the lower ones.
enum class Isa {
  kSse2 = 0,    // x86-64 baseline (and every non-x86 CPU: the portable code)
  kSse4 = 1,    // x86-64-v2
  kAvx2 = 2,    // x86-64-v3: AVX2 and FMA
  kAvx512 = 3,  // x86-64-v4: AVX-512 F/VL/BW/DQ/CD
};

// The level the kernels use: this CPU's, capped by DEEPCOMP_MAX_CPU_ISA (avx512, avx2, sse4 or
// sse2, case-insensitive; unset or empty: no cap). Read once; the cap also limits Highway's
// dispatch of the sparse matrix-vector kernels. Throws std::invalid_argument naming the variable
// on any other value: programs call it once at start-up, outside parallel regions, to fail early.
Isa isa();

// The CPU's own level, without the cap.
Isa cpu_isa();

// For tests that compare the code paths: the convolution, sigmoid and sparse multi-column kernels
// run at min(level, cpu_isa()) from now on, or as isa() says again after std::nullopt (Highway's
// matrix-vector dispatch is left alone: tests choose its target with
// hwy::SetSupportedTargetsForTest). Returns the level in effect. Not for use while kernels run.
Isa set_isa_for_test(std::optional<Isa> level);

// "avx512", "avx2", "sse4" or "sse2".
const char* isa_name(Isa level);

// The CPU's model name as the OS reports it (/proc/cpuinfo on Linux), for reports that give
// figures; "unknown CPU" elsewhere.
std::string cpu_name();

}  // namespace deepcomp::kernels
