// The built-in step kinds and small helpers they share.
#pragma once

#include "pipeline/step.hpp"

namespace qinling::pipeline::steps {

// index.ndvi, index.evi, … (pipeline/steps/indices.cpp)
void add_index_kinds(StepRegistry& registry);
// terrain.slope, terrain.aspect, terrain.hillshade (pipeline/steps/terrain.cpp)
void add_terrain_kinds(StepRegistry& registry);
StepKind calc_kind();
// change.dndvi, change.dnbr, change.classes (pipeline/steps/change.cpp)
void add_change_kinds(StepRegistry& registry);
// composite.median, .mean, .max, .count, .max_ndvi (pipeline/steps/composite.cpp)
void add_composite_kinds(StepRegistry& registry);
StepKind fvc_kind();  // pipeline/steps/fvc.cpp
StepKind rsei_kind();  // pipeline/steps/rsei.cpp
StepKind mmu_kind();   // pipeline/steps/change_mmu.cpp
// index.tasseled_cap, ecology.lst (pipeline/steps/rsei_inputs.cpp)
void add_rsei_input_kinds(StepRegistry& registry);
StepKind tiles_build_kind();  // pipeline/steps/tiles_build.cpp
// The supervision grid (pipeline/steps/grid_build.cpp, grid_load.cpp, zonal_stats.cpp, zones_overlay.cpp,
// supervision_alerts.cpp).
StepKind grid_build_kind();
StepKind grid_load_kind();
StepKind zonal_stats_kind();
StepKind zones_overlay_kind();
StepKind supervision_alerts_kind();
StepKind zonal_points_kind();  // pipeline/steps/zonal_points.cpp
// Meteorology (pipeline/steps/met_downscale.cpp, met_stations.cpp, met_verify.cpp).
StepKind met_downscale_kind();
StepKind met_stations_kind();
StepKind met_verify_kind();
StepKind met_regrid_kind();  // met_regrid.cpp

StepKind aerial_mosaic_kind();  // pipeline/steps/aerial_mosaic.cpp (issue 7)

// Reports an error unless `input` is a job input with a band named `band` (`role` names the option).
void require_input_band(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& key_path,
                        const std::string& input, const std::string& band, const std::string& role);

}  // namespace qinling::pipeline::steps
