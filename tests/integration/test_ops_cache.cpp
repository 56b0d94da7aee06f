// Operations, part 2, through the CLI: the output-folder lock between two processes, per-step
// caching (only changed steps and their dependents recompute; referenced files count), the STAC
// Items and Collection against the vendored STAC 1.0.0 schemas, and the run report.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

unsigned value(int band, int x, int y) { return 1000u + unsigned(band * 500 + x * 11 + y * 5); }

// Three band-math steps: a and b read the scene, c reads a. Expressions are parameters.
std::string write_job(const TempDir& dir, const std::string& a, const std::string& b, const std::string& c,
                      int size = 96) {
  if (!fs::exists(dir / "scene.tif")) make_raster(dir / "scene.tif", size, size, 4, value);
  const std::string job = dir / "cache.yaml";
  write_text(job, "job: cache\ninputs:\n  scene: {path: scene.tif, bands: {red: 3, nir: 4}}\nsteps:\n"
                  "  - {id: a, kind: raster.calc, input: scene, expression: \"" + a + "\"}\n"
                  "  - {id: b, kind: raster.calc, input: scene, expression: \"" + b + "\"}\n"
                  "  - {id: c, kind: raster.calc, input: a, expression: \"" + c + "\"}\n"
                  "outputs:\n  - {from: a, path: out/a.tif, format: cog}\n  - {from: b, path: out/b.tif, format: cog}\n"
                  "  - {from: c, path: out/c.tif, format: cog}\n");
  return job;
}

json report_of(const TempDir& dir, const std::string& job = "cache") {
  return json::parse(read_bytes(dir / (job + ".report.json")));
}

std::vector<std::string> names(const json& j) { return j.get<std::vector<std::string>>(); }

