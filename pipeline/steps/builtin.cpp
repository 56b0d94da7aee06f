#include "pipeline/steps/builtin.hpp"

#include <algorithm>

namespace qinling::pipeline {

void register_builtin_steps(StepRegistry& registry) {
  steps::add_index_kinds(registry);
  steps::add_terrain_kinds(registry);
  registry.add(steps::calc_kind());
  steps::add_change_kinds(registry);
  steps::add_composite_kinds(registry);
  registry.add(steps::fvc_kind());
  registry.add(steps::rsei_kind());
  registry.add(steps::mmu_kind());
  steps::add_rsei_input_kinds(registry);
  registry.add(steps::tiles_build_kind());
  registry.add(steps::grid_build_kind());
  registry.add(steps::grid_load_kind());
  registry.add(steps::zonal_stats_kind());
  registry.add(steps::zones_overlay_kind());
  registry.add(steps::supervision_alerts_kind());
  registry.add(steps::zonal_points_kind());
  registry.add(steps::met_downscale_kind());
  registry.add(steps::met_stations_kind());
  registry.add(steps::met_verify_kind());
  registry.add(steps::met_regrid_kind());
  registry.add(steps::aerial_mosaic_kind());
}

namespace steps {

void require_input_band(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp,
                        const std::string& input, const std::string& band, const std::string& role) {
  if (input.empty() || ctx.unresolved_inputs.count(input)) return;  // already reported
  auto it = ctx.input_bands.find(input);
  if (it == ctx.input_bands.end()) {
    std::string known;
    for (const auto& [name, bands] : ctx.input_bands) known += (known.empty() ? "" : ", ") + name;
    diag.error(line, kp + ".input", "unknown input '" + input + "' (inputs: " + known + ")");
    return;
  }
  const auto& bands = it->second;
  if (std::find(bands.begin(), bands.end(), band) == bands.end()) {
    std::string known;
    for (const auto& b : bands) known += (known.empty() ? "" : ", ") + b;
    diag.error(line, kp + "." + role,
               "input '" + input + "' has no band named '" + band + "' (its bands: " + known +
                   "); name it under inputs." + input + ".bands or set `" + role + ":`");
  }
}

}  // namespace steps
}  // namespace qinling::pipeline
