// Fuzz target: a job file through parsing and whole-job validation (make_plan), next to a small
// scene, zones, stations and rules so that fuzzed jobs reach the step validators. Bad jobs must
// end in ConfigError/InputError; any other exception, crash or sanitizer report is a bug.
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "fuzz_support.hpp"
#include "models/errors.hpp"
#include "pipeline/plan.hpp"
#include "raster/gdal_io.hpp"

namespace {

void write_text(const std::string& name, const std::string& text) {
  std::ofstream(qinling::fuzz::scratch_dir() + "/" + name) << text;
}

// scene.tif: 8x6 pixels, 5 UInt16 bands, EPSG:4547 at 30 m (where the sample scene lies).
void make_inputs() {
  qinling::raster::init_gdal();
  CPLSetConfigOption("CPL_LOG", "/dev/null");  // keep GDAL's messages out of the fuzzer's output
  const std::string dir = qinling::fuzz::scratch_dir();
  GDALDataset* ds = GetGDALDriverManager()->GetDriverByName("GTiff")->Create((dir + "/scene.tif").c_str(), 8,
                                                                             6, 5, GDT_UInt16, nullptr);
  const double gt[6] = {580000, 30, 0, 3760000, 0, -30};
  ds->SetGeoTransform(const_cast<double*>(gt));
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  std::vector<std::uint16_t> px(48);
  for (int b = 1; b <= 5; ++b) {
    for (int i = 0; i < 48; ++i) px[std::size_t(i)] = std::uint16_t(1000 * b + i);
    if (ds->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, 8, 6, px.data(), 8, 6, GDT_UInt16, 0, 0, nullptr) !=
        CE_None)
      std::abort();  // the fuzz target cannot work without its scene
  }
  GDALClose(ds);
  write_text("zones.geojson",
             R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},)"
             R"("geometry":{"type":"Polygon","coordinates":[[[108.87,33.96],[108.88,33.96],[108.88,33.97],)"
             R"([108.87,33.97],[108.87,33.96]]]}}]})");
  write_text("stations.csv",
             "id,lon,lat,elevation,value\nA,108.875,33.965,900,12.5\nB,108.876,33.964,950,11\n");
  write_text("rules.yaml", "levels: [blue, red]\nrules:\n  - {level: red, when: \"mean < -0.1\"}\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (make_inputs(), true);
  (void)ready;
  const std::string job = qinling::fuzz::write_file("job.yaml", data, size);
  qinling::pipeline::RunOptions options;
  options.out_dir = qinling::fuzz::scratch_dir() + "/out";
  try {
    (void)qinling::pipeline::make_plan(job, options);
  } catch (const qinling::Error&) {
    // A clear error is the expected outcome for nearly every input.
  }
  return 0;
}
