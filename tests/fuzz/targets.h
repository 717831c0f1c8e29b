// The fuzz targets' bodies, one function per target: each takes arbitrary bytes and returns ""
// when the code under test behaved (accepted the input or rejected it with an error Status), or
// a description of a broken invariant. The libFuzzer drivers (fuzz_*.cc) abort on a non-empty
// answer; tests/reliability/fuzz_regression_test.cc replays tests/fuzz/regressions/<target>/
// through the same functions in the ordinary build. A crash or sanitizer report is a finding too.
// Depends on the deepcomp libraries (compress, onnx_io, data) and the standard library.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "compress/container.h"
#include "compress/huffman.h"
#include "compress/pipeline.h"
#include "compress/relative_index.h"
#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "tests/fuzz/fuzz_input.h"

namespace deepcomp::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// onnx_io::parse_model on arbitrary ModelProto bytes (no external data: base_dir "").
inline std::string onnx_parse_target(const uint8_t* data, size_t size) {
  auto model = onnx_io::parse_model(as_view(data, size), "fuzz.onnx", "");
  if (model.ok()) {
    for (const Tensor& t : model->tensors) {
      if (t.numel() < 0) return "tensor '" + t.name + "' has a negative element count";
      const bool is_float = !t.values.empty();
      if (is_float && t.values.size() != static_cast<size_t>(t.numel()))
        return "tensor '" + t.name + "': values.size() != numel";
    }
  } else if (model.status().message().empty()) {
    return "error without a message";
  }
  return "";
}

// compress::parse_container and list_sections on arbitrary bytes; every tensor of an accepted
// container is decoded (every section kind's payload is then exercised).
inline std::string container_target(const uint8_t* data, size_t size) {
  const std::string_view bytes = as_view(data, size);
  auto container = compress::parse_container(bytes, "fuzz.dcz");
  auto sections = compress::list_sections(bytes, "fuzz.dcz");
  if (container.ok() != sections.ok()) return "parse_container and list_sections disagree";
  if (!container.ok()) return "";
  for (const compress::SectionInfo& s : *sections) {
    if (s.offset + s.length > size) return "section '" + s.kind + "' extends past the end";
  }
  for (const compress::EncodedTensor& t : container->tensors) {
    auto decoded = compress::decode_tensor(t);
    if (!decoded.ok()) continue;  // the container checks structure; decoding may still refuse
    if (decoded->numel() < 0) return "negative numel from '" + t.name + "'";
  }
  // An accepted container must serialize again (reader-accepted implies writer-accepted).
  auto again = compress::serialize_container(*container);
  if (!again.ok()) return "accepted container fails to serialize: " + again.status().message();
  return "";
}

// compress::decode_stream on a SymbolStream built from the bytes: a mode byte (Huffman or fixed),
// alphabet size, count, then code lengths or the fixed width, then the packed bits.
inline std::string symbol_stream_target(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  compress::SymbolStream stream;
  const uint8_t mode = in.take<uint8_t>();
  stream.alphabet_size = in.take<uint16_t>() % 1025;
  // Counts far beyond the bits present must be refused before anything is allocated.
  const uint32_t count_raw = in.take<uint32_t>();
  stream.count = (mode & 2) ? count_raw : count_raw % 4096;
  if (mode & 1) {
    stream.code_lengths.resize(in.take<uint16_t>() % 1025);
    for (uint8_t& len : stream.code_lengths) len = in.take<uint8_t>() % 40;
  } else {
    stream.fixed_bits = in.take<uint8_t>();
  }
  stream.bits = in.rest();
  std::vector<uint32_t> out;
  Status s = compress::decode_stream(stream, &out);
  if (!s.ok()) return "";
  if (out.size() != stream.count) return "decoded count differs from the declared count";
  for (uint32_t sym : out)
    if (sym >= stream.alphabet_size) return "decoded symbol outside the alphabet";
  // A valid stream re-encodes to the same bits: fixed streams through fixed_encode, Huffman
  // streams by writing each canonical code MSB first into an LSB-first stream (huffman.h).
  // (An empty stream is accepted whatever its width: there is nothing to re-encode.)
  if (stream.count == 0) return "";
  std::string again;
  if (stream.code_lengths.empty()) {
    auto fixed = compress::fixed_encode(out, stream.alphabet_size, stream.fixed_bits);
    if (!fixed.ok()) return "fixed_encode refuses what decode_stream accepted";
    again = fixed->bits;
  } else {
    auto codes = compress::canonical_codes(stream.code_lengths);
    if (!codes.ok()) return "canonical_codes refuses lengths decode_stream accepted";
    uint64_t nbits = 0;
    for (uint32_t sym : out) {
      const int len = stream.code_lengths[sym];
      for (int b = len - 1; b >= 0; --b, ++nbits) {
        if (nbits / 8 >= again.size()) again.push_back('\0');
        if (((*codes)[sym] >> b) & 1) again[nbits / 8] |= static_cast<char>(1 << (nbits % 8));
      }
    }
  }
  if (again != stream.bits) return "re-encoding a decoded stream differs";
  return "";
}

