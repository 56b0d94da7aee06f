// Colour ramps for rendering single-band layers to RGBA tiles: continuous stops, diverging around
// a centre, categorical classes; nodata (NaN) and unlisted classes are transparent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qinling::raster {

using Rgba = std::array<std::uint8_t, 4>;

// "#rrggbb" or "#rrggbbaa"; nullopt when malformed.
std::optional<Rgba> parse_colour(const std::string& text);

enum class RampKind { continuous, diverging, categorical };

struct ColourStop {
  double at = 0;  // fraction of the value range, 0 = min, 1 = max
  Rgba colour{};
};

struct ColourClass {
  double value = 0;
  Rgba colour{};
  std::string label;
};

struct ColourRamp {
  std::string name;
  RampKind kind = RampKind::continuous;
  std::vector<ColourStop> stops;      // continuous and diverging, sorted by `at`
  std::vector<ColourClass> classes;   // categorical
  std::optional<std::pair<double, double>> range;  // default value range, else from statistics
  double center = 0;                  // diverging: the value drawn with the middle colour
};

// The ramp used when none is named: a perceptually ordered blue-green-yellow ramp.
ColourRamp default_ramp();

// A ramp bound to a value range, ready to turn values into colours quickly (a lookup table).
class RampRenderer {
 public:
  RampRenderer(const ColourRamp& ramp, double min, double max);
  // Writes n RGBA pixels; NaN (and, for classes, unlisted values) become transparent.
  void render(const float* values, std::size_t n, std::uint8_t* rgba) const;
  Rgba colour(float v) const;
  // The colours render() draws from, and each value's entry among them: colour(v) is
  // table()[entry(v)]; entry 0 is transparent (nodata, unlisted classes). Lets tiles be drawn as
  // palette indices without hashing RGBA pixels.
  const std::vector<Rgba>& table() const { return table_; }
  void entries(const float* values, std::size_t n, std::uint16_t* out) const;
  bool categorical() const { return categorical_; }
  double min() const { return min_; }
  double max() const { return max_; }

 private:
  bool categorical_ = false;
  double min_ = 0, max_ = 1, scale_ = 1;
  std::vector<Rgba> lut_;
  std::vector<Rgba> table_;  // transparent, then lut_ (or the class colours)
  std::vector<std::pair<double, Rgba>> classes_;
};

}  // namespace qinling::raster
