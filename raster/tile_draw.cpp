#include "raster/tile_draw.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace qinling::raster {
namespace {

// Value tiles as PNG straight from ramp table entries: the palette is the distinct colours in
// first-use order (what encode_png finds in the drawn RGBA, so the bytes are the same), found per
// table entry rather than per pixel. Empty `out` and false when there are more than 256 colours.
bool draw_indexed(const float* px, std::size_t line, int size, const RampRenderer& ramp, std::string& out) {
  thread_local std::vector<std::uint16_t> entry;
  thread_local std::vector<std::int16_t> slot;
  thread_local std::vector<std::uint8_t> index;
  const std::vector<Rgba>& table = ramp.table();
  const std::size_t n = std::size_t(size) * size;
  entry.resize(n);
  index.resize(n);
  slot.assign(table.size(), -1);
  for (int y = 0; y < size; ++y)
    ramp.entries(px + std::size_t(y) * line, std::size_t(size), entry.data() + std::size_t(y) * size);
  std::vector<std::uint32_t> palette;
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    std::int16_t k = slot[entry[i]];
    if (k < 0) {
      std::uint32_t c;
      std::memcpy(&c, table[entry[i]].data(), 4);
      k = std::int16_t(std::find(palette.begin(), palette.end(), c) - palette.begin());  // once per entry
      if (std::size_t(k) == palette.size()) {
        if (palette.size() == 256) return false;
        palette.push_back(c);
        any = any || table[entry[i]][3] != 0;
      }
      slot[entry[i]] = k;
    }
    index[i] = std::uint8_t(k);
  }
  out = any ? encode_png_indexed(index.data(), size, size, palette) : std::string();
  return true;
}

}  // namespace

std::string draw_tile(const float* px, std::size_t line, int size, const TileStyle& style) {
  std::string out;
  bool palette_possible = style.channels != 4;
  if (style.channels == 1 && style.format == TileFormat::png) {
    if (draw_indexed(px, line, size, *style.ramp, out)) return out;
    palette_possible = false;  // more than 256 colours: do not look again
  }
  std::vector<std::uint8_t> rgba(std::size_t(size) * size * 4);
  bool any = false;
  for (int y = 0; y < size; ++y) {
    const float* p = px + std::size_t(y) * line;
    std::uint8_t* o = rgba.data() + std::size_t(y) * size * 4;
    if (style.channels == 1) {
      style.ramp->render(p, std::size_t(size), o);
    } else if (style.channels == 2) {
      const double st = style.shade_strength;
      for (int x = 0; x < size; ++x) {
        const Rgba rc = style.ramp->colour(p[2 * x]);
        const float sh = p[2 * x + 1];
        const double f = std::isnan(sh) ? 1.0 : 1 - st + st * std::clamp(sh, 0.f, 255.f) / 255.0;
        for (int k = 0; k < 3; ++k) o[4 * x + k] = std::uint8_t(std::lround(rc[k] * f));
        o[4 * x + 3] = rc[3];
      }
    } else {
      for (int x = 0; x < size * 4; x += 4) {
        const float a = std::clamp(std::round(p[x + 3]), 0.f, 255.f);
        for (int k = 0; k < 3; ++k)
          o[x + k] = a > 0 ? std::uint8_t(std::clamp(std::round(p[x + k]), 0.f, 255.f)) : 0;
        o[x + 3] = std::uint8_t(a);
      }
    }
    for (int x = 3; x < size * 4 && !any; x += 4) any = o[x] != 0;
  }
  // Ramped layers have few colours: palette PNGs (imagery stays RGBA).
  return any ? encode_tile(style.format, rgba.data(), size, size, palette_possible) : std::string();
}

}  // namespace qinling::raster
