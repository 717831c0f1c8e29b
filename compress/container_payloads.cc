// Encoders and decoders of the header, tensor and end payloads of the .dcz format (docs/FORMAT.md
// 3.1, 3.4-3.6, 3.9); blobs and symbol streams are in container_streams.cc.
#include "compress/container_payloads.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/dtype.h"

namespace deepcomp::compress::container_internal {
namespace {

// ---------------------------------------------------------------------------------------------
// Tensor

// Role codes are the format's, not the enum's order, so reordering TensorRole cannot change files.
uint8_t role_code(TensorRole role) {
  switch (role) {
    case TensorRole::kConvWeight:
      return 0;
    case TensorRole::kFcWeight:
      return 1;
    case TensorRole::kEmbedding:
      return 2;
    case TensorRole::kBias:
      return 3;
    case TensorRole::kOther:
      return 4;
    case TensorRole::kFixedBasis:
      return 5;
  }
  return 255;
}

bool role_from_code(uint8_t code, TensorRole* role) {
  static constexpr TensorRole kRoles[] = {TensorRole::kConvWeight, TensorRole::kFcWeight,
                                          TensorRole::kEmbedding,  TensorRole::kBias,
                                          TensorRole::kOther,      TensorRole::kFixedBasis};
  if (code >= std::size(kRoles)) return false;
  *role = kRoles[code];
  return true;
}

const char* encoding_name(Encoding e) {
  switch (e) {
    case Encoding::kLossless:
      return "lossless";
    case Encoding::kSharedDense:
      return "shared-dense";
    case Encoding::kSparseShared:
      return "sparse-shared";
    case Encoding::kSparseFloat:
      return "sparse-float";
  }
  return "unknown";
}

// Location flags (FORMAT.md "Location").
constexpr uint8_t kLocConstantNode = 1 << 0;
constexpr uint8_t kLocRawData = 1 << 1;
constexpr uint8_t kLocExternal = 1 << 2;
constexpr uint8_t kLocNodeFields = 1 << 3;
constexpr uint8_t kLocKnownFlags = 0x0F;

uint8_t location_flags(const TensorLocation& loc) {
  uint8_t f = 0;
  if (loc.kind == LocationKind::kConstantNode) f |= kLocConstantNode;
  if (loc.raw_data) f |= kLocRawData;
  if (!loc.external_file.empty() || loc.external_offset != 0 || loc.external_length != -1)
    f |= kLocExternal;
  if (!loc.node.empty() || !loc.attribute.empty()) f |= kLocNodeFields;
  return f;
}

Status validate_index_bits(uint32_t index_bits) {
  if (index_bits < 1 || index_bits > kMaxIndexBits)
    return Err("index_bits " + std::to_string(index_bits) + " is not in 1.." +
               std::to_string(kMaxIndexBits));
  return Status::Ok();
}

}  // namespace

Status checked_numel(const std::vector<int64_t>& shape, uint64_t* numel) {
  if (shape.size() > kMaxRank)
    return Err("rank " + std::to_string(shape.size()) + " is over " + std::to_string(kMaxRank));
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Err("negative dimension " + std::to_string(d));
    // Checked per dimension even when another is 0: the reader reads each as a varint < 2^59.
    if (static_cast<uint64_t>(d) >= kMaxNumel)
      return Err("dimension " + std::to_string(d) + " is too large (2^59 or more)");
    if (d != 0 && n > kMaxNumel / static_cast<uint64_t>(d))
      n = kMaxNumel;  // saturate
    else
      n *= static_cast<uint64_t>(d);
  }
  // A zero dimension anywhere makes the product 0 even after another one saturated.
  for (int64_t d : shape)
    if (d == 0) n = 0;
  if (n >= kMaxNumel) return Err("shape has 2^59 elements or more");
  *numel = n;
  return Status::Ok();
}

