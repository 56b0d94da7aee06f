// ecology.fvc: fractional vegetation cover by the dimidiate pixel model, with NDVIsoil and NDVIveg
// taken from percentiles of the valid NDVI pixels of the whole layer (a product step: it needs
// the finished NDVI layer for the percentiles, then streams it once more to write FVC).
#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <cmath>

#include "models/errors.hpp"
#include "models/histogram.hpp"
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
  std::vector<std::string> output_formats() const override { return {"cog", "gtiff"}; }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the NDVI step")
        .optional("soil_percentile", &soil_p_, "percentile of valid NDVI taken as bare soil (NDVIsoil)")
        .optional("veg_percentile", &veg_p_, "percentile of valid NDVI taken as full vegetation (NDVIveg)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!ctx.is_step(input_) || ctx.is_product(input_))
      diag.error(line, kp + ".input", "'" + input_ + "' is not a per-pixel step (e.g. an index.ndvi step)");
    if (!(soil_p_ >= 0 && soil_p_ < veg_p_ && veg_p_ <= 100))
      diag.error(line, kp, "needs 0 <= soil_percentile < veg_percentile <= 100");
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void produce(ProductContext& ctx) override {
    const std::string& layer = ctx.rasters.at(input_);
    raster::GridReader reader(ctx.grid);
    reader.add_file(layer, raster::describe_raster(layer), "nearest");
    const raster::BandSource src(layer, 1);
    const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);

    // Pass 1: the histogram of valid NDVI (integer counts: merge order does not matter).
    tbb::enumerable_thread_specific<models::ValueHistogram> local([] { return models::ValueHistogram(-1, 1, kBins); });
    tbb::parallel_for(std::size_t(0), windows.size(), [&](std::size_t i) {
      std::vector<float> v(std::size_t(windows[i].pixels()));
      reader.read(src, windows[i], v.data());
      auto& h = local.local();
      for (float x : v) h.add(x);
    });
    models::ValueHistogram hist(-1, 1, kBins);
    for (const auto& h : local) hist.merge(h);
    if (hist.count() == 0) spdlog::warn("{}: the NDVI layer has no valid pixel; FVC is all nodata", id);
    soil_ = hist.percentile(soil_p_);
    veg_ = hist.percentile(veg_p_);
    if (hist.count() > 0 && !(veg_ > soil_))
      throw InputError(id + ": NDVIveg (" + std::to_string(veg_) + ") is not above NDVIsoil (" + std::to_string(soil_) +
                       "); the scene has no vegetation contrast");
    spdlog::info("{}: NDVIsoil = {:.4f} (P{}), NDVIveg = {:.4f} (P{}) over {} valid pixels", id, soil_, soil_p_, veg_,
                 veg_p_, hist.count());

    // Pass 2: FVC, computed in batches in parallel and written in order.
    std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
    for (const auto& o : ctx.outputs) {
      outs.push_back(std::make_unique<raster::AtomicRasterOutput>(o.path, o.format, o.options, ctx.grid, 1, GDT_Float32,
                                                                  std::vector<double>{NAN}, ctx.threads));
      outs.back()->writer().set_band_description(1, id);
      outs.back()->writer().set_metadata("NDVI_SOIL", fmt::format("{:.8f}", soil_));
      outs.back()->writer().set_metadata("NDVI_VEG", fmt::format("{:.8f}", veg_));
    }
    const std::size_t batch = std::size_t(std::max(1, ctx.threads)) * 2;
    for (std::size_t b = 0; b < windows.size(); b += batch) {
      const std::size_t e = std::min(windows.size(), b + batch);
      std::vector<std::vector<float>> vals(e - b);
      tbb::parallel_for(b, e, [&](std::size_t i) {
        auto& v = vals[i - b];
        v.resize(std::size_t(windows[i].pixels()));
        reader.read(src, windows[i], v.data());
        for (float& x : v) x = models::fvc(x, soil_, veg_);
      });
      for (std::size_t i = b; i < e; ++i)
        for (auto& o : outs) o->writer().write(1, windows[i], vals[i - b].data(), GDT_Float32);
      if (ctx.progress) ctx.progress->update(double(e) / double(windows.size()));
    }
    for (auto& o : outs) o->commit({});
    ctx.results[id] = std::make_pair(soil_, veg_);
  }

 private:
  std::string input_;
  double soil_p_ = 5, veg_p_ = 95;
  double soil_ = NAN, veg_ = NAN;
};

}  // namespace

StepKind fvc_kind() {
  return {"ecology.fvc", "Fractional vegetation cover (dimidiate pixel model)",
          "FVC = (NDVI - NDVIsoil) / (NDVIveg - NDVIsoil) clamped to [0, 1] (Gutman & Ignatov 1998), NDVIsoil and "
          "NDVIveg the soil/veg percentiles of the valid NDVI pixels (within 1e-4). Both are stored as metadata "
          "(NDVI_SOIL, NDVI_VEG) in the output.",
          [] { return std::make_unique<FvcStep>(); }};
}

}  // namespace qinling::pipeline::steps
