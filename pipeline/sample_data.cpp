#include "pipeline/sample_data.hpp"

#include <cpl_conv.h>
#include <ogr_spatialref.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "raster/aerial_sample.hpp"
#include "raster/sample_scene.hpp"
#include "raster/writer.hpp"
#include "vector/polygons.hpp"
#include "vector/sample_vectors.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
using raster::QaCounts;
using raster::Window;

namespace {

// At most 4 Mpx per window (64 MiB of scene bands): a 512-row block row up to N = 8192, groups
// of blocks beyond. With kTokens windows in flight peak memory stays near 250 MB at any N.
constexpr std::int64_t kWindowPixels = std::int64_t(1) << 22;
// One window being written while the next ones are computed; more only costs memory.
constexpr int kTokens = 3;

// A file written under a hidden temporary name beside its destination (so the rename is
// atomic), removed unless committed.
class StagedFile {
 public:
  explicit StagedFile(const fs::path& destination)
      : final_(destination),
        temp_(destination.parent_path() / ("." + destination.stem().string() + ".partial-" +
                                           std::to_string(::getpid()) + destination.extension().string())) {
    raster::remove_raster_files(temp_.string());  // a stale leftover of a killed run with our pid
  }
  ~StagedFile() {
    if (!committed_) raster::remove_raster_files(temp_.string());
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  std::string temp() const { return temp_.string(); }
  std::string destination() const { return final_.string(); }
  void commit() {
    std::error_code ec;
    fs::rename(temp_, final_, ec);
    if (ec)
      throw ProcessingError(final_.string() + ": cannot move the finished file into place: " + ec.message());
    fs::remove(temp_.string() + ".aux.xml", ec);
    committed_ = true;
  }

 private:
  fs::path final_, temp_;
  bool committed_ = false;
};

std::string checked_compress(const SampleDataOptions& o) {
  std::string c = o.compress;
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return char(std::toupper(ch)); });
  if (c != "DEFLATE" && c != "ZSTD" && c != "NONE")
    throw ConfigError("sample-data: --compress must be DEFLATE, ZSTD or NONE, not '" + o.compress + "'");
  return c;
}

void validate(const SampleDataOptions& o) {
  if (o.dir.empty()) throw ConfigError("sample-data: the destination folder is missing");
  if (o.size < 64 || o.size > 100000)
    throw ConfigError("sample-data: --size must be between 64 and 100000 pixels, not " +
                      std::to_string(o.size));
  if (o.threads < 0) throw ConfigError("sample-data: --threads must be 0 (all cores) or more");
  checked_compress(o);
}

raster::CreationOptions creation_options(const std::string& compress, bool floating, int threads) {
  raster::CreationOptions co{{"TILED", "YES"},
                             {"BLOCKXSIZE", "512"},
                             {"BLOCKYSIZE", "512"},
                             {"INTERLEAVE", "BAND"},
                             {"BIGTIFF", "IF_SAFER"},
                             {"COMPRESS", compress},
                             {"NUM_THREADS", threads > 0 ? std::to_string(threads) : "ALL_CPUS"}};
  // GDAL compresses in its own pool; the encoded tiles are written in submission order, so
  // the bytes still depend only on the order of our writes.
  if (compress != "NONE") co["PREDICTOR"] = floating ? "3" : "2";
  return co;
}

template <class T>
struct WindowJob {
  Window window;
  std::unique_ptr<T[]> data;
  QaCounts counts;
};

