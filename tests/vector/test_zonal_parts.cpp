// Zonal statistics split into parts (as MPI ranks split them): merging the parts gives the very
// bits of one pass over every window, for any way of cutting the windows into contiguous shares.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>

#include "support/test_support.hpp"
#include "vector/zonal.hpp"

using namespace qinling;
using vector::Point;
using vector::Shape;

namespace {

constexpr int kW = 700, kH = 600;
constexpr double kX0 = 580000, kY0 = 3760000, kRes = 30;  // make_raster's grid (EPSG:4547, 30 m)

unsigned value(int, int x, int y) {
  if ((x * 7 + y * 13) % 53 == 0) return 0;  // nodata
  return 1 + unsigned(500 + 400 * std::sin(x * 0.031) * std::cos(y * 0.017) + (x * 3 + y) % 17);
}

Shape polygon(const std::vector<Point>& px) {
  std::vector<Point> ring;
  for (const auto& p : px) ring.push_back({kX0 + p[0] * kRes, kY0 - p[1] * kRes});
  ring.push_back(ring.front());
  Shape s;
  s.add_ring(ring, true);
  return s;
}

// Rectangles across the 256-pixel tile borders (some past the raster's edge), a rotated
// square, a triangle over most of the raster (it touches every window), and a small cell.
std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (int y = -20; y < kH; y += 95)
    for (int x = -30; x < kW; x += 130)
      out.push_back(polygon({{double(x), double(y)},
                             {x + 140.5, double(y)},
                             {x + 140.5, y + 101.25},
                             {double(x), y + 101.25}}));
  out.push_back(polygon({{350, 100}, {550, 300}, {350, 500}, {150, 300}}));
  out.push_back(polygon({{10, 10}, {690, 40}, {300, 590}}));
  out.push_back(polygon({{255.5, 255.5}, {258.25, 255.5}, {258.25, 257}, {255.5, 257}}));
  return out;
}

std::string state(const std::vector<models::StatsAccumulator>& acc) {
  std::string out;
  for (const auto& a : acc) a.write(out);
  return out;
}

}  // namespace

TEST(ZonalParts, MergedPartsHaveTheBitsOfOnePass) {
  test::TempDir dir;
  const std::string path = dir / "values.tif";
  test::make_raster(path, kW, kH, 1, value, 0);
  const auto cells = shapes();
  std::vector<models::StatRequest> requests;
  for (const char* s : {"mean", "stddev", "median", "p90", "frac_above(700)", "majority", "sum"})
    requests.push_back(models::parse_stat(s));
  // 16 bins: cells above 8 pixels fold their exact values into histograms, across windows too.
  const auto config = models::AccumulatorConfig::from(requests, 16, 0, 1000);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
  vector::ZonalOptions options;
  options.threads = 2;
  options.window_pixels = 1;  // one 256² tile per window: 3 × 3 windows
  const auto whole = vector::zonal_accumulate(path, 1, cells, config, options);
  const std::string expected = state(whole);
  ASSERT_GT(whole[cells.size() - 2].count(), 1000);  // the big triangle has data

  // Cuts of the 9 windows into contiguous shares, including empty shares and single windows.
  const std::vector<std::vector<std::size_t>> cuts = {
      {0, 9}, {0, 4, 9}, {0, 1, 2, 9}, {0, 0, 5, 5, 9}, {0, 3, 6, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (const auto& cut : cuts) {
    std::vector<vector::ZonalPart> parts;
    std::size_t windows = 0;
    for (std::size_t r = 0; r + 1 < cut.size(); ++r) {
      options.share = [&](const std::vector<std::int64_t>& weights) {
        EXPECT_EQ(weights.size(), 9u);
        return std::make_pair(cut[r], cut[r + 1]);
      };
      // Through bytes, as between ranks.
      const auto part = vector::zonal_accumulate_part(path, 1, cells, config, options);
      EXPECT_EQ(part.windows_read, cut[r + 1] - cut[r]);
      windows += part.windows_read;
      parts.push_back(vector::ZonalPart::from_bytes(part.to_bytes(), &config));
    }
    EXPECT_EQ(windows, 9u);
    const auto merged = vector::zonal_merge_parts(std::move(parts), path, cells, config);
    ASSERT_EQ(merged.size(), whole.size());
    EXPECT_TRUE(state(merged) == expected) << "cut into " << cut.size() - 1 << " shares";
    for (std::size_t c = 0; c < whole.size(); ++c)
      for (std::size_t i = 0; i < requests.size(); ++i) {
        const double a = merged[c].finish(requests[i], 0), b = whole[c].finish(requests[i], 0);
        EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << "cell " << c << " " << requests[i].column;
      }
  }
}

TEST(ZonalParts, APlainTwoWayMergeIsNotTheSameBits) {
  // Why the parts keep later windows apart: merging two half-sums of one cell rounds differently
  // from adding its windows one by one (the check above would catch a shortcut).
  const auto config = models::AccumulatorConfig::from({models::parse_stat("mean")}, 16, 0, 1);
  models::StatsAccumulator one(&config), first(&config), second(&config);
  for (int w = 0; w < 16; ++w) {
    models::StatsAccumulator a(&config);
    for (int i = 0; i < 50; ++i) {
      const int k = w * 50 + i;
      a.add(100 * std::sin(k * 1.3) + 0.01 * k, double(k % 7 + 1) / 7);
    }
    one.merge(a);
    (w < 8 ? first : second).merge(a);
  }
  first.merge(second);
  std::string x, y;
  one.write(x);
  first.write(y);
  EXPECT_FALSE(x == y) << "the values do not show the rounding difference; pick others";
}
