// Faults around a run (issue 10, docs/RELIABILITY.md): a read-only output folder, a missing
// temporary folder, an input removed while the run reads it, and SIGKILL at random points,
// repeated. Whatever happens, no half-written file ever appears under a final name, and a rerun
// gives the same bytes as an uninterrupted run. QINLING_KILL_ROUNDS sets the kill loop (default
// 8; issue 10 asks for 20).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "pipeline/job_store.hpp"
#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

// Three outputs of different kinds from one streamed pass over the whole sample scene.
std::string three_outputs_job() {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  return "job: faults\ninputs:\n  scene: {path: " + scene +
         ", bands: {green: 3, red: 4, nir: 5}}\n"
         "  dem: {path: " +
         sample_scene_dir() +
         "/dem.tif}\nsteps:\n"
         "  - {id: ndvi, kind: index.ndvi, input: scene}\n  - {id: ndwi, kind: index.ndwi, input: scene}\n"
         "  - {id: slope, kind: terrain.slope, input: dem}\n"
         "outputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n"
         "  - {from: ndwi, path: ndwi.tif, format: gtiff, options: {COMPRESS: DEFLATE}}\n"
         "  - {from: slope, path: slope.tif, format: cog}\n";
}
const std::vector<std::string> kOutputs = {"ndvi.tif", "ndwi.tif", "slope.tif"};

unsigned small_scene_value(int band, int x, int y) { return 1000u + unsigned(band * 500 + x * 11 + y * 3); }

// A quick job for the job-store faults: NDVI of a 64×64 scene written beside the job file.
std::string small_job(const TempDir& dir) {
  if (!fs::exists(dir / "scene.tif")) make_raster(dir / "scene.tif", 64, 64, 4, small_scene_value);
  return "job: small\ninputs:\n  scene: {path: scene.tif, bands: {red: 3, nir: 4}}\nsteps:\n"
         "  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n"
         "  - {from: ndvi, path: out/ndvi.tif, format: gtiff}\n";
}

std::vector<qinling::pipeline::RunRow> store_runs(const std::string& store) {
  qinling::pipeline::JobStore s(store);
  return s.runs(std::nullopt);
}

bool is_temporary(const std::string& name) {
  return name.find(".partial") != std::string::npos || name.find(".staging") != std::string::npos ||
         name.find(".qinling-work") != std::string::npos;
}

// Starts `qinling ARGS...` (output to `log`) and returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(QINLING_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(QINLING_BIN, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A bind mount of `dir` onto itself made read-only; undone at the end. Needs root.
class ReadOnlyMount {
 public:
  explicit ReadOnlyMount(const std::string& dir) : dir_(dir) {
    if (::getuid() != 0 || ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) return;
    bound_ = true;
    ok_ = ::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0;
  }
  ~ReadOnlyMount() {
    if (bound_) ::umount(dir_.c_str());
  }
  bool ok() const { return ok_; }

 private:
  std::string dir_;
  bool bound_ = false, ok_ = false;
};

}  // namespace

TEST(Faults, ReadOnlyOutputFolder) {
  TempDir dir;
  write_text(dir / "job.yaml", three_outputs_job());
  fs::create_directories(dir / "ro");
  auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "ro") + " --store none --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string earlier = read_bytes(dir / "ro/ndvi.tif");
  ReadOnlyMount ro(dir / "ro");
  if (!ro.ok()) GTEST_SKIP() << "cannot make a read-only mount here (needs root)";
  // --force: the output folder is the same, so the run would otherwise be recognised as done.
  r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "ro") + " --store " + (dir / "jobs.db") +
                  " --force");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(dir / "ro"), std::string::npos) << "the message should name the folder:\n"
                                                          << r.output;
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  EXPECT_TRUE(read_bytes(dir / "ro/ndvi.tif") == earlier);
  // The job store records the run as failed, with the exit code and why (read with sqlite3).
  const auto runs =
      run_command("sqlite3 -separator '|' " + (dir / "jobs.db") + " 'SELECT state, exit_code, message FROM runs'");
  ASSERT_EQ(runs.exit_code, 0) << runs.output;
  EXPECT_EQ(runs.output.rfind("failed|" + std::to_string(r.exit_code) + "|", 0), 0u) << runs.output;
  EXPECT_NE(runs.output.find("Read-only file system"), std::string::npos) << runs.output;
  EXPECT_EQ(std::count(runs.output.begin(), runs.output.end(), '\n'), 1) << "one run only:\n" << runs.output;
}

TEST(Faults, MissingTemporaryFolder) {
  TempDir dir;
  write_text(dir / "job.yaml", three_outputs_job());
  auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "a") + " --store none --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // TMPDIR is not used: temporary files live beside their outputs; same bytes.
  r = run_command("TMPDIR=" + (dir / "no/such/tmp") + " " + QINLING_BIN + " run " + (dir / "job.yaml") +
                  " --out " + (dir / "b") + " --store none --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& o : kOutputs)
    EXPECT_TRUE(read_bytes(dir / ("a/" + o)) == read_bytes(dir / ("b/" + o))) << o;
  // GDAL's own CPL_TMPDIR (the COG driver's overview scratch file) missing: refused before any
  // work (exit 2) with the variable and the folder named; nothing written.
  r = run_command("CPL_TMPDIR=" + (dir / "no/such/tmp") + " " + QINLING_BIN + " run " + (dir / "job.yaml") +
                  " --out " + (dir / "c") + " --store none");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("CPL_TMPDIR=" + (dir / "no/such/tmp") + ": no such folder"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir / "c"));
}

