// Encoding RGBA tiles (PNG, lossless WebP) and the gzip used by PMTiles directories.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qinling::raster {

enum class TileFormat { png, webp };
// Deflate level of tile PNGs (libdeflate's fastest, see encode_tile).
constexpr int kTileDeflateLevel = 1;
TileFormat parse_tile_format(const std::string& name);  // "png" | "webp"; throws ConfigError
const char* tile_extension(TileFormat f);                  // "png" | "webp"
const char* tile_mime(TileFormat f);                       // "image/png" | "image/webp"

// A PNG of w x h RGBA pixels (row-major): 8-bit palette when `allow_palette` and it has at most
// 256 colours, else 8-bit RGBA. `level` is the deflate level (1..12).
std::string encode_png(const std::uint8_t* rgba, int w, int h, int level = 6, bool allow_palette = true);
// An 8-bit palette PNG of w x h palette indices (row-major; each < palette.size() <= 256) with
// RGBA palette entries (bytes in memory order R, G, B, A): the bytes encode_png writes for the
// same pixels when it finds this palette.
std::string encode_png_indexed(const std::uint8_t* index, int w, int h, const std::vector<std::uint32_t>& palette,
                               int level = kTileDeflateLevel);
// Lossless WebP of the same pixels.
std::string encode_webp(const std::uint8_t* rgba, int w, int h);
// Palette PNGs only on request: GDAL opens them as one band with a colour table, which tools that
// read tile files band by band (gdal2tiles comparisons) do not expect of imagery.
std::string encode_tile(TileFormat f, const std::uint8_t* rgba, int w, int h, bool allow_palette = false);

std::string gzip_compress(const std::string& data);
// Throws ProcessingError when `data` is not a gzip stream.
std::string gzip_decompress(const std::string& data);

// A 64-bit content hash (FNV-1a) used to store identical tiles once.
std::uint64_t content_hash(const std::string& data);

}  // namespace qinling::raster
