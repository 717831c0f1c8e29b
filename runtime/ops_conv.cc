// Conv (1-D to 3-D, groups, strides, pads, dilations, auto_pad) on kernels/conv.h, with the
// weight dense or sparse ([M, C/group * kd * kh * kw], rows = output channels), with the chain
// after it fused in when the Session found one (runtime/fuse_conv.h), and the helpers
// ConvTranspose (ops_conv_transpose.cc) shares.
#include "runtime/ops_conv.h"

#include <algorithm>
#include <map>
#include <memory>

#include "kernels/conv.h"
#include "runtime/fuse_conv.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

Status check_auto_pad(const std::string& auto_pad) {
  if (auto_pad == "NOTSET" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" ||
      auto_pad == "VALID") {
    return Status::Ok();
  }
  return Status::Error("attribute auto_pad=" + auto_pad + " is not supported");
}

Status resolve_pads(const std::string& auto_pad, const std::vector<int64_t>& in_dims,
                    const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                    const std::vector<int64_t>& dilations, const std::vector<int64_t>& pads,
                    std::vector<int64_t>* begin, std::vector<int64_t>* end) {
  const size_t r = in_dims.size();
  begin->assign(r, 0);
  end->assign(r, 0);
  if (auto_pad == "NOTSET") {
    if (!pads.empty() && pads.size() != 2 * r) {
      return Status::Error("pads has " + std::to_string(pads.size()) + " entries for " +
                           std::to_string(r) + " spatial dimensions");
    }
    for (size_t d = 0; d < r && !pads.empty(); ++d) {
      (*begin)[d] = pads[d];
      (*end)[d] = pads[d + r];
      if (pads[d] < 0 || pads[d + r] < 0) return Status::Error("negative pads");
    }
    return Status::Ok();
  }
  if (auto_pad == "VALID") return Status::Ok();
  for (size_t d = 0; d < r; ++d) {
    const int64_t eff = (kernel[d] - 1) * dilations[d] + 1;
    const int64_t out = (in_dims[d] + strides[d] - 1) / strides[d];
    const int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + eff - in_dims[d]);
    // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning.
    (*begin)[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    (*end)[d] = total - (*begin)[d];
  }
  return Status::Ok();
}

Result<ConvWindow> conv_window(const Node& node, const Inputs& in, const char* what,
                               bool weight_held) {
  DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
  if (!weight_held) {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "W"));
  } else if (!in[1] || !in[1]->is_float()) {
    return Status::Error("W must be a float tensor");
  }
  const Value& x = *in[0];
  const Value& w = *in[1];
  ConvWindow win;
  win.spatial_rank = x.rank() - 2;
  if (win.spatial_rank < 1 || win.spatial_rank > 3) {
    return Status::Error("X " + describe(x) + ": " + what + " needs 1 to 3 spatial dimensions");
  }
  if (w.rank() != x.rank())
    return Status::Error("W " + describe(w) + " does not match X " + describe(x));
  const size_t sr = static_cast<size_t>(win.spatial_rank);
  win.kernel.assign(w.shape.begin() + 2, w.shape.end());
  DEEPCOMP_RETURN_IF_ERROR(spatial_attr(node, "strides", sr, 1, &win.strides));
  DEEPCOMP_RETURN_IF_ERROR(spatial_attr(node, "dilations", sr, 1, &win.dilations));
  if (has_attr(node, "kernel_shape") && attr_ints(node, "kernel_shape") != win.kernel) {
    return Status::Error("kernel_shape does not match W " + describe(w));
  }
  return win;
}

Status spatial_attr(const Node& node, const char* name, size_t rank, int64_t fill,
                    std::vector<int64_t>* out) {
  *out = attr_ints(node, name, std::vector<int64_t>(rank, fill));
  if (out->size() != rank) {
    return Status::Error("attribute " + std::string(name) + " has " + std::to_string(out->size()) +
                         " entries for " + std::to_string(rank) + " spatial dimensions");
  }
  for (int64_t v : *out) {
    if (v < 1) return Status::Error("attribute " + std::string(name) + " must be positive");
  }
  return Status::Ok();
}

