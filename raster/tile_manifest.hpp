// Incremental tiling: per tile, a hash of the float pixels it is drawn from, kept with a tile set
// together with the render settings, so that a re-run draws only the tiles whose pixels changed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "raster/colour_ramp.hpp"

namespace qinling::raster {

// (z, x, y) packed into one integer (z < 64, x and y < 2^29).
inline std::uint64_t pack_tile(int z, int x, int y) {
  return (std::uint64_t(z) << 58) | (std::uint64_t(x) << 29) | std::uint64_t(y);
}
// pack_tile → hash of the tile's float pixels (its values before colouring, all channels).
using TileHashes = std::unordered_map<std::uint64_t, std::uint64_t>;

// A 64-bit hash of `rows` lines of `n` floats each, lines `stride` floats apart (bit patterns, so
// any change of a value changes it; not for security).
std::uint64_t pixel_hash(const float* p, std::size_t n, int rows, std::size_t stride);

// What was rendered last time, per matrix set: the settings that decide how pixels become tiles
// (ramp, range, format, zoom, program version) and the hash of every tile written.
struct TileManifest {
  struct Set {
    std::string settings;
    TileHashes hashes;
  };
  std::map<std::string, Set> sets;  // by matrix set id
};

// nullopt when the file is missing, truncated or of another version (the next run is then full).
std::optional<TileManifest> read_tile_manifest(const std::string& path);
// Written under a temporary name and renamed.
void write_tile_manifest(const std::string& path, const TileManifest& manifest);

// Identifies one render (settings + every tile hash, independent of order). Recorded in the
// MBTiles metadata and the PMTiles metadata JSON as `qinling_render`, so a re-run only trusts a
// file that holds exactly the tiles the manifest describes.
std::string render_token(const TileManifest::Set& set);

// The parts of a ramp that change colours, as text for the settings fingerprint.
std::string ramp_fingerprint(const ColourRamp& ramp);

}  // namespace qinling::raster