// Streams one raster through a three-stage pipeline: windows in a fixed order (serial) →
// compute (parallel, and parallel inside a window) → write (serial, in order). Returns the
// summed QA counts; `done(pixels)` runs after each window is written.
// With `extra`, the fill also writes one more plane (after the `bands` planes) that goes to band 1
// of `extra` (the thermal file beside a scene).
template <class T, class Fill>
QaCounts stream_raster(raster::TiledWriter& writer, int size, int bands, GDALDataType type, const Fill& fill,
                       const std::function<void(std::int64_t)>& done, raster::TiledWriter* extra = nullptr) {
  const int planes = bands + (extra != nullptr ? 1 : 0);
  // One block row per window while it fits the budget (groups of blocks beyond).
  const std::int64_t budget = std::min(kWindowPixels, std::int64_t(size) * writer.block_height());
  const auto windows = raster::plan_windows(size, size, writer.block_width(), writer.block_height(), budget);
  using JobPtr = std::shared_ptr<WindowJob<T>>;
  std::size_t next = 0;
  QaCounts total;
  // TSan marks (models/tsan_annotations.hpp): TBB hands each job from stage to stage and runs a
  // serial stage's calls one after another; `total` is read after the join.
  const models::tsan::ForkJoin fork_join;
  const char read_stage = 0, write_stage = 0;
  tbb::parallel_pipeline(
      kTokens,
      tbb::make_filter<void, JobPtr>(tbb::filter_mode::serial_in_order, [&](tbb::flow_control& fc) -> JobPtr {
        const auto task = fork_join.task();
        const models::tsan::Serial serial(&read_stage);
        if (next == windows.size()) {
          fc.stop();
          return nullptr;
        }
        auto job = std::make_shared<WindowJob<T>>();
        job->window = windows[next++];
        models::tsan::release(job.get());
        return job;
      }) & tbb::make_filter<JobPtr, JobPtr>(tbb::filter_mode::parallel, [&](JobPtr job) {
        const auto task = fork_join.task();
        models::tsan::acquire(job.get());
        const auto n = std::size_t(job->window.pixels());
        job->data = std::make_unique_for_overwrite<T[]>(n * planes);
        job->counts = fill(job->window, job->data.get());
        models::tsan::release(job.get());
        return job;
      }) & tbb::make_filter<JobPtr, void>(tbb::filter_mode::serial_in_order, [&](JobPtr job) {
        const auto task = fork_join.task();
        const models::tsan::Serial serial(&write_stage);
        models::tsan::acquire(job.get());
        const auto n = std::size_t(job->window.pixels());
        for (int b = 0; b < bands; ++b) writer.write(b + 1, job->window, job->data.get() + b * n, type);
        if (extra != nullptr) extra->write(1, job->window, job->data.get() + bands * n, type);
        total += job->counts;
        job->data.reset();  // free before reporting, so a slow callback holds no memory
        done(job->window.pixels());
      }));
  fork_join.joined();
  return total;
}

// The N×N grid of the sample scene: EPSG:kSampleEpsg, 30 m, centred on the Qinling point.
raster::Grid sample_grid(int size) {
  const int epsg = raster::kSampleEpsg;
  OGRSpatialReference wgs84, target;
  if (wgs84.importFromEPSG(4326) != OGRERR_NONE || target.importFromEPSG(epsg) != OGRERR_NONE)
    throw ProcessingError("EPSG:" + std::to_string(epsg) + " is unknown to PROJ (is proj.db installed?)");
  // Easting/northing and lon/lat order, whatever the EPSG axis order says.
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  target.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformation* ct = OGRCreateCoordinateTransformation(&wgs84, &target);
  double x = raster::kSampleCentreLon, y = raster::kSampleCentreLat;
  const bool ok = ct != nullptr && ct->Transform(1, &x, &y);
  OGRCoordinateTransformation::DestroyCT(ct);
  if (!ok) throw ProcessingError("cannot project the sample scene's centre to EPSG:" + std::to_string(epsg));
  const double res = raster::kSamplePixelSize, half = size * res / 2;
  raster::Grid g;
  g.width = g.height = size;
  // Snapped to whole pixels so that grids of any size share one pixel lattice.
  g.geotransform = {std::round((x - half) / res) * res, res, 0, std::round((y + half) / res) * res, 0, -res};
  char* wkt = nullptr;
  target.exportToWkt(&wkt);
  g.crs_wkt = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  return g;
}

nlohmann::ordered_json counts_json(const QaCounts& c) {
  return {{"fill", c.fill},
          {"cloud", c.cloud},
          {"dilated_cloud", c.dilated_cloud},
          {"cloud_shadow", c.cloud_shadow},
          {"snow", c.snow},
          {"water", c.water},
          {"clear", c.clear}};
}

