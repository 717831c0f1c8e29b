// Sparse weight matrices in the forms Deep Compression uses: CSR with float values, and
// codebook-CSR, where each nonzero stores a small cluster index into a float codebook (the form a
// .dcz holds). Depends only on the standard library; products are in kernels/spmm.h.
#pragma once

#include <cstdint>
#include <vector>

namespace deepcomp::kernels {

// rows x cols, row-major positions. row_ptr has rows + 1 entries.
struct CsrMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col_idx;
  std::vector<float> values;

  int64_t nnz() const { return static_cast<int64_t>(values.size()); }
  // Keeps the entries of a dense row-major matrix that are not exactly zero.
  static CsrMatrix from_dense(const float* dense, int64_t rows, int64_t cols);
  void to_dense(float* dense) const;  // rows x cols, row-major
};

// Like CsrMatrix, but each nonzero is codebook[cluster[k]]; up to 256 clusters (8-bit indices)
// fit the uint8 form used here, which covers the paper's settings; 16-bit codebooks use cluster16.
struct CodebookCsrMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col_idx;
  std::vector<uint8_t> cluster;     // used when codebook.size() <= 256
  std::vector<uint16_t> cluster16;  // used when codebook.size() > 256
  std::vector<float> codebook;

  int64_t nnz() const { return static_cast<int64_t>(col_idx.size()); }
  bool wide() const { return codebook.size() > 256; }
  float value(int64_t k) const { return codebook[wide() ? cluster16[k] : cluster[k]]; }
  void to_dense(float* dense) const;
};

}  // namespace deepcomp::kernels
