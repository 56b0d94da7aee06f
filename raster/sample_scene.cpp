#include "raster/sample_scene.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>

#include "models/tsan_annotations.hpp"

namespace qinling::raster {
namespace {

// splitmix64's finaliser: bijective, every output bit depends on every input bit. All
// randomness in the scene comes from hashing coordinates, never from a generator's state.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t hash2(std::uint64_t salt, std::int64_t x, std::int64_t y) {
  return mix64(salt ^ mix64(std::uint64_t(x) * 0x9E3779B97F4A7C15ull + std::uint64_t(y)));
}
float unit(std::uint64_t h) { return float(h >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
float smooth(float t) { return t * t * (3.0f - 2.0f * t); }
float smoothstep(float a, float b, float x) { return smooth(std::clamp((x - a) / (b - a), 0.0f, 1.0f)); }
float sq(float x) { return x * x; }

// One salt per named noise field (FNV-1a of the name), so fields are independent of each other
// and all change with the seed.
constexpr std::uint64_t name_hash(std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : name) h = (h ^ std::uint64_t(static_cast<unsigned char>(ch))) * 0x100000001b3ull;
  return h;
}
std::uint64_t salt(std::uint64_t seed, std::string_view field, int index = 0) {
  return mix64(mix64(seed) ^ name_hash(field)) + std::uint64_t(index);
}

// The +64 keeps lattice coordinates positive (the halo reaches row/column -1), so truncation
// floors; it shifts the lattice, which is arbitrary anyway.
constexpr float kLatticeShift = 64.0f;

// Adds amp × value noise (a lattice of `freq` cells per scene side, smoothstep-interpolated) to
// acc[0..w) for columns x0..x0+w-1 of `row`. The row is walked cell by cell: the corner values
// are hashed once per cell and the pixels inside a cell form a loop the compiler vectorises.
// Which cell a column falls in is decided by the same per-column formula everywhere, so every
// value depends on the absolute column only, never on x0 or w.
void add_noise_row(std::uint64_t s, double freq, int size, int row, int x0, int w, float amp, float* acc) {
  const float scale = float(freq / size);
  const auto lattice_x = [scale](int col) { return (float(col) + 0.5f) * scale + kLatticeShift; };
  const double fy = (row + 0.5) * (freq / size) + kLatticeShift;
  const auto iy = std::int64_t(fy);
  const float ty = smooth(float(fy - double(iy)));
  const auto corner = [&](int ix) {
    const float lo = unit(hash2(s, ix, iy)), hi = unit(hash2(s, ix, iy + 1));
    return lo + ty * (hi - lo);
  };
  int cached_ix = -1;
  float cached = 0;
  for (int c = 0; c < w;) {
    const int ix = int(lattice_x(x0 + c));
    const float lo = ix == cached_ix ? cached : corner(ix);
    cached_ix = ix + 1;
    cached = corner(ix + 1);
    const float d = cached - lo;
    // End of the cell: estimated, then settled with the exact per-column test.
    int end = int(std::ceil((float(ix + 1) - kLatticeShift) / scale - 0.5f)) - x0;
    end = std::clamp(end, c + 1, w);
    while (end > c + 1 && int(lattice_x(x0 + end - 1)) > ix) --end;
    while (end < w && int(lattice_x(x0 + end)) == ix) ++end;
    const float fix = float(ix);
    for (int k = c; k < end; ++k) acc[k] += amp * (lo + smooth(lattice_x(x0 + k) - fix) * d);
    c = end;
  }
}

constexpr float kRidges = 7.0f;  // E–W ridges across the scene, north to south
constexpr int kFbmOctaves = 6;   // 4..128 cycles per scene
float mountain_factor(float v, float front) {
  const float vf = 0.16f + 0.08f * front;  // the wavy mountain front
  return smoothstep(vf - 0.03f, vf + 0.10f, v);
}
float ridge_fraction(float v, float warp) {
  const float t = kRidges * v + 1.6f * (warp - 0.5f) + 8.0f;  // > 0, so int() floors
  return t - float(int(t));                                   // 0 and 1 are valley bottoms, 0.5 a crest
}

enum Cover : int { kWater, kForest, kShrub, kRock, kSnow, kFarm, kUrban, kBare, kBurned, kCoverCount };

// Surface reflectance (coastal, blue, green, red, nir, swir1, swir2) at the two ends of each
// class's variability; a per-pixel mix picks a point between them. Values are typical of
// Landsat 8 L2 spectra of these covers in July.
struct Endmembers {
  float a[7], b[7];
};
constexpr Endmembers kSpectra[kCoverCount] = {
    {{0.045f, 0.055f, 0.070f, 0.050f, 0.022f, 0.012f, 0.008f},
     {0.060f, 0.075f, 0.095f, 0.080f, 0.040f, 0.020f, 0.012f}},
    {{0.022f, 0.028f, 0.055f, 0.042f, 0.260f, 0.155f, 0.070f},
     {0.018f, 0.022f, 0.048f, 0.026f, 0.330f, 0.130f, 0.052f}},
    {{0.035f, 0.042f, 0.075f, 0.070f, 0.240f, 0.220f, 0.130f},
     {0.030f, 0.036f, 0.070f, 0.050f, 0.290f, 0.200f, 0.100f}},
    {{0.090f, 0.110f, 0.140f, 0.170f, 0.230f, 0.290f, 0.240f},
     {0.120f, 0.140f, 0.180f, 0.220f, 0.280f, 0.330f, 0.270f}},
    {{0.700f, 0.720f, 0.700f, 0.660f, 0.550f, 0.090f, 0.050f},
     {0.850f, 0.880f, 0.860f, 0.820f, 0.700f, 0.120f, 0.070f}},
    {{0.060f, 0.075f, 0.110f, 0.140f, 0.230f, 0.300f, 0.220f},
     {0.025f, 0.032f, 0.070f, 0.040f, 0.360f, 0.190f, 0.090f}},
    {{0.090f, 0.100f, 0.120f, 0.140f, 0.190f, 0.220f, 0.190f},
     {0.130f, 0.150f, 0.170f, 0.190f, 0.240f, 0.270f, 0.240f}},
    {{0.060f, 0.070f, 0.100f, 0.150f, 0.210f, 0.290f, 0.240f},
     {0.075f, 0.085f, 0.120f, 0.180f, 0.240f, 0.330f, 0.270f}},
    {{0.030f, 0.035f, 0.050f, 0.070f, 0.100f, 0.190f, 0.220f},
     {0.040f, 0.045f, 0.060f, 0.090f, 0.130f, 0.220f, 0.250f}},
};
constexpr float kCloudSpectrum[7] = {0.50f, 0.52f, 0.53f, 0.55f, 0.60f, 0.42f, 0.30f};

// Sun of a July Landsat overpass at 34°N: azimuth 120°, zenith 27° (east, north, up); shadows
// fall the other way, to the west-north-west.
constexpr float kSunE = 0.393f, kSunN = -0.227f, kSunUp = 0.891f;
constexpr float kShadowDirX = -0.866f, kShadowDirY = -0.5f, kShadowOffset = 1.3f;  // in radii; +y is south
constexpr float kCloudEdgeMin = 0.85f;  // cloud edges wobble by d × [0.85, 1.15)

// QA_PIXEL confidence pairs (bits 8–15) at "low" for cloud, shadow, snow and cirrus, as USGS
// writes them on clear pixels; bits 9, 11, 13 raise one of them to "high".
constexpr std::uint16_t kQaLowConfidence = 0x5500, kCloudHigh = 0x0200, kShadowHigh = 0x0800,
                        kSnowHigh = 0x2000;

// DN = (reflectance - offset) / scale, with +0.5 so that truncation rounds.
constexpr float kDnPerUnit = float(1.0 / kReflectanceScale);
constexpr float kDnAtZero = float(-kReflectanceOffset / kReflectanceScale + 0.5);

double dilation(const CloudBlob& b) { return std::max(3.0, 0.08 * b.radius) / b.radius; }  // in radii

}  // namespace

double sample_hash_unit(std::uint64_t seed, std::int64_t a, std::int64_t b) {
  return double(hash2(mix64(seed), a, b) >> 11) * 0x1.0p-53;
}

const char* change_kind_name(ChangeKind kind) {
  static constexpr const char* kNames[] = {"forest_clearing", "burn_scar", "new_reservoir"};
  return kNames[int(kind)];
}

bool ChangeRegion::contains(int col, int row) const {
  if (col < window.x || row < window.y || col >= window.x + window.width || row >= window.y + window.height)
    return false;
  if (!circular) return true;
  const double dx = col + 0.5 - centre_col, dy = row + 0.5 - centre_row;
  return dx * dx + dy * dy <= radius * radius;
}

std::int64_t ChangeRegion::pixel_count() const {
  std::int64_t n = 0;
  for (int r = window.y; r < window.y + window.height; ++r)
    for (int c = window.x; c < window.x + window.width; ++c) n += contains(c, r);
  return n;
}

QaCounts& QaCounts::operator+=(const QaCounts& o) {
  fill += o.fill, cloud += o.cloud, dilated_cloud += o.dilated_cloud, cloud_shadow += o.cloud_shadow;
  snow += o.snow, water += o.water, clear += o.clear;
  return *this;
}

SampleScene::SampleScene(int size, std::uint64_t seed) : size_(size), seed_(seed) {
  const double n = size;
  const auto fl = [](double v) { return int(std::floor(v)); };
  ChangeRegion clearing{ChangeKind::kForestClearing, {}, false, 0, 0, 0};
  clearing.window = {fl(0.60 * n), fl(0.40 * n), fl(0.65 * n) - fl(0.60 * n), fl(0.44 * n) - fl(0.40 * n)};
  const auto disc = [&](ChangeKind kind, double cu, double cv, double r) {
    ChangeRegion d{kind, {}, true, cu * n, cv * n, r * n};
    const int x0 = fl(d.centre_col - d.radius), y0 = fl(d.centre_row - d.radius);
    d.window = {x0, y0, int(std::ceil(d.centre_col + d.radius)) - x0,
                int(std::ceil(d.centre_row + d.radius)) - y0};
    return d;
  };
  changes_ = {clearing, disc(ChangeKind::kBurnScar, 0.46, 0.71, 0.04),
              disc(ChangeKind::kNewReservoir, 0.78, 0.33, 0.035)};
  place_clouds();
}

bool SampleScene::is_fill(int date, int col, int row) const {
  const double n = size_;
  if (date == 0) return double(size_ - 1 - col + row) < 0.12 * n;
  return double(col + size_ - 1 - row) < 0.10 * n;
}

// Five blobs per date from hashes of (seed, date, blob, attempt). A candidate is rejected when
// its cloud, ring or shadow could reach a change region, when its centre is fill, or when it
// overlaps an earlier blob; the first acceptable attempt wins, so placement is deterministic.
void SampleScene::place_clouds() {
  const double n = size_;
  for (int date = 0; date < 2; ++date) {
    const std::uint64_t s = salt(seed_, "clouds", date);
    for (int k = 0; k < 5; ++k) {
      for (int attempt = 0; attempt < 200; ++attempt) {
        const std::uint64_t h = hash2(s, k, attempt);
        CloudBlob b{n * (0.08 + 0.84 * unit(mix64(h + 1))), n * (0.08 + 0.84 * unit(mix64(h + 2))),
                    n * (0.025 + 0.03 * unit(mix64(h + 3)))};
        const double reach = b.radius * (1 + dilation(b)) / kCloudEdgeMin + 2;
        const double sx = b.col + kShadowDirX * kShadowOffset * b.radius;
        const double sy = b.row + kShadowDirY * kShadowOffset * b.radius;
        bool ok = !is_fill(date, int(b.col), int(b.row));
        for (const auto& c : changes_) {
          for (auto [px, py] : {std::array<double, 2>{b.col, b.row}, {sx, sy}}) {
            const double qx = std::clamp(px, double(c.window.x), double(c.window.x + c.window.width));
            const double qy = std::clamp(py, double(c.window.y), double(c.window.y + c.window.height));
            ok = ok && std::hypot(px - qx, py - qy) > reach;
          }
        }
        for (const auto& o : clouds_[date])
          ok = ok && std::hypot(b.col - o.col, b.row - o.row) > 1.2 * (b.radius + o.radius);
        if (ok) {
          clouds_[date].push_back(b);
          break;
        }
      }
    }
  }
}

// Elevation of columns x0..x0+width-1 of `row`; `scratch` holds 4*width floats.
void SampleScene::elevation_row(int row, int x0, int width, float* out, float* scratch) const {
  float* front = scratch;
  float* warp = scratch + width;
  float* relief = scratch + 2 * std::size_t(width);
  float* fbm = scratch + 3 * std::size_t(width);
  std::fill(scratch, scratch + 4 * std::size_t(width), 0.0f);
  add_noise_row(salt(seed_, "front"), 3, size_, 0, x0, width, 1, front);
  add_warp_row(row, x0, width, warp);
  add_noise_row(salt(seed_, "relief"), 5, size_, row, x0, width, 1, relief);
  float total = 0, amp = 1;
  for (int o = 0; o < kFbmOctaves; ++o, amp *= 0.6f) {
    add_noise_row(salt(seed_, "fbm", o), 4 << o, size_, row, x0, width, amp, fbm);
    total += amp;
  }
  const float norm = 2.0f / total, inv_n = 1.0f / float(size_);
  const float v = (row + 0.5f) * inv_n;
  const float envelope = 1250.0f + 850.0f * (1.0f - sq((v - 0.5f) / 0.5f));  // crest near v = 0.5
  for (int c = 0; c < width; ++c) {
    const float u = (x0 + c + 0.5f) * inv_n;
    const float noise = fbm[c] * norm - 1.0f;
    const float vf = 0.16f + 0.08f * front[c];
    const float plain = 430.0f + 130.0f * std::min(v / vf, 1.0f) + 30.0f * noise;
    const float d2 = sq((u - 0.34f) / 0.16f) + sq((v - 0.50f) / 0.12f);
    const float massif = d2 < 1.0f ? 950.0f * sq(1.0f - d2) : 0.0f;
    const float profile = 1.0f - sq(2.0f * ridge_fraction(v, warp[c]) - 1.0f);  // V valleys, round crests
    const float ridge = 560.0f * (0.4f + relief[c]) * (profile - 0.6f);
    const float range = envelope + massif + ridge + 320.0f * noise;
    float e = plain + mountain_factor(v, front[c]) * (range - plain);
    if (e > 2780.0f) {  // soft cap: peaks flatten towards 3000 m instead of being cut
      const float s = (e - 2780.0f) / 220.0f;
      e = 2780.0f + 220.0f * s / (1.0f + s);
    }
    out[c] = std::clamp(e, 400.0f, 3000.0f);
  }
}

// Ridge-line meander: two octaves, so ridges bend at the scale of the range and of a few km.
void SampleScene::add_warp_row(int row, int x0, int width, float* warp) const {
  add_noise_row(salt(seed_, "warp"), 2.5, size_, row, x0, width, 0.8f, warp);
  add_noise_row(salt(seed_, "warp2"), 9, size_, row, x0, width, 0.2f, warp);
}

void SampleScene::fill_dem(const Window& w, float* out) const {
  const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<int>(0, w.height, 8), fork_join.wrap([&](const tbb::blocked_range<int>& r) {
    std::vector<float> scratch(4 * std::size_t(w.width));
    for (int i = r.begin(); i < r.end(); ++i)
      elevation_row(w.y + i, w.x, w.width, out + std::size_t(i) * w.width, scratch.data());
  }));
  fork_join.joined();
}

