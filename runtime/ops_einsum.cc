// Einsum over any number of inputs: explicit ("bij,bjk->bik") and implicit ("ij,jk") outputs,
// repeated labels within a term (diagonals, "ii->i"), ellipsis "..." with numpy broadcasting.
// One general evaluation: every label becomes a loop, each input walks its own strides (a label
// repeated in one term has the sum of its dimensions' strides, which walks the diagonal), and
// labels missing from the output are summed. Accumulates in double (floats) or int64 (integers).
// Two float operands (the exporters' batched matmuls, attention scores) instead run as batched
// matrix products on kernels::matmul after packing each operand; tests compare both paths.
#include <algorithm>
#include <array>
#include <string>

#include "kernels/dense.h"
#include "runtime/ops.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

namespace {

constexpr int kEllipsis = -1;  // marker in a parsed term
constexpr int kLetters = 52;   // a-z then A-Z

int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -2;
}

// One term: letter ids in order, kEllipsis where "..." stands.
using Term = std::vector<int>;

struct Equation {
  std::vector<Term> inputs;
  bool explicit_output = false;
  Term output;
};

Status parse_term(const std::string& text, Term* term) {
  bool ellipsis = false;
  for (size_t k = 0; k < text.size(); ++k) {
    if (text.compare(k, 3, "...") == 0) {
      if (ellipsis) return Status::Error("term '" + text + "' has two ellipses");
      ellipsis = true;
      term->push_back(kEllipsis);
      k += 2;
      continue;
    }
    const int id = letter_id(text[k]);
    if (id < 0) return Status::Error("term '" + text + "' has an invalid character");
    term->push_back(id);
  }
  return Status::Ok();
}

Status parse_equation(std::string eq, size_t num_inputs, Equation* out) {
  std::string s;
  for (char c : eq) {
    if (c != ' ') s += c;
  }
  const size_t arrow = s.find("->");
  const std::string lhs = s.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    Term term;
    DEEPCOMP_RETURN_IF_ERROR(parse_term(lhs.substr(start, comma - start), &term));
    out->inputs.push_back(std::move(term));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out->inputs.size() != num_inputs) {
    return Status::Error("equation has " + std::to_string(out->inputs.size()) + " terms for " +
                         std::to_string(num_inputs) + " inputs");
  }
  if (arrow == std::string::npos) return Status::Ok();
  out->explicit_output = true;
  DEEPCOMP_RETURN_IF_ERROR(parse_term(s.substr(arrow + 2), &out->output));
  std::array<bool, kLetters> seen{}, used{};
  for (const Term& t : out->inputs) {
    for (int id : t) {
      if (id >= 0) used[id] = true;
    }
  }
  for (int id : out->output) {
    if (id < 0) continue;
    if (!used[id]) return Status::Error("output label is not in any input term");
    if (seen[id]) return Status::Error("output repeats a label");
    seen[id] = true;
  }
  return Status::Ok();
}

// Loop space: label ids 0..E-1 are the ellipsis dimensions (right-aligned across inputs),
// E + letter for letters.
struct Plan {
  std::vector<int64_t> size;                  // per label id
  std::vector<int> loop;                      // label ids, output labels first
  size_t num_out = 0;                         // leading entries of `loop` that are output dims
  std::vector<std::vector<int64_t>> strides;  // per input, per entry of `loop`
};

