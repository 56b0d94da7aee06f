#include "pipeline/steps/met_verify_report.hpp"

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <gdal_priv.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline::steps {
namespace {

// As in the JSON: 6 significant digits; undefined scores are empty cells (null in the JSON).
std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string(); }

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

const std::array<const char*, 5> kColours{"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"};

// A plot area of 480 × 300 px mapping [x0, x1] × [y0, y1].
struct Frame {
  double x0, x1, y0, y1;
  static constexpr double kW = 480, kH = 300, kL = 56, kR = 20, kT = 44, kB = 44;  // legends above the frame
  double px(double x) const { return kL + (x - x0) / (x1 - x0) * (kW - kL - kR); }
  double py(double y) const { return kH - kB - (y - y0) / (y1 - y0) * (kH - kT - kB); }
};

// Opens the <svg>, draws the frame, five ticks per axis and the labels.
std::string open_plot(const std::string& name, const std::string& title, const Frame& f,
                      const std::string& xlabel, const std::string& ylabel, bool x_ticks = true) {
  std::string s = fmt::format(
      "<svg data-plot=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 "
      "{} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<title>{}</title>\n"
      "<text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
      name, Frame::kW, Frame::kH, Frame::kW, Frame::kH, escape(title), Frame::kW / 2, escape(title));
  s +=
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
                  Frame::kL, Frame::kT, Frame::kW - Frame::kL - Frame::kR, Frame::kH - Frame::kT - Frame::kB);
  for (int i = 0; i <= 4; ++i) {
    const double x = f.x0 + (f.x1 - f.x0) * i / 4, y = f.y0 + (f.y1 - f.y0) * i / 4;
    if (x_ticks)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.3g}</text>\n", f.px(x),
                       Frame::kH - Frame::kB + 14, x);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", Frame::kL - 4,
                     f.py(y) + 4, y);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (Frame::kW + Frame::kL) / 2,
                   Frame::kH - 8, escape(xlabel));
  s += fmt::format(
      "<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
      Frame::kH / 2, Frame::kH / 2, escape(ylabel));
  return s;
}

std::string legend(int i, const std::string& label) {
  const double x = Frame::kL + 84 * i;
  return fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
      x, 24, kColours[std::size_t(i) % kColours.size()], x + 13, 33, escape(label));
}

// Polyline through the finite points.
std::string line(const Frame& f, const std::vector<double>& xs, const std::vector<double>& ys, int colour) {
  std::string pts;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::isfinite(xs[i]) && std::isfinite(ys[i]))
      pts += fmt::format("{:.1f},{:.1f} ", f.px(xs[i]), f.py(ys[i]));
  return fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                     kColours[std::size_t(colour) % kColours.size()], pts);
}

std::string lead_plot(const VerifyReport& r) {
  std::vector<double> bias, mae, rmse;
  double lo = 0, hi = 0;
  for (const auto& c : r.by_lead) {
    bias.push_back(c.bias), mae.push_back(c.mae), rmse.push_back(c.rmse);
    for (double v : {c.bias, c.mae, c.rmse})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  const double x0 = r.leads.front(), x1 = r.leads.back() > x0 ? r.leads.back() : x0 + 1;
  const Frame f{x0, x1, lo, hi > lo ? hi : lo + 1};
  std::string s = open_plot("leads", "Scores by lead time", f, "lead time (h)", "score");
  s += fmt::format(
      "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\" stroke-dasharray=\"3 3\"/>\n",
      Frame::kL, Frame::kW - Frame::kR, f.py(0), f.py(0));
  s += line(f, r.leads, rmse, 0) + line(f, r.leads, bias, 1) + line(f, r.leads, mae, 2);
  return s + legend(0, "RMSE") + legend(1, "bias") + legend(2, "MAE") + "</svg>\n";
}

std::string threshold_plot(const VerifyReport& r) {
  double lo = 0;
  for (const auto& t : r.tables) {
    const double e = models::categorical_scores(t).ets;
    if (std::isfinite(e)) lo = std::min(lo, e);
  }
  const std::size_t n = r.tables.size();
  const Frame f{0, double(n), lo, 1};
  std::string s = open_plot("thresholds", "Categorical scores by threshold", f, "threshold", "score", false);
  const double group = (f.px(1) - f.px(0)), bar = group / 5;
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = models::categorical_scores(r.tables[i]);
    const double v[4] = {k.csi, k.ets, k.pod, k.far};
    for (int j = 0; j < 4; ++j) {
      if (!std::isfinite(v[j])) continue;
      const double y = f.py(std::max(v[j], 0.0)), h = std::fabs(f.py(v[j]) - f.py(0));
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n",
                       f.px(double(i)) + bar * (0.5 + j), y, bar * 0.9, h, kColours[std::size_t(j)]);
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", f.px(i + 0.5),
                     Frame::kH - Frame::kB + 14, num(r.tables[i].threshold));
  }
  return s + legend(0, "TS") + legend(1, "ETS") + legend(2, "POD") + legend(3, "FAR") + "</svg>\n";
}

