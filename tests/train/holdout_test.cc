// train::split_holdout: the held-out part is a seeded 10% of the training set, disjoint from the
// part that trains, the two together are the whole set, and it is reproducible for a seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "train/retrain.h"

namespace deepcomp::train {
namespace {

// Sample i holds the values (i, -i) and label i % 7, so every sample is identifiable.
Dataset numbered(int64_t n) {
  Dataset d;
  d.n = n;
  d.sample = 2;
  for (int64_t i = 0; i < n; ++i) {
    d.x.push_back(static_cast<float>(i));
    d.x.push_back(static_cast<float>(-i));
    d.labels.push_back(static_cast<int32_t>(i % 7));
  }
  return d;
}

std::vector<int64_t> ids(const Dataset& d) {
  std::vector<int64_t> out;
  for (int64_t k = 0; k < d.n; ++k) {
    EXPECT_EQ(d.x[static_cast<size_t>(2 * k + 1)], -d.x[static_cast<size_t>(2 * k)]);
    const int64_t i = static_cast<int64_t>(d.x[static_cast<size_t>(2 * k)]);
    EXPECT_EQ(d.labels[static_cast<size_t>(k)], i % 7);
    out.push_back(i);
  }
  return out;
}

TEST(Holdout, SeededDisjointAndComplete) {
  const Dataset all = numbered(1005);
  Dataset train, held;
  ASSERT_TRUE(split_holdout(all, 0.1, 3, &train, &held).ok());
  EXPECT_EQ(held.n, 100);  // floor(1005 * 0.1)
  EXPECT_EQ(train.n, 905);
  const std::vector<int64_t> h = ids(held), t = ids(train);
  EXPECT_TRUE(std::is_sorted(h.begin(), h.end()));
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  std::set<int64_t> both(h.begin(), h.end());
  both.insert(t.begin(), t.end());
  EXPECT_EQ(both.size(), 1005u);  // disjoint and complete
  // The held-out samples are the first 100 of epoch_order(n, seed, 0).
  std::vector<int64_t> expected = epoch_order(1005, 3, 0);
  expected.resize(100);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(h, expected);
  // Same seed, same split; another seed, another split.
  Dataset train2, held2;
  ASSERT_TRUE(split_holdout(all, 0.1, 3, &train2, &held2).ok());
  EXPECT_EQ(ids(held2), h);
  ASSERT_TRUE(split_holdout(all, 0.1, 4, &train2, &held2).ok());
  EXPECT_NE(ids(held2), h);
  // Not simply the first or last samples.
  EXPECT_GT(h.back() - h.front(), 500);
}

TEST(Holdout, TooSmallOrBadFraction) {
  Dataset train, held;
  EXPECT_FALSE(split_holdout(numbered(1), 0.1, 0, &train, &held).ok());
  EXPECT_FALSE(split_holdout(numbered(100), 0.0, 0, &train, &held).ok());
  EXPECT_FALSE(split_holdout(numbered(100), 1.0, 0, &train, &held).ok());
  ASSERT_TRUE(split_holdout(numbered(2), 0.1, 0, &train, &held).ok());
  EXPECT_EQ(held.n, 1);  // at least one sample
  EXPECT_EQ(train.n, 1);
}

}  // namespace
}  // namespace deepcomp::train
