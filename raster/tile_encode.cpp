#include "raster/tile_encode.hpp"

#include <libdeflate.h>
#include <webp/encode.h>

#include <cstdlib>
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

std::string encode_png(const std::uint8_t* rgba, int w, int h, int level) {
  const int row_bytes = w * 4;
  std::vector<std::uint8_t> filtered(std::size_t(row_bytes + 1) * h), scratch;
  for (int y = 0; y < h; ++y)
    filter_row(rgba + std::size_t(y) * row_bytes, y > 0 ? rgba + std::size_t(y - 1) * row_bytes : nullptr, row_bytes,
               filtered.data() + std::size_t(y) * (row_bytes + 1), scratch);
  libdeflate_compressor* c = compressor(level);
  std::string z(libdeflate_zlib_compress_bound(c, filtered.size()), '\0');
  const std::size_t zn = libdeflate_zlib_compress(c, filtered.data(), filtered.size(), z.data(), z.size());
  if (zn == 0) throw ProcessingError("PNG encoding failed (deflate)");
  z.resize(zn);

  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, std::uint32_t(w));
  put_u32(ihdr, std::uint32_t(h));
  ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8 bits, RGBA, deflate, adaptive filters, no interlace
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", "");
  return out;
}

std::string encode_webp(const std::uint8_t* rgba, int w, int h) {
  std::uint8_t* buf = nullptr;
  const std::size_t n = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &buf);
  if (n == 0 || buf == nullptr) throw ProcessingError("WebP encoding failed");
  std::string out(reinterpret_cast<const char*>(buf), n);
  WebPFree(buf);
  return out;
}

std::string encode_tile(TileFormat f, const std::uint8_t* rgba, int w, int h) {
  // Deflate level 2 rather than 6: a whole tiling run takes about a third less CPU for ~14 % larger
  // tiles (NDVI of the 4000x4000 sample scene, z8-12).
  return f == TileFormat::png ? encode_png(rgba, w, h, 2) : encode_webp(rgba, w, h);
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