void encode_header(const ContainerHeader& header, ByteWriter& w) {
  w.string(header.producer);
  w.varint(header.metadata.size());
  for (const auto& [key, value] : header.metadata) {
    w.string(key);
    w.string(value);
  }
}

Status decode_header(ByteReader& r, ContainerHeader* header) {
  DEEPCOMP_RETURN_IF_ERROR(r.string("producer", &header->producer));
  uint64_t count = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.varint("metadata count", &count));
  // Each pair takes at least two bytes (two empty strings): bound the count before reserving.
  if (count > r.remaining() / 2)
    return Err("metadata count " + std::to_string(count) + " exceeds what the section holds");
  header->metadata.clear();
  header->metadata.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string key, value;
    DEEPCOMP_RETURN_IF_ERROR(r.string("metadata key", &key));
    DEEPCOMP_RETURN_IF_ERROR(r.string("metadata value", &value));
    header->metadata.emplace_back(std::move(key), std::move(value));
  }
  return Status::Ok();
}

// An 8-bit quantized layer's extra fields (FORMAT.md 3.6): one zero point, or one per index of
// an axis of the shape, each in the dtype's range; integer levels within +-255.
Status validate_quantized_levels(const EncodedTensor& t) {
  const int64_t lo = t.dtype == DType::kInt8 ? -128 : 0, hi = t.dtype == DType::kInt8 ? 127 : 255;
  const int64_t rank = static_cast<int64_t>(t.shape.size());
  if (t.zero_point_axis < -1 || t.zero_point_axis >= rank)
    return Err("zero point axis " + std::to_string(t.zero_point_axis) + " is out of range");
  const uint64_t want =
      t.zero_point_axis < 0 ? 1 : static_cast<uint64_t>(t.shape[t.zero_point_axis]);
  if (t.zero_points.size() != want)
    return Err(std::to_string(t.zero_points.size()) + " zero points, expected " +
               std::to_string(want));
  for (int32_t z : t.zero_points)
    if (z < lo || z > hi)
      return Err("zero point " + std::to_string(z) + " is outside " + dtype_name(t.dtype));
  for (float c : t.codebook)
    if (!(c == std::floor(c) && std::fabs(c) <= 255))
      return Err("codebook level " + std::to_string(c) + " is not an integer in [-255, 255]");
  return Status::Ok();
}

