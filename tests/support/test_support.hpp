// Helpers shared by the test programs: temporary folders, running the CLI, reading rasters.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace qinling::test {

// A fresh directory under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command; returns its exit code and combined output.
CommandResult run_command(const std::string& command);

// A TCP port on the loopback that was free a moment ago (for `qinling serve` in tests).
int free_port();

// The number after `KEY ` in a reference script's output ("MAXDIFF 1e-7 NAN 0"); a test failure and
// 1e99 when the key is missing.
double field(const std::string& out, const std::string& key);
// Runs the built `qinling` with `args` (already shell-quoted as needed).
CommandResult run_qinling(const std::string& args);

void write_text(const std::string& path, const std::string& text);
std::string read_bytes(const std::string& path);

// Band `band` of a raster as doubles, nodata replaced by NaN; also returns the size.
std::vector<double> read_band(const std::string& path, int band, int* width = nullptr, int* height = nullptr);

// Largest |a-b| where both are finite; counts pixels finite in one only into `mismatched`.
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b, long* mismatched);

// The sample scene generated once per test program (cached under the temp folder by seed/size).
std::string sample_scene_dir(int size = 600);

// The folder of real files (QINLING_REAL_DATA), or empty when unset.
std::string real_data_dir();

}  // namespace qinling::test

namespace qinling::test {
// Writes a small UInt16 GeoTIFF in EPSG:4547 (30 m) whose band b pixel (x,y) = value(b, x, y);
// `nodata` < 0 means none. Tiled 256 unless `striped`.
void make_raster(const std::string& path, int width, int height, int bands,
                 unsigned (*value)(int band, int x, int y), int nodata = -1, bool striped = false);
// Writes a Float32 GeoTIFF at the sample scene's corner (EPSG:4547, 30 m) whose pixel (x,y) is
// value(x, y); `nan_nodata` marks NaN as the band's nodata. Used by the tile tests.
void make_float_layer(const std::string& path, int width, int height, const std::function<float(int x, int y)>& value,
                      bool nan_nodata = true);
}  // namespace qinling::test
