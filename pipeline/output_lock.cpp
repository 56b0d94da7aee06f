#include "pipeline/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
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

}  // namespace

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