Status validate_tensor(const EncodedTensor& t) {
  if (!is_known_dtype(static_cast<int32_t>(t.dtype)))
    return Err("unknown dtype code " + std::to_string(static_cast<int32_t>(t.dtype)));
  if (role_code(t.role) == 255) return Err("unknown role");
  uint64_t numel = 0;
  DEEPCOMP_RETURN_IF_ERROR(checked_numel(t.shape, &numel));
  const TensorLocation& loc = t.location;
  if (loc.kind != LocationKind::kInitializer && loc.kind != LocationKind::kConstantNode)
    return Err("unknown location kind");
  if (loc.external_offset < 0) return Err("negative external offset");
  if (loc.external_length < -1) return Err("external length below -1");
  const std::string enc = encoding_name(t.encoding);
  switch (t.encoding) {
    case Encoding::kLossless: {
      const size_t elem = dtype_size(t.dtype);
      if (elem == 0)
        return Err("dtype " + dtype_name(t.dtype) + " cannot be stored (no fixed element size)");
      if (t.raw.size() != numel * elem)
        return Err("lossless data holds " + std::to_string(t.raw.size()) + " bytes, expected " +
                   std::to_string(numel * elem));
      return Status::Ok();
    }
    case Encoding::kSharedDense:
    case Encoding::kSparseShared:
    case Encoding::kSparseFloat:
      break;
    default:
      return Err("unknown encoding " + std::to_string(static_cast<int>(t.encoding)));
  }
  if (!is_float_dtype(t.dtype) && !is_quantized_layer(t))
    return Err("encoding " + enc + " needs a float dtype, not " + dtype_name(t.dtype));
  if (is_quantized_layer(t)) DEEPCOMP_RETURN_IF_ERROR(validate_quantized_levels(t));
  if (t.encoding != Encoding::kSharedDense) {
    DEEPCOMP_RETURN_IF_ERROR(validate_index_bits(t.index_bits));
    DEEPCOMP_RETURN_IF_ERROR(validate_stream(t.index, numel, "index stream"));
    if (uint64_t{t.index.alphabet_size} > (uint64_t{1} << t.index_bits))
      return Err("index stream: alphabet size " + std::to_string(t.index.alphabet_size) +
                 " is over 2^index_bits");
  }
  if (t.encoding == Encoding::kSparseFloat) {
    if (t.raw.size() % 4 != 0 || t.raw.size() / 4 > t.index.count)
      return Err("sparse values hold " + std::to_string(t.raw.size()) +
                 " bytes: not 4 bytes per stored weight for at most " +
                 std::to_string(t.index.count) + " weights");
    return Status::Ok();
  }
  // Shared encodings: one cluster symbol per element (dense) or per stored weight (sparse).
  const uint64_t max_clusters = t.encoding == Encoding::kSharedDense ? numel : t.index.count;
  DEEPCOMP_RETURN_IF_ERROR(validate_stream(t.clusters, max_clusters, "cluster stream"));
  if (t.encoding == Encoding::kSharedDense && t.clusters.count != numel)
    return Err("cluster stream: count " + std::to_string(t.clusters.count) +
               " differs from the shape's " + std::to_string(numel) + " elements");
  if (t.codebook.size() > kMaxCodebookSize)
    return Err("codebook of " + std::to_string(t.codebook.size()) + " entries is over " +
               std::to_string(kMaxCodebookSize));
  if (t.clusters.count > 0 && t.codebook.empty()) return Err("cluster symbols but no codebook");
  return Status::Ok();
}

void encode_tensor(const EncodedTensor& t, ByteWriter& w) {
  w.string(t.name);
  w.varint(static_cast<uint32_t>(t.dtype));
  w.u8(role_code(t.role));
  w.varint(t.shape.size());
  for (int64_t d : t.shape) w.varint(static_cast<uint64_t>(d));
  const TensorLocation& loc = t.location;
  const uint8_t flags = location_flags(loc);
  w.u8(flags);
  w.string(loc.graph_path);
  if (flags & kLocNodeFields) {
    w.string(loc.node);
    w.string(loc.attribute);
  }
  if (flags & kLocExternal) {
    w.string(loc.external_file);
    w.varint(static_cast<uint64_t>(loc.external_offset));
    w.varint(static_cast<uint64_t>(loc.external_length + 1));  // 0 means -1: to the end
  }
  w.u8(static_cast<uint8_t>(t.encoding));
  if (t.encoding == Encoding::kLossless) {
    encode_blob(t.raw, w);
    return;
  }
  if (t.encoding != Encoding::kSharedDense) {
    w.u8(static_cast<uint8_t>(t.index_bits));
    encode_stream(t.index, w);
  }
  if (t.encoding == Encoding::kSparseFloat) {
    encode_blob(t.raw, w);
    return;
  }
  w.varint(t.codebook.size());
  for (float v : t.codebook) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    w.u32le(bits);
  }
  encode_stream(t.clusters, w);
  if (is_quantized_layer(t)) {
    w.varint(static_cast<uint64_t>(t.zero_point_axis + 1));
    w.varint(t.zero_points.size());
    // Zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
    for (int32_t z : t.zero_points)
      w.varint(z < 0 ? (uint64_t(-int64_t{z}) << 1) - 1 : uint64_t(z) << 1);
  }
}

uint64_t dense_bytes(const EncodedTensor& t) {
  uint64_t numel = 0;
  if (!checked_numel(t.shape, &numel).ok()) return UINT64_MAX;
  const uint64_t elem = std::max<uint64_t>(1, dtype_size(t.dtype));
  return numel > UINT64_MAX / elem ? UINT64_MAX : numel * elem;
}

