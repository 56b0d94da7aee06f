// met.regrid: one band of a weather file (any CRS, often a global lon/lat grid) onto the analysis
// grid by nearest, bilinear, cubic or conservative area average, with our own kernels so that 0–360°
// grids, cropping and the area weights on the sphere are under our control (raster/regrid.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/met_common.hpp"
#include "raster/regrid.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline::steps {
namespace {

class RegridStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"cog", "gtiff", "hdf5"}; }

  void declare(OptionBinder& b) override {
    b.required("source", &source_, "the field to regrid: an input (or input.band), read from its own file")
        .choice("method", &method_, {"nearest", "bilinear", "cubic", "conservative"},
                "nearest | bilinear | cubic (Keys a=-0.5) | conservative (area average; keeps totals)")
        .optional("samples", &samples_, "conservative: sub-cells per target cell side (0: automatic, 2..32)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    ref_ = resolve_layer(ctx, diag, line, kp, "source", source_);
    if (ref_.is_step)
      diag.error(
          line, kp + ".source",
          "'" + source_ + "' is a step, already on the analysis grid; met.regrid reads an input's own file");
    if (!(samples_ >= 0 && samples_ <= 64 && samples_ == std::floor(samples_)))
      diag.error(line, kp + ".samples", "must be a whole number from 0 to 64");
  }

  std::vector<std::string> needs() const override { return {}; }

  void produce(ProductContext& ctx) override {
    const raster::BandSource src = layer_source(ref_, ctx);
    const raster::Regridder rg(src, ctx.grid, raster::parse_regrid_method(method_), int(samples_));
    const auto& lat = rg.lattice();
    spdlog::info(
        "{}: {} regrid of {} ({}×{} source cells read of {}×{}{}{})", id, method_, src.path, lat.width,
        lat.height, lat.full_width, lat.full_height, lat.wrap_x ? ", global in longitude" : "",
        method_ == "conservative" ? fmt::format(", {}×{} samples per cell", rg.samples(), rg.samples()) : "");
    std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
    for (const auto& o : ctx.outputs) {
      outs.push_back(std::make_unique<raster::AtomicRasterOutput>(
          o.path, o.format, o.options, ctx.grid, 1, GDT_Float32, std::vector<double>{NAN}, ctx.threads));
      auto& w = outs.back()->writer();
      w.set_band_description(1, id);
      w.set_metadata("REGRID_METHOD", method_);
      w.set_metadata("REGRID_SOURCE", src.path);
    }
    const auto windows =
        raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 2048);
    const std::size_t batch = std::size_t(std::max(1, ctx.threads)) * 2;
    for (std::size_t b = 0; b < windows.size(); b += batch) {
      const std::size_t e = std::min(windows.size(), b + batch);
      std::vector<std::vector<float>> vals(e - b);
      const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(b, e), tsan_loop.each([&](std::size_t i) {
        vals[i - b].resize(std::size_t(windows[i].pixels()));
        rg.regrid(windows[i], vals[i - b].data());
      }));
      tsan_loop.joined();
      for (std::size_t i = b; i < e; ++i)
        for (auto& o : outs) o->writer().write(1, windows[i], vals[i - b].data(), GDT_Float32);
      if (ctx.progress) ctx.progress->update(double(e) / double(windows.size()));
    }
    for (auto& o : outs) o->commit({});
    if (!ctx.outputs.empty()) ctx.results[id] = ctx.outputs.front().path;
  }

 private:
  std::string source_, method_ = "bilinear";
  double samples_ = 0;
  LayerRef ref_;
};

}  // namespace

StepKind met_regrid_kind() {
  return {
      "met.regrid", "A weather field onto the analysis grid: nearest, bilinear, cubic or conservative",
      "Reads one band of an input from its own file (any CRS; a GRIB/NetCDF band picked with select:), crops "
      "it "
      "to the region and samples it at each analysis cell: nearest, bilinear or cubic (GDAL's conventions: "
      "pixel centres at +0.5, missing neighbours left out) at the cell centre, or conservative: the "
      "area-weighted mean over the cell (n × n sub-cells weighted by their area on the sphere), so that "
      "Σ value × cell area (a precipitation volume) is kept. Global longitude grids (0–360° or −180–180°) "
      "wrap around the antimeridian.",
      [] { return std::make_unique<RegridStep>(); }};
}

}  // namespace qinling::pipeline::steps
