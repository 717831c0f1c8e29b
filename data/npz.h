// NumPy .npz archives: a ZIP file whose members are "NAME.npy" (np.load(f)["NAME"]). deepcomp
// writes them uncompressed ("stored", as np.savez does), with CRC-32s, without zip64: an archive
// that would need it (4 GiB or 65535 members) is an error. Depends on data/npy.h and zlib (crc32).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "data/npy.h"

namespace deepcomp::data {

// The .npz bytes of `arrays`, each member "<name>.npy" in its own dtype (npy_bytes_typed). Names
// must be unique and non-empty; errors name the array.
Result<std::string> npz_bytes(const std::vector<std::pair<std::string, TypedArray>>& arrays);

// The stored members of a ZIP archive written by npz_bytes (or any ZIP without compression or
// zip64): name -> bytes, CRC-32 checked. For tests and for reading deepcomp's own outputs.
Result<std::vector<std::pair<std::string, std::string>>> read_stored_zip(const std::string& bytes);

}  // namespace deepcomp::data
