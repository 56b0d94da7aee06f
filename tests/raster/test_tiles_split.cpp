// A tile pyramid split into parts (as MPI ranks split it), run one part after the other in one
// process: part 0 hands its sink the same tiles, in the same order, as the unsplit pyramid, with
// the same pixel hashes and counts, and removes the others' part files.
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <tuple>

#include "raster/gdal_io.hpp"
#include "raster/tile_pyramid.hpp"
#include "support/test_support.hpp"

namespace qinling::raster {
namespace {

class MemorySink final : public TileSink {
 public:
  void put(int z, int x, int y, const std::string& d) override {
    order.emplace_back(z, x, y);
    tiles[{z, x, y}] = d;
  }
  std::map<std::tuple<int, int, int>, std::string> tiles;
  std::vector<std::tuple<int, int, int>> order;
};

// A narrow, tall float layer in EPSG:4547 (30 m, 3 x 12 km) with a NaN hole: many rows of tiles.
std::string make_layer(const std::string& path) {
  init_gdal();
  test::make_float_layer(path, 100, 400, [](int x, int y) {
    return (x > 40 && x < 60 && y > 140 && y < 170) ? NAN : float(0.8 * std::sin(x * 0.07) * std::cos(y * 0.05));
  });
  return path;
}

TEST(TileSplit, PartZeroGivesTheUnsplitTilesInTheUnsplitOrder) {
  test::TempDir tmp;
  const TileSource src = describe_tile_source(make_layer(tmp / "v.tif"));
  const RampRenderer ramp(default_ramp(), -1, 1);
  for (const TileMatrixSet* tms : {&web_mercator_quad(), &cgcs2000_quad()}) {
    const Footprint fp = footprint_in(src, *tms);
    PyramidOptions opt;
    opt.tms = tms;
    opt.zoom = {11, 16};
    opt.threads = 2;
    opt.ramp = &ramp;
    MemorySink whole;
    const PyramidResult ref = build_pyramid(src, fp, opt, whole);
    ASSERT_GT(whole.order.size(), 100u) << tms->id;
    // Rows per level decide where a split cuts (the coarsest level with 4 rows per part): 2 parts
    // cut at zoom 15, a level above the deepest; 5 parts cut the deepest rows.
    const auto rows = [&](int z) {
      return ref.ranges[std::size_t(z - 11)].row1 - ref.ranges[std::size_t(z - 11)].row0 + 1;
    };
    ASSERT_GE(rows(15), 8) << tms->id;
    ASSERT_LT(rows(15), 20) << tms->id;
    ASSERT_GE(rows(16), 20) << tms->id;
    for (int parts : {2, 3, 5}) {
      PyramidOptions split = opt;
      split.split.parts = parts;
      split.split.part_path = [&](int p) { return tmp / ("part" + std::to_string(p)); };
      split.split.wait = [](std::exception_ptr failure) {
        if (failure) std::rethrow_exception(failure);
      };
      MemorySink none, sink;
      for (int p = parts - 1; p >= 0; --p) {  // the others have written their parts when part 0 runs
        split.split.part = p;
        split.split.share = [p, parts](const std::vector<std::int64_t>& w) {
          // Contiguous runs of about equal numbers of bands (the real share balances by weight).
          return std::pair{w.size() * std::size_t(p) / std::size_t(parts),
                           w.size() * std::size_t(p + 1) / std::size_t(parts)};
        };
        const PyramidResult res = build_pyramid(src, fp, split, p == 0 ? sink : none);
        if (p != 0) {
          EXPECT_TRUE(none.order.empty());
          EXPECT_TRUE(std::filesystem::exists(tmp / ("part" + std::to_string(p))));
          continue;
        }
        EXPECT_EQ(sink.order, whole.order) << tms->id << ", " << parts << " parts";
        EXPECT_TRUE(sink.tiles == whole.tiles) << tms->id << ", " << parts << " parts";
        EXPECT_TRUE(res.hashes == ref.hashes);
        EXPECT_EQ(res.drawn, ref.drawn);
        EXPECT_EQ(res.tiles_written, ref.tiles_written);
        EXPECT_EQ(res.tiles_empty, ref.tiles_empty);
        ASSERT_EQ(res.rendered_per_part.size(), std::size_t(parts));
        for (long long n : res.rendered_per_part) EXPECT_GT(n, 0) << parts << " parts";
        EXPECT_EQ(std::accumulate(res.rendered_per_part.begin(), res.rendered_per_part.end(), 0LL),
                  ref.tiles_written + ref.tiles_empty);
        for (int q = 1; q < parts; ++q)
          EXPECT_FALSE(std::filesystem::exists(tmp / ("part" + std::to_string(q))));
      }
    }
  }
}

TEST(TileSplit, AMissingPartIsAClearError) {
  test::TempDir tmp;
  const TileSource src = describe_tile_source(make_layer(tmp / "v.tif"));
  const RampRenderer ramp(default_ramp(), -1, 1);
  PyramidOptions opt;
  opt.tms = &web_mercator_quad();
  opt.zoom = {12, 15};
  opt.ramp = &ramp;
  opt.split = {0, 2,
               [](const std::vector<std::int64_t>& w) {
                 return std::pair<std::size_t, std::size_t>{0, w.size() / 2};
               },
               [&](int p) { return tmp / ("part" + std::to_string(p)); }, [](std::exception_ptr) {}};
  MemorySink sink;
  try {
    build_pyramid(src, footprint_in(src, web_mercator_quad()), opt, sink);
    FAIL() << "no error";
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("part1: a rank's part of the tile pyramid is missing"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qinling::raster
