// The integer operators on their sparse kernels (kernels/int_products.h, chosen by
// SessionOptions::sparse_from_dense / int_sparse_weights) against the dense path and against a
// direct int64 evaluation of the ONNX definition written here: random shapes, groups, strides,
// pads, dilations, per-channel and scalar zero points, weights mostly equal to their zero point
// with ragged and empty rows; bit for bit, including int32 wrap-around.
#include <gtest/gtest.h>

#include <random>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::GraphBuilder;

Tensor int8_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape,
                   const std::vector<int64_t>& v) {
  Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  for (int64_t x : v) t.raw.push_back(static_cast<char>(static_cast<uint8_t>(x & 0xFF)));
  return t;
}

void add_initializer(Model* m, Tensor t) {
  m->graph.initializers.push_back(t.name);
  m->tensors.push_back(std::move(t));
}

Value typed(DType dtype, std::vector<int64_t> shape, std::vector<int64_t> v) {
  Value x = Value::ints(std::move(shape), std::move(v));
  x.dtype = dtype;
  return x;
}

int64_t lo_of(DType d) { return d == DType::kInt8 ? -128 : 0; }

// Weight codes: each row (output channel) empty (all zero point), dense, or sparse at a random
// density, so the sparse form has ragged and empty rows.
std::vector<int64_t> sparse_codes(std::mt19937& rng, DType d, int64_t rows, int64_t per_row,
                                  const std::vector<int64_t>& zp) {
  std::uniform_int_distribution<int64_t> code(lo_of(d), lo_of(d) + 255);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int64_t> w(static_cast<size_t>(rows * per_row));
  for (int64_t r = 0; r < rows; ++r) {
    const double kind = u(rng);
    const double density = kind < 0.2 ? 0.0 : kind < 0.3 ? 1.0 : u(rng) * 0.5;
    for (int64_t k = 0; k < per_row; ++k)
      w[r * per_row + k] = u(rng) < density ? code(rng) : zp[zp.size() == 1 ? 0 : r];
  }
  return w;
}

struct ConvCase {
  int64_t n, c, m, group, h, w, kh, kw, sh, sw, dh, dw, ph, pw;
  DType xd, wd;
  bool per_channel;
};

// ONNX ConvInteger by its definition: sum over (x - zx) * (w - zw[m]), zero padding of x - zx.
std::vector<int64_t> reference_conv(const ConvCase& k, const std::vector<int64_t>& x, int64_t zx,
                                    const std::vector<int64_t>& w, const std::vector<int64_t>& zw,
                                    int64_t oh, int64_t ow) {
  const int64_t cg = k.c / k.group, mg = k.m / k.group;
  std::vector<int64_t> y;
  for (int64_t b = 0; b < k.n; ++b)
    for (int64_t mo = 0; mo < k.m; ++mo)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t acc = 0;
          const int64_t gi = mo / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < k.kh; ++a)
              for (int64_t e = 0; e < k.kw; ++e) {
                const int64_t ih = i * k.sh - k.ph + a * k.dh, iw = j * k.sw - k.pw + e * k.dw;
                if (ih < 0 || ih >= k.h || iw < 0 || iw >= k.w) continue;
                const int64_t xv = x[((b * k.c + gi * cg + ci) * k.h + ih) * k.w + iw] - zx;
                const int64_t wv =
                    w[((mo * cg + ci) * k.kh + a) * k.kw + e] - zw[zw.size() == 1 ? 0 : mo];
                acc += xv * wv;
              }
          y.push_back(static_cast<int32_t>(static_cast<uint32_t>(acc)));
        }
  return y;
}

