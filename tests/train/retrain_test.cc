// Retraining through the compress pipeline on a small random MLP: masked fine-tuning never revives
// a pruned weight, centroid fine-tuning keeps every decoded weight equal to its cluster's
// (changed) centroid; the trainer rejects ops without a backward pass before any work; the
// trainer's loss gradient matches finite differences end to end; a diverging run is an error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/pipeline.h"
#include "train/retrain.h"

namespace deepcomp::train {
namespace {

Tensor weight(const std::string& name, std::vector<int64_t> shape, TensorRole role,
              std::mt19937_64& rng) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = role;
  std::normal_distribution<float> d(0.0f, 0.3f);
  t.values.resize(static_cast<size_t>(t.numel()));
  for (float& v : t.values) v = d(rng);
  return t;
}

Node node(const std::string& op, std::vector<std::string> in, std::string out) {
  Node n;
  n.name = op + "_" + out;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

// input [N, 12] -> Gemm(transB) 16 -> Relu -> Gemm(transB) 3.
Model small_mlp(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Model m;
  m.tensors = {weight("w1", {16, 12}, TensorRole::kFcWeight, rng),
               weight("b1", {16}, TensorRole::kBias, rng),
               weight("w2", {3, 16}, TensorRole::kFcWeight, rng),
               weight("b2", {3}, TensorRole::kBias, rng)};
  ValueInfo in;
  in.name = "x";
  in.dims = {-1, 12};
  in.has_shape = true;
  m.graph.inputs = {in};
  ValueInfo out;
  out.name = "logits";
  m.graph.outputs = {out};
  Node g1 = node("Gemm", {"x", "w1", "b1"}, "h");
  Attribute tb;
  tb.name = "transB";
  tb.type = Attribute::Type::kInt;
  tb.i = 1;
  g1.attributes = {tb};
  Node g2 = node("Gemm", {"r", "w2", "b2"}, "logits");
  g2.attributes = {tb};
  m.graph.nodes = {g1, node("Relu", {"h"}, "r"), g2};
  return m;
}

// Labels from a fixed random linear teacher, so the task is learnable.
Dataset teacher_data(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  Dataset data;
  data.n = n;
  data.sample = 12;
  std::vector<float> teacher(36);
  for (float& v : teacher) v = d(rng);
  data.x.resize(static_cast<size_t>(n * 12));
  for (float& v : data.x) v = d(rng);
  for (int64_t i = 0; i < n; ++i) {
    int best = 0;
    float best_v = -1e30f;
    for (int c = 0; c < 3; ++c) {
      float s = 0;
      for (int k = 0; k < 12; ++k) s += teacher[c * 12 + k] * data.x[static_cast<size_t>(i * 12 + k)];
      if (s > best_v) best_v = s, best = c;
    }
    data.labels.push_back(best);
  }
  return data;
}

TEST(TrainerGradient, LossGradientMatchesFiniteDifferencesAcrossChunks) {
  Model m = small_mlp(1);
  auto trainer = Trainer::create(m);
  ASSERT_TRUE(trainer.ok()) << trainer.status().message();
  Dataset d = teacher_data(37, 2);  // 37 > kChunk: several chunks, one partial
  std::vector<std::vector<float>> grads;
  auto r = (*trainer)->gradients(m, d.x.data(), d.labels.data(), d.n, &grads);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*trainer)->params().size(), 4u);
  for (size_t p = 0; p < 4; ++p) {
    std::vector<float>& w = m.tensors[(*trainer)->params()[p]].values;
    for (size_t k = 0; k < w.size(); k += 11) {
      const float saved = w[k], h = 1e-3f;
      std::vector<std::vector<float>> unused;
      w[k] = saved + h;
      const double up = (*trainer)->gradients(m, d.x.data(), d.labels.data(), d.n, &unused)->loss;
      w[k] = saved - h;
      const double down = (*trainer)->gradients(m, d.x.data(), d.labels.data(), d.n, &unused)->loss;
      w[k] = saved;
      EXPECT_NEAR(grads[p][k], (up - down) / (2 * h), 1e-3) << "param " << p << " element " << k;
    }
  }
}