// The known changes as truth.json entries: pixel window, centre/radius, world and lon/lat boxes.
nlohmann::ordered_json changes_json(const raster::SampleScene& scene, const raster::Grid& grid,
                                    const std::vector<vector::SampleZone>& zones) {
  static constexpr const char* kTo[] = {"bare_soil", "burned", "water"};
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& c : scene.changes()) {
    const Window& w = c.window;
    const auto tl = grid.to_world(w.x, w.y), br = grid.to_world(w.x + w.width, w.y + w.height);
    const double cc = c.circular ? c.centre_col : w.x + w.width / 2.0;
    const double cr = c.circular ? c.centre_row : w.y + w.height / 2.0;
    // All four corners: the grid is rotated against meridians (convergence), so two are not enough.
    const auto ll = vector::to_lonlat({tl, br, grid.to_world(w.x + w.width, w.y),
                                       grid.to_world(w.x, w.y + w.height), grid.to_world(cc, cr)},
                                      grid.crs_wkt);
    nlohmann::ordered_json e{{"kind", raster::change_kind_name(c.kind)},
                             {"from", "forest"},
                             {"to", kTo[int(c.kind)]},
                             {"shape", c.circular ? "circle" : "rectangle"},
                             {"window", {{"x", w.x}, {"y", w.y}, {"width", w.width}, {"height", w.height}}},
                             {"centre_px", {cc, cr}}};
    if (c.circular) e["radius_px"] = c.radius;
    e["bbox"] = {tl[0], br[1], br[0], tl[1]};
    const auto [lon0, lon1] = std::minmax({ll[0][0], ll[1][0], ll[2][0], ll[3][0]});
    const auto [lat0, lat1] = std::minmax({ll[0][1], ll[1][1], ll[2][1], ll[3][1]});
    e["bbox_lonlat"] = {lon0, lat0, lon1, lat1};
    e["centre_lonlat"] = {ll[4][0], ll[4][1]};
    e["pixel_count"] = c.pixel_count();
    e["area_m2"] = double(c.pixel_count()) * raster::kSamplePixelSize * raster::kSamplePixelSize;
    e["protected_zone_id"] = nullptr;
    for (const auto& z : zones)
      if (vector::ring_contains(z.ring, cc, cr)) e["protected_zone_id"] = z.zone_id;
    out.push_back(e);
  }
  return out;
}

nlohmann::ordered_json truth_json(const SampleDataOptions& o, const raster::SampleScene& scene,
                                  const raster::Grid& grid, const std::vector<vector::SampleZone>& zones,
                                  const std::array<QaCounts, 2>& qa) {
  const auto b = grid.bounds();
  nlohmann::ordered_json t{
      {"generator", "qinling sample-data"}, {"version", 1}, {"seed", o.seed}, {"size", o.size}};
  t["grid"] = {{"crs", "EPSG:" + std::to_string(raster::kSampleEpsg)},
               {"width", grid.width},
               {"height", grid.height},
               {"pixel_size", raster::kSamplePixelSize},
               {"geotransform", grid.geotransform},
               {"bbox", {b.xmin, b.ymin, b.xmax, b.ymax}},
               {"centre_lonlat", {raster::kSampleCentreLon, raster::kSampleCentreLat}}};
  t["reflectance"] = {{"scale", raster::kReflectanceScale}, {"offset", raster::kReflectanceOffset}};
  t["bands"] = raster::kSceneBandNames;
  t["qa_bits"] = {{"fill", 0}, {"dilated_cloud", 1}, {"cloud", 3}, {"cloud_shadow", 4},
                  {"snow", 5}, {"clear", 6},         {"water", 7}};
  t["changes"] = changes_json(scene, grid, zones);
  for (int d = 0; d < 2; ++d) {
    auto blobs = nlohmann::ordered_json::array();
    for (const auto& c : scene.clouds(d))
      blobs.push_back({{"col", c.col}, {"row", c.row}, {"radius", c.radius}});
    t["dates"][raster::kSceneDates[d]] = {{"file", std::string("scene_") + raster::kSceneDates[d] + ".tif"},
                                          {"cloud_blobs", blobs},
                                          {"qa_counts", counts_json(qa[d])}};
  }
  auto zj = nlohmann::ordered_json::array();
  for (const auto& z : zones) zj.push_back({{"zone_id", z.zone_id}, {"name", z.name}, {"level", z.level}});
  t["protected_zones"] = zj;
  return t;
}

}  // namespace

