// `qinling info FILE` on the synthetic GRIB2/NetCDF files (tests/data/make_weather.py, whose
// contents are known by construction), a station CSV, and every real weather file when present.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

TEST(MetInfo, ListsVariablesLevelsAndTimes) {
  TempDir dir;
  const auto made = run_command(std::string("/usr/bin/python3 ") + QINLING_SOURCE_DIR +
                                "/tests/data/make_weather.py " + dir.path().string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  // GRIB2: TMP at 2-HTGL, ref 2026-07-01T00Z, leads 12 h and 24 h; HGT at the surface.
  auto r = run_qinling("info " + (dir / "global.grib2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s :
       {"3 band(s)", "variables: HGT, TMP", "levels: 0-SFC, 2-HTGL", "reference times: 2026-07-01T00:00Z",
        "2026-07-01T12:00Z", "2026-07-02T00:00Z", "leads: 0h, 12h, 24h"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  // NetCDF with two variables: each listed with its times (t2m at 0 h and 6 h).
  r = run_qinling("info " + (dir / "fields.nc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s : {"t2m", "tp", "2026-07-01T00:00Z .. 2026-07-01T06:00Z"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  // A station table: rows, columns, ranges and missing cells.
  write_text(dir / "obs.csv",
             "id,lon,lat,time,value\na,108.1,33.5,2026-07-01T00:00Z,1.5\nb,108.9,34.0,2026-07-02T00:00Z,\n");
  r = run_qinling("info " + (dir / "obs.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s :
       {"2 rows, 5 columns", "lon: numbers 108.1 .. 108.9",
        "time: text 2026-07-01T00:00Z .. 2026-07-02T00:00Z", "value: numbers 1.5 .. 1.5 (1 missing)"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  r = run_qinling("info " + (dir / "nothing.grib2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no such file"), std::string::npos) << r.output;
}

TEST(MetInfo, EveryRealWeatherFileIsListed) {
  const std::string real = real_data_dir();
  if (real.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  if (!fs::exists(real + "/weather")) GTEST_SKIP() << "no weather folder";
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(real + "/weather")) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    if (ext != ".grib" && ext != ".nc" && ext != ".nc4" && ext != ".HDF5" && ext != ".csv") continue;
    // reduced_gg.grib is a reduced Gaussian grid, which GDAL does not read as a raster: a clear error.
    const bool unreadable = e.path().filename() == "reduced_gg.grib";
    const auto r = run_qinling("info " + e.path().string());
    ++files;
    if (unreadable) {
      EXPECT_EQ(r.exit_code, 2) << e.path() << "\n" << r.output;
      EXPECT_NE(r.output.find("cannot read it as a raster"), std::string::npos) << r.output;
      continue;
    }
    EXPECT_EQ(r.exit_code, 0) << e.path() << "\n" << r.output;
    EXPECT_TRUE(r.output.find("band(s)") != std::string::npos ||
                r.output.find("station table") != std::string::npos)
        << e.path() << "\n"
        << r.output;
  }
  EXPECT_GT(files, 10);
}
