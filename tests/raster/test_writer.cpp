// Block writers and atomic outputs: what is written is what is read back; an unfinished output
// never replaces an earlier file; COGs pass GDAL's own validator.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "raster/writer.hpp"
#include "support/test_support.hpp"

using namespace qinling::raster;
using namespace qinling::test;

namespace {
Grid small_grid(int w, int h) {
  Grid g;
  g.width = w;
  g.height = h;
  g.geotransform = {580000, 30, 0, 3760000, 0, -30};
  return g;
}

std::vector<float> ramp(const Window& w) {
  std::vector<float> v(size_t(w.pixels()));
  for (int y = 0; y < w.height; ++y)
    for (int x = 0; x < w.width; ++x) v[size_t(y) * w.width + x] = float((w.y + y) * 1000 + (w.x + x));
  return v;
}
}  // namespace

TEST(TiledWriter, WindowsInAnyPlanReadBackExactly) {
  TempDir dir;
  const Grid g = small_grid(700, 300);
  const std::string path = dir / "ramp.tif";
  {
    TiledWriter w(path, g, 1, GDT_Float32, {{"TILED", "YES"}, {"BLOCKXSIZE", "256"}, {"BLOCKYSIZE", "256"}}, {NAN});
    for (const auto& win : plan_windows(g.width, g.height, 256, 256, 256 * 256)) {
      auto v = ramp(win);
      w.write(1, win, v.data(), GDT_Float32);
    }
    w.close();
  }
  int width = 0, height = 0;
  const auto back = read_band(path, 1, &width, &height);
  ASSERT_EQ(width, 700);
  ASSERT_EQ(height, 300);
  for (int y = 0; y < height; y += 37)
    for (int x = 0; x < width; x += 41) ASSERT_EQ(back[size_t(y) * width + x], y * 1000 + x);
}

TEST(TiledWriter, RejectsUnalignedWindows) {
  TempDir dir;
  TiledWriter w(dir / "x.tif", small_grid(512, 512), 1, GDT_Float32,
                {{"TILED", "YES"}, {"BLOCKXSIZE", "256"}, {"BLOCKYSIZE", "256"}}, {});
  std::vector<float> v(100);
  EXPECT_THROW(w.write(1, {10, 0, 10, 10}, v.data(), GDT_Float32), qinling::ProcessingError);
}

TEST(AtomicRasterOutput, UncommittedOutputLeavesEarlierFileUntouched) {
  TempDir dir;
  const std::string path = dir / "out.tif";
  write_text(path, "earlier result");
  {
    AtomicRasterOutput out(path, "cog", {}, small_grid(300, 300), 1, GDT_Float32, {NAN}, 1);
    auto v = ramp({0, 0, 300, 300});
    out.writer().write(1, {0, 0, 300, 300}, v.data(), GDT_Float32);
    // destroyed without commit, as when a later window fails
  }
  EXPECT_EQ(read_bytes(path), "earlier result");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1) << "temporary files were left behind";
}

TEST(AtomicRasterOutput, CommittedCogIsValidAndHasOverviews) {
  TempDir dir;
  const std::string path = dir / "out.tif";
  const Grid g = small_grid(1100, 900);
  {
    AtomicRasterOutput out(path, "cog", {}, g, 1, GDT_Float32, {NAN}, 2);
    for (const auto& win : plan_windows(g.width, g.height, 512, 512, 1 << 30)) {
      auto v = ramp(win);
      out.writer().write(1, win, v.data(), GDT_Float32);
    }
    out.commit({});
  }
  const auto r = run_command("/usr/bin/python3 /usr/lib/python3/dist-packages/osgeo_utils/samples/"
                             "validate_cloud_optimized_geotiff.py " + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto info = run_command("gdalinfo " + path);
  EXPECT_NE(info.output.find("Overviews"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("COMPRESSION=ZSTD"), std::string::npos) << info.output;
  const auto back = read_band(path, 1);
  EXPECT_EQ(back[size_t(899) * 1100 + 1099], 899 * 1000 + 1099);
}
