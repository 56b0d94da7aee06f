// The direct GeoTIFF tile decoder (raster/tiff_direct) against GDAL's own reading of the same
// files, bit for bit: floating-point and no predictor, little- and big-endian files, NaNs,
// partial edge tiles; files it does not handle are left to GDAL.
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "raster/gdal_io.hpp"
#include "raster/tiff_direct.hpp"
#include "support/test_support.hpp"

namespace qinling::raster {
namespace {

// A 700 x 530 Float32 layer (edge tiles are partial) with negative values, NaNs and large
// exponents, written by GDAL with the given creation options.
std::string write_layer(const std::string& path, const std::vector<std::string>& options) {
  init_gdal();
  char** opts = nullptr;
  for (const auto& o : options) opts = CSLAddString(opts, o.c_str());
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GTiff");
  DatasetPtr ds(drv->Create(path.c_str(), 700, 530, 1, GDT_Float32, opts));
  CSLDestroy(opts);
  std::vector<float> v(700 * 530);
  for (int y = 0; y < 530; ++y)
    for (int x = 0; x < 700; ++x)
      v[y * 700 + x] = (x + y) % 97 == 0
                           ? NAN
                           : float(std::sin(x * 0.013) * std::cos(y * 0.021) * std::pow(10.0, (x % 7) - 3));
  EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 700, 530, v.data(), 700, 530, GDT_Float32, 0, 0,
                                           nullptr),
            CE_None);
  return path;
}

// Every tile read directly equals GDAL's reading bit for bit; returns the tiles compared.
int compare_with_gdal(const std::string& path) {
  auto direct = DirectTiffTiles::open(path);
  if (!direct) return -1;
  DatasetPtr ds = open_raster(path);
  const int W = ds->GetRasterXSize(), H = ds->GetRasterYSize();
  const int tw = direct->tile_width(), th = direct->tile_height();
  std::vector<float> a(std::size_t(tw) * th), b(std::size_t(tw) * th);
  int tiles = 0;
  for (int ty = 0; ty * th < H; ++ty)
    for (int tx = 0; tx * tw < W; ++tx) {
      const int w = std::min(tw, W - tx * tw), h = std::min(th, H - ty * th);
      EXPECT_TRUE(direct->read(tx, ty, w, h, a.data(), std::size_t(tw)));
      EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, tx * tw, ty * th, w, h, b.data(), w, h, GDT_Float32,
                                               4, std::int64_t(tw) * 4, nullptr),
                CE_None);
      for (int y = 0; y < h; ++y)
        EXPECT_EQ(
            std::memcmp(a.data() + std::size_t(y) * tw, b.data() + std::size_t(y) * tw, std::size_t(w) * 4),
            0)
            << path << " tile " << tx << "," << ty << " row " << y;
      ++tiles;
    }
  return tiles;
}

TEST(TilesTiffDirect, FloatTilesEqualGdalsReadingBitForBit) {
  test::TempDir tmp;
  const std::vector<std::string> common = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                                           "COMPRESS=DEFLATE"};
  for (const auto& [name, extra] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"pred3.tif", {"PREDICTOR=3"}},
           {"pred3_big_endian.tif", {"PREDICTOR=3", "ENDIANNESS=BIG"}},
           {"pred1.tif", {}},
           {"pred1_big_endian.tif", {"ENDIANNESS=BIG"}},
           {"pred3_separate.tif", {"PREDICTOR=3", "INTERLEAVE=BAND", "ZLEVEL=9"}}}) {
    std::vector<std::string> options = common;
    options.insert(options.end(), extra.begin(), extra.end());
    EXPECT_EQ(compare_with_gdal(write_layer(tmp / name, options)), 9) << name;  // 3 x 3 tiles
  }
}

TEST(TilesTiffDirect, OtherFilesAreLeftToGdal) {
  test::TempDir tmp;
  // Striped, LZW, and horizontal-differencing files are not decoded directly.
  EXPECT_EQ(compare_with_gdal(write_layer(tmp / "striped.tif", {"COMPRESS=DEFLATE", "PREDICTOR=3"})), -1);
  EXPECT_EQ(compare_with_gdal(write_layer(tmp / "lzw.tif", {"TILED=YES", "COMPRESS=LZW", "PREDICTOR=3"})),
            -1);
  EXPECT_EQ(DirectTiffTiles::open(tmp / "missing.tif"), nullptr);
}

TEST(TilesTiffDirect, PredictorUndoMatchesTheByteByByteDefinition) {
  // TIFF technical note 3 by hand: bytes of 32 floats split into planes (most significant first),
  // then differenced byte by byte along the row.
  std::vector<float> v(32);
  for (int i = 0; i < 32; ++i) v[i] = float(i * 1.75 - 20) * (i % 3 ? 1.f : -1e-9f);
  std::vector<std::uint8_t> row(128);
  for (int i = 0; i < 32; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    for (int k = 0; k < 4; ++k) row[k * 32 + i] = std::uint8_t(bits >> (8 * (3 - k)));
  }
  for (int i = 127; i > 0; --i) row[i] = std::uint8_t(row[i] - row[i - 1]);
  std::vector<float> out(32);
  undo_float_predictor(row.data(), 32, out.data());
  EXPECT_EQ(std::memcmp(out.data(), v.data(), 128), 0);
}

}  // namespace
}  // namespace qinling::raster
