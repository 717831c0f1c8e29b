// Forms of the indexing operators that ONNX's backend node cases do not cover (reductions
// max/min, batch_dims on floats, int32 data, opset 18 Split, out-of-range behaviour and errors),
// each checked against a hand-worked answer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::attr_s;
using ::testing::ElementsAre;
using testing::GraphBuilder;
using ::testing::HasSubstr;
using testing::single_op;

Result<std::vector<Value>> run_model(const Model& model, std::vector<Value> inputs) {
  DEEPCOMP_ASSIGN_OR_RETURN(Session session, Session::create(model));
  return session.run(inputs);
}

Value run_one(const Model& model, std::vector<Value> inputs) {
  auto out = run_model(model, std::move(inputs));
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out.value()[0] : Value{};
}

std::string run_error(const Model& model, std::vector<Value> inputs) {
  auto out = run_model(model, std::move(inputs));
  EXPECT_FALSE(out.ok());
  return out.ok() ? "" : out.status().message();
}

Value int32s(std::vector<int64_t> shape, std::vector<int64_t> data) {
  Value v = Value::ints(std::move(shape), std::move(data));
  v.dtype = DType::kInt32;
  return v;
}

// A node with `n` outputs y0, y1, ... over inputs x0, x1, ...
Model multi_output(const std::string& op, size_t num_inputs, size_t n, std::vector<Attribute> attrs,
                   int64_t opset) {
  GraphBuilder b(opset);
  std::vector<std::string> ins, outs;
  for (size_t k = 0; k < num_inputs; ++k) {
    ins.push_back("x" + std::to_string(k));
    b.input(ins.back(), DType::kUndefined);
  }
  for (size_t k = 0; k < n; ++k) outs.push_back("y" + std::to_string(k));
  b.node(op, ins, outs, std::move(attrs));
  for (const auto& o : outs) b.output(o);
  return b.model();
}

TEST(IndexOps, ScatterNDMaxAndMinCombineDuplicateIndices) {
  const Value data = Value::floats({4}, {1, 5, 3, 7});
  const Value idx = Value::ints({3, 1}, {1, 1, 3});
  const Value upd = Value::floats({3}, {2, 9, 0});
  Value mx = run_one(single_op("ScatterND", 3, {attr_s("reduction", "max")}, 18), {data, idx, upd});
  EXPECT_THAT(mx.f, ElementsAre(1, 9, 3, 7));
  Value mn = run_one(single_op("ScatterND", 3, {attr_s("reduction", "min")}, 18), {data, idx, upd});
  EXPECT_THAT(mn.f, ElementsAre(1, 2, 3, 0));
}

TEST(IndexOps, ScatterElementsMulReducesIntoEachRow) {
  Model m = single_op("ScatterElements", 3, {attr_i("axis", 1), attr_s("reduction", "mul")}, 16);
  Value y = run_one(m, {Value::ints({2, 2}, {1, 2, 3, 4}), Value::ints({2, 2}, {0, 0, 1, 0}),
                        Value::ints({2, 2}, {2, 3, 5, 7})});
  EXPECT_EQ(y.dtype, DType::kInt64);
  EXPECT_THAT(y.i, ElementsAre(6, 2, 21, 20));
}

