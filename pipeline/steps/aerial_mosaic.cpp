// aerial.mosaic: aerial/drone frames (a frames input: glob or list) → co-registered, gain-balanced,
// feather-blended RGBA orthomosaic on the analysis grid, a footprint GeoPackage with per-frame
// registration quality, and optionally the ExG/VARI layers of the mosaic (a product step: it
// needs whole frames, and its optional reference layer finished).
#include <spdlog/spdlog.h>

#include <filesystem>

#include "models/errors.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/aerial_blend.hpp"
#include "raster/aerial_footprints.hpp"
#include "raster/aerial_place.hpp"

namespace qinling::pipeline::steps {
namespace {
namespace fs = std::filesystem;

class AerialMosaicStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"cog", "gtiff", "gpkg"}; }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the frames input (inputs: {frames: {path: \"flight/*.JPG\"}})")
        .optional("reference", &reference_,
                  "register against this layer: an input (its bands averaged, at most 3), an input band "
                  "(scene.SR_B4) or a per-pixel step; empty: against the frames already placed")
        .choice("registration", &registration_, {"features", "none"},
                "features: refine placements; none: georeference only")
        .choice("detector", &reg_.detector, {"orb", "akaze"}, "feature detector")
        .choice("model", &reg_.model, {"similarity", "affine", "homography"}, "transform fitted by RANSAC")
        .optional("max_features", &max_features_, "keypoints per frame")
        .optional("ratio", &reg_.ratio, "Lowe's ratio test threshold")
        .optional("search_px", &reg_.search_px, "how far (grid pixels) a georeference may be off")
        .optional("ransac_px", &reg_.ransac_px, "RANSAC inlier threshold (grid pixels)")
        .optional("min_inliers", &min_inliers_, "fewer inliers: the frame is not registered")
        .choice("unregistered", &unregistered_, {"place", "drop"},
                "a frame that cannot be registered: placed by its georeference (with a warning) or dropped")
        .choice("balance", &balance_, {"gain", "none"}, "gain compensation over overlaps (Brown & Lowe)")
        .optional("feather_power", &blend_.feather_power, "blend weight = (distance to frame edge)^power")
        .optional("indices", &indices_, "visible-band indices written beside the mosaic: exg, vari")
        .optional("frames_crs", &frames_crs_,
                  "CRS of frames with a world file but no .prj (default: the grid's)")
        .optional("focal_mm", &camera_.focal_mm, "EXIF-only frames: focal length (0: EXIF FocalLength)")
        .optional("sensor_width_mm", &camera_.sensor_width_mm, "EXIF-only frames: sensor width")
        .optional("flight_height_m", &camera_.flight_height_m, "EXIF-only frames: flight height above ground")
        .optional("heading_deg", &camera_.heading_deg,
                  "EXIF-only frames: image-top azimuth (default: EXIF GPSImgDirection, else 0)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!ctx.frame_inputs.count(input_)) {
      std::string known;
      for (const auto& [name, files] : ctx.frame_inputs) known += (known.empty() ? "" : ", ") + name;
      diag.error(line, kp + ".input",
                 "'" + input_ +
                     "' is not a frames input; give the input's `path` as a glob or a list, e.g. "
                     "frames: {path: \"flight/*.JPG\"}" +
                     (known.empty() ? "" : " (frames inputs: " + known + ")"));
    }
    reg_.max_features = int(max_features_);
    reg_.min_inliers = int(min_inliers_);
    if (!(max_features_ >= 50)) diag.error(line, kp + ".max_features", "must be at least 50");
    if (!(reg_.ratio > 0 && reg_.ratio <= 1)) diag.error(line, kp + ".ratio", "must be in (0, 1]");
    if (!(reg_.search_px > 0)) diag.error(line, kp + ".search_px", "must be > 0");
    if (!(reg_.ransac_px > 0)) diag.error(line, kp + ".ransac_px", "must be > 0");
    if (!(min_inliers_ >= 4)) diag.error(line, kp + ".min_inliers", "must be at least 4");
    if (!(blend_.feather_power >= 0)) diag.error(line, kp + ".feather_power", "must be >= 0");
    for (const auto& i : indices_)
      if (i != "exg" && i != "vari")
        diag.error(line, kp + ".indices", "unknown index '" + i + "' (known: exg, vari)");
    if (!frames_crs_.empty()) {
      try {
        frames_crs_wkt_ = raster::crs_to_wkt(frames_crs_);
      } catch (const Error& e) {
        diag.error(line, kp + ".frames_crs", e.what());
      }
    }
    ref_bands_.clear();
    ref_step_.clear();
    if (reference_.empty()) return;
    if (ctx.is_step(reference_) && !ctx.is_product(reference_)) {
      ref_step_ = reference_;
    } else if (auto it = ctx.band_files.find(reference_); it != ctx.band_files.end()) {
      ref_bands_.emplace_back(it->second.first, it->second.second);
    } else if (auto in = ctx.input_bands.find(reference_); in != ctx.input_bands.end()) {
      if (in->second.size() > 3)
        diag.error(line, kp + ".reference",
                   "input '" + reference_ + "' has " + std::to_string(in->second.size()) +
                       " bands; name one, e.g. " + reference_ + "." + in->second.front());
      for (const auto& b : in->second)
        if (auto f = ctx.band_files.find(band_key(reference_, b)); f != ctx.band_files.end())
          ref_bands_.emplace_back(f->second.first, f->second.second);
    } else if (!ctx.unresolved_inputs.count(reference_)) {
      diag.error(line, kp + ".reference",
                 "'" + reference_ + "' is not an input, an input band or a per-pixel step");
    }
  }

  std::vector<std::string> needs() const override {
    return ref_step_.empty() ? std::vector<std::string>{} : std::vector<std::string>{ref_step_};
  }

  void produce(ProductContext& ctx) override {
    raster::PlaceOptions po;
    po.registration = reg_;
    po.camera = camera_;
    po.default_crs_wkt = frames_crs_wkt_.empty() ? ctx.grid.crs_wkt : frames_crs_wkt_;
    po.register_frames = registration_ == "features";
    po.drop_unregistered = unregistered_ == "drop";
    po.balance = balance_ == "gain";
    po.threads = ctx.threads;
    raster::ReferenceBands ref = ref_bands_;
    if (!ref_step_.empty()) ref.emplace_back(ctx.rasters.at(ref_step_), 1);
    const auto& paths = ctx.frame_inputs.at(input_);
    if (ctx.progress) ctx.progress->phase(id + ": registering " + std::to_string(paths.size()) + " frames");
    raster::PlaceTimings times;
    const auto frames = raster::place_frames(paths, ctx.grid, ref, po, &times);
    if (ctx.progress) ctx.progress->done();
    std::size_t used = 0, registered = 0;
    for (const auto& f : frames) {
      used += f.used();
      registered += f.status == "registered";
    }
    if (used == 0)
      throw InputError(id + ": none of the " + std::to_string(paths.size()) +
                       " frames can be placed on the grid (see the warnings above)");

    raster::BlendTargets targets;
    std::string gpkg, stem;
    for (const auto& o : ctx.outputs) {
      fs::create_directories(fs::path(o.path).parent_path());
      if (o.format == "gpkg") {
        gpkg = o.path;
      } else {
        targets.rgba.push_back({o.path, o.format, o.options});
        if (stem.empty()) stem = (fs::path(o.path).parent_path() / fs::path(o.path).stem()).string();
      }
    }
    if (stem.empty()) stem = (fs::path(ctx.out_dir) / id).string();
    for (const auto& i : indices_) (i == "exg" ? targets.exg : targets.vari) = stem + "_" + i + ".tif";
    raster::BlendOptions bo = blend_;
    bo.threads = ctx.threads;
    if (ctx.progress) ctx.progress->phase(id + ": blending");
    const double blend_s = raster::blend_mosaic(ctx.grid, frames, targets, bo, [&](double f) {
      if (ctx.progress) ctx.progress->update(f);
    });
    if (!gpkg.empty()) raster::write_footprints(gpkg, ctx.grid, frames);
    for (const auto& p : {targets.exg, targets.vari})
      if (!p.empty()) ctx.outputs.push_back({p, "cog", {}});
    spdlog::info(
        "{}: {} of {} frames used, {} registered; registration {:.3f} s ({:.3f} s/frame), balancing {:.3f} "
        "s, "
        "blending {:.3f} s ({:.3f} s/frame)",
        id, used, frames.size(), registered, times.register_s, times.register_s / double(frames.size()),
        times.balance_s, blend_s, blend_s / double(used));
    ctx.results[id] = frames;
  }

 private:
  std::string input_, reference_, registration_ = "features", unregistered_ = "place", balance_ = "gain";
  std::string frames_crs_, frames_crs_wkt_, ref_step_;
  std::vector<std::string> indices_;
  double max_features_ = 4000, min_inliers_ = 15;
  raster::RegistrationOptions reg_;
  raster::CameraModel camera_;
  raster::BlendOptions blend_;
  raster::ReferenceBands ref_bands_;
};

}  // namespace

StepKind aerial_mosaic_kind() {
  return {
      "aerial.mosaic", "Orthomosaic of aerial/drone frames (registration, gain balance, feather blend)",
      "Places each frame of a frames input by its georeference (GeoTIFF tags; world file + .prj or "
      "frames_crs; "
      "EXIF GPS + camera for nadir photos), refines it with ORB/AKAZE features matched against `reference` "
      "(or "
      "the frames already placed) and a RANSAC similarity/affine/homography, balances gains over overlaps "
      "(Brown & Lowe 2007) and feather-blends the frames into an RGBA mosaic on the analysis grid, streamed "
      "block "
      "row by block row. A `gpkg` output gets the footprints with status, matches, inliers, residual_px/_m, "
      "shift_px and gains. `indices: [exg, vari]` writes <mosaic>_exg.tif / _vari.tif (float32, NaN nodata). "
      "Bad frames (corrupt, no georeference, outside the grid) are dropped with a warning naming them.",
      [] { return std::make_unique<AerialMosaicStep>(); }};
}

}  // namespace qinling::pipeline::steps
