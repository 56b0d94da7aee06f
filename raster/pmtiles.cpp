#include "raster/pmtiles.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "models/errors.hpp"
#include "raster/durable_file.hpp"

namespace qinling::raster {
namespace {

constexpr std::size_t kHeaderSize = 127;
constexpr std::size_t kRootLimit = 16384 - kHeaderSize;

void put_varint(std::string& s, std::uint64_t v) {
  while (v >= 0x80) {
    s.push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(char(v));
}

std::uint64_t get_varint(const std::string& s, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= s.size()) throw InputError("PMTiles: truncated directory");
    const auto b = std::uint8_t(s[pos++]);
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw InputError("PMTiles: bad varint in directory");
}

template <typename T>
void put_le(std::string& s, std::size_t at, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) s[at + i] = char((std::uint64_t(v) >> (8 * i)) & 0xff);
}

template <typename T>
T get_le(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= std::uint64_t(std::uint8_t(s[at + i])) << (8 * i);
  return T(v);
}

std::int32_t e7(double deg) { return std::int32_t(std::lround(deg * 1e7)); }

std::string metadata_json(const TilesetInfo& info) {
  auto esc = [](const std::string& t) {
    std::string o;
    for (char c : t) {
      if (c == '"' || c == '\\') o.push_back('\\');
      if (std::uint8_t(c) >= 0x20) o.push_back(c);
    }
    return o;
  };
  return "{\"name\":\"" + esc(info.name) + "\",\"description\":\"" + esc(info.description) +
         "\",\"attribution\":\"" + esc(info.attribution) + "\",\"type\":\"overlay\",\"format\":\"" +
         tile_extension(info.format) + "\"" +
         (info.render_token.empty() ? "" : ",\"qinling_render\":\"" + esc(info.render_token) + "\"") + "}";
}

}  // namespace

std::uint64_t pmtiles_tile_id(int z, std::uint32_t x, std::uint32_t y) {
  std::uint64_t acc = ((std::uint64_t(1) << (2 * z)) - 1) / 3;
  std::uint64_t d = 0;
  for (std::uint64_t s = (std::uint64_t(1) << z) >> 1; s > 0; s >>= 1) {
    const std::uint64_t rx = (x & s) ? 1 : 0, ry = (y & s) ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry == 0) {  // rotate the quadrant so the curve stays continuous
      if (rx == 1) {
        x = std::uint32_t(s - 1 - x);
        y = std::uint32_t(s - 1 - y);
      }
      std::swap(x, y);
    }
  }
  return acc + d;
}

std::string pmtiles_encode_directory(const std::vector<PmtilesEntry>& e) {
  std::string s;
  put_varint(s, e.size());
  std::uint64_t last = 0;
  for (const auto& x : e) put_varint(s, x.tile_id - last), last = x.tile_id;
  for (const auto& x : e) put_varint(s, x.run_length);
  for (const auto& x : e) put_varint(s, x.length);
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (i > 0 && e[i].offset == e[i - 1].offset + e[i - 1].length)
      put_varint(s, 0);
    else
      put_varint(s, e[i].offset + 1);
  }
  return s;
}

std::vector<PmtilesEntry> pmtiles_decode_directory(const std::string& s) {
  std::size_t pos = 0;
  const std::uint64_t n = get_varint(s, pos);
  if (n > s.size()) throw InputError("PMTiles: bad directory size");
  std::vector<PmtilesEntry> e(n);
  std::uint64_t last = 0;
  for (auto& x : e) x.tile_id = last = last + get_varint(s, pos);
  for (auto& x : e) x.run_length = std::uint32_t(get_varint(s, pos));
  for (auto& x : e) x.length = std::uint32_t(get_varint(s, pos));
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t v = get_varint(s, pos);
    e[i].offset = (v == 0 && i > 0) ? e[i - 1].offset + e[i - 1].length : v - 1;
  }
  return e;
}

PmtilesWriter::PmtilesWriter(const std::string& path, const std::string& previous)
    : previous_(previous.empty() ? nullptr : std::make_unique<PmtilesReader>(previous)),
      path_(path),
      data_tmp_(path + ".tiles-" + std::to_string(::getpid())),
      tmp_(path + ".partial-" + std::to_string(::getpid())) {
  data_.open(data_tmp_, std::ios::binary | std::ios::in | std::ios::out | std::ios::trunc);
  if (!data_) throw ProcessingError(path_ + ": cannot create a temporary file beside it");
}

PmtilesWriter::~PmtilesWriter() {
  data_.close();
  std::error_code ec;
  std::filesystem::remove(data_tmp_, ec);
  if (!committed_) std::filesystem::remove(tmp_, ec);
}

