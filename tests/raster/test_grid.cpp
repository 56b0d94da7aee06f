// Grid geometry and window plans.
#include <gtest/gtest.h>

#include <set>

#include "raster/grid.hpp"

using namespace qinling::raster;

TEST(Grid, PixelWorldRoundTrip) {
  Grid g;
  g.width = 100;
  g.height = 50;
  g.geotransform = {500000, 30, 0, 3750000, 0, -30};
  auto [x, y] = g.to_world(10, 20);
  EXPECT_DOUBLE_EQ(x, 500300);
  EXPECT_DOUBLE_EQ(y, 3749400);
  auto [c, r] = g.to_pixel(x, y);
  EXPECT_NEAR(c, 10, 1e-9);
  EXPECT_NEAR(r, 20, 1e-9);
  const BBox b = g.bounds();
  EXPECT_DOUBLE_EQ(b.xmax, 503000);
  EXPECT_DOUBLE_EQ(b.ymin, 3748500);
}

TEST(Grid, FromExtentSnapsOutwardToWholePixels) {
  const Grid g = Grid::from_extent({100.5, 200.2, 190.1, 259.9}, 30, "");
  EXPECT_DOUBLE_EQ(g.geotransform[0], 90);
  EXPECT_DOUBLE_EQ(g.geotransform[3], 270);
  EXPECT_EQ(g.width, 4);   // 90 … 210
  EXPECT_EQ(g.height, 3);  // 180 … 270
}

TEST(Grid, WindowOfClipsToGrid) {
  Grid g;
  g.width = 10;
  g.height = 10;
  g.geotransform = {0, 1, 0, 10, 0, -1};
  EXPECT_EQ(g.window_of({2, 3, 5, 8}), (Window{2, 2, 3, 5}));
  EXPECT_EQ(g.window_of({-5, -5, 50, 50}), (Window{0, 0, 10, 10}));
}

// Every pixel is covered exactly once, windows start on block boundaries, and the budget holds.
void check_plan(int w, int h, int bw, int bh, std::int64_t budget) {
  const auto plan = plan_windows(w, h, bw, bh, budget);
  std::vector<int> cover(size_t(w) * h, 0);
  for (const auto& win : plan) {
    EXPECT_EQ(win.x % bw, 0);
    EXPECT_EQ(win.y % bh, 0);
    if (std::int64_t(bw) * bh <= budget) {
      EXPECT_LE(win.pixels(), std::max<std::int64_t>(budget, std::int64_t(bw) * bh));
    }
    for (int y = win.y; y < win.y + win.height; ++y)
      for (int x = win.x; x < win.x + win.width; ++x) ++cover[size_t(y) * w + x];
  }
  for (int c : cover) ASSERT_EQ(c, 1);
}

TEST(PlanWindows, CoversEveryPixelOnceUnderManyBudgets) {
  check_plan(1000, 700, 256, 256, 1 << 30);  // one window
  check_plan(1000, 700, 256, 256, 1000 * 256);  // one block row each
  check_plan(1000, 700, 256, 256, 256 * 256);   // single blocks
  check_plan(1000, 700, 256, 256, 600 * 256);   // two blocks per window
  check_plan(333, 77, 512, 512, 10);            // blocks larger than the raster
  check_plan(1000, 700, 1000, 8, 50000);        // strips
}

TEST(PlanWindows, BigBudgetGivesOneWindowSmallBudgetMany) {
  EXPECT_EQ(plan_windows(1000, 1000, 256, 256, 1 << 30).size(), 1u);
  EXPECT_EQ(plan_windows(1000, 1000, 256, 256, 256 * 256).size(), 16u);
}