// compress::decode_relative_index on codes from the bytes (16-bit each).
inline std::string relative_index_target(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const int bits = static_cast<int>(in.take<uint8_t>() % 20);
  const int64_t numel = static_cast<int64_t>(in.take<uint64_t>() >> (in.take<uint8_t>() % 64));
  const int64_t nnz = static_cast<int64_t>(in.take<uint32_t>());
  std::vector<uint32_t> codes;
  while (in.remaining() >= 2) codes.push_back(in.take<uint16_t>());
  std::vector<int64_t> positions;
  Status s = compress::decode_relative_index(codes, bits, numel, nnz, &positions);
  if (!s.ok()) return "";
  if (static_cast<int64_t>(positions.size()) != nnz) return "position count differs from nnz";
  for (size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] < 0 || positions[i] >= numel) return "position outside [0, numel)";
    if (i > 0 && positions[i] <= positions[i - 1]) return "positions not strictly ascending";
  }
  if (compress::encode_relative_index(positions, bits) != codes)
    return "re-encoding decoded positions differs";
  return "";
}

// data::read_idx and data::read_npy on the bytes, through a file (the readers take paths).
inline std::string array_target(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/deepcomp_fuzz_array_" +
           std::to_string(getpid());
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return "";  // nothing to test without a temp file
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  for (int which = 0; which < 2; ++which) {
    auto array = which == 0 ? data::read_idx(path) : data::read_npy(path);
    if (!array.ok()) continue;
    int64_t numel = 1;
    for (int64_t d : array->shape) {
      if (d < 0) return "negative dimension";
      numel *= d;
    }
    if (static_cast<int64_t>(array->values.size()) != numel) return "values.size() != product of shape";
  }
  std::remove(path.c_str());
  return "";
}

// compress_model on a one-tensor model of floats from the bytes, with settings from the bytes,
// then serialize -> parse -> decode must give exactly what decoding the in-memory result gives,
// and every stored value must be a codebook entry (the shared values).
inline std::string roundtrip_target(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  compress::CompressOptions options;
  const uint8_t flags = in.take<uint8_t>();
  options.prune = (in.take<uint8_t>() % 100) / 100.0;
  options.bits_fc = 1 + in.take<uint8_t>() % 8;
  options.index_bits_fc = 1 + in.take<uint8_t>() % 8;
  options.init = static_cast<compress::KMeansInit>(in.take<uint8_t>() % 5);
  options.iters = 1 + in.take<uint8_t>() % 20;
  options.seed = in.take<uint8_t>();
  options.huffman = flags & 1;
  options.share = !(flags & 2);
  const int64_t cols = 1 + in.take<uint8_t>() % 64;
  Tensor t;
  t.name = "w";
  t.role = TensorRole::kFcWeight;
  bool finite = true;
  while (in.remaining() >= 4 && t.values.size() < 4096) {
    const uint32_t word = in.take<uint32_t>();
    float v;
    std::memcpy(&v, &word, 4);
    finite = finite && std::isfinite(v);
    t.values.push_back(v);
  }
  const int64_t rows = static_cast<int64_t>(t.values.size()) / cols;
  t.values.resize(static_cast<size_t>(rows * cols));
  if (rows == 0) return "";
  finite = true;
  for (float v : t.values) finite = finite && std::isfinite(v);
  t.shape = {rows, cols};
  Model model;
  model.skeleton = "skeleton";
  model.tensors.push_back(t);

  auto out = compress::compress_model(model, options);
  if (!out.ok()) {
    if (finite) return "compress_model refused finite weights: " + out.status().message();
    if (out.status().message().find("'w'") == std::string::npos)
      return "error for non-finite weights does not name the tensor";
    return "";
  }
  if (!finite) return "compress_model accepted NaN/Inf weights";
  auto bytes = compress::serialize_container(out->container);
  if (!bytes.ok()) return "serialize_container failed: " + bytes.status().message();
  auto parsed = compress::parse_container(*bytes, "roundtrip.dcz");
  if (!parsed.ok()) return "parse_container refused its own output: " + parsed.status().message();
  if (parsed->tensors.size() != 1) return "tensor count changed";
  auto before = compress::decode_tensor(out->container.tensors[0]);
  auto after = compress::decode_tensor(parsed->tensors[0]);
  if (!before.ok() || !after.ok()) return "decode_tensor failed";
  if (before->values.size() != t.values.size() || after->values.size() != t.values.size())
    return "decoded element count differs";
  if (std::memcmp(before->values.data(), after->values.data(), t.values.size() * 4) != 0)
    return "decoded values differ after serialize/parse";
  // Lossless tensors (no pruning, no sharing) have no sparse form: decode_sparse refuses them.
  if (parsed->tensors[0].encoding == compress::Encoding::kLossless) return "";
  auto sparse = compress::decode_sparse(parsed->tensors[0]);
  if (!sparse.ok()) return "decode_sparse failed: " + sparse.status().message();
  std::vector<float> dense(t.values.size(), 0.0f);
  for (size_t i = 0; i < sparse->positions.size(); ++i) {
    if (!sparse->codebook.empty()) {
      if (sparse->clusters[i] >= sparse->codebook.size()) return "cluster outside the codebook";
      if (sparse->values[i] != sparse->codebook[sparse->clusters[i]])
        return "stored value is not its codebook entry";
    }
    dense[static_cast<size_t>(sparse->positions[i])] = sparse->values[i];
  }
  if (std::memcmp(dense.data(), after->values.data(), dense.size() * 4) != 0)
    return "decode_tensor differs from the scattered decode_sparse values";
  return "";
}

