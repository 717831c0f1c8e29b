#include "toolkit/output_compare.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace deepcomp::cli {
namespace {

struct SliceStats {
  double rel_l2 = 0, cosine = 1;
};

SliceStats slice_stats(const runtime::Value& r, const runtime::Value& c, int64_t begin, int64_t end,
                       double* max_abs, bool* nan) {
  double rr = 0, cc = 0, rc = 0, dd = 0;
  for (int64_t k = begin; k < end; ++k) {
    const double a = r.as_double(k), b = c.as_double(k);
    const double d = b - a;
    // std::max would drop a NaN difference; it is remembered and makes max_abs NaN.
    if (std::isnan(d)) {
      *nan = true;
    } else {
      *max_abs = std::max(*max_abs, std::abs(d));
    }
    rr += a * a;
    cc += b * b;
    rc += a * b;
    dd += d * d;
  }
  SliceStats s;
  if (rr == 0) {
    s.rel_l2 = dd == 0 ? 0 : std::numeric_limits<double>::infinity();
  } else {
    s.rel_l2 = std::sqrt(dd) / std::sqrt(rr);
  }
  if (rr == 0 && cc == 0) {
    s.cosine = 1;
  } else if (rr == 0 || cc == 0) {
    s.cosine = 0;
  } else {
    s.cosine = rc / (std::sqrt(rr) * std::sqrt(cc));
  }
  return s;
}

// Index of the first maximum of elements [begin, begin + n) (NaN never wins, as a comparison).
int64_t argmax(const runtime::Value& v, int64_t begin, int64_t n) {
  int64_t best = 0;
  double best_value = v.as_double(begin);
  for (int64_t j = 1; j < n; ++j) {
    const double x = v.as_double(begin + j);
    if (x > best_value || (std::isnan(best_value) && !std::isnan(x))) {
      best = j;
      best_value = x;
    }
  }
  return best;
}

}  // namespace

Result<OutputComparison> compare_outputs(const std::string& name, const runtime::Value& reference,
                                         const runtime::Value& candidate, int64_t samples) {
  if (reference.dtype != candidate.dtype || reference.shape != candidate.shape) {
    return Status::Error("output '" + name + "': the reference gives " +
                         runtime::describe(reference) + ", the candidate " +
                         runtime::describe(candidate));
  }
  int64_t n = 0;
  if (!runtime::checked_numel(reference.shape, &n) || n != reference.stored() ||
      n != candidate.stored()) {
    return Status::Error("output '" + name + "': malformed value " + runtime::describe(reference));
  }
  OutputComparison out;
  out.name = name;
  out.dtype = reference.dtype;
  out.shape = reference.shape;
  const bool split = samples > 1 && !reference.shape.empty() && reference.shape[0] == samples;
  out.samples = split ? samples : 1;
  const int64_t per = out.samples > 0 ? n / out.samples : 0;
  double rel_sum = 0, cos_sum = 0;
  out.max_abs = 0;
  bool nan = false;
  for (int64_t s = 0; s < out.samples; ++s) {
    const SliceStats st =
        slice_stats(reference, candidate, s * per, (s + 1) * per, &out.max_abs, &nan);
    rel_sum += st.rel_l2;
    cos_sum += st.cosine;
  }
  if (nan) out.max_abs = std::numeric_limits<double>::quiet_NaN();
  out.rel_l2 = rel_sum / static_cast<double>(out.samples);
  out.cosine = cos_sum / static_cast<double>(out.samples);
  const int64_t last = reference.shape.empty() ? 0 : reference.shape.back();
  if (last > 1) {
    out.positions = n / last;
    int64_t agree = 0;
    for (int64_t p = 0; p < out.positions; ++p) {
      agree += argmax(reference, p * last, last) == argmax(candidate, p * last, last);
    }
    out.top1_agreement = static_cast<double>(agree) / static_cast<double>(out.positions);
  }
  return out;
}

}  // namespace deepcomp::cli
