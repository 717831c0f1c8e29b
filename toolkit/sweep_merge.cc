#include "toolkit/sweep_merge.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace deepcomp::cli {
namespace {

Result<int64_t> parse_count(const std::string& text, const std::string& spec) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return Status::Error("--shard: '" + spec + "' is not K/N (two whole numbers, 1 <= K <= N)");
  return value;
}

}  // namespace

Result<Shard> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos)
    return Status::Error("--shard: '" + text + "' is not K/N (e.g. 2/8: the second of 8 shards)");
  Shard shard;
  DEEPCOMP_ASSIGN_OR_RETURN(shard.index, parse_count(text.substr(0, slash), text));
  DEEPCOMP_ASSIGN_OR_RETURN(shard.count, parse_count(text.substr(slash + 1), text));
  if (shard.count < 1 || shard.index < 1 || shard.index > shard.count)
    return Status::Error("--shard: '" + text + "': K must be in 1..N and N at least 1 (shards " +
                         "are numbered from 1)");
  return shard;
}

Result<std::vector<SweepRow>> merge_shards(const std::vector<ShardFile>& shards) {
  if (shards.empty()) return Status::Error("--merge: no shard files given");
  const ShardFile& first = shards.front();
  if (first.rows.empty() || first.rows.front().setting != 0)
    return Status::Error(first.path + ": no baseline row (setting 0) first: not a sweep's CSV");
  const SweepRow& baseline = first.rows.front();
  // The baseline row is the model evaluated uncompressed on the sweep's data: the same in every
  // shard of one sweep, and a fingerprint of the model and the data the sweep_id does not cover.
  const std::string baseline_line = sweep_csv({baseline});
  std::map<int64_t, std::pair<SweepRow, std::string>> settings;  // position -> row, its file
  for (const ShardFile& shard : shards) {
    if (shard.rows.empty() || shard.rows.front().setting != 0)
      return Status::Error(shard.path + ": no baseline row (setting 0) first: not a sweep's CSV");
    if (shard.rows.front().sweep_id != baseline.sweep_id ||
        shard.rows.front().settings != baseline.settings ||
        shard.rows.front().model != baseline.model)
      return Status::Error(fmt::format(
          "{}: a shard of another sweep than {} (model '{}', grid {} of {} settings against "
          "model '{}', grid {} of {}): shards merge only with shards of the same model, grid, "
          "seed and data",
          shard.path, first.path, shard.rows.front().model, shard.rows.front().sweep_id,
          shard.rows.front().settings, baseline.model, baseline.sweep_id, baseline.settings));
    if (sweep_csv({shard.rows.front()}) != baseline_line)
      return Status::Error(shard.path + ": its baseline row differs from " + first.path +
                           "'s: the shards evaluated different models or data");
    for (size_t i = 1; i < shard.rows.size(); ++i) {
      const SweepRow& row = shard.rows[i];
      if (row.sweep_id != baseline.sweep_id || row.settings != baseline.settings ||
          row.model != baseline.model)
        return Status::Error(fmt::format("{}: row {} belongs to another sweep than its baseline",
                                         shard.path, i + 1));
      if (row.setting < 1 || row.setting > baseline.settings)
        return Status::Error(fmt::format("{}: row {} has setting {}, outside 1..{}", shard.path,
                                         i + 1, row.setting, baseline.settings));
      auto [it, inserted] = settings.emplace(row.setting, std::pair{row, shard.path});
      if (!inserted)
        return Status::Error(fmt::format("setting {} appears twice: in {} and in {}", row.setting,
                                         it->second.second, shard.path));
    }
  }
  if (static_cast<int64_t>(settings.size()) != baseline.settings) {
    std::string missing;
    int listed = 0;
    for (int64_t k = 1; k <= baseline.settings && listed < 8; ++k) {
      if (settings.count(k)) continue;
      missing += (listed++ ? ", " : "") + std::to_string(k);
    }
    return Status::Error(fmt::format(
        "--merge: {} of the sweep's {} settings are missing (settings {}{}): is a shard file "
        "missing?",
        baseline.settings - static_cast<int64_t>(settings.size()), baseline.settings, missing,
        baseline.settings - static_cast<int64_t>(settings.size()) > listed ? ", ..." : ""));
  }
  std::vector<SweepRow> rows{baseline};
  for (auto& [position, entry] : settings) rows.push_back(std::move(entry.first));
  return rows;
}

}  // namespace deepcomp::cli
