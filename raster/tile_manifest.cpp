#include "raster/tile_manifest.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "raster/tile_encode.hpp"
#include "raster/tile_writers.hpp"

namespace qinling::raster {
namespace {

constexpr char kMagic[8] = {'Q', 'L', 'T', 'I', 'L', 'E', 'S', '1'};

inline std::uint64_t rotl(std::uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

// MurmurHash3-style block mixing and finaliser (64-bit words).
inline std::uint64_t mix(std::uint64_t h, std::uint64_t w) {
  w *= 0x87c37b91114253d5ULL;
  w = rotl(w, 31);
  w *= 0x4cf5ad432745937fULL;
  h ^= w;
  return rotl(h, 27) * 5 + 0x52dce729;
}

inline std::uint64_t finish(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

void put_text(std::string& s, const std::string& t) {
  put_u64(s, t.size());
  s += t;
}

struct Cursor {
  const std::string& s;
  std::size_t pos = 0;
  bool ok = true;
  std::uint64_t u64() {
    if (pos + 8 > s.size()) return ok = false, 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::uint8_t(s[pos + i])) << (8 * i);
    pos += 8;
    return v;
  }
  std::string text() {
    const std::uint64_t n = u64();
    if (!ok || n > s.size() - pos) return ok = false, std::string();
    std::string t = s.substr(pos, n);
    pos += n;
    return t;
  }
};

std::vector<std::pair<std::uint64_t, std::uint64_t>> sorted(const TileHashes& h) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v(h.begin(), h.end());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

std::uint64_t pixel_hash(const float* p, std::size_t n, int rows, std::size_t stride) {
  // Four independent lanes (a quarter of the dependency chain: this runs over every tile's pixels).
  std::uint64_t h[4] = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL, 0x2545f4914f6cdd1dULL};
  const std::size_t bytes = n * sizeof(float);
  for (int r = 0; r < rows; ++r) {
    const auto* b = reinterpret_cast<const unsigned char*>(p + std::size_t(r) * stride);
    std::size_t i = 0;
    for (; i + 32 <= bytes; i += 32) {
      std::uint64_t w[4];
      std::memcpy(w, b + i, 32);
      for (int k = 0; k < 4; ++k) h[k] = mix(h[k], w[k]);
    }
    for (int k = 0; i < bytes; i += 8, ++k) {
      std::uint64_t w = 0;
      std::memcpy(&w, b + i, std::min<std::size_t>(8, bytes - i));
      h[k] = mix(h[k], w);
    }
  }
  std::uint64_t out = std::uint64_t(rows) * 0x100000001b3ULL ^ bytes;
  for (const std::uint64_t v : h) out = mix(out, finish(v));
  return finish(out);
}

std::optional<TileManifest> read_tile_manifest(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream buf;
  buf << f.rdbuf();
  const std::string s = buf.str();
  // Layout: magic, sets, per set (id, settings, count, count x (key, hash)), checksum of all before.
  if (s.size() < sizeof kMagic + 16 || s.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0) return std::nullopt;
  Cursor tail{s, s.size() - 8};
  if (tail.u64() != content_hash(s.substr(0, s.size() - 8))) return std::nullopt;
  Cursor c{s, sizeof kMagic};
  TileManifest m;
  const std::uint64_t sets = c.u64();
  for (std::uint64_t i = 0; c.ok && i < sets; ++i) {
    const std::string id = c.text();
    TileManifest::Set set;
    set.settings = c.text();
    const std::uint64_t n = c.u64();
    if (!c.ok || n > s.size() / 16) return std::nullopt;
    set.hashes.reserve(n);
    for (std::uint64_t k = 0; k < n; ++k) {
      const std::uint64_t key = c.u64();
      set.hashes[key] = c.u64();
    }
    m.sets[id] = std::move(set);
  }
  if (!c.ok) return std::nullopt;
  return m;
}

void write_tile_manifest(const std::string& path, const TileManifest& m) {
  std::string s(kMagic, sizeof kMagic);
  put_u64(s, m.sets.size());
  for (const auto& [id, set] : m.sets) {
    put_text(s, id);
    put_text(s, set.settings);
    put_u64(s, set.hashes.size());
    for (const auto& [k, h] : sorted(set.hashes)) {
      put_u64(s, k);
      put_u64(s, h);
    }
  }
  put_u64(s, content_hash(s));
  write_file_atomic(path, s);
}

std::string render_token(const TileManifest::Set& set) {
  std::uint64_t h = content_hash(set.settings);
  for (const auto& [k, v] : sorted(set.hashes)) h = mix(mix(h, k), v);
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)finish(h));
  return b;
}

std::string ramp_fingerprint(const ColourRamp& r) {
  std::ostringstream s;
  s.precision(17);
  s << "kind=" << int(r.kind) << ";center=" << r.center << ";stops=";
  for (const auto& st : r.stops) s << st.at << ':' << int(st.colour[0]) << ',' << int(st.colour[1]) << ',' << int(st.colour[2]) << ',' << int(st.colour[3]) << ' ';
  s << ";classes=";
  for (const auto& c : r.classes) s << c.value << ':' << int(c.colour[0]) << ',' << int(c.colour[1]) << ',' << int(c.colour[2]) << ',' << int(c.colour[3]) << ' ';
  return s.str();
}

}  // namespace qinling::raster