// The .dcz writer -> reader contract on whole models: an ONNX model that parse_model accepts and
// compress accepts (check_storable on every tensor, compress_model, serialize_container) must be
// read back by what decompress runs: parse_container with every header checked against the
// skeleton's declarations, decode_tensor, model_from_skeleton, then serialize_model. The first
// byte picks the compression settings, the rest is a ModelProto. Models over 2^16 float elements
// are skipped (k-means time, not correctness).
inline std::string dcz_writer_reader_target(const uint8_t* data, size_t size) {
  if (size == 0) return "";
  const uint8_t knobs = data[0];
  auto model = onnx_io::parse_model(as_view(data + 1, size - 1), "fuzz.onnx", "");
  if (!model.ok()) return "";
  uint64_t elements = 0;
  for (const Tensor& t : model->tensors) {
    if (!compress::check_storable(t).ok()) return "";  // compress refuses it up front
    elements += t.values.size();
  }
  if (elements > (1u << 16)) return "";
  compress::CompressOptions options;
  options.prune = (knobs & 3) * 0.3;
  options.bits_fc = options.bits_conv = 1 + ((knobs >> 2) & 3);
  options.huffman = knobs & 16;
  options.share = !(knobs & 32);
  options.iters = 2;
  auto out = compress::compress_model(*model, options);
  if (!out.ok()) return "";  // e.g. NaN weights: refused with a message
  auto bytes = compress::serialize_container(out->container);
  if (!bytes.ok()) {
    // The writer's only refusal left after check_storable is the decompression cap.
    if (bytes.status().message().find("decompression cap") == std::string::npos)
      return "serialize_container refused a model compress accepted: " + bytes.status().message();
    return "";
  }
  auto declared = onnx_io::declared_tensors(out->container.skeleton, "skeleton");
  if (!declared.ok()) return "the written skeleton does not parse: " + declared.status().message();
  compress::ReadLimits limits;
  limits.check_header = [&](const std::string&, const compress::EncodedTensor& h) -> Status {
    auto it = declared->find(h.name);
    if (it == declared->end()) return Status::Error("not in the skeleton");
    if (it->second.has_shape && (it->second.dims != h.shape ||
                                 it->second.dtype != static_cast<int32_t>(h.dtype)))
      return Status::Error("shape or dtype differs from the skeleton");
    return Status::Ok();
  };
  auto parsed = compress::parse_container(*bytes, "fuzz.dcz", limits);
  if (!parsed.ok()) return "the reader refused what the writer wrote: " + parsed.status().message();
  std::vector<Tensor> tensors;
  for (const compress::EncodedTensor& e : parsed->tensors) {
    auto t = compress::decode_tensor(e);
    if (!t.ok()) return "decode_tensor refused a written tensor: " + t.status().message();
    tensors.push_back(std::move(*t));
  }
  auto back = onnx_io::model_from_skeleton(parsed->skeleton, std::move(tensors), "fuzz.dcz");
  if (!back.ok()) return "model_from_skeleton refused a written model: " + back.status().message();
  auto onnx = onnx_io::serialize_model(*back);
  if (!onnx.ok()) return "the decompressed model does not serialize: " + onnx.status().message();
  return "";
}

}  // namespace deepcomp::fuzz
