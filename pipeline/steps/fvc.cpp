// ecology.fvc: fractional vegetation cover by the dimidiate pixel model, with NDVIsoil and NDVIveg
// taken from percentiles of the valid NDVI pixels of the whole layer (a product step: it needs
// the finished NDVI layer for the percentiles, then streams it once more to write FVC). With
// `elevation_bands`, the end-members are taken per elevation zone of a DEM (vertical zonation).
#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "models/errors.hpp"
#include "models/histogram.hpp"
#include "models/tsan_annotations.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/source.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline::steps {
namespace {

// NDVI in [-1, 1] in bins of 1e-4: percentiles within 1e-4 of the exact order statistic.
constexpr int kBins = 20000;

class FvcStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"cog", "gtiff", "hdf5"}; }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the NDVI step")
        .optional("soil_percentile", &soil_p_, "percentile of valid NDVI taken as bare soil (NDVIsoil)")
        .optional("veg_percentile", &veg_p_, "percentile of valid NDVI taken as full vegetation (NDVIveg)")
        .optional("dem", &dem_, "input band of the DEM for elevation_bands, as input or input.band (default band b1)")
        .optional("elevation_bands", &breaks_,
                  "ascending elevations (DEM units) splitting the scene into zones, each with its own end-members");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!ctx.is_step(input_) || ctx.is_product(input_))
      diag.error(line, kp + ".input", "'" + input_ + "' is not a per-pixel step (e.g. an index.ndvi step)");
    if (!(soil_p_ >= 0 && soil_p_ < veg_p_ && veg_p_ <= 100))
      diag.error(line, kp, "needs 0 <= soil_percentile < veg_percentile <= 100");
    if (breaks_.empty() != dem_.empty())
      diag.error(line, kp + (dem_.empty() ? ".dem" : ".elevation_bands"),
                 "elevation_bands and dem go together: name the DEM input and the zone limits");
    for (std::size_t i = 1; i < breaks_.size(); ++i)
      if (!(breaks_[i] > breaks_[i - 1])) diag.error(line, kp + ".elevation_bands", "must be strictly ascending");
    if (breaks_.size() > 200) diag.error(line, kp + ".elevation_bands", "at most 200 limits");
    if (!dem_.empty()) {
      const std::string key = dem_.find('.') == std::string::npos ? band_key(dem_, "b1") : dem_;
      auto it = ctx.band_files.find(key);
      if (it == ctx.band_files.end()) {
        if (!ctx.unresolved_inputs.count(key.substr(0, key.find('.'))))
          diag.error(line, kp + ".dem", "'" + dem_ + "' is not a raster input band (give `dem: INPUT` or INPUT.BAND)");
      } else {
        dem_file_ = it->second;
      }
    }
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void produce(ProductContext& ctx) override {
    const std::string& layer = ctx.rasters.at(input_);
    raster::GridReader reader(ctx.grid);
    reader.add_file(layer, raster::describe_raster(layer), "nearest");
    const raster::BandSource src(layer, 1);
    const bool zoned = !breaks_.empty();
    const raster::BandSource dem_src(dem_file_.first, dem_file_.second);
    if (zoned) reader.add_file(dem_file_.first, raster::describe_raster(dem_file_.first), "bilinear");
    const std::size_t zones = breaks_.size() + 1;
    const auto zone_of = [&](float e) { return std::size_t(std::upper_bound(breaks_.begin(), breaks_.end(), double(e)) - breaks_.begin()); };
    const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);
    // NDVI of a window, NaN where the DEM is nodata when zoned; zone index per pixel in `z`.
    const auto read = [&](std::size_t i, std::vector<float>& v, std::vector<std::uint8_t>& z) {
      v.resize(std::size_t(windows[i].pixels()));
      reader.read(src, windows[i], v.data());
      z.assign(v.size(), 0);
      if (!zoned) return;
      std::vector<float> e(v.size());
      reader.read(dem_src, windows[i], e.data());
      for (std::size_t j = 0; j < v.size(); ++j) {
        if (std::isnan(e[j])) v[j] = NAN;
        else z[j] = std::uint8_t(zone_of(e[j]));
      }
    };

    // Pass 1: histograms of valid NDVI per zone (integer counts: merge order does not matter).
    using Hists = std::vector<models::ValueHistogram>;
    const auto make = [&] { return Hists(zones, models::ValueHistogram(-1, 1, kBins)); };
    tbb::enumerable_thread_specific<Hists> local(make);
    const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, windows.size()), tsan_loop.each([&](std::size_t i) {
      std::vector<float> v;
      std::vector<std::uint8_t> z;
      read(i, v, z);
      auto& h = local.local();
      for (std::size_t j = 0; j < v.size(); ++j) h[z[j]].add(v[j]);
    }));
    tsan_loop.joined();
    Hists hist = make();
    for (const auto& h : local)
      for (std::size_t k = 0; k < zones; ++k) hist[k].merge(h[k]);
    soil_.assign(zones, NAN);
    veg_.assign(zones, NAN);
    for (std::size_t k = 0; k < zones; ++k) {
      const std::string where = zoned ? " in " + zone_name(k) : "";
      if (hist[k].count() == 0) {
        spdlog::warn("{}: no valid NDVI pixel{}; FVC is nodata there", id, where);
        continue;
      }
      soil_[k] = hist[k].percentile(soil_p_);
      veg_[k] = hist[k].percentile(veg_p_);
      if (!(veg_[k] > soil_[k])) {
        const std::string msg = id + ": NDVIveg (" + std::to_string(veg_[k]) + ") is not above NDVIsoil (" +
                                std::to_string(soil_[k]) + ")" + where + "; no vegetation contrast";
        if (!zoned) throw InputError(msg + " in the scene");
        spdlog::warn("{}; FVC is nodata there", msg);  // a small zone must not stop the others
        soil_[k] = veg_[k] = NAN;
        continue;
      }
      spdlog::info("{}: NDVIsoil = {:.4f} (P{}), NDVIveg = {:.4f} (P{}) over {} valid pixels{}", id, soil_[k], soil_p_,
                   veg_[k], veg_p_, hist[k].count(), where);
    }

    // Pass 2: FVC, computed in batches in parallel and written in order.
    std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
    for (const auto& o : ctx.outputs) {
      outs.push_back(std::make_unique<raster::AtomicRasterOutput>(o.path, o.format, o.options, ctx.grid, 1, GDT_Float32,
                                                                  std::vector<double>{NAN}, ctx.threads));
      auto& w = outs.back()->writer();
      w.set_band_description(1, id);
      if (!zoned) {
        w.set_metadata("NDVI_SOIL", fmt::format("{:.8f}", soil_[0]));
        w.set_metadata("NDVI_VEG", fmt::format("{:.8f}", veg_[0]));
        continue;
      }
      std::string limits;
      for (double b : breaks_) limits += (limits.empty() ? "" : ",") + fmt::format("{}", b);
      w.set_metadata("ELEVATION_BANDS", limits);
      for (std::size_t k = 0; k < zones; ++k) {
        w.set_metadata(fmt::format("NDVI_SOIL_ZONE{}", k), fmt::format("{:.8f}", soil_[k]));
        w.set_metadata(fmt::format("NDVI_VEG_ZONE{}", k), fmt::format("{:.8f}", veg_[k]));
      }
    }
    const std::size_t batch = std::size_t(std::max(1, ctx.threads)) * 2;
    for (std::size_t b = 0; b < windows.size(); b += batch) {
      const std::size_t e = std::min(windows.size(), b + batch);
      std::vector<std::vector<float>> vals(e - b);
      const models::tsan::ForkJoin tsan_loop2;  // TSan marks (models/tsan_annotations.hpp)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(b, e), tsan_loop2.each([&](std::size_t i) {
        auto& v = vals[i - b];
        std::vector<std::uint8_t> z;
        read(i, v, z);
        for (std::size_t j = 0; j < v.size(); ++j) v[j] = models::fvc(v[j], soil_[z[j]], veg_[z[j]]);
      }));
      tsan_loop2.joined();
      for (std::size_t i = b; i < e; ++i)
        for (auto& o : outs) o->writer().write(1, windows[i], vals[i - b].data(), GDT_Float32);
      if (ctx.progress) ctx.progress->update(double(e) / double(windows.size()));
    }
    for (auto& o : outs) o->commit({});
    if (zoned) ctx.results[id] = std::make_pair(soil_, veg_);
    else ctx.results[id] = std::make_pair(soil_[0], veg_[0]);
  }

 private:
  std::string input_;
  double soil_p_ = 5, veg_p_ = 95;
  std::string dem_;
  std::vector<double> breaks_;
  std::pair<std::string, int> dem_file_;
  std::vector<double> soil_, veg_;  // per zone (one zone without elevation_bands)

  std::string zone_name(std::size_t k) const {
    if (k == 0) return fmt::format("zone 0 (below {})", breaks_[0]);
    if (k == breaks_.size()) return fmt::format("zone {} (from {})", k, breaks_[k - 1]);
    return fmt::format("zone {} ({} to {})", k, breaks_[k - 1], breaks_[k]);
  }
};

}  // namespace

StepKind fvc_kind() {
  return {"ecology.fvc", "Fractional vegetation cover (dimidiate pixel model)",
          "FVC = (NDVI - NDVIsoil) / (NDVIveg - NDVIsoil) clamped to [0, 1] (Gutman & Ignatov 1998), NDVIsoil and "
          "NDVIveg the soil/veg percentiles of the valid NDVI pixels (within 1e-4). Both are stored as metadata "
          "(NDVI_SOIL, NDVI_VEG) in the output. With `dem:` and `elevation_bands: [1000, 2000]` the end-members "
          "are taken per elevation zone (below 1000, 1000-2000, from 2000; metadata NDVI_SOIL_ZONE0…, "
          "NDVI_VEG_ZONE0…); pixels without elevation are nodata; a zone without contrast is nodata with a "
          "warning.",
          [] { return std::make_unique<FvcStep>(); }};
}

}  // namespace qinling::pipeline::steps
