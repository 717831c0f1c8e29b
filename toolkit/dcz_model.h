// Opening a .dcz as a model: dense (every weight expanded, for decompress and dense runs) or
// sparse (the runtime's codebook-CSR weights straight from the compressed streams, never dense).
// Every command reads a .dcz through read_dcz/parse_dcz here, so that each tensor's header is
// checked against the skeleton before any of its data is decoded.
#pragma once

#include <string>
#include <string_view>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::cli {

// The limits every command reads a .dcz with: each tensor must appear in the skeleton with the
// dtype and shape it declares there (else "tensor is float32 [16384, 65536] but the model
// declares float32 [256, 784]"), checked before its payload is decoded; plus the container's
// dense cap.
compress::ReadLimits dcz_read_limits();

// read_container / parse_container with dcz_read_limits().
Result<compress::Container> read_dcz(const std::string& path);
Result<compress::Container> parse_dcz(std::string_view bytes, const std::string& path);

// compress::decode_tensor / decode_sparse with an allocation failure reported as
// "PATH: tensor 'NAME': out of memory ..." instead of escaping as std::bad_alloc.
Result<Tensor> decode_dense(const compress::EncodedTensor& encoded, const std::string& path);
Result<compress::SparseTensor> decode_sparse(const compress::EncodedTensor& encoded,
                                             const std::string& path);

// Reads a .dcz and rebuilds the dense Model.
Result<Model> load_dcz_dense(const std::string& path);

// Rebuilds the dense Model from an already parsed container.
Result<Model> container_to_model(const compress::Container& container, const std::string& path);

// True when the file starts with the .dcz magic.
bool is_dcz_file(const std::string& path);

}  // namespace deepcomp::cli