TEST(TrainerCreate, NamesTheNodeWithoutABackwardPassBeforeAnyWork) {
  Model m = small_mlp(1);
  m.graph.nodes.push_back(node("Softmax", {"logits"}, "probs"));
  m.graph.nodes.back().name = "final_softmax";
  auto trainer = Trainer::create(m);
  ASSERT_FALSE(trainer.ok());
  EXPECT_NE(trainer.status().message().find("final_softmax"), std::string::npos);
  EXPECT_NE(trainer.status().message().find("Softmax"), std::string::npos);
}

struct RetrainRun {
  compress::CompressOutput out;
  AccuracyLog acc;
};

RetrainRun compress_with_retraining(double lr, int epochs, int prune_steps = 1) {
  Model m = small_mlp(3);
  auto trainer = Trainer::create(m);
  EXPECT_TRUE(trainer.ok());
  Dataset data = teacher_data(400, 4);
  RetrainOptions options;
  options.optim.lr = lr;
  options.optim.batch = 32;
  options.epochs_prune = epochs;
  options.epochs_share = epochs;
  Retrainer tuner(**trainer, data, data, options);
  compress::CompressOptions c;
  c.prune_fc = 0.7;
  c.bits_fc = 2;
  c.tuner = &tuner;
  c.prune_steps = prune_steps;
  auto out = compress::compress_model(m, c);
  RetrainRun run;
  if (!out.ok()) {
    ADD_FAILURE() << out.status().message();
    return run;
  }
  run.out = std::move(*out);
  run.acc = tuner.accuracy();
  return run;
}

TEST(Retrain, PrunedWeightsStayZeroAndDecodedWeightsEqualTheirCentroids) {
  Model original = small_mlp(3);
  RetrainRun run = compress_with_retraining(0.05, 3);
  ASSERT_EQ(run.out.container.tensors.size(), 4u);
  for (size_t i : {0u, 2u}) {
    const Tensor& src = original.tensors[i];
    auto sparse = compress::decode_sparse(run.out.container.tensors[i]);
    ASSERT_TRUE(sparse.ok());
    // No revived weight: the stored positions are a subset of the original top 30% magnitudes.
    std::vector<float> mags;
    for (float v : src.values) mags.push_back(std::fabs(v));
    std::vector<float> sorted = mags;
    std::sort(sorted.begin(), sorted.end());
    const float cut = sorted[static_cast<size_t>(0.7 * static_cast<double>(sorted.size())) - 1];
    EXPECT_LE(static_cast<double>(sparse->positions.size()), 0.3 * static_cast<double>(src.values.size()) + 1);
    for (int64_t p : sparse->positions) EXPECT_GT(mags[static_cast<size_t>(p)], cut) << src.name;
    auto dense = compress::decode_tensor(run.out.container.tensors[i]);
    ASSERT_TRUE(dense.ok());
    size_t next = 0;
    for (size_t k = 0; k < dense->values.size(); ++k) {
      if (next < sparse->positions.size() && sparse->positions[next] == static_cast<int64_t>(k)) {
        EXPECT_EQ(dense->values[k], sparse->codebook[sparse->clusters[next]]);
        ++next;
      } else {
        EXPECT_EQ(dense->values[k], 0.0f) << src.name << " element " << k << " revived";
      }
    }
    EXPECT_LE(sparse->codebook.size(), 4u);
  }
  // Retraining helps on this learnable task, and the log has every stage.
  ASSERT_TRUE(run.acc.after_prune && run.acc.after_prune_retrain && run.acc.after_share &&
              run.acc.after_share_retrain);
  EXPECT_GE(*run.acc.after_prune_retrain, *run.acc.after_prune);
}

TEST(Retrain, CentroidFineTuningMovesTheCodebook) {
  RetrainRun a = compress_with_retraining(0.05, 1, 2);
  Model m = small_mlp(3);
  compress::CompressOptions c;
  c.prune_fc = 0.7;
  c.bits_fc = 2;
  auto plain = compress::compress_model(m, c);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(a.out.container.tensors[2].codebook, plain->container.tensors[2].codebook);
}

TEST(Retrain, DivergingLossIsAnErrorAndNoOutput) {
  Model m = small_mlp(3);
  auto trainer = Trainer::create(m);
  ASSERT_TRUE(trainer.ok());
  Dataset data = teacher_data(64, 4);
  RetrainOptions options;
  options.optim.lr = 1e30;
  Retrainer tuner(**trainer, data, data, options);
  compress::CompressOptions c;
  c.tuner = &tuner;
  auto out = compress::compress_model(m, c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("diverged"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace deepcomp::train
