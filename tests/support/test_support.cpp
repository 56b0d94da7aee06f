#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <ogr_spatialref.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace qinling::test {
namespace fs = std::filesystem;

// Runs started by tests record nothing in the user's job store (~/.local/share/qinling/jobs.db);
// tests of the store pass --store or set QINLING_STORE for their own commands.
const bool kNoUserStore = ::setenv("QINLING_STORE", "none", 1) == 0;

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("qinling-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("QINLING_KEEP_TEST_FILES") == nullptr) fs::remove_all(path_, ec);
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CommandResult run_qinling(const std::string& args) { return run_command(std::string(QINLING_BIN) + " " + args); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<double> read_band(const std::string& path, int band, int* width, int* height) {
  GDALAllRegister();
  auto* ds = GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY);
  if (ds == nullptr) throw std::runtime_error("cannot open " + path);
  auto* b = ds->GetRasterBand(band);
  const int w = b->GetXSize(), h = b->GetYSize();
  std::vector<double> v(size_t(w) * h);
  if (b->RasterIO(GF_Read, 0, 0, w, h, v.data(), w, h, GDT_Float64, 0, 0, nullptr) != CE_None) {
    GDALClose(ds);
    throw std::runtime_error("cannot read " + path);
  }
  int has_nd = 0;
  const double nd = b->GetNoDataValue(&has_nd);
  if (has_nd && !std::isnan(nd))
    for (auto& x : v)
      if (x == nd) x = NAN;
  GDALClose(ds);
  if (width) *width = w;
  if (height) *height = h;
  return v;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b, long* mismatched) {
  if (a.size() != b.size()) throw std::runtime_error("rasters differ in size");
  double m = 0;
  long mis = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool fa = std::isfinite(a[i]), fb = std::isfinite(b[i]);
    if (fa && fb) m = std::max(m, std::abs(a[i] - b[i]));
    else if (fa != fb) ++mis;
  }
  if (mismatched) *mismatched = mis;
  return m;
}

std::string sample_scene_dir(int size) {
  const fs::path dir =
      fs::temp_directory_path() / ("qinling-sample-" + std::to_string(size) + "-v3-eco-aerial1-" + std::to_string(::getuid()));
  if (fs::exists(dir / "COMPLETE")) return dir.string();
  // Tests run in parallel: each generates into its own folder, the first rename wins.
  const fs::path tmp = dir.string() + ".tmp-" + std::to_string(::getpid());
  const auto r = run_qinling("sample-data " + tmp.string() + " --size " + std::to_string(size) + " --quiet");
  if (r.exit_code != 0) throw std::runtime_error("sample-data failed: " + r.output);
  write_text((tmp / "COMPLETE").string(), "ok");
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp, ec);
  return dir.string();
}

std::string real_data_dir() {
  const char* d = std::getenv("QINLING_REAL_DATA");
  return (d != nullptr && fs::exists(d)) ? std::string(d) : std::string();
}

}  // namespace qinling::test

namespace qinling::test {
void make_raster(const std::string& path, int width, int height, int bands, unsigned (*value)(int, int, int),
                 int nodata, bool striped) {
  GDALAllRegister();
  char** opts = nullptr;
  if (!striped) {
    opts = CSLSetNameValue(opts, "TILED", "YES");
    opts = CSLSetNameValue(opts, "BLOCKXSIZE", "256");
    opts = CSLSetNameValue(opts, "BLOCKYSIZE", "256");
  }
  opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
  auto* ds = GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), width, height, bands, GDT_UInt16,
                                                                       opts);
  CSLDestroy(opts);
  if (ds == nullptr) throw std::runtime_error("cannot create " + path);
  double gt[6] = {580000, 30, 0, 3760000, 0, -30};
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  std::vector<unsigned short> buf(size_t(width) * height);
  for (int b = 1; b <= bands; ++b) {
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) buf[size_t(y) * width + x] = (unsigned short)value(b, x, y);
    auto* band = ds->GetRasterBand(b);
    if (nodata >= 0) band->SetNoDataValue(nodata);
    if (band->RasterIO(GF_Write, 0, 0, width, height, buf.data(), width, height, GDT_UInt16, 0, 0, nullptr) !=
        CE_None)
      throw std::runtime_error("cannot write " + path);
  }
  GDALClose(ds);
}
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(s);
  return ntohs(a.sin_port);
}

double field(const std::string& out, const std::string& key) {
  const auto p = out.find(key + " ");
  if (p == std::string::npos) {
    ADD_FAILURE() << "no " << key << " in: " << out;
    return 1e99;
  }
  return std::stod(out.substr(p + key.size() + 1));
}

void make_float_layer(const std::string& path, int width, int height, const std::function<float(int x, int y)>& value,
                      bool nan_nodata) {
  GDALAllRegister();
  GDALDataset* ds =
      GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), width, height, 1, GDT_Float32, nullptr);
  ASSERT_NE(ds, nullptr) << path;
  double gt[6] = {19050, 30, 0, 3773310, 0, -30};  // the sample scene's corner (108.9E 33.9N region)
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  std::vector<float> v(std::size_t(width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) v[std::size_t(y) * width + x] = value(x, y);
  if (nan_nodata) ds->GetRasterBand(1)->SetNoDataValue(NAN);
  EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, width, height, v.data(), width, height, GDT_Float32, 0, 0,
                                           nullptr),
            CE_None);
  GDALClose(ds);
}

}  // namespace qinling::test