Status decode_tensor(ByteReader& r, EncodedTensor* t,
                     const std::function<Status(const EncodedTensor&)>& after_header) {
  DEEPCOMP_RETURN_IF_ERROR(r.string("name", &t->name));
  uint64_t dtype = 0, rank = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.varint("dtype", &dtype));
  if (dtype > INT32_MAX || !is_known_dtype(static_cast<int32_t>(dtype)))
    return Err("unknown dtype code " + std::to_string(dtype));
  t->dtype = static_cast<DType>(dtype);
  uint8_t role = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.u8("role", &role));
  if (!role_from_code(role, &t->role)) return Err("unknown role code " + std::to_string(role));
  DEEPCOMP_RETURN_IF_ERROR(r.varint("rank", &rank));
  if (rank > kMaxRank)
    return Err("rank " + std::to_string(rank) + " is over " + std::to_string(kMaxRank));
  t->shape.resize(static_cast<size_t>(rank));
  for (auto& d : t->shape) {
    uint64_t v = 0;
    DEEPCOMP_RETURN_IF_ERROR(r.varint("dimension", &v));
    if (v >= kMaxNumel) return Err("dimension " + std::to_string(v) + " is too large");
    d = static_cast<int64_t>(v);
  }
  uint64_t numel = 0;
  DEEPCOMP_RETURN_IF_ERROR(checked_numel(t->shape, &numel));

  TensorLocation& loc = t->location;
  loc = TensorLocation();
  uint8_t flags = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.u8("location flags", &flags));
  if (flags & ~kLocKnownFlags)
    return Err("unknown location flags 0x" + std::to_string(flags & ~kLocKnownFlags));
  loc.kind = (flags & kLocConstantNode) ? LocationKind::kConstantNode : LocationKind::kInitializer;
  loc.raw_data = (flags & kLocRawData) != 0;
  DEEPCOMP_RETURN_IF_ERROR(r.string("graph path", &loc.graph_path));
  if (flags & kLocNodeFields) {
    DEEPCOMP_RETURN_IF_ERROR(r.string("node", &loc.node));
    DEEPCOMP_RETURN_IF_ERROR(r.string("attribute", &loc.attribute));
  }
  if (flags & kLocExternal) {
    uint64_t offset = 0, length_plus_1 = 0;
    DEEPCOMP_RETURN_IF_ERROR(r.string("external file", &loc.external_file));
    DEEPCOMP_RETURN_IF_ERROR(r.varint("external offset", &offset));
    DEEPCOMP_RETURN_IF_ERROR(r.varint("external length", &length_plus_1));
    if (offset > INT64_MAX || length_plus_1 > INT64_MAX)
      return Err("external offset or length out of range");
    loc.external_offset = static_cast<int64_t>(offset);
    loc.external_length = static_cast<int64_t>(length_plus_1) - 1;
  }

  uint8_t encoding = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.u8("encoding", &encoding));
  if (encoding > static_cast<uint8_t>(Encoding::kSparseFloat))
    return Err("unknown encoding " + std::to_string(encoding));
  t->encoding = static_cast<Encoding>(encoding);
  t->raw.clear();
  t->codebook.clear();
  t->index_bits = 0;
  t->index = SymbolStream();
  t->clusters = SymbolStream();
  if (after_header) DEEPCOMP_RETURN_IF_ERROR(after_header(*t));
  if (t->encoding == Encoding::kLossless) {
    const uint64_t size = numel * dtype_size(t->dtype);
    if (dtype_size(t->dtype) == 0)
      return Err("dtype " + dtype_name(t->dtype) + " cannot be stored (no fixed element size)");
    DEEPCOMP_RETURN_IF_ERROR(decode_blob(r, "lossless data", size, size, 1, &t->raw));
    return validate_tensor(*t);
  }
  const bool quantized = t->dtype == DType::kInt8 || t->dtype == DType::kUInt8;
  if (!is_float_dtype(t->dtype) && !(quantized && t->encoding != Encoding::kSparseFloat))
    return Err(std::string("encoding ") + encoding_name(t->encoding) +
               " needs a float dtype, not " + dtype_name(t->dtype));
  t->zero_points.clear();
  t->zero_point_axis = -1;
  if (t->encoding != Encoding::kSharedDense) {
    uint8_t index_bits = 0;
    DEEPCOMP_RETURN_IF_ERROR(r.u8("index_bits", &index_bits));
    t->index_bits = index_bits;
    DEEPCOMP_RETURN_IF_ERROR(validate_index_bits(t->index_bits));
    DEEPCOMP_RETURN_IF_ERROR(decode_stream(r, "index stream", &t->index));
    DEEPCOMP_RETURN_IF_ERROR(validate_stream(t->index, numel, "index stream"));
  }
  if (t->encoding == Encoding::kSparseFloat) {
    // index.count is already bounded by numel and by the bytes of its bitstream.
    DEEPCOMP_RETURN_IF_ERROR(decode_blob(r, "sparse values", 0, t->index.count * 4, 4, &t->raw));
    return validate_tensor(*t);
  }
  uint64_t codebook_size = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.varint("codebook size", &codebook_size));
  if (codebook_size > kMaxCodebookSize)
    return Err("codebook of " + std::to_string(codebook_size) + " entries is over " +
               std::to_string(kMaxCodebookSize));
  std::string_view codebook;
  DEEPCOMP_RETURN_IF_ERROR(r.bytes("codebook", codebook_size * 4, &codebook));
  t->codebook.resize(static_cast<size_t>(codebook_size));
  for (size_t i = 0; i < t->codebook.size(); ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= uint32_t{static_cast<uint8_t>(codebook[4 * i + b])} << (8 * b);
    std::memcpy(&t->codebook[i], &bits, 4);
  }
  DEEPCOMP_RETURN_IF_ERROR(decode_stream(r, "cluster stream", &t->clusters));
  if (quantized) {
    uint64_t axis_plus_1 = 0, count = 0;
    DEEPCOMP_RETURN_IF_ERROR(r.varint("zero point axis", &axis_plus_1));
    DEEPCOMP_RETURN_IF_ERROR(r.varint("zero point count", &count));
    if (axis_plus_1 > rank || count > r.remaining())
      return Err("zero point axis or count out of range");
    t->zero_point_axis = static_cast<int64_t>(axis_plus_1) - 1;
    t->zero_points.resize(static_cast<size_t>(count));
    for (int32_t& z : t->zero_points) {
      uint64_t v = 0;
      DEEPCOMP_RETURN_IF_ERROR(r.varint("zero point", &v));
      if (v > 511) return Err("zero point code " + std::to_string(v) + " is out of range");
      z = (v & 1) ? -static_cast<int32_t>((v + 1) >> 1) : static_cast<int32_t>(v >> 1);
    }
  }
  return validate_tensor(*t);
}

void encode_end(const EndMarker& end, ByteWriter& w) {
  w.varint(end.section_count);
  w.varint(end.body_length);
  w.u32le(end.chain_crc);
}

Status decode_end(ByteReader& r, EndMarker* end) {
  DEEPCOMP_RETURN_IF_ERROR(r.varint("section count", &end->section_count));
  DEEPCOMP_RETURN_IF_ERROR(r.varint("body length", &end->body_length));
  return r.u32le("chain crc", &end->chain_crc);
}

std::string section_kind_name(uint8_t kind) {
  switch (kind) {
    case kKindHeader:
      return "header";
    case kKindSkeleton:
      return "skeleton";
    case kKindTensor:
      return "tensor";
    case kKindEnd:
      return "end";
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex = std::string("0x") + kHex[kind >> 4] + kHex[kind & 15];
  return (kind & kAncillaryBit) ? "ancillary " + hex : hex;
}

}  // namespace deepcomp::compress::container_internal
