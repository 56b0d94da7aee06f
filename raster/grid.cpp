#include "raster/grid.hpp"

#include <algorithm>
#include <cmath>

#include <ogr_spatialref.h>

namespace qinling::raster {

std::array<double, 2> Grid::to_world(double col, double row) const {
  const auto& g = geotransform;
  return {g[0] + col * g[1] + row * g[2], g[3] + col * g[4] + row * g[5]};
}

std::array<double, 2> Grid::to_pixel(double x, double y) const {
  const auto& g = geotransform;
  const double det = g[1] * g[5] - g[2] * g[4];
  const double dx = x - g[0], dy = y - g[3];
  return {(dx * g[5] - dy * g[2]) / det, (dy * g[1] - dx * g[4]) / det};
}

BBox Grid::bounds() const {
  BBox b{1e300, 1e300, -1e300, -1e300};
  for (auto [c, r] : {std::array<double, 2>{0, 0}, {double(width), 0}, {0, double(height)},
                      {double(width), double(height)}}) {
    auto [x, y] = to_world(c, r);
    b.xmin = std::min(b.xmin, x);
    b.xmax = std::max(b.xmax, x);
    b.ymin = std::min(b.ymin, y);
    b.ymax = std::max(b.ymax, y);
  }
  return b;
}

bool Grid::aligned_with(const Grid& o) const {
  if (width != o.width || height != o.height || !same_crs(crs_wkt, o.crs_wkt)) return false;
  const double tol = 1e-9 * std::max(std::abs(geotransform[1]), std::abs(geotransform[5]));
  for (int i = 0; i < 6; ++i)
    if (std::abs(geotransform[i] - o.geotransform[i]) > std::max(tol, 1e-12)) return false;
  return true;
}

bool same_crs(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  OGRSpatialReference sa, sb;
  if (sa.importFromWkt(a.c_str()) != OGRERR_NONE || sb.importFromWkt(b.c_str()) != OGRERR_NONE) return false;
  const char* opts[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS",
                        nullptr};
  return sa.IsSame(&sb, opts);
}

Window Grid::window_of(const BBox& b) const {
  auto p0 = to_pixel(b.xmin, b.ymax);
  auto p1 = to_pixel(b.xmax, b.ymin);
  int x0 = std::clamp(int(std::floor(std::min(p0[0], p1[0]))), 0, width);
  int x1 = std::clamp(int(std::ceil(std::max(p0[0], p1[0]))), 0, width);
  int y0 = std::clamp(int(std::floor(std::min(p0[1], p1[1]))), 0, height);
  int y1 = std::clamp(int(std::ceil(std::max(p0[1], p1[1]))), 0, height);
  return {x0, y0, x1 - x0, y1 - y0};
}

Grid Grid::from_extent(const BBox& e, double res, const std::string& crs_wkt) {
  Grid g;
  const double xmin = std::floor(e.xmin / res) * res, ymax = std::ceil(e.ymax / res) * res;
  const double xmax = std::ceil(e.xmax / res) * res, ymin = std::floor(e.ymin / res) * res;
  g.width = std::max(1, int(std::llround((xmax - xmin) / res)));
  g.height = std::max(1, int(std::llround((ymax - ymin) / res)));
  g.geotransform = {xmin, res, 0, ymax, 0, -res};
  g.crs_wkt = crs_wkt;
  return g;
}

std::vector<Window> plan_windows(int width, int height, int block_w, int block_h, std::int64_t max_pixels) {
  std::vector<Window> out;
  if (width <= 0 || height <= 0) return out;
  block_w = std::clamp(block_w, 1, width);
  block_h = std::clamp(block_h, 1, height);
  const std::int64_t row_pixels = std::int64_t(width) * block_h;
  if (row_pixels <= max_pixels) {
    // Whole block rows; as many as the budget allows.
    const int rows_per = int(std::max<std::int64_t>(1, max_pixels / row_pixels)) * block_h;
    for (int y = 0; y < height; y += rows_per) out.push_back({0, y, width, std::min(rows_per, height - y)});
    return out;
  }
  const int blocks_per = int(std::max<std::int64_t>(1, max_pixels / (std::int64_t(block_w) * block_h)));
  const int cols_per = blocks_per * block_w;
  for (int y = 0; y < height; y += block_h)
    for (int x = 0; x < width; x += cols_per)
      out.push_back({x, y, std::min(cols_per, width - x), std::min(block_h, height - y)});
  return out;
}

}  // namespace qinling::raster
