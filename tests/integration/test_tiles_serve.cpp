// `qinling serve` on a free loopback port: a tile over HTTP equals the file, WMTS capabilities
// (REST and KVP), 404 for unknown layers and path traversal, and GDAL's WMTS driver reading our
// capabilities through the server returns the same pixels as our tiles, in both matrix sets.
#include <arpa/inet.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "support/test_support.hpp"

namespace qinling::test {
namespace {
namespace fs = std::filesystem;

class Server {
 public:
  Server(const std::string& dir, int port) : url_("http://127.0.0.1:" + std::to_string(port)) {
    const auto r = run_command(std::string(QINLING_BIN) + " serve " + dir + " --port " + std::to_string(port) + " > " +
                               dir + "/../serve.log 2>&1 & echo $!");
    pid_ = std::stoi(r.output);
    for (int i = 0; i < 100 && status("/") != "200"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Server() { ::kill(pid_, SIGTERM); }
  std::string status(const std::string& path) const {
    return run_command("curl -s -o /dev/null --path-as-is -w '%{http_code}' '" + url_ + path + "'").output;
  }
  std::string get(const std::string& path) const { return run_command("curl -s '" + url_ + path + "'").output; }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  int pid_ = -1;
};

TEST(TilesServe, TilesCapabilitiesAndGdalWmtsThroughTheServer) {
  TempDir tmp;
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  auto r = run_command("gdal_translate -q -b 4 -b 3 -b 2 -ot Byte -scale 0 20000 1 255 -a_nodata 0 " + scene + " " +
                       (tmp / "rgb.tif"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::create_directories(tmp / "www");
  r = run_qinling("tiles " + (tmp / "rgb.tif") + " " + (tmp / "www") + " --matrix-sets WebMercatorQuad,CGCS2000Quad --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const int port = free_port();
  Server srv(tmp / "www", port);
  ASSERT_EQ(srv.status("/"), "200") << read_bytes(tmp / "serve.log");

  // A tile over HTTP is the file on disk, from the folder, the MBTiles and the PMTiles.
  fs::path one;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "www/rgb/WebMercatorQuad"))
    if (e.path().extension() == ".png") one = e.path();
  ASSERT_FALSE(one.empty());
  const std::string y = one.stem().string(), x = one.parent_path().filename().string(),
                    z = one.parent_path().parent_path().filename().string();
  for (const std::string layer : {"rgb", "rgb.mbtiles", "rgb.pmtiles"})
    EXPECT_EQ(srv.get("/" + layer + "/" + z + "/" + x + "/" + y + ".png"), read_bytes(one.string())) << layer;

  const std::string caps = srv.get("/wmts/1.0.0/WMTSCapabilities.xml");
  EXPECT_NE(caps.find("<ows:Identifier>rgb</ows:Identifier>"), std::string::npos);
  EXPECT_NE(srv.get("/wmts?SERVICE=WMTS&REQUEST=GetCapabilities").find("CGCS2000Quad"), std::string::npos);
  EXPECT_EQ(srv.get("/wmts?service=WMTS&request=GetTile&layer=rgb&tilematrixset=WebMercatorQuad&tilematrix=" + z +
                    "&tilecol=" + x + "&tilerow=" + y),
            read_bytes(one.string()));
  EXPECT_EQ(srv.status("/nope/1/0/0.png"), "404");
  EXPECT_EQ(srv.status("/../../etc/passwd"), "404");
  EXPECT_EQ(srv.status("/..%2F..%2Fetc/1/0/0.png"), "404");
  EXPECT_EQ(srv.status("/rgb/tilejson.json"), "200");

  // GDAL's WMTS driver through the server: its raster at the deepest zoom is our tiles.
  GDALAllRegister();
  CPLSetConfigOption("GDAL_ENABLE_WMS_CACHE", "NO");
  for (const std::string set : {"WebMercatorQuad", "CGCS2000Quad"}) {
    const std::string name = "WMTS:" + srv.url() + "/wmts/1.0.0/WMTSCapabilities.xml,layer=rgb,tilematrixset=" + set;
    GDALDataset* ds = GDALDataset::Open(name.c_str(), GDAL_OF_RASTER);
    ASSERT_NE(ds, nullptr) << name;
    double gt[6];
    ds->GetGeoTransform(gt);
    const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
    std::vector<unsigned char> px(std::size_t(w) * h * 4);
    ASSERT_EQ(ds->RasterIO(GF_Read, 0, 0, w, h, px.data(), w, h, GDT_Byte, 4, nullptr, 4, w * 4, 1, nullptr), CE_None);
    GDALClose(ds);
    // The deepest level and the matrix origin of this set.
    int zmax = 0;
    for (const auto& e : fs::directory_iterator(tmp / ("www/rgb/" + set))) zmax = std::max(zmax, std::stoi(e.path().filename().string()));
    const double ox = set == "WebMercatorQuad" ? -20037508.342789244 : -180, oy = -ox / (set == "WebMercatorQuad" ? 1 : 2);
    std::map<std::string, std::vector<double>> cache;
    double diff = 0;
    long n = 0;
    for (int row = 0; row < h; row += 3)
      for (int col = 0; col < w; col += 3) {
        const long gx = std::lround((gt[0] + (col + 0.5) * gt[1] - ox) / gt[1] - 0.5);
        const long gy = std::lround((oy - (gt[3] + (row + 0.5) * gt[5])) / -gt[5] - 0.5);
        const std::string f = (tmp / ("www/rgb/" + set + "/")) + std::to_string(zmax) + "/" + std::to_string(gx / 256) +
                              "/" + std::to_string(gy / 256) + ".png";
        if (!fs::exists(f) || px[(std::size_t(row) * w + col) * 4 + 3] == 0) continue;
        if (!cache.count(f)) {
          std::vector<double> all;
          for (int b = 1; b <= 4; ++b) {
            auto v = read_band(f, b);
            all.insert(all.end(), v.begin(), v.end());
          }
          cache[f] = all;
        }
        const auto& t = cache[f];
        const std::size_t i = std::size_t(gy % 256) * 256 + std::size_t(gx % 256);
        for (int k = 0; k < 3; ++k) diff += std::abs(t[k * 65536 + i] - px[(std::size_t(row) * w + col) * 4 + k]);
        n += 3;
      }
    ASSERT_GT(n, 100) << set;
    EXPECT_LE(diff / n, 2.0) << set;
  }
}

}  // namespace
}  // namespace qinling::test
