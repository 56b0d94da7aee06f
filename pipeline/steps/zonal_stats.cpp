// zonal.stats: exact coverage-weighted statistics of a raster layer over the cells of a grid.
#include "models/zonal_stats.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "models/errors.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "pipeline/steps/zonal_exchange.hpp"
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

  // Under MPI every rank reads its share of the raster's windows; rank 0 merges the parts.
  bool distributed() const override { return true; }

  void produce(ProductContext& ctx) override {
    const TablePtr cells = table_result(ctx, zones_, id);
    const auto config = models::AccumulatorConfig::from(requests_, int(bins_), range_[0], range_[1]);
    const auto thresholds = threshold_indices(requests_);
    std::string path;
    std::vector<vector::Shape> reprojected;  // the cells in the raster's CRS when it differs
    vector::ZonalOptions options;
    const auto prepare = [&] {
      path = step_input_ ? ctx.rasters.at(input_) : file_.first;
      const raster::RasterInfo info = raster::describe_raster(path);
      if (!raster::same_crs(cells->crs_wkt, info.grid.crs_wkt)) {
        reprojected = *cells->shapes;
        vector::reproject_shapes(reprojected, cells->crs_wkt, info.grid.crs_wkt);
      }
      options.threads = ctx.threads;
      if (ctx.progress)
        options.progress = [&](std::size_t done, std::size_t total) {
          ctx.progress->update(double(done) / double(std::max<std::size_t>(1, total)));
        };
    };
    const int band = step_input_ ? 1 : file_.second;
    const auto shapes = [&]() -> const std::vector<vector::Shape>& {
      return reprojected.empty() ? *cells->shapes : reprojected;
    };
    if (mpi::size() <= 1) {
      prepare();
      const auto acc = vector::zonal_accumulate(path, band, shapes(), config, options);
      auto table = new_table(*cells);
      for (std::size_t c = 0; c < acc.size(); ++c)
        fill_cell(*table, cells->columns.size(), c, acc[c], requests_, thresholds);
      publish(ctx, table);
      return;
    }
    // Under MPI: every rank reads its share of the windows and finishes the cells that lie wholly
    // in it; the partial accumulators of the others go to rank 0. Every stage that can fail on
    // one rank is agreed on before the next exchange, so no rank waits for one that has left.
    std::string mine;
    mpi::collective([&] {
      prepare();
      // Test hook: this rank fails to read its share, as a node that cannot see the layer would.
      if (const char* r = std::getenv("QINLING_TEST_ZONAL_FAIL_RANK"); r && std::atoi(r) == mpi::rank())
        throw InputError(path + ": cannot be read on this rank (QINLING_TEST_ZONAL_FAIL_RANK)");
      options.share = [](const std::vector<std::int64_t>& weights) {
        return mpi::contiguous_share(weights, mpi::rank(), mpi::size());
      };
      auto part = vector::zonal_accumulate_part(path, band, shapes(), config, options);
      std::string finished;
      for (std::size_t i = 0; i < part.complete_cells.size(); ++i)
        put_finished_cell(finished, part.complete_cells[i], part.complete[i], requests_, thresholds);
      part.complete_cells.clear();
      part.complete.clear();
      const std::uint64_t n = finished.size();
      mine.assign(reinterpret_cast<const char*>(&n), sizeof n);
      mine += finished;
      mine += part.to_bytes();
    });
    auto parts = mpi::gather_to_root(std::move(mine));
    std::shared_ptr<vector::CellTable> table;
    mpi::collective([&] {
      if (!mpi::is_root()) return;
      table = new_table(*cells);
      const std::size_t first = cells->columns.size();
      std::vector<std::uint8_t> done(cells->size(), 0);
      vector::ZonalMerge merge(cells->size(), config);
      std::string counts;
      std::size_t total = 0, bytes = 0;
      for (auto& part_bytes : parts) {  // in rank order, each freed once merged
        std::uint64_t n = 0;
        if (part_bytes.size() < sizeof n) throw ProcessingError(id + ": truncated part from a rank");
        std::memcpy(&n, part_bytes.data(), sizeof n);
        if (part_bytes.size() - sizeof n < n) throw ProcessingError(id + ": truncated part from a rank");
        read_finished_cells(part_bytes.substr(sizeof n, n), *table, first, requests_, done);
        auto part = vector::ZonalPart::from_bytes(part_bytes.substr(sizeof n + n), &config);
        counts += (counts.empty() ? "" : ", ") + std::to_string(part.windows_read);
        total += part.windows_read;
        bytes += part_bytes.size();
        std::string().swap(part_bytes);
        merge.add(std::move(part));
      }
      spdlog::info("{}: windows read per rank: {} (of {}); {:.1f} MiB exchanged", id, counts, total,
                   double(bytes) / (1 << 20));
      const auto acc = merge.finish(path, shapes());
      for (std::size_t c = 0; c < acc.size(); ++c)
        if (!done[c]) fill_cell(*table, first, c, acc[c], requests_, thresholds);
      publish(ctx, table);
    });
    // The other ranks get the statistics too: later split steps may read them.
    std::string columns = mpi::is_root() ? columns_to_bytes(*table, cells->columns.size()) : std::string();
    mpi::broadcast(columns);
    if (!mpi::is_root()) ctx.results[id] = TablePtr(table_with_columns(*cells, columns));
  }

 private:
  // A copy of `cells` with one empty column per statistic.
  std::shared_ptr<vector::CellTable> new_table(const vector::CellTable& cells) const {
    auto table = std::make_shared<vector::CellTable>(cells);
    for (const auto& r : requests_)
      table->add(r.column, r.is_text() ? vector::Column::Type::text : vector::Column::Type::real);
    return table;
  }

  void publish(ProductContext& ctx, const std::shared_ptr<vector::CellTable>& table) {
    spdlog::info("{}: {} statistics over {} cells of {}", id, requests_.size(), table->size(), input_);
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

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
      "--threads, nor on the number of MPI ranks the blocks are split between under mpirun.",
      [] { return std::make_unique<ZonalStatsStep>(); }};
}

}  // namespace qinling::pipeline::steps