namespace {

// The noise fields of one scene row, one value per pixel, and the row's constants.
struct RowFields {
  RowFields(std::vector<float>& scratch, int width, int row, int size) {
    scratch.assign(10 * std::size_t(width), 0.0f);
    float** all[] = {&front, &warp, &wei, &river, &cover, &vigour, &fields, &urban, &gap, &edge};
    for (std::size_t i = 0; i < std::size(all); ++i) *all[i] = scratch.data() + i * width;
    n = float(size), v = (row + 0.5f) / n;
    river_half = std::max(1.5f, 0.0006f * n), wei_half = std::max(2.0f, 0.001f * n);
  }
  float *front, *warp, *wei, *river, *cover, *vigour, *fields, *urban, *gap, *edge;
  float n, v, river_half, wei_half;
};

struct Surface {
  int cover;
  float mix;  // 0..1 between the class's two end members
};

// Land cover from position, elevation, slope and noise (date independent).
Surface land_cover(const RowFields& f, int c, float e, float g2) {
  const float m = mountain_factor(f.v, f.front[c]);
  const float tf = ridge_fraction(f.v, f.warp[c]);
  const float to_valley = std::min(tf, 1.0f - tf) * f.n / kRidges;
  if ((m < 0.5f && std::abs(f.v - 0.055f - 0.04f * f.wei[c]) * f.n < f.wei_half) ||
      (m > 0.6f && to_valley < f.river_half && f.river[c] > 0.45f))
    return {kWater, 0.6f * f.vigour[c]};
  if (m < 0.35f) return {f.urban[c] > 0.70f ? kUrban : kFarm, 0};
  const float ej = e + 160.0f * (f.cover[c] - 0.5f);
  if (ej > 2900.0f && f.gap[c] > 0.6f) return {kSnow, f.vigour[c]};
  if (ej > 2780.0f || (ej > 2250.0f && g2 > 0.6f)) return {kRock, f.cover[c]};
  if (ej > 2450.0f || f.gap[c] > 0.8f) return {kShrub, f.vigour[c]};
  if (ej < 850.0f && f.fields[c] > 0.6f) return {kFarm, 0};
  return {kForest, f.vigour[c]};
}

// Parcels of about 420×270 m (city blocks of 180 m) each with its own crop or roof, and
// brighter margins and streets; sizes are in pixels, as real parcels do not scale with N.
float parcel_mix(int cover, std::uint64_t parcel_salt, int col, int row) {
  const int pw = cover == kFarm ? 14 : 6, ph = cover == kFarm ? 9 : 6;
  const float parcel = unit(hash2(parcel_salt, col / pw, row / ph));
  const bool margin = col % pw == 0 || row % ph == 0;
  if (cover == kUrban) return margin ? 1.0f : 0.7f * parcel;
  return (parcel < 0.2f ? 0.1f * parcel : 0.5f + 0.6f * (parcel - 0.2f)) * (margin ? 0.6f : 1.0f);
}

struct NearBlob {
  CloudBlob b;
  double dil, reach;
};
struct CloudHit {
  float alpha = 0;  // cloud opacity; > 0 means cloud
  bool ring = false, shadow = false;
};

CloudHit cloud_hit(const std::vector<NearBlob>& blobs, int col, int row, float wobble) {
  CloudHit hit;
  for (const auto& nb : blobs) {
    const double dx = col + 0.5 - nb.b.col, dy = row + 0.5 - nb.b.row;
    if (std::abs(dx) < nb.reach && std::abs(dy) < nb.reach) {
      const double d = std::sqrt(dx * dx + dy * dy) / nb.b.radius * wobble;
      if (d < 1) hit.alpha = std::max(hit.alpha, std::min(1.0f, 0.65f + 1.2f * float(1 - d)));
      hit.ring = hit.ring || (d >= 1 && d < 1 + nb.dil);
    }
    const double sx = dx - kShadowDirX * kShadowOffset * nb.b.radius;
    const double sy = dy - kShadowDirY * kShadowOffset * nb.b.radius;
    if (std::abs(sx) < nb.reach && std::abs(sy) < nb.reach)
      hit.shadow = hit.shadow || std::sqrt(sx * sx + sy * sy) / nb.b.radius * wobble < 0.95;
  }
  return hit;
}

// Darkens or brightens `rho` for the sky state and returns the QA_PIXEL word, counting flags.
std::uint16_t apply_sky(const CloudHit& hit, int cover, float edge, float* rho, QaCounts& counts) {
  std::uint16_t q = kQaLowConfidence;
  if (hit.alpha > 0) {
    ++counts.cloud;
    const float bright = hit.alpha * (0.9f + 0.2f * edge);
    for (int b = 0; b < 7; ++b) rho[b] = rho[b] * (1 - hit.alpha) + bright * kCloudSpectrum[b];
    return q | kCloudHigh | qa_bits::kCloud;
  }
  if (hit.ring) {
    q |= qa_bits::kDilatedCloud, ++counts.dilated_cloud;
    for (int b = 0; b < 7; ++b) rho[b] += 0.02f;  // thin haze
  } else {
    q |= qa_bits::kClear, ++counts.clear;
  }
  if (hit.shadow) {
    q |= qa_bits::kCloudShadow | kShadowHigh, ++counts.cloud_shadow;
    for (int b = 0; b < 7; ++b) rho[b] *= 0.3f;
  }
  if (cover == kWater) q |= qa_bits::kWater, ++counts.water;
  if (cover == kSnow) q |= qa_bits::kSnow | kSnowHigh, ++counts.snow;
  return q;
}

// July land surface temperature (°C) as ST_B10 DN; see kThermalScale in the header.
std::uint16_t surface_temperature_dn(const Surface& s, float elevation, float shade, const CloudHit& hit, float noise) {
  static constexpr float kCoverDelta[kCoverCount] = {-7.0f, -5.0f, -2.0f, 3.0f, 0.0f, -1.0f, 5.0f, 6.0f, 9.0f};
  float celsius = 34.0f - 6.0f * (elevation - 400.0f) / 1000.0f + kCoverDelta[s.cover];
  if (s.cover == kForest || s.cover == kShrub) celsius -= 1.5f * s.mix;  // denser canopy, cooler
  if (s.cover == kSnow) celsius = -1.0f - 2.0f * s.mix;
  celsius += 2.5f * (std::clamp(shade, 0.3f, 1.3f) - 1.0f) + (noise - 0.5f);
  if (hit.alpha > 0) celsius = celsius * (1 - hit.alpha) - 15.0f * hit.alpha;
  else if (hit.ring) celsius -= 1.0f;
  if (hit.shadow && hit.alpha == 0) celsius -= 4.0f;
  const double dn = (celsius + 273.15 - kThermalOffset) / kThermalScale;
  return std::uint16_t(std::clamp(std::lround(dn), 1L, 65535L));
}

}  // namespace

