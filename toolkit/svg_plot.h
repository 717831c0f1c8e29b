// A small SVG writer for the CLI's pictures: one or more panels stacked vertically, each with
// axes (linear or log, "nice" ticks and labels), scatter / line / step series with markers,
// horizontal and vertical reference lines, histogram bars, and a legend. Output is well-formed,
// standalone SVG 1.1 (every text escaped), readable by browsers and rsvg-convert. Depends only on
// the standard library and fmt; knows nothing about models.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deepcomp::cli::svg {

enum class Marker { kNone, kCircle, kSquare, kTriangle, kDiamond };

struct Series {
  std::string label;  // "" = not in the legend
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  Marker marker = Marker::kCircle;
  bool line = false;  // join the points in order
  bool step = false;  // with line: horizontal then vertical segments (a step function)
  bool dashed = false;
  double line_width = 1.5;
};

// A horizontal (at y) or vertical (at x) line across the whole panel.
struct RefLine {
  double at = 0;
  std::string label;  // legend entry ("" = none)
  std::string color = "#555555";
  bool dashed = true;
  double line_width = 1.5;
  double opacity = 1.0;
};

// Histogram bars: bin i covers [edges[i], edges[i+1]) with height heights[i].
struct Bars {
  std::string label;
  std::vector<double> edges;
  std::vector<double> heights;
  std::string color = "#1f77b4";
  double opacity = 0.8;
};

struct Axis {
  std::string label;
  bool log = false;                // base 10; data <= 0 is left out
  std::optional<double> min, max;  // default: from the data, widened to ticks
};

enum class LegendPosition { kTopRight, kTopLeft, kBottomRight, kBottomLeft };

struct Panel {
  std::string title;
  Axis x, y;
  std::vector<Bars> bars;
  std::vector<RefLine> hlines;
  std::vector<RefLine> vlines;
  std::vector<Series> series;
  LegendPosition legend = LegendPosition::kTopRight;
};

struct Figure {
  std::string title;  // over all panels
  std::vector<Panel> panels;
  int width = 860;
  int panel_height = 460;
};

// The whole SVG document.
std::string render(const Figure& figure);

// Escapes & < > " ' for XML text and attribute values; drops control characters XML 1.0 forbids.
std::string escape_xml(std::string_view text);

// About `target` ticks at 1, 2 or 5 x 10^k steps covering [lo, hi] (the first <= lo, the last
// >= hi). lo == hi gives a small range around the value.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// Ticks for a log axis over [lo, hi] (both > 0): powers of ten, with 2 and 5 (or every digit)
// between them when the range spans few decades. Sorted, within [lo, hi].
std::vector<double> log_ticks(double lo, double hi);

// A tick label: integers without decimals, else the fewest decimals that tell `step` apart.
std::string tick_label(double value, double step);

// Histogram of `values` (weights[i] each, or 1 when `weights` is empty) in `bins` equal bins over
// [lo, hi]; values outside are clamped into the end bins.
Bars histogram(const std::vector<double>& values, const std::vector<double>& weights, double lo,
               double hi, int bins);

}  // namespace deepcomp::cli::svg
