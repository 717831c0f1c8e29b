#include "toolkit/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace deepcomp::cli::svg {
namespace {

constexpr double kLeft = 82, kRight = 28, kTop = 44, kBottom = 58;
constexpr double kFigureTitle = 38;
constexpr const char* kFont = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

std::string num(double v) { return fmt::format("{:.2f}", v); }

struct Range {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
};

// The axis range and ticks from the data values (finite ones; positive ones on a log axis).
Range make_range(const Axis& axis, std::vector<double> data) {
  Range r;
  r.log = axis.log;
  std::erase_if(data, [&](double v) { return !std::isfinite(v) || (axis.log && v <= 0); });
  double lo = data.empty() ? (axis.log ? 1 : 0) : *std::min_element(data.begin(), data.end());
  double hi = data.empty() ? (axis.log ? 10 : 1) : *std::max_element(data.begin(), data.end());
  if (axis.min && (!axis.log || *axis.min > 0)) lo = *axis.min;
  if (axis.max && (!axis.log || *axis.max > 0)) hi = *axis.max;
  if (hi < lo) std::swap(lo, hi);
  if (axis.log) {
    if (!axis.min) lo /= 1.25;
    if (!axis.max) hi *= 1.25;
    if (hi <= lo) hi = lo * 10;
    r.lo = lo;
    r.hi = hi;
    r.ticks = log_ticks(lo, hi);
    return r;
  }
  std::vector<double> ticks = nice_ticks(lo, hi);
  r.lo = axis.min ? lo : ticks.front();
  r.hi = axis.max ? hi : ticks.back();
  if (r.hi <= r.lo) r.hi = r.lo + 1;
  for (double t : ticks)
    if (t >= r.lo - 1e-9 * (r.hi - r.lo) && t <= r.hi + 1e-9 * (r.hi - r.lo)) r.ticks.push_back(t);
  return r;
}

// Maps a data value to the unit interval of the axis.
double unit(const Range& r, double v) {
  if (r.log) return (std::log10(v) - std::log10(r.lo)) / (std::log10(r.hi) - std::log10(r.lo));
  return (v - r.lo) / (r.hi - r.lo);
}

std::string dash_attr(bool dashed) { return dashed ? " stroke-dasharray=\"7,4\"" : ""; }

std::string marker_svg(Marker m, double x, double y, const std::string& color) {
  const double s = 4.5;
  switch (m) {
    case Marker::kNone:
      return "";
    case Marker::kCircle:
      return fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"#222\" "
          "stroke-width=\"0.6\"/>\n",
          num(x), num(y), num(s), color);
    case Marker::kSquare:
      return fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#222\" "
          "stroke-width=\"0.6\"/>\n",
          num(x - s), num(y - s), num(2 * s), num(2 * s), color);
    case Marker::kTriangle:
      return fmt::format(
          "<polygon points=\"{},{} {},{} {},{}\" fill=\"{}\" stroke=\"#222\" "
          "stroke-width=\"0.6\"/>\n",
          num(x), num(y - 1.3 * s), num(x - 1.2 * s), num(y + s), num(x + 1.2 * s), num(y + s),
          color);
    case Marker::kDiamond:
      return fmt::format(
          "<polygon points=\"{},{} {},{} {},{} {},{}\" fill=\"{}\" stroke=\"#222\" "
          "stroke-width=\"0.6\"/>\n",
          num(x), num(y - 1.3 * s), num(x + 1.3 * s), num(y), num(x), num(y + 1.3 * s),
          num(x - 1.3 * s), num(y), color);
  }
  return "";
}

struct LegendEntry {
  std::string label, color;
  enum Kind { kSwatch, kLine } kind = kLine;
  Marker marker = Marker::kNone;
  bool dashed = false;
  bool line = true;  // false: the marker alone (a scatter series)
};

std::string legend_svg(const std::vector<LegendEntry>& entries, LegendPosition pos, double px,
                       double py, double pw, double ph) {
  if (entries.empty()) return "";
  size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, e.label.size());
  const double row = 20, w = 44 + 7.2 * static_cast<double>(longest), h = 10 + row * entries.size();
  const bool right = pos == LegendPosition::kTopRight || pos == LegendPosition::kBottomRight;
  const bool top = pos == LegendPosition::kTopRight || pos == LegendPosition::kTopLeft;
  const double x = right ? px + pw - w - 10 : px + 10;
  const double y = top ? py + 10 : py + ph - h - 10;
  std::string out = fmt::format(
      "<g class=\"legend\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" "
      "fill-opacity=\"0.9\" stroke=\"#999\"/>\n",
      num(x), num(y), num(w), num(h));
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    const double cy = y + 5 + row * (static_cast<double>(i) + 0.5);
    if (e.kind == LegendEntry::kSwatch) {
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"22\" height=\"10\" fill=\"{}\" fill-opacity=\"0.8\"/>\n",
          num(x + 8), num(cy - 5), e.color);
    } else {
      if (e.line)
        out += fmt::format(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
            "stroke-width=\"1.8\"{}/>\n",
            num(x + 6), num(cy), num(x + 32), num(cy), e.color, dash_attr(e.dashed));
      out += marker_svg(e.marker, x + 19, cy, e.color);
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" {}>{}</text>\n", num(x + 38),
                       num(cy + 4), kFont, escape_xml(e.label));
  }
  return out + "</g>\n";
}

