// The supervision example job end to end on the sample scene: the known clearing and burn scar
// get the top alert level with reasons naming the indicator, cells with too few clear pixels get
// insufficient_data, the GeoPackage opens with ogrinfo, and bad rules files give file:line errors.
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "raster/gdal_io.hpp"
#include "raster/sample_scene.hpp"
#include "raster/source.hpp"
#include "support/test_support.hpp"
#include "vector/supervision_grid.hpp"

using namespace qinling;
namespace fs = std::filesystem;

namespace {

constexpr int kSize = 600;

struct CellRow {
  int code = 0;
  std::string level, reason;
  double valid_fraction = 0, region_fraction = 0;
};

// The job's output, read back through OGR: cell id → level, reason, quality.
class SupervisionJob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    fs::create_directories(*dir_ / "configs/rules");
    fs::create_symlink(test::sample_scene_dir(kSize), *dir_ / "sample");
    for (const char* f : {"supervision.yaml", "rules/vegetation_loss.yaml"})
      fs::copy_file(fs::path(QINLING_SOURCE_DIR) / "configs" / f, *dir_ / (std::string("configs/") + f));
    run_ = new test::CommandResult(
        test::run_qinling("run " + (*dir_ / "configs/supervision.yaml") + " --out " + (*dir_ / "out")));
    if (run_->exit_code != 0) return;
    raster::init_gdal();
    raster::DatasetPtr ds(static_cast<GDALDataset*>(
        GDALOpenEx((*dir_ / "out/supervision.gpkg").c_str(), GDAL_OF_VECTOR, nullptr, nullptr, nullptr)));
    if (!ds) return;
    OGRLayer* layer = ds->GetLayer(0);
    for (auto& f : *layer) {
      CellRow r;
      r.code = f->GetFieldAsInteger("level_code");
      r.level = f->GetFieldAsString("level");
      r.reason = f->GetFieldAsString("reason");
      r.valid_fraction = f->GetFieldAsDouble("valid_fraction");
      r.region_fraction = f->GetFieldAsDouble("region_fraction");
      (*cells_)[f->GetFieldAsString("cell_id")] = r;
    }
  }
  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
  }
  // The 1 km cell holding world point (x, y) of the sample grid.
  static std::string cell_at(double col, double row) {
    static const raster::Grid g =
        raster::describe_raster(test::sample_scene_dir(kSize) + "/scene_2024-07.tif").grid;
    const auto xy = g.to_world(col, row);
    return vector::cell_id(1000, (long long)std::floor(xy[1] / 1000), (long long)std::floor(xy[0] / 1000));
  }
  static test::TempDir* dir_;
  static test::CommandResult* run_;
  static std::map<std::string, CellRow>* cells_;
};

test::TempDir* SupervisionJob::dir_ = nullptr;
test::CommandResult* SupervisionJob::run_ = nullptr;
std::map<std::string, CellRow>* SupervisionJob::cells_ = new std::map<std::string, CellRow>;

}  // namespace

TEST_F(SupervisionJob, ClearingAndBurnScarGetTheTopLevel) {
  ASSERT_EQ(run_->exit_code, 0) << run_->output;
  ASSERT_GT(cells_->size(), 100u);
  const raster::SampleScene scene(kSize, 42);
  int checked = 0;
  for (const auto& ch : scene.changes()) {
    if (ch.kind == raster::ChangeKind::kNewReservoir) continue;
    ++checked;
    // The cell holding most of the change: try the cells under a 5x5 lattice of the change's box.
    std::map<std::string, int> votes;
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) {
        const double c = ch.window.x + (i + 0.5) * ch.window.width / 5,
                     r = ch.window.y + (j + 0.5) * ch.window.height / 5;
        if (ch.contains(int(c), int(r))) ++votes[cell_at(c, r)];
      }
    auto best =
        std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; });
    ASSERT_NE(best, votes.end());
    ASSERT_TRUE(cells_->count(best->first)) << best->first;
    const CellRow& row = cells_->at(best->first);
    EXPECT_EQ(row.code, 4) << raster::change_kind_name(ch.kind) << " cell " << best->first << ": "
                           << row.reason;
    EXPECT_EQ(row.level, "红");
    EXPECT_NE(row.reason.find("loss_share = "), std::string::npos) << row.reason;
  }
  EXPECT_EQ(checked, 2);  // the clearing and the burn scar
}

TEST_F(SupervisionJob, QualityFollowsAnIndependentCountOfClearPixels) {
  ASSERT_EQ(run_->exit_code, 0) << run_->output;
  // Share of pixel centres per cell that are clear (QA clear land / water) on both dates.
  int w = 0, h = 0;
  const auto qa0 = test::read_band(test::sample_scene_dir(kSize) + "/scene_2023-07.tif", 8, &w, &h);
  const auto qa1 = test::read_band(test::sample_scene_dir(kSize) + "/scene_2024-07.tif", 8);
  std::map<std::string, std::pair<int, int>> clear;  // cell → (clear, all)
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      auto ok = [](double q) { return q == 21824 || q == 21952; };
      auto& e = clear[cell_at(c + 0.5, r + 0.5)];
      e.first += ok(qa0[std::size_t(r) * w + c]) && ok(qa1[std::size_t(r) * w + c]);
      ++e.second;
    }
  int insufficient = 0, checked = 0;
  for (const auto& [id, row] : *cells_) {
    if (row.region_fraction < 0.999 || !clear.count(id)) continue;
    const double f = double(clear[id].first) / clear[id].second;
    if (std::abs(f - 0.6) < 0.05) continue;  // pixel centres vs exact coverage differ near the limit
    ++checked;
    EXPECT_EQ(row.code == -1, f < 0.6) << id << " clear share " << f << " level " << row.level;
    EXPECT_NEAR(row.valid_fraction, f, 0.05) << id;
    insufficient += row.code == -1;
  }
  EXPECT_GT(checked, 100);
  EXPECT_GT(insufficient, 3);  // the scene has clouds and fill corners
}

