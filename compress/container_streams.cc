// Blobs (stored or zstd bytes) and symbol streams of the .dcz format (docs/FORMAT.md 3.3, 3.8):
// the two payload parts shared by several sections, with the bounds checks that keep a hostile
// file from making the reader allocate what its bytes do not justify.
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "compress/container_payloads.h"

namespace deepcomp::compress::container_internal {
namespace {

// ---------------------------------------------------------------------------------------------
// Blob

// Small inputs (the graph, biases) get zstd's strongest levels; large lossless tensors a level
// that keeps compression at tens of MB/s. Any valid zstd frame reads back the same.
int zstd_level_for(size_t size) { return size <= (size_t{1} << 20) ? 19 : 9; }

Status zstd_decompress_bounded(std::string_view packed, uint64_t raw_size, const char* field,
                               std::string* out) {
  // Exactly one frame spanning the whole packed range, declaring raw_size: checked on the frame
  // header before any output is allocated.
  const size_t frame_size = ZSTD_findFrameCompressedSize(packed.data(), packed.size());
  if (ZSTD_isError(frame_size) || frame_size != packed.size())
    return Err(std::string(field) + ": not a single complete zstd frame");
  const unsigned long long content = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (content != raw_size)
    return Err(std::string(field) + ": zstd frame declares " +
               (content == ZSTD_CONTENTSIZE_UNKNOWN || content == ZSTD_CONTENTSIZE_ERROR
                    ? std::string("no content size")
                    : std::to_string(content) + " bytes") +
               ", expected " + std::to_string(raw_size));
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Err(std::string(field) + ": out of memory for zstd");
  out->clear();
  // Grow the output as zstd fills it (never more than raw_size), so a frame that lies about its
  // size cannot make us allocate memory its data does not produce.
  ZSTD_inBuffer in{packed.data(), packed.size(), 0};
  size_t produced = 0;
  for (;;) {
    if (produced == out->size() && out->size() < raw_size) {
      const uint64_t grow = std::max<uint64_t>(out->size(), uint64_t{1} << 20);
      out->resize(static_cast<size_t>(std::min<uint64_t>(raw_size, out->size() + grow)));
    }
    ZSTD_outBuffer o{out->data(), out->size(), produced};
    const size_t in_before = in.pos;
    const size_t ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    // zstd itself fails a frame whose output differs from its declared content size.
    if (ZSTD_isError(ret)) return Err(std::string(field) + ": zstd: " + ZSTD_getErrorName(ret));
    const bool progressed = in.pos != in_before || o.pos != produced;
    produced = o.pos;
    if (ret == 0) break;  // frame complete
    if (!progressed) return Err(std::string(field) + ": zstd frame is incomplete");
  }
  if (produced != raw_size)
    return Err(std::string(field) + ": zstd frame produced " + std::to_string(produced) +
               " bytes, expected " + std::to_string(raw_size));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Symbol stream

uint8_t bit_width(uint32_t v) {
  uint8_t w = 0;
  while (v > 0) {
    ++w;
    v >>= 1;
  }
  return w;
}

}  // namespace

void encode_blob(std::string_view data, ByteWriter& w) {
  std::string packed;
  if (!data.empty()) {
    packed.resize(ZSTD_compressBound(data.size()));
    const size_t n = ZSTD_compress(packed.data(), packed.size(), data.data(), data.size(),
                                   zstd_level_for(data.size()));
    packed.resize(ZSTD_isError(n) ? 0 : n);
  }
  // zstd only when it saves bytes: a 40-byte bias would grow by the ~13-byte frame overhead.
  if (!packed.empty() && packed.size() + varint_size(packed.size()) < data.size()) {
    w.u8(kBlobZstd);
    w.varint(data.size());
    w.string(packed);
  } else {
    w.u8(kBlobStored);
    w.string(data);
  }
}

Status decode_blob(ByteReader& r, const char* field, uint64_t min_size, uint64_t max_size,
                   uint64_t multiple_of, std::string* out) {
  auto ctx = [&](Status st) { return st.WithContext(field); };
  uint8_t method = 0;
  uint64_t raw_size = 0;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.u8("method", &method)));
  if (method != kBlobStored && method != kBlobZstd)
    return Err(std::string(field) + ": unknown blob method " + std::to_string(method));
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.varint("raw_size", &raw_size)));
  auto size_ok = [&](uint64_t n) {
    return n >= min_size && n <= max_size && (multiple_of <= 1 || n % multiple_of == 0);
  };
  if (!size_ok(raw_size)) {
    std::string expected = min_size == max_size
                               ? std::to_string(min_size)
                               : std::to_string(min_size) + ".." + std::to_string(max_size);
    if (multiple_of > 1) expected += " (a multiple of " + std::to_string(multiple_of) + ")";
    return Err(std::string(field) + ": holds " + std::to_string(raw_size) + " bytes, expected " +
               expected);
  }
  if (method == kBlobStored) {
    std::string_view view;
    DEEPCOMP_RETURN_IF_ERROR(ctx(r.bytes("data", raw_size, &view)));
    out->assign(view.data(), view.size());
    return Status::Ok();
  }
  uint64_t packed_size = 0;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.varint("packed_size", &packed_size)));
  std::string_view packed;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.bytes("zstd data", packed_size, &packed)));
  if (raw_size / kMaxZstdExpansion > packed_size)
    return Err(std::string(field) + ": " + std::to_string(packed_size) +
               " zstd bytes cannot hold " + std::to_string(raw_size) + " bytes");
  return zstd_decompress_bounded(packed, raw_size, field, out);
}

