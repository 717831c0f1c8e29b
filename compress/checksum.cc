#include "compress/checksum.h"

#include <zlib.h>

namespace deepcomp::compress {

uint32_t crc32(std::string_view data, uint32_t crc) {
  // zlib returns 0 for a null buffer whatever `crc` is; an empty range must leave it unchanged.
  if (data.empty()) return crc;
  // crc32_z takes a size_t length, so sections over 4 GiB need no chunking.
  return static_cast<uint32_t>(
      ::crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

}  // namespace deepcomp::compress
