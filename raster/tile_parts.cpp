#include "raster/tile_parts.hpp"

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

constexpr char kTile = 'T', kStrip = 'S';

template <class T>
void put(std::ofstream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
bool get(std::ifstream& in, T& v) {
  return bool(in.read(reinterpret_cast<char*>(&v), sizeof v));
}

}  // namespace

TilePartWriter::TilePartWriter(std::string path)
    : path_(std::move(path)), out_(path_, std::ios::binary | std::ios::trunc) {
  check();
}

void TilePartWriter::check() {
  if (!out_)
    throw ProcessingError(path_ +
                          ": cannot write this rank's part of the tile pyramid (disk full, or the "
                          "output folder not writable from this node?)");
}

void TilePartWriter::tile(int z, int x, int y, std::uint64_t hash, const std::string& data) {
  put(out_, kTile);
  put(out_, std::int32_t(z));
  put(out_, std::int32_t(x));
  put(out_, std::int32_t(y));
  put(out_, hash);
  put(out_, std::uint64_t(data.size()));
  out_.write(data.data(), std::streamsize(data.size()));
  check();
}

void TilePartWriter::strip(int row, int col0, int cols, int channels, const std::vector<float>& px) {
  put(out_, kStrip);
  put(out_, std::int32_t(row));
  put(out_, std::int32_t(col0));
  put(out_, std::int32_t(cols));
  put(out_, std::int32_t(channels));
  put(out_, std::uint64_t(px.size()));
  out_.write(reinterpret_cast<const char*>(px.data()), std::streamsize(px.size() * sizeof(float)));
  check();
}

void TilePartWriter::close() {
  out_.flush();
  check();
  out_.close();
  check();
}

TilePartReader::TilePartReader(std::string path) : path_(std::move(path)), in_(path_, std::ios::binary) {
  if (!in_)
    throw ProcessingError(path_ +
                          ": a rank's part of the tile pyramid is missing (is the output folder "
                          "shared by every node?)");
}

bool TilePartReader::next(TilePartRecord& r) {
  char tag = 0;
  if (!get(in_, tag)) return false;
  std::int32_t a = 0, b = 0, c = 0, d = 0;
  std::uint64_t n = 0;
  bool ok = get(in_, a) && get(in_, b) && get(in_, c);
  constexpr std::uint64_t kMaxBytes = std::uint64_t(1) << 34;  // a sanity bound, far above any row
  if (ok && tag == kTile) {
    r.kind = TilePartRecord::Kind::tile;
    r.z = a, r.x = b, r.y = c;
    ok = get(in_, r.hash) && get(in_, n) && n < kMaxBytes;
    if (ok) {
      r.data.resize(n);
      ok = bool(in_.read(r.data.data(), std::streamsize(n)));
    }
  } else if (ok && tag == kStrip) {
    r.kind = TilePartRecord::Kind::strip;
    r.y = a, r.x = b, r.cols = c;
    ok = get(in_, d) && get(in_, n) && n < kMaxBytes / sizeof(float);
    r.channels = d;
    if (ok) {
      r.px.resize(n);
      ok = bool(in_.read(reinterpret_cast<char*>(r.px.data()), std::streamsize(n * sizeof(float))));
    }
  } else {
    ok = false;
  }
  if (!ok) throw ProcessingError(path_ + ": a rank's part of the tile pyramid is truncated or corrupt");
  return true;
}

}  // namespace qinling::raster
