// change.mmu: a minimum mapping unit for class layers — 8-connected patches of one class value
// smaller than `min_pixels` become background (no change) or nodata. Two streamed passes over
// block rows (models/patches.hpp), so memory does not grow with the raster's height.
#include <spdlog/spdlog.h>

#include <cmath>

#include "models/errors.hpp"
#include "models/patches.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/source.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline::steps {
namespace {

class MmuStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the class layer (e.g. a change.classes or raster.calc step)")
        .optional("min_pixels", &min_pixels_, "patches with fewer pixels than this are removed")
        .optional("background", &background_,
                  "the no-change value: never a patch, and what removed patches become")
        .choice("replace", &replace_, {"background", "nodata"}, "what removed patches become");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!ctx.is_step(input_) || ctx.is_product(input_))
      diag.error(line, kp + ".input", "'" + input_ + "' is not a per-pixel step of this job");
    if (!(min_pixels_ >= 1) || min_pixels_ != std::floor(min_pixels_) || min_pixels_ > 4e9)
      diag.error(line, kp + ".min_pixels", "must be a whole number of pixels >= 1");
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void produce(ProductContext& ctx) override {
    const std::string& layer = ctx.rasters.at(input_);
    raster::GridReader reader(ctx.grid);
    reader.add_file(layer, raster::describe_raster(layer), "nearest");
    const raster::BandSource src(layer, 1);
    const int w = ctx.grid.width, block = 512;
    const auto strips = raster::plan_windows(w, ctx.grid.height, block, block, std::int64_t(w) * block);
    models::PatchLabeller labeller(w, background_);
    std::vector<float> v;
    for (std::size_t i = 0; i < strips.size(); ++i) {
      v.resize(std::size_t(strips[i].pixels()));
      reader.read(src, strips[i], v.data());
      for (int r = 0; r < strips[i].height; ++r) labeller.count_row(v.data() + std::size_t(r) * w);
      if (ctx.progress) ctx.progress->update(0.5 * double(i + 1) / double(strips.size()));
    }
    labeller.finish();

    std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
    for (const auto& o : ctx.outputs) {
      outs.push_back(std::make_unique<raster::AtomicRasterOutput>(
          o.path, o.format, o.options, ctx.grid, 1, GDT_Float32, std::vector<double>{NAN}, ctx.threads));
      outs.back()->writer().set_band_description(1, id);
      outs.back()->writer().set_metadata("MIN_PIXELS", std::to_string(std::int64_t(min_pixels_)));
    }
    const float repl = replace_ == "nodata" ? NAN : float(background_);
    const auto min = std::uint32_t(min_pixels_);
    std::vector<std::uint32_t> sizes(static_cast<std::size_t>(w));
    std::int64_t removed = 0;
    for (std::size_t i = 0; i < strips.size(); ++i) {
      v.resize(std::size_t(strips[i].pixels()));
      reader.read(src, strips[i], v.data());
      for (int r = 0; r < strips[i].height; ++r) {
        float* row = v.data() + std::size_t(r) * w;
        labeller.size_row(row, sizes.data());
        for (int c = 0; c < w; ++c)
          if (sizes[c] > 0 && sizes[c] < min) row[c] = repl, ++removed;
      }
      for (auto& o : outs) o->writer().write(1, strips[i], v.data(), GDT_Float32);
      if (ctx.progress) ctx.progress->update(0.5 + 0.5 * double(i + 1) / double(strips.size()));
    }
    for (auto& o : outs) o->commit({});
    spdlog::info("{}: {} pixel(s) in patches under {} pixels removed ({} provisional labels)", id, removed,
                 std::int64_t(min_pixels_), labeller.labels());
    ctx.results[id] = removed;
  }

 private:
  std::string input_, replace_ = "background";
  double min_pixels_ = 1, background_ = 0;
};

}  // namespace

StepKind mmu_kind() {
  return {
      "change.mmu", "Minimum mapping unit for class layers",
      "Removes 8-connected patches of one class value with fewer than min_pixels pixels: they become the "
      "background value (default 0, no change) or nodata (replace: nodata). Background and nodata pixels are "
      "never patches. Unlike gdal_sieve.py, removed patches are not merged into a neighbour.",
      [] { return std::make_unique<MmuStep>(); }};
}

}  // namespace qinling::pipeline::steps
