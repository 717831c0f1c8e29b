#include "toolkit/sweep_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "toolkit/svg_plot.h"

namespace deepcomp::cli {

double dense_weight_energy_uj(int64_t params) {
  return static_cast<double>(params) * kDramPjPer32Bit * 1e-6;
}

double compressed_weight_energy_uj(double huffman_bytes, int64_t nonzero) {
  const double words = huffman_bytes * 8.0 / 32.0;
  return (words * kDramPjPer32Bit + static_cast<double>(nonzero) * (kFloatMulPj + kFloatAddPj)) *
         1e-6;
}

double SweepRow::score() const {
  if (!unlabelled) return top1();
  return top1_agreement ? *top1_agreement : 1.0 - rel_l2;
}

namespace {

// The columns every row has, before and after the quality columns of its kind.
constexpr const char* kSizeColumns =
    "prune,bits,init,params,nonzero,original_bytes,pruned_bytes,quantized_bytes,huffman_bytes,"
    "file_bytes,ratio";
constexpr const char* kLabelledColumns = "top1,top5,correct,correct5,count";
constexpr const char* kUnlabelledColumns = "top1_agreement,rel_l2,cosine,samples";
constexpr const char* kTailColumns = "weight_energy_uj,setting,settings,model,sweep_id";

std::string header(bool unlabelled) {
  return fmt::format("{},{},{}\n", kSizeColumns, unlabelled ? kUnlabelledColumns : kLabelledColumns,
                     kTailColumns);
}

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Splits one CSV record (no line breaks inside quoted fields: sweep_csv never writes them).
Result<std::vector<std::string>> split_record(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return Status::Error("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          field += line[i];
        }
      }
      if (i < line.size() && line[i] != ',') return Status::Error("text after a quoted field");
    } else {
      const size_t comma = line.find(',', i);
      field = line.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
      i = comma == std::string::npos ? line.size() : comma;
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

template <typename T>
Result<T> parse_number(const std::string& text, const char* column) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return Status::Error(fmt::format("column '{}': '{}' is not a number", column, text));
  return value;
}

}  // namespace

std::string sweep_csv(const std::vector<SweepRow>& rows) {
  const bool unlabelled = !rows.empty() && rows.front().unlabelled;
  std::string out = header(unlabelled);
  for (const SweepRow& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},", r.prune, r.bits, r.init, r.params,
                       r.nonzero, r.original_bytes, r.pruned_bytes, r.quantized_bytes,
                       r.huffman_bytes, r.file_bytes, r.ratio);
    if (unlabelled) {
      out +=
          fmt::format("{},{},{},{},", r.top1_agreement ? fmt::format("{}", *r.top1_agreement) : "",
                      r.rel_l2, r.cosine, r.samples);
    } else {
      out += fmt::format("{:.4f},{:.4f},{},{},{},", r.top1(), r.top5(), r.correct, r.correct5,
                         r.count);
    }
    out += fmt::format("{},{},{},{},{}\n", r.weight_energy_uj, r.setting, r.settings,
                       csv_field(r.model), r.sweep_id);
  }
  return out;
}