void PmtilesWriter::put(int z, int x, int y, const std::string& data) {
  const std::string key = std::to_string(content_hash(data)) + "-" + std::to_string(data.size());
  auto [it, fresh] = seen_.emplace(key, data_size_);
  if (fresh) {
    data_.write(data.data(), std::streamsize(data.size()));
    if (!data_) throw ProcessingError(path_ + ": cannot write tile data (disk full?)");
    data_size_ += data.size();
  }
  pending_.push_back({pmtiles_tile_id(z, std::uint32_t(x), std::uint32_t(y)), it->second, std::uint32_t(data.size())});
}

bool PmtilesWriter::holds(int z, int x, int y) {
  if (!previous_) return false;
  auto t = previous_->get(z, x, y);
  held_ = t ? std::move(*t) : std::string();
  return t.has_value();
}

void PmtilesWriter::keep(int z, int x, int y) { put(z, x, y, held_); }

void PmtilesWriter::commit(const TilesetInfo& info) {
  std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return a.tile_id < b.tile_id; });
  // Clustered: contents in tile-id order of their first use; repeats point back; runs merged.
  std::unordered_map<std::uint64_t, std::uint64_t> new_offset;  // side-file offset → archive data offset
  std::vector<std::pair<std::uint64_t, std::uint32_t>> copy_order;
  std::vector<PmtilesEntry> entries;
  std::uint64_t out_size = 0;
  for (const auto& p : pending_) {
    auto [it, fresh] = new_offset.emplace(p.offset, out_size);
    if (fresh) {
      copy_order.emplace_back(p.offset, p.length);
      out_size += p.length;
    }
    if (!entries.empty() && entries.back().offset == it->second &&
        entries.back().tile_id + entries.back().run_length == p.tile_id)
      ++entries.back().run_length;
    else
      entries.push_back({p.tile_id, it->second, p.length, 1});
  }
  if (entries.empty()) throw ProcessingError(path_ + ": no tiles to write (the layer is empty at every zoom)");

  // Root directory, or a root of leaf pointers when all entries do not fit in 16 KiB.
  std::string root = gzip_compress(pmtiles_encode_directory(entries)), leaves;
  for (std::size_t leaf_size = 4096; root.size() > kRootLimit; leaf_size *= 2) {
    std::vector<PmtilesEntry> pointers;
    leaves.clear();
    for (std::size_t i = 0; i < entries.size(); i += leaf_size) {
      const std::vector<PmtilesEntry> part(entries.begin() + std::ptrdiff_t(i),
                                           entries.begin() + std::ptrdiff_t(std::min(entries.size(), i + leaf_size)));
      const std::string leaf = gzip_compress(pmtiles_encode_directory(part));
      pointers.push_back({part.front().tile_id, leaves.size(), std::uint32_t(leaf.size()), 0});
      leaves += leaf;
    }
    root = gzip_compress(pmtiles_encode_directory(pointers));
  }
  const std::string meta = gzip_compress(metadata_json(info));

  std::string header(kHeaderSize, '\0');
  header.replace(0, 7, "PMTiles");
  header[7] = 3;
  const std::uint64_t root_off = kHeaderSize, meta_off = root_off + root.size(), leaf_off = meta_off + meta.size(),
                      data_off = leaf_off + leaves.size();
  std::uint64_t addressed = 0;
  for (const auto& e : entries) addressed += e.run_length;
  put_le<std::uint64_t>(header, 8, root_off);
  put_le<std::uint64_t>(header, 16, root.size());
  put_le<std::uint64_t>(header, 24, meta_off);
  put_le<std::uint64_t>(header, 32, meta.size());
  put_le<std::uint64_t>(header, 40, leaf_off);
  put_le<std::uint64_t>(header, 48, leaves.size());
  put_le<std::uint64_t>(header, 56, data_off);
  put_le<std::uint64_t>(header, 64, out_size);
  put_le<std::uint64_t>(header, 72, addressed);
  put_le<std::uint64_t>(header, 80, entries.size());
  put_le<std::uint64_t>(header, 88, copy_order.size());
  header[96] = 1;  // clustered
  header[97] = 2;  // directories and metadata: gzip
  header[98] = 1;  // tiles: no compression (PNG/WebP are compressed already)
  header[99] = info.format == TileFormat::png ? 2 : 4;
  header[100] = char(info.min_zoom);
  header[101] = char(info.max_zoom);
  const BBox& b = info.lonlat;
  put_le<std::int32_t>(header, 102, e7(b.xmin));
  put_le<std::int32_t>(header, 106, e7(b.ymin));
  put_le<std::int32_t>(header, 110, e7(b.xmax));
  put_le<std::int32_t>(header, 114, e7(b.ymax));
  header[118] = char(info.min_zoom);
  put_le<std::int32_t>(header, 119, e7((b.xmin + b.xmax) / 2));
  put_le<std::int32_t>(header, 123, e7((b.ymin + b.ymax) / 2));

  std::ofstream out(tmp_, std::ios::binary | std::ios::trunc);
  out << header << root << meta << leaves;
  data_.flush();
  std::string buf;
  for (const auto& [off, len] : copy_order) {
    buf.resize(len);
    data_.seekg(std::streamoff(off));
    data_.read(buf.data(), len);
    out.write(buf.data(), len);
  }
  out.close();
  if (!data_ || !out) throw ProcessingError(path_ + ": writing the PMTiles archive failed (disk full?)");
  sync_file(tmp_);  // data before the rename, the folder after it (durable across a power loss)
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot move the finished PMTiles into place: " + ec.message());
  committed_ = true;
  sync_directory(parent_directory(path_));
}