// Waits until the lock file names `pid` as its holder (it writes that right after locking).
bool holds_lock(const std::string& lock_file, long pid) {
  for (int i = 0; i < 3000; ++i) {
    if (read_bytes(lock_file).rfind("pid " + std::to_string(pid), 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

bool gone(long pid) {
  for (int i = 0; i < 2000; ++i) {
    if (::kill(pid_t(pid), 0) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

long start_background(const std::string& args, const std::string& log) {
  const auto r = run_command(std::string(QINLING_BIN) + " " + args + " > " + q(log) + " 2>&1 & echo $!");
  return std::stol(r.output);
}

}  // namespace

TEST(OpsLock, SecondRunOnTheSameFolderFailsOrWaitsAndACrashReleasesTheLock) {
  TempDir dir;
  const std::string job = write_job(dir, "nir - red", "nir + red", "a * 2", 1024);
  const std::string run = "run " + q(job) + " --store none --threads 1 --memory-mb 16";
  const std::string lock = dir / ".qinling.lock";  // the output folder: the job's

  // First process takes the lock; stopped there, it holds it as long as we like.
  const long first = start_background(run, dir / "first.log");
  ASSERT_TRUE(holds_lock(lock, first)) << read_bytes(dir / "first.log");
  ::kill(pid_t(first), SIGSTOP);
  auto second = run_qinling(run);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("output folder " + dir.path().string() + " is in use by pid " + std::to_string(first)),
            std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find("--wait"), std::string::npos) << second.output;

  // Killed with SIGKILL while holding it: the kernel releases the lock, the next run goes ahead.
  ::kill(pid_t(first), SIGKILL);
  ::kill(pid_t(first), SIGCONT);
  ASSERT_TRUE(gone(first));
  auto after_crash = run_qinling(run);
  EXPECT_EQ(after_crash.exit_code, 0) << after_crash.output;

  // With --wait the second run waits for the first and then runs.
  const long holder = start_background(run + " --force", dir / "holder.log");
  ASSERT_TRUE(holds_lock(lock, holder)) << read_bytes(dir / "holder.log");
  ::kill(pid_t(holder), SIGSTOP);
  const long waiter = start_background(run + " --force --wait 60", dir / "waiter.log");
  bool waiting = false;
  for (int i = 0; i < 2000 && !waiting; ++i) {
    waiting = read_bytes(dir / "waiter.log").find("waiting for the output folder") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(waiting) << read_bytes(dir / "waiter.log");
  ::kill(pid_t(holder), SIGCONT);
  ASSERT_TRUE(gone(holder));
  ASSERT_TRUE(gone(waiter));
  EXPECT_NE(read_bytes(dir / "holder.log").find("done in"), std::string::npos) << read_bytes(dir / "holder.log");
  EXPECT_NE(read_bytes(dir / "waiter.log").find("done in"), std::string::npos) << read_bytes(dir / "waiter.log");
  EXPECT_NE(read_bytes(dir / "waiter.log").find("pid " + std::to_string(holder)), std::string::npos);
}

TEST(OpsCache, OnlyChangedStepsAndTheirDependentsRecompute) {
  TempDir dir;
  const std::string store = dir / "jobs.db";
  auto run = [&](const std::string& job, const std::string& extra = "") {
    auto r = run_qinling("run " + q(job) + " --store " + q(store) + " " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r;
  };
  std::string job = write_job(dir, "nir - red", "nir + red", "a * 2");
  run(job);
  json rep = report_of(dir);
  EXPECT_EQ(names(rep["computed"]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_GT(rep["windows"].get<int>(), 0);
  const auto mtime_a = fs::last_write_time(dir / "out/a.tif"), mtime_b = fs::last_write_time(dir / "out/b.tif");

  // Unchanged: no raster work at all.
  auto same = run(job);
  EXPECT_NE(same.output.find("no raster work done"), std::string::npos) << same.output;
  EXPECT_EQ(same.output.find("wrote"), std::string::npos) << same.output;

  // c's option changed: only c recomputes, reading a back from a.tif.
  job = write_job(dir, "nir - red", "nir + red", "a * 3");
  auto changed_c = run(job);
  rep = report_of(dir);
  EXPECT_EQ(names(rep["computed"]), (std::vector<std::string>{"c"})) << changed_c.output;
  EXPECT_EQ(names(rep["cached"]), (std::vector<std::string>{"a", "b"}));
  // Thread time is reported for the step computed in this run only.
  for (const auto& st : rep["steps"]) EXPECT_EQ(st.contains("cpu_seconds"), st["id"] == "c") << st.dump();
  EXPECT_EQ(fs::last_write_time(dir / "out/a.tif"), mtime_a);
  EXPECT_EQ(fs::last_write_time(dir / "out/b.tif"), mtime_b);
  int w = 0;
  const auto c = read_band(dir / "out/c.tif", 1, &w);
  for (int y = 0; y < w; y += 17)
    for (int x = 0; x < w; x += 13) {
      const double expect = 3.0 * (double(value(4, x, y)) - double(value(3, x, y)));
      ASSERT_NEAR(c[std::size_t(y) * w + x], expect, 1e-3) << x << "," << y;
    }

  // b's option changed: only b. a's: a and its dependent c, not b.
  job = write_job(dir, "nir - red", "nir * 2", "a * 3");
  run(job);
  EXPECT_EQ(names(report_of(dir)["computed"]), (std::vector<std::string>{"b"}));
  job = write_job(dir, "nir - red * 2", "nir * 2", "a * 3");
  run(job);
  rep = report_of(dir);
  EXPECT_EQ(names(rep["computed"]), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names(rep["cached"]), (std::vector<std::string>{"b"}));

  // A damaged output does not verify: its step (only) recomputes.
  write_text(dir / "out/b.tif", "damaged");
  run(job);
  EXPECT_EQ(names(report_of(dir)["computed"]), (std::vector<std::string>{"b"}));

  // The outputs assembled from several runs equal one full run's, byte for byte.
  TempDir fresh;
  fs::copy_file(dir / "scene.tif", fresh / "scene.tif");
  fs::copy_file(job, fresh / "cache.yaml");
  auto full = run_qinling("run " + q(fresh / "cache.yaml") + " --store none");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  for (const char* f : {"a.tif", "b.tif", "c.tif"})
    EXPECT_TRUE(read_bytes(dir / (std::string("out/") + f)) == read_bytes(fresh / (std::string("out/") + f))) << f;

  // The store's step states say the same (status --json).
  auto status = run_qinling("status 6 --json --store " + q(store));
  ASSERT_EQ(status.exit_code, 0) << status.output;
  const json st = json::parse(status.output);
  ASSERT_EQ(st["steps"].size(), 3u);
  EXPECT_EQ(st["steps"][0]["state"], "cached");
  EXPECT_EQ(st["steps"][1]["state"], "computed");
  EXPECT_EQ(st["outputs"].size(), 3u);
}

TEST(OpsCache, ReferencedFilesArePartOfTheKey) {
  TempDir dir;
  const std::string store = dir / "jobs.db";
  make_raster(dir / "scene.tif", 64, 64, 4, value);
  write_text(dir / "green.yaml", "kind: continuous\nrange: [0, 1]\nstops:\n  - [0, \"#000000\"]\n  - [1, \"#00ff00\"]\n");
  const std::string job = dir / "tiles.yaml";
  write_text(job, "job: tiles\ninputs:\n  scene: {path: scene.tif, bands: {red: 3, nir: 4}}\nsteps:\n"
                  "  - {id: ndvi, kind: index.ndvi, input: scene}\n"
                  "  - {id: tiles, kind: tiles.build, input: ndvi, ramp: ./green.yaml, zoom: 9-10, "
                  "matrix_sets: [WebMercatorQuad]}\n"
                  "outputs:\n  - {from: ndvi, path: out/ndvi.tif}\n  - {from: tiles, path: out/tiles.mbtiles, format: mbtiles}\n");
  const std::string run = "run " + q(job) + " --store " + q(store);
  auto first = run_qinling(run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(names(report_of(dir, "tiles")["computed"]), (std::vector<std::string>{"ndvi", "tiles"}));
  const std::string tiles_before = read_bytes(dir / "out/tiles.mbtiles");

  // The ramp file is not in the job file, yet changing it re-renders the tiles (only).
  write_text(dir / "green.yaml", "kind: continuous\nrange: [0, 1]\nstops:\n  - [0, \"#000000\"]\n  - [1, \"#ff0000\"]\n");
  auto second = run_qinling(run);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const json rep = report_of(dir, "tiles");
  EXPECT_EQ(names(rep["computed"]), (std::vector<std::string>{"tiles"})) << second.output;
  EXPECT_EQ(names(rep["cached"]), (std::vector<std::string>{"ndvi"}));
  EXPECT_FALSE(read_bytes(dir / "out/tiles.mbtiles") == tiles_before) << "the new ramp was not used";
}

TEST(OpsStac, ItemsAndCollectionValidateAgainstTheStacSchemas) {
  TempDir dir;
  const std::string job = write_job(dir, "nir - red", "nir + red", "a * 2");
  auto r = run_qinling("run " + q(job) + " --store " + q(dir / "jobs.db"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string schemas = std::string(QINLING_SOURCE_DIR) + "/tests/stac/schemas";
  const std::string validator = "/usr/bin/python3 " + std::string(QINLING_SOURCE_DIR) + "/tests/stac/validate_stac.py " + schemas;
  const std::string files = q(dir / "out/a.stac.json") + " " + q(dir / "out/b.stac.json") + " " +
                            q(dir / "out/c.stac.json") + " " + q(dir / "cache.collection.json");
  auto valid = run_command(validator + " " + files);
  EXPECT_EQ(valid.exit_code, 0) << valid.output;

  // The collection lists the three items; each item links back to it.
  const json coll = json::parse(read_bytes(dir / "cache.collection.json"));
  int items = 0;
  for (const auto& l : coll["links"]) items += l["rel"] == "item";
  EXPECT_EQ(items, 3);
  const json item = json::parse(read_bytes(dir / "out/c.stac.json"));
  EXPECT_EQ(item["collection"], "cache");
  const auto& bbox = coll["extent"]["spatial"]["bbox"][0];
  EXPECT_LE(bbox[0].get<double>(), item["bbox"][0].get<double>());
  EXPECT_GE(bbox[2].get<double>(), item["bbox"][2].get<double>());

  // The validator does fail: an item without bbox and a collection with a bad datetime.
  json broken = item;
  broken.erase("bbox");
  write_text(dir / "broken.json", broken.dump());
  json bad_coll = coll;
  bad_coll["extent"]["temporal"]["interval"][0][0] = "29/11/2026";
  write_text(dir / "bad_coll.json", bad_coll.dump());
  auto invalid = run_command(validator + " " + q(dir / "broken.json") + " " + q(dir / "bad_coll.json"));
  EXPECT_EQ(invalid.exit_code, 1) << invalid.output;
  EXPECT_NE(invalid.output.find("broken.json"), std::string::npos) << invalid.output;
  EXPECT_NE(invalid.output.find("bad_coll.json: extent/temporal/interval/0/0"), std::string::npos) << invalid.output;
}

TEST(OpsReport, HtmlAndJsonWithThumbnailsAndTheReportCommand) {
  TempDir dir;
  const std::string store = dir / "jobs.db";
  const std::string job = write_job(dir, "nir * red / 1000", "nir + red", "a * 2", 300);
  auto r = run_qinling("run " + q(job) + " --store " + q(store));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json rep = report_of(dir);
  EXPECT_EQ(rep["run"], 1);
  EXPECT_EQ(rep["state"], "succeeded");
  ASSERT_EQ(rep["outputs"].size(), 3u);
  EXPECT_FALSE(rep["phases"].empty());
  for (const auto& st : rep["steps"]) ASSERT_TRUE(st.contains("cpu_seconds")) << st.dump();
  EXPECT_GE(rep["pass_read_cpu_seconds"].get<double>(), 0.0);
  for (const auto& o : rep["outputs"]) {
    ASSERT_TRUE(o.contains("thumbnail")) << o.dump();
    const std::string png = dir / o["thumbnail"].get<std::string>();
    // Against GDAL's Python bindings given the exact range from numpy: same size, same pixels (±1).
    const std::string tif = o["path"];
    auto cmp = run_command(
        "/usr/bin/python3 -c \"from osgeo import gdal; import numpy as np\n"
        "src = gdal.Open('" + tif + "'); a = src.GetRasterBand(1).ReadAsArray()\n"
        "lo, hi = float(np.nanmin(a)), float(np.nanmax(a)); hi = hi if hi > lo else lo + 1\n"
        "ref = gdal.Translate('/vsimem/r.png', src, format='PNG', width=256, height=0, outputType=gdal.GDT_Byte, "
        "scaleParams=[[lo, hi, 1, 255]], resampleAlg='average', noData=0).ReadAsArray().astype(int)\n"
        "ours = gdal.Open('" + png + "'); b = ours.ReadAsArray().astype(int)\n"
        "print(ours.GetDriver().ShortName, ours.RasterXSize, ours.RasterYSize, int(np.abs(b - ref).max()) <= 1)\"");
    EXPECT_EQ(cmp.output, "PNG 256 256 True\n") << png;
  }
  const std::string html = read_bytes(dir / "cache.report.html");
  EXPECT_NE(html.find("<img src=\"cache.report/a.png\""), std::string::npos);
  EXPECT_NE(html.find("cache.collection.json"), std::string::npos);

  auto cmd = run_qinling("report 1 --store " + q(store));
  EXPECT_EQ(cmd.exit_code, 0) << cmd.output;
  EXPECT_NE(cmd.output.find(dir / "cache.report.html"), std::string::npos) << cmd.output;
  auto missing = run_qinling("report 9 --store " + q(store));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
}

TEST(OpsReport, PixelStepTimesFollowTheirCost) {
  TempDir dir;
  // b evaluates ~40 transcendental functions per pixel, a one subtraction: b must cost more.
  std::string heavy = "nir";
  for (int i = 0; i < 20; ++i) heavy = "sin(" + heavy + ") + cos(red * " + std::to_string(i + 1) + ")";
  const std::string job = write_job(dir, "nir - red", heavy, "a * 2", 768);
  auto r = run_qinling("run " + q(job) + " --store none --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json rep = report_of(dir);
  std::map<std::string, double> cpu;
  for (const auto& st : rep["steps"]) cpu[st["id"]] = st.at("cpu_seconds").get<double>();
  EXPECT_GT(cpu.at("b"), 5 * cpu.at("a")) << rep.dump(2);
  EXPECT_GT(cpu.at("b"), 5 * cpu.at("c")) << rep.dump(2);
  const std::string html = read_bytes(dir / "cache.report.html");
  EXPECT_NE(html.find("thread time in the pixel pass"), std::string::npos);
  EXPECT_NE(html.find("reading, masking and mosaicking inputs"), std::string::npos);
}
