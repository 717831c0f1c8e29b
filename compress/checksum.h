// CRC-32 (ISO-HDLC / zlib / PNG polynomial 0xEDB88320, reflected, init and final xor 0xFFFFFFFF)
// over byte ranges of any size, the checksum of every .dcz section. A thin wrapper over zlib's
// crc32_z so that no other file includes zlib.h. Depends on zlib only.
#pragma once

#include <cstdint>
#include <string_view>

namespace deepcomp::compress {

// CRC-32 of `data` continued from `crc` (pass 0 to start; chaining calls equals one call over
// the concatenation).
uint32_t crc32(std::string_view data, uint32_t crc = 0);

}  // namespace deepcomp::compress
