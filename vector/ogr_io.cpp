#include "vector/ogr_io.hpp"

#include <ogrsf_frmts.h>

#include <filesystem>

namespace qinling::vector {

raster::DatasetPtr open_vector(const std::string& path) {
  raster::init_gdal();
  if (path.rfind("/vsi", 0) != 0 && !std::filesystem::exists(path))
    throw InputError(path + ": no such file (relative paths are relative to the job file)");
  raster::ErrorTrap trap;
  raster::DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
  if (!ds) throw InputError(path + ": cannot open as a vector dataset" + (trap.failed() ? ": " + trap.message() : ""));
  return ds;
}

long long count_features(GDALDataset& ds) {
  long long n = 0;
  for (int i = 0; i < ds.GetLayerCount(); ++i) n += ds.GetLayer(i)->GetFeatureCount(TRUE);
  return n;
}

}  // namespace qinling::vector