Status make_plan(const Equation& eq, const Inputs& in, Plan* plan) {
  const size_t n = eq.inputs.size();
  int64_t ell = 0;  // ellipsis rank
  std::vector<int64_t> ell_of(n, 0);
  for (size_t k = 0; k < n; ++k) {
    int64_t letters = 0;
    bool has_ell = false;
    for (int id : eq.inputs[k]) {
      if (id == kEllipsis) {
        has_ell = true;
      } else {
        ++letters;
      }
    }
    const int64_t r = in[k]->rank();
    if (has_ell ? r < letters : r != letters) {
      return Status::Error("input " + std::to_string(k) + " " + describe(*in[k]) +
                           " does not match its term's " + std::to_string(letters) + " labels");
    }
    ell_of[k] = r - letters;
    ell = std::max(ell, ell_of[k]);
  }
  const int64_t labels = ell + kLetters;
  plan->size.assign(labels, -1);
  std::vector<std::vector<int64_t>> label_stride(n, std::vector<int64_t>(labels, 0));
  std::vector<int> count(labels, 0);  // occurrences over all inputs
  for (size_t k = 0; k < n; ++k) {
    const auto strides = row_major_strides_of(in[k]->shape);
    int64_t d = 0;
    for (int id : eq.inputs[k]) {
      std::vector<int> dims_ids;
      if (id == kEllipsis) {
        for (int64_t e = 0; e < ell_of[k]; ++e)
          dims_ids.push_back(static_cast<int>(ell - ell_of[k] + e));
      } else {
        dims_ids.push_back(static_cast<int>(ell + id));
      }
      for (int label : dims_ids) {
        const int64_t dim = in[k]->shape[d];
        int64_t& size = plan->size[label];
        if (label < ell && dim == 1) {
          if (size < 0) size = 1;  // ellipsis dims broadcast like numpy: stride 0
        } else {
          // Letters must agree exactly; an ellipsis dim of 1 seen before broadcasts.
          if (label < ell ? (size > 1 && size != dim) : (size >= 0 && size != dim)) {
            return Status::Error("label sizes disagree: " + std::to_string(size) + " vs " +
                                 std::to_string(dim) + " in input " + std::to_string(k) + " " +
                                 describe(*in[k]));
          }
          size = dim;
          label_stride[k][label] += strides[d];
        }
        ++count[label];
        ++d;
      }
    }
  }
  std::vector<bool> is_out(labels, false);
  if (eq.explicit_output) {
    for (int id : eq.output) {
      if (id == kEllipsis) {
        for (int e = 0; e < ell; ++e) plan->loop.push_back(e);
      } else {
        plan->loop.push_back(static_cast<int>(ell + id));
      }
    }
  } else {
    // numpy's implicit output: the ellipsis dimensions, then the labels used once, sorted.
    for (int e = 0; e < ell; ++e) plan->loop.push_back(e);
    std::vector<int> once;
    for (int id = 0; id < kLetters; ++id) {
      if (count[ell + id] == 1) once.push_back(id);
    }
    // Sorted by character code: uppercase before lowercase.
    std::stable_sort(once.begin(), once.end(), [](int a, int b) { return (a >= 26) > (b >= 26); });
    for (int id : once) plan->loop.push_back(static_cast<int>(ell + id));
  }
  for (int label : plan->loop) is_out[label] = true;
  plan->num_out = plan->loop.size();
  for (int label = 0; label < labels; ++label) {
    if (!is_out[label] && plan->size[label] >= 0) plan->loop.push_back(label);
  }
  plan->strides.assign(n, {});
  for (size_t k = 0; k < n; ++k) {
    for (int label : plan->loop) plan->strides[k].push_back(label_stride[k][label]);
  }
  return Status::Ok();
}

// Advances loop entries [begin, end) like an odometer, moving every input's offset along.
bool advance(const Plan& plan, const std::vector<int64_t>& sizes, size_t begin, size_t end,
             std::vector<int64_t>* idx, std::vector<int64_t>* offsets) {
  for (size_t d = end; d-- > begin;) {
    for (size_t k = 0; k < offsets->size(); ++k) (*offsets)[k] += plan.strides[k][d];
    if (++(*idx)[d] < sizes[d]) return true;
    for (size_t k = 0; k < offsets->size(); ++k) (*offsets)[k] -= plan.strides[k][d] * sizes[d];
    (*idx)[d] = 0;
  }
  return false;
}

// Largest operand the batched-matmul path packs (elements); beyond it the loop evaluation runs.
constexpr int64_t kMaxPackedElements = int64_t{1} << 26;

// Copies src through `strides` (per loop entry) over the loop entries `order`, odometer-style
// with the last entry fastest, into dst (contiguous) or, when `scatter`, the other way round.
void pack(const float* src, float* dst, const std::vector<size_t>& order,
          const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, bool scatter) {
  int64_t total = 1;
  for (size_t d : order) total *= sizes[d];
  std::vector<int64_t> idx(order.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (scatter) {
      dst[offset] = src[i];
    } else {
      dst[i] = src[offset];
    }
    for (size_t p = order.size(); p-- > 0;) {
      const size_t d = order[p];
      offset += strides[d];
      if (++idx[p] < sizes[d]) break;
      offset -= strides[d] * sizes[d];
      idx[p] = 0;
    }
  }
}

