// Sparse weight matrices in the forms Deep Compression uses: CSR with float values, and
// codebook-CSR, where each nonzero stores a small cluster index into a float codebook (the form a
// .dcz holds), plus conversions between them and dense row-major arrays. Depends only on the
// standard library; products are in kernels/spmm.h, convolutions in kernels/conv.h.
//
// The kernels trust a matrix's structure (row_ptr monotone, column and cluster indices in range).
// Anything built from untrusted bytes must go through codebook_csr_from() or check_structure(),
// which report what is wrong instead of crashing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
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
  // CSR of the transpose of a dense rows x cols row-major matrix (so the result is cols x rows).
  // For MatMul with the constant on the right (Y = X * W, W in x out): store W^T this way and use
  // the Y = X * W^T kernels of spmm.h unchanged.
  static CsrMatrix from_dense_transposed(const float* dense, int64_t rows, int64_t cols);
  void to_dense(float* dense) const;  // rows x cols, row-major
  // Empty string when row_ptr, col_idx and values are consistent; otherwise what is wrong.
  std::string check_structure() const;
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
  // Empty string when the structure is consistent (including every cluster index < codebook size).
  std::string check_structure() const;
};

// Codebook-CSR in the compact layout the kernels pick at layer setup when it fits: 16-bit column
// indices (cols <= 65536) and 8-bit clusters (codebook <= 256 entries), 3 bytes per nonzero
// instead of 5. The products (spmm.h) give bit-identical results to the CodebookCsrMatrix it was
// made from, since they sum in the same order.
struct CompactCodebookCsr {
  static constexpr int64_t kMaxCols = 65536;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_ptr;
  std::vector<uint16_t> col_idx;
  std::vector<uint8_t> cluster;
  std::vector<float> codebook;

  int64_t nnz() const { return static_cast<int64_t>(col_idx.size()); }
  // Whether `m` has a compact form (cols <= kMaxCols and at most 256 clusters).
  static bool fits(const CodebookCsrMatrix& m);
  // The compact copy of `m`; call only when fits(m).
  static CompactCodebookCsr from(const CodebookCsrMatrix& m);
  // Bytes of weight data a product reads: indices, clusters, row pointers and codebook.
  int64_t bytes() const;
};

// Codebook-CSR with each row's nonzeros grouped by cluster ("cluster-grouped rows"), the layout
// the fully-connected kernels pick at layer setup when it fits (cols <= 65536, <= 256 clusters).
// Within row r, the nonzeros are stored cluster by cluster in ascending cluster order, columns
// ascending within a cluster; each non-empty group is a run (cluster, length). A product then
// sums the inputs of a run and multiplies once by the run's shared weight: Deep Compression's
// weight-sharing arithmetic, with no per-nonzero codebook lookup or multiply, and 2 bytes per
// nonzero (a 16-bit column) plus 3 per run. Runs hold at most 65535 nonzeros; a longer group is
// split into several runs of the same cluster. Its sums are in a different order from
// CodebookCsrMatrix's (spmm_detail.h and reference.h spell both out), so results agree within
// rounding, not bit for bit.
struct GroupedCodebookCsr {
  static constexpr int64_t kMaxCols = 65536;
  static constexpr int64_t kMaxRun = 65535;
  // col_idx carries this many zero entries past the last nonzero, so the kernels may load a full
  // vector of indices at the end of the last run.
  static constexpr int64_t kPadding = 16;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_ptr;      // rows + 1 offsets into col_idx
  std::vector<uint16_t> col_idx;     // nnz() + kPadding entries
  std::vector<int64_t> run_ptr;      // rows + 1 offsets into run_cluster / run_length
  std::vector<uint8_t> run_cluster;  // cluster of each run
  std::vector<uint16_t> run_length;  // nonzeros of each run, 1..kMaxRun
  std::vector<float> codebook;

