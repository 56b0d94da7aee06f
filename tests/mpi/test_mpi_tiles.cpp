// tiles.build under `mpirun`: the pyramid's sub-pyramids are split over 2 and 4 ranks and rank 0
// writes every tile, so the XYZ folders, MBTiles tables and PMTiles bytes equal one plain
// process's; every rank renders tiles of its own; an incremental re-run under MPI keeps them all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <regex>

#include "mpi/mpi_support.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace qinling::test;

namespace {

// configs/tiles.yaml with two more zoom levels: ~10 rows of tiles at zoom 14, so 4 ranks get
// rows each.
std::string job_text(const std::string& scene) {
  return "job: tiles\n"
         "inputs:\n"
         "  scene: {path: " +
         scene +
         "/scene_2024-07.tif, bands: {red: 4, nir: 5}}\n"
         "steps:\n"
         "  - {id: ndvi, kind: index.ndvi, input: scene}\n"
         "  - {id: tiles, kind: tiles.build, input: ndvi, ramp: ndvi, zoom: 10-14, "
         "matrix_sets: [WebMercatorQuad, CGCS2000Quad]}\n"
         "outputs:\n"
         "  - {from: tiles, path: tiles, format: xyz}\n"
         "  - {from: tiles, path: tiles.mbtiles, format: mbtiles}\n"
         "  - {from: tiles, path: tiles.pmtiles, format: pmtiles}\n";
}

// Every file of a folder (the manifest too), relative path → bytes.
std::map<std::string, std::string> folder_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_bytes(e.path().string());
  return files;
}

// The tiles and metadata tables, read with Python's sqlite3 (an independent reader).
std::string mbtiles_rows(const TempDir& dir, const std::string& path) {
  return python_output(dir,
             "import sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1])\n"
             "for r in c.execute('select zoom_level, tile_column, tile_row, hex(tile_data) from tiles "
             "order by 1, 2, 3'):\n"
             "    print(*r)\n"
             "for r in c.execute('select name, value from metadata order by 1'):\n"
             "    print(*r)\n", path);
}

class MpiTiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_text(*dir_ / "job.yaml", job_text(sample_scene_dir()));
    const auto r = run_qinling("run " + (*dir_ / "job.yaml") + " --out " + (*dir_ / "ref") + " --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static void expect_same_as_reference(const std::string& out) {
    const auto ref = folder_files(*dir_ / "ref/tiles");
    ASSERT_GT(ref.size(), 200u);
    ASSERT_NE(ref.lower_bound("WebMercatorQuad/14/"),
              ref.lower_bound("WebMercatorQuad/15"));  // zoom 14 tiles
    ASSERT_TRUE(ref.count(".qinling-tiles"));          // the manifest (pixel hashes) is compared too
    const auto got = folder_files(*dir_ / (out + "/tiles"));
    ASSERT_EQ(got.size(), ref.size()) << out;
    for (const auto& [name, bytes] : ref) {
      auto it = got.find(name);
      ASSERT_TRUE(it != got.end()) << out << ": missing " << name;
      EXPECT_TRUE(it->second == bytes) << out << "/tiles/" << name << " differs from one process";
    }
    const std::string ref_rows = mbtiles_rows(*dir_, *dir_ / "ref/tiles.mbtiles");
    ASSERT_GT(ref_rows.size(), 100000u);
    EXPECT_TRUE(mbtiles_rows(*dir_, *dir_ / (out + "/tiles.mbtiles")) == ref_rows)
        << out << ": MBTiles differ";
    const std::string ref_pm = read_bytes(*dir_ / "ref/tiles.pmtiles");
    ASSERT_GT(ref_pm.size(), 100000u);
    EXPECT_TRUE(read_bytes(*dir_ / (out + "/tiles.pmtiles")) == ref_pm) << out << ": PMTiles differ";
    for (const auto& e : fs::directory_iterator(*dir_ / out)) {
      const std::string name = e.path().filename().string();
      EXPECT_EQ(name.rfind(".qinling-tiles-", 0), std::string::npos) << "part file left: " << e.path();
      EXPECT_EQ(name.find("journal"), std::string::npos) << "journal left: " << e.path();
    }
  }
  static TempDir* dir_;
};
TempDir* MpiTiles::dir_ = nullptr;

