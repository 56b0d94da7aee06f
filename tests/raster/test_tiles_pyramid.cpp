// The tile engine against independent references: PNG decoded by GDAL, ramps by hand, the deepest
// level against gdalwarp -r average, MBTiles read back with GDAL's MBTiles driver, PMTiles read
// back tile by tile, and identical output for 1 and 2 threads.
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "raster/gdal_io.hpp"
#include "raster/pmtiles.hpp"
#include "raster/tile_writers.hpp"
#include "raster/tileset.hpp"
#include "support/test_support.hpp"

namespace qinling::raster {
namespace {

using Tiles = std::map<std::tuple<int, int, int>, std::string>;

class MemorySink final : public TileSink {
 public:
  void put(int z, int x, int y, const std::string& d) override {
    order.emplace_back(z, x, y);
    tiles[{z, x, y}] = d;
  }
  Tiles tiles;
  std::vector<std::tuple<int, int, int>> order;
};

// A smooth float layer in EPSG:4547 (30 m) with a NaN hole, like an NDVI.
std::string make_value_layer(const std::string& path, int w = 300, int h = 200) {
  init_gdal();
  test::make_float_layer(path, w, h, [](int x, int y) {
    return (x > 40 && x < 60 && y > 40 && y < 70) ? NAN : float(0.8 * std::sin(x * 0.03) * std::cos(y * 0.05));
  });
  return path;
}

std::vector<std::uint8_t> decode(const std::string& png) {
  init_gdal();
  const std::string name = "/vsimem/test_tile_" + std::to_string(std::hash<std::string>{}(png)) + ".png";
  VSIFCloseL(VSIFileFromMemBuffer(name.c_str(), (GByte*)png.data(), png.size(), FALSE));
  DatasetPtr ds(GDALDataset::Open(name.c_str(), GDAL_OF_RASTER));
  std::vector<std::uint8_t> px;
  if (ds) {
    const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize(), n = ds->GetRasterCount();
    px.resize(std::size_t(w) * h * n);
    EXPECT_EQ(ds->RasterIO(GF_Read, 0, 0, w, h, px.data(), w, h, GDT_Byte, n, nullptr, n, w * n, 1, nullptr), CE_None);
    // Palette PNGs: expand through GDAL's colour table (alpha from tRNS) to RGBA.
    if (const GDALColorTable* ct = n == 1 ? ds->GetRasterBand(1)->GetColorTable() : nullptr) {
      std::vector<std::uint8_t> rgba(px.size() * 4);
      for (std::size_t i = 0; i < px.size(); ++i) {
        const GDALColorEntry* e = ct->GetColorEntry(px[i]);
        rgba[4 * i] = std::uint8_t(e->c1), rgba[4 * i + 1] = std::uint8_t(e->c2);
        rgba[4 * i + 2] = std::uint8_t(e->c3), rgba[4 * i + 3] = std::uint8_t(e->c4);
      }
      px = std::move(rgba);
    }
  }
  ds.reset();
  VSIUnlink(name.c_str());
  return px;
}

ColourRamp grey_ramp() {
  ColourRamp r;
  r.stops = {{0, {0, 0, 0, 255}}, {1, {255, 255, 255, 255}}};
  return r;
}

TEST(TileEncode, PngDecodesToTheSamePixelsWithGdal) {
  std::vector<std::uint8_t> rgba(64 * 48 * 4);
  for (std::size_t i = 0; i < rgba.size(); ++i) rgba[i] = std::uint8_t((i * 7919) % 251);
  const auto back = decode(encode_png(rgba.data(), 64, 48));
  EXPECT_EQ(back, rgba);
}

TEST(TileEncode, FewColoursGivePaletteSmallerAndDecodeToTheSamePixels) {
  std::vector<std::uint8_t> rgba(256 * 256 * 4, 0);  // transparent corner, then 200 colours
  for (int i = 0; i < 256 * 256; ++i)
    if (i % 256 > 20) {
      const int c = (i / 256 + i % 256) % 200;
      rgba[4 * i] = std::uint8_t(c), rgba[4 * i + 1] = std::uint8_t(255 - c), rgba[4 * i + 2] = 7;
      rgba[4 * i + 3] = c == 5 ? 128 : 255;
    }
  const std::string png = encode_png(rgba.data(), 256, 256);
  EXPECT_EQ(png[25], 3) << "colour type: palette";
  EXPECT_EQ(decode(png), rgba);
  rgba[0] = 1, rgba[3] = 1;  // 60 more colours: over 256, so RGBA
  for (int i = 0; i < 60; ++i) rgba[4 * (i + 1)] = std::uint8_t(i), rgba[4 * (i + 1) + 3] = 3;
  const std::string rgba_png = encode_png(rgba.data(), 256, 256);
  EXPECT_EQ(rgba_png[25], 6) << "colour type: RGBA";
  EXPECT_EQ(decode(rgba_png), rgba);
}

TEST(ColourRamp, InterpolatesClampsAndMakesNodataTransparent) {
  const RampRenderer r(grey_ramp(), 0, 10);
  EXPECT_NEAR(r.colour(5)[0], 128, 1);  // halfway: (0 + 255) / 2
  EXPECT_EQ(r.colour(-3)[0], 0);        // clamped below
  EXPECT_EQ(r.colour(99)[0], 255);      // clamped above
  EXPECT_EQ(r.colour(NAN)[3], 0);
  ColourRamp d = grey_ramp();
  d.kind = RampKind::diverging;  // centred on 0: [-4, 1] becomes [-4, 4]
  EXPECT_NEAR(RampRenderer(d, -4, 1).colour(0)[0], 128, 1);
  ColourRamp c;
  c.kind = RampKind::categorical;
  c.classes = {{1, {255, 0, 0, 255}, "a"}, {3, {0, 0, 255, 255}, "b"}};
  const RampRenderer cr(c, 0, 0);
  EXPECT_EQ(cr.colour(3)[2], 255);
  EXPECT_EQ(cr.colour(2)[3], 0);  // not a class: transparent
}

TEST(TilePyramid, DeepestLevelMatchesGdalwarpAverageAndLowerLevelsExist) {
  test::TempDir tmp;
  const std::string src_path = make_value_layer(tmp / "v.tif");
  const TileSource src = describe_tile_source(src_path);
  const Footprint fp = footprint_in(src, web_mercator_quad());
  const ZoomRange zoom = auto_zoom_range(fp, web_mercator_quad());
  EXPECT_EQ(zoom.max, 12);  // 30 m in Web Mercator at 33.9N is ~36 m: z12 (38.2 m)
  const RampRenderer ramp(grey_ramp(), -1, 1);
  PyramidOptions opt{&web_mercator_quad(), {zoom.max - 2, zoom.max}, 2, &ramp, TileFormat::png, {}};
  MemorySink sink;
  const PyramidResult res = build_pyramid(src, fp, opt, sink);
  ASSERT_GT(res.tiles_written, 2);
  for (const auto& [k, d] : sink.tiles) {
    const auto [z, x, y] = k;
    if (z < zoom.max) continue;
    // Reference: GDAL warps the same layer onto this tile's bounds with -r average.
    const BBox b = web_mercator_quad().tile_bounds(z, x, y);
    DatasetPtr in = open_raster(src_path);
    std::vector<const char*> args = {"-of", "MEM", "-t_srs", "EPSG:3857", "-r", "average", "-te"};
    std::vector<std::string> te = {std::to_string(b.xmin), std::to_string(b.ymin), std::to_string(b.xmax),
                                   std::to_string(b.ymax)};
    for (auto& s : te) args.push_back(s.c_str());
    for (const char* a : {"-ts", "256", "256", "-dstnodata", "nan"}) args.push_back(a);
    args.push_back(nullptr);
    GDALWarpAppOptions* wo = GDALWarpAppOptionsNew(const_cast<char**>(args.data()), nullptr);
    GDALDatasetH h = GDALDatasetH(in.get());
    DatasetPtr ref(GDALDataset::FromHandle(GDALWarp("", nullptr, 1, &h, wo, nullptr)));
    GDALWarpAppOptionsFree(wo);
    ASSERT_TRUE(ref);
    std::vector<float> v(256 * 256);
    ASSERT_EQ(ref->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, 256, 256, v.data(), 256, 256, GDT_Float32, 0, 0, nullptr), CE_None);
    const auto ours = decode(d);
    double diff = 0;
    long n = 0;
    for (int i = 0; i < 256 * 256; ++i) {
      if (std::isnan(v[i]) || ours[i * 4 + 3] == 0) continue;
      diff += std::abs(double(ours[i * 4]) - ramp.colour(v[i])[0]);
      ++n;
    }
    ASSERT_GT(n, 0);
    EXPECT_LE(diff / n, 1.0) << "tile " << z << "/" << x << "/" << y;
  }
  // Every tile's parent exists (lower levels are built from their children).
  for (const auto& [k, d] : sink.tiles) {
    const auto [z, x, y] = k;
    if (z > zoom.max - 2) {
      EXPECT_TRUE(sink.tiles.count({z - 1, x / 2, y / 2})) << z << "/" << x << "/" << y;
    }
  }
}

TEST(TilePyramid, SameTilesInTheSameOrderForOneAndTwoThreads) {
  test::TempDir tmp;
  const TileSource src = describe_tile_source(make_value_layer(tmp / "v.tif"));
  for (const TileMatrixSet* tms : {&web_mercator_quad(), &cgcs2000_quad()}) {
    const Footprint fp = footprint_in(src, *tms);
    const RampRenderer ramp(default_ramp(), -1, 1);
    MemorySink one, two;
    build_pyramid(src, fp, {tms, {10, 13}, 1, &ramp, TileFormat::png, {}}, one);
    build_pyramid(src, fp, {tms, {10, 13}, 2, &ramp, TileFormat::png, {}}, two);
    EXPECT_EQ(one.order, two.order);
    EXPECT_TRUE(one.tiles == two.tiles) << tms->id;
  }
}

// GDAL's warper as the reference for our own bilinear kernel (same transform, 1/8-pixel approximation).
DatasetPtr gdalwarp_tile(const std::string& src_path, const TileMatrixSet& tms, int z, int x, int y, const char* alg) {
  DatasetPtr in = open_raster(src_path);
  const BBox b = tms.tile_bounds(z, x, y);
  const std::string srs = "EPSG:" + std::to_string(tms.epsg);
  std::vector<std::string> args = {"-of", "MEM", "-t_srs", srs, "-r", alg, "-te", std::to_string(b.xmin),
                                   std::to_string(b.ymin), std::to_string(b.xmax), std::to_string(b.ymax),
                                   "-ts", "256", "256", "-dstnodata", "nan"};
  if (tms.geographic) args.insert(args.end(), {"-te_srs", "+proj=longlat +ellps=GRS80 +no_defs"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* wo = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH h = GDALDatasetH(in.get());
  DatasetPtr ref(GDALDataset::FromHandle(GDALWarp("", nullptr, 1, &h, wo, nullptr)));
  GDALWarpAppOptionsFree(wo);
  return ref;
}

TEST(TileWarper, BilinearKernelMatchesGdalwarpBilinear) {
  test::TempDir tmp;
  const std::string path = make_value_layer(tmp / "v.tif");
  const TileSource src = describe_tile_source(path);
  for (const TileMatrixSet* tms : {&web_mercator_quad(), &cgcs2000_quad()}) {
    const Footprint fp = footprint_in(src, *tms);
    const int z = auto_zoom_range(fp, *tms).max;
    const TileRange r = tile_range(*tms, z, fp.bounds);
    TileWarper warper(src, *tms, GRA_Bilinear);
    long compared = 0, nan_mismatch = 0;
    double max_diff = 0;
    for (int ty = r.row0; ty <= r.row1; ++ty)
      for (int tx = r.col0; tx <= r.col1; ++tx) {
        std::vector<float> ours(256 * 256), ref(256 * 256);
        warper.warp(z, tx * 256, ty * 256, 256, 256, ours.data(), 256);
        DatasetPtr g = gdalwarp_tile(path, *tms, z, tx, ty, "bilinear");
        ASSERT_TRUE(g);
        ASSERT_EQ(g->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, 256, 256, ref.data(), 256, 256, GDT_Float32, 0, 0, nullptr),
                  CE_None);
        for (int i = 0; i < 256 * 256; ++i) {
          if (std::isnan(ours[i]) != std::isnan(ref[i])) ++nan_mismatch;
          if (std::isnan(ours[i]) || std::isnan(ref[i])) continue;
          max_diff = std::max(max_diff, double(std::abs(ours[i] - ref[i])));
          ++compared;
        }
      }
    ASSERT_GT(compared, 10000) << tms->id;
    // Values: the source changes by at most ~0.03 per pixel, so 1/8-pixel transform error is ~0.004.
    EXPECT_LE(max_diff, 0.005) << tms->id;
    EXPECT_LE(double(nan_mismatch) / compared, 0.005) << tms->id << ": nodata edges differ";
  }
}

TEST(TilePyramid, HillshadeBlendMultipliesTheRampColours) {
  test::TempDir tmp;
  const std::string values = make_value_layer(tmp / "v.tif");
  // Shaded relief on the same grid: 255 (no darkening) in the west half, 51 (a fifth) in the east.
  const std::string shade_path = tmp / "shade.tif";
  {
    DatasetPtr v = open_raster(values);
    GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GTiff");
    DatasetPtr ds(drv->Create(shade_path.c_str(), 300, 200, 1, GDT_Byte, nullptr));
    double gt[6];
    v->GetGeoTransform(gt);
    ds->SetGeoTransform(gt);
    ds->SetSpatialRef(v->GetSpatialRef());
    std::vector<std::uint8_t> px(300 * 200);
    for (int i = 0; i < 300 * 200; ++i) px[i] = (i % 300) < 150 ? 255 : 51;
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 300, 200, px.data(), 300, 200, GDT_Byte, 0, 0, nullptr), CE_None);
  }
  const TileSource src = describe_tile_source(values), shade = describe_tile_source(shade_path);
  const Footprint fp = footprint_in(src, web_mercator_quad());
  const int z = auto_zoom_range(fp, web_mercator_quad()).max;
  const RampRenderer ramp(grey_ramp(), -1, 1);
  MemorySink plain, shaded;
  build_pyramid(src, fp, {&web_mercator_quad(), {z, z}, 2, &ramp, TileFormat::png, {}}, plain);
  PyramidOptions opt{&web_mercator_quad(), {z, z}, 2, &ramp, TileFormat::png, {}};
  opt.shade = &shade;
  opt.shade_strength = 1.0;
  build_pyramid(src, fp, opt, shaded);
  ASSERT_EQ(plain.order, shaded.order);
  // The shade raster warped by GDAL tells which pixels are fully lit (255) or dark (51).
  long lit = 0, dark = 0;
  for (const auto& [k, d] : plain.tiles) {
    const auto [tz, tx, ty] = k;
    DatasetPtr ref = gdalwarp_tile(shade_path, web_mercator_quad(), tz, tx, ty, "bilinear");
    ASSERT_TRUE(ref);
    std::vector<float> sh(256 * 256);
    ASSERT_EQ(ref->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, 256, 256, sh.data(), 256, 256, GDT_Float32, 0, 0, nullptr),
              CE_None);
    const auto a = decode(d), b = decode(shaded.tiles.at(k));
    for (int i = 0; i < 256 * 256; ++i) {
      if (a[4 * i + 3] == 0) continue;
      EXPECT_EQ(b[4 * i + 3], a[4 * i + 3]);
      for (int c = 0; c < 3; ++c) {
        if (sh[i] == 255.f) {
          EXPECT_EQ(b[4 * i + c], a[4 * i + c]);
          ++lit;
        }
        if (sh[i] == 51.f) {
          EXPECT_NEAR(b[4 * i + c], a[4 * i + c] * 0.2, 0.5 + 1e-9);
          ++dark;
        }
      }
    }
  }
  EXPECT_GT(lit, 1000);
  EXPECT_GT(dark, 1000);
}

