#include "pipeline/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <csignal>
#include <optional>
#include <thread>

#include "models/errors.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {

std::string read_holder(int fd) {
  char buf[512] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? std::size_t(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "another qinling process (it has not said which yet)" : s;
}

// The temporary names our writers use, with the writer's pid (see raster/writer.cpp, tile_writers,
// mbtiles, pmtiles, stac_item, run_report, aerial_footprints and the runner's work folder).
std::optional<long> temporary_owner(const std::string& name) {
  static const std::regex hidden(R"(^\..*\.(partial|staging)-([0-9]+)(\..*)?$|^\.qinling-work-([0-9]+)$)");
  static const std::regex visible(R"(^.+\.(partial|tiles)-([0-9]+)(\..*)?$)");
  std::smatch m;
  if (std::regex_match(name, m, hidden)) return std::stol(m[2].matched ? m[2].str() : m[4].str());
  if (std::regex_match(name, m, visible) && (m[1] == "partial" || name.find(".pmtiles.tiles-") != std::string::npos))
    return std::stol(m[2].str());
  return std::nullopt;
}

bool process_gone(long pid) { return pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH; }

void sweep_folder(const fs::path& dir, int depth, std::vector<std::string>& removed) {
  std::error_code ec;
  std::vector<fs::path> subdirs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    if (name == ".qinling-checkpoint") continue;
    if (const auto pid = temporary_owner(name); pid && process_gone(*pid)) {
      std::error_code rm;
      fs::remove_all(p, rm);
      if (!rm) removed.push_back(p.string());
    } else if (depth > 0 && it->is_directory(ec) && !it->is_symlink(ec)) {
      subdirs.push_back(p);
    }
  }
  for (const auto& d : subdirs) sweep_folder(d, depth - 1, removed);
}

}  // namespace

std::vector<std::string> OutputLock::sweep_stale_temporaries() const {
  std::vector<std::string> removed;
  sweep_folder(fs::path(path_).parent_path(), 1, removed);
  return removed;
}

OutputLock::OutputLock(const std::string& folder, double wait_seconds)
    : path_((fs::path(folder) / ".qinling.lock").string()) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  // O_CLOEXEC: a worker's child processes must not inherit (and so keep) the lock.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw ProcessingError("cannot create the lock file " + path_ + ": " + std::strerror(errno) +
                          " (is the output folder writable?)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  bool said = false;
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      describe_holder(0, "");
      return;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw ProcessingError("cannot lock " + path_ + ": " + why);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string holder = read_holder(fd_);
      ::close(fd_);
      throw ProcessingError("the output folder " + folder + " is in use by " + holder +
                            (wait_seconds > 0 ? "; still busy after waiting " + std::to_string(int(wait_seconds)) + " s"
                                              : "") +
                            ". Wait for it (--wait SECONDS), or write elsewhere with --out");
    }
    if (!said) {
      std::fprintf(stderr, "qinling: waiting for the output folder %s, in use by %s\n", folder.c_str(),
                   read_holder(fd_).c_str());
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  if (::ftruncate(fd_, 0) != 0) {  // a stale description is harmless: the next holder rewrites it
  }
  ::close(fd_);  // closing the descriptor releases the flock
}

void OutputLock::describe_holder(std::int64_t run_id, const std::string& job) {
  std::string text = "pid " + std::to_string(::getpid());
  if (run_id > 0) text += ", run " + std::to_string(run_id);
  if (!job.empty()) text += ", job '" + job + "'";
  text += "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, text.data(), text.size(), 0) == ssize_t(text.size())) return;
  // The description is a courtesy for the other run's message; the lock itself still holds.
}

}  // namespace qinling::pipeline
