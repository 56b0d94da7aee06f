#include "raster/tile_writers.hpp"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <vector>

#include "models/errors.hpp"
#include "raster/durable_file.hpp"

namespace qinling::raster {
namespace fs = std::filesystem;

std::string XyzWriter::folder(int z, int x) {
  const std::string folder = dir_ + "/" + std::to_string(z) + "/" + std::to_string(x);
  if (made_.emplace(z, x).second) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) throw ProcessingError(folder + ": cannot create the tile folder: " + ec.message());
  }
  return folder;
}

bool XyzWriter::holds(int z, int x, int y) {
  if (previous_.empty()) return false;
  std::error_code ec;
  return fs::is_regular_file(previous_ + "/" + std::to_string(z) + "/" + std::to_string(x) + "/" + std::to_string(y) +
                                 "." + tile_extension(format_),
                             ec);
}

void XyzWriter::keep(int z, int x, int y) {
  const std::string name = "/" + std::to_string(y) + "." + tile_extension(format_);
  const std::string from = previous_ + "/" + std::to_string(z) + "/" + std::to_string(x) + name;
  const std::string to = folder(z, x) + name;
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw ProcessingError(to + ": cannot keep the previous tile: " + ec.message());
}

void XyzWriter::put(int z, int x, int y, const std::string& data) {
  const std::string file = folder(z, x) + "/" + std::to_string(y) + "." + tile_extension(format_);
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f.write(data.data(), std::streamsize(data.size()));
  if (!f) throw ProcessingError(file + ": cannot write the tile (disk full?)");
}

AtomicFolder::AtomicFolder(const std::string& path) : path_(fs::absolute(path).lexically_normal().string()) {
  if (!path_.empty() && path_.back() == '/') path_.pop_back();
  const fs::path p(path_);
  tmp_ = (p.parent_path() / ("." + p.filename().string() + ".partial-" + std::to_string(::getpid()))).string();
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  fs::create_directories(tmp_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot create a folder beside it: " + ec.message());
}

AtomicFolder::~AtomicFolder() {
  std::error_code ec;
  if (!committed_) fs::remove_all(tmp_, ec);
}

void AtomicFolder::commit() {
  std::error_code ec;
  // Power-loss durability: the tiles' data reach the disk before the folder is renamed into place
  // (one syncfs rather than an fsync per tile), and the renames are made durable after.
  sync_filesystem(tmp_);
  const std::string old = tmp_ + ".old";
  if (fs::exists(path_)) {
    fs::rename(path_, old, ec);
    if (ec) throw ProcessingError(path_ + ": cannot replace the previous folder: " + ec.message());
  }
  fs::rename(tmp_, path_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot move the finished tiles into place: " + ec.message());
  committed_ = true;
  sync_directory(parent_directory(path_));
  fs::remove_all(old, ec);
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".partial-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) throw ProcessingError(path + ": cannot write (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw ProcessingError(path + ": cannot move into place: " + ec.message());
}

void remove_stale_partials(const std::string& path) {
  const fs::path p = fs::absolute(path).lexically_normal();
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();
  const fs::path dir = p.filename().empty() ? p.parent_path().parent_path() : p.parent_path();
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    std::size_t at = std::string::npos;
    for (const std::string& prefix : {"." + name + ".partial-", name + ".partial-", name + ".tiles-"})
      if (f.compare(0, prefix.size(), prefix) == 0) at = prefix.size();
    if (at == std::string::npos || at >= f.size() || !std::isdigit(static_cast<unsigned char>(f[at]))) continue;
    const long pid = std::strtol(f.c_str() + at, nullptr, 10);
    if (pid > 0 && pid != long(::getpid()) && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) stale.push_back(e.path());
  }
  for (const auto& s : stale) fs::remove_all(s, ec);
}

}  // namespace qinling::raster
