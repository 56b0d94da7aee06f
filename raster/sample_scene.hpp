// The deterministic synthetic "Qinling" sample scene: a DEM and two Landsat-8-like Level-2 dates
// with known clouds, fill and land-cover changes, computed window by window.
//
// What users and tests may rely on (N = size in pixels; u = col/N and v = row/N are fractions of
// the scene, v = 0 at the north edge):
//
// Grid: N×N pixels of 30 m, north-up, CRS EPSG:4547 (kSampleEpsg). The centre of the scene is
// within 15 m of 108.9°E 33.9°N and the origin is a whole multiple of 30 m. Note: EPSG:4547 is
// "CGCS2000 / 3-degree Gauss-Kruger CM 114E"; the CM 108E zone that DESIGN.md means is EPSG:4545.
// The code follows the EPSG number the design states; change kSampleEpsg to move the scene.
// (pipeline/sample_data.cpp builds the grid; the scene model itself works in pixels only.)
//
// Terrain (dem.tif, Float32 metres, 400..3000, nodata -9999 set but never used): a low plain
// (the Guanzhong plain, ~400–600 m, with an E–W river near v≈0.07) north of a wavy mountain front
// near v≈0.2, then E–W ridges and valleys (7 across the scene) under a crest envelope peaking
// near v≈0.5, a high massif around (u,v)=(0.34,0.50), plus multi-octave value noise. The layout
// is defined in scene fractions, so every N shows the same landscape; slopes in metres per 30 m
// pixel are realistic near N=1000 and gentler for larger N.
//
// Scenes (scene_2023-07.tif, scene_2024-07.tif): 8 bands UInt16, band i = Landsat 8 C2 L2 SR_Bi
// (1 coastal, 2 blue, 3 green, 4 red, 5 nir, 6 swir1, 7 swir2), band 8 = QA_PIXEL. SR bands are
// DN with reflectance = DN*0.0000275 - 0.2 (GDAL scale/offset set), nodata 0. A GeoTIFF has one
// nodata value per file, so QA_PIXEL reports nodata 0 too; it never holds 0 (fill is QA 1).
// Land cover: farmland (parcels) and towns on the plain; forest (NDVI 0.72–0.86) on the mountain
// sides; shrub/meadow above ~2450 m; bare rock above ~2780 m and on steep high slopes; snow
// patches above ~2900 m; rivers (water) in some valley bottoms and along the plain.
// QA_PIXEL values follow C2 with the confidence pairs: clear land 21824, clear water 21952,
// snow 30048, cloud shadow 23888 (+128 over water), dilated cloud 21762, cloud 22280, fill 1.
// Each date has up to 5 cloud blobs (radius 0.025–0.055 N, placed from the seed and the date)
// that are bright in every SR band, a dilated-cloud ring (>= 3 px) around each, and a dark shadow
// of the same shape offset 1.3 radii to the west-north-west (sun azimuth 120°). Fill (all SR
// bands 0, QA 1): 2023-07 the north-east corner triangle (N-1-col)+row < 0.12 N; 2024-07 the
// south-west corner triangle col+(N-1-row) < 0.10 N.
//
// Changes 2023-07 → 2024-07 (forest in 2023 by construction; never under cloud, dilated cloud,
// shadow or fill on either date; pixel membership tests the pixel centre):
//   forest clearing: rectangle cols [floor(0.60N), floor(0.65N)), rows [floor(0.40N), floor(0.44N)),
//                    forest → bare soil (NDVI ~0.8 → ~0.15).
//   burn scar:       circle centre (0.46N, 0.71N), radius 0.04N; forest → burned
//                    (NBR ~0.65 → ~-0.35: nir down, swir2 up).
//   new reservoir:   circle centre (0.78N, 0.33N), radius 0.035N; forest → water (NDWI < 0 → ~0.5).
// Everything else differs between the dates only by per-pixel noise (±2 % of reflectance).
//
// Determinism: every value is a pure function of (absolute column, row, N, seed, date) built on
// integer hashing and lattice value noise, so bytes never depend on threads or window plans.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "raster/grid.hpp"