Status validate_stream(const SymbolStream& s, uint64_t max_count, const char* which) {
  auto fail = [&](const std::string& what) { return Err(std::string(which) + ": " + what); };
  if (s.alphabet_size > kMaxAlphabetSize)
    return fail("alphabet size " + std::to_string(s.alphabet_size) + " exceeds " +
                std::to_string(kMaxAlphabetSize));
  if (s.count > max_count)
    return fail("count " + std::to_string(s.count) + " exceeds the " + std::to_string(max_count) +
                " this tensor allows");
  if (s.fixed_bits > kMaxFixedBits)
    return fail("fixed_bits " + std::to_string(s.fixed_bits) + " is over " +
                std::to_string(kMaxFixedBits));
  if (s.count > 0 && s.alphabet_size == 0) return fail("symbols but an empty alphabet");
  const uint64_t available_bits = uint64_t{s.bits.size()} * 8;
  if (s.code_lengths.empty()) {
    if (s.count == 0) return Status::Ok();
    if (s.fixed_bits == 0) return fail("fixed-width stream with fixed_bits 0");
    if (uint64_t{s.alphabet_size} > (uint64_t{1} << s.fixed_bits))
      return fail("alphabet size " + std::to_string(s.alphabet_size) + " does not fit in " +
                  std::to_string(s.fixed_bits) + " bits");
    if (available_bits / s.fixed_bits < s.count)
      return fail("bitstream of " + std::to_string(s.bits.size()) + " bytes is too short for " +
                  std::to_string(s.count) + " symbols of " + std::to_string(s.fixed_bits) +
                  " bits");
    return Status::Ok();
  }
  if (s.code_lengths.size() != s.alphabet_size)
    return fail(std::to_string(s.code_lengths.size()) + " code lengths for an alphabet of " +
                std::to_string(s.alphabet_size));
  // Kraft: sum of 2^-len over used symbols must not exceed 1 (else no prefix code exists).
  uint64_t kraft = 0;
  uint8_t min_length = 0;
  for (uint8_t len : s.code_lengths) {
    if (len == 0) continue;
    if (len > kMaxCodeLength)
      return fail("code length " + std::to_string(len) + " is over " +
                  std::to_string(kMaxCodeLength));
    kraft += uint64_t{1} << (kMaxCodeLength - len);
    if (min_length == 0 || len < min_length) min_length = len;
  }
  if (kraft > (uint64_t{1} << kMaxCodeLength))
    return fail("code lengths are over-subscribed (not a prefix code)");
  if (s.count > 0 && min_length == 0) return fail("symbols but no symbol has a code");
  if (s.count > 0 && available_bits / min_length < s.count)
    return fail("bitstream of " + std::to_string(s.bits.size()) + " bytes is too short for " +
                std::to_string(s.count) + " symbols of at least " + std::to_string(min_length) +
                " bits");
  return Status::Ok();
}

void encode_stream(const SymbolStream& s, ByteWriter& w) {
  w.varint(s.alphabet_size);
  w.varint(s.count);
  w.u8(s.fixed_bits);
  uint8_t width = 0;
  if (!s.code_lengths.empty()) {
    const uint8_t max_len = *std::max_element(s.code_lengths.begin(), s.code_lengths.end());
    width = std::max<uint8_t>(1, bit_width(max_len));
  }
  w.u8(width);
  if (width > 0) {
    // Lengths packed LSB-first, `width` bits each, zero padding in the last byte.
    std::string packed((s.code_lengths.size() * width + 7) / 8, '\0');
    uint64_t bit = 0;
    for (uint8_t len : s.code_lengths) {
      for (uint8_t b = 0; b < width; ++b, ++bit)
        if ((len >> b) & 1) packed[bit / 8] = static_cast<char>(packed[bit / 8] | (1 << (bit % 8)));
    }
    w.bytes(packed);
  }
  w.string(s.bits);
}

Status decode_stream(ByteReader& r, const char* which, SymbolStream* s) {
  auto ctx = [&](Status st) { return st.WithContext(which); };
  uint64_t alphabet = 0, count = 0;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.varint("alphabet_size", &alphabet)));
  if (alphabet > kMaxAlphabetSize)
    return Err(std::string(which) + ": alphabet size " + std::to_string(alphabet) + " exceeds " +
               std::to_string(kMaxAlphabetSize));
  s->alphabet_size = static_cast<uint32_t>(alphabet);
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.varint("count", &count)));
  s->count = count;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.u8("fixed_bits", &s->fixed_bits)));
  uint8_t width = 0;
  DEEPCOMP_RETURN_IF_ERROR(ctx(r.u8("length_width", &width)));
  if (width > 8)
    return Err(std::string(which) + ": code length width " + std::to_string(width) + " is over 8");
  s->code_lengths.clear();
  if (width > 0) {
    std::string_view packed;
    DEEPCOMP_RETURN_IF_ERROR(ctx(r.bytes("code_lengths", (alphabet * width + 7) / 8, &packed)));
    s->code_lengths.resize(static_cast<size_t>(alphabet));
    uint64_t bit = 0;
    for (auto& len : s->code_lengths) {
      uint8_t v = 0;
      for (uint8_t b = 0; b < width; ++b, ++bit)
        v |= static_cast<uint8_t>(((static_cast<uint8_t>(packed[bit / 8]) >> (bit % 8)) & 1) << b);
      len = v;
    }
    if (bit % 8 != 0 && (static_cast<uint8_t>(packed.back()) >> (bit % 8)) != 0)
      return Err(std::string(which) + ": non-zero padding after the code lengths");
  }
  return ctx(r.string("bits", &s->bits));
}

}  // namespace deepcomp::compress::container_internal
