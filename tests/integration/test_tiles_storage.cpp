// How `qinling tiles` stores its outputs across runs: an MBTiles updated by incremental re-runs
// that replace and delete tiles stays the size of a fresh build (vacuumed, no free pages), and the
// run is durable across a power loss — traced with strace: the resume journal is flushed in batches
// (not per tile), each output file is flushed before its rename and its folder after, the XYZ
// folder's tiles are flushed before the folder is renamed, and the journal goes last.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>

#include "support/test_support.hpp"

namespace qinling::test {
namespace {
namespace fs = std::filesystem;

// A 700² Float32 layer; version k > 0 overwrites a 200² square (a different place and value each
// time) and blanks a corner strip to nodata (tiles that vanish), so every re-run replaces images
// and deletes rows.
void write_layer(const std::string& path, int k) {
  make_float_layer(path, 700, 700, [k](int x, int y) {
    float f = float(0.8 * std::sin(x * 0.013) * std::cos(y * 0.017));
    if (k > 0 && x >= 60 + 150 * k && x < 260 + 150 * k && y >= 80 + 100 * k && y < 280 + 100 * k) f = 0.1f * float(k);
    if (k > 0 && x < 100 && y < 120 * k) f = NAN;
    return f;
  });
}

// Page size, page count, free pages and rows of an MBTiles, read by Python's sqlite3.
struct Pages {
  long page_size = 0, pages = 0, free = 0, tiles = 0;
};
Pages pages(const std::string& mbtiles) {
  const auto r = run_command("/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('" + mbtiles +
                             "'); q = lambda s: c.execute(s).fetchone()[0]; print('SIZE', q('pragma page_size'), 'PAGES', "
                             "q('pragma page_count'), 'FREE', q('pragma freelist_count'), 'TILES', q('select count(*) "
                             "from tiles'))\"");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return {long(field(r.output, "SIZE")), long(field(r.output, "PAGES")), long(field(r.output, "FREE")),
          long(field(r.output, "TILES"))};
}

TEST(TilesStorage, MbtilesDoesNotGrowAcrossIncrementalRerunsWithChanges) {
  TempDir tmp;
  const std::string layer = tmp / "l.tif", args = " --zoom 10-15 --range -1,1 --formats mbtiles --threads 2";
  for (int k : {0, 1, 2, 3}) {
    write_layer(layer, k);
    const auto r = run_qinling("tiles " + layer + " " + (tmp / "out") + args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (k > 0) {
      EXPECT_NE(r.output.find("incremental: "), std::string::npos) << r.output;
    }
    EXPECT_EQ(pages(tmp / "out/l.mbtiles").free, 0) << "run " << k << ": free pages left in the file";
  }
  const auto r = run_qinling("tiles " + layer + " " + (tmp / "fresh") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Pages updated = pages(tmp / "out/l.mbtiles"), fresh = pages(tmp / "fresh/l.mbtiles");
  EXPECT_EQ(updated.tiles, fresh.tiles);
  // Without the vacuum this file grew to 1.35× the fresh build's pages (1288 against 957).
  EXPECT_LE(updated.pages, fresh.pages + 8) << "fresh build: " << fresh.pages << " pages";
  EXPECT_EQ(long(fs::file_size(tmp / "out/l.mbtiles")), updated.pages * updated.page_size);
  for (const auto& e : fs::directory_iterator(tmp / "out"))
    EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos) << "left behind: " << e.path();
}

// Position (line number) of the first line of `log` matching `re` at or after `from`, or -1.
long find_line(const std::vector<std::string>& log, const std::string& re, long from = 0) {
  const std::regex rx(re);
  for (long i = std::max(from, 0L); i < long(log.size()); ++i)
    if (std::regex_search(log[std::size_t(i)], rx)) return i;
  return -1;
}

TEST(TilesStorage, JournalIsFlushedInBatchesAndEachOutputBeforeItsRename) {
  if (run_command("strace -f -qq -o /dev/null true").exit_code != 0) GTEST_SKIP() << "strace missing or not permitted";
  TempDir tmp;
  const std::string layer = tmp / "l.tif";
  write_layer(layer, 0);
  const std::string out = fs::weakly_canonical(tmp.path()).string() + "/out";
  // LeakSanitizer cannot run under ptrace (a sanitizer build would abort at exit): leaks are off here.
  const auto r = run_command("ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0\" strace -f -y -qq -e trace=fdatasync,fsync,syncfs,rename,renameat,renameat2,unlink,unlinkat -o " +
                             (tmp / "trace") + " " + QINLING_BIN + " tiles " + layer + " " + out +
                             " --zoom 10-15 --range -1,1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("(\\d+) tiles"))) << r.output;
  const long tiles = std::stol(m[1]);
  ASSERT_GT(tiles, 2 * 256) << r.output;
  std::vector<std::string> log;
  std::istringstream in(read_bytes(tmp / "trace"));
  for (std::string line; std::getline(in, line);) log.push_back(line);

  // The journal: one flush per 256 drawn tiles, not one per tile.
  long journal_syncs = 0;
  for (const auto& l : log) journal_syncs += l.find("fdatasync(") != std::string::npos && l.find(".qinling-journal>") != std::string::npos;
  EXPECT_GE(journal_syncs, 2) << tiles << " tiles";
  EXPECT_LE(journal_syncs, tiles / 256 + 1) << tiles << " tiles";

  // MBTiles and PMTiles: data flushed, renamed into place, the folder flushed.
  const std::string dir_sync = "fsync\\(\\d+<" + out + ">\\) = 0";
  long last = 0;
  for (const std::string name : {"l.mbtiles", "l.pmtiles"}) {
    const std::string tmp_re = out + "/" + name + "\\.partial-\\d+";
    const long sync = find_line(log, "fdatasync\\(\\d+<" + tmp_re + ">\\) = 0");
    const long ren = find_line(log, "rename.*\"" + tmp_re + "\".*\"" + out + "/" + name + "\".* = 0", sync);
    const long after = find_line(log, dir_sync, ren);
    EXPECT_GE(sync, 0) << name << ": its data is not flushed before the rename";
    EXPECT_GT(ren, sync) << name;
    EXPECT_GT(after, ren) << name << ": the folder is not flushed after the rename";
    last = std::max(last, after);
  }
  // The XYZ folder: the tiles flushed (syncfs) before the folder is renamed, the folder after.
  const std::string staging = out + "/\\.l\\.partial-\\d+";
  const long flushed = find_line(log, "syncfs\\(\\d+<" + staging + ">\\) = 0");
  const long renamed = find_line(log, "rename.*\"" + staging + "\".*\"" + out + "/l\".* = 0", flushed);
  const long after = find_line(log, dir_sync, renamed);
  EXPECT_GE(flushed, 0) << "the XYZ tiles are not flushed before the folder's rename";
  EXPECT_GT(renamed, flushed);
  EXPECT_GT(after, renamed);
  last = std::max(last, after);
  // The journal is removed only once every output is durable.
  EXPECT_GT(find_line(log, "unlink.*\\.l\\.qinling-journal\"", 0), last);
}

}  // namespace
}  // namespace qinling::test