TEST_F(MpiTiles, OneTwoAndFourRanksWriteTheTilesOfOneProcessAndEveryRankRenders) {
  for (int ranks : {1, 2, 4}) {
    const std::string out = "np" + std::to_string(ranks);
    const auto r = run_command(mpirun(ranks) + QINLING_BIN + " run " + (*dir_ / "job.yaml") + " --out " +
                               (*dir_ / out) + " --threads 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_same_as_reference(out);
    if (ranks == 1) continue;
    // "tiles: WebMercatorQuad tiles rendered per rank: 106, 60 (of 166)", counted by rank 0 from
    // the tiles each rank handed over.
    for (const char* set : {"WebMercatorQuad", "CGCS2000Quad"}) {
      std::smatch m;
      ASSERT_TRUE(std::regex_search(
          r.output, m,
          std::regex(std::string("tiles: ") + set + " tiles rendered per rank: ([0-9, ]+) \\(of (\\d+)\\)")))
          << r.output;
      std::vector<long> counts;
      const std::string list = m[1];
      const std::regex number("\\d+");
      for (std::sregex_iterator it(list.begin(), list.end(), number), end; it != end; ++it)
        counts.push_back(std::stol(it->str()));
      ASSERT_EQ(counts.size(), std::size_t(ranks)) << m[0];
      EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), 0L), std::stol(m[2])) << m[0];
      for (long c : counts) EXPECT_GT(c, 0) << "a rank rendered no tile: " << m[0];
    }
  }
}

TEST_F(MpiTiles, AnIncrementalRerunUnderTwoRanksKeepsEveryTileAndTheBytes) {
  const std::string out = "again";
  const std::string cmd =
      mpirun(2) + QINLING_BIN + " run " + (*dir_ / "job.yaml") + " --out " + (*dir_ / out) + " --threads 1";
  ASSERT_EQ(run_command(cmd).exit_code, 0);
  const auto r = run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("WebMercatorQuad zoom 10-14"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 tiles re-rendered"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("no previous render"), std::string::npos) << r.output;
  expect_same_as_reference(out);
}

TEST_F(MpiTiles, ATileShareFailingOnOneRankStopsEveryRankWithOneMessage) {
  // Failing while rendering its share (agreed by the pyramid) or before the first pyramid (agreed
  // by the step), on rank 1 and on rank 0.
  for (const std::string at : {"share", "setup"}) {
    for (int failing : {1, 0}) {
      const std::string out = "fail" + at + std::to_string(failing);
      const auto r = run_command("timeout 60 env QINLING_TEST_TILES_FAIL_AT=" + at +
                                 " QINLING_TEST_TILES_FAIL_RANK=" + std::to_string(failing) + " " +
                                 mpirun(2) + QINLING_BIN + " run " + (*dir_ / "job.yaml") + " --out " +
                                 (*dir_ / out) + " --threads 1");
      EXPECT_EQ(r.exit_code, 2) << out << r.output;  // an input error, not a hang (124) or an abort
      const std::regex msg("cannot be read on this rank");
      EXPECT_EQ(
          std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), msg), std::sregex_iterator()),
          1)
          << out << r.output;
      EXPECT_EQ(r.output.find("rank 1 of 2: ") != std::string::npos, failing == 1) << out << r.output;
      for (const char* f : {"tiles", "tiles.mbtiles", "tiles.pmtiles"})
        EXPECT_FALSE(fs::exists(*dir_ / (out + "/" + f))) << out << "/" << f;
      for (const auto& e : fs::directory_iterator(*dir_ / out))  // no rank's part left behind
        EXPECT_EQ(e.path().filename().string().rfind(".qinling-tiles-", 0), std::string::npos) << e.path();
    }
  }
}

}  // namespace
