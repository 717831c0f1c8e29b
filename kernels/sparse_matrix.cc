// Conversions and structural checks for CsrMatrix and CodebookCsrMatrix (kernels/sparse_matrix.h).
// Depends only on the standard library.
#include "kernels/sparse_matrix.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace deepcomp::kernels {
namespace {

// Shared by both matrix forms: row_ptr shape and monotonicity, column range and order.
std::string check_rows_and_columns(int64_t rows, int64_t cols, const std::vector<int64_t>& row_ptr,
                                   const std::vector<int32_t>& col_idx) {
  if (rows < 0 || cols < 0) return "negative shape";
  if (cols > std::numeric_limits<int32_t>::max()) return "more columns than int32 indices cover";
  if (static_cast<int64_t>(row_ptr.size()) != rows + 1) {
    return "row_ptr has " + std::to_string(row_ptr.size()) + " entries, expected " +
           std::to_string(rows + 1);
  }
  if (row_ptr[0] != 0) return "row_ptr[0] is not 0";
  if (row_ptr[rows] != static_cast<int64_t>(col_idx.size())) {
    return "row_ptr ends at " + std::to_string(row_ptr[rows]) + " but there are " +
           std::to_string(col_idx.size()) + " column indices";
  }
  // All of row_ptr first, so the column loop below never indexes past col_idx.
  for (int64_t r = 0; r < rows; ++r) {
    if (row_ptr[r + 1] < row_ptr[r]) return "row_ptr decreases at row " + std::to_string(r);
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      if (col_idx[k] < 0 || col_idx[k] >= cols) {
        return "column index " + std::to_string(col_idx[k]) + " out of range in row " +
               std::to_string(r);
      }
      if (k > row_ptr[r] && col_idx[k] <= col_idx[k - 1]) {
        return "column indices not ascending in row " + std::to_string(r);
      }
    }
  }
  return {};
}

// Counting-sort transpose of the structure; `move(k_src, k_dst)` copies one entry's payload.
template <typename MovePayload>
void transpose_structure(int64_t rows, int64_t cols, const std::vector<int64_t>& row_ptr,
                         const std::vector<int32_t>& col_idx, std::vector<int64_t>* t_row_ptr,
                         std::vector<int32_t>* t_col_idx, MovePayload move) {
  t_row_ptr->assign(cols + 1, 0);
  for (int32_t c : col_idx) ++(*t_row_ptr)[c + 1];
  for (int64_t c = 0; c < cols; ++c) (*t_row_ptr)[c + 1] += (*t_row_ptr)[c];
  t_col_idx->resize(col_idx.size());
  std::vector<int64_t> next(t_row_ptr->begin(), t_row_ptr->end() - 1);
  // Walking source rows in order keeps each transposed row's columns ascending.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      const int64_t dst = next[col_idx[k]]++;
      (*t_col_idx)[dst] = static_cast<int32_t>(r);
      move(k, dst);
    }
  }
}

}  // namespace

namespace {

// CSR of the rows x cols matrix whose entry (r, c) is dense[r * row_stride + c * col_stride]: the
// matrix itself (row_stride = cols, col_stride = 1) or its transpose (1, rows of the stored one).
CsrMatrix csr_from_strided(const float* dense, int64_t rows, int64_t cols, int64_t row_stride,
                           int64_t col_stride) {
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr.assign(rows + 1, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float v = dense[r * row_stride + c * col_stride];
      if (v != 0.0f) {
        m.col_idx.push_back(static_cast<int32_t>(c));
        m.values.push_back(v);
      }
    }
    m.row_ptr[r + 1] = static_cast<int64_t>(m.values.size());
  }
  return m;
}

}  // namespace

CsrMatrix CsrMatrix::from_dense(const float* dense, int64_t rows, int64_t cols) {
  return csr_from_strided(dense, rows, cols, cols, 1);
}

CsrMatrix CsrMatrix::from_dense_transposed(const float* dense, int64_t rows, int64_t cols) {
  return csr_from_strided(dense, cols, rows, 1, cols);
}

void CsrMatrix::to_dense(float* dense) const {
  std::fill(dense, dense + rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) dense[r * cols + col_idx[k]] = values[k];
  }
}

