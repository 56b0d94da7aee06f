// Operations end to end through the CLI: the job store records runs, two workers share ten due
// runs (each executed exactly once), unchanged runs are skipped, STAC items, cron errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "pipeline/job_store.hpp"
#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

unsigned scene_value(int band, int x, int y) { return 1000u + unsigned(band * 700 + x * 13 + y * 7); }

// A 64×64 four-band scene and a job `name` writing out_<name>/ndvi.tif next to it.
std::string make_job(const TempDir& dir, const std::string& name) {
  if (!fs::exists(dir / "scene.tif")) make_raster(dir / "scene.tif", 64, 64, 4, scene_value);
  const std::string job = dir / (name + ".yaml");
  write_text(job, "job: " + name +
                      "\ninputs:\n  scene: {path: scene.tif, bands: {red: 3, nir: 4}}\n"
                      "steps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\n"
                      "outputs:\n  - {from: ndvi, path: out_" +
                      name + "/ndvi.tif, format: cog}\n");
  return job;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(Ops, TwoWorkersExecuteTenDueRunsExactlyOnce) {
  TempDir dir;
  const std::string store = dir / "jobs.db";
  for (int i = 0; i < 10; ++i) {
    const auto r = run_qinling("submit " + q(make_job(dir, "job" + std::to_string(i))) + " --store " +
                               q(store) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string worker =
      std::string(QINLING_BIN) + " worker --once --poll 0.1 --json --store " + q(store);
  const auto r = run_command("( " + worker + " > " + q(dir / "w1.txt") + " 2>&1 & " + worker + " > " +
                             q(dir / "w2.txt") + " 2>&1 & wait )");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // What the two workers say they ran: every run once, across both.
  std::multiset<std::int64_t> reported;
  std::set<std::string> owners;
  for (const char* f : {"w1.txt", "w2.txt"}) {
    std::istringstream in(read_bytes(dir / f));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      const auto j = json::parse(line);
      reported.insert(j["run"].get<std::int64_t>());
      owners.insert(j["worker"].get<std::string>());
      EXPECT_EQ(j["state"], "succeeded") << line;
    }
  }
  EXPECT_EQ(reported.size(), 10u);
  EXPECT_EQ(std::set<std::int64_t>(reported.begin(), reported.end()).size(), 10u)
      << "a run was executed twice";
  // What the store says: each run started once, by one process, and wrote its output.
  qinling::pipeline::JobStore s(store);
  const auto runs = s.runs(std::nullopt);
  ASSERT_EQ(runs.size(), 10u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.state, "succeeded") << run.id << ": " << run.message;
    EXPECT_EQ(run.attempts, 1) << run.id;
    int started = 0;
    for (const auto& l : s.logs(run.id)) started += l.text.find(" started (pid ") != std::string::npos;
    EXPECT_EQ(started, 1) << "run " << run.id;
    EXPECT_EQ(s.outputs(run.id).size(), 1u);
    EXPECT_TRUE(fs::exists(dir / ("out_" + run.job_name + "/ndvi.tif")));
  }
}

TEST(Ops, UnchangedRunIsSkippedAndForceRecomputes) {
  TempDir dir;
  const std::string store = dir / "jobs.db", job = make_job(dir, "inc");
  const std::string run = "run " + q(job) + " --store " + q(store);
  const std::string out = dir / "out_inc/ndvi.tif";
  auto first = run_qinling(run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("wrote"), std::string::npos);
  const auto mtime = fs::last_write_time(out);

  auto second = run_qinling(run);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("unchanged since run 1"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("wrote"), std::string::npos) << "raster work was done:\n" << second.output;
  EXPECT_EQ(fs::last_write_time(out), mtime);  // the output was not rewritten

  auto forced = run_qinling(run + " --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(forced.output.find("wrote"), std::string::npos);

  // A changed output (damaged by hand) does not verify: recomputed.
  write_text(out, "not a tiff");
  auto repaired = run_qinling(run);
  ASSERT_EQ(repaired.exit_code, 0) << repaired.output;
  EXPECT_NE(repaired.output.find("wrote"), std::string::npos);
  // A touched input changes the fingerprint: recomputed.
  fs::last_write_time(dir / "scene.tif", fs::last_write_time(dir / "scene.tif") + std::chrono::seconds(5));
  auto touched = run_qinling(run);
  EXPECT_NE(touched.output.find("wrote"), std::string::npos) << touched.output;

  // The store counts: runs 1, 3, 4, 5 did raster work (they have a fingerprinted output each),
  // run 2 was the skip.
  qinling::pipeline::JobStore s(store);
  const auto runs = s.runs(std::nullopt);
  ASSERT_EQ(runs.size(), 5u);
  int skipped = 0;
  for (const auto& r : runs) skipped += r.message.rfind("unchanged since run", 0) == 0;
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(s.run(2)->message.substr(0, 21), "unchanged since run 1");
  EXPECT_EQ(s.outputs(2).at(0).sha256, s.outputs(1).at(0).sha256);
}

TEST(Ops, StacItemDescribesTheOutput) {
  TempDir dir;
  const std::string job = make_job(dir, "stac");
  auto r = run_qinling("run " + q(job) + " --store none");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string tif = dir / "out_stac/ndvi.tif";
  const json item = json::parse(read_bytes(dir / "out_stac/ndvi.stac.json"));
  EXPECT_EQ(item["type"], "Feature");
  EXPECT_EQ(item["stac_version"], "1.0.0");
  EXPECT_EQ(item["properties"]["proj:epsg"], 4547);
  EXPECT_EQ(item["properties"]["processing:software"]["qinling"], "0.1.0");
  EXPECT_TRUE(item["properties"]["datetime"].get<std::string>().size() == 20 &&
              item["properties"]["datetime"].get<std::string>().back() == 'Z');
  EXPECT_EQ(item["properties"]["qinling:steps"][0]["kind"], "index.ndvi");
  EXPECT_EQ(item["properties"]["proj:shape"], json::array({64, 64}));
  const auto& asset = item["assets"]["data"];
  EXPECT_EQ(asset["href"], "./ndvi.tif");
  EXPECT_EQ(asset["type"], "image/tiff; application=geotiff; profile=cloud-optimized");
  EXPECT_EQ(asset["roles"], json::array({"data"}));
  EXPECT_EQ(asset["file:size"].get<std::int64_t>(), std::int64_t(fs::file_size(tif)));
  // The checksum against sha256sum, as a multihash (0x12 = sha2-256, 0x20 = 32 bytes).
  const auto sum = run_command("sha256sum " + q(tif));
  EXPECT_EQ(asset["file:checksum"], "1220" + sum.output.substr(0, 64));
  // Footprint against GDAL's own WGS84 extent (gdalinfo -json's wgs84Extent, corner points).
  const json info = json::parse(run_command("gdalinfo -json " + q(tif) + " 2>/dev/null").output);
  double lo_x = 1e9, lo_y = 1e9, hi_x = -1e9, hi_y = -1e9;
  for (const auto& p : info["wgs84Extent"]["coordinates"][0]) {
    lo_x = std::min(lo_x, p[0].get<double>()), hi_x = std::max(hi_x, p[0].get<double>());
    lo_y = std::min(lo_y, p[1].get<double>()), hi_y = std::max(hi_y, p[1].get<double>());
  }
  const auto& bbox = item["bbox"];
  EXPECT_NEAR(bbox[0].get<double>(), lo_x, 1e-6);
  EXPECT_NEAR(bbox[1].get<double>(), lo_y, 1e-6);
  EXPECT_NEAR(bbox[2].get<double>(), hi_x, 1e-6);
  EXPECT_NEAR(bbox[3].get<double>(), hi_y, 1e-6);
  const auto& ring = item["geometry"]["coordinates"][0];
  EXPECT_EQ(item["geometry"]["type"], "Polygon");
  EXPECT_EQ(ring.front(), ring.back());
  EXPECT_GE(ring.size(), 5u);
}

TEST(Ops, SubmitChecksCronJobAndStoreCommandsRoundTrip) {
  TempDir dir;
  const std::string store = " --store " + q(dir / "jobs.db"), job = make_job(dir, "ops");
  auto bad = run_qinling("submit " + q(job) + " --every '0 3 * * 8'" + store);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("day-of-week"), std::string::npos) << bad.output;
  write_text(dir / "broken.yaml", "job: broken\ninputs: {}\nsteps: []\noutputs: []\nbogus: 1\n");
  auto broken = run_qinling("submit " + q(dir / "broken.yaml") + store);
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
  EXPECT_FALSE(fs::exists(dir / "jobs.db")) << "nothing is stored for a rejected submission";

  auto sub = run_qinling("submit " + q(job) + " --at 2099-01-01T03:00 --every '0 3 * * 1' --json" + store);
  ASSERT_EQ(sub.exit_code, 0) << sub.output;
  const json s = json::parse(sub.output);
  EXPECT_EQ(s["run"]["due"], "2099-01-01 03:00:00");
  EXPECT_EQ(s["schedule"]["next_fire"], "2099-01-05 03:00:00");  // the first Monday after (5 Jan 2099)
  const auto run_id = std::to_string(s["run"]["id"].get<int>());
  auto worker = run_qinling("worker --once" + store);  // nothing due before 2099
  EXPECT_EQ(worker.exit_code, 0) << worker.output;
  EXPECT_EQ(json::parse(run_qinling("status " + run_id + " --json" + store).output)["state"], "queued");
  EXPECT_EQ(run_qinling("cancel " + run_id + store).exit_code, 0);
  EXPECT_EQ(json::parse(run_qinling("status " + run_id + " --json" + store).output)["state"], "cancelled");
  auto retry = run_qinling("retry " + run_id + " --json" + store);
  ASSERT_EQ(retry.exit_code, 0) << retry.output;
  const auto retry_id = std::to_string(json::parse(retry.output)["id"].get<int>());
  EXPECT_EQ(run_qinling("worker --once" + store).exit_code, 0);
  const json st = json::parse(run_qinling("status " + retry_id + " --json" + store).output);
  EXPECT_EQ(st["state"], "succeeded") << st.dump();
  EXPECT_EQ(st["outputs"].size(), 1u);
  EXPECT_NE(run_qinling("logs " + retry_id + store).output.find("retry of run " + run_id), std::string::npos);
  EXPECT_NE(run_qinling("jobs" + store).output.find("0 3 * * 1"), std::string::npos);
  EXPECT_EQ(run_qinling("status 999" + store).exit_code, 2);
}

TEST(Ops, RunOfADeadWorkerIsTakenOverWhenItsLeaseExpires) {
  TempDir dir;
  const std::string store = dir / "jobs.db";
  auto sub = run_qinling("submit " + q(make_job(dir, "orphan")) + " --store " + q(store));
  ASSERT_EQ(sub.exit_code, 0) << sub.output;
  {
    qinling::pipeline::JobStore s(store);
    const auto claimed = s.claim_run("dead-host:1", -1);  // claimed, then the worker "died": lease over
    ASSERT_TRUE(claimed);
    ASSERT_TRUE(s.renew_lease(claimed->id, "dead-host:1", 3600));
    auto idle = run_qinling("worker --once --store " + q(store));
    EXPECT_EQ(s.run(claimed->id)->state, "running") << idle.output;
    EXPECT_FALSE(fs::exists(dir / "out_orphan/ndvi.tif"));
    ASSERT_TRUE(s.renew_lease(claimed->id, "dead-host:1", -1));
  }
  auto worker = run_qinling("worker --once --store " + q(store));
  EXPECT_EQ(worker.exit_code, 0) << worker.output;
  qinling::pipeline::JobStore s(store);
  const auto r = s.run(1);
  EXPECT_EQ(r->state, "succeeded") << worker.output;
  EXPECT_EQ(r->attempts, 2);
  EXPECT_NE(r->lease_owner, "dead-host:1");
  EXPECT_TRUE(fs::exists(dir / "out_orphan/ndvi.tif"));
}

TEST(Ops, UnusableStoreDoesNotFailARun) {
  TempDir dir;
  const std::string job = make_job(dir, "nostore");
  auto r = run_qinling("run " + q(job) + " --store /proc/qinling-no-such/jobs.db");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("not recorded"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out_nostore/ndvi.tif"));
}

}  // namespace
