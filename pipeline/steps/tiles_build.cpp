// tiles.build: renders a finished per-pixel layer into tiles for GIS clients (XYZ folders in
// WebMercatorQuad and CGCS2000Quad with TileJSON and WMTS capabilities, MBTiles, PMTiles).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "models/errors.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/ramp_files.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/tiles_command.hpp"
#include "raster/tileset.hpp"

namespace qinling::pipeline::steps {
namespace {

class TilesBuildStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"xyz", "mbtiles", "pmtiles"}; }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "id of the per-pixel step whose finished layer is tiled")
        .optional("ramp", &ramp_name_, "colour ramp: a name from configs/ramps/ (ndvi, change, elevation, "
                                       "alert-levels…) or a .yaml file; default: a blue-green-yellow ramp")
        .optional("range", &range_, "[min, max] of values mapped onto the ramp; default: the ramp's, else statistics")
        .optional("zoom", &zoom_, "zoom levels MIN-MAX (e.g. 6-10); default: from the layer's resolution")
        .optional("matrix_sets", &matrix_sets_, "tile matrix sets: WebMercatorQuad, CGCS2000Quad (Tianditu, EPSG:4490)")
        .choice("tile_format", &tile_format_, {"png", "webp"}, "image format of the tiles")
        .optional("hillshade", &hillshade_, "id of a per-pixel shaded-relief layer (e.g. a terrain.hillshade step of "
                                            "the DEM) multiplied into the ramped colours; default: none")
        .optional("hillshade_strength", &hillshade_strength_, "0..1: how dark the shading gets (1 = full multiply)")
        .optional("name", &name_, "layer name in TileJSON/WMTS/MBTiles; default: the input's id");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!input_.empty() && (!ctx.is_step(input_) || ctx.is_product(input_)))
      diag.error(line, kp + ".input", "'" + input_ + "' is not a per-pixel step of this job (tiles need a layer)");
    if (!hillshade_.empty() && (!ctx.is_step(hillshade_) || ctx.is_product(hillshade_)))
      diag.error(line, kp + ".hillshade", "'" + hillshade_ + "' is not a per-pixel step of this job (e.g. terrain.hillshade)");
    if (!(hillshade_strength_ >= 0 && hillshade_strength_ <= 1))
      diag.error(line, kp + ".hillshade_strength", "expected a number within 0..1");
    if (!range_.empty() && (range_.size() != 2 || !(range_[1] > range_[0])))
      diag.error(line, kp + ".range", "expected [min, max] with min < max");
    try {
      if (!zoom_.empty()) parse_zoom(zoom_, kp + ".zoom");
      for (const auto& m : matrix_sets_) raster::tile_matrix_set(m);
      if (!ramp_name_.empty()) {
        const std::string name = ramp_name_.find('/') != std::string::npos && !ctx.base_dir.empty() &&
                                         std::filesystem::path(ramp_name_).is_relative()
                                     ? ctx.base_dir + "/" + ramp_name_
                                     : ramp_name_;
        ramp_ = load_ramp(name, ramp_search_dirs({ctx.base_dir + "/ramps", ctx.base_dir + "/../configs/ramps"}));
      }
    } catch (const ConfigError& e) {
      diag.error(line, kp, e.what());
    }
  }

  std::vector<std::string> needs() const override {
    if (hillshade_.empty()) return {input_};
    return {input_, hillshade_};
  }

  // Under MPI every rank renders a share of each pyramid's sub-pyramids; rank 0 writes them all.
  bool distributed() const override { return true; }

  void produce(ProductContext& ctx) override {
    raster::TilesetRequest req;
    std::vector<std::string> seen;
    // Under MPI inside the ranks' agreement: a rank may fail here (rank 0 alone checks outputs).
    const auto prepare = [&] { prepare_request(ctx, req, seen); };
    raster::TilesetReport rep =
        mpi::size() > 1 ? build_split(ctx, req, prepare) : (prepare(), raster::build_tileset(req));
    if (!mpi::is_root()) return;
    report(rep);
    ctx.results[id] = std::move(rep);
  }

 private:
  void prepare_request(const ProductContext& ctx, raster::TilesetRequest& req, std::vector<std::string>& seen) const {
    auto it = ctx.rasters.find(input_);
    if (it == ctx.rasters.end()) throw ProcessingError("tiles.build '" + id + "': layer '" + input_ + "' was not written");
    req.source = it->second;
    if (!hillshade_.empty()) {
      auto sh = ctx.rasters.find(hillshade_);
      if (sh == ctx.rasters.end())
        throw ProcessingError("tiles.build '" + id + "': hillshade layer '" + hillshade_ + "' was not written");
      req.hillshade = sh->second;
      req.hillshade_strength = hillshade_strength_;
    }
    req.name = name_.empty() ? input_ : name_;
    req.matrix_sets = matrix_sets_;
    if (!zoom_.empty()) req.zoom = parse_zoom(zoom_, id + ".zoom");
    if (range_.size() == 2) req.range = std::pair{range_[0], range_[1]};
    req.ramp = ramp_;
    req.format = raster::parse_tile_format(tile_format_);
    req.threads = ctx.threads;
    for (const auto& o : ctx.outputs) {
      std::string& slot = o.format == "xyz" ? req.xyz_dir : o.format == "mbtiles" ? req.mbtiles_path : req.pmtiles_path;
      if (!slot.empty()) throw ConfigError("tiles.build '" + id + "': two outputs of format " + o.format);
      slot = o.path;
    }
    const std::size_t sets = req.matrix_sets.size();
    req.progress = [&ctx, &seen, sets](const std::string& label, double f) {
      if (std::find(seen.begin(), seen.end(), label) == seen.end()) seen.push_back(label);
      if (ctx.progress) ctx.progress->update((double(seen.size() - 1) + f) / double(sets));
    };
  }

  void report(const raster::TilesetReport& rep) const {
    for (const auto& s : rep.sets) {
      spdlog::info("{}: {} zoom {}-{}: {} tiles; {}", id, s.id, s.zoom.min, s.zoom.max, s.tiles, describe_render(s));
      if (s.rendered_per_part.empty()) continue;
      std::string counts;
      long long total = 0;
      for (const long long n : s.rendered_per_part) {
        counts += (counts.empty() ? "" : ", ") + std::to_string(n);
        total += n;
      }
      spdlog::info("{}: {} tiles rendered per rank: {} (of {})", id, s.id, counts, total);
    }
  }

  // Test hook: QINLING_TEST_TILES_FAIL_RANK=N makes rank N fail, as a node that cannot read the
  // layer would: while rendering its share, or with QINLING_TEST_TILES_FAIL_AT=setup before it.
  static void test_failure(const std::string& stage, const std::string& source) {
    const char* r = std::getenv("QINLING_TEST_TILES_FAIL_RANK");
    const char* at = std::getenv("QINLING_TEST_TILES_FAIL_AT");
    if (r && std::atoi(r) == mpi::rank() && stage == (at ? at : "share"))
      throw InputError(source + ": cannot be read on this rank (QINLING_TEST_TILES_FAIL_RANK)");
  }

  // Every rank renders its share; the ranks agree once per matrix set (after the parts are
  // written). A rank failing before one of those agreements joins it with its error, so every
  // rank leaves together; rank 0 failing after the last one is agreed by the runner.
  template <class Prepare>
  raster::TilesetReport build_split(const ProductContext& ctx, raster::TilesetRequest& req, Prepare prepare) const {
    req.split.part = mpi::rank();
    req.split.parts = mpi::size();
    req.split.share = [&req](const std::vector<std::int64_t>& weights) {
      test_failure("share", req.source);
      return mpi::contiguous_share(weights, mpi::rank(), mpi::size());
    };
    req.split.part_path = [path = (std::filesystem::path(ctx.out_dir) / (".qinling-tiles-" + id + "-part")).string()](
                              int p) { return path + std::to_string(p); };
    std::size_t waits = 0;
    bool agreeing = false;
    req.split.wait = [&](std::exception_ptr failure) {
      ++waits;
      agreeing = true;
      mpi::agree(failure);
      agreeing = false;
    };
    // Once every rank has agreed on a failure, no rank writes a part any more.
    const auto remove_parts = [&] {
      std::error_code ec;
      if (mpi::is_root())
        for (int p = 1; p < mpi::size(); ++p)
          for (const auto& set : matrix_sets_) std::filesystem::remove(req.split.part_path(p) + "-" + set, ec);
    };
    try {
      prepare();
      test_failure("setup", req.source);
      return raster::build_tileset(req);
    } catch (...) {
      if (!agreeing && waits < matrix_sets_.size()) {
        try {
          mpi::agree(std::current_exception());  // throws on every rank
        } catch (...) {
          remove_parts();
          throw;
        }
      }
      remove_parts();
      throw;
    }
  }

  std::string input_, ramp_name_, zoom_, tile_format_ = "png", name_;
  std::vector<double> range_;
  std::string hillshade_;
  double hillshade_strength_ = 0.6;
  std::vector<std::string> matrix_sets_ = {"WebMercatorQuad", "CGCS2000Quad"};
  std::optional<raster::ColourRamp> ramp_;
};

}  // namespace

StepKind tiles_build_kind() {
  return {"tiles.build", "Tiles for GIS clients (XYZ, MBTiles, PMTiles, TileJSON, WMTS)",
          "Renders a finished layer through a colour ramp (nodata transparent) into a tile pyramid in one pass: "
          "warped once to each tile matrix set at the deepest zoom, lower zooms built from their four children. "
          "Outputs: format xyz (a folder with <set>/{z}/{x}/{y}.png, tilejson.json, WMTSCapabilities.xml), "
          "mbtiles, pmtiles (WebMercatorQuad). Serve them with `qinling serve`. A re-run with the same settings "
          "draws only the tiles whose pixels changed (and resumes what an interrupted run drew). Under MPI "
          "the ranks split each pyramid by sub-pyramid and rank 0 writes the same tiles as one process.",
          [] { return std::make_unique<TilesBuildStep>(); }};
}

}  // namespace qinling::pipeline::steps
