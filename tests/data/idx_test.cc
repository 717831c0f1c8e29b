#include "data/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "tests/test_util.h"

namespace deepcomp::data {
namespace {

using deepcomp::testing::temp_dir;
using deepcomp::testing::write_text;

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  s[0] = static_cast<char>(v >> 24);
  s[1] = static_cast<char>(v >> 16);
  s[2] = static_cast<char>(v >> 8);
  s[3] = static_cast<char>(v);
  return s;
}

std::string gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Two 2x3 uint8 images with known pixels.
std::string tiny_images() {
  std::string s = be32(0x00000803) + be32(2) + be32(2) + be32(3);
  for (int i = 0; i < 12; ++i) s += static_cast<char>(i * 20);
  return s;
}

TEST(Idx, ReadsPlainAndGzippedImages) {
  const std::string dir = temp_dir();
  write_text(dir + "/img", tiny_images());
  write_text(dir + "/img.gz", gzip(tiny_images()));
  for (const char* name : {"/img", "/img.gz"}) {
    auto a = read_idx(dir + name);
    ASSERT_TRUE(a.ok()) << a.status().message();
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(a->samples(), 2);
    EXPECT_EQ(a->sample_size(), 6);
    EXPECT_EQ(a->values[0], 0.0f);
    EXPECT_EQ(a->values[11], 220.0f);
  }
}

TEST(Idx, ReadsSharedMnistWithKnownClassCounts) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string dir = deepcomp::testing::shared_dir() + "/data/mnist/";
  auto images = read_idx(dir + "images-idx3-ubyte.gz");
  auto labels = read_idx(dir + "labels-idx1-ubyte.gz");
  ASSERT_TRUE(images.ok()) << images.status().message();
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ(images->shape, (std::vector<int64_t>{10000, 28, 28}));
  // Class counts from ../shared/data/README.md.
  const int expected[10] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  int counts[10] = {};
  for (float v : labels->values) counts[static_cast<int>(v)]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], expected[c]) << "class " << c;
}

TEST(Idx, RejectsDamagedFiles) {
  const std::string dir = temp_dir();
  const std::string good = tiny_images();
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  } cases[] = {
      {"empty", "", "empty file"},
      {"magic", "\x01\x02\x08\x03" + good.substr(4), "bad magic"},
      {"type", std::string("\0\0\x42\x03", 4) + good.substr(4), "unknown IDX element type"},
      {"truncated", good.substr(0, good.size() - 1), "truncated"},
      {"header", good.substr(0, 9), "truncated IDX header"},
      {"huge", be32(0x00000803) + be32(1000) + be32(1000) + be32(1000), "truncated"},
      {"overflow", be32(0x00000803) + be32(4000000000u) + be32(4000000000u) + be32(4000000000u),
       "more than 2^40 elements"},
      {"trailing", good + "xx", "trailing data"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name;
    write_text(path, c.bytes);
    auto r = read_idx(path);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.name << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << c.name;
  }
  EXPECT_FALSE(read_idx(dir + "/missing").ok());
  EXPECT_FALSE(read_idx(dir).ok());
}

TEST(Npy, RoundTripsFloat32) {
  const std::string path = temp_dir() + "/a.npy";
  std::vector<float> values = {1.5f, -2.0f, 0.0f, 3.25f, 1e-8f, 7.0f};
  write_text(path, npy_bytes({2, 3}, values));
  auto a = read_npy(path);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->values, values);
  // The header is padded so that the data starts on a 64-byte boundary, as NumPy writes it.
  EXPECT_EQ((deepcomp::testing::read_text(path).size() - values.size() * 4) % 64, 0u);
}

TEST(Npy, ReadsSharedReferenceInputs) {
  DEEPCOMP_REQUIRE_SHARED();
  auto a = read_npy(deepcomp::testing::shared_dir() + "/models/reference/mnist-net_256x2.inputs.npy");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->samples(), 8);
  EXPECT_EQ(a->sample_size(), 784);
  for (float v : a->values) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

TEST(Npy, RejectsDamagedFiles) {
  const std::string dir = temp_dir();
  std::string good = npy_bytes({2, 3}, std::vector<float>(6, 1.0f));
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  std::string bigendian = good;
  bigendian.replace(bigendian.find("<f4"), 3, ">f4");
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  } cases[] = {
      {"empty", "", "empty file"},
      {"magic", "NOTNUMPY" + good.substr(8), "bad magic"},
      {"truncated", good.substr(0, good.size() - 3), "truncated"},
      {"fortran", fortran, "Fortran"},
      {"bigendian", bigendian, "unsupported .npy dtype"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name + ".npy";
    write_text(path, c.bytes);
    auto r = read_npy(path);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace deepcomp::data