TEST(Faults, WorkerRefusesAMissingTemporaryFolderBeforeClaimingARun) {
  TempDir dir;
  write_text(dir / "job.yaml", small_job(dir));
  const std::string store = " --store " + (dir / "jobs.db");
  auto r = run_qinling("submit " + (dir / "job.yaml") + store);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The worker keeps each run's output under TMPDIR: a missing one is refused (exit 2, named).
  r = run_command("TMPDIR=" + (dir / "no/such/tmp") + " " + QINLING_BIN + " worker --once --poll 0.1" + store);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("TMPDIR=" + (dir / "no/such/tmp") + ": no such folder"), std::string::npos) << r.output;
  // Before any claim: the run is still queued (not leased), and a worker with a usable TMPDIR runs it.
  auto runs = store_runs(dir / "jobs.db");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state, "queued");
  EXPECT_EQ(runs[0].lease_owner, "");
  r = run_command("TMPDIR=" + dir.path().string() + " " + QINLING_BIN + " worker --once --poll 0.1" + store);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  runs = store_runs(dir / "jobs.db");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state, "succeeded") << runs[0].message;
  EXPECT_TRUE(fs::exists(dir / "out/ndvi.tif"));
}

TEST(Faults, RunsFailingWhilePlanningAreRecordedAsFailed) {
  TempDir dir;
  const std::string db = dir / "jobs.db";
  // By hand, a file that is not YAML: a failed run of a job named after the file, with the message.
  write_text(dir / "broken.yaml", "job: [unclosed\nsteps: {\n");
  auto r = run_qinling("run " + (dir / "broken.yaml") + " --store " + db);
  ASSERT_EQ(r.exit_code, 2) << r.output;
  auto runs = store_runs(db);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].job_name, "broken");
  EXPECT_EQ(runs[0].state, "failed");
  EXPECT_EQ(runs[0].exit_code, 2);
  EXPECT_NE(runs[0].message.find("broken.yaml:"), std::string::npos) << runs[0].message;
  // Through a worker: a submitted job whose input is gone when the run starts. The run records its
  // own error (the whole message), not only the worker's "the run process exited with code 2".
  const std::string job = small_job(dir);
  write_text(dir / "job.yaml", job);
  r = run_qinling("submit " + (dir / "job.yaml") + " --store " + db);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::rename(dir / "scene.tif", dir / "moved.tif");
  r = run_command("TMPDIR=" + dir.path().string() + " " + QINLING_BIN + " worker --once --poll 0.1 --store " + db);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  runs = store_runs(db);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].job_name, "small");
  EXPECT_EQ(runs[0].state, "failed");
  EXPECT_EQ(runs[0].exit_code, 2);
  EXPECT_NE(runs[0].message.find(dir / "scene.tif"), std::string::npos) << runs[0].message;
  EXPECT_EQ(runs[0].message.rfind("the run process", 0), std::string::npos) << runs[0].message;
  // A broken edit of the stored job run by hand: a failed run of that job; the store keeps the
  // submitted file (a schedule still runs what was submitted).
  write_text(dir / "job.yaml", "job: small\ninputs: 3\n");
  r = run_qinling("run " + (dir / "job.yaml") + " --store " + db);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  runs = store_runs(db);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].job_name, "small");
  EXPECT_EQ(runs[0].state, "failed");
  EXPECT_EQ(runs[0].job_id, runs[1].job_id);
  qinling::pipeline::JobStore s(db);
  EXPECT_EQ(s.job("small")->content, job);
  // --store none records nothing.
  EXPECT_EQ(run_qinling("run " + (dir / "broken.yaml") + " --store none").exit_code, 2);
  EXPECT_EQ(store_runs(db).size(), 3u);
}