std::string panel_svg(const Panel& p, double top, double width, double height, int index) {
  const double px = kLeft, py = top + kTop, pw = width - kLeft - kRight,
               ph = height - kTop - kBottom;
  std::vector<double> xs, ys;
  for (const Bars& b : p.bars) {
    xs.insert(xs.end(), b.edges.begin(), b.edges.end());
    ys.insert(ys.end(), b.heights.begin(), b.heights.end());
    ys.push_back(0);
  }
  for (const Series& s : p.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  for (const RefLine& l : p.hlines) ys.push_back(l.at);
  for (const RefLine& l : p.vlines) xs.push_back(l.at);
  const Range rx = make_range(p.x, xs), ry = make_range(p.y, ys);
  auto X = [&](double v) { return px + unit(rx, v) * pw; };
  auto Y = [&](double v) { return py + ph - unit(ry, v) * ph; };
  auto ok_x = [&](double v) { return std::isfinite(v) && (!rx.log || v > 0); };
  auto ok_y = [&](double v) { return std::isfinite(v) && (!ry.log || v > 0); };

  std::string out = fmt::format(
      "<g class=\"panel\">\n<defs><clipPath id=\"clip{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" "
      "height=\"{}\"/></clipPath></defs>\n",
      index, num(px), num(py), num(pw), num(ph));
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" stroke=\"#333\"/>\n",
      num(px), num(py), num(pw), num(ph));
  if (!p.title.empty())
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"15\" text-anchor=\"middle\" {}>{}</text>\n",
        num(px + pw / 2), num(top + kTop - 12), kFont, escape_xml(p.title));
  // Grid and ticks.
  for (size_t i = 0; i < rx.ticks.size(); ++i) {
    const double t = rx.ticks[i], x = X(t);
    const double step = rx.log ? t : (rx.ticks.size() > 1 ? rx.ticks[1] - rx.ticks[0] : 1);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n",
                       num(x), num(py), num(py + ph));
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\"/>\n",
                       num(x), num(py + ph), num(py + ph + 5));
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" {}>{}</text>\n", num(x),
        num(py + ph + 19), kFont, escape_xml(tick_label(t, step)));
  }
  for (size_t i = 0; i < ry.ticks.size(); ++i) {
    const double t = ry.ticks[i], y = Y(t);
    const double step = ry.log ? t : (ry.ticks.size() > 1 ? ry.ticks[1] - ry.ticks[0] : 1);
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#e4e4e4\"/>\n",
                       num(y), num(px), num(px + pw));
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#333\"/>\n",
                       num(y), num(px - 5), num(px));
    out +=
        fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" {}>{}</text>\n",
                    num(px - 8), num(y + 4), kFont, escape_xml(tick_label(t, step)));
  }
  out +=
      fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" {}>{}</text>\n",
                  num(px + pw / 2), num(py + ph + 42), kFont, escape_xml(p.x.label));
  out += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 "
      "{0} {1})\" {2}>{3}</text>\n",
      num(px - 58), num(py + ph / 2), kFont, escape_xml(p.y.label));

  std::vector<LegendEntry> legend;
  out += fmt::format("<g clip-path=\"url(#clip{})\">\n", index);
  for (const Bars& b : p.bars) {
    for (size_t i = 0; i + 1 < b.edges.size() && i < b.heights.size(); ++i) {
      if (!(b.heights[i] > 0) || !ok_x(b.edges[i]) || !ok_x(b.edges[i + 1])) continue;
      const double x0 = X(b.edges[i]), x1 = X(b.edges[i + 1]), y0 = Y(b.heights[i]);
      const double base = Y(ry.log ? ry.lo : std::max(0.0, ry.lo));
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{}\"/>\n",
          num(x0), num(std::min(y0, base)), num(std::max(x1 - x0, 0.5)), num(std::abs(base - y0)),
          b.color, num(b.opacity));
    }
    if (!b.label.empty()) legend.push_back({b.label, b.color, LegendEntry::kSwatch});
  }
  for (const RefLine& l : p.vlines) {
    if (!ok_x(l.at)) continue;
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"{4}\" "
        "stroke-opacity=\"{5}\"{6}/>\n",
        num(X(l.at)), num(py), num(py + ph), l.color, num(l.line_width), num(l.opacity),
        dash_attr(l.dashed));
  }
  for (const RefLine& l : p.hlines) {
    if (!ok_y(l.at)) continue;
    out += fmt::format(
        "<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"{3}\" stroke-width=\"{4}\" "
        "stroke-opacity=\"{5}\"{6}/>\n",
        num(Y(l.at)), num(px), num(px + pw), l.color, num(l.line_width), num(l.opacity),
        dash_attr(l.dashed));
  }
  for (const RefLine& l : p.vlines)
    if (!l.label.empty())
      legend.push_back({l.label, l.color, LegendEntry::kLine, Marker::kNone, l.dashed});
  for (const RefLine& l : p.hlines)
    if (!l.label.empty())
      legend.push_back({l.label, l.color, LegendEntry::kLine, Marker::kNone, l.dashed});
  for (const Series& s : p.series) {
    const size_t n = std::min(s.x.size(), s.y.size());
    if (s.line) {
      std::string points;
      bool have_prev = false;
      double prev_y = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!ok_x(s.x[i]) || !ok_y(s.y[i])) continue;
        const double x = X(s.x[i]), y = Y(s.y[i]);
        if (s.step && have_prev) points += fmt::format("{},{} ", num(x), num(prev_y));
        points += fmt::format("{},{} ", num(x), num(y));
        have_prev = true;
        prev_y = y;
      }
      if (!points.empty())
        out += fmt::format(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n", points,
            s.color, num(s.line_width), dash_attr(s.dashed));
    }
    for (size_t i = 0; i < n; ++i)
      if (ok_x(s.x[i]) && ok_y(s.y[i])) out += marker_svg(s.marker, X(s.x[i]), Y(s.y[i]), s.color);
    if (!s.label.empty())
      legend.push_back({s.label, s.color, LegendEntry::kLine, s.marker, s.dashed, s.line});
  }
  out += "</g>\n";
  out += legend_svg(legend, p.legend, px, py, pw, ph);
  return out + "</g>\n";
}

}  // namespace