Result<ConvLayerWeight> conv_layer_weight(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  ConvLayerWeight out;
  const Value* w_const = ctx.constant(1);
  if (w_const && w_const->is_float() && w_const->rank() >= 3) {
    if (w_const->rank() > 5)
      return Status::Error("W " + describe(*w_const) + ": at most 3 spatial dimensions");
    const int64_t rows = w_const->shape[0];
    const int64_t cols = rows > 0 ? w_const->numel() / rows : 0;
    out.name = node.inputs[1];
    const SparseWeight given = ctx.sparse_weight(node.inputs[1]);
    if (given.present()) {
      const int64_t r = given.csr ? given.csr->rows : given.codebook->rows;
      const int64_t c = given.csr ? given.csr->cols : given.codebook->cols;
      if (r != rows || c != cols) {
        return Status::Error("sparse weight '" + node.inputs[1] + "' is " + std::to_string(r) +
                             "x" + std::to_string(c) + ", expected " + std::to_string(rows) + "x" +
                             std::to_string(cols));
      }
    }
    // W row-major is already the [rows, cols] matrix of session.h's layout. ConvTranspose's
    // sparse path (a CSR product, then col2im) pays only where fc layers do.
    const double crossover =
        node.op_type == "Conv" ? ctx.conv_dense_above_density : ctx.dense_above_density;
    LayerWeight chosen = choose_layer_weight(ctx, given, *w_const, rows, cols, false, crossover);
    out.sparse = std::move(chosen.sparse);
    if (!chosen.expanded.empty()) {
      out.expanded = std::make_shared<const std::vector<float>>(std::move(chosen.expanded));
    }
    out.density = chosen.density;
  } else if (ctx.has_input(1) && ctx.sparse_weight(node.inputs[1]).present()) {
    return Status::Error("a sparse weight needs a constant weight input");
  }
  return out;
}

namespace {

// A fused chain as the Conv runs it: the epilogue of the fast path (scale / shift one per
// output channel), and the chain's own operators for inputs the fast path does not take.
struct FusedChain {
  std::shared_ptr<const ConvFusion> fusion;
  std::vector<float> scale, shift, post_scale, post_shift;
  std::vector<CompiledOp> ops;

  // The chain's operators after a plain convolution `y` (the unfused graph, step by step).
  Status run_ops(const Inputs& in, Value* y) const {
    std::map<std::string, Value> values;
    values[fusion->conv_output] = std::move(*y);
    for (size_t k = 0; k < ops.size(); ++k) {
      const Node& node = fusion->chain[k];
      Inputs args;
      for (const std::string& name : node.inputs) {
        if (auto it = values.find(name); it != values.end()) {
          args.push_back(&it->second);
        } else if (auto c = fusion->constants.find(name); c != fusion->constants.end()) {
          args.push_back(c->second.get());
        } else if (fusion->residual && name == fusion->residual_name) {
          args.push_back(in[3]);
        } else {
          args.push_back(nullptr);
        }
      }
      std::vector<Value> outs(1);
      Status st = ops[k].run(args, &outs);
      if (!st.ok()) return st.WithContext("fused " + node.op_type);
      fit_to_dtype(&outs[0]);
      values[node.outputs[0]] = std::move(outs[0]);
    }
    *y = std::move(values[fusion->chain.back().outputs[0]]);
    return Status::Ok();
  }
};

Result<std::shared_ptr<const FusedChain>> compile_chain(const BuildContext& ctx, int64_t channels) {
  auto chain = std::make_shared<FusedChain>();
  chain->fusion = std::make_shared<const ConvFusion>(*ctx.conv_fusion);
  const ConvFusion& f = *chain->fusion;
  auto per_channel = [&](const std::vector<float>& v) {
    return v.size() == 1 ? std::vector<float>(channels, v[0]) : v;
  };
  chain->scale = per_channel(f.scale);
  chain->shift = per_channel(f.shift);
  chain->post_scale = per_channel(f.post_scale);
  chain->post_shift = per_channel(f.post_shift);
  for (const std::vector<float>* v :
       {&chain->scale, &chain->shift, &chain->post_scale, &chain->post_shift}) {
    if (!v->empty() && static_cast<int64_t>(v->size()) != channels)
      return Status::Error("fused scale/shift do not match the output channels");
  }
  for (const Node& node : f.chain) {
    const Builder* builder = find_builder(node.op_type);
    if (!builder) return Status::Error("fused " + node.op_type + ": operator not supported");
    BuildContext sub = ctx;
    sub.node = &node;
    sub.conv_fusion = nullptr;
    sub.constant = [&node, &f](size_t k) -> const Value* {
      if (k >= node.inputs.size()) return nullptr;
      auto it = f.constants.find(node.inputs[k]);
      return it == f.constants.end() ? nullptr : it->second.get();
    };
    sub.sparse_weight = [](const std::string&) { return SparseWeight{}; };
    auto op = (*builder)(sub);
    if (!op.ok()) return op.status().WithContext("fused " + node.op_type);
    chain->ops.push_back(std::move(op).value());
  }
  return std::shared_ptr<const FusedChain>(std::move(chain));
}

}  // namespace