  int64_t nnz() const { return row_ptr.empty() ? 0 : row_ptr.back(); }
  int64_t runs() const { return static_cast<int64_t>(run_cluster.size()); }
  // Whether `m` has a grouped form (cols <= kMaxCols and at most 256 clusters).
  static bool fits(const CodebookCsrMatrix& m);
  // At batch 1 a run's overhead (loop exit, one multiply of 8 sums) makes this layout break even
  // with CompactCodebookCsr at runs of ~20 nonzeros (bench/RESULTS.md issue 14: fc6's runs of
  // ~26 gain, fc7's of ~12 lose 30-60%), so the runtime picks it only when runs average this many.
  static constexpr int64_t kMinMeanRun = 20;
  // Runs the grouped form of `m` would have (one per non-empty cluster of each row, no splits).
  static int64_t count_runs(const CodebookCsrMatrix& m);
  // fits(m) and the runs average at least kMinMeanRun nonzeros.
  static bool pays_off(const CodebookCsrMatrix& m);
  // The grouped copy of `m`; call only when fits(m).
  static GroupedCodebookCsr from(const CodebookCsrMatrix& m);
  void to_dense(float* dense) const;  // rows x cols, row-major
  // Bytes of weight data a product reads: columns, runs, both offset arrays and the codebook.
  int64_t bytes() const;
};

// Codebook-CSR in "cluster blocks of 8", the batch-1 fully-connected layout: each row's nonzeros
// grouped by cluster as in GroupedCodebookCsr (clusters ascending, columns ascending within one),
// every cluster's group padded to a multiple of kBlock entries, and ONE cluster byte per block of
// 8 entries. A padding entry's column is `cols`: the products read x from a copy with one extra
// zero at index cols, so a padding entry adds +-0 and changes no bits (a sum that starts at +0
// never becomes -0). A row is then one loop over equal-sized blocks, with no per-run loop exit to
// mispredict (bench/RESULTS.md issue 14, session 6). 17 bytes per block: ~2.4 bytes per nonzero
// at fc6's runs of ~26 (13% padding). cols <= 65535 so that the padding column fits 16 bits.
struct ClusterBlockCsr {
  static constexpr int64_t kBlock = 8;
  static constexpr int64_t kMaxCols = 65535;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t nonzeros = 0;                // real entries, without padding
  std::vector<int64_t> block_ptr;      // rows + 1 offsets into block_cluster
  std::vector<uint16_t> col_idx;       // kBlock per block; padding entries hold cols
  std::vector<uint8_t> block_cluster;  // cluster of each block
  std::vector<float> codebook;

  int64_t nnz() const { return nonzeros; }
  int64_t blocks() const { return static_cast<int64_t>(block_cluster.size()); }
  // Whether `m` has this form (cols <= kMaxCols and at most 256 clusters).
  static bool fits(const CodebookCsrMatrix& m);
  // Padding makes a row of short cluster groups mostly zeros: at batch 1 a block entry costs
  // ~0.4-0.5 ns and a compact nonzero ~0.9 ns (bench/RESULTS.md issue 14, session 6), so the
  // runtime picks this form while its entries (8 per block) are at most this many times the
  // nonzeros (fc6 1.13, fc7 1.31, fc8 1.10 at 32 clusters).
  static constexpr int64_t kMaxPaddedRatio = 2;
  // Blocks the form of `m` would have: the sum over rows and clusters of ceil(group / 8).
  static int64_t count_blocks(const CodebookCsrMatrix& m);
  // fits(m) and 8 * count_blocks(m) <= kMaxPaddedRatio * m.nnz().
  static bool pays_off(const CodebookCsrMatrix& m);
  // The blocked copy of `m`; call only when fits(m).
  static ClusterBlockCsr from(const CodebookCsrMatrix& m);
  void to_dense(float* dense) const;  // rows x cols, row-major
  // Bytes of weight data a product reads: columns, block clusters, offsets and the codebook.
  int64_t bytes() const;
};

// Builds a codebook-CSR matrix straight from Deep Compression's decoded streams: `positions` are
// flattened row-major indices (row * cols + col), strictly ascending, one per nonzero; `clusters`
// holds the matching cluster index of each. Codebooks of up to 65536 entries are accepted (8-bit
// storage when <= 256). Returns false and sets *error (naming what is wrong) on bad input, e.g. a
// position out of range or not ascending, a cluster index >= codebook size, or mismatched counts.
bool codebook_csr_from(int64_t rows, int64_t cols, std::span<const int64_t> positions,
                       std::span<const uint32_t> clusters, std::span<const float> codebook,
                       CodebookCsrMatrix* out, std::string* error);

// Explicit transposes (rows and cols swap); entries within each row stay in column order.
CsrMatrix csr_transpose(const CsrMatrix& m);
CodebookCsrMatrix codebook_csr_transpose(const CodebookCsrMatrix& m);

}  // namespace deepcomp::kernels
