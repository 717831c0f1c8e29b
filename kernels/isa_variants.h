// One kernel function compiled for several x86 instruction sets, and the pick among them by
// kernels::isa() (this CPU's level, or lower with DEEPCOMP_MAX_CPU_ISA). Used where GCC's
// target_clones would do, because its loader-time choice cannot be capped. The kernels are built
// with -ffp-contract=off, so every variant gives the same bits.
#pragma once

#include "kernels/isa.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DEEPCOMP_ISA_VARIANTS_ON 1
#define DEEPCOMP_TARGET_V3 __attribute__((target("arch=x86-64-v3")))
#define DEEPCOMP_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
// `name` for the baseline, name_v3 (AVX2) and name_v4 (AVX-512), each running `call`.
#define DEEPCOMP_ISA_VARIANTS(name, params, call)    \
  void name params { call; }                         \
  DEEPCOMP_TARGET_V3 void name##_v3 params { call; } \
  DEEPCOMP_TARGET_V4 void name##_v4 params { call; }
// The variant for the level in use.
#define DEEPCOMP_ISA_PICK(name)                                                \
  (::deepcomp::kernels::isa() >= ::deepcomp::kernels::Isa::kAvx512 ? name##_v4 \
   : ::deepcomp::kernels::isa() >= ::deepcomp::kernels::Isa::kAvx2 ? name##_v3 \
                                                                   : name)
#else
// Sanitized builds, other compilers and CPUs: the portable function only.
#define DEEPCOMP_ISA_VARIANTS_ON 0
#define DEEPCOMP_ISA_VARIANTS(name, params, call) \
  void name params { call; }
#define DEEPCOMP_ISA_PICK(name) (name)
#endif
