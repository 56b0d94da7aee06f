// Synthetic aerial frames for `qinling sample-data`: an RGB orthoimage rendered from the sample
// scene with fine synthetic texture, and overlapping frames cut from it with known shifts,
// rotations, scales, brightness and noise, georeferenced with deliberately wrong world files
// (one frame by EXIF GPS only).
//
// Files (folder `aerial/`): ortho_reference.tif (3-band Byte GeoTIFF, the truth and the
// reference layer, kAerialOrthoWidth × kAerialOrthoHeight pixels); frame_01.jpg … frame_06.jpg,
// 400 × 300 RGB JPEG; frame_01..05 with a .jgw world file (offset by tens of pixels from the truth)
// and a .prj; frame_06 with EXIF GPS (position off by ~25 px), GPSImgDirection and FocalLength
// 8 mm only (camera: sensor width 6.4 mm, flight height 500 × ortho pixel size m); truth.json
// with, per frame, the true corners in ortho pixels (corner coordinates, in the order (0,0),
// (w,0), (w,h), (0,h) of the frame) and in the CRS, angle, scale, gain and georeference error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qinling::raster {

inline constexpr int kAerialOrthoWidth = 1200, kAerialOrthoHeight = 900;
inline constexpr int kAerialFrameWidth = 400, kAerialFrameHeight = 300;
inline constexpr double kAerialSensorWidthMm = 6.4, kAerialFocalMm = 8.0;

// Writes the folder `dir` (replacing an earlier one only when complete) from the scene GeoTIFF
// `scene_file` (the sample scene layout: band 4 red, 3 green, 2 blue). Returns the files written.
std::vector<std::string> write_aerial_sample(const std::string& dir, const std::string& scene_file,
                                             std::uint64_t seed);

}  // namespace qinling::raster
