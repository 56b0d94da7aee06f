// A run killed with SIGKILL in the middle of its raster pass restarts from the windows it had
// finished (checkpoint journal) and writes the bytes of an uninterrupted run (issue 8).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "support/test_support.hpp"

extern char** environ;
namespace fs = std::filesystem;
using namespace qinling::test;

namespace {

std::string job_text(const std::string& expression) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  return "job: resume\ngrid: {crs: EPSG:4547, resolution: 10}\ninputs:\n"
         "  scene: {path: " +
         scene +
         ", bands: {red: 4, nir: 5}}\n"
         "steps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\n"
         "  - {id: calc, kind: raster.calc, input: scene, expression: \"" +
         expression +
         "\"}\n"
         "outputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n"
         "  - {from: calc, path: calc.tif, format: gtiff}\n";
}

// Lines in every journal of the output folder's checkpoints.
int journaled(const fs::path& out) {
  int lines = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(out / ".qinling-checkpoint", ec))
    if (e.path().filename().string().rfind("journal.", 0) == 0) {
      std::ifstream in(e.path());
      for (std::string l; std::getline(in, l);) ++lines;
    }
  return lines;
}

TEST(CheckpointResume, SigkillPartWayThenRerunKeepsFinishedWindowsAndWritesTheSameBytes) {
  TempDir dir;
  write_text(dir / "job.yaml", job_text("nir * 2 - red"));
  const std::string common = " --memory-mb 16 --threads 1 --quiet";
  auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "ref") + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // A slowed-down run (test hook: 150 ms per window, every window journaled at once) killed
  // once three windows are journaled.
  const fs::path out = dir.path() / "out";
  const std::string cmd = "QINLING_TEST_WINDOW_DELAY_MS=150 QINLING_CHECKPOINT_SYNC_MS=0 exec " +
                          std::string(QINLING_BIN) + " run " + (dir / "job.yaml") + " --out " + out.string() +
                          common + " > " + (dir / "killed.log") + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (journaled(out) < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed: "
                                   << read_bytes(dir / "killed.log");
  const int done_before = journaled(out);
  ASSERT_GE(done_before, 3);
  EXPECT_FALSE(fs::exists(out / "ndvi.tif"));
  EXPECT_FALSE(fs::exists(out / "calc.tif"));

  r = run_qinling("run " + (dir / "job.yaml") + " --out " + out.string() + " --memory-mb 16 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.output, m, std::regex("checkpoint: (\\d+) of (\\d+) windows already done, (\\d+) to compute")))
      << r.output;
  // Every journaled window was kept; only the rest was computed.
  EXPECT_EQ(std::stoi(m[1]), done_before);
  EXPECT_EQ(std::stoi(m[1]) + std::stoi(m[3]), std::stoi(m[2]));
  EXPECT_LT(std::stoi(m[1]), std::stoi(m[2]));
  for (const char* f : {"ndvi.tif", "calc.tif"})
    EXPECT_TRUE(read_bytes((out / f).string()) == read_bytes(dir / (std::string("ref/") + f))) << f;
  EXPECT_FALSE(fs::exists(out / ".qinling-checkpoint")) << "checkpoint left after success";
}

TEST(CheckpointResume, ACheckpointOfAnEditedJobIsNotReused) {
  TempDir dir;
  write_text(dir / "job.yaml", job_text("nir * 2 - red"));
  const fs::path out = dir.path() / "out";
  // Killed by the test hook right after its second window is journaled.
  auto r = run_command("QINLING_CHECKPOINT_SYNC_MS=0 QINLING_TEST_KILL_AFTER_WINDOWS=2 " +
                       std::string(QINLING_BIN) + " run " + (dir / "job.yaml") + " --out " + out.string() +
                       " --memory-mb 16 --threads 1 --quiet");
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_EQ(journaled(out), 2);
  write_text(dir / "job.yaml", job_text("nir * 3 - red"));
  r = run_qinling("run " + (dir / "job.yaml") + " --out " + out.string() + " --memory-mb 16 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("resuming"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out / ".qinling-checkpoint")) << "the stale checkpoint was not removed";
  r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "ref") +
                  " --memory-mb 16 --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(read_bytes((out / "calc.tif").string()) == read_bytes(dir / "ref/calc.tif"));
}

}  // namespace
