#include "raster/tile_writers.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "models/errors.hpp"

namespace qinling::raster {
namespace fs = std::filesystem;

void XyzWriter::put(int z, int x, int y, const std::string& data) {
  const std::string folder = dir_ + "/" + std::to_string(z) + "/" + std::to_string(x);
  if (made_.emplace(z, x).second) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) throw ProcessingError(folder + ": cannot create the tile folder: " + ec.message());
  }
  const std::string file = folder + "/" + std::to_string(y) + "." + tile_extension(format_);
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
  const std::string old = tmp_ + ".old";
  if (fs::exists(path_)) {
    fs::rename(path_, old, ec);
    if (ec) throw ProcessingError(path_ + ": cannot replace the previous folder: " + ec.message());
  }
  fs::rename(tmp_, path_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot move the finished tiles into place: " + ec.message());
  committed_ = true;
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

}  // namespace qinling::raster