std::string CsrMatrix::check_structure() const {
  if (values.size() != col_idx.size()) return "values and col_idx differ in length";
  return check_rows_and_columns(rows, cols, row_ptr, col_idx);
}

void CodebookCsrMatrix::to_dense(float* dense) const {
  std::fill(dense, dense + rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) dense[r * cols + col_idx[k]] = value(k);
  }
}

std::string CodebookCsrMatrix::check_structure() const {
  if (codebook.empty() && !col_idx.empty()) return "nonzeros but an empty codebook";
  if (codebook.size() > 65536) return "codebook has more than 65536 entries";
  const size_t n = col_idx.size();
  if (wide() ? cluster16.size() != n : cluster.size() != n) {
    return "cluster indices and col_idx differ in length";
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t c = wide() ? cluster16[k] : cluster[k];
    if (c >= codebook.size()) {
      return "cluster index " + std::to_string(c) + " >= codebook size " +
             std::to_string(codebook.size());
    }
  }
  return check_rows_and_columns(rows, cols, row_ptr, col_idx);
}

bool codebook_csr_from(int64_t rows, int64_t cols, std::span<const int64_t> positions,
                       std::span<const uint32_t> clusters, std::span<const float> codebook,
                       CodebookCsrMatrix* out, std::string* error) {
  auto fail = [&](std::string message) {
    *error = "codebook-CSR: " + std::move(message);
    return false;
  };
  if (rows < 0 || cols < 0) return fail("negative shape");
  if (cols > std::numeric_limits<int32_t>::max()) return fail("too many columns");
  if (rows > 0 && cols > std::numeric_limits<int64_t>::max() / rows) return fail("shape overflows");
  if (positions.size() != clusters.size()) {
    return fail(std::to_string(positions.size()) + " positions but " +
                std::to_string(clusters.size()) + " cluster indices");
  }
  if (codebook.size() > 65536) return fail("codebook has more than 65536 entries");
  if (codebook.empty() && !positions.empty()) return fail("nonzeros but an empty codebook");
  const int64_t total = rows * cols;
  const size_t nnz = positions.size();
  if (static_cast<uint64_t>(nnz) > static_cast<uint64_t>(total)) {
    return fail("more nonzeros than elements");
  }
  for (size_t k = 0; k < nnz; ++k) {
    if (positions[k] < 0 || positions[k] >= total) {
      return fail("position " + std::to_string(positions[k]) + " out of range for " +
                  std::to_string(rows) + "x" + std::to_string(cols));
    }
    if (k > 0 && positions[k] <= positions[k - 1]) {
      return fail("positions not strictly ascending at nonzero " + std::to_string(k));
    }
    if (clusters[k] >= codebook.size()) {
      return fail("cluster index " + std::to_string(clusters[k]) + " >= codebook size " +
                  std::to_string(codebook.size()) + " at nonzero " + std::to_string(k));
    }
  }
  CodebookCsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.codebook.assign(codebook.begin(), codebook.end());
  m.row_ptr.assign(rows + 1, 0);
  m.col_idx.resize(nnz);
  const bool wide = m.wide();
  if (wide) {
    m.cluster16.resize(nnz);
  } else {
    m.cluster.resize(nnz);
  }
  for (size_t k = 0; k < nnz; ++k) {
    const int64_t r = positions[k] / cols;
    ++m.row_ptr[r + 1];
    m.col_idx[k] = static_cast<int32_t>(positions[k] - r * cols);
    if (wide) {
      m.cluster16[k] = static_cast<uint16_t>(clusters[k]);
    } else {
      m.cluster[k] = static_cast<uint8_t>(clusters[k]);
    }
  }
  for (int64_t r = 0; r < rows; ++r) m.row_ptr[r + 1] += m.row_ptr[r];
  *out = std::move(m);
  return true;
}

CsrMatrix csr_transpose(const CsrMatrix& m) {
  CsrMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.values.resize(m.values.size());
  transpose_structure(m.rows, m.cols, m.row_ptr, m.col_idx, &t.row_ptr, &t.col_idx,
                      [&](int64_t src, int64_t dst) { t.values[dst] = m.values[src]; });
  return t;
}