QaCounts SampleScene::fill_scene(int date, const Window& w, std::uint16_t* out, std::uint16_t* thermal) const {
  // Elevation with a one-pixel halo, for slope and shading at the window's edges.
  const int hw = w.width + 2, hh = w.height + 2;
  std::vector<float> halo(std::size_t(hw) * hh);
  const models::tsan::ForkJoin halo_loop;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<int>(0, hh, 8), halo_loop.wrap([&](const tbb::blocked_range<int>& r) {
    std::vector<float> scratch(4 * std::size_t(hw));
    for (int i = r.begin(); i < r.end(); ++i)
      elevation_row(w.y - 1 + i, w.x - 1, hw, halo.data() + std::size_t(i) * hw, scratch.data());
  }));
  halo_loop.joined();
  std::vector<QaCounts> counts(w.height);
  const models::tsan::ForkJoin row_loop;
  tbb::parallel_for(tbb::blocked_range<int>(0, w.height, 4), row_loop.wrap([&](const tbb::blocked_range<int>& r) {
    std::vector<float> scratch;
    for (int i = r.begin(); i < r.end(); ++i)
      counts[i] = scene_row(date, w, w.y + i, halo.data() + std::size_t(i) * hw, out, thermal, scratch);
  }));
  row_loop.joined();
  QaCounts total;
  for (const auto& c : counts) total += c;
  return total;
}