SampleDataResult generate_sample_data(const SampleDataOptions& options,
                                      const std::function<void(double)>& progress) {
  validate(options);
  const std::string compress = checked_compress(options);
  raster::init_gdal();
  const fs::path dir = fs::absolute(options.dir).lexically_normal();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw ProcessingError(dir.string() + ": cannot create the folder: " + ec.message());

  const int n = options.size;
  const raster::Grid grid = sample_grid(n);
  const raster::SampleScene scene(n, options.seed);
  const auto report = [&](double f) {
    if (progress) progress(std::clamp(f, 0.0, 1.0));
  };
  // Progress is weighted by bytes: 4 per DEM pixel, 16 per scene pixel, 2 per thermal pixel.
  const double total_units = 40.0 * double(n) * n;
  double done_units = 0;
  report(0);

  std::vector<std::unique_ptr<StagedFile>> staged;
  const auto stage = [&](const std::string& name) -> StagedFile& {
    staged.push_back(std::make_unique<StagedFile>(dir / name));
    return *staged.back();
  };
  tbb::task_arena arena(options.threads > 0 ? options.threads : tbb::task_arena::automatic);
  {
    StagedFile& file = stage("dem.tif");
    raster::TiledWriter writer(file.temp(), grid, 1, GDT_Float32,
                               creation_options(compress, true, options.threads), {raster::kDemNoData});
    writer.set_band_description(1, "elevation");
    writer.dataset()->GetRasterBand(1)->SetUnitType("m");
    arena.execute([&] {
      stream_raster<float>(
          writer, n, 1, GDT_Float32,
          [&](const Window& w, float* out) {
            scene.fill_dem(w, out);
            return QaCounts{};
          },
          [&](std::int64_t px) { report((done_units += 4.0 * double(px)) / total_units); });
    });
    writer.close();
  }
  std::array<QaCounts, 2> qa;
  for (int date = 0; date < 2; ++date) {
    StagedFile& file = stage(std::string("scene_") + raster::kSceneDates[date] + ".tif");
    raster::TiledWriter writer(file.temp(), grid, raster::kSceneBands, GDT_UInt16,
                               creation_options(compress, false, options.threads), {0});
    // The surface temperature beside the scene, as Landsat C2 delivers ST_B10 (a separate file).
    StagedFile& st_file = stage(std::string("scene_") + raster::kSceneDates[date] + "_ST_B10.tif");
    raster::TiledWriter st_writer(st_file.temp(), grid, 1, GDT_UInt16, creation_options(compress, false, options.threads),
                                  {0});
    st_writer.set_band_description(1, "ST_B10");
    st_writer.dataset()->GetRasterBand(1)->SetScale(raster::kThermalScale);
    st_writer.dataset()->GetRasterBand(1)->SetOffset(raster::kThermalOffset);
    st_writer.dataset()->GetRasterBand(1)->SetUnitType("K");
    st_writer.set_metadata("ACQUISITION_MONTH", raster::kSceneDates[date]);
    st_writer.set_metadata("SENSOR", "synthetic Landsat 8 TIRS, Collection 2 Level-2 ST_B10 layout");
    // GeoTIFF keeps one nodata value per file: 0 (SR fill). QA_PIXEL never holds 0; its fill is bit 0.
    for (int b = 1; b <= raster::kSceneBands; ++b) {
      writer.set_band_description(b, raster::kSceneBandNames[b - 1]);
      if (b == raster::kSceneBands) continue;
      writer.dataset()->GetRasterBand(b)->SetScale(raster::kReflectanceScale);
      writer.dataset()->GetRasterBand(b)->SetOffset(raster::kReflectanceOffset);
    }
    writer.set_metadata("ACQUISITION_MONTH", raster::kSceneDates[date]);
    writer.set_metadata("SENSOR", "synthetic Landsat 8 OLI, Collection 2 Level-2 layout");
    arena.execute([&] {
      qa[date] = stream_raster<std::uint16_t>(
          writer, n, raster::kSceneBands, GDT_UInt16,
          [&](const Window& w, std::uint16_t* out) {
            return scene.fill_scene(date, w, out, out + std::size_t(raster::kSceneBands) * std::size_t(w.pixels()));
          },
          [&](std::int64_t px) { report((done_units += 18.0 * double(px)) / total_units); }, &st_writer);
    });
    writer.close();
    st_writer.close();
  }

  const auto zones = vector::sample_zones(n, options.seed);
  vector::write_boundary_geojson(stage("boundary.geojson").temp(), grid,
                                 vector::sample_boundary(n, options.seed));
  vector::write_zones_geojson(stage("protected_zones.geojson").temp(), grid, zones);
  {
    StagedFile& file = stage("truth.json");
    std::ofstream out(file.temp(), std::ios::binary);
    out << truth_json(options, scene, grid, zones, qa).dump(2) << '\n';
    out.close();
    if (!out) throw ProcessingError(file.temp() + ": cannot write truth.json");
  }

  // Everything is complete: move it into place, truth.json last.
  SampleDataResult result;
  for (auto& f : staged) {
    f->commit();
    result.files.push_back(f->destination());
  }
  // Aerial frames (issue 7), cut from an RGB rendering of the 2024-07 scene, in their own folder.
  for (auto& f : raster::write_aerial_sample((dir / "aerial").string(), (dir / "scene_2024-07.tif").string(), options.seed))
    result.files.push_back(std::move(f));
  report(1);
  return result;
}

}  // namespace qinling::pipeline
