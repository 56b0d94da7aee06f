// grid.load: an existing polygon layer (GeoPackage, GeoJSON, Shapefile) used as supervision cells.
#include <spdlog/spdlog.h>

#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "vector/supervision_grid.hpp"

namespace qinling::pipeline::steps {
namespace {

class GridLoadStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return table_formats(); }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "vector input holding the cell polygons")
        .optional("id_field", &id_field_,
                  "field with the cell IDs (default: cell_id, id or ID, else the feature id)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_vector_input(ctx, diag, line, kp, input_, "input");
  }

  std::vector<std::string> needs() const override { return {}; }

  void produce(ProductContext& ctx) override {
    auto table = std::make_shared<vector::CellTable>(
        vector::load_grid(ctx.vector_inputs.at(input_), id_field_, ctx.grid.crs_wkt));
    spdlog::info("{}: {} cells from {}", id, table->size(), ctx.vector_inputs.at(input_));
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

 private:
  std::string input_, id_field_;
};

}  // namespace

StepKind grid_load_kind() {
  return {
      "grid.load", "Supervision cells from an existing polygon layer",
      "Reads every polygon of a vector input (reprojected to the analysis CRS, invalid ones repaired with "
      "make-valid) as a cell with the ID from id_field. Column: area_m2.",
      [] { return std::make_unique<GridLoadStep>(); }};
}

}  // namespace qinling::pipeline::steps
