// Typed .npy reading and writing, and .npz archives: hand-built files, round trips, and NumPy
// itself (np.save files read by deepcomp, deepcomp's .npz read by np.load) when python3 with
// numpy is available ($PYTHON, else Debian's /usr/bin/python3, else python3 on PATH).
#include "data/npy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "data/idx.h"
#include "data/npz.h"
#include "tests/test_util.h"

namespace deepcomp::data {
namespace {

using deepcomp::testing::temp_dir;
using deepcomp::testing::write_text;

// A version 1.0 .npy with the given header dict and raw data, as NumPy lays it out.
std::string npy_file(const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

std::string python() {
  const char* env = std::getenv("PYTHON");
  // Debian's python3 (where install-deps.sh puts numpy) before whatever python3 PATH finds.
  if (env && *env) return env;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

bool have_numpy() {
  return deepcomp::testing::run_command(python() + " -c 'import numpy'").exit_code == 0;
}

TEST(NpyTyped, ReadsInt64ScalarBoolAndFloat16WithTheirDtypes) {
  const std::string dir = temp_dir();
  write_text(dir + "/s.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                                      raw<int64_t>({int64_t{1} << 40})));
  write_text(dir + "/b.npy", npy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                                      std::string("\x01\x00\x01", 3)));
  // 0x3C00 = 1.0, 0xC000 = -2.0, 0x3555 = 0.333251953125 in IEEE half precision.
  write_text(dir + "/h.npy", npy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 3), }",
                                      raw<uint16_t>({0x3C00, 0xC000, 0x3555})));
  write_text(dir + "/u.npy", npy_file("{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }",
                                      raw<uint32_t>({4000000000u, 7u})));
  auto s = read_npy_typed(dir + "/s.npy");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->dtype, DType::kInt64);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->numel(), 1);
  EXPECT_EQ(s->i, (std::vector<int64_t>{int64_t{1} << 40}));  // exact: no trip through float
  auto b = read_npy_typed(dir + "/b.npy");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->dtype, DType::kBool);
  EXPECT_EQ(b->i, (std::vector<int64_t>{1, 0, 1}));
  auto h = read_npy_typed(dir + "/h.npy");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->dtype, DType::kFloat16);
  EXPECT_EQ(h->shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(h->f, (std::vector<float>{1.0f, -2.0f, 0.333251953125f}));
  auto u = read_npy_typed(dir + "/u.npy");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->dtype, DType::kUInt32);
  EXPECT_EQ(u->i, (std::vector<int64_t>{4000000000LL, 7}));
  // The float reader keeps treating a scalar as one sample of one value.
  auto widened = read_npy(dir + "/s.npy");
  ASSERT_TRUE(widened.ok());
  EXPECT_EQ(widened->shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(widened->values[0], 1099511627776.0f);
}

TEST(NpyTyped, WritesEachDtypeAsNumPyLaysItOut) {
  TypedArray a;
  a.dtype = DType::kInt32;
  a.shape = {2};
  a.i = {-1, 70000};
  auto bytes = npy_bytes_typed(a);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                             raw<int32_t>({-1, 70000})));
  TypedArray scalar;
  scalar.dtype = DType::kFloat64;
  scalar.f = {0.5f};
  bytes = npy_bytes_typed(scalar);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                             raw<double>({0.5})));
  TypedArray half;
  half.dtype = DType::kFloat16;
  half.shape = {1};
  half.f = {-2.0f};
  bytes = npy_bytes_typed(half);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, npy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
                             raw<uint16_t>({0xC000})));
  TypedArray bf;
  bf.dtype = DType::kBFloat16;
  bf.shape = {1};
  bf.f = {1.5f};
  bytes = npy_bytes_typed(bf);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                             raw<float>({1.5f})));
  TypedArray wrong;
  wrong.dtype = DType::kInt64;
  wrong.shape = {3};
  wrong.i = {1};
  EXPECT_FALSE(npy_bytes_typed(wrong).ok());
}

TEST(NpyTyped, RoundTripsEveryNumericDtype) {
  const std::string dir = temp_dir();
  const DType dtypes[] = {DType::kInt8,  DType::kInt16,   DType::kInt32,   DType::kInt64,
                          DType::kUInt8, DType::kUInt16,  DType::kUInt32,  DType::kUInt64,
                          DType::kBool,  DType::kFloat16, DType::kFloat32, DType::kFloat64};
  for (DType dtype : dtypes) {
    SCOPED_TRACE(dtype_name(dtype));
    TypedArray a;
    a.dtype = dtype;
    a.shape = {2, 2};
    if (is_float_dtype(dtype)) {
      a.f = {0.5f, -1.25f, 3.0f, 0.0f};
    } else if (dtype == DType::kBool) {
      a.i = {1, 0, 0, 1};
    } else {
      a.i = {0, 1, 100, 127};
    }
    auto bytes = npy_bytes_typed(a);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    write_text(dir + "/a.npy", *bytes);
    auto back = read_npy_typed(dir + "/a.npy");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->dtype, dtype);
    EXPECT_EQ(back->shape, a.shape);
    EXPECT_EQ(back->f, a.f);
    EXPECT_EQ(back->i, a.i);
  }
}

