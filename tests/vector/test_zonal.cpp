// Zonal statistics against independent references: numpy sums over the exact pixel blocks for
// pixel-aligned cells, and 16x16 supersampling for rotated and irregular polygons.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <numbers>
#include <sstream>

#include "raster/gdal_io.hpp"
#include "support/test_support.hpp"
#include "vector/zonal.hpp"

using namespace qinling;
using vector::Point;
using vector::Shape;

namespace {

constexpr int kW = 300, kH = 260;
constexpr double kX0 = 500000, kY0 = 3700000, kRes = 30;

double pixel_value(int c, int r) {
  if ((c * 7 + r * 13) % 41 == 0) return NAN;  // scattered nodata
  return std::sin(c * 0.07) + std::cos(r * 0.05) + 0.001 * c;
}

// A Float32 GeoTIFF tiled 64x64 with NaN nodata (EPSG:4547).
std::string write_raster(const test::TempDir& dir) {
  raster::init_gdal();
  const std::string path = dir / "values.tif";
  const char* opts[] = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", nullptr};
  raster::DatasetPtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
      path.c_str(), kW, kH, 1, GDT_Float32, const_cast<char**>(opts)));
  double gt[6] = {kX0, kRes, 0, kY0, 0, -kRes};
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  std::vector<float> v(std::size_t(kW) * kH);
  for (int r = 0; r < kH; ++r)
    for (int c = 0; c < kW; ++c) v[std::size_t(r) * kW + c] = float(pixel_value(c, r));
  ds->GetRasterBand(1)->SetNoDataValue(NAN);
  EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, kW, kH, v.data(), kW, kH, GDT_Float32, 0, 0),
            CE_None);
  return path;
}

Point world(double c, double r) { return {kX0 + c * kRes, kY0 - r * kRes}; }

Shape polygon_px(const std::vector<Point>& px) {
  std::vector<Point> ring;
  for (const auto& p : px) ring.push_back(world(p[0], p[1]));
  Shape s;
  s.add_ring(ring, true);
  return s;
}

bool inside(const std::vector<Point>& ring, double x, double y) {
  bool in = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
    if ((ring[i][1] > y) != (ring[j][1] > y) &&
        x < (ring[j][0] - ring[i][0]) * (y - ring[i][1]) / (ring[j][1] - ring[i][1]) + ring[i][0])
      in = !in;
  return in;
}

struct Reference {
  double count = 0, total = 0, sum = 0;
};

// 16x16 sub-pixel centres per pixel, in pixel coordinates (float32 values as the raster holds them).
Reference supersample(const std::vector<Point>& ring_px) {
  Reference ref;
  double c0 = 1e9, c1 = -1e9, r0 = 1e9, r1 = -1e9;
  for (const auto& p : ring_px)
    c0 = std::min(c0, p[0]), c1 = std::max(c1, p[0]), r0 = std::min(r0, p[1]), r1 = std::max(r1, p[1]);
  for (int r = std::max(0, int(r0)); r < std::min(kH, int(r1) + 1); ++r)
    for (int c = std::max(0, int(c0)); c < std::min(kW, int(c1) + 1); ++c) {
      int hits = 0;
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) hits += inside(ring_px, c + (j + 0.5) / 16, r + (i + 0.5) / 16);
      if (hits == 0) continue;
      const double w = hits / 256.0;
      const double v = double(float(pixel_value(c, r)));
      ref.total += w;
      if (std::isnan(v)) continue;
      ref.count += w;
      ref.sum += w * v;
    }
  return ref;
}

std::vector<models::StatsAccumulator> run(const std::string& path, const std::vector<Shape>& shapes,
                                          const models::AccumulatorConfig& cfg, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  vector::ZonalOptions o;
  o.threads = threads;
  o.window_pixels = 64 * 64;  // one tile per task: the block loop really iterates
  return vector::zonal_accumulate(path, 1, shapes, cfg, o);
}

}  // namespace

