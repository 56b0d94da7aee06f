// zones.overlay: which protected zones each cell meets and the share of its area inside each.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "vector/overlay.hpp"
#include "vector/polygons.hpp"

namespace qinling::pipeline::steps {
namespace {

class ZonesOverlayStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return table_formats(); }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the cell-table step to extend")
        .required("zones", &zones_, "vector input with the protected-zone polygons")
        .optional("name_field", &name_field_, "field with the zone name")
        .optional("category_field", &category_field_,
                  "field with the zone category (e.g. national / provincial); "
                  "empty: none");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_table_step(ctx, diag, line, kp, input_, "input", id);
    require_vector_input(ctx, diag, line, kp, zones_, "zones");
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void produce(ProductContext& ctx) override {
    const TablePtr cells = table_result(ctx, input_, id);
    std::vector<std::string> fields{name_field_};
    if (!category_field_.empty()) fields.push_back(category_field_);
    auto layer = vector::read_polygons(ctx.vector_inputs.at(zones_), cells->crs_wkt, fields);
    std::vector<vector::Zone> zones;
    for (std::size_t i = 0; i < layer.shapes.size(); ++i)
      zones.push_back(
          {layer.values[i][0], fields.size() > 1 ? layer.values[i][1] : "", std::move(layer.shapes[i])});
    const auto hits = vector::overlay_zones(*cells->shapes, zones);

    auto table = std::make_shared<vector::CellTable>(*cells);
    auto& names = table->add("zone_names", vector::Column::Type::text).texts;
    auto& cats = table->add("zone_categories", vector::Column::Type::text).texts;
    auto& shares = table->add("zone_shares", vector::Column::Type::text).texts;
    auto& total = table->add("zone_share", vector::Column::Type::real).numbers;
    std::size_t touched = 0;
    char buf[32];
    for (std::size_t c = 0; c < hits.size(); ++c) {
      double sum = 0;
      for (const auto& [k, share] : hits[c]) {
        const char* sep = names[c].empty() ? "" : ";";
        names[c] += sep + zones[k].name;
        cats[c] += sep + zones[k].category;
        std::snprintf(buf, sizeof buf, "%s%.4f", sep, share);
        shares[c] += buf;
        sum += share;
      }
      total[c] = std::min(sum, 1.0);
      touched += !hits[c].empty();
    }
    spdlog::info("{}: {} of {} cells meet one of {} zones", id, touched, hits.size(), zones.size());
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

 private:
  std::string input_, zones_, name_field_ = "name", category_field_ = "level";
};

}  // namespace

StepKind zones_overlay_kind() {
  return {
      "zones.overlay", "Protected zones met by each cell, with area shares",
      "Adds zone_names, zone_categories and zone_shares (';'-separated, in the order of the zone file) and "
      "zone_share (share of the cell inside any zone). Zones are reprojected to the cells' CRS and repaired "
      "with "
      "make-valid when invalid; candidate zones come from a GEOS STRtree.",
      [] { return std::make_unique<ZonesOverlayStep>(); }};
}

}  // namespace qinling::pipeline::steps
