#include "raster/colour_ramp.hpp"

#include <algorithm>
#include <cmath>

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

constexpr int kLutSize = 1024;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Rgba interpolate(const std::vector<ColourStop>& stops, double t) {
  if (t <= stops.front().at) return stops.front().colour;
  if (t >= stops.back().at) return stops.back().colour;
  auto hi = std::upper_bound(stops.begin(), stops.end(), t, [](double v, const ColourStop& s) { return v < s.at; });
  auto lo = hi - 1;
  const double span = hi->at - lo->at;
  const double f = span > 0 ? (t - lo->at) / span : 0;
  Rgba c{};
  for (int k = 0; k < 4; ++k) c[k] = std::uint8_t(std::lround(lo->colour[k] + f * (hi->colour[k] - lo->colour[k])));
  return c;
}

}  // namespace

std::optional<Rgba> parse_colour(const std::string& text) {
  if ((text.size() != 7 && text.size() != 9) || text[0] != '#') return std::nullopt;
  Rgba c{0, 0, 0, 255};
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    const int hi = hex_digit(text[i + 1]), lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    c[i / 2] = std::uint8_t(hi * 16 + lo);
  }
  return c;
}

ColourRamp default_ramp() {
  ColourRamp r;
  r.name = "default";
  for (const auto& [at, hex] : std::vector<std::pair<double, const char*>>{
           {0.0, "#440154"}, {0.25, "#3b528b"}, {0.5, "#21918c"}, {0.75, "#5ec962"}, {1.0, "#fde725"}})
    r.stops.push_back({at, *parse_colour(hex)});
  return r;
}

RampRenderer::RampRenderer(const ColourRamp& ramp, double min, double max) {
  if (ramp.kind == RampKind::categorical) {
    categorical_ = true;
    for (const auto& c : ramp.classes) classes_.emplace_back(c.value, c.colour);
    if (classes_.empty()) throw ConfigError("colour ramp '" + ramp.name + "' has no classes");
    if (classes_.size() > 65000) throw ConfigError("colour ramp '" + ramp.name + "' has more than 65000 classes");
    table_.push_back({0, 0, 0, 0});
    for (const auto& c : classes_) table_.push_back(c.second);
    return;
  }
  if (ramp.stops.empty()) throw ConfigError("colour ramp '" + ramp.name + "' has no stops");
  if (!(max > min)) max = min + 1;  // a constant layer: draw it with the lowest colour
  if (ramp.kind == RampKind::diverging) {
    const double half = std::max(std::abs(min - ramp.center), std::abs(max - ramp.center));
    min = ramp.center - (half > 0 ? half : 1);
    max = ramp.center + (half > 0 ? half : 1);
  }
  min_ = min;
  max_ = max;
  scale_ = (kLutSize - 1) / (max - min);
  lut_.resize(kLutSize);
  for (int i = 0; i < kLutSize; ++i) lut_[i] = interpolate(ramp.stops, double(i) / (kLutSize - 1));
  table_.push_back({0, 0, 0, 0});
  table_.insert(table_.end(), lut_.begin(), lut_.end());
}

void RampRenderer::entries(const float* values, std::size_t n, std::uint16_t* out) const {
  // The same choices as colour(), as table positions.
  for (std::size_t i = 0; i < n; ++i) {
    const float v = values[i];
    std::uint16_t e = 0;
    if (std::isnan(v)) {
      e = 0;
    } else if (categorical_) {
      for (std::size_t k = 0; k < classes_.size(); ++k)
        if (std::abs(double(v) - classes_[k].first) < 0.5) {
          e = std::uint16_t(k + 1);
          break;
        }
    } else {
      const double idx = std::clamp((double(v) - min_) * scale_, 0.0, double(kLutSize - 1));
      e = std::uint16_t(std::size_t(idx + 0.5) + 1);
    }
    out[i] = e;
  }
}

Rgba RampRenderer::colour(float v) const {
  if (std::isnan(v)) return {0, 0, 0, 0};
  if (categorical_) {
    for (const auto& [value, c] : classes_)
      if (std::abs(double(v) - value) < 0.5) return c;
    return {0, 0, 0, 0};
  }
  const double idx = std::clamp((double(v) - min_) * scale_, 0.0, double(kLutSize - 1));
  return lut_[std::size_t(idx + 0.5)];
}

void RampRenderer::render(const float* values, std::size_t n, std::uint8_t* rgba) const {
  for (std::size_t i = 0; i < n; ++i) {
    const Rgba c = colour(values[i]);
    std::copy(c.begin(), c.end(), rgba + 4 * i);
  }
}

}  // namespace qinling::raster