// Roebber (2009): success ratio on x, POD on y; CSI is constant on the curves
// 1/CSI = 1/SR + 1/POD − 1, the frequency bias POD/SR on straight lines through the origin.
std::string performance_diagram(const VerifyReport& r) {
  const Frame f{0, 1, 0, 1};
  std::string s = open_plot("performance", "Performance diagram", f, "success ratio (1 - FAR)", "POD");
  for (int k = 1; k <= 9; ++k) {
    const double csi = k / 10.0;
    std::string pts;
    for (int i = 0; i <= 200; ++i) {
      const double sr = csi + (1 - csi) * i / 200.0, denom = 1 / csi + 1 - 1 / sr;
      if (denom <= 0) continue;
      const double pod = 1 / denom;
      if (pod <= 1 + 1e-12) pts += fmt::format("{:.1f},{:.1f} ", f.px(sr), f.py(std::min(pod, 1.0)));
    }
    s += fmt::format("<polyline class=\"csi\" fill=\"none\" stroke=\"#bbb\" points=\"{}\"/>\n", pts);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#888\" font-size=\"9\">{:.1f}</text>\n",
                     f.px(1) - 18, f.py(1 / (1 / csi)) + 10, csi);
  }
  for (double b : {0.3, 0.5, 0.8, 1.0, 1.3, 1.5, 2.0, 3.0, 5.0}) {
    const double sr = std::min(1.0, 1 / b), pod = std::min(1.0, b);
    s += fmt::format(
        "<line class=\"bias\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\" "
        "stroke-dasharray=\"4 3\"/><text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#666\" "
        "font-size=\"9\">{:g}</text>\n",
        f.px(0), f.py(0), f.px(sr), f.py(pod), f.px(sr) + 2, f.py(pod) - 2, b);
  }
  for (std::size_t i = 0; i < r.tables.size(); ++i) {
    const auto k = models::categorical_scores(r.tables[i]);
    const double sr = 1 - k.far;
    if (!std::isfinite(k.pod) || !std::isfinite(sr)) continue;
    s += fmt::format(
        "<circle class=\"point\" data-threshold=\"{}\" data-pod=\"{:.17g}\" data-sr=\"{:.17g}\" "
        "cx=\"{:.2f}\" cy=\"{:.2f}\" "
        "r=\"5\" fill=\"{}\"><title>threshold {}: POD {}, SR {}</title></circle>\n",
        num(r.tables[i].threshold), k.pod, sr, f.px(sr), f.py(k.pod), kColours[i % kColours.size()],
        num(r.tables[i].threshold), num(k.pod), num(sr));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\">{}</text>\n", f.px(sr) + 6,
                     f.py(k.pod) - 6, num(r.tables[i].threshold));
  }
  return s + "</svg>\n";
}

// Roberts & Lean's "useful" FSS, 0.5 + f0/2 (f0: the observed event frequency at the threshold,
// from its contingency table): halfway between random and perfect; undefined without observed events.
double useful_fss(const VerifyReport& r, double threshold) {
  for (const auto& t : r.tables)
    if (t.threshold == threshold && t.hits + t.misses > 0)
      return 0.5 + 0.5 * double(t.hits + t.misses) / double(t.total());
  return NAN;
}

std::string fss_plot(const VerifyReport& r) {
  double wmax = 1;
  for (const auto& s : r.fss) wmax = std::max(wmax, double(s.window));
  const Frame f{0, wmax + 1, 0, 1};
  std::string s = open_plot("fss", "Fractions skill score by window", f, "window (cells)", "FSS");
  int colour = 0;
  for (std::size_t i = 0; i < r.fss.size(); ++colour) {
    std::vector<double> xs, ys;
    const double t = r.fss[i].threshold;
    for (; i < r.fss.size() && r.fss[i].threshold == t; ++i)
      xs.push_back(r.fss[i].window), ys.push_back(fss(r.fss[i]));
    s += line(f, xs, ys, colour);
    const double useful = useful_fss(r, t);
    if (std::isfinite(useful))
      s += fmt::format(
          "<line class=\"useful\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-dasharray=\"5 4\"/>\n",
          Frame::kL, Frame::kW - Frame::kR, f.py(useful), f.py(useful),
          kColours[std::size_t(colour) % kColours.size()]);
    if (colour < 5) s += legend(colour, ">= " + num(t));
  }
  return s + "<text x=\"" + std::to_string(int(Frame::kW - Frame::kR - 4)) + "\" y=\"" +
         std::to_string(int(Frame::kH - Frame::kB - 6)) +
         "\" text-anchor=\"end\" fill=\"#666\">dashed: useful (0.5 + f0/2)</text>\n</svg>\n";
}

