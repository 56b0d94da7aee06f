#include "pipeline/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/errors.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path staging_path(const std::string& dir, const std::string& id) { return fs::path(dir) / (id + ".f32"); }

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;
}

// Appends whole lines to `fd` and syncs it; a kill between lines leaves complete lines only
// (a torn last line is ignored when reading).
void append_lines(int fd, const std::string& text, const std::string& dir) {
  const char* p = text.data();
  std::size_t n = text.size();
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw ProcessingError(dir + ": cannot write the checkpoint journal: " + std::strerror(errno));
    p += w;
    n -= std::size_t(w);
  }
  if (::fdatasync(fd) != 0)
    throw ProcessingError(dir + ": cannot write the checkpoint journal: " + std::strerror(errno));
}

}  // namespace

std::string checkpoint_dir(const std::string& out_dir, const std::string& key) {
  return (fs::path(out_dir) / ".qinling-checkpoint" / key.substr(0, 16)).string();
}

void Checkpoint::prepare(const std::string& out_dir, const std::string& key, const std::string& job_name,
                         const raster::Grid& grid, const std::vector<Target>& targets) {
  const fs::path dir = checkpoint_dir(out_dir, key);
  const std::string identity = key + "\n" + job_name + "\n";
  std::error_code ec;
  // A checkpoint of this job under another key is stale (the job, an input or the program changed).
  for (const auto& e : fs::directory_iterator(dir.parent_path(), ec)) {
    if (e.path() == dir) continue;
    const std::string other = read_text(e.path() / "key");
    if (other.substr(other.find('\n') + 1) == job_name + "\n") fs::remove_all(e.path(), ec);
  }
  bool reuse = fs::exists(dir / "key") && read_text(dir / "key") == identity;
  const auto bytes = std::uintmax_t(grid.width) * std::uintmax_t(grid.height) * sizeof(float);
  for (const auto& t : targets)
    if (reuse && fs::file_size(staging_path(dir.string(), t.id), ec) != bytes) reuse = false;
  if (reuse) return;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) throw ProcessingError(dir.string() + ": cannot create the checkpoint folder: " + ec.message());
  for (const auto& t : targets)
    raster::StagingRaster(staging_path(dir.string(), t.id).string(), grid, false, t.label);
  // The key is written last: a folder without it is never resumed.
  std::ofstream(dir / "key.tmp", std::ios::binary) << identity;
  fs::rename(dir / "key.tmp", dir / "key", ec);
  if (ec) throw ProcessingError(dir.string() + ": cannot write the checkpoint key: " + ec.message());
}

Checkpoint::Checkpoint(const std::string& out_dir, const std::string& key, const raster::Grid& grid,
                       const std::vector<Target>& targets, int rank)
    : dir_(checkpoint_dir(out_dir, key)), rank_(rank), last_sync_(std::chrono::steady_clock::now()) {
  for (const auto& t : targets) staging_.emplace_back(staging_path(dir_, t.id).string(), grid, true, t.label);
  const std::string journal = (fs::path(dir_) / ("journal." + std::to_string(rank))).string();
  journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (journal_fd_ < 0)
    throw ProcessingError(journal + ": cannot open the checkpoint journal: " + std::strerror(errno));
  interval_ = std::chrono::milliseconds(env_long("QINLING_CHECKPOINT_SYNC_MS", 2000));
}

Checkpoint::~Checkpoint() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

std::set<WindowKey> Checkpoint::completed() const {
  std::set<WindowKey> done;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().filename().string().rfind("journal.", 0) != 0) continue;
    const std::string text = read_text(e.path());
    std::size_t start = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos;
         start = nl + 1, nl = text.find('\n', start)) {
      std::istringstream line(text.substr(start, nl - start));
      WindowKey k{};
      if (line >> k[0] >> k[1] >> k[2] >> k[3]) done.insert(k);
    }
  }
  return done;
}

void Checkpoint::record(const raster::Window& w) {
  pending_.push_back({w.x, w.y, w.width, w.height});
  if (std::chrono::steady_clock::now() - last_sync_ >= interval_) flush();
}

void Checkpoint::flush() {
  last_sync_ = std::chrono::steady_clock::now();
  if (pending_.empty()) return;
  for (const auto& s : staging_) s.sync();  // values first, then the journal that vouches for them
  std::string lines;
  for (const auto& k : pending_)
    lines += std::to_string(k[0]) + " " + std::to_string(k[1]) + " " + std::to_string(k[2]) + " " +
             std::to_string(k[3]) + "\n";
  append_lines(journal_fd_, lines, dir_);
  journaled_ += pending_.size();
  pending_.clear();
  // Test hook: a deterministic "kill -9 part-way" (tests/mpi, tests/integration).
  static const long kill_after = env_long("QINLING_TEST_KILL_AFTER_WINDOWS", 0);
  static const long kill_rank = env_long("QINLING_TEST_KILL_RANK", 0);
  if (kill_after > 0 && rank_ == kill_rank && journaled_ >= std::size_t(kill_after)) std::raise(SIGKILL);
}

void Checkpoint::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::remove(fs::path(dir_).parent_path(), ec);  // only when empty
}

}  // namespace qinling::pipeline
