// zonal.stats: exact coverage-weighted statistics of a raster layer over the cells of a grid.
#include "models/zonal_stats.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "models/errors.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "raster/source.hpp"
#include "vector/polygons.hpp"
#include "vector/zonal.hpp"

namespace qinling::pipeline::steps {
namespace {

class ZonalStatsStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return table_formats(); }

  void declare(OptionBinder& b) override {
    b.required("input", &input_,
               "a pixel step id, or an input band as input.band (or an input with one band)")
        .required("zones", &zones_,
                  "the cell-table step whose cells are the zones (grid.build, grid.load, …)")
        .required("stats", &stats_, "statistics: " + models::stat_names())
        .optional("prefix", &prefix_, "text put before every column name (e.g. ndvi_)")
        .optional("range", &range_, "value range of the histogram behind median/percentiles of large cells")
        .optional("bins", &bins_,
                  "histogram bins behind median/percentiles (cells with fewer pixels are exact)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_table_step(ctx, diag, line, kp, zones_, "zones", id);
    requests_.clear();
    for (const auto& s : stats_) {
      try {
        auto r = models::parse_stat(s);
        r.column = prefix_ + r.column;
        requests_.push_back(r);
      } catch (const Error& e) {
        diag.error(line, kp + ".stats", e.what());
      }
    }
    for (std::size_t i = 0; i < requests_.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (requests_[i].column == requests_[j].column)
          diag.error(line, kp + ".stats",
                     "two statistics write column '" + requests_[i].column + "'; name one (name=stat)");
    if (range_.size() != 2 || !(range_[1] > range_[0]))
      diag.error(line, kp + ".range", "must be [min, max] with min < max");
    if (!(bins_ >= 2 && bins_ <= 65536)) diag.error(line, kp + ".bins", "must be between 2 and 65536");
    // The layer: a pixel step, or a band of an input read directly.
    step_input_ = ctx.is_step(input_) && !ctx.is_product(input_);
    if (step_input_ || input_.empty()) return;
    if (ctx.is_product(input_)) {
      diag.error(line, kp + ".input", "'" + input_ + "' is a product, not a raster layer");
      return;
    }
    std::string key = input_;
    if (ctx.is_input(input_)) {
      const auto& bands = ctx.input_bands.at(input_);
      if (bands.size() != 1) {
        diag.error(line, kp + ".input",
                   "input '" + input_ + "' has several bands; name one as " + input_ + "." +
                       (bands.empty() ? "b1" : bands.front()));
        return;
      }
      key = band_key(input_, bands.front());
    }
    auto it = ctx.band_files.find(key);
    if (it == ctx.band_files.end()) {
      diag.error(line, kp + ".input",
                 "'" + input_ + "' is neither a pixel step nor an input band (input.band)");
      return;
    }
    file_ = it->second;
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> n{zones_};
    if (step_input_) n.push_back(input_);
    return n;
  }

  void produce(ProductContext& ctx) override {
    const TablePtr cells = table_result(ctx, zones_, id);
    const auto [path, band] = step_input_ ? std::pair<std::string, int>{ctx.rasters.at(input_), 1} : file_;
    const raster::RasterInfo info = raster::describe_raster(path);
    const std::vector<vector::Shape>* shapes = cells->shapes.get();
    std::vector<vector::Shape> reprojected;
    if (!raster::same_crs(cells->crs_wkt, info.grid.crs_wkt)) {
      reprojected = *cells->shapes;
      vector::reproject_shapes(reprojected, cells->crs_wkt, info.grid.crs_wkt);
      shapes = &reprojected;
    }
    const auto config = models::AccumulatorConfig::from(requests_, int(bins_), range_[0], range_[1]);
    vector::ZonalOptions options;
    options.threads = ctx.threads;
    if (ctx.progress)
      options.progress = [&](std::size_t done, std::size_t total) {
        ctx.progress->update(double(done) / total);
      };
    const auto acc = vector::zonal_accumulate(path, band, *shapes, config, options);
    spdlog::info("{}: {} statistics over {} cells of {}", id, requests_.size(), cells->size(), input_);

    auto table = std::make_shared<vector::CellTable>(*cells);
    std::size_t above = 0, below = 0;
    for (const auto& r : requests_) {
      const std::size_t ti = r.kind == models::StatKind::frac_above
                                 ? above++
                                 : (r.kind == models::StatKind::frac_below ? below++ : 0);
      if (r.is_text()) {
        auto& col = table->add(r.column, vector::Column::Type::text);
        for (std::size_t c = 0; c < acc.size(); ++c) col.texts[c] = acc[c].finish_text(r);
      } else {
        auto& col = table->add(r.column, vector::Column::Type::real);
        for (std::size_t c = 0; c < acc.size(); ++c) col.numbers[c] = acc[c].finish(r, ti);
      }
    }
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

 private:
  std::string input_, zones_, prefix_;
  std::vector<std::string> stats_;
  std::vector<double> range_{-1, 1};
  double bins_ = 256;
  std::vector<models::StatRequest> requests_;
  bool step_input_ = false;
  std::pair<std::string, int> file_;
};

}  // namespace

StepKind zonal_stats_kind() {
  return {
      "zonal.stats", "Exact coverage-weighted statistics of a raster over grid cells",
      "Each pixel counts with the share of its area inside the cell (computed from the cell boundary, like "
      "exactextract). One parallel pass over the raster blocks; memory bounded by the number of cells. "
      "Nodata "
      "pixels and parts of a cell outside the raster lower valid_fraction. median/pNN are exact for cells "
      "with "
      "fewer than bins/2 pixels and histogram-based (range, bins) beyond. Results do not depend on "
      "--threads.",
      [] { return std::make_unique<ZonalStatsStep>(); }};
}

}  // namespace qinling::pipeline::steps