std::string td(const std::string& key, const std::string& v) {
  return fmt::format("<td data-key=\"{}\">{}</td>", key, v);
}

std::string continuous_row(const std::string& attrs, const std::string& first,
                           const models::ContinuousScores& c, bool temperature) {
  std::string s = "<tr" + attrs + "><td>" + first + "</td>" + td("n", std::to_string(c.n)) +
                  td("bias", num(c.bias)) + td("mae", num(c.mae)) + td("rmse", num(c.rmse)) +
                  td("correlation", num(c.correlation));
  if (temperature) s += td("accuracy_1", num(c.accuracy1)) + td("accuracy_2", num(c.accuracy2));
  return s + "</tr>\n";
}

}  // namespace

std::string verify_report_html(const VerifyReport& r) {
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Verification: "
      "{0}</title>\n"
      "<style>body{{font-family:sans-serif;margin:1.5em;color:#222}} "
      "table{{border-collapse:collapse;margin:0.5em 0 "
      "1.5em}} td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} .plots svg{{margin:0 1em 1em "
      "0;"
      "border:1px solid #eee}}</style>\n</head>\n<body>\n<h1>Verification: {0}</h1>\n<p>Variable: {1}. "
      "Event: value &gt;= threshold. Undefined scores are left empty.</p>\n",
      escape(r.step_id), escape(r.variable));
  const std::string cont_head = std::string("<th>n</th><th>bias</th><th>MAE</th><th>RMSE</th><th>r</th>") +
                                (r.temperature ? "<th>|e| &lt;= 1</th><th>|e| &lt;= 2</th>" : "");
  h += "<h2>Continuous scores</h2>\n<table id=\"continuous\">\n<tr><th></th>" + cont_head + "</tr>\n";
  h += continuous_row(" data-lead=\"all\"", "all", r.overall, r.temperature);
  for (std::size_t i = 0; i < r.by_lead.size(); ++i)
    h += continuous_row(" data-lead=\"" + num(r.leads[i]) + "\"", "lead " + num(r.leads[i]) + " h",
                        r.by_lead[i], r.temperature);
  h += "</table>\n";
  if (!r.tables.empty()) {
    h += "<h2>Categorical scores</h2>\n<table "
         "id=\"categorical\">\n<tr><th>threshold</th><th>hits</th><th>misses</th>"
         "<th>false alarms</th><th>correct negatives</th><th>POD</th><th>FAR</th><th>TS</th><th>ETS</th>"
         "<th>frequency bias</th><th>accuracy</th></tr>\n";
    for (const auto& t : r.tables) {
      const auto k = models::categorical_scores(t);
      h += "<tr data-threshold=\"" + num(t.threshold) + "\"><td>" + num(t.threshold) + "</td>" +
           td("hits", std::to_string(t.hits)) + td("misses", std::to_string(t.misses)) +
           td("false_alarms", std::to_string(t.false_alarms)) +
           td("correct_negatives", std::to_string(t.correct_negatives)) + td("pod", num(k.pod)) +
           td("far", num(k.far)) + td("ts", num(k.csi)) + td("ets", num(k.ets)) +
           td("frequency_bias", num(k.frequency_bias)) + td("accuracy", num(k.accuracy)) + "</tr>\n";
    }
    h += "</table>\n";
  }
  if (!r.fss.empty()) {
    h += "<h2>Fractions skill score</h2>\n<table id=\"fss\">\n<tr><th>threshold</th><th>window</th><th>n</th>"
         "<th>FSS</th><th>useful: 0.5 + f<sub>0</sub>/2</th></tr>\n";
    for (const auto& s : r.fss)
      h += "<tr data-threshold=\"" + num(s.threshold) + "\" data-window=\"" + std::to_string(s.window) +
           "\"><td>" + num(s.threshold) + "</td><td>" + std::to_string(s.window) + "</td>" +
           td("n", std::to_string(s.n)) + td("fss", num(fss(s))) + "<td>" + num(useful_fss(r, s.threshold)) +
           "</td></tr>\n";
    h += "</table>\n";
  }
  h += "<h2>Plots</h2>\n<div class=\"plots\">\n";
  if (!r.by_lead.empty()) h += lead_plot(r);
  if (!r.tables.empty()) h += threshold_plot(r) + performance_diagram(r);
  if (!r.fss.empty()) h += fss_plot(r);
  h += "</div>\n";
  if (!r.bias_png.empty()) {
    char* b64 = CPLBase64Encode(int(r.bias_png.size()), reinterpret_cast<const GByte*>(r.bias_png.data()));
    const std::string encoded(b64);
    CPLFree(b64);
    h += fmt::format(
        "<h2>Bias (forecast - observation)</h2>\n<p>Mean over blocks of cells; blue: forecast too low, red: "
        "too "
        "high, from {} (dark blue) to +{} (dark red); transparent: no valid pair.</p>\n"
        "<img id=\"bias-map\" alt=\"map of the bias\" "
        "style=\"image-rendering:pixelated;max-width:640px;width:100%\" "
        "src=\"data:image/png;base64,{}\">\n",
        num(-r.bias_limit), num(r.bias_limit), encoded);
  }
  return h + "</body>\n</html>\n";
}