Result<std::vector<SweepRow>> parse_sweep_csv(const std::string& text, const std::string& path) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  if (lines.empty()) return Status::Error(path + ": empty file, not a sweep CSV");
  const bool unlabelled = lines[0] + "\n" == header(true);
  if (!unlabelled && lines[0] + "\n" != header(false))
    return Status::Error(path +
                         ": not a CSV written by this version of `deepcomp sweep` (its header "
                         "differs; expected '" +
                         header(false).substr(0, header(false).size() - 1) + "')");
  auto names = split_record(lines[0]);
  if (!names.ok()) return names.status().WithContext(path);
  std::vector<SweepRow> rows;
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::string where = fmt::format("{}: line {}", path, n + 1);
    auto fields = split_record(lines[n]);
    if (!fields.ok()) return fields.status().WithContext(where);
    if (fields->size() != names->size())
      return Status::Error(fmt::format("{}: {} fields where the header has {}", where,
                                       fields->size(), names->size()));
    std::map<std::string, std::string> f;
    for (size_t i = 0; i < names->size(); ++i) f[(*names)[i]] = (*fields)[i];
    SweepRow r;
    r.unlabelled = unlabelled;
    r.init = f["init"];
    r.model = f["model"];
    r.sweep_id = f["sweep_id"];
    Status status = [&]() -> Status {
      DEEPCOMP_ASSIGN_OR_RETURN(r.prune, parse_number<double>(f["prune"], "prune"));
      DEEPCOMP_ASSIGN_OR_RETURN(r.bits, parse_number<int>(f["bits"], "bits"));
      DEEPCOMP_ASSIGN_OR_RETURN(r.params, parse_number<int64_t>(f["params"], "params"));
      DEEPCOMP_ASSIGN_OR_RETURN(r.nonzero, parse_number<int64_t>(f["nonzero"], "nonzero"));
      for (auto [column, value] : {std::pair{"original_bytes", &r.original_bytes},
                                   {"pruned_bytes", &r.pruned_bytes},
                                   {"quantized_bytes", &r.quantized_bytes},
                                   {"huffman_bytes", &r.huffman_bytes},
                                   {"file_bytes", &r.file_bytes},
                                   {"ratio", &r.ratio},
                                   {"weight_energy_uj", &r.weight_energy_uj}}) {
        DEEPCOMP_ASSIGN_OR_RETURN(*value, parse_number<double>(f[column], column));
      }
      if (unlabelled) {
        if (!f["top1_agreement"].empty()) {
          DEEPCOMP_ASSIGN_OR_RETURN(r.top1_agreement,
                                    parse_number<double>(f["top1_agreement"], "top1_agreement"));
        }
        DEEPCOMP_ASSIGN_OR_RETURN(r.rel_l2, parse_number<double>(f["rel_l2"], "rel_l2"));
        DEEPCOMP_ASSIGN_OR_RETURN(r.cosine, parse_number<double>(f["cosine"], "cosine"));
        DEEPCOMP_ASSIGN_OR_RETURN(r.samples, parse_number<int64_t>(f["samples"], "samples"));
      } else {  // top1 and top5 are derived from the counts
        DEEPCOMP_ASSIGN_OR_RETURN(r.correct, parse_number<int64_t>(f["correct"], "correct"));
        DEEPCOMP_ASSIGN_OR_RETURN(r.correct5, parse_number<int64_t>(f["correct5"], "correct5"));
        DEEPCOMP_ASSIGN_OR_RETURN(r.count, parse_number<int64_t>(f["count"], "count"));
      }
      DEEPCOMP_ASSIGN_OR_RETURN(r.setting, parse_number<int64_t>(f["setting"], "setting"));
      DEEPCOMP_ASSIGN_OR_RETURN(r.settings, parse_number<int64_t>(f["settings"], "settings"));
      return Status::Ok();
    }();
    if (!status.ok()) return status.WithContext(where);
    rows.push_back(std::move(r));
  }
  return rows;
}

nlohmann::ordered_json sweep_json(const std::vector<SweepRow>& rows) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::array();
  for (const SweepRow& r : rows) {
    nlohmann::ordered_json j;
    j["prune"] = r.prune;
    j["bits"] = r.bits;
    j["init"] = r.init;
    j["params"] = r.params;
    j["nonzero"] = r.nonzero;
    j["original_bytes"] = r.original_bytes;
    j["pruned_bytes"] = r.pruned_bytes;
    j["quantized_bytes"] = r.quantized_bytes;
    j["huffman_bytes"] = r.huffman_bytes;
    j["file_bytes"] = r.file_bytes;
    j["ratio"] = r.ratio;
    if (r.unlabelled) {
      j["top1_agreement"] = r.top1_agreement ? nlohmann::ordered_json(*r.top1_agreement) : nullptr;
      j["rel_l2"] = std::isfinite(r.rel_l2) ? nlohmann::ordered_json(r.rel_l2) : nullptr;
      j["cosine"] = std::isfinite(r.cosine) ? nlohmann::ordered_json(r.cosine) : nullptr;
      j["samples"] = r.samples;
    } else {
      j["top1"] = r.top1();
      j["top5"] = r.top5();
      j["correct"] = r.correct;
      j["correct5"] = r.correct5;
      j["count"] = r.count;
    }
    j["weight_energy_uj"] = r.weight_energy_uj;
    j["setting"] = r.setting;
    j["settings"] = r.settings;
    j["model"] = r.model;
    j["sweep_id"] = r.sweep_id;
    doc.push_back(std::move(j));
  }
  return doc;
}