TEST(Zonal, PixelAlignedCellsMatchNumpyBlockSums) {
  test::TempDir dir;
  const std::string path = write_raster(dir);
  // Cells of 23x17 pixels aligned to the pixel grid, spanning tile borders, some past the edge.
  std::vector<Shape> cells;
  std::vector<std::array<int, 4>> blocks;  // c0, r0, c1, r1 clipped to the raster
  for (int r = 0; r < kH; r += 17)
    for (int c = 0; c < kW; c += 23) {
      cells.push_back(
          Shape::rectangle(kX0 + c * kRes, kY0 - (r + 17) * kRes, kX0 + (c + 23) * kRes, kY0 - r * kRes));
      blocks.push_back({c, r, std::min(c + 23, kW), std::min(r + 17, kH)});
    }
  const auto cfg = models::AccumulatorConfig::from({models::parse_stat("mean")}, 256, -3, 3);
  const auto acc = run(path, cells, cfg, 2);
  std::ostringstream script;
  script << "import json, numpy as np\nfrom osgeo import gdal\n"
         << "a = gdal.Open('" << path << "').ReadAsArray().astype(np.float64)\nout = []\n"
         << "for c0, r0, c1, r1 in " <<
      [&] {
        std::ostringstream s;
        s << "[";
        for (const auto& b : blocks) s << "(" << b[0] << "," << b[1] << "," << b[2] << "," << b[3] << "),";
        s << "]";
        return s.str();
      }()
         << ":\n    b = a[r0:r1, c0:c1]\n    out.append([float(np.nansum(b)), "
            "int(np.count_nonzero(~np.isnan(b)))])\n"
         << "print(json.dumps(out))\n";
  test::write_text(dir / "ref.py", script.str());
  const auto r = test::run_command("/usr/bin/python3 " + (dir / "ref.py"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream in(r.output);
  char ch;
  in >> ch;  // [
  for (std::size_t i = 0; i < cells.size(); ++i) {
    double sum = 0, count = 0;
    in >> ch >> sum >> ch >> count >> ch >> ch;  // [sum, count],
    EXPECT_NEAR(acc[i].sum(), sum, 1e-9 * std::max(1.0, std::abs(sum))) << "cell " << i;
    EXPECT_DOUBLE_EQ(acc[i].count(), count) << "cell " << i;
    const auto& b = blocks[i];
    // Outside the raster and nodata both count as missing.
    EXPECT_NEAR(acc[i].valid_fraction(), count / (23.0 * 17.0), 1e-12) << "cell " << i;
    (void)b;
  }
}

TEST(Zonal, RotatedAndIrregularPolygonsMatchSupersampling) {
  test::TempDir dir;
  const std::string path = write_raster(dir);
  std::vector<std::vector<Point>> rings_px;
  // Squares rotated by 20 and 45 degrees, a star, and a thin sliver.
  for (double deg : {20.0, 45.0}) {
    std::vector<Point> ring;
    const double a = deg * std::numbers::pi / 180, cx = 80.3 + deg, cy = 70.6 + deg, h = 14.2;
    for (auto [u, v] : std::vector<std::pair<double, double>>{{-h, -h}, {h, -h}, {h, h}, {-h, h}})
      ring.push_back({cx + u * std::cos(a) - v * std::sin(a), cy + u * std::sin(a) + v * std::cos(a)});
    rings_px.push_back(ring);
  }
  std::vector<Point> star;
  for (int i = 0; i < 14; ++i) {
    const double a = 2 * std::numbers::pi * i / 14, rad = i % 2 ? 9.3 : 25.7;
    star.push_back({200.4 + rad * std::cos(a), 150.2 + rad * std::sin(a)});
  }
  rings_px.push_back(star);
  rings_px.push_back({{10.2, 200.1}, {150.7, 230.4}, {151.3, 233.9}, {9.8, 204.0}});
  std::vector<Shape> shapes;
  for (auto ring : rings_px) {
    ring.push_back(ring.front());
    shapes.push_back(polygon_px(ring));
  }
  const auto cfg = models::AccumulatorConfig::from({models::parse_stat("mean")}, 256, -3, 3);
  const auto one = run(path, shapes, cfg, 1);
  const auto two = run(path, shapes, cfg, 2);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    auto ring = rings_px[i];
    ring.push_back(ring.front());
    const Reference ref = supersample(ring);
    EXPECT_NEAR(one[i].count(), ref.count, 1e-3 * ref.count) << "polygon " << i;
    EXPECT_NEAR(one[i].sum(), ref.sum, 1e-3 * std::abs(ref.sum) + 1e-3 * ref.count) << "polygon " << i;
    EXPECT_NEAR(one[i].mean(), ref.sum / ref.count, 1e-3 * std::abs(ref.sum / ref.count)) << "polygon " << i;
    EXPECT_NEAR(one[i].count() + (one[i].total_weight() - one[i].count()), ref.total, 1e-3 * ref.total);
    // Identical whatever the thread count.
    EXPECT_EQ(one[i].sum(), two[i].sum());
    EXPECT_EQ(one[i].mean(), two[i].mean());
    EXPECT_EQ(one[i].stddev(), two[i].stddev());
  }
}
