#include "raster/tiff_direct.hpp"

#include <emmintrin.h>
#include <libdeflate.h>
#include <tiffio.h>

#include <algorithm>
#include <cstring>

namespace qinling::raster {

std::unique_ptr<DirectTiffTiles> DirectTiffTiles::open(const std::string& path) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the predictor undo writes little-endian floats");
  TIFF* tif = TIFFOpen(path.c_str(), "rm");  // m: no memory mapping, plain reads
  if (!tif) return nullptr;
  std::uint16_t spp = 0, bps = 0, format = 0, compression = 0, planar = 0, predictor = 1;
  std::uint32_t tw = 0, th = 0;
  const bool ok = TIFFIsTiled(tif) && TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp) && spp == 1 &&
                  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps) && bps == 32 &&
                  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format) &&
                  format == SAMPLEFORMAT_IEEEFP && TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression) &&
                  (compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_DEFLATE) &&
                  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar) &&  // one sample: either layout
                  (planar == PLANARCONFIG_CONTIG || planar == PLANARCONFIG_SEPARATE) &&
                  TIFFGetFieldDefaulted(tif, TIFFTAG_PREDICTOR, &predictor) &&
                  (predictor == PREDICTOR_NONE || predictor == PREDICTOR_FLOATINGPOINT) &&
                  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) && TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) &&
                  tw > 0 && th > 0 && tw % 16 == 0 && tw <= 65536 && th <= 65536;
  if (!ok) {
    TIFFClose(tif);
    return nullptr;
  }
  std::unique_ptr<DirectTiffTiles> d(new DirectTiffTiles);
  d->tif_ = tif;
  d->inflater_ = libdeflate_alloc_decompressor();
  d->tw_ = int(tw);
  d->th_ = int(th);
  d->predictor_ = predictor;
  d->swapped_ = TIFFIsByteSwapped(tif) != 0;
  d->plain_.resize(std::size_t(tw) * th * 4);
  if (!d->inflater_) return nullptr;
  return d;
}

DirectTiffTiles::~DirectTiffTiles() {
  if (inflater_) libdeflate_free_decompressor(static_cast<libdeflate_decompressor*>(inflater_));
  if (tif_) TIFFClose(static_cast<TIFF*>(tif_));
}

bool DirectTiffTiles::read(int tx, int ty, int w, int h, float* out, std::size_t out_line) {
  TIFF* tif = static_cast<TIFF*>(tif_);
  const std::uint32_t tile = TIFFComputeTile(tif, std::uint32_t(tx) * tw_, std::uint32_t(ty) * th_, 0, 0);
  std::uint64_t* counts = nullptr;
  if (!TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) || !counts || tile >= TIFFNumberOfTiles(tif))
    return false;
  const std::uint64_t n = counts[tile];
  if (n == 0 || n > (std::uint64_t(1) << 31)) return false;  // sparse tile: GDAL knows what to fill
  raw_.resize(std::size_t(n));
  if (TIFFReadRawTile(tif, tile, raw_.data(), tmsize_t(n)) != tmsize_t(n)) return false;
  std::size_t got = 0;
  if (libdeflate_zlib_decompress(static_cast<libdeflate_decompressor*>(inflater_), raw_.data(), raw_.size(),
                                 plain_.data(), plain_.size(), &got) != LIBDEFLATE_SUCCESS ||
      got != plain_.size())
    return false;
  const std::size_t row_bytes = std::size_t(tw_) * 4;
  thread_local std::vector<float> row;
  row.resize(std::size_t(tw_));
  for (int y = 0; y < h; ++y) {
    std::uint8_t* src = plain_.data() + y * row_bytes;
    float* dst = out + std::size_t(y) * out_line;
    if (predictor_ == PREDICTOR_FLOATINGPOINT) {
      undo_float_predictor(src, tw_, row.data());
      std::memcpy(dst, row.data(), std::size_t(w) * 4);
    } else {
      if (swapped_)
        for (std::size_t i = 0; i < std::size_t(w) * 4; i += 4) {
          std::swap(src[i], src[i + 3]);
          std::swap(src[i + 1], src[i + 2]);
        }
      std::memcpy(dst, src, std::size_t(w) * 4);
    }
  }
  return true;
}

void undo_float_predictor(std::uint8_t* row, int n, float* out) {
  // 1. Byte-wise running sum over the whole row (the differences run across the byte planes),
  //    sixteen bytes at a time: a prefix sum inside the vector plus the carry of the last byte.
  const std::size_t bytes = std::size_t(n) * 4;
  __m128i carry = _mm_setzero_si128();
  for (std::size_t i = 0; i < bytes; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i));
    v = _mm_add_epi8(v, _mm_slli_si128(v, 1));
    v = _mm_add_epi8(v, _mm_slli_si128(v, 2));
    v = _mm_add_epi8(v, _mm_slli_si128(v, 4));
    v = _mm_add_epi8(v, _mm_slli_si128(v, 8));
    v = _mm_add_epi8(v, carry);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(row + i), v);
    carry = _mm_set1_epi8(char(row[i + 15]));
  }
  // 2. Byte planes (most significant first) to little-endian floats, sixteen samples at a time.
  const std::uint8_t* p0 = row;          // bits 31..24
  const std::uint8_t* p1 = row + n;      // 23..16
  const std::uint8_t* p2 = row + 2 * n;  // 15..8
  const std::uint8_t* p3 = row + 3 * n;  // 7..0
  auto* o = reinterpret_cast<std::uint8_t*>(out);
  for (int i = 0; i < n; i += 16) {
    const __m128i b3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p3 + i));
    const __m128i b2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p2 + i));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1 + i));
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + i));
    const __m128i lo_lo = _mm_unpacklo_epi8(b3, b2), lo_hi = _mm_unpackhi_epi8(b3, b2);  // byte 0, byte 1
    const __m128i hi_lo = _mm_unpacklo_epi8(b1, b0), hi_hi = _mm_unpackhi_epi8(b1, b0);  // byte 2, byte 3
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 4 * i), _mm_unpacklo_epi16(lo_lo, hi_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 4 * i + 16), _mm_unpackhi_epi16(lo_lo, hi_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 4 * i + 32), _mm_unpacklo_epi16(lo_hi, hi_hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 4 * i + 48), _mm_unpackhi_epi16(lo_hi, hi_hi));
  }
}

}  // namespace qinling::raster