std::string sweep_svg(const std::vector<SweepRow>& rows, const std::string& model_name) {
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  static const svg::Marker kMarkers[] = {svg::Marker::kCircle, svg::Marker::kSquare,
                                         svg::Marker::kTriangle, svg::Marker::kDiamond};
  svg::Panel panel;
  panel.x.label = "compressed size: .dcz file (KB, log scale)";
  panel.x.log = true;
  // What score() is for these rows, for the labels.
  const bool unlabelled = !rows.empty() && rows.front().unlabelled;
  const bool agreement = unlabelled && rows.front().top1_agreement.has_value();
  const std::string metric = !unlabelled ? "top-1 accuracy"
                             : agreement ? "top-1 agreement with the original"
                                         : "1 - rel_l2 against the original";
  panel.y.label = metric + " (%)";
  panel.legend = svg::LegendPosition::kBottomRight;
  const SweepRow* baseline = nullptr;
  std::vector<std::string> inits;  // in first-seen order
  std::map<std::string, svg::Series> by_init;
  std::vector<const SweepRow*> points;
  for (const SweepRow& r : rows) {
    if (r.init == "none") {
      baseline = &r;
      continue;
    }
    if (!by_init.count(r.init)) {
      const size_t i = inits.size();
      inits.push_back(r.init);
      svg::Series s;
      s.label = "init " + r.init;
      s.color = kColors[i % std::size(kColors)];
      s.marker = kMarkers[i % std::size(kMarkers)];
      by_init[r.init] = s;
    }
    by_init[r.init].x.push_back(r.file_bytes / 1024.0);
    by_init[r.init].y.push_back(100.0 * r.score());
    points.push_back(&r);
  }
  // The Pareto front: walking up in size, each point more accurate than every smaller one.
  std::stable_sort(points.begin(), points.end(), [](const SweepRow* a, const SweepRow* b) {
    return a->file_bytes < b->file_bytes;
  });
  svg::Series front;
  front.label = "Pareto front";
  front.color = "#222222";
  front.marker = svg::Marker::kNone;
  front.line = true;
  front.step = true;
  front.line_width = 1.2;
  double best = -std::numeric_limits<double>::infinity();
  for (const SweepRow* r : points) {
    if (r->score() > best) {
      best = r->score();
      front.x.push_back(r->file_bytes / 1024.0);
      front.y.push_back(100.0 * best);
    }
  }
  if (!front.x.empty()) panel.series.push_back(front);
  for (const std::string& init : inits) panel.series.push_back(by_init[init]);
  if (baseline) {
    svg::RefLine line;
    line.at = 100.0 * baseline->score();
    line.label = fmt::format("uncompressed, {:.1f} KB: {:.2f}%", baseline->file_bytes / 1024.0,
                             100.0 * baseline->score());
    line.color = "#d62728";
    panel.hlines.push_back(line);
  }
  svg::Figure figure;
  if (unlabelled) {
    figure.title = fmt::format("{}: {} vs compressed size ({} samples, no labels)", model_name,
                               metric, rows.front().samples);
  } else {
    const int64_t count = rows.empty() ? 0 : rows.front().count;
    figure.title =
        fmt::format("{}: top-1 accuracy vs compressed size ({} images)", model_name, count);
  }
  figure.panels.push_back(std::move(panel));
  return svg::render(figure);
}

}  // namespace deepcomp::cli
