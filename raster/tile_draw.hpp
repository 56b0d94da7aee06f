// Drawing one tile of a pyramid level into an encoded image: values through a colour ramp
// (optionally with shaded relief), or RGBA imagery as it is.
#pragma once

#include <cstddef>
#include <string>

#include "raster/colour_ramp.hpp"
#include "raster/tile_encode.hpp"

namespace qinling::raster {

struct TileStyle {
  int channels = 1;                    // 1: values, 2: values and shade (0..255), 4: RGBA 0..255
  const RampRenderer* ramp = nullptr;  // required for channels 1 and 2
  double shade_strength = 0.6;         // colour * (1 - s + s * shade / 255)
  TileFormat format = TileFormat::png;
};

// The tile of `size` x `size` pixels at `px` (`channels` floats per pixel, lines `line` floats
// apart), encoded; empty when it is fully transparent. Ramped tiles with at most 256 colours are
// palette PNGs (imagery stays RGBA).
std::string draw_tile(const float* px, std::size_t line, int size, const TileStyle& style);

}  // namespace qinling::raster
