// Product steps under `mpirun`: the supervision job (zonal statistics split over ranks, alerts,
// an alert-level COG) and a grid-to-grid met.verify give the same tables and bytes for 1, 2 and
// 4 ranks as one plain process, and each rank really reads its own share of the zonal windows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <regex>

#include "mpi/mpi_support.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace qinling::test;

namespace {

// configs/supervision.yaml on a 10 m grid (1800² pixels: four zonal windows of whole 256-pixel
// block rows), plus met.verify of NDVI 2024 against NDVI 2023 (two 512-row windows).
std::string job_text(const std::string& scene) {
  return "job: supervision\n"
         "grid: {crs: EPSG:4547, resolution: 10}\n"
         "inputs:\n"
         "  before: {path: " +
         scene +
         "/scene_2023-07.tif, sensor: landsat89_c2l2, "
         "mask: [fill, cloud, dilated_cloud, shadow, snow]}\n"
         "  after: {path: " +
         scene +
         "/scene_2024-07.tif, sensor: landsat89_c2l2, "
         "mask: [fill, cloud, dilated_cloud, shadow, snow]}\n"
         "  region: {path: " +
         scene +
         "/boundary.geojson}\n"
         "  protected: {path: " +
         scene +
         "/protected_zones.geojson}\n"
         "steps:\n"
         "  - {id: ndvi_change, kind: change.dndvi, before: before, after: after}\n"
         "  - {id: ndvi_before, kind: index.ndvi, input: before}\n"
         "  - {id: ndvi_after, kind: index.ndvi, input: after}\n"
         "  - {id: grid, kind: grid.build, crs: \"EPSG:4547\", cell_size: 1000, region: region}\n"
         "  - id: stats\n"
         "    kind: zonal.stats\n"
         "    input: ndvi_change\n"
         "    zones: grid\n"
         "    stats: [mean, min, max, stddev, p10, median, valid_fraction, count, sum, "
         "\"loss_share=frac_below(-0.2)\"]\n"
         "    bins: 64\n"  // cells of ~10⁴ pixels: exact values folded into histograms across windows
         "  - {id: cells, kind: zones.overlay, input: stats, zones: protected}\n"
         "  - {id: alerts, kind: supervision.alerts, input: cells, rules: " +
         std::string(QINLING_SOURCE_DIR) +
         "/configs/rules/vegetation_loss.yaml, language: zh}\n"
         "  - {id: verify, kind: met.verify, forecast: ndvi_after, observation: ndvi_before, "
         "thresholds: [0.2, 0.5], fss_windows: [1, 5]}\n"  // FSS: on rank 0 from the whole layers
         "outputs:\n"
         "  - {from: alerts, path: supervision.gpkg, format: gpkg}\n"
         "  - {from: alerts, path: supervision.csv, format: csv}\n"
         "  - {from: stats, path: stats.geojson, format: geojson}\n"
         "  - {from: alerts, path: alert_levels.tif, format: cog}\n"
         "  - {from: verify, path: verify.json, format: json}\n"
         "  - {from: verify, path: verify.csv, format: csv}\n"
         "  - {from: verify, path: verify.html, format: html}\n";
}

// Every row of every feature table of a GeoPackage, every field exactly (floats as repr, the
// geometry blob as hex), read with Python's sqlite3: an independent reader of the file.
std::string gpkg_rows(const TempDir& dir, const std::string& path) {
  return python_output(dir,
             "import sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1])\n"
             "for (t,) in c.execute('select table_name from gpkg_contents order by table_name'):\n"
             "    print('TABLE', t)\n"
             "    for row in c.execute('select * from \"%s\" order by 1' % t):\n"
             "        print([x.hex() if isinstance(x, bytes) else repr(x) for x in row])\n", path);
}

class MpiProducts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_text(*dir_ / "job.yaml", job_text(sample_scene_dir()));
    // The plain single-process run (no launcher) is the reference.
    const auto r = run_qinling("run " + (*dir_ / "job.yaml") + " --out " + (*dir_ / "ref") + " --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ref_rows_ = new std::string(gpkg_rows(*dir_, *dir_ / "ref/supervision.gpkg"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete ref_rows_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string* ref_rows_;
};
TempDir* MpiProducts::dir_ = nullptr;
std::string* MpiProducts::ref_rows_ = nullptr;

TEST_F(MpiProducts, SupervisionTablesCogAndScoresEqualOneProcessFor124Ranks) {
  ASSERT_GT(ref_rows_->size(), 1000u);
  ASSERT_NE(ref_rows_->find("TABLE"), std::string::npos) << *ref_rows_;
  for (int ranks : {1, 2, 4}) {
    const std::string out = "np" + std::to_string(ranks);
    const auto r = run_command(mpirun(ranks) + QINLING_BIN + " run " + (*dir_ / "job.yaml") + " --out " +
                               (*dir_ / out) + " --threads 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(gpkg_rows(*dir_, *dir_ / (out + "/supervision.gpkg")), *ref_rows_) << ranks << " ranks";
    for (const char* f : {"alert_levels.tif", "supervision.csv", "stats.geojson", "verify.json", "verify.csv",
                          "verify.html"}) {
      const std::string ref = read_bytes(*dir_ / (std::string("ref/") + f));
      ASSERT_GT(ref.size(), 100u) << f;
      EXPECT_TRUE(read_bytes(*dir_ / (out + "/" + f)) == ref)
          << out << "/" << f << " differs from one process";
    }
    // Rank 0's work folder is removed, and no other rank left one behind.
    for (const auto& e : fs::directory_iterator(*dir_ / out))
      EXPECT_EQ(e.path().filename().string().rfind(".qinling-work", 0), std::string::npos) << e.path();

    if (ranks == 1) continue;
    // "stats: windows read per rank: 2, 2 (of 4)", counted by each rank as it read them.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m,
                                  std::regex("stats: windows read per rank: ([0-9, ]+) \\(of (\\d+)\\)")))
        << r.output;
    std::vector<int> counts;
    const std::string list = m[1];
    const std::regex number("\\d+");
    for (std::sregex_iterator it(list.begin(), list.end(), number), end; it != end; ++it)
      counts.push_back(std::stoi(it->str()));
    ASSERT_EQ(counts.size(), std::size_t(ranks)) << m[0];
    EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), 0), std::stoi(m[2])) << m[0];
    EXPECT_GE(std::stoi(m[2]), 4) << m[0];
    for (int c : counts) EXPECT_GT(c, 0) << "a rank read no zonal window: " << m[0];
  }
}

TEST_F(MpiProducts, AZonalShareFailingOnOneRankStopsEveryRankWithOneMessage) {
  for (int failing : {1, 0}) {
    const std::string out = "fail" + std::to_string(failing);
    const auto r = run_command("timeout 60 env QINLING_TEST_ZONAL_FAIL_RANK=" + std::to_string(failing) +
                               " " + mpirun(2) + QINLING_BIN + " run " + (*dir_ / "job.yaml") + " --out " +
                               (*dir_ / out) + " --threads 1");
    EXPECT_EQ(r.exit_code, 2) << r.output;  // an input error, not a hang (124) or an abort
    const std::regex msg("cannot be read on this rank");
    EXPECT_EQ(
        std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), msg), std::sregex_iterator()), 1)
        << r.output;
    EXPECT_EQ(r.output.find("rank 1 of 2: ") != std::string::npos, failing == 1) << r.output;
    EXPECT_FALSE(fs::exists(*dir_ / (out + "/supervision.gpkg")));
    EXPECT_FALSE(fs::exists(*dir_ / (out + "/stats.geojson")));
  }
}

}  // namespace