CodebookCsrMatrix codebook_csr_transpose(const CodebookCsrMatrix& m) {
  CodebookCsrMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.codebook = m.codebook;
  t.cluster.resize(m.cluster.size());
  t.cluster16.resize(m.cluster16.size());
  const bool wide = m.wide();
  transpose_structure(m.rows, m.cols, m.row_ptr, m.col_idx, &t.row_ptr, &t.col_idx,
                      [&](int64_t src, int64_t dst) {
                        if (wide) {
                          t.cluster16[dst] = m.cluster16[src];
                        } else {
                          t.cluster[dst] = m.cluster[src];
                        }
                      });
  return t;
}

bool CompactCodebookCsr::fits(const CodebookCsrMatrix& m) {
  return m.cols <= kMaxCols && !m.wide();
}

CompactCodebookCsr CompactCodebookCsr::from(const CodebookCsrMatrix& m) {
  CompactCodebookCsr c;
  c.rows = m.rows;
  c.cols = m.cols;
  c.row_ptr = m.row_ptr;
  // A column index is < cols <= 65536, so it fits 16 bits.
  c.col_idx.assign(m.col_idx.begin(), m.col_idx.end());
  c.cluster = m.cluster;
  c.codebook = m.codebook;
  return c;
}

int64_t CompactCodebookCsr::bytes() const {
  return nnz() * static_cast<int64_t>(sizeof(uint16_t) + sizeof(uint8_t)) +
         static_cast<int64_t>(row_ptr.size() * sizeof(int64_t) + codebook.size() * sizeof(float));
}

bool GroupedCodebookCsr::fits(const CodebookCsrMatrix& m) {
  return m.cols <= kMaxCols && !m.wide();
}

int64_t GroupedCodebookCsr::count_runs(const CodebookCsrMatrix& m) {
  int64_t runs = 0;
  std::vector<int64_t> seen_in_row(m.codebook.size(), -1);
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t e = m.row_ptr[r]; e < m.row_ptr[r + 1]; ++e) {
      const size_t c = m.wide() ? m.cluster16[e] : m.cluster[e];
      if (seen_in_row[c] != r) {
        seen_in_row[c] = r;
        ++runs;
      }
    }
  }
  return runs;
}

bool GroupedCodebookCsr::pays_off(const CodebookCsrMatrix& m) {
  return fits(m) && m.nnz() >= kMinMeanRun * count_runs(m);
}

GroupedCodebookCsr GroupedCodebookCsr::from(const CodebookCsrMatrix& m) {
  GroupedCodebookCsr g;
  g.rows = m.rows;
  g.cols = m.cols;
  g.codebook = m.codebook;
  g.row_ptr = m.row_ptr;
  g.col_idx.assign(m.nnz() + kPadding, 0);
  g.run_ptr.assign(m.rows + 1, 0);
  const int64_t k = static_cast<int64_t>(m.codebook.size());
  std::vector<int64_t> count(k), next(k);
  for (int64_t r = 0; r < m.rows; ++r) {
    const int64_t begin = m.row_ptr[r], end = m.row_ptr[r + 1];
    std::fill(count.begin(), count.end(), 0);
    for (int64_t e = begin; e < end; ++e) ++count[m.cluster[e]];
    // Counting sort by cluster; walking the row in column order keeps columns ascending in a run.
    int64_t at = begin;
    for (int64_t c = 0; c < k; ++c) {
      next[c] = at;
      at += count[c];
      for (int64_t left = count[c]; left > 0; left -= kMaxRun) {
        g.run_cluster.push_back(static_cast<uint8_t>(c));
        g.run_length.push_back(static_cast<uint16_t>(std::min(left, kMaxRun)));
      }
    }
    // A column index is < cols <= 65536, so it fits 16 bits.
    for (int64_t e = begin; e < end; ++e) {
      g.col_idx[next[m.cluster[e]]++] = static_cast<uint16_t>(m.col_idx[e]);
    }
    g.run_ptr[r + 1] = g.runs();
  }
  return g;
}