// Runs `m` dense and with every integer weight sparse; both results, and whether the sparse
// session put the weight `weight` on a sparse kernel.
void run_both(const Model& m, const std::vector<Value>& in, const std::string& weight,
              std::vector<Value>* dense, std::vector<Value>* sparse, bool* ran_sparse) {
  auto d = Session::create(m);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto yd = d->run(in);
  ASSERT_TRUE(yd.ok()) << yd.status().message();
  SessionOptions o;
  o.int_sparse_weights.insert(weight);
  auto s = Session::create(m, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto ys = s->run(in);
  ASSERT_TRUE(ys.ok()) << ys.status().message();
  *dense = std::move(*yd);
  *sparse = std::move(*ys);
  *ran_sparse = false;
  for (const LayerKernel& lk : s->layer_kernels())
    if (lk.weight == weight) *ran_sparse = lk.sparse;
  for (const LayerKernel& lk : d->layer_kernels())
    if (lk.weight == weight) EXPECT_FALSE(lk.sparse);
}

TEST(QuantSparse, ConvIntegerAndQLinearConvSparseEqualDenseAndDefinition) {
  std::mt19937 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 40; ++trial) {
    ConvCase k;
    k.group = pick(1, 3);
    k.n = pick(1, 2);
    k.c = k.group * pick(1, 4);
    k.m = k.group * pick(1, 5);
    k.h = pick(1, 9), k.w = pick(1, 9);
    k.kh = pick(1, 3), k.kw = pick(1, 3);
    k.sh = pick(1, 2), k.sw = pick(1, 3);
    k.dh = pick(1, 2), k.dw = pick(1, 2);
    k.ph = pick(0, 2), k.pw = pick(0, 1);
    k.xd = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    k.wd = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    k.per_channel = pick(0, 1);
    const int64_t span_h = k.h + 2 * k.ph - ((k.kh - 1) * k.dh + 1);
    const int64_t span_w = k.w + 2 * k.pw - ((k.kw - 1) * k.dw + 1);
    if (span_h < 0 || span_w < 0) continue;  // the kernel does not fit
    const int64_t oh = span_h / k.sh + 1, ow = span_w / k.sw + 1;
    const int64_t cg = k.c / k.group;
    std::vector<int64_t> zw(k.per_channel ? k.m : 1);
    for (int64_t& z : zw) z = pick(lo_of(k.wd), lo_of(k.wd) + 255);
    const std::vector<int64_t> w = sparse_codes(rng, k.wd, k.m, cg * k.kh * k.kw, zw);
    std::vector<int64_t> x(static_cast<size_t>(k.n * k.c * k.h * k.w));
    for (int64_t& v : x) v = pick(lo_of(k.xd), lo_of(k.xd) + 255);
    const int64_t zx = pick(lo_of(k.xd), lo_of(k.xd) + 255);
    const std::vector<Attribute> attrs = {
        attr_i("group", k.group), attr_ints("strides", {k.sh, k.sw}),
        attr_ints("dilations", {k.dh, k.dw}), attr_ints("pads", {k.ph, k.pw, k.ph, k.pw})};
    const std::vector<int64_t> zshape =
        k.per_channel ? std::vector<int64_t>{k.m} : std::vector<int64_t>{};
    const std::string what = "trial " + std::to_string(trial);

    // ConvInteger against the definition.
    GraphBuilder b;
    b.input("x", k.xd).input("zx", k.xd).node("ConvInteger", {"x", "w", "zx", "zw"}, {"y"}, attrs);
    b.output("y");
    Model m = b.model();
    add_initializer(&m, int8_tensor("w", k.wd, {k.m, cg, k.kh, k.kw}, w));
    add_initializer(&m, int8_tensor("zw", k.wd, zshape, zw));
    const std::vector<Value> in = {typed(k.xd, {k.n, k.c, k.h, k.w}, x), typed(k.xd, {}, {zx})};
    std::vector<Value> dense, sparse;
    bool ran_sparse = false;
    ASSERT_NO_FATAL_FAILURE(run_both(m, in, "w", &dense, &sparse, &ran_sparse));
    EXPECT_TRUE(ran_sparse) << what;
    const std::vector<int64_t> want = reference_conv(k, x, zx, w, zw, oh, ow);
    EXPECT_EQ(dense[0].i, want) << what;
    EXPECT_EQ(sparse[0].i, want) << what;
    EXPECT_EQ(sparse[0].shape, (std::vector<int64_t>{k.n, k.m, oh, ow})) << what;

    // QLinearConv: the requantized outputs of both kernels are equal.
    GraphBuilder q;
    q.input("x", k.xd).node("QLinearConv", {"x", "xs", "zx", "w", "ws", "zw", "ys", "zy", "bias"},
                            {"y"}, attrs);
    q.output("y");
    Model qm = q.model();
    add_initializer(&qm, int8_tensor("w", k.wd, {k.m, cg, k.kh, k.kw}, w));
    add_initializer(&qm, int8_tensor("zw", k.wd, zshape, zw));
    add_initializer(&qm, int8_tensor("zx", k.xd, {}, {zx}));
    add_initializer(&qm, int8_tensor("zy", DType::kUInt8, {}, {pick(0, 255)}));
    Tensor xs, ws, ys, bias;
    xs.name = "xs", xs.values = {0.02f};
    ws.name = "ws", ws.shape = zshape;
    for (size_t c = 0; c < zw.size(); ++c) ws.values.push_back(0.001f * (1 + c % 5));
    ys.name = "ys", ys.values = {0.05f};
    bias.name = "bias", bias.dtype = DType::kInt32, bias.shape = {k.m};
    for (int64_t c = 0; c < k.m; ++c) {
      const int32_t v = static_cast<int32_t>(pick(-5000, 5000));
      bias.raw.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    for (Tensor* t : {&xs, &ws, &ys, &bias}) add_initializer(&qm, *t);
    ASSERT_NO_FATAL_FAILURE(
        run_both(qm, {typed(k.xd, {k.n, k.c, k.h, k.w}, x)}, "w", &dense, &sparse, &ran_sparse));
    EXPECT_TRUE(ran_sparse) << what;
    EXPECT_EQ(dense[0].i, sparse[0].i) << what;
    EXPECT_EQ(dense[0].dtype, DType::kUInt8);
  }
}

TEST(QuantSparse, MatMulIntegerAndQLinearMatMulSparseEqualDenseAndDefinition) {
  std::mt19937 rng(11);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t batch = pick(0, 2), rows = pick(1, 6), kdim = pick(1, 40), n = pick(1, 12);
    const DType ad = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    const DType bd = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    const bool per_col = pick(0, 1);
    std::vector<int64_t> zb(per_col ? n : 1);
    for (int64_t& z : zb) z = pick(lo_of(bd), lo_of(bd) + 255);
    // B is [K, N]; sparse_codes makes rows of B^T (columns of B), transposed here.
    const std::vector<int64_t> bt = sparse_codes(rng, bd, n, kdim, zb);
    std::vector<int64_t> bw(static_cast<size_t>(kdim * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < kdim; ++k) bw[k * n + j] = bt[j * kdim + k];
    std::vector<int64_t> ashape = {rows, kdim};
    if (batch > 0) ashape.insert(ashape.begin(), batch);
    if (trial % 7 == 0) ashape = {kdim};  // 1-D A
    int64_t count = 1;
    for (int64_t d : ashape) count *= d;
    std::vector<int64_t> a(static_cast<size_t>(count));
    const int64_t za = pick(lo_of(ad), lo_of(ad) + 255);
    // Odd trials: A mostly at its zero point (as ReLU outputs are), which the dense path runs on
    // the loop over A's nonzeros instead of the GEMM.
    for (int64_t& v : a) v = trial % 2 && pick(0, 9) < 8 ? za : pick(lo_of(ad), lo_of(ad) + 255);
    const std::vector<int64_t> zshape = per_col ? std::vector<int64_t>{n} : std::vector<int64_t>{};
    const std::string what = "trial " + std::to_string(trial);

    GraphBuilder g;
    g.input("a", ad).input("za", ad).node("MatMulInteger", {"a", "b", "za", "zb"}, {"y"});
    g.output("y");
    Model m = g.model();
    add_initializer(&m, int8_tensor("b", bd, {kdim, n}, bw));
    add_initializer(&m, int8_tensor("zb", bd, zshape, zb));
    std::vector<Value> dense, sparse;
    bool ran_sparse = false;
    ASSERT_NO_FATAL_FAILURE(run_both(m, {typed(ad, ashape, a), typed(ad, {}, {za})}, "b", &dense,
                                     &sparse, &ran_sparse));
    EXPECT_TRUE(ran_sparse) << what;
    std::vector<int64_t> want;
    for (int64_t r = 0; r < count / kdim; ++r)
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t k = 0; k < kdim; ++k)
          acc += (a[r * kdim + k] - za) * (bw[k * n + j] - zb[per_col ? j : 0]);
        want.push_back(static_cast<int32_t>(acc));
      }
    EXPECT_EQ(dense[0].i, want) << what;
    EXPECT_EQ(sparse[0].i, want) << what;
    EXPECT_EQ(dense[0].shape, sparse[0].shape) << what;

    GraphBuilder q;
    q.input("a", ad).node("QLinearMatMul", {"a", "as", "za", "b", "bs", "zb", "ys", "zy"}, {"y"});
    q.output("y");
    Model qm = q.model();
    add_initializer(&qm, int8_tensor("b", bd, {kdim, n}, bw));
    add_initializer(&qm, int8_tensor("zb", bd, zshape, zb));
    add_initializer(&qm, int8_tensor("za", ad, {}, {za}));
    add_initializer(&qm, int8_tensor("zy", DType::kInt8, {}, {pick(-128, 127)}));
    Tensor as, bs, ys;
    as.name = "as", as.values = {0.03f};
    bs.name = "bs", bs.shape = zshape;
    for (size_t j = 0; j < zb.size(); ++j) bs.values.push_back(0.002f * (1 + j % 3));
    ys.name = "ys", ys.values = {0.5f};
    for (Tensor* t : {&as, &bs, &ys}) add_initializer(&qm, *t);
    ASSERT_NO_FATAL_FAILURE(
        run_both(qm, {typed(ad, ashape, a)}, "b", &dense, &sparse, &ran_sparse));
    EXPECT_TRUE(ran_sparse) << what;
    EXPECT_EQ(dense[0].i, sparse[0].i) << what;
    EXPECT_EQ(dense[0].shape, sparse[0].shape) << what;
  }
}