TEST(NpyTyped, RejectsBigEndianAndUnknownDtypesNamingTheFile) {
  const std::string dir = temp_dir();
  write_text(dir + "/be.npy", npy_file("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }",
                                       std::string(4, '\0')));
  write_text(dir + "/c.npy", npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                      std::string(8, '\0')));
  write_text(
      dir + "/short.npy",
      npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", std::string(16, '\0')));
  for (const char* name : {"/be.npy", "/c.npy", "/short.npy"}) {
    auto r = read_npy_typed(dir + name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(name + 1), std::string::npos) << r.status().message();
  }
}

TEST(Npz, MembersAreStoredNpyFilesWithCorrectCrc) {
  TypedArray y, ids;
  y.shape = {2};
  y.f = {1.0f, 2.0f};
  ids.dtype = DType::kInt64;
  ids.i = {42};
  auto zip = npz_bytes({{"y", y}, {"ids", ids}});
  ASSERT_TRUE(zip.ok()) << zip.status().message();
  // "PK\3\4": a local header first, stored method, the 1980-01-01 timestamp.
  EXPECT_EQ(zip->substr(0, 4), std::string("PK\x03\x04", 4));
  auto members = read_stored_zip(*zip);
  ASSERT_TRUE(members.ok()) << members.status().message();
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].first, "y.npy");
  EXPECT_EQ((*members)[0].second, *npy_bytes_typed(y));
  EXPECT_EQ((*members)[1].first, "ids.npy");
  EXPECT_EQ((*members)[1].second, *npy_bytes_typed(ids));
  // A flipped data byte is caught by the CRC: the checksums are real.
  std::string bad = *zip;
  bad[30 + 5 + 70] ^= 0x01;
  EXPECT_FALSE(read_stored_zip(bad).ok());
  EXPECT_FALSE(npz_bytes({{"a", y}, {"a", y}}).ok());
}

TEST(Npz, NumPyLoadsDeepcompArchivesAndDeepcompReadsNumPyFiles) {
  if (!have_numpy()) GTEST_SKIP() << "python3 with numpy is not available (set $PYTHON)";
  const std::string dir = temp_dir();
  TypedArray logits, mask, count, half;
  logits.shape = {2, 3};
  logits.f = {0.5f, -1.0f, 2.0f, 3.5f, 0.0f, -0.25f};
  mask.dtype = DType::kBool;
  mask.shape = {3};
  mask.i = {1, 0, 1};
  count.dtype = DType::kInt64;
  count.i = {-7};
  half.dtype = DType::kFloat16;
  half.shape = {2};
  half.f = {1.0f, -2.0f};
  auto zip = npz_bytes({{"logits", logits}, {"mask", mask}, {"count", count}, {"half/x", half}});
  ASSERT_TRUE(zip.ok());
  write_text(dir + "/out.npz", *zip);
  const std::string script =
      "import numpy as np, sys\n"
      "z = np.load(sys.argv[1])\n"
      "assert sorted(z.files) == ['count', 'half/x', 'logits', 'mask'], z.files\n"
      "assert z['logits'].dtype == np.float32 and z['logits'].shape == (2, 3)\n"
      "assert (z['logits'] == np.array([[0.5, -1, 2], [3.5, 0, -0.25]], np.float32)).all()\n"
      "assert z['mask'].dtype == np.bool_ and list(z['mask']) == [True, False, True]\n"
      "assert z['count'].dtype == np.int64 and z['count'].shape == () and z['count'] == -7\n"
      "assert z['half/x'].dtype == np.float16 and list(z['half/x']) == [1.0, -2.0]\n"
      "np.save(sys.argv[2] + '/i32.npy', np.array([[1, -2], [3, 2**31 - 1]], np.int32))\n"
      "np.save(sys.argv[2] + '/u8.npy', np.arange(5, dtype=np.uint8) * 60)\n"
      "np.save(sys.argv[2] + '/f64.npy', np.float64(0.1))\n"
      "np.save(sys.argv[2] + '/b.npy', np.array([False, True]))\n";
  write_text(dir + "/check.py", script);
  auto r =
      deepcomp::testing::run_command(python() + " " + dir + "/check.py " + dir + "/out.npz " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto i32 = read_npy_typed(dir + "/i32.npy");
  ASSERT_TRUE(i32.ok()) << i32.status().message();
  EXPECT_EQ(i32->dtype, DType::kInt32);
  EXPECT_EQ(i32->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(i32->i, (std::vector<int64_t>{1, -2, 3, 2147483647}));
  auto u8 = read_npy_typed(dir + "/u8.npy");
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(u8->dtype, DType::kUInt8);
  EXPECT_EQ(u8->i, (std::vector<int64_t>{0, 60, 120, 180, 240}));
  auto f64 = read_npy_typed(dir + "/f64.npy");
  ASSERT_TRUE(f64.ok());
  EXPECT_EQ(f64->dtype, DType::kFloat64);
  EXPECT_TRUE(f64->shape.empty());
  EXPECT_EQ(f64->f, (std::vector<float>{0.1f}));
  auto b = read_npy_typed(dir + "/b.npy");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype, DType::kBool);
  EXPECT_EQ(b->i, (std::vector<int64_t>{0, 1}));
}

}  // namespace
}  // namespace deepcomp::data