namespace qinling::raster {

inline constexpr int kSampleEpsg = 4547;
inline constexpr double kSamplePixelSize = 30.0;
inline constexpr double kSampleCentreLon = 108.9, kSampleCentreLat = 33.9;
inline constexpr int kSceneBands = 8;
inline constexpr double kReflectanceScale = 0.0000275, kReflectanceOffset = -0.2;
inline constexpr float kDemNoData = -9999.0f;
inline constexpr std::array<const char*, 2> kSceneDates = {"2023-07", "2024-07"};
inline constexpr std::array<const char*, kSceneBands> kSceneBandNames = {
    "SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "QA_PIXEL"};

// Landsat Collection 2 QA_PIXEL bits.
namespace qa_bits {
inline constexpr std::uint16_t kFill = 1u << 0, kDilatedCloud = 1u << 1, kCloud = 1u << 3,
                               kCloudShadow = 1u << 4, kSnow = 1u << 5, kClear = 1u << 6, kWater = 1u << 7;
}

// The thermal band (scene_<date>_ST_B10.tif, one per date, added in cache version v3): UInt16
// Landsat C2 ST_B10 DN, kelvin = DN * kThermalScale + kThermalOffset, nodata 0 (fill). July land
// surface temperature: about 34 °C on the plain at 400 m, 6 °C cooler per 1000 m, cooler under
// forest (-5 °C) and shrub, on water (-7 °C) and snow (~ -1 °C); warmer on towns (+5), bare soil
// (+6, the forest clearing after the change), rock (+3) and the burn scar (+9); sunlit slopes
// up to 0.75 °C warmer and shaded ones up to 1.75 °C cooler, ±0.5 °C texture; clouds are cold
// (towards -15 °C with opacity), shadows 4 °C cooler, the dilated ring 1 °C cooler.
inline constexpr double kThermalScale = 0.00341802, kThermalOffset = 149.0;

enum class ChangeKind { kForestClearing, kBurnScar, kNewReservoir };
const char* change_kind_name(ChangeKind kind);

// A known change: a pixel rectangle (`window`) or a disc inside it.
struct ChangeRegion {
  ChangeKind kind{};
  Window window;                                      // bounding box in pixels
  bool circular = false;                              // false: the whole window
  double centre_col = 0, centre_row = 0, radius = 0;  // pixel units; pixel (c,r) has centre (c+.5,r+.5)
  bool contains(int col, int row) const;
  std::int64_t pixel_count() const;
};

struct CloudBlob {
  double col = 0, row = 0, radius = 0;  // pixel units
};

// Pixel counts of QA_PIXEL flags over a window or a whole scene.
struct QaCounts {
  std::int64_t fill = 0, cloud = 0, dilated_cloud = 0, cloud_shadow = 0, snow = 0, water = 0, clear = 0;
  QaCounts& operator+=(const QaCounts& o);
};

// A uniform value in [0, 1) that is a pure function of its arguments: the scene's only source
// of randomness, shared with the sample vectors.
double sample_hash_unit(std::uint64_t seed, std::int64_t a, std::int64_t b);

// The scene model. Cheap to build (a few microseconds); the fill_* calls are thread-safe and
// parallelise internally over the rows of the window.
class SampleScene {
 public:
  SampleScene(int size, std::uint64_t seed);

  int size() const { return size_; }
  std::uint64_t seed() const { return seed_; }
  const std::vector<ChangeRegion>& changes() const { return changes_; }
  const std::vector<CloudBlob>& clouds(int date) const { return clouds_[date]; }
  bool is_fill(int date, int col, int row) const;

  // Elevation (metres) of the w.pixels() pixels of `w`, row-major.
  void fill_dem(const Window& w, float* out) const;
  // All 8 bands of `date` (0 = 2023-07, 1 = 2024-07) for `w`, band after band (band b starts
  // at out + b*w.pixels()). Returns the QA flag counts of the window. With `thermal`, also the
  // Landsat C2 ST_B10 surface temperature DN of the window (see kThermal* below).
  QaCounts fill_scene(int date, const Window& w, std::uint16_t* out, std::uint16_t* thermal = nullptr) const;

 private:
  void elevation_row(int row, int x0, int width, float* out, float* scratch) const;
  void add_warp_row(int row, int x0, int width, float* warp) const;
  QaCounts scene_row(int date, const Window& w, int row, const float* elev_halo, std::uint16_t* out,
                     std::uint16_t* thermal, std::vector<float>& scratch) const;
  void place_clouds();

  int size_;
  std::uint64_t seed_;
  std::vector<ChangeRegion> changes_;
  std::array<std::vector<CloudBlob>, 2> clouds_;
};

}  // namespace qinling::raster
