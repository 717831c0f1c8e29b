// `deepcomp sweep --shard K/N` and `--merge`: which settings of the grid a shard evaluates, and
// the rows of the whole sweep put back together from its shards' CSVs, checked to be one sweep
// (same grid, model and evaluation data) with every setting present exactly once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "toolkit/sweep_table.h"
#include "core/status.h"

namespace deepcomp::cli {

struct Shard {
  int64_t index = 1, count = 1;  // "K/N": shard K (1-based) of N
  // Setting `position` (0-based, in grid order) belongs to this shard.
  bool owns(int64_t position) const { return position % count == index - 1; }
};

// "K/N" with 1 <= K <= N.
Result<Shard> parse_shard(const std::string& text);

struct ShardFile {
  std::string path;
  std::vector<SweepRow> rows;  // as parse_sweep_csv read them
};

// The unsharded sweep's rows: the baseline, then every setting in grid order.
Result<std::vector<SweepRow>> merge_shards(const std::vector<ShardFile>& shards);

}  // namespace deepcomp::cli