void GroupedCodebookCsr::to_dense(float* dense) const {
  std::fill(dense, dense + rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t e = row_ptr[r];
    for (int64_t t = run_ptr[r]; t < run_ptr[r + 1]; ++t) {
      for (int64_t i = 0; i < run_length[t]; ++i, ++e) {
        dense[r * cols + col_idx[e]] = codebook[run_cluster[t]];
      }
    }
  }
}

int64_t GroupedCodebookCsr::bytes() const {
  return nnz() * static_cast<int64_t>(sizeof(uint16_t)) +
         runs() * static_cast<int64_t>(sizeof(uint8_t) + sizeof(uint16_t)) +
         static_cast<int64_t>((row_ptr.size() + run_ptr.size()) * sizeof(int64_t) +
                              codebook.size() * sizeof(float));
}

bool ClusterBlockCsr::fits(const CodebookCsrMatrix& m) { return m.cols <= kMaxCols && !m.wide(); }

int64_t ClusterBlockCsr::count_blocks(const CodebookCsrMatrix& m) {
  int64_t blocks = 0;
  std::vector<int64_t> count(m.codebook.size(), 0);
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t e = m.row_ptr[r]; e < m.row_ptr[r + 1]; ++e) {
      // A group gets a new block at its 1st, 9th, 17th, ... nonzero.
      const size_t c = m.wide() ? m.cluster16[e] : m.cluster[e];
      if (count[c]++ % kBlock == 0) ++blocks;
    }
    for (int64_t e = m.row_ptr[r]; e < m.row_ptr[r + 1]; ++e) {
      count[m.wide() ? m.cluster16[e] : m.cluster[e]] = 0;
    }
  }
  return blocks;
}

bool ClusterBlockCsr::pays_off(const CodebookCsrMatrix& m) {
  return fits(m) && kBlock * count_blocks(m) <= kMaxPaddedRatio * m.nnz();
}

ClusterBlockCsr ClusterBlockCsr::from(const CodebookCsrMatrix& m) {
  ClusterBlockCsr b;
  b.rows = m.rows;
  b.cols = m.cols;
  b.nonzeros = m.nnz();
  b.codebook = m.codebook;
  b.block_ptr.assign(m.rows + 1, 0);
  const int64_t k = static_cast<int64_t>(m.codebook.size());
  std::vector<int64_t> count(k), next(k);
  for (int64_t r = 0; r < m.rows; ++r) {
    const int64_t begin = m.row_ptr[r], end = m.row_ptr[r + 1];
    std::fill(count.begin(), count.end(), 0);
    for (int64_t e = begin; e < end; ++e) ++count[m.cluster[e]];
    // Counting sort by cluster into padded groups; walking the row in column order keeps the
    // columns ascending within a group.
    int64_t at = static_cast<int64_t>(b.col_idx.size());
    for (int64_t c = 0; c < k; ++c) {
      next[c] = at;
      const int64_t blocks = (count[c] + kBlock - 1) / kBlock;
      b.block_cluster.insert(b.block_cluster.end(), blocks, static_cast<uint8_t>(c));
      at += blocks * kBlock;
    }
    b.col_idx.resize(at, static_cast<uint16_t>(m.cols));
    // A column index is < cols <= 65535, so it fits 16 bits.
    for (int64_t e = begin; e < end; ++e) {
      b.col_idx[next[m.cluster[e]]++] = static_cast<uint16_t>(m.col_idx[e]);
    }
    b.block_ptr[r + 1] = b.blocks();
  }
  return b;
}

void ClusterBlockCsr::to_dense(float* dense) const {
  std::fill(dense, dense + rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = block_ptr[r]; t < block_ptr[r + 1]; ++t) {
      for (int64_t i = t * kBlock; i < (t + 1) * kBlock; ++i) {
        if (col_idx[i] < cols) dense[r * cols + col_idx[i]] = codebook[block_cluster[t]];
      }
    }
  }
}

int64_t ClusterBlockCsr::bytes() const {
  return blocks() * static_cast<int64_t>(kBlock * sizeof(uint16_t) + sizeof(uint8_t)) +
         static_cast<int64_t>(block_ptr.size() * sizeof(int64_t) + codebook.size() * sizeof(float));
}

}  // namespace deepcomp::kernels
