#include "raster/tile_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "raster/tile_encode.hpp"

namespace qinling::raster {
namespace {

constexpr char kMagic[8] = {'Q', 'L', 'J', 'O', 'U', 'R', 'N', '1'};

void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::uint8_t(p[i])) << (8 * i);
  return v;
}

bool read_at(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out.data() + done, n - done, off_t(offset + done));
    if (r <= 0) return false;
    done += std::size_t(r);
  }
  return true;
}

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t r = ::write(fd, s.data() + done, s.size() - done);
    if (r <= 0) return false;
    done += std::size_t(r);
  }
  return true;
}

std::string header(const std::string& settings) {
  std::string h(kMagic, sizeof kMagic);
  put_u64(h, settings.size());
  h += settings;
  put_u64(h, content_hash(h));
  return h;
}

}  // namespace

TileJournal::TileJournal(std::string path, const std::string& settings) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return;  // no journal: the run still works, it just cannot be resumed
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const std::string head = header(settings);
  std::string buf;
  std::uint64_t end = 0;
  if (read_at(fd_, 0, head.size(), buf) && buf == head) {
    // Records: set length, set, key, hash, data length, data, checksum of all of it.
    end = head.size();
    for (;;) {
      std::string fixed;
      if (!read_at(fd_, end, 8, fixed)) break;
      const std::uint64_t set_len = get_u64(fixed.data());
      if (set_len > 256) break;
      std::string rec;
      if (!read_at(fd_, end, 8 + set_len + 24, rec)) break;
      const std::uint64_t len = get_u64(rec.data() + 8 + set_len + 16);
      if (len > (std::uint64_t(1) << 30)) break;
      std::string rest;
      if (!read_at(fd_, end + rec.size(), len + 8, rest)) break;
      rec += rest.substr(0, len);
      if (get_u64(rest.data() + len) != content_hash(rec)) break;
      const std::string set = rec.substr(8, set_len);
      const std::uint64_t key = get_u64(rec.data() + 8 + set_len), hash = get_u64(rec.data() + 16 + set_len);
      entries_[set][key] = {hash, end + 8 + set_len + 24, std::uint32_t(len)};
      ++records_;
      end += rec.size() + 8;
    }
  }
  // Drop a torn last record (or everything, when the settings differ) and append from there.
  if (end == 0) {
    if (::ftruncate(fd_, 0) != 0 || !write_all(fd_, head)) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    end = head.size();
  } else if (::ftruncate(fd_, off_t(end)) != 0) {
    ::close(fd_);
    fd_ = -1;
    entries_.clear();
    return;
  }
  size_ = end;
  ::lseek(fd_, off_t(end), SEEK_SET);
}

TileJournal::~TileJournal() {
  sync();  // a failed run keeps its journal for the next one
  if (fd_ >= 0) ::close(fd_);
}

void TileJournal::sync() {
  if (fd_ < 0 || unsynced_records_ == 0) return;
  // Failing to flush only costs resumability after a power loss: the outputs do not depend on it.
  if (::fdatasync(fd_) == 0) ++syncs_;
  unsynced_records_ = 0;
  unsynced_bytes_ = 0;
}

std::optional<std::string> TileJournal::find(const std::string& set, std::uint64_t key, std::uint64_t hash) const {
  auto s = entries_.find(set);
  if (fd_ < 0 || s == entries_.end()) return std::nullopt;
  auto e = s->second.find(key);
  if (e == s->second.end() || e->second.hash != hash) return std::nullopt;
  std::string data;
  if (!read_at(fd_, e->second.offset, e->second.length, data)) return std::nullopt;
  return data;
}

void TileJournal::record(const std::string& set, std::uint64_t key, std::uint64_t hash, const std::string& data) {
  if (fd_ < 0) return;
  std::string rec;
  rec.reserve(data.size() + set.size() + 40);
  put_u64(rec, set.size());
  rec += set;
  put_u64(rec, key);
  put_u64(rec, hash);
  put_u64(rec, data.size());
  rec += data;
  put_u64(rec, content_hash(rec));
  // A failed append only costs resumability; the tiles themselves go to the outputs.
  if (!write_all(fd_, rec)) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  size_ += rec.size();
  unsynced_bytes_ += rec.size();
  if (++unsynced_records_ >= kSyncRecords || unsynced_bytes_ >= kSyncBytes) sync();
}

void TileJournal::remove() {
  if (fd_ < 0) return;
  unsynced_records_ = 0;  // the run is complete: nothing to keep
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace qinling::raster
