// `qinling tiles` killed with SIGKILL in the middle of its pyramid: the outputs under their final
// names stay those of the previous run (never half-written), and the re-run takes the tiles the
// killed run drew from its journal and finishes with what a fresh build of the changed layer
// gives, leaving nothing of the killed run behind.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include "raster/gdal_io.hpp"
#include "support/test_support.hpp"

namespace qinling::test {
namespace {
namespace fs = std::filesystem;

void write_layer(const std::string& path, bool changed) {
  make_float_layer(
      path, 1300, 1300,
      [changed](int x, int y) {
        return changed && x >= 700 && x < 1200 && y >= 100 && y < 600
                   ? 0.9f
                   : float(0.8 * std::sin(x * 0.013) * std::cos(y * 0.017));
      },
      false);
}

std::map<std::string, std::string> snapshot(const fs::path& out) {
  std::map<std::string, std::string> f;
  for (const auto& e : fs::recursive_directory_iterator(out))
    if (e.is_regular_file()) f[fs::relative(e.path(), out).string()] = read_bytes(e.path().string());
  return f;
}

// Records in the journal of the running tiler: its size beyond the header and a few tiles.
bool journal_has_tiles(const fs::path& out) {
  std::error_code ec;
  const auto size = fs::file_size(out / ".l.qinling-journal", ec);
  return !ec && size > 6000;
}

TEST(TilesResume, SigkillMidPyramidLeavesThePreviousTilesAndTheRerunMatchesAFreshBuild) {
  TempDir tmp;
  const std::string layer = tmp / "l.tif";
  const std::string args = " --zoom 10-14 --range -1,1 --threads 2 --quiet";
  write_layer(layer, false);
  auto r = run_qinling("tiles " + layer + " " + (tmp / "out") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto previous = snapshot(tmp / "out");

  write_layer(layer, true);
  r = run_qinling("tiles " + layer + " " + (tmp / "ref") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd = std::string(QINLING_BIN) + " tiles " + layer + " " + (tmp / "out") + args;
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!journal_has_tiles(tmp.path() / "out") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";

  // Under the final names: exactly the previous run's files (temporaries of the killed run beside them).
  for (const auto& [rel, bytes] : snapshot(tmp / "out")) {
    if (rel.find("partial-") != std::string::npos || rel.find(".tiles-") != std::string::npos ||
        rel == ".l.qinling-journal")
      continue;
    auto it = previous.find(rel);
    ASSERT_NE(it, previous.end()) << rel << " appeared under its final name";
    EXPECT_TRUE(it->second == bytes) << rel << " changed";
  }

  r = run_qinling("tiles " + layer + " " + (tmp / "out") + " --zoom 10-14 --range -1,1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m,
                                std::regex("incremental: (\\d+) tiles re-rendered.*, (\\d+) unchanged kept; (\\d+) tiles "
                                           "taken from the interrupted run's journal")))
      << r.output;
  const std::string counts = "re-rendered " + m[1].str() + ", kept " + m[2].str() + ", from the journal " + m[3].str();
  EXPECT_GT(std::stoi(m[3]), 0) << counts;
  EXPECT_GT(std::stoi(m[2]), std::stoi(m[1]) + std::stoi(m[3])) << counts;
  const auto out = snapshot(tmp / "out"), ref = snapshot(tmp / "ref");
  EXPECT_EQ(out.size(), ref.size()) << "files left behind or missing";
  for (const auto& [rel, bytes] : ref) {
    if (rel == "l.mbtiles") continue;  // SQLite pages differ; its tiles are compared below
    auto it = out.find(rel);
    ASSERT_NE(it, out.end()) << rel;
    EXPECT_TRUE(it->second == bytes) << rel;
  }
  // MBTiles: GDAL reads the same deepest-level image from both.
  raster::DatasetPtr a(GDALDataset::Open((tmp / "out/l.mbtiles").c_str(), GDAL_OF_RASTER)),
      b(GDALDataset::Open((tmp / "ref/l.mbtiles").c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->GetRasterXSize(), b->GetRasterXSize());
  ASSERT_EQ(a->GetRasterYSize(), b->GetRasterYSize());
  const int w = a->GetRasterXSize(), h = a->GetRasterYSize();
  std::vector<std::uint8_t> pa(std::size_t(w) * h * 4), pb(pa.size());
  ASSERT_EQ(a->RasterIO(GF_Read, 0, 0, w, h, pa.data(), w, h, GDT_Byte, 4, nullptr, 0, 0, 0, nullptr), CE_None);
  ASSERT_EQ(b->RasterIO(GF_Read, 0, 0, w, h, pb.data(), w, h, GDT_Byte, 4, nullptr, 0, 0, 0, nullptr), CE_None);
  EXPECT_TRUE(pa == pb);
}

}  // namespace
}  // namespace qinling::test