std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  target = std::max(target, 2);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; k += 1) {
    double t = k * step;
    if (std::abs(t) < step * 1e-9) t = 0;  // no "-0"
    ticks.push_back(t);
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  if (!(lo > 0) || !(hi > lo) || !std::isfinite(hi)) return ticks;
  const int k0 = static_cast<int>(std::floor(std::log10(lo))),
            k1 = static_cast<int>(std::ceil(std::log10(hi)));
  const double decades = std::log10(hi) - std::log10(lo);
  std::vector<double> mults = decades > 4     ? std::vector<double>{1}
                              : decades > 1.6 ? std::vector<double>{1, 2, 5}
                                              : std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int k = k0; k <= k1; ++k)
    for (double m : mults) {
      const double t = m * std::pow(10.0, k);
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
    }
  if (ticks.size() < 2) ticks = {lo, hi};
  return ticks;
}

std::string tick_label(double value, double step) {
  if (std::abs(value) < 1e-12) return "0";
  const double mag = std::abs(value);
  if (mag >= 1e6 || mag < 1e-4) return fmt::format("{:.3g}", value);
  int decimals = 0;
  if (step > 0 && step < 1) decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::abs(value - std::round(value)) < 1e-9 * std::max(1.0, mag)) decimals = 0;
  decimals = std::clamp(decimals, 0, 8);
  return fmt::format("{:.{}f}", value, decimals);
}

Bars histogram(const std::vector<double>& values, const std::vector<double>& weights, double lo,
               double hi, int bins) {
  Bars b;
  bins = std::max(bins, 1);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double width = (hi - lo) / bins;
  for (int i = 0; i <= bins; ++i) b.edges.push_back(lo + width * i);
  b.heights.assign(static_cast<size_t>(bins), 0.0);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const double w = weights.empty() ? 1.0 : weights[i];
    const int bin = std::clamp(static_cast<int>(std::floor((values[i] - lo) / width)), 0, bins - 1);
    b.heights[static_cast<size_t>(bin)] += w;
  }
  return b;
}

std::string render(const Figure& f) {
  const double head = f.title.empty() ? 0 : kFigureTitle;
  const double height =
      head + f.panel_height * static_cast<double>(std::max<size_t>(f.panels.size(), 1));
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      f.width, num(height));
  if (!f.title.empty())
    out += fmt::format(
        "<text x=\"{}\" y=\"26\" font-size=\"17\" font-weight=\"bold\" text-anchor=\"middle\" "
        "{}>{}</text>\n",
        num(f.width / 2.0), kFont, escape_xml(f.title));
  for (size_t i = 0; i < f.panels.size(); ++i)
    out += panel_svg(f.panels[i], head + f.panel_height * static_cast<double>(i), f.width,
                     f.panel_height, static_cast<int>(i));
  return out + "</svg>\n";
}

}  // namespace deepcomp::cli::svg
