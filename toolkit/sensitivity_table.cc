// CSV, JSON and SVG of a sensitivity analysis (toolkit/sensitivity_table.h).
#include "toolkit/sensitivity_table.h"

#include <fmt/format.h>

#include <iterator>

#include "toolkit/svg_plot.h"

namespace deepcomp::cli {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

nlohmann::ordered_json point_json(const compress::SensitivityPoint& p) {
  nlohmann::ordered_json j;
  j["prune"] = p.prune;
  j["bits"] = p.bits;
  j["score"] = p.score;
  j["loss_points"] = 100 * p.loss;
  j["samples"] = p.samples;
  j["bytes"] = p.bytes;
  return j;
}

}  // namespace

std::string sensitivity_csv(const compress::Sensitivity& s, const std::string& metric) {
  std::string out =
      fmt::format("layer,kind,params,curve,prune,bits,{},loss_points,samples,bytes\n", metric);
  out += fmt::format("(uncompressed),,,none,0,32,{:.6f},0,{},\n", s.base_score, s.samples);
  for (const compress::LayerSensitivity& l : s.layers) {
    for (const auto* curve : {&l.prune, &l.share}) {
      for (const compress::SensitivityPoint& p : *curve) {
        out += fmt::format("{},{},{},{},{:g},{},{:.6f},{:.4f},{},{:.1f}\n", csv_field(l.tensor),
                           l.kind, l.params, curve == &l.prune ? "prune" : "share", p.prune, p.bits,
                           p.score, 100 * p.loss, p.samples, p.bytes);
      }
    }
  }
  return out;
}

nlohmann::ordered_json sensitivity_json(const compress::Sensitivity& s, const std::string& metric) {
  nlohmann::ordered_json j;
  j["metric"] = metric;
  j["base_score"] = s.base_score;
  j["samples"] = s.samples;
  j["subset"] = s.subset;
  j["subset_base_score"] = s.subset_base_score;
  j["evaluations"] = s.evaluations;
  j["full_evaluations"] = s.full_evaluations;
  j["layers"] = nlohmann::ordered_json::array();
  for (const compress::LayerSensitivity& l : s.layers) {
    nlohmann::ordered_json lj;
    lj["name"] = l.tensor;
    lj["kind"] = l.kind;
    lj["params"] = l.params;
    lj["original_bytes"] = l.original_bytes;
    lj["prune"] = nlohmann::ordered_json::array();
    for (const auto& p : l.prune) lj["prune"].push_back(point_json(p));
    lj["share"] = nlohmann::ordered_json::array();
    for (const auto& p : l.share) lj["share"].push_back(point_json(p));
    j["layers"].push_back(lj);
  }
  return j;
}

std::string sensitivity_svg(const compress::Sensitivity& s, const std::string& metric,
                            const std::string& model_name) {
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  static const svg::Marker kMarkers[] = {svg::Marker::kCircle, svg::Marker::kSquare,
                                         svg::Marker::kTriangle, svg::Marker::kDiamond};
  const std::string y = metric == "top1" ? "top-1 accuracy (%)" : "top-1 agreement (%)";
  svg::Figure fig;
  fig.title = "Sensitivity of " + model_name + ": each layer compressed alone";
  svg::Panel prune, share;
  prune.title = "Pruning (no weight sharing)";
  prune.x.label = "fraction of the layer's weights pruned (%)";
  prune.y.label = y;
  prune.legend = svg::LegendPosition::kBottomLeft;
  share.title = "Weight sharing (no pruning)";
  share.x.label = "bits per shared weight";
  share.y.label = y;
  share.legend = svg::LegendPosition::kBottomRight;
  for (svg::Panel* p : {&prune, &share}) {
    svg::RefLine base;
    base.at = 100 * s.base_score;
    base.label = "uncompressed";
    p->hlines.push_back(base);
  }
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const compress::LayerSensitivity& l = s.layers[i];
    svg::Series a;
    a.label = l.tensor;
    a.color = kColors[i % std::size(kColors)];
    a.marker = kMarkers[i % std::size(kMarkers)];
    a.line = true;
    a.x.push_back(0);
    a.y.push_back(100 * s.base_score);
    for (const auto& p : l.prune) {
      a.x.push_back(100 * p.prune);
      a.y.push_back(100 * p.score);
    }
    svg::Series b = a;
    b.x.clear();
    b.y.clear();
    for (const auto& p : l.share) {
      b.x.push_back(p.bits);
      b.y.push_back(100 * p.score);
    }
    prune.series.push_back(std::move(a));
    share.series.push_back(std::move(b));
  }
  fig.panels = {prune, share};
  return svg::render(fig);
}

}  // namespace deepcomp::cli