// Two float operands as batched matrix products C[b] = A[b] (M x K) * B[b] (K x N). Each output
// label is a batch label (both operands vary along it), M (only the first) or N; summed labels
// are K. Packing through the label strides also covers diagonals and broadcast dimensions (a
// stride of 0 repeats the operand). False when a packed operand would be too large.
bool einsum_by_matmul(const Plan& plan, const Value& a, const Value& b, Value* y) {
  std::vector<int64_t> sizes;
  for (int label : plan.loop) sizes.push_back(plan.size[label]);
  std::vector<size_t> batch, m_dims, n_dims, k_dims;
  for (size_t d = 0; d < plan.loop.size(); ++d) {
    const bool in_a = plan.strides[0][d] != 0, in_b = plan.strides[1][d] != 0;
    if (d >= plan.num_out) {
      k_dims.push_back(d);
    } else if (in_a && in_b) {
      batch.push_back(d);
    } else if (in_b) {
      n_dims.push_back(d);
    } else {
      m_dims.push_back(d);
    }
  }
  auto product = [&](const std::vector<size_t>& dims) {
    int64_t p = 1;
    for (size_t d : dims) p *= sizes[d];
    return p;
  };
  const int64_t nb = product(batch), m = product(m_dims), n = product(n_dims), k = product(k_dims);
  if (k == 0 || nb * m * k > kMaxPackedElements || nb * k * n > kMaxPackedElements) return false;
  auto concat = [](std::vector<size_t> x, const std::vector<size_t>& y2,
                   const std::vector<size_t>& z) {
    x.insert(x.end(), y2.begin(), y2.end());
    x.insert(x.end(), z.begin(), z.end());
    return x;
  };
  std::vector<float> pa(nb * m * k), pb(nb * k * n), pc(nb * m * n);
  pack(a.f.data(), pa.data(), concat(batch, m_dims, k_dims), sizes, plan.strides[0], false);
  pack(b.f.data(), pb.data(), concat(batch, k_dims, n_dims), sizes, plan.strides[1], false);
  for (int64_t t = 0; t < nb; ++t) {
    kernels::matmul(pa.data() + t * m * k, pb.data() + t * k * n, m, k, n, pc.data() + t * m * n);
  }
  // Output strides per loop entry: row-major over the output labels, 0 for summed ones.
  std::vector<int64_t> out_strides(plan.loop.size(), 0);
  int64_t s = 1;
  for (size_t d = plan.num_out; d-- > 0;) {
    out_strides[d] = s;
    s *= sizes[d];
  }
  pack(pc.data(), y->f.data(), concat(batch, m_dims, n_dims), sizes, out_strides, true);
  return true;
}

template <typename T, typename Acc>
void evaluate(const Plan& plan, const std::vector<const std::vector<T>*>& data, int64_t out_n,
              std::vector<T>* y) {
  std::vector<int64_t> sizes;
  for (int label : plan.loop) sizes.push_back(plan.size[label]);
  int64_t sum_n = 1;
  for (size_t d = plan.num_out; d < sizes.size(); ++d) sum_n *= sizes[d];
  std::vector<int64_t> idx(sizes.size(), 0), offsets(data.size(), 0);
  for (int64_t o = 0; o < out_n; ++o) {
    Acc acc = 0;
    for (int64_t s = 0; s < sum_n; ++s) {
      Acc p = 1;
      for (size_t k = 0; k < data.size(); ++k) p *= static_cast<Acc>((*data[k])[offsets[k]]);
      acc += p;
      advance(plan, sizes, plan.num_out, sizes.size(), &idx, &offsets);
    }
    (*y)[o] = static_cast<T>(acc);
    advance(plan, sizes, 0, plan.num_out, &idx, &offsets);
  }
}

Result<CompiledOp> build_einsum(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1 << 10, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"equation"}));
  if (!has_attr(*ctx.node, "equation")) return Status::Error("attribute 'equation' is required");
  const std::string text = attr_string(*ctx.node, "equation", "");
  Equation eq;
  Status parsed = parse_equation(text, ctx.num_inputs(), &eq);
  if (!parsed.ok()) return Status::Error("equation '" + text + "': " + parsed.message());
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    for (size_t k = 0; k < in.size(); ++k) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[k], "input"));
      if (in[k]->dtype != in[0]->dtype || in[k]->dtype == DType::kBool) {
        return Status::Error("inputs must share one numeric dtype, got " + describe(*in[0]) +
                             " and " + describe(*in[k]));
      }
    }
    Plan plan;
    Status st = make_plan(eq, in, &plan);
    if (!st.ok()) return Status::Error("equation '" + text + "': " + st.message());
    std::vector<int64_t> shape;
    for (size_t d = 0; d < plan.num_out; ++d) shape.push_back(plan.size[plan.loop[d]]);
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape(shape, "output"));
    Value y = zeros_of(in[0]->dtype, shape);
    const bool by_matmul = y.is_float() && in.size() == 2 && y.numel() > 0 &&
                           einsum_by_matmul(plan, *in[0], *in[1], &y);
    if (by_matmul) {
      // y is complete.
    } else if (y.is_float()) {
      std::vector<const std::vector<float>*> data;
      for (const Value* v : in) data.push_back(&v->f);
      evaluate<float, double>(plan, data, y.numel(), &y.f);
    } else {
      std::vector<const std::vector<int64_t>*> data;
      for (const Value* v : in) data.push_back(&v->i);
      evaluate<int64_t, int64_t>(plan, data, y.numel(), &y.i);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_einsum_ops(Table* t) { (*t)["Einsum"] = build_einsum; }

}  // namespace deepcomp::runtime::ops