TEST(IndexOps, GatherNDBatchDimsOnFloatsWithInt32Indices) {
  Model m = single_op("GatherND", 2, {attr_i("batch_dims", 1)});
  Value data = Value::floats({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Value y = run_one(m, {data, int32s({2, 1}, {1, -2})});
  EXPECT_THAT(y.shape, ElementsAre(2, 2));
  EXPECT_THAT(y.f, ElementsAre(3, 4, 5, 6));  // data[0][1], data[1][0]
}

TEST(IndexOps, GatherElementsIndexOutOfRangeNamesTheInput) {
  Model m = single_op("GatherElements", 2, {attr_i("axis", 1)});
  const std::string msg =
      run_error(m, {Value::floats({2, 2}, {1, 2, 3, 4}), Value::ints({2, 1}, {0, 3})});
  EXPECT_THAT(msg, HasSubstr("(GatherElements)"));
  EXPECT_THAT(msg, HasSubstr("indices: index 3 is out of range for axis 1 of size 2"));
}

TEST(IndexOps, ScatterNDRejectsUpdatesOfTheWrongShape) {
  const std::string msg = run_error(single_op("ScatterND", 3),
                                    {Value::floats({4}, {1, 2, 3, 4}), Value::ints({2, 1}, {0, 1}),
                                     Value::floats({3}, {1, 2, 3})});
  EXPECT_THAT(msg, HasSubstr("updates float32[3] must have shape [2]"));
}

TEST(IndexOps, SplitOpset18NumOutputsLeavesTheLastChunkSmaller) {
  Model m = multi_output("Split", 1, 3, {attr_i("num_outputs", 3)}, 18);
  auto out = run_model(m, {Value::floats({7}, {1, 2, 3, 4, 5, 6, 7})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_THAT((*out)[0].f, ElementsAre(1, 2, 3));
  EXPECT_THAT((*out)[1].f, ElementsAre(4, 5, 6));
  EXPECT_THAT((*out)[2].f, ElementsAre(7));
  // Before opset 18 an uneven split without sizes is an error.
  EXPECT_THAT(
      run_error(multi_output("Split", 1, 3, {}, 13), {Value::floats({7}, {1, 2, 3, 4, 5, 6, 7})}),
      HasSubstr("does not split into 3 parts"));
}

TEST(IndexOps, SplitOpset11TakesSizesFromTheAttribute) {
  Model m = multi_output("Split", 1, 2, {attr_i("axis", 1), attr_ints("split", {1, 2})}, 11);
  auto out = run_model(m, {int32s({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dtype, DType::kInt32);
  EXPECT_THAT((*out)[0].shape, ElementsAre(2, 1));
  EXPECT_THAT((*out)[0].i, ElementsAre(1, 4));
  EXPECT_THAT((*out)[1].i, ElementsAre(2, 3, 5, 6));
}

TEST(IndexOps, OneHotGivesOffValuesForIndicesOutOfRange) {
  Model m = single_op("OneHot", 3);
  Value y =
      run_one(m, {Value::ints({3}, {1, 5, -1}), Value::ints({}, {3}), Value::ints({2}, {0, 7})});
  EXPECT_EQ(y.dtype, DType::kInt64);
  EXPECT_THAT(y.shape, ElementsAre(3, 3));
  EXPECT_THAT(y.i, ElementsAre(0, 7, 0, 0, 0, 0, 0, 0, 7));
}

TEST(IndexOps, TriluKeepsInt32AndWorksPerMatrixOfABatch) {
  Model m = single_op("Trilu", 2, {attr_i("upper", 0)}, 14);
  Value y = run_one(m, {int32s({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), Value::ints({}, {-1})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.i, ElementsAre(0, 0, 3, 0, 0, 0, 7, 0));
}

TEST(IndexOps, RangeCountsCeilingOfSpanOverDelta) {
  Model m = single_op("Range", 3, {}, 11);
  Value down = run_one(m, {Value::ints({}, {10}), Value::ints({}, {4}), Value::ints({}, {-3})});
  EXPECT_THAT(down.i, ElementsAre(10, 7));
  Value empty = run_one(m, {Value::ints({}, {0}), Value::ints({}, {-1}), Value::ints({}, {2})});
  EXPECT_THAT(empty.shape, ElementsAre(0));
  Value f = run_one(m, {Value::floats({}, {1}), Value::floats({}, {2}), Value::floats({}, {0.3f})});
  ASSERT_EQ(f.f.size(), 4u);
  EXPECT_FLOAT_EQ(f.f[3], 1.9f);
  EXPECT_THAT(run_error(m, {Value::ints({}, {0}), Value::ints({}, {5}), Value::ints({}, {0})}),
              HasSubstr("delta must not be 0"));
}

TEST(IndexOps, CompressWithAShortConditionKeepsOnlyItsTrueEntries) {
  Model m = single_op("Compress", 2, {attr_i("axis", 1)}, 11);
  Value y = run_one(m, {Value::floats({2, 3}, {1, 2, 3, 4, 5, 6}), Value::bools({2}, {0, 1})});
  EXPECT_THAT(y.shape, ElementsAre(2, 1));
  EXPECT_THAT(y.f, ElementsAre(2, 5));
}

TEST(IndexOps, NonZeroListsCoordinatesInRowMajorOrder) {
  Value y = run_one(single_op("NonZero", 1), {Value::floats({2, 2}, {0, 1, 2, 0})});
  EXPECT_THAT(y.shape, ElementsAre(2, 2));
  EXPECT_THAT(y.i, ElementsAre(0, 1, 1, 0));
}

TEST(IndexOps, UniqueUnsortedKeepsFirstOccurrenceOrderOnIntegers) {
  Model m = multi_output("Unique", 1, 4, {attr_i("sorted", 0)}, 11);
  auto out = run_model(m, {Value::ints({6}, {4, -1, 4, 7, -1, 4})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_THAT((*out)[0].i, ElementsAre(4, -1, 7));
  EXPECT_THAT((*out)[1].i, ElementsAre(0, 1, 3));
  EXPECT_THAT((*out)[2].i, ElementsAre(0, 1, 0, 2, 1, 0));
  EXPECT_THAT((*out)[3].i, ElementsAre(3, 2, 1));
}

TEST(IndexOps, ReverseSequenceRejectsALengthBeyondTheTimeAxis) {
  Model m = single_op("ReverseSequence", 2, {attr_i("batch_axis", 0), attr_i("time_axis", 1)}, 10);
  EXPECT_THAT(run_error(m, {Value::floats({1, 2}, {1, 2}), Value::ints({1}, {3})}),
              HasSubstr("sequence_lens: length 3 is out of range [0, 2]"));
}

TEST(IndexOps, HostileSizesFailWithAMessageInsteadOfAllocating) {
  EXPECT_THAT(run_error(single_op("OneHot", 3),
                        {Value::ints({4}, {0, 1, 2, 3}), Value::ints({}, {int64_t{1} << 40}),
                         Value::floats({2}, {0, 1})}),
              HasSubstr("too large"));
  EXPECT_THAT(run_error(single_op("Range", 3, {}, 11),
                        {Value::ints({}, {0}), Value::ints({}, {INT64_MAX}), Value::ints({}, {1})}),
              HasSubstr("too large"));
  EXPECT_THAT(run_error(multi_output("Split", 2, 2, {}, 13),
                        {Value::floats({2}, {1, 2}), Value::ints({2}, {INT64_MAX, 1})}),
              HasSubstr("split entry"));
  EXPECT_THAT(run_error(single_op("GatherND", 2),
                        {Value::floats({2}, {1, 2}), Value::ints({1, 2}, {0, 0})}),
              HasSubstr("last dimension must be in [1, 1]"));
}

}  // namespace
}  // namespace deepcomp::runtime
