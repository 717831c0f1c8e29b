#include "cli/sweep_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "cli/svg_plot.h"

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

std::string unlabelled_csv(const std::vector<SweepRow>& rows) {
  std::string out =
      "prune,bits,init,params,nonzero,original_bytes,pruned_bytes,quantized_bytes,huffman_bytes,"
      "file_bytes,ratio,top1_agreement,rel_l2,cosine,samples,weight_energy_uj\n";
  for (const SweepRow& r : rows) {
    const std::string top1 = r.top1_agreement ? fmt::format("{:.4f}", *r.top1_agreement) : "";
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.4f},{},{:.6g},{:.6g},{},{:.4f}\n", r.prune,
                       r.bits, r.init, r.params, r.nonzero, r.original_bytes, r.pruned_bytes,
                       r.quantized_bytes, r.huffman_bytes, r.file_bytes, r.ratio, top1, r.rel_l2,
                       r.cosine, r.samples, r.weight_energy_uj);
  }
  return out;
}

}  // namespace

std::string sweep_csv(const std::vector<SweepRow>& rows) {
  if (!rows.empty() && rows.front().unlabelled) return unlabelled_csv(rows);
  std::string out =
      "prune,bits,init,params,nonzero,original_bytes,pruned_bytes,quantized_bytes,huffman_bytes,"
      "file_bytes,ratio,top1,top5,correct,count,weight_energy_uj\n";
  for (const SweepRow& r : rows)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{},{},{:.4f}\n", r.prune,
                       r.bits, r.init, r.params, r.nonzero, r.original_bytes, r.pruned_bytes,
                       r.quantized_bytes, r.huffman_bytes, r.file_bytes, r.ratio, r.top1(),
                       r.top5(), r.correct, r.count, r.weight_energy_uj);
  return out;
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
      j["count"] = r.count;
    }
    j["weight_energy_uj"] = r.weight_energy_uj;
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