PmtilesReader::PmtilesReader(const std::string& path) : path_(path), file_(path, std::ios::binary) {
  const std::string h = read(0, kHeaderSize);
  if (h.size() != kHeaderSize || h.compare(0, 7, "PMTiles") != 0 || h[7] != 3)
    throw InputError(path + ": not a PMTiles v3 archive");
  if (h[97] != 2 && h[97] != 1) throw InputError(path + ": PMTiles internal compression other than gzip/none");
  auto dir = [&](std::uint64_t off, std::uint64_t len) {
    const std::string raw = read(off, len);
    return h[97] == 2 ? gzip_decompress(raw) : raw;
  };
  root_ = pmtiles_decode_directory(dir(get_le<std::uint64_t>(h, 8), get_le<std::uint64_t>(h, 16)));
  metadata_ = dir(get_le<std::uint64_t>(h, 24), get_le<std::uint64_t>(h, 32));
  leaf_offset_ = get_le<std::uint64_t>(h, 40);
  data_offset_ = get_le<std::uint64_t>(h, 56);
  format_ = h[99] == 4 ? TileFormat::webp : TileFormat::png;
  min_zoom_ = std::uint8_t(h[100]);
  max_zoom_ = std::uint8_t(h[101]);
  lonlat_ = {get_le<std::int32_t>(h, 102) / 1e7, get_le<std::int32_t>(h, 106) / 1e7, get_le<std::int32_t>(h, 110) / 1e7,
             get_le<std::int32_t>(h, 114) / 1e7};
}

std::string PmtilesReader::render_token() const {
  const std::string key = "\"qinling_render\":\"";
  const std::size_t at = metadata_.find(key);
  if (at == std::string::npos) return {};
  const std::size_t end = metadata_.find('"', at + key.size());
  return end == std::string::npos ? std::string() : metadata_.substr(at + key.size(), end - at - key.size());
}

std::string PmtilesReader::read(std::uint64_t offset, std::uint64_t length) {
  std::string b(length, '\0');
  file_.clear();
  file_.seekg(std::streamoff(offset));
  file_.read(b.data(), std::streamsize(length));
  b.resize(std::size_t(file_.gcount()));
  return b;
}

std::optional<std::string> PmtilesReader::get(int z, int x, int y) {
  if (z < 0 || z > 26 || x < 0 || y < 0 || x >= (1 << z) || y >= (1 << z)) return std::nullopt;
  const std::uint64_t id = pmtiles_tile_id(z, std::uint32_t(x), std::uint32_t(y));
  std::lock_guard lock(mutex_);
  const std::vector<PmtilesEntry>* dir = &root_;
  for (int depth = 0; depth < 4; ++depth) {
    auto it = std::upper_bound(dir->begin(), dir->end(), id,
                               [](std::uint64_t v, const PmtilesEntry& e) { return v < e.tile_id; });
    if (it == dir->begin()) return std::nullopt;
    const PmtilesEntry& e = *(it - 1);
    if (e.run_length > 0) {
      if (id >= e.tile_id + e.run_length) return std::nullopt;
      return read(data_offset_ + e.offset, e.length);
    }
    auto leaf = leaves_.find(e.offset);
    if (leaf == leaves_.end())
      leaf = leaves_.emplace(e.offset, pmtiles_decode_directory(gzip_decompress(read(leaf_offset_ + e.offset, e.length))))
                 .first;
    dir = &leaf->second;
  }
  return std::nullopt;
}

}  // namespace qinling::raster