TEST(TileFormats, MbtilesOpensInGdalAndPmtilesReadsBackEveryTile) {
  test::TempDir tmp;
  TilesetRequest req;
  req.source = make_value_layer(tmp / "v.tif");
  req.matrix_sets = {"WebMercatorQuad"};
  req.zoom = ZoomRange{10, 12};
  req.range = std::pair{-1.0, 1.0};
  req.xyz_dir = tmp / "xyz";
  req.mbtiles_path = tmp / "v.mbtiles";
  req.pmtiles_path = tmp / "v.pmtiles";
  const TilesetReport rep = build_tileset(req);
  ASSERT_GT(rep.tiles(), 0);

  // GDAL's MBTiles driver: its raster is the deepest level; a tile window equals our PNG.
  DatasetPtr mb(GDALDataset::Open(req.mbtiles_path.c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(mb) << "GDAL cannot open the MBTiles";
  double gt[6];
  ASSERT_EQ(mb->GetGeoTransform(gt), CE_None);
  EXPECT_NEAR(gt[1], web_mercator_quad().resolution(12), 1e-6);
  PmtilesReader pm(req.pmtiles_path);
  EXPECT_EQ(pm.min_zoom(), 10);
  EXPECT_EQ(pm.max_zoom(), 12);
  long compared = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(req.xyz_dir + "/WebMercatorQuad")) {
    if (e.path().extension() != ".png") continue;
    const int y = std::stoi(e.path().stem().string()), x = std::stoi(e.path().parent_path().filename().string()),
              z = std::stoi(e.path().parent_path().parent_path().filename().string());
    const std::string png = test::read_bytes(e.path().string());
    const auto from_pm = pm.get(z, x, y);
    ASSERT_TRUE(from_pm) << z << "/" << x << "/" << y;
    EXPECT_EQ(*from_pm, png);
    if (z != 12) continue;
    const BBox b = web_mercator_quad().tile_bounds(z, x, y);
    const int px = int(std::lround((b.xmin - gt[0]) / gt[1])), py = int(std::lround((b.ymax - gt[3]) / gt[5]));
    const int x0 = std::max(0, px), y0 = std::max(0, py);
    const int x1 = std::min(mb->GetRasterXSize(), px + 256), y1 = std::min(mb->GetRasterYSize(), py + 256);
    ASSERT_LT(x0, x1);
    std::vector<std::uint8_t> win(std::size_t(x1 - x0) * (y1 - y0) * 4);
    ASSERT_EQ(mb->RasterIO(GF_Read, x0, y0, x1 - x0, y1 - y0, win.data(), x1 - x0, y1 - y0, GDT_Byte, 4, nullptr, 4,
                           (x1 - x0) * 4, 1, nullptr),
              CE_None);
    const auto ours = decode(png);
    for (int r = y0; r < y1; ++r)
      for (int c = x0; c < x1; ++c)
        for (int k = 0; k < 4; ++k)
          ASSERT_EQ(win[(std::size_t(r - y0) * (x1 - x0) + (c - x0)) * 4 + k], ours[(std::size_t(r - py) * 256 + (c - px)) * 4 + k]);
    ++compared;
  }
  EXPECT_GT(compared, 0);
  EXPECT_FALSE(pm.get(12, 0, 0));  // far away: no tile
}

}  // namespace
}  // namespace qinling::raster
