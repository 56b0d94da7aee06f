#include "pipeline/input_checks.hpp"

#include <ogr_spatialref.h>

#include <cstdio>
#include <memory>

#include "raster/coord_transform.hpp"

namespace qinling::pipeline {
namespace {

// `b` (in the CRS of `from_wkt`) in the CRS of `to_wkt`, densified along the edges; false when
// PROJ cannot transform it.
bool transform_bounds(const raster::BBox& b, const std::string& from_wkt, const std::string& to_wkt,
                      raster::BBox& out, bool inverse = false) {
  OGRSpatialReference from, to;
  if (from.importFromWkt(from_wkt.c_str()) != OGRERR_NONE || to.importFromWkt(to_wkt.c_str()) != OGRERR_NONE)
    return false;
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  // Released through DestroyCT (raster::TransformPtr), GDAL keeps it for the steps that need the same one.
  // `inverse`: b is in `to_wkt`'s CRS, transformed by the inverse (no second PROJ database search).
  raster::TransformPtr ct(OGRCreateCoordinateTransformation(&from, &to));
  if (ct && inverse) ct.reset(ct->GetInverse());
  const bool ok = ct && ct->TransformBounds(b.xmin, b.ymin, b.xmax, b.ymax, &out.xmin, &out.ymin, &out.xmax,
                                            &out.ymax, 21) == TRUE;
  CPLPopErrorHandler();
  return ok;
}

std::string text(const raster::BBox& b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "[%.6g, %.6g, %.6g, %.6g]", b.xmin, b.ymin, b.xmax, b.ymax);
  return buf;
}

}  // namespace

void check_input_rasters(const Plan& plan, Diagnostics& diag) {
  auto size_text = [](const raster::Grid& g) {
    return std::to_string(g.width) + " x " + std::to_string(g.height);
  };
  auto too_big = [](const raster::Grid& g) { return double(g.width) * double(g.height) > kMaxPixels; };
  if (too_big(plan.grid)) {
    // Name the file the grid was taken from, when it was (its header may simply be corrupt).
    std::string from;
    for (const auto& [path, info] : plan.files)
      if (info.grid.width == plan.grid.width && info.grid.height == plan.grid.height) from = path;
    diag.error(
        plan.job.grid ? plan.job.grid->line : 0, "grid",
        "the analysis grid would be " + size_text(plan.grid) + " pixels" +
            (from.empty() ? "" : " (the size of " + from + ": a corrupt header?)") +
            ", more than one job processes (4e10); set a smaller extent or a coarser resolution under grid:");
    return;
  }
  if (plan.grid.width <= 0 || plan.grid.crs_wkt.empty()) return;
  const raster::BBox g = plan.grid.bounds();
  for (const auto& in : plan.job.inputs) {
    std::vector<std::pair<std::string, int>> files;  // path, line
    if (!in.path.empty()) files.emplace_back(in.path, in.line);
    for (const auto* list : {&in.bands, &in.extra_bands})
      for (const auto& b : *list) files.emplace_back(b.path, b.line);
    for (const auto& [path, line] : files) {
      const auto it = plan.files.find(path);
      if (it == plan.files.end()) continue;
      if (it->second.grid.crs_wkt.empty()) continue;
      // Disjoint seen from both CRSs: one direction alone misjudges files spanning the globe,
      // whose bounds blow up in a projected CRS.
      const raster::BBox fb = it->second.grid.bounds();
      raster::BBox f, gf;
      if (!transform_bounds(fb, it->second.grid.crs_wkt, plan.grid.crs_wkt, f) ||
          !transform_bounds(g, it->second.grid.crs_wkt, plan.grid.crs_wkt, gf, true))
        continue;
      const auto disjoint = [](const raster::BBox& a, const raster::BBox& b) {
        return a.xmax <= b.xmin || a.xmin >= b.xmax || a.ymax <= b.ymin || a.ymin >= b.ymax;
      };
      if (disjoint(f, g) && disjoint(fb, gf)) {
        diag.error(line, "inputs." + in.name,
                   path + " does not overlap the analysis grid (its bounds in the grid's CRS " + text(f) +
                       ", the grid " + text(g) + "); check the file's CRS and the job's grid/extent");
        break;  // once per input
      }
    }
  }
}

}  // namespace qinling::pipeline
