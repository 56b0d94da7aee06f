#include "raster/tile_encode.hpp"

#include <libdeflate.h>
#include <webp/encode.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

struct CompressorFree {
  void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};
using Compressor = std::unique_ptr<libdeflate_compressor, CompressorFree>;

// One compressor per thread and level: allocating one costs more than compressing a tile.
libdeflate_compressor* compressor(int level) {
  thread_local std::vector<Compressor> cache(13);
  if (level < 1 || level > 12) level = 6;
  if (!cache[level]) cache[level].reset(libdeflate_alloc_compressor(level));
  if (!cache[level]) throw ProcessingError("out of memory allocating a deflate compressor");
  return cache[level].get();
}

void put_u32(std::string& s, std::uint32_t v) {
  for (int k = 3; k >= 0; --k) s.push_back(char((v >> (8 * k)) & 0xff));
}

void put_chunk(std::string& out, const char* type, const std::string& body) {
  put_u32(out, std::uint32_t(body.size()));
  const std::size_t start = out.size();
  out.append(type, 4);
  out += body;
  put_u32(out, libdeflate_crc32(0, out.data() + start, out.size() - start));
}

std::uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return std::uint8_t(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Filters one scanline with the filter whose output has the smallest sum of absolute values
// (the PNG specification's recommended heuristic); writes the filter byte then the row.
void filter_row(const std::uint8_t* row, const std::uint8_t* prev, int bytes, std::uint8_t* out,
                std::vector<std::uint8_t>& scratch) {
  constexpr int bpp = 4;
  scratch.resize(std::size_t(bytes) * 4);
  std::uint8_t* cand[4] = {scratch.data(), scratch.data() + bytes, scratch.data() + 2 * bytes, scratch.data() + 3 * bytes};
  long cost[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < bytes; ++i) {
    const int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0, c = (prev && i >= bpp) ? prev[i - bpp] : 0;
    const std::uint8_t v[4] = {std::uint8_t(row[i] - a), std::uint8_t(row[i] - b), std::uint8_t(row[i] - ((a + b) >> 1)),
                               std::uint8_t(row[i] - paeth(a, b, c))};
    cost[0] += row[i] < 128 ? row[i] : 256 - row[i];
    for (int f = 0; f < 4; ++f) {
      cand[f][i] = v[f];
      cost[f + 1] += v[f] < 128 ? v[f] : 256 - v[f];
    }
  }
  int best = 0;
  for (int f = 1; f < 5; ++f)
    if (cost[f] < cost[best]) best = f;
  out[0] = std::uint8_t(best);
  const std::uint8_t* src = best == 0 ? row : cand[best - 1];
  std::copy(src, src + bytes, out + 1);
}

}  // namespace

TileFormat parse_tile_format(const std::string& name) {
  if (name == "png") return TileFormat::png;
  if (name == "webp") return TileFormat::webp;
  throw ConfigError("unknown tile format '" + name + "' (use png or webp)");
}

const char* tile_extension(TileFormat f) { return f == TileFormat::png ? "png" : "webp"; }
const char* tile_mime(TileFormat f) { return f == TileFormat::png ? "image/png" : "image/webp"; }

namespace {

// Indexes the colours of an image: true (with the palette and one index per pixel) when it has at
// most 256 distinct RGBA values, which ramped layers always have. Palette order is first use, so
// the bytes are deterministic.
bool build_palette(const std::uint8_t* rgba, std::size_t n, std::vector<std::uint32_t>& palette,
                   std::vector<std::uint8_t>& index) {
  constexpr std::size_t kSlots = 1024;  // open addressing, at most 256 used
  std::uint32_t keys[kSlots];
  std::int16_t vals[kSlots];
  std::fill(std::begin(vals), std::end(vals), std::int16_t(-1));
  palette.clear();
  index.resize(n);
  std::uint32_t last = 0;
  std::uint8_t last_index = 0;
  bool have_last = false;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t c;
    std::memcpy(&c, rgba + 4 * i, 4);
    if (have_last && c == last) {
      index[i] = last_index;
      continue;
    }
    std::size_t slot = (c * 2654435761u) >> 22;
    while (vals[slot] >= 0 && keys[slot] != c) slot = (slot + 1) & (kSlots - 1);
    if (vals[slot] < 0) {
      if (palette.size() == 256) return false;
      keys[slot] = c;
      vals[slot] = std::int16_t(palette.size());
      palette.push_back(c);
    }
    last = c;
    last_index = std::uint8_t(vals[slot]);
    have_last = true;
    index[i] = last_index;
  }
  return true;
}

