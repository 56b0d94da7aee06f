// Reading named input bands onto the analysis grid, window by window, with one GDAL handle per
// thread and on-the-fly warping when a file is on another grid.
#pragma once

#include <tbb/enumerable_thread_specific.h>

#include <map>
#include <string>
#include <vector>

#include "raster/gdal_io.hpp"
#include "raster/grid.hpp"

namespace qinling::raster {

// One band of one file.
struct BandSource {
  BandSource() = default;
  BandSource(std::string p, int b) : path(std::move(p)), band(b) {}
  std::string path;
  int band = 1;
  double scale = 1.0, offset = 0.0;  // physical value = stored * scale + offset
  std::string resampling;            // empty: the file's
};

// What we learn about a file before processing: its grid, band count, block size.
struct RasterInfo {
  Grid grid;
  int bands = 0;
  int block_width = 0, block_height = 0;
  GDALDataType type = GDT_Unknown;
};
RasterInfo describe_raster(const std::string& path);

// A grid in `dst_wkt` covering `src` at about the same resolution (GDAL's suggested warp output).
Grid reproject_grid(const Grid& src, const std::string& dst_wkt);
// Turns a user CRS (EPSG:4547, a PROJ string, WKT) into WKT; throws ConfigError when unknown.
std::string crs_to_wkt(const std::string& user_crs);

// Resampling methods accepted for warping, as GDAL names them.
const std::vector<std::string>& resampling_methods();

// Reads bands onto `grid` as float32 with NaN wherever the source is nodata, masked, or outside
// its extent. Thread-safe: each calling thread gets its own dataset handles.
class GridReader {
 public:
  explicit GridReader(Grid grid);
  // Registers a file before processing: decides whether it needs warping, and how.
  void add_file(const std::string& path, const RasterInfo& info, const std::string& resampling);
  // Fills `out` (window.pixels() floats) with band `src` over `window` of the analysis grid.
  void read(const BandSource& src, const Window& window, float* out);
  const Grid& grid() const { return grid_; }

 private:
  struct FileState {
    bool warp = false;
    std::string resampling;
  };
  struct Handles {
    std::vector<DatasetPtr> owned;                   // in opening order
    std::map<std::string, GDALDataset*> files;       // path → opened file
    std::map<std::string, GDALRasterBand*> bands;    // "path#band" → the band to read (maybe warped)
    Handles() = default;
    Handles(Handles&&) = default;
    ~Handles();
  };
  GDALRasterBand* band_handle(const BandSource& src);

  Grid grid_;
  std::map<std::string, FileState> files_;
  tbb::enumerable_thread_specific<Handles> handles_;
};

}  // namespace qinling::raster
