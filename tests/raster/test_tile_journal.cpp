// The resume journal and the manifest of incremental tiling: records survive a reopen with the
// same settings, a torn last record is dropped, other settings start afresh, a corrupt manifest
// reads as none; and only dead processes' temporaries are swept.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "raster/tile_journal.hpp"
#include "raster/tile_manifest.hpp"
#include "raster/tile_writers.hpp"
#include "support/test_support.hpp"

namespace qinling::raster {
namespace {
namespace fs = std::filesystem;

TEST(TileJournal, RecordsSurviveAReopenATornTailIsDroppedAndOtherSettingsStartAfresh) {
  test::TempDir tmp;
  const std::string path = tmp / "j";
  {
    TileJournal j(path, "ramp=a");
    j.record("WebMercatorQuad", pack_tile(12, 5, 7), 111, std::string("tile-one"));
    j.record("WebMercatorQuad", pack_tile(12, 6, 7), 222, std::string(5000, 'x'));
    j.record("CGCS2000Quad", pack_tile(12, 5, 7), 333, std::string("tile-three"));
  }  // like a killed run: nothing removed
  const auto full = fs::file_size(path);
  {
    TileJournal j(path, "ramp=a");
    EXPECT_EQ(j.recovered_records(), 3);
    EXPECT_EQ(j.find("WebMercatorQuad", pack_tile(12, 5, 7), 111), std::optional<std::string>("tile-one"));
    EXPECT_EQ(j.find("WebMercatorQuad", pack_tile(12, 6, 7), 222)->size(), 5000u);
    EXPECT_FALSE(j.find("WebMercatorQuad", pack_tile(12, 5, 7), 112)) << "other pixels: not that tile";
    EXPECT_FALSE(j.find("WebMercatorQuad", pack_tile(11, 5, 7), 111));
    EXPECT_EQ(j.find("CGCS2000Quad", pack_tile(12, 5, 7), 333), std::optional<std::string>("tile-three"));
  }
  fs::resize_file(path, full - 3);  // the last record torn by a kill
  {
    TileJournal j(path, "ramp=a");
    EXPECT_EQ(j.recovered_records(), 2);
    EXPECT_FALSE(j.find("CGCS2000Quad", pack_tile(12, 5, 7), 333));
    j.record("CGCS2000Quad", pack_tile(12, 5, 7), 334, "again");  // appended after the last good record
  }
  {
    TileJournal j(path, "ramp=a");
    EXPECT_EQ(j.recovered_records(), 3);
    EXPECT_EQ(j.find("CGCS2000Quad", pack_tile(12, 5, 7), 334), std::optional<std::string>("again"));
  }
  {
    TileJournal j(path, "ramp=b");
    EXPECT_EQ(j.recovered_records(), 0);
    EXPECT_FALSE(j.find("WebMercatorQuad", pack_tile(12, 5, 7), 111));
    j.remove();
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TileJournal, AppendsAreFlushedInBatchesNotPerTile) {
  test::TempDir tmp;
  const int n = 2 * TileJournal::kSyncRecords + 10;
  {
    TileJournal j(tmp / "j", "ramp=a");
    for (int i = 0; i < n; ++i) j.record("WebMercatorQuad", pack_tile(14, i, 0), std::uint64_t(i), "tile");
    EXPECT_EQ(j.syncs(), 2);  // the last 10 records: on destruction (a failed run keeps its journal)
    j.record("WebMercatorQuad", pack_tile(15, 0, 0), 1, std::string(TileJournal::kSyncBytes, 'x'));
    EXPECT_EQ(j.syncs(), 3) << "a batch also ends at kSyncBytes";
  }
  TileJournal j(tmp / "j", "ramp=a");
  EXPECT_EQ(j.recovered_records(), n + 1);
}

TEST(TileManifest, RoundTripsAndACorruptFileReadsAsNone) {
  test::TempDir tmp;
  TileManifest m;
  m.sets["WebMercatorQuad"].settings = "s1";
  for (int i = 0; i < 100; ++i) m.sets["WebMercatorQuad"].hashes[pack_tile(10, i, 2 * i)] = std::uint64_t(i) * 7919;
  m.sets["CGCS2000Quad"].settings = "s2";
  const std::string path = tmp / "m";
  write_tile_manifest(path, m);
  const auto back = read_tile_manifest(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sets.at("WebMercatorQuad").hashes, m.sets["WebMercatorQuad"].hashes);
  EXPECT_EQ(back->sets.at("CGCS2000Quad").settings, "s2");
  EXPECT_EQ(render_token(back->sets.at("WebMercatorQuad")), render_token(m.sets["WebMercatorQuad"]));
  m.sets["WebMercatorQuad"].hashes[pack_tile(10, 3, 6)] ^= 1;
  EXPECT_NE(render_token(back->sets.at("WebMercatorQuad")), render_token(m.sets["WebMercatorQuad"]));
  std::string bytes = test::read_bytes(path);
  bytes[bytes.size() / 2] ^= 0x40;
  test::write_text(path, bytes);
  EXPECT_FALSE(read_tile_manifest(path));
  EXPECT_FALSE(read_tile_manifest(tmp / "missing"));
  // Hashes see every float: one value changed by one ulp changes the hash.
  std::vector<float> px(256 * 256, 0.25f);
  const std::uint64_t h = pixel_hash(px.data(), 256, 256, 256);
  px[256 * 200 + 77] = std::nextafter(0.25f, 1.f);
  EXPECT_NE(pixel_hash(px.data(), 256, 256, 256), h);
}

TEST(TileWriters, StalePartialsOfDeadProcessesAreRemovedOthersKept) {
  test::TempDir tmp;
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string d = std::to_string(dead), live = std::to_string(::getppid());
  for (const std::string& f : {".l.partial-" + d, "l.mbtiles.partial-" + d, "l.pmtiles.tiles-" + d, ".l.partial-" + live,
                              "l.mbtiles.partial-" + live, std::string("l.mbtiles.partial-notapid"), "other.partial-" + d})
    test::write_text(tmp / f, "x");
  fs::create_directories(tmp.path() / (".l.partial-" + d + ".old") / "WebMercatorQuad");
  remove_stale_partials(tmp / "l");
  remove_stale_partials(tmp / "l.mbtiles");
  remove_stale_partials(tmp / "l.pmtiles");
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp.path())) left.insert(e.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{".l.partial-" + live, "l.mbtiles.partial-" + live, "l.mbtiles.partial-notapid",
                                         "other.partial-" + d}));
}

}  // namespace
}  // namespace qinling::raster