std::string png_file(int w, int h, int colour_type, const std::string& plte, const std::string& trns,
                     const std::string& idat) {
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, std::uint32_t(w));
  put_u32(ihdr, std::uint32_t(h));
  ihdr.push_back(8);  // bits per sample (or per palette index)
  ihdr.push_back(char(colour_type));
  ihdr += std::string("\x00\x00\x00", 3);  // deflate, adaptive filters, no interlace
  put_chunk(out, "IHDR", ihdr);
  if (!plte.empty()) put_chunk(out, "PLTE", plte);
  if (!trns.empty()) put_chunk(out, "tRNS", trns);
  put_chunk(out, "IDAT", idat);
  put_chunk(out, "IEND", "");
  return out;
}

std::string zlib(const std::vector<std::uint8_t>& data, int level) {
  libdeflate_compressor* c = compressor(level);
  std::string z(libdeflate_zlib_compress_bound(c, data.size()), '\0');
  const std::size_t zn = libdeflate_zlib_compress(c, data.data(), data.size(), z.data(), z.size());
  if (zn == 0) throw ProcessingError("PNG encoding failed (deflate)");
  z.resize(zn);
  return z;
}

}  // namespace

std::string encode_png(const std::uint8_t* rgba, int w, int h, int level, bool allow_palette) {
  // Palette PNG when the tile has few colours: a quarter of the bytes to filter and deflate.
  std::vector<std::uint32_t> palette;
  std::vector<std::uint8_t> index;
  if (allow_palette && build_palette(rgba, std::size_t(w) * h, palette, index))
    return encode_png_indexed(index.data(), w, h, palette, level);
  const int row_bytes = w * 4;
  std::vector<std::uint8_t> filtered(std::size_t(row_bytes + 1) * h), scratch;
  for (int y = 0; y < h; ++y)
    filter_row(rgba + std::size_t(y) * row_bytes, y > 0 ? rgba + std::size_t(y - 1) * row_bytes : nullptr, row_bytes,
               filtered.data() + std::size_t(y) * (row_bytes + 1), scratch);
  return png_file(w, h, 6, "", "", zlib(filtered, level));
}

std::string encode_png_indexed(const std::uint8_t* index, int w, int h, const std::vector<std::uint32_t>& palette,
                               int level) {
  std::vector<std::uint8_t> rows(std::size_t(w + 1) * h);
  for (int y = 0; y < h; ++y) {
    rows[std::size_t(y) * (w + 1)] = 0;  // filter None, as the PNG specification advises for palettes
    std::copy_n(index + std::size_t(y) * w, w, rows.data() + std::size_t(y) * (w + 1) + 1);
  }
  std::string plte, trns;
  for (std::uint32_t c : palette) {
    std::uint8_t b[4];
    std::memcpy(b, &c, 4);
    plte.append(reinterpret_cast<const char*>(b), 3);
    trns.push_back(char(b[3]));
  }
  while (!trns.empty() && std::uint8_t(trns.back()) == 255) trns.pop_back();
  return png_file(w, h, 3, plte, trns, zlib(rows, level));
}

std::string encode_webp(const std::uint8_t* rgba, int w, int h) {
  std::uint8_t* buf = nullptr;
  const std::size_t n = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &buf);
  if (n == 0 || buf == nullptr) throw ProcessingError("WebP encoding failed");
  std::string out(reinterpret_cast<const char*>(buf), n);
  WebPFree(buf);
  return out;
}

std::string encode_tile(TileFormat f, const std::uint8_t* rgba, int w, int h, bool allow_palette) {
  // Deflate level 1 (libdeflate's fastest) rather than 6: level 2 took a third less CPU than 6 for
  // ~14 % larger tiles, level 1 another ~30 % less deflate time than 2 for ~3 % larger tiles
  // (NDVI of the 4000x4000 sample scene, z8-12).
  return f == TileFormat::png ? encode_png(rgba, w, h, kTileDeflateLevel, allow_palette) : encode_webp(rgba, w, h);
}

std::string gzip_compress(const std::string& data) {
  libdeflate_compressor* c = compressor(9);
  std::string out(libdeflate_gzip_compress_bound(c, data.size()), '\0');
  const std::size_t n = libdeflate_gzip_compress(c, data.data(), data.size(), out.data(), out.size());
  if (n == 0) throw ProcessingError("gzip compression failed");
  out.resize(n);
  return out;
}

std::string gzip_decompress(const std::string& data) {
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(libdeflate_alloc_decompressor(),
                                                                                 libdeflate_free_decompressor);
  std::size_t cap = std::max<std::size_t>(4 * data.size(), 1024);
  for (int attempt = 0; attempt < 12; ++attempt, cap *= 4) {
    std::string out(cap, '\0');
    std::size_t n = 0;
    const auto r = libdeflate_gzip_decompress(d.get(), data.data(), data.size(), out.data(), out.size(), &n);
    if (r == LIBDEFLATE_SUCCESS) {
      out.resize(n);
      return out;
    }
    if (r != LIBDEFLATE_INSUFFICIENT_SPACE) break;
  }
  throw ProcessingError("corrupt gzip data");
}

std::uint64_t content_hash(const std::string& data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : data) h = (h ^ ch) * 1099511628211ull;
  return h;
}

}  // namespace qinling::raster
