#include "vector/level_raster.hpp"

#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"
#include "vector/polygons.hpp"

namespace qinling::vector {

namespace fs = std::filesystem;

void write_level_cog(const CellTable& cells, const std::vector<unsigned char>& values,
                     const raster::Grid& grid, const std::vector<std::array<short, 3>>& colours,
                     const std::string& path) {
  raster::init_gdal();
  raster::ErrorTrap trap;
  std::vector<Shape> shapes = *cells.shapes;
  if (!raster::same_crs(cells.crs_wkt, grid.crs_wkt)) reproject_shapes(shapes, cells.crs_wkt, grid.crs_wkt);
  raster::DatasetPtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", grid.width, grid.height,
                                                                                1, GDT_Byte, nullptr));
  if (!mem) throw ProcessingError(path + ": cannot allocate the level raster: " + trap.message());
  mem->SetGeoTransform(const_cast<double*>(grid.geotransform.data()));
  mem->SetProjection(grid.crs_wkt.c_str());
  GDALRasterBand* band = mem->GetRasterBand(1);
  band->SetNoDataValue(255);
  band->Fill(255);
  GDALColorTable table;
  for (std::size_t v = 0; v < colours.size(); ++v) {
    const GDALColorEntry e{colours[v][0], colours[v][1], colours[v][2], 255};
    table.SetColorEntry(int(v), &e);
  }
  band->SetColorTable(&table);
  std::vector<std::unique_ptr<OGRGeometry>> owned;
  std::vector<OGRGeometryH> geoms;
  std::vector<double> burn;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    owned.emplace_back(shapes[i].to_ogr());
    geoms.push_back(OGRGeometry::ToHandle(owned.back().get()));
    burn.push_back(values[i]);
  }
  int band_list[] = {1};
  if (GDALRasterizeGeometries(mem.get(), 1, band_list, int(geoms.size()), geoms.data(), nullptr, nullptr,
                              burn.data(), nullptr, nullptr, nullptr) != CE_None)
    throw ProcessingError(path + ": cannot rasterize the cells: " + trap.message());
  const fs::path target(path);
  const std::string tmp = (target.parent_path() /
                           ("." + target.stem().string() + ".partial-" + std::to_string(::getpid()) + ".tif"))
                              .string();
  const char* opts[] = {"COMPRESS=DEFLATE", "OVERVIEW_RESAMPLING=NEAREST", "BLOCKSIZE=512", nullptr};
  raster::DatasetPtr out(GetGDALDriverManager()->GetDriverByName("COG")->CreateCopy(
      tmp.c_str(), mem.get(), FALSE, const_cast<char**>(opts), nullptr, nullptr));
  const bool ok = out != nullptr;
  out.reset();
  std::error_code ec;
  if (!ok || trap.failed()) {
    fs::remove(tmp, ec);
    throw ProcessingError(path + ": cannot write the level COG: " + trap.message());
  }
  fs::rename(tmp, target, ec);
  if (ec) throw ProcessingError(path + ": cannot rename the finished file into place: " + ec.message());
}

}  // namespace qinling::vector