TEST(Faults, InputRemovedMidRun) {
  TempDir dir;
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  const auto job = [&](const std::string& path) {
    return "job: removed\nmemory_mb: 16\ninputs:\n  scene: {path: " + path +
           ", bands: {red: 4, nir: 5}}\nsteps:\n"
           "  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n  - {from: ndvi, path: ndvi.tif, "
           "format: cog}\n";
  };
  write_text(dir / "ref.yaml", job(scene));
  auto r = run_qinling("run " + (dir / "ref.yaml") + " --out " + (dir / "ref") +
                       " --store none --quiet --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::copy_file(scene, dir / "in.tif");
  write_text(dir / "job.yaml", job(dir / "in.tif"));
  fs::create_directories(dir / "out");
  const pid_t pid = spawn(
      {"run", dir / "job.yaml", "--out", dir / "out", "--store", "none", "--threads", "2"}, dir / "run.log");
  // Remove the input as soon as the run writes (its temporary output exists), else after 0.3 s.
  for (int i = 0; i < 300; ++i) {
    bool writing = false;
    for (const auto& e : fs::directory_iterator(dir / "out"))
      writing |= is_temporary(e.path().filename().string());
    if (writing) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fs::remove(dir / "in.tif");
  const int rc = wait_exit(pid);
  const std::string log = read_bytes(dir / "run.log");
  // Reads go through open handles, so the run may finish with the right bytes; if it cannot, it
  // must say which file and leave nothing behind.
  if (rc == 0) {
    EXPECT_TRUE(read_bytes(dir / "out/ndvi.tif") == read_bytes(dir / "ref/ndvi.tif"));
  } else {
    EXPECT_TRUE(rc == 1 || rc == 2) << rc << "\n" << log;
    EXPECT_NE(log.find("in.tif"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(dir / "out/ndvi.tif"));
  }
  for (const auto& e : fs::directory_iterator(dir / "out"))
    EXPECT_FALSE(is_temporary(e.path().filename().string())) << "left " << e.path() << " (exit " << rc << ")";
}

TEST(Faults, RepeatedSigkillThenRerunGivesTheSameBytes) {
  TempDir dir;
  write_text(dir / "job.yaml", three_outputs_job());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "ref") + " --store none --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double run_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, std::string> reference;
  for (const auto& o : kOutputs) reference[o] = read_bytes(dir / ("ref/" + o));

  const char* env = std::getenv("QINLING_KILL_ROUNDS");
  const int rounds = env ? std::max(1, std::atoi(env)) : 8;
  std::mt19937 rng(10);  // fixed: the same kill points on every run of the test
  std::uniform_real_distribution<double> when(0.0, run_ms * 1.1);
  fs::create_directories(dir / "out");
  int killed = 0, leftovers = 0;
  for (int i = 0; i < rounds; ++i) {
    const pid_t pid =
        spawn({"run", dir / "job.yaml", "--out", dir / "out", "--store", dir / "jobs.db", "--quiet"},
              dir / "run.log");
    std::this_thread::sleep_for(std::chrono::microseconds(long(when(rng) * 1000)));
    killed += ::kill(pid, SIGKILL) == 0;
    const int rc = wait_exit(pid);
    ASSERT_TRUE(rc == 0 || rc == 128 + SIGKILL) << "round " << i << ": exit " << rc << "\n"
                                                << read_bytes(dir / "run.log");
    // Under a final name there is only ever a complete output, i.e. the reference bytes.
    for (const auto& o : kOutputs) {
      if (fs::exists(dir / ("out/" + o))) {
        ASSERT_TRUE(read_bytes(dir / ("out/" + o)) == reference[o])
            << o << " is half-written after round " << i;
      }
    }
  }
  for (const auto& e : fs::directory_iterator(dir / "out"))
    leftovers += is_temporary(e.path().filename().string());
  r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --store " + (dir / "jobs.db") +
                  " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& o : kOutputs)
    EXPECT_TRUE(read_bytes(dir / ("out/" + o)) == reference[o]) << o << " differs after the rerun";
  // The completed rerun swept what the killed runs left behind (their pids are gone).
  for (const auto& e : fs::directory_iterator(dir / "out"))
    EXPECT_FALSE(is_temporary(e.path().filename().string())) << "still there after the rerun: " << e.path();
  std::printf(
      "kill loop: %d rounds, %d killed in flight, run %.0f ms, %d temporary file(s) left by killed runs\n",
      rounds, killed, run_ms, leftovers);
}

TEST(Faults, ARunSweepsTemporariesOfDeadRunsAndKeepsEverythingElse) {
  TempDir dir;
  write_text(dir / "job.yaml", three_outputs_job());
  // A pid that surely belongs to no process: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_EQ(wait_exit(child), 0);
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  fs::create_directories(dir / "out/sub");
  fs::create_directories(dir / ("out/.qinling-work-" + dead));
  fs::create_directories(dir / ("out/.xyz.partial-" + dead + "/3/4"));
  const std::vector<std::string> stale = {".ndvi.partial-" + dead + ".tif", ".ndvi.staging-" + dead + ".tif",
                                          "t.mbtiles.partial-" + dead, "sub/.f.partial-" + dead + ".gpkg",
                                          "t.pmtiles.tiles-" + dead};
  const std::vector<std::string> kept = {".ndvi.partial-" + alive + ".tif", "keep.tif", "notes.tiles-" + dead,
                                         "sub/keep.partial.txt"};
  for (const auto& f : stale) write_text(dir / ("out/" + f), "x");
  for (const auto& f : kept) write_text(dir / ("out/" + f), "x");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --store none");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& f : stale) EXPECT_FALSE(fs::exists(dir / ("out/" + f))) << f << " was not swept";
  EXPECT_FALSE(fs::exists(dir / ("out/.qinling-work-" + dead)));
  EXPECT_FALSE(fs::exists(dir / ("out/.xyz.partial-" + dead)));
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(dir / ("out/" + f))) << f << " must be kept";
  EXPECT_NE(r.output.find("a temporary left by an interrupted run"), std::string::npos) << r.output;
}
