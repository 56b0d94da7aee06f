// Exact pixel coverage fractions against analytic areas of simple shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "vector/coverage.hpp"

using namespace qinling;
using vector::Point;
using vector::Shape;

namespace {

// Pixel (col,row) ↔ world (col, -row): a north-up grid of unit pixels at the origin.
raster::Grid unit_grid(int w, int h) {
  raster::Grid g;
  g.width = w;
  g.height = h;
  g.geotransform = {0, 1, 0, 0, 0, -1};
  return g;
}

Shape pixel_polygon(const std::vector<Point>& ring_px, const std::vector<std::vector<Point>>& holes = {}) {
  auto world = [](std::vector<Point> r) {
    for (auto& p : r) p[1] = -p[1];
    return r;
  };
  Shape s;
  s.add_ring(world(ring_px), true);
  for (const auto& h : holes) s.add_ring(world(h), false);
  return s;
}

std::vector<float> cover(const Shape& s, const raster::Window& w) {
  const vector::PixelTransform t(unit_grid(100, 100));
  std::vector<double> scratch;
  std::vector<float> out;
  vector::coverage_fractions(s, t, w, scratch, out);
  return out;
}

}  // namespace

TEST(Coverage, TriangleHalvesTheDiagonalPixels) {
  const Shape tri = pixel_polygon({{0, 0}, {4, 0}, {0, 4}});
  const auto c = cover(tri, {0, 0, 5, 5});
  for (int r = 0; r < 5; ++r)
    for (int col = 0; col < 5; ++col) {
      const double expect = col + r < 3 ? 1.0 : (col + r == 3 ? 0.5 : 0.0);
      EXPECT_NEAR(c[r * 5 + col], expect, 1e-6) << col << "," << r;
    }
}

TEST(Coverage, FractionalRectangleAndHole) {
  // [0.25, 2.5] x [0.5, 1.75] minus nothing: per pixel, the product of the overlaps on each axis.
  const Shape rect = pixel_polygon({{0.25, 0.5}, {2.5, 0.5}, {2.5, 1.75}, {0.25, 1.75}});
  const auto c = cover(rect, {0, 0, 3, 2});
  const double ox[3] = {0.75, 1, 0.5}, oy[2] = {0.5, 0.75};
  for (int r = 0; r < 2; ++r)
    for (int col = 0; col < 3; ++col) EXPECT_NEAR(c[r * 3 + col], ox[col] * oy[r], 1e-6);
  // A 10x10 square with a hole [2.5, 7.5]^2: the ring of pixels around the hole is half covered.
  const Shape holed =
      pixel_polygon({{0, 0}, {10, 0}, {10, 10}, {0, 10}}, {{{2.5, 2.5}, {7.5, 2.5}, {7.5, 7.5}, {2.5, 7.5}}});
  const auto h = cover(holed, {0, 0, 10, 10});
  double sum = 0;
  for (float v : h) sum += v;
  EXPECT_NEAR(sum, 100 - 25, 1e-4);
  EXPECT_NEAR(h[2 * 10 + 2], 0.75, 1e-6);  // corner pixel of the hole: a quarter missing
  EXPECT_NEAR(h[2 * 10 + 4], 0.5, 1e-6);   // edge pixel: half missing
  EXPECT_NEAR(h[5 * 10 + 5], 0.0, 1e-6);
}

TEST(Coverage, CircleAreaAndClippedWindowsAgree) {
  std::vector<Point> ring;
  const int n = 720;
  for (int i = 0; i < n; ++i) {
    const double a = 2 * std::numbers::pi * i / n;
    ring.push_back({17.3 + 11.1 * std::cos(a), 15.8 + 11.1 * std::sin(a)});
  }
  const Shape circle = pixel_polygon(ring);
  const auto full = cover(circle, {0, 0, 40, 40});
  double sum = 0;
  for (float v : full) sum += v;
  // The polygon's own area (n-gon inscribed in the circle): n/2 r^2 sin(2π/n).
  EXPECT_NEAR(sum, n / 2.0 * 11.1 * 11.1 * std::sin(2 * std::numbers::pi / n), 1e-3);
  // Any sub-window gives the same fractions as the corresponding part of the full window.
  const raster::Window sub{9, 13, 11, 7};
  const auto part = cover(circle, sub);
  for (int r = 0; r < sub.height; ++r)
    for (int c = 0; c < sub.width; ++c)
      EXPECT_NEAR(part[r * sub.width + c], full[(sub.y + r) * 40 + sub.x + c], 1e-6);
}

TEST(Coverage, RotatedGridPreservesShares) {
  // A grid rotated by 30 degrees: a pixel-sized square placed on pixel (2,3) covers it fully.
  raster::Grid g = unit_grid(10, 10);
  const double a = std::numbers::pi / 6, s = 2.0;
  g.geotransform = {100, s * std::cos(a), s * std::sin(a), 50, s * std::sin(a), -s * std::cos(a)};
  std::vector<Point> ring;
  for (auto [c, r] : std::vector<std::pair<double, double>>{{2, 3}, {2, 4}, {3, 4}, {3, 3}, {2, 3}})
    ring.push_back(g.to_world(c, r));
  Shape sq;
  sq.add_ring(ring, true);
  const vector::PixelTransform t(g);
  std::vector<double> scratch;
  std::vector<float> out;
  vector::coverage_fractions(sq, t, {0, 0, 6, 6}, scratch, out);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_NEAR(out[r * 6 + c], (c == 2 && r == 3) ? 1.0 : 0.0, 1e-6);
}
