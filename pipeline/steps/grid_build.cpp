// grid.build: square supervision cells in a projected CRS, clipped to a region, with stable IDs.
#include <ogr_spatialref.h>
#include <spdlog/spdlog.h>

#include "models/errors.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "raster/source.hpp"
#include "vector/polygons.hpp"
#include "vector/supervision_grid.hpp"

namespace qinling::pipeline::steps {
namespace {

// The analysis grid's extent as a polygon, densified so it survives reprojection.
vector::Shape grid_outline(const raster::Grid& g) {
  std::vector<vector::Point> ring;
  const int n = 32;
  auto edge = [&](double c0, double r0, double c1, double r1) {
    for (int i = 0; i < n; ++i) ring.push_back(g.to_world(c0 + (c1 - c0) * i / n, r0 + (r1 - r0) * i / n));
  };
  edge(0, 0, g.width, 0);
  edge(g.width, 0, g.width, g.height);
  edge(g.width, g.height, 0, g.height);
  edge(0, g.height, 0, 0);
  vector::Shape s;
  s.add_ring(ring, true);
  return s;
}

class GridBuildStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return table_formats(); }

  void declare(OptionBinder& b) override {
    b.optional("cell_size", &cell_size_, "cell edge in metres (100 to 10000)")
        .optional("crs", &crs_, "projected CRS of the cells (EPSG code, PROJ string or WKT)")
        .optional("region", &region_,
                  "vector input whose polygons bound the grid (reprojected, repaired if invalid); "
                  "default: the analysis grid's extent");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!(cell_size_ >= 100 && cell_size_ <= 10000))
      diag.error(line, kp + ".cell_size", "must be between 100 and 10000 metres");
    require_vector_input(ctx, diag, line, kp, region_, "region");
    try {
      wkt_ = raster::crs_to_wkt(crs_);
      OGRSpatialReference srs;
      srs.importFromWkt(wkt_.c_str());
      if (!srs.IsProjected())
        diag.error(line, kp + ".crs", "'" + crs_ + "' is not a projected CRS; cells are squares in metres");
    } catch (const Error& e) {
      diag.error(line, kp + ".crs", e.what());
    }
  }

  std::vector<std::string> needs() const override { return {}; }

  void produce(ProductContext& ctx) override {
    std::vector<vector::Shape> region;
    if (region_.empty()) {
      region.push_back(grid_outline(ctx.grid));
      vector::reproject_shapes(region, ctx.grid.crs_wkt, wkt_);
    } else {
      const std::string& path = ctx.vector_inputs.at(region_);
      auto layer = vector::read_polygons(path, wkt_, {});
      if (layer.shapes.empty()) throw InputError(path + ": has no polygon to use as the region");
      if (layer.repaired > 0)
        spdlog::warn("{}: {} invalid region polygon(s) repaired with make-valid", path, layer.repaired);
      region = std::move(layer.shapes);
    }
    auto table =
        std::make_shared<vector::CellTable>(vector::build_grid(region, wkt_, cell_size_, ctx.threads));
    spdlog::info("{}: {} cells of {} m", id, table->size(), cell_size_);
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

 private:
  double cell_size_ = 1000;
  std::string crs_ = "EPSG:4547", region_, wkt_;
};

}  // namespace

StepKind grid_build_kind() {
  return {"grid.build", "Square supervision cells clipped to a region",
          "Cells aligned to multiples of cell_size in the CRS, so each keeps its ID (<size>m_N<row>_E<col>, "
          "rows and "
          "columns counted from the CRS origin) across runs. Columns: grid_row, grid_col, area_m2 (inside "
          "the region), "
          "region_fraction. Invalid region polygons are repaired with make-valid (a warning names them).",
          [] { return std::make_unique<GridBuildStep>(); }};
}

}  // namespace qinling::pipeline::steps
