// Our PMTiles read by the official `pmtiles` npm decoder (tests/integration/pmtiles_read.mjs, the
// package installed by the build from tests/node/package-lock.json): its header (tile type, zoom
// range, bounds, centre, counts) and every tile it finds by walking the directories must agree
// with the XYZ folder written by the same `qinling tiles` run (same tiles, same bytes by sha256,
// one stored copy per distinct tile) and with GDAL's lon/lat extent of the layer; and it follows
// the leaf directories of a large archive to every tile.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "raster/pmtiles.hpp"
#include "support/test_support.hpp"

namespace qinling::test {
namespace {
namespace fs = std::filesystem;

const fs::path kNodeDir = QINLING_TEST_NODE_DIR;
const fs::path kScript = fs::path(QINLING_SOURCE_DIR) / "tests/integration/pmtiles_read.mjs";

// "z x y" → sha256 of every PNG under an XYZ folder, by coreutils' sha256sum.
std::map<std::string, std::string> xyz_hashes(const fs::path& dir) {
  const auto r = run_command("cd '" + dir.string() + "' && find . -name '*.png' -exec sha256sum {} +");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::string> out;
  std::istringstream in(r.output);
  std::string hash, file;
  while (in >> hash >> file) {
    const fs::path p(file);  // ./z/x/y.png
    out[p.parent_path().parent_path().filename().string() + " " + p.parent_path().filename().string() + " " +
        p.stem().string()] = hash;
  }
  return out;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr), 1);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < n; ++i) std::snprintf(b, sizeof b, "%02x", md[i]), hex += b;
  return hex;
}

// Runs the decoder script; fills `header` (key → value) and `tiles` ("z x y" → sha256).
long decode(const std::string& archive, const std::string& sample_zxy, const std::string& sample_out,
            std::map<std::string, std::string>& header, std::map<std::string, std::string>& tiles) {
  const auto r = run_command("node '" + kScript.string() + "' '" + kNodeDir.string() + "' '" + archive + "' " +
                             sample_zxy + " '" + sample_out + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  long count = -1;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream l(line);
    std::string kind, a, b, c, len, hash;
    l >> kind;
    if (kind == "header" && l >> a >> b) header[a] = b;
    if (kind == "tile" && l >> a >> b >> c >> len >> hash) {
      EXPECT_TRUE(tiles.emplace(a + " " + b + " " + c, hash).second) << "listed twice: " << line;
    }
    if (kind == "count") l >> count;
  }
  EXPECT_FALSE(header.empty()) << r.output;
  return count;
}

bool have_decoder() {
  return run_command("command -v node").exit_code == 0 && fs::exists(kNodeDir / "node_modules/pmtiles/package.json");
}
const char* kNoDecoder = "node or the pmtiles npm package (installed by the build with npm ci) is missing";

