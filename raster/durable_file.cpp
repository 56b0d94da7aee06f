#include "raster/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

// Closes the descriptor on every path out (RAII).
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void sync_file(const std::string& path) {
  const Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw ProcessingError(path + ": cannot open it to make it durable: " + std::strerror(errno));
  if (::fdatasync(f.fd) != 0)
    throw ProcessingError(path + ": cannot flush it to disk (" + std::strerror(errno) + "); it was not moved into place");
}

void sync_directory(const std::string& dir) {
  const Fd f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (f.fd < 0) throw ProcessingError(dir + ": cannot open the folder to make its renames durable: " + std::strerror(errno));
  if (::fsync(f.fd) != 0 && errno != EINVAL && errno != EROFS)
    throw ProcessingError(dir + ": cannot flush the folder to disk: " + std::strerror(errno));
}

void sync_filesystem(const std::string& path) {
  const Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw ProcessingError(path + ": cannot open it to flush it to disk: " + std::strerror(errno));
  if (::syncfs(f.fd) != 0) throw ProcessingError(path + ": cannot flush it to disk: " + std::strerror(errno));
}

std::string parent_directory(const std::string& path) {
  const std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  return (p.has_filename() ? p.parent_path() : p.parent_path().parent_path()).string();
}

}  // namespace qinling::raster
