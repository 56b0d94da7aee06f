// A disk that fills up mid-run: exit 1 with a message naming the output, the earlier output left
// as it was, no partial file left behind. Needs root to mount a small tmpfs; skips otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {
// A 3 MiB tmpfs, unmounted at the end of the test.
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir) : dir_(dir) {
    fs::create_directories(dir);
    mounted_ = ::getuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=3m") == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount(dir_.c_str());
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};
}  // namespace

TEST(DiskFull, RunFailsCleanlyAndKeepsTheEarlierOutput) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  SmallDisk disk(dir / "small");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const auto job = [&](const std::string& grid) {
    return "job: full\n" + grid + "inputs:\n  scene: {path: " + scene +
           ", bands: {red: 4, nir: 5}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\n"
           "outputs:\n  - {from: ndvi, path: ndvi.tif, format: gtiff, options: {COMPRESS: NONE}}\n";
  };
  // Uncompressed 512² float tiles are 1 MiB each: a 60x60 corner (one tile) fits, the whole
  // 600x600 scene (four tiles) cannot.
  const auto info = run_command("/usr/bin/python3 -c \"from osgeo import gdal; g=gdal.Open('" + scene +
                                "').GetGeoTransform(); print(g[0], g[3]-1800, g[0]+1800, g[3])\"");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  std::istringstream in(info.output);
  std::string xmin, ymin, xmax, ymax;
  in >> xmin >> ymin >> xmax >> ymax;
  write_text(dir / "small.yaml", job("grid: {crs: EPSG:4547, resolution: 30, extent: [" + xmin + ", " + ymin + ", " +
                                     xmax + ", " + ymax + "]}\n"));
  auto r = run_qinling("run " + (dir / "small.yaml") + " --out " + (dir / "small") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string earlier = read_bytes(dir / "small/ndvi.tif");
  ASSERT_GT(earlier.size(), 1000u);
  std::set<std::string> files_before;  // the output and whatever records a run writes beside it
  for (const auto& e : fs::directory_iterator(dir / "small")) files_before.insert(e.path().filename().string());
  write_text(dir / "big.yaml", job(""));
  r = run_qinling("run " + (dir / "big.yaml") + " --out " + (dir / "small"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find((dir / "small/ndvi.tif") + ": writing failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_TRUE(read_bytes(dir / "small/ndvi.tif") == earlier) << "the earlier output changed";
  for (const auto& e : fs::directory_iterator(dir / "small"))
    EXPECT_TRUE(files_before.count(e.path().filename().string())) << "left behind: " << e.path();
}