// 40,000 products of 255 x 255 sum to 2,601,000,000 > 2^31 - 1: the int32 result wraps, on the
// dense GEMM and the sparse kernel alike.
TEST(QuantSparse, ConvIntegerWrapsAtThirtyTwoBits) {
  const int64_t c = 40000;
  GraphBuilder b;
  b.input("x", DType::kUInt8).node("ConvInteger", {"x", "w"}, {"y"});
  b.output("y");
  Model m = b.model();
  add_initializer(&m, int8_tensor("w", DType::kUInt8, {1, c, 1, 1},
                                  std::vector<int64_t>(static_cast<size_t>(c), 255)));
  std::vector<Value> dense, sparse;
  bool ran_sparse = false;
  ASSERT_NO_FATAL_FAILURE(run_both(
      m, {typed(DType::kUInt8, {1, c, 1, 1}, std::vector<int64_t>(static_cast<size_t>(c), 255))},
      "w", &dense, &sparse, &ran_sparse));
  const int64_t want = static_cast<int32_t>(static_cast<uint32_t>(int64_t{255} * 255 * c));
  EXPECT_LT(want, 0);
  EXPECT_EQ(dense[0].i, (std::vector<int64_t>{want}));
  EXPECT_EQ(sparse[0].i, (std::vector<int64_t>{want}));
}

}  // namespace
}  // namespace deepcomp::runtime