TEST(PmtilesNode, OfficialDecoderReadsHeaderEveryTileAndTheirBytes) {
  if (!have_decoder()) GTEST_SKIP() << kNoDecoder << ": " << kNodeDir;
  TempDir tmp;
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  auto r = run_command("gdal_translate -q -b 5 -ot Float32 -scale 0 20000 0 1 " + scene + " " + (tmp / "layer.tif"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_qinling("tiles " + (tmp / "layer.tif") + " " + (tmp / "out") + " --ramp ndvi --range 0,0.6 --zoom 8-14 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path xyz = fs::path(tmp / "out") / "layer" / "WebMercatorQuad";
  const auto ours = xyz_hashes(xyz);
  ASSERT_GT(ours.size(), 50u);

  // The sample: the largest tile at the deepest zoom (the most content to get wrong).
  std::string sample;
  std::uintmax_t largest = 0;
  for (const auto& [zxy, hash] : ours) {
    std::istringstream s(zxy);
    int z = 0, x = 0, y = 0;
    s >> z >> x >> y;
    const fs::path f = xyz / std::to_string(z) / std::to_string(x) / (std::to_string(y) + ".png");
    if (z == 14 && fs::file_size(f) > largest) largest = fs::file_size(f), sample = f.string();
  }
  ASSERT_FALSE(sample.empty());
  const fs::path sp = fs::relative(sample, xyz);  // z/x/y.png
  const std::string sample_zxy = (sp.parent_path() / sp.stem()).string();

  std::map<std::string, std::string> header, theirs;
  const long count = decode(tmp / "out/layer.pmtiles", sample_zxy, tmp / "sample.png", header, theirs);

  EXPECT_EQ(header["specVersion"], "3");
  EXPECT_EQ(header["tileType"], "2");         // PNG
  EXPECT_EQ(header["tileCompression"], "1");  // none: PNG is compressed already
  EXPECT_EQ(header["clustered"], "true");
  EXPECT_EQ(header["minZoom"], "8");
  EXPECT_EQ(header["maxZoom"], "14");
  EXPECT_EQ(header["centerZoom"], "8");
  EXPECT_EQ(header["metadataName"], "layer");

  // Every tile of the XYZ folder, no other, with the same bytes; identical tiles stored once.
  EXPECT_EQ(count, long(ours.size()));
  EXPECT_EQ(std::stol(header["numAddressedTiles"]), long(ours.size()));
  EXPECT_EQ(theirs, ours);
  std::set<std::string> distinct;
  for (const auto& [zxy, hash] : ours) distinct.insert(hash);
  EXPECT_EQ(std::stol(header["numTileContents"]), long(distinct.size()));
  EXPECT_LE(std::stol(header["numTileEntries"]), long(ours.size()));
  EXPECT_EQ(read_bytes(tmp / "sample.png"), read_bytes(sample)) << sample_zxy;

  // Bounds: GDAL's WGS 84 extent of the layer (its corners; our footprint follows the edges, a
  // few metres apart on this 18 km scene), and the centre in the middle of them.
  r = run_command("/usr/bin/python3 -c \"from osgeo import gdal; e = gdal.Info('" + (tmp / "layer.tif") +
                  "', format='json')['wgs84Extent']['coordinates'][0]; xs = [p[0] for p in e]; ys = [p[1] for p in e]; "
                  "print('W', min(xs), 'S', min(ys), 'E', max(xs), 'N', max(ys))\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(std::stod(header["minLon"]), field(r.output, "W"), 2e-4);
  EXPECT_NEAR(std::stod(header["minLat"]), field(r.output, "S"), 2e-4);
  EXPECT_NEAR(std::stod(header["maxLon"]), field(r.output, "E"), 2e-4);
  EXPECT_NEAR(std::stod(header["maxLat"]), field(r.output, "N"), 2e-4);
  EXPECT_NEAR(std::stod(header["centerLon"]), (std::stod(header["minLon"]) + std::stod(header["maxLon"])) / 2, 2e-7);
  EXPECT_NEAR(std::stod(header["centerLat"]), (std::stod(header["minLat"]) + std::stod(header["maxLat"])) / 2, 2e-7);
}

// Leaf directories (none in the small archive above): ~20000 tiles of random bytes and lengths at
// z8 with random gaps, written by our PmtilesWriter, need a root of leaf pointers; the decoder must
// find every one of them, with their bytes.
TEST(PmtilesNode, OfficialDecoderFollowsOurLeafDirectories) {
  if (!have_decoder()) GTEST_SKIP() << kNoDecoder << ": " << kNodeDir;
  TempDir tmp;
  std::mt19937 rng(5);
  std::map<std::string, std::string> ours;
  std::string sample;
  {
    raster::PmtilesWriter w(tmp / "leaves.pmtiles");
    for (int x = 0; x < 256; ++x)
      for (int y = 0; y < 256; ++y) {
        if (rng() % 10 < 7) continue;
        std::string data(1 + rng() % 300, '\0');
        for (auto& c : data) c = char(rng());
        w.put(8, x, y, data);
        ours[std::to_string(8) + " " + std::to_string(x) + " " + std::to_string(y)] = sha256_hex(data);
        if (x == 200 && sample.empty()) sample = "8/" + std::to_string(x) + "/" + std::to_string(y), write_text(tmp / "want", data);
      }
    raster::TilesetInfo info;
    info.name = "leaves";
    info.min_zoom = info.max_zoom = 8;
    info.lonlat = {-180, -85, 180, 85};
    w.commit(info);
  }
  ASSERT_GT(ours.size(), 15000u);
  std::map<std::string, std::string> header, theirs;
  const long count = decode(tmp / "leaves.pmtiles", sample, tmp / "got", header, theirs);
  EXPECT_GT(std::stol(header["leafDirectoryLength"]), 0) << "expected leaf directories";
  EXPECT_EQ(count, long(ours.size()));
  EXPECT_EQ(std::stol(header["numTileEntries"]), long(ours.size()));
  EXPECT_TRUE(theirs == ours) << theirs.size() << " tiles decoded, " << ours.size() << " written";
  EXPECT_EQ(read_bytes(tmp / "got"), read_bytes(tmp / "want"));
}

}  // namespace
}  // namespace qinling::test
