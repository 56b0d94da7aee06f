#include "raster/aerial_footprints.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::raster {
namespace fs = std::filesystem;

void write_footprints(const std::string& path, const Grid& grid, const std::vector<PlacedFrame>& frames) {
  init_gdal();
  const fs::path dest(path);
  const std::string tmp =
      (dest.parent_path() / ("." + dest.stem().string() + ".partial-" + std::to_string(::getpid()) + ".gpkg"))
          .string();
  fs::remove(tmp);
  ErrorTrap trap;
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GPKG");
  if (drv == nullptr) throw ProcessingError(path + ": GDAL has no GeoPackage driver");
  {
    DatasetPtr ds(drv->Create(tmp.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    if (!ds) throw ProcessingError(path + ": cannot create the footprint layer: " + trap.message());
    OGRSpatialReference srs;
    srs.importFromWkt(grid.crs_wkt.c_str());
    OGRLayer* layer = ds->CreateLayer("footprints", &srs, wkbPolygon, nullptr);
    if (layer == nullptr) throw ProcessingError(path + ": cannot create the layer: " + trap.message());
    const std::pair<const char*, OGRFieldType> fields[] = {
        {"frame", OFTString},    {"status", OFTString},    {"source", OFTString},   {"matches", OFTInteger},
        {"inliers", OFTInteger}, {"residual_px", OFTReal}, {"residual_m", OFTReal}, {"shift_px", OFTReal},
        {"gain_r", OFTReal},     {"gain_g", OFTReal},      {"gain_b", OFTReal},     {"note", OFTString}};
    for (const auto& [name, type] : fields) {
      OGRFieldDefn def(name, type);
      layer->CreateField(&def);
    }
    const double res = std::abs(grid.resolution_x());
    if (layer->StartTransaction() != OGRERR_NONE)
      throw ProcessingError(path + ": cannot start a transaction");
    for (const auto& f : frames) {
      OGRFeature feat(layer->GetLayerDefn());
      feat.SetField("frame", fs::path(f.path).filename().string().c_str());
      feat.SetField("status", f.status.c_str());
      feat.SetField("source", f.source.c_str());
      feat.SetField("matches", f.matches);
      feat.SetField("inliers", f.inliers);
      if (std::isfinite(f.residual_px)) {
        feat.SetField("residual_px", f.residual_px);
        feat.SetField("residual_m", f.residual_px * res);
      }
      if (std::isfinite(f.shift_px)) feat.SetField("shift_px", f.shift_px);
      feat.SetField("gain_r", f.gain[0]);
      feat.SetField("gain_g", f.gain[1]);
      feat.SetField("gain_b", f.gain[2]);
      feat.SetField("note", f.note.c_str());
      if (f.width > 0) {
        OGRLinearRing ring;
        const double us[5] = {0, double(f.width), double(f.width), 0, 0};
        const double vs[5] = {0, 0, double(f.height), double(f.height), 0};
        for (int k = 0; k < 5; ++k) {
          const auto p = apply_homography(f.to_grid, us[k], vs[k]);
          const auto w = grid.to_world(p[0], p[1]);
          ring.addPoint(w[0], w[1]);
        }
        OGRPolygon poly;
        poly.addRing(&ring);
        feat.SetGeometry(&poly);
      }
      if (layer->CreateFeature(&feat) != OGRERR_NONE)
        throw ProcessingError(path + ": cannot write a footprint: " + trap.message());
    }
    if (layer->CommitTransaction() != OGRERR_NONE)
      throw ProcessingError(path + ": cannot write the footprints: " + trap.message());
  }
  trap.check(path, "writing the footprint layer", false);
  std::error_code ec;
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw ProcessingError(path + ": cannot move the finished file into place: " + ec.message());
  }
}

}  // namespace qinling::raster