QaCounts SampleScene::scene_row(int date, const Window& w, int row, const float* elev_halo,
                                std::uint16_t* out, std::uint16_t* thermal, std::vector<float>& scratch) const {
  const int width = w.width, x0 = w.x;
  const RowFields f(scratch, width, row, size_);
  add_noise_row(salt(seed_, "front"), 3, size_, 0, x0, width, 1, f.front);  // as in elevation_row
  add_warp_row(row, x0, width, f.warp);
  add_noise_row(salt(seed_, "wei"), 2.5, size_, 0, x0, width, 1, f.wei);
  add_noise_row(salt(seed_, "river"), 6, size_, row, x0, width, 1, f.river);
  add_noise_row(salt(seed_, "cover"), 24, size_, row, x0, width, 1, f.cover);
  add_noise_row(salt(seed_, "vigour"), 16, size_, row, x0, width, 2.0f / 3, f.vigour);
  add_noise_row(salt(seed_, "vigour2"), 48, size_, row, x0, width, 1.0f / 3, f.vigour);
  add_noise_row(salt(seed_, "fields"), 40, size_, row, x0, width, 1, f.fields);
  add_noise_row(salt(seed_, "urban"), 10, size_, row, x0, width, 1, f.urban);
  add_noise_row(salt(seed_, "gap"), 20, size_, row, x0, width, 1, f.gap);
  add_noise_row(salt(seed_, "cloud_edge"), 48, size_, row, x0, width, 1, f.edge);

  // Relief is defined in scene fractions, so slopes are rescaled to what they are at N = 1000.
  const float slope_scale = f.n / 1000.0f / (2.0f * float(kSamplePixelSize));
  const float* up = elev_halo;
  const float* mid = elev_halo + (width + 2);
  const float* down = elev_halo + 2 * std::size_t(width + 2);
  std::vector<const ChangeRegion*> regions;
  for (const auto& c : changes_)
    if (row >= c.window.y && row < c.window.y + c.window.height) regions.push_back(&c);
  std::vector<NearBlob> blobs;
  for (const auto& b : clouds_[date]) {
    const double reach = b.radius * (1 + dilation(b)) / kCloudEdgeMin + 1;
    const double shadow_dy = kShadowDirY * kShadowOffset * b.radius;
    if (std::abs(row + 0.5 - b.row) < reach || std::abs(row + 0.5 - b.row - shadow_dy) < reach)
      blobs.push_back({b, dilation(b), reach});
  }
  const std::uint64_t parcel_salt = salt(seed_, "parcel"), tex_salt = salt(seed_, "texture");
  const std::uint64_t noise_salt = salt(seed_, "date", date);
  const std::size_t plane = std::size_t(w.pixels());
  std::uint16_t* o = out + std::size_t(row - w.y) * width;
  std::uint16_t* t = thermal ? thermal + std::size_t(row - w.y) * width : nullptr;
  const std::uint64_t heat_salt = salt(seed_, "heat", date);
  QaCounts counts;
  for (int c = 0; c < width; ++c) {
    const int col = x0 + c;
    if (is_fill(date, col, row)) {
      for (int b = 0; b < 7; ++b) o[b * plane + c] = 0;
      o[7 * plane + c] = qa_bits::kFill;
      if (t) t[c] = 0;
      ++counts.fill;
      continue;
    }
    const float gx = (mid[c + 2] - mid[c]) * slope_scale, gy = (up[c + 1] - down[c + 1]) * slope_scale;
    const float g2 = gx * gx + gy * gy;
    Surface s = land_cover(f, c, mid[c + 1], g2);
    if (s.cover == kFarm || s.cover == kUrban) s.mix = parcel_mix(s.cover, parcel_salt, col, row);
    for (const ChangeRegion* r : regions) {
      static constexpr int kAfter[] = {kBare, kBurned, kWater};
      if (r->contains(col, row)) s = {date == 0 ? kForest : kAfter[int(r->kind)], f.vigour[c]};
    }
    // Terrain shading (not on water) and a fixed per-pixel texture of ±3 %.
    const float cos_i = (-gx * kSunE - gy * kSunN + kSunUp) / std::sqrt(1.0f + g2);
    const float shade = s.cover == kWater ? 1.0f : std::clamp(cos_i / kSunUp, 0.3f, 1.3f);
    const float tex = shade * (1.0f + 0.06f * (unit(hash2(tex_salt, col, row)) - 0.5f));
    const Endmembers& sp = kSpectra[s.cover];
    float rho[7];
    for (int b = 0; b < 7; ++b) rho[b] = (sp.a[b] + s.mix * (sp.b[b] - sp.a[b])) * tex;
    const float wobble = kCloudEdgeMin + 0.3f * f.edge[c];
    const CloudHit hit = cloud_hit(blobs, col, row, wobble);
    o[7 * plane + c] = apply_sky(hit, s.cover, f.edge[c], rho, counts);
    if (t) t[c] = surface_temperature_dn(s, mid[c + 1], shade, hit, unit(hash2(heat_salt, col, row)));
    // ±2 % per band and date: nine bits of one hash each.
    const std::uint64_t h = hash2(noise_salt, col, row);
    for (int b = 0; b < 7; ++b) {
      const float eps = float(int((h >> (9 * b)) & 511u)) * (1.0f / 255.5f) - 1.0f;
      const float dn = rho[b] * (1.0f + 0.02f * eps) * kDnPerUnit + kDnAtZero;  // rounded half up below
      o[b * plane + c] = std::uint16_t(std::min(std::max(dn, 1.0f), 65535.0f));
    }
  }
  return counts;
}

}  // namespace qinling::raster