std::string bias_map_png(raster::GridReader& reader, const raster::BandSource& forecast,
                         const raster::BandSource& observation, int max_side, double* limit) {
  const raster::Grid& g = reader.grid();
  const int k = std::max(1, (std::max(g.width, g.height) + max_side - 1) / max_side);  // cells per block side
  const int cw = (g.width + k - 1) / k, ch = (g.height + k - 1) / k;
  std::vector<double> sum(std::size_t(cw) * std::size_t(ch), 0.0);
  std::vector<std::int64_t> count(sum.size(), 0);
  // Strips of whole block rows, about 4 M cells each: memory does not grow with the grid's height.
  const int strip = k * std::max(1, int((std::int64_t(1) << 22) / (std::int64_t(g.width) * k)));
  std::vector<float> f, o;
  for (int y = 0; y < g.height; y += strip) {
    const raster::Window w{0, y, g.width, std::min(strip, g.height - y)};
    f.resize(std::size_t(w.pixels())), o.resize(f.size());
    reader.read(forecast, w, f.data());
    reader.read(observation, w, o.data());
    for (int r = 0; r < w.height; ++r)
      for (int c = 0; c < w.width; ++c) {
        const std::size_t i = std::size_t(r) * std::size_t(w.width) + std::size_t(c);
        if (std::isnan(f[i]) || std::isnan(o[i])) continue;
        const std::size_t b = std::size_t((y + r) / k) * std::size_t(cw) + std::size_t(c / k);
        sum[b] += double(f[i]) - double(o[i]);
        ++count[b];
      }
  }
  double lim = 0;
  for (std::size_t i = 0; i < sum.size(); ++i)
    if (count[i] > 0) lim = std::max(lim, std::fabs(sum[i] / double(count[i])));
  *limit = lim;
  const double span = lim > 0 ? lim : 1;
  // Diverging ramp: dark blue (−limit) → near white (0) → dark red (+limit).
  const double lo[3] = {33, 102, 172}, mid[3] = {247, 247, 247}, hi[3] = {178, 24, 43};
  std::vector<GByte> px(sum.size() * 4, 0);
  for (std::size_t i = 0; i < sum.size(); ++i) {
    if (count[i] == 0) continue;
    const double t = std::clamp(sum[i] / double(count[i]) / span, -1.0, 1.0);
    const double* end = t < 0 ? lo : hi;
    for (int c = 0; c < 3; ++c)
      px[i * 4 + std::size_t(c)] = GByte(std::lround(mid[c] + (end[c] - mid[c]) * std::fabs(t)));
    px[i * 4 + 3] = 255;
  }
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!mem || !png)
    throw ProcessingError("met.verify: GDAL's MEM or PNG driver is missing; cannot draw the bias map");
  raster::DatasetPtr ds(mem->Create("", cw, ch, 4, GDT_Byte, nullptr));
  if (!ds || ds->RasterIO(GF_Write, 0, 0, cw, ch, px.data(), cw, ch, GDT_Byte, 4, nullptr, 4, 4 * cw, 1,
                          nullptr) != CE_None)
    throw ProcessingError("met.verify: could not build the bias map in memory");
  static std::atomic<int> serial{0};
  const std::string name =
      fmt::format("/vsimem/qinling_bias_{}_{}.png", static_cast<const void*>(&g), serial++);
  raster::DatasetPtr out(png->CreateCopy(name.c_str(), ds.get(), FALSE, nullptr, nullptr, nullptr));
  out.reset();
  vsi_l_offset length = 0;
  GByte* bytes = VSIGetMemFileBuffer(name.c_str(), &length, TRUE);
  if (!bytes || length == 0) {
    VSIUnlink(name.c_str());
    throw ProcessingError("met.verify: GDAL's PNG driver did not write the bias map");
  }
  std::string result(reinterpret_cast<const char*>(bytes), std::size_t(length));
  VSIFree(bytes);
  return result;
}

}  // namespace qinling::pipeline::steps