Result<CompiledOp> build_conv(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  const bool residual = ctx.conv_fusion && ctx.conv_fusion->residual;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, residual ? 4 : 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(
      node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  DEEPCOMP_RETURN_IF_ERROR(check_auto_pad(auto_pad));
  const int64_t group = attr_int(node, "group", 1);
  if (group < 1) return Status::Error("attribute group must be positive");
  const std::vector<int64_t> pads_attr = attr_ints(node, "pads");
  DEEPCOMP_ASSIGN_OR_RETURN(ConvLayerWeight weight, conv_layer_weight(ctx));
  std::shared_ptr<const FusedChain> chain;
  if (ctx.conv_fusion) {
    const Value* w = ctx.constant(1);
    if (!w || w->rank() < 3) return Status::Error("a fused Conv needs a constant weight");
    DEEPCOMP_ASSIGN_OR_RETURN(chain, compile_chain(ctx, w->shape[0]));
  }
  // A constant dense weight is packed into the kernel's panels once, here, not on every run.
  std::shared_ptr<const kernels::PackedConvWeight> packed;
  // (Not for one output channel per group: the depthwise kernel reads the plain weight.)
  if (const Value* w = ctx.constant(1); !weight.sparse.present() && w && w->is_float() &&
                                        w->rank() >= 3 && w->shape[0] > group &&
                                        w->shape[0] % group == 0 && w->numel() > 0) {
    const int64_t patch = w->numel() / w->shape[0];
    const float* values = weight.expanded ? weight.expanded->data()
                          : static_cast<int64_t>(w->f.size()) == w->numel() ? w->f.data()
                                                                            : nullptr;
    if (values) {
      packed = std::make_shared<const kernels::PackedConvWeight>(
          kernels::pack_conv_weight(values, w->shape[0], group, patch));
    }
  }
  // A sparse weight's chunk starts, found once here, not on every run.
  auto starts_of = [](const auto& m) {
    return std::make_shared<const kernels::SparseChunkStarts>(
        kernels::sparse_chunk_starts(m.row_ptr, m.col_idx, m.cols));
  };
  std::shared_ptr<const kernels::SparseChunkStarts> chunk_starts;
  if (weight.sparse.codebook) {
    chunk_starts = starts_of(*weight.sparse.codebook);
  } else if (weight.sparse.csr) {
    chunk_starts = starts_of(*weight.sparse.csr);
  }
  CompiledOp op;
  op.weight = weight.name;
  op.sparse = weight.sparse.present();
  op.density = weight.density;
  const Node node_copy = node;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_ASSIGN_OR_RETURN(ConvWindow win,
                              conv_window(node_copy, in, "convolution",
                                          weight.sparse.present() || weight.expanded != nullptr));
    const Value& x = *in[0];
    const Value& w = *in[1];
    const int64_t sr = win.spatial_rank;
    const std::vector<int64_t>& strides = win.strides;
    const std::vector<int64_t>& dil = win.dilations;
    const std::vector<int64_t>& kernel = win.kernel;
    std::vector<int64_t> in_dims(x.shape.begin() + 2, x.shape.end()), pb, pe;
    DEEPCOMP_RETURN_IF_ERROR(
        resolve_pads(auto_pad, in_dims, kernel, strides, dil, pads_attr, &pb, &pe));
    kernels::ConvParams p;
    p.N = x.shape[0];
    p.C = x.shape[1];
    p.M = w.shape[0];
    p.group = group;
    // Fewer spatial dimensions are a 3-D convolution with leading sizes of 1.
    int64_t h[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, dl[3] = {1, 1, 1},
            b[3] = {0, 0, 0}, e[3] = {0, 0, 0};
    for (int64_t d = 0; d < sr; ++d) {
      const int64_t t = d + 3 - sr;
      h[t] = in_dims[d];
      k[t] = kernel[d];
      s[t] = strides[d];
      dl[t] = dil[d];
      b[t] = pb[d];
      e[t] = pe[d];
    }
    p.D = h[0], p.H = h[1], p.W = h[2], p.kd = k[0], p.kh = k[1], p.kw = k[2];
    p.stride_d = s[0], p.stride_h = s[1], p.stride_w = s[2];
    p.dil_d = dl[0], p.dil_h = dl[1], p.dil_w = dl[2];
    p.pad_front = b[0], p.pad_top = b[1], p.pad_left = b[2];
    p.pad_back = e[0], p.pad_bottom = e[1], p.pad_right = e[2];
    if (w.shape[1] * group != p.C) {
      return Status::Error("W " + describe(w) + " with group " + std::to_string(group) +
                           " does not match X " + describe(x));
    }
    const std::string problem = p.check();
    if (!problem.empty()) return Status::Error(problem);
    const float* bias = nullptr;
    if (in.size() > 2 && in[2]) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[2], "B"));
      if (in[2]->numel() != p.M)
        return Status::Error("B must have " + std::to_string(p.M) + " entries");
      bias = in[2]->f.data();
    }
    std::vector<int64_t> shape = {p.N, p.M};
    const int64_t out_dims[3] = {p.out_d(), p.out_h(), p.out_w()};
    for (int64_t d = 3 - sr; d < 3; ++d) shape.push_back(out_dims[d]);
    Value& y = (*out)[0];
    // Every output element is stored once by the kernels below (kernels/conv_direct.cc), so
    // recycled storage is not zeroed first.
    y = for_overwrite_like_dtype(x.dtype, shape);
    // The fused chain runs as the epilogue when everything is float32 and the residual has the
    // output's shape; otherwise its own operators run after the plain convolution.
    kernels::Epilogue epilogue;
    bool after = false;
    if (chain) {
      const Value* r = chain->fusion->residual ? in[3] : nullptr;
      after = x.dtype != DType::kFloat32 ||
              (chain->fusion->residual && (!r || r->dtype != DType::kFloat32 || r->shape != shape ||
                                           r->stored() != r->numel()));
      if (!after) {
        epilogue = chain->fusion->activation;
        epilogue.scale = chain->scale.empty() ? nullptr : chain->scale.data();
        epilogue.shift = chain->shift.empty() ? nullptr : chain->shift.data();
        epilogue.post_scale = chain->post_scale.empty() ? nullptr : chain->post_scale.data();
        epilogue.post_shift = chain->post_shift.empty() ? nullptr : chain->post_shift.data();
        epilogue.residual = r ? r->f.data() : nullptr;
      }
    }
    if (weight.sparse.codebook) {
      kernels::conv_codebook_csr(p, x.f.data(), *weight.sparse.codebook, bias, y.f.data(),
                                 epilogue, nullptr, chunk_starts.get());
    } else if (weight.sparse.csr) {
      kernels::conv_csr(p, x.f.data(), *weight.sparse.csr, bias, y.f.data(), epilogue, nullptr,
                        chunk_starts.get());
    } else if (packed && packed->matches(p)) {
      kernels::conv_dense(p, x.f.data(), *packed, bias, y.f.data(), epilogue);
    } else {
      kernels::conv_dense(p, x.f.data(), weight.expanded ? weight.expanded->data() : w.f.data(),
                          bias, y.f.data(), epilogue);
    }
    if (after) {
      fit_to_dtype(&y);
      DEEPCOMP_RETURN_IF_ERROR(chain->run_ops(in, &y));
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace deepcomp::runtime::ops