TEST_F(SupervisionJob, OutputsOpenInGisTools) {
  ASSERT_EQ(run_->exit_code, 0) << run_->output;
  const auto info = test::run_command("ogrinfo -so " + (*dir_ / "out/supervision.gpkg") + " supervision");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("level: String"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("level_code: Integer"), std::string::npos);
  EXPECT_NE(info.output.find("Feature Count: " + std::to_string(cells_->size())), std::string::npos);
  const std::string csv = test::read_bytes(*dir_ / "out/supervision.csv");
  EXPECT_EQ(csv.substr(0, 3), "\xEF\xBB\xBF");  // BOM, so Excel reads the Chinese labels
  EXPECT_NE(csv.find("红"), std::string::npos);
  const auto gj = test::run_command("ogrinfo -so -al " + (*dir_ / "out/supervision.geojson"));
  EXPECT_NE(gj.output.find("Feature Count: " + std::to_string(cells_->size())), std::string::npos)
      << gj.output;
  const std::string summary = test::read_bytes(*dir_ / "out/supervision.summary.json");
  EXPECT_NE(summary.find("\"Foping\""), std::string::npos);
  EXPECT_NE(summary.find("\"红\""), std::string::npos);
  // The level raster: a COG whose pixels at the clearing hold level_code + 1 of its cell.
  const auto cog = test::run_command("gdalinfo " + (*dir_ / "out/alert_levels.tif"));
  EXPECT_NE(cog.output.find("LAYOUT=COG"), std::string::npos) << cog.output;
  int w = 0;
  const auto levels = test::read_band(*dir_ / "out/alert_levels.tif", 1, &w);
  const raster::SampleScene scene(kSize, 42);
  const auto& clearing = scene.changes().front().window;
  const double px = clearing.x + clearing.width * 0.75, py = clearing.y + clearing.height * 0.5;
  ASSERT_TRUE(cells_->count(cell_at(px, py)));
  EXPECT_EQ(levels[std::size_t(py) * w + std::size_t(px)], cells_->at(cell_at(px, py)).code + 1);
  // No temporary files left behind.
  for (const auto& e : fs::directory_iterator(*dir_ / "out"))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

TEST(SupervisionRules, BadRulesFilesGiveFileAndLine) {
  test::TempDir dir;
  fs::create_directories(dir / "configs/rules");
  fs::create_symlink(test::sample_scene_dir(kSize), dir / "sample");
  fs::copy_file(fs::path(QINLING_SOURCE_DIR) / "configs/supervision.yaml", dir / "configs/supervision.yaml");
  test::write_text(dir / "configs/rules/vegetation_loss.yaml",
                   "levels: [blue, red]\n"
                   "quality: \"valid_fraction >= \"\n"
                   "rules:\n"
                   "  - {level: purple, when: \"loss_share > 0.2\"}\n"
                   "  - {level: red, when: \"loss_share >> 0.2\"}\n"
                   "  - {level: red, when: \"mean < -0.1\", reasn: typo}\n"
                   "colour: blue\n");
  const auto r = test::run_qinling("validate " + (dir / "configs/supervision.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const char* expect :
       {"vegetation_loss.yaml:2: quality: at character",
        "vegetation_loss.yaml:4: rules[0].level: unknown level 'purple'",
        "vegetation_loss.yaml:5: rules[1].when", "vegetation_loss.yaml:6: rules[2].reasn: unknown key",
        "vegetation_loss.yaml:7: colour: unknown key"})
    EXPECT_NE(r.output.find(expect), std::string::npos) << expect << "\n" << r.output;
  // A rule on an indicator the statistics do not provide: a clear error naming it, exit 2.
  test::write_text(dir / "configs/rules/vegetation_loss.yaml",
                   "levels: [red]\nrules:\n  - {level: red, when: \"ndvi_drop > 0.2\"}\n");
  const auto run = test::run_qinling("run " + (dir / "configs/supervision.yaml") + " --out " + (dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("'ndvi_drop'"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(dir / "out/supervision.gpkg"));
}

TEST(SupervisionRules, BadStepOptionsAreReportedBeforeAnyWork) {
  test::TempDir dir;
  fs::create_directories(dir / "configs/rules");
  fs::create_symlink(test::sample_scene_dir(kSize), dir / "sample");
  std::string job = test::read_bytes(std::string(QINLING_SOURCE_DIR) + "/configs/supervision.yaml");
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = job.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    job.replace(at, from.size(), to);
  };
  replace("stats: [mean,", "stats: [meen,");
  replace("cell_size: 1000", "cell_size: 50");
  replace("region: region}", "region: regoin}");
  test::write_text(dir / "configs/supervision.yaml", job);
  const auto r = test::run_qinling("validate " + (dir / "configs/supervision.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const char* expect : {"stats: unknown statistic 'meen'", "cell_size: must be between 100 and 10000",
                             "region: 'regoin' is not a vector input"})
    EXPECT_NE(r.output.find(expect), std::string::npos) << expect << "\n" << r.output;
}
