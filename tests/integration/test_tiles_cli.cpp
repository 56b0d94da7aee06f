// `qinling tiles` end to end: deepest-zoom tiles of an RGBA Byte image against gdal2tiles.py of
// the same file, a Float32 layer through a named ramp in both matrix sets, and clear errors.
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/test_support.hpp"

namespace qinling::test {
namespace {
namespace fs = std::filesystem;

// A 4-band Byte image (RGB + alpha with a transparent corner) in EPSG:4547 at 10 m.
std::string make_rgba(const std::string& path) {
  GDALAllRegister();
  const int w = 400, h = 300;
  auto* ds = GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), w, h, 4, GDT_Byte, nullptr);
  double gt[6] = {19050, 10, 0, 3773310, 0, -10};
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  std::vector<unsigned char> v(std::size_t(w) * h);
  for (int b = 1; b <= 4; ++b) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        v[std::size_t(y) * w + x] = b == 4 ? (x + y < 80 ? 0 : 255)
                                           : (unsigned char)(127 + 120 * std::sin(x * 0.02 * b) * std::cos(y * 0.015));
    EXPECT_EQ(ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, w, h, v.data(), w, h, GDT_Byte, 0, 0, nullptr), CE_None);
  }
  ds->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
  GDALClose(ds);
  return path;
}

std::vector<double> pixels(const std::string& png) {
  std::vector<double> all;
  for (int b = 1; b <= 4; ++b) {
    auto v = read_band(png, b);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

TEST(TilesCli, DeepestTilesMatchGdal2tilesOnTheSameByteImage) {
  TempDir tmp;
  const std::string src = make_rgba(tmp / "rgba.tif");
  auto r = run_qinling("tiles " + src + " " + (tmp / "ours") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path xyz = fs::path(tmp / "ours") / "rgba" / "WebMercatorQuad";
  int zmax = -1;
  for (const auto& e : fs::directory_iterator(xyz)) zmax = std::max(zmax, std::stoi(e.path().filename().string()));
  ASSERT_GE(zmax, 0);
  r = run_command("gdal2tiles.py -q --xyz -w none -r average -z " + std::to_string(zmax) + " " + src + " " + (tmp / "g2t"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  double sum = 0;
  long n = 0, tiles = 0;
  for (const auto& e : fs::recursive_directory_iterator(xyz / std::to_string(zmax))) {
    if (e.path().extension() != ".png") continue;
    const fs::path theirs = fs::path(tmp / "g2t") / std::to_string(zmax) / e.path().parent_path().filename() / e.path().filename();
    ASSERT_TRUE(fs::exists(theirs)) << theirs;
    const auto a = pixels(e.path().string()), b = pixels(theirs.string());
    const std::size_t px = a.size() / 4;
    for (std::size_t i = 0; i < px; ++i) {
      if (a[3 * px + i] == 0 || b[3 * px + i] == 0) continue;
      for (int k = 0; k < 3; ++k) sum += std::abs(a[k * px + i] - b[k * px + i]);
      n += 3;
    }
    ++tiles;
  }
  ASSERT_GT(tiles, 0);
  EXPECT_LE(sum / n, 2.0) << "over " << tiles << " tiles at z" << zmax;
}

TEST(TilesCli, FloatLayerThroughANamedRampInBothMatrixSets) {
  TempDir tmp;
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  // NDVI-like float layer: band 5 as float (values ~0..0.5), rendered through the ndvi ramp.
  auto r = run_command("gdal_translate -q -b 5 -ot Float32 -scale 0 20000 0 1 " + scene + " " + (tmp / "layer.tif"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_qinling("tiles " + (tmp / "layer.tif") + " " + (tmp / "out") +
                  " --ramp ndvi --zoom 9-11 --matrix-sets WebMercatorQuad,CGCS2000Quad --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path base = fs::path(tmp / "out") / "layer";
  EXPECT_TRUE(fs::exists(base / "WebMercatorQuad" / "11"));
  EXPECT_TRUE(fs::exists(base / "CGCS2000Quad" / "11"));
  EXPECT_TRUE(fs::exists(base / "tilejson.json"));
  const std::string caps = read_bytes((base / "WMTSCapabilities.xml").string());
  EXPECT_NE(caps.find("<TopLeftCorner>90 -180</TopLeftCorner>"), std::string::npos);  // EPSG:4490 is lat, lon
  EXPECT_NE(caps.find("urn:ogc:def:crs:EPSG::4490"), std::string::npos);
  EXPECT_TRUE(fs::exists(fs::path(tmp / "out") / "layer.mbtiles"));
  EXPECT_TRUE(fs::exists(fs::path(tmp / "out") / "layer.pmtiles"));
  for (const auto& e : fs::directory_iterator(tmp / "out"))
    EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos) << "left behind: " << e.path();
}

TEST(TilesCli, ClearErrors) {
  TempDir tmp;
  auto r = run_qinling("tiles " + (tmp / "missing.tif") + " " + (tmp / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("missing.tif"), std::string::npos) << r.output;
  const std::string src = make_rgba(tmp / "rgba.tif");
  r = run_qinling("tiles " + src + " " + (tmp / "out") + " --zoom 9-3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--zoom"), std::string::npos) << r.output;
  r = run_qinling("tiles " + src + " " + (tmp / "out") + " --ramp no-such-ramp");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("available: "), std::string::npos) << r.output;
  r = run_qinling("tiles " + src + " " + (tmp / "out") + " --matrix-sets Mercator");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("WebMercatorQuad, CGCS2000Quad"), std::string::npos) << r.output;
  // A hillshade blend needs a ramped single-band layer, and a one-band shade.
  r = run_qinling("tiles " + src + " " + (tmp / "out") + " --hillshade " + src);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("hillshade blend needs a single-band layer"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qinling::test
